"""Seeking back in an hour-long recording: from the seek to the engine's books rebuilt.

The recording is made here, seeded: one connection to a Coinbase-style venue, a 2,000-level
snapshot per side at the start (as Coinbase sends one only on subscribing), then a level2 update
of 1-5 levels every 100 ms and a heartbeat every second for an hour (39,600 frames). The
replay is paused 50 minutes in and seeks back to 10 minutes in: the player sends the snapshot
and the 6,000 updates since, renumbered, and the engine rebuilds its book from them. Timed from
the seek to the engine having handled the last of them (issue 23: <= 200 ms). The baseline is
the engine handling the same frames sent by a bare loopback server that does no seeking.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import random
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import msgspec
import pytest
from websockets.asyncio.server import ServerConnection, serve

from benchmarks.support import record, scaled
from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.recording import FORMAT, VERSION, ConnectRecord, FrameRecord, Header
from cryptoj_tui.replay.headless import replay_config
from cryptoj_tui.replay.player import RecordingIndex, ReplayPlayer

HOUR = 3600
SEEKS = scaled(15, 2)
GROUP = "seek back to 10 min into a 1-hour recording"
T0 = 1_800_000_000.0


def _frame(seq: int, at: float, channel: str, events: list[dict[str, Any]]) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e6):06d}Z"
    return json.dumps(
        {"channel": channel, "client_id": "", "timestamp": stamp, "sequence_num": seq, "events": events},
        separators=(",", ":"),
    )


def _hour_long(path: Path) -> None:
    """Write the recording in the documented format (docs/recording.md), stamped with the
    recording's own clock rather than this machine's."""
    rng = random.Random(23)
    header = Header(format=FORMAT, version=VERSION, venue="coinbase", started="2027-01-15T08:00:00+00:00")
    seq = 0
    snapshot = [
        {"side": side, "event_time": "", "price_level": f"{65000 + sign * (i + 1) / 100:.2f}", "new_quantity": "1.5"}
        for side, sign in (("bid", -1), ("offer", 1))
        for i in range(2000)
    ]
    records: list[Any] = [
        header,
        ConnectRecord(at=T0, stream="market", url="wss://advanced-trade-ws.coinbase.com"),
        FrameRecord(
            at=T0,
            stream="market",
            frame=_frame(seq, T0, "l2_data", [{"type": "snapshot", "product_id": "BTC-USD", "updates": snapshot}]),
        ),
    ]
    for tick in range(1, HOUR * 10 + 1):
        at = T0 + tick / 10
        levels = []
        for _ in range(rng.randint(1, 5)):
            side = rng.choice(("bid", "offer"))
            offset = rng.randint(1, 2000) / 100  # bids below 65000, offers above: never crossed
            price = 65000 - offset if side == "bid" else 65000 + offset
            quantity = rng.choice(("0", "0.5", "2.25"))
            levels.append({"side": side, "event_time": "", "price_level": f"{price:.2f}", "new_quantity": quantity})
        seq += 1
        event = {"type": "update", "product_id": "BTC-USD", "updates": levels}
        records.append(FrameRecord(at=at, stream="market", frame=_frame(seq, at, "l2_data", [event])))
        if tick % 10 == 0:
            seq += 1
            beat = {"current_time": "", "heartbeat_counter": tick // 10}
            records.append(FrameRecord(at=at, stream="market", frame=_frame(seq, at, "heartbeats", [beat])))
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(b"\n".join(msgspec.json.encode(r) for r in records) + b"\n")


@pytest.fixture(scope="module")
def hour(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RecordingIndex]:
    path = tmp_path_factory.mktemp("replay") / "hour.jsonl.gz"
    _hour_long(path)
    index = RecordingIndex(path)
    yield index
    index.close()


def _engine(url: str) -> Engine:
    return Engine(replay_config(url))


async def _handled(engine: Engine, count: int) -> None:
    while engine.metrics.frames < count:
        await asyncio.sleep(0.0005)


def test_seek_back_baseline_the_same_frames_from_a_bare_server(benchmark: Any, hour: RecordingIndex) -> None:
    """A bare server that, on each new connection, sends the frames a seek back would (they are
    the recording's first frames, so their sequence numbers count from 0 as they are)."""
    frames = [hour.frame(p) for p in hour.catch_up(hour.position_at(T0 + 600))]
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
