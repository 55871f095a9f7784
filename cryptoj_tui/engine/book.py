"""An exact L2 order book: Decimal prices and sizes, O(log n) updates, cheap top-of-book reads.

Sans-I/O: the book knows nothing of frames or sockets. Every change is validated before any is
applied, so a bad level leaves the book exactly as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
import zlib
from itertools import islice

from sortedcontainers import SortedDict

from cryptoj_tui.engine.model import Level, Side

LevelChange = tuple[Side, Decimal, Decimal]
"""(side, price, new total size at that price); size 0 removes the level."""


class BookError(ValueError):
    """A level that cannot be in a book (non-finite, non-positive price, negative size)."""


ZERO = Decimal(0)


def _minimal(value: Decimal) -> str:
    """"65160", "1919.5", "0.0012": no exponent, no trailing zeros (the venues' wire form)."""
    text = format(value.normalize(), "f")
    return "0" if text in ("0", "-0") else text


def _validated(product_id: str, changes: Iterable[LevelChange]) -> list[LevelChange]:
    """The changes as a list, after checking every level (BookError names the first bad one)."""
    changes = changes if isinstance(changes, list) else list(changes)
    _check_levels(product_id, changes)
    return changes


def _check_levels(product_id: str, changes: list[LevelChange]) -> None:
    # One cheap test per level in the common case; finiteness first, because ordering
    # comparisons with a Decimal NaN raise instead of returning False.
    for side, price, size in changes:
        if not (price.is_finite() and size.is_finite() and price > ZERO and size >= ZERO):
            if not price.is_finite() or price <= ZERO:
                raise BookError(f"{product_id} {side} level has invalid price {price}")
            raise BookError(f"{product_id} {side} level at {price} has invalid size {size}")


class OrderBook:
    """The aggregated depth of one product: price -> total size, per side."""

    __slots__ = ("product_id", "_bids", "_asks", "sequence_num")

    def __init__(self, product_id: str) -> None:
        self.product_id = product_id
        # Both sides ascending by price: the best bid is the last bid key, the best ask the first.
        self._bids: SortedDict = SortedDict()
        self._asks: SortedDict = SortedDict()
        self.sequence_num = -1

    def _side(self, side: Side) -> SortedDict:
        return self._bids if side is Side.BID else self._asks

    def replace(self, changes: Iterable[LevelChange]) -> None:
        """Replace the whole book with a snapshot's levels, read in order (a zero size removes)."""
        changes = _validated(self.product_id, changes)
        bids: dict[Decimal, Decimal] = {}
        asks: dict[Decimal, Decimal] = {}
        for side, price, size in changes:
            levels = bids if side is Side.BID else asks
            if size:
                levels[price] = size
            else:
                levels.pop(price, None)
        self._bids = SortedDict(bids)
        self._asks = SortedDict(asks)

    def apply(self, changes: Iterable[LevelChange]) -> None:
        """Apply incremental level changes, all or nothing.

        Removing a level that is not in the book is a no-op: real venues send such deletes.
        """
        changes = _validated(self.product_id, changes)
        bids, asks = self._bids, self._asks
        for side, price, size in changes:
            levels = bids if side is Side.BID else asks
            if size:
                levels[price] = size
            else:
                levels.pop(price, None)

    def clear(self) -> None:
        """Forget every level (the book is no longer trustworthy)."""
        self._bids.clear()
        self._asks.clear()
        self.sequence_num = -1

    def best_bid(self) -> Level | None:
        """(price, size) of the highest bid, or None on an empty side."""
        return self._bids.peekitem(-1) if self._bids else None

    def best_ask(self) -> Level | None:
        """(price, size) of the lowest ask, or None on an empty side."""
        return self._asks.peekitem(0) if self._asks else None

    def top(self, n: int) -> tuple[list[Level], list[Level]]:
        """The best `n` bids and asks, each best first."""
        bids = self._bids
        asks = self._asks
        bid_prices = islice(reversed(bids), n)
        ask_prices = islice(asks, n)
        return [(p, bids[p]) for p in bid_prices], [(p, asks[p]) for p in ask_prices]

    def levels(self, side: Side) -> list[Level]:
        """Every level of one side, best first."""
        levels = self._side(side)
        prices = reversed(levels) if side is Side.BID else iter(levels)
        return [(p, levels[p]) for p in prices]

    def depth(self) -> tuple[int, int]:
        """How many bid and ask levels the book holds."""
        return len(self._bids), len(self._asks)

    def spread(self) -> Decimal | None:
        """Best ask minus best bid, or None when a side is empty."""
        if not self._bids or not self._asks:
            return None
        return self._asks.peekitem(0)[0] - self._bids.peekitem(-1)[0]

    def mid(self) -> Decimal | None:
        """The midpoint of the inside market, or None when a side is empty."""
        if not self._bids or not self._asks:
            return None
        return (self._asks.peekitem(0)[0] + self._bids.peekitem(-1)[0]) / 2

    def is_crossed(self) -> bool:
        """True when the best bid is at or above the best ask: the book cannot be right."""
        spread = self.spread()
        return spread is not None and spread <= 0

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
