"""A price sparkline from the engine's one-second candles (Line API: a few lines, redrawn whole)."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

from rich.segment import Segment
from textual.strip import Strip

from cryptoj_tui.formats import DEFAULT_FORMAT
from cryptoj_tui.widgets.styled_lines import FramedChart

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


class PriceChart(FramedChart):
    """The last minutes of one-second closes, with the range they span."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"chart--line", "chart--label"}
    DEFAULT_CSS = """
    PriceChart { height: 9; background: $surface; }
    PriceChart > .chart--line { color: $accent; }
    PriceChart > .chart--label { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.closes: list[Decimal] = []
        self.format = DEFAULT_FORMAT
        """The product's increments (the labels' prices are written to them)."""
        self.frame_title = "price, 1 s closes"

    def show(self, closes: list[Decimal]) -> None:
        """Take the latest closes (oldest first) and redraw."""
        if closes != self.closes:
            self.closes = closes
            self.forget_strips()
            self.refresh()

    def chart_lines(self, width: int, height: int) -> list[Strip]:
        """Every line of the chart, drawn once per change of closes or size."""
        base = self._style()
        label = self._style("chart--label")

        def line(text: str, style: object) -> Strip:
            return Strip([Segment(text, style)]).adjust_cell_length(width, base)  # type: ignore[arg-type]

        if not self.closes:
            return [line("waiting for trades".center(width) if y == height // 2 else "", label) for y in range(height)]
        shown = self.closes[-width:]
        rows = sparkline_rows(self.closes, width, height - 2)
        chart = self._style("chart--line")
        return (
            [line(self.format.price(max(shown)).rjust(width), label)]
            + [line(row, chart) for row in rows]
            + [line(self.format.price(min(shown)).rjust(width), label)]
        )[:height]
