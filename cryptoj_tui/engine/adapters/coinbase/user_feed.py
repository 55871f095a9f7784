"""The authenticated `user` channel on a connection of its own: the user's orders as they change.

Its own connection, because `sequence_num` counts per connection across every channel: a gap
in busy market data must not cast doubt on order updates, nor the reverse. Anything that may
have lost an order update (a gap, a reconnect) asks the owner to reconcile over REST, since
only REST can say what happened while we were not listening.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from cryptoj_tui.engine.adapters.base import ConnectionOwner
from cryptoj_tui.engine.adapters.coinbase.auth import JwtSigner
from cryptoj_tui.engine.adapters.coinbase.market_feed import HEARTBEATS, subscribe_message
from cryptoj_tui.engine.adapters.coinbase.parsing import order_update
from cryptoj_tui.engine.adapters.coinbase.stream import ErrorFrame, FrameError, StreamDecoder, UserFrame
from cryptoj_tui.engine.adapters.connection import (
    MAX_FRAME_BYTES,
    Backoff,
    FrameTap,
    SequenceTracker,
    WebSocketConnection,
)
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import ConnectionStatus, FeedError, SequenceGap
from cryptoj_tui.engine.model import ConnectionState
from cryptoj_tui.engine.orders import VenueOrderUpdate

log = logging.getLogger(__name__)


class CoinbaseUserFeed(ConnectionOwner):
    """Streams order updates to `on_update`; calls `on_resync(reason)` when some may be lost."""

    def __init__(
        self,
        url: str,
        signer: JwtSigner,
        bus: EventBus,
        *,
        on_update: Callable[[VenueOrderUpdate], None],
        on_resync: Callable[[str], None],
        stale_after: float = 5.0,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        backoff: Backoff | None = None,
        tap: FrameTap | None = None,
    ) -> None:
        self.url = url
        self._signer = signer
        self._bus = bus
        self._on_update = on_update
        self._on_resync = on_resync
        self._decoder = StreamDecoder()
        self._sequence = SequenceTracker()
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
        self._opened_once = False
        self.ready = asyncio.Event()
        """Set while the connection has the user channel's snapshot: updates flow from here.
        Cleared when the connection drops, set again by the next connection's first frame."""

    def start(self) -> None:
        """Connect in the background."""
        self._connection.start()

    async def close(self) -> None:
        """Disconnect for good."""
        await self._connection.close()

    def reconnect(self, reason: str) -> None:
        """Drop the connection (tests and the fault drills use this)."""
        self._connection.reconnect(reason)

    async def _on_open(self, send: Callable[[str], Awaitable[None]]) -> None:
        self._sequence.reset()
        await send(subscribe_message(HEARTBEATS, []))
        await send(json.dumps({"type": "subscribe", "channel": "user", "jwt": self._signer.for_websocket()}))
        if self._opened_once:
            self._on_resync("user channel reconnected")
        self._opened_once = True

    def _on_state(self, state: ConnectionState, attempt: int, reason: str) -> None:
        if state is not ConnectionState.CONNECTED:
            self.ready.clear()
        self._bus.publish(ConnectionStatus(url=self.url, state=state, attempt=attempt, reason=reason, role="user"))

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            frame = self._decoder.decode(raw)
        except FrameError as exc:
            self.metrics.decode_errors += 1
            log.warning("bad user frame from %s: %s", self.url, exc)
            self._bus.publish(FeedError(where=f"{self.url} user", message=str(exc)))
            if exc.channel == "user":
                self._on_resync(f"undecodable user frame: {exc}")
            return
        if isinstance(frame, ErrorFrame):
            self._bus.publish(FeedError(where=f"{self.url} user", message=f"venue error: {frame.message}"))
            return
        gap = self._sequence.observe(frame.sequence_num)
        if gap is not None:
            self.metrics.gaps += 1
            self._bus.publish(SequenceGap(url=f"{self.url} (user)", expected=gap.expected, received=gap.received))
            self._on_resync(f"user channel gap: expected {gap.expected}, got {gap.received}")
        if not isinstance(frame, UserFrame):
            return
        self.ready.set()
        for event in frame.events:
            for order in event.orders:
                try:
                    update = order_update(order)
                except (ArithmeticError, ValueError) as exc:
                    self._bus.publish(
                        FeedError(where=f"{self.url} user order {order.order_id}", message=f"bad number: {exc}")
                    )
                    continue
                self._on_update(update)
