"""What the ladder shows for a book view, computed without a terminal."""

from __future__ import annotations

from decimal import Decimal as D

from cryptoj_tui.views import BookView
from cryptoj_tui.widgets.ladder import LadderRow, decimal_places, ladder_rows


def view(bids: list[tuple[str, str]], asks: list[tuple[str, str]], live: bool = True) -> BookView:
    return BookView(
        "BTC-USD",
        tuple((D(p), D(s)) for p, s in bids),
        tuple((D(p), D(s)) for p, s in asks),
        1,
        live,
    )


def test_asks_above_spread_above_bids_with_aligned_decimals() -> None:
    rows = ladder_rows(view([("100", "1.5"), ("99.5", "2")], [("100.5", "0.25"), ("101", "3")]), height=8, waiting="")
    assert rows == [
        LadderRow("header", "PRICE", "BID SIZE", "ASK SIZE"),
        LadderRow("blank"),
        LadderRow("ask", "101.00", ask="    3.00", value=D("101")),
        LadderRow("ask", "100.50", ask="    0.25", value=D("100.5")),
        LadderRow("spread", "spread 0.50  50 bps"),
        LadderRow("bid", "100.00", bid="    1.50", cursor=True, value=D("100")),  # the cursor starts here
        LadderRow("bid", "99.50", bid="    2.00", value=D("99.5")),
        LadderRow("blank"),
    ]


def test_sizes_share_one_width_so_decimals_line_up() -> None:
    rows = ladder_rows(view([("100", "1234.5")], [("101", "0.00000001")]), height=4, waiting="")
    widths = {len(r.bid or r.ask) for r in rows if r.kind in ("header", "bid", "ask")}
    assert widths == {len("1,234.50000000")}


def test_deep_book_is_cut_to_the_rows_available_around_the_inside() -> None:
    bids = [(str(1000 - n), "1") for n in range(1, 50)]
    asks = [(str(1000 + n), "1") for n in range(1, 50)]
    rows = ladder_rows(view(bids, asks), height=10, waiting="")
    assert len(rows) == 10
    assert [r.kind for r in rows] == ["header"] + ["ask"] * 4 + ["spread"] + ["bid"] * 4
    assert rows[4].price == "1,001.00" and rows[6].price == "999.00"


def test_waiting_message_when_the_book_is_not_live() -> None:
    rows = ladder_rows(view([], [], live=False), height=6, waiting="waiting...")
    assert LadderRow("message", "waiting...") in rows and len(rows) == 6
    assert ladder_rows(None, height=0, waiting="x") == []


def test_one_sided_book_says_so() -> None:
    rows = ladder_rows(view([("1", "1")], []), height=5, waiting="")
    assert LadderRow("spread", "one-sided book") in rows


def test_decimal_places_shows_every_value_exactly_within_a_cap() -> None:
    assert decimal_places([D("1"), D("1.5")], floor=2) == 2
    assert decimal_places([D("0.00012345")], floor=2) == 8
    assert decimal_places([D("1E-12")], floor=2) == 8


def test_the_cursor_counts_price_rows_from_the_spread_and_own_orders_show() -> None:
    view = BookView(
        "X-Y",
        ((D("100"), D("1")), (D("99"), D("2"))),
        ((D("101"), D("3")),),
        1,
        True,
        own_bids=((D("99"), D("0.5")),),
        own_asks=((D("101"), D("0.25")),),
    )
    rows = ladder_rows(view, 8, "", cursor=-1)
    (cursor,) = [r for r in rows if r.cursor]
    assert cursor.kind == "ask" and cursor.value == D("101") and cursor.own_ask == "0.25"
    assert next(r for r in rows if r.value == D("99")).own_bid == "0.5"
    assert not any(r.cursor for r in ladder_rows(view, 8, "", cursor=5))  # beyond the book: no row


def test_flashing_levels_are_marked_by_side_and_price() -> None:
    book = view([("100", "1"), ("99", "2")], [("101", "1")])
    rows = ladder_rows(book, height=6, waiting="", flashes={("bid", D("99")): "down", ("ask", D("100")): "up"})
    assert [(r.kind, r.value, r.flash) for r in rows if r.flash] == [("bid", D("99"), "down")]


def test_bracket_levels_show_among_the_book_and_at_the_edge_when_beyond_it() -> None:
    book = BookView(
        "X-Y",
        ((D("100"), D("1")), (D("99"), D("2")), (D("98"), D("2"))),
        ((D("101"), D("3")), (D("102"), D("1")), (D("103"), D("1")), (D("150"), D("2"))),
        1,
        True,
        own_asks=((D("102"), D("0.5")),),
        brackets=((D("98.5"), "SL"), (D("102"), "TP"), (D("150"), "TP")),
    )
    rows = ladder_rows(book, 9, "")  # 1 header, 3 asks, the spread, 4 bids
    priced = [(r.kind, r.value, r.bracket, r.ask or r.bid) for r in rows if r.value is not None]
    assert priced == [
        ("ask", D("150"), "TP ↑", "    2.00"),  # beyond the three asks shown: at the edge, its size kept
        ("ask", D("102"), "TP", "    1.00"),
        ("ask", D("101"), "", "    3.00"),
        ("bid", D("100"), "", "    1.00"),
        ("bid", D("99"), "", "    2.00"),
        ("bid", D("98.5"), "SL", "        "),  # no bids at 98.5: a row of its own, in price order
        ("bid", D("98"), "", "    2.00"),
    ]
    assert all(not r.bracket for r in ladder_rows(view([("100", "1")], [("101", "1")]), 9, ""))
