"""The engine's composition root and headless API.

    async with Engine(EngineConfig(ws_url="ws://127.0.0.1:8765/ws")) as engine:
        await engine.subscribe("BTC-USD")
        book = await engine.wait_for_book("BTC-USD")
        async for event in engine.events(): ...

Everything runs on the caller's event loop; nothing here knows whether a UI exists.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from datetime import time as day_time
from decimal import Decimal
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from cryptoj_tui.binance_keys import BinanceKey
from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.engine.adapters.base import MarketDataFeed
from cryptoj_tui.engine.adapters.binance import symbol_of
from cryptoj_tui.engine.adapters.binance.feed import BinanceDepthFeed
from cryptoj_tui.engine.adapters.binance.venue import load_key as load_binance_key
from cryptoj_tui.engine.adapters.coinbase.auth import load_key
from cryptoj_tui.engine.adapters.coinbase.market_feed import CoinbaseMarketFeed
from cryptoj_tui.engine.adapters.connection import MAX_FRAME_BYTES, MIN_FRAME_BYTES, Backoff, ConnectionMetrics
from cryptoj_tui.engine.book import OrderBook
from cryptoj_tui.engine.bus import EventBus, Subscription
from cryptoj_tui.engine.emergency import KillReport
from cryptoj_tui.engine.events import FeedMetrics
from cryptoj_tui.engine.group_commit import INTENT_SYNC_WINDOW
from cryptoj_tui.engine.market_data import MarketData, ProductUnavailable
from cryptoj_tui.engine.model import ConnectionState, TickerSnapshot, check_product_id
from cryptoj_tui.engine.orders import (
    Order,
    OrderError,
    OrderRequest,
    OrderSide,
    OrderStatus,
    OrderType,
    VenueFill,
    new_client_order_id,
)
from cryptoj_tui.engine.portfolio import Balance, Position
from cryptoj_tui.engine.recording import MARKET, Recorder
from cryptoj_tui.engine.risk import CheckResult, RiskLimits, TradingState
from cryptoj_tui.engine.tape import TradeTape
from cryptoj_tui.engine.trading import OrderRefusedError, Trading, TradingConfig, utc_now


class EngineStartError(RuntimeError):
    """The engine could not start trading; the message says why in one line."""


@dataclass(frozen=True, kw_only=True)
class EngineConfig:
    """How to reach the venue. Frozen: a running engine's configuration does not drift."""

    ws_url: str
    venue: str = "coinbase"
    """Which protocol the venue speaks: "coinbase" (Advanced Trade) or "binance" (spot depth)."""
    rest_url: str | None = None
    """REST base URL; Binance needs it for depth snapshots."""
    stale_after: float = 5.0
    """Seconds without any frame before the connection counts as dead."""
    reconnect_cap: float = 30.0
    """Seconds the market feed waits at most before reconnecting after repeated failures (the first
    retry is immediate). A replay sets it near 0: each seek is a reconnect, not a failure."""
    market_stale_after: float = 10.0
    """Seconds without a book update before a product counts as stale (MarketStale)."""
    key: CdpKey | BinanceKey | None = field(default=None, repr=False)
    """The API key to trade with (the embedded paper venue's generated key): a CDP key for
    Coinbase, a Binance key for Binance."""
    key_file: Path | None = None
    """A key file (CDP for Coinbase, Binance's for Binance); without it and without `key`,
    CRYPTOJ_KEY_FILE or the CRYPTOJ_API_KEY_NAME + CRYPTOJ_API_PRIVATE_KEY variables (Coinbase),
    CRYPTOJ_BINANCE_KEY_FILE or CRYPTOJ_BINANCE_API_KEY + CRYPTOJ_BINANCE_SECRET_KEY (Binance);
    with no key at all the engine only watches markets."""
    user_ws_url: str | None = None
    """Where the key's order updates are served: Coinbase's user channel (default: ws_url), or
    Binance's WebSocket API (default: /ws-api/v3 on ws_url's host)."""
    watch_only: bool = False
    """Market data only, whatever keys the environment holds (a replay: there is nothing to trade on)."""
    journal_path: Path | str = ":memory:"
    limits: RiskLimits = field(default_factory=RiskLimits)
    daily_reset_utc: str = "00:00"
    """When (UTC, HH:MM) the daily loss limit starts counting again."""
    rest_rate: float = 25.0
    """Client-side REST requests a second (Coinbase allows about 30 per key)."""
    rest_timeout: float = 5.0
    """Seconds before a REST call without an answer is retried (then resolved by asking the venue)."""
    intent_sync_window: float = INTENT_SYNC_WINDOW
    """Seconds an order's journalled intent may wait for its fsync (one fsync serves all intents of
    the window); 0 fsyncs each intent before its order is sent. See engine/group_commit.py."""
    wall_clock: Callable[[], datetime] = field(default=utc_now, repr=False, compare=False)
    """Now, in UTC: the daily reset and the feed latency read it (tests inject a frozen or stepped one)."""
    trigger_check_every: float = 1.0
    """Seconds between checks of the halt triggers and the trading day."""
    reconcile_every: float = 30.0
    """Seconds between reconciliations of the working orders (and balances) with the venue."""
    client_order_ids: Callable[[], str] = field(default=new_client_order_id, repr=False, compare=False)
    """Makes each new order's client order id: a fresh UUID4, or a seeded sequence where a run must
    repeat exactly (snapshots, replays). The venue treats a repeated id as the same order."""
    record_path: Path | None = None
    """Record the session here (gzip JSON lines, docs/recording.md): every frame received and every
    REST call with its answer. Off (None) by default."""
    record_max_bytes: int = 256 * 1024 * 1024
    """A recording moves on to a new part file past this many compressed bytes."""
    max_frame_bytes: int = MAX_FRAME_BYTES
    """The largest WebSocket frame taken (a Coinbase level2 snapshot is several megabytes); a larger
    one closes the connection (1009) and it reconnects. Bounds what one frame can cost in memory."""

    def __post_init__(self) -> None:
        parts = urlsplit(self.ws_url)
        if parts.scheme not in ("ws", "wss") or not parts.hostname:
            raise ValueError(f"ws_url {self.ws_url!r} must be a ws:// or wss:// URL with a host")
        if not self.stale_after > 0:
            raise ValueError(f"stale_after must be positive seconds, got {self.stale_after}")
        if self.venue not in ("coinbase", "binance"):
            raise ValueError(f"venue must be 'coinbase' or 'binance', got {self.venue!r}")
        if self.venue == "binance" and not (self.rest_url or "").startswith(("http://", "https://")):
            raise ValueError("a binance venue needs rest_url, an http:// or https:// URL, for depth snapshots")
        if not self.reconnect_cap > 0:
            raise ValueError(f"reconnect_cap must be positive seconds, got {self.reconnect_cap}")
        if not self.market_stale_after > 0:
            raise ValueError(f"market_stale_after must be positive seconds, got {self.market_stale_after}")
        if not self.intent_sync_window >= 0:
            raise ValueError(f"intent_sync_window must be 0 or more seconds, got {self.intent_sync_window}")
        if not self.trigger_check_every > 0:
            raise ValueError(f"trigger_check_every must be positive seconds, got {self.trigger_check_every}")
        if not self.reconcile_every > 0:
            raise ValueError(f"reconcile_every must be positive seconds, got {self.reconcile_every}")
        if self.max_frame_bytes < MIN_FRAME_BYTES:
            raise ValueError(f"max_frame_bytes must be at least {MIN_FRAME_BYTES:,}, got {self.max_frame_bytes}")
        if not self.record_max_bytes > 0:
            raise ValueError(f"record_max_bytes must be a positive number of bytes, got {self.record_max_bytes}")
        try:
            day_time.fromisoformat(self.daily_reset_utc)
        except ValueError:
            raise ValueError(f"daily_reset_utc must be HH:MM, got {self.daily_reset_utc!r}") from None

    def venue_symbol(self, product_id: str) -> str:
        """What the venue calls a product: Binance's symbol (BTC-USDT is BTCUSDT), Coinbase's id."""
        return symbol_of(product_id) if self.venue == "binance" else product_id

    def trading_config(self) -> TradingConfig | None:
        """How to trade, or None without an API key (KeyFileError says what is wrong with one).

        The REST URL defaults to the WebSocket's host and port over http(s), which is where the
        paper venue serves both.
        """
        if self.watch_only:
            return None
        key = self.key or (load_binance_key(self.key_file) if self.venue == "binance" else load_key(self.key_file))
        if key is None:
            return None
        if isinstance(key, BinanceKey) != (self.venue == "binance"):
            raise ValueError(
                f"a {'Binance' if isinstance(key, BinanceKey) else 'CDP (Coinbase)'} key cannot trade on {self.venue}"
            )
        parts = urlsplit(self.ws_url)
        rest_url = self.rest_url or f"{'https' if parts.scheme == 'wss' else 'http'}://{parts.netloc}"
        user_ws_url = self.user_ws_url or (
            f"{parts.scheme}://{parts.netloc}/ws-api/v3" if self.venue == "binance" else self.ws_url
        )
        return TradingConfig(
            rest_url=rest_url,
            user_ws_url=user_ws_url,
            key=key,
            journal_path=self.journal_path,
            limits=self.limits,
            daily_reset_utc=day_time.fromisoformat(self.daily_reset_utc),
            rest_rate=self.rest_rate,
            rest_timeout=self.rest_timeout,
            intent_sync_window=self.intent_sync_window,
            wall_clock=self.wall_clock,
            trigger_check_every=self.trigger_check_every,
            reconcile_every=self.reconcile_every,
            client_order_ids=self.client_order_ids,
            max_frame_bytes=self.max_frame_bytes,
        )


class Engine:
    """One trading engine: market data, and with an API key orders, risk and the kill switch."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.bus = EventBus()
        self.market_data = MarketData(self.bus)
        self.recorder: Recorder | None = None
        """Writes the session to `config.record_path`; None when not recording."""
        if config.record_path is not None:
            self.recorder = Recorder(config.record_path, venue=config.venue, max_file_bytes=config.record_max_bytes)
        self._feed: MarketDataFeed
        if config.venue == "binance":
            assert config.rest_url is not None
            self._feed = BinanceDepthFeed(
                config.ws_url,
                config.rest_url,
                self.market_data,
                self.bus,
                stale_after=config.stale_after,
                max_frame_bytes=config.max_frame_bytes,
                backoff=self._backoff(),
                tap=None if self.recorder is None else self.recorder.tap(MARKET),
                rest_tap=self.recorder,
            )
        else:
            self._feed = CoinbaseMarketFeed(
                config.ws_url,
                self.market_data,
                self.bus,
                stale_after=config.stale_after,
                max_frame_bytes=config.max_frame_bytes,
                backoff=self._backoff(),
                tap=None if self.recorder is None else self.recorder.tap(MARKET),
            )
        trading = config.trading_config()
        self.trading: Trading | None = (
            None if trading is None else Trading(trading, self.market_data, self.bus, recorder=self.recorder)
        )
        """Orders, risk, portfolio and the kill switch; None when the engine has no API key."""
        self._running = False
        self._watch: asyncio.Task[None] | None = None

    def _backoff(self) -> Backoff:
        cap = self.config.reconnect_cap
        return Backoff(base=min(0.25, cap), cap=cap)

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def start(self) -> None:
        """Connect to the venue in the background; with a key, recover and start trading.

        EngineStartError says in one line why trading could not start (the venue unreachable or
        refusing the key, the journal unreadable); everything started is stopped again first.
        """
        if not self._running:
            if self.recorder is not None:
                self.recorder.open()  # RecordingError (a ValueError) names a path it cannot write
            self._running = True
            self._feed.start()
            self._watch = asyncio.get_running_loop().create_task(self._watch_staleness(), name="staleness")
            if self.trading is not None:
                try:
                    await self.trading.start()
                except Exception as exc:
                    await self.stop()
                    raise EngineStartError(f"cannot start trading at {self.trading.config.rest_url}: {exc}") from exc
                # Working orders recovered from the journal need their markets watched.
                recovered = {o.product_id for o in self.trading.execution.working()}
                if recovered:
                    await self.subscribe(*sorted(recovered))

    async def stop(self) -> None:
        """Disconnect and end every event stream."""
        if self._running:
            self._running = False
            if self._watch is not None:
                self._watch.cancel()
            if self.trading is not None:
                await self.trading.stop()
            await self._feed.close()
            if self.recorder is not None:
                await asyncio.to_thread(self.recorder.close)
            self.bus.close()

    async def subscribe(self, *product_ids: str) -> None:
        """Keep live books of these products. ValueError names a malformed product id, and
        ProductUnavailable one the venue does not list (then nothing is subscribed)."""
        for product_id in product_ids:
            check_product_id(product_id)
        listed = self.trading.products if self.trading is not None else {}
        unlisted = [p for p in product_ids if listed and p not in listed]
        for product_id in unlisted:
            self.market_data.refuse(
                product_id,
                (
                    f"the venue does not list {product_id} (it lists {', '.join(sorted(listed)[:10])}"
                    f"{', ...' if len(listed) > 10 else ''})"
                ),
            )
        if unlisted:
            raise ProductUnavailable(self.market_data.refused[unlisted[0]])
        for product_id in product_ids:
            self.market_data.track(product_id)
        await self._feed.subscribe(list(product_ids))

    async def unsubscribe(self, product_id: str) -> None:
        """Stop keeping `product_id`'s live book. ValueError says why not while the engine has a
        stake in it (working orders or a position: their risk checks and marks need the book)."""
        if product_id not in self.market_data.products():
            return
        if self.trading is not None:
            working = len(self.trading.execution.working(product_id))
            position = self.trading.portfolio.quantity(product_id)
            if working or position:
                stake = f"{working} working order(s)" if working else f"a position of {position}"
                raise ValueError(f"{product_id} has {stake}: its book is needed for risk and marks")
        await self._feed.unsubscribe([product_id])
        self.market_data.untrack(product_id)

    async def wait_for_book(self, product_id: str, timeout: float = 10.0) -> OrderBook:
        """Wait until the product's book holds a full venue snapshot; return it.

        TimeoutError says what the connection was doing, e.g. when the venue does not know the
        product or cannot be reached.
        """
        if product_id not in self.market_data.refused:
            self.market_data.track(product_id)
        try:
            async with asyncio.timeout(timeout):
                return await self.market_data.wait_live(product_id)
        except TimeoutError:
            metrics = self._feed.metrics
            raise TimeoutError(
                f"no {product_id} book from {self.config.ws_url} within {timeout:g}s "
                f"(connection {self._feed.state}, {metrics.frames} frames, "
                f"{metrics.decode_errors} bad frames)"
            ) from None

    def book(self, product_id: str) -> OrderBook:
        """The live (or resetting) book of a subscribed product; read it, do not change it."""
        return self.market_data.book(product_id)

    def tape(self, product_id: str) -> TradeTape:
        """Recent public trades and candles of a subscribed product."""
        self.market_data.book(product_id)  # KeyError naming the product if not subscribed
        return self.market_data.tapes[product_id]

    def ticker(self, product_id: str) -> TickerSnapshot | None:
        """The venue's latest ticker for a subscribed product, if one has arrived."""
        return self.market_data.tickers.get(product_id)

    async def _watch_staleness(self) -> None:
        """Check for quiet products, and publish the feed's counters about once a second."""
        interval = min(1.0, self.config.market_stale_after / 4)
        since_metrics = 0.0
        while True:
            await asyncio.sleep(interval)
            self.market_data.check_staleness(self.config.market_stale_after)
            since_metrics += interval
            if since_metrics >= 1.0:
                since_metrics = 0.0
                self.bus.publish(self._metrics_event())

    def _metrics_event(self) -> FeedMetrics:
        m = self._feed.metrics
        return FeedMetrics(
            url=self.config.ws_url,
            state=self._feed.state,
            frames=m.frames,
            bytes=m.bytes,
            connects=m.connects,
            reconnects=m.reconnects,
            gaps=m.gaps,
            decode_errors=m.decode_errors,
            book_resyncs=m.book_resyncs,
            last_frame_age=m.last_frame_age(),
            feed_latency=self.feed_latency(),
        )

    def feed_latency(self) -> float | None:
        """Seconds from the venue stamping the last market data frame to its arrival, or None."""
        return self._feed.metrics.feed_latency(self.config.wall_clock())

    def events(self, max_pending: int = 10_000) -> Subscription:
        """A new stream of every engine event from now on (`async for event in ...`)."""
        return self.bus.subscribe(max_pending)

    @property
    def connection_state(self) -> ConnectionState:
        """The market data connection's state."""
        return self._feed.state

    @property
    def metrics(self) -> ConnectionMetrics:
        """The market data connection's counters."""
        return self._feed.metrics

    # -- trading (needs an API key) ----------------------------------------------------------

    def _trading(self) -> Trading:
        if self.trading is None:
            raise RuntimeError(
                "trading needs an API key: give --key-file (or CRYPTOJ_KEY_FILE, or CRYPTOJ_API_KEY_NAME "
                "and CRYPTOJ_API_PRIVATE_KEY)"
            )
        return self.trading

    async def place(self, product_id: str, side: str, type: str, size: Any, **details: Any) -> Order:
        """Place any order type (price, stop_price, end_time, post_only, take_profit, stop_loss,
        in_quote in `details`: with in_quote=True a market order's size is in the quote currency).

        OrderError: the request is malformed; OrderRefusedError: risk or the trading state
        refused it. Either way nothing was sent.
        """
        request = OrderRequest.parse(product_id, side, type, size, **details)
        trading = self._trading()
        if not self._running:  # a stopped engine sends nothing (hummingbot #1508)
            raise OrderRefusedError("the engine is stopped: no order is sent")
        return await trading.place(request)

    async def place_limit(self, product_id: str, side: str, *, size: Any, price: Any, post_only: bool = False) -> Order:
        """A good-till-cancelled limit order."""
        return await self.place(product_id, side, OrderType.LIMIT, size, price=price, post_only=post_only)

    async def place_market(self, product_id: str, side: str, *, size: Any = None, quote_size: Any = None) -> Order:
        """A market order (immediate or cancel) for `size` of the base currency, or one that
        spends (a buy) or raises (a sell) `quote_size` of the quote currency: exactly one."""
        if (size is None) == (quote_size is None):
            raise OrderError("a market order takes exactly one of size or quote_size")
        if quote_size is not None:
            return await self.place(product_id, side, OrderType.MARKET, quote_size, in_quote=True)
        return await self.place(product_id, side, OrderType.MARKET, size)

    def precheck(self, request: OrderRequest) -> CheckResult:
        """The risk checks an order would meet, without sending it."""
        return self._trading().precheck(request)

    async def cancel(self, *orders: Order) -> tuple[list[Order], list[tuple[Order, str]]]:
        """Cancel orders; returns (cancelled, [(order, why not)])."""
        return await self._trading().cancel(*orders)

    async def replace(self, order: Order, *, price: Any = None, size: Any = None) -> Order:
        """Cancel/replace `order` at a new price and/or size; the new order (see Trading.replace)."""
        return await self._trading().replace(order, price=price, size=size)

    async def cancel_all(
        self, product_id: str | None = None, side: str | None = None
    ) -> tuple[list[Order], list[tuple[Order, str]]]:
        """Cancel every working order, or those of one product and/or side."""
        return await self._trading().cancel_all(product_id, OrderSide(side.upper()) if side else None)

    async def kill_switch(self, reason: str, *, flatten: bool = False) -> KillReport:
        """HALTED at once (new orders refused), then every order cancelled; the report says what failed."""
        return await self._trading().kill_switch(reason, flatten=flatten)

    def rearm(self, reason: str) -> None:
        """Lift a halt (a person's explicit decision, journalled)."""
        self._trading().emergency.rearm(reason)

    def set_limit(self, name: str, value: Any, reason: str, product_id: str | None = None) -> None:
        """Change a risk limit at run time, the account's or (`product_id`) one product's own
        max_order_size or max_position (journalled, published)."""
        self._trading().set_limit(name, value, reason, product_id)

    async def wait_for(self, order: Order, status: str | OrderStatus, timeout: float = 10.0) -> Order:
        """Wait until `order` reaches `status` (TimeoutError says where it is instead)."""
        wanted = OrderStatus(str(status).upper())
        done = await self._trading().execution.wait_until(
            lambda: order.status is wanted or order.status.is_final, timeout
        )
        if order.status is not wanted:
            why = f" ({order.reason})" if order.reason else ""
            raise (TimeoutError if not done else ValueError)(
                f"order {order.client_order_id} is {order.status}{why}, not {wanted}"
                + ("" if done else f", after {timeout:g}s")
            )
        return order

    async def wait_done(self, order: Order, timeout: float = 10.0) -> Order:
        """Wait until `order` reaches a final state (filled, cancelled, expired, rejected, failed)."""
        if not await self._trading().execution.wait_until(lambda: order.status.is_final, timeout):
            raise TimeoutError(f"order {order.client_order_id} is still {order.status} after {timeout:g}s")
        return order

    async def fills(self, order: Order) -> list[VenueFill]:
        """The venue's fills of `order`, each with its price, size, fee and maker or taker."""
        return await self._trading().execution.fills(order)

    def order(self, client_order_id: str) -> Order:
        """The order with this client order id (KeyError names it if the engine does not know it)."""
        try:
            return self._trading().execution.orders[client_order_id]
        except KeyError:
            raise KeyError(f"no order with client_order_id {client_order_id!r}") from None

    def open_orders(self) -> list[Order]:
        """Orders that can still trade."""
        return self._trading().execution.working()

    def orders(self) -> list[Order]:
        """Every order this engine knows, oldest first."""
        return list(self._trading().execution.orders.values())

    def positions(self) -> dict[str, Position]:
        """Positions by product."""
        return dict(self._trading().portfolio.positions)

    def inventory(self) -> dict[str, Decimal]:
        """What each currency holds at the venue beyond the positions traded here (the starting
        inventory, cost unknown), as of the last balance read."""
        return dict(self._trading().portfolio.inventory)

    def balances(self) -> dict[str, Balance]:
        """The venue's balances by currency, as of the last reconciliation (or start)."""
        return dict(self._trading().portfolio.balances)

    async def reconcile(self, reason: str) -> None:
        """Reconcile now, as the scheduled job does: every working order brought up to date from
        the venue, then the balances read again."""
        trading = self._trading()
        await trading.execution.reconcile(reason)
        await trading.refresh_balances()

    @property
    def state(self) -> TradingState:
        """ACTIVE, REDUCING or HALTED."""
        return self._trading().state
