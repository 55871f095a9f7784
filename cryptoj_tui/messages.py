"""The console's small vocabulary of Textual messages.

Two kinds: what the engine bridge posts to the app (the engine's news), and what screens and
widgets post up to the app when the trader asks for something that needs the engine (cancel,
flatten, move an order...). Children never call the app by name; the app handles these.
"""

from __future__ import annotations

from decimal import Decimal

from textual.message import Message

from cryptoj_tui.engine.events import Event
from cryptoj_tui.formats import ProductFormat
from cryptoj_tui.views import PortfolioView, RiskView, WatchlistView

# -- from the engine bridge -------------------------------------------------------------------


class BooksChanged(Message):
    """One or more books changed; read the latest views with `EngineBridge.take_books()`.

    At most one is outstanding at a time, so a flood of book updates costs the UI one
    message (and so at most one repaint) per UI cycle. Only the traded product's book sends
    it; the other products' views are taken with it.
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


class WatchlistChanged(Message):
    """A fresh copy of every watched product's row (about twice a second)."""

    def __init__(self, view: WatchlistView) -> None:
        super().__init__()
        self.view = view


class ProductSelected(Message):
    """The trader picked a product to trade (the watchlist's enter)."""

    def __init__(self, product_id: str) -> None:
        super().__init__()
        self.product_id = product_id


class WatchRequested(Message):
    """The trader asked to add a product to the watchlist (`a`)."""


class UnwatchRequested(Message):
    """The trader asked to take a product off the watchlist (`d`)."""

    def __init__(self, product_id: str) -> None:
        super().__init__()
        self.product_id = product_id


class RiskChanged(Message):
    """A fresh copy of the trading state and every limit's use (about twice a second)."""

    def __init__(self, view: RiskView) -> None:
        super().__init__()
        self.view = view


class FormatsKnown(Message):
    """Every product's increments as the venue gave them (once, when trading starts)."""

    def __init__(self, formats: dict[str, ProductFormat]) -> None:
        super().__init__()
        self.formats = formats


class TradesArrived(Message):
    """Public trades printed; read them with `EngineBridge.take_trades()` (one notice at a time)."""


# -- from screens and widgets: the trader asks -------------------------------------------------


class CancelRequested(Message):
    """Cancel these orders (by client order id)."""

    def __init__(self, client_order_ids: tuple[str, ...]) -> None:
        super().__init__()
        self.client_order_ids = client_order_ids


class CancelAllRequested(Message):
    """Cancel every working order of `product_id` (every product when None)."""

    def __init__(self, product_id: str | None) -> None:
        super().__init__()
        self.product_id = product_id


class MoveRequested(Message):
    """Move a working limit order to `price` (the engine replaces it)."""

    def __init__(self, client_order_id: str, price: Decimal) -> None:
        super().__init__()
        self.client_order_id = client_order_id
        self.price = price


class EditRequested(Message):
    """Give a working order a new price and/or total size (the engine edits or replaces it)."""

    def __init__(self, client_order_id: str, price: Decimal | None, size: Decimal | None) -> None:
        super().__init__()
        self.client_order_id = client_order_id
        self.price = price
        self.size = size


class FlattenRequested(Message):
    """Bring these products' positions to zero with market orders, after a confirmation."""

    def __init__(self, product_ids: tuple[str, ...]) -> None:
        super().__init__()
        self.product_ids = product_ids


class RearmRequested(Message):
    """Lift the halt, after a confirmation."""
