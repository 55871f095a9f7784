"""A product's public trades: a bounded tape, de-duplicated by trade id, and candles.

Sans-I/O. Venues replay recent trades in every market_trades snapshot (so after each
reconnect); a trade id seen before is ignored, so nothing is counted twice.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from decimal import Decimal

from cryptoj_tui.engine.model import Candle, PublicTrade

TAPE_LENGTH = 500
SEEN_IDS = 5000
CANDLES_KEPT = 600


class CandleSeries:
    """OHLCV bars of one width, built from trades as they arrive."""

    def __init__(self, seconds: int, kept: int = CANDLES_KEPT) -> None:
        self.seconds = seconds
        self._kept = kept
        self.bars: OrderedDict[int, Candle] = OrderedDict()

    def add(self, price: Decimal, size: Decimal, time: float) -> None:
        """Fold one trade into its bar (a late trade updates an older bar if still kept)."""
        start = int(time) - int(time) % self.seconds
        bar = self.bars.get(start)
        if bar is None:
            late = bool(self.bars) and start < next(reversed(self.bars))
            bar = self.bars[start] = Candle(
                start=start, open=price, high=price, low=price, close=price, volume=Decimal(0)
            )
            if late:
                self.bars = OrderedDict(sorted(self.bars.items()))
            while len(self.bars) > self._kept:
                self.bars.popitem(last=False)
        bar.high = max(bar.high, price)
        bar.low = min(bar.low, price)
        bar.close = price
        bar.volume += size

    def latest(self, n: int) -> list[Candle]:
        """The last `n` bars, oldest first."""
        return list(self.bars.values())[-n:]


class TradeTape:
    """Recent public trades of one product, newest first, plus 1 s and 1 m candles."""

    def __init__(self) -> None:
        self.trades: deque[PublicTrade] = deque(maxlen=TAPE_LENGTH)
        self._seen: OrderedDict[str, None] = OrderedDict()
        self.candles = {1: CandleSeries(1), 60: CandleSeries(60)}
        self.duplicates = 0

    def add(self, trades: list[PublicTrade]) -> list[PublicTrade]:
        """Record trades (oldest first); return the ones not seen before."""
        new = []
        for trade in trades:
            if trade.trade_id in self._seen:
                self.duplicates += 1
                continue
            self._seen[trade.trade_id] = None
            if len(self._seen) > SEEN_IDS:
                self._seen.popitem(last=False)
            self.trades.appendleft(trade)
            for series in self.candles.values():
                series.add(trade.price, trade.size, trade.time)
            new.append(trade)
        return new

    @property
    def last(self) -> PublicTrade | None:
        """The newest trade."""
        return self.trades[0] if self.trades else None
