"""The trading screen: the live ladder of one product, order entry on it, and your orders there.

Keys act where the trader looks: `b`/`s` open a ticket at the cursor's price, `c` cancels your
orders at that price, `m` picks them up to move them to another price (cursor, then enter), `X`
cancels everything.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.events import Resize
from textual.screen import ModalScreen

from cryptoj_tui.engine.model import PublicTrade
from cryptoj_tui.formats import DEFAULT_FORMAT, ProductFormat
from cryptoj_tui.messages import CancelAllRequested, CancelRequested, MoveRequested
from cryptoj_tui.screens.base import ConsoleScreen
from cryptoj_tui.views import BookView, OrderRow, PortfolioView
from cryptoj_tui.widgets.alerts_feed import AlertsFeed
from cryptoj_tui.widgets.depth_chart import DepthChart
from cryptoj_tui.widgets.ladder import FLASH_SECONDS, Ladder
from cryptoj_tui.widgets.order_ticket import OrderTicket, Submit
from cryptoj_tui.widgets.panes import BlankContainer, BlankHorizontal, BlankVertical
from cryptoj_tui.widgets.positions_strip import PositionsStrip
from cryptoj_tui.widgets.price_chart import PriceChart
from cryptoj_tui.widgets.trades_tape import MAX_TRADES, TradesTape

MOVING = Binding.Group("Move", compact=True)
HERE = Binding.Group("Cancel/move", compact=True)
"""One footer entry for c, X and m, so the trading screen's keys fit 80 columns."""


class TradingScreen(ConsoleScreen):
    """Where a trader lives: the book of the product being traded, and order entry on it."""

    AUTO_FOCUS = ""
    """Nothing takes focus by itself: the keys are the screen's (and the closed ticket's fields
    must not be picked)."""
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: the ticket takes focus while `b` is handled, so keys typed right behind it
        # (a size) reach its fields, not the screen (see OrderTicket). Off while it is open.
        Binding("b", "ticket('buy')", "Buy", priority=True, id="buy"),
        Binding("s", "ticket('sell')", "Sell", priority=True, id="sell"),
        Binding("up", "cursor(-1)", "Up", show=False, id="cursor.up"),
        Binding("down", "cursor(1)", "Down", show=False, id="cursor.down"),
        Binding("pageup", "cursor(-10)", "Page up", show=False, id="cursor.page_up"),
        Binding("pagedown", "cursor(10)", "Page down", show=False, id="cursor.page_down"),
        Binding("space", "centre", "Centre", show=False, id="cursor.centre"),
        Binding("c", "cancel_here", "Cancel here", id="trading.cancel", group=HERE),
        Binding("X", "cancel_all", "Cancel all", id="trading.cancel_all", group=HERE),
        Binding("m", "move", "Move an order", id="trading.move", group=HERE),
        Binding("enter", "drop", "Move here", id="trading.drop", group=MOVING),
        Binding("escape", "keep", "Keep", id="trading.keep", group=MOVING),
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
    /* A compact ticket (small terminals) takes the right: the ladder keeps the left, whole. */
    TradingScreen.-beside-ticket #ladder-pane { align: left top; padding-right: 40; }
    """

    def __init__(
        self,
        product_id: str,
        clock: Callable[[], datetime],
        submit: Submit,
        *,
        default_size: str = "0.01",
        flash_seconds: float = FLASH_SECONDS,
        brackets: bool = True,
    ) -> None:
        super().__init__(clock)
        self.product_id = product_id
        self.default_size = default_size
        self.format: ProductFormat = DEFAULT_FORMAT
        # Made here, not in compose: the engine can deliver a book before this screen is
        # mounted (or after it is gone), and the latest view must never be dropped.
        self.ladder = Ladder(product_id, flash_seconds=flash_seconds, id="ladder")
        self.ladder.frame_title = f"{product_id} book"
        self.positions = PositionsStrip(product_id, id="positions")
        self.tape = TradesTape(id="tape")
        self.alerts = AlertsFeed(id="alerts")
        self.chart = PriceChart(id="chart")
        self.depth = DepthChart(id="depth")
        self.ticket = OrderTicket(product_id, submit, id="ticket", brackets=brackets)
        self.orders: tuple[OrderRow, ...] = ()
        """This product's orders, as the app last had them."""
        self.moving: tuple[OrderRow, ...] = ()
        """The orders picked up with `m`, until they are dropped at a price (or kept)."""
        self._cursors: dict[str, int] = {}
        """Each product's ladder cursor, kept while another is shown."""
        self._held_view: BookView | None = None
        self._held_trades: deque[PublicTrade] = deque(maxlen=MAX_TRADES)
        self._held_closes: tuple[Decimal, ...] | None = None
        """The latest book, trades and closes that came while another screen was shown: laid out
        when this one is shown again, not sixty times a second for nobody (under a flood that
        was half of the console's work while the watchlist was on screen)."""

    def compose_body(self) -> ComposeResult:
        with BlankHorizontal(id="panes"):
            yield self.tape
            with BlankContainer(id="ladder-pane"):
                yield self.ladder
            with BlankVertical(id="right"):
                yield self.chart
                yield self.depth
                yield self.alerts
        yield self.positions

    def compose_overlays(self) -> ComposeResult:
        yield self.ticket

    def watch_status(self) -> None:
        if self.halted:
            self.ticket.close()  # nothing more will be sent from it
            self._stop_moving()
        self.refresh_bindings()

    def show_product(self, product_id: str, fmt: ProductFormat) -> None:
        """Trade another product: the ladder, tape, chart, ticket and position strip follow it,
        each product keeping its own ladder cursor (its trades come with `show_recent`)."""
        if product_id == self.product_id:
            return
        self.ticket.close()
        self.moving = ()
        self._cursors[self.product_id] = self.ladder.cursor
        self.product_id = self.positions.product_id = self.ticket.product_id = product_id
        self.ladder.show_product(product_id, self._cursors.get(product_id, 1))
        self._forget_held()
        self.tape.replace(())
        self.chart.show([])
        self.depth.show(None)
        self.orders = ()
        self.show_format(fmt)
        self.refresh_bindings()

    def show_recent(self, trades: tuple[PublicTrade, ...], closes: tuple[Decimal, ...]) -> None:
        """The product's recent trades (oldest first) and closes, just after switching to it
        (live trades shown meanwhile are kept)."""
        self.tape.add_history(trades)
        if not self.chart.closes:  # else live trades came first, and their closes are newer
            self.chart.show(list(closes))
        if self.tape.trades:
            self.ladder.set_last_trade(self.tape.trades[0].price)

    def show_book(self, view: BookView) -> None:
        """The latest view of the product's book."""
        if not self._in_view():
            self._held_view = view
            return
        self.ladder.update_book(view)
        self.depth.show(view)

    def _in_view(self) -> bool:
        """Shown: the top screen, or the one under the dialogs on top (they leave it in view)."""
        for screen in reversed(self.app.screen_stack):
            if not isinstance(screen, ModalScreen):
                return screen is self
        return False

    def on_screen_resume(self) -> None:
        view, trades, closes = self._held_view, tuple(self._held_trades), self._held_closes
        self._forget_held()
        if view is not None:
            self.show_book(view)
        if trades or closes is not None:
            self.show_trades(trades, closes)

    def _forget_held(self) -> None:
        self._held_view, self._held_closes = None, None
        self._held_trades.clear()

    def flash_fill(self, product_id: str, side: str, price: Decimal) -> None:
        """A fill of yours: lit on the ladder at its price, when it is this screen's product."""
        if product_id == self.product_id:
            self.ladder.flash_fill(side, price)

    def show_waiting(self, message: str) -> None:
        """Why there is no live book (connecting, resynchronising, refused by the venue)."""
        self._held_view = None  # older than the message: a book to show comes after it
        self.ladder.set_waiting(message)

    def show_trades(self, trades: tuple[PublicTrade, ...], closes: tuple[Decimal, ...] | None) -> None:
        """New public trades of the product (oldest first), and the chart's latest closes."""
        if not self._in_view():
            self._held_trades.extend(trades)
            self._held_closes = closes if closes is not None else self._held_closes
            return
        if closes is not None:
            self.chart.show(list(closes))
        if trades:
            self.tape.add(trades)
            self.ladder.set_last_trade(trades[-1].price)

    def show_portfolio(self, view: PortfolioView) -> None:
        """The latest positions and PnL."""
        self.positions.show(view)

    def show_alerts(self, alerts: list[tuple[str, str, str]]) -> None:
        """(time, severity, message) of every alert, oldest first."""
        self.alerts.show(alerts)

    def show_orders(self, rows: tuple[OrderRow, ...]) -> None:
        """Take the latest order rows (every product's; this screen keeps its product's)."""
        self.orders = tuple(row for row in rows if row.product_id == self.product_id)
        if self.moving:
            ids = {row.client_order_id for row in self.orders if row.working}
            self.moving = tuple(row for row in self.moving if row.client_order_id in ids)
            if not self.moving:
                self._stop_moving()

    def show_format(self, fmt: ProductFormat) -> None:
        """The product's increments, as the venue gave them."""
        self.format = self.tape.format = self.chart.format = self.depth.format = fmt
        for widget in (self.tape, self.chart, self.depth):
            widget.forget_strips()
            widget.refresh()

    def why_disabled(self, action: str) -> str | None:
        """What to tell a trader who presses a key that does nothing now."""
        if action in ("ticket", "move", "drop") and self.halted:
            status = self.status
            return f"trading is HALTED ({status.halt_reason}): no new orders until you re-arm ({status.rearm_key})"
        if action in ("ticket", "move", "drop", "cancel_here", "cancel_all") and self.status.replay:
            return "replay: trading is off while a recording plays"
        if action in ("ticket", "move", "drop", "cancel_here", "cancel_all") and not self.status.trading_state:
            return "no API key: this console only watches the market"
        return None

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        trading = bool(self.status.trading_state)
        if action == "ticket":
            if self.ticket.is_open:
                return False  # the keys are the ticket's fields'
            # Shown but disabled while halted (or without a key): the trader sees why nothing happens.
            return None if not trading or self.halted else True
        if action in ("drop", "keep"):
            return bool(self.moving)
        if action == "move":
            return None if not trading or self.halted else True
        if action in ("cancel_here", "cancel_all"):
            return True if trading else None
        return True

    def on_resize(self, event: Resize) -> None:
        self.ticket.fit(event.size)

    def on_order_ticket_shown(self, message: OrderTicket.Shown) -> None:
        self.set_class(message.is_open and message.compact, "-beside-ticket")

    def action_cursor(self, steps: int) -> None:
        self.ladder.move_cursor(steps)

    def action_centre(self) -> None:
        self.ladder.centre()

    def action_ticket(self, side: str, price: Decimal | None = None) -> None:
        """Open an order ticket at the cursor price (or `price`)."""
        why = self.why_disabled("ticket")
        if why is not None:
            self.notify(why, severity="warning")
            return
        self._stop_moving()
        self.ticket.open(side, price if price is not None else self.ladder.cursor_price(), self.default_size)

    def on_ladder_price_clicked(self, message: Ladder.PriceClicked) -> None:
        if self.check_action("ticket", ()) is True:
            self.action_ticket("buy" if message.side == "bid" else "sell", message.price)

    def _at_cursor(self) -> tuple[Decimal | None, tuple[OrderRow, ...]]:
        price = self.ladder.cursor_price()
        return price, tuple(row for row in self.orders if row.working and price is not None and row.price == price)

    def action_cancel_here(self) -> None:
        """Cancel your working orders at the cursor's price."""
        price, here = self._at_cursor()
        if not here:
            self.notify(f"no working order of yours at {self.format.price(price) or 'the cursor'}", severity="warning")
            return
        self.post_message(CancelRequested(tuple(row.client_order_id for row in here)))

    def action_cancel_all(self) -> None:
        """Cancel every working order (of every product), as the orders screen's X does."""
        self.post_message(CancelAllRequested(None))

    def action_move(self) -> None:
        """Pick up your orders at the cursor (then the cursor picks their new price), or drop them."""
        if self.moving:
            self.action_drop()
            return
        price, here = self._at_cursor()
        movable = tuple(row for row in here if row.type != "market")
        if not movable:
            self.notify(
                f"no working order of yours at {self.format.price(price) or 'the cursor'} to move", severity="warning"
            )
            return
        self.moving = movable
        size = sum((row.leaves for row in movable), Decimal(0))
        self.ladder.frame_title = (
            f"moving {movable[0].side} {self.format.size(size)} from {self.format.price(price)}"
            " · ↑↓ price · enter here · esc keep"
        )
        self.refresh_bindings()

    def action_drop(self) -> None:
        """Move the picked-up orders to the cursor's price."""
        price = self.ladder.cursor_price()
        moving, self.moving = self.moving, ()
        self._stop_moving()
        if price is None:
            self.notify("no price under the cursor: nothing moved", severity="warning")
            return
        for row in moving:
            if row.price != price:
                self.post_message(MoveRequested(row.client_order_id, price))

    def action_keep(self) -> None:
        """Leave the picked-up orders where they are."""
        self._stop_moving()

    def _stop_moving(self) -> None:
        self.moving = ()
        self.ladder.frame_title = f"{self.product_id} book"
        self.refresh_bindings()
