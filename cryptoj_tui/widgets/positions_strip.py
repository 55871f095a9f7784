"""One line under the ladder: the product's position and the account's PnL."""

from __future__ import annotations

from decimal import Decimal

from rich.text import Text
from textual.widgets import Static

from cryptoj_tui.bridge import PortfolioView


def money(value: Decimal) -> str:
    """Quote-currency amounts to the cent, with a sign for PnL."""
    return f"{value:+,.2f}"


def pnl_style(value: Decimal) -> str:
    """Green for a gain, red for a loss."""
    return "green" if value > 0 else "red" if value < 0 else ""


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
            text.append(f"{self.product_id} flat", "dim")
        else:
            text.append(f"{self.product_id} ", "bold")
            text.append(f"{row.quantity:f} @ {row.average_price:,.2f}", "bold green" if row.quantity > 0 else "bold red")
            text.append("  uPnL ", "dim")
            text.append(money(row.unrealised), pnl_style(row.unrealised))
        text.append("   account PnL ", "dim")
        text.append(money(view.pnl), "bold " + pnl_style(view.pnl))
        text.append("  realised ", "dim")
        text.append(money(view.realised), pnl_style(view.realised))
        text.append("  fees ", "dim")
        text.append(f"{view.fees:,.2f}")
        self.update(text)
