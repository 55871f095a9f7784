"""Brackets end to end over real sockets: an entry carrying a take-profit and a stop-loss, the
bracket the venue places when it fills, one leg cancelling the other, and the kill switch."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.events import Alert
from cryptoj_tui.engine.orders import Order, OrderError, OrderStatus, OrderType
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import next_event
from tests.integration.helpers import best, venue_order
from tests.integration.trading_flows.test_trading import another_trader_sells


def another_trader_buys(venue: PaperVenue, size: D) -> None:
    venue.create_order(
        "another-trader",
        {
            "client_order_id": f"other-buy-{len(venue.exchange.orders)}",
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"market_market_ioc": {"base_size": f"{size:f}"}},
        },
    )


async def bracket_of(trader: Engine, entry: Order) -> Order:
    """The bracket the venue placed for `entry`, once the engine tracks it."""
    execution = trader.trading.execution  # type: ignore[union-attr]

    def found() -> Order | None:
        return next((o for o in trader.orders() if o.request.type is OrderType.BRACKET), None)

    assert await execution.wait_until(lambda: found() is not None, 10), f"no bracket for {entry.client_order_id}"
    bracket = found()
    assert bracket is not None
    return bracket


async def test_a_take_profit_fills_and_the_venue_drops_the_stop(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: a market buy with a bracket fills; the venue places a sell bracket for what it
    bought; another trader buys up to the take-profit; the bracket fills there, its stop is gone,
    and the position is flat."""
    events = trader.events()
    bid, ask = best(trader)
    entry = await trader.place("BTC-USD", "buy", "market", "0.01", take_profit=ask, stop_loss=bid - 500)
    await trader.wait_for(entry, "FILLED")
    bracket = await bracket_of(trader, entry)
    assert (bracket.side, bracket.request.size, bracket.request.price, bracket.request.stop_price) == (
        "SELL",
        D("0.01"),
        ask,
        bid - 500,
    )
    alert = await next_event(events, lambda e: isinstance(e, Alert) and "bracket of" in e.message)
    assert alert.severity == "info" and f"take-profit {ask}" in alert.message
    _, asks = quiet_venue.book_levels("BTC-USD")
    another_trader_buys(quiet_venue, sum((size for price, size in asks if price <= ask), D(0)))
    await trader.wait_for(bracket, "FILLED")
    assert bracket.average_price == ask
    assert venue_order(quiet_venue, bracket.order_id).status == "FILLED"
    assert quiet_venue.exchange._stops["BTC-USD"] == []
    assert trader.positions()["BTC-USD"].quantity == 0 and trader.open_orders() == []


async def test_a_stop_loss_sells_and_the_take_profit_leaves_the_book(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: the bracket's stop is at the best bid; another trader sells there; the stop
    wakes, the take-profit leaves the book, and the bracket sells into the bids."""
    bid, ask = best(trader)
    entry = await trader.place("BTC-USD", "buy", "market", "0.01", take_profit=ask + 1000, stop_loss=bid)
    await trader.wait_for(entry, "FILLED")
    bracket = await bracket_of(trader, entry)
    assert quiet_venue.books["BTC-USD"].order(bracket.order_id).price == ask + 1000
    another_trader_sells(quiet_venue, "0.01")  # trades at the best bid, the stop
    await trader.wait_for(bracket, "FILLED")
    at_venue = venue_order(quiet_venue, bracket.order_id)
    assert at_venue.triggered and at_venue.average_filled_price <= bid
    assert quiet_venue.books["BTC-USD"].order(bracket.order_id) is None
    assert trader.positions()["BTC-USD"].quantity == 0


async def test_a_bracket_placed_while_halted_is_cancelled_at_once(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: a resting buy carries a bracket; trading halts (no cancel); the buy then fills,
    so the venue places its bracket: the engine cancels it at once and says so."""
    events = trader.events()
    bids, asks = quiet_venue.book_levels("BTC-USD")
    price = (bids[0][0] + (asks[0][0] - bids[0][0]) / 2).quantize(D("0.01"))
    entry = await trader.place(
        "BTC-USD", "buy", "limit", "0.01", price=price, take_profit=price + 500, stop_loss=price - 500
    )
    await trader.wait_for(entry, "OPEN")
    trader.trading.emergency.halt("test")  # type: ignore[union-attr]
    another_trader_sells(quiet_venue, "0.01")
    await trader.wait_for(entry, "FILLED")
    alert = await next_event(events, lambda e: isinstance(e, Alert) and "while HALTED" in e.message)
    assert alert.message.endswith("cancelled")
    bracket = await bracket_of(trader, entry)
    assert bracket.status is OrderStatus.CANCELLED
    assert venue_order(quiet_venue, bracket.order_id).status == "CANCELLED"


@pytest.mark.parametrize(
    ("kind", "details", "why"),
    [
        ("limit", {"price": "100", "take_profit": "90", "stop_loss": "80"}, "price 100 must lie between"),
        ("market", {"take_profit": "90", "stop_loss": "95"}, "stop 95 must be below its take-profit 90"),
        ("fok", {"price": "100", "take_profit": "110", "stop_loss": "90"}, "attaches to a limit or market"),
        ("limit", {"price": "100", "take_profit": "110"}, "needs both a take-profit and a stop-loss"),
        ("bracket", {"price": "90", "stop_price": "95"}, "stop 95 must be below its take-profit 90"),
    ],
)
async def test_a_bracket_the_wrong_way_round_never_reaches_the_wire(
    trader: Engine, quiet_venue: PaperVenue, kind: str, details: dict, why: str
) -> None:
    before = len(quiet_venue.exchange.orders)
    with pytest.raises(OrderError, match=why):
        await trader.place("BTC-USD", "sell" if kind == "bracket" else "buy", kind, "0.01", **details)
    assert len(quiet_venue.exchange.orders) == before
