"""An exact L2 order book: prices as integer ticks, Decimal sizes, O(log n) updates.

Sans-I/O: the book knows nothing of frames or sockets. Prices are kept as integers in units of
10**-places (a Decimal key costs a slow hash and slow comparisons on every update); `places`
grows by itself the first time a finer price arrives, so no price is ever rounded. Every change
is validated before any is applied, so a bad level leaves the book exactly as it was.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Context, Decimal, Inexact, InvalidOperation
from itertools import islice
from typing import NamedTuple, Protocol

from sortedcontainers import SortedDict

from cryptoj_tui.engine.model import Level, Side


class LevelChangeLike(Protocol):
    """Anything with a side ("bid" for bids, anything else for asks), a price and a new size."""

    @property
    def side(self) -> str: ...
    @property
    def price(self) -> Decimal: ...
    @property
    def size(self) -> Decimal: ...


class LevelChange(NamedTuple):
    """The new total size at one price; size 0 removes the level."""

    side: Side
    price: Decimal
    size: Decimal


class BookError(ValueError):
    """A level that cannot be in a book (non-finite, non-positive or absurd price or size)."""


ZERO = Decimal(0)
MAX_PRICE = Decimal(10) ** 15
MAX_SIZE = Decimal(10) ** 15
MAX_PLACES = 12
"""No venue quotes finer than this; a finer price is refused rather than kept."""
TICK_CACHE_SIZE = 65_536
"""Prices whose ticks a book remembers (about 8 MB at most): more than the levels a deep book
(20-30 thousand a side on Coinbase BTC-USD) changes in a session; past it the memory starts again."""
_EXACT = Context(prec=40, traps=[Inexact, InvalidOperation])
"""Prices are scaled to ticks in this context: a price too long to scale exactly raises."""
_scale_exactly = _EXACT.multiply
_integral_exactly = _EXACT.to_integral_exact


def _minimal(value: Decimal) -> str:
    """ "65160", "1919.5", "0.0012": no exponent, no trailing zeros (the venues' wire form)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("0", "-0") else text


class _FinerPrice(Exception):
    def __init__(self, price: Decimal) -> None:
        self.price = price


class OrderBook:
    """The aggregated depth of one product: price -> total size, per side."""

    __slots__ = (
        "_asks",
        "_bids",
        "_max_tick",
        "_places",
        "_scale",
        "_ticks",
        "_unit",
        "product_id",
        "sequence_num",
        "updates_applied",
    )

    def __init__(self, product_id: str, places: int = 2) -> None:
        self.product_id = product_id
        # Both sides ascending by tick: the best bid is the last bid key, the best ask the first.
        self._bids: SortedDict = SortedDict()
        self._asks: SortedDict = SortedDict()
        self.sequence_num = -1
        self.updates_applied = 0
        """Level changes applied since creation (snapshots not counted): the feed's update rate."""
        self._set_places(places)

    def _set_places(self, places: int) -> None:
        self._places = places
        self._scale = Decimal(10) ** places
        self._unit = Decimal(1).scaleb(-places)
        self._max_tick = int(MAX_PRICE * self._scale)
        self._ticks: dict[str, int] = {}
        """Tick by price text on this grid (see _checked)."""

    @property
    def places(self) -> int:
        """Decimal places of the price grid the book keeps (grows with the finest price seen)."""
        return self._places

    def _price(self, tick: int) -> Decimal:
        return tick * self._unit

    def _checked(self, changes: Sequence[LevelChangeLike]) -> list[tuple[SortedDict, int, Decimal]]:
        """Every change as (its side's levels, tick, size), once all of them passed the checks.

        BookError names the first bad level; _FinerPrice asks for a finer grid first. This is
        the hot path of market data, written for speed: one pass, locals, few calls. A price's
        tick is worked out exactly once and then looked up by the price's text (`str` of a
        Decimal names its value exactly): scaling a Decimal to an int took most of this pass,
        and the same prices near the inside change again and again.
        """
        bids, asks, ticks = self._bids, self._asks, self._ticks
        staged = []
        for change in changes:
            size = change.size
            text = str(change.price)
            tick = ticks.get(text)
            if tick is None:
                tick = self._tick(change)
                if len(ticks) >= TICK_CACHE_SIZE:
                    ticks.clear()
                ticks[text] = tick
            try:
                good = ZERO <= size < MAX_SIZE  # a NaN size raises here; an infinite one fails the bound
            except ArithmeticError:
                good = False
            if not good:
                raise self._bad(change)
            staged.append((bids if change.side == "bid" else asks, tick, size))
        return staged

    def _tick(self, change: LevelChangeLike) -> int:
        """The tick of a change's price on this grid (BookError if it cannot be in a book)."""
        try:
            tick = int(_integral_exactly(_scale_exactly(change.price, self._scale)))
        except Inexact:  # off this grid (or absurdly long, which _refine refuses)
            raise _FinerPrice(change.price) from None
        except (ArithmeticError, ValueError):  # NaN or infinite
            raise self._bad(change) from None
        if not 0 < tick <= self._max_tick:
            raise self._bad(change)
        return tick

    def _bad(self, change: LevelChangeLike) -> BookError:
        price, size = change.price, change.size
        side = "bid" if change.side == "bid" else "ask"
        try:
            price_ok = ZERO < price <= MAX_PRICE and bool(_scale_exactly(price, self._scale))
        except ArithmeticError:
            price_ok = False
        if not price_ok:
            return BookError(f"{self.product_id} {side} level has invalid price {price}")
        return BookError(f"{self.product_id} {side} level at {price} has invalid size {size}")

    def _checked_on_fine_grid(self, changes: Sequence[LevelChangeLike]) -> list[tuple[SortedDict, int, Decimal]]:
        while True:  # rare: each round moves to the grid of the finest price seen so far
            try:
                return self._checked(changes)
            except _FinerPrice as finer:
                self._refine(finer.price)

    def _refine(self, price: Decimal) -> None:
        """Move the book to a finer price grid that holds `price` exactly."""
        try:
            places = -price.normalize(_EXACT).as_tuple().exponent  # type: ignore[operator]
            valid = ZERO < price <= MAX_PRICE and places > self._places
        except ArithmeticError:  # more digits than any price has
            valid = False
        if not valid:
            raise BookError(f"{self.product_id} level has invalid price {price}")
        if places > MAX_PLACES:
            raise BookError(f"{self.product_id} price {price} has more than {MAX_PLACES} decimal places")
        factor = 10 ** (places - self._places)
        self._bids = SortedDict({tick * factor: size for tick, size in self._bids.items()})
        self._asks = SortedDict({tick * factor: size for tick, size in self._asks.items()})
        self._set_places(places)

    def replace(self, changes: Sequence[LevelChangeLike]) -> None:
        """Replace the whole book with a snapshot's levels, read in order (a zero size removes)."""
        staged = self._checked_on_fine_grid(changes)
        # Plain dicts first: one sort at the end is much cheaper than inserting level by level.
        bids: dict[int, Decimal] = {}
        asks: dict[int, Decimal] = {}
        for side, tick, size in staged:
            levels = bids if side is self._bids else asks
            if size:
                levels[tick] = size
            else:
                levels.pop(tick, None)
        self._bids = SortedDict(bids)
        self._asks = SortedDict(asks)

    def apply(self, changes: Sequence[LevelChangeLike]) -> None:
        """Apply incremental level changes, all or nothing.

        Removing a level that is not in the book is a no-op: real venues send such deletes.
        """
        try:
            staged = self._checked(changes)
        except _FinerPrice:
            staged = self._checked_on_fine_grid(changes)
        for levels, tick, size in staged:
            if size:
                levels[tick] = size
            else:
                levels.pop(tick, None)
        self.updates_applied += len(staged)

    def clear(self) -> None:
        """Forget every level (the book is no longer trustworthy)."""
        self._bids.clear()
        self._asks.clear()
        self.sequence_num = -1

    def best_bid(self) -> Level | None:
        """(price, size) of the highest bid, or None on an empty side."""
        if not self._bids:
            return None
        tick, size = self._bids.peekitem(-1)
        return self._price(tick), size

    def best_ask(self) -> Level | None:
        """(price, size) of the lowest ask, or None on an empty side."""
        if not self._asks:
            return None
        tick, size = self._asks.peekitem(0)
        return self._price(tick), size

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """The best `n` bids and asks, each best first."""
        bids, asks, unit = self._bids, self._asks, self._unit
        return (
            [(t * unit, bids[t]) for t in islice(reversed(bids), n)],
            [(t * unit, asks[t]) for t in islice(asks, n)],
        )

    def levels(self, side: Side) -> list[Level]:
        """Every level of one side, best first."""
        levels, unit = (self._bids if side is Side.BID else self._asks), self._unit
        ticks = reversed(levels) if side is Side.BID else iter(levels)
        return [(t * unit, levels[t]) for t in ticks]

    def depth(self) -> tuple[int, int]:
        """How many bid and ask levels the book holds."""
        return len(self._bids), len(self._asks)

    def spread(self) -> Decimal | None:
        """Best ask minus best bid, or None when a side is empty."""
        if not self._bids or not self._asks:
            return None
        return self._price(self._asks.peekitem(0)[0] - self._bids.peekitem(-1)[0])

    def mid(self) -> Decimal | None:
        """The midpoint of the inside market, or None when a side is empty."""
        if not self._bids or not self._asks:
            return None
        return self._price(self._asks.peekitem(0)[0] + self._bids.peekitem(-1)[0]) / 2

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask: the book cannot be right."""
        return bool(self._bids) and bool(self._asks) and self._bids.peekitem(-1)[0] >= self._asks.peekitem(0)[0]

    def checksum(self, depth: int = 25) -> int:
        """CRC32 of the top `depth` levels per side, as docs/paper-venue.md specifies.

        Sides interleave best first (bid 1, ask 1, bid 2, ...), each level `price:size` in
        minimal decimal form, all joined by ':'.
        """
        bids, asks = self.top(depth)
        parts: list[str] = []
        for n in range(depth):
            for levels in (bids, asks):
                if n < len(levels):
                    price, size = levels[n]
                    parts.append(f"{_minimal(price)}:{_minimal(size)}")
        return zlib.crc32(":".join(parts).encode())

    def __repr__(self) -> str:
        return f"OrderBook({self.product_id!r}, bid={self.best_bid()}, ask={self.best_ask()}, depth={self.depth()})"
