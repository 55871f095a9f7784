"""Screen switches timed from the key to the first painted frame, and the minimal app they are
measured against. `python -m benchmarks.switching N` times N switches of the minimal app in a
process of its own and prints the seconds as JSON (the console's benchmarks run it in turn with
their own rounds)."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from typing import Any

from textual.app import App
from textual.screen import Screen

SIZE = (160, 48)


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


async def switch_times(
    app: App[Any], key: str, screen: Screen[Any], painted: Callable[[], bool], back: str, count: int
) -> list[float]:
    """Seconds from `key` to `screen`'s first painted frame (`painted`, its painted_flag, made
    once before the screen is first shown: its timer keeps the method it had), `count` times,
    and `back` after each."""
    samples = []
    for _ in range(count):
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


def minimal_switches(count: int) -> list[float]:
    """`count` switches of the minimal app, here."""

    async def main() -> list[float]:
        app = MinimalSwitcher()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            two = app.get_screen("two")
            samples = await switch_times(app, "2", two, painted_flag(two), "1", count + 1)
            return samples[1:]  # not its first showing: this process is one of several turns

    return asyncio.run(main())


if __name__ == "__main__":
    print(json.dumps(minimal_switches(int(sys.argv[1]))))
