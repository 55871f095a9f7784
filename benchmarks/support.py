"""Shared by the benchmarks: the smoke switch and how hand-measured samples are recorded."""

from __future__ import annotations

import gc
import os
import subprocess
import sys
from collections.abc import Iterator
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
