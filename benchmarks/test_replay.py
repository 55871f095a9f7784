"""Replay throughput: the real Coinbase session in shared/ through the engine, against msgspec
decoding the same file.

The engine's side is the whole `cryptoj replay --headless` path: the loopback replay server
reading the gzip file, the WebSocket, the engine's decoder, sequence checks and books, and the
final books. The baseline reads the same file and decodes each frame with msgspec, nothing more.
Skipped where ../shared/data/captures is absent.
"""

from __future__ import annotations

import asyncio
import gzip
import os
from pathlib import Path
from typing import Any

import msgspec
import pytest

from benchmarks.support import scaled
from cryptoj_tui.replay.headless import replay_books

SHARED_CAPTURES = Path(__file__).resolve().parents[2] / "shared" / "data" / "captures"
CAPTURES = Path(os.environ.get("CRYPTOJ_CAPTURES", SHARED_CAPTURES))
SESSION = CAPTURES / "coinbase_advanced_trade" / "session-2026-08-09.jsonl.gz"
GROUP = "replay the real Coinbase session (1,030 frames, 8 MiB)"
ROUNDS = scaled(5, 1)


@pytest.fixture
def session() -> Path:
    if not SESSION.is_file():
        pytest.skip(f"the real Coinbase session is not at {SESSION} (set CRYPTOJ_CAPTURES)")
    return SESSION


def _frames(path: Path) -> int:
    with gzip.open(path, "rb") as handle:
        return sum(1 for line in handle if line.strip())


def test_replay_baseline_msgspec_decode_of_the_file(benchmark: Any, session: Path) -> None:
    decoder = msgspec.json.Decoder()

    def decode_all() -> None:
        with gzip.open(session, "rb") as handle:
            for line in handle:
                decoder.decode(line)

    benchmark.group = GROUP
    benchmark.extra_info["role"] = "baseline"
    benchmark.pedantic(decode_all, rounds=ROUNDS, warmup_rounds=1)


def test_replay_through_the_engine(benchmark: Any, session: Path) -> None:
    loop = asyncio.new_event_loop()
    books: list[list[dict[str, Any]]] = []

    def replay() -> None:
        books.append(loop.run_until_complete(replay_books(session)))

    benchmark.group = GROUP
    benchmark.extra_info["role"] = "cryptoj replay --headless (server, socket, engine, books)"
    benchmark.pedantic(replay, rounds=ROUNDS, warmup_rounds=1)
    loop.close()
    assert all(b == books[0] for b in books) and books[0][0]["bids"][0] == ["65083.66", "0.23929087"]
    frames = _frames(session)
    benchmark.extra_info["frames"] = frames
    if benchmark.stats is not None:  # None in the smoke run (--benchmark-disable)
        benchmark.extra_info["frames_per_s"] = round(frames / benchmark.stats.stats.median)
