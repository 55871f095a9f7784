"""The footer of every screen: Textual's, compact when the terminal is narrow."""

from __future__ import annotations

from textual.events import Resize
from textual.widgets import Footer

COMPACT_BELOW = 120
"""Columns under which the footer drops its padding (and the palette hint: ctrl+p still
opens it) so every key of every screen fits in 80."""


class ConsoleFooter(Footer):
    """Textual's footer, switching to its compact style under COMPACT_BELOW columns."""

    DEFAULT_CSS = """
    /* Compact Footer puts a group's label flush against the next key. */
    ConsoleFooter.-compact FooterLabel { margin: 0 1 0 0; }
    """

    def on_resize(self, event: Resize) -> None:
        narrow = event.size.width < COMPACT_BELOW
        self.compact = narrow
        self.show_command_palette = not narrow
