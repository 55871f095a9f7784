"""What the console shows, as immutable view models: copies made from the engine's state, safe to
hand from the engine thread to the UI thread, and the only shapes screens and widgets read.

The bridge makes the book, portfolio and risk views on the engine loop; the app makes order rows
from the engine's order events and the console status from everything it hears.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from cryptoj_tui.engine.events import FeedMetrics, Heartbeat, TickerUpdated
from cryptoj_tui.engine.model import ConnectionState, Level
from cryptoj_tui.engine.trading import LimitUsage
from cryptoj_tui.formats import DEFAULT_FORMAT, ProductFormat, quote

UNSHOWN_EVENTS = (Heartbeat, TickerUpdated)
"""Events the console never shows: the bridge drops them before they reach the UI thread."""
STATUS_ONLY_EVENTS = (FeedMetrics,)
"""Events shown in the status line only (once a second), never as journal entries."""

WORKING_STATUSES = frozenset({"PENDING_NEW", "OPEN", "PARTIALLY_FILLED", "PENDING_CANCEL"})


@dataclass(frozen=True, slots=True)
class BookView:
    """An immutable copy of the top of one book."""

    product_id: str
    bids: tuple[Level, ...]
    asks: tuple[Level, ...]
    sequence_num: int
    live: bool
    own_bids: tuple[Level, ...] = ()
    """(price, leaves) of our working buy orders, summed per price."""
    own_asks: tuple[Level, ...] = ()
    brackets: tuple[tuple[Decimal, str], ...] = ()
    """(price, "TP" or "SL") of our brackets' levels: working brackets', and those our working
    entries carry (placed when they fill)."""


@dataclass(frozen=True, slots=True)
class PositionRow:
    """One product's position as the UI shows it (exact Decimals, computed on the engine loop)."""

    product_id: str
    quantity: Decimal
    average_price: Decimal
    mark: Decimal | None
    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    inventory: Decimal = Decimal(0)
    """Held of the base currency beyond this position (the starting inventory): cost unknown,
    in no PnL, and no flatten sells it."""


@dataclass(frozen=True, slots=True)
class PortfolioView:
    """Positions, PnL and order round-trip time."""

    positions: tuple[PositionRow, ...]
    pnl: Decimal
    realised: Decimal
    unrealised: Decimal
    fees: Decimal
    round_trip_ms: float | None
    formats: dict[str, ProductFormat] = field(default_factory=dict)
    """Each position's product increments (what its numbers are written to)."""

    def format(self, product_id: str) -> ProductFormat:
        """The increments of `product_id` (the default where the venue did not say)."""
        return self.formats.get(product_id, DEFAULT_FORMAT)


@dataclass(frozen=True, slots=True)
class WatchRow:
    """One watched product: its inside market, last trade, day's change, your stake, recent closes."""

    product_id: str
    bid: Decimal | None
    ask: Decimal | None
    last: Decimal | None
    change_24h_percent: Decimal | None
    position: Decimal
    working: int
    """Your working orders on it."""
    closes: tuple[Decimal, ...]
    """One-minute closes, oldest first (the sparkline)."""
    live: bool

    @property
    def spread(self) -> Decimal | None:
        """Ask minus bid, where both are known."""
        return None if self.bid is None or self.ask is None else self.ask - self.bid


@dataclass(frozen=True, slots=True)
class WatchlistView:
    """Every subscribed product's row, and each one's increments."""

    rows: tuple[WatchRow, ...]
    formats: dict[str, ProductFormat] = field(default_factory=dict)

    def format(self, product_id: str) -> ProductFormat:
        """The increments of `product_id` (the default where the venue did not say)."""
        return self.formats.get(product_id, DEFAULT_FORMAT)


@dataclass(frozen=True, slots=True)
class RiskView:
    """The trading state and every limit's use."""

    state: str
    reason: str
    usage: tuple[LimitUsage, ...]


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


@dataclass(frozen=True, slots=True)
class OrderRow:
    """One order as the blotter, the ladder's keys and the journal show it."""

    client_order_id: str
    order_id: str
    product_id: str
    side: str
    type: str
    size: Decimal
    price: Decimal | None
    status: str
    filled_size: Decimal
    average_price: Decimal | None
    fees: Decimal
    reason: str
    time: str
    """When the console first saw it (HH:MM:SS)."""
    edits: int = 0
    """How many times the venue edited it in place (new price or size)."""
    stop_price: Decimal | None = None
    take_profit: Decimal | None = None
    """An entry's attached bracket (with `stop_loss`): placed by the venue once it fills."""
    stop_loss: Decimal | None = None
    in_quote: bool = False
    """`size` is in the quote currency (a market order that spends or raises that much)."""

    @classmethod
    def from_snapshot(cls, order: dict[str, Any], time: str) -> OrderRow:
        """From `Order.snapshot()` as an OrderUpdated event carries it."""
        return cls(
            client_order_id=str(order["client_order_id"]),
            order_id=str(order.get("order_id", "")),
            product_id=str(order["product_id"]),
            side=str(order["side"]),
            type=str(order["type"]),
            size=_decimal(str(order["size"])) or Decimal(0),
            price=_decimal(str(order.get("price", ""))),
            status=str(order["status"]),
            filled_size=_decimal(str(order.get("filled_size", ""))) or Decimal(0),
            average_price=_decimal(str(order.get("average_price", ""))),
            fees=_decimal(str(order.get("fees", ""))) or Decimal(0),
            reason=str(order.get("reason", "")),
            time=time,
            edits=int(order.get("edits", 0) or 0),
            stop_price=_decimal(str(order.get("stop_price", ""))),
            take_profit=_decimal(str(order.get("take_profit", ""))),
            stop_loss=_decimal(str(order.get("stop_loss", ""))),
            in_quote=order.get("in_quote") is True,
        )

    def size_words(self, fmt: ProductFormat) -> str:
        """The size as it was asked: "0.01000000" of the base, or "250.00 USD" of the quote."""
        return f"{quote(self.size)} {self.product_id.split('-', 1)[1]}" if self.in_quote else fmt.size(self.size)

    @property
    def note(self) -> str:
        """Why it failed, or that it was edited ("edited", "edited x2"), for the reason column."""
        if self.reason or not self.edits:
            return self.reason
        return "edited" if self.edits == 1 else f"edited x{self.edits}"

    @property
    def working(self) -> bool:
        """True while the order can still trade (and be cancelled)."""
        return self.status in WORKING_STATUSES

    @property
    def leaves(self) -> Decimal:
        """Size still to trade (0 once it is done)."""
        return max(self.size - self.filled_size, Decimal(0)) if self.working else Decimal(0)


@dataclass(frozen=True, slots=True)
class ConsoleStatus:
    """The facts every screen's status line shows: trading state, connection, feed health, PnL."""

    venue: str = ""
    trading_state: str = ""
    """ACTIVE, REDUCING or HALTED ("" before the engine says, or without an API key)."""
    halt_reason: str = ""
    connection: ConnectionState = ConnectionState.CONNECTING
    gaps: int = 0
    bad_frames: int = 0
    frame_age: float | None = None
    """Seconds since the last market data frame."""
    feed_latency_ms: float | None = None
    """The venue's stamp on the last frame to its arrival here (clock skew included)."""
    round_trip_ms: float | None = None
    """The last order's send -> ack time."""
    pnl: Decimal | None = None
    """The account's PnL (None without trading)."""
    problem: str = ""
    """What is wrong with the products asked for (the venue refused one), if anything."""
    replay: str = ""
    """Where a replay is (time, position, speed, paused), when the console plays a recording."""
    rearm_key: str = "ctrl+r"
    """The key that re-arms (the keymap may move it): what the HALTED banner tells the trader."""
