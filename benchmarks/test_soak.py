"""Memory stays flat under a steady feed: the engine in its own process, 1k frames/s, on a
price range that drifts (the mid wanders $200 up and down, and the levels reach from $2 to $14
either side of it as the depth breathes), so levels are made and removed all the time and the
book grows and shrinks (a few hundred levels, twice as many at times), as a real one does.

The target (issue: market data) is RSS growth <= 5 % after warm-up over ten minutes; `make
bench` runs SOAK_SECONDS (default 60) so the suite stays short; `make soak` runs the full 600.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
from sortedcontainers import SortedList
from websockets.asyncio.server import ServerConnection, serve

RATE = 1000
SECONDS = float(os.environ.get("SOAK_SECONDS", "60"))
WARMUP_FRACTION = 0.25
MAX_GROWTH = 0.05


def events_text(kind: str, levels: list[tuple[str, str, str]]) -> str:
    updates = [{"side": s, "event_time": "t", "price_level": p, "new_quantity": q} for s, p, q in levels]
    return json.dumps([{"type": kind, "product_id": "BTC-USD", "updates": updates}], separators=(",", ":"))


def frame(seq: int, channel: str, events: str) -> str:
    return f'{{"channel":"{channel}","timestamp":"2026-11-25T00:00:00Z","sequence_num":{seq},"events":{events}}}'


MID = 6_500_000
"""The mid at the start, in cents."""
DRIFT, DRIFT_PERIOD = 20_000, 240.0
"""The mid wanders DRIFT cents either way over DRIFT_PERIOD seconds."""
DEPTH, DEPTH_SWING, DEPTH_PERIOD = 800, 600, 97.0
"""Levels a side reach DEPTH +- DEPTH_SWING cents from the mid, over DEPTH_PERIOD seconds."""


class DriftingBook:
    """The venue's side of the soak: one level change a frame, on a range that moves."""

    def __init__(self) -> None:
        self.rng = random.Random(1)
        self.bids = SortedList(MID - n for n in range(1, 501))
        self.asks = SortedList(MID + n for n in range(1, 501))

    def snapshot(self) -> str:
        return events_text(
            "snapshot",
            [("bid", cents(p), "1") for p in reversed(self.bids)] + [("offer", cents(p), "1") for p in self.asks],
        )

    def next_update(self, seconds: float) -> str:
        """The next change, `seconds` into the stream: first whatever the moved range leaves
        crossed or out of depth, removed; else a level set (or one removed) near the mid."""
        mid = MID + int(DRIFT * math.sin(2 * math.pi * seconds / DRIFT_PERIOD))
        depth = DEPTH + int(DEPTH_SWING * math.sin(2 * math.pi * seconds / DEPTH_PERIOD))
        bids, asks = self.bids, self.asks
        # Crossed by the moved mid, or beyond the depth: the end of its side it sits at.
        for side, levels, at in (
            ("bid", bids, -1 if bids and bids[-1] >= mid else 0 if bids and bids[0] < mid - depth else None),
            ("offer", asks, 0 if asks and asks[0] <= mid else -1 if asks and asks[-1] > mid + depth else None),
        ):
            if at is not None:
                return events_text("update", [(side, cents(levels.pop(at)), "0")])
        side = self.rng.choice(("bid", "offer"))
        levels = bids if side == "bid" else asks
        if levels and self.rng.random() < 0.3:
            price = levels.pop(self.rng.randrange(len(levels)))
            return events_text("update", [(side, cents(price), "0")])
        ticks = self.rng.randint(1, depth)
        price = mid - ticks if side == "bid" else mid + ticks
        if price not in levels:
            levels.add(price)
        return events_text("update", [(side, cents(price), str(Decimal(self.rng.randint(1, 10**8)) / 10**8))])

    @property
    def levels(self) -> int:
        return len(self.bids) + len(self.asks)


def cents(price: int) -> str:
    return str(Decimal(price) / 100)


class LoadServer:
    """A venue stand-in that streams a drifting book's level2 updates at RATE frames/s."""

    def __init__(self) -> None:
        self.book = DriftingBook()
        self.sent = 0
        self.levels_each_second: list[int] = []
        self.streaming_since: float | None = None
        """When the engine subscribed (loop time): the load is owed from then, not from its start-up."""

    async def handler(self, ws: ServerConnection) -> None:
        seq = 0
        async for message in ws:
            if json.loads(message).get("channel") != "level2":
                continue
            await ws.send(frame(seq, "l2_data", self.book.snapshot()))
            seq += 1
            loop = asyncio.get_running_loop()
            start = self.streaming_since = loop.time()
            while True:
                due = int((loop.time() - start) * RATE)
                while seq <= due:
                    await ws.send(frame(seq, "l2_data", self.book.next_update(seq / RATE)))
                    seq += 1
                    self.sent += 1
                    if seq % RATE == 0:
                        self.levels_each_second.append(self.book.levels)
                await asyncio.sleep(0.005)


def test_engine_memory_is_flat_under_a_steady_feed(benchmark: Any) -> None:
    result: dict[str, Any] = {}

    async def soak() -> None:
        server = LoadServer()
        async with serve(server.handler, "127.0.0.1", 0, compression=None) as running:
            url = f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}"
            child = await asyncio.create_subprocess_exec(
                sys.executable,
                str(Path(__file__).with_name("soak_engine.py")),
                url,
                env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
            )
            process = psutil.Process(child.pid)
            samples = []
            try:
                for _ in range(int(SECONDS)):
                    await asyncio.sleep(1)
                    samples.append(process.memory_info().rss)
            finally:
                child.kill()
                await child.wait()
            warm = samples[int(len(samples) * WARMUP_FRACTION)]
            since = server.streaming_since
            owed = 0 if since is None else RATE * (asyncio.get_running_loop().time() - since)
            result.update(
                samples=samples,
                warm=warm,
                end=samples[-1],
                sent=server.sent,
                owed=owed,
                levels=server.levels_each_second,
            )

    benchmark.group = "soak: engine RSS at 1k frames/s, drifting book"
    benchmark.pedantic(lambda: asyncio.run(soak()), rounds=1, iterations=1)
    growth = (result["end"] - result["warm"]) / result["warm"]
    benchmark.extra_info.update(
        rss_after_warmup_mb=round(result["warm"] / 2**20, 1),
        rss_end_mb=round(result["end"] / 2**20, 1),
        growth_percent=round(growth * 100, 2),
        frames_sent=result["sent"],
        rss_mb_each_second=[round(rss / 2**20, 2) for rss in result["samples"]],
        book_levels_each_second=result["levels"],
        book_levels_min=min(result["levels"], default=0),
        book_levels_max=max(result["levels"], default=0),
        seconds=SECONDS,
    )
    print(
        f"\nsoak {SECONDS:g}s: {result['sent']} frames, RSS {result['warm'] / 2**20:.1f} MiB after warm-up "
        f"-> {result['end'] / 2**20:.1f} MiB ({growth * 100:+.2f} %)"
    )
    assert result["owed"] > 0, "the engine never subscribed to level2"
    assert result["sent"] >= result["owed"] * 0.9, "the load generator fell behind"
    assert growth <= MAX_GROWTH
