"""The console driven through Textual's pilot against a real paper venue."""

from __future__ import annotations

import asyncio
import time
from dataclasses import replace
from decimal import Decimal as D
from pathlib import Path

import pytest

from cryptoj_tui.bridge import EngineBridge
from cryptoj_tui.engine import ConnectionState, EngineConfig
from cryptoj_tui.messages import BooksChanged
from cryptoj_tui.sim.venue import VenueThread
from cryptoj_tui.views import BookView
from cryptoj_tui.widgets.status_bar import StatusBar
from tests.ui.conftest import make_app, until, wait_until_live


async def test_ladder_shows_the_venue_book_and_q_quits_cleanly(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        bids, asks = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
        rows = app.trading.ladder.rows
        ask_rows = [r for r in rows if r.kind == "ask"]
        bid_rows = [r for r in rows if r.kind == "bid"]
        # 48 lines less header, positions strip, status bar, footer and borders = 42: column
        # titles, 20 asks, the spread, 20 bids.
        assert (len(ask_rows), len(bid_rows)) == (20, 20)
        assert bid_rows[0].price == f"{bids[0][0]:,.2f}"
        assert ask_rows[-1].price == f"{asks[0][0]:,.2f}"
        assert D(bid_rows[0].bid.replace(",", "")) == bids[0][1]
        assert app.sub_title == "BTC-USD · connected"
        await pilot.press("q")
    assert app.return_code == 0
    assert app.bridge._thread is None


async def test_the_ladder_follows_a_moving_market(live_venue: VenueThread) -> None:
    app = make_app(live_venue)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until_live(pilot)
        start = app.trading.ladder.view.sequence_num  # type: ignore[union-attr]
        async with asyncio.timeout(10):
            while app.trading.ladder.view.sequence_num < start + 20:  # type: ignore[union-attr]
                await pilot.pause(0.02)
        await pilot.pause()
        view, rows = app.trading.ladder.view, app.trading.ladder.rows
        assert view is not None and view.sequence_num >= start + 20
        best_bid_row = next(row for row in rows if row.kind == "bid")
        assert best_bid_row.value == view.bids[0][0]  # the rows show the newest view, not the first


async def test_only_the_rows_that_changed_are_repainted(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until_live(pilot)
        app.bridge.stop()  # hold the book still so only our views reach the ladder
        ladder = app.trading.ladder
        view = ladder.view
        assert view is not None
        (price, size), *rest = view.bids
        one_size_changed = replace(view, bids=((price, size + 1), *rest))
        before = ladder.lines_refreshed
        ladder.update_book(one_size_changed)
        assert ladder.lines_refreshed - before == 1
        ladder.update_book(one_size_changed)
        assert ladder.lines_refreshed - before == 1
        await pilot.pause()


async def test_losing_the_venue_shows_reconnecting_instead_of_a_stale_book(
    frozen_venue: VenueThread,
) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(120, 40)) as pilot:
        await wait_until_live(pilot)
        frozen_venue.stop()
        async with asyncio.timeout(10):
            while app.status.connection is not ConnectionState.RECONNECTING:
                await pilot.pause(0.02)
        assert app.trading.ladder.view is not None and not app.trading.ladder.view.live
        assert any(r.kind == "message" and "reconnecting to paper" in r.price for r in app.trading.ladder.rows)


def test_the_bridge_is_busy_while_a_command_runs_on_the_engine_thread(live_venue: VenueThread) -> None:
    """The console's collections wait while it is (see HeapKeeper); a failed command ends it too."""
    import threading

    bridge = EngineBridge(EngineConfig(ws_url=live_venue.ws_url), lambda message: None)
    bridge.start(["BTC-USD"])
    release = threading.Event()

    async def held(engine: object) -> None:
        while not release.is_set():
            await asyncio.sleep(0.001)

    async def failing(engine: object) -> None:
        raise ValueError("no such thing")

    def idle_soon() -> bool:  # a Future runs its callbacks just after it wakes result()'s caller
        deadline = time.monotonic() + 5
        while bridge.busy and time.monotonic() < deadline:
            time.sleep(0.001)
        return not bridge.busy

    try:
        assert not bridge.busy
        running = bridge.submit(held)
        assert bridge.busy
        release.set()
        running.result(5)
        assert idle_soon()
        with pytest.raises(ValueError):
            bridge.submit(failing).result(5)
        assert idle_soon()
    finally:
        bridge.stop()


def test_a_command_after_the_engine_stopped_fails_its_future_and_raises_nothing(live_venue: VenueThread) -> None:
    """A fill noticed as the console quits asked the stopped engine for its fills: submit raised
    "Event loop is closed" into the UI, which crashed. Now the command's Future carries the error,
    which every caller already reports."""
    from cryptoj_tui.bridge import EngineStopped

    bridge = EngineBridge(EngineConfig(ws_url=live_venue.ws_url), lambda message: None)

    async def anything(engine: object) -> int:
        return 1

    with pytest.raises(EngineStopped, match="not running"):
        bridge.submit(anything).result(1)
    bridge.start(["BTC-USD"])
    assert bridge.submit(anything).result(5) == 1
    bridge.stop()
    with pytest.raises(EngineStopped, match="stopped"):
        bridge.submit(anything).result(1)
    assert not bridge.busy


def test_bridge_posts_one_notice_until_the_ui_takes_the_books(live_venue: VenueThread) -> None:
    """A flood of book updates costs the UI one message per take, whatever the feed rate."""
    posted: list[object] = []
    bridge = EngineBridge(EngineConfig(ws_url=live_venue.ws_url), posted.append)
    bridge.start(["BTC-USD", "ETH-USD"])
    try:
        snapshot_seq = bridge.submit(lambda engine: engine.wait_for_book("BTC-USD")).result(10).sequence_num

        async def advance(engine: object, frames: int = 50) -> int:
            book = engine.book("BTC-USD")  # type: ignore[attr-defined]
            target = book.sequence_num + frames
            async with asyncio.timeout(10):
                while book.sequence_num < target:
                    await asyncio.sleep(0.01)
            return target

        bridge.submit(advance).result(15)
        assert sum(isinstance(m, BooksChanged) for m in posted) == 1
        views = bridge.take_books()
        assert "BTC-USD" in views and set(views) <= {"BTC-USD", "ETH-USD"}
        view: BookView = views["BTC-USD"]
        # The notice went out with the snapshot's view; what the UI takes is far newer.
        assert view.live and view.sequence_num > snapshot_seq + 25 and 50 <= len(view.bids) <= 100
        bridge.submit(advance).result(15)
        assert sum(isinstance(m, BooksChanged) for m in posted) == 2
    finally:
        bridge.stop()


async def test_engine_messages_before_mount_and_after_exit_are_harmless(frozen_venue: VenueThread) -> None:
    """The engine thread can post while the screen is not composed yet, or already torn down."""
    from cryptoj_tui.engine.events import ConnectionStatus, FeedError
    from cryptoj_tui.messages import EngineEvent

    app = make_app(frozen_venue)
    early = BookView("BTC-USD", ((D("1.00"), D("2")),), ((D("1.01"), D("3")),), 0, True)
    app.trading.ladder.update_book(early)
    app.on_engine_event(EngineEvent(ConnectionStatus(url="u", state=ConnectionState.CONNECTED)))
    app.on_engine_event(EngineEvent(FeedError(where="w", message="m")))
    app.on_books_changed(BooksChanged())
    assert app.status.bad_frames == 1
    async with app.run_test(size=(100, 30)) as pilot:
        await wait_until_live(pilot)
    app.on_books_changed(BooksChanged())
    app.on_engine_event(EngineEvent(FeedError(where="w", message="after exit")))


async def test_theme_setting_and_the_settled_heap(frozen_venue: VenueThread, monkeypatch: pytest.MonkeyPatch) -> None:
    """`theme` picks a Textual theme; `make run`'s console freezes its start-up heap once the
    first book is live so full collections stay out of frames, and runs them from its own timer
    (Python's gc is restored here). Regression: that timer's first tick, a minute in, crashed the
    console (Textual cannot call gc.collect itself)."""
    import gc

    from cryptoj_tui.app import CryptojApp
    from cryptoj_tui.heap import GC_THRESHOLDS

    monkeypatch.setattr("cryptoj_tui.heap.FULL_COLLECTION_SECONDS", 0.1)
    config = make_app(frozen_venue, trading=False).engine_config
    app = CryptojApp(config, "BTC-USD", venue="paper", theme="nord", tune_gc=True)
    before = gc.get_threshold()
    try:
        async with app.run_test(size=(120, 40)) as pilot:
            assert app.theme == "nord"
            await wait_until_live(pilot)
            assert gc.get_threshold() == GC_THRESHOLDS and gc.get_freeze_count() > 0
            full_collections = gc.get_stats()[2]["collections"]
            await pilot.pause(0.5)
            # The full collection is the console's own timer's job, not the allocator's.
            assert gc.get_stats()[2]["collections"] >= full_collections + 2 and app.is_running
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


async def test_a_title_change_reaching_a_header_being_taken_down_is_harmless() -> None:
    """Regression: the connection state (the sub-title) changed as the console quit, and Textual's
    Header looked for its title widget after it was removed (NoMatches, a failed exit)."""
    from textual.app import App, ComposeResult
    from textual.widgets._header import HeaderTitle

    from cryptoj_tui.widgets.console_header import ConsoleHeader

    class HeaderApp(App[None]):
        def compose(self) -> ComposeResult:
            yield ConsoleHeader()

    app = HeaderApp()
    async with app.run_test(size=(60, 5)) as pilot:
        app.sub_title = "BTC-USD · connected"
        await pilot.pause()
        assert "BTC-USD · connected" in str(app.query_one(HeaderTitle).render())
        await app.query_one(HeaderTitle).remove()
        app.sub_title = "BTC-USD · closed"
        await pilot.pause()
    assert app.return_code in (None, 0)


async def test_without_a_key_the_status_bar_still_has_the_feeds_age_and_latency(frozen_venue: VenueThread) -> None:
    """Watching only (no API key): no trading state, no order round trip, but the feed's health."""
    app = make_app(frozen_venue, trading=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        status = str(app.trading.query_one(StatusBar).render())
        assert "last frame <2 s" in status and "latency <1 ms" in status
        assert "ACTIVE" not in status and "order rtt" not in status


def test_the_middle_generation_is_collected_by_the_console_when_python_would() -> None:
    import gc

    from cryptoj_tui.heap import GC_THRESHOLDS, MIDDLE_COLLECTION_AFTER, HeapKeeper

    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    keeper = HeapKeeper(lambda: False)
    try:
        gc.collect(1)
        for _ in range(3):
            gc.collect(0)
        keeper.tick()
        assert gc.get_count()[1] == 3  # not due: left alone
        for _ in range(MIDDLE_COLLECTION_AFTER - 3):
            gc.collect(0)
        assert gc.get_count()[1] == MIDDLE_COLLECTION_AFTER  # Python itself would not collect it now
        keeper.tick()
        assert gc.get_count()[1] == 0
    finally:
        gc.set_threshold(*before)


def test_no_collection_runs_while_the_console_is_busy_but_none_waits_forever() -> None:
    """A collection holds the GIL the engine thread needs to send the order: while the console is
    busy (a ticket open, an order going out) it waits a tick, up to ten times its interval."""
    import gc

    from cryptoj_tui.heap import (
        FULL_COLLECTION_SECONDS,
        GC_THRESHOLDS,
        LONGEST_DEFERRAL,
        MIDDLE_COLLECTION_AFTER,
        HeapKeeper,
    )

    before = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    busy, now = [True], [0.0]
    keeper = HeapKeeper(lambda: busy[0], clock=lambda: now[0])

    def full_collections() -> int:
        return int(gc.get_stats()[2]["collections"])

    try:
        gc.collect(1)
        for _ in range(MIDDLE_COLLECTION_AFTER):
            gc.collect(0)
        now[0] = FULL_COLLECTION_SECONDS  # a full collection is due too
        full = full_collections()
        keeper.tick()
        assert gc.get_count()[1] == MIDDLE_COLLECTION_AFTER and full_collections() == full
        busy[0] = False
        keeper.tick()  # the full one, which takes the middle generation with it
        assert full_collections() == full + 1 and gc.get_count()[1] == 0
        keeper.tick()
        assert full_collections() == full + 1  # the next is a minute away

        busy[0] = True  # and stays so: a ticket left open
        for _ in range(MIDDLE_COLLECTION_AFTER * LONGEST_DEFERRAL - 1):
            gc.collect(0)
            keeper.tick()
        assert gc.get_count()[1] == MIDDLE_COLLECTION_AFTER * LONGEST_DEFERRAL - 1
        gc.collect(0)
        keeper.tick()
        assert gc.get_count()[1] == 0  # ten times overdue: collected anyway
        now[0] += FULL_COLLECTION_SECONDS * LONGEST_DEFERRAL - 1
        keeper.tick()
        assert full_collections() == full + 1
        now[0] += 1
        keeper.tick()
        assert full_collections() == full + 2
    finally:
        gc.set_threshold(*before)


async def test_a_theme_picked_while_running_is_handed_on_to_be_kept(frozen_venue: VenueThread) -> None:
    """Issue 18.16: the console tells its owner (the CLI, which writes the config file) the theme
    picked in the palette; the one it starts with is not news."""
    from cryptoj_tui.app import CryptojApp

    picked: list[str] = []
    config = make_app(frozen_venue, trading=False).engine_config
    app = CryptojApp(config, "BTC-USD", venue="paper", theme="nord", on_theme=picked.append)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        assert picked == []
        app.theme = "gruvbox"  # what the palette's "Change theme" does
        await pilot.pause()
    assert picked == ["gruvbox"]


async def test_an_engine_that_cannot_start_ends_the_console_with_one_line(
    frozen_venue: VenueThread, tmp_path: Path
) -> None:
    """Issue 25.4: a damaged (here emptied) journal stops the console with its reason, exit 2,
    rather than a traceback or a silent fresh start."""
    from dataclasses import replace as changed

    from cryptoj_tui.app import CryptojApp

    journal = tmp_path / "journal.db"
    journal.write_bytes(b"")
    config = changed(make_app(frozen_venue).engine_config, journal_path=journal)
    app = CryptojApp(config, "BTC-USD", venue="paper")
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: not app.is_running)
    assert app.return_code == 2 and app.error.startswith(f"journal {journal}: the file is empty: ")
