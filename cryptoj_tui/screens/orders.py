"""The orders screen (blotter): working and recent orders, and cancelling them.

Orders change at human speed, so a DataTable is the right tool here (the ladder is not).
Rows come from the engine's OrderUpdated events, kept by the app in arrival order.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Static

from cryptoj_tui.engine.orders import OrderStatus
from cryptoj_tui.widgets.console_footer import ConsoleFooter
from cryptoj_tui.widgets.console_header import ConsoleHeader
from cryptoj_tui.widgets.halt_banner import HaltBanner
from cryptoj_tui.widgets.keyed_table import KeyedTable

COLUMNS = ("time", "product", "side", "type", "size", "price", "status", "filled", "avg price", "reason")
WORKING = {"PENDING_NEW", "OPEN", "PARTIALLY_FILLED", "PENDING_CANCEL"}
STATUS_WIDTH = max(len(str(status)) for status in OrderStatus)
"""The status column is as wide as the longest status from the start: auto-width columns only
grow, so one PENDING_CANCEL seen in passing would shift every column after it."""


CANCEL = Binding.Group("Cancel one/product/all", compact=True)


class OrdersScreen(Screen[None]):
    """Every order this console knows, newest first; working ones can be cancelled."""

    DEFAULT_CSS = """
    OrdersScreen DataTable { height: 1fr; }
    OrdersScreen #summary { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS = [
        Binding("c", "cancel_selected", "Cancel selected order", id="orders.cancel", group=CANCEL),
        Binding("C", "cancel_product", "Cancel all for this product", id="orders.cancel_product", group=CANCEL),
        Binding("X", "cancel_everything", "Cancel all orders", id="orders.cancel_all", group=CANCEL),
        Binding("w", "toggle_working", "Working only", id="orders.working_only"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.working_only = False

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        yield HaltBanner()
        yield Static("", id="summary")
        table = KeyedTable(cursor_type="row", zebra_stripes=True, id="orders")
        for column in COLUMNS:
            table.add_column(column, width=STATUS_WIDTH if column == "status" else None)
        yield table
        yield ConsoleFooter()

    def on_mount(self) -> None:
        self.refresh_orders()

    def on_screen_resume(self) -> None:
        self.refresh_orders()

    def refresh_orders(self) -> None:
        """Rebuild the table from the app's order records (keeping the selected row)."""
        if not self.is_mounted or not self.query(KeyedTable):
            return  # not composed yet (or already gone): on_mount / on_screen_resume catch up
        orders = list(getattr(self.app, "orders", {}).values())
        orders.reverse()
        if self.working_only:
            orders = [o for o in orders if o["status"] in WORKING]
        self.query_one(KeyedTable).replace_rows(
            (order["client_order_id"], (
                order.get("time", ""), order["product_id"], order["side"], order["type"], order["size"],
                order["price"] or "market", order["status"], order["filled_size"], order["average_price"],
                order["reason"][:40]))
            for order in orders
        )
        working = sum(o["status"] in WORKING for o in getattr(self.app, "orders", {}).values())
        shown = "working orders" if self.working_only else "all orders"
        self.query_one("#summary", Static).update(f"{shown} · {working} working · c cancel · C cancel all for product · X cancel all · w filter")

    def action_cancel_selected(self) -> None:
        client_order_id = self.query_one(KeyedTable).selected_key()
        cancel = getattr(self.app, "cancel_orders", None)
        if client_order_id is not None and cancel is not None:
            cancel([client_order_id])

    def action_cancel_product(self) -> None:
        cancel_all = getattr(self.app, "cancel_all", None)
        if cancel_all is not None:
            cancel_all(getattr(self.app, "product_id", None))

    def action_cancel_everything(self) -> None:
        cancel_all = getattr(self.app, "cancel_all", None)
        if cancel_all is not None:
            cancel_all(None)

    def action_toggle_working(self) -> None:
        self.working_only = not self.working_only
        self.refresh_orders()
