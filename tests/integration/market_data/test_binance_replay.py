"""The Binance adapter over real sockets: a local server replays the recorded session."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import WSMsgType, web

from cryptoj_tui.engine import Engine, EngineConfig, Side
from cryptoj_tui.engine.events import FeedError
from tests.capture_data import SYMBOLS, binance_snapshots, binance_stream, documented_rule
from tests.conftest import next_event, serving

pytestmark = pytest.mark.captures


class Replay:
    """Serves the recording: depth frames for SUBSCRIBEd streams, snapshots at /api/v3/depth."""

    def __init__(self, captures: Path, garbage: bool = False, fail_first: int = 0) -> None:
        self.fail_first = fail_first
        self.frames = binance_stream(captures)
        self.snapshots = binance_snapshots(captures)
        self.garbage = garbage
        self.snapshot_requests: list[str] = []

    async def ws(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for message in ws:
            if message.type != WSMsgType.TEXT:
                continue
            subscribe = json.loads(message.data)
            await ws.send_str(json.dumps({"result": None, "id": subscribe["id"]}))
            wanted = set(subscribe["params"])
            if self.garbage:
                await ws.send_str('{"stream": "nknusdt@depth@100ms", "data": {"e": "depthUpdate", "U": "x"}}')
            for frame in self.frames:
                stream = json.loads(frame)["stream"]
                if stream in wanted or stream.endswith("@bookTicker"):  # an unasked stream is ignored
                    await ws.send_str(frame)
        return ws

    async def depth(self, request: web.Request) -> web.Response:
        symbol = request.query["symbol"]
        self.snapshot_requests.append(symbol)
        if len(self.snapshot_requests) <= self.fail_first:
            return web.json_response({"code": -1003, "msg": "Too many requests"}, status=429)
        await asyncio.sleep(0.05)  # let some diffs arrive first, as on the real venue
        return web.Response(text=self.snapshots[symbol], content_type="application/json")


@pytest.fixture
async def replay_server(captures: Path) -> AsyncIterator[tuple[Replay, str]]:
    replay = Replay(captures, garbage=True)
    app = web.Application()
    app.router.add_get("/ws", replay.ws)
    app.router.add_get("/api/v3/depth", replay.depth)
    async with serving(app) as host:
        yield replay, host


async def test_replayed_session_builds_every_documented_book(captures: Path, replay_server: tuple[Replay, str]) -> None:
    """Scenario: a recorded Binance session replayed over a socket; every book ends as Binance's
    documented sync rule says."""
    replay, host = replay_server
    config = EngineConfig(venue="binance", ws_url=f"ws://{host}/ws", rest_url=f"http://{host}")
    frames = [json.loads(f)["data"] for f in replay.frames]
    async with Engine(config) as engine:
        events = engine.events()
        products = {"NKNUSDT": "NKN-USDT", "BLZETH": "BLZ-ETH", "LRCBTC": "LRC-BTC", "RUNEEUR": "RUNE-EUR"}
        await engine.subscribe(*products.values())
        error = await next_event(events, lambda e: isinstance(e, FeedError))
        assert "bad depth frame" in error.message  # type: ignore[attr-defined]
        for symbol, product in products.items():
            diffs = [d for d in frames if d.get("e") == "depthUpdate" and d["s"] == symbol]
            book = await engine.wait_for_book(product)
            async with asyncio.timeout(10):
                while book.sequence_num != diffs[-1]["u"]:
                    await asyncio.sleep(0.01)
            bids, asks = documented_rule(json.loads(replay.snapshots[symbol]), diffs)
            assert book.levels(Side.BID) == sorted(bids.items(), reverse=True), symbol
            assert book.levels(Side.ASK) == sorted(asks.items()), symbol
        assert engine.metrics.decode_errors == 1 and engine.metrics.gaps == 0
        assert sorted(replay.snapshot_requests) == sorted(SYMBOLS)


def test_a_binance_engine_needs_a_rest_url() -> None:
    """Scenario: a Binance config without a REST URL, or an unknown venue, is refused in one line."""
    with pytest.raises(ValueError, match="binance venue needs rest_url"):
        EngineConfig(venue="binance", ws_url="ws://h/ws")
    with pytest.raises(ValueError, match="venue must be 'coinbase' or 'binance'"):
        EngineConfig(venue="kraken", ws_url="ws://h/ws")


async def test_a_failed_snapshot_is_reported_and_retried(captures: Path) -> None:
    """Scenario: the first depth snapshot request fails; it is reported and retried until the book is live."""
    replay = Replay(captures, fail_first=1)
    app = web.Application()
    app.router.add_get("/ws", replay.ws)
    app.router.add_get("/api/v3/depth", replay.depth)
    async with serving(app) as host:
        config = EngineConfig(venue="binance", ws_url=f"ws://{host}/ws", rest_url=f"http://{host}")
        async with Engine(config) as engine:
            events = engine.events()
            await engine.subscribe("LRC-BTC")
            error = await next_event(events, lambda e: isinstance(e, FeedError))
            assert "snapshot failed: HTTP 429" in error.message and "-1003" in error.message  # type: ignore[attr-defined]
            book = await engine.wait_for_book("LRC-BTC")
            assert book.depth()[0] > 0 and replay.snapshot_requests == ["LRCBTC", "LRCBTC"]
