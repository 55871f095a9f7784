"""The paper venue's matching: price-time priority, partial fills, validation, invariants."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptoj_tui.sim.matching import MatchingBook, OrderRejected
from cryptoj_tui.sim.products import PRODUCTS

BTC = PRODUCTS["BTC-USD"]


def test_resting_orders_aggregate_into_levels_and_report_changes() -> None:
    book = MatchingBook(BTC)
    book.submit_limit("b1", "BUY", D("100.00"), D("1"))
    book.submit_limit("b2", "BUY", D("100.00"), D("2"))
    book.submit_limit("a1", "SELL", D("101.00"), D("0.5"))
    assert book.levels("bid") == [(D("100"), D("3"))]
    assert book.levels("offer") == [(D("101"), D("0.5"))]
    assert book.take_changes() == [("bid", D("100"), D("3")), ("offer", D("101"), D("0.5"))]
    assert book.take_changes() == []


def test_the_top_of_a_side_is_its_first_level() -> None:
    book = MatchingBook(BTC)
    assert book.top("bid") is None and book.top("offer") is None
    for order_id, side, price, size in (
        ("b1", "BUY", "99", "1"),
        ("b2", "BUY", "100", "2"),
        ("a1", "SELL", "101", "3"),
    ):
        book.submit_limit(order_id, side, D(price), D(size))
    assert book.top("bid") == book.levels("bid")[0] == (D("100"), D("2"))
    assert book.top("offer") == book.levels("offer")[0] == (D("101"), D("3"))


def test_incoming_order_trades_oldest_first_at_the_resting_price() -> None:
    book = MatchingBook(BTC)
    book.submit_limit("a1", "SELL", D("101.00"), D("1"))
    book.submit_limit("a2", "SELL", D("101.00"), D("1"))
    book.submit_limit("a3", "SELL", D("102.00"), D("1"))
    book.take_changes()
    trades = book.submit_limit("t", "BUY", D("105.00"), D("1.5"))
    assert [(t.maker_order_id, t.price, t.size, t.maker_side) for t in trades] == [
        ("a1", D("101"), D("1"), "SELL"),
        ("a2", D("101"), D("0.5"), "SELL"),
    ]
    assert book.order("a2").remaining == D("0.5")  # type: ignore[union-attr]
    assert book.order("a1") is None and book.order("t") is None
    assert book.take_changes() == [("offer", D("101"), D("0.5"))]


def test_limit_remainder_rests_and_market_remainder_is_dropped() -> None:
    book = MatchingBook(BTC)
    book.submit_limit("a1", "SELL", D("101.00"), D("1"))
    book.submit_limit("t", "BUY", D("101.00"), D("3"))
    assert book.levels("bid") == [(D("101"), D("2"))] and book.levels("offer") == []
    trades = book.submit_market("m", "SELL", D("5"))
    assert sum(t.size for t in trades) == D("2")
    assert book.levels("bid") == [] and book.order("m") is None


def test_cancel_removes_a_resting_order_once() -> None:
    book = MatchingBook(BTC)
    book.submit_limit("b1", "BUY", D("100.00"), D("1"))
    book.take_changes()
    assert book.cancel("b1") is not None
    assert book.cancel("b1") is None
    assert book.take_changes() == [("bid", D("100"), D("0"))]


@pytest.mark.parametrize(
    ("side", "price", "size", "error"),
    [
        ("BUY", D("100.001"), D("1"), "INVALID_PRICE_PRECISION"),
        ("BUY", D("-1"), D("1"), "INVALID_LIMIT_PRICE"),
        ("BUY", D("100"), D("0"), "INVALID_SIZE"),
        ("BUY", D("100"), D("-1"), "INVALID_SIZE"),
        ("BUY", D("100"), D("0.000000001"), "INVALID_SIZE_PRECISION"),
        ("BUY", D("100"), D("999999"), "INVALID_SIZE"),
        ("SIDEWAYS", D("100"), D("1"), "INVALID_SIDE"),
        ("BUY", D("NaN"), D("1"), "INVALID_LIMIT_PRICE"),
    ],
)
def test_bad_orders_are_rejected_with_the_venue_error_name(side: str, price: D, size: D, error: str) -> None:
    book = MatchingBook(BTC)
    with pytest.raises(OrderRejected) as info:
        book.submit_limit("x", side, price, size)  # type: ignore[arg-type]
    assert info.value.error == error
    assert book.levels("bid") == [] and book.take_changes() == []


order = st.tuples(
    st.sampled_from(["BUY", "SELL"]),
    st.integers(min_value=9_900, max_value=10_100).map(lambda t: D(t) / 100),
    st.integers(min_value=1, max_value=500).map(lambda n: D(n) / 100),
    st.booleans(),
)


@settings(max_examples=150)
@given(orders=st.lists(order, max_size=60), cancels=st.lists(st.integers(0, 59), max_size=20))
def test_book_never_crosses_volume_is_conserved_and_nothing_overfills(orders: list, cancels: list[int]) -> None:
    book = MatchingBook(BTC)
    submitted: dict[str, D] = {}
    filled: dict[str, D] = {}
    cancelled: dict[str, D] = {}
    for n, (side, price, size, is_market) in enumerate(orders):
        order_id = f"o{n}"
        submitted[order_id] = size
        bid_before, ask_before = book.best_bid(), book.best_ask()
        trades = (
            book.submit_market(order_id, side, size) if is_market else book.submit_limit(order_id, side, price, size)
        )
        best_before = ask_before if side == "BUY" else bid_before
        for trade in trades:
            for party in (trade.maker_order_id, trade.taker_order_id):
                filled[party] = filled.get(party, D(0)) + trade.size
        prices = [t.price for t in trades]
        if prices:
            # Best price first, never through the limit, walking away from the inside.
            assert prices[0] == best_before
            assert prices == sorted(prices, reverse=(side == "SELL"))
            if not is_market:
                assert all(p <= price for p in prices) if side == "BUY" else all(p >= price for p in prices)
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask
    for n in cancels:
        resting = book.cancel(f"o{n}")
        if resting is not None:
            cancelled[f"o{n}"] = resting.remaining
    for order_id, size in submitted.items():
        assert filled.get(order_id, D(0)) <= size
    resting_total = sum(o.remaining for o in book.resting_orders())
    level_total = sum(s for _, s in book.levels("bid")) + sum(s for _, s in book.levels("offer"))
    assert resting_total == level_total
    # Every unit submitted as a limit order is either filled, resting, cancelled or (market) dropped.
    limit_volume = sum(size for (_, _, size, is_market) in orders if not is_market)
    limit_filled = sum(filled.get(f"o{n}", D(0)) for n, (_, _, _, is_market) in enumerate(orders) if not is_market)
    assert limit_volume == limit_filled + resting_total + sum(cancelled.values())


def test_outside_liquidity_skips_the_rules_and_an_outside_taker_fills_one_order_in_place() -> None:
    book = MatchingBook(BTC)
    book.submit_limit("mine", "BUY", D("99.98"), D("0.5"), "me")
    # A recorded level finer than the venue's own grid and minimum rests; crossing "mine" trades.
    trades = book.add_liquidity("rec-1", "SELL", D("99.955"), D("0.000000001"), "recording")
    assert [(t.maker_order_id, t.price, t.size) for t in trades] == [("mine", D("99.98"), D("0.000000001"))]
    book.add_liquidity("rec-2", "BUY", D("99.97"), D("2"), "recording")
    assert book.prices_through("BUY", D("99.97")) == [D("99.98"), D("99.97")]
    assert book.prices_through("SELL", D("200")) == []
    fill = book.fill_resting("rec-2", D("0.5"), "taker")
    assert (fill.maker_order_id, fill.price, fill.size, fill.maker_side) == ("rec-2", D("99.97"), D("0.5"), "BUY")
    assert book.queue("BUY", D("99.97"))[0].remaining == D("1.5")
    with pytest.raises(ValueError, match=r"at most 1\.5"):
        book.fill_resting("rec-2", D("2"), "taker")
    outside = book.outside_trade(D("99.97"), D("3"), "BUY", "taker")
    assert outside.maker_order_id == "" and outside.trade_id > fill.trade_id
    assert book.levels("bid") == [(D("99.98"), D("0.499999999")), (D("99.97"), D("1.5"))]
