"""Issue 25.1: extreme numbers never crash an order's way out; each is refused with a reason.

`size % base_increment` raised decimal.InvalidOperation for 1e30 (the ticket crashed the console,
headless lost every later command). Requests bound their numbers when made; the risk checks
work in a precision that covers every bounded number against any venue increment.
"""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptoj_tui.engine.orders import OrderError, OrderRequest
from cryptoj_tui.engine.risk import ProductRules, RiskContext, RiskLimits, RiskManager

CONTEXT = RiskContext(
    mid=D("65000"),
    position=D("0"),
    working_same_side=D("0"),
    open_orders=0,
    available_base=D("10"),
    available_quote=D("1000000"),
    rules=ProductRules(D("0.01"), D("0.00000001"), D("0.00000001"), D("3400")),
)


@pytest.mark.parametrize(
    ("size", "message"),
    [
        ("1e30", "size 1E+30 is too large: a venue takes numbers under 10^15"),
        ("1e308", "size 1E+308 is too large: a venue takes numbers under 10^15"),
        ("1e-30", "size 1E-30 has more than 18 decimal places"),
        ("1e999999", "size 1E+999999 is too large: a venue takes numbers under 10^15"),
    ],
)
def test_an_absurd_size_is_an_order_error_naming_it(size: str, message: str) -> None:
    with pytest.raises(OrderError) as refused:
        OrderRequest("BTC-USD", "buy", "limit", size, price="65000")
    assert str(refused.value) == message


def test_an_absurd_price_or_stop_is_an_order_error() -> None:
    with pytest.raises(OrderError, match=r"^price 1E\+26 is too large"):
        OrderRequest("BTC-USD", "buy", "limit", "1", price="1e26")
    with pytest.raises(OrderError, match=r"^stop price 1E\+20 is too large"):
        OrderRequest("BTC-USD", "buy", "stop_limit", "1", price="1", stop_price="1e20")


def test_the_largest_bounded_numbers_against_the_finest_increment_are_checked_not_raised() -> None:
    rules = ProductRules(D("1E-18"), D("1E-18"), D("1E-18"), D("1E+16"))
    context = RiskContext(
        mid=D("1"),
        position=D("0"),
        working_same_side=D("0"),
        open_orders=0,
        available_base=D("1E+16"),
        available_quote=D("1E+40"),
        rules=rules,
    )
    request = OrderRequest("BTC-USD", "buy", "limit", "999999999999999.999999999999999999", price="1")
    limits = RiskLimits(
        max_order_size=D("1E+16"),
        max_order_notional=D("1E+40"),
        max_position=D("1E+16"),
        price_collar_pct=D("1E+20"),
        max_gross_notional=D("1E+40"),
    )
    assert RiskManager(limits).check(request, context).refusal is None


finite = st.decimals(allow_nan=False, allow_infinity=False)
numbers = st.one_of(
    finite,
    st.sampled_from(
        [
            D("1e308"),
            D("-1e308"),
            D("1e-308"),
            D("0"),
            D("-0"),
            D("1e15"),
            D("999999999999999.999999999999999999"),
            D("11688375833.076922992956177573835"),  # 11 + 21 digits: cut to 18 places, past 28 digits
        ]
    ),
)
increments = st.sampled_from([D("1"), D("0.01"), D("0.00000001"), D("1E-18"), D("0.5"), D("1000")])


@settings(max_examples=300, deadline=None)
@given(size=numbers, price=numbers, base=increments, quote=increments)
def test_any_decimal_either_makes_a_request_the_checks_answer_or_an_order_error(
    size: D, price: D, base: D, quote: D
) -> None:
    try:
        request = OrderRequest("BTC-USD", "buy", "limit", size, price=price)
    except OrderError as exc:
        assert str(exc).startswith(("size ", "price ")) and "\n" not in str(exc)
        return
    context = RiskContext(
        mid=D("65000"),
        position=D("0"),
        working_same_side=D("0"),
        open_orders=0,
        available_base=D("10"),
        available_quote=D("1000000"),
        rules=ProductRules(quote, base, base, D("1E+15")),
    )
    result = RiskManager(RiskLimits()).check(request, context)
    assert result.ok or (result.refusal is not None and "\n" not in result.refusal)


def test_an_increment_no_venue_would_give_refuses_rather_than_raises() -> None:
    rules = ProductRules(D("1E-90"), D("1E-90"), D("1E-90"), D("1E+14"))
    context = RiskContext(
        mid=D("65000"),
        position=D("0"),
        working_same_side=D("0"),
        open_orders=0,
        available_base=D("1E+14"),
        available_quote=D("1E+30"),
        rules=rules,
    )
    request = OrderRequest("BTC-USD", "sell", "limit", "1E+14", price="65000")
    assert RiskManager(RiskLimits(max_order_size=D("1E+15"))).check(request, context).refusal == (
        "size 100000000000000 cannot be checked against the venue's increments (1E-90, 1E-90)"
    )
