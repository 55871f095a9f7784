"""A venue WebSocket connection that stays up: connect, (re)subscribe, watchdog, backoff.

The parts that need no I/O are plain classes tested on their own: `Backoff` (when to retry),
`SequenceTracker` (did frames go missing) and `SubscriptionSet` (what to ask for again after a
reconnect). `WebSocketConnection` is the thin I/O loop around them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.frames import CloseCode

from cryptoj_tui.engine.model import ConnectionState

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 64 * 1024 * 1024
"""A level2 snapshot of a deep book is one frame of several MB; allow far more than that."""
MIN_FRAME_BYTES = 64 * 1024
"""The smallest frame limit a configuration may set: every control and update frame fits."""

HEALTHY_AFTER = 1.0
"""A session that stayed up this long (seconds) with frames resets the backoff: the next retry is
immediate. Shorter sessions keep backing off, so a venue that accepts and drops cannot make us
spin."""


_JITTER = random.Random()
"""Jitter needs no state of its own; seeding a generator per Backoff cost every REST call ~30 us."""


class Backoff:
    """Reconnect delays: the first retry is immediate, then full jitter under a doubling cap."""

    def __init__(self, base: float = 0.25, cap: float = 30.0, rng: random.Random | None = None) -> None:
        if base <= 0 or cap < base:
            raise ValueError(f"backoff needs 0 < base <= cap, got base={base} cap={cap}")
        self.base = base
        self.cap = cap
        self._rng = rng or _JITTER
        self.failures = 0

    def next_delay(self) -> float:
        """Seconds to wait before the next attempt; each call counts one more failure."""
        self.failures += 1
        if self.failures == 1:
            return 0.0
        ceiling = min(self.cap, self.base * 2 ** (self.failures - 2))
        return self._rng.uniform(0, ceiling)

    def reset(self) -> None:
        """A connection succeeded: the next failure retries at once again."""
        self.failures = 0


@dataclass(frozen=True)
class Gap:
    """`expected` was the next sequence number due, `received` arrived instead."""

    expected: int
    received: int


class SequenceTracker:
    """Checks a per-connection counter that starts at 0 and rises by 1 per frame."""

    def __init__(self) -> None:
        self.expected = 0

    def observe(self, sequence_num: int) -> Gap | None:
        """Record a frame's number; return the gap if any frames before it were lost."""
        expected = self.expected
        self.expected = sequence_num + 1
        if sequence_num != expected:
            return Gap(expected, sequence_num)
        return None

    def reset(self) -> None:
        """A new connection starts counting from 0."""
        self.expected = 0


class SubscriptionSet:
    """Channel -> product ids the client wants; replayed in order after every reconnect."""

    def __init__(self) -> None:
        self._channels: dict[str, list[str]] = {}

    def add(self, channel: str, product_ids: list[str]) -> list[str]:
        """Add products to a channel; return the ones that were not there yet."""
        current = self._channels.setdefault(channel, [])
        new = [p for p in product_ids if p not in current]
        current.extend(new)
        return new

    def remove(self, product_id: str) -> None:
        """Stop asking for `product_id` on every channel (the venue refused it)."""
        for products in self._channels.values():
            if product_id in products:
                products.remove(product_id)

    def products(self) -> set[str]:
        """Every product asked for, on any channel."""
        return {p for products in self._channels.values() for p in products}

    def items(self) -> list[tuple[str, list[str]]]:
        """(channel, product ids) in the order they were first asked for."""
        return [(channel, list(products)) for channel, products in self._channels.items()]


@dataclass
class ConnectionMetrics:
    """Counters a trader and a maintainer want to see for a feed."""

    frames: int = 0
    bytes: int = 0
    connects: int = 0
    reconnects: int = 0
    gaps: int = 0
    decode_errors: int = 0
    checksums_verified: int = 0
    checksum_mismatches: int = 0
    book_resyncs: int = 0
    """Single books re-subscribed for a fresh snapshot (the connection stayed up)."""
    last_frame_at: float = field(default=0.0)
    venue_time: str = ""
    """The venue's own timestamp (ISO 8601) on the last frame that carried one, as sent."""
    venue_time_at: float = 0.0
    """When that frame arrived (monotonic clock)."""

    def last_frame_age(self, now: float | None = None) -> float | None:
        """Seconds since the last frame (monotonic clock), or None before the first."""
        if not self.last_frame_at:
            return None
        return (time.monotonic() if now is None else now) - self.last_frame_at

    def feed_latency(self, wall_now: datetime) -> float | None:
        """Seconds from the venue stamping its last frame to the frame arriving here, or None.

        Network and venue delay together with any difference between the two clocks: the
        venue's stamp is its clock, the arrival ours. Parsed here, about once a second, rather
        than on every frame.
        """
        if not self.venue_time:
            return None
        try:
            stamped = datetime.fromisoformat(self.venue_time)
        except ValueError:
            return None
        if stamped.tzinfo is None:
            return None
        arrived = wall_now.timestamp() - (time.monotonic() - self.venue_time_at)
        return arrived - stamped.timestamp()


class FrameTap(Protocol):
    """Sees every frame of a connection as it arrives, and every (re)connect (a recorder)."""

    def frame(self, raw: str | bytes) -> None: ...

    def connected(self, url: str) -> None: ...


class RestTap(Protocol):
    """Sees every REST request and its answer (a recorder); never the Authorization header."""

    def rest(
        self, method: str, path: str, *, params: list[tuple[str, str]], body: Any, status: int, answer: str
    ) -> None: ...


class WebSocketConnection:
    """Keeps one WebSocket to a venue open until `close()`.

    After each connect it calls `on_open(send)` so the owner can (re)subscribe, then hands every
    frame to `on_frame(raw)`. A frame-less period of `stale_after` seconds counts as a dead
    connection. `reconnect(reason)` drops the socket and connects again at once.
    """

    def __init__(
        self,
        url: str,
        *,
        on_open: Callable[[Callable[[str], Awaitable[None]]], Awaitable[None]],
        on_frame: Callable[[str | bytes], None],
        on_state: Callable[[ConnectionState, int, str], None],
        stale_after: float = 5.0,
        open_timeout: float = 10.0,
        backoff: Backoff | None = None,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        tap: FrameTap | None = None,
    ) -> None:
        self.url = url
        self._tap = tap
        self._on_open = on_open
        self._on_frame = on_frame
        self._on_state = on_state
        self._stale_after = stale_after
        self._open_timeout = open_timeout
        self._backoff = backoff or Backoff()
        self._max_frame_bytes = max_frame_bytes
        self._ws: ClientConnection | None = None
        self._dropping: tuple[ClientConnection, str] | None = None
        """The socket `reconnect` gave up on, and why: nothing more it delivers is handled."""
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self.state = ConnectionState.CLOSED
        self.metrics = ConnectionMetrics()

    def start(self) -> None:
        """Begin connecting in the background."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"ws {self.url}")

    async def close(self) -> None:
        """Close the socket and stop reconnecting."""
        self._closing = True
        if self._ws is not None:
            with contextlib.suppress(Exception):
                await self._ws.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self._set_state(ConnectionState.CLOSED, "closed by client")

    def reconnect(self, reason: str) -> None:
        """Drop the current socket (if any); the run loop connects again."""
        ws = self._ws
        if ws is None or (self._dropping is not None and self._dropping[0] is ws):
            log.info("also (reconnecting already) %s", reason)
            return
        log.warning("reconnecting to %s: %s", self.url, reason)
        # Frames still arriving on this socket come after what made us give up on it (a gap, a
        # bad frame): they are dropped unhandled until the close completes. Before, they were
        # handled, each a new gap and a new "reconnecting" (found by fuzzing the feed).
        self._dropping = (ws, reason)
        asyncio.get_running_loop().create_task(ws.close(code=1000, reason=reason[:100]))

    async def send(self, message: str) -> None:
        """Send a text frame on the current socket; raises ConnectionError when there is none."""
        if self._ws is None:
            raise ConnectionError(f"not connected to {self.url}")
        await self._ws.send(message)

    def _set_state(self, state: ConnectionState, reason: str = "") -> None:
        if state is not self.state or reason:
            self.state = state
            self._on_state(state, self._backoff.failures, reason)

    async def _run(self) -> None:
        first = True
        while not self._closing:
            self._set_state(ConnectionState.CONNECTING if first else ConnectionState.RECONNECTING)
            started, frames_before = time.monotonic(), self.metrics.frames
            reason = await self._session()
            if self._closing:
                break
            first = False
            self.metrics.reconnects += 1
            if time.monotonic() - started >= HEALTHY_AFTER and self.metrics.frames > frames_before:
                self._backoff.reset()
            delay = self._backoff.next_delay()
            self._set_state(ConnectionState.RECONNECTING, f"{reason}; retry in {delay:.2f}s")
            await asyncio.sleep(delay)

    async def _session(self) -> str:
        """One connection from open to close; returns why it ended."""
        try:
            async with connect(
                self.url,
                max_size=self._max_frame_bytes,
                compression=None,
                open_timeout=self._open_timeout,
                close_timeout=2,
            ) as ws:
                self._ws = ws
                self.metrics.connects += 1
                if self._tap is not None:
                    self._tap.connected(self.url)
                await self._on_open(self.send)
                self._set_state(ConnectionState.CONNECTED)
                return await self._read(ws)
        except websockets.ConnectionClosed as exc:  # while subscribing
            return self._closed_why(exc)
        except (OSError, TimeoutError, websockets.WebSocketException) as exc:
            return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
        finally:
            self._ws = None

    def _closed_why(self, exc: websockets.ConnectionClosed) -> str:
        """Who closed the connection, and why: the venue, or we (a frame over our size limit)."""
        if exc.rcvd is not None and not (exc.sent is not None and exc.rcvd_then_sent is False):
            return f"closed by venue ({exc.rcvd.code}{f' {exc.rcvd.reason}' if exc.rcvd.reason else ''})"
        if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
            return f"a frame over the {self._max_frame_bytes:,}-byte limit: closed by us (1009)"
        if exc.sent is not None:
            return f"closed by us ({exc.sent.code}{f' {exc.sent.reason}' if exc.sent.reason else ''})"
        return "closed by venue (no close frame)"

    async def _read(self, ws: ClientConnection) -> str:
        """Read frames until the connection ends or goes stale; why it ended.

        One deadline for many frames, moved on only when it passes with frames read since (the
        recv it interrupts is safe to cancel): a timeout around each recv made and cancelled a
        timer per frame, a tenth of the engine thread's time under a flood.
        """
        loop, stale_after = asyncio.get_running_loop(), self._stale_after
        last_frame = loop.time()
        while True:
            try:
                async with asyncio.timeout_at(last_frame + stale_after):
                    while True:
                        raw = await ws.recv()
                        last_frame = loop.time()
                        why = self._handle(ws, raw)
                        if why is not None:
                            return why
            except TimeoutError:
                if loop.time() - last_frame >= stale_after:
                    return f"no frame for {stale_after:g}s"
            except websockets.ConnectionClosed as exc:
                return self._closed_why(exc)

    def _handle(self, ws: ClientConnection, raw: str | bytes) -> str | None:
        """Count and handle one frame; why the connection must end, if it must."""
        if self._dropping is not None and self._dropping[0] is ws:
            # Read and drop until the close completes: a reader that stopped reading would
            # never see the venue's close frame behind the data, and wait out close_timeout.
            return None
        metrics = self.metrics
        metrics.frames += 1
        metrics.bytes += len(raw)
        metrics.last_frame_at = time.monotonic()
        if self._tap is not None:
            self._tap.frame(raw)
        try:
            self._on_frame(raw)
        except Exception:
            # A bug in frame handling may have left derived state half-updated; the only
            # safe repair is to start again from fresh snapshots.
            log.exception("error handling a frame from %s", self.url)
            return "internal error while handling a frame (see log)"
        return None
