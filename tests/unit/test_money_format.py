"""Numbers as the console writes them: prices and sizes to the product's increments, quote
amounts to the cent, thousands separated, PnL signed and never "-0.00" (issue 18.9)."""

from __future__ import annotations

from decimal import Decimal as D

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cryptoj_tui.formats import DEFAULT_FORMAT, ProductFormat, grouped, money, places, pnl_style, quote, short_id


def test_pnl_is_shown_to_the_cent_and_a_loss_under_half_a_cent_is_no_loss() -> None:
    assert money(D("-0.004")) == "+0.00" and pnl_style(D("-0.004")) == ""
    assert money(D("-0.005")) == "+0.00"  # half to even, as the format itself rounds
    assert money(D("-0.006")) == "-0.01" and pnl_style(D("-0.006")) == "red"
    assert money(D("1234.565")) == "+1,234.56" and pnl_style(D("0.01")) == "green"
    assert money(D("-1E-30")) == "+0.00" and money(D("0")) == "+0.00"


@pytest.mark.parametrize(
    ("increment", "expected"),
    [
        ("0.01", 2),
        ("0.00000001", 8),
        ("1", 0),
        ("0.5", 1),
        ("0.010", 2),
        ("1E+1", 0),
        ("1E-20", 12),
    ],
)
def test_places_of_an_increment(increment: str, expected: int) -> None:
    assert places(D(increment)) == expected


def test_the_issues_numbers_as_they_are_written_now() -> None:
    """The reproductions: a loss limit with 25 decimals, an average with 9, two spellings of one price."""
    assert quote(D("11.9857119200000000000000000")) == "11.99"
    assert DEFAULT_FORMAT.price(D("65000.967537347")) == "65,000.97"
    assert DEFAULT_FORMAT.price(D("64997.9")) == DEFAULT_FORMAT.text_price("64997.90") == "64,997.90"
    assert DEFAULT_FORMAT.size(D("0.01")) == "0.01000000" and DEFAULT_FORMAT.text_size("") == ""
    assert DEFAULT_FORMAT.price(None) == "" and DEFAULT_FORMAT.text_price("nonsense") == ""


def test_a_coarser_product_writes_its_own_increments() -> None:
    eth = ProductFormat(price_increment=D("0.1"), base_increment=D("0.0001"))
    assert eth.price(D("3456.789")) == "3,456.8" and eth.size(D("1.23456")) == "1.2346"
    whole = ProductFormat(price_increment=D("1"), base_increment=D("1"))
    assert whole.price(D("12345.5")) == "12,346" and whole.size(D("-3")) == "-3"


def test_absurd_values_are_written_not_raised() -> None:
    assert grouped(D("1E+30"), 2) == "1" + ",000" * 10
    assert grouped(D("-0.001"), 2) == "0.00"
    assert short_id("0123456789abcdef") == "01234567"


@given(st.decimals(min_value=D("-1e15"), max_value=D("1e15"), allow_nan=False, allow_infinity=False, places=10))
def test_a_written_price_reads_back_within_half_an_increment(value: D) -> None:
    text = DEFAULT_FORMAT.price(value)
    assert abs(D(text.replace(",", "")) - value) <= D("0.005")
    assert text != "-0.00"
