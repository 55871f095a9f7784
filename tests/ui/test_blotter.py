"""The orders screen and quitting with orders working."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable

from cryptoj_tui.engine import Engine
from cryptoj_tui.screens.modals import ConfirmScreen
from cryptoj_tui.screens.orders import OrdersScreen
from cryptoj_tui.sim.venue import VenueThread
from tests.ui.conftest import make_app, wait_until_live
from tests.ui.test_kill_switch import place_resting, until, venue_open


async def test_the_blotter_lists_orders_and_cancels_one_then_all(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await place_resting(app, 3)
        await pilot.press("2")
        assert isinstance(app.screen, OrdersScreen)
        table = app.screen.query_one(DataTable)
        # Placed means acknowledged; the blotter shows it once the update has crossed to the UI.
        await until(pilot, lambda: table.row_count == 3 and {table.get_row_at(i)[6] for i in range(3)} == {"OPEN"})
        await pilot.press("c")
        await until(pilot, lambda: venue_open(frozen_venue) == 2)
        await until(pilot, lambda: sum(table.get_row_at(i)[6] == "CANCELLED" for i in range(table.row_count)) == 1)
        await pilot.press("w")  # working only
        await until(pilot, lambda: table.row_count == 2)
        await pilot.press("C")
        await until(pilot, lambda: venue_open(frozen_venue) == 0)
        await until(pilot, lambda: table.row_count == 0)
        await pilot.press("1")
        assert app.screen is app.trading


async def test_quitting_with_working_orders_asks_first(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await place_resting(app, 1)
        await until(pilot, lambda: len(app.working_orders()) == 1)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "1 order(s) are working" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and app.screen is app.trading
        await pilot.press("q", "y")
        await pilot.pause()
    assert app.return_code == 0 and venue_open(frozen_venue) == 1  # quitting does not cancel


async def test_cancel_all_reaches_every_product(frozen_venue: VenueThread) -> None:
    """C cancels the shown product's orders only; X cancels the rest, on every product."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await place_resting(app, 2)

        async def place_eth(engine: Engine) -> None:
            await engine.subscribe("ETH-USD")
            bid = (await engine.wait_for_book("ETH-USD")).best_bid()
            assert bid is not None
            await engine.place_limit("ETH-USD", "buy", size="0.01", price=bid[0] - 5)

        await asyncio.wrap_future(app.bridge.submit(place_eth))
        assert venue_open(frozen_venue) == 3
        await pilot.press("2", "C")
        await until(pilot, lambda: venue_open(frozen_venue) == 1)
        await pilot.press("X")
        await until(pilot, lambda: venue_open(frozen_venue) == 0)
