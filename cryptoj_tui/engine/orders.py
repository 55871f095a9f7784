"""Orders: what a trader asks for (OrderRequest) and what became of it (Order).

Sans-I/O. `Order` is an explicit state machine fed by whatever the venue says first, the REST
answer or the `user` channel, and it tolerates both arriving late, twice or out of order:
the venue's cumulative filled size only ever grows, so an update that would shrink it is old
news, and a final state (filled, cancelled, expired, rejected, failed) is never left.
"""

from __future__ import annotations

import enum
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_DOWN, Context, Decimal, InvalidOperation
from typing import Any

from cryptoj_tui.engine.model import check_product_id, clip

ZERO = Decimal(0)


class OrderSide(enum.StrEnum):
    """Buy or sell, spelled as the venue spells it."""

    BUY = "BUY"
    SELL = "SELL"

    @property
    def sign(self) -> int:
        """+1 for a buy (position grows), -1 for a sell."""
        return 1 if self is OrderSide.BUY else -1


class OrderType(enum.StrEnum):
    """The six order types of Coinbase Advanced Trade (PROTOCOL.md)."""

    MARKET = "market"
    """market_market_ioc: take liquidity now, whatever the price."""
    LIMIT = "limit"
    """limit_limit_gtc: rest until filled or cancelled (optionally post-only)."""
    LIMIT_GTD = "limit_gtd"
    """limit_limit_gtd: rest until `end_time`."""
    FOK = "fok"
    """limit_limit_fok: fill completely at once, or not at all."""
    IOC = "ioc"
    """sor_limit_ioc: fill what is possible at once, cancel the rest."""
    STOP_LIMIT = "stop_limit"
    """stop_limit_stop_limit_gtc: a limit order that wakes when the market reaches `stop_price`
    against it (a buy's stop above the market, a sell's below: a stop-loss, a breakout)."""
    TAKE_PROFIT_LIMIT = "take_profit_limit"
    """The other direction: a limit order that wakes when the market reaches `stop_price` in its
    favour (a buy's stop below the market, a sell's above). Coinbase's stop-limit with the
    opposite stop_direction; Binance's TAKE_PROFIT_LIMIT."""
    BRACKET = "bracket"
    """trigger_bracket_gtc: a take-profit at `price` and a stop at `stop_price`, one cancelling
    the other (the venue's own OCO). Placed on its own, or by the venue when an entry carrying
    `take_profit` and `stop_loss` has filled."""


ATTACHABLE = frozenset({OrderType.LIMIT, OrderType.MARKET})
STOPPED_TYPES = frozenset({OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT, OrderType.BRACKET})
"""Orders with a stop price."""
"""Entries a bracket can be attached to (Coinbase's attached_order_configuration)."""


class OrderStatus(enum.StrEnum):
    """Where an order is in its life."""

    PENDING_NEW = "PENDING_NEW"
    """Sent (or about to be), not yet acknowledged."""
    OPEN = "OPEN"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    """A cancel was sent; the venue has not confirmed it."""
    FILLED = "FILLED"
    CANCELLED = "CANCELLED"
    EXPIRED = "EXPIRED"
    REJECTED = "REJECTED"
    """The venue refused it (funds, post-only would cross...)."""
    FAILED = "FAILED"
    """It could not be placed (no venue answer, or the venue failed it)."""

    @property
    def is_final(self) -> bool:
        """True for the states an order never leaves."""
        return self in FINAL_STATUSES

    @property
    def is_working(self) -> bool:
        """True while the order can still trade."""
        return not self.is_final


FINAL_STATUSES = frozenset(
    {OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.EXPIRED, OrderStatus.REJECTED, OrderStatus.FAILED}
)
# A venue's order states in the engine's words (Coinbase's, as it happens): each adapter reads
# its venue's own words into these (adapters/<venue>/parsing.py).
_VENUE_FINAL = {
    "FILLED": OrderStatus.FILLED,
    "CANCELLED": OrderStatus.CANCELLED,
    "EXPIRED": OrderStatus.EXPIRED,
    "FAILED": OrderStatus.FAILED,
}
VENUE_FINAL_STATUSES = frozenset(_VENUE_FINAL)
"""The venue's words for an order that is done (its totals then are its last)."""
_VENUE_WORKING = {"PENDING", "OPEN", "STOP_PENDING", "STOP_TRIGGERED", "CANCEL_QUEUED", "QUEUED"}


def new_client_order_id() -> str:
    """A fresh client order id: a random UUID4, as Coinbase expects."""
    return str(uuid.uuid4())


class OrderError(ValueError):
    """An order request that cannot be sent; the message says which field and why."""


MAX_INTEGER_DIGITS = 15
"""Prices and sizes are under 10^15: beyond any product a venue lists, and within what exact
arithmetic (and every venue's decimal strings) can carry."""
MAX_DECIMAL_PLACES = 18
_WIDE = Context(prec=MAX_INTEGER_DIGITS + MAX_DECIMAL_PLACES + 2)
"""Room for any number under 10^15 with 18 places: the default context's 28 digits are not
(a size of 11 integer digits and 19 places raised InvalidOperation when cut to 18 places)."""


def _decimal(name: str, value: object, *, positive: bool = True) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise OrderError(f"{name} {value!r} is not a number") from None
    if not number.is_finite() or (number <= 0 if positive else number < 0):
        raise OrderError(f"{name} must be a finite number {'above' if positive else 'at least'} 0, got {value}")
    if number.adjusted() >= MAX_INTEGER_DIGITS:
        raise OrderError(f"{name} {number} is too large: a venue takes numbers under 10^{MAX_INTEGER_DIGITS}")
    exponent = number.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and -exponent > MAX_DECIMAL_PLACES
        and number != number.quantize(Decimal(1).scaleb(-MAX_DECIMAL_PLACES), rounding=ROUND_DOWN, context=_WIDE)
    ):
        raise OrderError(f"{name} {number} has more than {MAX_DECIMAL_PLACES} decimal places")
    return number


def _text(value: Decimal) -> str:
    return format(value, "f")


def _optional_text(value: Decimal | None) -> str:
    return "" if value is None else _text(value)


def bracket_problem(
    exit_side: OrderSide, take_profit: Decimal, stop: Decimal, entry: Decimal | None = None
) -> str | None:
    """Why a bracket closing on `exit_side` has its prices the wrong way round, or None. A sell
    bracket closes a long: its stop is below its take-profit, and its entry's price between them."""
    word = "sell" if exit_side is OrderSide.SELL else "buy"
    low, high = (stop, take_profit) if exit_side is OrderSide.SELL else (take_profit, stop)
    if not low < high:
        where = "below" if exit_side is OrderSide.SELL else "above"
        return f"a {word} bracket's stop {_text(stop)} must be {where} its take-profit {_text(take_profit)}"
    if entry is not None and not low < entry < high:
        return f"price {_text(entry)} must lie between the bracket's {_text(low)} and {_text(high)}"
    return None


@dataclass(frozen=True)
class OrderRequest:
    """What to trade. Validated when made, so a bad request never reaches the wire."""

    product_id: str
    side: OrderSide
    type: OrderType
    size: Decimal
    """Base size (BTC in BTC-USD); with `in_quote`, an amount of the quote currency."""
    price: Decimal | None = None
    """Limit price; required for every type but market."""
    stop_price: Decimal | None = None
    end_time: datetime | None = None
    post_only: bool = False
    take_profit: Decimal | None = None
    """An attached bracket's take-profit: once this entry fills, the venue places a bracket
    order on the other side, sized to it (see OrderType.BRACKET)."""
    stop_loss: Decimal | None = None
    """An attached bracket's stop (given with `take_profit`)."""
    in_quote: bool = False
    """`size` is in the quote currency (USD in BTC-USD): a market order that spends (a buy) or
    raises (a sell) that much, whatever base size it takes. Market orders only."""

    def __post_init__(self) -> None:
        try:
            check_product_id(self.product_id)
        except ValueError as exc:
            raise OrderError(str(exc)) from None
        set_ = object.__setattr__
        try:
            set_(self, "side", OrderSide(str(self.side).upper()))
        except ValueError:
            raise OrderError(f"side must be buy or sell, got {self.side!r}") from None
        try:
            set_(self, "type", OrderType(str(self.type).lower()))
        except ValueError:
            raise OrderError(f"order type must be one of {[t.value for t in OrderType]}, got {self.type!r}") from None
        set_(self, "size", _decimal("size", self.size))
        if self.type is OrderType.MARKET:
            if self.price is not None or self.stop_price is not None:
                raise OrderError("a market order takes no price or stop price")
        else:
            if self.price is None:
                raise OrderError(f"a {self.type} order needs a limit price")
            set_(self, "price", _decimal("price", self.price))
        if self.type in STOPPED_TYPES:
            if self.stop_price is None:
                raise OrderError(f"a {self.type} order needs a stop price")
            set_(self, "stop_price", _decimal("stop price", self.stop_price))
        elif self.stop_price is not None:
            raise OrderError(
                f"only stop_limit, take_profit_limit and bracket orders take a stop price, not {self.type}"
            )
        if self.type is OrderType.BRACKET:
            assert self.price is not None and self.stop_price is not None
            problem = bracket_problem(self.side, self.price, self.stop_price)
            if problem:
                raise OrderError(problem)
        self._check_attached()
        if self.type is OrderType.LIMIT_GTD:
            if self.end_time is None or self.end_time.tzinfo is None:
                raise OrderError("a limit_gtd order needs an end time with a time zone")
        elif self.end_time is not None:
            raise OrderError(f"only limit_gtd orders take an end time, not {self.type}")
        if self.post_only and self.type not in (OrderType.LIMIT, OrderType.LIMIT_GTD):
            raise OrderError(f"post-only applies to limit and limit_gtd orders, not {self.type}")
        if not isinstance(self.in_quote, bool):
            raise OrderError(f"in_quote must be true or false, got {self.in_quote!r}")
        if self.in_quote and self.type is not OrderType.MARKET:
            raise OrderError(f"only a market order is sized in the quote currency, not {self.type}")
        if self.in_quote and self.take_profit is not None:
            # The venue sizes the bracket to the entry's base size, which a quote amount leaves open.
            raise OrderError("a bracket attaches to an entry sized in the base currency, not the quote")

    def _check_attached(self) -> None:
        if self.take_profit is None and self.stop_loss is None:
            return
        if self.take_profit is None or self.stop_loss is None:
            raise OrderError("a bracket needs both a take-profit and a stop-loss")
        if self.type not in ATTACHABLE:
            raise OrderError(f"a bracket attaches to a limit or market order, not {self.type}")
        set_ = object.__setattr__
        set_(self, "take_profit", _decimal("take-profit", self.take_profit))
        set_(self, "stop_loss", _decimal("stop-loss", self.stop_loss))
        assert self.take_profit is not None and self.stop_loss is not None
        problem = bracket_problem(self.exit_side, self.take_profit, self.stop_loss, self.price)
        if problem:
            raise OrderError(problem)

    @property
    def exit_side(self) -> OrderSide:
        """The side of the order that closes what this one opens (an attached bracket's)."""
        return OrderSide.SELL if self.side is OrderSide.BUY else OrderSide.BUY

    @classmethod
    def parse(
        cls,
        product_id: str,
        side: object,
        type: object,
        size: object,
        price: object = None,
        stop_price: object = None,
        end_time: datetime | None = None,
        post_only: bool = False,
        take_profit: object = None,
        stop_loss: object = None,
        in_quote: bool = False,
    ) -> OrderRequest:
        """A request from loose values (text, numbers): sides, types and numbers are read and
        checked when it is made; OrderError names the first that cannot be."""
        # The fields' types are what __post_init__ makes of these; they are not yet.
        return cls(
            product_id,
            side,  # type: ignore[arg-type]
            type,  # type: ignore[arg-type]
            size,  # type: ignore[arg-type]
            price,  # type: ignore[arg-type]
            stop_price,  # type: ignore[arg-type]
            end_time,
            post_only,
            take_profit,  # type: ignore[arg-type]
            stop_loss,  # type: ignore[arg-type]
            in_quote,
        )

    @property
    def quote_currency(self) -> str:
        """USD in BTC-USD."""
        return self.product_id.split("-", 1)[1]

    @property
    def notional(self) -> Decimal | None:
        """What the order is worth in the quote currency: size x limit price, the size itself
        when it is in the quote currency; None for a market order sized in base (its price is
        not known in advance)."""
        if self.in_quote:
            return self.size
        return None if self.price is None else self.size * self.price

    def base_size_at(self, price: Decimal) -> Decimal:
        """The base size, at `price` when the order is sized in the quote currency."""
        return self.size / price if self.in_quote else self.size

    def overfilled_by(self, filled_size: Decimal, filled_value: Decimal) -> bool:
        """Whether these totals are more than the order asked for (its base size, or with
        `in_quote` its quote amount)."""
        return filled_value > self.size if self.in_quote else filled_size > self.size

    @property
    def size_text(self) -> str:
        """The size as a person reads it: "0.5", or "100 USD worth" when it is in the quote currency."""
        return f"{self.size:f} {self.quote_currency} worth" if self.in_quote else f"{self.size:f}"


@dataclass(frozen=True)
class Fill:
    """An execution: `size` more of the order traded for `value` (quote currency), costing `fee`.

    Size and value are what the venue reports, exactly; the price is derived from them, so a
    position built from fills never inherits a rounded average.
    """

    client_order_id: str
    product_id: str
    side: OrderSide
    size: Decimal
    value: Decimal
    fee: Decimal

    @property
    def price(self) -> Decimal:
        """The (average) price of this execution."""
        return self.value / self.size


@dataclass(frozen=True)
class VenueFill:
    """One execution as the venue lists it, with whether it made or took liquidity."""

    trade_id: str
    price: Decimal
    size: Decimal
    fee: Decimal
    liquidity: str
    """"MAKER" or "TAKER" ("" where the venue does not say)."""


@dataclass(frozen=True)
class VenueOrderUpdate:
    """What the venue says about an order, from REST or the user channel, in one shape."""

    order_id: str
    client_order_id: str
    status: str
    filled_size: Decimal
    filled_value: Decimal
    total_fees: Decimal
    reject_reason: str = ""


def venue_number(name: str, value: object, *, signed: bool = False, limit: int = MAX_INTEGER_DIGITS) -> Decimal:
    """A number a venue sent ("" and None are 0); ValueError names it if it cannot be one
    (fees may be negative: a maker rebate). Every venue adapter reads its numbers with this."""
    try:
        number = Decimal(str(value or "0"))
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or (number < 0 and not signed) or number.adjusted() >= limit:
        bounds = f"under 10^{limit}" if signed else f"from 0 to under 10^{limit}"
        raise ValueError(f"{name} {clip(repr(value))} is not a finite number {bounds}")
    return number


@dataclass
class Order:
    """One order as the engine knows it. Only the methods below change it."""

    client_order_id: str
    request: OrderRequest
    status: OrderStatus = OrderStatus.PENDING_NEW
    order_id: str = ""
    filled_size: Decimal = ZERO
    filled_value: Decimal = ZERO
    fees: Decimal = ZERO
    reason: str = ""
    """Why it was rejected or failed, in the venue's or our words."""
    created_at: float = field(default_factory=time.time)
    acked_at: float | None = None
    edits: int = 0
    """How many times the venue edited it in place (new price or size, same order)."""
    base_estimate: Decimal | None = None
    """For an order sized in the quote currency: its base size at the price it was checked at,
    what it leaves working until it ends (None: not known, as for one the venue placed)."""

    @property
    def product_id(self) -> str:
        """The product traded."""
        return self.request.product_id

    @property
    def side(self) -> OrderSide:
        """Buy or sell."""
        return self.request.side

    @property
    def leaves(self) -> Decimal:
        """Base size still to trade (0 once final; an estimate for an order sized in quote)."""
        if self.status.is_final:
            return ZERO
        size = self.request.size if not self.request.in_quote else self.base_estimate or ZERO
        return max(size - self.filled_size, ZERO)

    @property
    def average_price(self) -> Decimal | None:
        """Average fill price, or None before the first fill."""
        return self.filled_value / self.filled_size if self.filled_size else None

    def acknowledged(self, order_id: str) -> bool:
        """The venue accepted the order (REST success); False if this changed nothing."""
        if self.order_id and self.order_id != order_id:
            raise OrderError(f"order {self.client_order_id} acknowledged as {order_id}, already {self.order_id}")
        first = not self.order_id
        self.order_id = order_id
        if self.acked_at is None:
            self.acked_at = time.time()
        if self.status is OrderStatus.PENDING_NEW:
            self.status = OrderStatus.OPEN
            return True
        return first

    def refused(self, status: OrderStatus, reason: str) -> bool:
        """The order was rejected or failed before it worked; False if it was already final."""
        if self.status.is_final:
            return False
        self.status, self.reason = status, reason
        return True

    def cancel_requested(self) -> bool:
        """A cancel is on its way; False when there is nothing to cancel."""
        if self.status.is_final or self.status is OrderStatus.PENDING_CANCEL:
            return False
        self.status = OrderStatus.PENDING_CANCEL
        return True

    def edited(self, request: OrderRequest) -> None:
        """The venue took a new price and/or total size for this working order (same order)."""
        if self.status.is_final:
            raise OrderError(f"order {self.client_order_id} is {self.status}: it cannot be edited")
        if (request.product_id, request.side, request.type) != (self.product_id, self.side, self.request.type):
            raise OrderError(f"an edit of {self.client_order_id} changes only its price and size")
        self.request = request
        self.edits += 1

    def cancel_refused(self) -> None:
        """The venue would not cancel (already gone or unknown); the next update says what it is."""
        if self.status is OrderStatus.PENDING_CANCEL:
            self.status = OrderStatus.PARTIALLY_FILLED if self.filled_size else OrderStatus.OPEN

    def apply(self, update: VenueOrderUpdate) -> tuple[bool, Fill | None]:
        """Apply what the venue says. Returns (changed, the new fill if the filled size grew)."""
        if update.order_id and not self.order_id:
            self.order_id = update.order_id
            self.acked_at = self.acked_at or time.time()
        if update.filled_size < self.filled_size:
            return False, None  # older than what we know
        fill = None
        if update.filled_size > self.filled_size:
            size = update.filled_size - self.filled_size
            value = update.filled_value - self.filled_value
            fee = update.total_fees - self.fees
            fill = Fill(self.client_order_id, self.product_id, self.side, size, value, fee)
            self.filled_size, self.filled_value, self.fees = update.filled_size, update.filled_value, update.total_fees
        before = self.status
        if not self.status.is_final:
            final = _VENUE_FINAL.get(update.status)
            if final is not None:
                self.status = final
                if final is OrderStatus.FAILED:
                    self.reason = update.reject_reason or "failed at the venue"
            elif update.status in _VENUE_WORKING and self.status is not OrderStatus.PENDING_CANCEL:
                self.status = OrderStatus.PARTIALLY_FILLED if self.filled_size else OrderStatus.OPEN
        return (fill is not None or self.status is not before), fill

    def snapshot(self) -> dict[str, Any]:
        """A plain description for events, the journal and the UI."""
        return {
            "client_order_id": self.client_order_id,
            "order_id": self.order_id,
            "product_id": self.product_id,
            "side": str(self.side),
            "type": str(self.request.type),
            "size": _text(self.request.size),
            "in_quote": self.request.in_quote,
            "price": _text(self.request.price) if self.request.price is not None else "",
            "stop_price": _optional_text(self.request.stop_price),
            "take_profit": _optional_text(self.request.take_profit),
            "stop_loss": _optional_text(self.request.stop_loss),
            "status": str(self.status),
            "filled_size": _text(self.filled_size),
            "average_price": _text(self.average_price) if self.average_price is not None else "",
            "fees": _text(self.fees),
            "reason": self.reason,
            "edits": self.edits,
        }
