"""Each screen of the console: from its key to its first painted frame, against the same switch
in a minimal app between two empty screens. The console runs on a seeded venue whose market
does not move, in its own process (as a real venue is remote), with a few orders working, so
every screen has rows to draw.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest
from textual.app import App
from textual.screen import Screen
from textual.widgets import Input, OptionList

from benchmarks.support import record, scaled
from benchmarks.test_console_frames import quiet_venue
from cryptoj_tui.app import CryptojApp
from cryptoj_tui.engine import EngineConfig
from cryptoj_tui.screens.modals import ProductPickerScreen
from tests.ui.conftest import KEY, frozen_clock, place_resting, wait_until_live

SIZE = (160, 48)
SWITCHES = scaled(40)
SCREENS = {"2": "orders", "3": "positions", "4": "risk", "5": "journal", "6": "help", "7": "watchlist"}


def painted_flag(screen: Screen[Any]) -> Callable[[], bool]:
    """A flag set each time `screen` paints a frame; reading it clears it."""
    state = {"painted": False}
    update = screen._on_timer_update

    def timed() -> None:
        update()
        state["painted"] = True

    screen._on_timer_update = timed  # type: ignore[method-assign]

    def take() -> bool:
        painted, state["painted"] = state["painted"], False
        return painted

    return take


async def switch_times(app: App[Any], key: str, target: Callable[[], Screen[Any]], back: str) -> list[float]:
    screen = target()
    painted = painted_flag(screen)
    samples = []
    for _ in range(SWITCHES):
        painted()
        started = time.perf_counter()
        app.simulate_key(key)
        while not (app.screen is screen and painted()):
            await asyncio.sleep(0.0002)
        samples.append(time.perf_counter() - started)
        app.simulate_key(back)
        while app.screen is screen:
            await asyncio.sleep(0.0002)
        await asyncio.sleep(0.02)
    return samples


def ladder_drawn(ladder: Any) -> Callable[[], str]:
    """The product whose live rows the ladder last drew a line of, "" until it does; reading
    it clears it (the trading screen's timer is made at its mount, so its paint cannot be
    hooked as a screen shown for the first time can)."""
    state = {"drawn": ""}
    draw = ladder.render_inner_line

    def render_inner_line(y: int) -> Any:
        if ladder.view is not None and ladder.view.live:
            state["drawn"] = ladder.view.product_id
        return draw(y)

    ladder.render_inner_line = render_inner_line

    def take() -> str:
        drawn, state["drawn"] = state["drawn"], ""
        return drawn

    return take


class Blank(Screen[None]):
    pass


class MinimalSwitcher(App[None]):
    """Keys 1 and 2 switch between two empty screens, as the console's screen keys do."""

    def on_mount(self) -> None:
        self.install_screen(Blank(), "one")
        self.install_screen(Blank(), "two")
        self.push_screen("one")

    def on_key(self, event: Any) -> None:
        if event.key in ("1", "2"):
            self.switch_screen("one" if event.key == "1" else "two")


def test_screen_switch_baseline_minimal_app(benchmark: Any) -> None:
    async def main() -> list[float]:
        app = MinimalSwitcher()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            return await switch_times(app, "2", lambda: app.get_screen("two"), "1")

    record(benchmark, "screen key -> first frame", "baseline", asyncio.run(main()))


@pytest.mark.parametrize("key", list(SCREENS), ids=list(SCREENS.values()))
def test_screen_switch_console(benchmark: Any, key: str) -> None:
    with quiet_venue() as venue:
        app = CryptojApp(EngineConfig(ws_url=venue.ws_url, key=KEY), "BTC-USD", venue="paper", clock=frozen_clock)

        async def main() -> list[float]:
            async with app.run_test(size=SIZE) as pilot:
                await wait_until_live(pilot)
                await place_resting(app, 5)
                return await switch_times(app, key, lambda: app.get_screen(SCREENS[key]), "1")

        samples = asyncio.run(main())
    record(benchmark, "screen key -> first frame", SCREENS[key], samples)


def test_product_switch_console(benchmark: Any) -> None:
    """Issue 22: the picker open on the other product, enter -> the trading screen painted with that
    product's ladder live (both products subscribed, as a watchlist's are), BTC-USD and ETH-USD
    in turn; against the minimal app's screen switch."""
    with quiet_venue("BTC-USD,ETH-USD") as venue:
        app = CryptojApp(
            EngineConfig(ws_url=venue.ws_url, key=KEY), "BTC-USD", venue="paper", clock=frozen_clock, watch=["ETH-USD"]
        )

        async def main() -> list[float]:
            async with app.run_test(size=SIZE) as pilot:
                await wait_until_live(pilot)
                await place_resting(app, 5)
                drawn = ladder_drawn(app.trading.ladder)
                samples = []
                for n in range(SWITCHES):
                    target = "ETH-USD" if n % 2 == 0 else "BTC-USD"
                    app.simulate_key("ctrl+o")
                    while not (isinstance(app.screen, ProductPickerScreen) and app.screen.query("#products")):
                        await asyncio.sleep(0.0002)
                    app.screen.query_one("#query", Input).value = target
                    options = app.screen.query_one("#products", OptionList)
                    while not (options.option_count == 1 and options.get_option_at_index(0).id == target):
                        await asyncio.sleep(0.0002)
                    await asyncio.sleep(0.02)
                    ladder = app.trading.ladder
                    started = time.perf_counter()
                    app.simulate_key("enter")
                    while not (
                        app.screen is app.trading
                        and ladder.view is not None
                        and ladder.view.product_id == target
                        and ladder.view.live
                        and drawn() == target
                    ):
                        await asyncio.sleep(0.0002)
                    samples.append(time.perf_counter() - started)
                    await asyncio.sleep(0.02)
                return samples

        samples = asyncio.run(main())
    record(benchmark, "screen key -> first frame", "product switch", samples)
