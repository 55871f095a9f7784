"""A base for Line-API widgets that style many lines per frame."""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual.geometry import Region, Size, Spacing
from textual.selection import Selection
from textual.strip import Strip
from textual.widget import Widget

NO_SPACING = Spacing(0, 0, 0, 0)


class StyledLines(Widget):
    """A Line-API widget whose lines combine its base style with component styles, cached, and
    go to the compositor as they are (see `render_lines`).

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

    def render_lines(self, crop: Region) -> list[Strip]:
        # Textual passes every line of every widget through its styles cache, which works out
        # border, padding, outline, tint and opacity again per line and copies each strip: ten
        # times what serving these lines from their own caches costs (the ladder: 460 us against
        # 32). A widget styled by none of those (a frame is drawn by FramedLines itself) is
        # served directly; one that CSS gives any of them goes the usual way.
        if not self._drawn_whole():
            return super().render_lines(crop)
        render_line = self.render_line
        strips = [render_line(y) for y in crop.line_range]
        filters = self.get_line_filters()
        if filters:
            background = self.background_colors[1]
            for line_filter in filters:
                strips = [strip.apply_filter(line_filter, background) for strip in strips]
        x1, x2 = crop.column_span
        if (x1, x2) != (0, self.outer_size.width):
            strips = [strip.crop(x1, x2) for strip in strips]
        return strips

    def _drawn_whole(self) -> bool:
        """Whether this widget's lines are all there is to it: no CSS border, outline, padding,
        tint, hatch or opacity for Textual to add."""
        styles = self.styles
        return (
            styles.gutter == NO_SPACING
            and not any(edge for edge, _ in styles.outline)
            and not styles.tint.a
            and styles.text_opacity == 1.0
            and self.opacity == 1.0
            and not (styles.has_rule("hatch") and styles.hatch != "none")
        )

    def _style(self, *names: str) -> Style:
        """The widget's base style plus these component styles."""
        style = self._styles.get(names)
        if style is None:
            style = self.rich_style
            for name in names:
                style += self.get_component_rich_style(name)
            self._styles[names] = style
        return style


class FramedLines(StyledLines):
    """StyledLines in a rounded frame with a title on its top edge, drawn by the widget itself.

    It looks like the CSS `border: round $primary 50%` of the other panels, but Textual works a
    border's two side cells out again (colour blending, two styles) on every line it repaints,
    and these widgets repaint dozens of lines a frame: on the trading screen under a busy feed,
    a third of each frame. Here the sides are two segments made once per style and kept inside
    each line's cached Strip. Subclasses draw `inner_size` and wrap each line with `framed`.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"frame--edge", "frame--title"}
    DEFAULT_CSS = """
    FramedLines > .frame--edge { color: $primary 50%; }
    FramedLines > .frame--title { color: $primary 50%; }
    """

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._frame_title = ""
        self._side: Segment | None = None
        self._edges: dict[tuple[bool, int], Strip] = {}

    def notify_style_update(self) -> None:
        self._side = None
        self._edges.clear()
        super().notify_style_update()

    @property
    def frame_title(self) -> str:
        """The title on the frame's top edge."""
        return self._frame_title

    @frame_title.setter
    def frame_title(self, title: str) -> None:
        if title != self._frame_title:
            self._frame_title = title
            self._edges.clear()
            if self.is_mounted:
                self.refresh(Region(0, 0, self.outer_size.width, 1))

    @property
    def inner_size(self) -> Size:
        """The size inside the frame."""
        width, height = self.outer_size  # kept by Textual; `size` finds the widget on its screen
        return Size(max(0, width - 2), max(0, height - 2))

    def framed(self, line: Strip | list[Segment], inner_width: int) -> Strip:
        """A line between the frame's two sides: a Strip (padded or cropped to `inner_width`), or
        segments the caller knows to be exactly `inner_width` cells of one-cell characters."""
        if self._side is None:
            self._side = Segment("│", self._style("frame--edge"))
        if isinstance(line, Strip):
            line = list(line.adjust_cell_length(inner_width, self._style()))
        return Strip([self._side, *line, self._side], inner_width + 2)

    def render_line(self, y: int) -> Strip:
        width, height = self.outer_size
        if y == 0 or y == height - 1:
            key = (y == 0, width)
            edge = self._edges.get(key)
            if edge is None:
                edge = self._edges[key] = self._edge(y == 0, width)
            return edge
        return self.render_inner_line(y - 1)

    def render_inner_line(self, y: int) -> Strip:
        """Line `y` inside the frame, already `framed` (cache it: this runs on every repaint)."""
        raise NotImplementedError

    def _edge(self, top: bool, width: int) -> Strip:
        style = self._style("frame--edge")
        if width < 2:
            return Strip.blank(width, style)
        title = f" {self._frame_title} "[: width - 4] if top and self._frame_title and width > 4 else ""
        if not title:
            corners = "╭╮" if top else "╰╯"
            return Strip([Segment(corners[0] + "─" * (width - 2) + corners[1], style)], width)
        rest = width - 3 - len(title)
        segments = [Segment("╭─", style)]
        if title:
            segments.append(Segment(title, self._style("frame--title")))
        segments.append(Segment("─" * rest + "╮", style))
        return Strip(segments, width)


class FramedChart(FramedLines):
    """A framed picture redrawn whole: `chart_lines` draws every inner line once per change
    (`forget_strips`, then refresh) or size, and repaints are served from that copy."""

    def __init__(self, *, name: str | None = None, id: str | None = None) -> None:
        super().__init__(name=name, id=id)
        self._lines: tuple[tuple[int, int], list[Strip]] | None = None
        """((width, height), every framed line) for what is shown now."""

    def forget_strips(self) -> None:
        self._lines = None

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """Nothing: a chart is no text to copy."""
        return None

    def render_inner_line(self, y: int) -> Strip:
        size = self.inner_size
        if self._lines is None or self._lines[0] != size:
            self._lines = (size, [self.framed(line, size.width) for line in self.chart_lines(*size)])
        lines = self._lines[1]
        return lines[y] if y < len(lines) else self.framed(Strip.blank(size.width, self._style()), size.width)

    def chart_lines(self, width: int, height: int) -> list[Strip]:
        """Every inner line of the chart, `width` cells each."""
        raise NotImplementedError
