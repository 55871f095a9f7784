"""Switching the traded product: ctrl+o, a fuzzy pick from the venue's list, and the trading
screen (ladder, tape, chart, ticket, position strip, header) follows it; each product keeps its
own ladder cursor; working orders of both stay where they are."""

from __future__ import annotations

import asyncio

from textual.pilot import Pilot
from textual.widgets import Input, OptionList, Static

from cryptoj_tui.app import CryptojApp
from cryptoj_tui.engine import Engine
from cryptoj_tui.screens.modals import ProductPickerScreen, matching_products
from cryptoj_tui.sim.venue import VenueThread
from tests.ui.conftest import make_app, place_resting, until, wait_until_live


async def open_picker(pilot: Pilot[None], app: CryptojApp) -> ProductPickerScreen:
    """ctrl+o, and the product picker it brings up."""
    await pilot.press("ctrl+o")
    await until(pilot, lambda: isinstance(app.screen, ProductPickerScreen))
    assert isinstance(app.screen, ProductPickerScreen)
    return app.screen


def test_the_picker_matches_fuzzily_best_first_and_all_when_empty() -> None:
    products = ["BTC-USD", "ETH-BTC", "ETH-USD", "SOL-USD"]
    assert matching_products(products, "") == products
    assert matching_products(products, "eth")[:2] == ["ETH-BTC", "ETH-USD"]
    assert matching_products(products, "solu") == ["SOL-USD"]
    assert matching_products(products, "xyz") == []


async def test_ctrl_o_switches_the_traded_product_and_back_with_working_orders_on_both(
    frozen_venue: VenueThread,
) -> None:
    app = make_app(frozen_venue)
    eth_bids, _ = frozen_venue.call(lambda v: v.book_levels("ETH-USD"))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await until(pilot, lambda: app.trading_state == "ACTIVE")
        await place_resting(app, 1)  # a BTC-USD buy resting below the market
        await pilot.press("down", "down")
        btc_cursor = app.trading.ladder.cursor
        picker = await open_picker(pilot, app)
        assert set(picker.products) >= {"BTC-USD", "ETH-USD", "SOL-USD"}
        picker.query_one("#query", Input).value = "eth"
        await until(pilot, lambda: picker.query_one("#products", OptionList).option_count == 1)
        await pilot.press("enter")
        await until(pilot, lambda: app.trading.ladder.view is not None and app.trading.ladder.view.live)
        assert app.product_id == "ETH-USD" and app.trading.ladder.view.product_id == "ETH-USD"
        assert app.trading.ladder.frame_title == "ETH-USD book" and app.trading.ladder.cursor == 1
        assert app.sub_title == "ETH-USD · connected"
        await until(pilot, lambda: len(app.trading.tape.trades) > 0)
        assert app.trading.positions.product_id == "ETH-USD"

        async def rest_eth(engine: Engine) -> None:
            order = await engine.place_limit("ETH-USD", "buy", size="0.01", price=eth_bids[0][0])  # joins the bid
            await engine.wait_for(order, "OPEN")

        await asyncio.wrap_future(app.bridge.submit(rest_eth))
        await until(pilot, lambda: any(row.own_bid for row in app.trading.ladder.rows))
        await until(pilot, lambda: [row.product_id for row in app.trading.orders] == ["ETH-USD"])
        await pilot.press("b")
        await until(pilot, lambda: app.trading.ticket.is_open)
        assert "BUY ETH-USD" in str(app.trading.ticket.query_one("#title").render())
        await pilot.press("escape")

        await open_picker(pilot, app)
        app.screen.query_one("#query", Input).value = "btc-usd"
        await pilot.pause()
        await pilot.press("enter")
        ladder = app.trading.ladder
        await until(pilot, lambda: ladder.view is not None and ladder.view.product_id == "BTC-USD")
        assert app.trading.ladder.cursor == btc_cursor  # its own cursor, kept
        await until(pilot, lambda: [row.product_id for row in app.trading.orders] == ["BTC-USD"])
        working = {row.product_id for row in app.orders.values() if row.working}
        assert working == {"BTC-USD", "ETH-USD"}


async def test_escape_in_the_picker_keeps_the_product(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(80, 24)) as pilot:
        await wait_until_live(pilot)
        await open_picker(pilot, app)
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, ProductPickerScreen))
        assert app.product_id == "BTC-USD" and app.trading.ladder.view is not None


async def test_a_product_picked_with_ctrl_o_on_another_screen_is_shown_to_trade(frozen_venue: VenueThread) -> None:
    """From the watchlist (or any screen), ctrl+o and a pick lead to that product's trading
    screen: picked is meant to be traded. Escape leaves you where you were."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await pilot.press("7")
        await until(pilot, lambda: app.screen is app.watchlist)
        await open_picker(pilot, app)
        await pilot.press("escape")
        await until(pilot, lambda: app.screen is app.watchlist)
        await open_picker(pilot, app)
        app.screen.query_one("#query", Input).value = "sol"
        await until(pilot, lambda: app.screen.query_one("#products", OptionList).option_count == 1)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is app.trading and app.product_id == "SOL-USD")
        assert app.trading.ladder.frame_title == "SOL-USD book"


async def test_enter_right_after_typing_picks_from_what_was_typed(frozen_venue: VenueThread) -> None:
    """Enter is the picker's priority binding, so it can be handled before the search field's
    Changed message for the last letter (seen in a terminal: "eth" + enter kept BTC-USD). The
    pick reads the field itself: the value is set and picked before any message is handled."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        picker = await open_picker(pilot, app)
        picker.query_one("#query", Input).value = "eth-usd"
        picker.action_pick()  # before the Changed message is handled
        await until(pilot, lambda: app.product_id == "ETH-USD")
        assert app.trading.ladder.frame_title == "ETH-USD book"


async def test_the_picker_asks_afresh_each_time_and_says_what_for(frozen_venue: VenueThread) -> None:
    """The one picker the app keeps comes back empty of what was typed, with the product now
    traded highlighted and named, and asks "Watch" from the watchlist's `a`, "Trade" from ctrl+o."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        picker = await open_picker(pilot, app)
        app.screen.query_one("#query", Input).value = "eth"
        await until(pilot, lambda: picker.query_one("#products", OptionList).option_count == 1)
        await pilot.press("enter")
        await until(pilot, lambda: app.screen is app.trading and app.product_id == "ETH-USD")
        await pilot.press("7", "a")
        await until(pilot, lambda: app.screen is picker)
        assert str(picker.query_one("#question", Static).render()) == "Watch which product? (now ETH-USD)"
        options = picker.query_one("#products", OptionList)
        assert picker.query_one("#query", Input).value == "" and options.option_count > 1
        highlighted = options.highlighted
        assert highlighted is not None and options.get_option_at_index(highlighted).id == "ETH-USD"
        await pilot.press("escape", "ctrl+o")
        await until(pilot, lambda: app.screen is picker)
        assert str(picker.query_one("#question", Static).render()) == "Trade which product? (now ETH-USD)"
