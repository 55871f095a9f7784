"""The watchlist: every watched product's row; sort; enter trades the product; a adds from the
venue's list; d removes (not the one traded)."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from textual.color import Color
from textual.widgets import Input

from cryptoj_tui.engine import Engine
from cryptoj_tui.screens.modals import ProductPickerScreen
from cryptoj_tui.screens.watchlist import WatchlistScreen, percent, sparkline
from cryptoj_tui.sim.venue import VenueThread
from cryptoj_tui.widgets.row_table import RowTable
from tests.ui.conftest import make_app, toasts, until, wait_until_live


def test_a_sparkline_is_one_bar_a_close_newest_right() -> None:
    assert sparkline((D(1), D(2), D(3), D(2))) == "▁▄█▄"
    assert sparkline((D(5), D(5))) == "▁▁" and sparkline(()) == ""
    assert len(sparkline(tuple(D(n) for n in range(100)))) == 30


def test_a_days_change_is_signed_to_the_hundredth_and_none_is_a_dash() -> None:
    assert [percent(D(v)) for v in ("1.234", "-0.456", "-0.001", "0")] == ["+1.23", "-0.46", "+0.00", "+0.00"]
    assert percent(None) == "—"


def rows(app: object) -> list[tuple[str, ...]]:
    table = app.watchlist.query_one(RowTable)  # type: ignore[attr-defined]
    return [cells for _, cells in table.rows]


async def test_watch_add_sort_trade_and_remove(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    app.watched.append("SOL-USD")
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await pilot.press("7")
        await until(pilot, lambda: isinstance(app.screen, WatchlistScreen))
        await until(pilot, lambda: len(rows(app)) == 2 and "—" not in rows(app)[1][1])
        btc, sol = rows(app)
        assert btc[0] == "▶ BTC-USD" and sol[0] == "  SOL-USD"  # the traded one is marked
        bids, asks = frozen_venue.call(lambda v: v.book_levels("SOL-USD"))
        assert sol[1] == f"{bids[0][0]:,.2f}" and sol[2] == f"{asks[0][0]:,.2f}" and sol[6] == "flat"
        await pilot.press("a")
        await until(pilot, lambda: isinstance(app.screen, ProductPickerScreen))
        app.screen.query_one("#query", Input).value = "eth-usd"
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: [r[0][2:] for r in rows(app)] == ["BTC-USD", "ETH-USD", "SOL-USD"])
        await pilot.press("o", "o", "o")  # product -> 24h % -> spread % -> position
        assert "sorted by position" in str(app.watchlist.query_one("#caption").render())
        await pilot.press("o")
        table = app.watchlist.query_one(RowTable)
        table.move_cursor(row=2)  # SOL-USD
        await pilot.press("enter")
        await until(pilot, lambda: app.product_id == "SOL-USD" and app.screen is app.trading)
        await until(pilot, lambda: app.trading.ladder.view is not None and app.trading.ladder.view.live)
        await pilot.press("7")
        await until(pilot, lambda: rows(app)[2][0] == "▶ SOL-USD")
        table.move_cursor(row=0)  # BTC-USD, not traded now: it may go
        await pilot.press("d")
        await until(pilot, lambda: [r[0] for r in rows(app)] == ["  ETH-USD", "▶ SOL-USD"])
        engine = app.bridge.engine
        assert engine is not None and "BTC-USD" not in engine.market_data.products()  # unsubscribed
        table.move_cursor(row=1)
        await pilot.press("d")  # the traded one stays, with the reason
        await until(pilot, lambda: any("is the product traded" in n for _, n in app.notices))
        assert len(rows(app)) == 2


async def test_a_product_with_working_orders_stays_on_the_watchlist_saying_why(frozen_venue: VenueThread) -> None:
    """Its book is needed for its orders' risk checks: removing it is refused, with the reason."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await until(pilot, lambda: app.trading_state == "ACTIVE")

        async def rest_eth(engine: Engine) -> None:
            await engine.subscribe("ETH-USD")
            bid = (await engine.wait_for_book("ETH-USD")).best_bid()
            assert bid is not None
            order = await engine.place_limit("ETH-USD", "buy", size="0.01", price=bid[0] - 5)
            await engine.wait_for(order, "OPEN")

        await asyncio.wrap_future(app.bridge.submit(rest_eth))
        app.watched.append("ETH-USD")  # as `a` would have added it
        await pilot.press("7")
        await until(pilot, lambda: [r[0] for r in rows(app)] == ["▶ BTC-USD", "  ETH-USD"])
        app.watchlist.query_one(RowTable).move_cursor(row=1)
        await pilot.press("d")
        await until(pilot, lambda: any("ETH-USD stays: ETH-USD has 1 working order(s)" in n for n in toasts(app)))
        assert [r[0] for r in rows(app)] == ["▶ BTC-USD", "  ETH-USD"]


async def test_a_screen_shown_again_after_a_theme_change_has_the_new_themes_colours(frozen_venue: VenueThread) -> None:
    """Screens are not restyled on every switch to them (only when the app's CSS changed since):
    a theme chosen while the watchlist was away is the watchlist's when it is shown again."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await wait_until_live(pilot)
        await pilot.press("7")
        await until(pilot, lambda: app.screen is app.watchlist)
        caption = app.watchlist.query_one("#caption")
        before = (app.watchlist.styles.background, caption.styles.color)
        await pilot.press("1")
        await until(pilot, lambda: app.screen is app.trading)
        app.theme = "textual-light" if app.current_theme.dark else "textual-dark"
        await pilot.pause()
        await pilot.press("7")
        await until(pilot, lambda: app.screen is app.watchlist)
        await pilot.pause()
        after = (app.watchlist.styles.background, caption.styles.color)
        assert after != before
        assert app.watchlist.styles.background == Color.parse(app.theme_variables["background"])
