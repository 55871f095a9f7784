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
        """Show exactly these rows, keeping the highlighted key highlighted if it is still there."""
        selected = self.selected_key()
        self.clear()
        for key, cells in rows:
            self.add_row(*cells, key=key)
        if selected is not None and selected in self.rows:
            self.move_cursor(row=self.get_row_index(selected))
