"""The orders screen and quitting with orders working."""

from __future__ import annotations

import asyncio

from textual.widgets import DataTable

from cryptoj_tui.app import CryptojApp
from cryptoj_tui.engine import Engine
from cryptoj_tui.screens.modals import QuitScreen
from cryptoj_tui.screens.orders import OrdersScreen
from cryptoj_tui.sim.venue import VenueThread
from tests.ui.conftest import KEY, make_app, place_resting, until, venue_open, wait_until_live


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


def working(app: CryptojApp) -> int:
    return sum(row.working for row in app.orders.values())


async def test_quitting_with_working_orders_says_they_stay_at_an_external_venue(frozen_venue: VenueThread) -> None:
    """Issue 18.5: at a venue that outlives the console, the orders stay working: the question
    says so, and `y` leaves them."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await place_resting(app, 1)
        await until(pilot, lambda: working(app) == 1)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen))
        assert app.screen.question == (  # type: ignore[attr-defined]
            "1 order(s) are working at paper and will stay working there after you quit, unwatched."
        )
        await pilot.press("n")
        await pilot.pause()
        assert app.is_running and app.screen is app.trading
        await pilot.press("q", "y")
        await pilot.pause()
    assert app.return_code == 0 and venue_open(frozen_venue) == 1  # quitting with y does not cancel


async def test_quitting_from_the_embedded_venue_says_its_orders_end_and_c_cancels_them_first(
    frozen_venue: VenueThread,
) -> None:
    """Issue 18.5: the embedded paper venue stops with the console, so its orders end with it;
    `c` cancels every order (confirmed by the venue) and then quits."""
    app = make_app(frozen_venue, embedded=True)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await place_resting(app, 2)
        await until(pilot, lambda: working(app) == 2)
        await pilot.press("q")
        await until(pilot, lambda: isinstance(app.screen, QuitScreen))
        assert app.screen.question.startswith(  # type: ignore[attr-defined]
            "2 order(s) are working on the embedded paper venue, which stops with the console: they end with it"
        )
        await pilot.press("c")
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 0 and venue_open(frozen_venue) == 0


async def test_cancel_all_reaches_every_product(frozen_venue: VenueThread) -> None:
    """C cancels the selected order's product's orders only (the cursor is on the newest order,
    ETH-USD's); X cancels the rest, on every product."""
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
        await pilot.press("2")
        await until(
            pilot, lambda: app.blotter.selected() is not None and app.blotter.selected().product_id == "ETH-USD"
        )
        await pilot.press("C")
        await until(pilot, lambda: venue_open(frozen_venue) == 2)
        assert frozen_venue.call(
            lambda v: {o.product_id for o in v.exchange.owner_orders(KEY.name) if o.status == "OPEN"}
        ) == {"BTC-USD"}
        await pilot.press("X")
        await until(pilot, lambda: venue_open(frozen_venue) == 0)
