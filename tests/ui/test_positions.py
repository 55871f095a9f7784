"""Positions and PnL in the console; flattening asks first; the help screen lists every key."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from textual.widgets import DataTable, Static

from cryptoj_tui.engine import Engine
from cryptoj_tui.screens.help import HelpScreen
from cryptoj_tui.screens.modals import ConfirmScreen
from cryptoj_tui.screens.positions import PositionsScreen
from cryptoj_tui.sim.venue import VenueThread
from tests.ui.conftest import make_app, wait_until_live
from tests.ui.test_kill_switch import until


async def test_a_fill_shows_as_a_position_and_flatten_closes_it_after_asking(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)

        async def buy(engine: Engine) -> None:
            order = await engine.place_market("BTC-USD", "buy", size="0.02")
            await engine.wait_done(order)

        await asyncio.wrap_future(app.bridge.submit(buy))
        strip = app.trading.positions
        await until(pilot, lambda: "0.02 @" in str(strip.render()))
        assert "order rtt" in str(app.trading.status.render())
        await pilot.press("3")
        assert isinstance(app.screen, PositionsScreen)
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1)
        assert table.get_row_at(0)[:2] == ["BTC-USD", "0.02"]
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        await pilot.press("y")
        await until(pilot, lambda: app.positions.view is not None and app.positions.view.positions[0].quantity == D(0))
        totals = str(app.positions.query_one("#totals", Static).render())
        assert "realised" in totals and "fees" in totals


async def test_the_help_screen_is_made_from_the_bindings(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await pilot.press("6")
        assert isinstance(app.screen, HelpScreen)
        sections = dict(app.screen.sections())
        assert ("ctrl+k", "Kill switch") in sections["Everywhere"]
        assert ("b", "Buy") in sections["Trading"] and ("c", "Cancel selected order") in sections["Orders"]
        assert ("f", "Flatten") in sections["Positions"]
        assert ("enter", "Send") in sections["Order ticket"] and ("f2", "size 0.01") in sections["Order ticket"]
        assert ("y, enter", "Yes") in sections["Questions (flatten, re-arm, quit)"]
        await pilot.press("1")
        assert app.screen is app.trading


async def test_remapped_keys_work_and_unknown_ids_are_refused(frozen_venue: VenueThread) -> None:
    import pytest

    from cryptoj_tui.app import CryptojApp

    app = make_app(frozen_venue)
    app2 = CryptojApp(app.engine_config, "BTC-USD", venue="paper", keymap={"screen.help": "f9"})
    async with app2.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await pilot.press("f9")
        assert isinstance(app2.screen, HelpScreen)
        assert ("f9", "Help") in dict(app2.screen.sections())["Everywhere"]
    with pytest.raises(ValueError, match="keys: unknown binding id.s. teleport"):
        CryptojApp(app.engine_config, "BTC-USD", venue="paper", keymap={"teleport": "t"})


async def test_the_command_palette_offers_the_console_actions(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await until(pilot, lambda: app.trading_state == "ACTIVE")
        titles = [command.title for command in app.get_system_commands(app.screen)]
        assert {"Kill switch", "Buy", "Sell", "Cancel all orders", "Show orders", "Show risk"} <= set(titles)
        assert "Re-arm" not in titles
        show_orders = next(c for c in app.get_system_commands(app.screen) if c.title == "Show orders")
        show_orders.callback()
        await pilot.pause()
        assert app.screen is app.blotter
