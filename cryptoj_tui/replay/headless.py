"""`cryptoj replay FILE --headless`: a recording through the engine, and the books it ends with.

The engine is the one that trades, reading the recording from a loopback `ReplayServer` as it
would read a venue; nothing here touches a book itself. At the end, one JSON line per product:
`{"product_id", "sequence_num", "bids": [[price, size], ...], "asks": [...]}`, the top levels as
strings, so two replays (or a replay and a book built another way) compare line for line.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.recording import MARKET, FrameRecord, Header, read_recording
from cryptoj_tui.replay.binance import BinanceReplayServer, product_of, recorded_symbols
from cryptoj_tui.replay.server import ReplayServer

TOP_LEVELS = 50
SNAPSHOT_WAIT = 10.0
"""Seconds a Binance book may take to start from its snapshot after the last frame."""


class _EventProbe(msgspec.Struct):
    type: str = ""
    product_id: str = ""


class _FrameProbe(msgspec.Struct):
    channel: str = ""
    events: list[_EventProbe] = []


_PROBE = msgspec.json.Decoder(_FrameProbe)


def recorded_products(path: Path) -> list[str]:
    """Every product with a level2 snapshot in the recording's market stream, sorted."""
    products: set[str] = set()
    for record in read_recording(path):
        if not (isinstance(record, FrameRecord) and record.stream == MARKET and '"l2_data"' in record.frame[:200]):
            continue
        try:
            frame = _PROBE.decode(record.frame)
        except msgspec.DecodeError:
            continue  # the engine reports it when it meets it
        products.update(e.product_id for e in frame.events if e.type == "snapshot" and e.product_id)
    return sorted(products)


def _text(value: Decimal) -> str:
    """A price or size in minimal form: the grid's trailing zeros dropped, never an exponent."""
    return format(value.normalize(), "f")


def book_line(engine: Engine, product_id: str, depth: int = TOP_LEVELS) -> dict[str, Any]:
    """The product's book as the replay's result line (or why it has none)."""
    if not engine.market_data.is_live(product_id):
        return {"product_id": product_id, "error": f"no live book for {product_id} at the end of the recording"}
    book = engine.book(product_id)
    bids, asks = book.top(depth)
    return {
        "product_id": product_id,
        "sequence_num": book.sequence_num,
        "bids": [[_text(p), _text(s)] for p, s in bids],
        "asks": [[_text(p), _text(s)] for p, s in asks],
    }


def replay_config(ws_url: str, **overrides: Any) -> EngineConfig:
    """The engine that plays a recording: it watches and never trades; a paused replay is not a
    dead venue (no staleness watchdog), and a seek's reconnect is immediate (no backoff)."""
    settings: dict[str, Any] = {
        "watch_only": True,
        "stale_after": 24 * 3600.0,
        "market_stale_after": 24 * 3600.0,
        "reconnect_cap": 0.001,
    }
    return EngineConfig(ws_url=ws_url, **(settings | overrides))


def recorded_venue(path: Path) -> str:
    """The venue a recording was made on (its header says; a bare capture is Coinbase's)."""
    first = next(read_recording(path), None)
    return first.venue if isinstance(first, Header) else "coinbase"


async def replay_books(path: Path, products: list[str] | None = None, depth: int = TOP_LEVELS) -> list[dict[str, Any]]:
    """Play the whole recording through an engine as fast as it reads; the books at the end."""
    if recorded_venue(path) == "binance":
        return await _replay_binance(path, products, depth)
    wanted = products or recorded_products(path)
    server = ReplayServer(path)
    url = await server.start()
    engine = Engine(replay_config(url))
    try:
        await engine.subscribe(*wanted)
        await engine.start()
        await _until_handled(engine, server.finished, lambda: server.frames_sent)
        return [book_line(engine, product_id, depth) for product_id in wanted]
    finally:
        await engine.stop()
        await server.close()


async def _replay_binance(path: Path, products: list[str] | None, depth: int) -> list[dict[str, Any]]:
    wanted = products or [product_of(symbol) for symbol in recorded_symbols(path)]
    server = BinanceReplayServer(path)
    ws_url, rest_url = await server.start()
    engine = Engine(replay_config(ws_url, venue="binance", rest_url=rest_url))
    try:
        await engine.subscribe(*wanted)
        await engine.start()
        await _until_handled(engine, server.finished, lambda: server.frames_sent)
        # A book starts from its REST snapshot, which may still be on its way after the last frame.
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(SNAPSHOT_WAIT):
                for product_id in wanted:
                    await engine.market_data.wait_live(product_id)
        return [book_line(engine, product_id, depth) for product_id in wanted]
    finally:
        await engine.stop()
        await server.close()


async def _until_handled(engine: Engine, finished: asyncio.Event, sent: Callable[[], int]) -> None:
    """Wait until the server sent its last frame and the engine has handled every frame sent."""
    await finished.wait()
    while engine.metrics.frames < sent():
        await asyncio.sleep(0.005)
