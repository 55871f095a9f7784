"""Fuzzed frames over a real socket into the engine: valid, mutated and truncated frames of every
market channel at once, from a loopback stand-in for a venue gone wrong (test code).

The engine must stay up, count every frame it could not decode, never show a crossed book,
say every problem in one short line, and end, after a fresh snapshot, on exactly the venue's
book. The seed comes from CRYPTOJ_FUZZ_SEED; a failure names it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
from collections.abc import AsyncIterator, Iterator

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from cryptoj_tui.engine import Engine, EngineConfig, Side
from cryptoj_tui.engine.events import BookUpdated, FeedError
from tests.fuzz_frames import CHANNELS, FUZZ_SEED, BookModel, FrameMaker, l2_frame

SOCKET_FRAMES = int(os.environ.get("CRYPTOJ_FUZZ_SOCKET_FRAMES", "1500"))
"""Frames per channel over the socket (each reconnect costs a handshake, so fewer than the
decoder's bulk run)."""


class FuzzVenue:
    """Sends the four channels' frames interleaved; answers each level2 subscribe with its book."""

    def __init__(self, frames_per_channel: int, seed: int) -> None:
        self.model = BookModel()
        makers = [FrameMaker(channel, seed) for channel in CHANNELS]
        self._sequence: itertools.count[int] = itertools.count(1)
        streams = [m.stream(frames_per_channel, self.model, self._numbers()) for m in makers]
        self._frames = (frame for group in itertools.zip_longest(*streams) for frame in group if frame is not None)
        self.sent = {"valid": 0, "mutated": 0, "truncated": 0}
        self.connections = 0
        self.streamed = asyncio.Event()
        self._lock = asyncio.Lock()
        self._ws: ServerConnection | None = None
        self._streaming: asyncio.Task[None] | None = None

    def _numbers(self) -> Iterator[int]:
        """Each frame's number on whichever connection it goes out on."""
        while True:
            yield next(self._sequence)

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        if self._streaming is not None:  # one connection streams at a time, as one venue would
            self._streaming.cancel()
            self._streaming = None
        self._ws = ws
        self._sequence = itertools.count(0)  # a new connection numbers from 0, as Coinbase does
        try:
            async for message in ws:
                if json.loads(message).get("channel") != "level2":
                    continue
                await self._send(ws, l2_frame(next(self._sequence), "snapshot", self.model.levels()))
                if self._streaming is None and self._ws is ws:
                    self._streaming = asyncio.get_running_loop().create_task(self._stream(ws))
        except ConnectionClosed:
            pass

    async def _send(self, ws: ServerConnection, frame: str) -> None:
        async with self._lock:
            await ws.send(frame)

    async def _stream(self, ws: ServerConnection) -> None:
        for kind, frame in self._frames:
            try:
                await self._send(ws, frame)
            except ConnectionClosed:
                return  # the engine reconnected: the next connection goes on
            self.sent[kind] += 1
            await asyncio.sleep(0)  # a venue's pace, not a burst: the engine reads as it goes
        self.streamed.set()

    async def reconnect_everyone(self) -> None:
        if self._ws is not None:
            await self._ws.close(1000, "fresh start")


@pytest.fixture
async def fuzz_venue() -> AsyncIterator[tuple[FuzzVenue, str]]:
    venue = FuzzVenue(SOCKET_FRAMES, FUZZ_SEED)
    async with serve(venue.handler, "127.0.0.1", 0, max_size=None) as server:
        port = server.sockets[0].getsockname()[1]
        yield venue, f"ws://127.0.0.1:{port}"


async def test_fuzzed_frames_on_every_channel_leave_the_engine_up_and_its_book_exact(
    fuzz_venue: tuple[FuzzVenue, str], caplog: pytest.LogCaptureFixture
) -> None:
    venue, url = fuzz_venue
    caplog.set_level(logging.WARNING)
    engine = Engine(EngineConfig(ws_url=url, stale_after=60, reconnect_cap=0.01))
    events = engine.events(max_pending=1_000_000)
    await engine.start()
    problems: list[str] = []
    try:
        await engine.subscribe("BTC-USD")
        book = engine.book("BTC-USD")
        async with asyncio.timeout(120):
            while not venue.streamed.is_set():
                event = await events.get()
                if isinstance(event, FeedError):
                    problems.append(event.message)
                elif isinstance(event, BookUpdated):
                    assert not book.is_crossed(), f"seed {FUZZ_SEED}: crossed book shown"
            await venue.reconnect_everyone()  # a fresh snapshot of the venue's book
            bids = sorted(venue.model.bids.items(), reverse=True)
            asks = sorted(venue.model.asks.items())
            while not (engine.market_data.is_live("BTC-USD") and book.levels(Side.BID) == bids):
                await events.get()
        assert book.levels(Side.ASK) == asks, f"seed {FUZZ_SEED}"
        bad = venue.sent["mutated"] + venue.sent["truncated"]
        assert 0 < engine.metrics.decode_errors <= bad, f"seed {FUZZ_SEED}: {engine.metrics.decode_errors} of {bad}"
        assert venue.sent["truncated"] > SOCKET_FRAMES // 10
        assert all("\n" not in p and len(p) < 600 for p in problems), f"seed {FUZZ_SEED}"
        # Nothing escaped as an unhandled error: every warning is one of the feed's own.
        escaped = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert escaped == [], [r.getMessage() for r in escaped][:3]
    finally:
        events.close()
        await engine.stop()
