"""Trading end to end over real sockets: the engine's orders at the paper venue, their states,
fills, positions and PnL checked against what the venue itself recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.events import OrderFilled, OrderRefused
from cryptoj_tui.engine.orders import OrderError, OrderStatus
from cryptoj_tui.engine.trading import OrderRefusedError
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import next_event


def venue_order(venue: PaperVenue, order_id: str):  # noqa: ANN201 - the venue's own record
    return venue.exchange.orders[order_id]


def best(engine: Engine) -> tuple[D, D]:
    book = engine.book("BTC-USD")
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None and ask is not None
    return bid[0], ask[0]


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


async def test_a_market_buy_fills_and_the_position_matches_the_venue_fills(trader: Engine, quiet_venue: PaperVenue) -> None:
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
    assert position.realised == proceeds - cost
    assert position.fees == sum(f.commission for f in fills + sell_fills)


@pytest.mark.parametrize(
    ("kind", "details", "final"),
    [
        ("limit", {"post_only": False}, "FILLED"),  # priced through the ask: takes at once
        ("ioc", {}, "FILLED"),
        ("fok", {}, "FILLED"),
        ("limit_gtd", {"end_time": datetime.now(UTC) + timedelta(hours=1)}, "FILLED"),
    ],
)
async def test_every_marketable_type_fills_end_to_end(trader: Engine, quiet_venue: PaperVenue, kind: str,
                                                      details: dict, final: str) -> None:
    """Scenario: each limit flavour priced to take liquidity fills and lands in the position."""
    _, ask = best(trader)
    order = await trader.place("BTC-USD", "buy", kind, "0.01", price=ask + 50, **details)
    await trader.wait_for(order, final)
    assert venue_order(quiet_venue, order.order_id).status == final
    assert_position_matches_venue_fills(trader, quiet_venue, [order.order_id])


def assert_position_matches_venue_fills(trader: Engine, venue: PaperVenue, order_ids: list[str]) -> None:
    fills = [f for order_id in order_ids for f in venue_order(venue, order_id).fills]
    position = trader.positions()["BTC-USD"]
    assert position.quantity == sum(f.size * (1 if f.side == "BUY" else -1) for f in fills)
    assert position.cost == sum(f.price * f.size * (1 if f.side == "BUY" else -1) for f in fills)
    assert position.fees == sum(f.commission for f in fills)


async def test_a_stop_limit_triggers_and_fills(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: a buy stop at the best ask; our market buy trades there and wakes it; it fills."""
    _, ask = best(trader)
    stop = await trader.place("BTC-USD", "buy", "stop_limit", "0.01", price=ask + 50, stop_price=ask)
    await trader.wait_for(stop, "OPEN")
    market = await trader.place_market("BTC-USD", "buy", size="0.01")
    await trader.wait_for(market, "FILLED")
    await trader.wait_for(stop, "FILLED")
    assert_position_matches_venue_fills(trader, quiet_venue, [stop.order_id, market.order_id])


async def test_a_fok_that_cannot_fill_completely_fills_nothing(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: fill-or-kill below the ask: nothing trades, the order ends at once."""
    bid, _ = best(trader)
    order = await trader.place("BTC-USD", "buy", "fok", "0.01", price=bid)
    if order.order_id:
        assert venue_order(quiet_venue, order.order_id).status in ("CANCELLED", "EXPIRED")
    assert order.status.is_final and order.filled_size == 0
    assert order.status is not OrderStatus.REJECTED or "FOK" in order.reason
    assert "BTC-USD" not in trader.positions() or trader.positions()["BTC-USD"].quantity == 0


async def test_a_stop_limit_waits_and_is_cancellable(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: a buy stop above the market rests untriggered; cancel it."""
    _, ask = best(trader)
    order = await trader.place("BTC-USD", "buy", "stop_limit", "0.01", price=ask + 200, stop_price=ask + 100)
    await trader.wait_for(order, "OPEN")
    assert venue_order(quiet_venue, order.order_id).stop_price == ask + 100
    await trader.cancel(order)
    assert order.status is OrderStatus.CANCELLED


async def test_a_post_only_order_that_would_take_is_rejected_with_the_venue_reason(trader: Engine) -> None:
    """Scenario: post-only priced through the ask: the venue refuses it; we say why."""
    _, ask = best(trader)
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=ask + 1, post_only=True)
    assert order.status is OrderStatus.REJECTED and "post" in order.reason.lower()


async def test_a_venue_rejection_is_recorded_with_its_reason(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: the venue refuses the order (injected INSUFFICIENT_FUND)."""
    quiet_venue.faults.reject_orders("INSUFFICIENT_FUND")
    bid, _ = best(trader)
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=bid)
    assert order.status is OrderStatus.REJECTED and "INSUFFICIENT_FUND" in order.reason


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
    assert quiet_venue.exchange.owner_orders(trader.config.key.name) == []  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("limit", "value", "order", "refusal"),
    [
        ("max_order_size", "0.1", {"size": "0.2"}, "size 0.2 is over the max order size 0.1"),
        ("max_order_size", "10", {"size": "0.000000001"}, "size 0.000000001 is not a multiple of the base increment"),
        ("max_order_size", "10", {"size": "0.01", "offset": D("0.005")}, "is not a multiple of the price increment"),
        ("max_order_notional", "100", {"size": "0.01"}, "over the max order notional 100"),
        ("price_collar_pct", "1", {"size": "0.01", "through": D("1.05")}, "through mid"),
        ("max_position", "0.005", {"size": "0.01"}, "over the max position 0.005"),
        ("max_open_orders", "1", {"size": "0.01", "twice": True}, "1 orders already open, the max is 1"),
        ("max_orders_per_second", "1", {"size": "0.01", "twice": True}, "order rate over 1 a second"),
        ("fee_estimate_bps", "1", {"size": "1.6"}, "only 100000 is available"),  # 1.6 BTC at ~65k
    ],
)
async def test_each_risk_check_refuses_with_its_reason(trader: Engine, limit: str, value: str, order: dict,
                                                       refusal: str) -> None:
    """Scenario: a limit is lowered at run time; the next order breaks it and is refused, by name."""
    trader.set_limit(limit, value, reason="test")
    trader.set_limit("max_order_size", "10", reason="test") if limit != "max_order_size" else None
    bid, _ = best(trader)
    price = (bid * order["through"]).quantize(D("0.01")) if "through" in order else bid - 100 + order.get("offset", 0)
    events = trader.events()
    if order.get("twice"):
        await trader.place_limit("BTC-USD", "buy", size=order["size"], price=price)
    with pytest.raises(OrderRefusedError, match=refusal):
        await trader.place_limit("BTC-USD", "buy", size=order["size"], price=price)
    refused = await next_event(events, lambda e: isinstance(e, OrderRefused))
    assert refusal.split(" ")[0] in refused.reason  # type: ignore[attr-defined]


async def test_a_sell_needs_the_base_currency(trader: Engine) -> None:
    """Scenario: sell more BTC than the account holds."""
    trader.set_limit("max_order_size", "100", reason="test")
    trader.set_limit("max_position", "100", reason="test")
    _, ask = best(trader)
    with pytest.raises(OrderRefusedError, match="sell 3 but only 2 available"):
        await trader.place_limit("BTC-USD", "sell", size="3", price=ask + 100)


async def test_reducing_only_allows_orders_that_shrink_the_position(trader: Engine) -> None:
    """Scenario: long 0.02, REDUCING: a buy is refused, a sell of 0.01 goes, a sell of 0.05 does not."""
    buy = await trader.place_market("BTC-USD", "buy", size="0.02")
    await trader.wait_for(buy, "FILLED")
    from cryptoj_tui.engine.risk import TradingState

    assert trader.trading is not None
    trader.trading.emergency.set_state(TradingState.REDUCING, "test")
    with pytest.raises(OrderRefusedError, match="REDUCING"):
        await trader.place_market("BTC-USD", "buy", size="0.01")
    with pytest.raises(OrderRefusedError, match="REDUCING"):
        await trader.place_market("BTC-USD", "sell", size="0.05")
    sell = await trader.place_market("BTC-USD", "sell", size="0.01")
    await trader.wait_for(sell, "FILLED")


async def test_a_fill_missed_while_the_user_channel_was_down_is_reconciled(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: the venue drops every connection; while we are away our resting order fills;
    on reconnect the engine asks the venue, finds the fill, and reports the difference."""
    from cryptoj_tui.engine.events import Reconciled

    bids, asks = quiet_venue.book_levels("BTC-USD")
    inside = (bids[0][0] + (asks[0][0] - bids[0][0]) / 2).quantize(D("0.01"))
    order = await trader.place_limit("BTC-USD", "buy", size="0.001", price=inside, post_only=True)
    await trader.wait_for(order, "OPEN")
    events = trader.events()
    await quiet_venue.feed.drop_all()  # no close frame: the engine only notices on its next read
    quiet_venue.create_order("another-trader", {"client_order_id": "x", "product_id": "BTC-USD", "side": "SELL",
                                                "order_configuration": {"market_market_ioc": {"base_size": "0.001"}}})
    report = await next_event(events, lambda e: isinstance(e, Reconciled) and e.kind == "missed_fill")
    assert report.client_order_id == order.client_order_id  # type: ignore[attr-defined]
    assert order.status is OrderStatus.FILLED and trader.positions()["BTC-USD"].quantity == D("0.001")
