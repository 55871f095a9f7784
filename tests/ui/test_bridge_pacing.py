"""What the engine thread hands the console while every watched product moves: the traded
product's book views at up to the frame rate and its trades; the others' views four times a
second and no trades (the console shows none of them; a switch reads their state afresh)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest
from textual.message import Message

from cryptoj_tui.bridge import BACKGROUND_VIEW_SECONDS, EngineBridge
from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.messages import BooksChanged, TradesArrived
from cryptoj_tui.sim.venue import VenueConfig, VenueThread

WATCHED = ["BTC-USD", "ETH-USD"]
BACKGROUND_MOST = round(1 / BACKGROUND_VIEW_SECONDS) + 2


@pytest.fixture
def busy_venue() -> Iterator[VenueThread]:
    """Both products stepping 500 times a second: books and trades change all the time."""
    with VenueThread(VenueConfig(seed=11, products=tuple(WATCHED), step_interval=0.002)) as thread:
        yield thread


class Console:
    """Stands in for the app: takes books and trades on each notice, as the app does, and keeps
    when each product's views arrived and which products' trades came."""

    def __init__(self) -> None:
        self.bridge: EngineBridge | None = None
        self.views: dict[str, list[float]] = {p: [] for p in WATCHED}
        self.traded_products: set[str] = set()
        self.loop = asyncio.get_running_loop()

    def post(self, message: Message) -> None:  # called on the engine thread
        self.loop.call_soon_threadsafe(self._handle, message)

    def _handle(self, message: Message) -> None:
        assert self.bridge is not None
        if isinstance(message, BooksChanged):
            now = time.monotonic()
            for product_id in self.bridge.take_books():
                self.views[product_id].append(now)
        elif isinstance(message, TradesArrived):
            trades, _ = self.bridge.take_trades()
            self.traded_products |= {p for p, printed in trades.items() if printed}

    def clear(self) -> None:
        self.views = {p: [] for p in WATCHED}
        self.traded_products = set()


async def watch(console: Console, seconds: float) -> None:
    console.clear()
    await asyncio.sleep(seconds)


def most_in_any_second(times: list[float]) -> int:
    return max((sum(1 for t in times if start <= t < start + 1) for start in times), default=0)


async def test_only_the_traded_products_views_go_at_the_frame_rate_and_only_its_trades_come(
    busy_venue: VenueThread,
) -> None:
    console = Console()
    bridge = EngineBridge(EngineConfig(ws_url=busy_venue.ws_url), console.post)
    console.bridge = bridge
    await asyncio.to_thread(bridge.start, list(WATCHED))
    try:
        await asyncio.wrap_future(bridge.submit(lambda e: e.wait_for_book("ETH-USD", 10)))
        await watch(console, 2.0)
        # Views of a product not traded: one each BACKGROUND_VIEW_SECONDS (counted as they reach
        # the console, so two more for a window opened by a late one); the traded product's come
        # far more often (before pacing, the other's did too: 58 in a second).
        assert 1 <= most_in_any_second(console.views["ETH-USD"]) <= BACKGROUND_MOST
        assert most_in_any_second(console.views["BTC-USD"]) > 2 * BACKGROUND_MOST
        assert console.traded_products == {"BTC-USD"}

        def switch(engine: Engine) -> Coroutine[Any, Any, object]:
            return bridge.watch_product(engine, "ETH-USD", traded=True)

        await asyncio.wrap_future(bridge.submit(switch))
        await watch(console, 2.0)
        assert 1 <= most_in_any_second(console.views["BTC-USD"]) <= BACKGROUND_MOST
        assert most_in_any_second(console.views["ETH-USD"]) > 2 * BACKGROUND_MOST
        assert console.traded_products == {"ETH-USD"}
    finally:
        await asyncio.to_thread(bridge.stop)
