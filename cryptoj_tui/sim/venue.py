"""The paper venue as a server: books, synthetic flow and endpoints on one asyncio loop.

`PaperVenue` runs on the caller's loop (tests, `cryptoj sim`); `VenueThread` runs one on its own
thread and loop, which is how the console embeds it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import random
import threading
import time
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

from aiohttp import web

from cryptoj_tui.sim import frames
from cryptoj_tui.sim.auth import KeyRegistry
from cryptoj_tui.sim.binance.front import BinanceFront
from cryptoj_tui.sim.exchange import DEFAULT_BALANCES, Exchange, Order
from cryptoj_tui.sim.faults import Faults
from cryptoj_tui.sim.flow import SyntheticFlow
from cryptoj_tui.sim.matching import MatchingBook
from cryptoj_tui.sim.products import ALL_PRODUCTS, format_decimal
from cryptoj_tui.sim.recorded import RecordedMarket
from cryptoj_tui.sim.rest import MAX_BODY_BYTES, RestApi, error, json_errors
from cryptoj_tui.sim.store import AccountStore
from cryptoj_tui.sim.tape import TradeTape
from cryptoj_tui.sim.tls import ensure_certificate, server_context
from cryptoj_tui.sim.ws import MAX_CONNECTIONS_PER_CLIENT, MAX_MESSAGES_PER_SECOND, MAX_QUEUED_BYTES, FeedEndpoint

log = logging.getLogger(__name__)

T = TypeVar("T")

WS_PATH = "/"
"""Coinbase serves its feed at the host root; so do we (REST lives under /api/v3/...)."""
USER_ORDERS_PER_FRAME = 50
"""Orders in one user-channel update frame at most: a 200-order batch_cancel is told in four
frames, not in 200 (nor in one that grows with the batch)."""
PAUSED_POLL = 0.05
"""Seconds between looks at a paused recorded market."""


@dataclass(frozen=True)
class VenueConfig:
    """How the paper venue listens and how its market behaves."""

    host: str = "127.0.0.1"
    port: int = 0
    seed: int = 1
    products: tuple[str, ...] = ("BTC-USD", "ETH-USD", "SOL-USD")
    step_interval: float = 0.1
    """Mean seconds between synthetic market events per product; 0 stops the flow."""
    warmup_steps: int = 300
    """Steps run before serving, so the first snapshot already looks like a traded market."""
    heartbeat_interval: float = 1.0
    ticker_batch_interval: float = 5.0
    """Seconds between ticker_batch frames (Coinbase sends one every 5 seconds)."""
    min_levels: int = 60
    api_key_files: tuple[Path, ...] = ()
    """CDP key files whose public keys may sign requests."""
    rate_limit: float = 30.0
    """Private REST requests a second per key before 429 (0: unlimited)."""
    max_queued_bytes: int = MAX_QUEUED_BYTES
    """Bytes of frames a WebSocket client may leave unread before it is cut off as a slow consumer."""
    max_connections_per_client: int = MAX_CONNECTIONS_PER_CLIENT
    """WebSocket connections open at once from one address; the next is refused with an error."""
    max_messages_per_second: float = MAX_MESSAGES_PER_SECOND
    """Messages a second one WebSocket connection may send (bursts of MESSAGE_BURST)."""
    maker_bps: Decimal = Decimal("40")
    taker_bps: Decimal = Decimal("60")
    control: bool = False
    """Mount the fault-injection control endpoint (/sim/...): tests and demos only."""
    starting_balances: tuple[tuple[str, Decimal], ...] = tuple(DEFAULT_BALANCES.items())
    """What each new API key's paper account starts with."""
    db: Path | None = None
    """SQLite file that keeps the paper account across restarts (None: in memory only)."""
    checksum: bool = False
    """Add a CRC32 `checksum` of the top 25 levels per side to every level2 event."""
    tls_dir: Path | None = None
    """Serve https/wss with a self-signed certificate kept in this directory."""
    protocols: tuple[str, ...] = ("coinbase",)
    """The venue protocols served: "coinbase" (Advanced Trade), "binance" (Spot), or both."""
    binance_key_files: tuple[Path, ...] = ()
    """Binance key files (HMAC or Ed25519, or an Ed25519 key's public half) that may sign requests."""
    binance_weight_limit: int = 6000
    """Binance protocol: request weight a minute per address before 429."""
    binance_order_limit: int = 100
    """Binance protocol: new orders in ten seconds per key before 429."""

    def __post_init__(self) -> None:
        unknown = [p for p in self.products if p not in ALL_PRODUCTS]
        if unknown or not self.products:
            raise ValueError(
                f"unknown products {unknown or '(none given)'}; the paper venue can list {', '.join(ALL_PRODUCTS)}"
            )
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port must be 0..65535, got {self.port}")
        intervals = (self.heartbeat_interval, self.ticker_batch_interval)
        if self.step_interval < 0 or self.warmup_steps < 0 or min(intervals) <= 0:
            raise ValueError("step_interval and warmup_steps must be >= 0, heartbeat and ticker_batch intervals > 0")
        for currency, amount in self.starting_balances:
            if not currency.isalnum() or not amount.is_finite() or amount < 0:
                raise ValueError(f"starting balance {currency}={amount} must be a currency code and an amount >= 0")
        if self.max_connections_per_client < 1 or not self.max_messages_per_second > 0:
            raise ValueError(
                "max_connections_per_client must be >= 1 and max_messages_per_second > 0, got "
                f"{self.max_connections_per_client} and {self.max_messages_per_second}"
            )
        if not self.protocols or set(self.protocols) - {"coinbase", "binance"}:
            raise ValueError(f"protocols must be coinbase and/or binance, got {self.protocols}")
        if self.binance_weight_limit < 1 or self.binance_order_limit < 1:
            raise ValueError("binance_weight_limit and binance_order_limit must be >= 1")
        if self.rate_limit < 0:
            raise ValueError(f"rate_limit must be >= 0 requests a second, got {self.rate_limit}")


class PaperVenue:
    """A Coinbase Advanced Trade–compatible paper exchange.

    Its market is a seeded synthetic flow, or (`market`) a recording played at its own pace.
    """

    def __init__(
        self,
        config: VenueConfig | None = None,
        clock: frames.Clock = frames.system_clock,
        market: RecordedMarket | None = None,
    ) -> None:
        self.config = config = config or VenueConfig()
        self.clock = clock
        self.market = market
        products = market.products if market is not None else config.products
        unknown = [p for p in products if p not in ALL_PRODUCTS]
        if unknown:
            listed = ", ".join(ALL_PRODUCTS)
            raise ValueError(f"the recording's products {unknown} are not ones the paper venue lists ({listed})")
        # Trade ids are unique across restarts: each run starts from its start time in
        # microseconds, far above what the previous run can have used.
        trade_ids = itertools.count(clock() // 1000)
        self.books: dict[str, MatchingBook] = {p: MatchingBook(ALL_PRODUCTS[p], trade_ids) for p in products}
        self.flows: dict[str, SyntheticFlow] = {}
        if market is None:
            self.flows = {
                p: SyntheticFlow(book, random.Random(f"{config.seed}:{p}"), min_levels=config.min_levels)
                for p, book in self.books.items()
            }
        self._timing = random.Random(f"{config.seed}:timing")
        self._traded_since_batch: set[str] = set()
        """Products that traded since the last ticker_batch frame."""
        # JWT times are the client's wall clock, whatever time the simulated market keeps.
        self.keys = KeyRegistry()
        for path in config.api_key_files:
            self.keys.register_file(path)
        self.exchange = Exchange(
            self.books,
            self.now,
            maker_bps=config.maker_bps,
            taker_bps=config.taker_bps,
            starting_balances=dict(config.starting_balances),
        )
        self.store = AccountStore(config.db) if config.db is not None else None
        if self.store is not None:
            self.exchange.restore(*self.store.load())
        self.faults = Faults()
        self.tapes = {p: TradeTape(p) for p in self.books}
        self.feed = FeedEndpoint(
            self,
            max_queued_bytes=config.max_queued_bytes,
            max_connections_per_client=config.max_connections_per_client,
            max_messages_per_second=config.max_messages_per_second,
        )
        self.rest = RestApi(self, rate_limit=config.rate_limit)
        self.binance: BinanceFront | None = None
        if "binance" in config.protocols:
            self.binance = BinanceFront(
                self, weight_limit=config.binance_weight_limit, order_limit=config.binance_order_limit
            )
            for path in config.binance_key_files:
                self.binance.keys.register_file(path)
        for product_id, flow in self.flows.items():
            flow.seed_book()
            for _ in range(config.warmup_steps):
                self.exchange.settle(product_id, flow.step())
            self.books[product_id].take_changes()
        if market is not None:
            for product_id, trades in market.attach(self.books).items():
                self.exchange.settle(product_id, trades)
            for book in self.books.values():
                book.take_changes()
        self._publish_all()  # nobody listens yet: this records the warm-up tape and saves
        self._runner: web.AppRunner | None = None
        self._site: web.TCPSite | None = None
        self._fault_task: asyncio.Task[None] | None = None
        self._ssl: Any = None
        self.cert_path: Path | None = None
        self._flow_task: asyncio.Task[None] | None = None
        self._batch_task: asyncio.Task[None] | None = None
        self._flow_running = self._has_flow()
        self.port = 0

    # -- lifecycle -----------------------------------------------------------------------

    async def start(self) -> None:
        """Listen and start the synthetic flow."""
        app = web.Application(middlewares=[json_errors], client_max_size=MAX_BODY_BYTES)
        if "coinbase" in self.config.protocols:
            app.router.add_get(WS_PATH, self.feed.handle)
            app.router.add_routes(self.rest.routes())
        if self.binance is not None:
            app.router.add_routes(self.binance.routes())
        if self.config.control:
            app.router.add_routes(ControlApi(self).routes())
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        self._ssl = None
        if self.config.tls_dir is not None:
            self.cert_path, key_path = ensure_certificate(self.config.tls_dir)
            self._ssl = server_context(self.cert_path, key_path)
        self._site = web.TCPSite(self._runner, self.config.host, self.config.port, ssl_context=self._ssl)
        await self._site.start()
        self.port = self._runner.addresses[0][1]
        loop = asyncio.get_running_loop()
        self._flow_task = loop.create_task(self._flow_loop(), name="sim flow")
        self._batch_task = loop.create_task(self._ticker_batch_loop(), name="sim ticker_batch")

    def start_fault(self, fault: Coroutine[Any, Any, None]) -> None:
        """Run a fault (drop, restart) in the background; stop() cancels it if still running."""
        self._fault_task = asyncio.get_running_loop().create_task(fault)

    def transfer(self, owner: str, currency: str, amount: Decimal) -> None:
        """Move `amount` into (or, negative, out of) an owner's available balance, as a deposit or
        withdrawal would: saved, and told on the Binance user stream (`balanceUpdate`, then the
        balance). Coinbase's user channel carries no balances: its clients read them again."""
        account = self.exchange.account(owner, currency)
        if not amount.is_finite() or amount == 0 or account.available + amount < 0:
            raise ValueError(f"a transfer of {amount} {currency} with {account.available} available")
        account.available += amount
        if self.store is not None:
            self.store.save([], [(owner, account)])
        if self.binance is not None:
            self.binance.balance_changed(owner, currency, amount)

    async def drop_connections(self) -> None:
        """Fault: cut every WebSocket of every protocol without a close handshake."""
        await self.feed.drop_all()
        if self.binance is not None:
            await self.binance.drop_all()

    async def restart(self, down_for: float = 0.0) -> None:
        """Fault: cut every connection, stop listening for `down_for` seconds, listen again.

        Accounts, orders and books survive, as they do when a real venue fails over.
        """
        assert self._runner is not None and self._site is not None
        await self.drop_connections()
        await self._site.stop()
        await asyncio.sleep(down_for)
        self._site = web.TCPSite(self._runner, self.config.host, self.port, ssl_context=self._ssl)
        await self._site.start()

    async def stop(self) -> None:
        """Close every connection and stop listening."""
        if self._fault_task is not None:
            self._fault_task.cancel()
        for task in (self._flow_task, self._batch_task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        await self.feed.close_all()
        if self.binance is not None:
            await self.binance.drop_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        if self.store is not None:
            self.store.close()

    async def __aenter__(self) -> PaperVenue:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def ws_url(self) -> str:
        """Where clients connect for market data."""
        return self._url("ws")

    @property
    def rest_url(self) -> str:
        """The REST base URL (the brokerage API lives under /api/v3/brokerage)."""
        return self._url("http")

    def _url(self, scheme: str) -> str:
        """scheme://host:port, with the TLS variant of the scheme under --tls and IPv6 bracketed."""
        host = self.config.host if ":" not in self.config.host else f"[{self.config.host}]"
        return f"{scheme}{'s' if self.config.tls_dir else ''}://{host}:{self.port}"

    def now(self) -> datetime:
        """The venue clock as an aware UTC datetime."""
        ns = self.clock()
        return datetime.fromtimestamp(ns // 1_000_000_000, UTC).replace(microsecond=ns % 1_000_000_000 // 1000)

    def now_text(self) -> str:
        """The venue clock in RFC 3339."""
        return frames.rfc3339(self.clock())

    # -- trading -------------------------------------------------------------------------

    def create_order(self, owner: str, body: object, *, quote_sells: bool = False) -> dict[str, Any]:
        """Place a user's order (InvalidRequest for malformed input) and publish the book
        (`quote_sells`: see Exchange.create_order)."""
        response = self.exchange.create_order(owner, body, refusal=self.faults.take_rejection, quote_sells=quote_sells)
        self._publish_after_answering()
        return response

    def edit_order(self, owner: str, body: object) -> dict[str, Any]:
        """Edit a user's resting order (InvalidRequest for malformed input) and publish the book."""
        response = self.exchange.edit_order(owner, body)
        self._publish_after_answering()
        return response

    def cancel_orders(self, owner: str, order_ids: list[str]) -> list[dict[str, Any]]:
        """Cancel a user's orders and publish the book."""
        results = self.exchange.cancel_orders(owner, order_ids)
        self._publish_after_answering()
        return results

    def _publish_after_answering(self) -> None:
        """Save what a REST call changed now, and tell the feeds once its answer is written.

        A venue answers the call and fans the change out on its feeds independently; fanning
        out first held every answer back by its caller's own user-channel frames (one per order
        of a 200-order batch_cancel), which a caller with no feed open never paid.
        """
        changed = self._save_changed_orders()
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # called outside the venue's loop (a test driving it directly)
            self._publish_all(changed)
            return
        loop.call_soon(self._publish_all, changed)

    def _save_changed_orders(self) -> list[Order]:
        changed = self.exchange.take_changed_orders()
        if self.store is not None and changed:
            # Durable before anyone hears of it: a venue killed now restarts with this state.
            owners = {order.owner for order in changed}
            accounts = [(owner, account) for owner in owners for account in self.exchange.owner_accounts(owner)]
            self.store.save(changed, accounts)
        return changed

    def _publish_all(self, changed: list[Order] | None = None) -> None:
        """Tell subscribers everything the last operation changed: books, trades, orders (those
        `changed`, saved already, or else taken and saved now)."""
        trades_by_product: dict[str, list[Any]] = {}
        for product_id, trade in self.exchange.take_trades():
            trades_by_product.setdefault(product_id, []).append(trade)
        for product_id in self.books:
            self.publish_level2(product_id)
            if product_id in trades_by_product:
                self.publish_trades(product_id, trades_by_product[product_id])
        if changed is None:
            changed = self._save_changed_orders()
        if self.binance is not None:
            self.binance.orders_changed(changed)
        # One user frame per owner and product (at most USER_ORDERS_PER_FRAME orders each), in
        # the order the changes happened.
        batches: dict[tuple[str, str], list[Order]] = {}
        for order in changed:
            batches.setdefault((order.owner, order.product_id), []).append(order)
        for (owner, product_id), orders in batches.items():
            for start in range(0, len(orders), USER_ORDERS_PER_FRAME):
                chunk = orders[start : start + USER_ORDERS_PER_FRAME]
                events = frames.encode_events([{"type": "update", "orders": [frames.user_order(o) for o in chunk]}])
                self.feed.broadcast_user(owner, product_id, events)

    def publish_trades(self, product_id: str, trades: list[Any]) -> None:
        """Record trades on the tape and send market_trades, candles and ticker updates."""
        ns = self.clock()
        tape = self.tapes[product_id]
        touched = tape.record(trades, frames.rfc3339(ns), ns // 1_000_000_000)
        if self.binance is not None:
            self.binance.traded(product_id, trades)
        new = list(tape.recent)[: len(trades)]
        feed = self.feed
        feed.broadcast(
            "market_trades",
            "market_trades",
            product_id,
            frames.encode_events([frames.trades_event("update", product_id, new)]),
        )
        feed.broadcast(
            "candles",
            "candles",
            product_id,
            frames.encode_events([frames.candles_event("update", product_id, touched)]),
        )
        feed.broadcast(
            "ticker",
            "ticker",
            product_id,
            frames.encode_events([frames.ticker_event("update", [self.ticker(product_id)])]),
        )
        self._traded_since_batch.add(product_id)

    def ticker(self, product_id: str) -> dict[str, str]:
        """The ticker object of one product; `*_24_h` cover the last 24 hours, as Coinbase's."""
        book, tape = self.books[product_id], self.tapes[product_id]
        bid, ask = book.top("bid"), book.top("offer")
        last = tape.last if tape.last is not None else book.spec.start_price
        day = tape.day(self.clock() // 1_000_000_000)

        def text(value: Decimal | None) -> str:
            return format_decimal(value) if value is not None else ""

        return {
            "type": "ticker",
            "product_id": product_id,
            "price": text(last),
            "volume_24_h": text(day.volume if day else Decimal(0)),
            "low_24_h": text(day.low if day else last),
            "high_24_h": text(day.high if day else last),
            "price_percent_chg_24_h": text(day.change_percent if day else Decimal(0)),
            "best_bid": text(bid[0]) if bid else "",
            "best_bid_quantity": text(bid[1]) if bid else "",
            "best_ask": text(ask[0]) if ask else "",
            "best_ask_quantity": text(ask[1]) if ask else "",
        }

    def snapshot_events(self, channel: str, product_id: str, owner: str = "") -> str:
        """The `events` text of the snapshot a new subscription to `channel` starts with."""
        if channel == "level2":
            return self.level2_snapshot_json(product_id)
        if channel == "market_trades":
            event = frames.trades_event("snapshot", product_id, self.tapes[product_id].snapshot_trades())
        elif channel == "candles":
            event = frames.candles_event("snapshot", product_id, list(self.tapes[product_id].candles.values()))
        elif channel in ("ticker", "ticker_batch"):
            event = frames.ticker_event("snapshot", [self.ticker(product_id)])
        elif channel == "status":
            event = {"type": "snapshot", "products": [self._status(p) for p in self.books]}
        else:  # user: the caller's open orders
            orders = [o for o in self.exchange.owner_orders(owner) if o.status in ("OPEN", "PENDING")]
            event = {"type": "snapshot", "orders": [frames.user_order(o) for o in orders]}
        return frames.encode_events([event])

    def _status(self, product_id: str) -> dict[str, str]:
        spec = self.books[product_id].spec
        return {
            "product_type": "SPOT",
            "id": product_id,
            "base_currency": spec.base_currency,
            "quote_currency": spec.quote_currency,
            "base_increment": format_decimal(spec.base_increment),
            "quote_increment": format_decimal(spec.quote_increment),
            "display_name": product_id,
            "status": "online",
            "status_message": "",
            "min_market_funds": "1",
        }

    # -- market --------------------------------------------------------------------------

    def pause_flow(self) -> None:
        """Freeze the synthetic market (the book stops changing)."""
        self._flow_running = False

    def resume_flow(self) -> None:
        """Let the synthetic market move again."""
        self._flow_running = self._has_flow()

    def _has_flow(self) -> bool:
        return self.market is not None or self.config.step_interval > 0

    def step(self, product_id: str | None = None) -> None:
        """Advance one product (or all) by one synthetic market event and publish the changes;
        a recorded market plays its next event, whichever product it is for."""
        self.exchange.expire()
        if self.market is not None:
            self._settle_recorded(self.market.play_next())
            return
        for pid in [product_id] if product_id else list(self.books):
            self.exchange.settle(pid, self.flows[pid].step())
        self._publish_all()

    def _settle_recorded(self, trades: dict[str, list[Any]]) -> None:
        for product_id, made in trades.items():
            self.exchange.settle(product_id, made)
        self._publish_all()

    def publish_level2(self, product_id: str) -> None:
        """Send the level changes since the last publish to level2 subscribers."""
        changes = self.books[product_id].take_changes()
        if not changes:
            return
        if self.binance is not None:
            self.binance.book_changed(product_id, changes)
        event_time = frames.rfc3339(self.clock())
        event = frames.l2_event("update", product_id, event_time, changes)
        self._add_checksum(event, product_id)
        self.feed.broadcast("l2_data", "level2", product_id, frames.encode_events([event]))

    def _add_checksum(self, event: dict[str, object], product_id: str) -> None:
        if self.config.checksum:
            book = self.books[product_id]
            depth = frames.CHECKSUM_DEPTH
            event["checksum"] = frames.book_checksum(book.levels("bid")[:depth], book.levels("offer")[:depth])

    def level2_snapshot_json(self, product_id: str) -> str:
        """The `events` text of a level2 snapshot: all bids best first, then all offers."""
        book = self.books[product_id]
        event_time = frames.rfc3339(self.clock())
        levels = [("bid", p, s) for p, s in book.levels("bid")]
        levels += [("offer", p, s) for p, s in book.levels("offer")]
        event = frames.l2_event("snapshot", product_id, event_time, levels)
        self._add_checksum(event, product_id)
        return frames.encode_events([event])

    def book_levels(self, product_id: str) -> tuple[list[tuple[Decimal, Decimal]], list[tuple[Decimal, Decimal]]]:
        """The venue's own aggregated book: (bids, asks), best first."""
        book = self.books[product_id]
        return book.levels("bid"), book.levels("offer")

    async def _flow_loop(self) -> None:
        if self.market is not None:
            await self._recorded_loop(self.market)
            return
        interval = self.config.step_interval
        if interval <= 0:
            return
        while True:
            await asyncio.sleep(self._timing.uniform(0.2, 1.8) * interval)
            if self._flow_running:
                self.step()

    async def _recorded_loop(self, market: RecordedMarket) -> None:
        """Play the recording at its own pace (times `market.speed`); a pause holds the recorded
        clock, so resuming goes on from where it stood, not from where the wall clock got to."""
        loop = asyncio.get_running_loop()
        origin, recorded_origin = loop.time(), market.at
        while (at := market.next_at()) is not None:
            await asyncio.sleep(max(0.0, origin + (at - recorded_origin) / market.speed - loop.time()))
            if not self._flow_running:
                await asyncio.sleep(PAUSED_POLL)
                origin, recorded_origin = loop.time(), market.at
                continue
            self.exchange.expire()
            # Everything due by now in one go: a venue that fell behind catches up, not drifts.
            now = recorded_origin + (loop.time() - origin) * market.speed
            self._settle_recorded(market.play_until(max(at, now)))
        log.info("the recording ended: the book stays as it last was")

    async def _ticker_batch_loop(self) -> None:
        """Every few seconds, a ticker_batch update for each product that traded since the last."""
        while True:
            await asyncio.sleep(self.config.ticker_batch_interval)
            self.publish_ticker_batch()

    def publish_ticker_batch(self) -> None:
        """Send ticker_batch subscribers the tickers of products that traded since the last batch."""
        traded, self._traded_since_batch = self._traded_since_batch, set()
        for product_id in sorted(traded):
            events = frames.encode_events([frames.ticker_event("update", [self.ticker(product_id)])])
            self.feed.broadcast("ticker_batch", "ticker_batch", product_id, events)


class ControlApi:
    """/sim/faults, /sim/reset, /sim/state, /sim/flow, /sim/book: drive fault injection and read the
    venue's own state over HTTP (mounted on request, for tests and `make chaos`)."""

    def __init__(self, venue: PaperVenue) -> None:
        self.venue = venue

    def routes(self) -> list[web.RouteDef]:
        """The control routes."""
        return [
            web.post("/sim/faults", self.inject),
            web.post("/sim/reset", self.reset),
            web.get("/sim/state", self.state),
            web.post("/sim/flow", self.flow),
            web.get("/sim/book", self.book),
        ]

    async def inject(self, request: web.Request) -> web.Response:
        """Arm one fault: {"fault": NAME, ...its parameters}."""
        try:
            body = await request.json()
            if not isinstance(body, dict):
                raise ValueError("body must be a JSON object")
            self._arm(body)
        except (ValueError, TypeError, KeyError) as exc:
            return error(400, "INVALID_ARGUMENT", f"bad fault request: {exc}")
        self.venue.faults.log.append(f"armed {body['fault']}")
        return web.json_response({"ok": True, "faults": self.venue.faults.state()})

    def _arm(self, body: dict[str, Any]) -> None:
        venue, faults, name = self.venue, self.venue.faults, body.get("fault")
        count = int(body.get("count", 1))
        if name == "rest_error":
            faults.fail_rest(int(body["status"]), count)
        elif name == "rest_latency":
            faults.slow_rest(float(body["seconds"]))
        elif name == "reject_orders":
            faults.reject_orders(str(body["reason"]), count)
        elif name == "skip_sequence":
            venue.feed.skip_sequence(count)
            if venue.binance is not None:
                venue.binance.skip_updates(count)
        elif name == "stall":
            faults.stall_ws(float(body["seconds"]), time.monotonic())
        elif name == "malformed":
            venue.feed.send_malformed()
            if venue.binance is not None:
                venue.binance.send_malformed()
        elif name == "oversized":
            venue.feed.send_oversized(int(body["bytes"]))
        elif name == "drop":
            venue.start_fault(venue.drop_connections())
        elif name == "restart":
            seconds = float(body.get("seconds", 0.5))
            venue.start_fault(venue.restart(seconds))
        else:
            raise ValueError(
                f"unknown fault {name!r}; known: rest_error, rest_latency, reject_orders, "
                "skip_sequence, stall, malformed, oversized, drop, restart"
            )

    async def reset(self, request: web.Request) -> web.Response:
        """Disarm every fault."""
        self.venue.faults.clear()
        return web.json_response({"ok": True})

    async def flow(self, request: web.Request) -> web.Response:
        """Pause ({"running": false}) or resume ({"running": true}) the market's flow."""
        try:
            body = await request.json()
            running = body["running"] if isinstance(body, dict) else None
            if not isinstance(running, bool):
                raise ValueError(f'expected {{"running": true or false}}, got {body!r}'[:200])
        except ValueError as exc:
            return error(400, "INVALID_ARGUMENT", f"bad flow request: {exc}")
        if running:
            self.venue.resume_flow()
        else:
            self.venue.pause_flow()
        return web.json_response({"ok": True, "running": running})

    async def book(self, request: web.Request) -> web.Response:
        """The venue's aggregated book of `product_id`, `depth` levels a side (default all)."""
        product_id = request.query.get("product_id", "")
        if product_id not in self.venue.books:
            return error(404, "NOT_FOUND", f"no product {product_id[:40]!r}")
        try:
            depth = int(request.query.get("depth", "0")) or None
        except ValueError:
            return error(400, "INVALID_ARGUMENT", f"depth must be a whole number, got {request.query['depth'][:20]!r}")
        bids, asks = self.venue.book_levels(product_id)
        return web.json_response(
            {
                "product_id": product_id,
                "bids": [[format_decimal(p), format_decimal(s)] for p, s in bids[:depth]],
                "asks": [[format_decimal(p), format_decimal(s)] for p, s in asks[:depth]],
            }
        )

    async def state(self, request: web.Request) -> web.Response:
        """Armed faults, connections, orders and the inside market of each product."""
        venue = self.venue
        products = {}
        for product_id, book in venue.books.items():
            bid, ask = book.best_bid(), book.best_ask()
            products[product_id] = {
                "best_bid": format_decimal(bid) if bid is not None else None,
                "best_ask": format_decimal(ask) if ask is not None else None,
                "levels": [book.level_count("bid"), book.level_count("offer")],
            }
        return web.json_response(
            {
                "faults": venue.faults.state(),
                "connections": len(venue.feed.sessions),
                "orders": len(venue.exchange.orders),
                "products": products,
            }
        )


class VenueThread:
    """A `PaperVenue` on its own thread and event loop (how the console embeds the venue)."""

    def __init__(
        self,
        config: VenueConfig | None = None,
        clock: frames.Clock = frames.system_clock,
        market: RecordedMarket | None = None,
    ) -> None:
        self.config = config or VenueConfig()
        self._clock = clock
        self._market = market
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopped: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self.venue: PaperVenue | None = None

    def start(self, timeout: float = 15.0) -> VenueThread:
        """Start the venue and wait until it listens; re-raises a start-up failure."""
        self._thread = threading.Thread(target=self._main, name="paper-venue", daemon=True)
        self._thread.start()
        if not self._ready.wait(timeout):
            raise TimeoutError(f"paper venue did not start within {timeout:g}s")
        if self._error is not None:
            raise self._error
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Shut the venue down and join its thread (idempotent)."""
        if self._loop is not None and self._stopped is not None and self._loop.is_running():
            self._loop.call_soon_threadsafe(self._stopped.set)
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def call(self, fn: Callable[[PaperVenue], T], timeout: float = 5.0) -> T:
        """Run `fn(venue)` on the venue's loop and return its result (thread-safe)."""

        async def run() -> T:
            assert self.venue is not None
            return fn(self.venue)

        return self.run(run(), timeout)

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 5.0) -> T:
        """Run a coroutine on the venue's loop and wait for its result."""
        assert self._loop is not None, "venue not started"
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout)

    @property
    def ws_url(self) -> str:
        """Where clients connect for market data."""
        assert self.venue is not None, "venue not started"
        return self.venue.ws_url

    def __enter__(self) -> VenueThread:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # surfaced to start(); the thread must not die silently
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        self.venue = PaperVenue(self.config, self._clock, self._market)
        await self.venue.start()
        self._ready.set()
        try:
            await self._stopped.wait()
        finally:
            await self.venue.stop()
