"""Orders found at the venue: read back into requests, and taken in (or reported) by execution."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal as D
from typing import Any

import pytest

from cryptoj_tui.cdp_keys import generate_key
from cryptoj_tui.engine.adapters.base import VenueOrder
from cryptoj_tui.engine.adapters.coinbase.auth import JwtSigner
from cryptoj_tui.engine.adapters.coinbase.execution_client import CoinbaseExecutionClient
from cryptoj_tui.engine.adapters.coinbase.parsing import order_configuration, order_update, request_from_order
from cryptoj_tui.engine.adapters.coinbase.parsing import venue_order as read_venue_order
from cryptoj_tui.engine.adapters.coinbase.rest import CoinbaseRest
from cryptoj_tui.engine.bus import EventBus, Subscription
from cryptoj_tui.engine.events import Alert, Reconciled
from cryptoj_tui.engine.execution import Execution
from cryptoj_tui.engine.journal import Journal
from cryptoj_tui.engine.orders import Order, OrderError, OrderRequest, OrderStatus, VenueOrderUpdate

REQUESTS = [
    OrderRequest("BTC-USD", "sell", "market", "0.5"),
    OrderRequest("BTC-USD", "buy", "limit", "0.5", price="10.25", post_only=True),
    OrderRequest("BTC-USD", "buy", "limit_gtd", "0.5", price="10", end_time=datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
    OrderRequest("ETH-USD", "sell", "fok", "2", price="3000"),
    OrderRequest("ETH-USD", "buy", "ioc", "2", price="3000"),
    OrderRequest("BTC-USD", "sell", "stop_limit", "0.5", price="9", stop_price="9.5"),
]


def venue_json(request: OrderRequest, **fields: Any) -> dict[str, Any]:
    return {
        "order_id": "v1",
        "client_order_id": "c1",
        "product_id": request.product_id,
        "side": str(request.side),
        "status": "OPEN",
        "order_configuration": order_configuration(request),
        **fields,
    }


@pytest.mark.parametrize("request_", REQUESTS, ids=lambda r: str(r.type))
def test_every_order_type_reads_back_from_its_configuration(request_: OrderRequest) -> None:
    assert request_from_order(venue_json(request_)) == request_


@pytest.mark.parametrize(
    ("configuration", "message"),
    [
        (
            {"limit_limit_gtc": {"quote_size": "100", "limit_price": "10"}},
            "a limit_limit_gtc order without a base_size",
        ),
        ({"market_market_ioc": {}}, "a market_market_ioc order without a base_size"),
        ({"twap_limit_gtd": {"base_size": "1", "limit_price": "10"}}, "'twap_limit_gtd' is not one this engine trades"),
        ({"limit_limit_gtc": {"base_size": "1", "limit_price": "ten"}}, "price 'ten' is not a number"),
        (
            {"limit_limit_gtd": {"base_size": "1", "limit_price": "10", "end_time": "soon"}},
            "unreadable order configuration",
        ),
        ({}, "venue order v9: unreadable order configuration"),
        ("limit", "venue order v9: unreadable order configuration"),
    ],
)
def test_a_configuration_this_engine_cannot_trade_is_a_clear_error(configuration: object, message: str) -> None:
    with pytest.raises(OrderError, match=message):
        request_from_order(
            {"order_id": "v9", "product_id": "BTC-USD", "side": "BUY", "order_configuration": configuration}
        )


def venue(request: OrderRequest, **fields: Any) -> VenueOrder:
    return read_venue_order(venue_json(request, **fields))


def drain(events: Subscription) -> list[Reconciled]:
    found = []
    while (event := events.get_nowait()) is not None:
        if isinstance(event, Reconciled):
            found.append(event)
    return found


@pytest.fixture
def execution() -> Execution:
    client = CoinbaseExecutionClient(CoinbaseRest("http://127.0.0.1:9", JwtSigner(generate_key())))
    return Execution(client, EventBus(), Journal(":memory:"))


def test_an_open_venue_order_is_taken_in_journalled_and_reported(execution: Execution) -> None:
    events = execution._bus.subscribe()
    order = execution.take_in_venue_order(venue(REQUESTS[1], filled_size="0.1", filled_value="1.025"))
    assert order is not None and order.status is OrderStatus.PARTIALLY_FILLED and order.order_id == "v1"
    assert execution.working() == [order] and execution._journal.orders()[0].client_order_id == "c1"
    assert execution.take_in_venue_order(venue(REQUESTS[1])) is None  # known now: not twice
    reports = drain(events)
    assert [r.detail for r in reports] == [
        "open at the venue, unknown here: now tracked (limit BUY 0.5 BTC-USD @ 10.25)"
    ]


def test_a_market_order_the_venue_sized_in_quote_is_tracked_with_its_amount(execution: Execution) -> None:
    order = execution.take_in_venue_order(
        venue(REQUESTS[0], order_configuration={"market_market_ioc": {"quote_size": "100"}})
    )
    assert order is not None and order.request.in_quote and order.request.size == D("100")
    assert order.leaves == 0  # its base size is not known here: it counts none against the limits


def test_a_venue_order_without_a_client_id_is_tracked_by_its_venue_id(execution: Execution) -> None:
    order = execution.take_in_venue_order(venue(REQUESTS[0], client_order_id=""))
    assert order is not None and order.client_order_id == "venue-v1" and execution.knows("", "v1")


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        (
            {"order_configuration": {"limit_limit_gtc": {"quote_size": "100", "limit_price": "10"}}},
            "without a base_size",
        ),
        ({"filled_size": "lots"}, "filled size 'lots' is not a finite number from 0 to under 10^15"),
        ({"product_id": "BTC"}, "BTC"),
    ],
)
def test_a_venue_order_that_cannot_be_read_is_reported_not_tracked(
    execution: Execution, fields: dict, why: str
) -> None:
    events = execution._bus.subscribe()
    assert execution.take_in_venue_order(venue(REQUESTS[0], **fields)) is None
    (report,) = drain(events)
    assert report.detail.startswith("open at the venue, unknown here, cannot be tracked: ") and why in report.detail
    assert execution.orders == {}


def test_a_venue_order_the_journal_cannot_take_is_reported_not_tracked(execution: Execution) -> None:
    events = execution._bus.subscribe()
    execution._journal.close()
    assert execution.take_in_venue_order(venue(REQUESTS[1])) is None
    (report,) = drain(events)
    assert "cannot be tracked: journal :memory:: cannot read" in report.detail and execution.orders == {}


def test_finished_venue_orders_are_not_taken_in(execution: Execution) -> None:
    assert execution.take_in_venue_order(venue(REQUESTS[1], status="FILLED")) is None
    assert execution.orders == {}


def test_a_venue_order_without_an_id_is_reported_by_the_missing_field(execution: Execution) -> None:
    events = execution._bus.subscribe()
    data = venue_json(REQUESTS[1])
    del data["order_id"]
    assert execution.take_in_venue_order(read_venue_order(data)) is None
    (report,) = drain(events)
    assert (
        report.detail
        == "open at the venue, unknown here, cannot be tracked: order: Object missing required field `order_id`"
    )


def test_a_venue_order_the_journal_will_not_write_is_reported_not_tracked(execution: Execution) -> None:
    events = execution._bus.subscribe()
    execution._journal._db.execute("PRAGMA query_only=ON")  # reads work, writes are refused
    assert execution.take_in_venue_order(venue(REQUESTS[1])) is None
    (report,) = drain(events)
    assert "cannot be tracked: journal :memory:: cannot write: attempt to write a readonly database" in report.detail
    assert execution.orders == {}


def test_a_venue_order_the_journal_has_as_finished_is_reported_once_and_not_taken_in(execution: Execution) -> None:
    events = execution._bus.subscribe()
    finished = Order("c1", REQUESTS[1], status=OrderStatus.CANCELLED)
    execution._journal.record_intent(finished)
    assert execution.take_in_venue_order(venue(REQUESTS[1])) is None
    assert execution.take_in_venue_order(venue(REQUESTS[1])) is None  # the user channel's snapshot after
    (report,) = drain(events)
    assert report.detail == "open at the venue, journalled as finished: BTC-USD" and execution.orders == {}


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"filled_size": "NaN"}, "filled size 'NaN' is not a finite number from 0 to under 10^15"),
        ({"filled_size": "-0.5"}, "filled size '-0.5' is not a finite number"),
        ({"filled_size": "9" * 400}, "is not a finite number from 0 to under 10^15"),
        ({"filled_value": "Infinity"}, "filled value 'Infinity' is not a finite number from 0 to under 10^30"),
        ({"total_fees": "[]"}, "total fees '[]' is not a finite number under 10^15"),
        ({"filled_value": "", "average_filled_price": "-1"}, "average price '-1' is not a finite number"),
    ],
)
def test_a_venue_update_with_numbers_that_are_not_is_refused_in_one_line(fields: dict, why: str) -> None:
    """Fuzz (user channel): a 400-digit filled size went into an order and its position."""
    data = {"order_id": "v1", "status": "OPEN", "filled_size": "0.1", "filled_value": "1", "total_fees": "0"}
    with pytest.raises(ValueError, match=re.escape(why)):
        order_update(data | fields)
    assert order_update(data | {"total_fees": "-0.01"}).total_fees == D("-0.01")  # a rebate


def test_a_fill_of_more_than_the_order_or_worth_less_than_nothing_is_not_applied(execution: Execution) -> None:
    """Fuzz (user channel): the venue's word is taken for fills, but not for a fill past the
    order's size or one whose value falls: neither reaches the order or a position."""
    order = execution.take_in_venue_order(venue(REQUESTS[1], filled_size="0.1", filled_value="1.025"))
    assert order is not None
    events = execution._bus.subscribe()
    for filled, value in (("0.6", "6.15"), ("0.2", "1.0")):
        execution.on_venue_update(
            VenueOrderUpdate("v1", "c1", "OPEN", D(filled), D(value), D(0))  # size 0.5; 1.025 so far
        )
    assert (order.filled_size, order.filled_value) == (D("0.1"), D("1.025"))
    alerts = [e.message for e in iter(events.get_nowait, None) if isinstance(e, Alert)]
    assert alerts == [
        "the venue says order c1 filled 0.6 for 6.15 (size 0.5, filled 0.1 for 1.025): not applied",
        "the venue says order c1 filled 0.2 for 1.0 (size 0.5, filled 0.1 for 1.025): not applied",
    ]
    execution.on_venue_update(VenueOrderUpdate("v1", "c1", "OPEN", D("0.5"), D("5.125"), D(0)))
    assert order.filled_size == D("0.5")
