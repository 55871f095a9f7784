"""Positions, average price and PnL from fills, exactly."""

from __future__ import annotations

from decimal import Decimal as D

from cryptoj_tui.engine.adapters.coinbase.parsing import balances as read_balances
from cryptoj_tui.engine.orders import Fill, OrderSide
from cryptoj_tui.engine.portfolio import Balance, Portfolio, Position


def fill(side: str, size: str, price: str, fee: str = "0") -> Fill:
    return Fill("c", "BTC-USD", OrderSide(side), D(size), D(size) * D(price), D(fee))


def test_adding_averages_and_reducing_realises() -> None:
    position = Position("BTC-USD")
    position.apply(fill("BUY", "1", "100", "0.1"))
    position.apply(fill("BUY", "3", "104", "0.3"))
    assert position.quantity == 4 and position.average_price == D("103")
    position.apply(fill("SELL", "1", "110"))
    assert position.quantity == 3 and position.average_price == D("103") and position.realised == D("7")
    assert position.unrealised(D("100")) == D("-9") and position.fees == D("0.4")


def test_going_through_zero_opens_the_rest_at_the_fill_price() -> None:
    position = Position("BTC-USD")
    position.apply(fill("BUY", "1", "100"))
    position.apply(fill("SELL", "3", "90"))
    assert position.realised == D("-10") and position.quantity == -2 and position.average_price == 90
    assert position.unrealised(D("80")) == D("20")
    position.apply(fill("BUY", "2", "95"))
    assert position.quantity == 0 and position.average_price == 0 and position.realised == D("-20")


def test_pnl_peak_and_day_start() -> None:
    portfolio = Portfolio()
    portfolio.apply(fill("BUY", "1", "100", "1"))
    assert portfolio.pnl({"BTC-USD": D("110")}) == D("9") and portfolio.peak_pnl == 9
    assert portfolio.pnl({"BTC-USD": D("95")}) == D("-6") and portfolio.peak_pnl == 9
    portfolio.start_day({"BTC-USD": D("95")})
    assert portfolio.day_start_pnl == D("-6")
    assert portfolio.pnl({"BTC-USD": None}) == D("-1")  # no mark: nothing unrealised counted


def test_balances_and_malformed_accounts() -> None:
    """The venue's accounts are read by its adapter (one line per account it cannot read); the
    portfolio takes what was read."""
    balances, problems = read_balances(
        [
            {"currency": "USD", "available_balance": {"value": "100.5"}, "hold": {"value": "2"}},
            {"currency": "BTC", "available_balance": {"value": "x"}, "hold": {"value": "0"}},
            {"currency": "ETH"},
        ]
    )
    portfolio = Portfolio()
    portfolio.set_balances(balances)
    assert portfolio.available("USD") == D("100.5") and portfolio.balances["USD"].total == D("102.5")
    assert portfolio.available("BTC") == 0 and len(problems) == 2 and problems[1].startswith("account ETH")


def test_thirds_stay_exact() -> None:
    position = Position("BTC-USD")
    position.apply(Fill("c", "BTC-USD", OrderSide.BUY, D("3"), D("100"), D("0")))  # 33.33... each
    for _ in range(3):
        position.apply(Fill("c", "BTC-USD", OrderSide.SELL, D("1"), D("40"), D("0")))
    assert position.quantity == 0 and position.realised == D("20") and position.cost == 0


def account(currency: str, available: str, hold: str = "0") -> Balance:
    return Balance(currency, D(available), D(hold))


def test_inventory_is_the_balance_beyond_the_positions_traded_here_and_in_no_pnl() -> None:
    portfolio = Portfolio()
    portfolio.set_balances([account("BTC", "2"), account("USD", "1000")])
    assert portfolio.inventory_of("BTC-USD") == D("2") and portfolio.inventory_of("BTC-EUR") == D("2")
    assert portfolio.inventory_of("ETH-USD") == 0
    portfolio.apply(fill("BUY", "0.5", "100"))
    portfolio.set_balances([account("BTC", "2.3", hold="0.2"), account("USD", "950")])  # 0.5 bought, 0.2 held by a sell
    assert portfolio.inventory_of("BTC-USD") == D("2") and portfolio.quantity("BTC-USD") == D("0.5")
    assert portfolio.pnl({"BTC-USD": D("110")}) == D("5")  # the 2 held before, of unknown cost, count nothing
    portfolio.set_balances([account("BTC", "0.1")])  # 2.4 moved out (or sold elsewhere): what is left of it
    assert portfolio.inventory_of("BTC-USD") == D("-0.4")
