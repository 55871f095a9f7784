"""SVG snapshots of every screen: seeded frozen venue, frozen clock, fixed terminal size."""

from __future__ import annotations

from typing import Any

from cryptoj_tui.sim.venue import VenueThread
from tests.ui.conftest import make_app, wait_until_live


def test_trading_screen(frozen_venue: VenueThread, snap_compare: Any) -> None:
    assert snap_compare(make_app(frozen_venue), terminal_size=(160, 48), run_before=wait_until_live)


def test_trading_screen_small_terminal(frozen_venue: VenueThread, snap_compare: Any) -> None:
    assert snap_compare(make_app(frozen_venue), terminal_size=(80, 24), run_before=wait_until_live)
