"""`cryptoj replay FILE --paper`: a Coinbase recording's market as the paper venue's order flow.

This reads the recording's level2 and market_trades frames into the paper venue's recorded
events (`cryptoj_tui.sim.recorded`, where the fill model lives). The venue itself never reads a
recording: it is written from the protocol, and the recording's format belongs to the engine.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from pathlib import Path

import msgspec

from cryptoj_tui.engine.recording import MARKET, FrameRecord, RecordingError, read_recording
from cryptoj_tui.replay.headless import recorded_venue
from cryptoj_tui.sim.matching import BookSide, OrderSide
from cryptoj_tui.sim.recorded import RecordedEvent, RecordedLevels, RecordedMarket, RecordedTrade


class _Update(msgspec.Struct):
    side: str
    price_level: str
    new_quantity: str


class _Trade(msgspec.Struct):
    product_id: str
    price: str
    size: str
    side: str


class _Event(msgspec.Struct):
    type: str = ""
    product_id: str = ""
    updates: list[_Update] = []
    trades: list[_Trade] = []


class _Frame(msgspec.Struct):
    channel: str = ""
    events: list[_Event] = []


_DECODER = msgspec.json.Decoder(_Frame)
_BOOK_SIDES: dict[str, BookSide] = {"bid": "bid", "offer": "offer"}
_MAKER_SIDES: dict[str, OrderSide] = {"BUY": "BUY", "SELL": "SELL"}


class RecordedFrames:
    """The market events of one recording, and how many frames or entries had to be skipped."""

    def __init__(self, path: Path) -> None:
        if recorded_venue(path) != "coinbase":
            raise RecordingError(f"{path}: paper trading on a replay needs a Coinbase recording")
        self.events: list[RecordedEvent] = []
        self.skipped = 0
        """Frames that did not decode, and level or trade entries with bad numbers or sides."""
        for record in read_recording(path):
            if isinstance(record, FrameRecord) and record.stream == MARKET:
                self._read(record.at, record.frame)

    def market(self, speed: float = 1.0) -> RecordedMarket:
        """The recorded market, ready for a paper venue."""
        return RecordedMarket(self.events, speed=speed)

    def _read(self, at: float, text: str) -> None:
        head = text[:200]
        if '"l2_data"' not in head and '"market_trades"' not in head:
            return
        try:
            frame = _DECODER.decode(text)
        except msgspec.DecodeError:
            self.skipped += 1
            return
        for event in frame.events:
            if frame.channel == "l2_data" and event.type in ("snapshot", "update"):
                self._levels(at, event)
            elif frame.channel == "market_trades" and event.type == "update":
                # A market_trades snapshot is history from before the book: not replayed.
                self._trades(at, event)

    def _levels(self, at: float, event: _Event) -> None:
        levels: list[tuple[BookSide, Decimal, Decimal]] = []
        for update in event.updates:
            side = _BOOK_SIDES.get(update.side)
            price, size = _number(update.price_level), _number(update.new_quantity)
            if side is None or price is None or size is None or price <= 0 or size < 0:
                self.skipped += 1
                continue
            levels.append((side, price, size))
        if event.product_id:
            self.events.append(RecordedLevels(at, event.product_id, tuple(levels), event.type == "snapshot"))

    def _trades(self, at: float, event: _Event) -> None:
        # Coinbase lists a frame's trades newest first; they happened oldest first.
        for trade in reversed(event.trades):
            side = _MAKER_SIDES.get(trade.side)
            price, size = _number(trade.price), _number(trade.size)
            if side is None or price is None or size is None or price <= 0 or size <= 0 or not trade.product_id:
                self.skipped += 1
                continue
            self.events.append(RecordedTrade(at, trade.product_id, price, size, side))


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
