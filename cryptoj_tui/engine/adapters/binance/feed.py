"""Binance Spot depth over one WebSocket plus REST snapshots: books kept exactly in step.

The stream is subscribed with SUBSCRIBE messages (so products can be added at any time and
are re-subscribed after a reconnect); each symbol then buffers diffs until its REST snapshot
arrives, and whenever continuity breaks it is rebuilt from a new snapshot.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable

import aiohttp
import msgspec

from cryptoj_tui.engine.adapters.base import ConnectedFeed
from cryptoj_tui.engine.adapters.binance import symbol_of
from cryptoj_tui.engine.adapters.binance.depth import (
    BookStep,
    DepthSync,
    SyncState,
    TradeEvent,
    decode_diff,
    decode_snapshot,
    decode_trade,
)
from cryptoj_tui.engine.adapters.connection import MAX_FRAME_BYTES, Backoff, FrameTap, RestTap, WebSocketConnection
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import FeedError
from cryptoj_tui.engine.market_data import MarketData
from cryptoj_tui.engine.model import ConnectionState, PublicTrade, amount_problem, excerpt

log = logging.getLogger(__name__)

SNAPSHOT_LIMIT = 1000
SNAPSHOT_PATH = "/api/v3/depth"
SNAPSHOT_RETRY_S = 1.0


class _Envelope(msgspec.Struct):
    stream: str = ""
    data: dict[str, object] = {}
    result: object = None
    id: int | None = None


def _streams(symbol: str) -> tuple[str, str]:
    """What a product is subscribed to: its depth diffs and its public trades."""
    return f"{symbol.lower()}@depth@100ms", f"{symbol.lower()}@trade"


class BinanceDepthFeed(ConnectedFeed):
    """Keeps the subscribed products' books in `market_data` equal to Binance's."""

    def __init__(
        self,
        ws_url: str,
        rest_url: str,
        market_data: MarketData,
        bus: EventBus,
        *,
        stale_after: float = 30.0,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        backoff: Backoff | None = None,
        tap: FrameTap | None = None,
        rest_tap: RestTap | None = None,
    ) -> None:
        self.url = ws_url
        self._rest_tap = rest_tap
        self._rest_url = rest_url.rstrip("/")
        self._market_data = market_data
        self._bus = bus
        self._syncs: dict[str, DepthSync] = {}
        self._products: dict[str, str] = {}
        self._ids = itertools.count(1)
        self._tasks: set[asyncio.Task[None]] = set()
        self._failed_syncs: dict[str, int] = {}
        """Resyncs in a row per symbol without a diff applied: they back off so a stale
        snapshot source is never hammered."""
        self._http: aiohttp.ClientSession | None = None
        self._envelope = msgspec.json.Decoder(_Envelope)
        self._connection = WebSocketConnection(
            ws_url,
            on_open=self._on_open,
            on_frame=self._on_frame,
            on_state=self._on_state,
            stale_after=stale_after,
            max_frame_bytes=max_frame_bytes,
            backoff=backoff,
            tap=tap,
        )

    def start(self) -> None:
        """Connect in the background."""
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        self._connection.start()

    async def close(self) -> None:
        """Disconnect and stop fetching snapshots."""
        for task in list(self._tasks):
            task.cancel()
        await self._connection.close()
        if self._http is not None:
            await self._http.close()

    async def subscribe(self, product_ids: list[str]) -> None:
        """Keep books of these products, now and after every reconnect."""
        new = [p for p in product_ids if symbol_of(p) not in self._syncs]
        for product_id in new:
            self._syncs[symbol_of(product_id)] = DepthSync()
            self._products[symbol_of(product_id)] = product_id
        if new and self._connection.state is ConnectionState.CONNECTED:
            with contextlib.suppress(ConnectionError):
                await self._subscribe([symbol_of(p) for p in new], self._connection.send)

    async def unsubscribe(self, product_ids: list[str]) -> None:
        """Stop keeping books of these products, now and after reconnects."""
        symbols = [symbol_of(p) for p in product_ids if symbol_of(p) in self._syncs]
        for symbol in symbols:
            del self._syncs[symbol], self._products[symbol]
        if symbols and self._connection.state is ConnectionState.CONNECTED:
            params = [stream for symbol in symbols for stream in _streams(symbol)]
            message = json.dumps({"method": "UNSUBSCRIBE", "params": params, "id": next(self._ids)})
            with contextlib.suppress(ConnectionError):
                await self._connection.send(message)

    async def _subscribe(self, symbols: list[str], send: Callable[[str], Awaitable[None]]) -> None:
        params = [stream for symbol in symbols for stream in _streams(symbol)]
        await send(json.dumps({"method": "SUBSCRIBE", "params": params, "id": next(self._ids)}))
        for symbol in symbols:
            self._resync(symbol, "")

    async def _on_open(self, send: Callable[[str], Awaitable[None]]) -> None:
        if self._syncs:
            await self._subscribe(list(self._syncs), send)

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            diff = decode_diff(raw)
        except msgspec.DecodeError as exc:
            self._on_other(raw, exc)
            return
        sync = self._syncs.get(diff.s)
        if sync is None:
            return
        steps = sync.on_diff(diff)
        if steps:
            self._failed_syncs[diff.s] = 0
        self._run(diff.s, steps)

    def _on_other(self, raw: str | bytes, problem: Exception) -> None:
        """Trades go to the tape; subscription acks and other streams are fine; anything else
        is a bad frame."""
        try:
            trade = decode_trade(raw)
        except msgspec.DecodeError:
            trade = None
        if trade is not None:
            self._on_trade(trade)
            return
        try:
            envelope = self._envelope.decode(raw)
        except msgspec.DecodeError:
            envelope = None
        if envelope is not None and (
            envelope.id is not None  # a SUBSCRIBE acknowledgement
            or (envelope.stream and "@depth" not in envelope.stream)  # another stream's event
            or envelope.data.get("e") not in (None, "depthUpdate")
        ):
            return
        self.metrics.decode_errors += 1
        self._bus.publish(FeedError(where=self.url, message=f"bad depth frame: {problem} in {excerpt(raw)!r}"))

    def _on_trade(self, trade: TradeEvent) -> None:
        product_id = self._products.get(trade.s)
        if product_id is None:
            return
        problem = amount_problem("price", trade.p) or amount_problem("size", trade.q, "size")
        if problem is not None:
            self._bus.publish(FeedError(where=f"{self.url} trade", message=f"{trade.s} trade {trade.t}: {problem}"))
            return
        maker_side = "BUY" if trade.m else "SELL"  # PublicTrade.side is the resting order's side
        public = PublicTrade(trade_id=str(trade.t), price=trade.p, size=trade.q, side=maker_side, time=trade.T / 1000)
        self._market_data.on_trades(product_id, [public])

    def _run(self, symbol: str, steps: list[BookStep]) -> None:
        product_id = self._products[symbol]
        market_data = self._market_data
        for kind, changes, update_id in steps:
            if kind == "snapshot":
                market_data.on_snapshot(product_id, changes, update_id)
            elif not market_data.on_update(product_id, changes, update_id):
                self._resync(symbol, f"{product_id} book rejected an update")
                return
        sync = self._syncs[symbol]
        if sync.state is SyncState.RESYNC:
            self.metrics.gaps += 1
            self._bus.publish(FeedError(where=f"book {product_id}", message=f"resync: {sync.reason}"))
            self._resync(symbol, sync.reason)

    def _resync(self, symbol: str, reason: str) -> None:
        """Forget the book, buffer diffs again and fetch a new snapshot."""
        if reason:
            self._market_data.reset(self._products[symbol], reason)
        self._syncs[symbol].restart()
        failures = self._failed_syncs.get(symbol, 0)
        self._failed_syncs[symbol] = failures + 1 if reason else 0
        delay = min(10.0, 0.25 * 2 ** (failures - 1)) if reason and failures else 0.0
        task = asyncio.get_running_loop().create_task(self._fetch_snapshot(symbol, delay))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fetch_snapshot(self, symbol: str, delay: float) -> None:
        assert self._http is not None
        await asyncio.sleep(delay)
        url = f"{self._rest_url}{SNAPSHOT_PATH}"
        while symbol in self._syncs and self._syncs[symbol].state is SyncState.BUFFERING:
            try:
                params = [("symbol", symbol), ("limit", str(SNAPSHOT_LIMIT))]
                async with self._http.get(url, params=params) as response:
                    body = await response.read()
                if self._rest_tap is not None:  # a replay starts each book from this snapshot
                    self._rest_tap.rest(
                        "GET",
                        SNAPSHOT_PATH,
                        params=params,
                        body=None,
                        status=response.status,
                        answer=body.decode("utf-8", "replace"),
                    )
                if response.status != 200:
                    raise ValueError(f"HTTP {response.status}: {excerpt(body)}")
                snapshot = decode_snapshot(body)
            except (aiohttp.ClientError, TimeoutError, ValueError, msgspec.DecodeError) as exc:
                self._bus.publish(FeedError(where=f"{url}?symbol={symbol}", message=f"snapshot failed: {exc}"))
                await asyncio.sleep(SNAPSHOT_RETRY_S)
                continue
            if symbol in self._syncs:  # not unsubscribed meanwhile
                self._run(symbol, self._syncs[symbol].on_snapshot(snapshot))
            return
