"""A DataTable whose rows have keys, rebuilt whole while keeping the highlighted row."""

from __future__ import annotations

from collections.abc import Iterable

from textual.widgets import DataTable


class KeyedTable(DataTable[str]):
    """Rows are (key, cells); the selection follows its key across rebuilds."""

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
