"""PnL as the console shows it: to the cent, signed, never "-0.00"."""

from __future__ import annotations

from decimal import Decimal as D

from cryptoj_tui.widgets.positions_strip import money, pnl_style


def test_pnl_is_shown_to_the_cent_and_a_loss_under_half_a_cent_is_no_loss() -> None:
    assert money(D("-0.004")) == "+0.00" and pnl_style(D("-0.004")) == ""
    assert money(D("-0.005")) == "+0.00"  # half to even, as the format itself rounds
    assert money(D("-0.006")) == "-0.01" and pnl_style(D("-0.006")) == "red"
    assert money(D("1234.565")) == "+1,234.56" and pnl_style(D("0.01")) == "green"
    assert money(D("-1E-30")) == "+0.00" and money(D("0")) == "+0.00"
