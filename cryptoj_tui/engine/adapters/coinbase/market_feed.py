"""Coinbase Advanced Trade market data over one WebSocket: level2 books plus heartbeats.

Turns frames into `MarketData` calls and keeps the feed honest: every frame's `sequence_num`
is checked, and any sign that frames were lost or a book went wrong discards the books and
reconnects for fresh snapshots (the only safe repair the protocol offers).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime

from cryptoj_tui.engine.adapters.base import ConnectedFeed
from cryptoj_tui.engine.adapters.connection import (
    Backoff,
    SequenceTracker,
    SubscriptionSet,
    WebSocketConnection,
)
from cryptoj_tui.engine.adapters.coinbase.stream import (
    ErrorFrame,
    FrameError,
    HeartbeatsFrame,
    L2DataFrame,
    MarketTradesFrame,
    StreamDecoder,
    TickerFrame,
)
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import FeedError, Heartbeat, SequenceGap
from cryptoj_tui.engine.market_data import MarketData
from cryptoj_tui.engine.model import ConnectionState, PublicTrade, TickerSnapshot

log = logging.getLogger(__name__)

LEVEL2 = "level2"
HEARTBEATS = "heartbeats"
PRODUCT_CHANNELS = (LEVEL2, "market_trades", "ticker")
"""What a subscribed product gets: its book, its public trades and its ticker."""


def subscribe_message(channel: str, product_ids: list[str]) -> str:
    """The Coinbase subscribe frame for one channel."""
    message: dict[str, object] = {"type": "subscribe", "channel": channel}
    if channel != HEARTBEATS:
        message["product_ids"] = product_ids
    return json.dumps(message)


class CoinbaseMarketFeed(ConnectedFeed):
    """Keeps the subscribed products' books in `market_data` in step with the venue."""

    def __init__(
        self,
        url: str,
        market_data: MarketData,
        bus: EventBus,
        *,
        stale_after: float = 5.0,
        backoff: Backoff | None = None,
    ) -> None:
        self.url = url
        self._market_data = market_data
        self._bus = bus
        self._decoder = StreamDecoder()
        self._sequence = SequenceTracker()
        self._subscriptions = SubscriptionSet()
        self._connection = WebSocketConnection(
            url,
            on_open=self._on_open,
            on_frame=self._on_frame,
            on_state=self._on_state,
            stale_after=stale_after,
            backoff=backoff,
        )
        self.last_heartbeat = -1

    def start(self) -> None:
        """Connect in the background; subscriptions made before or after are honoured."""
        self._connection.start()

    async def close(self) -> None:
        """Disconnect for good."""
        await self._connection.close()

    async def subscribe(self, product_ids: list[str]) -> None:
        """Ask for books, trades and tickers of these products, now and after every reconnect."""
        for channel in PRODUCT_CHANNELS:
            new = self._subscriptions.add(channel, product_ids)
            if new and self._connection.state is ConnectionState.CONNECTED:
                try:
                    await self._connection.send(subscribe_message(channel, new))
                except Exception as exc:  # the reconnect will subscribe them anyway
                    log.info("subscribe of %s to %s deferred to reconnect: %s", new, channel, exc)

    async def _on_open(self, send: Callable[[str], Awaitable[None]]) -> None:
        self._sequence.reset()
        # Heartbeats first: they keep a quiet connection open and prove it is alive.
        await send(subscribe_message(HEARTBEATS, []))
        for channel, product_ids in self._subscriptions.items():
            await send(subscribe_message(channel, product_ids))

    def _resync(self, reason: str) -> None:
        self._market_data.reset_all(reason)
        self._connection.reconnect(reason)

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            frame = self._decoder.decode(raw)
        except FrameError as exc:
            self._on_bad_frame(exc)
            return
        if isinstance(frame, ErrorFrame):
            self._bus.publish(FeedError(where=self.url, message=f"venue error: {frame.message}"))
            return
        if not self._in_sequence(frame.sequence_num):
            return
        if isinstance(frame, L2DataFrame):
            self._on_level2(frame)
        elif isinstance(frame, MarketTradesFrame):
            self._on_trades(frame)
        elif isinstance(frame, TickerFrame):
            for event in frame.events:
                for t in event.tickers:
                    self._market_data.on_ticker(
                        TickerSnapshot(product_id=t.product_id, price=t.price, volume_24h=t.volume_24_h,
                                       best_bid=t.best_bid, best_ask=t.best_ask)
                    )
        elif isinstance(frame, HeartbeatsFrame):
            for event in frame.events:
                self.last_heartbeat = event.heartbeat_counter
                self._bus.publish(Heartbeat(url=self.url, counter=event.heartbeat_counter))

    def _on_level2(self, frame: L2DataFrame) -> None:
        market_data = self._market_data
        for event in frame.events:
            if event.type == "snapshot":
                market_data.on_snapshot(event.product_id, event.updates, frame.sequence_num)
            elif not market_data.on_update(event.product_id, event.updates, frame.sequence_num):
                self._resync(f"{event.product_id} book rejected an update")
                return
            if event.checksum is not None and not self._checksum_matches(event.product_id, event.checksum):
                return

    def _on_trades(self, frame: MarketTradesFrame) -> None:
        by_product: dict[str, list[PublicTrade]] = {}
        for event in frame.events:
            for trade in reversed(event.trades):  # the venue lists newest first
                try:
                    when = datetime.fromisoformat(trade.time).timestamp()
                except ValueError:
                    self._bus.publish(FeedError(where=f"{self.url} market_trades",
                                                message=f"trade {trade.trade_id} has a bad time {trade.time!r}"))
                    continue
                by_product.setdefault(trade.product_id, []).append(
                    PublicTrade(trade_id=trade.trade_id, price=trade.price, size=trade.size, side=trade.side, time=when)
                )
        for product_id, trades in by_product.items():
            self._market_data.on_trades(product_id, trades)

    def _checksum_matches(self, product_id: str, expected: int) -> bool:
        """Compare our book with the venue's checksum; on a mismatch report and resync."""
        if not self._market_data.is_live(product_id):
            return True  # not our book, or waiting for a snapshot: nothing to compare
        actual = self._market_data.book(product_id).checksum()
        if actual == expected:
            self.metrics.checksums_verified += 1
            return True
        self.metrics.checksum_mismatches += 1
        message = f"{product_id} checksum mismatch: venue {expected}, ours {actual}"
        self._bus.publish(FeedError(where=f"book {product_id}", message=message))
        self._resync(message)
        return False

    def _on_bad_frame(self, exc: FrameError) -> None:
        self.metrics.decode_errors += 1
        log.warning("bad frame from %s: %s", self.url, exc)
        self._bus.publish(FeedError(where=f"{self.url} seq {exc.sequence_num}", message=str(exc)))
        if exc.sequence_num is None:
            return  # the next frame's number shows whether anything was lost
        if self._in_sequence(exc.sequence_num) and exc.channel == "l2_data":
            self._resync(f"undecodable l2_data frame at seq {exc.sequence_num}")

    def _in_sequence(self, sequence_num: int) -> bool:
        """Record a frame's number; on a gap, report it, resync, and return False."""
        gap = self._sequence.observe(sequence_num)
        if gap is None:
            return True
        self.metrics.gaps += 1
        self._bus.publish(SequenceGap(url=self.url, expected=gap.expected, received=gap.received))
        self._resync(f"sequence gap: expected {gap.expected}, got {gap.received}")
        return False
