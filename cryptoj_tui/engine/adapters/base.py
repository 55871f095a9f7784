"""What the engine needs from a venue adapter: a market data feed, and an execution client.

Everything on the engine's side of these protocols is in domain types (orders.py, risk.py,
portfolio.py). A venue's wire format (its JSON, its order configurations, its status words, its
errors) is read and written inside `adapters/<venue>/` alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from cryptoj_tui.engine.adapters.connection import ConnectionMetrics, WebSocketConnection
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import ConnectionStatus
from cryptoj_tui.engine.market_data import MarketData
from cryptoj_tui.engine.model import ConnectionState
from cryptoj_tui.engine.orders import OrderRequest, VenueFill, VenueOrderUpdate
from cryptoj_tui.engine.portfolio import Balance
from cryptoj_tui.engine.risk import ProductRules


class MarketDataFeed(Protocol):
    """A venue's market data stream feeding the engine's `MarketData` service."""

    url: str

    @property
    def state(self) -> ConnectionState:
        """Where the underlying connection is."""
        ...

    @property
    def metrics(self) -> ConnectionMetrics:
        """Frames, bytes, reconnects, gaps, decode errors, last frame time."""
        ...

    def start(self) -> None:
        """Connect in the background."""
        ...

    async def subscribe(self, product_ids: list[str]) -> None:
        """Ask for books of these products (kept across reconnects)."""
        ...

    async def unsubscribe(self, product_ids: list[str]) -> None:
        """Stop asking for these products (now and after reconnects)."""
        ...

    async def close(self) -> None:
        """Disconnect for good."""
        ...


class ConnectionOwner:
    """Something that keeps one venue WebSocket: its state and counters, read-only."""

    _connection: WebSocketConnection

    @property
    def state(self) -> ConnectionState:
        """Where the underlying connection is."""
        return self._connection.state

    @property
    def metrics(self) -> ConnectionMetrics:
        """The connection's counters."""
        return self._connection.metrics


class ConnectedFeed(ConnectionOwner):
    """What every WebSocket market data feed shares: its connection's state and counters, and
    the rule that books die with the connection they came from."""

    url: str
    _market_data: MarketData
    _bus: EventBus

    def _on_state(self, state: ConnectionState, attempt: int, reason: str) -> None:
        if state is not ConnectionState.CONNECTED:
            # Whatever arrives after a reconnect starts from a fresh snapshot.
            self._market_data.reset_all(f"connection {state}: {reason}")
        self._bus.publish(ConnectionStatus(url=self.url, state=state, attempt=attempt, reason=reason))


# -- execution ---------------------------------------------------------------------------


class VenueError(Exception):
    """A venue call that failed for good: one line naming the call, the status and the venue's words.

    `status` is the HTTP status, 0 when no answer came (the call may or may not have acted).
    """

    def __init__(self, message: str, *, call: str = "", status: int = 0, code: str = "") -> None:
        super().__init__(message)
        self.call = call
        self.status = status
        self.code = code


@dataclass(frozen=True)
class Placement:
    """The venue's answer to a new order: acknowledged (`order_id`), refused (`refusal`), or an
    answer that cannot be read (`unreadable`: the venue may have the order; ask it)."""

    order_id: str = ""
    refusal: str = ""
    unreadable: str = ""


@dataclass(frozen=True)
class CancelOutcome:
    """The venue's answer for one order of a cancel call."""

    order_id: str
    cancelled: bool
    reason: str = ""
    """Why not, in the venue's words (when not cancelled)."""


@dataclass(frozen=True)
class EditOutcome:
    """The venue's answer to an edit in place: done (or already as asked), or refused, and
    whether the refusal means this order cannot be edited at all (cancel and replace it)."""

    done: bool
    reason: str = ""
    unsupported: bool = False


@dataclass(frozen=True)
class VenueOrder:
    """One order as the venue reads it back. Its state and its request are read apart: a state
    that cannot be read (`update` None) or a request this engine does not trade (`request`
    None) each say why in a line, and the rest is still of use."""

    order_id: str
    client_order_id: str
    product_id: str
    status: str
    """The venue's state in the engine's words (orders.py: OPEN, PENDING, FILLED, CANCELLED...)."""
    update: VenueOrderUpdate | None
    update_problem: str = ""
    request: OrderRequest | None = None
    request_problem: str = ""
    originating_order_id: str = ""
    """The entry whose fill placed this order (a bracket's exit), if any."""

    @property
    def is_open(self) -> bool:
        """Working at the venue (accepted, resting or waiting for its trigger)."""
        return self.status in ("OPEN", "PENDING")


class ExecutionClient(Protocol):
    """A venue's trading calls, in domain types. Every call raises VenueError when the venue
    cannot be reached or refuses the call itself; what the venue says about an order (refused,
    not cancelled, unreadable) is an answer, not an exception."""

    max_cancel_batch: int
    """The most orders one `cancel` call takes (callers send several calls at once for more)."""
    cancels_by_product: bool
    """Whether the venue cancels every open order of a product in one call (`cancel_product`):
    the kill switch then sends a call per product rather than one per order."""

    async def start(self) -> None:
        """Open connections (and sign what can be signed ahead)."""
        ...

    async def close(self) -> None:
        """Close connections."""
        ...

    async def place(self, client_order_id: str, request: OrderRequest) -> Placement:
        """Send a new order under `client_order_id` (the venue's idempotency key)."""
        ...

    async def cancel(self, order_ids: Sequence[str]) -> list[CancelOutcome]:
        """Cancel up to `max_cancel_batch` orders in one call."""
        ...

    async def cancel_product(self, product_id: str) -> list[CancelOutcome]:
        """Cancel every open order of the key on one product (only where `cancels_by_product`);
        an outcome for each order cancelled."""
        ...

    async def edit(self, order_id: str, request: OrderRequest) -> EditOutcome:
        """Edit a resting order in place to `request`'s price and total size (VenueError with
        status 404 where the venue has no edit call)."""
        ...

    async def order(self, order_id: str) -> VenueOrder:
        """Read one order."""
        ...

    async def orders(self, product_ids: Sequence[str] = ()) -> list[VenueOrder]:
        """Every order the venue lists for this key: open ones, and recent ended ones (a venue
        that lists ended orders per product only lists those of `product_ids`)."""
        ...

    async def fills(self, order_id: str) -> tuple[list[VenueFill], list[str]]:
        """One order's fills, newest first, and a line for each entry that cannot be read."""
        ...

    async def balances(self) -> tuple[list[Balance], list[str]]:
        """Every currency's balance, and a line for each account that cannot be read."""
        ...

    async def products(self) -> tuple[dict[str, ProductRules], list[str]]:
        """What the venue accepts per product, and a line for each product that cannot be read."""
        ...


class UserStream(Protocol):
    """A venue's stream of the key's own order updates, read into VenueOrderUpdates."""

    ready: asyncio.Event
    """Set while updates flow (cleared when the connection drops)."""

    @property
    def state(self) -> ConnectionState:
        """Where the underlying connection is."""
        ...

    @property
    def metrics(self) -> ConnectionMetrics:
        """The connection's counters."""
        ...

    def start(self) -> None:
        """Connect in the background."""
        ...

    def reconnect(self, reason: str) -> None:
        """Drop the connection (it comes back, and the owner is asked to reconcile)."""
        ...

    async def close(self) -> None:
        """Disconnect for good."""
        ...


class TradingVenue(Protocol):
    """One venue account the engine trades on: its execution client, and its user stream."""

    client: ExecutionClient

    def user_stream(
        self,
        bus: EventBus,
        on_update: Callable[[VenueOrderUpdate], None],
        on_resync: Callable[[str], None],
        on_balances: Callable[[list[Balance]], None],
    ) -> UserStream:
        """The account's order updates, to `on_update`; `on_resync(reason)` when some may be lost;
        `on_balances(changed)` where the stream tells balances as they change (Binance's does)."""
        ...
