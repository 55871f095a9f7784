"""The console's speed, each against a same-run baseline.

- ladder render: a new book view applied and every line rendered, against a minimal Line-API
  widget of the same size rendering fresh strips of the same width.
- key -> screen under a flood: `b` until the order ticket is on screen while the venue steps
  every half millisecond, against the same key in a minimal app that pushes a screen.
"""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from pathlib import Path
from typing import Any, ClassVar

from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.binding import Binding, BindingType
from textual.screen import Screen
from textual.strip import Strip
from textual.widget import Widget

from benchmarks.support import record, restore_gc, scaled
from cryptoj_tui.app import CryptojApp
from cryptoj_tui.cdp_keys import write_key_file
from cryptoj_tui.engine import EngineConfig
from cryptoj_tui.views import BookView
from cryptoj_tui.widgets.ladder import Ladder
from tests.ui.conftest import KEY, frozen_clock, wait_until_live

SIZE = (160, 48)
PRESSES = scaled(200)  # p99 of fewer than 100 samples is just the maximum


def views(count: int) -> list[BookView]:
    """A moving book: each view shifts some levels, as a live market does between frames."""
    rng = random.Random(1)
    result = []
    for _ in range(count):
        mid = 65_000 + rng.randint(-5, 5)
        bids = tuple((Decimal(mid) - Decimal(n) / 4, Decimal(rng.randint(1, 10**6)) / 10**7) for n in range(1, 101))
        asks = tuple((Decimal(mid) + Decimal(n) / 4, Decimal(rng.randint(1, 10**6)) / 10**7) for n in range(1, 101))
        result.append(BookView("BTC-USD", bids, asks, 1, True))
    return result


class MinimalLines(Widget):
    """The least a Line-API widget can do: one fresh strip per line."""

    def render_line(self, y: int) -> Strip:
        return Strip([Segment(f"{y:>6} {'x' * 40}")]).adjust_cell_length(self.size.width)


class Harness(App[None]):
    def compose(self) -> ComposeResult:
        yield Ladder("BTC-USD", id="ladder")
        yield MinimalLines(id="minimal")

    CSS = "Ladder, MinimalLines { height: 46; width: 72; }"


def run_in_app(benchmark: Any, role: str, body: Any) -> None:
    async def main() -> None:
        app = Harness()
        async with app.run_test(size=SIZE) as pilot:
            await pilot.pause()
            body(app, benchmark)

    benchmark.group = "ladder render, 46 lines"
    benchmark.extra_info["role"] = role
    asyncio.run(main())


def test_render_baseline_minimal_line_widget(benchmark: Any) -> None:
    def body(app: Harness, bench: Any) -> None:
        widget = app.query_one(MinimalLines)
        height = widget.size.height
        bench(lambda: [widget.render_line(y) for y in range(height)])

    run_in_app(benchmark, "baseline", body)


def test_render_ladder_new_view_every_frame(benchmark: Any) -> None:
    frames = views(200)

    def body(app: Harness, bench: Any) -> None:
        ladder = app.query_one(Ladder)
        height = ladder.size.height
        state = {"n": 0}

        def frame() -> None:
            ladder.update_book(frames[state["n"] % len(frames)])
            state["n"] += 1
            for y in range(height):
                ladder.render_line(y)

        bench(frame)

    run_in_app(benchmark, "ladder (new book view + every line)", body)


class MinimalScreen(Screen[None]):
    pass


class MinimalApp(App[None]):
    BINDINGS: ClassVar[list[BindingType]] = [Binding("b", "open", "open"), Binding("escape", "close", "close")]

    def action_open(self) -> None:
        self.push_screen(MinimalScreen())

    def action_close(self) -> None:
        if isinstance(self.screen, MinimalScreen):
            self.pop_screen()


async def key_latencies(app: App[Any], opened: Any, ready: Any = None) -> list[float]:
    """`b` -> the first frame written to the terminal with `opened(app)` true (the ticket, or the
    minimal app's screen, on screen), `PRESSES` times; escape between."""
    async with app.run_test(size=SIZE) as pilot:
        if ready is not None:
            await ready(pilot)
        await pilot.pause()
        shown = {"yes": False}
        display = app._display

        def displayed(screen: Any, update: Any) -> None:
            display(screen, update)
            if opened(app):
                shown["yes"] = True

        app._display = displayed  # type: ignore[method-assign]
        latencies = []
        for _ in range(PRESSES):
            shown["yes"] = False
            started = time.perf_counter()
            app.simulate_key("b")
            while not shown["yes"]:
                await asyncio.sleep(0.0005)
            latencies.append(time.perf_counter() - started)
            app.simulate_key("escape")
            while opened(app):
                await asyncio.sleep(0.0005)
            await asyncio.sleep(0.02)
        return latencies


def test_key_latency_baseline_minimal_app(benchmark: Any) -> None:
    samples = asyncio.run(key_latencies(MinimalApp(), lambda app: isinstance(app.screen, MinimalScreen)))
    record(benchmark, "key -> screen", "baseline", samples)


def test_key_latency_console_under_a_flood(benchmark: Any, tmp_path: Path) -> None:
    """The venue in its own process steps 2,000 times a second while `b` is timed."""
    from benchmarks.test_console_frames import FLOOD_STEP, venue_process

    key_file = tmp_path / "key.json"
    write_key_file(key_file, KEY)
    with venue_process(
        "--seed",
        "9",
        "--products",
        "BTC-USD",
        "--step-interval",
        str(FLOOD_STEP),
        "--api-key-file",
        str(key_file),
        "--rate-limit",
        "0",
    ) as ws_url:
        app = CryptojApp(
            EngineConfig(ws_url=ws_url, key=KEY),
            "BTC-USD",
            venue="paper",
            clock=frozen_clock,
            flash_seconds=0.4,
            tune_gc=True,
        )

        async def ready(pilot: Any) -> None:
            await wait_until_live(pilot)
            while app.trading_state != "ACTIVE":
                await pilot.pause(0.02)

        samples = asyncio.run(key_latencies(app, lambda a: a.trading.ticket.is_open, ready))
        updates = app.bridge.engine.book("BTC-USD").updates_applied if app.bridge.engine else 0
    restore_gc()
    record(benchmark, "key -> screen", "console, venue flooding", samples)
    benchmark.extra_info["book_updates_during_run"] = updates
