"""The L2 book: exact levels, all-or-nothing updates, top-of-book reads."""

from __future__ import annotations

import zlib
from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptoj_tui.engine.book import BookError, OrderBook
from cryptoj_tui.engine.book import LevelChange as C
from cryptoj_tui.engine.model import Side

BID, ASK = Side.BID, Side.ASK


def make_book() -> OrderBook:
    book = OrderBook("BTC-USD")
    book.replace(
        [
            C(BID, D("100.00"), D("1")),
            C(BID, D("99.50"), D("2")),
            C(ASK, D("100.50"), D("3")),
            C(ASK, D("101"), D("4")),
        ]
    )
    return book


def test_snapshot_sets_both_sides_best_first() -> None:
    book = make_book()
    assert book.best_bid() == (D("100"), D("1"))
    assert book.best_ask() == (D("100.5"), D("3"))
    assert book.top(5) == ([(D("100"), D("1")), (D("99.5"), D("2"))], [(D("100.5"), D("3")), (D("101"), D("4"))])
    assert book.spread() == D("0.5")
    assert book.mid() == D("100.25")
    assert book.depth() == (2, 2)


def test_snapshot_skips_zero_levels_and_replaces_everything() -> None:
    book = make_book()
    book.replace([C(BID, D("50"), D("1")), C(ASK, D("60"), D("0")), C(BID, D("40"), D("1")), C(BID, D("40"), D("0"))])
    assert book.levels(BID) == [(D("50"), D("1"))]
    assert book.levels(ASK) == []
    assert book.spread() is None and book.mid() is None and book.best_ask() is None


def test_update_sets_new_total_and_zero_removes() -> None:
    book = make_book()
    book.apply([C(BID, D("100"), D("5")), C(ASK, D("100.5"), D("0")), C(BID, D("99.75"), D("1"))])
    assert book.levels(BID) == [(D("100"), D("5")), (D("99.75"), D("1")), (D("99.5"), D("2"))]
    assert book.best_ask() == (D("101"), D("4"))


def test_removing_an_absent_level_is_a_no_op() -> None:
    book = make_book()
    book.apply([C(ASK, D("555"), D("0"))])
    assert book.depth() == (2, 2)


def test_price_keys_are_exact_whatever_the_text_form() -> None:
    book = make_book()
    book.apply([C(BID, D("100.000"), D("7"))])  # same price as 100.00
    assert book.best_bid() == (D("100"), D("7"))
    assert book.depth() == (2, 2)


@pytest.mark.parametrize(
    "level",
    [
        C(BID, D("-1"), D("1")),
        C(BID, D("0"), D("1")),
        C(ASK, D("NaN"), D("1")),
        C(ASK, D("Infinity"), D("1")),
        C(BID, D("100"), D("-0.5")),
        C(ASK, D("100"), D("sNaN")),
    ],
)
def test_bad_level_is_refused_and_leaves_the_book_untouched(level: tuple) -> None:
    book = make_book()
    before = book.top(10)
    with pytest.raises(BookError, match="BTC-USD"):
        book.apply([C(BID, D("99"), D("1")), level])
    assert book.top(10) == before
    with pytest.raises(BookError):
        book.replace([C(BID, D("99"), D("1")), level])  # a good level first: still nothing changes
    assert book.top(10) == before


def test_crossed_book_is_detected() -> None:
    book = make_book()
    assert not book.is_crossed()
    book.apply([C(BID, D("100.5"), D("1"))])
    assert book.is_crossed()


def test_clear_forgets_levels_and_sequence() -> None:
    book = make_book()
    book.sequence_num = 9
    book.clear()
    assert book.depth() == (0, 0) and book.sequence_num == -1


prices = st.decimals(min_value=D("0.01"), max_value=D("1000"), places=2)
sizes = st.one_of(st.just(D(0)), st.decimals(min_value=D("0.00000001"), max_value=D("50"), places=8))
changes = st.lists(st.builds(C, st.sampled_from([BID, ASK]), prices, sizes), max_size=40)


def apply_to_model(model: dict[Side, dict[D, D]], levels: list) -> None:
    for side, price, size in levels:
        if size:
            model[side][price] = size
        else:
            model[side].pop(price, None)


def assert_book_equals_the_model(snapshot: list, updates: list) -> None:
    """A book fed `snapshot` then `updates` holds what a plain dict model of them holds."""
    book = OrderBook("X-Y")
    model: dict[Side, dict[D, D]] = {BID: {}, ASK: {}}
    book.replace(snapshot)
    apply_to_model(model, snapshot)
    for update in updates:
        book.apply(update)
        apply_to_model(model, update)
    assert book.levels(BID) == sorted(model[BID].items(), reverse=True)
    assert book.levels(ASK) == sorted(model[ASK].items())
    n = 5
    assert book.top(n) == (book.levels(BID)[:n], book.levels(ASK)[:n])


@given(snapshot=changes, updates=st.lists(changes, max_size=10))
def test_book_equals_a_plain_dict_model(snapshot: list, updates: list) -> None:
    assert_book_equals_the_model(snapshot, updates)


@given(snapshot=changes, updates=st.lists(changes, max_size=10))
def test_book_equals_the_model_when_it_can_remember_only_three_prices(snapshot: list, updates: list) -> None:
    """The price -> tick memory starts again when full: what the book holds stays the same."""
    from unittest.mock import patch

    with patch("cryptoj_tui.engine.book.TICK_CACHE_SIZE", 3):
        assert_book_equals_the_model(snapshot, updates)


def test_a_price_seen_before_a_finer_grid_lands_on_its_level_after_it() -> None:
    """Ticks remembered on the old grid are forgotten when the grid gets finer (100.50 is tick
    10050 on a 2-place grid and 100500 on a 3-place one)."""
    book = make_book()
    book.apply([C(ASK, D("100.505"), D("1"))])
    assert book.places == 3
    book.apply([C(ASK, D("100.50"), D("9")), C(BID, D("99.5"), D("0"))])
    assert book.levels(ASK) == [(D("100.5"), D("9")), (D("100.505"), D("1")), (D("101"), D("4"))]
    assert book.levels(BID) == [(D("100"), D("1"))]


def test_checksum_follows_the_documented_example() -> None:
    book = OrderBook("X-Y")
    book.replace([C(BID, D("100"), D("1.50")), C(BID, D("99.5"), D("2")), C(ASK, D("101"), D("0.25"))])
    assert book.checksum() == zlib.crc32(b"100:1.5:101:0.25:99.5:2")
    assert OrderBook("E-F").checksum() == zlib.crc32(b"")


def test_a_finer_price_moves_the_book_to_a_finer_grid_without_rounding() -> None:
    book = make_book()
    assert book.places == 2
    book.apply([C(BID, D("99.995"), D("1")), C(ASK, D("100.5000001"), D("2"))])
    assert book.places == 7
    assert book.top(3) == (
        [(D("100"), D("1")), (D("99.995"), D("1")), (D("99.5"), D("2"))],
        [(D("100.5"), D("3")), (D("100.5000001"), D("2")), (D("101"), D("4"))],
    )
    assert book.spread() == D("0.5") and book.mid() == D("100.25")


@pytest.mark.parametrize(
    ("level", "problem"),
    [
        (C(BID, D("1e16"), D("1")), "invalid price"),
        (C(ASK, D("100"), D("1e16")), "invalid size"),
        (C(BID, D("0.0000000000001"), D("1")), "more than 12 decimal places"),
        (C(BID, D("1." + "0" * 45 + "1"), D("1")), "invalid price"),
        (C(ASK, D("-0.001"), D("1")), "invalid price"),
    ],
)
def test_absurd_levels_are_refused_by_name(level: C, problem: str) -> None:
    book = make_book()
    before = book.top(10)
    with pytest.raises(BookError, match=problem):
        book.apply([level])
    assert book.top(10) == before


def test_a_snapshot_with_mixed_precision_keeps_every_price_exact() -> None:
    book = OrderBook("SHIB-USD", places=0)
    book.replace([C(BID, D("0.00001234"), D("10")), C(BID, D("0.000012"), D("5")), C(ASK, D("0.0000124"), D("7"))])
    assert book.places == 8
    assert book.top(2) == ([(D("0.00001234"), D("10")), (D("0.000012"), D("5"))], [(D("0.0000124"), D("7"))])
