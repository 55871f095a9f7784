"""A recording played at a chosen speed, paused, stepped and seeked, to an engine over a socket.

`RecordingIndex` reads a recording once: each market frame goes to an uncompressed spool file
(read back by offset, so an hour of frames does not sit in memory) with its arrival time, and
the positions of every level2 snapshot and recorded reconnect are kept.

`ReplayPlayer` is the venue the engine connects to. Seeking drops the connection; the engine
discards its books as it does on any reconnect, and the new connection starts with a catch-up:
from the last snapshot of each product before the target (within the same recorded connection)
to the target, every frame that the product's book depends on, sent at once. The frames keep
their text except `sequence_num`, renumbered from 0 on each connection as a venue's are, so the
engine's gap check passes over the frames a seek leaves out. From there frames are paced by their
recorded arrival times over the speed.

Coinbase sends a level2 snapshot only on subscribing, so a seek an hour into a recording would
send an hour of updates. The index therefore keeps checkpoints: the books, rebuilt from the
frames, written as snapshot frames each time the levels changed since the last one outnumber the
levels in the books (and at least `CHECKPOINT_CHANGES`). A catch-up starts from the last of
them, so it sends at most about twice a book's levels whatever the target, and the checkpoints
take about as much spool as the recording's own updates.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
import os
import re
import tempfile
import threading
from array import array
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import msgspec
from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import ConnectionClosed

from cryptoj_tui.engine.recording import MARKET, ConnectRecord, FrameRecord, read_recording
from cryptoj_tui.replay.server import books_asked_for, listen

log = logging.getLogger(__name__)

SPEEDS = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)
"""The speeds `faster` and `slower` step through."""
MAX_PAUSE = 5.0
"""Seconds the player waits between two frames at most: a quiet minute in the recording is not a
quiet minute of replay."""
CHECKPOINT_CHANGES = 1000
"""Level changes, at least, between two checkpoints of the books."""
_SEQUENCE = re.compile(rb'"sequence_num"\s*:\s*-?\d+')


class _Level2(msgspec.Struct):
    class Event(msgspec.Struct):
        class Level(msgspec.Struct, gc=False):
            side: str = ""
            price_level: str = ""
            new_quantity: str = ""

        type: str = ""
        product_id: str = ""
        updates: list[Level] = []

    timestamp: str = ""
    events: list[Event] = []


_LEVEL2 = msgspec.json.Decoder(_Level2)

_Book = dict[str, dict[Decimal, tuple[str, str]]]
"""side ("bid" / "offer") -> price -> (its price text, its size text), as the frames gave them."""


def _applied(book: _Book, levels: list[_Level2.Event.Level]) -> int:
    """Apply level2 changes to `book` (a size of 0 removes); the number applied. A level whose
    numbers do not parse is left out, as the engine refuses it."""
    for level in levels:
        try:
            price, size = Decimal(level.price_level), Decimal(level.new_quantity)
        except ArithmeticError:
            continue
        side = book.setdefault("bid" if level.side == "bid" else "offer", {})  # as the engine reads sides
        if size:
            side[price] = (level.price_level, level.new_quantity)
        else:
            side.pop(price, None)
    return len(levels)


def _snapshot_frame(product_id: str, book: _Book, timestamp: str) -> bytes:
    """`book` as a Coinbase level2 snapshot frame (bids best first, offers best first)."""
    updates = [
        {"side": side, "event_time": timestamp, "price_level": text, "new_quantity": size}
        for side in ("bid", "offer")
        for _, (text, size) in sorted(book.get(side, {}).items(), reverse=side == "bid")
    ]
    event = {"type": "snapshot", "product_id": product_id, "updates": updates}
    frame = {"channel": "l2_data", "client_id": "", "timestamp": timestamp, "sequence_num": 0, "events": [event]}
    return msgspec.json.encode(frame)


class RecordingIndex:
    """A recording's market frames, by position: time, text, and what each does to which book."""

    def __init__(self, path: Path, *, checkpoint_changes: int = CHECKPOINT_CHANGES, book_share: float = 1.0) -> None:
        self.path = Path(path)
        self._spool = tempfile.TemporaryFile(prefix="cryptoj-replay-")  # noqa: SIM115 - closed in close()
        self._checkpoint_spool = tempfile.TemporaryFile(prefix="cryptoj-replay-books-")  # noqa: SIM115 - closed in close()
        self._checkpoint_changes = checkpoint_changes
        self._book_share = book_share
        """A checkpoint waits for at least this share of the books' levels to have changed (and
        `checkpoint_changes`): writing a book costs about what sending as many changes does."""
        self.checkpoints: list[int] = []
        """Positions before which the books were written as snapshot frames."""
        self._checkpoint_frames: dict[int, dict[str, tuple[int, int]]] = {}
        """Checkpoint position -> product -> (offset, length) of its snapshot frame."""
        self._books: dict[str, _Book] = {}
        """While indexing: each product's book as the frames so far leave it."""
        self._changes = 0
        """While indexing: level changes since the last checkpoint or snapshot."""
        self.times = array("d")
        self._offsets = array("q", [0])
        self.connection_starts: list[int] = []
        """Positions where a recorded (re)connection starts (its frames count from 0 again)."""
        self.snapshots: dict[str, list[int]] = {}
        """Product -> positions of its level2 snapshots."""
        self.level2: dict[int, tuple[str, ...]] = {}
        """Position -> the products a level2 frame changes."""
        self._build()

    def _build(self) -> None:
        offset = 0
        for record in read_recording(self.path):
            if isinstance(record, ConnectRecord) and record.stream == MARKET:
                if not self.connection_starts or self.connection_starts[-1] != len(self.times):
                    self.connection_starts.append(len(self.times))
                self._books.clear()  # a new connection's books start from its own snapshots
                self._changes = 0
                continue
            if not (isinstance(record, FrameRecord) and record.stream == MARKET):
                continue
            position = len(self.times)
            data = record.frame.encode()
            self._spool.write(data)
            offset += len(data)
            self._offsets.append(offset)
            self.times.append(record.at)
            if '"l2_data"' in record.frame[:200]:
                self._index_level2(position, data)
        if not self.connection_starts or self.connection_starts[0] != 0:
            self.connection_starts.insert(0, 0)
        self._spool.flush()
        self._checkpoint_spool.flush()
        self._books.clear()

    def _index_level2(self, position: int, data: bytes) -> None:
        try:
            frame = _LEVEL2.decode(data)
        except msgspec.DecodeError:
            return  # the engine reports it when it meets it
        products = tuple(dict.fromkeys(e.product_id for e in frame.events if e.product_id))
        self.level2[position] = products
        if self._checkpoint_due():
            self._checkpoint(position, frame.timestamp)
        for event in frame.events:
            if event.type == "snapshot":
                self.snapshots.setdefault(event.product_id, []).append(position)
                self._books[event.product_id] = {}
                _applied(self._books[event.product_id], event.updates)
                self._changes = 0
            elif event.product_id in self._books:  # updates before a product's snapshot change no book
                self._changes += _applied(self._books[event.product_id], event.updates)

    def _checkpoint_due(self) -> bool:
        """At least `checkpoint_changes` level changes since the last checkpoint, and the books'
        share of their levels (counted only once the first bound is passed: every frame asks)."""
        if not self._books or self._changes < self._checkpoint_changes:
            return False
        levels = sum(len(side) for book in self._books.values() for side in book.values())
        return self._changes >= self._book_share * levels

    def _checkpoint(self, position: int, timestamp: str) -> None:
        """Write every book, as it stands before `position`, as a snapshot frame."""
        frames = {}
        offset = self._checkpoint_spool.tell()
        for product_id, book in self._books.items():
            data = _snapshot_frame(product_id, book, timestamp)
            self._checkpoint_spool.write(data)
            frames[product_id] = (offset, len(data))
            offset += len(data)
        self.checkpoints.append(position)
        self._checkpoint_frames[position] = frames
        self._changes = 0

    def __len__(self) -> int:
        return len(self.times)

    def frame(self, position: int) -> bytes:
        start, end = self._offsets[position], self._offsets[position + 1]
        return os.pread(self._spool.fileno(), end - start, start)

    def position_at(self, when: float) -> int:
        """The first position whose frame arrived at or after `when` (Unix seconds)."""
        return bisect.bisect_left(self.times, when)

    def connection_start(self, position: int) -> int:
        """Where the recorded connection holding `position` starts."""
        return self.connection_starts[bisect.bisect_right(self.connection_starts, position) - 1]

    def catch_up(self, target: int) -> Iterator[bytes]:
        """The frames to send at once so that the books are as they were just before `target`:
        from each product's last snapshot or checkpoint (in the same recorded connection) on,
        what changes it; the frames of other channels from the earliest of those on."""
        start = self.connection_start(target)
        if target == start:
            return
        since: dict[str, int] = {}
        for product, positions in self.snapshots.items():
            i = bisect.bisect_left(positions, target) - 1
            if i >= 0 and positions[i] >= start:
                since[product] = positions[i]
        checkpoint, from_checkpoint = self._checkpoint_before(start, target, since)
        for product in from_checkpoint:
            since[product] = checkpoint
        first = min(since.values(), default=target)
        level2 = self.level2
        for p in range(first, target + 1):
            if p == checkpoint:
                for product in from_checkpoint:
                    yield self._checkpoint_frame(checkpoint, product)
            if p < target and (
                p not in level2 or all(product in since and p >= since[product] for product in level2[p])
            ):
                yield self.frame(p)

    def _checkpoint_before(self, start: int, target: int, since: dict[str, int]) -> tuple[int, list[str]]:
        """The last checkpoint in (start, target], and the products to start from it: those it
        holds whose last snapshot is older than it."""
        i = bisect.bisect_right(self.checkpoints, target) - 1
        if i < 0 or self.checkpoints[i] <= start:
            return -1, []
        checkpoint = self.checkpoints[i]
        return checkpoint, [p for p in self._checkpoint_frames[checkpoint] if since.get(p, -1) < checkpoint]

    def _checkpoint_frame(self, checkpoint: int, product_id: str) -> bytes:
        offset, length = self._checkpoint_frames[checkpoint][product_id]
        return os.pread(self._checkpoint_spool.fileno(), length, offset)

    def close(self) -> None:
        self._spool.close()
        self._checkpoint_spool.close()


def renumbered(frame: bytes, sequence_num: int) -> bytes:
    """The frame with its `sequence_num` replaced, every other byte as recorded."""
    return _SEQUENCE.sub(b'"sequence_num":%d' % sequence_num, frame, count=1)


class PacedPlayer:
    """The controls and pacing of a replay, whatever venue it speaks: frames at their recorded
    gaps over the speed (a pause at most `MAX_PAUSE`), pause, step, and seeks that drop the
    connection so the client reconnects into a catch-up. A venue's player serves the frames."""

    def __init__(self, times: Sequence[float], *, speed: float = 1.0, paused: bool = False) -> None:
        self.times = times
        """Arrival time (Unix seconds) of each frame, by position."""
        self.position = 0
        """The next frame to send."""
        self.speed = speed
        self.paused = paused
        self.frames_sent = 0
        """Frames sent on every connection so far (the engine's frame count catches up with it)."""
        self.url = ""
        self._wake = asyncio.Event()
        self._steps = 0
        self.at_end = asyncio.Event()
        self.connections = 0
        """Connections served so far (each seek makes one)."""
        self.caught_up = asyncio.Event()
        """Set once the current connection's catch-up is sent; cleared by a seek."""

    # -- controls ------------------------------------------------------------------------

    @property
    def time(self) -> float:
        """Arrival time (Unix seconds) of the last frame sent, or of the first before any."""
        if not len(self.times):
            return 0.0
        return self.times[max(0, min(self.position, len(self.times)) - 1)]

    def pause(self) -> None:
        self.paused = True

    def play(self) -> None:
        self.paused = False
        self._wake.set()

    def step(self) -> None:
        """Send the next frame (while paused)."""
        self._steps += 1
        self._wake.set()

    def set_speed(self, speed: float) -> None:
        if not speed > 0:
            raise ValueError(f"replay speed must be positive, got {speed}")
        self.speed = speed
        self._wake.set()

    def faster(self) -> None:
        self.set_speed(next((s for s in SPEEDS if s > self.speed), SPEEDS[-1]))

    def slower(self) -> None:
        self.set_speed(next((s for s in reversed(SPEEDS) if s < self.speed), SPEEDS[0]))

    def seek(self, position: int) -> None:
        """Go to `position` (clamped to the recording): the engine reconnects and catches up."""
        self.position = max(0, min(position, len(self.times)))
        self.at_end.clear()
        self.caught_up.clear()
        self._drop_connection()

    def seek_time(self, when: float) -> None:
        """Go to the first frame that arrived at or after `when` (Unix seconds)."""
        self.seek(bisect.bisect_left(self.times, when))

    def skip(self, seconds: float) -> None:
        """Seek `seconds` of recorded time forward (negative: back) from where the replay is."""
        self.seek_time(self.time + seconds)

    async def start(self) -> str:
        """Listen on 127.0.0.1; the ws:// URL."""
        raise NotImplementedError

    async def close(self) -> None:
        """Stop listening and drop the connection."""
        raise NotImplementedError

    def _drop_connection(self) -> None:
        """Close the client's connection (if any) so that it reconnects: the seek's catch-up."""
        raise NotImplementedError

    # -- pacing --------------------------------------------------------------------------

    async def _wait_turn(self, position: int, closed: asyncio.Future[None]) -> None:
        """Until frame `position` is due (its recorded gap over the speed, a step, or play), or
        the connection closed."""
        while not closed.done():
            if self.paused:
                if self._steps:
                    self._steps -= 1
                    return
                await self._woken(closed, None)
                continue
            gap = 0.0 if position == 0 else self.times[position] - self.times[position - 1]
            delay = min(max(gap, 0.0) / self.speed, MAX_PAUSE)
            if delay <= 0 or not await self._woken(closed, delay):
                return

    async def _woken(self, closed: asyncio.Future[None], timeout: float | None) -> bool:
        """Wait for a control (True), the connection to close or `timeout` seconds (False)."""
        self._wake.clear()
        wake = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait((wake, closed), timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        finally:
            wake.cancel()
        return self._wake.is_set()


class ReplayPlayer(PacedPlayer):
    """Serves a Coinbase `RecordingIndex` over WebSocket on 127.0.0.1 under the player's controls."""

    def __init__(self, index: RecordingIndex, *, speed: float = 1.0, paused: bool = False) -> None:
        super().__init__(index.times, speed=speed, paused=paused)
        self.index = index
        self._server: Server | None = None
        self._current: ServerConnection | None = None
        self._starts = set(index.connection_starts)

    async def start(self) -> str:
        self._server, self.url = await listen(self._serve)
        return self.url

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    def _drop_connection(self) -> None:
        if self._current is not None:
            asyncio.get_running_loop().create_task(self._current.close(1000, "replay seek"))

    # -- the venue side ------------------------------------------------------------------

    async def _serve(self, ws: ServerConnection) -> None:
        if self._current is not None:  # one engine at a time: a new connection replaces the old
            await self._current.close(1000, "replaced")
        self._current = ws
        self.connections += 1
        try:
            await books_asked_for(ws)
            await self._play(ws)
        except ConnectionClosed:
            pass
        finally:
            if self._current is ws:
                self._current = None

    async def _play(self, ws: ServerConnection) -> None:
        closed = asyncio.ensure_future(ws.wait_closed())
        try:
            await self._play_on(ws, closed)
        finally:
            closed.cancel()

    async def _play_on(self, ws: ServerConnection, closed: asyncio.Future[None]) -> None:
        index, sequence = self.index, 0
        for frame in index.catch_up(self.position):
            await ws.send(renumbered(frame, sequence))
            sequence += 1
            self.frames_sent += 1
        self.caught_up.set()
        while True:
            position = self.position
            if position >= len(index):
                self.at_end.set()
                await ws.wait_closed()
                return
            if position != 0 and position in self._starts and sequence:
                await ws.close(1000, "recorded connection ended")  # the engine reconnects, as it did
                return
            await self._wait_turn(position, closed)
            if closed.done() or self.position != position or self._current is not ws:
                return  # seeked meanwhile: the connection is being replaced
            await ws.send(renumbered(index.frame(position), sequence))
            sequence += 1
            self.frames_sent += 1
            self.position = position + 1


@dataclass(frozen=True)
class ReplayState:
    """Where a replay is, for the console's replay bar."""

    time: float
    """Arrival time (Unix seconds) of the last frame played."""
    position: int
    total: int
    speed: float
    paused: bool

    def text(self) -> str:
        """`21:05:52 UTC · 412/1,030 · 1x · paused`."""
        clock = datetime.fromtimestamp(self.time, UTC).strftime("%H:%M:%S UTC") if self.time else "--:--:--"
        speed = f"{self.speed:g}x"
        return f"{clock} · {self.position:,}/{self.total:,} · {speed} · {'paused' if self.paused else 'playing'}"


class PlayerThread:
    """A replay player on its own thread and event loop, for a console on another thread: the
    controls are thread-safe, and `state()` reads where it is. `make` builds the player (on that
    loop: its events belong to it)."""

    def __init__(self, make: Callable[[], PacedPlayer]) -> None:
        self._make = make
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self.player: PacedPlayer | None = None
        self.url = ""

    def start(self, timeout: float = 10.0) -> str:
        """Listen on 127.0.0.1; returns the ws:// URL the engine connects to."""
        started = threading.Event()

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self.player = self._make()
            self.url = await self.player.start()
            self._stop = asyncio.Event()
            started.set()
            await self._stop.wait()
            await self.player.close()

        self._thread = threading.Thread(target=lambda: asyncio.run(main()), name="replay player", daemon=True)
        self._thread.start()
        if not started.wait(timeout):
            raise RuntimeError("the replay player did not start")
        return self.url

    def stop(self, timeout: float = 5.0) -> None:
        if self._loop is not None and self._thread is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
            self._thread.join(timeout)
            self._thread = None

    def control(self, name: str, *args: float) -> None:
        """Call one of the player's controls (pause, play, step, seek_time, skip, faster, slower)
        on its own loop."""
        if self._loop is None or self.player is None:
            return
        self._loop.call_soon_threadsafe(getattr(self.player, name), *args)

    def state(self) -> ReplayState:
        player = self.player
        if player is None:
            return ReplayState(0.0, 0, 0, 1.0, True)
        return ReplayState(player.time, player.position, len(player.times), player.speed, player.paused)
