"""The paper venue's brackets (Coinbase's trigger_bracket_gtc): a take-profit and a stop in one
order, one cancelling the other, placed on their own or attached to an entry that fills."""

from __future__ import annotations

from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptoj_tui.sim.exchange import Exchange, InvalidRequest
from tests.unit.test_sim_exchange import USER, assert_holds_exact, balances, market, placed

counter = iter(range(10**9))


def entry(ex: Exchange, side: str, config: str, take_profit: str, stop: str, **fields: str) -> dict[str, Any]:
    return ex.create_order(
        USER,
        {
            "client_order_id": f"entry-{next(counter)}",
            "product_id": "BTC-USD",
            "side": side,
            "order_configuration": {config: fields},
            "attached_order_configuration": {
                "trigger_bracket_gtc": {"limit_price": take_profit, "stop_trigger_price": stop}
            },
        },
    )


def bracket(ex: Exchange, side: str, size: str, take_profit: str, stop: str) -> dict[str, Any]:
    config = {"base_size": size, "limit_price": take_profit, "stop_trigger_price": stop}
    return ex.create_order(
        USER,
        {
            "client_order_id": f"bracket-{next(counter)}",
            "product_id": "BTC-USD",
            "side": side,
            "order_configuration": {"trigger_bracket_gtc": config},
        },
    )


def flow(ex: Exchange, side: str, price: str, size: str) -> None:
    """Another trader's limit order at `price`: it trades with what it crosses, the rest rests."""
    book = ex.books["BTC-USD"]
    ex.settle("BTC-USD", book.submit_limit(f"flow-{next(counter)}", side, D(price), D(size), "flow"))  # type: ignore[arg-type]


def attached_to(ex: Exchange, order: Any) -> Any:
    return ex.orders[order.attached_order_id]


def test_an_entry_that_fills_places_its_bracket_sized_to_it() -> None:
    ex = market()
    buy = placed(ex, entry(ex, "BUY", "limit_limit_gtc", "110", "95", base_size="0.5", limit_price="100"))
    assert buy.status == "OPEN" and buy.attached_order_id == ""
    assert buy.to_json()["attached_order_configuration"] == {
        "trigger_bracket_gtc": {"limit_price": "110", "stop_trigger_price": "95"}
    }
    flow(ex, "SELL", "100", "0.5")
    assert buy.status == "FILLED"
    exit_ = attached_to(ex, buy)
    assert (exit_.side, exit_.base_size, exit_.status, exit_.order_type) == ("SELL", D("0.5"), "OPEN", "BRACKET")
    data = exit_.to_json()
    assert data["originating_order_id"] == buy.order_id
    assert data["order_configuration"] == {
        "trigger_bracket_gtc": {"base_size": "0.5", "limit_price": "110", "stop_trigger_price": "95"}
    }
    assert data["trigger_status"] == "STOP_PENDING"
    assert ex.books["BTC-USD"].order(exit_.order_id).price == D("110")  # the take-profit rests
    assert exit_.hold == D("0.5") and exit_.hold_currency == "BTC"


def test_take_profit_fills_and_the_stop_is_gone() -> None:
    ex = market()
    buy = placed(ex, entry(ex, "BUY", "limit_limit_gtc", "110", "95", base_size="0.5", limit_price="100"))
    flow(ex, "SELL", "100", "0.5")
    exit_ = attached_to(ex, buy)
    flow(ex, "BUY", "110", "2.5")  # through 101 and 102 to the take-profit
    assert exit_.status == "FILLED" and exit_.filled_size == D("0.5") and exit_.average_filled_price == D("110")
    btc_before = balances(ex)["BTC"]
    flow(ex, "BUY", "90", "5")
    flow(ex, "SELL", "90", "5")  # the price falls through the stop: nothing of ours trades
    assert exit_.filled_size == D("0.5") and not exit_.triggered
    assert balances(ex)["BTC"] == btc_before


def test_the_stop_triggers_and_the_take_profit_leaves_the_book() -> None:
    ex = market()
    buy = placed(ex, entry(ex, "BUY", "limit_limit_gtc", "110", "95", base_size="0.5", limit_price="100"))
    flow(ex, "SELL", "100", "0.5")
    exit_ = attached_to(ex, buy)
    flow(ex, "BUY", "94", "0.2")
    flow(ex, "SELL", "94", "2.2")  # through 99 and 98 to 94: the last trade is at the stop or below
    assert exit_.triggered and exit_.to_json()["trigger_status"] == "STOP_TRIGGERED"
    resting = ex.books["BTC-USD"].order(exit_.order_id)
    assert resting is not None and resting.price == D("90.25")  # 5 % below the trigger, never at 110
    flow(ex, "BUY", "120", "3")  # the price rallies through 110: the take-profit is no more
    assert exit_.status == "FILLED" and exit_.average_filled_price == D("90.25")


def test_a_stop_that_finds_bids_sells_into_them() -> None:
    ex = market()
    exit_ = placed(ex, bracket(ex, "SELL", "0.5", "110", "99"))
    flow(ex, "SELL", "99", "0.1")  # trades at 99: the stop wakes, and the 0.9 left bid at 99 takes it
    assert exit_.status == "FILLED" and exit_.filled_size == D("0.5")
    assert exit_.average_filled_price == D("99")
    assert ex.books["BTC-USD"].order(exit_.order_id) is None


def test_a_buy_bracket_mirrors_a_sell_bracket() -> None:
    ex = market()
    cover = placed(ex, bracket(ex, "BUY", "0.5", "90", "105"))
    assert ex.books["BTC-USD"].order(cover.order_id).price == D("90")
    assert cover.hold == D("0.5") * D("110.25") * (1 + D("0.006"))  # held for the dearer leg: 105 + 5 %
    flow(ex, "SELL", "106", "0.1")
    flow(ex, "BUY", "106", "2.1")  # through 101 and 102 to 106: the stop wakes, no asks are left
    assert cover.triggered and ex.books["BTC-USD"].order(cover.order_id).price == D("110.25")
    flow(ex, "SELL", "110", "1")
    assert cover.status == "FILLED" and cover.average_filled_price == D("110.25")
    assert cover.hold == 0


@pytest.mark.parametrize(
    ("side", "take_profit", "stop", "limit", "why"),
    [
        ("BUY", "95", "110", "100", "stop_trigger_price 110 must be below limit_price 95"),
        ("BUY", "110", "101", "100", "the entry's price 100 must lie between the bracket's 101 and 110"),
        ("SELL", "110", "95", "100", "stop_trigger_price 95 must be above limit_price 110"),
        ("BUY", "110.001", "95", "100", "price 110.001 is not a multiple of 0.01"),
    ],
)
def test_a_bracket_the_wrong_way_round_rejects_its_entry(
    side: str, take_profit: str, stop: str, limit: str, why: str
) -> None:
    ex = market()
    answer = entry(ex, side, "limit_limit_gtc", take_profit, stop, base_size="0.5", limit_price=limit)
    assert answer["success"] is False
    assert why in answer["error_response"]["message"]
    assert balances(ex) == {"USD": (D("100000"), D(0)), "BTC": (D("2"), D(0))}


def test_brackets_attach_only_to_entries_coinbase_allows() -> None:
    ex = market()
    with pytest.raises(InvalidRequest, match="not limit_limit_fok"):
        entry(ex, "BUY", "limit_limit_fok", "110", "95", base_size="0.5", limit_price="100")
    with pytest.raises(InvalidRequest, match="not quote_size"):
        entry(ex, "BUY", "market_market_ioc", "110", "95", quote_size="50")
    with pytest.raises(InvalidRequest, match="attached stop_trigger_price must be a decimal string"):
        entry(ex, "BUY", "limit_limit_gtc", "110", None, base_size="0.5", limit_price="100")  # type: ignore[arg-type]


def test_a_market_entry_places_its_bracket_at_once() -> None:
    ex = market()
    buy = placed(ex, entry(ex, "BUY", "market_market_ioc", "120", "90", base_size="1.5"))
    assert buy.status == "FILLED"
    exit_ = attached_to(ex, buy)
    assert exit_.status == "OPEN" and exit_.base_size == D("1.5")


def test_an_entry_cancelled_part_filled_places_no_bracket() -> None:
    ex = market()
    buy = placed(ex, entry(ex, "BUY", "limit_limit_gtc", "110", "95", base_size="0.5", limit_price="100"))
    flow(ex, "SELL", "100", "0.2")
    ex.cancel_orders(USER, [buy.order_id])
    assert buy.status == "CANCELLED" and buy.filled_size == D("0.2") and buy.attached_order_id == ""
    assert [o for o in ex.orders.values() if o.order_type == "BRACKET"] == []


def test_an_edit_cannot_move_an_entry_outside_its_bracket() -> None:
    ex = market()
    buy = placed(ex, entry(ex, "BUY", "limit_limit_gtc", "110", "95", base_size="0.5", limit_price="100"))
    refused = ex.edit_order(USER, {"order_id": buy.order_id, "price": "94"})
    assert refused["errors"] == [{"edit_failure_reason": "ORDER_EDIT_INVALID_ATTACHED_ORDER_REQUEST"}]
    assert ex.edit_order(USER, {"order_id": buy.order_id, "price": "97"})["success"] is True


def test_a_bracket_the_coins_left_fails_with_why() -> None:
    ex = market()
    buy = placed(ex, entry(ex, "BUY", "limit_limit_gtc", "110", "95", base_size="0.5", limit_price="100"))
    flow(ex, "SELL", "100", "0.3")
    ex.account(USER, "BTC").available = D(0)  # what it bought so far moved away before the rest filled
    flow(ex, "SELL", "100", "0.2")
    exit_ = attached_to(ex, buy)
    assert exit_.status == "FAILED" and exit_.reject_reason.startswith("INSUFFICIENT_FUND")


step = st.tuples(
    st.sampled_from(["entry", "bracket", "flow", "cancel"]),
    st.sampled_from(["BUY", "SELL"]),
    st.integers(92, 108),
    st.integers(1, 150).map(lambda n: D(n) / 100),
)


@settings(max_examples=80, deadline=None)
@given(steps=st.lists(step, max_size=30))
def test_one_leg_cancels_the_other_and_holds_stay_exact(steps: list) -> None:
    ex = market()
    for kind, side, price, size in steps:
        if kind == "entry":
            low, high = str(price - 5), str(price + 5)
            take_profit, stop = (high, low) if side == "BUY" else (low, high)
            entry(ex, side, "limit_limit_gtc", take_profit, stop, base_size=str(size), limit_price=str(price))
        elif kind == "bracket":
            take_profit, stop = (str(price + 4), str(price - 4)) if side == "SELL" else (str(price - 4), str(price + 4))
            bracket(ex, side, str(size), take_profit, stop)
        elif kind == "flow":
            flow(ex, side, str(price), str(size))
        else:
            working = [o.order_id for o in ex.orders.values() if o.status == "OPEN"]
            ex.cancel_orders(USER, working[:1])
        book = ex.books["BTC-USD"]
        for order in ex.orders.values():
            if order.order_type != "BRACKET":
                continue
            assert order.filled_size <= (order.base_size or 0)
            resting = book.order(order.order_id)
            if order.status != "OPEN":
                assert resting is None
            elif resting is not None:  # only ever one leg in the book: the take-profit, or the stop's limit
                assert resting.price == (order.stop_limit_price if order.triggered else order.limit_price)
        assert_holds_exact(ex)
