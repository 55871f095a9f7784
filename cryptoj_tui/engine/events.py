"""The engine's event vocabulary: what subscribers (the UI, scripts, tests) can hear.

Events are frozen msgspec Structs. An event whose class sets `coalesce` to a key name is a
*state* event: a slow subscriber only ever sees the latest one per key. Every other event is a
*record* that is delivered in order.
"""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar

import msgspec

from cryptoj_tui.engine.model import ConnectionState, PublicTrade


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every engine event."""

    coalesce: ClassVar[str | None] = None

    def coalesce_key(self) -> tuple[str, object] | None:
        """The key under which a newer event of this kind replaces an older undelivered one."""
        if self.coalesce is None:
            return None
        return (type(self).__name__, getattr(self, self.coalesce))


class ConnectionStatus(Event, frozen=True, kw_only=True):
    """A venue connection changed state."""

    url: str
    state: ConnectionState
    attempt: int = 0
    reason: str = ""
    role: str = "market"
    """"market" (books, trades) or "user" (the authenticated order updates)."""


class BookUpdated(Event, frozen=True, kw_only=True):
    """A product's book changed (coalesced per product)."""

    coalesce: ClassVar[str | None] = "product_id"
    product_id: str
    sequence_num: int


class BookReset(Event, frozen=True, kw_only=True):
    """A product's book was discarded and will be rebuilt from a fresh snapshot."""

    product_id: str
    reason: str


class ProductRefused(Event, frozen=True, kw_only=True):
    """The venue will not serve a product asked for (it does not list it): its book never comes."""

    product_id: str
    reason: str


class SequenceGap(Event, frozen=True, kw_only=True):
    """Frames were lost on a connection: `expected` was due, `received` came."""

    url: str
    expected: int
    received: int


class FeedError(Event, frozen=True, kw_only=True):
    """Bad input from the venue: what was wrong and where; the engine kept running."""

    where: str
    message: str


class Heartbeat(Event, frozen=True, kw_only=True):
    """The venue's heartbeat counter advanced (coalesced per connection)."""

    coalesce: ClassVar[str | None] = "url"
    url: str
    counter: int


class TradesPrinted(Event, frozen=True, kw_only=True):
    """New public trades of a product (each trade id once, even across reconnects)."""

    product_id: str
    trades: tuple[PublicTrade, ...]


class TickerUpdated(Event, frozen=True, kw_only=True):
    """A product's ticker changed (coalesced per product)."""

    coalesce: ClassVar[str | None] = "product_id"
    product_id: str


class MarketStale(Event, frozen=True, kw_only=True):
    """A product's book went quiet for `age` seconds (stale), or came back (not stale)."""

    product_id: str
    stale: bool
    age: float


class FeedMetrics(Event, frozen=True, kw_only=True):
    """A connection's counters, published about once a second (coalesced per connection)."""

    coalesce: ClassVar[str | None] = "url"
    url: str
    state: ConnectionState
    frames: int
    bytes: int
    connects: int
    reconnects: int
    gaps: int
    decode_errors: int
    book_resyncs: int = 0
    last_frame_age: float | None
    feed_latency: float | None = None
    """Seconds from the venue's stamp on the last frame to its arrival (clock skew included)."""


class OrderUpdated(Event, frozen=True, kw_only=True):
    """An order changed state or filled more; `order` is Order.snapshot() (a record, never dropped)."""

    client_order_id: str
    status: str
    order: dict[str, str]


class OrderFilled(Event, frozen=True, kw_only=True):
    """An order traded `size` more at `price`; `fee` in the quote currency."""

    client_order_id: str
    product_id: str
    side: str
    size: Decimal
    price: Decimal
    fee: Decimal


class OrderRefused(Event, frozen=True, kw_only=True):
    """A request the engine did not send, and why (risk, trading state, bad input)."""

    product_id: str
    reason: str


class TradingStateChanged(Event, frozen=True, kw_only=True):
    """ACTIVE, REDUCING or HALTED, with who or what changed it and why."""

    state: str
    previous: str
    reason: str


class Alert(Event, frozen=True, kw_only=True):
    """Something a trader must see: severity "info", "warning", "breach" or "halt"."""

    severity: str
    message: str


class RiskLimitChanged(Event, frozen=True, kw_only=True):
    """A risk limit was changed at run time (the audit trail of limits)."""

    limit: str
    old: str
    new: str
    reason: str


class Reconciled(Event, frozen=True, kw_only=True):
    """One difference between what the engine knew and what the venue says, and what was done."""

    kind: str
    """"unknown_open_order", "missed_fill", "order_gone", "status_changed"."""
    client_order_id: str
    order_id: str
    detail: str
