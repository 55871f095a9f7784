"""A loopback Binance Spot venue that plays a recording back: the combined stream over WebSocket
and the recorded depth snapshots at GET /api/v3/depth, as Binance serves them.

Frames are sent only for the streams the client SUBSCRIBEd to (each SUBSCRIBE is acknowledged
with `{"result": null, "id": ...}`, as Binance does); a symbol's n-th snapshot request gets the
n-th snapshot recorded for it (the last one again after that).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path

import msgspec
from aiohttp import WSMsgType, web

from cryptoj_tui.engine.recording import RestRecord, read_recording
from cryptoj_tui.replay.server import recorded_connections

log = logging.getLogger(__name__)

DEPTH_PATH = "/api/v3/depth"
QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "TUSD", "DAI", "BTC", "ETH", "BNB", "EUR", "GBP", "TRY", "BRL", "JPY")
"""Quote assets a Binance symbol may end with, longest match first among equals (BTCUSDT is BTC-USDT)."""


def product_of(symbol: str) -> str:
    """NKNUSDT -> NKN-USDT: the console's product id for a Binance symbol (its quote asset split off)."""
    for quote in sorted(QUOTES, key=len, reverse=True):
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return f"{symbol[: -len(quote)]}-{quote}"
    return symbol


class _Envelope(msgspec.Struct):
    stream: str = ""


_ENVELOPE = msgspec.json.Decoder(_Envelope)


def _stream_of(frame: str) -> str:
    try:
        return _ENVELOPE.decode(frame).stream
    except msgspec.DecodeError:
        return ""


def recorded_snapshots(path: Path) -> dict[str, list[str]]:
    """Symbol -> the depth snapshots recorded for it, in order."""
    snapshots: dict[str, list[str]] = {}
    for record in read_recording(path):
        if isinstance(record, RestRecord) and record.path == DEPTH_PATH and record.status == 200:
            symbol = dict(record.params).get("symbol", "")
            snapshots.setdefault(symbol.upper(), []).append(record.answer)
    return snapshots


def recorded_symbols(path: Path) -> list[str]:
    """Every symbol with a depth snapshot in the recording, sorted."""
    return sorted(recorded_snapshots(path))


class BinanceReplayServer:
    """Serves `path` on 127.0.0.1 as Binance would: `ws_url` and `rest_url` once started."""

    def __init__(self, path: Path) -> None:
        self._snapshots = recorded_snapshots(path)
        self._requests: dict[str, int] = {}
        self._items = recorded_connections(read_recording(path))
        self._started_one = False
        self._runner: web.AppRunner | None = None
        self.ws_url = ""
        self.rest_url = ""
        self.frames_sent = 0
        """Every frame sent, acknowledgements included (the client counts those too)."""
        self.finished = asyncio.Event()

    async def start(self) -> tuple[str, str]:
        app = web.Application()
        app.router.add_get("/ws", self._serve)
        app.router.add_get(DEPTH_PATH, self._depth)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.ws_url, self.rest_url = f"ws://127.0.0.1:{port}/ws", f"http://127.0.0.1:{port}"
        return self.ws_url, self.rest_url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _depth(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "").upper()
        recorded = self._snapshots.get(symbol)
        if not recorded:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        n = self._requests[symbol] = self._requests.get(symbol, 0) + 1
        return web.Response(text=recorded[min(n, len(recorded)) - 1], content_type="application/json")

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        wanted: set[str] = set()
        subscribed = asyncio.Event()
        sending = asyncio.Lock()

        async def send(text: str) -> None:
            async with sending:
                await ws.send_str(text)
            self.frames_sent += 1

        async def listen() -> None:
            async for message in ws:
                if message.type != WSMsgType.TEXT:
                    continue
                try:
                    command = json.loads(message.data)
                except ValueError:
                    continue
                if isinstance(command, dict) and command.get("method") == "SUBSCRIBE":
                    wanted.update(str(p) for p in command.get("params") or [])
                    await send(json.dumps({"result": None, "id": command.get("id")}))
                    subscribed.set()

        listener = asyncio.get_running_loop().create_task(listen())
        try:
            if not self.finished.is_set():
                await subscribed.wait()
                await self._play(ws, wanted, send)
            await listener
        except ConnectionResetError:
            log.info("replay client hung up after %d frames", self.frames_sent)
        finally:
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        return ws

    async def _play(self, ws: web.WebSocketResponse, wanted: set[str], send: Callable[[str], Awaitable[None]]) -> None:
        for item in self._items:
            if item is None:
                if not self._started_one:
                    continue
                await ws.close(code=1000, message=b"recorded connection ended")
                return
            self._started_one = True
            if _stream_of(item[0]) in wanted:
                await send(item[0])
        self.finished.set()
