"""Market data service: venue feeds in, exact books and book events out.

A book is *live* once a snapshot has been applied and until something makes it untrustworthy
(a sequence gap, a bad level, a crossed book); then it is reset and waits for a fresh snapshot.
Updates that arrive for a book that is not live are old news the next snapshot already holds,
so they are ignored.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from decimal import Decimal

from cryptoj_tui.engine.book import BookError, LevelChangeLike, OrderBook
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import (
    Alert,
    BookReset,
    BookUpdated,
    FeedError,
    MarketStale,
    ProductRefused,
    TickerUpdated,
    TradesPrinted,
)
from cryptoj_tui.engine.model import PublicTrade, TickerSnapshot
from cryptoj_tui.engine.tape import TradeTape


class ProductUnavailable(ValueError):
    """The venue does not serve a product (the message says which and why)."""


class MarketData:
    """Owns every product's book and tells subscribers when one changes."""

    def __init__(self, bus: EventBus) -> None:
        self._bus = bus
        self._books: dict[str, OrderBook] = {}
        self._live: dict[str, asyncio.Event] = {}
        self.tapes: dict[str, TradeTape] = {}
        self.tickers: dict[str, TickerSnapshot] = {}
        self._last_update: dict[str, float] = {}
        self._stale: set[str] = set()
        self.refused: dict[str, str] = {}
        """Products the venue will not serve, and why (their books never come)."""
        self._refusals: dict[str, asyncio.Future[str]] = {}
        self.ignored_updates = 0

    def track(self, product_id: str) -> OrderBook:
        """Start keeping a book for `product_id` (idempotent)."""
        book = self._books.get(product_id)
        if book is None:
            book = self._books[product_id] = OrderBook(product_id)
            self._live[product_id] = asyncio.Event()
            self.tapes[product_id] = TradeTape()
        return book

    def untrack(self, product_id: str) -> None:
        """Stop keeping `product_id`'s book, tape and ticker (its frames still in flight are ignored)."""
        self._books.pop(product_id, None)
        self._live.pop(product_id, None)
        self.tapes.pop(product_id, None)
        self.tickers.pop(product_id, None)
        self._last_update.pop(product_id, None)
        self._stale.discard(product_id)

    def book(self, product_id: str) -> OrderBook:
        """The book of a tracked product; KeyError names the product otherwise."""
        try:
            return self._books[product_id]
        except KeyError:
            raise KeyError(f"{product_id} is not subscribed") from None

    def is_live(self, product_id: str) -> bool:
        """True when the product's book reflects the venue's."""
        live = self._live.get(product_id)
        return live is not None and live.is_set()

    async def wait_live(self, product_id: str) -> OrderBook:
        """Wait until the product's book is live and return it; ProductUnavailable says why the
        venue will not serve it, at once rather than at a timeout."""
        if product_id in self.refused:
            raise ProductUnavailable(self.refused[product_id])
        refusal = self._refusals.setdefault(product_id, asyncio.get_running_loop().create_future())
        live = asyncio.ensure_future(self._live[product_id].wait())
        try:
            await asyncio.wait((live, refusal), return_when=asyncio.FIRST_COMPLETED)
        finally:
            live.cancel()
        if self._live[product_id].is_set():
            return self._books[product_id]
        raise ProductUnavailable(refusal.result())

    def refuse(self, product_id: str, reason: str) -> None:
        """The venue will not serve `product_id`: say so once (an event and an alert), and end
        every wait for its book with the reason."""
        if product_id in self.refused:
            return
        self.refused[product_id] = reason
        refusal = self._refusals.pop(product_id, None)
        if refusal is not None and not refusal.done():
            refusal.set_result(reason)
        self._bus.publish(ProductRefused(product_id=product_id, reason=reason))
        self._bus.publish(Alert(severity="warning", message=reason))

    def on_snapshot(self, product_id: str, changes: Sequence[LevelChangeLike], sequence_num: int) -> None:
        """Replace a book with a venue snapshot."""
        book = self._books.get(product_id)
        if book is None:
            return  # not ours to keep (another client's subscription on a shared connection)
        try:
            book.replace(changes)
        except BookError as exc:
            self._reject(product_id, f"snapshot rejected: {exc}")
            return
        if self._check_crossed(book):
            return
        book.sequence_num = sequence_num
        self._live[product_id].set()
        self._touch(product_id)
        self._bus.publish(BookUpdated(product_id=product_id, sequence_num=sequence_num))

    def on_update(self, product_id: str, changes: Sequence[LevelChangeLike], sequence_num: int) -> bool:
        """Apply an incremental update; False when the book must be resynchronised."""
        book = self._books.get(product_id)
        if book is None:
            return True
        if not self._live[product_id].is_set():
            self.ignored_updates += 1
            return True
        try:
            book.apply(changes)
        except BookError as exc:
            self._reject(product_id, f"update rejected: {exc}")
            return False
        if self._check_crossed(book):
            return False
        book.sequence_num = sequence_num
        self._touch(product_id)
        self._bus.publish(BookUpdated(product_id=product_id, sequence_num=sequence_num))
        return True

    def on_trades(self, product_id: str, trades: list[PublicTrade]) -> None:
        """Public trades, oldest first; repeats (snapshots after a reconnect) are dropped."""
        tape = self.tapes.get(product_id)
        if tape is None:
            return
        new = tape.add(trades)
        if new:
            self._bus.publish(TradesPrinted(product_id=product_id, trades=tuple(new)))

    def on_ticker(self, ticker: TickerSnapshot) -> None:
        """The venue's latest ticker for a tracked product."""
        if ticker.product_id in self._books:
            self.tickers[ticker.product_id] = ticker
            self._bus.publish(TickerUpdated(product_id=ticker.product_id))

    def check_staleness(self, stale_after: float, now: float | None = None) -> None:
        """Publish MarketStale when a live book has had no update for `stale_after` seconds,
        and again (stale=False) when updates resume."""
        now = time.monotonic() if now is None else now
        for product_id, last in self._last_update.items():
            age = now - last
            stale = age >= stale_after and self.is_live(product_id)
            if stale and product_id not in self._stale:
                self._stale.add(product_id)
                self._bus.publish(MarketStale(product_id=product_id, stale=True, age=age))

    def update_age(self, product_id: str, now: float | None = None) -> float | None:
        """Seconds since the product's book last changed (None before its first snapshot)."""
        last = self._last_update.get(product_id)
        return None if last is None else (time.monotonic() if now is None else now) - last

    def mid(self, product_id: str) -> Decimal | None:
        """The mid of a live book, else None (also for products not subscribed)."""
        return self._books[product_id].mid() if self.is_live(product_id) else None

    def is_stale(self, product_id: str) -> bool:
        """True between a MarketStale(stale=True) and the next update."""
        return product_id in self._stale

    def _touch(self, product_id: str) -> None:
        self._last_update[product_id] = time.monotonic()
        if product_id in self._stale:
            self._stale.discard(product_id)
            self._bus.publish(MarketStale(product_id=product_id, stale=False, age=0.0))

    def reset(self, product_id: str, reason: str) -> None:
        """Discard a book until its next snapshot."""
        book = self._books.get(product_id)
        if book is None:
            return
        book.clear()
        self._live[product_id].clear()
        self._bus.publish(BookReset(product_id=product_id, reason=reason))

    def reset_all(self, reason: str) -> None:
        """Discard every book (the feed they came from can no longer be trusted)."""
        for product_id in self._books:
            if self.is_live(product_id):
                self.reset(product_id, reason)

    def products(self) -> list[str]:
        """Every tracked product id."""
        return list(self._books)

    def _check_crossed(self, book: OrderBook) -> bool:
        if not book.is_crossed():
            return False
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is not None and ask is not None
        self._reject(
            book.product_id, f"crossed book: best bid {bid[0].normalize():f} >= best ask {ask[0].normalize():f}"
        )
        return True

    def _reject(self, product_id: str, message: str) -> None:
        self._bus.publish(FeedError(where=f"book {product_id}", message=message))
        self.reset(product_id, message)
