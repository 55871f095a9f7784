"""Binance Spot's order JSON read into the engine's words and written from them, and the
client-side limit that follows Binance's own weight counters."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import pytest

from cryptoj_tui.engine.adapters.binance import parsing
from cryptoj_tui.engine.adapters.binance.parsing import ExchangeInfo, OrderAnswer, TradeAnswer
from cryptoj_tui.engine.adapters.binance.rest import WeightGate
from cryptoj_tui.engine.orders import OrderError, OrderRequest, OrderType

D = Decimal


def request(kind: OrderType, **fields: object) -> OrderRequest:
    price = None if kind is OrderType.MARKET else "100.5"
    return OrderRequest.parse("BTC-USDT", "BUY", kind, "0.25", price, **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "fields", "expected"),
    [
        (OrderType.MARKET, {}, {"type": "MARKET", "quantity": "0.25"}),
        (OrderType.LIMIT, {}, {"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.25", "price": "100.5"}),
        (OrderType.LIMIT, {"post_only": True}, {"type": "LIMIT_MAKER", "quantity": "0.25", "price": "100.5"}),
        (OrderType.FOK, {}, {"type": "LIMIT", "timeInForce": "FOK", "quantity": "0.25", "price": "100.5"}),
        (OrderType.IOC, {}, {"type": "LIMIT", "timeInForce": "IOC", "quantity": "0.25", "price": "100.5"}),
        (
            OrderType.STOP_LIMIT,
            {"stop_price": "101"},
            {"type": "STOP_LOSS_LIMIT", "timeInForce": "GTC", "quantity": "0.25", "price": "100.5", "stopPrice": "101"},
        ),
        (
            OrderType.TAKE_PROFIT_LIMIT,
            {"stop_price": "99"},
            {
                "type": "TAKE_PROFIT_LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.25",
                "price": "100.5",
                "stopPrice": "99",
            },
        ),
    ],
)
def test_each_order_type_becomes_binance_parameters_and_reads_back(
    kind: OrderType, fields: dict[str, object], expected: dict[str, str]
) -> None:
    sent = request(kind, **fields)
    params = dict(parsing.order_params("cid-1", "BTCUSDT", sent))
    assert params == {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "newClientOrderId": "cid-1",
        "newOrderRespType": "ACK",
        **expected,
    }
    answer = OrderAnswer(
        symbol="BTCUSDT",
        orderId=7,
        clientOrderId="cid-1",
        price=params.get("price", "0"),
        origQty="0.25",
        type=params["type"],
        timeInForce=params.get("timeInForce", "GTC"),
        side="BUY",
        stopPrice=params.get("stopPrice", "0"),
        status="NEW",
    )
    assert parsing.request_from_order(answer, "BTC-USDT") == sent


def test_what_binance_spot_cannot_take_is_refused_before_sending() -> None:
    with pytest.raises(OrderError, match="no good-till-date"):
        parsing.order_params("c", "BTCUSDT", request(OrderType.LIMIT_GTD, end_time=datetime(2030, 1, 1, tzinfo=UTC)))
    with pytest.raises(OrderError, match="brackets on Binance Spot"):
        parsing.order_params("c", "BTCUSDT", request(OrderType.BRACKET, stop_price="110"))
    with pytest.raises(OrderError, match="no bracket attached"):
        parsing.order_params("c", "BTCUSDT", request(OrderType.LIMIT, take_profit="120", stop_loss="90"))


def test_order_states_and_totals_in_the_engines_words() -> None:
    answer = OrderAnswer(
        symbol="BTCUSDT",
        orderId=9,
        clientOrderId="cancel-id",
        origClientOrderId="cid",
        executedQty="0.1",
        cummulativeQuoteQty="10.05",
        status="CANCELED",
        type="LIMIT",
        side="SELL",
        price="100.5",
        origQty="0.25",
    )
    order = parsing.venue_order(answer, "BTC-USDT", D("0.01"))
    assert order.order_id == "BTCUSDT:9" and order.client_order_id == "cid" and order.status == "CANCELLED"
    assert order.update is not None
    assert (order.update.filled_size, order.update.filled_value, order.update.total_fees) == (
        D("0.1"),
        D("10.05"),
        D("0.01"),
    )
    assert [parsing.status(s) for s in ("NEW", "PARTIALLY_FILLED", "EXPIRED_IN_MATCH", "REJECTED")] == [
        "OPEN",
        "OPEN",
        "EXPIRED",
        "FAILED",
    ]


def test_an_unreadable_order_says_why_and_keeps_what_can_be_read() -> None:
    answer = OrderAnswer(symbol="BTCUSDT", orderId=1, status="HALF_DONE", type="OCO_THING", side="BUY")
    order = parsing.venue_order(answer, "BTC-USDT")
    assert order.update is None and "order status 'HALF_DONE' is not one of Binance's" in order.update_problem
    assert order.request is None and "'OCO_THING' is not one this engine trades" in order.request_problem
    with pytest.raises(ValueError, match="is not a Binance order id"):
        parsing.split_order_id("3fa85f64-5717-4562-b3fc-2c963f66afa6")


def test_fees_are_valued_in_the_quote_asset_and_others_are_named() -> None:
    trades = [
        TradeAnswer(
            id=1,
            orderId=9,
            price="100",
            qty="0.5",
            quoteQty="50",
            commission="0.05",
            commissionAsset="USDT",
            isMaker=True,
        ),
        TradeAnswer(
            id=2,
            orderId=9,
            price="102",
            qty="0.5",
            quoteQty="51",
            commission="0.0005",
            commissionAsset="BTC",
            isMaker=False,
        ),
        TradeAnswer(
            id=3,
            orderId=9,
            price="101",
            qty="0.1",
            quoteQty="10.1",
            commission="0.001",
            commissionAsset="BNB",
            isMaker=False,
        ),
    ]
    fills, problems = parsing.venue_fills(trades, "BTC", "USDT")
    assert [(f.trade_id, f.fee, f.liquidity) for f in fills] == [
        ("3", D(0), "TAKER"),
        ("2", D("0.0510"), "TAKER"),
        ("1", D("0.05"), "MAKER"),
    ]
    assert problems == ["trade 3: fee 0.001 BNB not valued in USDT; counted 0"]


def test_exchange_info_filters_become_product_rules() -> None:
    info = msgspec.convert(
        {
            "symbols": [
                {
                    "symbol": "BTCUSDT",
                    "baseAsset": "BTC",
                    "quoteAsset": "USDT",
                    "filters": [
                        {"filterType": "PRICE_FILTER", "minPrice": "0.01", "maxPrice": "1000000", "tickSize": "0.01"},
                        {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
                        {"filterType": "NOTIONAL", "minNotional": "5.00000000", "applyMinToMarket": True},
                    ],
                },
                {"symbol": "ETHUSDT", "baseAsset": "ETH", "quoteAsset": "USDT", "filters": []},
                {"symbol": "OLDUSDT", "baseAsset": "OLD", "quoteAsset": "USDT", "status": "BREAK", "filters": []},
            ]
        },
        ExchangeInfo,
    )
    rules, symbols, problems = parsing.product_rules(info)
    assert set(rules) == {"BTC-USDT"} and rules["BTC-USDT"].price_increment == D("0.01")
    assert rules["BTC-USDT"].base_min_size == D("0.00001") and rules["BTC-USDT"].base_max_size == D("9000")
    assert rules["BTC-USDT"].min_notional == D("5")
    assert set(symbols) == {"BTC-USDT", "ETH-USDT", "OLD-USDT"}
    assert problems == ["symbol ETHUSDT: no PRICE_FILTER filter"]


class Headers(dict[str, str]):
    pass


def test_the_weight_gate_takes_the_venues_counts_and_waits_for_the_window_to_turn() -> None:
    gate = WeightGate(weight_limit=100, order_limit=2)
    start_of_minute = 120_000

    async def scenario() -> float:
        await gate.admit(10, False, start_of_minute)
        assert gate.used_weight == 10
        gate.update(Headers({"X-MBX-USED-WEIGHT-1M": "95", "X-MBX-ORDER-COUNT-10S": "2"}), start_of_minute + 5)
        assert (gate.used_weight, gate.order_count) == (95, 2)
        began = time.monotonic()
        await gate.admit(5, False, start_of_minute + 59_950)  # fits: 100
        assert time.monotonic() - began < 0.04
        await gate.admit(1, False, start_of_minute + 59_950)  # 101 > 100: waits for the next minute
        return time.monotonic() - began

    waited = asyncio.run(scenario())
    assert 0.04 <= waited < 1.0
    assert gate.waits == 1


def test_a_new_window_forgets_the_last_ones_counts() -> None:
    gate = WeightGate(weight_limit=100, order_limit=2)
    asyncio.run(gate.admit(99, True, 0))
    asyncio.run(gate.admit(99, True, 60_000))
    assert (gate.used_weight, gate.order_count, gate.waits) == (99, 1, 0)


def test_a_market_order_sized_in_quote_is_sent_as_quote_order_qty_and_reads_back() -> None:
    sent = OrderRequest.parse("BTC-USDT", "SELL", OrderType.MARKET, "150.5", in_quote=True)
    params = dict(parsing.order_params("cid-1", "BTCUSDT", sent))
    assert params["type"] == "MARKET" and params["quoteOrderQty"] == "150.5" and "quantity" not in params
    # Binance lists such an order with origQty 0 and the amount in origQuoteOrderQty.
    answer = OrderAnswer(symbol="BTCUSDT", orderId=8, type="MARKET", side="SELL", origQuoteOrderQty="150.5")
    assert parsing.request_from_order(answer, "BTC-USDT") == sent


def test_the_quote_asset_precision_is_the_step_of_a_quote_amount() -> None:
    symbol = {
        "symbol": "BTCUSDT",
        "baseAsset": "BTC",
        "quoteAsset": "USDT",
        "filters": [
            {"filterType": "PRICE_FILTER", "tickSize": "0.01"},
            {"filterType": "LOT_SIZE", "minQty": "0.00001", "maxQty": "9000", "stepSize": "0.00001"},
        ],
    }
    info = msgspec.convert({"symbols": [{**symbol, "quoteAssetPrecision": 8}]}, ExchangeInfo)
    rules, _, problems = parsing.product_rules(info)
    assert rules["BTC-USDT"].quote_increment == D("1e-8") and rules["BTC-USDT"].quote_sized_sells and not problems
    info = msgspec.convert({"symbols": [{**symbol, "quoteAssetPrecision": 40}]}, ExchangeInfo)
    assert parsing.product_rules(info)[2] == ["symbol BTCUSDT: quoteAssetPrecision 40 is not from 0 to 18"]
