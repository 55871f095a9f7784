"""Binance depth sync on real recorded frames and snapshots, against an independent reading of the rule."""

from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import msgspec
import pytest

from cryptoj_tui.engine.adapters.binance.depth import (
    DepthDiff,
    DepthSnapshot,
    DepthSync,
    SyncState,
    decode_diff,
    decode_snapshot,
)
from cryptoj_tui.engine.book import OrderBook
from cryptoj_tui.engine.model import Side
from tests.capture_data import SYMBOLS, binance_snapshots, binance_stream, documented_rule


def run(book: OrderBook, steps: list) -> None:
    """Apply DepthSync's steps to a book, as the market data service does."""
    for kind, changes, update_id in steps:
        book.replace(changes) if kind == "snapshot" else book.apply(changes)
        book.sequence_num = update_id


@pytest.mark.captures
@pytest.mark.parametrize("symbol", SYMBOLS)
def test_every_recorded_symbol_syncs_to_the_documented_book(captures: Path, symbol: str) -> None:
    frames = [json.loads(f) for f in binance_stream(captures)]
    diffs = [f["data"] for f in frames if f["data"].get("e") == "depthUpdate" and f["data"]["s"] == symbol]
    snapshot_text = binance_snapshots(captures)[symbol]
    book = OrderBook(symbol)
    sync = DepthSync()
    snapshot_at = 3  # the snapshot arrives after a few diffs were buffered, as in a live start
    for raw in [json.dumps({"stream": "x", "data": d}) for d in diffs[:snapshot_at]]:
        assert sync.on_diff(decode_diff(raw)) == [] and sync.state is SyncState.BUFFERING
    run(book, sync.on_snapshot(decode_snapshot(snapshot_text)))
    assert sync.state is SyncState.LIVE
    for diff in diffs[snapshot_at:]:
        run(book, sync.on_diff(decode_diff(json.dumps(diff))))
        assert sync.state is SyncState.LIVE, sync.reason
    bids, asks = documented_rule(json.loads(snapshot_text), diffs)
    assert book.levels(Side.BID) == sorted(bids.items(), reverse=True)
    assert book.levels(Side.ASK) == sorted(asks.items())
    assert book.sequence_num == diffs[-1]["u"] and not book.is_crossed()


def diff(first: int, last: int, bids: list | None = None) -> DepthDiff:
    return DepthDiff("depthUpdate", 0, "X", first, last, bids or [], [])


SNAPSHOT = DepthSnapshot(100, [(D("1"), D("1"))], [(D("2"), D("1"))])


def test_old_diffs_are_dropped_and_the_first_must_straddle_the_snapshot() -> None:
    sync, book = DepthSync(), OrderBook("X")
    sync.on_diff(diff(90, 95, [(D("1"), D("9"))]))  # entirely before the snapshot: dropped
    sync.on_diff(diff(99, 102, [(D("1"), D("3"))]))
    run(book, sync.on_snapshot(SNAPSHOT))
    assert sync.state is SyncState.LIVE
    assert book.best_bid() == (D("1"), D("3")) and sync.last_update_id == 102 == book.sequence_num
    run(book, sync.on_diff(diff(103, 103, [(D("1"), D("0"))])))
    assert book.best_bid() is None


def test_a_gap_or_a_stale_snapshot_asks_for_a_resync() -> None:
    sync = DepthSync()
    sync.on_snapshot(SNAPSHOT)
    sync.on_diff(diff(100, 101))
    assert sync.on_diff(diff(105, 106)) == [] and sync.state is SyncState.RESYNC
    assert "gap: expected diff from 102" in sync.reason
    sync.restart()
    sync.on_diff(diff(120, 121))
    assert sync.on_snapshot(SNAPSHOT) == [] and sync.state is SyncState.RESYNC
    assert "older than the first buffered diff" in sync.reason
    fresh = DepthSync()
    fresh.on_snapshot(SNAPSHOT)
    assert fresh.on_diff(diff(103, 104)) == [] and "does not cover 101" in fresh.reason


def test_malformed_binance_frames_are_decode_errors() -> None:
    with pytest.raises(msgspec.DecodeError):
        decode_diff(b'{"e":"depthUpdate","U":"x"}')
    with pytest.raises(msgspec.DecodeError):
        decode_snapshot(b'{"lastUpdateId": 1, "bids": [["a", "1"]], "asks": []}')
