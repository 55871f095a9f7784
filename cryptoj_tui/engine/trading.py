"""Trading: the order gateway, execution, risk, portfolio, journal and kill switch, wired together.

The engine owns one of these when it has an API key. Every order goes through `place`: risk
first, then the journal, then the wire. On start it recovers: the trading state and the orders
the journal knows, reconciled with what the venue says, one event per difference.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as day_time
from decimal import Decimal
from pathlib import Path
from typing import Any

from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, JobExecutionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from cryptoj_tui.binance_keys import BinanceKey
from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.engine.adapters.base import ExecutionClient, TradingVenue, UserStream, VenueError, VenueOrder
from cryptoj_tui.engine.adapters.binance.venue import BinanceTrading
from cryptoj_tui.engine.adapters.coinbase.venue import CoinbaseTrading
from cryptoj_tui.engine.adapters.connection import MAX_FRAME_BYTES
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.emergency import Emergency, KillReport
from cryptoj_tui.engine.events import Alert, OrderRefused, RiskLimitChanged
from cryptoj_tui.engine.execution import EditUnsupported, Execution
from cryptoj_tui.engine.group_commit import INTENT_SYNC_WINDOW
from cryptoj_tui.engine.journal import Journal, JournalError, JournalledOrder
from cryptoj_tui.engine.market_data import MarketData
from cryptoj_tui.engine.orders import (
    Order,
    OrderError,
    OrderRequest,
    OrderSide,
    OrderType,
    new_client_order_id,
)
from cryptoj_tui.engine.portfolio import Portfolio
from cryptoj_tui.engine.recording import Recorder
from cryptoj_tui.engine.risk import CheckResult, ProductRules, RiskContext, RiskLimits, RiskManager, TradingState

log = logging.getLogger(__name__)

JOURNAL_CHECKPOINT_SECONDS = 1.0
"""How often the journal's WAL is folded back (kept small, and never left to an intent's commit)."""


def utc_now() -> datetime:
    """The wall clock, in UTC."""
    return datetime.now(UTC)


@dataclass(frozen=True)
class LimitUsage:
    """One risk limit and how much of it is used now (None: a per-order limit)."""

    name: str
    used: Decimal | float | int | None
    limit: Decimal | float | int
    note: str
    unit: str = "count"
    """What the numbers count: "base" (a size), "quote" (money), "count", "seconds" or "percent"."""

    @property
    def share(self) -> float | None:
        """Used / limit, for a bar (None for per-order limits)."""
        return None if self.used is None else float(self.used) / float(self.limit)


@dataclass(frozen=True)
class ScheduledJob:
    """One job the engine runs on its own: every `seconds`, one run at a time, a late run merged."""

    id: str
    seconds: float
    max_instances: int
    coalesce: bool


class OrderRefusedError(Exception):
    """The engine did not send the order; the message is the reason (risk, state, journal)."""


@dataclass(frozen=True)
class TradingConfig:
    """How to trade: where, with which key, under which limits, journalled where."""

    rest_url: str
    user_ws_url: str
    """Where the key's own order updates are served (Coinbase's user channel, Binance's WebSocket API)."""
    key: CdpKey | BinanceKey = field(repr=False)
    """A CDP key trades on Coinbase Advanced Trade, a Binance key on Binance Spot."""
    journal_path: Path | str = ":memory:"
    limits: RiskLimits = field(default_factory=RiskLimits)
    daily_reset_utc: day_time = day_time(0, 0)
    reconcile_every: float = 30.0
    trigger_check_every: float = 1.0
    user_channel_timeout: float = 5.0
    """How long start() waits for the user channel before trading without it (with a warning)."""
    rest_rate: float = 25.0
    """Client-side REST requests a second (Coinbase allows about 30 per key)."""
    rest_timeout: float = 5.0
    intent_sync_window: float = INTENT_SYNC_WINDOW
    """Seconds an order's intent may wait for its fsync; 0: before the order is sent (group_commit.py)."""
    wall_clock: Callable[[], datetime] = field(default=utc_now, repr=False, compare=False)
    """The UTC time of day the daily reset follows (tests move it; the engine's timers do not)."""
    client_order_ids: Callable[[], str] = field(default=new_client_order_id, repr=False, compare=False)
    max_frame_bytes: int = MAX_FRAME_BYTES
    """The user channel's largest frame (EngineConfig.max_frame_bytes)."""
    """Makes each new order's client order id (a fresh UUID4; a seeded one where a run must repeat)."""


def trading_day(now: datetime, reset: day_time) -> date:
    """The trading day `now` belongs to, when days start at `reset` UTC."""
    return (now.astimezone(UTC) - timedelta(hours=reset.hour, minutes=reset.minute)).date()


def trading_venue(config: TradingConfig, recorder: Recorder | None) -> TradingVenue:
    """The venue account `config.key` trades on: Binance Spot for a Binance key, else Coinbase."""
    if isinstance(config.key, BinanceKey):
        return BinanceTrading(
            config.key,
            rest_url=config.rest_url,
            ws_api_url=config.user_ws_url,
            rest_rate=config.rest_rate,
            rest_timeout=config.rest_timeout,
            max_frame_bytes=config.max_frame_bytes,
            recorder=recorder,
        )
    return CoinbaseTrading(
        config.key,
        rest_url=config.rest_url,
        user_ws_url=config.user_ws_url,
        rest_rate=config.rest_rate,
        rest_timeout=config.rest_timeout,
        max_frame_bytes=config.max_frame_bytes,
        recorder=recorder,
    )


class Trading:
    """Orders in, fills and positions out, with risk and the kill switch in between."""

    def __init__(
        self, config: TradingConfig, market_data: MarketData, bus: EventBus, *, recorder: Recorder | None = None
    ) -> None:
        self.config = config
        self._market_data = market_data
        self._bus = bus
        self.venue: TradingVenue = trading_venue(config, recorder)
        self.client: ExecutionClient = self.venue.client
        self.journal = Journal(config.journal_path)
        self.portfolio = Portfolio()
        self.risk = RiskManager(config.limits)
        self.execution = Execution(
            self.client,
            bus,
            self.journal,
            on_fill=self.portfolio.apply,
            on_problem=self._on_problem,
            on_unknown_order=lambda order_id: self._spawn(self._take_in(order_id)),
            intent_sync_window=config.intent_sync_window,
            client_order_ids=config.client_order_ids,
        )
        self.emergency = Emergency(self.risk, self.execution, self.portfolio, self.journal, bus, marks=self.marks)
        self.user_feed: UserStream = self.venue.user_stream(
            bus, self.execution.on_venue_update, self._resync, self.portfolio.update_balances
        )
        self.products: dict[str, ProductRules] = {}
        self._scheduler = AsyncIOScheduler(timezone="UTC")
        self._stopping = False
        """Set by `stop`: a job cancelled from then on was cut short, not failed."""
        self._day = trading_day(config.wall_clock(), config.daily_reset_utc)
        self._failing_jobs: dict[str, str] = {}
        """Job id -> the failure last reported for it (a job failing the same way again is not re-alerted)."""
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- life ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Restore the trading state, recover orders, then listen and run the scheduled jobs."""
        await self.client.start()
        self.emergency.restore()
        await self.load_products()
        self.user_feed.start()
        try:  # orders placed before the user channel listens would report their fills to no one
            async with asyncio.timeout(self.config.user_channel_timeout):
                await self.user_feed.ready.wait()
        except TimeoutError:
            self._bus.publish(
                Alert(
                    severity="warning",
                    message=(
                        f"no user channel from {self.config.user_ws_url} within {self.config.user_channel_timeout:g}s: "
                        "order updates will come from reconciliation until it connects"
                    ),
                )
            )
        await self.recover()
        self._schedule()

    async def stop(self) -> None:
        """Stop the jobs and connections; the journal is closed last."""
        self._stopping = True
        if self._scheduler.running:
            self._scheduler.shutdown(wait=False)
        for task in list(self._tasks):
            task.cancel()
        await self.user_feed.close()
        await self.client.close()
        self.execution.order_states.flush()
        await self.execution.intents.flush()
        self.journal.close()

    def _schedule(self) -> None:
        jobs: list[tuple[Callable[[], Awaitable[None]], str, dict[str, Any]]] = [
            (self._reconcile_job, "interval", {"seconds": self.config.reconcile_every}),
            (self._trigger_job, "interval", {"seconds": self.config.trigger_check_every}),
            # Not a cron job at the reset time: a run missed by more than APScheduler's grace
            # second (a suspended laptop, a busy loop) would skip a whole day's reset.
            (self._daily_reset_job, "interval", {"seconds": self.config.trigger_check_every}),
            (self._checkpoint_job, "interval", {"seconds": JOURNAL_CHECKPOINT_SECONDS}),
        ]
        for job, trigger, args in jobs:
            # One run at a time per job; a late run is merged, not queued.
            self._scheduler.add_job(
                self._ending_quietly(job), trigger, **args, max_instances=1, coalesce=True, id=job.__name__
            )
        self._scheduler.add_listener(self._job_failed, EVENT_JOB_ERROR)
        self._scheduler.add_listener(self._job_ran, EVENT_JOB_EXECUTED)
        self._scheduler.start()

    def _ending_quietly(self, job: Callable[[], Awaitable[None]]) -> Callable[[], Awaitable[None]]:
        """`job`, but cut short by the engine stopping (Ctrl-C cancels whatever runs) it ends
        quietly: APScheduler would log a traceback for every job running at that moment."""

        @functools.wraps(job)
        async def run() -> None:
            try:
                await job()
            except asyncio.CancelledError:
                if not self._stopping:
                    raise

        return run

    def scheduled_jobs(self) -> list[ScheduledJob]:
        """The jobs running on their own (reconcile, triggers, daily reset, checkpoint) and how."""
        return [
            ScheduledJob(job.id, float(job.trigger.interval.total_seconds()), job.max_instances, job.coalesce)
            for job in self._scheduler.get_jobs()
        ]

    def _job_failed(self, event: JobExecutionEvent) -> None:
        # Reported once per run of failures: the checkpoint runs every second, and a disk that
        # refuses it would otherwise raise the same alert every second.
        message = f"scheduled job {event.job_id} failed: {event.exception!r}"
        if self._failing_jobs.get(event.job_id) == message:
            log.debug("%s (again)", message)
            return
        self._failing_jobs[event.job_id] = message
        log.error(message)
        self._bus.publish(Alert(severity="warning", message=message))

    def _job_ran(self, event: JobExecutionEvent) -> None:
        if self._failing_jobs.pop(event.job_id, None) is not None:
            message = f"scheduled job {event.job_id} works again"
            log.info(message)
            self._bus.publish(Alert(severity="info", message=message))

    async def _reconcile_job(self) -> None:
        await self.execution.reconcile("scheduled")
        await self.refresh_balances()

    async def _trigger_job(self) -> None:
        self.check_triggers()

    async def _daily_reset_job(self) -> None:
        day = trading_day(self.config.wall_clock(), self.config.daily_reset_utc)
        if day == self._day:
            return
        self._day = day
        self.portfolio.start_day(self.marks())
        self._bus.publish(Alert(severity="info", message="new trading day: daily loss limit reset"))

    async def _checkpoint_job(self) -> None:
        # On a worker thread: a checkpoint fsyncs the database file, and this loop sends orders.
        await asyncio.to_thread(self.journal.checkpoint)

    # -- recovery --------------------------------------------------------------------------

    async def recover(self) -> None:
        """Reconcile the journal with the venue: one Reconciled event per difference. Orders open
        at the venue that the journal does not know are tracked from now on."""
        for fill in self.journal.fills():
            self.portfolio.apply(fill)
        for record in self.journal.orders(working_only=True):
            self.execution.adopt(record.to_order())
        await self.refresh_balances()
        records = self.journal.orders()
        venue_orders = await self.client.orders(sorted({r.request.product_id for r in records}))
        by_client = {o.client_order_id: o for o in venue_orders if o.client_order_id}
        for order in list(self.execution.working()):
            venue_order = by_client.get(order.client_order_id)
            if venue_order is None:
                self.execution.give_up(order, "never reached the venue (the engine stopped while sending it)")
                self.execution.report(
                    "order_gone",
                    order.client_order_id,
                    order.order_id,
                    "journalled but unknown to the venue: it was never placed",
                )
                continue
            before = (order.status, order.filled_size)
            if not self.execution.read_update(order, venue_order):
                continue
            if order.filled_size != before[1]:
                self.execution.report(
                    "missed_fill",
                    order.client_order_id,
                    order.order_id,
                    f"filled {before[1]} -> {order.filled_size} while stopped",
                )
            if order.status is not before[0]:
                self.execution.report(
                    "status_changed",
                    order.client_order_id,
                    order.order_id,
                    f"{before[0]} -> {order.status} while stopped",
                )
        self._recover_late_fills(records, by_client)
        for venue_order in venue_orders:  # open ones placed elsewhere, or whose intent a power cut took back
            self.execution.take_in_venue_order(venue_order)

    def _recover_late_fills(self, records: list[JournalledOrder], by_client: dict[str, VenueOrder]) -> None:
        """Orders the journal has as finished that the venue says filled more: cancelled here on
        the venue's ack, with a fill from just before the cancel never told (the user channel
        dropped, then the engine stopped). Their fills count now."""
        for record in records:
            venue_order = by_client.get(record.client_order_id)
            if record.status.is_working or venue_order is None or record.client_order_id in self.execution.orders:
                continue
            update = venue_order.update
            if update is None or update.filled_size <= record.filled_size:  # what cannot be read changes nothing
                continue
            order = record.to_order()
            self.execution.adopt(order)
            self.execution.on_venue_update(update)
            self.execution.report(
                "missed_fill",
                order.client_order_id,
                order.order_id,
                f"filled {record.filled_size} -> {order.filled_size} after it ended here",
            )

    async def load_products(self) -> None:
        """Take the venue's increments and size bounds (a malformed product is skipped, loudly)."""
        rules, problems = await self.client.products()
        self.products.update(rules)
        for problem in problems:
            self._bus.publish(Alert(severity="warning", message=f"venue {problem}"))

    async def refresh_balances(self) -> None:
        """Take the venue's balances."""
        balances, problems = await self.client.balances()
        self.portfolio.set_balances(balances)
        for problem in problems:
            self._bus.publish(Alert(severity="warning", message=f"venue balances: {problem}"))

    def _resync(self, reason: str) -> None:
        self._spawn(self.execution.reconcile(reason))

    # -- orders ----------------------------------------------------------------------------

    def marks(self) -> dict[str, Decimal | None]:
        """The mid of every product with a position or a live book."""
        products = set(self.portfolio.positions) | set(self._market_data.products())
        return {p: self._market_data.mid(p) for p in products}

    def precheck(self, request: OrderRequest, replacing: Order | None = None) -> CheckResult:
        """Run the risk checks without sending (the order ticket's preview); with `replacing`,
        as if that order were already gone."""
        base, quote = request.product_id.split("-", 1)
        working = self.execution.working_orders
        same_side, open_orders = working.leaves(request.product_id, request.side), len(working)
        if replacing is not None and replacing.status.is_working:
            open_orders -= 1
            if replacing.product_id == request.product_id and replacing.side is request.side:
                same_side -= replacing.leaves
        context = RiskContext(
            mid=self._market_data.mid(request.product_id),
            position=self.portfolio.quantity(request.product_id),
            working_same_side=same_side,
            open_orders=open_orders,
            available_base=self.portfolio.available(base),
            available_quote=self.portfolio.available(quote),
            rules=self.products.get(request.product_id),
            gross_notional=self.gross_notional(quote),
        )
        return self.risk.check(request, context)

    def gross_notional(self, quote: str) -> Decimal:
        """The account's exposure in `quote`: every position and working order of the products
        quoted in it, at mid (a product without a mid cannot be valued and counts nothing)."""
        working, total = self.execution.working_orders, Decimal(0)
        for product_id in set(self.portfolio.positions) | working.products():
            if product_id.split("-", 1)[1] != quote:
                continue
            mid = self._market_data.mid(product_id)
            if mid is not None:
                held = abs(self.portfolio.quantity(product_id))
                buying, selling = working.leaves(product_id, OrderSide.BUY), working.leaves(product_id, OrderSide.SELL)
                total += (held + buying + selling) * mid
        return total

    def _require_ok(self, request: OrderRequest, replacing: Order | None = None, context: str = "") -> None:
        """Run the checks; a refusal is published and raised (OrderRefusedError, `context` first)."""
        result = self.precheck(request, replacing)
        if not result.ok:
            assert result.refusal is not None
            self._bus.publish(OrderRefused(product_id=request.product_id, reason=result.refusal))
            raise OrderRefusedError(context + result.refusal)

    async def place(self, request: OrderRequest) -> Order:
        """Check, journal and send an order; OrderRefusedError says why it was not sent."""
        self._require_ok(request)
        self.risk.record_sent()
        estimate = None
        if request.in_quote:  # the checks passed, so there is a mid
            mid = self._market_data.mid(request.product_id)
            estimate = None if mid is None else request.base_size_at(mid)
        try:
            return await self.execution.submit(request, estimate)
        except JournalError as exc:
            self.emergency.halt(f"journal unwritable: {exc}")
            self._bus.publish(OrderRefused(product_id=request.product_id, reason=str(exc)))
            raise OrderRefusedError(f"not sent: {exc}") from None

    async def _take_in(self, order_id: str) -> None:
        """Track an open order the venue reports and the engine does not know. While HALTED it
        is cancelled at once: nothing works after the kill switch, not even a bracket the venue
        placed because its entry filled as the switch was thrown."""
        order = await self.execution.take_in(order_id)
        if order is None or self.risk.state is not TradingState.HALTED:
            return
        _, failed = await self.execution.cancel([order])
        why = f" could not be cancelled: {failed[0][1]}" if failed else " cancelled"
        self._bus.publish(
            Alert(
                severity="halt" if failed else "warning",
                message=f"order {order.client_order_id[:8]} appeared at the venue while HALTED:{why}",
            )
        )

    async def cancel(self, *orders: Order) -> tuple[list[Order], list[tuple[Order, str]]]:
        """Cancel these orders; (cancelled, [(order, why not)])."""
        return await self.execution.cancel(orders)

    async def replace(self, order: Order, *, price: object = None, size: object = None) -> Order:
        """`order` at a new price and/or total size: edited in place where the venue can (a
        resting GTC limit order), else cancelled and replaced by a new order.

        `size` is the order's new total size, filled part included (as an edit means it);
        unchanged if not given. The change is checked first, as if `order` were gone, so a
        refused one leaves `order` working (OrderRefusedError). An edit the venue refuses leaves
        `order` as it was (OrderError says why). A replacement is sent only once `order` is
        confirmed cancelled, for what is left to fill: if `order` filled meanwhile, or the
        cancel failed, nothing is sent (OrderError says why), so there are never two orders
        where the trader meant one. Returns the order now working: `order` itself if edited.
        """
        if not order.status.is_working:
            raise OrderError(f"order {order.client_order_id} is {order.status}: nothing to replace")
        if order.request.type is OrderType.MARKET:
            raise OrderError(f"order {order.client_order_id} is a market order: nothing to replace")
        old = order.request
        edited = OrderRequest.parse(
            old.product_id,
            old.side,
            old.type,
            old.size if size is None else size,
            old.price if price is None else price,
            old.stop_price,
            old.end_time,
            old.post_only,
            old.take_profit,
            old.stop_loss,
        )
        if (edited.price, edited.size) == (old.price, old.size):
            raise OrderError(f"order {order.client_order_id} already has that price and size: nothing to change")
        if edited.size <= order.filled_size:
            raise OrderError(
                f"order {order.client_order_id} has filled {order.filled_size}: its size must stay above that"
            )
        remaining = dataclasses.replace(edited, size=edited.size - order.filled_size)
        self._require_ok(remaining, order, f"replacement refused, {order.client_order_id} still working: ")
        if old.type is OrderType.LIMIT and order.order_id:
            self.risk.record_sent()
            try:
                await self.execution.edit(order, edited)
                return order
            except EditUnsupported:
                pass
            except VenueError as exc:
                if exc.status != 404:  # 404: a venue without the edit call
                    raise OrderError(f"edit of {order.client_order_id} refused: {exc}") from None
        cancelled, failed = await self.execution.cancel([order])
        if order not in cancelled:
            why = failed[0][1] if failed else f"it is {order.status}"
            raise OrderError(f"order {order.client_order_id} was not cancelled ({why}): no replacement sent")
        left = edited.size - order.filled_size  # what filled before the cancel took is not sent again
        if left <= 0:
            raise OrderError(
                f"order {order.client_order_id} filled {order.filled_size} before its cancel: no replacement sent"
            )
        return await self.place(dataclasses.replace(edited, size=left))

    async def cancel_all(
        self, product_id: str | None = None, side: OrderSide | None = None
    ) -> tuple[list[Order], list[tuple[Order, str]]]:
        """Cancel every working order, or those of one product and/or side."""
        return await self.execution.cancel(self.execution.working(product_id, side))

    async def kill_switch(self, reason: str, *, flatten: bool = False) -> KillReport:
        """HALTED now, then everything cancelled (and flattened if asked)."""
        return await self.emergency.kill_switch(reason, flatten=flatten)

    def set_limit(self, name: str, value: object, reason: str, product_id: str | None = None) -> None:
        """Change one risk limit at run time, the account's or one product's own; journalled and
        published (a product's limit is named "max_position ETH-USD")."""
        limits = self.risk.limits
        old = getattr(limits if product_id is None else limits.for_product(product_id), name, None)
        self.risk.limits = limits.replace(name, value, product_id)
        new = getattr(self.risk.limits if product_id is None else self.risk.limits.for_product(product_id), name)
        label = name if product_id is None else f"{name} {product_id}"
        self.journal.record_event("risk.limit", f"{label}: {old} -> {new} ({reason})")
        self._bus.publish(RiskLimitChanged(limit=label, old=str(old), new=str(new), reason=reason))

    @property
    def state(self) -> TradingState:
        """ACTIVE, REDUCING or HALTED."""
        return self.risk.state

    def risk_usage(self) -> list[LimitUsage]:
        """Every limit with how much of it is in use now (the risk screen's bars)."""
        limits = self.risk.limits
        working = self.execution.working()
        ages = [self._market_data.update_age(p) for p in {o.product_id for o in working}]
        daily_loss, drawdown = self.emergency.losses()
        own = {p for p, product in limits.products if product.max_position is not None}
        others = [abs(p.quantity) for p in self.portfolio.positions.values() if p.product_id not in own]
        traded = set(self.portfolio.positions) | set(self._market_data.products()) | {o.product_id for o in working}
        quotes = sorted({p.split("-", 1)[1] for p in traded})
        return [
            LimitUsage(
                "max_position",
                max(others, default=Decimal(0)),
                limits.max_position,
                "largest |position| of the products without their own",
                "base",
            ),
            *(
                LimitUsage(
                    f"max_position {product_id}",
                    abs(self.portfolio.quantity(product_id)),
                    limits.max_position_of(product_id),
                    "|position|, the product's own limit",
                    "base",
                )
                for product_id in sorted(own)
            ),
            *(
                LimitUsage(
                    f"max_gross_notional {quote}",
                    self.gross_notional(quote),
                    limits.max_gross_notional,
                    "positions and working orders at mid",
                    "quote",
                )
                for quote in quotes
            ),
            LimitUsage("max_open_orders", len(working), limits.max_open_orders, "working orders"),
            LimitUsage(
                "max_orders_per_second", self.risk.orders_last_second(), limits.max_orders_per_second, "last second"
            ),
            LimitUsage("daily_loss_limit", max(daily_loss, Decimal(0)), limits.daily_loss_limit, "halts", "quote"),
            LimitUsage("max_drawdown", max(drawdown, Decimal(0)), limits.max_drawdown, "halts", "quote"),
            LimitUsage(
                "stale_halt_after",
                max((a for a in ages if a is not None), default=0.0),
                limits.stale_halt_after,
                "halts; oldest book with orders",
                "seconds",
            ),
            LimitUsage(
                "reject_storm",
                self.emergency.recent_problems(),
                limits.reject_storm,
                f"halts; rejects/errors in {limits.storm_window:g}s",
            ),
            LimitUsage("max_order_size", None, limits.max_order_size, "per order", "base"),
            *(
                LimitUsage(f"max_order_size {product_id}", None, own.max_order_size, "per order", "base")
                for product_id, own in limits.products
                if own.max_order_size is not None
            ),
            LimitUsage("max_order_notional", None, limits.max_order_notional, "per order", "quote"),
            LimitUsage("price_collar_pct", None, limits.price_collar_pct, "per order, through mid", "percent"),
        ]

    # -- triggers ----------------------------------------------------------------------------

    def check_triggers(self) -> None:
        """Halt (kill switch) when a loss limit is reached or a working order's market went stale."""
        limit = self.risk.limits.stale_halt_after
        stale = []
        for product_id in {o.product_id for o in self.execution.working()}:
            age = self._market_data.update_age(product_id)
            if age is None or age >= limit:
                stale.append(product_id)
        reason = self.emergency.breach(stale)  # fails closed: an error in it is a reason to halt
        if reason is not None:
            self._spawn(self.emergency.kill_switch(reason))

    def _on_problem(self, kind: str, message: str) -> None:
        if kind == "journal":
            self.emergency.halt(message)
            return
        kill = self.emergency.on_problem(kind, message)
        if kill is not None:
            self._spawn(kill())  # type: ignore[arg-type]

    def _spawn(self, work: Awaitable[Any]) -> None:
        if self._stopping:  # what a closing feed still tells is not acted on: the client is going too
            if asyncio.iscoroutine(work):
                work.close()
            return
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            exc = task.exception()
            message = str(exc) if isinstance(exc, VenueError | JournalError) else repr(exc)
            log.error("background trading work failed: %s", message)
            self._bus.publish(Alert(severity="warning", message=f"background work failed: {message}"))
