"""The depth chart's arithmetic: cumulative size per price bucket, the same reach both sides."""

from __future__ import annotations

from decimal import Decimal as D

from cryptoj_tui.views import BookView
from cryptoj_tui.widgets.depth_chart import bar_rows, cumulative, depth_columns


def levels(*pairs: tuple[str, str]) -> tuple[tuple[D, D], ...]:
    return tuple((D(p), D(s)) for p, s in pairs)


def test_cumulative_counts_every_level_from_the_inside_out_to_each_edge() -> None:
    bids = levels(("100", "1"), ("99", "2"), ("97", "4"))
    assert cumulative(bids, [D(100), D(99), D(98), D(97), D(96)], bids=True) == [1, 3, 3, 7, 7]
    asks = levels(("101", "1"), ("103", "5"))
    assert cumulative(asks, [D("101.5"), D(103), D(110)], bids=False) == [1, 6, 6]


def test_both_sides_reach_the_same_distance_the_deepest_bucket_outermost() -> None:
    bids_in, asks_in = levels(("100", "1"), ("98", "2"), ("96", "3")), levels(("101", "2"), ("103", "1"))
    view = BookView("BTC-USD", bids_in, asks_in, 1, True)
    bids, asks, reach = depth_columns(view, 4)  # type: ignore[misc]
    assert reach == 2  # the asks reach 2 from their inside, the bids 4: the shorter side sets it
    assert bids == [D(3), D(1)] and asks == [D(2), D(3)]  # deepest bid on the far left
    assert depth_columns(BookView("BTC-USD", (), levels(("101", "1")), 1, True), 10) is None


def test_bars_fill_in_eighths_from_the_bottom() -> None:
    assert bar_rows([D(0), D(1), D(2)], D(2), 2) == ["  █", " ██"]  # the whole height fills both rows, half one
    assert bar_rows([D(3), D("0.5")], D(8), 1) == ["▃ "]  # 3/8 of a row; under an eighth draws nothing
