"""The help screen, made from the live bindings (so it cannot drift from what the keys do)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Static

from cryptoj_tui.screens.base import ConsoleScreen
from cryptoj_tui.widgets.palette import themed

COLUMNS = 3
"""Columns of keys side by side in a wide terminal: every key in view at 160x48, no scrolling."""


def binding_text(sections: list[tuple[str, list[tuple[str, str]]]], key_style: Style | str = "bold cyan") -> Text:
    """Keys and what they do, a title line over each section's keys. The keys are padded to the
    widest key of these sections: a long title does not widen the key column."""
    width = max((len(key) for _, rows in sections for key, _ in rows), default=0)
    text = Text()
    for n, (title, rows) in enumerate(sections):
        if n:
            text.append("\n\n")
        text.append(title, style="bold underline")
        for key, description in rows:
            text.append("\n")
            text.append(key.ljust(width), style=key_style)
            text.append(f"  {description}")
    return text


def in_columns(
    sections: list[tuple[str, list[tuple[str, str]]]], columns: int
) -> list[list[tuple[str, list[tuple[str, str]]]]]:
    """The sections in order, split into `columns` runs of about as many lines each."""
    sizes = [len(rows) + 2 for _, rows in sections]
    total, used = sum(sizes), 0
    split: list[list[tuple[str, list[tuple[str, str]]]]] = [[]]
    for section, size in zip(sections, sizes, strict=True):
        # A section starts the next column when more than half of it would fall past this one's share.
        if split[-1] and len(split) < columns and used + size / 2 > total * len(split) / columns:
            split.append([])
        split[-1].append(section)
        used += size
    return split


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
        key_style = themed(self.app, "bold cyan")
        with VerticalScroll(id="keys"), Horizontal():
            for column in in_columns(self.sections(), COLUMNS):
                yield Static(binding_text(column, key_style))

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
