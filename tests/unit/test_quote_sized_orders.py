"""Market orders sized in the quote currency ("buy 100 USD worth"): the request, its risk checks
(its notional exact, its base size estimated at mid), what it leaves working, and the journal."""

from __future__ import annotations

import dataclasses
from decimal import Decimal as D

import pytest

from cryptoj_tui.engine.journal import Journal
from cryptoj_tui.engine.orders import Order, OrderError, OrderRequest, OrderStatus, VenueOrderUpdate
from cryptoj_tui.engine.risk import ProductRules, RiskContext, RiskLimits, RiskManager, TradingState
from tests.unit.test_risk import CONTEXT as RISK_CONTEXT

RULES = ProductRules(D("0.01"), D("0.001"), D("0.001"), D("1000"), min_notional=D("1"), quote_increment=D("0.01"))
CONTEXT = dataclasses.replace(RISK_CONTEXT, available_quote=D("1000"), rules=RULES)


def spend(amount: str, side: str = "buy") -> OrderRequest:
    return OrderRequest.parse("BTC-USD", side, "market", amount, in_quote=True)


def check(request: OrderRequest, context: RiskContext = CONTEXT, **limits: object) -> str | None:
    return RiskManager(RiskLimits(**limits)).check(request, context).refusal  # type: ignore[arg-type]


def test_a_quote_sized_request_knows_its_worth_and_its_base_size_at_a_price() -> None:
    request = spend("150")
    assert request.in_quote and request.notional == D("150") and request.quote_currency == "USD"
    assert request.base_size_at(D("100")) == D("1.5")
    assert request.size_text == "150 USD worth"
    assert OrderRequest.parse("BTC-USD", "buy", "market", "0.5").size_text == "0.5"


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"type": "limit", "price": "100"}, "only a market order is sized in the quote currency, not limit"),
        ({"take_profit": "120", "stop_loss": "80"}, "a bracket attaches to an entry sized in the base currency"),
        ({"in_quote": "yes"}, "in_quote must be true or false, got 'yes'"),
        ({"size": "-5"}, "size must be a finite number above 0"),
    ],
)
def test_a_quote_size_only_goes_with_a_plain_market_order(details: dict, message: str) -> None:
    fields = {"product_id": "BTC-USD", "side": "buy", "type": "market", "size": "100", "in_quote": True, **details}
    with pytest.raises(OrderError, match=message):
        OrderRequest.parse(**fields)  # type: ignore[arg-type]


def test_a_quote_buy_passes_and_its_worth_is_checked_exactly() -> None:
    assert check(spend("150")) is None
    assert check(spend("150"), max_order_notional="149.99") == ("notional 150.00 is over the max order notional 149.99")
    # Its fee comes out of the amount: 1000 available buys 1000 worth, not a cent more.
    assert check(spend("1000"), max_order_size="20") is None
    assert (
        check(spend("1000.01"), max_order_size="20", max_position="20")
        == "buy 1000.01 USD worth but only 1000 is available"
    )


def test_its_base_size_is_estimated_at_mid_for_the_size_position_and_reducing_checks() -> None:
    assert check(spend("600"), max_order_size="5") == (
        "size 600 USD worth (about 6.00000000 at mid) is over the max order size 5"
    )
    assert check(spend("600"), max_order_size="20", max_position="5.5") == (
        "position would reach 6 (with working orders), over the max position 5.5"
    )
    long = dataclasses.replace(CONTEXT, position=D("2"))
    reducing = RiskManager(RiskLimits(), state=TradingState.REDUCING)
    # 1.5 at mid would shrink the long, but the bids may pay less and sell more: only base sizes.
    assert reducing.check(spend("150", "sell"), long).refusal == (
        "trading is REDUCING: size the order in the base currency, so that it cannot overshoot"
    )
    assert reducing.check(OrderRequest.parse("BTC-USD", "sell", "market", "1.5"), long).ok
    assert (
        check(spend("1100", "sell"), max_order_size="20", max_position="20")
        == "sell 1100 USD worth but only 10 available"
    )


def test_without_a_mid_its_base_size_is_unknown_and_it_is_refused() -> None:
    blind = dataclasses.replace(CONTEXT, mid=None)
    assert check(spend("150"), blind) == ("no market price for BTC-USD (book not live): cannot size the order in base")


def test_the_venue_rules_apply_to_the_amount() -> None:
    assert check(spend("150.005")) == "size 150.005 USD worth is not a multiple of the quote increment 0.01"
    assert check(spend("0.5")) == "worth 0.5 is under the venue's minimum order value 1"
    coinbase = RiskContext(
        **{**CONTEXT.__dict__, "rules": ProductRules(**{**RULES.__dict__, "quote_sized_sells": False})}
    )
    assert check(spend("150", "sell"), coinbase) == "the venue sizes a market sell in the base currency only"
    assert check(spend("150", "buy"), coinbase) is None


def test_it_leaves_its_estimated_base_size_working_and_overfills_only_past_its_amount() -> None:
    order = Order("c1", spend("150"), base_estimate=D("1.5"))
    order.acknowledged("v1")
    assert order.leaves == D("1.5")
    order.apply(VenueOrderUpdate("v1", "c1", "OPEN", D("1"), D("99"), D("0.5")))
    assert order.leaves == D("0.5")
    assert not order.request.overfilled_by(D("1.6"), D("149.5"))  # a cheaper fill buys more base
    assert order.request.overfilled_by(D("1.4"), D("150.01"))
    order.apply(VenueOrderUpdate("v1", "c1", "FILLED", D("1.49"), D("149"), D("0.9")))
    assert order.status is OrderStatus.FILLED and order.leaves == 0
    assert Order("c2", spend("150")).leaves == 0  # no estimate (one the venue placed): nothing counted
    assert order.snapshot()["in_quote"] is True


def test_the_journal_keeps_that_the_size_is_in_quote() -> None:
    journal = Journal(":memory:")
    order = Order("c1", spend("150"))
    journal.record_intent(order)
    (record,) = journal.orders()
    assert record.request == order.request and record.request.in_quote
