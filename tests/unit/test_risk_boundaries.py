"""Each risk check exactly at its limit and one step past it (found by the mutation check:
`make mutation`). At the limit is allowed; past it is refused."""

from __future__ import annotations

from dataclasses import replace
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
    available_quote=D("1000000"),
    rules=ProductRules(D("0.01"), D("0.001"), D("0.01"), D("50")),
)


def order(side: str = "buy", size: str = "1", price: str | None = "99") -> OrderRequest:
    return OrderRequest("BTC-USD", side, "limit" if price else "market", size, price=price)


def refusal(limits: RiskLimits, request: OrderRequest, context: RiskContext = CONTEXT) -> str | None:
    return RiskManager(limits).check(request, context).refusal


@pytest.mark.parametrize(
    ("at", "past", "message"),
    [
        ("0.01", "0.009", "outside the venue's 0.01..50"),
        ("50", "50.001", "outside the venue's 0.01..50"),
    ],
)
def test_venue_size_bounds(at: str, past: str, message: str) -> None:
    limits = RiskLimits(max_order_size=D("100"), max_position=D("100"))
    assert refusal(limits, order(size=at, price="10")) is None
    assert message in (refusal(limits, order(size=past, price="10")) or "")


def test_max_order_size() -> None:
    limits = RiskLimits(max_order_size=D("2"))
    assert refusal(limits, order(size="2")) is None
    assert "over the max order size 2" in (refusal(limits, order(size="2.001")) or "")


def test_price_collar_and_which_side_is_aggressive() -> None:
    limits = RiskLimits(price_collar_pct=D("5"))
    assert refusal(limits, order(price="105")) is None  # exactly 5 % through mid
    assert "5.01% through mid" in (refusal(limits, order(price="105.01")) or "")
    assert refusal(limits, order(side="sell", price="95")) is None
    assert "through mid" in (refusal(limits, order(side="sell", price="94.99")) or "")
    assert refusal(limits, order(side="sell", price="200")) is None  # passive: far is harmless


def test_max_notional() -> None:
    limits = RiskLimits(max_order_notional=D("200"))
    assert refusal(limits, order(size="2", price="100")) is None
    assert "over the max order notional 200" in (refusal(limits, order(size="2", price="100.01")) or "")


def test_max_position_counts_what_is_working_and_allows_what_reduces() -> None:
    limits = RiskLimits(max_position=D("3"))
    working = replace(CONTEXT, position=D("1"), working_same_side=D("1"))
    assert refusal(limits, order(size="1"), working) is None  # 1 + 1 + 1 = 3
    assert "position would reach 3.001" in (refusal(limits, order(size="1.001"), working) or "")
    over = replace(CONTEXT, position=D("-5"))
    assert refusal(limits, order(size="1"), over) is None  # short 5, buying 1 shrinks it


def test_max_open_orders() -> None:
    limits = RiskLimits(max_open_orders=3)
    assert refusal(limits, order(), replace(CONTEXT, open_orders=2)) is None
    assert "3 orders already open" in (refusal(limits, order(), replace(CONTEXT, open_orders=3)) or "")


def test_the_rate_window_is_one_second_inclusive() -> None:
    now = [5.0]
    risk = RiskManager(RiskLimits(max_orders_per_second=1), clock=lambda: now[0])
    risk.record_sent()
    now[0] = 6.0  # exactly a second later: still inside the window
    assert risk.orders_last_second() == 1
    assert "order rate over 1" in (risk.check(order(), CONTEXT).refusal or "")
    now[0] = 6.001
    assert risk.orders_last_second() == 0
    assert risk.check(order(), CONTEXT).ok


def test_a_sell_may_use_all_the_base_and_no_more() -> None:
    limits = RiskLimits(max_order_size=D("100"), max_position=D("100"))
    assert refusal(limits, order(side="sell", size="10", price="101")) is None
    assert "sell 10.001 but only 10 available" in (
        refusal(limits, order(side="sell", size="10.001", price="101")) or ""
    )


def test_a_buy_pays_for_the_estimated_fee_too() -> None:
    limits = RiskLimits(fee_estimate_bps=D("100"))  # 1 %
    # 1 x 100 plus 1 % = 101.00: exactly the cash there is.
    assert refusal(limits, order(size="1", price="100"), replace(CONTEXT, available_quote=D("101"))) is None
    assert "buy costs about 101.00 with fees but only 100.99" in (
        refusal(limits, order(size="1", price="100"), replace(CONTEXT, available_quote=D("100.99"))) or ""
    )


def test_reducing_allows_closing_exactly_the_whole_position_and_not_more() -> None:
    risk = RiskManager(RiskLimits())
    risk.set_state(TradingState.REDUCING, "test")
    long = replace(CONTEXT, position=D("2"))
    assert risk.check(order(side="sell", size="2", price="101"), long).ok
    assert "REDUCING" in (risk.check(order(side="sell", size="2.001", price="101"), long).refusal or "")
    assert "REDUCING" in (risk.check(order(side="sell", size="1", price="101"), CONTEXT).refusal or "")  # flat


@pytest.mark.parametrize("value", ["Infinity", "NaN", "-Infinity", "0"])
def test_a_limit_must_be_finite_and_positive(value: str) -> None:
    with pytest.raises(ValueError, match="max_order_size"):
        RiskLimits(max_order_size=value)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, [1], None])
def test_a_limit_that_is_not_a_number_is_refused_by_name(value: object) -> None:
    with pytest.raises(ValueError, match=r"risk limit max_open_orders: .* is not a number"):
        RiskLimits(max_open_orders=value)  # type: ignore[arg-type]


def test_an_order_that_flips_the_position_to_the_same_size_is_not_growing_it() -> None:
    """Long 1 with a max of 0.5 (limits lowered while long): selling 2 leaves short 1, no bigger
    than before, so it is allowed; selling 2.01 would grow it, so it is not."""
    limits = RiskLimits(max_position=D("0.5"))
    long = replace(CONTEXT, position=D("1"))
    assert refusal(limits, order(side="sell", size="2", price="101"), long) is None
    assert "position would reach -1.01" in (refusal(limits, order(side="sell", size="2.01", price="101"), long) or "")


def test_the_fee_estimate_is_exact() -> None:
    limits = RiskLimits(fee_estimate_bps=D("100"))
    assert "buy costs about 101.00" in (
        refusal(limits, order(size="1", price="100"), replace(CONTEXT, available_quote=D("100.99995"))) or ""
    )


def test_limits_checks_and_contexts_cannot_be_changed_in_place() -> None:
    import dataclasses

    from cryptoj_tui.engine.emergency import KillReport
    from cryptoj_tui.engine.risk import CheckResult

    for frozen, name in [
        (RiskLimits(), "max_order_size"),
        (CONTEXT, "mid"),
        (CONTEXT.rules, "base_increment"),
        (CheckResult((), None), "refusal"),
        (KillReport("r", (), (), (), 0.0, 0.0), "reason"),
    ]:
        with pytest.raises(dataclasses.FrozenInstanceError):
            setattr(frozen, name, 1)
