"""One line under the ladder: the product's position, its PnL and fees (the account's PnL is in
the status line of every screen)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from cryptoj_tui.formats import money, pnl_style, quote
from cryptoj_tui.views import PortfolioView
from cryptoj_tui.widgets.palette import themed


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
        fmt = view.format(self.product_id)
        text = Text()
        if row is None or row.quantity == 0:
            text.append(f"{self.product_id} flat", themed(self.app, "dim"))
        else:
            text.append(f"{self.product_id} ", "bold")
            text.append(
                f"{fmt.size(row.quantity)} @ {fmt.price(row.average_price)}",
                themed(self.app, "bold green" if row.quantity > 0 else "bold red"),
            )
            text.append("  uPnL ", themed(self.app, "dim"))
            text.append(money(row.unrealised), themed(self.app, pnl_style(row.unrealised)))
        if row is not None and (row.quantity or row.realised or row.fees):
            text.append("  realised ", themed(self.app, "dim"))
            text.append(money(row.realised), themed(self.app, pnl_style(row.realised)))
            text.append("  fees ", themed(self.app, "dim"))
            text.append(quote(row.fees))
        if row is not None and row.inventory:
            text.append(f"  + {fmt.size(row.inventory)} held before, cost unknown", themed(self.app, "dim"))
        self.update(text, layout=False)  # one line high: no layout pass twice a second
