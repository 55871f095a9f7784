"""The footer: the keys that work on the screen, one line, clickable."""

from __future__ import annotations

from textual.pilot import Pilot

from cryptoj_tui.sim.venue import VenueThread
from cryptoj_tui.widgets.console_footer import ConsoleFooter
from tests.ui.conftest import halt_and_close_the_report, make_app, ready_to_trade, toasts, until


def footer_text(app: object) -> str:
    return app.screen.query_one(ConsoleFooter).text()  # type: ignore[attr-defined,no-any-return]


async def click_key(pilot: Pilot, key: str) -> None:
    """Click where the footer draws `key`."""
    footer = pilot.app.screen.query_one(ConsoleFooter)
    start = next(start for start, _, drawn, _ in footer._targets if drawn == key)
    await pilot.click(ConsoleFooter, offset=(start + 1, 0))


async def test_the_footer_follows_focus_and_clicking_a_key_presses_it(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        text = footer_text(app)
        assert " b Buy " in text and "1234567 Screens" in text and text.rstrip().endswith("^p palette")
        await click_key(pilot, "b")
        await until(pilot, lambda: app.trading.ticket.is_open)
        await until(pilot, lambda: "Send" in footer_text(app))  # the ticket's keys while it has focus
        assert "f1f2f3f4 Sizes" in footer_text(app) and " b Buy " not in footer_text(app)
        await pilot.press("escape")
        await until(pilot, lambda: " b Buy " in footer_text(app))


async def test_while_halted_the_order_keys_are_dimmed_and_a_click_on_them_says_why(frozen_venue: VenueThread) -> None:
    """Issue 18.8: b (pressed or clicked) while HALTED opens nothing and says why."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await halt_and_close_the_report(pilot)
        footer = app.screen.query_one(ConsoleFooter)
        await until(pilot, lambda: any(key == "b" and not enabled for _, _, key, enabled in footer._targets))
        await click_key(pilot, "b")
        await until(pilot, lambda: any("trading is HALTED" in toast for toast in toasts(app)))
        assert not app.trading.ticket.is_open


async def test_in_80_columns_every_key_fits_without_the_palette_hint(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready_to_trade(pilot)
        text = footer_text(app)
        assert "palette" not in text and len(text.rstrip()) <= 80 and text.rstrip().endswith("q Quit")
