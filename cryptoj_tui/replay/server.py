"""A loopback venue that plays a recording's market frames back, as the venue sent them.

The engine under replay is the same engine that trades: it connects to this server as it would
to Coinbase, subscribes, and reads frames over a real socket. Each connection gets the frames of
one recorded connection (a `connect` record starts the next), so sequence numbers start at 0 on
each as they did live; when a recorded connection ends the server closes the socket and the
engine reconnects, as it did then. After the last frame the connection is held open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from cryptoj_tui.engine.recording import MARKET, ConnectRecord, FrameRecord, Record, read_recording

log = logging.getLogger(__name__)

WS_PATH = "/ws"
SUBSCRIBE_WAIT = 5.0
"""Seconds a new connection waits for a level2 subscribe before playing anyway."""


def recorded_connections(records: Iterator[Record]) -> Iterator[list[str] | None]:
    """The market stream's frames, with None where a recorded (re)connection starts."""
    for record in records:
        if isinstance(record, FrameRecord) and record.stream == MARKET:
            yield [record.frame]
        elif isinstance(record, ConnectRecord) and record.stream == MARKET:
            yield None


async def listen(handler: Callable[[ServerConnection], Awaitable[None]]) -> tuple[Server, str]:
    """A WebSocket server on a free loopback port, and its ws:// URL."""
    server = await serve(handler, "127.0.0.1", 0, compression=None, max_size=2**20)
    port = next(iter(server.sockets)).getsockname()[1]
    return server, f"ws://127.0.0.1:{port}{WS_PATH}"


async def books_asked_for(ws: ServerConnection) -> None:
    """Until the client subscribes to level2 (at most SUBSCRIBE_WAIT seconds): a venue sends no
    book before it is asked for."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(SUBSCRIBE_WAIT):
            async for message in ws:
                if _asks_for_books(message):
                    return


class ReplayServer:
    """Serves `path`'s market frames over WebSocket on 127.0.0.1, as fast as the client reads."""

    def __init__(self, path: Path) -> None:
        self._items = recorded_connections(read_recording(path))
        self._started_one = False
        self._server: Server | None = None
        self.url = ""
        self.frames_sent = 0
        self.finished = asyncio.Event()
        """Set when every recorded market frame has been sent."""

    async def start(self) -> str:
        """Listen on a free loopback port; returns the ws:// URL."""
        self._server, self.url = await listen(self._serve)
        return self.url

    async def close(self) -> None:
        """Stop listening and drop the connections."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _serve(self, ws: ServerConnection) -> None:
        if self.finished.is_set():
            await ws.wait_closed()
            return
        await books_asked_for(ws)
        for item in self._items:
            if item is None:
                if not self._started_one:
                    continue  # the recording's first connection is this one
                await ws.close(1000, "recorded connection ended")
                return
            self._started_one = True
            try:
                await ws.send(item[0])
            except ConnectionClosed:  # the client reconnected on its own: the next connection goes on
                log.info("replay client hung up after %d frames", self.frames_sent)
                return
            self.frames_sent += 1
        self.finished.set()
        await ws.wait_closed()


def _asks_for_books(message: str | bytes) -> bool:
    try:
        parsed = json.loads(message)
    except ValueError:
        return False
    return isinstance(parsed, dict) and parsed.get("channel") in ("level2", "l2_data")
