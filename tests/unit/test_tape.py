"""The engine's trade tape: each trade once, candles exact, memory bounded."""

from __future__ import annotations

import time
from decimal import Decimal as D

from cryptoj_tui.engine.book import LevelChange
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import MarketStale, TradesPrinted
from cryptoj_tui.engine.market_data import MarketData
from cryptoj_tui.engine.model import PublicTrade, Side
from cryptoj_tui.engine.tape import TAPE_LENGTH, CandleSeries, TradeTape


def trade(n: int, price: str, size: str = "1", t: float = 0.0) -> PublicTrade:
    return PublicTrade(trade_id=str(n), price=D(price), size=D(size), side="BUY", time=t)


def test_replayed_trades_are_counted_once() -> None:
    tape = TradeTape()
    assert [t.trade_id for t in tape.add([trade(1, "10"), trade(2, "11")])] == ["1", "2"]
    assert [t.trade_id for t in tape.add([trade(2, "11"), trade(3, "12")])] == ["3"]
    assert [t.trade_id for t in tape.trades] == ["3", "2", "1"] and tape.duplicates == 1
    assert tape.last == trade(3, "12")
    assert tape.candles[60].latest(1)[0].volume == D(3)


def test_candles_are_exact_ohlcv_per_window() -> None:
    series = CandleSeries(60)
    for price, size, t in [
        ("10", "1", 120.5),
        ("12", "2", 150),
        ("9", "0.5", 179.9),
        ("11", "1", 180),
        ("8", "1", 130),
    ]:
        series.add(D(price), D(size), t)
    first, second = series.latest(2)
    assert (first.start, first.open, first.high, first.low, first.close, first.volume) == (
        120,
        D(10),
        D(12),
        D(8),
        D(8),
        D("4.5"),
    )
    assert (second.start, second.open, second.close, second.volume) == (180, D(11), D(11), D(1))
    series.add(D(7), D(1), 60)  # a late trade for an older window keeps the bars in time order
    assert [c.start for c in series.latest(3)] == [60, 120, 180]


def test_tape_and_candles_stay_bounded() -> None:
    tape = TradeTape()
    tape.add([trade(n, "1", t=float(n)) for n in range(TAPE_LENGTH * 3)])
    assert len(tape.trades) == TAPE_LENGTH
    assert len(tape.candles[1].bars) == 600


async def test_staleness_is_reported_once_and_cleared_by_the_next_update() -> None:
    bus = EventBus()
    events = bus.subscribe()
    market = MarketData(bus)
    market.track("BTC-USD")
    market.on_snapshot("BTC-USD", [LevelChange(Side.BID, D(1), D(1)), LevelChange(Side.ASK, D(2), D(1))], 0)
    market.on_trades("BTC-USD", [trade(1, "1.5")])
    market.on_trades("ETH-USD", [trade(1, "1.5")])  # not tracked: ignored
    received = [events.get_nowait() for _ in range(2)]
    assert isinstance(received[1], TradesPrinted) and received[1].trades == (trade(1, "1.5"),)
    now = time.monotonic()
    market.check_staleness(5.0, now=now + 1)
    assert events.get_nowait() is None
    market.check_staleness(5.0, now=now + 6)
    market.check_staleness(5.0, now=now + 7)
    stale = events.get_nowait()
    assert isinstance(stale, MarketStale) and stale.stale and stale.age >= 5
    assert events.get_nowait() is None and market.is_stale("BTC-USD")
    market.on_update("BTC-USD", [LevelChange(Side.BID, D(1), D(3))], 1)
    fresh = [events.get_nowait(), events.get_nowait()]
    assert MarketStale(product_id="BTC-USD", stale=False, age=0.0) in fresh
    assert not market.is_stale("BTC-USD")
