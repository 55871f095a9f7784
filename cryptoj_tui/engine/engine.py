"""The engine's composition root and headless API.

    async with Engine(EngineConfig(ws_url="ws://127.0.0.1:8765/ws")) as engine:
        await engine.subscribe("BTC-USD")
        book = await engine.wait_for_book("BTC-USD")
        async for event in engine.events(): ...

Everything runs on the caller's event loop; nothing here knows whether a UI exists.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import urlsplit

from cryptoj_tui.engine.adapters.base import MarketDataFeed
from cryptoj_tui.engine.adapters.binance.feed import BinanceDepthFeed
from cryptoj_tui.engine.adapters.coinbase.market_feed import CoinbaseMarketFeed
from cryptoj_tui.engine.adapters.connection import ConnectionMetrics
from cryptoj_tui.engine.book import OrderBook
from cryptoj_tui.engine.bus import EventBus, Subscription
from cryptoj_tui.engine.events import FeedMetrics
from cryptoj_tui.engine.market_data import MarketData
from cryptoj_tui.engine.model import ConnectionState, TickerSnapshot, check_product_id
from cryptoj_tui.engine.tape import TradeTape


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
    market_stale_after: float = 10.0
    """Seconds without a book update before a product counts as stale (MarketStale)."""

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
        if not self.market_stale_after > 0:
            raise ValueError(f"market_stale_after must be positive seconds, got {self.market_stale_after}")


class Engine:
    """One trading engine: market data now; orders, risk and the kill switch to come."""

    def __init__(self, config: EngineConfig) -> None:
        self.config = config
        self.bus = EventBus()
        self.market_data = MarketData(self.bus)
        self._feed: MarketDataFeed
        if config.venue == "binance":
            assert config.rest_url is not None
            self._feed = BinanceDepthFeed(
                config.ws_url, config.rest_url, self.market_data, self.bus, stale_after=config.stale_after
            )
        else:
            self._feed = CoinbaseMarketFeed(
                config.ws_url, self.market_data, self.bus, stale_after=config.stale_after
            )
        self._running = False
        self._watch: asyncio.Task[None] | None = None

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
        """Connect to the venue in the background."""
        if not self._running:
            self._running = True
            self._feed.start()
            self._watch = asyncio.get_running_loop().create_task(self._watch_staleness(), name="staleness")

    async def stop(self) -> None:
        """Disconnect and end every event stream."""
        if self._running:
            self._running = False
            if self._watch is not None:
                self._watch.cancel()
            await self._feed.close()
            self.bus.close()

    async def subscribe(self, *product_ids: str) -> None:
        """Keep live books of these products; ValueError names a malformed product id."""
        for product_id in product_ids:
            check_product_id(product_id)
        for product_id in product_ids:
            self.market_data.track(product_id)
        await self._feed.subscribe(list(product_ids))

    async def wait_for_book(self, product_id: str, timeout: float = 10.0) -> OrderBook:
        """Wait until the product's book holds a full venue snapshot; return it.

        TimeoutError says what the connection was doing, e.g. when the venue does not know the
        product or cannot be reached.
        """
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
            url=self.config.ws_url, state=self._feed.state, frames=m.frames, bytes=m.bytes,
            connects=m.connects, reconnects=m.reconnects, gaps=m.gaps,
            decode_errors=m.decode_errors, book_resyncs=m.book_resyncs, last_frame_age=m.last_frame_age(),
        )

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
