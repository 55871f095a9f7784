"""The positions screen: every product's position, mark and PnL; flatten one or all (confirmed)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from cryptoj_tui.bridge import PortfolioView
from cryptoj_tui.widgets.console_footer import ConsoleFooter
from cryptoj_tui.widgets.console_header import ConsoleHeader
from cryptoj_tui.widgets.halt_banner import HaltBanner
from cryptoj_tui.widgets.keyed_table import KeyedTable
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
        yield ConsoleHeader()
        yield HaltBanner()
        yield Static("no positions yet", id="totals")
        table = KeyedTable(cursor_type="row", zebra_stripes=True)
        table.add_columns(*COLUMNS)
        yield table
        yield ConsoleFooter()

    def show(self, view: PortfolioView) -> None:
        """Take the latest portfolio copy."""
        self.view = view
        if not self.is_mounted or not self.query(KeyedTable):
            return  # not composed yet (or already gone): on_mount / on_screen_resume catch up
        self.query_one(KeyedTable).replace_rows(
            (row.product_id, (
                row.product_id, f"{row.quantity:f}", f"{row.average_price:,.2f}",
                "—" if row.mark is None else f"{row.mark:,.2f}", money(row.unrealised), money(row.realised),
                f"{row.fees:,.2f}"))
            for row in view.positions
        )
        self.query_one("#totals", Static).update(
            f"PnL {money(view.pnl)}   realised {money(view.realised)}   unrealised {money(view.unrealised)}"
            f"   fees {view.fees:,.2f}   · f flatten selected · F flatten all"
        )

    def on_mount(self) -> None:
        if self.view is not None:
            self.show(self.view)

    def action_flatten_selected(self) -> None:
        product_id = self.query_one(KeyedTable).selected_key()
        flatten = getattr(self.app, "flatten", None)
        if product_id is not None and flatten is not None:
            flatten([product_id])

    def action_flatten_all(self) -> None:
        flatten = getattr(self.app, "flatten", None)
        if flatten is not None and self.view is not None:
            flatten([p.product_id for p in self.view.positions if p.quantity != 0])
