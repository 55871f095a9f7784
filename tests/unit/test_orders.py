"""The order request rules and the Order state machine (sans-I/O)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptoj_tui.engine.orders import Order, OrderError, OrderRequest, OrderStatus, VenueOrderUpdate


def request(**overrides: object) -> OrderRequest:
    fields: dict = {"product_id": "BTC-USD", "side": "buy", "type": "limit", "size": "1", "price": "100"}
    fields.update(overrides)
    return OrderRequest(**fields)


def update(status: str, filled: str = "0", value: str = "0", fees: str = "0") -> VenueOrderUpdate:
    return VenueOrderUpdate("v1", "c1", status, D(filled), D(value), D(fees))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"type": "market"}, "a market order takes no price"),
        ({"price": None}, "a limit order needs a limit price"),
        ({"type": "stop_limit"}, "a stop_limit order needs a stop price"),
        ({"stop_price": "1"}, "only stop_limit, take_profit_limit and bracket orders take a stop price"),
        ({"type": "bracket", "stop_price": "90"}, "a buy bracket's stop 90 must be above its take-profit 100"),
        ({"type": "bracket", "side": "sell", "stop_price": "101"}, "a sell bracket's stop 101 must be below"),
        ({"type": "bracket"}, "a bracket order needs a stop price"),
        ({"take_profit": "110", "stop_loss": "95", "type": "ioc"}, "attaches to a limit or market order"),
        ({"take_profit": "110"}, "needs both a take-profit and a stop-loss"),
        ({"take_profit": "99", "stop_loss": "95"}, "price 100 must lie between the bracket's 95 and 99"),
        ({"take_profit": "110", "stop_loss": "-95"}, "stop-loss must be a finite number above 0"),
        ({"side": "sell", "take_profit": "110", "stop_loss": "95"}, "a buy bracket's stop 95 must be above"),
        ({"type": "limit_gtd"}, "needs an end time with a time zone"),
        ({"type": "limit_gtd", "end_time": datetime(2026, 12, 1)}, "needs an end time with a time zone"),
        ({"end_time": datetime(2026, 12, 1, tzinfo=UTC)}, "only limit_gtd orders take an end time"),
        ({"type": "fok", "post_only": True}, "post-only applies to limit and limit_gtd"),
        ({"type": "twap"}, "order type must be one of"),
        ({"size": "0"}, "size must be a finite number above 0"),
        ({"size": "Infinity"}, "size must be a finite number above 0"),
        ({"price": "-5"}, "price must be a finite number above 0"),
        ({"product_id": "BTCUSD"}, "not of the form BASE-QUOTE"),
    ],
)
def test_bad_requests_say_which_field(overrides: dict, message: str) -> None:
    with pytest.raises(OrderError, match=message):
        request(**overrides)


def test_ack_then_partial_then_fill_yields_exact_fills() -> None:
    order = Order("c1", request(size="2"))
    assert order.acknowledged("v1") and order.status is OrderStatus.OPEN
    changed, fill = order.apply(update("OPEN", "0.5", "50", "0.3"))
    assert changed and order.status is OrderStatus.PARTIALLY_FILLED and order.leaves == D("1.5")
    assert fill is not None and (fill.size, fill.price, fill.fee) == (D("0.5"), D("100"), D("0.3"))
    changed, fill = order.apply(update("FILLED", "2", "197.75", "1.2"))
    assert fill is not None and (fill.size, fill.value, fill.price, fill.fee) == (
        D("1.5"),
        D("147.75"),
        D("98.5"),
        D("0.9"),
    )
    assert order.status is OrderStatus.FILLED and order.average_price == D("98.875") and order.leaves == 0


def test_late_duplicate_and_out_of_order_updates_change_nothing() -> None:
    order = Order("c1", request())
    order.apply(update("FILLED", "1", "100"))
    assert order.apply(update("OPEN", "0.5", "50")) == (False, None)  # older news
    assert order.apply(update("FILLED", "1", "100")) == (False, None)  # the same again
    assert order.acknowledged("v1") is False  # the REST ack after the user channel: nothing new
    assert order.status is OrderStatus.FILLED and order.filled_size == 1


def test_a_user_update_before_the_rest_ack_is_enough() -> None:
    order = Order("c1", request())
    changed, _ = order.apply(update("OPEN"))
    assert changed and order.status is OrderStatus.OPEN and order.order_id == "v1"
    assert order.acknowledged("v1") is False


def test_an_ack_with_another_id_is_an_error() -> None:
    order = Order("c1", request())
    order.acknowledged("v1")
    with pytest.raises(OrderError, match="already v1"):
        order.acknowledged("v2")


def test_cancel_pending_then_refused_goes_back() -> None:
    order = Order("c1", request())
    order.acknowledged("v1")
    assert order.cancel_requested() and order.status is OrderStatus.PENDING_CANCEL
    assert not order.cancel_requested()
    order.apply(update("OPEN", "0.2", "20"))  # a fill while the cancel travels keeps PENDING_CANCEL
    assert order.status is OrderStatus.PENDING_CANCEL
    order.cancel_refused()
    assert order.status is OrderStatus.PARTIALLY_FILLED


def test_final_states_are_never_left() -> None:
    order = Order("c1", request())
    assert order.refused(OrderStatus.REJECTED, "no funds")
    assert not order.refused(OrderStatus.FAILED, "again")
    assert not order.cancel_requested()
    order.apply(update("OPEN"))
    assert order.status is OrderStatus.REJECTED and order.reason == "no funds"


def test_venue_failure_carries_its_reason() -> None:
    order = Order("c1", request())
    order.apply(VenueOrderUpdate("v1", "c1", "FAILED", D(0), D(0), D(0), "venue is closed"))
    assert order.status is OrderStatus.FAILED and order.reason == "venue is closed"


@given(st.lists(st.integers(min_value=0, max_value=100), min_size=1, max_size=20))
def test_fills_always_add_up_to_the_last_cumulative_size_whatever_the_order(cumulative: list[int]) -> None:
    order = Order("c1", request(size="100"))
    fills = []
    for filled in cumulative:
        _, fill = order.apply(update("OPEN", str(filled), str(filled * 100)))
        if fill is not None:
            fills.append(fill)
    assert sum(f.size for f in fills) == order.filled_size == max(cumulative)
    assert all(f.price == 100 for f in fills)
