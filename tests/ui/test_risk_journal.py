"""The risk screen (state, limits with their use, alert history) and the journal screen."""

from __future__ import annotations

import io

from rich.console import Console
from textual.widgets import Input, Static

from cryptoj_tui.engine.trading import LimitUsage
from cryptoj_tui.screens.journal import JournalScreen
from cryptoj_tui.screens.risk import RiskScreen, limits_table
from cryptoj_tui.sim.venue import VenueThread
from cryptoj_tui.widgets.keyed_table import KeyedTable
from tests.ui.conftest import make_app, place_resting, until, wait_until_live


async def test_the_risk_screen_follows_limits_and_the_halt(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await place_resting(app, 3)
        await pilot.press("4")
        assert isinstance(app.screen, RiskScreen)
        state = app.screen.query_one("#state", Static)
        await until(pilot, lambda: "TRADING ACTIVE" in str(state.render()))

        def open_orders() -> LimitUsage:
            return next(u for u in app.risk.view.usage if u.name == "max_open_orders")  # type: ignore[union-attr]

        await until(pilot, lambda: open_orders().used == 3)  # the risk view is copied twice a second
        assert open_orders().limit == 500
        console = Console(width=160, file=io.StringIO())
        console.print(limits_table(app.risk.view))  # type: ignore[arg-type]
        text = console.file.getvalue()  # type: ignore[attr-defined]
        assert "max_open_orders" in text and "working orders" in text and "checked on every order" in text
        await pilot.press("ctrl+k")
        await pilot.pause(0.2)
        await pilot.press("enter")  # close the report
        await until(pilot, lambda: "TRADING HALTED" in str(state.render()) and state.has_class("-halted"))
        await until(pilot, lambda: "kill switch" in str(app.risk.query_one("#history", Static).render()))


async def test_the_journal_screen_lists_and_filters_events(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await place_resting(app, 2)
        await pilot.press("5")
        assert isinstance(app.screen, JournalScreen)
        table = app.screen.query_one(KeyedTable)
        await until(pilot, lambda: table.row_count >= 3)
        kinds = {table.get_row_at(i)[1] for i in range(table.row_count)}
        assert {"order", "connection", "trading"} <= kinds
        await pilot.press("slash", *"order open")
        assert app.screen.query_one("#filter", Input).value == "order open"
        await until(pilot, lambda: table.row_count == 2)
        assert all(table.get_row_at(i)[1] == "order" and table.get_row_at(i)[2].startswith("OPEN: ") for i in range(2))
        await pilot.press("escape", "1")  # out of the filter, keys are keys again
        assert app.screen is app.trading


async def test_the_journal_follows_the_newest_entry_unless_the_cursor_was_moved(frozen_venue: VenueThread) -> None:
    """On the newest entry (the top) the cursor stays on the newest as entries arrive, as in
    `tail -f`; moved down to an older entry, it stays on that entry."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await pilot.press("5")
        table = app.screen.query_one(KeyedTable)

        def order_rows() -> int:
            return sum(table.get_row_at(i)[1] == "order" for i in range(table.row_count))

        await until(pilot, lambda: table.row_count >= 2)
        await place_resting(app, 1)
        await until(pilot, lambda: order_rows() == 2)  # PENDING_NEW, then OPEN
        assert table.cursor_row == 0 and table.get_row_at(0)[1] == "order"
        await pilot.press("down")
        watched = table.selected_key()
        await place_resting(app, 1)
        await until(pilot, lambda: order_rows() == 4)
        assert table.selected_key() == watched and table.cursor_row == 3


async def test_a_risk_update_reaching_the_risk_screen_while_it_has_no_children_is_kept() -> None:
    """Regression: a risk update arrived while the screen was mounted but its widgets were not
    (composing, or being taken down at quit) and `#state` was not found; it is kept for on_mount."""
    from textual.app import App

    from cryptoj_tui.views import RiskView
    from tests.ui.conftest import frozen_clock

    screen = RiskScreen(frozen_clock)
    app = App[None]()
    async with app.run_test(size=(120, 40)):
        await app.push_screen(screen)
        await screen.query_one("#state").remove()
        view = RiskView("ACTIVE", "", ())
        screen.show(view)
        screen.show_history((("14:30:00", "warning", "late"),))
        assert screen.view is view and screen.alerts == (("14:30:00", "warning", "late"),)
