"""Risk limits and checks (sans-I/O)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from cryptoj_tui.engine.orders import OrderRequest
from cryptoj_tui.engine.risk import ProductRules, RiskContext, RiskLimits, RiskManager, TradingState

CONTEXT = RiskContext(
    mid=D("100"),
    position=D("0"),
    working_same_side=D("0"),
    open_orders=0,
    available_base=D("10"),
    available_quote=D("100000"),
    rules=ProductRules(D("0.01"), D("0.001"), D("0.001"), D("1000")),
)


def buy(size: str = "1", price: str | None = "99", kind: str = "limit") -> OrderRequest:
    return OrderRequest("BTC-USD", "buy", kind, size, price=price)


def test_a_good_order_passes_every_check_and_says_which() -> None:
    result = RiskManager(RiskLimits()).check(buy(), CONTEXT)
    assert result.ok and result.passed == (
        "trading state",
        "increments",
        "order size",
        "price collar",
        "notional",
        "position",
        "gross notional",
        "open orders",
        "order rate",
        "balance",
    )


def test_a_passive_price_far_from_mid_is_not_a_fat_finger_but_an_aggressive_one_is() -> None:
    risk = RiskManager(RiskLimits(price_collar_pct=D("5")))
    assert risk.check(buy(price="50"), CONTEXT).ok
    assert risk.check(buy(price="106"), CONTEXT).refusal == "price 106 is 6.00% through mid 100 (collar 5%)"


def test_market_orders_need_a_mid() -> None:
    risk = RiskManager(RiskLimits())
    no_mid = RiskContext(**{**CONTEXT.__dict__, "mid": None})
    assert "no market price for BTC-USD" in (risk.check(buy(price=None, kind="market"), no_mid).refusal or "")


def test_position_counts_working_orders_but_reducing_is_always_allowed() -> None:
    risk = RiskManager(RiskLimits(max_position=D("2")))
    busy = RiskContext(**{**CONTEXT.__dict__, "working_same_side": D("1.5")})
    assert "position would reach 2.5" in (risk.check(buy("1"), busy).refusal or "")
    long = RiskContext(**{**CONTEXT.__dict__, "position": D("5")})
    sell = OrderRequest("BTC-USD", "sell", "limit", "1", price="101")
    assert risk.check(sell, long).ok


def test_halted_and_reducing_states() -> None:
    risk = RiskManager(RiskLimits())
    risk.set_state(TradingState.HALTED, "manual")
    assert risk.check(buy(), CONTEXT).refusal == "trading is HALTED (manual); re-arm first"
    risk.set_state(TradingState.REDUCING, "loss warning")
    assert "REDUCING" in (risk.check(buy(), CONTEXT).refusal or "")


def test_the_rate_throttle_uses_its_clock() -> None:
    now = [0.0]
    risk = RiskManager(RiskLimits(max_orders_per_second=2), clock=lambda: now[0])
    risk.record_sent()
    risk.record_sent()
    assert "order rate over 2" in (risk.check(buy(), CONTEXT).refusal or "")
    now[0] = 1.5
    assert risk.check(buy(), CONTEXT).ok


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("max_order_size", "-1", "must be a positive number"),
        ("max_order_size", "lots", "is not a number"),
        ("max_open_orders", "1.5", "is not a number"),
        ("leverage", "3", "unknown risk limit 'leverage'"),
    ],
)
def test_limits_refuse_bad_values_by_name(name: str, value: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        RiskLimits().replace(name, value)


def test_limits_can_be_given_as_text() -> None:
    assert RiskLimits(max_order_size="2.5").max_order_size == D("2.5")  # type: ignore[arg-type]
    assert RiskLimits().replace("max_open_orders", "7").max_open_orders == 7
    with pytest.raises(ValueError, match="risk limit stale_halt_after must be a positive number"):
        RiskLimits(stale_halt_after=0)


def test_a_products_own_limits_win_for_it_and_the_accounts_hold_for_the_others() -> None:
    """Issue 22: 10 BTC and 10 of a coin worth a cent were the same limit."""
    limits = RiskLimits(max_order_size=D("5"), max_position=D("10")).replace("max_position", "2", "BTC-USD")
    limits = limits.replace("max_order_size", "50000", "DOGE-USD")
    risk = RiskManager(limits)
    assert risk.check(buy("1.5"), CONTEXT).ok
    assert risk.check(buy("2.5"), CONTEXT).refusal == (
        "position would reach 2.5 (with working orders), over the max position 2 of BTC-USD"
    )
    doge = OrderRequest("DOGE-USD", "buy", "limit", "20000", price="0.1")
    doge_context = RiskContext(D("0.1"), D(0), D(0), 0, D(0), D(100000))
    assert risk.check(doge, doge_context).refusal == (
        "position would reach 20000 (with working orders), over the max position 10"
    )
    assert risk.check(OrderRequest("ETH-USD", "buy", "limit", "6", price="99"), CONTEXT).refusal == (
        "size 6 is over the max order size 5"
    )
    assert limits.max_order_size_of("DOGE-USD") == D("50000") and limits.max_position_of("DOGE-USD") == D("10")
    with pytest.raises(ValueError, match=r"its own max_order_size and max_position only, not .reject_storm."):
        limits.replace("reject_storm", "3", "BTC-USD")
    with pytest.raises(ValueError, match="risk limit max_position must be a positive number, got -1"):
        limits.replace("max_position", "-1", "BTC-USD")
    with pytest.raises(ValueError, match="not of the form BASE-QUOTE"):
        limits.replace("max_position", "1", "BTCUSD")


def test_gross_notional_bounds_the_account_and_an_order_that_shrinks_it_passes() -> None:
    risk = RiskManager(RiskLimits(max_gross_notional=D("1000")))
    near = RiskContext(D("100"), D("5"), D(0), 0, D("10"), D("100000"), gross_notional=D("950"))
    assert risk.check(buy("0.4", "99"), near).ok
    assert risk.check(buy("1", "99"), near).refusal == (
        "gross notional would reach 1049.00 USD (positions and working orders at mid), over the max gross notional 1000"
    )
    sell = OrderRequest("BTC-USD", "sell", "limit", "3", price="101")
    assert risk.check(sell, near).ok  # long 5: selling 3 makes the exposure smaller
