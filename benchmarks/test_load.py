"""Throughput under load: 1k, 5k and 10k level2 frames/s spread over 50 products, for a fixed
time, read by the engine in its own process and by a bare reader (websockets + msgspec decode,
nothing else) in another; the load generator is this process. psutil measures each reader's
CPU and memory from outside.

Per rate: CPU %, RSS, frames/s read, level updates applied, book events after coalescing,
dropped events, bytes/s sent, and the feed latency p50/p99 (venue stamp -> arrival, sampled
every 5 ms) as the benchmark's samples, beside the bare reader's.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import statistics
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
import pytest
from websockets.asyncio.server import ServerConnection, serve

from benchmarks.support import SMOKE, p99, record

PRODUCTS = [f"P{n:02d}-USD" for n in range(1, 51)]
RATES = [1_000, 5_000, 10_000]
SECONDS = 1.0 if SMOKE else 5.0
LEVELS = 100
"""Levels per side in each product's snapshot."""


def stamp() -> str:
    now = time.time()
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"


def frame(seq: int, events: str) -> str:
    return f'{{"channel":"l2_data","timestamp":"{stamp()}","sequence_num":{seq},"events":{events}}}'


def events_text(kind: str, product: str, levels: list[tuple[str, str, str]]) -> str:
    updates = [{"side": s, "event_time": "t", "price_level": p, "new_quantity": q} for s, p, q in levels]
    return json.dumps([{"type": kind, "product_id": product, "updates": updates}], separators=(",", ":"))


class LoadServer:
    """Snapshots of every product asked for, then `rate` one-level update frames a second, round robin."""

    def __init__(self, rate: int, products: list[str]) -> None:
        self.rate = rate
        self.products = products
        rng = random.Random(rate)
        self.updates = []
        for n in range(4000):
            product = products[n % len(products)]
            side = rng.choice(("bid", "offer"))
            ticks = rng.randint(1, LEVELS)
            price = Decimal(100_000 - ticks if side == "bid" else 100_000 + ticks) / 100
            size = "0" if rng.random() < 0.3 else str(Decimal(rng.randint(1, 10**6)) / 10**4)
            self.updates.append(events_text("update", product, [(side, str(price), size)]))
        self.sent = 0
        self.bytes = 0
        self.streaming = asyncio.Event()
        self.seconds = 0.0

    async def handler(self, ws: ServerConnection) -> None:
        seq = 0
        subscribed: set[str] = set()
        streamer: asyncio.Task[None] | None = None

        async def send(text: str) -> None:
            nonlocal seq
            await ws.send(text)
            seq += 1

        async def stream() -> None:
            loop = asyncio.get_running_loop()
            start = loop.time()
            self.streaming.set()
            sent = 0
            while True:
                due = int((loop.time() - start) * self.rate)
                while sent < due:
                    text = frame(seq, self.updates[sent % len(self.updates)])
                    await send(text)
                    sent += 1
                    self.sent += 1
                    self.bytes += len(text)
                self.seconds = loop.time() - start
                await asyncio.sleep(0.001)

        try:
            async for message in ws:
                request = json.loads(message)
                if request.get("channel") != "level2" or request.get("type") != "subscribe":
                    continue  # heartbeats and the like: the readers do not need them here
                for product in request["product_ids"]:
                    levels = [("bid", str(Decimal(100_000 - n) / 100), "1") for n in range(1, LEVELS + 1)] + [
                        ("offer", str(Decimal(100_000 + n) / 100), "1") for n in range(1, LEVELS + 1)
                    ]
                    await send(frame(seq, events_text("snapshot", product, levels)))
                    subscribed.add(product)
                if streamer is None and subscribed >= set(self.products):
                    streamer = asyncio.ensure_future(stream())
        finally:
            if streamer is not None:
                streamer.cancel()


async def run_reader(rate: int, bare: bool, products: list[str] = PRODUCTS, seconds: float = SECONDS) -> dict[str, Any]:
    server = LoadServer(rate, products)
    async with serve(server.handler, "127.0.0.1", 0, compression=None, max_size=None) as running:
        url = f"ws://127.0.0.1:{running.sockets[0].getsockname()[1]}"
        child = await asyncio.create_subprocess_exec(
            sys.executable,
            str(Path(__file__).with_name("load_client.py")),
            url,
            str(seconds),
            *products,
            *(["--bare"] if bare else []),
            stdout=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        )
        process = psutil.Process(child.pid)
        await asyncio.wait_for(server.streaming.wait(), 60)

        def cpu_seconds() -> float:
            times = process.cpu_times()
            return times.user + times.system

        # CPU from the first streamed frame to the reader's last sample (it exits right after).
        cpu_start, wall_start = cpu_seconds(), time.monotonic()
        cpu, rss = 0.0, []
        while child.returncode is None:
            try:
                rss.append(process.memory_info().rss)
                cpu = (cpu_seconds() - cpu_start) / (time.monotonic() - wall_start) * 100
            except psutil.NoSuchProcess:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(child.wait(), 0.25)
        out, _ = await child.communicate()
        result = json.loads(out.decode().strip().splitlines()[-1])
        seconds = max(server.seconds, 1e-9)
        result.update(
            cpu_percent=cpu,
            rss_mb=max(rss) / 2**20,
            sent_per_s=server.sent / seconds,
            bytes_per_s=server.bytes / seconds,
        )
        return result


def record_load(benchmark: Any, group: str, role: str, result: dict[str, Any]) -> None:
    """The reader's latency samples as the benchmark's, its CPU, memory and read rate beside them."""
    latency = result.pop("latency")
    assert latency, "no latency samples: the reader saw no frames"
    record(benchmark, group, role, latency)
    benchmark.extra_info.update(
        cpu_percent=round(result["cpu_percent"], 1),
        rss_mb=round(result["rss_mb"], 1),
        frames_read_per_s=round(result["frames"] / SECONDS),
    )


@pytest.mark.parametrize("bare", [True, False], ids=["baseline_bare_reader", "engine"])
@pytest.mark.parametrize("rate", RATES)
def test_load_50_products(benchmark: Any, rate: int, bare: bool) -> None:
    result = asyncio.run(run_reader(rate, bare))
    record_load(
        benchmark, f"load {rate // 1000}k frames/s, 50 products: feed latency", "baseline" if bare else "engine", result
    )
    benchmark.extra_info.update(
        frames_sent_per_s=round(result["sent_per_s"]), kbytes_sent_per_s=round(result["bytes_per_s"] / 1024)
    )
    if not bare:
        benchmark.extra_info.update(
            updates_applied_per_s=round(result["updates_applied"] / SECONDS),
            book_events_per_s=round(result["book_events"] / SECONDS),
            dropped_events=result["dropped_events"],
            gaps=result["gaps"],
        )
        assert result["gaps"] == 0


@pytest.mark.parametrize("count", [1, 10, 50])
def test_load_scaling_with_products(benchmark: Any, count: int) -> None:
    """The engine at 5k frames/s spread over 1, 10 or 50 products: what more books cost (the
    report plots CPU, RSS and latency against the product count)."""
    result = asyncio.run(run_reader(5_000, False, PRODUCTS[:count]))
    record_load(benchmark, f"load 5k frames/s over {count} product(s): feed latency", "engine", result)
    benchmark.extra_info["products"] = count
    assert result["gaps"] == 0


SWEEP_RATES = [10_000, 20_000] if SMOKE else [10_000, 20_000, 30_000, 40_000, 50_000, 60_000, 80_000]
SWEEP_SECONDS = 1.0 if SMOKE else 3.0
SATURATED_P99_MS = 10.0
"""The feed latency p99 past which a reader counts as saturated (the issue's bound)."""
GENERATOR_SHORT = 0.9
"""A rate the generator sent less than this share of is the generator's limit, not the reader's."""


def test_load_saturation_sweep(benchmark: Any) -> None:
    """Frames/s over 50 products, rising, until the engine's feed latency p99 passes 10 ms (or
    the generator, in this process, cannot send more): the engine's and the bare reader's p99,
    CPU and read rate at each rate, for the report's plot. The samples are the engine's latency
    at the highest rate it read within the bound."""
    points: list[dict[str, Any]] = []
    within: list[float] = []
    saturated_at = None
    for rate in SWEEP_RATES:
        for role in ("bare reader", "engine"):
            result = asyncio.run(run_reader(rate, role == "bare reader", seconds=SWEEP_SECONDS))
            latency = result["latency"]
            p99_ms = p99(latency) * 1000
            points.append(
                {
                    "role": role,
                    "rate": rate,
                    "sent_per_s": round(result["sent_per_s"]),
                    "read_per_s": round(result["frames"] / SWEEP_SECONDS),
                    "p50_ms": round(statistics.median(latency) * 1000, 3),
                    "p99_ms": round(p99_ms, 3),
                    "cpu_percent": round(result["cpu_percent"], 1),
                }
            )
            if role == "engine":
                if p99_ms <= SATURATED_P99_MS:
                    within = result["latency"]
                elif saturated_at is None:
                    saturated_at = points[-1]["sent_per_s"]
        generator_short = points[-1]["sent_per_s"] < rate * GENERATOR_SHORT
        if saturated_at is not None or generator_short:
            break
    assert within, "the engine's p99 passed 10 ms at the lowest rate"
    engine_points = [p for p in points if p["role"] == "engine"]
    sustained = max(p["sent_per_s"] for p in engine_points if p["p99_ms"] <= SATURATED_P99_MS)
    record(benchmark, "load saturation, 50 products: feed latency", "engine, highest rate within 10 ms p99", within)
    benchmark.extra_info.update(
        sweep=points,
        sustained_frames_per_s=sustained,
        saturated_at_frames_per_s=saturated_at,
        generator_limited=saturated_at is None,
    )
