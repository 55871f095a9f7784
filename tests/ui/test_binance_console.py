"""The console trading on Binance Spot's protocol (the paper venue's): the header names the
product as the venue does, an order from the ticket rests at the venue, and ctrl+k cancels it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from cryptoj_tui import binance_keys
from cryptoj_tui.app import CryptojApp
from cryptoj_tui.engine import EngineConfig
from cryptoj_tui.screens.modals import KillReportScreen
from cryptoj_tui.sim.venue import VenueConfig, VenueThread
from tests.ui.conftest import frozen_clock, seeded_ids, until

KEY = binance_keys.generate_key(ed25519_key=True)


@pytest.fixture
def binance_venue() -> Iterator[VenueThread]:
    """A seeded venue speaking Binance Spot, whose market does not move, knowing KEY."""
    with VenueThread(VenueConfig(seed=7, step_interval=0, protocols=("binance",))) as thread:
        verifier = binance_keys.parse_verifier(binance_keys.key_file_text(KEY, public_only=True), "test")
        thread.call(lambda v: v.binance.keys.register(verifier))  # type: ignore[union-attr]
        yield thread


def open_orders(venue: VenueThread) -> int:
    return venue.call(lambda v: sum(o.status == "OPEN" for o in v.exchange.owner_orders(KEY.api_key)))


async def test_the_console_trades_and_halts_on_binance(binance_venue: VenueThread) -> None:
    base = binance_venue.ws_url
    config = EngineConfig(
        ws_url=f"{base}/stream",
        venue="binance",
        rest_url="http" + base.removeprefix("ws"),
        key=KEY,
        stale_after=3600.0,  # a frozen market sends no diffs: the socket's pings tell a dead one
        wall_clock=frozen_clock,
        client_order_ids=seeded_ids(),
    )
    app = CryptojApp(config, "BTC-USD", venue="paper Binance", clock=frozen_clock, flash_seconds=0)
    async with app.run_test(size=(160, 48)) as pilot:
        await until(pilot, lambda: app.trading.ladder.view is not None and app.trading.ladder.view.live)
        await until(pilot, lambda: app.trading_state == "ACTIVE")
        assert app.sub_title.startswith("BTC-USD (BTCUSD at the venue) · ")
        await pilot.press("down", "b")
        await until(pilot, lambda: app.trading.ticket.is_open)
        ticket = app.trading.ticket
        # No take-profit / stop-loss on this venue: the ticket neither shows the fields nor offers the type.
        assert ticket.has_class("-plain") and "bracket" not in ticket.order_types
        await pilot.press("enter")
        await until(pilot, lambda: open_orders(binance_venue) == 1)
        await until(pilot, lambda: sum(row.working for row in app.trading.orders) == 1)
        await pilot.press("ctrl+k")
        await until(pilot, lambda: isinstance(app.screen, KillReportScreen))
        report = app.screen.report  # type: ignore[attr-defined]
        assert len(report.cancelled) == 1 and report.failed == ()
        assert open_orders(binance_venue) == 0 and app.trading_state == "HALTED"
