"""The thin bridge between the Textual app and the engine.

The engine runs on its own asyncio loop in a worker thread so that rendering never delays the
feed and the feed never delays a keystroke. Commands go in with `run_coroutine_threadsafe`;
events come out as Textual messages (`post_message` is thread-safe). Book changes are turned
into immutable `BookView`s on the engine loop and handed over through a latest-value slot.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from decimal import Decimal
from typing import Any, TypeVar

from textual.message import Message

from cryptoj_tui.engine import Engine, EngineConfig, ProductUnavailable
from cryptoj_tui.engine.events import (
    BookReset,
    BookUpdated,
    OrderUpdated,
    TradesPrinted,
    TradingStateChanged,
)
from cryptoj_tui.engine.model import PublicTrade
from cryptoj_tui.engine.orders import OrderType
from cryptoj_tui.engine.portfolio import Position
from cryptoj_tui.formats import ProductFormat
from cryptoj_tui.messages import (
    BooksChanged,
    EngineEvent,
    FormatsKnown,
    PortfolioChanged,
    RiskChanged,
    TradesArrived,
    WatchlistChanged,
)
from cryptoj_tui.views import (
    UNSHOWN_EVENTS,
    BookView,
    PortfolioView,
    PositionRow,
    RiskView,
    WatchlistView,
    WatchRow,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

CHART_CANDLES = 240
"""One-second candles the price chart shows (four minutes)."""
FRAME_SECONDS = 1 / 60
"""Textual paints at most 60 frames a second: book views are copied no more often."""
BACKGROUND_VIEW_SECONDS = 0.25
"""A product other than the one traded is on no screen: its view is copied four times a second,
kept so that a switch to it draws at once (the switch asks for a fresh one as it happens). At
60 a second, twenty flooding products' copies of their top 100 levels were a seventh of the
engine thread's time."""


class EngineStopped(RuntimeError):
    """A command came after the engine stopped (or before it started)."""


def _failed(error: Exception) -> Future[Any]:
    future: Future[Any] = Future()
    future.set_exception(error)
    return future


WATCH_CLOSES = 30
"""One-minute closes behind a watchlist row's sparkline."""
RecentTrades = tuple[tuple[PublicTrade, ...], tuple[Decimal, ...]]
"""A product's recent public trades (oldest first) and its one-second closes."""


class EngineBridge:
    """Owns the engine thread; the UI's only way in and out of the engine."""

    def __init__(self, config: EngineConfig, post: Callable[[Message], object], *, depth: int = 100) -> None:
        self._config = config
        self._post = post
        self._depth = depth
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._started = threading.Event()
        self._lock = threading.Lock()
        self._views: dict[str, BookView] = {}
        self._notice_pending = False
        self._view_due: dict[str, float] = {}
        """Engine-loop time before which a product's next view waits (frame pacing)."""
        self._view_timers: dict[str, asyncio.TimerHandle] = {}
        self._traded: str | None = None
        """The product on the trading screen (engine thread): its views go at the frame rate."""
        self._trades: dict[str, list[PublicTrade]] = {}
        self._trades_notice_pending = False
        self._closes: dict[str, tuple[Decimal, ...]] = {}
        self._in_flight: set[Future[Any]] = set()
        self.engine: Engine | None = None
        self.error: BaseException | None = None

    # -- UI thread -----------------------------------------------------------------------

    def start(self, products: list[str], timeout: float = 10.0) -> None:
        """Start the engine thread and subscribe to `products`, the first of them traded."""
        self._traded = products[0] if products else None
        self._thread = threading.Thread(target=self._main, args=(products,), name="engine", daemon=True)
        self._thread.start()
        if not self._started.wait(timeout):
            raise TimeoutError(f"engine did not start within {timeout:g}s")
        if self.error is not None:
            raise self.error

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the engine (closing its connections) and join its thread; idempotent."""
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed between the check and the call
                loop.call_soon_threadsafe(stop.set)
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.error("engine thread did not stop within %gs", timeout)
            self._thread = None

    def submit(self, fn: Callable[[Engine], Coroutine[Any, Any, T]]) -> Future[T]:
        """Run `fn(engine)` on the engine loop; the Future resolves with its result.

        Never raises: with the engine stopped (a toast noticed as the console quits, say) the
        Future fails with EngineStopped, which callers report as they report any failed command.
        """
        loop, engine = self._loop, self.engine
        if loop is None or engine is None:
            return _failed(EngineStopped("the engine is not running"))
        coroutine = fn(engine)
        try:
            future = asyncio.run_coroutine_threadsafe(coroutine, loop)
        except RuntimeError:  # its loop closed: the console is quitting, or the engine died
            coroutine.close()
            return _failed(EngineStopped("the engine has stopped"))
        self._in_flight.add(future)  # set.add and .discard are atomic: the two threads share it safely
        future.add_done_callback(self._in_flight.discard)
        return future

    @property
    def busy(self) -> bool:
        """True while a command from the UI (an order, a cancel, a preview) runs on the engine thread."""
        return bool(self._in_flight)

    @property
    def can_trade(self) -> bool:
        """True when the engine has an API key (orders, risk and the kill switch exist)."""
        return self.engine is not None and self.engine.trading is not None

    async def watch_product(
        self, engine: Engine, product_id: str, *, traded: bool = False
    ) -> tuple[tuple[PublicTrade, ...], tuple[Decimal, ...]]:
        """On the engine thread (through `submit`): subscribe to `product_id` if not yet (a refusal
        raises ProductUnavailable), publish its book's view as it is now, and return its recent
        trades (oldest first) and one-second closes, for a console that switches to it (`traded`:
        its views go at the frame rate from now on)."""
        if product_id not in engine.market_data.products():
            await engine.subscribe(product_id)
        if traded:
            self._traded = product_id
        tape = engine.market_data.tapes[product_id]
        self._publish_view(product_id, live=engine.market_data.is_live(product_id))
        return tuple(reversed(tape.trades)), tuple(c.close for c in tape.candles[1].latest(CHART_CANDLES))

    def take_books(self) -> dict[str, BookView]:
        """The views that changed since the last call (and re-arm the change notice): the
        product traded's, and the others' taken with it (they send no notice of their own)."""
        with self._lock:
            views, self._views = self._views, {}
            self._notice_pending = False
        return views

    # -- engine thread -------------------------------------------------------------------

    def _main(self, products: list[str]) -> None:
        try:
            asyncio.run(self._run(products))
        except BaseException as exc:
            log.exception("engine thread failed")
            self.error = exc
            self._started.set()

    async def _run(self, products: list[str]) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        engine = Engine(self._config)
        events = engine.events()  # before start: the first connection events must not be missed
        async with engine:
            self.engine = engine
            if engine.trading is not None:  # the UI starts from the engine's state, not a guess
                self._post(
                    EngineEvent(
                        TradingStateChanged(
                            state=str(engine.state), previous="", reason=engine.trading.risk.state_reason
                        )
                    )
                )
                self._post(FormatsKnown(self.product_formats()))
            for product_id in products:
                # A refusal is published (ProductRefused): the console says so where the book would be.
                with contextlib.suppress(ProductUnavailable):
                    await engine.subscribe(product_id)
            pump = asyncio.create_task(self._pump(events))
            portfolio = asyncio.create_task(self._publish_portfolio())
            self._started.set()
            await self._stop.wait()
            portfolio.cancel()
            events.close()
        await pump

    async def _pump(self, events: Any) -> None:
        async for event in events:
            if isinstance(event, BookUpdated):
                self._publish_view_paced(event.product_id)
            elif isinstance(event, OrderUpdated):
                # One loop turn later: an order is published as it is sent, and on Python 3.11
                # aiohttp writes the request from a task of its own, queued behind this one. The
                # copies and the UI's wake-up (which takes the GIL from this thread) go after it.
                self._loop.call_soon(self._publish_order, event)  # type: ignore[union-attr]
            elif isinstance(event, BookReset):
                self._publish_view(event.product_id, live=False)
                self._post(EngineEvent(event))
            elif isinstance(event, TradesPrinted):
                self._collect_trades(event)
            elif not isinstance(event, UNSHOWN_EVENTS):
                self._post(EngineEvent(event))

    def _publish_order(self, event: OrderUpdated) -> None:
        assert self.engine is not None
        product_id = event.order.get("product_id", "")
        if product_id in self.engine.market_data.products():
            self._publish_view(product_id, live=self.engine.market_data.is_live(product_id))
        self._post(EngineEvent(event))

    def _collect_trades(self, event: TradesPrinted) -> None:
        # Trades print many times a second in a busy market: gather them and keep one notice
        # outstanding, as for books, so they can never queue ahead of a keystroke.
        # Candles change only when trades print: their closes travel with the trades.
        # Only the traded product's: the tape and chart show no other, and a switch reads the
        # new product's tape (watch_product). Twenty products' notices woke the UI 460 times a
        # second, each taking the GIL from this thread and back.
        if event.product_id != self._traded:
            return
        assert self.engine is not None
        candles = self.engine.market_data.tapes[event.product_id].candles[1].latest(CHART_CANDLES)
        closes = tuple(c.close for c in candles)
        with self._lock:
            self._trades.setdefault(event.product_id, []).extend(event.trades)
            self._closes[event.product_id] = closes
            notify = not self._trades_notice_pending
            self._trades_notice_pending = True
        if notify:
            self._post(TradesArrived())

    def take_trades(self) -> tuple[dict[str, list[PublicTrade]], dict[str, tuple[Decimal, ...]]]:
        """Trades printed since the last call (oldest first) and the latest one-second closes
        of the products that traded; re-arms the notice."""
        with self._lock:
            trades, self._trades = self._trades, {}
            closes, self._closes = self._closes, {}
            self._trades_notice_pending = False
        return trades, closes

    async def _publish_portfolio(self, every: float = 0.5) -> None:
        """Positions, PnL, risk and the price chart move with the market: fresh copies twice a second."""
        while True:
            view = self.portfolio_view()
            if view is not None:
                self._post(PortfolioChanged(view))
            risk = self.risk_view()
            if risk is not None:
                self._post(RiskChanged(risk))
            watchlist = self.watchlist_view()
            if watchlist is not None:
                self._post(WatchlistChanged(watchlist))
            await asyncio.sleep(every)

    def product_formats(self) -> dict[str, ProductFormat]:
        """Every product's increments as the venue gave them (engine thread only)."""
        assert self.engine is not None and self.engine.trading is not None
        return {
            product_id: ProductFormat(rules.price_increment, rules.base_increment)
            for product_id, rules in self.engine.trading.products.items()
        }

    def watchlist_view(self) -> WatchlistView | None:
        """Every subscribed product's row (engine thread only), or None before the engine runs."""
        engine = self.engine
        if engine is None:
            return None
        market, trading = engine.market_data, engine.trading
        rows = []
        for product_id in sorted(market.products()):
            book, tape, ticker = engine.book(product_id), market.tapes[product_id], engine.ticker(product_id)
            live = market.is_live(product_id)
            bid, ask = (book.best_bid(), book.best_ask()) if live else (None, None)
            last = tape.last
            rows.append(
                WatchRow(
                    product_id,
                    bid[0] if bid else None,
                    ask[0] if ask else None,
                    last.price if last is not None else (ticker.price if ticker is not None else None),
                    ticker.change_24h_percent if ticker is not None else None,
                    trading.portfolio.quantity(product_id) if trading is not None else Decimal(0),
                    len(trading.execution.working(product_id)) if trading is not None else 0,
                    tuple(c.close for c in tape.candles[60].latest(WATCH_CLOSES)),
                    live,
                )
            )
        formats = self.product_formats() if trading is not None else {}
        return WatchlistView(tuple(rows), formats)

    def portfolio_view(self) -> PortfolioView | None:
        """The current portfolio (engine thread only), or None without trading."""
        engine = self.engine
        if engine is None or engine.trading is None:
            return None
        trading = engine.trading
        portfolio = trading.portfolio
        marks = trading.marks()
        held = [p for p in engine.market_data.products() if p not in portfolio.positions and portfolio.inventory_of(p)]
        positions = [*portfolio.positions.values(), *(Position(p) for p in held)]
        rows = tuple(
            PositionRow(
                p.product_id,
                p.quantity,
                p.average_price,
                marks.get(p.product_id),
                p.realised,
                p.unrealised(marks.get(p.product_id)),
                p.fees,
                portfolio.inventory_of(p.product_id),
            )
            for p in sorted(positions, key=lambda p: p.product_id)
        )
        trips = trading.execution.round_trips
        realised, unrealised, fees = (
            trading.portfolio.realised(),
            trading.portfolio.unrealised(marks),
            trading.portfolio.fees(),
        )
        rules = trading.products
        formats = {
            row.product_id: ProductFormat(r.price_increment, r.base_increment)
            for row in rows
            if (r := rules.get(row.product_id)) is not None
        }
        return PortfolioView(
            rows, realised + unrealised - fees, realised, unrealised, fees, trips[-1] * 1000 if trips else None, formats
        )

    def risk_view(self) -> RiskView | None:
        """The trading state and limit usage (engine thread only), or None without trading."""
        engine = self.engine
        if engine is None or engine.trading is None:
            return None
        risk = engine.trading.risk
        return RiskView(str(risk.state), risk.state_reason, tuple(engine.trading.risk_usage()))

    def _publish_view_paced(self, product_id: str) -> None:
        """A view of a moving book at most once a frame (BACKGROUND_VIEW_SECONDS for a product
        not traded): the screen cannot show more, and copying the top of a book 2,000 times a
        second would take the GIL from the UI."""
        assert self._loop is not None
        wait = self._view_due.get(product_id, 0.0) - self._loop.time()
        if wait <= 0:
            self._publish_view(product_id, live=True)
        elif product_id not in self._view_timers:
            self._view_timers[product_id] = self._loop.call_later(wait, self._publish_due_view, product_id)

    def _publish_due_view(self, product_id: str) -> None:
        self._view_timers.pop(product_id, None)
        assert self.engine is not None
        self._publish_view(product_id, live=self.engine.market_data.is_live(product_id))

    def _publish_view(self, product_id: str, *, live: bool) -> None:
        assert self.engine is not None and self._loop is not None
        timer = self._view_timers.pop(product_id, None)
        if timer is not None:
            timer.cancel()  # this view is the latest: the one waiting would repeat it
        pace = FRAME_SECONDS if product_id == self._traded else BACKGROUND_VIEW_SECONDS
        self._view_due[product_id] = self._loop.time() + pace
        book = self.engine.book(product_id)
        bids, asks = book.top(self._depth) if live else ([], [])
        own: dict[bool, dict[Any, Any]] = {True: {}, False: {}}
        brackets: dict[Decimal, str] = {}
        if self.engine.trading is not None:
            for order in self.engine.trading.execution.working(product_id):
                request = order.request
                if request.type is OrderType.BRACKET:  # its take-profit rests, its stop waits
                    assert request.price is not None and request.stop_price is not None
                    _mark(brackets, request.price, "TP")
                    _mark(brackets, request.stop_price, "SL")
                elif request.take_profit is not None and request.stop_loss is not None:
                    _mark(brackets, request.take_profit, "TP")
                    _mark(brackets, request.stop_loss, "SL")
                if request.price is not None and (request.stop_price is None or request.type is OrderType.BRACKET):
                    side = own[order.side == "BUY"]
                    side[request.price] = side.get(request.price, 0) + order.leaves
        view = BookView(
            product_id,
            tuple(bids),
            tuple(asks),
            book.sequence_num,
            live,
            tuple(sorted(own[True].items())),
            tuple(sorted(own[False].items())),
            tuple(sorted(brackets.items())),
        )
        # Only the traded product's view wakes the UI: the others are on no screen, and are
        # taken with the next notice, or by a switch to one of them.
        with self._lock:
            self._views[product_id] = view
            notify = product_id == self._traded and not self._notice_pending
            if notify:
                self._notice_pending = True
        if notify:
            self._post(BooksChanged())


def _mark(marks: dict[Decimal, str], price: Decimal, tag: str) -> None:
    """Tag `price` on the ladder (two brackets may share it: "TP SL")."""
    held = marks.get(price, "")
    if tag not in held.split():
        marks[price] = f"{held} {tag}".strip()
