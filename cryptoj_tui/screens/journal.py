"""The journal screen: the engine's events as they happened, filterable and searchable."""

from __future__ import annotations

from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.widgets import Input

from cryptoj_tui.event_text import KINDS
from cryptoj_tui.screens.base import ConsoleScreen
from cryptoj_tui.widgets.keyed_table import KeyedTable


class JournalScreen(ConsoleScreen):
    """Every engine record event the console received (connection, orders, risk, alerts...)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("slash", "search", "Filter", id="journal.filter"),
        Binding("escape", "leave_filter", "Back to the list", show=False, id="journal.leave_filter"),
    ]

    DEFAULT_CSS = """
    JournalScreen Input { margin: 0 1; }
    JournalScreen KeyedTable { height: 1fr; }
    """

    entries: tuple[tuple[str, str, str], ...] = ()
    """(time, kind, text) of every entry, oldest first, as the app last gave them."""

    def compose_body(self) -> ComposeResult:
        yield Input(
            placeholder="/ filter: words of the kind or the text (e.g. order REJECTED, gap); escape returns",
            id="filter",
        )
        table = KeyedTable(cursor_type="row", zebra_stripes=True)
        # time and kind at fixed widths: the columns stay put as the filter changes the rows
        table.add_column("time", width=8)
        table.add_column("kind", width=max(len(kind) for kind in KINDS.values()))
        table.add_column("what")
        yield table

    def on_resize(self, event: Resize) -> None:
        self.query_one("#filter", Input).compact = event.size.width < 120

    def on_mount(self) -> None:
        self.query_one(KeyedTable).focus()  # keys stay keys until the trader asks to type
        self.refresh_entries()

    def action_search(self) -> None:
        self.query_one("#filter", Input).focus()

    def action_leave_filter(self) -> None:
        self.query_one(KeyedTable).focus()

    def show_entries(self, entries: tuple[tuple[str, str, str], ...]) -> None:
        """Take every entry (oldest first) and show the newest that match the filter."""
        self.entries = entries
        self.refresh_entries()

    def on_input_changed(self, _: Input.Changed) -> None:
        self.refresh_entries()

    def refresh_entries(self) -> None:
        """Show the newest entries that contain every word of the filter (case-insensitive)."""
        if not self.query(KeyedTable):
            return  # not composed yet (or already gone): on_mount / on_screen_resume catch up
        words = self.query_one("#filter", Input).value.lower().split()
        entries = self.entries
        rows = [
            (str(n), (when, kind, text))
            for n, (when, kind, text) in enumerate(entries)
            if all(w in f"{kind} {text}".lower() for w in words)
        ]
        rows.reverse()
        table = self.query_one(KeyedTable)
        following = table.cursor_row == 0  # on the newest entry: stay on the newest, as `tail -f` does
        table.replace_rows(rows[:1000])
        if following and table.row_count:
            table.move_cursor(row=0)
