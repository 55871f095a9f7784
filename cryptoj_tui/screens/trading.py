"""The trading screen: the live ladder of one product, the status bar and the keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual.app import ComposeResult
from textual.containers import Container
from textual.screen import Screen
from textual.widgets import Footer, Header

from cryptoj_tui.widgets.halt_banner import HaltBanner
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
        # Made here, not in compose: the engine can deliver a book before this screen is
        # mounted (or after it is gone), and the latest view must never be dropped.
        self.ladder = Ladder(product_id, id="ladder")
        self.ladder.border_title = f"{product_id} book"
        self.status = StatusBar(venue, clock, id="status")

    def compose(self) -> ComposeResult:
        yield Header()
        yield HaltBanner()
        with Container(id="ladder-pane"):
            yield self.ladder
        yield self.status
        yield Footer()
