"""The reconnecting WebSocket on its own, against a real local server."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from websockets.asyncio.server import ServerConnection, serve

from cryptoj_tui.engine.adapters.connection import Backoff, WebSocketConnection
from cryptoj_tui.engine.model import ConnectionState


class Server:
    """Sends `frames` to each connection, then stays silent; counts connections."""

    def __init__(self, frames: list[str]) -> None:
        self.frames = frames
        self.connections = 0
        self.url = ""

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        for frame in self.frames:
            await ws.send(frame)
        await ws.wait_closed()


@pytest.fixture
async def server(request: pytest.FixtureRequest) -> AsyncIterator[Server]:
    quiet = Server(getattr(request, "param", []))
    async with serve(quiet.handler, "127.0.0.1", 0) as running:
        quiet.url = f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}"
        yield quiet


def connection(
    url: str, on_frame: Callable[[str | bytes], None], states: list[tuple[ConnectionState, str]], **kw: object
) -> WebSocketConnection:
    async def on_open(send: Callable[[str], Awaitable[None]]) -> None:
        await send('{"type":"subscribe","channel":"heartbeats"}')

    return WebSocketConnection(
        url,
        on_open=on_open,
        on_frame=on_frame,
        on_state=lambda s, _, r: states.append((s, r)),
        **kw,  # type: ignore[arg-type]
    )


async def wait_for(states: list[tuple[ConnectionState, str]], fragment: str) -> None:
    async with asyncio.timeout(10):
        while not any(fragment in reason for _, reason in states):
            await asyncio.sleep(0.01)


@pytest.mark.parametrize("server", [["hello"]], indirect=True)
async def test_a_silent_feed_counts_as_dead_and_is_reconnected(server: Server) -> None:
    """Scenario: the server says hello then nothing; after stale_after the connection counts as dead and reconnects."""
    states: list[tuple[ConnectionState, str]] = []
    received: list[str | bytes] = []
    conn = connection(server.url, received.append, states, stale_after=0.2)
    conn.start()
    try:
        await wait_for(states, "no frame for 0.2s")
        async with asyncio.timeout(10):
            while server.connections < 2:
                await asyncio.sleep(0.01)
        assert received[:1] == ["hello"]
        assert conn.metrics.reconnects >= 1
    finally:
        await conn.close()
    assert conn.state is ConnectionState.CLOSED
    assert states[-1] == (ConnectionState.CLOSED, "closed by client")


async def test_a_feed_that_keeps_talking_is_never_stale_and_loses_no_frame_to_the_deadline() -> None:
    """Scenario: frames every 50 ms for over a second against a 0.2 s staleness limit, then
    silence. The reader's deadline passes several times while frames flow (it is moved on only
    then); the recv it interrupts loses nothing, and the silence counts from the last frame."""
    frames = [str(n) for n in range(25)]

    async def ticking(ws: ServerConnection) -> None:
        for frame in frames:
            await ws.send(frame)
            await asyncio.sleep(0.05)
        await ws.wait_closed()

    states: list[tuple[ConnectionState, str]] = []
    received: list[str | bytes] = []
    async with serve(ticking, "127.0.0.1", 0) as running:
        url = f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}"
        conn = connection(url, received.append, states, stale_after=0.2)
        loop = asyncio.get_running_loop()
        conn.start()
        try:
            async with asyncio.timeout(10):
                while len(received) < len(frames):
                    await asyncio.sleep(0.005)
            last_frame = loop.time()
            assert not any("no frame" in reason for _, reason in states)
            await wait_for(states, "no frame for 0.2s")
            silent_for = loop.time() - last_frame
        finally:
            await conn.close()
    assert received[: len(frames)] == frames
    assert 0.15 <= silent_for < 1.0


@pytest.mark.parametrize("server", [["boom", "never seen"]], indirect=True)
async def test_a_failing_frame_handler_is_logged_and_repaired_by_reconnecting(
    server: Server, caplog: pytest.LogCaptureFixture
) -> None:
    """Scenario: our own frame handler raises; the error is logged with the frame and the connection starts over."""
    caplog.set_level(logging.ERROR)
    states: list[tuple[ConnectionState, str]] = []

    def explode(raw: str | bytes) -> None:
        raise RuntimeError(f"cannot handle {raw!r}")

    conn = connection(server.url, explode, states, stale_after=5)
    conn.start()
    try:
        await wait_for(states, "internal error while handling a frame")
        assert "error handling a frame" in caplog.text and "cannot handle 'boom'" in caplog.text
    finally:
        await conn.close()


async def test_send_without_a_socket_is_a_clear_error() -> None:
    """Scenario: sending before any connection exists is a ConnectionError naming the URL."""
    conn = connection("ws://127.0.0.1:9", lambda raw: None, [])
    with pytest.raises(ConnectionError, match=r"not connected to ws://127\.0\.0\.1:9"):
        await conn.send("x")


@pytest.mark.parametrize("server", [["a"]], indirect=True)
async def test_reconnect_on_request_connects_again(server: Server) -> None:
    """Scenario: the engine asks for a reconnect (as after a sequence gap); a second connection follows."""
    states: list[tuple[ConnectionState, str]] = []
    received: list[str | bytes] = []
    conn = connection(server.url, received.append, states, backoff=Backoff(base=0.01, cap=0.05))
    conn.start()
    try:
        async with asyncio.timeout(10):
            while not received:
                await asyncio.sleep(0.01)
            conn.reconnect("test asked")
            while server.connections < 2 or len(received) < 2:
                await asyncio.sleep(0.01)
        assert conn.metrics.connects == 2
    finally:
        await conn.close()


@pytest.mark.parametrize("server", [["x" * 4096]], indirect=True)
async def test_a_frame_over_the_limit_is_reported_as_ours_not_the_venues(server: Server) -> None:
    """Issue 25.8: a frame the engine refused for its size was reported as "closed by venue"."""
    states: list[tuple[ConnectionState, str]] = []
    conn = connection(server.url, lambda raw: None, states, stale_after=5, max_frame_bytes=1024)
    conn.start()
    try:
        await wait_for(states, "over the")
        reason = next(reason for _, reason in states if "over the" in reason)
        assert reason.startswith("a frame over the 1,024-byte limit: closed by us (1009)")
    finally:
        await conn.close()
