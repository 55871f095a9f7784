"""The tape's rolling 24 hours and its candles of any granularity."""

from __future__ import annotations

from decimal import Decimal as D

from cryptoj_tui.sim.matching import Trade
from cryptoj_tui.sim.tape import DAY_SECONDS, TradeTape

T0 = 1_800_000_000
"""A whole minute in UNIX seconds."""


def trade(n: int, price: str, size: str = "1") -> Trade:
    return Trade(n, D(price), D(size), "maker", "taker", "BUY")


def test_the_day_rolls_trades_older_than_24_hours_out() -> None:
    tape = TradeTape("BTC-USD")
    tape.record([trade(1, "100"), trade(2, "120")], "t", T0)
    tape.record([trade(3, "90", "2")], "t", T0 + 3600)
    day = tape.day(T0 + 3600)
    assert day is not None
    assert (day.open, day.high, day.low, day.last, day.volume) == (D(100), D(120), D(90), D(90), D(4))
    assert day.change_percent == D(-10)
    # A day after the first trades they leave the window; the later one is all that is left.
    later = tape.day(T0 + DAY_SECONDS + 60)
    assert later is not None and (later.open, later.high, later.low, later.volume) == (D(90), D(90), D(90), D(2))
    assert tape.day(T0 + 3600 + DAY_SECONDS + 60) is None


def test_the_current_minute_counts_at_once_though_closed_minutes_are_summed_once_a_minute() -> None:
    tape = TradeTape("BTC-USD")
    tape.record([trade(1, "100")], "t", T0)
    assert tape.day(T0 + 60) is not None  # caches the closed minutes of T0 + 60
    tape.record([trade(2, "150", "3")], "t", T0 + 61)
    day = tape.day(T0 + 70)
    assert day is not None and (day.high, day.last, day.volume) == (D(150), D(150), D(4))


def test_bars_group_minutes_newest_first_and_leave_out_empty_ones() -> None:
    tape = TradeTape("BTC-USD")
    start = T0 - T0 % 300
    tape.record([trade(1, "10")], "t", start)
    tape.record([trade(2, "12")], "t", start + 120)
    tape.record([trade(3, "11", "2")], "t", start + 240)
    tape.record([trade(4, "20")], "t", start + 900)
    five = tape.bars(start, start + 1200, 300)
    assert [(b.start, b.open, b.high, b.low, b.close, b.volume) for b in five] == [
        (start + 900, D(20), D(20), D(20), D(20), D(1)),
        (start, D(10), D(12), D(10), D(11), D(4)),
    ]
    assert [b.start for b in tape.bars(start + 60, start + 900, 60)] == [start + 240, start + 120]
