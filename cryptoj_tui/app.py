"""The Textual app: screens, global bindings and the engine bridge."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from textual.app import App
from textual.binding import Binding

from cryptoj_tui.bridge import EngineBridge
from cryptoj_tui.engine import EngineConfig
from cryptoj_tui.engine.events import BookReset, ConnectionStatus, FeedError, SequenceGap
from cryptoj_tui.engine.model import ConnectionState
from cryptoj_tui.messages import BooksChanged, EngineEvent
from cryptoj_tui.screens.trading import TradingScreen

log = logging.getLogger(__name__)


def utc_now() -> datetime:
    """The wall clock in UTC (the status bar's clock)."""
    return datetime.now(UTC)


class CryptojApp(App[None]):
    """The trading console."""

    TITLE = "CryptoJ"
    CSS_PATH = "app.tcss"
    BINDINGS = [
        Binding("q", "quit", "Quit", id="quit"),
    ]

    def __init__(
        self,
        engine_config: EngineConfig,
        product_id: str,
        *,
        venue: str,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__()
        self.engine_config = engine_config
        self.product_id = product_id
        self.venue = venue
        self.bridge = EngineBridge(engine_config, self.post_message)
        self.trading = TradingScreen(product_id, venue, clock)
        self.sub_title = f"{product_id} · connecting"

    def on_mount(self) -> None:
        self.push_screen(self.trading)
        self.bridge.start([self.product_id])

    def on_unmount(self) -> None:
        self.bridge.stop()

    def on_books_changed(self, _: BooksChanged) -> None:
        view = self.bridge.take_books().get(self.product_id)
        if view is not None:
            self.trading.ladder.update_book(view)

    def on_engine_event(self, message: EngineEvent) -> None:
        event = message.event
        status = self.trading.status
        if isinstance(event, ConnectionStatus) and event.role == "market":
            status.connection = event.state
            self.sub_title = f"{self.product_id} · {event.state}"
            if event.state is ConnectionState.CONNECTED:
                self.trading.ladder.set_waiting(f"waiting for the {self.product_id} book...")
            else:
                why = f": {event.reason}" if event.reason else ""
                self.trading.ladder.set_waiting(f"{event.state} to {self.venue}{why}")
        elif isinstance(event, SequenceGap):
            status.gaps += 1
        elif isinstance(event, FeedError):
            status.bad_frames += 1
            log.warning("feed error at %s: %s", event.where, event.message)
        elif isinstance(event, BookReset):
            self.trading.ladder.set_waiting(f"resynchronising: {event.reason}")
