"""The tape's order when a product's history arrives after its first live trades."""

from __future__ import annotations

from decimal import Decimal

from cryptoj_tui.engine.model import PublicTrade
from cryptoj_tui.widgets.trades_tape import TradesTape


def trade(trade_id: str, time: float) -> PublicTrade:
    return PublicTrade(trade_id=trade_id, price=Decimal("100"), size=Decimal("1"), side="BUY", time=time)


def test_history_arriving_after_live_trades_goes_beneath_them_and_nothing_twice() -> None:
    tape = TradesTape()
    tape.add((trade("7", 7.0), trade("8", 8.0)))  # live, shown first
    tape.add_history((trade("5", 5.0), trade("6", 6.0), trade("7", 7.0)))  # fetched at the switch
    assert [t.trade_id for t in tape.trades] == ["8", "7", "6", "5"]


def test_history_on_an_empty_tape_reads_newest_first() -> None:
    tape = TradesTape()
    tape.add_history((trade("1", 1.0), trade("2", 2.0)))
    assert [t.trade_id for t in tape.trades] == ["2", "1"]
