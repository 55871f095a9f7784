"""SVG snapshots of every screen: seeded frozen venue, frozen clock, fixed terminal size."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any

import pytest
from textual.pilot import Pilot
from textual.widgets import OptionList

from cryptoj_tui.app import CryptojApp
from cryptoj_tui.screens.modals import KillReportScreen, ProductPickerScreen
from cryptoj_tui.sim.venue import VenueThread
from cryptoj_tui.widgets.keyed_table import KeyedTable
from cryptoj_tui.widgets.row_table import RowTable
from tests.ui.conftest import make_app, place_resting, toasts, until, wait_until_live

Snap = Callable[[CryptojApp, tuple[int, int], Callable[[Pilot], Awaitable[None]]], bool]


@pytest.fixture
def snap(snap_compare: Any) -> Snap:
    """snap_compare, once the status line is settled: its "last frame" says "<2 s" between two
    heartbeats, and "2 s ago" when a loaded machine delays one (the frame's age is real time)."""

    def compare(app: CryptojApp, size: tuple[int, int], run_before: Callable[[Pilot], Awaitable[None]]) -> bool:
        async def settled(pilot: Pilot) -> None:
            await run_before(pilot)
            await until(pilot, lambda: app.status.frame_age is not None and app.status.frame_age < 2)

        return bool(snap_compare(app, terminal_size=size, run_before=settled))

    return compare


def test_trading_screen(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), wait_until_live)


def test_trading_screen_small_terminal(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (80, 24), wait_until_live)


async def _buy_ticket(pilot: Pilot) -> None:
    await wait_until_live(pilot)
    app = pilot.app
    await until(pilot, lambda: getattr(app, "trading_state", "") == "ACTIVE")
    await pilot.press("b")
    await until(pilot, lambda: app.trading.ticket.is_open and app.trading.ticket.result is not None)
    await pilot.pause()


def test_order_ticket(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), _buy_ticket)


async def _fixed_round_trip(pilot: Pilot) -> None:
    """The status bar's order round trip as 2.0 ms (a real one differs run to run), once shown."""
    app = pilot.app

    async def fix(engine: Any) -> None:
        engine.trading.execution.round_trips = [0.002]

    await asyncio.wrap_future(app.bridge.submit(fix))  # type: ignore[attr-defined]
    await until(pilot, lambda: app.status.round_trip_ms == 2.0)  # type: ignore[attr-defined]


async def _halted_with_report(pilot: Pilot) -> None:
    await wait_until_live(pilot)
    app = pilot.app
    await until(pilot, lambda: getattr(app, "trading_state", "") == "ACTIVE")
    await place_resting(app, 3)  # type: ignore[arg-type]
    await until(pilot, lambda: sum(o.status == "OPEN" for o in app.orders.values()) == 3)  # type: ignore[attr-defined]
    await _fixed_round_trip(pilot)
    await pilot.press("ctrl+k")
    await until(pilot, lambda: isinstance(app.screen, KillReportScreen))
    # The real report's timings differ run to run: the same report with fixed ones, over the
    # same halted screen (whose alerts say what the engine did: 3 cancelled, 0 could not be).
    real = app.screen.report  # type: ignore[attr-defined]
    assert len(real.cancelled) == 3 and not real.failed
    app.pop_screen()
    await app.push_screen(KillReportScreen(dataclasses.replace(real, refusing_after=0.000150, seconds=0.012)))
    await pilot.pause()


def test_kill_switch_report(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), _halted_with_report)


async def _rearm_question(pilot: Pilot) -> None:
    await _halted_with_report(pilot)
    await pilot.press("enter", "ctrl+r")
    await pilot.pause()


def test_rearm_confirmation(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), _rearm_question)


async def _blotter(pilot: Pilot) -> None:
    await wait_until_live(pilot)
    app = pilot.app
    await place_resting(app, 3)  # type: ignore[arg-type]
    await pilot.press("2")
    table = app.blotter.query_one(KeyedTable)  # type: ignore[attr-defined]
    await until(pilot, lambda: table.row_count == 3 and app.blotter.selected() is not None)  # type: ignore[attr-defined]
    await pilot.press("c")
    await until(pilot, lambda: sum(o.status == "CANCELLED" for o in app.orders.values()) == 1)  # type: ignore[attr-defined]
    await _fixed_round_trip(pilot)
    # The blotter repaints at most four times a second: wait for the table itself to show it.
    await until(pilot, lambda: sum("CANCELLED" in map(str, table.get_row_at(n)) for n in range(table.row_count)) == 1)
    # The cancel's toast comes when the cancel call returns, which may be after the order's update.
    await until(pilot, lambda: "1 order(s) cancelled" in " ".join(toasts(app)))  # type: ignore[arg-type]
    await pilot.pause()


def test_orders_screen(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), _blotter)


async def _edit_dialog(pilot: Pilot) -> None:
    await wait_until_live(pilot)
    app = pilot.app
    await place_resting(app, 1)  # type: ignore[arg-type]
    await pilot.press("2")
    table = app.blotter.query_one(KeyedTable)  # type: ignore[attr-defined]
    await until(pilot, lambda: table.row_count == 1 and app.blotter.selected() is not None)  # type: ignore[attr-defined]
    await _fixed_round_trip(pilot)
    await until(pilot, lambda: any("OPEN" in map(str, table.get_row_at(n)) for n in range(table.row_count)))
    await pilot.press("e")
    await until(pilot, lambda: type(app.screen).__name__ == "EditOrderScreen")
    await pilot.pause()


def test_edit_order_dialog(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), _edit_dialog)


async def _positions(pilot: Pilot) -> None:
    await wait_until_live(pilot)
    app = pilot.app

    async def buy(engine: Any) -> None:
        await engine.wait_done(await engine.place_market("BTC-USD", "buy", size="0.02"))

    await asyncio.wrap_future(app.bridge.submit(buy))  # type: ignore[attr-defined]
    await _fixed_round_trip(pilot)
    await pilot.press("3")
    await until(pilot, lambda: app.positions.view is not None and bool(app.positions.view.positions))  # type: ignore[attr-defined]
    # The fill's toast waits for the venue's fills (a REST call after the order is done).
    await until(pilot, lambda: "filled" in " ".join(toasts(app)))  # type: ignore[arg-type]
    await pilot.pause(0.6)


def test_positions_screen(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), _positions)


async def _help(pilot: Pilot) -> None:
    await wait_until_live(pilot)
    await pilot.press("6")
    await pilot.pause()


def test_help_screen(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), _help)


async def _risk(pilot: Pilot) -> None:
    # No orders: the rate and staleness bars would depend on timing.
    await wait_until_live(pilot)
    await pilot.press("4")
    await until(pilot, lambda: pilot.app.risk.view is not None)  # type: ignore[attr-defined]
    await pilot.pause(0.6)


def test_risk_screen(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), _risk)


async def _journal(pilot: Pilot) -> None:
    await wait_until_live(pilot)
    await place_resting(pilot.app, 2)  # type: ignore[arg-type]
    await _fixed_round_trip(pilot)
    await pilot.press("5", "slash")
    await pilot.press(*"order", "escape")
    await pilot.pause(0.4)


def test_journal_screen(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), _journal)


# -- 80x24: every screen, a ticket open, and HALTED (issue 18.14) ------------------------------

SMALL = (80, 24)


def test_order_ticket_small_terminal(frozen_venue: VenueThread, snap: Snap) -> None:
    """The compact ticket: one-line fields, the preview (notional, fee, checks) in view, the
    ladder's bids and prices beside it, the status line and footer below."""
    assert snap(make_app(frozen_venue), SMALL, _buy_ticket)


async def _halted_on(pilot: Pilot, key: str) -> None:
    """HALTED by the kill switch (report closed), then the screen on `key`."""
    await _halted_with_report(pilot)
    await pilot.press("enter", key)
    await until(pilot, lambda: not isinstance(pilot.app.screen, KillReportScreen))
    if key == "5":  # the journal: the halt's own lines (the cancels' come in either order, REST or user channel)
        await pilot.press("slash", *"halt", "escape")
    await pilot.pause(0.6)


def test_kill_switch_report_small_terminal(frozen_venue: VenueThread, snap: Snap) -> None:
    """The report whole, and no toast over it (they wait for it to close)."""
    assert snap(make_app(frozen_venue), SMALL, _halted_with_report)


@pytest.mark.parametrize("key", ["1", "2", "3", "4", "5", "6", "7"])
def test_every_screen_halted_small_terminal(frozen_venue: VenueThread, snap: Snap, key: str) -> None:
    """Each screen at 80x24 while HALTED: the banner fits, the status line says HALTED."""
    assert snap(make_app(frozen_venue), SMALL, partial(_halted_on, key=key))


async def _product_picker(pilot: Pilot) -> None:
    """ctrl+o, then "eth" typed: the venue's ETH products, best match highlighted."""
    await wait_until_live(pilot)
    app = pilot.app
    await until(pilot, lambda: getattr(app, "trading_state", "") == "ACTIVE")
    await pilot.press("ctrl+o")
    await until(pilot, lambda: isinstance(app.screen, ProductPickerScreen))
    await pilot.press("e", "t", "h")
    await until(pilot, lambda: app.screen.query_one("#products", OptionList).option_count == 1)
    await pilot.pause()


def test_product_picker(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (160, 48), _product_picker)


def test_product_picker_small_terminal(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(make_app(frozen_venue), (80, 24), _product_picker)


async def _watchlist(pilot: Pilot) -> None:
    """Screen 7 with BTC-USD (traded), ETH-USD and SOL-USD watched, every row live."""
    await wait_until_live(pilot)
    app = pilot.app
    await pilot.press("7")
    await until(pilot, lambda: app.watchlist_view is not None and all(r.live for r in app.watchlist_view.rows))
    await until(pilot, lambda: len(app.watchlist.query_one(RowTable).rows) == 3)
    await pilot.pause()


def _watching_three(venue: VenueThread) -> CryptojApp:
    app = make_app(venue)
    app.watched += ["ETH-USD", "SOL-USD"]
    return app


def test_watchlist(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(_watching_three(frozen_venue), (160, 48), _watchlist)


def test_watchlist_small_terminal(frozen_venue: VenueThread, snap: Snap) -> None:
    assert snap(_watching_three(frozen_venue), (80, 24), _watchlist)
