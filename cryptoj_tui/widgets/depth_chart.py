"""The book's cumulative depth: bids rising to the left of the mid, asks to the right (Line API).

Each column is a price bucket; its height is the size resting from the inside of the book out
to that bucket, so the two walls show at a glance how much it takes to move the price by a given
distance. The chart is redrawn at most REDRAW_EVERY seconds apart (the ladder beside it shows
every change; a wall's shape read ten times a second is all an eye takes in), and between
redraws it is served from cached Strips.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal
from typing import ClassVar

from rich.segment import Segment
from textual.strip import Strip

from cryptoj_tui.engine.model import Level
from cryptoj_tui.formats import DEFAULT_FORMAT, ProductFormat
from cryptoj_tui.views import BookView
from cryptoj_tui.widgets.price_chart import BLOCKS
from cryptoj_tui.widgets.styled_lines import FramedChart

ZERO = Decimal(0)
REDRAW_EVERY = 0.1


def cumulative(levels: Sequence[Level], edges: Sequence[Decimal], *, bids: bool) -> list[Decimal]:
    """The size resting from the inside out to each edge: for bids, every level priced at or
    above the edge; for asks, at or below. `levels` go from the inside out, as a book's do."""
    totals, total, i = [], ZERO, 0
    for edge in edges:
        while i < len(levels) and (levels[i][0] >= edge if bids else levels[i][0] <= edge):
            total += levels[i][1]
            i += 1
        totals.append(total)
    return totals


def depth_columns(view: BookView, width: int) -> tuple[list[Decimal], list[Decimal], Decimal] | None:
    """(bid depths, ask depths, half range): `width // 2` columns a side, the inside nearest the
    middle, over the same price distance on both sides (the shorter side's reach, so neither is
    drawn past what the view holds). None without both sides."""
    if not view.bids or not view.asks or width < 2:
        return None
    half = width // 2
    best_bid, best_ask = view.bids[0][0], view.asks[0][0]
    reach = min(best_bid - view.bids[-1][0], view.asks[-1][0] - best_ask)
    step = reach / half if reach > 0 else ZERO
    bid_edges = [best_bid - step * (k + 1) for k in range(half)] if step else [best_bid] * half
    ask_edges = [best_ask + step * (k + 1) for k in range(half)] if step else [best_ask] * half
    bids = cumulative(view.bids, bid_edges, bids=True)
    asks = cumulative(view.asks, ask_edges, bids=False)
    return bids[::-1], asks, reach


def bar_rows(depths: Sequence[Decimal], top: Decimal, height: int) -> list[str]:
    """`depths` as `height` rows of block characters rising from the bottom, `top` the full height."""
    eighths = len(BLOCKS) - 1
    fills = [0 if top <= 0 else int(d / top * height * eighths) for d in depths]
    # Each column is whole blocks up to its fill, one partial block, then blanks: made per column
    # once, then read across for each row.
    columns = [(BLOCKS[-1] * (f // eighths) + BLOCKS[f % eighths]).ljust(height)[:height][::-1] for f in fills]
    return ["".join(column[row] for column in columns) for row in range(height)]


class DepthChart(FramedChart):
    """Cumulative bid and ask size around the mid, with the price reach and the deepest total."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {"depth--bid", "depth--ask", "depth--label"}
    DEFAULT_CSS = """
    DepthChart { height: 10; background: $surface; }
    DepthChart > .depth--bid { color: $success; }
    DepthChart > .depth--ask { color: $error; }
    DepthChart > .depth--label { color: $text-muted; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.view: BookView | None = None
        self.format: ProductFormat = DEFAULT_FORMAT
        self.frame_title = "depth"
        self._drawn_at = 0.0
        self._pending = False

    def show(self, view: BookView | None, fmt: ProductFormat | None = None) -> None:
        """Take the latest book view (None: no book yet) and redraw on the next frame; hidden,
        nothing is drawn until shown."""
        if fmt is not None:
            self.format = fmt
        if view is self.view:
            return
        self.view = view
        if self._pending:
            return  # the redraw already due takes the latest view
        wait = self._drawn_at + REDRAW_EVERY - time.monotonic()
        if wait <= 0 or view is None:
            self._redraw()
        else:
            self._pending = True
            self.set_timer(wait, self._redraw)

    def _redraw(self) -> None:
        self._pending = False
        self._drawn_at = time.monotonic()
        self.forget_strips()
        self.refresh()

    def chart_lines(self, width: int, height: int) -> list[Strip]:
        base, label = self._style(), self._style("depth--label")

        def line(*parts: tuple[str, object]) -> Strip:
            segments = [Segment(text, style) for text, style in parts]  # type: ignore[arg-type]
            return Strip(segments).adjust_cell_length(width, base)

        columns = depth_columns(self.view, width) if self.view is not None and self.view.live else None
        if columns is None or height < 3:
            waiting = "waiting for the book".center(width)
            return [line((waiting if y == height // 2 else "", label)) for y in range(height)]
        bids, asks, reach = columns
        top = max(bids[0], asks[-1])
        rows = bar_rows([*bids, *asks], top, height - 2)
        bid_style, ask_style, half = self._style("depth--bid"), self._style("depth--ask"), len(bids)
        mid = (self.view.bids[0][0] + self.view.asks[0][0]) / 2 if self.view is not None else ZERO
        low, high = self.format.price(mid - reach), self.format.price(mid + reach)
        total = f"{self.format.size(top)} deep"
        return [
            line((total.rjust(width), label)),
            *(line((row[:half], bid_style), (row[half:], ask_style)) for row in rows),
            line((low, label), (high.rjust(width - len(low)), label)),
        ]
