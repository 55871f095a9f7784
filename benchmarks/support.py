"""Shared by the benchmarks: the smoke switch and how hand-measured samples are recorded."""

from __future__ import annotations

import asyncio
import gc
import os
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Any

SMOKE = os.environ.get("CRYPTOJ_BENCH_SMOKE") == "1"
"""`make test` runs every benchmark once, small, untimed, to keep them working."""


def scaled(full: int, smoke: int = 2) -> int:
    """How many samples to take: `full` under `make bench`, `smoke` under `make test`."""
    return smoke if SMOKE else full


def restore_gc() -> None:
    """Undo the console's settle_heap (frozen heap, its own thresholds): later benchmarks start
    as a fresh process would."""
    gc.unfreeze()
    gc.set_threshold(700, 10, 10)  # Python's defaults


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


def in_turn(
    jobs: dict[str, Callable[[], object]], seconds: float = 3.0, least: int = 20, most: int = 1000
) -> dict[str, list[float]]:
    """Each job's durations, taken in turn (one call of each, then again) for about `seconds`:
    a change of the machine's speed during the run weighs on every job alike, where measured one
    after the other the first job's minute can be quieter than the last's. One untimed call of
    each first (caches, lazy imports)."""
    for job in jobs.values():
        job()
    samples: dict[str, list[float]] = {name: [] for name in jobs}
    rounds, until = scaled(most), time.perf_counter() + seconds
    for n in range(rounds):
        for name, job in jobs.items():
            started = time.perf_counter()
            job()
            samples[name].append(time.perf_counter() - started)
        if n + 1 >= min(least, rounds) and time.perf_counter() > until:
            break
    return samples


def record(benchmark: Any, group: str, role: str, samples: list[float]) -> None:
    """Hand measured samples to pytest-benchmark (it reports median and p99 like the others)."""
    benchmark.group = group
    benchmark.extra_info["role"] = role
    benchmark.extra_info["max_ms"] = max(samples) * 1000
    benchmark.extra_info["p99_ms"] = p99(samples) * 1000
    benchmark.pedantic(lambda: None, rounds=1)  # a placeholder run, replaced below
    if benchmark.stats is not None:  # None when benchmarks are disabled (the smoke run)
        benchmark.stats.stats.data[:] = list(samples)


@contextmanager
def venue_process(*args: str) -> Iterator[str]:
    """`cryptoj sim` in its own process (as a real venue is: it does not share our GIL); its ws URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "cryptoj_tui", "sim", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            name, _, value = line.partition(": ")
            if name == "websocket":
                yield value.strip()
                break
        else:
            raise AssertionError("cryptoj sim printed no websocket URL")
    finally:
        process.terminate()
        process.wait(10)


Timed = Callable[[], Awaitable[float]]
"""One round of one side: its seconds."""


def submit_rounds(
    rounds: int,
    bare: tuple[asyncio.AbstractEventLoop, Timed],
    engine: tuple[asyncio.AbstractEventLoop, Timed],
    *,
    pause: float,
    after_engine: Callable[[], Awaitable[object]],
    between: Callable[[int], None] | None = None,
    warmup: int = 5,
) -> dict[str, list[float]]:
    """Seconds of `rounds` bare rounds and `rounds` engine rounds taken in turn (a bare one, then
    the engine's, and again), so that the machine getting faster or slower weighs on both alike,
    after `warmup` rounds of each not counted. Each side runs on its own loop while the other's is
    stopped; after each round the engine's loop runs for `pause`, reading what the round brought
    (its book update, its user channel update), charged to neither; after the engine's, it runs
    `after_engine` (its journal's flush) before the next bare round. `between(n)` runs after
    round n (tidying the venue)."""
    engine_loop = engine[0]
    samples: dict[str, list[float]] = {"baseline": [], "engine": []}
    for n in range(rounds + warmup):
        for role, (loop, place) in (("baseline", bare), ("engine", engine)):
            took = loop.run_until_complete(place())
            if n >= warmup:
                samples[role].append(took)
            engine_loop.run_until_complete(asyncio.sleep(pause))
            if role == "engine":
                engine_loop.run_until_complete(after_engine())
        if between is not None:
            between(n)
    return samples


def engine_limit_buy(engine: Any, price: object) -> Timed:
    """The engine's round of a submit -> ack benchmark: a 0.001 BTC-USD limit buy at `price`,
    seconds from `place_limit` to the venue's ack."""

    async def placed() -> float:
        started = time.perf_counter()
        order = await engine.place_limit("BTC-USD", "buy", size="0.001", price=price)
        took = time.perf_counter() - started
        assert order.order_id, order.reason
        return took

    return placed


@contextmanager
def running_engine(config: Any, loop: asyncio.AbstractEventLoop, product_id: str = "BTC-USD") -> Iterator[Any]:
    """An engine on `config` started on `loop` with `product_id`'s book live; what it left
    working is cancelled, and it is stopped, after."""
    from cryptoj_tui.engine import Engine

    engine = Engine(config)
    loop.run_until_complete(engine.start())
    loop.run_until_complete(engine.subscribe(product_id))
    loop.run_until_complete(engine.wait_for_book(product_id))
    try:
        yield engine
    finally:
        loop.run_until_complete(engine.cancel_all())
        loop.run_until_complete(engine.stop())
