"""The Textual app: screens, global bindings and the engine bridge."""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from typing import Any
from concurrent.futures import Future
from datetime import UTC, datetime
from decimal import Decimal

import msgspec
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.filter import ANSIToTruecolor, LineFilter
from textual.reactive import reactive
from textual.screen import ModalScreen, Screen

from cryptoj_tui.bridge import EngineBridge
from cryptoj_tui.engine import EngineConfig
from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.emergency import KillReport
from cryptoj_tui.engine.events import (
    Alert,
    BookReset,
    ConnectionStatus,
    FeedError,
    FeedMetrics,
    TickerUpdated,
    OrderUpdated,
    SequenceGap,
    TradingStateChanged,
)
from cryptoj_tui.engine.model import ConnectionState
from cryptoj_tui.engine.orders import Order
from cryptoj_tui.heap import HeapKeeper, settle_heap
from cryptoj_tui.messages import (
    BooksChanged,
    EngineEvent,
    PortfolioChanged,
    RiskChanged,
    TradesArrived,
)
from cryptoj_tui.screens.modals import ConfirmScreen, KillReportScreen
from cryptoj_tui.screens.help import HelpScreen
from cryptoj_tui.screens.journal import JournalScreen
from cryptoj_tui.screens.orders import WORKING, OrdersScreen
from cryptoj_tui.screens.positions import PositionsScreen
from cryptoj_tui.screens.risk import RiskScreen
from cryptoj_tui.screens.trading import TradingScreen
from cryptoj_tui.widgets.ladder import FLASH_SECONDS
from cryptoj_tui.widgets.order_ticket import OrderTicket

log = logging.getLogger(__name__)


QUIET_EVENTS = (FeedMetrics, TickerUpdated)
"""Events too plain for the journal screen (feed metrics come once a second, for the status bar)."""


CancelResult = tuple[list[Order], list[tuple[Order, str]]]
"""(cancelled, [(order, why not)]), as Engine.cancel returns it."""


SCREENS = Binding.Group("Screens", compact=True)
"""One footer entry for the six screen keys, so the footer fits 80 columns."""


def binding_ids() -> set[str]:
    """Every binding id of the app and its screens (what the [keys] config table may remap)."""
    owners = [CryptojApp, TradingScreen, OrdersScreen, PositionsScreen, JournalScreen, OrderTicket, ConfirmScreen,
              KillReportScreen]
    return {b.id for owner in owners for b in owner.BINDINGS if isinstance(b, Binding) and b.id}


async def _rearm(engine: Engine) -> None:
    engine.rearm("re-armed from the console after confirmation")


def utc_now() -> datetime:
    """The wall clock in UTC (the status bar's clock)."""
    return datetime.now(UTC)


class CryptojApp(App[None]):
    """The trading console."""

    TITLE = "CryptoJ"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]
    CSS_PATH = "app.tcss"
    BINDINGS = [
        # Priority: the kill switch works on every screen and in every modal, whatever has focus.
        Binding("ctrl+k", "kill_switch", "Kill switch", priority=True, id="kill_switch"),
        Binding("ctrl+r", "rearm", "Re-arm", id="rearm"),
        Binding("1", "show('trading')", "Trading", id="screen.trading", group=SCREENS),
        Binding("2", "show('orders')", "Orders", id="screen.orders", group=SCREENS),
        Binding("3", "show('positions')", "Positions", id="screen.positions", group=SCREENS),
        Binding("4", "show('risk')", "Risk", id="screen.risk", group=SCREENS),
        Binding("5", "show('journal')", "Journal", id="screen.journal", group=SCREENS),
        Binding("6", "show('help')", "Help", id="screen.help", group=SCREENS),
        Binding("q", "quit", "Quit", id="quit"),
    ]

    trading_state: reactive[str] = reactive("")
    """ACTIVE, REDUCING or HALTED ("" before the engine says, or without an API key)."""
    halt_reason: reactive[str] = reactive("")

    def get_line_filters(self) -> Sequence[LineFilter]:
        """Textual's filters less the ANSI-to-truecolour one: our widgets draw in theme colours
        only (widgets/palette.py), and that filter ran over every line of every frame."""
        return [f for f in super().get_line_filters() if not isinstance(f, ANSIToTruecolor)]

    def __init__(
        self,
        engine_config: EngineConfig,
        product_id: str,
        *,
        venue: str,
        clock: Callable[[], datetime] = utc_now,
        default_size: str = "0.01",
        keymap: dict[str, str] | None = None,
        theme: str = "textual-dark",
        flash_seconds: float = FLASH_SECONDS,
        tune_gc: bool = False,
    ) -> None:
        super().__init__()
        self._tune_gc = tune_gc
        """Freeze the start-up heap once the first book is live (see settle_heap)."""
        self.theme = theme
        self.default_size = default_size
        self.keymap = dict(keymap or {})
        unknown = set(self.keymap) - binding_ids()
        if unknown:
            raise ValueError(f"keys: unknown binding id(s) {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(sorted(binding_ids()))}")
        self.set_keymap(self.keymap)
        self.engine_config = engine_config
        self.product_id = product_id
        self.venue = venue
        self.bridge = EngineBridge(engine_config, self.post_message)
        self.trading = TradingScreen(product_id, venue, clock, self.bridge.submit, flash_seconds=flash_seconds)
        self.blotter = OrdersScreen()
        self.positions = PositionsScreen()
        self.risk = RiskScreen()
        self.journal = JournalScreen()
        self.alerts: deque[tuple[str, str, str]] = deque(maxlen=1000)
        """(time, severity, message) of every alert, oldest first."""
        self.journal_entries: deque[tuple[str, str, str]] = deque(maxlen=5000)
        """(time, kind, text) of every engine record event, oldest first."""
        self._journal_changed = False
        self.orders: dict[str, dict[str, str]] = {}
        """Every order seen, by client_order_id, as Order.snapshot() plus the time first seen."""
        self._clock = clock
        self._orders_changed = False
        self.sub_title = f"{product_id} · connecting"

    def on_mount(self) -> None:
        self.install_screen(self.trading, "trading")
        self.install_screen(self.blotter, "orders")
        self.install_screen(self.positions, "positions")
        self.install_screen(self.risk, "risk")
        self.install_screen(self.journal, "journal")
        self.install_screen(HelpScreen(), "help")
        self.push_screen("trading")
        self.set_interval(0.25, self._flush_orders)
        self.bridge.start([self.product_id])

    def action_show(self, name: str) -> None:
        """Switch between the main screens (not from inside a modal)."""
        if not isinstance(self.screen, ModalScreen):
            self.switch_screen(name)

    def _showing(self, screen: Screen[Any]) -> bool:
        # Not `self.screen`: that raises once the stack is empty (timers can fire while exiting).
        return bool(self.screen_stack) and self.screen_stack[-1] is screen

    def _flush_orders(self) -> None:
        # Order bursts (a kill switch cancelling hundreds) repaint the blotter a few times a second at most.
        if self._orders_changed:
            self._orders_changed = False
            self.blotter.refresh_orders()
        if self._journal_changed and self._showing(self.journal):
            self._journal_changed = False
            self.journal.refresh_entries()

    def on_trades_arrived(self, _: TradesArrived) -> None:
        all_trades, closes = self.bridge.take_trades()
        if self.product_id in closes:
            self.trading.chart.show(list(closes[self.product_id]))
        trades = all_trades.get(self.product_id)
        if trades:
            self.trading.tape.add(tuple(trades))
            self.trading.ladder.set_last_trade(trades[-1].price)

    def on_risk_changed(self, message: RiskChanged) -> None:
        self.risk.show(message.view)

    def on_portfolio_changed(self, message: PortfolioChanged) -> None:
        view = message.view
        self.trading.positions.show(view)
        self.positions.show(view)
        self.trading.status.round_trip_ms = view.round_trip_ms

    def flatten(self, product_ids: list[str]) -> None:
        """Ask, then send market orders that bring these positions to zero."""
        if not product_ids:
            self.notify("nothing to flatten")
            return

        async def flatten(engine: Engine) -> list[str]:
            results = []
            for product_id in product_ids:
                quantity = engine.positions()[product_id].quantity
                if quantity:
                    side = "sell" if quantity > 0 else "buy"
                    order = await engine.place_market(product_id, side, size=abs(quantity))
                    results.append(f"{side} {abs(quantity):f} {product_id}: {order.status}")
            return results

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(self._report_flatten(self.bridge.submit(flatten)), group="flatten")

        self.push_screen(ConfirmScreen(f"Flatten {', '.join(product_ids)} with market orders?", yes="Flatten"), answered)

    async def _report_flatten(self, future: Future[list[str]]) -> None:
        try:
            results = await asyncio.wrap_future(future)
        except Exception as exc:
            self.notify(f"flatten refused: {exc}", severity="error", timeout=15)
            return
        self.notify("; ".join(results) or "already flat")

    def working_orders(self) -> list[str]:
        """client_order_ids of the orders still working."""
        return [cid for cid, o in self.orders.items() if o["status"] in WORKING]

    def cancel_orders(self, client_order_ids: list[str]) -> None:
        """Cancel these orders at the venue; say what happened."""

        async def cancel(engine: Engine) -> CancelResult:
            return await engine.cancel(*(o for o in engine.orders() if o.client_order_id in client_order_ids))

        self.run_worker(self._report_cancel(self.bridge.submit(cancel)), group="cancel")

    def cancel_all(self, product_id: str | None) -> None:
        """Cancel every working order of `product_id` (all products when None)."""

        async def cancel(engine: Engine) -> CancelResult:
            return await engine.cancel_all(product_id)

        self.run_worker(self._report_cancel(self.bridge.submit(cancel)), group="cancel")

    async def _report_cancel(self, future: Future[CancelResult]) -> None:
        try:
            cancelled, failed = await asyncio.wrap_future(future)
        except Exception as exc:
            self.notify(f"cancel failed: {exc}", severity="error")
            return
        reasons = "; ".join(f"{o.client_order_id[:8]}: {why}" for o, why in failed)
        self.notify(f"{len(cancelled)} order(s) cancelled" + (f"; not cancelled: {reasons}" if failed else ""),
                    severity="error" if failed else "information")

    async def action_quit(self) -> None:
        """Quit; with orders working at the venue, ask first (they stay working)."""
        working = self.working_orders()
        if not working:
            self.exit()
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.exit()

        self.push_screen(ConfirmScreen(
            f"{len(working)} order(s) are working at the venue and will stay working after you quit.\n\n"
            "Quit anyway?", yes="Quit"), answered)

    def on_unmount(self) -> None:
        self.bridge.stop()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The console's actions in the command palette (ctrl+p), beside Textual's own."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Kill switch", "Halt now and cancel every working order (ctrl+k)", self.action_kill_switch)
        if self.trading_state in ("HALTED", "REDUCING"):
            yield SystemCommand("Re-arm", "Allow new orders again, after a confirmation (ctrl+r)", self.action_rearm)
        if self.trading_state not in ("", "HALTED"):
            yield SystemCommand("Buy", "Open a buy ticket at the ladder cursor (b)", lambda: self.trading.action_ticket("buy"))
            yield SystemCommand("Sell", "Open a sell ticket at the ladder cursor (s)", lambda: self.trading.action_ticket("sell"))
        yield SystemCommand("Cancel all orders", f"Cancel every working {self.product_id} order",
                            lambda: self.cancel_all(self.product_id))
        for key, name in (("1", "trading"), ("2", "orders"), ("3", "positions"), ("4", "risk"), ("5", "journal"),
                          ("6", "help")):
            yield SystemCommand(f"Show {name}", f"The {name} screen ({key})", partial(self.action_show, name))

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "rearm":
            return self.trading_state in ("HALTED", "REDUCING")
        return True

    def watch_trading_state(self, state: str) -> None:
        self.trading.status.trading_state = state
        if state == "HALTED" and self.trading.is_mounted:
            self.trading.ticket.close()  # nothing more will be sent from it
        self.refresh_bindings()
        self.trading.refresh_bindings()

    async def action_kill_switch(self) -> None:
        """Halt now, cancel everything, then show what happened."""
        if not self.bridge.can_trade:
            self.notify("no API key: there is no trading to halt", severity="warning")
            return
        # Refused from this instant in the UI too, before the engine's answer arrives.
        self.trading_state, self.halt_reason = "HALTED", "kill switch (ctrl+k)"
        future = self.bridge.submit(lambda engine: engine.kill_switch("kill switch (ctrl+k) from the console"))
        self.run_worker(self._show_kill_report(future), group="kill", exclusive=False)

    async def _show_kill_report(self, future: Future[KillReport]) -> None:
        try:
            report = await asyncio.wrap_future(future)
        except Exception as exc:  # the halt itself happened first; the cancels may have failed
            log.exception("kill switch")
            self.notify(f"kill switch: cancelling failed: {exc}", severity="error", timeout=30)
            return
        await self.push_screen(KillReportScreen(report))

    def open_ticket(self, side: str, price: Decimal | None) -> None:
        """The order ticket for the product on screen, at `price` (it sends orders itself)."""
        self.trading.ticket.open(side, price, self.default_size)

    def on_order_ticket_sent(self, message: OrderTicket.Sent) -> None:
        order = message.order
        self.notify(f"{order.side} {order.request.size:f} {order.product_id} {order.status}"
                    + (f" at {order.request.price:f}" if order.request.price is not None else ""))

    def action_rearm(self) -> None:
        """Ask, then lift the halt."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.bridge.submit(_rearm)

        self.push_screen(
            ConfirmScreen(f"Trading is {self.trading_state}: {self.halt_reason}.\n\n"
                          "Re-arm and allow new orders again?", yes="Re-arm"),
            answered,
        )

    def on_books_changed(self, _: BooksChanged) -> None:
        view = self.bridge.take_books().get(self.product_id)
        if view is not None:
            self.trading.ladder.update_book(view)
            if self._tune_gc and view.live:
                self._tune_gc = False
                settle_heap()
                keeper = HeapKeeper(lambda: self.trading.ticket.is_open or self.bridge.busy)
                self.set_interval(1 / 60, keeper.tick)

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        now = self._clock().strftime("%H:%M:%S")
        if not isinstance(event, QUIET_EVENTS):
            fields = msgspec.structs.asdict(event)
            text = " ".join(f"{k}={v}" for k, v in fields.items() if k not in ("order",))
            if isinstance(event, OrderUpdated):
                o = event.order
                text = f"{o['side']} {o['size']} {o['product_id']} {o['type']} {o['price']} {event.status} {o['reason']}"
            self.journal_entries.append((now, type(event).__name__, text[:300]))
            self._journal_changed = True
        status = self.trading.status
        if isinstance(event, ConnectionStatus) and event.role == "market":
            status.connection = event.state
            self.sub_title = f"{self.product_id} · {event.state}"
            if event.state is ConnectionState.CONNECTED:
                self.trading.ladder.set_waiting(f"waiting for the {self.product_id} book...")
            else:
                why = f": {event.reason}" if event.reason else ""
                self.trading.ladder.set_waiting(f"{event.state} to {self.venue}{why}")
        elif isinstance(event, FeedMetrics):  # once a second, with or without a key
            status.frame_age = event.last_frame_age
            status.feed_latency_ms = None if event.feed_latency is None else event.feed_latency * 1000
        elif isinstance(event, SequenceGap):
            status.gaps += 1
        elif isinstance(event, FeedError):
            status.bad_frames += 1
            log.warning("feed error at %s: %s", event.where, event.message)
        elif isinstance(event, BookReset):
            self.trading.ladder.set_waiting(f"resynchronising: {event.reason}")
        elif isinstance(event, OrderUpdated):
            record = dict(event.order)
            record["time"] = self.orders.get(event.client_order_id, {}).get("time") or self._clock().strftime("%H:%M:%S")
            self.orders[event.client_order_id] = record
            self._orders_changed = True
        elif isinstance(event, TradingStateChanged):
            self.trading_state, self.halt_reason = event.state, event.reason
        elif isinstance(event, Alert):
            self.alerts.append((now, event.severity, event.message))
            self.trading.alerts.show(list(self.alerts))
            if self._showing(self.risk):
                self.risk.show_history()
            if event.severity == "info":
                return
            self.notify(event.message, severity="error" if event.severity != "warning" else "warning", timeout=10)
