"""The orders screen (blotter): working and recent orders, and cancelling them.

Orders change at human speed, so a DataTable is the right tool here (the ladder is not).
Rows come from the app (the engine's order events, in arrival order), newest shown first; the
cursor follows the newest order as it arrives.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.widgets import Static

from cryptoj_tui.engine.orders import OrderStatus
from cryptoj_tui.formats import DEFAULT_FORMAT, ProductFormat, short_id
from cryptoj_tui.messages import CancelAllRequested, CancelRequested, EditRequested
from cryptoj_tui.screens.base import ConsoleScreen
from cryptoj_tui.screens.modals import EditChoice, EditOrderScreen
from cryptoj_tui.views import OrderRow
from cryptoj_tui.widgets.keyed_table import KeyedTable

COLUMNS = ("time", "product", "side", "type", "size", "price", "status", "filled", "avg price", "reason")
NARROW_COLUMNS = ("side", "type", "size", "price", "status", "filled", "avg price")
"""What fits 80 columns: the selected order's product, time and reason are in the line above."""
WIDE_FROM = 120
STATUS_WIDTH = max(len(str(status)) for status in OrderStatus)
"""The status column is as wide as the longest status from the start: auto-width columns only
grow, so one PENDING_CANCEL seen in passing would shift every column after it."""


CANCEL = Binding.Group("Cancel", compact=True)


def order_cells(row: OrderRow, fmt: ProductFormat) -> dict[str, str]:
    """Every column's text for one order, its numbers written to its product's increments."""
    return {
        "time": row.time,
        "product": row.product_id,
        "side": row.side,
        "type": f"{row.type} + bracket" if row.take_profit is not None else row.type,
        "size": row.size_words(fmt),
        "price": (fmt.price(row.price) or "market")
        + (f" stop {fmt.price(row.stop_price)}" if row.stop_price is not None else ""),
        "status": row.status,
        "filled": fmt.size(row.filled_size),
        "avg price": fmt.price(row.average_price),
        "reason": row.note[:40],
    }


class OrdersScreen(ConsoleScreen):
    """Every order this console knows, newest first; working ones can be cancelled."""

    DEFAULT_CSS = """
    OrdersScreen DataTable { height: 1fr; }
    OrdersScreen #summary { height: 1; padding: 0 1; color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "cancel_selected", "Cancel selected order", id="orders.cancel", group=CANCEL),
        Binding("C", "cancel_product", "Cancel all for this product", id="orders.cancel_product", group=CANCEL),
        Binding("X", "cancel_everything", "Cancel all orders", id="orders.cancel_all", group=CANCEL),
        Binding("e", "edit_selected", "Edit price or size", id="orders.edit"),
        Binding("w", "toggle_working", "Working only", id="orders.working_only"),
    ]

    def __init__(self, clock: Callable[[], datetime]) -> None:
        super().__init__(clock)
        self.working_only = False
        self.rows: tuple[OrderRow, ...] = ()
        self.formats: Mapping[str, ProductFormat] = {}
        self._columns: tuple[str, ...] = ()
        self._newest = ""
        """The newest order shown: when another arrives, the cursor goes to it."""

    def compose_body(self) -> ComposeResult:
        yield Static("", id="summary")
        yield KeyedTable(cursor_type="row", zebra_stripes=True, id="orders")

    def on_mount(self) -> None:
        self._refresh()

    def on_resize(self, event: Resize) -> None:
        self._refresh(event.size.width)

    def show_orders(self, rows: tuple[OrderRow, ...], formats: Mapping[str, ProductFormat]) -> None:
        """Take the latest order rows (oldest first) and every product's increments."""
        self.rows, self.formats = rows, formats
        self._refresh()

    def _table(self, width: int) -> KeyedTable:
        table = self.query_one(KeyedTable)
        columns = COLUMNS if width >= WIDE_FROM else NARROW_COLUMNS
        if columns != self._columns:
            self._columns = columns
            table.clear(columns=True)
            for column in columns:
                table.add_column(column, key=column, width=STATUS_WIDTH if column == "status" else None)
        return table

    def _refresh(self, width: int | None = None) -> None:
        """Rebuild the table (keeping the selected row, or moving to a newer order)."""
        if not self.query(KeyedTable):
            return  # not composed yet (or already gone): on_mount catches up
        table = self._table(width or self.size.width)
        shown = [row for row in reversed(self.rows) if row.working or not self.working_only]

        def line(row: OrderRow) -> tuple[str, tuple[str, ...]]:
            cells = order_cells(row, self.formats.get(row.product_id, DEFAULT_FORMAT))
            return row.client_order_id, tuple(cells[column] for column in self._columns)

        table.replace_rows(line(row) for row in shown)
        newest = self.rows[-1].client_order_id if self.rows else ""
        if newest != self._newest:
            self._newest = newest
            if shown:
                table.move_cursor(row=0)
        self._summarise()

    def _summarise(self) -> None:
        working = sum(row.working for row in self.rows)
        shown = "working orders" if self.working_only else "all orders"
        selected = self.selected()
        about = ""
        if selected is not None:
            about = f" · {short_id(selected.client_order_id)} {selected.product_id} {selected.time}"
            if selected.note:
                about += f" {selected.note[:30]}"
        self.query_one("#summary", Static).update(f"{shown} · {working} working{about}", layout=False)  # one line high

    def on_data_table_row_highlighted(self) -> None:
        self._summarise()

    def selected(self) -> OrderRow | None:
        """The highlighted order, if any."""
        key = self.query_one(KeyedTable).selected_key()
        return next((row for row in self.rows if row.client_order_id == key), None)

    def action_cancel_selected(self) -> None:
        row = self.selected()
        if row is None:
            self.notify("no order selected", severity="warning")
        elif not row.working:
            self.notify(f"order {short_id(row.client_order_id)} is {row.status}: nothing to cancel", severity="warning")
        else:
            self.post_message(CancelRequested((row.client_order_id,)))

    def action_edit_selected(self) -> None:
        row = self.selected()
        if row is None:
            self.notify("no order selected", severity="warning")
        elif not row.working:
            self.notify(f"order {short_id(row.client_order_id)} is {row.status}: nothing to edit", severity="warning")
        elif row.price is None:
            self.notify(f"order {short_id(row.client_order_id)} is a market order: nothing to edit", severity="warning")
        else:
            fmt = self.formats.get(row.product_id, DEFAULT_FORMAT)
            self.app.push_screen(EditOrderScreen(row, fmt), functools.partial(self._edit_chosen, row))

    def _edit_chosen(self, row: OrderRow, choice: EditChoice | None) -> None:
        if choice is not None:
            self.post_message(EditRequested(row.client_order_id, *choice))

    def action_cancel_product(self) -> None:
        row = self.selected()
        if row is None:
            self.notify("no order selected: its product is the one cancelled", severity="warning")
        else:
            self.post_message(CancelAllRequested(row.product_id))

    def action_cancel_everything(self) -> None:
        self.post_message(CancelAllRequested(None))

    def action_toggle_working(self) -> None:
        self.working_only = not self.working_only
        self._refresh()
