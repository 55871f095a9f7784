"""Coinbase Advanced Trade market data over one WebSocket: level2 books plus heartbeats.

Turns frames into `MarketData` calls and keeps the feed honest: every frame's `sequence_num`
is checked. Lost frames (a gap, an undecodable level2 frame) may have touched any book, so all
books are discarded and the connection is rebuilt. A problem confined to one book (a checksum
mismatch, a level that cannot be right) discards only that book and re-subscribes its level2
channel on the same connection: the venue answers every subscribe with a fresh snapshot.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine
from datetime import datetime
from typing import Any

from cryptoj_tui.engine.adapters.base import ConnectedFeed
from cryptoj_tui.engine.adapters.coinbase.stream import (
    ErrorFrame,
    FrameError,
    HeartbeatsFrame,
    L2DataFrame,
    MarketTradesFrame,
    StreamDecoder,
    Ticker,
    TickerFrame,
)
from cryptoj_tui.engine.adapters.connection import (
    MAX_FRAME_BYTES,
    Backoff,
    FrameTap,
    SequenceTracker,
    SubscriptionSet,
    WebSocketConnection,
)
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import FeedError, Heartbeat, SequenceGap
from cryptoj_tui.engine.market_data import MarketData
from cryptoj_tui.engine.model import ConnectionState, PublicTrade, TickerSnapshot, amount_problem, clip

log = logging.getLogger(__name__)

LEVEL2 = "level2"
HEARTBEATS = "heartbeats"
BOOK_HEALTHY_AFTER = 30.0
"""A book that has not needed a resync for this long re-subscribes at once the next time."""
PRODUCT_CHANNELS = (LEVEL2, "market_trades", "ticker")
"""What a subscribed product gets: its book, its public trades and its ticker."""


MAX_CHANGE_PERCENT = 10**9
"""A day's change past this (a billion percent) is not a price's."""


def ticker_problem(ticker: Ticker) -> str | None:
    """Why a ticker cannot be right (its price, or a best bid or ask, is not a price), or None."""
    for name in ("price", "best_bid", "best_ask"):
        value = getattr(ticker, name)
        if value is not None and (problem := amount_problem(name, value)) is not None:
            return problem
    if ticker.volume_24_h is not None and not (ticker.volume_24_h.is_finite() and ticker.volume_24_h >= 0):
        return f"volume_24_h {ticker.volume_24_h} is not a volume"
    change = ticker.price_percent_chg_24_h
    if change is not None and not (change.is_finite() and -100 <= change < MAX_CHANGE_PERCENT):
        return f"price_percent_chg_24_h {clip(str(change), 40)} is not a change in percent"
    return None


def subscribe_message(channel: str, product_ids: list[str], kind: str = "subscribe") -> str:
    """The Coinbase subscribe (or `kind` "unsubscribe") frame for one channel."""
    message: dict[str, object] = {"type": kind, "channel": channel}
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
        max_frame_bytes: int = MAX_FRAME_BYTES,
        backoff: Backoff | None = None,
        tap: FrameTap | None = None,
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
            max_frame_bytes=max_frame_bytes,
            backoff=backoff,
            tap=tap,
        )
        self.last_heartbeat = -1
        self._book_backoff: dict[str, Backoff] = {}
        self._last_book_resync: dict[str, float] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    def start(self) -> None:
        """Connect in the background; subscriptions made before or after are honoured."""
        self._connection.start()

    async def close(self) -> None:
        """Disconnect for good."""
        for task in list(self._tasks):
            task.cancel()
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

    async def unsubscribe(self, product_ids: list[str]) -> None:
        """Stop the books, trades and tickers of these products, now and after reconnects."""
        asked = [p for p in product_ids if p in self._subscriptions.products()]
        for product_id in asked:
            self._subscriptions.remove(product_id)
        if asked and self._connection.state is ConnectionState.CONNECTED:
            for channel in PRODUCT_CHANNELS:
                try:
                    await self._connection.send(subscribe_message(channel, asked, "unsubscribe"))
                except Exception as exc:  # the reconnect will not ask for them again
                    log.info("unsubscribe of %s from %s left to the reconnect: %s", asked, channel, exc)

    async def _on_open(self, send: Callable[[str], Awaitable[None]]) -> None:
        self._sequence.reset()
        # Heartbeats first: they keep a quiet connection open and prove it is alive.
        await send(subscribe_message(HEARTBEATS, []))
        for channel, product_ids in self._subscriptions.items():
            await send(subscribe_message(channel, product_ids))

    def _resync(self, reason: str) -> None:
        self._market_data.reset_all(reason)
        self._connection.reconnect(reason)

    def _resync_book(self, product_id: str, reason: str) -> None:
        """Discard one book and ask for its snapshot again, backing off if it keeps failing."""
        self._market_data.reset(product_id, reason)
        self.metrics.book_resyncs += 1
        now = time.monotonic()
        backoff = self._book_backoff.setdefault(product_id, Backoff())
        if now - self._last_book_resync.get(product_id, -BOOK_HEALTHY_AFTER) >= BOOK_HEALTHY_AFTER:
            backoff.reset()
        self._last_book_resync[product_id] = now
        self._spawn(self._resubscribe_book(product_id, backoff.next_delay()))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resubscribe_book(self, product_id: str, delay: float) -> None:
        await asyncio.sleep(delay)
        if self._market_data.is_live(product_id) or product_id not in self._subscriptions.products():
            return  # a reconnect meanwhile brought a fresh snapshot already, or it was unsubscribed
        try:
            await self._connection.send(subscribe_message(LEVEL2, [product_id]))
        except Exception as exc:  # no connection to ask on: a new one subscribes everything
            self._connection.reconnect(f"could not re-subscribe {product_id}: {exc}")

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            frame = self._decoder.decode(raw)
        except FrameError as exc:
            self._on_bad_frame(exc)
            return
        if isinstance(frame, ErrorFrame):
            self._on_error(frame)
            return
        metrics = self.metrics
        metrics.venue_time, metrics.venue_time_at = frame.timestamp, metrics.last_frame_at
        if not self._in_sequence(frame.sequence_num):
            return
        if isinstance(frame, L2DataFrame):
            self._on_level2(frame)
        elif isinstance(frame, MarketTradesFrame):
            self._on_trades(frame)
        elif isinstance(frame, TickerFrame):
            self._on_tickers(frame)
        elif isinstance(frame, HeartbeatsFrame):
            for beat in frame.events:
                self.last_heartbeat = beat.heartbeat_counter
                self._bus.publish(Heartbeat(url=self.url, counter=beat.heartbeat_counter))

    def _on_tickers(self, frame: TickerFrame) -> None:
        for event in frame.events:
            for t in event.tickers:
                problem = ticker_problem(t)
                if problem is not None:
                    self._bus.publish(
                        FeedError(where=f"{self.url} ticker", message=f"{t.product_id} ticker: {problem}")
                    )
                    continue
                self._market_data.on_ticker(
                    TickerSnapshot(
                        product_id=t.product_id,
                        price=t.price,
                        volume_24h=t.volume_24_h,
                        best_bid=t.best_bid,
                        best_ask=t.best_ask,
                        change_24h_percent=t.price_percent_chg_24_h,
                    )
                )

    def _on_error(self, frame: ErrorFrame) -> None:
        """An error frame; one that names products we asked for refuses them (their books will
        never come: waiting for them would wait forever), and they are not asked for again. The
        venue refuses a whole subscribe message, so the others in it are asked for again."""
        text = f"{frame.message}: {frame.reason}" if frame.reason else frame.message
        self._bus.publish(FeedError(where=self.url, message=f"venue error: {text}"))
        refused = [
            p
            for p in sorted(self._subscriptions.products())
            if re.search(rf"(?<![A-Z0-9-]){re.escape(p)}(?![A-Z0-9-])", text) and not self._market_data.is_live(p)
        ]
        for product_id in refused:
            self._subscriptions.remove(product_id)
            self._market_data.refuse(product_id, f"the venue refused {product_id}: {text}")
        if refused:
            self._spawn(self._subscribe_again())

    async def _subscribe_again(self) -> None:
        """Ask again for what has no live book yet (the refused subscribe may have carried it)."""
        for channel, product_ids in self._subscriptions.items():
            waiting = [p for p in product_ids if not self._market_data.is_live(p)]
            if waiting:
                try:
                    await self._connection.send(subscribe_message(channel, waiting))
                except Exception as exc:  # a new connection subscribes everything anyway
                    log.info("re-subscribe of %s to %s deferred to reconnect: %s", waiting, channel, exc)
                    return

    def _on_level2(self, frame: L2DataFrame) -> None:
        market_data = self._market_data
        for event in frame.events:
            if event.type == "snapshot":
                market_data.on_snapshot(event.product_id, event.updates, frame.sequence_num)
            elif not market_data.on_update(event.product_id, event.updates, frame.sequence_num):
                self._resync_book(event.product_id, f"{event.product_id} book rejected an update")
                continue
            if event.checksum is not None:
                self._verify_checksum(event.product_id, event.checksum)

    def _on_trades(self, frame: MarketTradesFrame) -> None:
        by_product: dict[str, list[PublicTrade]] = {}
        for event in frame.events:
            for trade in reversed(event.trades):  # the venue lists newest first
                problem = amount_problem("price", trade.price) or amount_problem("size", trade.size, "size")
                if problem is not None:  # left out, reported: the rest of the frame is good
                    self._bus.publish(
                        FeedError(
                            where=f"{self.url} market_trades",
                            message=f"{trade.product_id} trade {trade.trade_id}: {problem}",
                        )
                    )
                    continue
                try:
                    when = datetime.fromisoformat(trade.time).timestamp()
                except ValueError:
                    self._bus.publish(
                        FeedError(
                            where=f"{self.url} market_trades",
                            message=f"trade {trade.trade_id} has a bad time {trade.time!r}",
                        )
                    )
                    continue
                by_product.setdefault(trade.product_id, []).append(
                    PublicTrade(trade_id=trade.trade_id, price=trade.price, size=trade.size, side=trade.side, time=when)
                )
        for product_id, trades in by_product.items():
            self._market_data.on_trades(product_id, trades)

    def _verify_checksum(self, product_id: str, expected: int) -> None:
        """Compare our book with the venue's checksum; on a mismatch report and resync it."""
        if not self._market_data.is_live(product_id):
            return  # not our book, or waiting for a snapshot: nothing to compare
        actual = self._market_data.book(product_id).checksum()
        if actual == expected:
            self.metrics.checksums_verified += 1
            return
        self.metrics.checksum_mismatches += 1
        message = f"{product_id} checksum mismatch: venue {expected}, ours {actual}"
        self._bus.publish(FeedError(where=f"book {product_id}", message=message))
        self._resync_book(product_id, message)

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
