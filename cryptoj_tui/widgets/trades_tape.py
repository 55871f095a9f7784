"""The trades tape: the product's latest public trades, newest on top (Line API)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

from rich.segment import Segment
from textual.cache import LRUCache
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

    COMPONENT_CLASSES = {"tape--buy", "tape--sell", "tape--header"}
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
        """New trades, oldest first (as the engine prints them)."""
        for trade in trades:
            self.trades.appendleft(trade)
        self.refresh()

    def render_inner_line(self, y: int) -> Strip:
        width = self.inner_size.width
        trade = self.trades[y - 1] if 0 < y <= len(self.trades) else None
        key = (trade.trade_id if trade else "header" if y == 0 else "blank", width)
        strip = self._strips.get(key)
        if strip is None:
            line = self._render(trade, width) if trade or y == 0 else Strip.blank(width, self._style())
            strip = self._strips[key] = self.framed(line, width)
        return strip

    def _render(self, trade: PublicTrade | None, width: int) -> Strip:
        base = self._style()
        if trade is None:
            text = f"{'time':<9}{'price':>12} {'size':>11}"
            return Strip([Segment(text, self._style("tape--header"))]).adjust_cell_length(width, base)
        # The venue reports the maker's side: a SELL maker means a buyer took liquidity.
        taker_buys = trade.side == "SELL"
        style = self._style("tape--buy" if taker_buys else "tape--sell")
        when = datetime.fromtimestamp(trade.time, UTC).strftime("%H:%M:%S")
        text = f"{when:<9}{self.format.price(trade.price):>12} {self.format.size(trade.size):>11}"
        return Strip([Segment(text, style)]).adjust_cell_length(width, base)
