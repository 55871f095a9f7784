"""Per-product trade history: recent trades, rolling 24-hour statistics and candles.

Feeds the market_trades, ticker and candles channels and the REST market-trades and candles
endpoints. Trades are kept as one-minute bars for a day and a little more: the `*_24_h` ticker
fields are a rolling window over them (as Coinbase's are), and REST candles of any granularity
are built from them. The candles channel sends five-minute bars, as Coinbase's does.
"""

from __future__ import annotations

from collections import OrderedDict, deque
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from cryptoj_tui.sim.matching import Trade

CANDLE_SECONDS = 300
"""The candles channel's bars."""
MINUTE = 60
DAY_SECONDS = 86_400
KEPT_TRADES = 1000
"""Trades the REST market-trades endpoint can list (its `limit` goes to 1000)."""
SNAPSHOT_TRADES = 50
"""Trades a market_trades subscription starts with."""
KEPT_CANDLES = 300
KEPT_MINUTES = DAY_SECONDS // MINUTE + 60
"""A day of one-minute bars, and an hour more so a window ending now is always whole."""


@dataclass
class Candle:
    """One bar; `start` is UNIX seconds."""

    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal

    def add(self, price: Decimal, size: Decimal) -> None:
        """One more trade in this bar."""
        self.high = max(self.high, price)
        self.low = min(self.low, price)
        self.close = price
        self.volume += size


@dataclass(frozen=True)
class TapeTrade:
    """A trade as the public sees it, with its venue time (text and UNIX seconds)."""

    trade: Trade
    time: str
    epoch_s: int = 0


@dataclass(frozen=True)
class DayStats:
    """A rolling day of trading: the first price in it, high, low, last and volume."""

    open: Decimal
    high: Decimal
    low: Decimal
    last: Decimal
    volume: Decimal

    @property
    def change_percent(self) -> Decimal:
        """Last price against the day's first, in percent."""
        return (self.last - self.open) / self.open * 100 if self.open else Decimal(0)


class TradeTape:
    """What one product has traded."""

    def __init__(self, product_id: str) -> None:
        self.product_id = product_id
        self.recent: deque[TapeTrade] = deque(maxlen=KEPT_TRADES)
        """Newest first."""
        self.candles: OrderedDict[int, Candle] = OrderedDict()
        """Five-minute bars, oldest first."""
        self.minutes: OrderedDict[int, Candle] = OrderedDict()
        """One-minute bars, oldest first: the rolling day and REST candles are built from these."""
        self.last: Decimal | None = None
        self._closed_day: tuple[int, DayStats | None] = (-1, None)
        """(the minute it was worked out in, the day's whole minutes before it)."""

    def record(self, trades: list[Trade], time_text: str, epoch_s: int) -> list[Candle]:
        """Add trades; return the five-minute candles they touched."""
        touched: dict[int, Candle] = {}
        start = epoch_s - epoch_s % CANDLE_SECONDS
        minute = epoch_s - epoch_s % MINUTE
        for trade in trades:
            price, size = trade.price, trade.size
            self.recent.appendleft(TapeTrade(trade, time_text, epoch_s))
            self.last = price
            touched[start] = _add(self.candles, start, price, size, KEPT_CANDLES)
            _add(self.minutes, minute, price, size, KEPT_MINUTES)
        return list(touched.values())

    def snapshot_trades(self) -> list[TapeTrade]:
        """The trades a market_trades subscription starts with, newest first."""
        return list(self.recent)[:SNAPSHOT_TRADES]

    def day(self, now_s: int) -> DayStats | None:
        """The 24 hours to `now_s` (whole minutes), or None when nothing traded in them.

        The closed minutes are summed once a minute; each call adds only the current one.
        """
        minute = now_s - now_s % MINUTE
        if self._closed_day[0] != minute:
            since = minute - DAY_SECONDS + MINUTE
            self._closed_day = (minute, _combine(b for s, b in self.minutes.items() if since <= s < minute))
        closed, current = self._closed_day[1], self.minutes.get(minute)
        if current is None:
            return closed
        if closed is None:
            return DayStats(current.open, current.high, current.low, current.close, current.volume)
        return DayStats(
            closed.open,
            max(closed.high, current.high),
            min(closed.low, current.low),
            current.close,
            closed.volume + current.volume,
        )

    def bars(self, start_s: int, end_s: int, seconds: int) -> list[Candle]:
        """Bars of `seconds` (a whole number of minutes) from the minute bars with start_s <=
        start < end_s, newest first, as Coinbase lists candles; bars with no trade are left out."""
        grouped: dict[int, Candle] = {}
        for start, bar in self.minutes.items():
            if start_s <= start < end_s:
                key = start - start % seconds
                into = grouped.get(key)
                if into is None:
                    grouped[key] = Candle(key, bar.open, bar.high, bar.low, bar.close, bar.volume)
                else:
                    into.high, into.low = max(into.high, bar.high), min(into.low, bar.low)
                    into.close, into.volume = bar.close, into.volume + bar.volume
        return [grouped[key] for key in sorted(grouped, reverse=True)]


def _add(bars: OrderedDict[int, Candle], start: int, price: Decimal, size: Decimal, keep: int) -> Candle:
    bar = bars.get(start)
    if bar is None:
        bar = bars[start] = Candle(start, price, price, price, price, Decimal(0))
        while len(bars) > keep:
            bars.popitem(last=False)
    bar.add(price, size)
    return bar


def _combine(bars: Iterable[Candle]) -> DayStats | None:
    stats: DayStats | None = None
    for bar in bars:
        if stats is None:
            stats = DayStats(bar.open, bar.high, bar.low, bar.close, bar.volume)
        else:
            stats = DayStats(
                stats.open, max(stats.high, bar.high), min(stats.low, bar.low), bar.close, stats.volume + bar.volume
            )
    return stats
