"""Price-time priority matching for one product. Sans-I/O: orders in, trades and level changes out.

Resting orders queue per price level in arrival order; an incoming order trades against the
best opposite level first, oldest order first, at the resting order's price. Every change to a
level's total is recorded so the WebSocket layer can publish exactly what changed.
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

from sortedcontainers import SortedDict

from cryptoj_tui.sim.products import ProductSpec

OrderSide = Literal["BUY", "SELL"]
BookSide = Literal["bid", "offer"]


class OrderRejected(ValueError):
    """An order the venue refuses; `error` is the venue's error name."""

    def __init__(self, error: str, message: str) -> None:
        super().__init__(message)
        self.error = error


@dataclass(slots=True)
class RestingOrder:
    """An order waiting in the book."""

    order_id: str
    side: OrderSide
    price: Decimal
    remaining: Decimal
    owner: str


@dataclass(frozen=True, slots=True)
class Trade:
    """One execution; `maker_side` is the resting order's side (what market_trades reports)."""

    trade_id: int
    price: Decimal
    size: Decimal
    maker_order_id: str
    taker_order_id: str
    maker_side: OrderSide


class MatchingBook:
    """The venue's order book for one product."""

    def __init__(self, spec: ProductSpec, trade_ids: itertools.count[int] | None = None) -> None:
        self.self_trade_cancels: list[RestingOrder] = []
        """Resting orders cancelled by self-trade prevention since the last `take_self_trade_cancels`."""
        self.spec = spec
        # price -> FIFO of resting orders; both ascending (best bid is the last key).
        self._bids: SortedDict = SortedDict()
        self._asks: SortedDict = SortedDict()
        self._totals: dict[BookSide, dict[Decimal, Decimal]] = {"bid": {}, "offer": {}}
        self._orders: dict[str, RestingOrder] = {}
        self._changed: dict[tuple[BookSide, Decimal], None] = {}
        self._trade_ids = trade_ids or itertools.count(1)

    # -- queries -------------------------------------------------------------------------

    def best_bid(self) -> Decimal | None:
        """Highest resting bid price."""
        return self._bids.peekitem(-1)[0] if self._bids else None

    def best_ask(self) -> Decimal | None:
        """Lowest resting ask price."""
        return self._asks.peekitem(0)[0] if self._asks else None

    def levels(self, side: BookSide) -> list[tuple[Decimal, Decimal]]:
        """(price, total size) of one side, best first."""
        levels = self._bids if side == "bid" else self._asks
        totals = self._totals[side]
        prices = reversed(levels) if side == "bid" else iter(levels)
        return [(price, totals[price]) for price in prices]

    def top(self, side: BookSide) -> tuple[Decimal, Decimal] | None:
        """(price, total size) of one side's best level, or None: `levels(side)[0]` without
        listing the whole side."""
        best = self.best_bid() if side == "bid" else self.best_ask()
        return None if best is None else (best, self._totals[side][best])

    def level_count(self, side: BookSide) -> int:
        """How many prices one side has."""
        return len(self._bids if side == "bid" else self._asks)

    def order(self, order_id: str) -> RestingOrder | None:
        """A resting order by id."""
        return self._orders.get(order_id)

    def resting_orders(self, owner: str | None = None) -> list[RestingOrder]:
        """Resting orders, all or one owner's."""
        return [o for o in self._orders.values() if owner is None or o.owner == owner]

    def take_changes(self) -> list[tuple[BookSide, Decimal, Decimal]]:
        """(side, price, new total) for every level changed since the last call; 0 = gone."""
        changes = [(side, price, self._totals[side].get(price, Decimal(0))) for side, price in self._changed]
        self._changed.clear()
        return changes

    # -- commands ------------------------------------------------------------------------

    def submit_limit(
        self,
        order_id: str,
        side: OrderSide,
        price: Decimal,
        size: Decimal,
        owner: str = "",
        *,
        rest: bool = True,
        prevent_self_trade: bool = False,
    ) -> list[Trade]:
        """Match a limit order; any remainder rests at `price` (or is dropped when not `rest`)."""
        self._validate(side, size, price)
        trades, remaining = self._match(order_id, side, size, price, owner if prevent_self_trade else None)
        if remaining and rest:
            self._rest(RestingOrder(order_id, side, price, remaining, owner))
        return trades

    def submit_market(
        self, order_id: str, side: OrderSide, size: Decimal, owner: str = "", *, prevent_self_trade: bool = False
    ) -> list[Trade]:
        """Match a market order for a base size; what cannot fill is dropped (IOC)."""
        self._validate(side, size, None)
        trades, _ = self._match(order_id, side, size, None, owner if prevent_self_trade else None)
        return trades

    def add_liquidity(self, order_id: str, side: OrderSide, price: Decimal, size: Decimal, owner: str) -> list[Trade]:
        """Liquidity from outside the venue's rules (a recording's level): no size or tick checks.

        Whatever it crosses trades first: other owners' orders (a trader's order the recorded
        market moved through) fill at their own price, and the same owner's crossing orders are
        cancelled as stale (self-trade prevention). The rest joins the back of its price's queue.
        """
        trades, remaining = self._match(order_id, side, size, price, owner)
        if remaining:
            self._rest(RestingOrder(order_id, side, price, remaining, owner))
        return trades

    def fill_resting(self, order_id: str, size: Decimal, taker_id: str) -> Trade:
        """An outside taker (a recorded trade) meets one resting order for `size`, at its price."""
        order = self._orders[order_id]
        if not 0 < size <= order.remaining:
            raise ValueError(f"fill {order_id} for {size}: must be above 0 and at most {order.remaining}")
        if size == order.remaining:
            self.cancel(order_id)
        else:
            self.reduce(order_id, order.remaining - size)
        return Trade(next(self._trade_ids), order.price, size, order_id, taker_id, order.side)

    def outside_trade(self, price: Decimal, size: Decimal, maker_side: OrderSide, taker_id: str) -> Trade:
        """A trade between two outside parties (a recorded trade nobody here took part in): it
        changes no resting order, but it is a trade of this product (its tape, its last price)."""
        return Trade(next(self._trade_ids), price, size, "", taker_id, maker_side)

    def prices_through(self, side: OrderSide, limit: Decimal) -> list[Decimal]:
        """The prices of one side from its best to `limit` (included): what a taker meets."""
        if side == "BUY":
            return list(self._bids.irange(minimum=limit, reverse=True))
        return list(self._asks.irange(maximum=limit))

    def queue(self, side: OrderSide, price: Decimal) -> list[RestingOrder]:
        """The orders resting at one price, first in line first."""
        levels = self._bids if side == "BUY" else self._asks
        return list(levels.get(price, ()))

    def take_self_trade_cancels(self) -> list[RestingOrder]:
        """Resting orders cancelled by self-trade prevention since the last call."""
        cancels, self.self_trade_cancels = self.self_trade_cancels, []
        return cancels

    def marketable_size(self, side: OrderSide, limit: Decimal | None, owner: str | None = None) -> Decimal:
        """How much an order could fill right now at `limit` (None: any price), others' orders only."""
        opposite = self._asks if side == "BUY" else self._bids
        prices = iter(opposite) if side == "BUY" else reversed(opposite)
        total = Decimal(0)
        for price in prices:
            if limit is not None and (price > limit if side == "BUY" else price < limit):
                break
            total += sum(o.remaining for o in opposite[price] if owner is None or o.owner != owner)
        return total

    def restore(self, order: RestingOrder) -> None:
        """Put back an order that was resting before a restart, behind what rests already."""
        self._validate(order.side, order.remaining, order.price)
        self._rest(order)

    def cancel(self, order_id: str) -> RestingOrder | None:
        """Remove a resting order; None if it is not resting (filled, cancelled, unknown)."""
        order = self._orders.pop(order_id, None)
        if order is None:
            return None
        book_side: BookSide = "bid" if order.side == "BUY" else "offer"
        levels = self._bids if order.side == "BUY" else self._asks
        queue: deque[RestingOrder] = levels[order.price]
        queue.remove(order)
        if not queue:
            del levels[order.price]
        self._add_total(book_side, order.price, -order.remaining)
        return order

    def reduce(self, order_id: str, remaining: Decimal) -> None:
        """Make a resting order smaller where it stands: its place in the queue is kept."""
        order = self._orders[order_id]
        if not 0 < remaining < order.remaining:
            raise ValueError(f"reduce {order_id} to {remaining}: must be above 0 and below {order.remaining}")
        self._add_total("bid" if order.side == "BUY" else "offer", order.price, remaining - order.remaining)
        order.remaining = remaining

    # -- internals -----------------------------------------------------------------------

    def _validate(self, side: str, size: Decimal, price: Decimal | None) -> None:
        spec = self.spec
        if side not in ("BUY", "SELL"):
            raise OrderRejected("INVALID_SIDE", f"side must be BUY or SELL, got {side!r}")
        if not size.is_finite() or size <= 0:
            raise OrderRejected("INVALID_SIZE", f"size must be positive, got {size}")
        if size % spec.base_increment:
            raise OrderRejected("INVALID_SIZE_PRECISION", f"size {size} is not a multiple of {spec.base_increment}")
        if size < spec.base_min_size or size > spec.base_max_size:
            raise OrderRejected(
                "INVALID_SIZE",
                f"size {size} outside [{spec.base_min_size}, {spec.base_max_size}]",
            )
        if price is not None:
            if not price.is_finite() or price <= 0:
                raise OrderRejected("INVALID_LIMIT_PRICE", f"price must be positive, got {price}")
            if price % spec.quote_increment:
                raise OrderRejected(
                    "INVALID_PRICE_PRECISION",
                    f"price {price} is not a multiple of {spec.quote_increment}",
                )

    def _match(
        self, taker_id: str, side: OrderSide, size: Decimal, limit: Decimal | None, owner: str | None
    ) -> tuple[list[Trade], Decimal]:
        trades: list[Trade] = []
        remaining = size
        opposite = self._asks if side == "BUY" else self._bids
        book_side: BookSide = "offer" if side == "BUY" else "bid"
        while remaining and opposite:
            price, queue = opposite.peekitem(0) if side == "BUY" else opposite.peekitem(-1)
            if limit is not None and (price > limit if side == "BUY" else price < limit):
                break
            while remaining and queue:
                maker: RestingOrder = queue[0]
                if owner is not None and maker.owner == owner:
                    self.cancel(maker.order_id)
                    self.self_trade_cancels.append(maker)
                    if price not in opposite:
                        break
                    continue
                quantity = min(remaining, maker.remaining)
                trades.append(Trade(next(self._trade_ids), price, quantity, maker.order_id, taker_id, maker.side))
                remaining -= quantity
                maker.remaining -= quantity
                self._add_total(book_side, price, -quantity)
                if not maker.remaining:
                    queue.popleft()
                    del self._orders[maker.order_id]
            if not queue and price in opposite:
                del opposite[price]
        return trades, remaining

    def _rest(self, order: RestingOrder) -> None:
        levels = self._bids if order.side == "BUY" else self._asks
        queue = levels.get(order.price)
        if queue is None:
            queue = levels[order.price] = deque()
        queue.append(order)
        self._orders[order.order_id] = order
        self._add_total("bid" if order.side == "BUY" else "offer", order.price, order.remaining)

    def _add_total(self, side: BookSide, price: Decimal, delta: Decimal) -> None:
        totals = self._totals[side]
        total = totals.get(price, Decimal(0)) + delta
        if total:
            totals[price] = total
        else:
            totals.pop(price, None)
        self._changed[(side, price)] = None
