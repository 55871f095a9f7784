"""An exact L2 order book: prices as integer ticks, Decimal sizes, O(1) updates (O(log n) for a new price).

Sans-I/O: the book knows nothing of frames or sockets. Prices are kept as integers in units of
10**-places (a Decimal key costs a slow hash and slow comparisons on every update); `places`
grows by itself the first time a finer price arrives, so no price is ever rounded. Every change
is validated before any is applied, so a bad level leaves the book exactly as it was.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from decimal import Context, Decimal, Inexact, InvalidOperation
from heapq import heapify, heappop, heappush
from typing import NamedTuple, Protocol

from cryptoj_tui.engine.model import Level, Side


class LevelChangeLike(Protocol):
    """Anything with a side ("bid" for bids, anything else for asks), a price and a new size,
    each a Decimal or the venue's decimal text (read here: a feed need not make Decimals of
    prices the book looks up by their text anyway)."""

    @property
    def side(self) -> str: ...
    @property
    def price(self) -> Decimal | str: ...
    @property
    def size(self) -> Decimal | str: ...


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


class _Side:
    """One side of a book: tick -> size in a dict, and a heap of the ticks (negated for bids, so
    the best is always at the top) cleaned lazily.

    A level change is a dict write and, for a new price, a push onto the heap: the C heap beats
    a sorted container's insert and remove, which cost a microsecond each in pure Python and
    were most of an update's apply. A removed price stays in the heap until it reaches the top
    (or the heap, more than twice the live levels, is rebuilt); the best n are read by walking
    the heap from its root, O(n log n) however deep the book.
    """

    __slots__ = ("_heap", "_sign", "levels")

    def __init__(self, sign: int, levels: dict[int, Decimal] | None = None) -> None:
        self._sign = sign
        """-1 for bids (the highest tick is the best), +1 for asks."""
        self.levels: dict[int, Decimal] = levels if levels is not None else {}
        self._heap = [sign * tick for tick in self.levels]
        heapify(self._heap)

    def _rebuild(self) -> None:
        sign = self._sign
        self._heap = [sign * tick for tick in self.levels]
        heapify(self._heap)

    def best(self) -> int | None:
        """The best tick, or None when the side is empty."""
        heap, levels, sign = self._heap, self.levels, self._sign
        while heap:
            tick = sign * heap[0]
            if tick in levels:
                return tick
            heappop(heap)
        return None

    def best_ticks(self, n: int) -> list[int]:
        """The best `n` ticks, best first: a walk of the heap from its root."""
        heap, levels, sign = self._heap, self.levels, self._sign
        found: list[int] = []
        if not heap or n <= 0:
            return found
        frontier = [(heap[0], 0)]
        size, last = len(heap), None
        while frontier and len(found) < n:
            key, index = heappop(frontier)
            tick = sign * key
            if tick != last and tick in levels:  # a removed price, or a second entry of a live one
                found.append(tick)
                last = tick
            for child in (2 * index + 1, 2 * index + 2):
                if child < size:
                    heappush(frontier, (heap[child], child))
        return found

    def ordered(self) -> list[int]:
        """Every tick, best first."""
        return sorted(self.levels, reverse=self._sign < 0)


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
        self._bids = _Side(-1)
        self._asks = _Side(+1)
        self.sequence_num = -1
        self.updates_applied = 0
        """Level changes applied since creation (snapshots not counted): the feed's update rate."""
        self._set_places(places)

    def _set_places(self, places: int) -> None:
        self._places = places
        self._scale = Decimal(10) ** places
        self._unit = Decimal(1).scaleb(-places)
        self._max_tick = int(MAX_PRICE * self._scale)
        self._ticks: dict[str | Decimal, int] = {}
        """Tick by price as the feed gave it, text or Decimal, on this grid (see _checked)."""

    @property
    def places(self) -> int:
        """Decimal places of the price grid the book keeps (grows with the finest price seen)."""
        return self._places

    def _price(self, tick: int) -> Decimal:
        return tick * self._unit

    def _checked(self, changes: Sequence[LevelChangeLike]) -> list[tuple[_Side, int, Decimal]]:
        """Every change as (its side, tick, size), once all of them passed the checks.

        BookError names the first bad level; _FinerPrice asks for a finer grid first. This is
        the hot path of market data, written for speed: one pass, locals, few calls. A price's
        tick is worked out exactly once and then looked up by the price as given (a feed's text,
        or a Decimal, whose hash is its value's): scaling to an int took most of this pass, and
        the same prices near the inside change again and again.
        """
        bids, asks, ticks = self._bids, self._asks, self._ticks
        staged = []
        for change in changes:
            price = change.price
            tick = ticks.get(price)
            if tick is None:
                tick = self._tick(change)
                if len(ticks) >= TICK_CACHE_SIZE:
                    ticks.clear()
                ticks[price] = tick
            size = change.size
            if size == "0":  # a removal, the commonest size of all (a quarter of a real feed's)
                size = ZERO
            else:
                try:
                    if size.__class__ is str:
                        size = Decimal(size)
                    good = ZERO <= size < MAX_SIZE  # type: ignore[operator]  # a NaN size raises; an infinite one fails
                except ArithmeticError:
                    good = False
                if not good:
                    raise self._bad(change)
            staged.append((bids if change.side == "bid" else asks, tick, size))
        return staged  # type: ignore[return-value]

    def _tick(self, change: LevelChangeLike) -> int:
        """The tick of a change's price on this grid (BookError if it cannot be in a book)."""
        try:
            price = Decimal(change.price)
            tick = int(_integral_exactly(_scale_exactly(price, self._scale)))
        except Inexact:  # off this grid (or absurdly long, which _refine refuses)
            raise _FinerPrice(price) from None
        except (ArithmeticError, ValueError):  # NaN, infinite, or no number at all
            raise self._bad(change) from None
        if not 0 < tick <= self._max_tick:
            raise self._bad(change)
        return tick

    def _bad(self, change: LevelChangeLike) -> BookError:
        price, size = change.price, change.size
        side = "bid" if change.side == "bid" else "ask"
        try:
            price_ok = ZERO < Decimal(price) <= MAX_PRICE and bool(_scale_exactly(Decimal(price), self._scale))
        except ArithmeticError:
            price_ok = False
        if not price_ok:
            return BookError(f"{self.product_id} {side} level has invalid price {price}")
        return BookError(f"{self.product_id} {side} level at {price} has invalid size {size}")

    def _checked_on_fine_grid(self, changes: Sequence[LevelChangeLike]) -> list[tuple[_Side, int, Decimal]]:
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
        self._bids = _Side(-1, {tick * factor: size for tick, size in self._bids.levels.items()})
        self._asks = _Side(+1, {tick * factor: size for tick, size in self._asks.levels.items()})
        self._set_places(places)

    def replace(self, changes: Sequence[LevelChangeLike]) -> None:
        """Replace the whole book with a snapshot's levels, read in order (a zero size removes).

        All or nothing as well: the new sides are only put in place once every level passed.
        """
        while True:  # rare: a second round on the grid of a finer price
            try:
                bids, asks = self._sides_of(changes)
                break
            except _FinerPrice as finer:
                self._refine(finer.price)
        self._bids = _Side(-1, bids)  # one heapify each, not a push per level
        self._asks = _Side(+1, asks)

    def _sides_of(self, changes: Sequence[LevelChangeLike]) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
        """A snapshot's two sides, each level checked as `_checked` checks a change.

        The same checks in one pass with no staging: the sides are new dicts, put in place only
        when every level passed, so a bad level leaves the book as it was without a list of ten
        thousand checked changes held first (that list was a third of a snapshot's time, and
        set off the cyclic garbage collector: a snapshot's p99 was 12x its median).
        """
        bids: dict[int, Decimal] = {}
        asks: dict[int, Decimal] = {}
        ticks = self._ticks
        for change in changes:
            price = change.price
            tick = ticks.get(price)
            if tick is None:
                tick = self._tick(change)
                if len(ticks) >= TICK_CACHE_SIZE:
                    ticks.clear()
                ticks[price] = tick
            levels = bids if change.side == "bid" else asks
            size = change.size
            if size == "0":
                levels.pop(tick, None)
                continue
            try:
                if size.__class__ is str:
                    size = Decimal(size)
                good = ZERO <= size < MAX_SIZE  # type: ignore[operator]  # a NaN size raises; an infinite one fails
            except ArithmeticError:
                good = False
            if not good:
                raise self._bad(change)
            if size:
                levels[tick] = size  # type: ignore[assignment]
            else:
                levels.pop(tick, None)
        return bids, asks

    def apply(self, changes: Sequence[LevelChangeLike]) -> None:
        """Apply incremental level changes, all or nothing.

        Removing a level that is not in the book is a no-op: real venues send such deletes.
        """
        try:
            staged = self._checked(changes)
        except _FinerPrice:
            staged = self._checked_on_fine_grid(changes)
        # Written here rather than as _Side methods: a call per level was a sixth of an update's
        # apply. A new price is pushed onto its side's heap; a heap mostly of removed prices is
        # built again from the live levels.
        for side, tick, size in staged:
            levels = side.levels
            if size:
                if tick not in levels:
                    heap = side._heap
                    heappush(heap, side._sign * tick)
                    if len(heap) > 2 * len(levels) + 64:
                        levels[tick] = size
                        side._rebuild()
                        continue
                levels[tick] = size
            else:
                levels.pop(tick, None)
        self.updates_applied += len(staged)

    def clear(self) -> None:
        """Forget every level (the book is no longer trustworthy)."""
        self._bids = _Side(-1)
        self._asks = _Side(+1)
        self.sequence_num = -1

    def best_bid(self) -> Level | None:
        """(price, size) of the highest bid, or None on an empty side."""
        tick = self._bids.best()
        return None if tick is None else (self._price(tick), self._bids.levels[tick])

    def best_ask(self) -> Level | None:
        """(price, size) of the lowest ask, or None on an empty side."""
        tick = self._asks.best()
        return None if tick is None else (self._price(tick), self._asks.levels[tick])

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """The best `n` bids and asks, each best first."""
        unit, bids, asks = self._unit, self._bids.levels, self._asks.levels
        return (
            [(t * unit, bids[t]) for t in self._bids.best_ticks(n)],
            [(t * unit, asks[t]) for t in self._asks.best_ticks(n)],
        )

    def levels(self, side: Side) -> list[Level]:
        """Every level of one side, best first."""
        book_side, unit = (self._bids if side is Side.BID else self._asks), self._unit
        levels = book_side.levels
        return [(t * unit, levels[t]) for t in book_side.ordered()]

    def depth(self) -> tuple[int, int]:
        """How many bid and ask levels the book holds."""
        return len(self._bids.levels), len(self._asks.levels)

    def spread(self) -> Decimal | None:
        """Best ask minus best bid, or None when a side is empty."""
        bid, ask = self._bids.best(), self._asks.best()
        return None if bid is None or ask is None else self._price(ask - bid)

    def mid(self) -> Decimal | None:
        """The midpoint of the inside market, or None when a side is empty."""
        bid, ask = self._bids.best(), self._asks.best()
        return None if bid is None or ask is None else self._price(ask + bid) / 2

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask: the book cannot be right."""
        bid, ask = self._bids.best(), self._asks.best()
        return bid is not None and ask is not None and bid >= ask

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
