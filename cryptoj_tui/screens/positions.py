"""The positions screen: every product's position, mark and PnL; flatten one or all (confirmed).

A position is what this console traded; the inventory column is the rest of what the account
holds of that base currency (what it held at start): its cost is unknown and says so, it is in
no PnL, and flatten leaves it where it is."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from cryptoj_tui.formats import money, quote
from cryptoj_tui.messages import FlattenRequested
from cryptoj_tui.screens.base import ConsoleScreen
from cryptoj_tui.views import PortfolioView
from cryptoj_tui.widgets.keyed_table import KeyedTable

COLUMNS = ("product", "position", "avg price", "mark", "unrealised", "realised", "fees", "inventory")


class PositionsScreen(ConsoleScreen):
    """Positions from the engine's fills, marked to the book's mid."""

    DEFAULT_CSS = """
    PositionsScreen DataTable { height: 1fr; }
    PositionsScreen #totals { height: 1; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("f", "flatten_selected", "Flatten", id="positions.flatten"),
        Binding("F", "flatten_all", "Flatten all", id="positions.flatten_all"),
    ]

    view: PortfolioView | None = None

    def compose_body(self) -> ComposeResult:
        yield Static("no positions yet", id="totals")
        table = KeyedTable(cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table

    def show(self, view: PortfolioView) -> None:
        """Take the latest portfolio copy."""
        self.view = view
        if not self.query(KeyedTable):
            return  # not composed yet (or already gone): on_mount catches up
        self.query_one(KeyedTable).replace_rows(
            (
                row.product_id,
                (
                    row.product_id,
                    view.format(row.product_id).size(row.quantity),
                    view.format(row.product_id).price(row.average_price) if row.quantity else "—",
                    "—" if row.mark is None else view.format(row.product_id).price(row.mark),
                    money(row.unrealised),
                    money(row.realised),
                    quote(row.fees),
                    f"{view.format(row.product_id).size(row.inventory)} cost unknown" if row.inventory else "—",
                ),
            )
            for row in view.positions
        )
        self.query_one("#totals", Static).update(
            f"PnL {money(view.pnl)}   realised {money(view.realised)}   unrealised {money(view.unrealised)}"
            f"   fees {quote(view.fees)}"
        )

    def on_mount(self) -> None:
        if self.view is not None:
            self.show(self.view)

    def action_flatten_selected(self) -> None:
        product_id = self.query_one(KeyedTable).selected_key()
        if product_id is None:
            self.notify("no position selected", severity="warning")
        else:
            self.post_message(FlattenRequested((product_id,)))

    def action_flatten_all(self) -> None:
        positions = () if self.view is None else self.view.positions
        self.post_message(FlattenRequested(tuple(p.product_id for p in positions if p.quantity != 0)))
