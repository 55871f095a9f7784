"""The replay player: seeking back and forward, stepping and playing land on the books that
playing straight through gives (built here independently from the same frames)."""

from __future__ import annotations

import asyncio
import contextlib
import gzip
from collections.abc import AsyncIterator, Sequence
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from cryptoj_tui.engine import Engine
from cryptoj_tui.replay.headless import book_line, replay_config
from cryptoj_tui.replay.player import PacedPlayer, RecordingIndex, ReplayPlayer, renumbered
from tests.capture_data import COINBASE_SESSION, independent_books
from tests.synthetic_recordings import coinbase_recording

PRODUCTS = ("BTC-USD", "ETH-USD")
CHECKPOINTS = [
    pytest.param({}, id="checkpoints as by default"),
    pytest.param({"checkpoint_changes": 20, "book_share": 0}, id="a checkpoint every 20 changes"),
]
"""How the player's index keeps its checkpoints of the books: a catch-up must land on the same
book whether it starts from a recorded snapshot or from one of them."""


def books_after(lines: list[bytes], count: int) -> dict[str, tuple[object, object]]:
    """Top 50 of each book after the first `count` frames, built independently."""
    return {product: (book["bids"], book["asks"]) for product, book in independent_books(lines[:count]).items()}


def shown(engine: Engine) -> dict[str, tuple[list[list[D]], list[list[D]]]]:
    """The engine's live books, top 50, as Decimals."""
    result = {}
    for product in PRODUCTS:
        line = book_line(engine, product)
        if "error" not in line:
            result[product] = (
                [[D(p), D(s)] for p, s in line["bids"]],
                [[D(p), D(s)] for p, s in line["asks"]],
            )
    return result


@pytest.fixture(params=CHECKPOINTS)
async def playing(
    captures: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[ReplayPlayer, Engine, list[bytes]]]:
    session = captures / COINBASE_SESSION
    with gzip.open(session, "rb") as handle:
        lines = [line.rstrip(b"\n") for line in handle if line.strip()]
    async with paused_player(session, PRODUCTS, **request.param) as (player, engine):
        yield player, engine, lines


@contextlib.asynccontextmanager
async def paused_player(
    path: Path, products: Sequence[str], **index_options: Any
) -> AsyncIterator[tuple[ReplayPlayer, Engine]]:
    """A paused player on `path`, and an engine reading it with books of `products`."""
    index = RecordingIndex(path, **index_options)
    player = ReplayPlayer(index, paused=True)
    await player.start()
    engine = Engine(replay_config(player.url))
    await engine.subscribe(*products)
    await engine.start()
    try:
        yield player, engine
    finally:
        await engine.stop()
        await player.close()
        index.close()


async def settled(player: ReplayPlayer, engine: Engine, connections: int) -> None:
    """Until the player serves a connection after `connections`, has sent its catch-up, and the
    engine has handled every frame sent."""
    async with asyncio.timeout(10):
        while player.connections <= connections or not player.caught_up.is_set():
            await asyncio.sleep(0.005)
        while engine.metrics.frames < player.frames_sent:
            await asyncio.sleep(0.005)


async def seek(player: ReplayPlayer, engine: Engine, position: int) -> None:
    before = player.connections
    player.seek(position)
    await settled(player, engine, before)


async def test_seeking_back_and_forward_lands_on_the_book_of_playing_straight_through(
    playing: tuple[ReplayPlayer, Engine, list[bytes]],
) -> None:
    player, engine, lines = playing
    assert len(player.index) == len(lines) == 1030
    for target in (700, 300, 301, 950, 14, 500):  # back, one on, forward, just after the snapshots
        await seek(player, engine, target)
        assert shown(engine) == books_after(lines, target), target
        assert player.position == target


async def test_stepping_and_playing_go_on_from_where_a_seek_left_off(
    playing: tuple[ReplayPlayer, Engine, list[bytes]],
) -> None:
    player, engine, lines = playing
    await seek(player, engine, 400)
    for _ in range(5):
        player.step()
    async with asyncio.timeout(10):
        while player.position < 405 or engine.metrics.frames < player.frames_sent:
            await asyncio.sleep(0.005)
    assert player.position == 405 and shown(engine) == books_after(lines, 405)
    player.set_speed(64)
    player.play()
    await asyncio.wait_for(player.at_end.wait(), 10)
    async with asyncio.timeout(10):
        while engine.metrics.frames < player.frames_sent:
            await asyncio.sleep(0.005)
    assert shown(engine) == books_after(lines, len(lines))
    assert engine.metrics.gaps == 0 and engine.metrics.decode_errors == 0


async def test_seeking_to_before_the_first_snapshot_shows_no_book(
    playing: tuple[ReplayPlayer, Engine, list[bytes]],
) -> None:
    player, engine, _ = playing
    await seek(player, engine, 600)
    assert set(shown(engine)) == set(PRODUCTS)
    await seek(player, engine, 5)
    assert shown(engine) == {}  # as it was live then: no snapshot yet


def test_speeds_step_through_the_range_and_a_bad_one_is_refused() -> None:
    player = PacedPlayer([0.0])
    player.faster()
    player.faster()
    assert player.speed == 4.0
    for _ in range(20):
        player.faster()
    assert player.speed == 64.0
    for _ in range(20):
        player.slower()
    assert player.speed == 0.25
    with pytest.raises(ValueError, match="replay speed must be positive, got 0"):
        player.set_speed(0)


def test_renumbering_changes_the_sequence_number_and_nothing_else() -> None:
    frame = b'{"channel":"l2_data","timestamp":"t","sequence_num":1027,"events":[{"sequence_num":5}]}'
    assert (
        renumbered(frame, 3) == b'{"channel":"l2_data","timestamp":"t","sequence_num":3,"events":[{"sequence_num":5}]}'
    )


@pytest.fixture(params=CHECKPOINTS)
async def generated(
    tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[tuple[ReplayPlayer, Engine, list[str]]]:
    """A generated minute (no captures needed) with a recorded reconnect half-way."""
    path = tmp_path / "minute.jsonl.gz"
    frames = coinbase_recording(path, 60, depth=300, reconnect_at=30)
    async with paused_player(path, ["BTC-USD"], **request.param) as (player, engine):
        yield player, engine, frames


async def test_seeks_across_a_recorded_reconnect_land_on_the_independent_book(
    generated: tuple[ReplayPlayer, Engine, list[str]],
) -> None:
    player, engine, frames = generated
    assert len(player.index) == len(frames) and player.index.connection_starts == [0, 329]
    for target in (500, 150, 151, 330, 328, 620):  # after the reconnect, before it, around it
        await seek(player, engine, target)
        assert shown(engine) == books_after(frames, target), target  # type: ignore[arg-type]
    player.set_speed(64)
    player.play()
    await asyncio.wait_for(player.at_end.wait(), 20)
    async with asyncio.timeout(10):
        while engine.metrics.frames < player.frames_sent:
            await asyncio.sleep(0.005)
    assert shown(engine) == books_after(frames, len(frames))  # type: ignore[arg-type]


def test_a_catch_up_is_bounded_by_the_books_size_not_by_how_far_into_the_recording(tmp_path: Path) -> None:
    """Two minutes of a 200-level book (its only recorded snapshot at the start): a seek to any
    point sends a checkpoint of the books and the changes since it, never the whole way from the
    start; without checkpoints the last seek would send every frame before it."""
    path = tmp_path / "two-minutes.jsonl.gz"
    frames = coinbase_recording(path, 120, depth=100)
    index = RecordingIndex(path, checkpoint_changes=100)
    try:
        assert len(index.checkpoints) >= 5 and index.snapshots == {"BTC-USD": [0]}
        # A checkpoint waits for as many changes as the book has levels (200), each frame 1-5 of
        # them: fewer than 200 updates since it, a heartbeat every ten, and the checkpoint itself.
        assert max(sum(1 for _ in index.catch_up(target)) for target in range(0, len(frames), 37)) < 230
        last = list(index.catch_up(len(frames) - 1))
        assert b'"type":"snapshot"' in last[0] and len(last) < len(frames) / 4
    finally:
        index.close()
