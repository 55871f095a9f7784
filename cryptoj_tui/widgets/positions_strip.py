"""One line under the ladder: the product's position and the account's PnL."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.widgets import Static

from cryptoj_tui.bridge import PortfolioView
from cryptoj_tui.widgets.palette import themed


CENT = Decimal("0.01")


def to_cent(value: Decimal) -> Decimal:
    """`value` rounded to the cent (half to even, as formatting rounds), a negative zero made zero:
    a loss of less than half a cent is shown as no loss, "+0.00", not "-0.00"."""
    return value.quantize(CENT) + 0  # Decimal("-0.00") + 0 is Decimal("0.00")


def money(value: Decimal) -> str:
    """Quote-currency amounts to the cent, with a sign for PnL."""
    return f"{to_cent(value):+,.2f}"


def pnl_style(value: Decimal) -> str:
    """Green for a gain, red for a loss (as shown: to the cent)."""
    shown = to_cent(value)
    return "green" if shown > 0 else "red" if shown < 0 else ""


class PositionsStrip(Static):
    """Position, average price, unrealised/realised PnL and fees at a glance."""

    DEFAULT_CSS = """
    PositionsStrip { height: 1; padding: 0 1; background: $boost; }
    """

    def __init__(self, product_id: str, *, id: str | None = None) -> None:
        super().__init__("no position", id=id)
        self.product_id = product_id

    def show(self, view: PortfolioView) -> None:
        """Render the latest portfolio copy."""
        row = next((p for p in view.positions if p.product_id == self.product_id), None)
        text = Text()
        if row is None or row.quantity == 0:
            text.append(f"{self.product_id} flat", themed(self.app, "dim"))
        else:
            text.append(f"{self.product_id} ", "bold")
            text.append(f"{row.quantity:f} @ {row.average_price:,.2f}", themed(self.app, "bold green" if row.quantity > 0 else "bold red"))
            text.append("  uPnL ", themed(self.app, "dim"))
            text.append(money(row.unrealised), themed(self.app, pnl_style(row.unrealised)))
        text.append("   account PnL ", themed(self.app, "dim"))
        text.append(money(view.pnl), themed(self.app, "bold " + pnl_style(view.pnl)))
        text.append("  realised ", themed(self.app, "dim"))
        text.append(money(view.realised), themed(self.app, pnl_style(view.realised)))
        text.append("  fees ", themed(self.app, "dim"))
        text.append(f"{view.fees:,.2f}")
        self.update(text)
