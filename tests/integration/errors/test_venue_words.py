"""Issue 25.8: what a venue says is passed on clipped: a 100 KB error message reached the alerts,
the journal and the console whole."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from websockets.asyncio.server import ServerConnection, serve

from cryptoj_tui.cdp_keys import generate_key
from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.adapters.coinbase.auth import JwtSigner
from cryptoj_tui.engine.adapters.coinbase.rest import CoinbaseRest, RestError
from cryptoj_tui.engine.events import FeedError
from cryptoj_tui.engine.model import MAX_VENUE_WORDS
from tests.conftest import next_event, serving

LONG = "x" * 100_000


@pytest.fixture
async def wordy_rest() -> AsyncIterator[str]:
    async def refuse(request: web.Request) -> web.Response:
        return web.json_response({"error": "INVALID_ARGUMENT", "message": LONG}, status=400)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", refuse)
    async with serving(app) as host:
        yield f"http://{host}"


async def test_a_long_rest_error_is_clipped(wordy_rest: str) -> None:
    rest = CoinbaseRest(wordy_rest, JwtSigner(generate_key()))
    try:
        with pytest.raises(RestError) as refused:
            await rest.accounts()
    finally:
        await rest.close()
    message = str(refused.value)
    assert len(message) < MAX_VENUE_WORDS + 100 and message.endswith("… (99,700 more characters)")


async def test_a_long_error_frame_is_clipped() -> None:
    async def wordy(ws: ServerConnection) -> None:
        async for _ in ws:
            await ws.send(json.dumps({"type": "error", "message": LONG}))

    async with serve(wordy, "127.0.0.1", 0) as server:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with Engine(EngineConfig(ws_url=url)) as engine:
            events = engine.events()
            error = await next_event(events, lambda e: isinstance(e, FeedError))
    assert error.message == f"venue error: {'x' * MAX_VENUE_WORDS}… (99,700 more characters)"  # type: ignore[attr-defined]
