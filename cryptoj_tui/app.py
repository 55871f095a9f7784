"""The Textual app: screens, global bindings, and the engine bridge.

The app is where the engine's news meets the screens: it keeps the console's status, the order
rows, the alerts and the journal, and hands each screen what it shows. Screens and widgets ask
for engine work by posting messages (cancel, move, flatten); the app carries them out through the
bridge and says what happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import Any, ClassVar, Protocol

from textual.app import App, SystemCommand
from textual.binding import Binding, BindingType
from textual.dom import DOMNode
from textual.events import Key
from textual.filter import ANSIToTruecolor, LineFilter
from textual.notifications import SeverityLevel
from textual.screen import ModalScreen, Screen

from cryptoj_tui.bridge import EngineBridge, RecentTrades
from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.emergency import KillReport
from cryptoj_tui.engine.events import (
    Alert,
    BookReset,
    ConnectionStatus,
    FeedError,
    FeedMetrics,
    OrderFilled,
    OrderUpdated,
    ProductRefused,
    SequenceGap,
    TradingStateChanged,
)
from cryptoj_tui.engine.model import ConnectionState
from cryptoj_tui.engine.orders import Order, VenueFill
from cryptoj_tui.event_text import EventText, order_words
from cryptoj_tui.formats import DEFAULT_FORMAT, ProductFormat, quote, short_id
from cryptoj_tui.heap import HeapKeeper, settle_heap
from cryptoj_tui.messages import (
    BooksChanged,
    CancelAllRequested,
    CancelRequested,
    EditRequested,
    EngineEvent,
    FlattenRequested,
    FormatsKnown,
    MoveRequested,
    PortfolioChanged,
    ProductSelected,
    RiskChanged,
    TradesArrived,
    UnwatchRequested,
    WatchlistChanged,
    WatchRequested,
)
from cryptoj_tui.screens.base import ConsoleScreen
from cryptoj_tui.screens.help import HelpScreen
from cryptoj_tui.screens.journal import JournalScreen
from cryptoj_tui.screens.modals import (
    ConfirmScreen,
    GotoTimeScreen,
    KillReportScreen,
    ProductPickerScreen,
    QuitScreen,
)
from cryptoj_tui.screens.orders import OrdersScreen
from cryptoj_tui.screens.positions import PositionsScreen
from cryptoj_tui.screens.risk import RiskScreen
from cryptoj_tui.screens.trading import TradingScreen
from cryptoj_tui.screens.watchlist import WatchlistScreen
from cryptoj_tui.views import STATUS_ONLY_EVENTS, BookView, ConsoleStatus, OrderRow, PortfolioView, WatchlistView
from cryptoj_tui.widgets.ladder import FLASH_SECONDS
from cryptoj_tui.widgets.order_ticket import OrderTicket

log = logging.getLogger(__name__)

CancelResult = tuple[list[Order], list[tuple[Order, str]]]
"""(cancelled, [(order, why not)]), as Engine.cancel returns it."""

SCREENS = Binding.Group("Screens", compact=True)
REPLAY_KEYS = Binding.Group("Replay", compact=True)
"""One footer entry for the six screen keys, so the footer fits 80 columns."""
FILL_NOTICE_DELAY = 0.15
"""Seconds a fill's toast waits for more fills of the same order (one toast for a sweep)."""
FLATTEN_WAIT = 10.0
"""Seconds a flattening market order is given to finish before its toast says where it is."""


def binding_owners() -> list[tuple[str, type[DOMNode]]]:
    """(section title, class) of every set of bindings, in the order the help screen lists them."""
    return [
        ("Everywhere", CryptojApp),
        ("Replay (cryptoj replay FILE)", ReplayConsole),
        ("Trading", TradingScreen),
        ("Order ticket", OrderTicket),
        ("Orders", OrdersScreen),
        ("Positions", PositionsScreen),
        ("Journal", JournalScreen),
        ("Questions (flatten, re-arm)", ConfirmScreen),
        ("Quitting with orders working", QuitScreen),
        ("Kill switch report", KillReportScreen),
        ("Product picker (ctrl+o)", ProductPickerScreen),
        ("Watchlist", WatchlistScreen),
    ]


def binding_ids() -> set[str]:
    """Every binding id of the app and its screens (what the [keys] config table may remap)."""
    return {b.id for _, owner in binding_owners() for b in owner.BINDINGS if isinstance(b, Binding) and b.id}


def check_keymap(keymap: dict[str, str]) -> None:
    """ValueError (one line) for an unknown binding id, or a key that would take the kill switch's."""
    unknown = set(keymap) - binding_ids()
    if unknown:
        raise ValueError(
            f"keys: unknown binding id(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(binding_ids()))}"
        )
    kill_keys = {k.strip() for k in keymap.get("kill_switch", "ctrl+k").split(",")}
    for binding_id, keys in sorted(keymap.items()):
        taken = kill_keys & {k.strip() for k in keys.split(",")}
        if binding_id != "kill_switch" and taken:
            raise ValueError(f"keys: {binding_id} = {keys!r} takes {', '.join(sorted(taken))}, the kill switch's key")


@dataclass(frozen=True, slots=True)
class Notice:
    """A toast as asked for (held while a dialog is up)."""

    message: str
    title: str
    severity: SeverityLevel
    timeout: float | None
    markup: bool


TERMINAL_CHECK_EVERY = 0.1
"""Seconds between looks at the terminal: Textual queues at most 30 frames for a terminal that no
longer takes them (half a second at 60 a second) before the console itself would block."""


def _terminal_attached() -> bool:
    """Whether the process still has its terminal (one that hung up is no longer a tty)."""
    stdin = sys.__stdin__
    return stdin is not None and os.isatty(stdin.fileno())


async def _fills_of(client_order_id: str, engine: Engine) -> list[VenueFill]:
    return await engine.fills(engine.order(client_order_id))


async def _products_listed(engine: Engine) -> list[str]:
    """What the trader may switch to: the venue's products (with a key), else those watched."""
    listed = set(engine.trading.products) if engine.trading is not None else set()
    return sorted(listed | set(engine.market_data.products()))


async def _unsubscribe(engine: Engine, product_id: str) -> None:
    await engine.unsubscribe(product_id)


async def _rearm(engine: Engine) -> None:
    engine.rearm("re-armed from the console after confirmation")


def utc_now() -> datetime:
    """The wall clock in UTC (the status bar's clock)."""
    return datetime.now(UTC)


def liquidity_words(fills: list[VenueFill]) -> str:
    """ "maker", "taker", "maker and taker", or "" when the venue's fills do not say."""
    kinds = sorted({f.liquidity.lower() for f in fills if f.liquidity})
    return " and ".join(kinds)


class ReplayPosition(Protocol):
    @property
    def time(self) -> float: ...

    @property
    def paused(self) -> bool: ...

    def text(self) -> str: ...


class ReplayControls(Protocol):
    """What the console needs of a replay (cryptoj_tui.replay.player.PlayerThread)."""

    def control(self, name: str, *args: float) -> None: ...

    def state(self) -> ReplayPosition: ...


SKIP_SECONDS = 10.0
"""How far `,` and `;` seek in a replay."""


class CryptojApp(App[None]):
    """The trading console."""

    TITLE = "CryptoJ"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (120, "-wide")]  # noqa: RUF012 - Textual types it as an instance attribute
    CSS_PATH = "app.tcss"
    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority: the kill switch works on every screen and in every modal, whatever has focus.
        Binding("ctrl+k", "kill_switch", "Kill switch", priority=True, id="kill_switch"),
        Binding("ctrl+r", "rearm", "Re-arm", id="rearm"),
        Binding("1", "show('trading')", "Trading", id="screen.trading", group=SCREENS),
        Binding("2", "show('orders')", "Orders", id="screen.orders", group=SCREENS),
        Binding("3", "show('positions')", "Positions", id="screen.positions", group=SCREENS),
        Binding("4", "show('risk')", "Risk", id="screen.risk", group=SCREENS),
        Binding("5", "show('journal')", "Journal", id="screen.journal", group=SCREENS),
        Binding("6", "show('help')", "Help", id="screen.help", group=SCREENS),
        Binding("7", "show('watchlist')", "Watchlist", id="screen.watchlist", group=SCREENS),
        Binding("ctrl+o", "pick_product", "Switch product", show=False, id="product.pick"),
        Binding("q", "quit", "Quit", id="quit"),
    ]

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
        embedded_venue: bool = False,
        clock: Callable[[], datetime] = utc_now,
        default_size: str = "0.01",
        keymap: dict[str, str] | None = None,
        theme: str = "textual-dark",
        flash_seconds: float = FLASH_SECONDS,
        tune_gc: bool = False,
        on_theme: Callable[[str], None] | None = None,
        watch_terminal: bool = False,
        replay: ReplayControls | None = None,
        fill_bell: bool = True,
        watch: Sequence[str] = (),
    ) -> None:
        super().__init__()
        self.fill_bell = fill_bell
        """Ring the terminal's bell when an order of yours fills."""
        self.unread_fills = 0
        """Fills since the trader last looked at the orders or positions screen (in the header)."""
        self._connection_state = "connecting"
        self._product_before: str | None = None
        self._picker: ProductPickerScreen | None = None
        """The product picker, made at its first use and kept (see ProductPickerScreen)."""
        self.watchlist_view: WatchlistView | None = None
        """The product traded before a switch, until the new one is subscribed."""
        self.replay = replay
        """The recording being played, when the console replays one (trading is off then)."""
        self._tune_gc = tune_gc
        """Freeze the start-up heap once the first book is live (see settle_heap)."""
        self.theme = theme
        self._on_theme = on_theme
        """Told the theme the trader picked (the console keeps it in the config file)."""
        self._watch_terminal = watch_terminal
        """Quit when the terminal goes (a dropped SSH session, a closed window): a console nobody
        can see or reach, its kill switch included, must not go on (Textual's input thread only
        spins on a terminal that hung up)."""
        self.keymap = dict(keymap or {})
        check_keymap(self.keymap)
        self.set_keymap(self.keymap)
        self.engine_config = engine_config
        self.product_id = product_id
        self.venue = venue
        self.embedded_venue = embedded_venue
        """The paper venue runs inside the console (and its orders end with it)."""
        self.error = ""
        """Why the console stopped by itself (the shell is told, once the terminal is back)."""
        self.bridge = EngineBridge(engine_config, self.post_message)
        self.trading = TradingScreen(
            product_id,
            clock,
            self.bridge.submit,
            default_size=default_size,
            flash_seconds=flash_seconds,
            brackets=engine_config.venue != "binance",  # its OCO order lists are not done yet
        )
        self.blotter = OrdersScreen(clock)
        self.positions = PositionsScreen(clock)
        self.risk = RiskScreen(clock)
        self.journal = JournalScreen(clock)
        self.help_screen = HelpScreen(clock, binding_owners(), self.keymap)
        self.watchlist = WatchlistScreen(clock)
        self._latest_views: dict[str, BookView] = {}
        """Each subscribed product's last book view: a switch to it draws at once."""
        self.watched: list[str] = [product_id, *(p for p in watch if p != product_id)]
        """The watchlist's products, in the order they were added (all subscribed)."""
        rearm = self.keymap.get("rearm", "ctrl+r").split(",")[0].strip()
        self.status = ConsoleStatus(venue=venue, rearm_key=rearm)
        """What every screen's status line shows."""
        self.formats: dict[str, ProductFormat] = {}
        self.portfolio: PortfolioView | None = None
        self.alerts: deque[tuple[str, str, str]] = deque(maxlen=1000)
        """(time, severity, message) of every alert, oldest first."""
        self.journal_entries: deque[tuple[str, str, str]] = deque(maxlen=5000)
        """(time, kind, text) of every engine record event, oldest first."""
        self._event_text = EventText()
        self._journal_changed = False
        self.orders: dict[str, OrderRow] = {}
        """Every order seen, by client_order_id, as it last was."""
        self._clock = clock
        self._orders_changed = False
        self._fills_due: set[str] = set()
        """Orders that filled, whose toast waits FILL_NOTICE_DELAY for more of their fills."""
        self._unmounted = False
        self._held_notices: list[Notice] = []
        self.notices: deque[tuple[str, str]] = deque(maxlen=200)
        """(title, message) of the latest toasts, oldest first (shown, or held behind a dialog)."""
        """Toasts that came while a dialog was up: shown once it is gone, never over it."""
        self._show_sub_title()

    @property
    def main_screens(self) -> tuple[ConsoleScreen, ...]:
        """The seven screens the number keys switch between."""
        return (
            self.trading,
            self.blotter,
            self.positions,
            self.risk,
            self.journal,
            self.help_screen,
            self.watchlist,
        )

    @property
    def trading_state(self) -> str:
        """ACTIVE, REDUCING or HALTED ("" before the engine says, or without an API key)."""
        return self.status.trading_state

    def on_mount(self) -> None:
        for name, screen in zip(
            ("trading", "orders", "positions", "risk", "journal", "help", "watchlist"), self.main_screens, strict=True
        ):
            self.install_screen(screen, name)
        self.push_screen("trading")
        self._publish_status()
        self.set_interval(0.25, self._flush_changes)
        if self.replay is not None:
            self._show_replay()
            self.set_interval(0.25, self._show_replay)
        self.theme_changed_signal.subscribe(self, self._theme_changed)
        if self._watch_terminal and _terminal_attached():
            asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._terminal_gone)
            self.set_interval(TERMINAL_CHECK_EVERY, self._check_terminal)
        try:
            self.bridge.start(list(self.watched))
        except Exception as exc:  # the engine could not start (venue refusing the key, a damaged journal)
            log.error("engine did not start: %s", exc)
            self.error = str(exc).replace("\n", " ")
            self.exit(return_code=2)

    def _check_terminal(self) -> None:
        if not _terminal_attached():  # a terminal that hung up is no longer a tty
            self._terminal_gone()

    def _terminal_gone(self) -> None:
        log.warning("the terminal is gone: the console stops (and with it the engine)")
        # Textual's output thread died on the first write to the hung-up terminal, and its queue
        # of frames fills behind it; the shutdown's own writes (mouse off, screen restored) would
        # then wait forever. From here on they go nowhere, and the engine stops as it should.
        devnull = os.open(os.devnull, os.O_WRONLY)
        for fd in (1, 2):
            os.dup2(devnull, fd)
        os.close(devnull)
        self.exit(return_code=1)

    def _theme_changed(self, theme: Any) -> None:
        if self._on_theme is not None:
            self._on_theme(theme.name)

    # -- status and notices ------------------------------------------------------------------

    def _set_status(self, **changes: Any) -> None:
        self.status = replace(self.status, **changes)
        self._publish_status()

    def _publish_status(self) -> None:
        if self._unmounted:
            return  # news from the engine thread that crossed the exit: nothing shows it now
        for screen in self.main_screens:
            screen.status = self.status

    def _dialog_up(self) -> bool:
        return bool(self.screen_stack) and isinstance(self.screen_stack[-1], ModalScreen)

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: SeverityLevel = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """A toast, held back while a dialog is up (toasts never cover one)."""
        self.notices.append((title, message))
        notice = Notice(message, title, severity, timeout, markup)
        if self._dialog_up():
            self._held_notices.append(notice)
            return
        self._show(notice)

    def _show(self, notice: Notice) -> None:
        super().notify(
            notice.message, title=notice.title, severity=notice.severity, timeout=notice.timeout, markup=notice.markup
        )

    def push_screen(self, screen: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(screen, ModalScreen):
            self.clear_notifications()  # the dialog says what matters now; its toasts wait for it
        return super().push_screen(screen, *args, **kwargs)

    def action_show(self, name: str) -> None:
        """Switch between the main screens (not from inside a modal)."""
        if not isinstance(self.screen, ModalScreen):
            self.switch_screen(name)
            if name == "journal":
                self._journal_changed = True  # caught up at the next flush
            if name in ("orders", "positions") and self.unread_fills:
                self.unread_fills = 0  # seen
                self._show_sub_title()

    def action_pick_product(self) -> None:
        """Pick the product to trade from the venue's list (fuzzy search)."""
        if isinstance(self.screen, ModalScreen):
            return
        self.run_worker(
            self._pick_product(self._trade_product, "Trade which product?"), group="product", exclusive=True
        )

    async def _pick_product(self, chosen: Callable[[str | None], None], question: str) -> None:
        try:
            products = await asyncio.wrap_future(self.bridge.submit(_products_listed))
        except Exception as exc:  # the engine stopped: nothing to switch to
            self.notify(f"no product list: {exc}", severity="warning")
            return
        if isinstance(self.screen, ModalScreen):
            return  # a dialog came up meanwhile (the kill switch's report): it goes first
        if self._picker is None:
            self._picker = ProductPickerScreen(products, self.product_id, question)
            self.install_screen(self._picker, name="product-picker")
        else:
            self._picker.prepare(products, self.product_id, question)
        self.push_screen(self._picker, chosen)

    def switch_product(self, product_id: str | None) -> None:
        """Trade `product_id` from now on: subscribed if it was not, the trading screen follows it."""
        if product_id is None or product_id == self.product_id:
            return
        previous, self.product_id = self.product_id, product_id
        self._product_before = previous
        if product_id not in self.watched:
            self.watched.append(product_id)
        self.trading.show_product(product_id, self.product_format(product_id))
        self._latest_views.update(self.bridge.take_books())  # a product not traded sends no notice
        if (latest := self._latest_views.get(product_id)) is not None:
            self.trading.show_book(latest)  # drawn in the switch's own frame; a fresh one follows
        self._orders_changed = True  # its working orders, on the ladder
        if self.portfolio is not None:
            self.trading.show_portfolio(self.portfolio)
        self._show_sub_title()
        future = self.bridge.submit(partial(self.bridge.watch_product, product_id=product_id, traded=True))
        self.run_worker(self._watch_product(product_id, future), group="product")

    async def _watch_product(self, product_id: str, future: Future[RecentTrades]) -> None:
        try:
            trades, closes = await asyncio.wrap_future(future)
        except Exception as exc:  # refused by the venue, or the engine stopped: back to the one before
            if self.product_id == product_id and self._product_before is not None:
                self.notify(f"{product_id}: {exc}", title="cannot trade it", severity="error")
                self.switch_product(self._product_before)
            return
        if self.product_id == product_id:
            self._product_before = None
            self.trading.show_recent(trades, closes)

    def _show_sub_title(self) -> None:
        """The header's second part: the product, its connection, and fills not yet seen."""
        n = self.unread_fills
        unread = f" · {n} new fill{'s' if n > 1 else ''}" if n else ""
        symbol = self.engine_config.venue_symbol(self.product_id)
        named = self.product_id if symbol == self.product_id else f"{self.product_id} ({symbol} at the venue)"
        self.sub_title = f"{named} · {self._connection_state}{unread}"

    def _showing(self, screen: Screen[Any]) -> bool:
        # Not `self.screen`: that raises once the stack is empty (timers can fire while exiting).
        return bool(self.screen_stack) and self.screen_stack[-1] is screen

    def _flush_changes(self) -> None:
        # Order bursts (a kill switch cancelling hundreds) repaint the blotter a few times a second at most.
        if self._orders_changed:
            self._orders_changed = False
            rows = tuple(self.orders.values())
            self.trading.show_orders(rows)
            self.blotter.show_orders(rows, self.formats)
        if self._journal_changed and self._showing(self.journal):
            self._journal_changed = False
            self.journal.show_entries(tuple(self.journal_entries))
        if self._held_notices and not self._dialog_up():
            held, self._held_notices = self._held_notices, []
            for notice in held:
                self._show(notice)

    def product_format(self, product_id: str) -> ProductFormat:
        """The product's increments (the default where the venue did not say)."""
        return self.formats.get(product_id, DEFAULT_FORMAT)

    # -- the engine's news -------------------------------------------------------------------

    def on_formats_known(self, message: FormatsKnown) -> None:
        self.formats = message.formats
        self.trading.show_format(self.product_format(self.product_id))
        self._orders_changed = True

    def on_books_changed(self, _: BooksChanged) -> None:
        views = self.bridge.take_books()
        self._latest_views.update(views)
        view = views.get(self.product_id)
        if view is not None:
            self.trading.show_book(view)
            if self._tune_gc and view.live:
                self._tune_gc = False
                settle_heap()
                # A dialog up counts too: the key that closes it repaints the whole screen under it.
                keeper = HeapKeeper(lambda: self.trading.ticket.is_open or self.bridge.busy or self._dialog_up())
                self.set_interval(1 / 60, keeper.tick)

    def on_trades_arrived(self, _: TradesArrived) -> None:
        all_trades, closes = self.bridge.take_trades()
        self.trading.show_trades(tuple(all_trades.get(self.product_id, ())), closes.get(self.product_id))

    def on_watchlist_changed(self, message: WatchlistChanged) -> None:
        self.watchlist_view = message.view
        self.watchlist.show(message.view, tuple(self.watched), self.product_id)

    def on_product_selected(self, message: ProductSelected) -> None:
        self._trade_product(message.product_id)

    def _trade_product(self, product_id: str | None) -> None:
        """Switch to `product_id` and show it on the trading screen (picked is meant to be traded)."""
        if product_id is not None:
            self.switch_product(product_id)
            self.action_show("trading")

    def on_watch_requested(self, _: WatchRequested) -> None:
        self.run_worker(self._pick_product(self._watch, "Watch which product?"), group="product", exclusive=True)

    def _watch(self, product_id: str | None) -> None:
        if product_id is None or product_id in self.watched:
            return
        self.watched.append(product_id)
        future = self.bridge.submit(partial(self.bridge.watch_product, product_id=product_id))
        self.run_worker(self._watching(product_id, future), group="product")

    async def _watching(self, product_id: str, future: Future[RecentTrades]) -> None:
        try:
            await asyncio.wrap_future(future)
        except Exception as exc:  # refused by the venue, or the engine stopped
            if product_id in self.watched:
                self.watched.remove(product_id)
            self.notify(f"{product_id}: {exc}", title="cannot watch it", severity="error")
            return
        self.notify(f"{product_id} added to the watchlist", title="watchlist")

    def on_unwatch_requested(self, message: UnwatchRequested) -> None:
        if message.product_id == self.product_id:
            self.notify(f"{message.product_id} is the product traded: switch first (ctrl+o)", severity="warning")
            return
        if message.product_id in self.watched:
            future = self.bridge.submit(partial(_unsubscribe, product_id=message.product_id))
            self.run_worker(self._unwatching(message.product_id, future), group="product")

    async def _unwatching(self, product_id: str, future: Future[None]) -> None:
        try:
            await asyncio.wrap_future(future)
        except Exception as exc:  # a stake in it (orders, a position), or the engine stopped
            self.notify(f"{product_id} stays: {exc}", title="cannot remove it", severity="warning")
            return
        if product_id in self.watched:
            self.watched.remove(product_id)
        if self.watchlist_view is not None:
            self.watchlist.show(self.watchlist_view, tuple(self.watched), self.product_id)
        self.notify(f"{product_id} removed from the watchlist (unsubscribed)", title="watchlist")

    def on_risk_changed(self, message: RiskChanged) -> None:
        self.risk.show(message.view)

    def on_portfolio_changed(self, message: PortfolioChanged) -> None:
        view = self.portfolio = message.view
        self.trading.show_portfolio(view)
        self.positions.show(view)
        if (view.pnl, view.round_trip_ms) != (self.status.pnl, self.status.round_trip_ms):
            self._set_status(pnl=view.pnl, round_trip_ms=view.round_trip_ms)

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        now = self._clock().strftime("%H:%M:%S")
        if not isinstance(event, STATUS_ONLY_EVENTS):
            line = self._event_text.line(event, self.formats)
            if line is not None:
                self.journal_entries.append((now, *line))
                self._journal_changed = True
        if isinstance(event, ConnectionStatus) and event.role == "market":
            self._connection_state = str(event.state)
            self._show_sub_title()
            self._set_status(connection=event.state)
            if self.product_id in self.status.problem:
                return  # the refusal stays on the ladder: reconnecting will not bring the book
            if event.state is ConnectionState.CONNECTED:
                self.trading.show_waiting(f"waiting for the {self.product_id} book...")
            else:
                why = f": {event.reason}" if event.reason else ""
                self.trading.show_waiting(f"{event.state} to {self.venue}{why}")
        elif isinstance(event, FeedMetrics):  # once a second, with or without a key
            self._set_status(
                frame_age=event.last_frame_age,
                feed_latency_ms=None if event.feed_latency is None else event.feed_latency * 1000,
            )
        elif isinstance(event, SequenceGap):
            self._set_status(gaps=self.status.gaps + 1)
        elif isinstance(event, FeedError):
            self._set_status(bad_frames=self.status.bad_frames + 1)
            log.warning("feed error at %s: %s", event.where, event.message)
        elif isinstance(event, BookReset):
            self.trading.show_waiting(f"resynchronising: {event.reason}")
        elif isinstance(event, ProductRefused):
            self._refused(event)
        elif isinstance(event, OrderUpdated):
            known = self.orders.get(event.client_order_id)
            self.orders[event.client_order_id] = OrderRow.from_snapshot(event.order, known.time if known else now)
            self._orders_changed = True
        elif isinstance(event, OrderFilled):
            if not self._fills_due:
                self.set_timer(FILL_NOTICE_DELAY, self._notice_fills)
            self._fills_due.add(event.client_order_id)
            self.trading.flash_fill(event.product_id, event.side, event.price)
            self.unread_fills += 1
            self._show_sub_title()
        elif isinstance(event, TradingStateChanged):
            self._set_status(trading_state=event.state, halt_reason=event.reason)
            self.refresh_bindings()
        elif isinstance(event, Alert):
            self.alerts.append((now, event.severity, event.message))
            self.trading.show_alerts(list(self.alerts))
            self.risk.show_history(tuple(self.alerts))
            if event.severity != "info":
                self.notify(event.message, severity="error" if event.severity != "warning" else "warning", timeout=10)

    def _refused(self, event: ProductRefused) -> None:
        """The venue will not serve a product: say so where the book would be, and in the status
        line; with nothing left to show, the console exits with the reason."""
        if event.product_id != self.product_id or self._product_before is not None:
            return  # a product switched to: the switch goes back, with the reason
        self.trading.show_waiting(event.reason)
        self._set_status(problem=f"{event.product_id}: refused by the venue")
        self.error = event.reason
        self.exit(return_code=2)

    def _notice_fills(self) -> None:
        """One toast per order that filled: its size, average price and maker or taker."""
        due, self._fills_due = self._fills_due, set()
        if due and self.fill_bell:
            self.bell()  # once for the fills of this moment, not once a fill
        for client_order_id in due:
            row = self.orders.get(client_order_id)
            if row is None:
                continue
            future = self.bridge.submit(partial(_fills_of, client_order_id))
            self.run_worker(self._toast_fill(row.client_order_id, future), group="fills")

    async def _toast_fill(self, client_order_id: str, future: Future[list[VenueFill]]) -> None:
        try:
            liquidity = liquidity_words(await asyncio.wrap_future(future))
        except Exception as exc:  # the venue could not list them: say what is known
            log.warning("fills of %s: %s", client_order_id, exc)
            liquidity = ""
        row = self.orders[client_order_id]
        fmt = self.product_format(row.product_id)
        if row.in_quote:  # its base size is what it came to: "BUY filled 0.0038 BTC-USD for 250.00 USD"
            what = f"filled {fmt.size(row.filled_size)} {row.product_id} for {row.size_words(fmt)}"
        elif row.status == "FILLED":
            what = f"filled {fmt.size(row.size)} {row.product_id}"
        else:
            what = f"filled {fmt.size(row.filled_size)} of {fmt.size(row.size)} {row.product_id}"
        self.notify(
            f"{row.side} {what} at avg {fmt.price(row.average_price)}"
            + (f" · {liquidity}" if liquidity else "")
            + f" · fee {quote(row.fees)}",
            title=f"{row.status.replace('_', ' ').lower()} · {short_id(row.client_order_id)}",
        )

    # -- what the trader asks for ------------------------------------------------------------

    def on_order_ticket_sent(self, message: OrderTicket.Sent) -> None:
        order = message.order
        row = OrderRow.from_snapshot(order.snapshot(), "")
        self.notify(
            f"{order_words(row, self.product_format(row.product_id))} · taken by the venue",
            title=f"sent · {short_id(order.client_order_id)}",
        )

    def on_cancel_requested(self, message: CancelRequested) -> None:
        ids = set(message.client_order_ids)

        async def cancel(engine: Engine) -> CancelResult:
            return await engine.cancel(*(o for o in engine.orders() if o.client_order_id in ids))

        self.run_worker(self._report_cancel(self.bridge.submit(cancel)), group="cancel")

    def on_cancel_all_requested(self, message: CancelAllRequested) -> None:
        product_id = message.product_id

        async def cancel(engine: Engine) -> CancelResult:
            return await engine.cancel_all(product_id)

        self.run_worker(self._report_cancel(self.bridge.submit(cancel)), group="cancel")

    async def _report_cancel(self, future: Future[CancelResult]) -> bool:
        """Say what a cancel did; True when nothing failed."""
        try:
            cancelled, failed = await asyncio.wrap_future(future)
        except Exception as exc:
            self.notify(f"cancel failed: {exc}", severity="error")
            return False
        reasons = "; ".join(f"{short_id(o.client_order_id)}: {why}" for o, why in failed)
        if not cancelled and not failed:
            self.notify("nothing to cancel: no order was working", severity="warning")
        else:
            self.notify(
                f"{len(cancelled)} order(s) cancelled" + (f"; not cancelled: {reasons}" if failed else ""),
                severity="error" if failed else "information",
            )
        return not failed

    def on_move_requested(self, message: MoveRequested) -> None:
        self._change_order(message.client_order_id, message.price, None, moved=True)

    def on_edit_requested(self, message: EditRequested) -> None:
        self._change_order(message.client_order_id, message.price, message.size, moved=False)

    def _change_order(self, client_order_id: str, price: Decimal | None, size: Decimal | None, *, moved: bool) -> None:
        """A new price and/or total size for a working order: edited in place where the venue
        can, else cancelled and replaced (Engine.replace)."""

        async def change(engine: Engine) -> Order:
            return await engine.replace(engine.order(client_order_id), price=price, size=size)

        self.run_worker(self._report_change(client_order_id, moved, self.bridge.submit(change)), group="move")

    async def _report_change(self, client_order_id: str, moved: bool, future: Future[Order]) -> None:
        try:
            new = await asyncio.wrap_future(future)
        except Exception as exc:
            self.notify(f"not {'moved' if moved else 'edited'}: {exc}", severity="error", timeout=10)
            return
        fmt = self.product_format(new.product_id)
        what = f"{new.side} {fmt.size(new.request.size)} {new.product_id}"
        now = (
            f"{what} moved to {fmt.price(new.request.price)}" if moved else f"{what} at {fmt.price(new.request.price)}"
        )
        how = "edited in place" if new.client_order_id == client_order_id else f"now {short_id(new.client_order_id)}"
        self.notify(f"{now} · {how}", title=f"{'moved' if moved else 'edited'} · {short_id(client_order_id)}")

    def on_flatten_requested(self, message: FlattenRequested) -> None:
        """Ask (saying each side and size), then send market orders that bring these positions to zero."""
        rows = {} if self.portfolio is None else {p.product_id: p for p in self.portfolio.positions}
        plans = [(p, rows[p].quantity) for p in message.product_ids if p in rows and rows[p].quantity != 0]
        if not plans:
            self.notify("nothing to flatten: no position", severity="warning")
            return
        lines = [
            f"  {'SELL' if q > 0 else 'BUY'} {self.product_format(p).size(abs(q))} {p} at market"
            f" (the whole {'long' if q > 0 else 'short'})"
            for p, q in plans
        ]

        def answered(yes: bool | None) -> None:
            if yes:
                self.run_worker(
                    self._report_flatten(self.bridge.submit(partial(self._flatten, plans))), group="flatten"
                )

        self.push_screen(ConfirmScreen("Flatten with market orders?\n\n" + "\n".join(lines), yes="Flatten"), answered)

    async def _flatten(self, plans: list[tuple[str, Decimal]], engine: Engine) -> list[str]:
        """(engine loop) Send each flattening order, if the position is still what was confirmed,
        and wait for it to finish; one line each of what became of it."""
        results = []
        for product_id, confirmed in plans:
            fmt = self.product_format(product_id)
            position = engine.positions().get(product_id)
            now = position.quantity if position is not None else Decimal(0)
            if now != confirmed:
                results.append(
                    f"{product_id}: not sent: the position is {fmt.size(now)} now, "
                    f"{fmt.size(confirmed)} when you confirmed; flatten again"
                )
                continue
            side = "sell" if confirmed > 0 else "buy"
            order = await engine.place_market(product_id, side, size=abs(confirmed))
            with contextlib.suppress(TimeoutError):  # what it did by then is said, whatever it is
                await engine.wait_done(order, timeout=FLATTEN_WAIT)
            after = engine.positions()[product_id].quantity
            filled = (
                f"filled {fmt.size(order.filled_size)} at avg {fmt.price(order.average_price)}"
                if order.filled_size
                else f"{order.status}{f' ({order.reason})' if order.reason else ''}"
            )
            results.append(
                f"{side.upper()} {fmt.size(abs(confirmed))} {product_id}: {filled}; "
                + ("now flat" if after == 0 else f"position now {fmt.size(after)}")
            )
        return results

    async def _report_flatten(self, future: Future[list[str]]) -> None:
        try:
            results = await asyncio.wrap_future(future)
        except Exception as exc:
            self.notify(f"flatten refused: {exc}", severity="error", timeout=15)
            return
        self.notify("\n".join(results), title="flatten", timeout=10)

    async def action_quit(self) -> None:
        """Quit; with orders working, say what becomes of them and offer to cancel them first."""
        working = [row for row in self.orders.values() if row.working]
        if not working:
            self.exit()
            return
        if self.embedded_venue:
            fate = (
                "are working on the embedded paper venue, which stops with the console: they end "
                "with it, and the next start is a fresh paper account."
            )
        else:
            fate = f"are working at {self.venue} and will stay working there after you quit, unwatched."

        async def answered(answer: str | None) -> None:
            if answer == "quit":
                self.exit()
            elif answer == "cancel":
                future = self.bridge.submit(lambda engine: engine.cancel_all(None))
                if await self._report_cancel(future):
                    self.exit()

        await self.push_screen(QuitScreen(f"{len(working)} order(s) {fate}"), answered)

    def on_unmount(self) -> None:
        self._unmounted = True
        self.bridge.stop()

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        """The console's actions in the command palette (ctrl+p), beside Textual's own."""
        yield from super().get_system_commands(screen)
        yield SystemCommand("Kill switch", "Halt now and cancel every working order (ctrl+k)", self.action_kill_switch)
        if self.trading_state in ("HALTED", "REDUCING"):
            yield SystemCommand(
                "Re-arm", f"Allow new orders again, after a confirmation ({self.status.rearm_key})", self.action_rearm
            )
        yield SystemCommand("Buy", "Open a buy ticket at the ladder cursor (b)", partial(self.action_ticket, "buy"))
        yield SystemCommand("Sell", "Open a sell ticket at the ladder cursor (s)", partial(self.action_ticket, "sell"))
        yield SystemCommand(
            "Cancel all orders",
            "Cancel every working order of every product",
            lambda: self.post_message(CancelAllRequested(None)),
        )
        for key, name in (
            ("1", "trading"),
            ("2", "orders"),
            ("3", "positions"),
            ("4", "risk"),
            ("5", "journal"),
            ("6", "help"),
            ("7", "watchlist"),
        ):
            yield SystemCommand(f"Show {name}", f"The {name} screen ({key})", partial(self.action_show, name))

    def action_ticket(self, side: str) -> None:
        """The trading screen, with a ticket open at its cursor (or why not)."""
        self.action_show("trading")
        self.trading.action_ticket(side)

    def _show_replay(self) -> None:
        if self.replay is not None:
            text = self.replay.state().text()
            if text != self.status.replay:
                self._set_status(replay=text)

    def action_replay(self, control: str) -> None:
        """Pause/play, step one frame, seek 10 s either way, or change speed."""
        if self.replay is None:
            return
        if control == "toggle":
            self.replay.control("pause" if not self.replay.state().paused else "play")
        elif control == "back":
            self.replay.control("skip", -SKIP_SECONDS)
        elif control == "forward":
            self.replay.control("skip", SKIP_SECONDS)
        else:
            self.replay.control(control)
        self.set_timer(0.05, self._show_replay)

    def action_replay_goto(self) -> None:
        """Ask for a time of day in the recording, then go there."""
        replay = self.replay
        if replay is None:
            return

        def chosen(when: datetime | None) -> None:
            if when is not None:
                replay.control("seek_time", when.timestamp())
                self.set_timer(0.05, self._show_replay)

        self.push_screen(GotoTimeScreen(datetime.fromtimestamp(replay.state().time, UTC)), chosen)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("replay", "replay_goto"):
            return self.replay is not None and not isinstance(self.screen, ModalScreen)
        if action == "rearm":
            return self.trading_state in ("HALTED", "REDUCING")
        return True

    def on_key(self, event: Key) -> None:
        """A key bound to something that cannot be done now says why (b while HALTED...)."""
        active = self.screen.active_bindings.get(event.key)
        if active is not None and not active.enabled and isinstance(self.screen, ConsoleScreen):
            why = self.screen.why_disabled(active.binding.action.split("(")[0])
            if why is not None:
                self.notify(why, severity="warning")

    async def action_kill_switch(self) -> None:
        """Halt now, cancel everything, then show what happened."""
        if not self.bridge.can_trade:
            why = "replay: trading is off" if self.replay is not None else "no API key"
            self.notify(f"{why}: there is no trading to halt", severity="warning")
            return
        # Refused from this instant in the UI too, before the engine's answer arrives.
        self._set_status(trading_state="HALTED", halt_reason="kill switch (ctrl+k)")
        self.refresh_bindings()
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

    def action_rearm(self) -> None:
        """Ask, then lift the halt."""

        def answered(yes: bool | None) -> None:
            if yes:
                self.bridge.submit(_rearm)

        self.push_screen(
            ConfirmScreen(
                f"Trading is {self.trading_state}: {self.status.halt_reason}.\n\nRe-arm and allow new orders again?",
                yes="Re-arm",
            ),
            answered,
        )


class ReplayConsole(CryptojApp):
    """The console on a recording (`cryptoj replay FILE`): the replay's keys on top of the
    console's. Kept off the trading console: seven priority bindings there cost every screen
    switch (the footer and the help check them) for keys that do nothing without a recording."""

    BINDINGS: ClassVar[list[BindingType]] = [
        # Priority, so space pauses rather than centres the ladder.
        Binding("space", "replay('toggle')", "Pause/play", priority=True, id="replay.pause", group=REPLAY_KEYS),
        Binding(
            "full_stop", "replay('step')", "Step", key_display=".", priority=True, id="replay.step", group=REPLAY_KEYS
        ),
        Binding(
            "comma", "replay('back')", "-10 s", key_display=",", priority=True, id="replay.back", group=REPLAY_KEYS
        ),
        Binding(
            "semicolon",
            "replay('forward')",
            "+10 s",
            key_display=";",
            priority=True,
            id="replay.forward",
            group=REPLAY_KEYS,
        ),
        Binding(
            "plus", "replay('faster')", "Faster", key_display="+", priority=True, id="replay.faster", group=REPLAY_KEYS
        ),
        Binding(
            "minus", "replay('slower')", "Slower", key_display="-", priority=True, id="replay.slower", group=REPLAY_KEYS
        ),
        Binding("g", "replay_goto", "Go to time", id="replay.goto"),
    ]
