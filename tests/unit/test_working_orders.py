"""The working orders' running totals against a fresh count, through every kind of change."""

from __future__ import annotations

from decimal import Decimal as D

from hypothesis import given
from hypothesis import strategies as st

from cryptoj_tui.engine.orders import Order, OrderRequest, OrderSide, OrderStatus, VenueOrderUpdate
from cryptoj_tui.engine.working import WorkingOrders


def order(number: int, product_id: str, side: str, size: str) -> Order:
    request = OrderRequest(product_id=product_id, side=side, type="limit", size=size, price="100")
    return Order(client_order_id=f"c{number}", request=request)


def fresh_leaves(orders: list[Order], product_id: str, side: OrderSide) -> D:
    return sum(
        (o.leaves for o in orders if o.status.is_working and o.product_id == product_id and o.side is side), D(0)
    )


def test_an_order_counts_while_working_and_stops_when_done() -> None:
    working = WorkingOrders()
    buy = order(1, "BTC-USD", "buy", "2")
    working.update(buy)
    assert (len(working), working.leaves("BTC-USD", OrderSide.BUY)) == (1, D(2))
    assert working.leaves("BTC-USD", OrderSide.SELL) == 0
    buy.acknowledged("v1")
    buy.apply(VenueOrderUpdate("v1", "c1", "OPEN", D("0.5"), D(50), D(0)))
    working.update(buy)
    assert working.leaves("BTC-USD", OrderSide.BUY) == D("1.5")
    buy.apply(VenueOrderUpdate("v1", "c1", "CANCELLED", D("0.5"), D(50), D(0)))
    working.update(buy)
    assert (len(working), working.leaves("BTC-USD", OrderSide.BUY), working.orders()) == (0, 0, [])
    assert working.is_consistent()


def test_an_order_changed_without_update_is_caught() -> None:
    working = WorkingOrders()
    buy = order(1, "BTC-USD", "buy", "2")
    working.update(buy)
    buy.acknowledged("v1")
    buy.apply(VenueOrderUpdate("v1", "c1", "OPEN", D(1), D(100), D(0)))
    assert not working.is_consistent()


change = st.tuples(
    st.integers(0, 7),
    st.sampled_from(["fill", "ack", "cancel", "reject", "cancel_request", "cancel_refused"]),
    st.integers(1, 10),
)


@given(
    st.lists(
        st.tuples(st.sampled_from(["BTC-USD", "ETH-USD"]), st.sampled_from(["buy", "sell"]), st.integers(1, 20)),
        min_size=1,
        max_size=8,
    ),
    st.lists(change, max_size=40),
)
def test_totals_equal_a_fresh_count_after_any_changes(placed: list[tuple[str, str, int]], changes: list) -> None:
    working = WorkingOrders()
    orders = [order(n, product, side, f"{size}.5") for n, (product, side, size) in enumerate(placed)]
    for each in orders:
        working.update(each)
    for index, kind, tenths in changes:
        target = orders[index % len(orders)]
        venue_id = f"v{target.client_order_id}"
        if kind == "ack":
            target.acknowledged(venue_id)
        elif kind == "fill":
            filled = min(target.filled_size + D(tenths) / 10, target.request.size)
            target.apply(
                VenueOrderUpdate(
                    venue_id,
                    target.client_order_id,
                    "FILLED" if filled == target.request.size else "OPEN",
                    filled,
                    filled * 100,
                    D(0),
                )
            )
        elif kind == "cancel":
            target.apply(
                VenueOrderUpdate(
                    venue_id, target.client_order_id, "CANCELLED", target.filled_size, target.filled_value, D(0)
                )
            )
        elif kind == "reject":
            target.refused(OrderStatus.REJECTED, "no")
        elif kind == "cancel_request":
            target.cancel_requested()
        else:
            target.cancel_refused()
        working.update(target)
        assert working.is_consistent()
    assert len(working) == sum(o.status.is_working for o in orders)
    for product in ("BTC-USD", "ETH-USD"):
        for side in OrderSide:
            assert working.leaves(product, side) == fresh_leaves(orders, product, side)
    assert working.orders("ETH-USD", OrderSide.SELL) == [
        o for o in orders if o.status.is_working and o.product_id == "ETH-USD" and o.side is OrderSide.SELL
    ]
