"""Frames and keystrokes of the whole console under a live feed, against same-run baselines.

- frame render: every screen update Textual paints (layout, compositor, output) of the trading
  screen at 160x48 while the venue floods it, timed one by one; the baseline is a minimal app
  whose one Line-API widget of the same size changes every frame. The flood's achieved book
  update rate, the frames per second painted and the book views the ladder applied are recorded
  beside it (at most one repaint per frame however fast the book moves). The same for the
  watchlist of 20 products while the venue floods all 20.
- keystroke -> order on the wire: `enter` in an open ticket until the order's HTTP request is
  written to the socket, against a minimal app whose `enter` sends a bare aiohttp POST of the same
  order with a token signed ahead, as the console's is. The venue runs in its own process, as a
  real one is remote.

The timing probes wrap Textual's per-frame update method and the socket transport's write;
they measure, they change nothing.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
import time
import uuid
from asyncio.selector_events import _SelectorSocketTransport
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

import aiohttp
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen

from benchmarks.support import SMOKE, record, restore_gc, scaled, venue_process
from benchmarks.test_console import MinimalLines
from benchmarks.test_order_path import Venue, far_bid
from cryptoj_tui.app import CryptojApp
from cryptoj_tui.cdp_keys import sign, write_key_file
from cryptoj_tui.engine import Engine, EngineConfig
from tests.ui.conftest import KEY, frozen_clock, wait_until_live

SIZE = (160, 48)
FLOOD_SECONDS = 0.5 if SMOKE else 8.0
FLOOD_STEP = 0.0005
"""The venue steps 2,000 times a second (each step moves one or more levels)."""
ORDERS = scaled(200)  # p99 of fewer than 100 samples is just the maximum
WATCHLIST_FRAMES = scaled(200, smoke=1)
"""Frames of the watchlist timed under its flood."""


def timed(samples: list[tuple[float, float]], method: Callable[[], None]) -> Callable[[], None]:
    """`method`, recording (start, duration) of each call."""

    def wrapper() -> None:
        started = time.perf_counter()
        method()
        samples.append((started, time.perf_counter() - started))

    return wrapper


def painted(samples: list[tuple[float, float]], since: float) -> list[float]:
    """Durations of the frames that did work (an idle tick takes microseconds)."""
    return [duration for started, duration in samples if started >= since and duration > 50e-6]


def busiest_second(samples: list[tuple[float, float]], since: float) -> int:
    """Most frames painted in any one-second window."""
    starts = sorted(s for s, d in samples if s >= since and d > 50e-6)
    best = 0
    j = 0
    for i, start in enumerate(starts):
        while starts[j] < start - 1.0:
            j += 1
        best = max(best, i - j + 1)
    return best


class MinimalScreen(Screen[None]):
    """A minimal Line-API widget of the ladder's size, changed every frame."""

    CSS = "MinimalLines { height: 46; width: 72; }"

    def compose(self) -> ComposeResult:
        yield MinimalLines()

    def on_mount(self) -> None:
        self.set_interval(1 / 60, self.query_one(MinimalLines).refresh)


class MinimalFrames(App[None]):
    CSS = "MinimalLines { height: 46; width: 72; }"

    def __init__(self, samples: list[tuple[float, float]]) -> None:
        super().__init__()
        self.minimal = MinimalScreen()
        # Before the screen mounts: Textual creates its update timer on first use.
        self.minimal._on_timer_update = timed(samples, self.minimal._on_timer_update)  # type: ignore[method-assign]

    def on_mount(self) -> None:
        self.push_screen(self.minimal)


def test_frame_baseline_minimal_app(benchmark: Any) -> None:
    samples: list[tuple[float, float]] = []

    async def main() -> float:
        app = MinimalFrames(samples)
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            since = time.perf_counter()
            await asyncio.sleep(FLOOD_SECONDS / 2)
            return since

    since = asyncio.run(main())
    record(benchmark, "frame render, 160x48", "baseline", painted(samples, since))


def test_frame_trading_screen_under_a_flood(benchmark: Any) -> None:
    samples: list[tuple[float, float]] = []
    applied = [0]
    with venue_process("--seed", "9", "--products", "BTC-USD", "--step-interval", str(FLOOD_STEP)) as ws_url:
        app = CryptojApp(EngineConfig(ws_url=ws_url), "BTC-USD", venue="paper", clock=frozen_clock, tune_gc=True)
        app.trading._on_timer_update = timed(samples, app.trading._on_timer_update)  # type: ignore[method-assign]
        update_book = app.trading.ladder.update_book

        def counted(view: Any) -> None:
            applied[0] += 1
            update_book(view)

        app.trading.ladder.update_book = counted  # type: ignore[method-assign]

        async def main() -> tuple[float, int]:
            async with app.run_test(size=SIZE) as pilot:
                await wait_until_live(pilot)
                engine = app.bridge.engine
                assert engine is not None
                book = engine.book("BTC-USD")
                updates_before, applied[0] = book.updates_applied, 0
                since = time.perf_counter()
                await asyncio.sleep(FLOOD_SECONDS)
                return since, book.updates_applied - updates_before

        since, updates = asyncio.run(main())
    durations = painted(samples, since)
    record(benchmark, "frame render, 160x48", "trading screen, venue flooding", durations)
    benchmark.extra_info["book_updates_per_s"] = updates / FLOOD_SECONDS
    benchmark.extra_info["book_views_applied_per_s"] = applied[0] / FLOOD_SECONDS
    benchmark.extra_info["frames_painted_busiest_second"] = busiest_second(samples, since)
    restore_gc()


TWENTY = [
    "BTC-USD",
    "ETH-USD",
    "SOL-USD",
    "ADA-USD",
    "AVAX-USD",
    "BCH-USD",
    "DOGE-USD",
    "DOT-USD",
    "LINK-USD",
    "LTC-USD",
    "XRP-USD",
    "ATOM-USD",
    "UNI-USD",
    "AAVE-USD",
    "ALGO-USD",
    "XLM-USD",
    "FIL-USD",
    "NEAR-USD",
    "ETC-USD",
    "MATIC-USD",
]


def test_frame_watchlist_of_20_products_under_a_flood(benchmark: Any) -> None:
    """Issue 22: 20 products subscribed, the watchlist shown (their rows, sparklines and the
    header), while the venue steps every product 2,000 times a second; every frame timed."""
    samples: list[tuple[float, float]] = []
    with venue_process("--seed", "9", "--products", ",".join(TWENTY), "--step-interval", str(FLOOD_STEP)) as ws_url:
        app = CryptojApp(
            EngineConfig(ws_url=ws_url), "BTC-USD", venue="paper", clock=frozen_clock, tune_gc=True, watch=TWENTY
        )
        app.watchlist._on_timer_update = timed(samples, app.watchlist._on_timer_update)  # type: ignore[method-assign]

        async def main() -> tuple[float, float, int, int]:
            async with app.run_test(size=SIZE) as pilot:
                await wait_until_live(pilot)
                engine = app.bridge.engine
                assert engine is not None
                for product_id in TWENTY:
                    await asyncio.wrap_future(app.bridge.submit(lambda e, p=product_id: e.wait_for_book(p, 30)))
                await pilot.press("7")
                await pilot.pause()
                books = [engine.book(p) for p in TWENTY]
                before = sum(b.updates_applied for b in books)
                since = time.perf_counter()
                # The watchlist repaints twice a second (its rows are read at that rate): 8 s of
                # flood painted about 20 frames, whose p99 was only their slowest one.
                while len(painted(samples, since)) < WATCHLIST_FRAMES and time.perf_counter() - since < 150:
                    await asyncio.sleep(FLOOD_SECONDS / 8)
                flooded = time.perf_counter() - since
                shown = len(app.watchlist_view.rows) if app.watchlist_view is not None else 0
                return since, flooded, sum(b.updates_applied for b in books) - before, shown

        since, flooded, updates, shown = asyncio.run(main())
    assert shown == len(TWENTY)
    record(benchmark, "frame render, 160x48", "watchlist of 20 products, venue flooding", painted(samples, since))
    benchmark.extra_info["book_updates_per_s"] = updates / flooded
    benchmark.extra_info["frames_painted_busiest_second"] = busiest_second(samples, since)
    restore_gc()


class OrderWrites:
    """perf_counter() each time this process writes an order's HTTP request to a socket (the
    order is on the wire), from whichever thread wrote it, and a way to wait for the next one."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self._waiter: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None

    def written(self) -> None:
        self.times.append(time.perf_counter())
        if self._waiter is not None:
            loop, future = self._waiter
            loop.call_soon_threadsafe(lambda: future.done() or future.set_result(None))

    async def wait_for(self, count: int) -> None:
        """Until `count` orders were written: woken by the write, not by polling, so the waiting
        loop takes no time (nor GIL) from the thread that is sending the order."""
        future = asyncio.get_running_loop().create_future()
        self._waiter = (asyncio.get_running_loop(), future)
        try:
            if len(self.times) < count:
                await asyncio.wait_for(future, 10)
        finally:
            self._waiter = None


@contextmanager
def order_writes() -> Iterator[OrderWrites]:
    """Probes the asyncio socket transport's write for the block."""
    writes = OrderWrites()
    write = _SelectorSocketTransport.write

    def probed(transport: Any, data: Any) -> None:
        if bytes(data[:64]).startswith(b"POST /api/v3/brokerage/orders "):
            writes.written()
        write(transport, data)

    _SelectorSocketTransport.write = probed  # type: ignore[method-assign]
    try:
        yield writes
    finally:
        _SelectorSocketTransport.write = write  # type: ignore[method-assign]


@contextmanager
def quiet_venue(products: str = "BTC-USD") -> Iterator[Venue]:
    """A venue whose market does not move, in its own process (as a real one is remote: on a
    thread of ours it would take our GIL to read each order), accepting KEY."""
    with tempfile.TemporaryDirectory() as directory:
        key_file = Path(directory) / "key.json"
        write_key_file(key_file, KEY)
        with venue_process(
            "--seed",
            "5",
            "--products",
            products,
            "--step-interval",
            "0",
            "--rate-limit",
            "0",
            "--api-key-file",
            str(key_file),
        ) as ws_url:
            yield Venue(ws_url)


async def until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.0002)


class MinimalOrderApp(App[None]):
    """`enter` sends a bare aiohttp POST of an order to the venue, with a token signed ahead
    (while idle, as the console's engine signs its next one)."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("enter", "send", "send")]

    def __init__(self, url: str, price: Decimal) -> None:
        super().__init__()
        self.url = url
        self.price = price
        self.session: aiohttp.ClientSession | None = None
        self.token = ""

    def sign_ahead(self) -> None:
        self.token = sign(KEY, "POST " + self.url.split("://", 1)[1])

    async def on_mount(self) -> None:
        self.session = aiohttp.ClientSession()
        self.sign_ahead()

    async def on_unmount(self) -> None:
        if self.session is not None:
            await self.session.close()

    def action_send(self) -> None:
        self.run_worker(self._post())

    async def _post(self) -> None:
        assert self.session is not None
        body = json.dumps(
            {
                "client_order_id": str(uuid.uuid4()),
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "limit_price": str(self.price)}},
            }
        )
        headers = {"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"}
        async with self.session.post(self.url, data=body, headers=headers) as response:
            await response.read()
        self.sign_ahead()


def test_keystroke_to_wire_baseline_minimal_app(benchmark: Any) -> None:
    with quiet_venue() as venue, order_writes() as writes:
        app = MinimalOrderApp(f"{venue.api}/orders", far_bid(venue))

        async def main() -> list[float]:
            samples = []
            async with app.run_test(size=SIZE) as pilot:
                await pilot.pause()
                for n in range(ORDERS):
                    started = time.perf_counter()
                    app.simulate_key("enter")
                    await writes.wait_for(n + 1)
                    samples.append(writes.times[n] - started)
                    await asyncio.sleep(0.01)
            return samples

        samples = asyncio.run(main())
    record(benchmark, "keystroke -> order on the wire", "baseline", samples)


def test_keystroke_to_wire_console(benchmark: Any, tmp_path: Path) -> None:
    """`b` opens a ticket at the cursor; once its preview is in, `enter` is timed to the wire.

    The console is set up as against an external venue: its journal on disk (the intent written
    before the order leaves, flushed by the group commit after; the embedded paper venue's journal
    lives in memory), and its garbage collector tuned once the book is live, as `make run` does.
    """
    with quiet_venue() as venue, order_writes() as writes:
        config = EngineConfig(ws_url=venue.ws_url, key=KEY, journal_path=tmp_path / "journal.db")
        app = CryptojApp(config, "BTC-USD", venue="paper", clock=frozen_clock, tune_gc=True)

        async def main() -> list[float]:
            samples = []
            async with app.run_test(size=SIZE) as pilot:
                await wait_until_live(pilot)
                await until(lambda: app.trading_state == "ACTIVE")
                for n in range(ORDERS):
                    await pilot.press("pagedown")  # away from the inside: the order rests, no fills
                    app.simulate_key("b")
                    await until(lambda: app.trading.ticket.is_open and app.trading.ticket.result is not None)
                    started = time.perf_counter()
                    app.simulate_key("enter")
                    await writes.wait_for(n + 1)
                    samples.append(writes.times[n] - started)
                    await until(lambda: not app.trading.ticket.is_open)

                    async def cancel_all(engine: Engine) -> None:
                        await engine.cancel_all()

                    await asyncio.wrap_future(app.bridge.submit(cancel_all))
                    await pilot.press("space")
            return samples

        samples = asyncio.run(main())
    restore_gc()
    record(benchmark, "keystroke -> order on the wire", "console (ticket open, enter)", samples)
