"""Trading end to end over real sockets: the engine's orders at the paper venue, their states,
fills, positions and PnL checked against what the venue itself recorded."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from cryptoj_tui.engine import Engine, ProductUnavailable
from cryptoj_tui.engine.events import OrderFilled, OrderUpdated, ProductRefused
from cryptoj_tui.engine.orders import Order, OrderError, OrderStatus
from cryptoj_tui.engine.trading import OrderRefusedError
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import BOTH_VENUES, next_event
from tests.integration.helpers import (
    assert_position_matches_venue_fills,
    best,
    drop_connections,
    owner,
    venue_order,
)


@BOTH_VENUES
async def test_a_resting_limit_order_is_acked_listed_and_cancelled(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: place a passive buy; it is OPEN here and at the venue; cancel it; both agree."""
    bid, _ = best(trader)
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=bid - 10)
    await trader.wait_for(order, "OPEN")
    assert order.order_id and trader.open_orders() == [order]
    assert venue_order(quiet_venue, order.order_id).status == "OPEN"
    cancelled, failed = await trader.cancel(order)
    assert cancelled == [order] and failed == []
    assert order.status is OrderStatus.CANCELLED and trader.open_orders() == []
    assert venue_order(quiet_venue, order.order_id).status == "CANCELLED"


@BOTH_VENUES
async def test_a_market_buy_fills_and_the_position_matches_the_venue_fills(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: market buy then market sell; position, average price, fees and realised PnL are
    exactly what the venue's own fills say."""
    events = trader.events()
    buy = await trader.place_market("BTC-USD", "buy", size="0.5")
    await trader.wait_for(buy, "FILLED")
    await next_event(events, lambda e: isinstance(e, OrderFilled))
    fills = venue_order(quiet_venue, buy.order_id).fills
    cost = sum(f.price * f.size for f in fills)
    position = trader.positions()["BTC-USD"]
    assert position.quantity == D("0.5")
    assert position.average_price == cost / D("0.5")
    assert position.fees == sum(f.commission for f in fills)
    sell = await trader.place_market("BTC-USD", "sell", size="0.5")
    await trader.wait_for(sell, "FILLED")
    sell_fills = venue_order(quiet_venue, sell.order_id).fills
    proceeds = sum(f.price * f.size for f in sell_fills)
    assert position.quantity == 0
    # Binance tells each trade of an order on its own: a sell in several parts is realised part
    # by part against the average cost, exact to Decimal's 28 digits, not beyond.
    assert position.realised.quantize(D("1e-12")) == (proceeds - cost).quantize(D("1e-12"))
    assert position.fees == sum(f.commission for f in fills + sell_fills)


@BOTH_VENUES
async def test_a_market_buy_sized_in_quote_spends_no_more_than_its_amount(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: buy 150 USD worth at market (Coinbase's quote_size, Binance's quoteOrderQty); the
    venue's order carries the amount; what it spent, fees included, is within it; the position is
    exactly the venue's fills."""
    assert trader.trading is not None and trader.trading.products["BTC-USD"].quote_increment == D("0.01")
    buy = await trader.place_market("BTC-USD", "buy", quote_size="150")
    await trader.wait_for(buy, "FILLED")
    assert buy.request.in_quote and venue_order(quiet_venue, buy.order_id).quote_size == D("150")
    assert buy.filled_size > 0 and buy.filled_value + buy.fees <= D("150")
    assert_position_matches_venue_fills(trader, quiet_venue, [buy.order_id])
    (listed,) = [o for o in trader.orders() if o.client_order_id == buy.client_order_id]
    assert listed.request.size_text == "150 USD worth"


@BOTH_VENUES
async def test_quote_amounts_the_venue_cannot_take_are_refused_and_binance_sells_by_quote(
    trader: Engine, quiet_venue: PaperVenue, venue_protocol: str
) -> None:
    """Scenario: a quote amount finer than the venue's step is refused before it is sent; a market
    sell sized in quote is refused before sending on Coinbase (which has none) and sells what
    the bids pay up to the amount on Binance."""
    with pytest.raises(OrderRefusedError, match=r"not a multiple of the quote increment 0\.01"):
        await trader.place_market("BTC-USD", "buy", quote_size="150.005")
    with pytest.raises(OrderError, match="exactly one of size or quote_size"):
        await trader.place_market("BTC-USD", "buy", size="0.1", quote_size="150")
    buy = await trader.place_market("BTC-USD", "buy", size="0.1")
    await trader.wait_for(buy, "FILLED")
    if venue_protocol == "coinbase":
        with pytest.raises(OrderRefusedError, match="the venue sizes a market sell in the base currency only"):
            await trader.place_market("BTC-USD", "sell", quote_size="50")
        assert trader.positions()["BTC-USD"].quantity == D("0.1")
    else:  # Binance sells by quoteOrderQty: what the bids pay, up to the amount
        sell = await trader.place_market("BTC-USD", "sell", quote_size="50")
        await trader.wait_for(sell, "FILLED")
        assert 0 < sell.filled_value <= D("50") and sell.request.in_quote
        assert venue_order(quiet_venue, sell.order_id).quote_size == D("50")
        fills = venue_order(quiet_venue, sell.order_id).fills
        assert sell.filled_size == sum(f.size for f in fills) and sell.filled_value == sum(
            f.price * f.size for f in fills
        )
        assert trader.positions()["BTC-USD"].quantity == D("0.1") - sell.filled_size


@BOTH_VENUES
@pytest.mark.parametrize(
    ("kind", "details", "final"),
    [
        ("limit", {"post_only": False}, "FILLED"),  # priced through the ask: takes at once
        ("ioc", {}, "FILLED"),
        ("fok", {}, "FILLED"),
        ("limit_gtd", {"end_time": datetime.now(UTC) + timedelta(hours=1)}, "FILLED"),
    ],
)
async def test_every_marketable_type_fills_end_to_end(
    trader: Engine, quiet_venue: PaperVenue, kind: str, details: dict, final: str, venue_protocol: str
) -> None:
    """Scenario: each limit flavour priced to take liquidity fills and lands in the position
    (Binance Spot has no good-till-date: the engine refuses one before sending it)."""
    _, ask = best(trader)
    order = await trader.place("BTC-USD", "buy", kind, "0.01", price=ask + 50, **details)
    if venue_protocol == "binance" and kind == "limit_gtd":
        assert (order.status, order.reason) == (OrderStatus.REJECTED, "Binance Spot has no good-till-date orders")
        assert owner(trader) not in {o.owner for o in quiet_venue.exchange.orders.values()}
        return
    await trader.wait_for(order, final)
    assert venue_order(quiet_venue, order.order_id).status == final
    assert_position_matches_venue_fills(trader, quiet_venue, [order.order_id])


@BOTH_VENUES
async def test_a_stop_limit_triggers_and_fills(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: a buy stop at the best ask; our market buy trades there and wakes it; it fills."""
    _, ask = best(trader)
    stop = await trader.place("BTC-USD", "buy", "stop_limit", "0.01", price=ask + 50, stop_price=ask)
    await trader.wait_for(stop, "OPEN")
    market = await trader.place_market("BTC-USD", "buy", size="0.01")
    await trader.wait_for(market, "FILLED")
    await trader.wait_for(stop, "FILLED")
    assert stop.filled_size == D("0.01") and stop.average_price is not None and stop.average_price <= ask + 50
    assert_position_matches_venue_fills(trader, quiet_venue, [stop.order_id, market.order_id])


@BOTH_VENUES
async def test_a_take_profit_limit_waits_for_the_price_to_come_to_it(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: a take-profit buy with its stop under the last trade rests untriggered; another
    trader sells the price down through the stop; it wakes and buys (Coinbase's stop-limit with
    the stop below, Binance's TAKE_PROFIT_LIMIT)."""
    last = quiet_venue.tapes["BTC-USD"].last
    assert last is not None
    stop = (last - 5).quantize(D("0.01"))
    _, ask = best(trader)
    order = await trader.place("BTC-USD", "buy", "take_profit_limit", "0.01", price=ask + 50, stop_price=stop)
    await trader.wait_for(order, "OPEN")
    assert venue_order(quiet_venue, order.order_id).stop_price == stop and order.filled_size == 0
    bids, _ = quiet_venue.book_levels("BTC-USD")
    through = sum(size for price, size in bids if price >= stop) + D("0.01")
    another_trader_sells(quiet_venue, str(through))
    await trader.wait_for(order, "FILLED")
    assert_position_matches_venue_fills(trader, quiet_venue, [order.order_id])


@BOTH_VENUES
async def test_a_fok_that_cannot_fill_completely_fills_nothing(
    trader: Engine, quiet_venue: PaperVenue, venue_protocol: str
) -> None:
    """Scenario: fill-or-kill below the ask: nothing trades, the order ends at once."""
    bid, _ = best(trader)
    order = await trader.place("BTC-USD", "buy", "fok", "0.01", price=bid)
    # The paper venue refuses it at once (nothing rests, nothing trades) with the reason.
    assert (order.status, order.order_id, order.filled_size) == (OrderStatus.REJECTED, "", 0)
    assert (
        order.reason
        == {
            "coinbase": "FOK_CANNOT_FILL: fill-or-kill order cannot fill completely now",
            "binance": "-2010: Fill-or-kill order cannot fill completely now.",
        }[venue_protocol]
    )
    assert not any(o.client_order_id == order.client_order_id for o in quiet_venue.exchange.orders.values())
    assert "BTC-USD" not in trader.positions()


@BOTH_VENUES
async def test_a_stop_limit_waits_and_is_cancellable(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: a buy stop above the market rests untriggered; cancel it."""
    _, ask = best(trader)
    order = await trader.place("BTC-USD", "buy", "stop_limit", "0.01", price=ask + 200, stop_price=ask + 100)
    await trader.wait_for(order, "OPEN")
    assert venue_order(quiet_venue, order.order_id).stop_price == ask + 100
    await trader.cancel(order)
    assert order.status is OrderStatus.CANCELLED


@BOTH_VENUES
async def test_a_post_only_order_that_would_take_is_rejected_with_the_venue_reason(trader: Engine) -> None:
    """Scenario: post-only priced through the ask: the venue refuses it; we say why."""
    _, ask = best(trader)
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=ask + 1, post_only=True)
    words = ("post", "would immediately match and take")  # Coinbase's words, Binance's
    assert order.status is OrderStatus.REJECTED and any(w in order.reason.lower() for w in words)


@BOTH_VENUES
async def test_a_venue_rejection_is_recorded_with_its_reason(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: the venue refuses the order (injected INSUFFICIENT_FUND)."""
    quiet_venue.faults.reject_orders("INSUFFICIENT_FUND")
    bid, _ = best(trader)
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=bid)
    words = ("INSUFFICIENT_FUND", "insufficient balance")  # Coinbase's words, Binance's
    assert order.status is OrderStatus.REJECTED and any(w in order.reason for w in words)


@BOTH_VENUES
async def test_bad_requests_never_reach_the_wire(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: malformed orders are refused by name before anything is sent."""
    for args, kwargs, message in [
        (("BTC-USD", "buy"), {"size": "-1", "price": "100"}, "size must be a finite number above 0"),
        (("BTC-USD", "buy"), {"size": "abc", "price": "100"}, "size 'abc' is not a number"),
        (("BTC-USD", "hold"), {"size": "1", "price": "100"}, "side must be buy or sell"),
        (("btc", "buy"), {"size": "1", "price": "100"}, "not of the form BASE-QUOTE"),
        (("BTC-USD", "buy"), {"size": "1", "price": "NaN"}, "price must be a finite number"),
    ]:
        with pytest.raises(OrderError, match=message):
            await trader.place_limit(*args, **kwargs)
    assert quiet_venue.exchange.owner_orders(owner(trader)) == []


@BOTH_VENUES
async def test_a_fill_missed_while_the_user_channel_was_down_is_reconciled(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: the venue drops every connection; while we are away our resting order fills;
    on reconnect the engine asks the venue, finds the fill, and reports the difference."""
    from cryptoj_tui.engine.events import Reconciled

    bids, asks = quiet_venue.book_levels("BTC-USD")
    inside = (bids[0][0] + (asks[0][0] - bids[0][0]) / 2).quantize(D("0.01"))
    order = await trader.place_limit("BTC-USD", "buy", size="0.001", price=inside, post_only=True)
    await trader.wait_for(order, "OPEN")
    events = trader.events()
    await drop_connections(quiet_venue)  # no close frame: the engine only notices on its next read
    quiet_venue.create_order(
        "another-trader",
        {
            "client_order_id": "x",
            "product_id": "BTC-USD",
            "side": "SELL",
            "order_configuration": {"market_market_ioc": {"base_size": "0.001"}},
        },
    )
    report = await next_event(events, lambda e: isinstance(e, Reconciled) and e.kind == "missed_fill")
    assert report.client_order_id == order.client_order_id  # type: ignore[attr-defined]
    assert order.status is OrderStatus.FILLED and trader.positions()["BTC-USD"].quantity == D("0.001")


@BOTH_VENUES
async def test_the_user_channel_is_ready_only_while_its_connection_has_the_snapshot(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: the venue drops every connection; the user channel is not ready until the new
    connection's snapshot is in (what the reconnect benchmark times), then ready again."""
    assert trader.trading is not None
    user = trader.trading.user_feed
    assert user.ready.is_set()
    await drop_connections(quiet_venue)
    async with asyncio.timeout(5):
        while user.ready.is_set():
            await asyncio.sleep(0.001)
        await user.ready.wait()
    assert user.metrics.frames > 0


def another_trader_sells(venue: PaperVenue, size: str, product_id: str = "BTC-USD") -> None:
    venue.create_order(
        "another-trader",
        {
            "client_order_id": f"other-{size}-{len(venue.exchange.orders)}",
            "product_id": product_id,
            "side": "SELL",
            "order_configuration": {"market_market_ioc": {"base_size": size}},
        },
    )


async def partially_filled_buy(trader: Engine, venue: PaperVenue) -> tuple[Order, D]:
    """A passive buy of 0.003 inside the spread, acked, then 0.001 of it sold into by another trader."""
    bids, asks = venue.book_levels("BTC-USD")
    price = (bids[0][0] + (asks[0][0] - bids[0][0]) / 2).quantize(D("0.01"))
    order = await trader.place_limit("BTC-USD", "buy", size="0.003", price=price, post_only=True)
    await trader.wait_for(order, "OPEN")
    another_trader_sells(venue, "0.001")
    await trader.wait_for(order, "PARTIALLY_FILLED")
    return order, price


@BOTH_VENUES
async def test_place_ack_partial_fills_fill_then_position_and_pnl(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: a passive buy of 0.003 inside the spread is acked; another trader sells into it
    0.001 (partially filled, 0.002 leaves) then 0.002 (filled). The position is 0.003 at our price;
    unrealised PnL is marked at mid; fees are the venue's."""
    order, price = await partially_filled_buy(trader, quiet_venue)
    assert (order.filled_size, order.leaves) == (D("0.001"), D("0.002"))
    assert trader.positions()["BTC-USD"].quantity == D("0.001")
    another_trader_sells(quiet_venue, "0.002")
    await trader.wait_for(order, "FILLED")
    assert order.average_price == price
    assert_position_matches_venue_fills(trader, quiet_venue, [order.order_id])
    position = trader.positions()["BTC-USD"]
    assert position.average_price == price
    mid = trader.book("BTC-USD").mid()
    assert mid is not None and position.unrealised(mid) == (mid - price) * D("0.003")


@BOTH_VENUES
async def test_many_products_at_once(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: BTC, ETH and SOL books live together; a market buy on each; each position is what
    that product's venue fills say, and a resting order per product is cancelled by product."""
    products = ["BTC-USD", "ETH-USD", "SOL-USD"]
    for product in products[1:]:
        await trader.subscribe(product)
    for product in products:
        await trader.wait_for_book(product)
    buys = [await trader.place_market(product, "buy", size="0.01") for product in products]
    for buy in buys:
        await trader.wait_for(buy, "FILLED")
    for product, buy in zip(products, buys, strict=True):
        assert_position_matches_venue_fills(trader, quiet_venue, [buy.order_id], product)
    resting = [await trader.place_limit(p, "buy", size="0.01", price=best(trader, p)[0] - 1) for p in products]
    cancelled, failed = await trader.cancel_all("ETH-USD")
    assert [o.product_id for o in cancelled] == ["ETH-USD"] and failed == []
    assert sorted(o.product_id for o in trader.open_orders()) == ["BTC-USD", "SOL-USD"]
    assert all(
        venue_order(quiet_venue, o.order_id).status == ("CANCELLED" if o.product_id == "ETH-USD" else "OPEN")
        for o in resting
    )


async def test_an_edit_moves_a_resting_order_in_place_and_keeps_what_filled(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: a passive GTC buy of 0.003 fills 0.001; the trader moves it 50 closer. The venue
    edits it in place (orders/edit): the same order, 0.003 in all at the new price, 0.002 left,
    post-only still; the engine's order says so, counts the edit and journals the new request."""
    order, price = await partially_filled_buy(trader, quiet_venue)
    events = trader.events()
    lower = price - 50
    same = await trader.replace(order, price=lower)
    assert same is order and order.status is OrderStatus.PARTIALLY_FILLED
    venue_side = venue_order(quiet_venue, order.order_id)
    assert (venue_side.status, venue_side.limit_price, venue_side.base_size, venue_side.post_only) == (
        "OPEN",
        lower,
        D("0.003"),
        True,
    )
    assert [(e["price"], e["size"]) for e in venue_side.edit_history] == [(str(lower), "0.003")]
    assert (order.request.price, order.request.size, order.leaves, order.edits) == (lower, D("0.003"), D("0.002"), 1)
    assert trader.open_orders() == [order] and trader.positions()["BTC-USD"].quantity == D("0.001")
    update = await next_event(events, lambda e: isinstance(e, OrderUpdated) and e.order["edits"] == 1)
    assert isinstance(update, OrderUpdated) and update.order["price"] == str(lower)
    assert trader.trading is not None
    journalled = {o.client_order_id: o.request for o in trader.trading.journal.orders()}
    assert journalled[order.client_order_id] == order.request  # a restart recovers the edited order
    assert any(kind == "order.edited" for _, kind, _ in trader.trading.journal.events())
    # Back inside the spread and smaller; the rest then fills there.
    await trader.replace(order, price=price, size="0.002")
    assert venue_order(quiet_venue, order.order_id).base_size == D("0.002") and order.leaves == D("0.001")
    with pytest.raises(OrderError, match=r"has filled 0\.001: its size must stay above that"):
        await trader.replace(order, size="0.001")
    with pytest.raises(OrderError, match="already has that price and size: nothing to change"):
        await trader.replace(order, price=price)
    another_trader_sells(quiet_venue, "0.001")
    await trader.wait_for(order, "FILLED")
    assert order.average_price == price and order.edits == 2
    assert_position_matches_venue_fills(trader, quiet_venue, [order.order_id])


@BOTH_VENUES
async def test_an_order_the_venue_cannot_edit_is_cancelled_and_replaced_for_what_is_left(
    trader: Engine, quiet_venue: PaperVenue, venue_protocol: str
) -> None:
    """Scenario: a buy of 0.003 the venue cannot edit (Coinbase edits only GTC limit orders: a
    GTD; Binance Spot none: a GTC) fills 0.001; the trader moves it 50 closer. The old order is
    cancelled at the venue first, then a new one for the 0.002 left rests at the new price."""
    bids, asks = quiet_venue.book_levels("BTC-USD")
    price = (bids[0][0] + (asks[0][0] - bids[0][0]) / 2).quantize(D("0.01"))
    end = datetime.now(UTC) + timedelta(hours=1)
    kind, details = ("limit", {}) if venue_protocol == "binance" else ("limit_gtd", {"end_time": end})
    order = await trader.place("BTC-USD", "buy", kind, "0.003", price=price, post_only=True, **details)
    await trader.wait_for(order, "OPEN")
    another_trader_sells(quiet_venue, "0.001")
    await trader.wait_for(order, "PARTIALLY_FILLED")
    lower = price - 50
    new = await trader.replace(order, price=lower)
    await trader.wait_for(new, "OPEN")
    assert new is not order and order.status is OrderStatus.CANCELLED
    assert venue_order(quiet_venue, order.order_id).status == "CANCELLED"
    venue_new = venue_order(quiet_venue, new.order_id)
    assert (venue_new.status, venue_new.limit_price, venue_new.base_size, venue_new.post_only) == (
        "OPEN",
        lower,
        D("0.002"),
        True,
    )
    if venue_protocol == "coinbase":
        assert venue_new.configuration_name == "limit_limit_gtd" and venue_new.end_time is not None
    assert trader.open_orders() == [new] and new.request.post_only
    assert trader.positions()["BTC-USD"].quantity == D("0.001")


async def test_an_edit_the_venue_refuses_or_fails_leaves_the_order_as_it_was(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: a post-only buy may not be edited to a price that takes liquidity; then the venue
    fails every call (500s) and the edit is settled by reading the order back (unchanged)."""
    bid, ask = best(trader)
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=bid - 100, post_only=True)
    await trader.wait_for(order, "OPEN")
    with pytest.raises(OrderError, match="refused by the venue: PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY"):
        await trader.replace(order, price=ask)
    assert (order.request.price, order.edits) == (bid - 100, 0)
    assert venue_order(quiet_venue, order.order_id).limit_price == bid - 100
    quiet_venue.faults.fail_rest(500, count=4)  # the edit's four tries; the read-back gets through
    with pytest.raises(OrderError, match=r"not made .*HTTP 500.*: the order is as it was"):
        await trader.replace(order, price=bid - 90)
    quiet_venue.faults.fail_rest(500, count=20)  # and now the read-back fails too
    with pytest.raises(OrderError, match=r"could not be read back .*: its price and size at the venue are not known"):
        await trader.replace(order, price=bid - 90)
    quiet_venue.faults.clear()
    assert order.status.is_working and (order.request.price, order.edits) == (bid - 100, 0)
    assert venue_order(quiet_venue, order.order_id).limit_price == bid - 100


@BOTH_VENUES
async def test_a_replacement_risk_refuses_leaves_the_old_order_working(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: max order size 0.1; replacing a working 0.01 with 0.2 is refused before anything
    is cancelled: the old order is still working, here and at the venue. Replacing it with 0.1
    is checked as if the old one were gone (its size does not count against the new one)."""
    trader.set_limit("max_position", "0.1", reason="test")
    bid, _ = best(trader)
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=bid - 100)
    await trader.wait_for(order, "OPEN")
    with pytest.raises(OrderRefusedError, match=r"replacement refused, .* still working: position would reach 0\.2"):
        await trader.replace(order, size="0.2")
    assert order.status is OrderStatus.OPEN and venue_order(quiet_venue, order.order_id).status == "OPEN"
    new = await trader.replace(order, size="0.1")
    await trader.wait_for(new, "OPEN")
    assert venue_order(quiet_venue, new.order_id).base_size == D("0.1")


@BOTH_VENUES
async def test_a_replace_whose_cancel_fails_sends_nothing(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: the venue fails the cancel of an order it cannot edit (a stop-limit; 500s); the
    replacement is not sent, the old order is still working, and the error says so. Replacing a
    finished order is refused by name."""
    bid, ask = best(trader)
    order = await trader.place("BTC-USD", "buy", "stop_limit", "0.01", price=ask + 110, stop_price=ask + 100)
    await trader.wait_for(order, "OPEN")
    quiet_venue.faults.fail_rest(500, count=20)
    with pytest.raises(OrderError, match=f"order {order.client_order_id} was not cancelled .*: no replacement sent"):
        await trader.replace(order, price=ask + 120)
    quiet_venue.faults.clear()
    assert order.status.is_working and len(quiet_venue.exchange.owner_orders(owner(trader))) == 1
    await trader.cancel(order)
    with pytest.raises(OrderError, match="is CANCELLED: nothing to replace"):
        await trader.replace(order, price=bid - 90)


@BOTH_VENUES
async def test_a_cancel_is_published_once_whichever_of_rest_and_the_user_channel_says_it_first(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Issue 18.10: a cancel was published (and journalled) CANCELLED twice: once from the user
    channel, again when the REST answer found it already final."""
    events = trader.events()
    bid, _ = best(trader)
    orders = [await trader.place_limit("BTC-USD", "buy", size="0.001", price=bid - 10 - n) for n in range(5)]
    for order in orders:
        await trader.wait_for(order, "OPEN")
    cancelled, failed = await trader.cancel(*orders)
    assert sorted(o.client_order_id for o in cancelled) == sorted(o.client_order_id for o in orders) and failed == []
    await asyncio.sleep(0.3)  # the user channel's word on each cancel arrives too
    said = [(e.client_order_id, e.status) for e in iter(events.get_nowait, None) if isinstance(e, OrderUpdated)]
    for order in orders:
        assert said.count((order.client_order_id, "CANCELLED")) == 1


@BOTH_VENUES
async def test_a_product_the_venue_does_not_list_is_refused_at_once_naming_what_it_lists(trader: Engine) -> None:
    """Issue 18.7: with a key the engine has the venue's product list; an unlisted product is
    refused when subscribed (nothing is asked of the venue) and waiting for its book ends at once."""
    events = trader.events()
    with pytest.raises(
        ProductUnavailable, match=r"^the venue does not list DOGE-USD \(it lists BTC-USD, ETH-USD, SOL-USD\)$"
    ):
        await trader.subscribe("ETH-USD", "DOGE-USD")
    assert "ETH-USD" not in trader.market_data.products()  # nothing of a refused call is subscribed
    refused = await next_event(events, lambda e: isinstance(e, ProductRefused))
    assert refused.product_id == "DOGE-USD"  # type: ignore[attr-defined]
    with pytest.raises(ProductUnavailable, match="does not list DOGE-USD"):
        await trader.wait_for_book("DOGE-USD", timeout=5)


@BOTH_VENUES
async def test_a_product_with_a_position_or_working_orders_cannot_be_unsubscribed(trader: Engine) -> None:
    """Its book prices the risk checks and marks the position: the refusal names the stake."""
    buy = await trader.place_market("BTC-USD", "buy", size="0.01")
    await trader.wait_for(buy, "FILLED")
    with pytest.raises(ValueError, match=r"^BTC-USD has a position of 0\.01: its book is needed"):
        await trader.unsubscribe("BTC-USD")
    assert trader.market_data.is_live("BTC-USD")
    await trader.subscribe("ETH-USD")
    bid = (await trader.wait_for_book("ETH-USD")).best_bid()
    assert bid is not None
    resting = await trader.place_limit("ETH-USD", "buy", size="0.01", price=bid[0] - 10)
    await trader.wait_for(resting, "OPEN")
    with pytest.raises(ValueError, match=r"^ETH-USD has 1 working order\(s\)"):
        await trader.unsubscribe("ETH-USD")
    await trader.cancel(resting)
    await trader.wait_for(resting, "CANCELLED")
    await trader.unsubscribe("ETH-USD")
    assert "ETH-USD" not in trader.market_data.products()


@BOTH_VENUES
async def test_a_deposit_reaches_the_balances_and_the_inventory(
    trader: Engine, quiet_venue: PaperVenue, venue_protocol: str
) -> None:
    """Scenario: 1000 USD and 0.5 BTC arrive in the account while the engine trades. On Binance
    the user stream tells it at once (balanceUpdate, then the balance); Coinbase's user channel
    carries no balances, so they are read at the next reconciliation."""
    before_usd, before_btc = trader.balances()["USD"].total, trader.balances()["BTC"].total
    events = trader.events()
    quiet_venue.transfer(owner(trader), "USD", D("1000"))
    quiet_venue.transfer(owner(trader), "BTC", D("0.5"))
    if venue_protocol == "coinbase":
        await trader.reconcile("deposit")
    for _ in range(200):
        if trader.balances()["BTC"].total == before_btc + D("0.5"):
            break
        await asyncio.sleep(0.01)
    assert trader.balances()["USD"].total == before_usd + 1000
    assert trader.balances()["BTC"].total == before_btc + D("0.5")
    assert trader.inventory()["BTC"] == before_btc + D("0.5")  # not traded here: cost unknown
    assert trader.positions().get("BTC-USD") is None or trader.positions()["BTC-USD"].quantity == 0
    while (event := events.get_nowait()) is not None:  # every stream event was read: no problem told
        assert "unreadable" not in str(event), event
    with pytest.raises(ValueError, match="a transfer of -1000000 USD"):
        quiet_venue.transfer(owner(trader), "USD", D("-1000000"))
