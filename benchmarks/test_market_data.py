"""Decode + apply of Coinbase level2 frames against msgspec decoding the same bytes.

The frames are built like the venue's (minimal decimal strings, one event per frame) from a
seeded generator, so the benchmark needs no network and no shared data.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from cryptoj_tui.engine.adapters.coinbase.stream import L2DataFrame, StreamDecoder
from cryptoj_tui.engine.book import OrderBook

FRAMES = 1000


def _level(rng: random.Random, side: str) -> dict[str, str]:
    ticks = rng.randint(1, 5000)
    price = Decimal(6_500_000 - ticks if side == "bid" else 6_500_000 + ticks) / 100
    size = "0" if rng.random() < 0.3 else str(Decimal(rng.randint(1, 10**8)) / 10**8)
    return {"side": side, "event_time": "2026-11-25T00:00:00.000000Z", "price_level": str(price), "new_quantity": size}


def frame(seq: int, kind: str, levels: list[dict[str, str]]) -> bytes:
    return json.dumps(
        {
            "channel": "l2_data",
            "timestamp": "2026-11-25T00:00:00.000000000Z",
            "sequence_num": seq,
            "events": [{"type": kind, "product_id": "BTC-USD", "updates": levels}],
        },
        separators=(",", ":"),
    ).encode()


def update_frames(levels_per_frame: int) -> list[bytes]:
    rng = random.Random(levels_per_frame)
    return [
        frame(n, "update", [_level(rng, rng.choice(("bid", "offer"))) for _ in range(levels_per_frame)])
        for n in range(FRAMES)
    ]


def snapshot_frame(levels_per_side: int) -> bytes:
    bids = [{"side": "bid", "event_time": "t", "price_level": str(Decimal(6_500_000 - n) / 100), "new_quantity": "0.5"} for n in range(levels_per_side)]
    asks = [{"side": "offer", "event_time": "t", "price_level": str(Decimal(6_500_001 + n) / 100), "new_quantity": "0.5"} for n in range(levels_per_side)]
    return frame(0, "snapshot", bids + asks)


def seeded_book() -> OrderBook:
    decoder = StreamDecoder()
    book = OrderBook("BTC-USD")
    snapshot = decoder.decode(snapshot_frame(2500))
    assert isinstance(snapshot, L2DataFrame)
    book.replace(snapshot.events[0].updates)
    return book


def decode_only(frames: list[bytes]) -> None:
    decode = msgspec.json.decode
    for raw in frames:
        decode(raw)


def decode_and_apply(frames: list[bytes], decoder: StreamDecoder, book: OrderBook) -> None:
    for raw in frames:
        parsed = decoder.decode(raw)
        for event in parsed.events:  # type: ignore[union-attr]
            book.apply(event.updates)


@pytest.mark.parametrize("levels", [1, 50])
def test_update_frames_baseline(benchmark: Any, levels: int) -> None:
    frames = update_frames(levels)
    benchmark.group = f"l2 update, {levels} level(s) x{FRAMES}"
    benchmark.extra_info["role"] = "baseline"
    benchmark(decode_only, frames)


@pytest.mark.parametrize("levels", [1, 50])
def test_update_frames_decode_and_apply(benchmark: Any, levels: int) -> None:
    frames = update_frames(levels)
    decoder, book = StreamDecoder(), seeded_book()
    benchmark.group = f"l2 update, {levels} level(s) x{FRAMES}"
    benchmark.extra_info["role"] = "decode+apply"
    benchmark(decode_and_apply, frames, decoder, book)


def test_snapshot_10k_baseline(benchmark: Any) -> None:
    raw = snapshot_frame(5000)
    benchmark.group = "l2 snapshot, 10k levels"
    benchmark.extra_info["role"] = "baseline"
    benchmark(msgspec.json.decode, raw)


def test_snapshot_10k_decode_and_replace(benchmark: Any) -> None:
    raw = snapshot_frame(5000)
    decoder = StreamDecoder()
    book = OrderBook("BTC-USD")
    benchmark.group = "l2 snapshot, 10k levels"
    benchmark.extra_info["role"] = "decode+replace"

    def run() -> None:
        parsed = decoder.decode(raw)
        book.replace(parsed.events[0].updates)  # type: ignore[union-attr]

    benchmark(run)
    assert book.depth() == (5000, 5000)
