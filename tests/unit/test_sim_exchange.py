"""The paper exchange's rules: holds, every order type, fees, self-trade prevention, idempotency."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptoj_tui.sim.exchange import Exchange, InvalidRequest
from cryptoj_tui.sim.matching import MatchingBook
from cryptoj_tui.sim.products import ALL_PRODUCTS, PRODUCTS, ProductSpec

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
USER = "organizations/o/apiKeys/k"
MAKER, TAKER = D("0.004"), D("0.006")


def market() -> Exchange:
    """BTC-USD with flow liquidity: bids 99, 98; asks 101, 102 (1 BTC each)."""
    book = MatchingBook(PRODUCTS["BTC-USD"])
    for n, (side, price) in enumerate([("BUY", "99"), ("BUY", "98"), ("SELL", "101"), ("SELL", "102")]):
        book.submit_limit(f"flow{n}", side, D(price), D("1"), "flow")  # type: ignore[arg-type]
    book.take_changes()
    return Exchange({"BTC-USD": book}, lambda: NOW)


counter = iter(range(10**9))


def order(ex: Exchange, side: str, config: str, cid: str | None = None, **fields: Any) -> dict[str, Any]:
    body = {
        "client_order_id": cid or f"cid-{next(counter)}",
        "product_id": "BTC-USD",
        "side": side,
        "order_configuration": {config: {k: v for k, v in fields.items()}},
    }
    return ex.create_order(USER, body)


def balances(ex: Exchange) -> dict[str, tuple[D, D]]:
    return {a.currency: (a.available, a.hold) for a in ex.owner_accounts(USER) if a.currency in ("USD", "BTC")}


def assert_holds_exact(ex: Exchange) -> None:
    """Every balance is positive and holds exactly what the owner's open orders reserve."""
    for account in ex.owner_accounts(USER):
        assert account.available >= 0 and account.hold >= 0, account
        reserved = sum(
            (o.hold for o in ex.orders.values() if o.hold_currency == account.currency and o.status == "OPEN"), D(0)
        )
        assert account.hold == reserved, account


def placed(ex: Exchange, response: dict[str, Any]) -> Any:
    assert response["success"], response
    return ex.orders[response["success_response"]["order_id"]]


def test_resting_limit_buy_holds_funds_and_cancel_releases_them() -> None:
    ex = market()
    o = placed(ex, order(ex, "BUY", "limit_limit_gtc", base_size="0.5", limit_price="100"))
    hold = D("0.5") * 100 * (1 + TAKER)
    assert o.status == "OPEN" and o.hold == hold
    assert balances(ex)["USD"] == (D("100000") - hold, hold)
    assert ex.cancel_orders(USER, [o.order_id])[0]["success"] is True
    assert o.status == "CANCELLED"
    assert balances(ex)["USD"] == (D("100000"), D(0))
    assert ex.cancel_orders(USER, [o.order_id])[0]["failure_reason"] == "DUPLICATE_CANCEL_REQUEST"
    assert ex.cancel_orders("someone-else", ["nope"])[0]["failure_reason"] == "UNKNOWN_CANCEL_ORDER"


def test_crossing_limit_takes_at_resting_prices_with_taker_fee_then_rests() -> None:
    ex = market()
    o = placed(ex, order(ex, "BUY", "limit_limit_gtc", base_size="1.5", limit_price="101"))
    assert o.filled_size == D("1") and o.average_filled_price == D("101") and o.status == "OPEN"
    assert o.total_fees == D("101") * TAKER
    assert o.fills[0].liquidity_indicator == "TAKER"
    usd_available, usd_hold = balances(ex)["USD"]
    assert usd_hold == D("0.5") * 101 * (1 + TAKER)
    assert usd_available == D("100000") - D("101") * (1 + TAKER) - usd_hold
    assert balances(ex)["BTC"] == (D("3"), D(0))
    # The flow later sells into the resting half: a maker fill at our price, maker fee.
    trades = ex.books["BTC-USD"].submit_market("flow-taker", "SELL", D("0.5"), "flow")
    ex.settle("BTC-USD", trades)
    assert o.status == "FILLED" and o.fills[-1].liquidity_indicator == "MAKER"
    assert o.fills[-1].commission == D("0.5") * 101 * MAKER
    assert balances(ex)["USD"][1] == 0 and balances(ex)["BTC"] == (D("3.5"), D(0))


def test_market_orders_by_base_and_by_quote_size() -> None:
    ex = market()
    sell = placed(ex, order(ex, "SELL", "market_market_ioc", base_size="1.5"))
    assert sell.status == "FILLED" and sell.filled_value == D("99") + D("0.5") * 98
    assert balances(ex)["BTC"] == (D("0.5"), D(0))
    buy = placed(ex, order(ex, "BUY", "market_market_ioc", quote_size="150.00"))
    assert buy.status == "FILLED"
    spent = buy.filled_value + buy.total_fees
    assert D("149") < spent <= D("150")
    assert balances(ex)["USD"][1] == 0


def test_a_market_sell_by_quote_size_is_binances_only_and_sells_what_the_bids_pay() -> None:
    ex = market()
    body = {
        "client_order_id": "quote-sell",
        "product_id": "BTC-USD",
        "side": "SELL",
        "order_configuration": {"market_market_ioc": {"quote_size": "148.5"}},
    }
    refused = ex.create_order(USER, body)  # Coinbase's protocol: a sell is sized in base
    assert refused["success"] is False and refused["error_response"]["message"] == "sell orders need base_size"
    sell = placed(ex, ex.create_order(USER, {**body, "client_order_id": "quote-sell-2"}, quote_sells=True))
    # 1 at 99, then at 98 what the 49.5 left sells in whole increments: 0.50510204 for 49.49999992.
    assert sell.status == "FILLED" and sell.filled_size == D("1.50510204")
    assert sell.filled_value == D("148.49999992") and sell.total_fees == sell.filled_value * TAKER
    assert balances(ex)["BTC"] == (D("2") - sell.filled_size, D(0))
    assert_holds_exact(ex)
    empty = {
        **body,
        "client_order_id": "quote-sell-3",
        "order_configuration": {"market_market_ioc": {"quote_size": "1000"}},
    }
    placed(ex, ex.create_order(USER, empty, quote_sells=True))  # sells the rest of the bids
    no_bids = ex.create_order(USER, {**empty, "client_order_id": "quote-sell-4"}, quote_sells=True)
    assert no_bids["error_response"]["error"] == "INSUFFICIENT_LIQUIDITY"


def test_fill_or_kill_is_all_or_nothing_and_ioc_cancels_the_rest() -> None:
    ex = market()
    refused = order(ex, "BUY", "limit_limit_fok", base_size="3", limit_price="102")
    assert refused["success"] is False and refused["error_response"]["error"] == "FOK_CANNOT_FILL"
    assert balances(ex)["USD"] == (D("100000"), D(0))
    fok = placed(ex, order(ex, "BUY", "limit_limit_fok", base_size="2", limit_price="102"))
    assert fok.status == "FILLED" and fok.filled_size == 2
    ioc = placed(ex, order(ex, "SELL", "sor_limit_ioc", base_size="3", limit_price="98"))
    assert ioc.status == "CANCELLED" and ioc.filled_size == 2
    assert ex.books["BTC-USD"].best_ask() is None and ex.books["BTC-USD"].best_bid() is None
    assert balances(ex)["BTC"][1] == 0


def test_post_only_that_would_take_is_rejected() -> None:
    ex = market()
    rejected = order(ex, "BUY", "limit_limit_gtc", base_size="1", limit_price="101", post_only=True)
    assert rejected["error_response"]["error"] == "INVALID_LIMIT_PRICE_POST_ONLY"
    assert (
        placed(ex, order(ex, "BUY", "limit_limit_gtc", base_size="1", limit_price="100", post_only=True)).status
        == "OPEN"
    )


def test_good_till_date_expires_and_a_past_end_time_is_refused() -> None:
    now = [NOW]
    ex = market()
    ex.clock = lambda: now[0]
    past = order(ex, "BUY", "limit_limit_gtd", base_size="1", limit_price="90", end_time="2026-11-25T11:00:00Z")
    assert past["error_response"]["error"] == "INVALID_END_TIME"
    o = placed(
        ex, order(ex, "BUY", "limit_limit_gtd", base_size="1", limit_price="90", end_time="2026-11-25T12:01:00Z")
    )
    ex.expire()
    assert o.status == "OPEN"
    now[0] = NOW + timedelta(minutes=2)
    ex.expire()
    assert o.status == "EXPIRED" and balances(ex)["USD"] == (D("100000"), D(0))


@pytest.mark.parametrize(
    ("direction", "stop", "trade_side", "trade_price"),
    [
        ("STOP_DIRECTION_STOP_UP", "101", "BUY", "101"),
        ("STOP_DIRECTION_STOP_DOWN", "99", "SELL", "99"),
    ],
)
def test_stop_limit_waits_for_the_last_trade_to_cross_its_stop(
    direction: str, stop: str, trade_side: str, trade_price: str
) -> None:
    ex = market()
    side = "BUY" if direction.endswith("UP") else "SELL"
    limit = "102" if side == "BUY" else "98"
    o = placed(
        ex,
        order(
            ex,
            side,
            "stop_limit_stop_limit_gtc",
            base_size="0.5",
            limit_price=limit,
            stop_price=stop,
            stop_direction=direction,
        ),
    )
    assert o.status == "OPEN" and not o.triggered and o.filled_size == 0
    assert o.to_json()["trigger_status"] == "STOP_PENDING"
    trades = ex.books["BTC-USD"].submit_market("flow-t", trade_side, D("0.1"), "flow")  # type: ignore[arg-type]
    assert trades[0].price == D(trade_price)
    ex.settle("BTC-USD", trades)
    assert o.triggered and o.filled_size == D("0.5") and o.status == "FILLED"


def test_self_trade_prevention_cancels_our_resting_order_instead_of_trading() -> None:
    ex = market()
    resting = placed(ex, order(ex, "SELL", "limit_limit_gtc", base_size="1", limit_price="100"))
    taker = placed(ex, order(ex, "BUY", "limit_limit_gtc", base_size="1", limit_price="101"))
    assert resting.status == "CANCELLED" and resting.filled_size == 0
    assert taker.fills[0].price == D("101")  # traded with the flow's ask, not with ourselves
    assert balances(ex)["BTC"] == (D("3"), D(0))


def test_insufficient_funds_is_a_business_rejection() -> None:
    ex = market()
    response = order(ex, "BUY", "limit_limit_gtc", base_size="3000", limit_price="100")
    assert response["success"] is False and response["order_id"] == ""
    assert response["error_response"]["error"] == "INSUFFICIENT_FUND"
    assert "USD" in response["error_response"]["message"]
    assert (
        order(ex, "SELL", "limit_limit_gtc", base_size="3", limit_price="100")["error_response"]["error"]
        == "INSUFFICIENT_FUND"
    )


def test_repeating_a_client_order_id_creates_nothing_new() -> None:
    ex = market()
    first = order(ex, "BUY", "limit_limit_gtc", cid="same", base_size="1", limit_price="90")
    again = order(ex, "BUY", "limit_limit_gtc", cid="same", base_size="1", limit_price="90")
    assert first == again and len(ex.orders) == 1


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "must be a JSON object"),
        ({"product_id": "BTC-USD"}, "client_order_id"),
        ({"client_order_id": "c", "product_id": "DOGE-USD"}, "unknown product_id 'DOGE-USD'"),
        ({"client_order_id": "c", "product_id": "BTC-USD", "side": "buy"}, "side must be BUY or SELL"),
        ({"client_order_id": "c", "product_id": "BTC-USD", "side": "BUY"}, "exactly one of"),
        (
            {
                "client_order_id": "c",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_xyz": {}},
            },
            "unknown order_configuration",
        ),
        (
            {
                "client_order_id": "c",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": 1, "limit_price": "1"}},
            },
            "base_size must be a decimal string",
        ),
        (
            {
                "client_order_id": "c",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": "-1", "limit_price": "1"}},
            },
            "base_size must be a plain decimal string such as \"0.001\", got '-1'",
        ),
        (
            {
                "client_order_id": "c",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": "0", "limit_price": "1"}},
            },
            "base_size must be a positive number, got '0'",
        ),
        (
            {
                "client_order_id": "c",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": "abc", "limit_price": "1"}},
            },
            "base_size must be a plain decimal string such as \"0.001\", got 'abc'",
        ),
        (
            {
                "client_order_id": "c",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": "1", "limit_price": "NaN"}},
            },
            "limit_price must be a plain decimal string such as \"0.001\", got 'NaN'",
        ),
        (
            {
                "client_order_id": "c",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": "1", "limit_price": "1", "post_only": "yes"}},
            },
            "post_only must be true or false",
        ),
        (
            {
                "client_order_id": "c",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"market_market_ioc": {"base_size": "1", "quote_size": "1"}},
            },
            "exactly one of base_size or quote_size",
        ),
        (
            {
                "client_order_id": "c",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {
                    "limit_limit_gtd": {"base_size": "1", "limit_price": "1", "end_time": "tomorrow"}
                },
            },
            "end_time is not an RFC 3339 time",
        ),
        (
            {
                "client_order_id": "c",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {
                    "stop_limit_stop_limit_gtc": {
                        "base_size": "1",
                        "limit_price": "1",
                        "stop_price": "1",
                        "stop_direction": "UP",
                    }
                },
            },
            "stop_direction must be",
        ),
    ],
)
def test_malformed_orders_are_invalid_requests_naming_the_field(body: object, message: str) -> None:
    ex = market()
    with pytest.raises(InvalidRequest, match=message):
        ex.create_order(USER, body)
    assert ex.orders == {}


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"base_size": "0.000000001", "limit_price": "100"}, "INVALID_SIZE_PRECISION"),
        ({"base_size": "1", "limit_price": "100.001"}, "INVALID_PRICE_PRECISION"),
        ({"base_size": "5000", "limit_price": "1"}, "INVALID_SIZE"),
    ],
)
def test_product_increments_and_limits_are_enforced(fields: dict[str, str], error: str) -> None:
    ex = market()
    assert order(ex, "BUY", "limit_limit_gtc", **fields)["error_response"]["error"] == error


def test_order_json_has_the_documented_fields() -> None:
    ex = market()
    data = placed(ex, order(ex, "BUY", "limit_limit_gtc", base_size="0.5", limit_price="100")).to_json()
    for key in (
        "order_id",
        "client_order_id",
        "product_id",
        "side",
        "status",
        "order_type",
        "order_configuration",
        "created_time",
        "filled_size",
        "average_filled_price",
        "filled_value",
        "total_fees",
        "completion_percentage",
        "number_of_fills",
        "outstanding_hold_amount",
        "reject_reason",
    ):
        assert key in data, key
    assert data["order_configuration"] == {"limit_limit_gtc": {"base_size": "0.5", "limit_price": "100"}}
    assert all(isinstance(data[k], str) for k in ("filled_size", "total_fees", "outstanding_hold_amount"))


op = st.tuples(
    st.sampled_from(["BUY", "SELL"]),
    st.sampled_from(["limit_limit_gtc", "sor_limit_ioc", "market_market_ioc", "cancel", "flow"]),
    st.integers(95, 105),
    st.integers(1, 300).map(lambda n: D(n) / 100),
)


@settings(max_examples=80, deadline=None)
@given(ops=st.lists(op, max_size=40))
def test_holds_always_equal_what_open_orders_reserve_and_nothing_goes_negative(ops: list) -> None:
    ex = market()
    for side, kind, price, size in ops:
        if kind == "cancel":
            open_orders = [o.order_id for o in ex.orders.values() if o.status == "OPEN"]
            if open_orders:
                ex.cancel_orders(USER, open_orders[:1])
        elif kind == "flow":
            book = ex.books["BTC-USD"]
            ex.settle("BTC-USD", book.submit_limit(f"f{next(counter)}", side, D(price), size, "flow"))
        elif kind == "market_market_ioc":
            order(ex, side, kind, base_size=str(size))
        else:
            order(ex, side, kind, base_size=str(size), limit_price=str(price))
        assert_holds_exact(ex)


def test_expiry_looks_only_at_open_gtd_orders() -> None:
    now = [NOW]
    ex = market()
    ex.clock = lambda: now[0]
    for _ in range(50):  # history that expiry must not rescan
        o = placed(ex, order(ex, "BUY", "limit_limit_gtc", base_size="0.01", limit_price="90"))
        ex.cancel_orders(USER, [o.order_id])
    gtd = placed(
        ex, order(ex, "BUY", "limit_limit_gtd", base_size="0.01", limit_price="90", end_time="2026-11-25T12:05:00Z")
    )
    gone = placed(
        ex, order(ex, "BUY", "limit_limit_gtd", base_size="0.01", limit_price="90", end_time="2026-11-25T12:05:00Z")
    )
    ex.cancel_orders(USER, [gone.order_id])
    assert list(ex._expiring) == [gtd.order_id]
    now[0] = NOW + timedelta(minutes=10)
    ex.expire()
    assert gtd.status == "EXPIRED" and gone.status == "CANCELLED" and ex._expiring == {}


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"quote_increment": D("0")}, "product XYZ-USD: quote_increment 0 must be above 0"),
        ({"start_price": D("10.005")}, "product XYZ-USD: start_price 10.005 is not a multiple of 0.01"),
        ({"base_min_size": D("0.0015")}, "product XYZ-USD: base_min_size 0.0015 is not a multiple of 0.001"),
        ({"base_max_size": D("0.0001")}, "product XYZ-USD: base_min_size 0.001 is over base_max_size 0.0001"),
    ],
)
def test_a_product_spec_that_breaks_its_own_increments_is_refused(change: dict[str, D], message: str) -> None:
    """Every product the venue can list is checked as it is defined (ALL_PRODUCTS imported above)."""
    fields = {
        "product_id": "XYZ-USD",
        "base_increment": D("0.001"),
        "quote_increment": D("0.01"),
        "base_min_size": D("0.001"),
        "base_max_size": D("1000"),
        "start_price": D("10.00"),
        "typical_notional": D("100"),
    }
    with pytest.raises(ValueError, match=message):
        ProductSpec(**{**fields, **change})
    assert len(ALL_PRODUCTS) == 20 and ProductSpec(**fields).start_price == D("10.00")
