"""A DataTable whose rows have keys, rebuilt whole while keeping the highlighted row."""

from __future__ import annotations

from collections.abc import Iterable

from rich.style import Style
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget
from textual.widgets import DataTable


class KeyedTable(DataTable[str]):
    """Rows are (key, cells); the selection follows its key across rebuilds."""

    _cell_styles: tuple[Style, ...] = ()
    _cell_widths: tuple[int, ...] = ()
    _restyled = True

    def notify_style_update(self) -> None:
        """Keep the rendered cells through a style pass; render_lines drops them if a style they
        are drawn with changed (a node's component styles are worked out after this call).

        DataTable drops them on every style pass, and Textual runs one over the whole screen each
        time a screen is shown again: switching to a table's screen redrew every cell, most of the
        switch's time. Focus, theme and CSS changes still change these styles, so still redraw.
        """
        Widget.notify_style_update(self)
        self._restyled = True

    def render_lines(self, crop: Region) -> list[Strip]:
        """Drop the rendered cells first if their styles or their columns' widths changed.

        The widths as well: DataTable caches a cell without its width and widens auto-width
        columns when idle, after the new rows may have been drawn at the old width; only its
        frequent style passes used to hide that (cells cut short: "limi" for "limit").
        """
        widths = tuple(column.get_render_width(self) for column in self.columns.values())
        stale = widths != self._cell_widths
        if self._restyled:
            self._restyled = False
            names = sorted(self._component_styles)
            cell_styles = (self.rich_style, *(self.get_component_rich_style(name) for name in names))
            stale = stale or cell_styles != self._cell_styles
            self._cell_styles = cell_styles
        if stale:
            self._cell_widths = widths
            super().notify_style_update()
        return super().render_lines(crop)

    def selected_key(self) -> str | None:
        """The key of the highlighted row, if any."""
        if not self.row_count:
            return None
        key, _ = self.coordinate_to_cell_key(self.cursor_coordinate)
        return str(key.value)

    def replace_rows(self, rows: Iterable[tuple[str, tuple[str, ...]]]) -> None:
        """Show exactly these rows, keeping the highlighted key highlighted if it is still there.

        Columns without a set width fit the rows shown now: a DataTable's only ever grow, so
        their widths told which rows had been shown before (a filtered journal looked different
        depending on whether its entries came before or after the filter).
        """
        selected = self.selected_key()
        columns = [(c.label, c.key.value, None if c.auto_width else c.width) for c in self.columns.values()]
        self.clear(columns=True)
        for label, column_key, width in columns:
            self.add_column(label, key=column_key, width=width)
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))
