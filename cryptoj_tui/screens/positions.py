"""The positions screen: every product's position, mark and PnL; flatten one or all (confirmed)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Header, Static

from cryptoj_tui.bridge import PortfolioView
from cryptoj_tui.widgets.halt_banner import HaltBanner
from cryptoj_tui.widgets.positions_strip import money

COLUMNS = ("product", "position", "avg price", "mark", "unrealised", "realised", "fees")


class PositionsScreen(Screen[None]):
    """Positions from the engine's fills, marked to the book's mid."""

    DEFAULT_CSS = """
    PositionsScreen DataTable { height: 1fr; }
    PositionsScreen #totals { height: 1; padding: 0 1; }
    """
    BINDINGS = [
        Binding("f", "flatten_selected", "Flatten", id="positions.flatten"),
        Binding("F", "flatten_all", "Flatten all", id="positions.flatten_all"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.view: PortfolioView | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield HaltBanner()
        yield Static("no positions yet", id="totals")
        table: DataTable[str] = DataTable(cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield Footer()

    def show(self, view: PortfolioView) -> None:
        """Take the latest portfolio copy."""
        self.view = view
        if not self.is_mounted:
            return
        table = self.query_one(DataTable)
        selected = self.selected_product()
        table.clear()
        for row in view.positions:
            table.add_row(
                row.product_id, f"{row.quantity:f}", f"{row.average_price:,.2f}",
                "—" if row.mark is None else f"{row.mark:,.2f}", money(row.unrealised), money(row.realised),
                f"{row.fees:,.2f}", key=row.product_id,
            )
        if selected is not None and selected in table.rows:
            table.move_cursor(row=table.get_row_index(selected))
        self.query_one("#totals", Static).update(
            f"PnL {money(view.pnl)}   realised {money(view.realised)}   unrealised {money(view.unrealised)}"
            f"   fees {view.fees:,.2f}   · f flatten selected · F flatten all"
        )

    def on_mount(self) -> None:
        if self.view is not None:
            self.show(self.view)

    def selected_product(self) -> str | None:
        """The product of the highlighted row."""
        table = self.query_one(DataTable)
        if not table.row_count:
            return None
        key, _ = table.coordinate_to_cell_key(table.cursor_coordinate)
        return str(key.value)

    def action_flatten_selected(self) -> None:
        product_id = self.selected_product()
        flatten = getattr(self.app, "flatten", None)
        if product_id is not None and flatten is not None:
            flatten([product_id])

    def action_flatten_all(self) -> None:
        flatten = getattr(self.app, "flatten", None)
        if flatten is not None and self.view is not None:
            flatten([p.product_id for p in self.view.positions if p.quantity != 0])
