"""ctrl+k from the console: halt at once, everything cancelled at the venue, a report, a red
banner on every screen; re-arming asks first."""

from __future__ import annotations

from cryptoj_tui.screens.modals import ConfirmScreen, KillReportScreen
from cryptoj_tui.sim.venue import VenueThread
from cryptoj_tui.widgets.halt_banner import HaltBanner
from cryptoj_tui.widgets.status_bar import StatusBar
from tests.ui.conftest import make_app, place_resting, toasts, until, venue_open, wait_until_live


async def test_ctrl_k_halts_cancels_reports_and_rearm_asks_first(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until_live(pilot)
        await until(pilot, lambda: app.trading_state == "ACTIVE")
        await place_resting(app, 5)
        assert venue_open(frozen_venue) == 5
        banner = app.screen.query_one(HaltBanner)
        assert not banner.has_class("-halted")
        await pilot.press("ctrl+k")
        assert app.trading_state == "HALTED"  # at once, before the engine answers
        await until(pilot, lambda: isinstance(app.screen, KillReportScreen))
        report = app.screen.report  # type: ignore[attr-defined]
        assert len(report.cancelled) == 5 and report.failed == ()
        assert venue_open(frozen_venue) == 0
        assert banner.has_class("-halted") and "TRADING HALTED" in str(banner.render())
        assert "HALTED" in str(app.trading.query_one(StatusBar).render())
        await pilot.press("enter")
        await pilot.press("ctrl+r")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")  # declined: still halted
        await pilot.pause()
        assert app.trading_state == "HALTED"
        await pilot.press("ctrl+r", "y")
        await until(pilot, lambda: app.trading_state == "ACTIVE")
        assert not banner.has_class("-halted")


async def test_ctrl_k_works_inside_a_modal(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until_live(pilot)
        await place_resting(app, 2)
        await app.push_screen(ConfirmScreen("Some other question?"))
        await pilot.press("ctrl+k")
        await until(pilot, lambda: isinstance(app.screen, KillReportScreen))
        assert venue_open(frozen_venue) == 0 and app.trading_state == "HALTED"


async def test_ctrl_k_without_a_key_says_there_is_nothing_to_halt(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue, trading=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until_live(pilot)
        await pilot.press("ctrl+k")
        await pilot.pause()
        assert app.trading_state == "" and "no API key" in toasts(app)[-1]


async def test_the_report_names_each_order_it_could_not_cancel_and_why() -> None:
    from textual.app import App
    from textual.widgets import Static

    from cryptoj_tui.engine.emergency import KillReport

    report = KillReport(
        reason="kill switch (ctrl+k) from the console",
        cancelled=("a", "b"),
        failed=(("d1c2e3f4-0000", "UNKNOWN_CANCEL_FAILURE_REASON"), ("0a1b2c3d-1111", "timeout")),
        flattened=(),
        refusing_after=0.000150,
        seconds=0.012,
    )
    app = App[None]()
    async with app.run_test(size=(120, 40)) as pilot:
        await app.push_screen(KillReportScreen(report))
        await pilot.pause()
        assert "2 order(s) cancelled and confirmed by the venue in 12 ms" in str(
            app.screen.query_one("#cancelled", Static).render()
        )
        failed = str(app.screen.query_one("#failed", Static).render())
        assert failed.splitlines() == [
            "2 order(s) could NOT be cancelled:",
            "  d1c2e3f4: UNKNOWN_CANCEL_FAILURE_REASON",
            "  0a1b2c3d: timeout",
        ]
