"""The trading screen: the live ladder of one product, the status bar and the keys."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen

from cryptoj_tui.widgets.alerts_feed import AlertsFeed
from cryptoj_tui.widgets.console_footer import ConsoleFooter
from cryptoj_tui.widgets.console_header import ConsoleHeader
from cryptoj_tui.widgets.halt_banner import HaltBanner
from cryptoj_tui.widgets.ladder import FLASH_SECONDS, Ladder
from cryptoj_tui.widgets.order_ticket import OrderTicket, Submit
from cryptoj_tui.widgets.positions_strip import PositionsStrip
from cryptoj_tui.widgets.price_chart import PriceChart
from cryptoj_tui.widgets.status_bar import StatusBar
from cryptoj_tui.widgets.trades_tape import TradesTape


class TradingScreen(Screen[None]):
    """Where a trader lives: the book of the product being traded, and order entry on it."""

    AUTO_FOCUS = ""
    """Nothing takes focus by itself: the keys are the screen's (and the closed ticket's fields
    must not be picked)."""
    BINDINGS = [
        Binding("b", "ticket('buy')", "Buy", id="buy"),
        Binding("s", "ticket('sell')", "Sell", id="sell"),
        Binding("up", "cursor(-1)", "Up", show=False, id="cursor.up"),
        Binding("down", "cursor(1)", "Down", show=False, id="cursor.down"),
        Binding("pageup", "cursor(-10)", "Page up", show=False, id="cursor.page_up"),
        Binding("pagedown", "cursor(10)", "Page down", show=False, id="cursor.page_down"),
        Binding("space", "centre", "Re-centre", id="cursor.centre"),
    ]

    DEFAULT_CSS = """
    TradingScreen { layers: default ticket; }
    TradingScreen #panes { height: 1fr; }
    TradingScreen #ladder-pane {
        align: center top;
    }
    TradingScreen TradesTape, TradingScreen #right { display: none; }
    TradingScreen #right { width: 1fr; }
    /* Side panels only where there is room; 80 columns keep the ladder alone. */
    TradingScreen.-wide TradesTape, TradingScreen.-wide #right { display: block; }
    TradingScreen Ladder {
        width: 1fr;
        max-width: 72;
    }
    """

    def __init__(
        self,
        product_id: str,
        venue: str,
        clock: Callable[[], datetime],
        submit: Submit,
        *,
        flash_seconds: float = FLASH_SECONDS,
    ) -> None:
        super().__init__()
        self.product_id = product_id
        # Made here, not in compose: the engine can deliver a book before this screen is
        # mounted (or after it is gone), and the latest view must never be dropped.
        self.ladder = Ladder(product_id, flash_seconds=flash_seconds, id="ladder")
        self.ladder.frame_title = f"{product_id} book"
        self.status = StatusBar(venue, clock, id="status")
        self.positions = PositionsStrip(product_id, id="positions")
        self.tape = TradesTape(id="tape")
        self.alerts = AlertsFeed(id="alerts")
        self.chart = PriceChart(id="chart")
        self.ticket = OrderTicket(product_id, submit, id="ticket")

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "ticket":
            # Shown but disabled while halted (or without a key): the trader sees why nothing happens.
            return None if getattr(self.app, "trading_state", "") in ("", "HALTED") else True
        return True

    def action_cursor(self, steps: int) -> None:
        self.ladder.move_cursor(steps)

    def action_centre(self) -> None:
        self.ladder.centre()

    def action_ticket(self, side: str, price: Decimal | None = None) -> None:
        """Open an order ticket at the cursor price (or `price`)."""
        open_ticket = getattr(self.app, "open_ticket", None)
        if open_ticket is not None:
            open_ticket(side, price if price is not None else self.ladder.cursor_price())

    def on_ladder_price_clicked(self, message: Ladder.PriceClicked) -> None:
        if self.check_action("ticket", ()) is True:
            self.action_ticket("buy" if message.side == "bid" else "sell", message.price)

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        yield HaltBanner()
        with Horizontal(id="panes"):
            yield self.tape
            with Container(id="ladder-pane"):
                yield self.ladder
            with Vertical(id="right"):
                yield self.chart
                yield self.alerts
        yield self.positions
        yield self.status
        yield ConsoleFooter()
        yield self.ticket
