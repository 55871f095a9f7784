"""Value types shared by every engine layer.

Money is exact: prices and sizes are `Decimal`, never float.
"""

from __future__ import annotations

import enum
import re
from decimal import Decimal

import msgspec

PRODUCT_ID_PATTERN = re.compile(r"^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$")


class Side(enum.StrEnum):
    """Which side of the book a level or an order is on."""

    BID = "bid"
    ASK = "ask"


class ConnectionState(enum.StrEnum):
    """Where a venue connection is in its life."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


def check_product_id(product_id: str) -> str:
    """Return `product_id` if it has the BASE-QUOTE form (e.g. BTC-USD), else raise ValueError."""
    if not isinstance(product_id, str) or not PRODUCT_ID_PATTERN.match(product_id):
        raise ValueError(f"product id {product_id!r} is not of the form BASE-QUOTE, e.g. BTC-USD")
    return product_id


MAX_VENUE_WORDS = 300
"""Characters of a venue's message (an error, a reject reason) the engine passes on."""


def clip(text: str, limit: int = MAX_VENUE_WORDS) -> str:
    """A venue's words on one line, at most `limit` characters of them (a venue can say 100 KB)."""
    line = " ".join(text.split("\n")) if "\n" in text else text
    return line if len(line) <= limit else f"{line[:limit]}… ({len(line) - limit:,} more characters)"


EXCERPT_CHARS = 80
"""Characters of a frame quoted in an error about it."""


def excerpt(raw: bytes | str) -> str:
    """A short printable prefix of a frame (any venue's) for error messages."""
    text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
    text = text.replace("\n", " ")
    return text if len(text) <= EXCERPT_CHARS else text[:EXCERPT_CHARS] + "..."


MAX_AMOUNT = Decimal(10) ** 15
"""Prices and sizes from a venue are under this (as the book's levels are)."""


def amount_problem(name: str, value: Decimal, what: str = "price") -> str | None:
    """Why `value` cannot be a venue's price or size (not finite, not above 0, absurd), or None.
    `what` names the kind in the message: "price 'NaN' is not a price"."""
    try:
        sane = value.is_finite() and Decimal(0) < value < MAX_AMOUNT
    except (ArithmeticError, AttributeError):
        sane = False
    return None if sane else f"{name} {value} is not a {what}"


Level = tuple[Decimal, Decimal]
"""One price level: (price, size)."""


class PublicTrade(msgspec.Struct, frozen=True, kw_only=True):
    """A trade on the venue's public tape; `side` is the maker's side, `time` epoch seconds."""

    trade_id: str
    price: Decimal
    size: Decimal
    side: str
    time: float


class Candle(msgspec.Struct, kw_only=True):
    """An OHLCV bar built from trades; `start` in epoch seconds."""

    start: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


class TickerSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """The venue's latest ticker for a product (None where the venue left a field out)."""

    product_id: str
    price: Decimal
    volume_24h: Decimal | None = None
    best_bid: Decimal | None = None
    best_ask: Decimal | None = None
    change_24h_percent: Decimal | None = None
    """The price's change over 24 hours, in percent (Coinbase's price_percent_chg_24_h)."""
