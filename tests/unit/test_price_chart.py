"""The sparkline drawing (pure)."""

from __future__ import annotations

from decimal import Decimal as D

from cryptoj_tui.widgets.price_chart import sparkline_rows


def test_a_rising_series_fills_from_bottom_to_top_newest_on_the_right() -> None:
    rows = sparkline_rows([D(1), D(2), D(3), D(4)], width=6, height=2)
    assert len(rows) == 2 and all(len(r) == 6 for r in rows)
    assert rows[1].startswith("  ")  # older than the series: empty on the left
    assert rows[1][2] == "▁" and rows[0][-1] == "█" and rows[1][-1] == "█"


def test_flat_and_empty_series() -> None:
    flat = sparkline_rows([D(5)] * 3, width=3, height=2)
    assert flat[1] == "███" and flat[0] == "   "
    assert sparkline_rows([], width=4, height=2) == ["    ", "    "]
    assert sparkline_rows([D(1), D(9)], width=1, height=1) == ["▄"]  # only the newest fits: flat, mid-height
