"""The trades tape: the product's latest public trades, newest on top (Line API)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime
from typing import ClassVar

from rich.segment import Segment
from textual.cache import LRUCache
from textual.selection import Selection
from textual.strip import Strip

from cryptoj_tui.engine.model import PublicTrade
from cryptoj_tui.formats import DEFAULT_FORMAT
from cryptoj_tui.widgets.styled_lines import FramedLines

MAX_TRADES = 200


class TradesTape(FramedLines):
    """Time, price and size of each trade, coloured by the taker's side.

    Each new trade moves every line down one, so every line repaints; a trade's line is
    rendered once and kept (by trade id and width), so a repaint is lookups.
    """

    COMPONENT_CLASSES: ClassVar[set[str]] = {"tape--buy", "tape--sell", "tape--header"}
    DEFAULT_CSS = """
    TradesTape { width: 36; height: 1fr; background: $surface; }
    TradesTape > .tape--buy { color: $success; }
    TradesTape > .tape--sell { color: $error; }
    TradesTape > .tape--header { color: $text-muted; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.trades: deque[PublicTrade] = deque(maxlen=MAX_TRADES)
        self.format = DEFAULT_FORMAT
        """The product's increments (prices and sizes are written to them)."""
        self.frame_title = "trades"
        self._strips: LRUCache[tuple[str, int], Strip] = LRUCache(MAX_TRADES * 2)

    def forget_strips(self) -> None:
        self._strips.clear()

    def add(self, trades: tuple[PublicTrade, ...]) -> None:
        """New trades, oldest first (as the engine prints them); one already shown is skipped."""
        shown = {trade.trade_id for trade in self.trades}
        for trade in trades:
            if trade.trade_id not in shown:
                self.trades.appendleft(trade)
        self.refresh()

    def replace(self, trades: tuple[PublicTrade, ...]) -> None:
        """Another product's recent trades, oldest first, in place of these."""
        self.trades.clear()
        self.add(trades)

    def add_history(self, trades: tuple[PublicTrade, ...]) -> None:
        """Earlier trades, oldest first, slotted in by time: a product's history is fetched as
        the console switches to it, and its first live trades can be shown before it comes."""
        shown = {trade.trade_id for trade in self.trades}
        earlier = [trade for trade in reversed(trades) if trade.trade_id not in shown]
        if earlier:
            merged = sorted([*self.trades, *earlier], key=lambda trade: trade.time, reverse=True)
            self.trades = deque(merged, maxlen=MAX_TRADES)
            self.refresh()

    def render_inner_line(self, y: int) -> Strip:
        width = self.inner_size.width
        trade = self.trades[y - 1] if 0 < y <= len(self.trades) else None
        key = (trade.trade_id if trade else "header" if y == 0 else "blank", width)
        strip = self._strips.get(key)
        if strip is None:
            line = self._trade_line(trade, width) if trade or y == 0 else Strip.blank(width, self._style())
            strip = self._strips[key] = self.framed(line, width)
        return strip

    def _text(self, trade: PublicTrade | None) -> str:
        if trade is None:
            return f"{'time':<9}{'price':>12} {'size':>11}"
        when = datetime.fromtimestamp(trade.time, UTC).strftime("%H:%M:%S")
        return f"{when:<9}{self.format.price(trade.price):>12} {self.format.size(trade.size):>11}"

    def _trade_line(self, trade: PublicTrade | None, width: int) -> Strip:
        base = self._style()
        if trade is None:
            return Strip([Segment(self._text(None), self._style("tape--header"))]).adjust_cell_length(width, base)
        # The venue reports the maker's side: a SELL maker means a buyer took liquidity.
        taker_buys = trade.side == "SELL"
        style = self._style("tape--buy" if taker_buys else "tape--sell")
        return Strip([Segment(self._text(trade), style)]).adjust_cell_length(width, base)

    def get_selection(self, selection: Selection) -> tuple[str, str] | None:
        """The selected trades as text, a line each, as the tape shows them (they can be copied)."""
        lines = [self._text(None), *(self._text(trade) for trade in self.trades)]
        # The selection counts the frame's top edge as line 0 and its left edge as column 0.
        return selection.extract("\n".join(f" {line}" for line in ["", *lines])), "\n"
