"""Binance Spot order-book sync, sans-I/O: decode depth diffs and snapshots, and say what keeps
a book in step with them exactly as Binance documents.

    buffer diffs from the stream; fetch GET /api/v3/depth (lastUpdateId L);
    drop buffered diffs with u <= L; the first applied has U <= L+1 <= u;
    after that every diff's U is the previous u + 1, or the book must be rebuilt.
"""

from __future__ import annotations

import enum
from decimal import Decimal
from typing import Any, Literal

import msgspec

from cryptoj_tui.engine.book import LevelChange
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

    lastUpdateId: int
    bids: list[PriceLevel]
    asks: list[PriceLevel]


class TradeEvent(msgspec.Struct, frozen=True):
    """A `trade` event of the `<symbol>@trade` stream (`m`: the buyer was the maker)."""

    e: Literal["trade"]
    s: str
    t: int
    p: Decimal
    q: Decimal
    T: int
    m: bool


class CombinedTrade(msgspec.Struct, frozen=True):
    stream: str
    data: TradeEvent


_trade = msgspec.json.Decoder(TradeEvent)
_combined_trade = msgspec.json.Decoder(CombinedTrade)


def decode_trade(raw: bytes | str) -> TradeEvent:
    """A trade event, bare or in a combined-stream envelope; msgspec.DecodeError otherwise."""
    trade: TradeEvent = _bare_or_combined(raw, _combined_trade, _trade)
    return trade


def _bare_or_combined(raw: bytes | str, combined: Any, bare: Any) -> Any:
    """An event in a combined-stream envelope (`{"stream", "data"}`), else bare."""
    try:
        return combined.decode(raw).data
    except msgspec.DecodeError:
        return bare.decode(raw)


_diff = msgspec.json.Decoder(DepthDiff)
_combined = msgspec.json.Decoder(CombinedDiff)
_snapshot = msgspec.json.Decoder(DepthSnapshot)


def decode_diff(raw: bytes | str) -> DepthDiff:
    """A depth diff, bare or in a combined-stream envelope; msgspec.DecodeError otherwise."""
    diff: DepthDiff = _bare_or_combined(raw, _combined, _diff)
    return diff


def decode_snapshot(raw: bytes | str) -> DepthSnapshot:
    """A REST depth snapshot; msgspec.DecodeError says what is wrong."""
    return _snapshot.decode(raw)


def _changes(bids: list[PriceLevel], asks: list[PriceLevel]) -> list[LevelChange]:
    return [LevelChange(Side.BID, p, q) for p, q in bids] + [LevelChange(Side.ASK, p, q) for p, q in asks]


class SyncState(enum.StrEnum):
    """Where a symbol's book is in the documented procedure."""

    BUFFERING = "buffering"
    LIVE = "live"
    RESYNC = "resync"
    """Continuity broke (or the snapshot was too old): fetch a new snapshot."""


BookStep = tuple[Literal["snapshot", "update"], list[LevelChange], int]
"""What to do to the book: replace it (snapshot) or apply changes (update), and the update id."""


class DepthSync:
    """Decides, diff by diff, what keeps one symbol's book equal to Binance's.

    It returns book steps instead of changing a book, so the market data service stays the
    only owner of books.
    """

    def __init__(self, max_buffer: int = 10_000) -> None:
        self.state = SyncState.BUFFERING
        self._buffer: list[DepthDiff] = []
        self._max_buffer = max_buffer
        self.last_update_id: int | None = None
        self._first = True
        self.reason = ""

    def on_diff(self, diff: DepthDiff) -> list[BookStep]:
        """Take one diff from the stream; return the steps to apply now (maybe none)."""
        if self.state is not SyncState.LIVE:
            self._buffer.append(diff)
            if len(self._buffer) > self._max_buffer:
                self._buffer.pop(0)
            return []
        step = self._next(diff)
        return [step] if step is not None else []

    def on_snapshot(self, snapshot: DepthSnapshot) -> list[BookStep]:
        """Take a REST snapshot; return it and the buffered diffs that follow it."""
        last = snapshot.lastUpdateId
        pending = [d for d in self._buffer if d.u > last]
        self._buffer = []
        if pending and last + 1 < pending[0].U:
            self._fail(f"snapshot {last} is older than the first buffered diff {pending[0].U}")
            return []
        self.last_update_id, self._first = last, True
        self.state = SyncState.LIVE
        steps: list[BookStep] = [("snapshot", _changes(snapshot.bids, snapshot.asks), last)]
        for diff in pending:
            step = self._next(diff)
            if self.state is not SyncState.LIVE:
                return []
            if step is not None:
                steps.append(step)
        return steps

    def _next(self, diff: DepthDiff) -> BookStep | None:
        assert self.last_update_id is not None
        expected = self.last_update_id + 1
        if self._first:
            if diff.u < expected:
                return None  # already in the snapshot
            if expected < diff.U:
                self._fail(f"first diff {diff.U}..{diff.u} does not cover {expected}")
                return None
            self._first = False
        elif expected != diff.U:
            self._fail(f"gap: expected diff from {expected}, got {diff.U}")
            return None
        self.last_update_id = diff.u
        return ("update", _changes(diff.b, diff.a), diff.u)

    def _fail(self, reason: str) -> None:
        self.reason = reason
        self.state = SyncState.RESYNC
        self.last_update_id = None

    def restart(self) -> None:
        """Begin again: buffer diffs until the next snapshot."""
        self.state, self._buffer, self.reason = SyncState.BUFFERING, [], ""
