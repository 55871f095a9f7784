"""Synthetic order flow that keeps a paper book lively and realistic.

A hidden fair price takes a random walk with occasional volatility bursts. Liquidity providers
quote around it (dense near the inside, thinning out with distance), stale quotes get
cancelled, and takers hit the side the fair price is leaning towards, so trades happen and the
mid drifts. Everything is drawn from one seeded `random.Random`: the same seed and the same
number of steps give the same book, whatever the wall clock does.
"""

from __future__ import annotations

import itertools
import math
import random
import uuid
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from cryptoj_tui.sim.matching import BookSide, MatchingBook, OrderSide, Trade

FLOW_OWNER = "flow"


class SyntheticFlow:
    """Drives one product's `MatchingBook` one random market event at a time."""

    def __init__(self, book: MatchingBook, rng: random.Random, *, min_levels: int = 60) -> None:
        self.book = book
        self._rng = rng
        self.min_levels = min_levels
        self.max_orders = min_levels * 5
        spec = book.spec
        self._tick = spec.quote_increment
        self.fair = spec.start_price
        # Quote distances in ticks: about half a basis point of price on average, but wide enough
        # that a side spreads over `min_levels` distinct prices.
        self._mean_offset_ticks = max(min_levels / 3, float(spec.start_price) * 0.00005 / float(self._tick))
        self._burst_steps = 0
        self._ids = itertools.count(1)

    # -- public --------------------------------------------------------------------------

    def seed_book(self) -> None:
        """Fill both sides to at least `min_levels` prices."""
        self._replenish("BUY")
        self._replenish("SELL")

    def step(self) -> list[Trade]:
        """One market event (or a few): returns the trades it caused."""
        rng = self._rng
        self._move_fair()
        trades: list[Trade] = []
        roll = rng.random()
        if roll < 0.45:
            trades += self._quote(rng.choice(("BUY", "SELL")))
        elif roll < 0.75:
            self._cancel_one()
        else:
            trades += self._take()
        self._tighten()
        # Quotes age out: keep the resting order count near its target so memory stays flat.
        while len(self.book.resting_orders(FLOW_OWNER)) > self.max_orders:
            self._cancel_one()
        for side in ("BUY", "SELL"):
            self._replenish(side)
        return trades

    # -- internals -----------------------------------------------------------------------

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _move_fair(self) -> None:
        rng = self._rng
        if self._burst_steps:
            self._burst_steps -= 1
            vol = 0.0004
        else:
            vol = 0.00008
            if rng.random() < 0.003:
                self._burst_steps = rng.randint(20, 80)
        fair = float(self.fair) * math.exp(rng.gauss(0.0, vol))
        self.fair = self._to_tick(Decimal(repr(fair)))

    def _to_tick(self, price: Decimal) -> Decimal:
        tick = self._tick
        return max(tick, (price / tick).quantize(Decimal(1), ROUND_HALF_EVEN) * tick)

    def _size(self) -> Decimal:
        spec = self.book.spec
        notional = float(spec.typical_notional) * math.exp(self._rng.gauss(0.0, 1.1))
        size = Decimal(repr(notional / float(self.fair))).quantize(spec.base_increment, ROUND_DOWN)
        return min(spec.base_max_size, max(spec.base_min_size, size))

    def _offset_ticks(self) -> int:
        return 1 + int(self._rng.expovariate(1.0) * self._mean_offset_ticks)

    def _quote(self, side: OrderSide, far: bool = False) -> list[Trade]:
        offset = self._offset_ticks() * (6 if far else 1)
        delta = self._tick * offset
        price = self.fair - delta if side == "BUY" else self.fair + delta
        price = max(self._tick, price)
        return self.book.submit_limit(self._new_id(), side, price, self._size(), FLOW_OWNER)

    def _cancel_one(self) -> None:
        orders = self.book.resting_orders(FLOW_OWNER)
        if orders:
            self.book.cancel(self._rng.choice(orders).order_id)

    def _take(self) -> list[Trade]:
        book = self.book
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return []
        mid = (bid + ask) / 2
        buy_chance = 0.5 + max(-0.4, min(0.4, float((self.fair - mid) / mid) * 4000))
        side: OrderSide = "BUY" if self._rng.random() < buy_chance else "SELL"
        return book.submit_market(self._new_id(), side, self._size())

    def _tighten(self) -> None:
        """Market makers compete for a wide inside: quote inside the spread, never through it."""
        book, tick, rng = self.book, self._tick, self._rng
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return
        spread_ticks = int((ask - bid) / tick)
        if spread_ticks <= 2 or rng.random() > 0.8:
            return
        improve = tick * rng.randint(1, spread_ticks // 2)
        side: OrderSide = rng.choice(("BUY", "SELL"))
        price = bid + improve if side == "BUY" else ask - improve
        book.submit_limit(self._new_id(), side, price, self._size(), FLOW_OWNER)

    def _replenish(self, side: OrderSide) -> None:
        book_side: BookSide = "bid" if side == "BUY" else "offer"
        for _ in range(self.min_levels * 4):
            if self.book.level_count(book_side) >= self.min_levels:
                return
            self._quote(side, far=True)
