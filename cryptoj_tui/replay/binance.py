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
from decimal import Decimal
from pathlib import Path

import msgspec
from aiohttp import WSMsgType, web

from cryptoj_tui.engine.recording import RestRecord, read_recording
from cryptoj_tui.replay.player import PacedPlayer, RecordingIndex
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


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


async def listen_binance(stream: Handler, depth: Handler) -> tuple[web.AppRunner, str, str]:
    """A loopback Binance on a free port: the combined stream at /ws and depth snapshots at
    DEPTH_PATH. Returns its runner (to clean up), the ws:// URL and the http:// base URL."""
    app = web.Application()
    app.router.add_get("/ws", stream)
    app.router.add_get(DEPTH_PATH, depth)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    port = runner.addresses[0][1]
    return runner, f"ws://127.0.0.1:{port}/ws", f"http://127.0.0.1:{port}"


async def subscriptions(
    ws: web.WebSocketResponse, wanted: set[str], subscribed: asyncio.Event, send: Callable[[str], Awaitable[None]]
) -> None:
    """Until the client goes: add what each SUBSCRIBE names to `wanted` (and take out what an
    UNSUBSCRIBE names), acknowledge it as Binance does (`{"result": null, "id": ...}`), and set
    `subscribed`."""
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
        elif isinstance(command, dict) and command.get("method") == "UNSUBSCRIBE":
            wanted.difference_update(str(p) for p in command.get("params") or [])
            await send(json.dumps({"result": None, "id": command.get("id")}))


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
        self._runner, self.ws_url, self.rest_url = await listen_binance(self._serve, self._depth)
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

        listener = asyncio.get_running_loop().create_task(subscriptions(ws, wanted, subscribed, send))
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


class _Diff(msgspec.Struct):
    U: int
    u: int
    b: list[tuple[str, str]] = []
    a: list[tuple[str, str]] = []


class _StreamDiff(msgspec.Struct):
    stream: str
    data: _Diff


class _Snapshot(msgspec.Struct):
    lastUpdateId: int
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


_STREAM_DIFF = msgspec.json.Decoder(_StreamDiff)
_SNAPSHOT = msgspec.json.Decoder(_Snapshot)


def _symbol_of(stream: str) -> str:
    return stream.split("@", 1)[0].upper()


class BinanceDepthIndex:
    """Where each symbol's depth diffs are in a `RecordingIndex` of a Binance recording, and the
    depth snapshot (as `GET /api/v3/depth` answers) of each book at any position."""

    def __init__(self, index: RecordingIndex, snapshots: dict[str, list[str]]) -> None:
        self.index = index
        self.snapshots = {symbol: [_SNAPSHOT.decode(s) for s in texts] for symbol, texts in snapshots.items()}
        self.diffs: dict[str, list[tuple[int, int]]] = {}
        """Symbol -> (position, last update id) of each of its recorded diffs, in order."""
        for position in range(len(index)):
            frame = index.frame(position)
            if b"@depth" not in frame[:80]:
                continue
            try:
                diff = _STREAM_DIFF.decode(frame)
            except msgspec.DecodeError:
                continue  # the engine reports it when it meets it
            self.diffs.setdefault(_symbol_of(diff.stream), []).append((position, diff.data.u))

    def snapshot_at(self, symbol: str, position: int, limit: int) -> dict[str, object] | None:
        """The symbol's book just before `position`: the last recorded snapshot it can start
        from, with every recorded diff after it applied by Binance's rule (None: unknown symbol)."""
        recorded = self.snapshots.get(symbol)
        if not recorded:
            return None
        diffs = [(p, u) for p, u in self.diffs.get(symbol, []) if p < position]
        last_u = diffs[-1][1] if diffs else -1
        usable = [s for s in recorded if s.lastUpdateId <= last_u]
        base = usable[-1] if usable else recorded[0]
        bids = {Decimal(p): q for p, q in base.bids}
        asks = {Decimal(p): q for p, q in base.asks}
        update_id = base.lastUpdateId
        for p, u in diffs:
            if u <= update_id:
                continue
            diff = _STREAM_DIFF.decode(self.index.frame(p)).data
            if update_id + 1 < diff.U:
                break  # a gap in the recording: the book is known only up to here
            for side, levels in ((bids, diff.b), (asks, diff.a)):
                for price, quantity in levels:
                    if Decimal(quantity):
                        side[Decimal(price)] = quantity
                    else:
                        side.pop(Decimal(price), None)
            update_id = diff.u
        return {
            "lastUpdateId": update_id,
            "bids": [[format(p, "f"), bids[p]] for p in sorted(bids, reverse=True)[:limit]],
            "asks": [[format(p, "f"), asks[p]] for p in sorted(asks)[:limit]],
        }


class BinanceReplayPlayer(PacedPlayer):
    """A Binance recording as a loopback Binance under the player's controls: the combined
    stream at `url`, and at `rest_url` depth snapshots of each book as it stood where the
    current connection started (so a seek's reconnect syncs as Binance documents)."""

    def __init__(self, index: RecordingIndex, *, speed: float = 1.0, paused: bool = False) -> None:
        super().__init__(index.times, speed=speed, paused=paused)
        self.index = index
        self.depth = BinanceDepthIndex(index, recorded_snapshots(index.path))
        self.rest_url = ""
        self._runner: web.AppRunner | None = None
        self._current: web.WebSocketResponse | None = None
        self._connection_start = 0
        self._starts = set(index.connection_starts)

    async def start(self) -> str:
        self._runner, self.url, self.rest_url = await listen_binance(self._serve, self._depth)
        return self.url

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def _drop_connection(self) -> None:
        if self._current is not None:
            asyncio.get_running_loop().create_task(self._current.close(code=1000, message=b"replay seek"))

    async def _depth(self, request: web.Request) -> web.Response:
        symbol = request.query.get("symbol", "").upper()
        try:
            limit = int(request.query.get("limit", "100"))
        except ValueError:
            limit = 100
        answer = self.depth.snapshot_at(symbol, self._connection_start, max(1, min(limit, 5000)))
        if answer is None:
            return web.json_response({"code": -1121, "msg": "Invalid symbol."}, status=400)
        return web.json_response(answer)

    async def _serve(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        if self._current is not None:  # one engine at a time: a new connection replaces the old
            await self._current.close(code=1000, message=b"replaced")
        self._current = ws
        self.connections += 1
        self._connection_start = self.position
        wanted: set[str] = set()
        subscribed = asyncio.Event()
        closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def acknowledge(text: str) -> None:
            await ws.send_str(text)
            self.frames_sent += 1

        async def listen() -> None:
            await subscriptions(ws, wanted, subscribed, acknowledge)
            if not closed.done():
                closed.set_result(None)

        listener = asyncio.get_running_loop().create_task(listen())
        try:
            await subscribed.wait()
            self.caught_up.set()
            await self._play_on(ws, wanted, closed)
        except ConnectionResetError:
            pass
        finally:
            if self._current is ws:
                self._current = None
            await ws.close()
            listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await listener
        return ws

    async def _play_on(self, ws: web.WebSocketResponse, wanted: set[str], closed: asyncio.Future[None]) -> None:
        sent_one = False
        while not closed.done():
            position = self.position
            if position >= len(self.index):
                self.at_end.set()
                await closed
                return
            if position in self._starts and sent_one:
                return  # the recorded connection ended: the engine reconnects, as it did
            await self._wait_turn(position, closed)
            if closed.done() or self.position != position or self._current is not ws:
                return  # seeked meanwhile: the connection is being replaced
            frame = self.index.frame(position).decode()
            if _stream_of(frame) in wanted:
                await ws.send_str(frame)
                self.frames_sent += 1
                sent_one = True
            self.position = position + 1
