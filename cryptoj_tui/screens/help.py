"""The help screen, made from the live bindings (so it cannot drift from what the keys do)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from rich.style import Style
from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from cryptoj_tui.screens.base import ConsoleScreen
from cryptoj_tui.widgets.palette import themed


def binding_table(sections: list[tuple[str, list[tuple[str, str]]]], key_style: Style | str = "bold cyan") -> Table:
    """A two-column table of keys and what they do, one section per screen."""
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column(style=key_style, no_wrap=True)
    table.add_column()
    for title, rows in sections:
        table.add_row(f"[b u]{title}[/]", "")
        for key, description in rows:
            table.add_row(key, description)
        table.add_row("", "")
    return table


BindingOwners = list[tuple[str, type]]
"""(section title, a class whose BINDINGS the section lists), in the order shown."""


class HelpScreen(ConsoleScreen):
    """Every key of every screen, from the bindings themselves (and the keymap in force)."""

    DEFAULT_CSS = """
    HelpScreen #keys { height: 1fr; }
    HelpScreen #keys Static { width: 1fr; height: auto; padding: 1 2; }
    HelpScreen #keys Horizontal { height: auto; }
    /* One column where two would cut the descriptions. */
    HelpScreen.-narrow #keys Horizontal { layout: vertical; }
    HelpScreen.-narrow #keys Static { padding: 0 1; }
    """

    def __init__(self, clock: Callable[[], datetime], owners: BindingOwners, keymap: Mapping[str, str]) -> None:
        super().__init__(clock)
        self.owners = owners
        self.keymap = keymap

    def compose_body(self) -> ComposeResult:
        sections = self.sections()
        # Two columns, split where half the rows are, so every key fits 48 lines (it scrolls below).
        sizes = [len(rows) + 2 for _, rows in sections]
        half = next(n for n in range(len(sections) + 1) if sum(sizes[:n]) >= sum(sizes) / 2)
        with VerticalScroll(id="keys"), Horizontal():
            key_style = themed(self.app, "bold cyan")
            yield Static(binding_table(sections[:half], key_style))
            yield Static(binding_table(sections[half:], key_style))

    def sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(title, [(keys, description)]) for each owner of bindings."""
        sections = []
        for title, owner in self.owners:
            rows: list[tuple[str, str]] = []
            for binding in getattr(owner, "BINDINGS", []):
                remapped = self.keymap.get(binding.id)
                keys = remapped or binding.key_display or binding.key
                rows.append((", ".join(k.strip() for k in keys.split(",")), binding.description))
            sections.append((title, rows))
        return sections
