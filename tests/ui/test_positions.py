"""Positions and PnL in the console; flattening asks first; the help screen lists every key."""

from __future__ import annotations

import asyncio
import re
from decimal import Decimal as D

from textual.widgets import DataTable, Input, Static

from cryptoj_tui.engine import Engine
from cryptoj_tui.screens.help import HelpScreen
from cryptoj_tui.screens.modals import ConfirmScreen
from cryptoj_tui.screens.positions import PositionsScreen
from cryptoj_tui.sim.venue import VenueThread
from cryptoj_tui.widgets.status_bar import StatusBar
from tests.ui.conftest import make_app, toasts, until, wait_until_live


async def test_a_fill_shows_as_a_position_and_flatten_closes_it_after_asking(frozen_venue: VenueThread) -> None:
    """Issue 18.6: the flatten dialog says the side and size; its toast says what filled, at what
    average, and that the position is flat (not the market order's first status, OPEN)."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)

        async def buy(engine: Engine) -> None:
            order = await engine.place_market("BTC-USD", "buy", size="0.02")
            await engine.wait_done(order)

        await asyncio.wrap_future(app.bridge.submit(buy))
        strip = app.trading.positions
        await until(pilot, lambda: "0.02000000 @" in str(strip.render()))
        assert "order rtt" in str(app.trading.query_one(StatusBar).render())
        await pilot.press("3")
        assert isinstance(app.screen, PositionsScreen)
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1)
        assert table.get_row_at(0)[:2] == ["BTC-USD", "0.02000000"]
        await pilot.press("f")
        await until(pilot, lambda: isinstance(app.screen, ConfirmScreen))
        assert "SELL 0.02000000 BTC-USD at market (the whole long)" in app.screen.question  # type: ignore[attr-defined]
        await pilot.press("y")
        await until(pilot, lambda: app.positions.view is not None and app.positions.view.positions[0].quantity == D(0))
        totals = str(app.positions.query_one("#totals", Static).render())
        assert "realised" in totals and "fees" in totals
        await until(pilot, lambda: any(t.startswith("flatten: ") for t in toasts(app)))
        flatten = next(t for t in toasts(app) if t.startswith("flatten: "))
        assert re.fullmatch(
            r"flatten: SELL 0\.02000000 BTC-USD: filled 0\.02000000 at avg [\d,]+\.\d\d; now flat", flatten
        )


async def test_a_fill_toast_says_size_average_price_and_taker(frozen_venue: VenueThread) -> None:
    """Issue 18.4: the toast of a fill says what filled, at the fill's average (not the limit
    price) and whether it took liquidity; the order's 'sent' toast claims no status."""
    app = make_app(frozen_venue)
    _, asks = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await until(pilot, lambda: app.trading_state == "ACTIVE")
        await pilot.press("b")
        ticket = app.trading.ticket
        await until(pilot, lambda: ticket.is_open)
        limit = asks[1][0]  # through the best ask: it fills at the best ask's price (and the next's)
        ticket.query_one("#price", Input).value = f"{limit:f}"
        second = (asks[1][1] / 2).quantize(D("0.00000001"))
        size = asks[0][1] + second
        ticket.query_one("#size", Input).value = f"{size:f}"
        await until(
            pilot,
            lambda: (
                ticket.result is not None
                and ticket.result.ok
                and "crosses" in str(ticket.query_one("#preview").render())
            ),
        )
        await pilot.press("enter")
        await until(pilot, lambda: any(t.startswith("filled") for t in toasts(app)))
        row = next(iter(app.orders.values()))
        average = ((asks[0][0] * asks[0][1] + asks[1][0] * second) / size).quantize(D("0.01"))
        fill = next(t for t in toasts(app) if t.startswith("filled"))
        assert fill == (
            f"filled · {row.client_order_id[:8]}: BUY filled {size:.8f} BTC-USD at avg {average:,.2f}"
            f" · taker · fee {row.fees:,.2f}"
        )
        assert average != limit and f"{limit:,.2f}" not in fill
        sent = next(t for t in toasts(app) if t.startswith("sent"))
        assert (
            sent
            == f"sent · {row.client_order_id[:8]}: BUY {size:.8f} BTC-USD limit at {limit:,.2f} · taken by the venue"
        )


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
        assert ("y, enter", "Yes") in sections["Questions (flatten, re-arm)"]
        assert ("c", "Cancel all and quit") in sections["Quitting with orders working"]
        assert ("c", "Cancel here") in sections["Trading"] and ("m", "Move an order") in sections["Trading"]
        assert ("f5", "Price to the inside") in sections["Order ticket"]
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
    with pytest.raises(ValueError, match=r"keys: unknown binding id\(s\) teleport"):
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


async def test_a_fill_rings_once_lights_its_price_and_is_counted_until_seen(frozen_venue: VenueThread) -> None:
    """Issue 22 (fills you notice): another trader's sell fills our resting buy: the terminal's
    bell rings once, the ladder lights the fill's price on the bid side, and the header counts the
    fill until the orders screen has been looked at."""
    app = make_app(frozen_venue, flash_seconds=0.4)
    rings: list[int] = []
    app.bell = lambda: rings.append(1)  # type: ignore[method-assign]
    bids, asks = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    inside = (bids[0][0] + (asks[0][0] - bids[0][0]) / 2).quantize(D("0.01"))
    assert bids[0][0] < inside < asks[0][0]
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await until(pilot, lambda: app.trading_state == "ACTIVE")

        async def rest(engine: Engine) -> None:
            order = await engine.place_limit("BTC-USD", "buy", size="0.01", price=inside)
            await engine.wait_for(order, "OPEN")

        await asyncio.wrap_future(app.bridge.submit(rest))
        assert "new fill" not in app.sub_title
        sell = {"market_market_ioc": {"base_size": "0.004"}}
        frozen_venue.call(
            lambda v: v.create_order(
                "another-trader",
                {"client_order_id": "x1", "product_id": "BTC-USD", "side": "SELL", "order_configuration": sell},
            )
        )
        await until(pilot, lambda: "1 new fill" in app.sub_title)
        assert app.sub_title == "BTC-USD · connected · 1 new fill"
        lit = [row for row in app.trading.ladder.rows if row.flash == "fill"]
        assert [(row.kind, row.value) for row in lit] == [("bid", inside)]
        await until(pilot, lambda: rings == [1])  # with the fill's toast
        await pilot.press("2")
        assert app.sub_title == "BTC-USD · connected"
        await until(pilot, lambda: not any(row.flash == "fill" for row in app.trading.ladder.rows))


async def test_positions_show_the_inventory_held_before_with_its_cost_unknown(frozen_venue: VenueThread) -> None:
    """Issue 22: the paper account starts with BTC; before any trade, positions show it as
    inventory of unknown cost (not a position at zero cost), and flatten all has nothing to sell."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await until(pilot, lambda: "held before, cost unknown" in str(app.trading.positions.render()))
        assert str(app.trading.positions.render()) == "BTC-USD flat  + 2.00000000 held before, cost unknown"
        await pilot.press("3")
        table = app.screen.query_one(DataTable)
        await until(pilot, lambda: table.row_count == 1)
        row = table.get_row_at(0)
        assert row[0] == "BTC-USD" and row[1] == "0.00000000" and row[2] == "—"
        assert row[-1] == "2.00000000 cost unknown"
        totals = str(app.screen.query_one("#totals", Static).render())
        assert totals.startswith("PnL +0.00")  # the inventory's value is in no PnL
        await pilot.press("F")
        await until(pilot, lambda: "nothing to flatten" in " ".join(toasts(app)))
