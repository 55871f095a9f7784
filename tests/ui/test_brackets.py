"""Brackets from the keyboard: a market buy from the ticket with a take-profit and a stop-loss,
the levels on the ladder, and one leg cancelling the other at the venue."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from textual.pilot import Pilot
from textual.widgets import DataTable, Input, Select, Static

from cryptoj_tui.app import CryptojApp
from cryptoj_tui.engine import Engine
from cryptoj_tui.sim.venue import VenueThread
from tests.ui.conftest import KEY, make_app, open_ticket, ready_to_trade, until


def brackets_at_venue(venue: VenueThread) -> list:
    return venue.call(
        lambda v: [(o.status, o.triggered) for o in v.exchange.owner_orders(KEY.name) if o.order_type == "BRACKET"]
    )


def another_trader(venue: VenueThread, side: str, size: D) -> None:
    venue.call(
        lambda v: v.create_order(
            "another-trader",
            {
                "client_order_id": f"other-{len(v.exchange.orders)}",
                "product_id": "BTC-USD",
                "side": side,
                "order_configuration": {"market_market_ioc": {"base_size": f"{size:f}"}},
            },
        )
    )


async def position(app: CryptojApp) -> D:
    async def quantity(engine: Engine) -> D:
        return engine.positions()["BTC-USD"].quantity

    return await asyncio.wrap_future(app.bridge.submit(quantity))


def tags(app: CryptojApp) -> dict[D, str]:
    return {r.value: r.bracket for r in app.trading.ladder.rows if r.bracket and r.value is not None}


async def buy_with_a_bracket(pilot: Pilot, take_profit: D, stop_loss: D) -> None:
    """A market buy of 0.01 from the ticket, carrying `take_profit` and `stop_loss`."""
    ticket = await open_ticket(pilot)
    ticket.query_one("#type", Select).value = "market"
    await pilot.pause()
    ticket.query_one("#size", Input).value = "0.01"
    ticket.query_one("#take_profit", Input).value = f"{take_profit:f}"
    ticket.query_one("#stop_loss", Input).value = f"{stop_loss:f}"
    await until(pilot, lambda: "bracket    sell at" in str(ticket.query_one("#preview", Static).render()))
    await pilot.press("enter")
    await until(pilot, lambda: not ticket.is_open)


async def test_the_take_profit_fills_and_the_venue_cancels_the_stop(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    bids, asks = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    take_profit, stop_loss = asks[1][0], bids[1][0]
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await buy_with_a_bracket(pilot, take_profit, stop_loss)
        await until(pilot, lambda: brackets_at_venue(frozen_venue) == [("OPEN", False)])
        await until(pilot, lambda: tags(app) == {take_profit: "TP", stop_loss: "SL"})
        row = next(r for r in app.trading.ladder.rows if r.value == take_profit)
        assert row.own_ask == "0.01"  # the take-profit rests in the book
        another_trader(frozen_venue, "BUY", asks[0][1] + asks[1][1])  # through the best ask to the take-profit
        await until(pilot, lambda: brackets_at_venue(frozen_venue) == [("FILLED", False)])
        await until(pilot, lambda: tags(app) == {})
        assert frozen_venue.call(lambda v: v.exchange._stops["BTC-USD"]) == []
        assert await position(app) == 0  # bought 0.01, the take-profit sold it
        await pilot.press("2")  # the orders screen: the entry names its bracket, the bracket its stop
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 2)
        # The table follows the orders at the screen's own pace: wait for both to read FILLED.
        await until(pilot, lambda: {table.get_row_at(i)[6] for i in range(2)} == {"FILLED"})
        rows = {table.get_row_at(i)[3]: table.get_row_at(i) for i in range(2)}
        assert set(rows) == {"market + bracket", "bracket"}
        assert rows["bracket"][5] == f"{take_profit:,.2f} stop {stop_loss:,.2f}"


async def test_the_stop_sells_and_the_venue_withdraws_the_take_profit(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    bids, asks = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    take_profit, stop_loss = asks[1][0], bids[0][0]
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await buy_with_a_bracket(pilot, take_profit, stop_loss)
        await until(pilot, lambda: tags(app) == {take_profit: "TP", stop_loss: "SL"})
        another_trader(frozen_venue, "SELL", D("0.01"))  # trades at the best bid: the stop
        await until(pilot, lambda: brackets_at_venue(frozen_venue) == [("FILLED", True)])
        await until(pilot, lambda: tags(app) == {})
        assert not any(r.own_ask for r in app.trading.ladder.rows)  # the take-profit left the book
        assert await position(app) == 0
