"""Each screen of the console: from its key to its first painted frame, against the same switch
in a minimal app between two empty screens. The console runs on a seeded venue whose market
does not move, in its own process (as a real venue is remote), with a few orders working, so
every screen has rows to draw.

The minimal app's switches are taken in turn with each screen's, a chunk of one then a chunk of
the other, the minimal app in a process of its own while the console waits: the minimal app's
switch measured 2.0 to 4.6 ms from one run to the next when it was measured once before all the
screens, so a ratio against it said as much about when it ran as about the console.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from textual.widgets import Input, OptionList

from benchmarks.support import record, scaled
from benchmarks.switching import SIZE, painted_flag, switch_times
from benchmarks.test_console_frames import quiet_venue
from cryptoj_tui.app import CryptojApp
from cryptoj_tui.engine import EngineConfig
from cryptoj_tui.screens.modals import ProductPickerScreen
from tests.ui.conftest import KEY, frozen_clock, place_resting, wait_until_live

SWITCHES = scaled(40)
SCREENS = {"2": "orders", "3": "positions", "4": "risk", "5": "journal", "6": "help", "7": "watchlist"}


CHUNKS = scaled(4, 1)
"""Turns of console rounds and minimal-app rounds per screen."""


def minimal_app_switches(count: int) -> list[float]:
    """`count` switches of the minimal app, in a process of its own (benchmarks/switching.py)."""
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.switching", str(count)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    samples: list[float] = json.loads(done.stdout.strip().splitlines()[-1])
    return samples


async def switches_in_turn(console_rounds: Callable[[int], Awaitable[list[float]]]) -> tuple[list[float], list[float]]:
    """(console samples, minimal app samples): CHUNKS turns of each, SWITCHES of each in all."""
    console: list[float] = []
    minimal: list[float] = []
    per_chunk = max(1, SWITCHES // CHUNKS)
    for _ in range(CHUNKS):
        console += await console_rounds(per_chunk)
        minimal += await asyncio.to_thread(minimal_app_switches, per_chunk)
    return console, minimal


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


PAIRED: dict[str, tuple[list[float], list[float]]] = {}
"""Each switch's (console, minimal app) samples, taken once for both of its benchmarks."""


def screen_samples(key: str) -> tuple[list[float], list[float]]:
    if key not in PAIRED:
        with quiet_venue() as venue:
            app = CryptojApp(EngineConfig(ws_url=venue.ws_url, key=KEY), "BTC-USD", venue="paper", clock=frozen_clock)

            async def main() -> tuple[list[float], list[float]]:
                async with app.run_test(size=SIZE) as pilot:
                    await wait_until_live(pilot)
                    await place_resting(app, 5)
                    target = app.get_screen(SCREENS[key])
                    painted = painted_flag(target)
                    return await switches_in_turn(lambda count: switch_times(app, key, target, painted, "1", count))

            PAIRED[key] = asyncio.run(main())
    return PAIRED[key]


@pytest.mark.parametrize("key", list(SCREENS), ids=list(SCREENS.values()))
def test_screen_switch_baseline_minimal_app(benchmark: Any, key: str) -> None:
    """The minimal app's switches taken in turn with this screen's."""
    record(benchmark, f"screen key -> first frame: {SCREENS[key]}", "baseline", screen_samples(key)[1])


@pytest.mark.parametrize("key", list(SCREENS), ids=list(SCREENS.values()))
def test_screen_switch_console(benchmark: Any, key: str) -> None:
    record(benchmark, f"screen key -> first frame: {SCREENS[key]}", SCREENS[key], screen_samples(key)[0])


def product_switch_samples() -> tuple[list[float], list[float]]:
    """Issue 22: the picker open on the other product, enter -> the trading screen painted with that
    product's ladder live (both products subscribed, as a watchlist's are), BTC-USD and ETH-USD
    in turn; and the minimal app's screen switches taken in turn with them."""
    if "product" in PAIRED:
        return PAIRED["product"]
    with quiet_venue("BTC-USD,ETH-USD") as venue:
        app = CryptojApp(
            EngineConfig(ws_url=venue.ws_url, key=KEY), "BTC-USD", venue="paper", clock=frozen_clock, watch=["ETH-USD"]
        )

        async def main() -> tuple[list[float], list[float]]:
            async with app.run_test(size=SIZE) as pilot:
                await wait_until_live(pilot)
                await place_resting(app, 5)
                drawn = ladder_drawn(app.trading.ladder)
                switched = 0

                async def rounds(count: int) -> list[float]:
                    nonlocal switched
                    samples = []
                    for _ in range(count):
                        target = "ETH-USD" if switched % 2 == 0 else "BTC-USD"
                        switched += 1
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

                return await switches_in_turn(rounds)

        PAIRED["product"] = asyncio.run(main())
    return PAIRED["product"]


def test_product_switch_baseline_minimal_app(benchmark: Any) -> None:
    """The minimal app's screen switches taken in turn with the product switches."""
    record(benchmark, "screen key -> first frame: product switch", "baseline", product_switch_samples()[1])


def test_product_switch_console(benchmark: Any) -> None:
    record(benchmark, "screen key -> first frame: product switch", "product switch", product_switch_samples()[0])
