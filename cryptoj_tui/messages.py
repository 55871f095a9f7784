"""The small vocabulary of Textual messages the engine bridge posts to the app."""

from __future__ import annotations

from textual.message import Message

from typing import TYPE_CHECKING

from cryptoj_tui.engine.events import Event

if TYPE_CHECKING:
    from cryptoj_tui.bridge import PortfolioView, RiskView


class BooksChanged(Message):
    """One or more books changed; read the latest views with `EngineBridge.take_books()`.

    At most one is outstanding at a time, so a flood of book updates costs the UI one
    message (and so at most one repaint) per UI cycle.
    """


class EngineEvent(Message):
    """A record event from the engine (connection state, gaps, feed errors...)."""

    def __init__(self, event: Event) -> None:
        super().__init__()
        self.event = event


class PortfolioChanged(Message):
    """A fresh copy of positions, PnL and order round-trip time (about twice a second)."""

    def __init__(self, view: PortfolioView) -> None:
        super().__init__()
        self.view = view


class RiskChanged(Message):
    """A fresh copy of the trading state and every limit's use (about twice a second)."""

    def __init__(self, view: RiskView) -> None:
        super().__init__()
        self.view = view


class TradesArrived(Message):
    """Public trades printed; read them with `EngineBridge.take_trades()` (one notice at a time)."""

