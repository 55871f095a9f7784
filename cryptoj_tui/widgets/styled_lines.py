"""A base for Line-API widgets that style many lines per frame."""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget


class StyledLines(Widget):
    """A widget whose lines combine its base style with component styles, cached.

    `rich_style` walks the DOM on every call; a widget repainting dozens of lines many times a
    second would pay that on every line. The cache empties when the CSS (or theme) changes.
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._styles: dict[tuple[str, ...], Style] = {}

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self.forget_strips()
        self.refresh()

    def forget_strips(self) -> None:
        """Drop rendered lines kept by a subclass (their styles may have changed)."""

    def _style(self, *names: str) -> Style:
        """The widget's base style plus these component styles."""
        style = self._styles.get(names)
        if style is None:
            style = self.rich_style
            for name in names:
                style += self.get_component_rich_style(name)
            self._styles[names] = style
        return style
