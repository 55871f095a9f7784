"""Console fixtures: a paper venue on its own thread (as the console embeds it), a frozen clock."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from textual.pilot import Pilot

from cryptoj_tui.app import CryptojApp
from cryptoj_tui.cdp_keys import generate_key
from cryptoj_tui.engine import ConnectionState, Engine, EngineConfig
from cryptoj_tui.screens.modals import KillReportScreen
from cryptoj_tui.sim.venue import VenueConfig, VenueThread
from cryptoj_tui.widgets.order_ticket import OrderTicket

FROZEN_NOW = datetime(2026, 11, 25, 14, 30, 0, tzinfo=UTC)


def frozen_clock() -> datetime:
    return FROZEN_NOW


def frozen_venue_clock() -> int:
    """The venue's clock, frozen too: trade times and candles are the same every run."""
    return int(FROZEN_NOW.timestamp()) * 1_000_000_000


@pytest.fixture
def frozen_venue() -> Iterator[VenueThread]:
    """A seeded venue whose market does not move: the same book every run."""
    with VenueThread(VenueConfig(seed=7, step_interval=0), clock=frozen_venue_clock) as thread:
        yield thread


@pytest.fixture
def live_venue() -> Iterator[VenueThread]:
    """A seeded venue with a busy market."""
    with VenueThread(VenueConfig(seed=7, step_interval=0.01)) as thread:
        yield thread


KEY = generate_key()


def seeded_ids(seed: int = 7) -> Callable[[], str]:
    """Client order ids as a seeded sequence of UUID4s (the same every run)."""
    rng = random.Random(seed)
    return lambda: str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_app(
    venue: VenueThread,
    product: str = "BTC-USD",
    *,
    trading: bool = True,
    flash_seconds: float = 0,
    embedded: bool = False,
) -> CryptojApp:
    """The console on `venue`, with an API key the venue accepts (as `make run` has) unless not;
    `embedded` makes it speak of the venue as `make run`'s own, which stops with it.

    Size-change flashes are off unless asked for: they last a fraction of a second, and a
    screen must look the same however fast the machine reaches it.
    """
    key = None
    if trading:
        venue.call(lambda v: v.keys.register(KEY.name, KEY.public_key()))
        key = KEY
    # The engine's wall clock is the venue's frozen one too, so feed latency reads the same every
    # run; order ids come from a seeded sequence, so the ids a screen shows are the same too.
    config = EngineConfig(
        ws_url=venue.ws_url, stale_after=3.0, key=key, wall_clock=frozen_clock, client_order_ids=seeded_ids()
    )
    return CryptojApp(
        config, product, venue="paper", clock=frozen_clock, flash_seconds=flash_seconds, embedded_venue=embedded
    )


async def wait_until_live(pilot: Pilot, timeout: float = 10.0) -> None:
    """Wait until the ladder shows a live book, the status bar says connected with the feed's
    latency, and the tape and chart have the venue's recent trades."""
    app = pilot.app
    assert isinstance(app, CryptojApp)
    async with asyncio.timeout(timeout):
        while True:
            view = app.trading.ladder.view
            # The venue's recent trades follow the book snapshot: wait for them too (tape, chart).
            # The feed's metrics come once a second: wait for them too (last frame, latency).
            if (
                view is not None
                and view.live
                and app.status.connection is ConnectionState.CONNECTED
                and app.trading.tape.trades
                and app.trading.chart.closes
                and app.status.feed_latency_ms is not None
            ):
                break
            await pilot.pause(0.02)
    await pilot.pause()


async def until(pilot: Pilot, condition: object, timeout: float = 10.0) -> None:
    """Wait, a frame at a time, until `condition()` holds (TimeoutError after `timeout`)."""
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await pilot.pause(0.02)


async def ready_to_trade(pilot: Pilot) -> None:
    """`wait_until_live`, then until the engine has armed trading (ACTIVE)."""
    await wait_until_live(pilot)
    await until(pilot, lambda: getattr(pilot.app, "trading_state", "") == "ACTIVE")


async def halt_and_close_the_report(pilot: Pilot) -> None:
    """ctrl+k, then enter on the kill switch report: back on the screen it was pressed on, HALTED."""
    app = pilot.app
    assert isinstance(app, CryptojApp)
    await pilot.press("ctrl+k")
    await until(pilot, lambda: isinstance(app.screen, KillReportScreen))
    await pilot.press("enter")
    await until(pilot, lambda: not isinstance(app.screen, KillReportScreen))


async def open_ticket(pilot: Pilot, key: str = "b") -> OrderTicket:
    """Press `key` (b or s) on the trading screen and wait until its ticket is open."""
    app = pilot.app
    assert isinstance(app, CryptojApp)
    await pilot.press(key)
    await until(pilot, lambda: app.trading.ticket.is_open)
    await pilot.pause()
    return app.trading.ticket


async def place_resting(app: CryptojApp, count: int) -> None:
    """`count` buys of 0.001 BTC-USD resting 50 and more below the best bid (through the engine)."""

    async def place(engine: Engine) -> None:
        bid = engine.book("BTC-USD").best_bid()
        assert bid is not None
        for n in range(count):
            await engine.place_limit("BTC-USD", "buy", size="0.001", price=bid[0] - 50 - n)

    await asyncio.wrap_future(app.bridge.submit(place))


def venue_open(venue: VenueThread) -> int:
    """How many of the console's orders the venue has open."""
    return venue.call(lambda v: sum(o.status == "OPEN" for o in v.exchange.owner_orders(KEY.name)))


def toasts(app: CryptojApp) -> list[str]:
    """Every toast the console showed (or holds behind a dialog), oldest first, as "title: message"."""
    return [f"{title}: {message}" for title, message in app.notices]
