"""The footer of every screen: the keys that work here, drawn as one line by one widget."""

from __future__ import annotations

from itertools import groupby
from typing import ClassVar

from rich.cells import cell_len
from rich.segment import Segment
from rich.style import Style
from textual.binding import Binding
from textual.events import Click, Resize
from textual.screen import Screen
from textual.strip import Strip

from cryptoj_tui.widgets.palette import themed
from cryptoj_tui.widgets.styled_lines import StyledLines

FooterKeys = tuple[tuple[tuple[Binding, bool], ...], tuple[Binding, bool] | None]
"""(each binding shown, with whether it works now; the command palette's, if it is bound)."""

COMPACT_BELOW = 120
"""Columns under which the footer drops its padding (and the palette hint: ctrl+p still
opens it) so every key of every screen fits in 80."""


class ConsoleFooter(StyledLines, can_focus=False):
    """The screen's shown bindings (disabled ones dimmed, a binding group as one entry), and the
    command palette key on the right; clicking a key presses it (a dimmed one says why it is off).

    Textual's Footer recomposes a widget per key whenever the bindings change, which is at every
    focus change: opening the order ticket spent most of its time there. This draws one line of
    segments (Line API), again only when the keys, the width or the styles change.
    """

    DEFAULT_CSS = """
    ConsoleFooter {
        dock: bottom; height: 1;
        color: $footer-foreground; background: $footer-background;
    }
    ConsoleFooter > .console-footer--key {
        color: $footer-key-foreground; background: $footer-key-background; text-style: bold;
    }
    ConsoleFooter > .console-footer--description {
        color: $footer-description-foreground; background: $footer-description-background;
    }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"console-footer--key", "console-footer--description"}

    def __init__(self) -> None:
        super().__init__()
        self.compact = False
        self._targets: list[tuple[int, int, str, bool]] = []
        """(first column, end column, key, enabled) of each key drawn, for clicks."""
        self._drawn: FooterKeys | None = None
        """The keys of the line drawn last (see `_keys`)."""
        self._line: Strip | None = None

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # Bindings are "updated" at every focus change and every dialog closed over the screen,
        # nearly always to the same keys: the line is drawn again only when they differ.
        if screen is self.screen and self._keys() != self._drawn:
            self.forget_strips()
            self.refresh()

    def forget_strips(self) -> None:
        self._line = None

    def _keys(self) -> FooterKeys:
        """Each binding the line shows, with whether it works now, and the palette's apart."""
        palette_key = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        shown: dict[str, tuple[Binding, bool]] = {}
        palette: tuple[Binding, bool] | None = None
        for _, binding, enabled, _ in self.screen.active_bindings.values():
            if binding.key == palette_key:
                palette = (binding, enabled)
            elif binding.show and binding.action not in shown:
                shown[binding.action] = (binding, enabled)
        return tuple(shown.values()), palette

    def on_resize(self, event: Resize) -> None:
        self.compact = event.size.width < COMPACT_BELOW
        self.forget_strips()
        self.refresh()

    def render_line(self, y: int) -> Strip:
        if self._line is None:
            self._line = self._draw()
        return self._line

    def text(self) -> str:
        """The line's text, as drawn now."""
        return "".join(segment.text for segment in self.render_line(0))

    def _draw(self) -> Strip:
        key_style = self._style("console-footer--key")
        description_style = self._style("console-footer--description")
        dim = themed(self.app, "dim")
        segments: list[Segment] = []
        column = 0
        self._targets = []
        self._drawn = shown, palette = self._keys()
        pad = "" if self.compact else " "

        def append(text: str, style: Style) -> None:
            nonlocal column
            segments.append(Segment(text, style))
            column += cell_len(text)

        def key(binding: Binding, enabled: bool, before: str = pad, after: str = pad) -> None:
            text = f"{before}{self.app.get_key_display(binding)}{after}"
            self._targets.append((column, column + cell_len(text), binding.key, enabled))
            append(text, key_style + dim if not enabled else key_style)

        def description(text: str, enabled: bool) -> None:
            append(
                f" {text} " if self.compact else f"{text} ",
                description_style + dim if not enabled else description_style,
            )

        width = self.size.width
        whole = (0, 0, 0)
        """(column, segments, click targets) at the end of the last entry that fits whole."""

        def entry_done() -> None:
            nonlocal whole
            if column <= width:
                whole = (column, len(segments), len(self._targets))

        for group, members in groupby(shown, lambda item: item[0].group):
            entries = list(members)
            if group is not None and len(entries) > 1:  # one entry: its keys side by side
                for n, (binding, enabled) in enumerate(entries):
                    key(binding, enabled, pad if n == 0 else "", pad if n == len(entries) - 1 else "")
                description(group.description, any(enabled for _, enabled in entries))
                entry_done()
            else:
                for binding, enabled in entries:
                    key(binding, enabled)
                    description(binding.description, enabled)
                    entry_done()
        if column > width:  # no half entries: a key without its word reads as a different key
            column, kept, targets = whole
            del segments[kept:], self._targets[targets:]
        if not self.compact and palette is not None:
            binding, enabled = palette
            tail = f"▏{self.app.get_key_display(binding)} {binding.description} "
            gap = width - column - cell_len(tail)
            if gap > 0:
                append(" " * gap, self._style())
                self._targets.append((column, column + cell_len(tail), binding.key, enabled))
                append("▏", self._style() + dim)
                append(tail[1:], self._style())
        return Strip(segments, column).adjust_cell_length(width, self._style())

    def on_click(self, event: Click) -> None:
        for start, end, key, _ in self._targets:
            if start <= event.x < end:
                # A disabled key too: pressing it is how the console says why it does nothing now.
                self.app.simulate_key(key)
                return
