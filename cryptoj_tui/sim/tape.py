"""Per-product trade history: recent trades, rolling statistics and five-minute candles.

Feeds the market_trades, ticker and candles channels. Statistics cover the venue's lifetime
(a paper venue rarely lives 24 h), which is what `*_24_h` fields report here.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass
from decimal import Decimal

from cryptoj_tui.sim.matching import Trade

CANDLE_SECONDS = 300
RECENT_TRADES = 50
KEPT_CANDLES = 300


@dataclass
class Candle:
    """One five-minute bar."""

    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True)
class TapeTrade:
    """A trade as the public sees it, with its venue time."""

    trade: Trade
    time: str


class TradeTape:
    """What one product has traded."""

    def __init__(self, product_id: str) -> None:
        self.product_id = product_id
        self.recent: deque[TapeTrade] = deque(maxlen=RECENT_TRADES)
        self.candles: OrderedDict[int, Candle] = OrderedDict()
        self.first: Decimal | None = None
        self.last: Decimal | None = None
        self.high: Decimal | None = None
        self.low: Decimal | None = None
        self.volume = Decimal(0)

    def record(self, trades: list[Trade], time_text: str, epoch_s: int) -> list[Candle]:
        """Add trades; return the candles they touched."""
        touched: dict[int, Candle] = {}
        start = epoch_s - epoch_s % CANDLE_SECONDS
        for trade in trades:
            price = trade.price
            self.recent.appendleft(TapeTrade(trade, time_text))
            self.first = price if self.first is None else self.first
            self.last = price
            self.high = price if self.high is None else max(self.high, price)
            self.low = price if self.low is None else min(self.low, price)
            self.volume += trade.size
            candle = self.candles.get(start)
            if candle is None:
                candle = self.candles[start] = Candle(start, price, price, price, price, Decimal(0))
                while len(self.candles) > KEPT_CANDLES:
                    self.candles.popitem(last=False)
            candle.high = max(candle.high, price)
            candle.low = min(candle.low, price)
            candle.close = price
            candle.volume += trade.size
            touched[start] = candle
        return list(touched.values())

    def change_percent(self) -> Decimal:
        """Last price against the first, in percent (0 before two trades)."""
        if self.first is None or self.last is None or not self.first:
            return Decimal(0)
        return (self.last - self.first) / self.first * 100
