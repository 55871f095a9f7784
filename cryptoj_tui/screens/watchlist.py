"""The watchlist: every watched product's inside market, last trade, day's change, spread, your
position and working orders, and a sparkline; sortable; enter trades the product picked."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from cryptoj_tui.messages import ProductSelected, UnwatchRequested, WatchRequested
from cryptoj_tui.screens.base import ConsoleScreen
from cryptoj_tui.views import WatchlistView, WatchRow
from cryptoj_tui.widgets.row_table import Column, RowTable

COLUMNS = (
    Column("product"),
    Column("bid", right=True),
    Column("ask", right=True),
    Column("last", right=True),
    Column("24h %", right=True, toned=True),
    Column("spread", right=True),
    Column("position", right=True),
    Column("orders", right=True),
    Column("last 30 min"),
)
NARROW_COLUMNS = (*COLUMNS[:3], *COLUMNS[4:8], Column("trend"))
"""Under WIDE_FROM columns: no last price, a short sparkline (80 columns hold it all)."""
WIDE_FROM = 120
BARS = "▁▂▃▄▅▆▇█"
SPARK_WIDTH = 30
NARROW_SPARK_WIDTH = 8


def sparkline(closes: tuple[Decimal, ...], width: int = SPARK_WIDTH) -> str:
    """The closes as one line of bars, newest on the right (flat when they do not move)."""
    shown = closes[-width:]
    if not shown:
        return ""
    low, high = min(shown), max(shown)
    if high == low:
        return BARS[0] * len(shown)
    top = len(BARS) - 1
    return "".join(BARS[int((close - low) / (high - low) * top)] for close in shown)


def percent(change: Decimal | None) -> str:
    """A day's change as +1.23 / -0.45 ("+0.00", not "-0.00", for a change that rounds to none)."""
    if change is None:
        return "—"
    rounded = change.quantize(Decimal("0.01"))
    return f"{rounded.copy_abs() if rounded == 0 else rounded:+.2f}"


def _change(row: WatchRow) -> Decimal:
    return row.change_24h_percent if row.change_24h_percent is not None else Decimal("-Infinity")


def _relative_spread(row: WatchRow) -> Decimal:
    return row.spread / row.bid if row.spread is not None and row.bid else Decimal("Infinity")


SORTS: tuple[tuple[str, Callable[[WatchRow], object], bool], ...] = (
    ("product", lambda row: row.product_id, False),
    ("24h %", _change, True),
    ("spread %", _relative_spread, False),
    ("position", lambda row: abs(row.position), True),
)
"""(name, key, descending) of each order `o` cycles through."""


class WatchlistScreen(ConsoleScreen):
    """Every watched product in one table; the traded one is marked."""

    DEFAULT_CSS = """
    WatchlistScreen RowTable { height: 1fr; }
    WatchlistScreen #caption { height: 1; padding: 0 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "trade", "Trade it", id="watchlist.trade"),
        Binding("o", "sort", "Sort", id="watchlist.sort"),
        Binding("a", "add", "Add", id="watchlist.add"),
        Binding("d", "remove", "Remove", id="watchlist.remove"),
    ]

    view: WatchlistView | None = None
    watched: tuple[str, ...] = ()
    """The products shown, in the order they were added."""
    traded = ""
    sort = 0

    def compose_body(self) -> ComposeResult:
        yield Static("", id="caption")
        yield RowTable()

    def on_resize(self) -> None:
        if self.view is not None:
            self.show(self.view, self.watched, self.traded)

    def on_mount(self) -> None:
        if self.view is not None:
            self.show(self.view, self.watched, self.traded)

    def show(self, view: WatchlistView, watched: tuple[str, ...], traded: str) -> None:
        """Take the latest rows, the products watched and the one traded."""
        self.view, self.watched, self.traded = view, watched, traded
        if not (self.query(RowTable) and self.query("#caption")):
            return  # not composed yet (or already gone, or half of it mounted): on_mount catches up
        name, key, descending = SORTS[self.sort]
        shown = [r for r in view.rows if r.product_id in watched]
        rows = sorted(shown, key=key, reverse=descending)  # type: ignore[arg-type]
        narrow = self.size.width < WIDE_FROM
        self.query_one(RowTable).show(
            NARROW_COLUMNS if narrow else COLUMNS, [(row.product_id, self._cells(row, view, narrow)) for row in rows]
        )
        # One line high: a new caption changes no layout (a layout pass was most of the frame
        # that shows new rows).
        self.query_one("#caption", Static).update(
            f"{len(rows)} watched · sorted by {name} (o) · enter trades it · a adds · d removes", layout=False
        )

    def _cells(self, row: WatchRow, view: WatchlistView, narrow: bool) -> tuple[str, ...]:
        fmt = view.format(row.product_id)
        change = row.change_24h_percent
        cells = [
            f"▶ {row.product_id}" if row.product_id == self.traded else f"  {row.product_id}",
            fmt.price(row.bid) if row.bid is not None else "—",
            fmt.price(row.ask) if row.ask is not None else "—",
            fmt.price(row.last) if row.last is not None else "—",
            percent(change),
            fmt.price(row.spread) if row.spread is not None else "—",
            fmt.size(row.position) if row.position else "flat",
            str(row.working) if row.working else "",
            sparkline(row.closes, NARROW_SPARK_WIDTH if narrow else SPARK_WIDTH) if row.live else "not live",
        ]
        if narrow:
            del cells[3]  # the last price: the inside says nearly as much
        return tuple(cells)

    def _selected(self) -> str | None:
        return self.query_one(RowTable).selected_key() if self.query(RowTable) else None

    def action_trade(self) -> None:
        """Trade the selected product (the trading screen follows it)."""
        product_id = self._selected()
        if product_id is not None:
            self.post_message(ProductSelected(product_id))

    def on_row_table_selected(self, event: RowTable.Selected) -> None:
        """The table's enter or a click: trade that row's product."""
        event.stop()
        self.post_message(ProductSelected(event.key))

    def action_sort(self) -> None:
        """Sort by the next column: product, 24 h change, spread, position."""
        self.sort = (self.sort + 1) % len(SORTS)
        if self.view is not None:
            self.show(self.view, self.watched, self.traded)

    def action_add(self) -> None:
        """Add a product from the venue's list."""
        self.post_message(WatchRequested())

    def action_remove(self) -> None:
        """Take the selected product off the list (not the one traded)."""
        product_id = self._selected()
        if product_id is not None:
            self.post_message(UnwatchRequested(product_id))
