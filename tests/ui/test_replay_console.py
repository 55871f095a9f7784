"""The console on a recording (`cryptoj replay FILE`): the replay bar, its keys, trading off."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from textual.pilot import Pilot

from cryptoj_tui.app import CryptojApp, ReplayConsole
from cryptoj_tui.engine import Engine
from cryptoj_tui.replay.binance import BinanceReplayPlayer
from cryptoj_tui.replay.headless import replay_config
from cryptoj_tui.replay.player import PlayerThread, RecordingIndex, ReplayPlayer
from cryptoj_tui.screens.modals import GotoTimeScreen
from tests.capture_data import BINANCE_WS, COINBASE_SESSION
from tests.ui.conftest import frozen_clock, toasts, until


@pytest.fixture
def player(captures: Path) -> Iterator[PlayerThread]:
    index = RecordingIndex(captures / COINBASE_SESSION)
    thread = PlayerThread(lambda: ReplayPlayer(index, paused=True))
    thread.start()
    yield thread
    thread.stop()
    index.close()


def replay_app(player: PlayerThread) -> CryptojApp:
    config = replay_config(player.url, wall_clock=frozen_clock)
    return ReplayConsole(
        config, "BTC-USD", venue="recording session-2026-08-09.jsonl.gz", clock=frozen_clock, replay=player
    )


async def handled_everything(pilot: Pilot, player: PlayerThread) -> None:
    """Until the engine has handled every frame the player sent and the ladder shows it."""
    app = pilot.app
    assert isinstance(app, CryptojApp) and player.player is not None

    async def frames(engine: Engine) -> int:
        return engine.metrics.frames

    async with asyncio.timeout(10):
        while await asyncio.wrap_future(app.bridge.submit(frames)) < player.player.frames_sent:
            await pilot.pause(0.02)
    await pilot.pause(0.3)  # the ladder's paced view, and the replay bar's tick


async def at(pilot: Pilot, player: PlayerThread, position: int) -> None:
    assert player.player is not None
    connections = player.player.connections
    player.control("seek", position)
    await until(pilot, lambda: player.player.connections > connections and player.player.caught_up.is_set())  # type: ignore[union-attr]
    await handled_everything(pilot, player)


async def test_the_replay_keys_pause_step_seek_and_change_speed(player: PlayerThread) -> None:
    app = replay_app(player)
    async with app.run_test(size=(160, 48)) as pilot:
        await at(pilot, player, 600)
        assert app.status.replay == "21:06:02 UTC · 600/1,030 · 1x · paused"
        state = player.player
        assert state is not None
        await pilot.press("full_stop", "full_stop")
        await until(pilot, lambda: state.position == 602)
        stepped_to = state.time
        await pilot.press("semicolon")  # +10 s of recorded time
        await until(pilot, lambda: state.time >= stepped_to + 9 and state.caught_up.is_set())
        assert state.position == player.player.index.position_at(stepped_to + 10)
        await pilot.press("comma")
        await until(pilot, lambda: state.time < stepped_to + 1 and state.caught_up.is_set())
        await pilot.press("plus", "plus", "minus")
        await until(pilot, lambda: state.speed == 2.0)
        await pilot.press("space")
        await until(pilot, lambda: not state.paused)
        await pilot.press("space")
        await until(pilot, lambda: state.paused)
        await until(pilot, lambda: app.status.replay.endswith("· 2x · paused"))


async def test_go_to_a_time_of_day(player: PlayerThread) -> None:
    app = replay_app(player)
    async with app.run_test(size=(160, 48)) as pilot:
        await at(pilot, player, 100)
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GotoTimeScreen))
        time_input = app.screen.query_one("#time")
        time_input.value = "21:06:05"  # type: ignore[attr-defined]
        await pilot.press("enter")
        assert player.player is not None
        await until(pilot, lambda: player.player.position == player.player.index.position_at(1786309565.0))  # type: ignore[union-attr]
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, GotoTimeScreen))
        app.screen.query_one("#time").value = "soon"  # type: ignore[attr-defined]
        await pilot.press("enter")
        await until(pilot, lambda: "'soon' is not HH:MM or HH:MM:SS" in str(app.screen.query_one("#problem").render()))
        await pilot.press("escape")
        await until(pilot, lambda: not isinstance(app.screen, GotoTimeScreen))


async def test_trading_is_off_and_says_so(player: PlayerThread) -> None:
    app = replay_app(player)
    async with app.run_test(size=(160, 48)) as pilot:
        await at(pilot, player, 600)
        await pilot.press("b")
        await until(pilot, lambda: any("replay: trading is off while a recording plays" in t for t in toasts(app)))
        assert not app.trading.ticket.is_open
        await pilot.press("ctrl+k")
        await until(pilot, lambda: any("replay: trading is off: there is no trading to halt" in t for t in toasts(app)))


def test_replay_paused_on_the_trading_screen(player: PlayerThread, snap_compare: Any) -> None:
    async def paused_at_600(pilot: Pilot) -> None:
        await at(pilot, player, 600)

    assert snap_compare(replay_app(player), terminal_size=(160, 48), run_before=paused_at_600)


def test_replay_paused_on_a_small_terminal(player: PlayerThread, snap_compare: Any) -> None:
    async def paused_at_600(pilot: Pilot) -> None:
        await at(pilot, player, 600)

    assert snap_compare(replay_app(player), terminal_size=(80, 24), run_before=paused_at_600)


async def test_a_binance_recording_plays_in_the_console_with_the_same_keys(captures: Path) -> None:
    """The cryptofeed Binance capture in shared/: its books over a loopback Binance, the replay
    bar and its keys as for Coinbase (a seek resyncs from a snapshot of the book at that point)."""
    index = RecordingIndex(captures / BINANCE_WS)
    thread = PlayerThread(lambda: BinanceReplayPlayer(index, paused=True))
    thread.start()
    try:
        assert isinstance(thread.player, BinanceReplayPlayer)
        config = replay_config(thread.url, venue="binance", rest_url=thread.player.rest_url, wall_clock=frozen_clock)
        app = ReplayConsole(config, "NKN-USDT", venue="recording BINANCE.ws.1.0", clock=frozen_clock, replay=thread)
        async with app.run_test(size=(160, 48)) as pilot:
            await at(pilot, thread, 150)
            await pilot.press("full_stop", "full_stop", "full_stop")
            await until(pilot, lambda: thread.player.position == 153)  # type: ignore[union-attr]
            await until(pilot, lambda: app.status.replay.endswith("· 153/265 · 1x · paused"))

            async def best_bid(engine: Engine) -> object:
                return engine.book("NKN-USDT").best_bid() if engine.market_data.is_live("NKN-USDT") else None

            async with asyncio.timeout(10):  # the book starts from the snapshot of the seek's point
                while await asyncio.wrap_future(app.bridge.submit(best_bid)) is None:
                    await pilot.pause(0.02)
            await pilot.press("b")
            await until(pilot, lambda: any("replay: trading is off while a recording plays" in t for t in toasts(app)))
    finally:
        thread.stop()
        index.close()
