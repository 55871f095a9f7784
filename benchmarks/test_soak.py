"""Memory stays flat under a steady feed: the engine in its own process, 1k frames/s.

The target (issue: market data) is RSS growth <= 5 % after warm-up over ten minutes; `make
bench` runs SOAK_SECONDS (default 60) so the suite stays short; `make soak` runs the full 600.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
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


class LoadServer:
    """A venue stand-in that streams level2 updates over a fixed price range at RATE frames/s."""

    def __init__(self) -> None:
        rng = random.Random(1)
        self.snapshot = events_text(
            "snapshot",
            [("bid", str(Decimal(6_500_000 - n) / 100), "1") for n in range(1, 501)]
            + [("offer", str(Decimal(6_500_000 + n) / 100), "1") for n in range(1, 501)],
        )
        self.updates = []
        for _ in range(2000):
            side = rng.choice(("bid", "offer"))
            ticks = rng.randint(1, 500)
            price = Decimal(6_500_000 - ticks if side == "bid" else 6_500_000 + ticks) / 100
            size = "0" if rng.random() < 0.3 else str(Decimal(rng.randint(1, 10**8)) / 10**8)
            self.updates.append(events_text("update", [(side, str(price), size)]))
        self.sent = 0
        self.streaming_since: float | None = None
        """When the engine subscribed (loop time): the load is owed from then, not from its start-up."""

    async def handler(self, ws: ServerConnection) -> None:
        seq = 0
        async for message in ws:
            if json.loads(message).get("channel") != "level2":
                continue
            await ws.send(frame(seq, "l2_data", self.snapshot))
            seq += 1
            loop = asyncio.get_running_loop()
            start = self.streaming_since = loop.time()
            while True:
                due = int((loop.time() - start) * RATE)
                while seq <= due:
                    await ws.send(frame(seq, "l2_data", self.updates[seq % len(self.updates)]))
                    seq += 1
                    self.sent += 1
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
            result.update(samples=samples, warm=warm, end=samples[-1], sent=server.sent, owed=owed)

    benchmark.group = "soak: engine RSS at 1k frames/s"
    benchmark.pedantic(lambda: asyncio.run(soak()), rounds=1, iterations=1)
    growth = (result["end"] - result["warm"]) / result["warm"]
    benchmark.extra_info.update(
        rss_after_warmup_mb=round(result["warm"] / 2**20, 1),
        rss_end_mb=round(result["end"] / 2**20, 1),
        growth_percent=round(growth * 100, 2),
        frames_sent=result["sent"],
        rss_mb_each_second=[round(rss / 2**20, 2) for rss in result["samples"]],
        seconds=SECONDS,
    )
    print(
        f"\nsoak {SECONDS:g}s: {result['sent']} frames, RSS {result['warm'] / 2**20:.1f} MiB after warm-up "
        f"-> {result['end'] / 2**20:.1f} MiB ({growth * 100:+.2f} %)"
    )
    assert result["owed"] > 0, "the engine never subscribed to level2"
    assert result["sent"] >= result["owed"] * 0.9, "the load generator fell behind"
    assert growth <= MAX_GROWTH
