"""Seeking back in an hour-long recording: from the seek to the engine's books rebuilt.

The recording is made here, seeded: one connection to a Coinbase-style venue, a 2,000-level
snapshot per side at the start (as Coinbase sends one only on subscribing), then a level2 update
of 1-5 levels every 100 ms and a heartbeat every second for an hour (39,600 frames). The
replay is paused 50 minutes in and seeks back to 10 minutes in: the player sends its last
checkpoint of the book before that point (a snapshot frame it wrote while indexing) and the
updates since, renumbered, and the engine rebuilds its book from them. Timed from the seek to
the engine having handled the last of them (issue 23: <= 200 ms). The baseline is the engine
handling the same frames, renumbered beforehand, sent by a bare loopback server that does no
seeking.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.server import ServerConnection, serve

from benchmarks.support import record, scaled
from cryptoj_tui.engine import Engine
from cryptoj_tui.replay.headless import replay_config
from cryptoj_tui.replay.player import RecordingIndex, ReplayPlayer, renumbered
from tests.synthetic_recordings import T0, coinbase_recording

HOUR = 3600
SEEKS = scaled(15, 2)
GROUP = "seek back to 10 min into a 1-hour recording"


@pytest.fixture(scope="module")
def hour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingIndex]:
    path = tmp_path_factory.mktemp("replay") / "hour.jsonl.gz"
    coinbase_recording(path, HOUR)
    index = RecordingIndex(path)
    yield index
    index.close()


def _engine(url: str) -> Engine:
    return Engine(replay_config(url))


async def _handled(engine: Engine, count: int) -> None:
    while engine.metrics.frames < count:
        await asyncio.sleep(0.0005)


def test_seek_back_baseline_the_same_frames_from_a_bare_server(benchmark: Any, hour: RecordingIndex) -> None:
    """A bare server that, on each new connection, sends the frames a seek back would, numbered
    from 0 beforehand."""
    frames = [renumbered(frame, n) for n, frame in enumerate(hour.catch_up(hour.position_at(T0 + 600)))]
    samples: list[float] = []

    async def run() -> None:
        sockets: list[ServerConnection] = []
        sent = 0

        async def serve_frames(ws: ServerConnection) -> None:
            nonlocal sent
            sockets.append(ws)
            async for message in ws:  # as the player does: play once the books are asked for
                if "level2" in str(message):
                    break
            for frame in frames:
                await ws.send(frame)
                sent += 1
            await ws.wait_closed()

        async with serve(serve_frames, "127.0.0.1", 0, compression=None) as server:
            port = next(iter(server.sockets)).getsockname()[1]
            engine = _engine(f"ws://127.0.0.1:{port}/ws")
            await engine.subscribe("BTC-USD")
            await engine.start()
            await _handled(engine, len(frames))
            for round_ in range(2, SEEKS + 2):
                started = time.perf_counter()
                await sockets[-1].close(1000, "seek")
                await _handled(engine, round_ * len(frames))
                samples.append(time.perf_counter() - started)
                assert engine.market_data.is_live("BTC-USD")
            await engine.stop()

    asyncio.run(run())
    record(benchmark, GROUP, "baseline", samples)


def test_seek_back_ten_minutes_into_an_hour(benchmark: Any, hour: RecordingIndex) -> None:
    samples: list[float] = []

    async def run() -> None:
        player = ReplayPlayer(hour, paused=True)
        await player.start()
        engine = _engine(player.url)
        await engine.subscribe("BTC-USD")
        await engine.start()
        for _ in range(SEEKS):
            player.seek_time(T0 + 3000)  # 50 minutes in
            await _caught_up(player, engine)
            connections = player.connections
            started = time.perf_counter()
            player.seek_time(T0 + 600)
            while player.connections == connections or not player.caught_up.is_set():
                await asyncio.sleep(0.0005)
            await _handled(engine, player.frames_sent)
            samples.append(time.perf_counter() - started)
            assert engine.market_data.is_live("BTC-USD")
        await engine.stop()
        await player.close()

    asyncio.run(run())
    record(benchmark, GROUP, "player seek -> engine book rebuilt", samples)


async def _caught_up(player: ReplayPlayer, engine: Engine) -> None:
    while not player.caught_up.is_set():
        await asyncio.sleep(0.001)
    await _handled(engine, player.frames_sent)
