"""A recorded market as the paper venue's order flow: paper trading against what really rested.

Instead of the synthetic flow, the venue's book is the recording's book, level by level, and the
recording's trades are replayed as outside takers. A trader's order is one more order in that
book, with price-time priority. The fill model (docs/recording.md, "Paper trading on a replay"):

- An order joins the back of its price's queue: all recorded size already there is ahead of it.
- A recorded trade at or through the order's price uses up the size ahead first (oldest first),
  then fills the order, at the order's price, as maker. The recorded trade's size is all that
  reaches the queue: the trader's fill takes from what the recorded counterparty traded.
- Recorded size added to a level queues behind the orders already there.
- A fall in a level that no trade explains is a cancellation, taken from the back of the queue:
  recorded size behind the trader's order goes first, the size ahead only shrinks when the
  level's recorded total falls below it. (The recording cannot say whose order left; this is
  the cautious reading: it never moves the trader forward for a cancel it cannot place.)
- A recorded level that crosses a trader's order trades with it (the recorded market moved
  through the order, so the order would have been hit), at the order's price.
- The book's totals are the recording's: a fall that comes before the trade that caused it
  waits up to `PENDING_WINDOW` recorded seconds to be paired with it (one trade never moves
  an order forward twice). What the trader's own orders take from a level comes back at that
  level's next recorded update: the trader does not move the recorded market (no market impact).

Sans-I/O: recorded events in, trades out; the venue times them and publishes.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from cryptoj_tui.sim.matching import BookSide, MatchingBook, OrderSide, RestingOrder, Trade

RECORDED_OWNER = "recording"
"""Owner of every resting order that stands for recorded liquidity."""
ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class RecordedLevels:
    """One level2 event of the recording: new totals per price, or (snapshot) the whole book."""

    at: float
    """Unix seconds the frame arrived."""
    product_id: str
    levels: tuple[tuple[BookSide, Decimal, Decimal], ...]
    snapshot: bool = False


@dataclass(frozen=True, slots=True)
class RecordedTrade:
    """One trade of the recording's market_trades updates."""

    at: float
    product_id: str
    price: Decimal
    size: Decimal
    maker_side: OrderSide


RecordedEvent = RecordedLevels | RecordedTrade


PENDING_WINDOW = 1.0
"""Recorded seconds a level's unexplained fall waits for the trade that may explain it."""


def _order_side(side: BookSide) -> OrderSide:
    return "BUY" if side == "bid" else "SELL"


@dataclass
class _Fall:
    """A level's recent fall that no trade has explained yet, and how much of it each trader's
    order at that price already had taken off the size ahead of it."""

    at: float
    size: Decimal
    taken_from_ahead: dict[str, Decimal]


class RecordedLiquidity:
    """One product's recorded book in the venue's matching book, and where the trader's orders
    stand in its queues.

    The book holds, at each price, resting orders owned by `RECORDED_OWNER` whose sizes add up
    to the recording's total; the trader's orders rest beside them. Each trader's order keeps
    the recorded size `ahead` of it. The recording lists a trade and the level fall it caused
    in either order (Coinbase mostly sends the fall first), so a fall waits up to
    `PENDING_WINDOW` for a trade to explain it, and a trade leaves a credit for the fall still
    to come: one trade never moves an order forward twice.
    """

    def __init__(self, book: MatchingBook) -> None:
        self.book = book
        self.totals: dict[BookSide, dict[Decimal, Decimal]] = {"bid": {}, "offer": {}}
        """The recording's own totals per price, as the last event said."""
        self.ahead: dict[str, Decimal] = {}
        """Trader's order id -> recorded size ahead of it in its price's queue."""
        self._falls: dict[tuple[BookSide, Decimal], _Fall] = {}
        self._credits: dict[tuple[BookSide, Decimal], Decimal] = {}
        self._ids = itertools.count(1)

    def apply(self, event: RecordedEvent) -> list[Trade]:
        """Play one recorded event into the book; the trades it makes."""
        for order_id in [o for o in self.ahead if self.book.order(o) is None]:
            del self.ahead[order_id]  # filled or cancelled since
        if isinstance(event, RecordedTrade):
            return self.trade(event)
        trades: list[Trade] = []
        if event.snapshot:
            given = {(side, price) for side, price, _ in event.levels}
            for side, prices in self.totals.items():
                for price in [p for p in prices if (side, p) not in given]:
                    trades += self.set_level(side, price, ZERO, event.at)
        for side, price, size in event.levels:
            trades += self.set_level(side, price, size, event.at)
        return trades

    def set_level(self, side: BookSide, price: Decimal, size: Decimal, at: float) -> list[Trade]:
        """The recording says the total at one price is now `size`."""
        order_side = _order_side(side)
        traders = self._traders_at(order_side, price)
        before = self.totals[side].get(price, ZERO)
        if size:
            self.totals[side][price] = size
        else:
            self.totals[side].pop(price, None)
        if size < before:
            self._fall(side, price, before - size, size, traders, at)
        return self._rest_recorded(order_side, price, size)

    def trade(self, event: RecordedTrade) -> list[Trade]:
        """A recorded trade: the trader's orders it reaches fill, best price first, then in
        queue order, each once the recorded size ahead of it is used up."""
        side: BookSide = "bid" if event.maker_side == "BUY" else "offer"
        key = (side, event.price)
        taker_id = self._new_id()
        fall = self._falls.get(key)
        if fall is not None and event.at - fall.at > PENDING_WINDOW:
            del self._falls[key]  # too old to be this trade's: it was a cancellation
            fall = None
        explained = min(event.size, fall.size) if fall is not None else ZERO
        if fall is not None:
            fall.size -= explained
        if event.size > explained:  # its fall is still to come: that fall is not a cancellation
            self._credits[key] = self._credits.get(key, ZERO) + event.size - explained
        trades: list[Trade] = []
        left = event.size
        for order in self._reached(event.maker_side, event.price):
            if not left:
                break
            if order.price != event.price:  # better priced: ahead of everything at the trade's price
                fill = min(left, order.remaining)
            else:
                ahead = self.ahead.get(order.order_id, ZERO)
                already = min(fall.taken_from_ahead.get(order.order_id, ZERO), explained) if fall else ZERO
                if fall is not None:
                    fall.taken_from_ahead[order.order_id] = fall.taken_from_ahead.get(order.order_id, ZERO) - already
                ahead -= max(left - already, ZERO)
                fill = min(-ahead, order.remaining) if ahead < 0 else ZERO
                self.ahead[order.order_id] = max(ahead, ZERO)
            if fill:
                trades.append(self.book.fill_resting(order.order_id, fill, taker_id))
                left -= fill
                if not self.book.order(order.order_id):
                    self.ahead.pop(order.order_id, None)
        if left:
            trades.append(self.book.outside_trade(event.price, left, event.maker_side, taker_id))
        return trades

    # -- internals -----------------------------------------------------------------------

    def _traders_at(self, side: OrderSide, price: Decimal) -> list[RestingOrder]:
        """The trader's orders at one price, queue order; one seen for the first time gets the
        recorded size resting before it in the queue (what was there when it joined) as ahead."""
        traders: list[RestingOrder] = []
        recorded_before = ZERO
        for order in self.book.queue(side, price):
            if order.owner == RECORDED_OWNER:
                recorded_before += order.remaining
                continue
            self.ahead.setdefault(order.order_id, recorded_before)
            traders.append(order)
        return traders

    def _reached(self, maker_side: OrderSide, price: Decimal) -> list[RestingOrder]:
        """The trader's orders a trade at `price` against `maker_side` reaches, in the order it
        reaches them."""
        reached: list[RestingOrder] = []
        for level_price in self.book.prices_through(maker_side, price):
            reached += self._traders_at(maker_side, level_price)
        return reached

    def _fall(
        self, side: BookSide, price: Decimal, amount: Decimal, total: Decimal, traders: list[RestingOrder], at: float
    ) -> None:
        """A level fell by `amount`: a trade's imprint (explained by a credit), or a cancellation
        taken from the back of the queue, which only reaches an order's size ahead once the
        total is below it. The unexplained part waits for a trade to explain it."""
        key = (side, price)
        credit = self._credits.pop(key, ZERO)
        if credit > amount:
            self._credits[key] = credit - amount
        amount -= min(credit, amount)
        if not amount:
            return
        fall = self._falls.get(key)
        if fall is None or at - fall.at > PENDING_WINDOW:
            fall = self._falls[key] = _Fall(at, ZERO, {})
        fall.size += amount
        for order in traders:
            ahead = self.ahead[order.order_id]
            if ahead > total:
                fall.taken_from_ahead[order.order_id] = fall.taken_from_ahead.get(order.order_id, ZERO) + ahead - total
                self.ahead[order.order_id] = total

    def _rest_recorded(self, side: OrderSide, price: Decimal, size: Decimal) -> list[Trade]:
        """Make the recorded orders at one price add up to `size`: growth joins the back of the
        queue, a fall comes off the back."""
        recorded = [o for o in self.book.queue(side, price) if o.owner == RECORDED_OWNER]
        resting = sum((o.remaining for o in recorded), ZERO)
        if size > resting:
            return self.book.add_liquidity(self._new_id(), side, price, size - resting, RECORDED_OWNER)
        excess = resting - size
        for order in reversed(recorded):
            if not excess:
                break
            if order.remaining <= excess:
                excess -= order.remaining
                self.book.cancel(order.order_id)
            else:
                self.book.reduce(order.order_id, order.remaining - excess)
                excess = ZERO
        return []

    def _new_id(self) -> str:
        return f"{RECORDED_OWNER}-{next(self._ids)}"


class RecordedMarket:
    """Every product's recorded events in arrival order, played into the venue's books."""

    def __init__(self, events: Iterable[RecordedEvent], *, speed: float = 1.0) -> None:
        if not speed > 0:
            raise ValueError(f"replay speed must be above 0, got {speed}")
        self.events = sorted(events, key=lambda e: e.at)
        self.speed = speed
        self.products = sorted({e.product_id for e in self.events if isinstance(e, RecordedLevels) and e.snapshot})
        if not self.products:
            raise ValueError("the recording holds no level2 snapshot: there is no book to trade against")
        self.position = 0
        self._liquidity: dict[str, RecordedLiquidity] = {}
        self._started: set[str] = set()
        """Products whose first snapshot has been played (before it there is no book to change)."""

    @property
    def at(self) -> float:
        """Recorded time of the last event played (of the first, before any)."""
        return self.events[max(self.position - 1, 0)].at

    def liquidity(self, product_id: str) -> RecordedLiquidity:
        """One product's recorded book and the trader's places in its queues."""
        return self._liquidity[product_id]

    def next_at(self) -> float | None:
        """Recorded time of the next event; None at the end of the recording."""
        return self.events[self.position].at if self.position < len(self.events) else None

    def attach(self, books: dict[str, MatchingBook]) -> dict[str, list[Trade]]:
        """Take over the venue's books and play up to every product's first snapshot."""
        self._liquidity = {p: RecordedLiquidity(books[p]) for p in self.products}
        waiting = set(self.products)
        trades: dict[str, list[Trade]] = {}
        while waiting and self.position < len(self.events):
            event = self.events[self.position]
            if isinstance(event, RecordedLevels) and event.snapshot:
                waiting.discard(event.product_id)
            self._play(event, trades)
        return trades

    def play_until(self, at: float) -> dict[str, list[Trade]]:
        """Play every event recorded up to `at`; the trades they made, by product."""
        trades: dict[str, list[Trade]] = {}
        while self.position < len(self.events) and self.events[self.position].at <= at:
            self._play(self.events[self.position], trades)
        return trades

    def play_next(self) -> dict[str, list[Trade]]:
        """Play one event (a step while paused)."""
        trades: dict[str, list[Trade]] = {}
        if self.position < len(self.events):
            self._play(self.events[self.position], trades)
        return trades

    def _play(self, event: RecordedEvent, trades: dict[str, list[Trade]]) -> None:
        self.position += 1
        liquidity = self._liquidity.get(event.product_id)
        if isinstance(event, RecordedLevels) and event.snapshot:
            self._started.add(event.product_id)
        if liquidity is None or event.product_id not in self._started:
            return
        made = liquidity.apply(event)
        if made:
            trades.setdefault(event.product_id, []).extend(made)
