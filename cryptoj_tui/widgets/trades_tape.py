"""The trades tape: the product's latest public trades, newest on top (Line API)."""

from __future__ import annotations

from collections import deque
from datetime import UTC, datetime

from rich.segment import Segment
from textual.strip import Strip
from textual.widget import Widget

from cryptoj_tui.engine.model import PublicTrade

MAX_TRADES = 200


class TradesTape(Widget):
    """Time, price and size of each trade, coloured by the taker's side."""

    COMPONENT_CLASSES = {"tape--buy", "tape--sell", "tape--header"}
    DEFAULT_CSS = """
    TradesTape { width: 36; height: 1fr; background: $surface; border: round $primary 50%; }
    TradesTape > .tape--buy { color: $success; }
    TradesTape > .tape--sell { color: $error; }
    TradesTape > .tape--header { color: $text-muted; text-style: bold; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.trades: deque[PublicTrade] = deque(maxlen=MAX_TRADES)
        self.border_title = "trades"

    def add(self, trades: tuple[PublicTrade, ...]) -> None:
        """New trades, oldest first (as the engine prints them)."""
        for trade in trades:
            self.trades.appendleft(trade)
        self.refresh()

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        base = self.rich_style
        if y == 0:
            return Strip([Segment(f"{'time':<9}{'price':>12} {'size':>11}", base + self.get_component_rich_style("tape--header"))]).adjust_cell_length(width, base)
        index = y - 1
        if index >= len(self.trades):
            return Strip.blank(width, base)
        trade = self.trades[index]
        # The venue reports the maker's side: a SELL maker means a buyer took liquidity.
        taker_buys = trade.side == "SELL"
        style = base + self.get_component_rich_style("tape--buy" if taker_buys else "tape--sell")
        when = datetime.fromtimestamp(trade.time, UTC).strftime("%H:%M:%S")
        text = f"{when:<9}{trade.price:>12,.2f} {trade.size:>11.6f}"
        return Strip([Segment(text, style)]).adjust_cell_length(width, base)
