"""The footer of every screen: the keys that work here, drawn as one line by one widget."""

from __future__ import annotations

from itertools import groupby
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding
from textual.events import Click, Resize
from textual.screen import Screen
from textual.widget import Widget

from cryptoj_tui.widgets.palette import themed

COMPACT_BELOW = 120
"""Columns under which the footer drops its padding (and the palette hint: ctrl+p still
opens it) so every key of every screen fits in 80."""


class ConsoleFooter(Widget, can_focus=False):
    """The screen's shown bindings (disabled ones dimmed, a binding group as one entry), and the
    command palette key on the right; clicking a key presses it (a dimmed one says why it is off).

    Textual's Footer recomposes a widget per key whenever the bindings change, which is at every
    focus change: opening the order ticket spent most of its time there. This repaints one line.
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
        self._drawn: tuple[tuple[Binding, bool], ...] | None = None
        """The keys of the line drawn last (see `_keys`)."""

    def on_mount(self) -> None:
        self.screen.bindings_updated_signal.subscribe(self, self._bindings_changed)

    def _bindings_changed(self, screen: Screen[object]) -> None:
        # Bindings are "updated" at every focus change and every dialog closed over the screen,
        # nearly always to the same keys: the line is drawn again only when they differ.
        if screen is self.screen and self._keys() != self._drawn:
            self.refresh()

    def _keys(self) -> tuple[tuple[Binding, bool], ...]:
        """Each binding the line shows, with whether it works now; the palette's key last."""
        palette_key = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        shown: dict[str, tuple[Binding, bool]] = {}
        palette: tuple[tuple[Binding, bool], ...] = ()
        for _, binding, enabled, _ in self.screen.active_bindings.values():
            if binding.key == palette_key:
                palette = ((binding, enabled),)
            elif binding.show and binding.action not in shown:
                shown[binding.action] = (binding, enabled)
        return (*shown.values(), *palette)

    def on_resize(self, event: Resize) -> None:
        self.compact = event.size.width < COMPACT_BELOW
        self.refresh()

    def render(self) -> Text:
        key_style = self.get_component_rich_style("console-footer--key")
        description_style = self.get_component_rich_style("console-footer--description")
        dim = themed(self.app, "dim")
        line = Text(no_wrap=True, overflow="crop")
        self._targets = []
        keys = self._drawn = self._keys()
        palette_key = self.app.COMMAND_PALETTE_BINDING if self.app.ENABLE_COMMAND_PALETTE else None
        palette = keys[-1] if keys and keys[-1][0].key == palette_key else None
        shown = keys[:-1] if palette is not None else keys
        pad = "" if self.compact else " "

        def key(binding: Binding, enabled: bool, before: str = pad, after: str = pad) -> None:
            text = f"{before}{self.app.get_key_display(binding)}{after}"
            self._targets.append((line.cell_len, line.cell_len + len(text), binding.key, enabled))
            line.append(text, key_style + dim if not enabled else key_style)

        def description(text: str, enabled: bool) -> None:
            line.append(
                f" {text} " if self.compact else f"{text} ",
                description_style + dim if not enabled else description_style,
            )

        for group, members in groupby(shown, lambda item: item[0].group):
            entries = list(members)
            if group is not None and len(entries) > 1:  # one entry: its keys side by side
                for n, (binding, enabled) in enumerate(entries):
                    key(binding, enabled, pad if n == 0 else "", pad if n == len(entries) - 1 else "")
                description(group.description, any(enabled for _, enabled in entries))
            else:
                for binding, enabled in entries:
                    key(binding, enabled)
                    description(binding.description, enabled)
        if not self.compact and palette is not None:
            binding, enabled = palette
            tail = f"▏{self.app.get_key_display(binding)} {binding.description} "
            gap = self.size.width - line.cell_len - len(tail)
            if gap > 0:
                line.append(" " * gap)
                self._targets.append((line.cell_len, line.cell_len + len(tail), binding.key, enabled))
                line.append("▏", dim)
                line.append(tail[1:])
        return line

    def on_click(self, event: Click) -> None:
        for start, end, key, _ in self._targets:
            if start <= event.x < end:
                # A disabled key too: pressing it is how the console says why it does nothing now.
                self.app.simulate_key(key)
                return
