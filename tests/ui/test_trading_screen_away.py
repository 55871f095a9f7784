"""The trading screen while another screen is shown: its ladder and tape are not laid out for
nobody, and coming back shows the latest book and every trade that printed meanwhile. Under a
dialog it stays in view, and live."""

from __future__ import annotations

import asyncio
from functools import partial

from cryptoj_tui.engine import Engine
from cryptoj_tui.screens.modals import ProductPickerScreen
from cryptoj_tui.screens.watchlist import WatchlistScreen
from cryptoj_tui.sim.venue import VenueThread
from cryptoj_tui.views import BookView
from cryptoj_tui.widgets.trades_tape import MAX_TRADES
from tests.ui.conftest import make_app, until, wait_until_live


async def test_away_the_ladder_waits_and_back_it_shows_the_latest_book_and_every_trade(
    live_venue: VenueThread,
) -> None:
    app = make_app(live_venue, trading=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        engine = app.bridge.engine
        assert engine is not None
        await pilot.press("7")
        await until(pilot, lambda: isinstance(app.screen, WatchlistScreen))
        left_with = app.trading.ladder.view
        newest_before = app.trading.tape.trades[0].trade_id
        book = engine.book("BTC-USD")
        await until(pilot, lambda: book.sequence_num > (left_with.sequence_num if left_with else 0) + 20)
        # The market stops before coming back: a busy machine could otherwise print more trades
        # after the return than the tape holds, and the ones printed away would be gone from it.
        live_venue.call(lambda venue: venue.pause_flow())
        await pilot.pause(0.3)
        assert app.trading.ladder.view is left_with  # no view laid out while away
        printed_away = await asyncio.wrap_future(app.bridge.submit(partial(trades_since, newest_before)))
        assert printed_away, "the venue printed no trade while the watchlist was shown"

        await pilot.press("1")
        await until(pilot, lambda: app.screen is app.trading)
        view = app.trading.ladder.view
        assert isinstance(view, BookView) and left_with is not None
        assert view.sequence_num > left_with.sequence_num + 20  # what was held, or newer
        # The trades that printed while away follow the ones printed since (newest first), none
        # missing, as many as the tape holds.
        shown = [t.trade_id for t in app.trading.tape.trades]
        newer = next(i for i, trade_id in enumerate(shown) if trade_id in set(printed_away))
        assert shown[newer : newer + len(printed_away)] == printed_away[: MAX_TRADES - newer]


async def trades_since(trade_id: str, engine: Engine) -> list[str]:
    """On the engine thread: ids of the BTC-USD trades printed after `trade_id`, newest first."""
    printed = [t.trade_id for t in engine.market_data.tapes["BTC-USD"].trades]
    return printed[: printed.index(trade_id)]


async def test_under_a_dialog_the_ladder_stays_live(live_venue: VenueThread) -> None:
    app = make_app(live_venue, trading=False)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await pilot.press("ctrl+o")
        await until(pilot, lambda: isinstance(app.screen, ProductPickerScreen))
        under = app.trading.ladder.view
        assert under is not None
        async with asyncio.timeout(10):
            while app.trading.ladder.view is under:
                await pilot.pause(0.02)
        assert isinstance(app.screen, ProductPickerScreen)
