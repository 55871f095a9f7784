"""Trading from where the trader looks (issue 18.11-13): cancel and move orders at the ladder's
cursor, the orders screen's cursor on the newest order, and the status line on every screen."""

from __future__ import annotations

from decimal import Decimal as D

from textual.widgets import Input, Static

from cryptoj_tui.screens.base import ConsoleScreen
from cryptoj_tui.screens.modals import EditOrderScreen
from cryptoj_tui.sim.venue import VenueThread
from cryptoj_tui.widgets.halt_banner import HaltBanner
from cryptoj_tui.widgets.keyed_table import KeyedTable
from cryptoj_tui.widgets.status_bar import StatusBar
from tests.ui.conftest import (
    KEY,
    halt_and_close_the_report,
    make_app,
    place_resting,
    ready_to_trade,
    toasts,
    until,
    venue_open,
    wait_until_live,
)


def venue_prices(venue: VenueThread) -> list[D]:
    """Limit prices of the console's open orders at the venue, highest first."""
    return sorted(
        (o.limit_price for o in venue.call(lambda v: v.exchange.owner_orders(KEY.name)) if o.status == "OPEN"),
        reverse=True,
    )


async def test_c_cancels_the_orders_at_the_cursor_and_x_cancels_all(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    bids, _ = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        for steps in (1, 2):  # buys at the 2nd and 3rd bid, from the ticket at the cursor
            await pilot.press(*["down"] * steps, "b")
            await until(pilot, lambda: app.trading.ticket.is_open)
            await pilot.press("enter")
            await until(pilot, lambda: not app.trading.ticket.is_open)
            await pilot.press("space")
        await until(pilot, lambda: len(venue_prices(frozen_venue)) == 2)
        await until(pilot, lambda: sum(row.working for row in app.trading.orders) == 2)
        await pilot.press("c")  # the cursor is on the best bid: none of ours there
        await until(pilot, lambda: "no working order of yours at " in toasts(app)[-1])
        assert toasts(app)[-1].endswith(f"no working order of yours at {bids[0][0]:,.2f}")
        await pilot.press("down", "c")
        await until(pilot, lambda: venue_prices(frozen_venue) == [bids[2][0]])
        await until(pilot, lambda: "1 order(s) cancelled" in toasts(app)[-1])
        await pilot.press("X")
        await until(pilot, lambda: venue_open(frozen_venue) == 0)


async def test_m_moves_the_order_at_the_cursor_to_the_price_chosen_with_the_cursor(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    bids, _ = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await pilot.press("down", "b")
        await until(pilot, lambda: app.trading.ticket.is_open)
        await pilot.press("enter")
        await until(pilot, lambda: any(row.own_bid for row in app.trading.ladder.rows))
        await until(pilot, lambda: sum(row.working for row in app.trading.orders) == 1)
        await pilot.press("m")
        assert app.trading.ladder.frame_title.startswith(f"moving BUY 0.01000000 from {bids[1][0]:,.2f}")
        await pilot.press("down", "down", "enter")
        await until(pilot, lambda: venue_prices(frozen_venue) == [bids[3][0]])
        await until(
            pilot, lambda: any(row.value == bids[3][0] and row.own_bid == "0.01" for row in app.trading.ladder.rows)
        )
        assert not any(row.value == bids[1][0] and row.own_bid for row in app.trading.ladder.rows)
        assert app.trading.ladder.frame_title == "BTC-USD book"
        await until(pilot, lambda: any(t.startswith("moved · ") for t in toasts(app)))
        assert f"BUY 0.01000000 BTC-USD moved to {bids[3][0]:,.2f} · edited in place" in toasts(app)[-1]
        await pilot.press("m", "escape")  # picked up, then kept where it is
        assert app.trading.ladder.frame_title == "BTC-USD book" and venue_prices(frozen_venue) == [bids[3][0]]


async def test_the_orders_cursor_follows_the_newest_and_c_on_a_finished_order_says_so(
    frozen_venue: VenueThread,
) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await place_resting(app, 1)
        await pilot.press("2")
        table = app.blotter.query_one(KeyedTable)
        await until(pilot, lambda: table.row_count == 1 and app.blotter.selected() is not None)
        first = app.blotter.selected()
        assert first is not None
        await pilot.press("c")
        await until(pilot, lambda: venue_open(frozen_venue) == 0)
        await until(pilot, lambda: app.blotter.selected() is not None and app.blotter.selected().status == "CANCELLED")
        await pilot.press("c")
        await until(pilot, lambda: "is CANCELLED: nothing to cancel" in toasts(app)[-1])
        assert toasts(app)[-1] == f": order {first.client_order_id[:8]} is CANCELLED: nothing to cancel"
        await place_resting(app, 1)
        await until(pilot, lambda: table.row_count == 2)
        newest = app.blotter.selected()
        assert newest is not None and newest.client_order_id != first.client_order_id and table.cursor_row == 0


async def test_every_screen_shows_the_trading_state_connection_and_pnl_and_the_halt(frozen_venue: VenueThread) -> None:
    """Issue 18.13 and 18.8: the status line (trading state, connection, account PnL) and, while
    HALTED, the red banner are on every screen, the help screen too."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await until(pilot, lambda: app.status.pnl is not None)
        for key in "123456":
            await pilot.press(key)
            screen = app.screen
            assert isinstance(screen, ConsoleScreen)
            line = str(screen.query_one(StatusBar).render())
            assert line.startswith("ACTIVE  ● connected  PnL +0.00  venue paper"), (key, line)
        await halt_and_close_the_report(pilot)
        for key in "123456":
            await pilot.press(key)
            await pilot.pause()
            banner = app.screen.query_one(HaltBanner)
            assert banner.has_class("-halted") and str(banner.render()).startswith("TRADING HALTED — kill switch")
            assert str(app.screen.query_one(StatusBar).render()).startswith("HALTED  ● connected")


async def test_the_palettes_buy_while_halted_says_why(frozen_venue: VenueThread) -> None:
    """Issue 18.8: the palette's Buy is there while HALTED, and says why it opens nothing."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await halt_and_close_the_report(pilot)
        await pilot.press("2")
        buy = next(c for c in app.get_system_commands(app.screen) if c.title == "Buy")
        buy.callback()
        await pilot.pause()
        assert app.screen is app.trading and not app.trading.ticket.is_open
        assert "trading is HALTED (kill switch (ctrl+k) from the console)" in toasts(app)[-1]
        await pilot.press("s")
        await until(pilot, lambda: len([t for t in toasts(app) if "trading is HALTED" in t]) == 2)


async def test_a_product_the_venue_does_not_list_ends_the_console_with_the_reason(frozen_venue: VenueThread) -> None:
    """Issue 18.7: `--product DOGE-USD` waited for the book forever, "connected"; with no product
    left to show, the console exits 2 and the shell is told why."""
    app = make_app(frozen_venue, product="DOGE-USD")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 2
    assert app.error == "the venue does not list DOGE-USD (it lists BTC-USD, ETH-USD, SOL-USD)"


async def test_e_edits_the_selected_orders_price_and_size_in_place(frozen_venue: VenueThread) -> None:
    """Orders screen: `e` asks for the selected order's new price and total size (filled in with
    what it has); enter sends the edit, which the venue makes to the same order; the blotter
    says "edited". A number that is not one is refused in the dialog; escape leaves the order."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await place_resting(app, 1)
        await pilot.press("2")
        await until(pilot, lambda: (row := app.blotter.selected()) is not None and row.status == "OPEN")
        row = app.blotter.selected()
        assert row is not None and row.price is not None
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditOrderScreen))
        price_input = app.screen.query_one("#price", Input)
        assert (price_input.value, app.screen.query_one("#size", Input).value) == (f"{row.price:f}", "0.001")
        price_input.value = "not a price"
        await pilot.press("enter")
        await until(pilot, lambda: "must be numbers" in str(app.screen.query_one("#problem", Static).render()))
        new_price = row.price - 10
        price_input.value = f"{new_price:f}"
        app.screen.query_one("#size", Input).value = "0.002"
        await pilot.press("enter")
        await until(pilot, lambda: venue_prices(frozen_venue) == [new_price])
        venue_order = frozen_venue.call(lambda v: v.exchange.orders[row.order_id])
        assert venue_order.base_size == D("0.002") and len(venue_order.edit_history) == 1
        await until(pilot, lambda: any(t.startswith("edited · ") for t in toasts(app)))
        assert f"BUY 0.00200000 BTC-USD at {new_price:,.2f} · edited in place" in toasts(app)[-1]
        await until(pilot, lambda: (edited := app.blotter.selected()) is not None and edited.note == "edited")
        await pilot.press("e")
        await until(pilot, lambda: isinstance(app.screen, EditOrderScreen))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, EditOrderScreen))
        assert venue_prices(frozen_venue) == [new_price]
        await pilot.press("c")
        await until(pilot, lambda: venue_open(frozen_venue) == 0)
        await until(pilot, lambda: (done := app.blotter.selected()) is not None and done.status == "CANCELLED")
        await pilot.press("e")
        await until(pilot, lambda: "is CANCELLED: nothing to edit" in toasts(app)[-1])
