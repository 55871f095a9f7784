"""Coinbase's order JSON read into the engine's types and written from them (adapters/coinbase/parsing.py)."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import pytest

from cryptoj_tui.engine.adapters.coinbase.parsing import (
    attached_configuration,
    order_configuration,
    order_update,
    request_from_order,
)
from cryptoj_tui.engine.adapters.coinbase.stream import UserOrder
from cryptoj_tui.engine.orders import OrderError, OrderRequest


def request(**overrides: object) -> OrderRequest:
    fields: dict = {"product_id": "BTC-USD", "side": "buy", "type": "limit", "size": "1", "price": "100"}
    fields.update(overrides)
    return OrderRequest(**fields)


def test_a_take_profit_limit_is_a_stop_limit_the_other_way_round() -> None:
    for side, direction in (("buy", "STOP_DIRECTION_STOP_DOWN"), ("sell", "STOP_DIRECTION_STOP_UP")):
        take_profit = request(type="take_profit_limit", side=side, stop_price="99")
        configuration = order_configuration(take_profit)
        assert configuration["stop_limit_stop_limit_gtc"]["stop_direction"] == direction
        venue = {"order_id": "v", "product_id": "BTC-USD", "side": side.upper(), "order_configuration": configuration}
        assert request_from_order(venue) == take_profit
        stop = request(type="stop_limit", side=side, stop_price="99")
        venue["order_configuration"] = order_configuration(stop)
        assert request_from_order(venue) == stop


@pytest.mark.parametrize(
    ("overrides", "configuration"),
    [
        ({"type": "market", "price": None}, {"market_market_ioc": {"base_size": "1"}}),
        ({"post_only": True}, {"limit_limit_gtc": {"base_size": "1", "limit_price": "100", "post_only": True}}),
        (
            {"type": "limit_gtd", "end_time": datetime(2026, 12, 1, tzinfo=UTC)},
            {
                "limit_limit_gtd": {
                    "base_size": "1",
                    "limit_price": "100",
                    "end_time": "2026-12-01T00:00:00Z",
                    "post_only": False,
                }
            },
        ),
        ({"type": "fok"}, {"limit_limit_fok": {"base_size": "1", "limit_price": "100"}}),
        ({"type": "ioc"}, {"sor_limit_ioc": {"base_size": "1", "limit_price": "100"}}),
        (
            {"type": "stop_limit", "side": "sell", "stop_price": "99"},
            {
                "stop_limit_stop_limit_gtc": {
                    "base_size": "1",
                    "limit_price": "100",
                    "stop_price": "99",
                    "stop_direction": "STOP_DIRECTION_STOP_DOWN",
                }
            },
        ),
    ],
)
def test_each_type_has_its_wire_configuration(overrides: dict, configuration: dict) -> None:
    assert order_configuration(request(**overrides)) == configuration


def test_a_bracket_and_an_entry_carrying_one_have_their_wire_configurations() -> None:
    bracket = request(type="bracket", side="sell", price="110", stop_price="95")
    assert order_configuration(bracket) == {
        "trigger_bracket_gtc": {"base_size": "1", "limit_price": "110", "stop_trigger_price": "95"}
    }
    assert attached_configuration(bracket) is None
    entry = request(take_profit="110", stop_loss="95")
    assert order_configuration(entry) == {
        "limit_limit_gtc": {"base_size": "1", "limit_price": "100", "post_only": False}
    }
    assert attached_configuration(entry) == {"trigger_bracket_gtc": {"limit_price": "110", "stop_trigger_price": "95"}}
    venue = {
        "order_id": "v1",
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": order_configuration(entry),
        "attached_order_configuration": attached_configuration(entry),
    }
    assert request_from_order(venue) == entry
    venue["order_configuration"], venue["attached_order_configuration"] = order_configuration(bracket), None
    venue["side"] = "SELL"
    assert request_from_order(venue) == bracket


def test_venue_json_in_both_shapes() -> None:
    rest = order_update(
        {
            "order_id": "v",
            "client_order_id": "c",
            "status": "OPEN",
            "filled_size": "1",
            "average_filled_price": "10",
            "total_fees": "0.1",
        }
    )
    stream = order_update(
        UserOrder(order_id="v", status="OPEN", cumulative_quantity="1", avg_price="10", filled_value="", total_fees="")
    )
    assert rest.filled_value == stream.filled_value == D("10") and stream.total_fees == 0


def test_a_market_buy_sized_in_quote_is_sent_as_quote_size_and_reads_back() -> None:
    spend = request(type="market", price=None, size="150", in_quote=True)
    configuration = order_configuration(spend)
    assert configuration == {"market_market_ioc": {"quote_size": "150"}}
    venue = {"order_id": "v", "product_id": "BTC-USD", "side": "BUY", "order_configuration": configuration}
    assert request_from_order(venue) == spend


def test_coinbase_takes_no_market_sell_sized_in_quote() -> None:
    with pytest.raises(OrderError, match="Coinbase sizes a market sell in the base currency only"):
        order_configuration(request(type="market", side="sell", price=None, size="150", in_quote=True))
