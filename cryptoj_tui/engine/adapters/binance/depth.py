"""Binance Spot order-book sync, sans-I/O: decode depth diffs and snapshots, and keep an
`OrderBook` in step with them exactly as Binance documents.

    buffer diffs from the stream; fetch GET /api/v3/depth (lastUpdateId L);
    drop buffered diffs with u <= L; the first applied has U <= L+1 <= u;
    after that every diff's U is the previous u + 1, or the book must be rebuilt.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Literal

import msgspec

from cryptoj_tui.engine.book import LevelChange, OrderBook
from cryptoj_tui.engine.model import Side

PriceLevel = tuple[Decimal, Decimal]


class DepthDiff(msgspec.Struct, frozen=True):
    """A `depthUpdate` event: first and last update ids, and the changed levels."""

    e: Literal["depthUpdate"]
    E: int
    s: str
    U: int
    u: int
    b: list[PriceLevel]
    a: list[PriceLevel]


class CombinedDiff(msgspec.Struct, frozen=True):
    """A combined-stream envelope around a diff."""

    stream: str
    data: DepthDiff


class DepthSnapshot(msgspec.Struct, frozen=True):
    """The REST `GET /api/v3/depth` answer."""

    lastUpdateId: int  # noqa: N815 - Binance's field name
    bids: list[PriceLevel]
    asks: list[PriceLevel]


_diff = msgspec.json.Decoder(DepthDiff)
_combined = msgspec.json.Decoder(CombinedDiff)
_snapshot = msgspec.json.Decoder(DepthSnapshot)


def decode_diff(raw: bytes | str) -> DepthDiff:
    """A depth diff, bare or in a combined-stream envelope; msgspec.DecodeError otherwise."""
    try:
        return _combined.decode(raw).data
    except msgspec.DecodeError:
        return _diff.decode(raw)


def decode_snapshot(raw: bytes | str) -> DepthSnapshot:
    """A REST depth snapshot; msgspec.DecodeError says what is wrong."""
    return _snapshot.decode(raw)


def _changes(bids: list[PriceLevel], asks: list[PriceLevel]) -> list[LevelChange]:
    return [(Side.BID, p, q) for p, q in bids] + [(Side.ASK, p, q) for p, q in asks]


class SyncState(enum.StrEnum):
    """Where a symbol's book is in the documented procedure."""

    BUFFERING = "buffering"
    LIVE = "live"
    RESYNC = "resync"
    """Continuity broke (or the snapshot was too old): fetch a new snapshot."""


class DepthSync:
    """Keeps one symbol's `OrderBook` equal to Binance's."""

    def __init__(self, book: OrderBook, max_buffer: int = 10_000) -> None:
        self.book = book
        self.state = SyncState.BUFFERING
        self._buffer: list[DepthDiff] = []
        self._max_buffer = max_buffer
        self.last_update_id: int | None = None
        self._first = True
        self.reason = ""

    def on_diff(self, diff: DepthDiff) -> SyncState:
        """Take one diff from the stream."""
        if self.state is not SyncState.LIVE:
            self._buffer.append(diff)
            if len(self._buffer) > self._max_buffer:
                self._buffer.pop(0)
            return self.state
        self._apply(diff)
        return self.state

    def on_snapshot(self, snapshot: DepthSnapshot) -> SyncState:
        """Take a REST snapshot and replay what was buffered on top of it."""
        last = snapshot.lastUpdateId
        pending = [d for d in self._buffer if d.u > last]
        self._buffer = []
        if pending and pending[0].U > last + 1:
            return self._fail(f"snapshot {last} is older than the first buffered diff {pending[0].U}")
        self.book.replace(_changes(snapshot.bids, snapshot.asks))
        self.book.sequence_num = last
        self.last_update_id, self._first = last, True
        self.state = SyncState.LIVE
        for diff in pending:
            self._apply(diff)
            if self.state is not SyncState.LIVE:
                break
        return self.state

    def _apply(self, diff: DepthDiff) -> None:
        assert self.last_update_id is not None
        expected = self.last_update_id + 1
        if self._first:
            if diff.u < expected:
                return  # already in the snapshot
            if diff.U > expected:
                self._fail(f"first diff {diff.U}..{diff.u} does not cover {expected}")
                return
            self._first = False
        elif diff.U != expected:
            self._fail(f"gap: expected diff from {expected}, got {diff.U}")
            return
        self.book.apply(_changes(diff.b, diff.a))
        self.book.sequence_num = self.last_update_id = diff.u

    def _fail(self, reason: str) -> SyncState:
        self.reason = reason
        self.state = SyncState.RESYNC
        self.book.clear()
        self.last_update_id = None
        return self.state

    def restart(self) -> None:
        """Begin again: buffer diffs until the next snapshot."""
        self.state, self._buffer, self.reason = SyncState.BUFFERING, [], ""
