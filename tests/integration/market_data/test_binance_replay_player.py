"""The replay player on a Binance recording (the cryptofeed capture in shared/): stepping, seeking
back and forward over a loopback Binance land on the books Binance's documented sync rule gives
from the same frames, and playing on from a seek ends where playing straight through ends."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from cryptoj_tui.engine import Engine
from cryptoj_tui.replay.binance import BinanceReplayPlayer, product_of
from cryptoj_tui.replay.headless import book_line, replay_books, replay_config
from cryptoj_tui.replay.player import RecordingIndex
from tests.capture_data import BINANCE_WS, SYMBOLS, binance_snapshots, binance_stream, documented_rule
from tests.synthetic_recordings import binance_recording

PRODUCTS = [product_of(symbol) for symbol in SYMBOLS]


@pytest.fixture
async def playing(captures: Path) -> AsyncIterator[tuple[BinanceReplayPlayer, Engine]]:
    async with replaying(captures / BINANCE_WS, *PRODUCTS) as pair:
        yield pair


@contextlib.asynccontextmanager
async def replaying(path: Path, *products: str) -> AsyncIterator[tuple[BinanceReplayPlayer, Engine]]:
    """A paused player serving the recording at `path`, and an engine on it with `products`."""
    index = RecordingIndex(path)
    player = BinanceReplayPlayer(index, paused=True)
    await player.start()
    engine = Engine(replay_config(player.url, venue="binance", rest_url=player.rest_url))
    await engine.subscribe(*products)
    await engine.start()
    try:
        yield player, engine
    finally:
        await engine.stop()
        await player.close()
        index.close()


def expected_books(captures: Path, count: int) -> dict[str, tuple[list[list[D]], list[list[D]]]]:
    """Each book after the first `count` recorded frames, by the documented rule (top 50): the
    snapshot alone while no recorded diff has reached past it yet."""
    frames = [json.loads(f)["data"] for f in binance_stream(captures)][:count]
    snapshots = binance_snapshots(captures)
    books = {}
    for symbol in SYMBOLS:
        snapshot = json.loads(snapshots[symbol])
        diffs = [d for d in frames if d.get("e") == "depthUpdate" and d["s"] == symbol]
        if any(d["u"] > snapshot["lastUpdateId"] for d in diffs):
            bids, asks = documented_rule(snapshot, diffs)
        else:
            bids = {D(p): D(q) for p, q in snapshot["bids"]}
            asks = {D(p): D(q) for p, q in snapshot["asks"]}
        books[product_of(symbol)] = (
            [[p, bids[p]] for p in sorted(bids, reverse=True)[:50]],
            [[p, asks[p]] for p in sorted(asks)[:50]],
        )
    return books


def shown(engine: Engine) -> dict[str, tuple[list[list[D]], list[list[D]]]]:
    result = {}
    for product in PRODUCTS:
        line = book_line(engine, product)
        if "error" not in line:
            result[product] = ([[D(p), D(s)] for p, s in line["bids"]], [[D(p), D(s)] for p, s in line["asks"]])
    return result


async def played_to(player: BinanceReplayPlayer, engine: Engine, position: int) -> None:
    """Step until `position` frames have been played and the engine has handled every one sent."""
    async with asyncio.timeout(20):
        while player.connections == 0 or not player.caught_up.is_set():
            await asyncio.sleep(0.005)
        while player.position < position:
            before = player.position
            player.step()
            while player.position == before:
                await asyncio.sleep(0.001)
        while engine.metrics.frames < player.frames_sent:
            await asyncio.sleep(0.005)


async def seeked(player: BinanceReplayPlayer, target: int) -> None:
    """Seek, and wait until the engine has reconnected to the player."""
    connections = player.connections
    player.seek(target)
    async with asyncio.timeout(10):
        while player.connections == connections:
            await asyncio.sleep(0.005)


async def live_books(engine: Engine, products: list[str]) -> None:
    async with asyncio.timeout(10):
        for product in products:
            await engine.market_data.wait_live(product)


async def test_seeking_back_and_forward_lands_on_the_books_of_the_documented_rule(
    captures: Path, playing: tuple[BinanceReplayPlayer, Engine]
) -> None:
    player, engine = playing
    total = len(player.index)
    middle = total // 2
    await played_to(player, engine, middle)
    expected = expected_books(captures, middle)
    await live_books(engine, list(expected))
    assert shown(engine) == expected

    for target in (middle // 2, middle + total // 4):  # back, then forward
        await seeked(player, target)
        # A book starts from the snapshot of where the connection started, then the next diffs.
        await played_to(player, engine, target + 40)
        expected = expected_books(captures, target + 40)
        await live_books(engine, list(expected))
        assert shown(engine) == expected, target

    player.set_speed(64)
    player.play()
    async with asyncio.timeout(20):
        await player.at_end.wait()
        while engine.metrics.frames < player.frames_sent:
            await asyncio.sleep(0.005)
    assert shown(engine) == expected_books(captures, total)


def test_a_snapshot_of_a_symbol_the_recording_lacks_is_refused(captures: Path) -> None:
    index = RecordingIndex(captures / BINANCE_WS)
    try:
        depth = BinanceReplayPlayer(index).depth
        assert depth.snapshot_at("NOPEUSDT", 10, 100) is None
        start = depth.snapshot_at("NKNUSDT", 0, 5)
        assert start is not None and len(start["bids"]) == 5  # type: ignore[arg-type]
    finally:
        index.close()


def rule_books(events: list[dict], snapshot: dict, count: int) -> tuple[list[list[D]], list[list[D]]]:
    """The generated book after `count` diffs by the documented rule (top 50)."""
    diffs = events[:count]
    if any(d["u"] > snapshot["lastUpdateId"] for d in diffs):
        bids, asks = documented_rule(snapshot, diffs)
    else:
        bids = {D(p): D(q) for p, q in snapshot["bids"]}
        asks = {D(p): D(q) for p, q in snapshot["asks"]}
    return [[p, bids[p]] for p in sorted(bids, reverse=True)[:50]], [[p, asks[p]] for p in sorted(asks)[:50]]


async def test_a_generated_binance_recording_seeks_to_the_documented_rules_books(tmp_path: Path) -> None:
    """No captures needed: a generated session (a diff and a bookTicker frame each tenth of a
    second, the snapshot taken after the third diff), seeked back and forward, then played out."""
    path = tmp_path / "binance.jsonl.gz"
    events, snapshot = binance_recording(path, 200)
    async with replaying(path, "BTC-USDT") as (player, engine):
        for target in (120, 40, 300):  # positions count both streams' frames: two per diff
            if player.connections:
                await seeked(player, target)
            await played_to(player, engine, target + 10)
            await live_books(engine, ["BTC-USDT"])
            line = book_line(engine, "BTC-USDT")
            shown = ([[D(p), D(s)] for p, s in line["bids"]], [[D(p), D(s)] for p, s in line["asks"]])
            assert shown == rule_books(events, snapshot, (target + 10) // 2), target
    lines = await replay_books(path)
    assert [line["product_id"] for line in lines] == ["BTC-USDT"]
    final = ([[D(p), D(s)] for p, s in lines[0]["bids"]], [[D(p), D(s)] for p, s in lines[0]["asks"]])
    assert final == rule_books(events, snapshot, len(events)) and lines[0]["sequence_num"] == events[-1]["u"]


async def test_an_unsubscribed_binance_product_is_dropped_and_its_frames_stop(tmp_path: Path) -> None:
    """UNSUBSCRIBE over the stream, as Binance documents it: the book goes and the replay sends
    no more of its frames (a generated recording: no captures needed)."""
    path = tmp_path / "binance.jsonl.gz"
    binance_recording(path, 200)
    async with replaying(path, "BTC-USDT") as (player, engine):
        await played_to(player, engine, 60)
        await live_books(engine, ["BTC-USDT"])
        await engine.unsubscribe("BTC-USDT")
        assert engine.market_data.products() == [] and engine.market_data.mid("BTC-USDT") is None
        frames = engine.metrics.frames
        player.play()
        await asyncio.sleep(0.5)
        assert engine.metrics.frames - frames <= 2  # what was in flight at most
