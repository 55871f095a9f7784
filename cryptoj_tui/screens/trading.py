"""The trading screen: the live ladder of one product, the status bar and the keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Header

from cryptoj_tui.widgets.ladder import Ladder
from cryptoj_tui.widgets.status_bar import StatusBar


class TradingScreen(Screen[None]):
    """Where a trader lives: the book of the product being traded."""

    DEFAULT_CSS = """
    TradingScreen #ladder-pane {
        align: center top;
    }
    TradingScreen Ladder {
        width: 1fr;
        max-width: 72;
        border: round $primary 50%;
        border-title-color: $text;
        border-title-style: bold;
    }
    """

    def __init__(self, product_id: str, venue: str, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.product_id = product_id
        self._venue = venue
        self._clock = clock

    def compose(self) -> ComposeResult:
        yield Header()
        with Container(id="ladder-pane"):
            ladder = Ladder(self.product_id, id="ladder")
            ladder.border_title = f"{self.product_id} book"
            yield ladder
        yield StatusBar(self._venue, self._clock, id="status")
        yield Footer()

    @property
    def ladder(self) -> Ladder:
        """The product's ladder."""
        return self.query_one(Ladder)

    @property
    def status(self) -> StatusBar:
        """The status bar."""
        return self.query_one(StatusBar)
