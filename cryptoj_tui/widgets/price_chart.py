"""A price sparkline from the engine's one-second candles (Line API: a few lines, redrawn whole)."""

from __future__ import annotations

from decimal import Decimal

from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

BLOCKS = " ▁▂▃▄▅▆▇█"


def sparkline_rows(closes: list[Decimal], width: int, height: int) -> list[str]:
    """The closes drawn as `height` rows of block characters, newest on the right."""
    if not closes or width <= 0 or height <= 0:
        return [" " * max(width, 0)] * max(height, 0)
    shown = closes[-width:]
    low, high = min(shown), max(shown)
    span = high - low
    levels = height * (len(BLOCKS) - 1)
    # Each close becomes a column filled up to its share of the range (a flat series sits mid-height).
    fills = [levels // 2 if span == 0 else int((c - low) / span * (levels - 1)) + 1 for c in shown]
    rows = []
    for row in range(height):
        floor = (height - 1 - row) * (len(BLOCKS) - 1)
        line = "".join(BLOCKS[max(0, min(len(BLOCKS) - 1, fill - floor))] for fill in fills)
        rows.append(line.rjust(width))
    return rows


class PriceChart(Widget):
    """The last minutes of one-second closes, with the range they span."""

    COMPONENT_CLASSES = {"chart--line", "chart--label"}
    DEFAULT_CSS = """
    PriceChart { height: 9; background: $surface; border: round $primary 50%; }
    PriceChart > .chart--line { color: $accent; }
    PriceChart > .chart--label { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.closes: list[Decimal] = []
        self.border_title = "price, 1 s closes"

    def show(self, closes: list[Decimal]) -> None:
        """Take the latest closes (oldest first) and redraw."""
        if closes != self.closes:
            self.closes = closes
            self.refresh()

    def render_line(self, y: int) -> Strip:
        width, height = self.size.width, self.size.height
        base = self.rich_style
        if not self.closes:
            text = "waiting for trades" if y == height // 2 else ""
            return Strip([Segment(text.center(width), base + self.get_component_rich_style("chart--label"))]).adjust_cell_length(width, base)
        label = self.get_component_rich_style("chart--label")
        if y == 0:
            high = max(self.closes[-width:])
            return Strip([Segment(f"{high:,.2f}".rjust(width), base + label)]).adjust_cell_length(width, base)
        if y == height - 1:
            low = min(self.closes[-width:])
            return Strip([Segment(f"{low:,.2f}".rjust(width), base + label)]).adjust_cell_length(width, base)
        rows = sparkline_rows(self.closes, width, height - 2)
        return Strip([Segment(rows[y - 1], base + self.get_component_rich_style("chart--line"))]).adjust_cell_length(width, base)
