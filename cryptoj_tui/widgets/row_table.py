"""A table of keyed text rows drawn with the Line API: one cached Strip per row.

For views that change many rows a second (the watchlist moves with every product's book): a
DataTable rebuilt whole re-renders every cell through Rich on each change (16 ms for 20 rows),
where this joins each changed row's cells into one Strip and serves the others from its cache.
It keeps a row cursor that follows its key across updates, scrolls to keep it in sight, and
posts `Selected` on enter or a click.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.message import Message
from textual.strip import Strip

from cryptoj_tui.widgets.styled_lines import StyledLines

GAP = 2
"""Spaces between columns."""


@dataclass(frozen=True, slots=True)
class Column:
    """A column's label and how its cells are set."""

    label: str
    right: bool = False
    """Right-aligned (numbers) rather than left."""
    toned: bool = False
    """Cells starting with + are drawn as up, with - as down."""


class RowTable(StyledLines, can_focus=True):
    """Rows of (key, cells) under a header; the cursor row is highlighted and selectable."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"rows--header", "rows--cursor", "rows--stripe", "rows--up", "rows--down"}
    DEFAULT_CSS = """
    RowTable { height: 1fr; background: $surface; }
    RowTable > .rows--header { color: $text; text-style: bold; background: $panel; }
    RowTable > .rows--cursor { background: $accent 40%; }
    RowTable:focus > .rows--cursor { background: $accent; color: $text; }
    RowTable > .rows--stripe { background: $boost; }
    RowTable > .rows--up { color: $success; }
    RowTable > .rows--down { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "page(-1)", "Page up", show=False),
        Binding("pagedown", "page(1)", "Page down", show=False),
        Binding("home", "cursor(-1000000)", "First", show=False),
        Binding("end", "cursor(1000000)", "Last", show=False),
        Binding("enter", "select", "Select", show=False),
    ]

    class Selected(Message):
        """The trader chose a row (enter or a click)."""

        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.columns: tuple[Column, ...] = ()
        self.rows: tuple[tuple[str, tuple[str, ...]], ...] = ()
        self.cursor = 0
        self.top = 0
        """The first row in sight."""
        self._widths: tuple[int, ...] = ()
        self._strips: dict[tuple[object, ...], Strip] = {}
        """(cells, cursor?, stripe?, width) -> the row's line, for the rows shown now."""

    def forget_strips(self) -> None:
        self._strips.clear()

    def on_focus(self) -> None:
        self._strips.clear()  # the cursor's style depends on the focus
        self.refresh()

    def on_blur(self) -> None:
        self.on_focus()

    def show(self, columns: Sequence[Column], rows: Sequence[tuple[str, tuple[str, ...]]]) -> None:
        """Show exactly these rows; the cursor stays on its key if that row is still there."""
        selected = self.selected_key()
        columns, rows = tuple(columns), tuple(rows)
        widths = tuple(
            max(len(column.label), *(len(cells[n]) for _, cells in rows)) if rows else len(column.label)
            for n, column in enumerate(columns)
        )
        if (columns, widths) != (self.columns, self._widths):
            self._strips.clear()
        self.columns, self.rows, self._widths = columns, rows, widths
        keys = [key for key, _ in rows]
        if selected in keys:
            self.cursor = keys.index(selected)
        self._place_cursor(self.cursor)
        self.refresh()

    def selected_key(self) -> str | None:
        """The key of the cursor's row, if there are rows."""
        return self.rows[self.cursor][0] if self.rows else None

    def move_cursor(self, row: int) -> None:
        """Put the cursor on row `row` (clamped to the rows there are)."""
        self._place_cursor(row)
        self.refresh()

    def _place_cursor(self, row: int) -> None:
        self.cursor = max(0, min(row, len(self.rows) - 1))
        shown = max(1, self.size.height - 1)
        if self.cursor < self.top:
            self.top = self.cursor
        elif self.cursor >= self.top + shown:
            self.top = self.cursor - shown + 1
        self.top = max(0, min(self.top, max(0, len(self.rows) - shown)))

    def action_cursor(self, step: int) -> None:
        self.move_cursor(self.cursor + step)

    def action_page(self, direction: int) -> None:
        self.move_cursor(self.cursor + direction * max(1, self.size.height - 2))

    def action_select(self) -> None:
        key = self.selected_key()
        if key is not None:
            self.post_message(self.Selected(key))

    def on_click(self, event: events.Click) -> None:
        row = self.top + event.y - 1
        if event.y >= 1 and row < len(self.rows):
            self.move_cursor(row)
            self.action_select()

    def on_resize(self) -> None:
        self._strips.clear()
        self._place_cursor(self.cursor)

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        if y == 0:
            return self._line(tuple(c.label for c in self.columns), width, ("rows--header",))
        row = self.top + y - 1
        if row >= len(self.rows):
            return Strip.blank(width, self._style())
        cells = self.rows[row][1]
        names = ("rows--cursor",) if row == self.cursor else ("rows--stripe",) if row % 2 else ()
        key = (cells, names, width)
        strip = self._strips.get(key)
        if strip is None:
            if len(self._strips) > 4 * len(self.rows) + 8:
                self._strips.clear()  # rows that changed since: drop their old lines
            strip = self._strips[key] = self._line(cells, width, names)
        return strip

    def _line(self, cells: tuple[str, ...], width: int, names: tuple[str, ...]) -> Strip:
        base = self._style(*names)
        up, down = base + self._style("rows--up"), base + self._style("rows--down")
        segments = [Segment(" ", base)]
        header = names == ("rows--header",)
        for column, cell_width, text in zip(self.columns, self._widths, cells, strict=False):
            style: Style = base
            if column.toned and not header:
                style = up if text.startswith("+") else down if text.startswith("-") else base
            segments.append(Segment(text.rjust(cell_width) if column.right else text.ljust(cell_width), style))
            segments.append(Segment(" " * GAP, base))
        return Strip(segments).adjust_cell_length(width, base)
