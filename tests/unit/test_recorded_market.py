"""Paper fills against recorded liquidity: the queue model of `cryptoj replay FILE --paper`,
worked out by hand event by event (docs/recording.md, "Paper trading on a replay")."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from cryptoj_tui.sim.exchange import Exchange, Order
from cryptoj_tui.sim.matching import BookSide, MatchingBook, OrderSide
from cryptoj_tui.sim.products import PRODUCTS
from cryptoj_tui.sim.recorded import RecordedLevels, RecordedMarket, RecordedTrade

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
USER = "organizations/o/apiKeys/k"
BTC = "BTC-USD"


def levels(at: float, *changes: tuple[BookSide, str, str], snapshot: bool = False) -> RecordedLevels:
    return RecordedLevels(at, BTC, tuple((side, D(p), D(s)) for side, p, s in changes), snapshot)


def trade(at: float, price: str, size: str, maker_side: OrderSide) -> RecordedTrade:
    return RecordedTrade(at, BTC, D(price), D(size), maker_side)


OPENING = levels(
    0,
    ("bid", "100.00", "2"),
    ("bid", "99.99", "1"),
    ("offer", "100.01", "1"),
    ("offer", "100.02", "3"),
    snapshot=True,
)


class Session:
    """A recorded market driving a paper exchange, as the venue drives them (without sockets)."""

    def __init__(self, *events: RecordedLevels | RecordedTrade) -> None:
        self.market = RecordedMarket([OPENING, *events])
        self.book = MatchingBook(PRODUCTS[BTC])
        self.exchange = Exchange({BTC: self.book}, lambda: NOW)
        self.settle(self.market.attach({BTC: self.book}))

    def settle(self, trades: dict[str, Any]) -> None:
        for product_id, made in trades.items():
            self.exchange.settle(product_id, made)

    def until(self, at: float) -> None:
        self.settle(self.market.play_until(at))

    def limit(self, side: str, size: str, price: str, client_order_id: str = "") -> Order:
        body = {
            "client_order_id": client_order_id or f"{side}-{price}",
            "product_id": BTC,
            "side": side,
            "order_configuration": {"limit_limit_gtc": {"base_size": size, "limit_price": price}},
        }
        answer = self.exchange.create_order(USER, body)
        assert answer["success"], answer
        return self.exchange.orders[answer["success_response"]["order_id"]]

    def bids(self) -> list[tuple[D, D]]:
        return self.book.levels("bid")


def fills(order: Order) -> list[tuple[D, D, str]]:
    return [(f.size, f.price, f.liquidity_indicator) for f in order.fills]


def paired(fall_first: bool, at: float, price: str, size: str, total: str) -> list[RecordedLevels | RecordedTrade]:
    """A recorded trade against bids at `price` and the fall it caused, in either order."""
    events: list[RecordedLevels | RecordedTrade] = [trade(at, price, size, "BUY"), levels(at, ("bid", price, total))]
    return events[::-1] if fall_first else events


@pytest.mark.parametrize("fall_first", [False, True], ids=["trade-then-fall", "fall-then-trade"])
def test_an_order_fills_only_after_the_recorded_size_ahead_of_it_has_traded(fall_first: bool) -> None:
    """Coinbase sends a trade and the level fall it causes in either order: same fills."""
    session = Session(
        *paired(fall_first, 10, "100.00", "1.5", "0.5"),  # 1.5 of the 2 ahead trade: 0.5 still ahead
        levels(20, ("bid", "100.00", "1.5")),  # 1.0 joins, behind the order
        levels(30, ("bid", "100.00", "1.2")),  # 0.3 cancelled: from behind the order
        *paired(fall_first, 40, "100.00", "0.8", "0.4"),  # 0.5 ahead, then 0.3 of the order
        *paired(fall_first, 50, "100.00", "0.25", "0.15"),  # the order's last 0.2
    )
    order = session.limit("BUY", "0.5", "100.00")
    assert order.status == "OPEN"
    ahead = session.market.liquidity(BTC).ahead

    session.until(10)
    assert fills(order) == [] and ahead[order.order_id] == D("0.5")
    assert session.bids()[0] == (D("100.00"), D("1.0"))  # the recorded 0.5 + the order's 0.5

    session.until(30)
    assert fills(order) == [] and ahead[order.order_id] == D("0.5")  # the cancel came off the back

    session.until(40)
    assert fills(order) == [(D("0.3"), D("100.00"), "MAKER")]
    assert ahead[order.order_id] == 0
    assert session.bids()[0] == (D("100.00"), D("0.6"))  # the recorded 0.4 + what is left of the order

    session.until(50)
    assert fills(order) == [(D("0.3"), D("100.00"), "MAKER"), (D("0.2"), D("100.00"), "MAKER")]
    assert order.status == "FILLED"
    assert session.bids()[0] == (D("100.00"), D("0.15"))  # the recorded book again, to the unit


def test_a_cancel_eats_into_the_size_ahead_only_once_the_level_falls_below_it() -> None:
    session = Session(
        levels(10, ("bid", "100.00", "0.5")),  # 2 ahead, nothing behind: a 1.5 cancel leaves 0.5 ahead
        trade(20, "100.00", "0.6", "BUY"),  # 0.5 ahead, then 0.1 of the order
        levels(20, ("bid", "100.00", "0")),
    )
    order = session.limit("BUY", "1", "100.00")
    session.until(20)
    assert fills(order) == [(D("0.1"), D("100.00"), "MAKER")]
    assert session.bids()[0] == (D("100.00"), D("0.9"))  # only the order is left at 100.00


def test_the_recorded_trades_are_the_tape_and_the_traders_share_is_taken_from_them() -> None:
    session = Session(trade(10, "100.00", "2.5", "BUY"), levels(10, ("bid", "100.00", "0")))
    order = session.limit("BUY", "1", "100.00")
    session.until(10)
    assert fills(order) == [(D("0.5"), D("100.00"), "MAKER")]
    tape = [(t.size, t.price, t.maker_side) for _, t in session.exchange.take_trades()]
    assert tape == [(D("0.5"), D("100.00"), "BUY"), (D("2.0"), D("100.00"), "BUY")]


def test_a_trade_through_the_orders_price_fills_it_first_at_its_own_price() -> None:
    # A recorded buyer lifts 100.02 (3 recorded there); the order offering at 100.01 behind
    # the recorded 1 is better priced, so the buyer meets 100.01's whole queue first.
    session = Session(trade(1, "100.02", "1.5", "SELL"))
    order = session.limit("SELL", "0.4", "100.01")
    session.until(1)
    assert fills(order) == [(D("0.4"), D("100.01"), "MAKER")]


def test_a_recorded_level_that_crosses_a_resting_order_fills_it() -> None:
    # The recorded market moves down through the order's bid: an offer appears at 99.95.
    session = Session(levels(1, ("bid", "100.00", "0"), ("bid", "99.99", "0"), ("offer", "99.95", "0.3")))
    order = session.limit("BUY", "0.5", "99.98")
    session.until(1)
    assert fills(order) == [(D("0.3"), D("99.98"), "MAKER")]
    assert order.status == "OPEN"


def test_liquidity_the_trader_takes_comes_back_at_the_levels_next_recorded_update() -> None:
    session = Session(levels(1, ("offer", "100.01", "1.25")))
    order = session.limit("BUY", "0.75", "100.01")  # takes 0.75 of the recorded 1
    assert fills(order) == [(D("0.75"), D("100.01"), "TAKER")]
    assert session.book.levels("offer")[0] == (D("100.01"), D("0.25"))
    session.until(1)
    assert session.book.levels("offer")[0] == (D("100.01"), D("1.25"))


def test_a_later_snapshot_replaces_the_recorded_book_and_keeps_the_traders_orders() -> None:
    session = Session(levels(1, ("bid", "99.50", "4"), ("offer", "100.50", "2"), snapshot=True))
    order = session.limit("BUY", "0.5", "99.00")
    session.until(1)
    assert session.bids() == [(D("99.50"), D("4")), (D("99.00"), D("0.5"))]
    assert session.book.levels("offer") == [(D("100.50"), D("2"))]
    assert order.status == "OPEN"


def test_events_before_a_products_first_snapshot_change_nothing() -> None:
    early = levels(-1, ("bid", "50.00", "9"))
    market = RecordedMarket([early, OPENING])
    book = MatchingBook(PRODUCTS[BTC])
    market.attach({BTC: book})
    assert book.levels("bid") == [(D("100.00"), D("2")), (D("99.99"), D("1"))]


def test_a_recording_with_no_book_is_refused() -> None:
    with pytest.raises(ValueError, match="no level2 snapshot"):
        RecordedMarket([trade(1, "100", "1", "BUY")])
    with pytest.raises(ValueError, match="speed must be above 0"):
        RecordedMarket([OPENING], speed=0)


def test_two_orders_at_one_price_fill_in_their_queue_order() -> None:
    session = Session(
        levels(10, ("bid", "100.00", "0.5")),  # the fall first (as Coinbase mostly sends it)...
        trade(10, "100.00", "1.5", "BUY"),  # ...then the trade that made it: 0.5 left ahead of both
        trade(20, "100.00", "1.0", "BUY"),  # 0.5 ahead, then the first order's 0.5; none for the second
        levels(20, ("bid", "100.00", "0")),
    )
    first = session.limit("BUY", "0.5", "100.00")
    second = session.limit("BUY", "0.7", "100.00", client_order_id="second")
    session.until(10)
    assert fills(first) == [] and fills(second) == []
    session.until(20)
    assert fills(first) == [(D("0.5"), D("100.00"), "MAKER")] and fills(second) == []
    assert session.bids()[0] == (D("100.00"), D("0.7"))  # the second order alone
