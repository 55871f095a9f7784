"""Order entry from the keyboard: tickets at the cursor, the preview, refusals inline, the
orders on the ladder, and no tickets while halted."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

from textual.widgets import Input, Static

from cryptoj_tui.engine import Engine
from cryptoj_tui.sim.venue import VenueThread
from cryptoj_tui.widgets.status_bar import StatusBar
from tests.ui.conftest import (
    KEY,
    halt_and_close_the_report,
    make_app,
    open_ticket,
    ready_to_trade,
    toasts,
    until,
    wait_until_live,
)


def venue_orders(venue: VenueThread) -> list:
    return venue.call(lambda v: [(o.side, o.limit_price, o.status) for o in v.exchange.owner_orders(KEY.name)])


async def test_buy_and_sell_from_the_keyboard_show_on_the_ladder(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    bids, asks = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await pilot.press("down", "b")  # the cursor starts on the best bid; one down is the 2nd
        await until(pilot, lambda: app.trading.ticket.is_open)
        await pilot.pause()
        ticket = app.trading.ticket
        assert ticket.query_one("#price", Input).value == f"{bids[1][0]:f}"
        await until(pilot, lambda: ticket.result is not None)
        preview = str(ticket.query_one("#preview", Static).render())
        assert "notional" in preview and "✓ balance" in preview
        await pilot.press("enter")
        await until(pilot, lambda: not app.trading.ticket.is_open)
        await pilot.press("space", "up", "s")  # back to the inside, then one up: over the spread to the best ask
        await until(pilot, lambda: app.trading.ticket.is_open)
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: len(venue_orders(frozen_venue)) == 2)
        assert sorted(venue_orders(frozen_venue)) == [("BUY", bids[1][0], "OPEN"), ("SELL", asks[0][0], "OPEN")]
        await until(
            pilot,
            lambda: any(r.own_bid for r in app.trading.ladder.rows) and any(r.own_ask for r in app.trading.ladder.rows),
        )
        own_bid = next(r for r in app.trading.ladder.rows if r.own_bid)
        assert own_bid.value == bids[1][0] and own_bid.own_bid == "0.01"


async def test_a_refusal_stays_in_the_ticket_with_its_reason(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        ticket = await open_ticket(pilot)
        size = ticket.query_one("#size", Input)
        size.value = "100"
        await until(pilot, lambda: ticket.result is not None and not ticket.result.ok)
        await pilot.press("enter")
        refusal = ticket.query_one("#refusal", Static)
        await until(pilot, lambda: "refused" in str(refusal.render()))
        assert "over the max order size" in str(refusal.render()) and app.trading.ticket.is_open
        await pilot.press("f2")  # quick size 0.01
        assert size.value == "0.01"
        await pilot.press("escape")
        await pilot.pause()
        assert not app.trading.ticket.is_open and venue_orders(frozen_venue) == []


async def test_a_slow_venue_shows_sending_and_a_second_enter_sends_nothing(frozen_venue: VenueThread) -> None:
    """Scenario: the venue takes 1.5 s to answer; the trader hits enter twice. One order reaches
    the venue; meanwhile the ticket says "sending…" in its border; once the venue answers it closes.
    (0.4 s was too short for a loaded CI machine to see the "sending…" before the answer.)"""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        ticket = await open_ticket(pilot)
        await until(pilot, lambda: ticket.result is not None)
        frozen_venue.call(lambda v: v.faults.slow_rest(1.5))
        await pilot.press("enter", "enter")
        await until(pilot, lambda: str(ticket.border_subtitle) == "sending…")
        assert ticket.is_open and ticket.check_action("send", ()) is False  # one order in flight: enter is off
        await until(pilot, lambda: not ticket.is_open, timeout=5)
        frozen_venue.call(lambda v: v.faults.slow_rest(0))
        await pilot.pause(0.5)  # a second order would have reached the venue by now
        assert len(venue_orders(frozen_venue)) == 1 and not ticket.border_subtitle


async def test_no_ticket_while_halted(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await halt_and_close_the_report(pilot)
        await pilot.press("b")
        await pilot.pause()
        assert app.screen is app.trading and not app.trading.ticket.is_open


async def test_clicking_a_price_opens_a_ticket_there(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        rows = app.trading.ladder.rows
        y = next(i for i, r in enumerate(rows) if r.kind == "ask")
        # Row y of the book is line y + 1 of the ladder, under its frame's top edge.
        await pilot.click("#ladder", offset=(app.trading.ladder.size.width // 2, y + 1))
        await until(pilot, lambda: app.trading.ticket.is_open)
        await pilot.pause()
        assert app.trading.ticket.side == "sell"
        assert D(app.trading.ticket.query_one("#price", Input).value) == rows[y].value
        await asyncio.sleep(0)


async def test_a_trade_prints_on_the_tape_and_its_price_is_marked_on_the_ladder(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    _, asks = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await open_ticket(pilot)
        app.trading.ticket.query_one("#price", Input).value = f"{asks[0][0]:f}"  # at the best ask: it trades
        await pilot.press("enter")
        await until(pilot, lambda: any(t.price == asks[0][0] for t in app.trading.tape.trades))
        assert app.trading.ladder.last_trade == asks[0][0]
        assert app.trading.tape.trades[0].side == "SELL"  # the resting seller was the maker


async def test_keys_still_work_while_the_feed_floods() -> None:
    """Scenario: the venue steps every half millisecond; the trader opens a ticket, sends it and
    switches screens, and each reaction comes while the flood goes on (book and trade updates
    coalesce into one pending notice each, so keystrokes never queue behind them). The latency
    itself is measured in benchmarks/test_console.py."""
    from cryptoj_tui.sim.venue import VenueConfig

    with VenueThread(VenueConfig(seed=9, step_interval=0.0005, warmup_steps=50)) as venue:
        app = make_app(venue)
        async with app.run_test(size=(160, 48)) as pilot:
            await wait_until_live(pilot)
            await until(pilot, lambda: app.trading_state == "ACTIVE")
            frames_before = app.bridge.engine.metrics.frames  # type: ignore[union-attr]
            # simulate_key, not pilot.press: the pilot waits for an idle app, which a flood never is.
            for key in ("down", "down", "b"):
                app.simulate_key(key)
            await until(pilot, lambda: app.trading.ticket.is_open, timeout=5)
            app.simulate_key("enter")
            await until(pilot, lambda: not app.trading.ticket.is_open, timeout=5)
            app.simulate_key("2")
            await until(pilot, lambda: app.screen is app.blotter and app.orders != {}, timeout=5)
            assert app.bridge.engine.metrics.frames - frames_before > 10  # the flood went on meanwhile  # type: ignore[union-attr]


async def test_a_ticket_closed_before_its_preview_arrives_is_harmless(frozen_venue: VenueThread) -> None:
    """Regression: escape right after b used to crash the app when the preview answer came back."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        for _ in range(5):
            app.simulate_key("b")
            await until(pilot, lambda: app.trading.ticket.is_open)
            app.simulate_key("escape")
            await until(pilot, lambda: not app.trading.ticket.is_open)
        await pilot.pause(0.2)
        assert app.is_running and app.screen is app.trading and not app.trading.ticket.is_open


async def test_a_size_change_flashes_its_row_briefly(frozen_venue: VenueThread) -> None:
    """Our buy joins the second bid: that level's size grows, its row flashes "up", then settles."""
    app = make_app(frozen_venue, flash_seconds=1.5)  # long enough to be seen on a loaded machine
    bids, _ = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        ladder = app.trading.ladder
        assert not any(r.flash for r in ladder.rows)  # the first book is not a change
        await pilot.press("down", "b")
        await until(pilot, lambda: app.trading.ticket.is_open)
        await pilot.pause()
        await pilot.press("enter")
        await until(pilot, lambda: any(r.flash for r in ladder.rows))
        assert [(r.value, r.flash) for r in ladder.rows if r.flash] == [(bids[1][0], "up")]
        await until(pilot, lambda: not any(r.flash for r in ladder.rows))
        assert ladder._flashes == {} and ladder._flash_timer is None


async def test_the_ticket_keys_move_between_fields_and_enter_in_the_type_list_picks_a_type(
    frozen_venue: VenueThread,
) -> None:
    """The ticket is a panel beside the ladder: ↑/↓ go from field to field inside it, and enter
    in the open type list picks a type rather than sending the order."""
    from textual.widgets import Select

    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await pilot.press("b")
        await until(pilot, lambda: app.trading.ticket.is_open)
        ticket = app.trading.ticket
        await until(pilot, lambda: app.focused is ticket.query_one("#size"))
        await pilot.press("down")
        assert app.focused is ticket.query_one("#price")
        await pilot.press("down")
        assert app.focused is ticket.query_one("#take_profit")  # a limit can carry a bracket
        await pilot.press("down")
        assert app.focused is ticket.query_one("#stop_loss")
        await pilot.press("down")  # round to the first field
        kind = ticket.query_one("#type", Select)
        assert app.focused is kind
        await pilot.press("space")
        await until(pilot, lambda: kind.expanded)
        await pilot.press("down", "enter")
        await until(pilot, lambda: not kind.expanded)
        assert kind.value == "post_only" and ticket.is_open and venue_orders(frozen_venue) == []


async def test_in_80_by_24_the_ticket_leaves_the_status_bar_and_footer_in_view(frozen_venue: VenueThread) -> None:
    app = make_app(frozen_venue)
    async with app.run_test(size=(80, 24)) as pilot:
        await ready_to_trade(pilot)
        await open_ticket(pilot)
        assert app.trading.ticket.region.bottom <= 24 - 3
        assert app.trading.query_one(StatusBar).region.y == 22 and app.focused is app.trading.ticket.query_one("#size")


async def test_the_kill_switch_closes_an_open_ticket(frozen_venue: VenueThread) -> None:
    """Scenario: a ticket is open with an order typed when the trader hits ctrl+k: HALTED, the
    ticket is gone (nothing more will be sent from it) and nothing reached the venue."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        await open_ticket(pilot, "s")
        await halt_and_close_the_report(pilot)
        assert app.trading_state == "HALTED" and not app.trading.ticket.is_open
        assert app.focused is None and venue_orders(frozen_venue) == []


def press_at_once(app, *keys: str) -> None:  # type: ignore[no-untyped-def]
    """Queue key presses as a terminal delivers a fast burst: all before the app handles the first
    (pilot.press waits for the app to go idle after each key, so it cannot show a race)."""
    from textual import events

    for key in keys:
        app.post_message(events.Key(key, key if len(key) == 1 else None))


async def test_enter_on_the_type_field_opens_its_list_and_never_sends(frozen_venue: VenueThread) -> None:
    """Issue 18.1: b, up to the type field, enter sent a marketable limit. Enter on the type
    field opens the list (and picks in it); only enter on the other fields sends."""
    from textual.widgets import Select

    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        ticket = await open_ticket(pilot)
        await pilot.press("up")
        kind = ticket.query_one("#type", Select)
        assert app.focused is kind
        await pilot.press("enter")
        await until(pilot, lambda: kind.expanded)
        await pilot.press("escape")
        await until(pilot, lambda: not kind.expanded)
        await pilot.pause(0.3)  # an order would have reached the venue by now
        assert ticket.is_open and venue_orders(frozen_venue) == []
        assert ticket.check_action("send", ()) is False  # the footer's Send is off there too
        await pilot.press("down")  # to the size field: enter sends from there
        assert app.focused is ticket.query_one("#size") and ticket.check_action("send", ()) is True


async def test_keys_typed_in_a_burst_after_b_go_to_the_ticket_in_order(frozen_venue: VenueThread) -> None:
    """Issue 18.3: `b` then `5` at once switched to the journal screen; `down` then `64000` put
    64000 into the size field. Each key goes where the ticket's focus is when it is handled."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        press_at_once(app, "b", "0", ".", "5")
        await until(pilot, lambda: app.trading.ticket.is_open)
        await pilot.pause()
        ticket = app.trading.ticket
        assert app.screen is app.trading and ticket.query_one("#size", Input).value == "0.5"
        press_at_once(app, "down", "6", "4", "0", "0", "0")
        await until(pilot, lambda: ticket.query_one("#price", Input).value == "64000")
        assert ticket.query_one("#size", Input).value == "0.5" and app.screen is app.trading
        press_at_once(app, "escape", "5")  # once closed, the screen keys are the screen's again
        await until(pilot, lambda: app.screen is app.journal)


async def test_enter_at_the_end_of_a_burst_sends_what_was_typed(frozen_venue: VenueThread) -> None:
    """Enter is the ticket's priority binding: it runs in the app's loop while the digits typed
    before it may still wait in the size field's queue. `b 0.5 enter` at once (a paste, a macro,
    a quick hand) sent the prefilled 0.01, an order the trader never typed. Enter now acts
    after the keys before it."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        press_at_once(app, "down", "b", "0", ".", "5", "enter")
        await until(pilot, lambda: len(frozen_venue.call(lambda v: v.exchange.owner_orders(KEY.name))) == 1)
        [order] = frozen_venue.call(lambda v: v.exchange.owner_orders(KEY.name))
        assert order.base_size == D("0.5")


async def test_a_field_cleared_and_retyped_in_a_burst_keeps_what_was_typed(frozen_venue: VenueThread) -> None:
    """Found in tmux: `b down ctrl+u 0.001` at once left the price field empty: the clear and the
    typing must land in order, in the field the ticket's focus is on."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        press_at_once(app, "b", "down", "ctrl+u", "6", "4", "0", "0", "0")
        ticket = app.trading.ticket
        await until(pilot, lambda: ticket.is_open)
        await pilot.pause(0.2)
        assert ticket.query_one("#price", Input).value == "64000"


async def test_a_limit_through_the_spread_says_it_takes_liquidity_and_f5_moves_it_to_the_inside(
    frozen_venue: VenueThread,
) -> None:
    """Issue 18.2: a buy at the best ask fills at once as a taker; the ticket says so with the
    fee before it is sent, and F5 moves the price to the best bid."""
    app = make_app(frozen_venue)
    bids, asks = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        ticket = await open_ticket(pilot)
        preview = ticket.query_one("#preview", Static)
        await until(pilot, lambda: ticket.result is not None)
        assert "crosses the spread" not in str(preview.render())  # at the best bid it rests
        ticket.query_one("#price", Input).value = f"{asks[0][0]:f}"
        fee = (asks[0][0] * D("0.01") * D("0.006")).quantize(D("0.01"))
        await until(pilot, lambda: "crosses the spread" in str(preview.render()))
        text = str(preview.render())
        assert f"crosses the spread: takes liquidity, fee ~{fee:,.2f}" in text
        assert f"F5 joins the bid at {bids[0][0]:,.2f}" in text
        await pilot.press("f5")
        assert ticket.query_one("#price", Input).value == f"{bids[0][0]:f}"
        await until(pilot, lambda: "crosses the spread" not in str(preview.render()))
        assert venue_orders(frozen_venue) == []


async def test_a_sell_through_the_bid_and_a_post_only_that_would_take_say_so(frozen_venue: VenueThread) -> None:
    from textual.widgets import Select

    app = make_app(frozen_venue)
    bids, asks = frozen_venue.call(lambda v: v.book_levels("BTC-USD"))
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        ticket = await open_ticket(pilot, "s")
        preview = ticket.query_one("#preview", Static)
        ticket.query_one("#price", Input).value = f"{bids[1][0]:f}"  # below the best bid: takes
        await until(pilot, lambda: "takes liquidity" in str(preview.render()))
        assert f"F5 joins the ask at {asks[0][0]:,.2f}" in str(preview.render())
        ticket.query_one("#type", Select).value = "post_only"
        await until(pilot, lambda: "the venue rejects a post-only that would take" in str(preview.render()))
        ticket.query_one("#type", Select).value = "market"
        await until(pilot, lambda: "takes liquidity, fee ~" in str(preview.render()))
        assert "F5 joins" not in str(preview.render())  # a market order has no price to move


async def test_an_absurd_size_is_refused_in_the_ticket_and_the_console_goes_on(frozen_venue: VenueThread) -> None:
    """Issue 25.1: typing 1e30 into the size crashed the console (decimal.InvalidOperation in the
    increments check), and the shell saw exit 0. It is refused with its reason; nothing is sent."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        ticket = await open_ticket(pilot)
        ticket.query_one("#size", Input).value = "1e30"
        preview = ticket.query_one("#preview", Static)
        await until(pilot, lambda: "too large" in str(preview.render()))
        assert str(preview.render()) == "not ready: size 1E+30 is too large: a venue takes numbers under 10^15"
        await pilot.press("enter")
        await until(pilot, lambda: "too large" in str(ticket.query_one("#refusal", Static).render()))
        await pilot.press("f2", "enter")  # corrected, it goes
        await until(pilot, lambda: len(venue_orders(frozen_venue)) == 1)
        assert app.is_running


async def test_a_products_own_limit_refuses_in_its_ticket_naming_the_product(frozen_venue: VenueThread) -> None:
    """Issue 22: ETH-USD's own max order size (set at run time, as `set_limit` with a product
    does) refuses an ETH order in the ticket with its reason; BTC-USD keeps the account's limit."""
    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)

        async def limit_eth(engine: Engine) -> None:
            engine.set_limit("max_order_size", "0.005", reason="test", product_id="ETH-USD")

        await asyncio.wrap_future(app.bridge.submit(limit_eth))
        ticket = await open_ticket(pilot)  # BTC-USD, 0.01: the account's limit (5) allows it
        await until(pilot, lambda: ticket.result is not None and ticket.result.ok)
        await pilot.press("escape")
        app.switch_product("ETH-USD")
        ladder = app.trading.ladder
        await until(pilot, lambda: ladder.view is not None and ladder.view.product_id == "ETH-USD" and ladder.view.live)
        ticket = await open_ticket(pilot)
        await until(pilot, lambda: ticket.result is not None and not ticket.result.ok)
        await pilot.press("enter")
        refusal = ticket.query_one("#refusal", Static)
        await until(pilot, lambda: "refused" in str(refusal.render()))
        assert "size 0.01 is over the max order size 0.005 of ETH-USD" in str(refusal.render())
        await pilot.press("escape")
        await pilot.pause()
        assert venue_orders(frozen_venue) == []


async def test_the_tickets_border_is_the_sides_colour_and_follows_the_theme(frozen_venue: VenueThread) -> None:
    from textual.color import Color

    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        ticket = app.trading.ticket

        def border() -> Color:
            return ticket.styles.border_top[1]

        def theme(name: str) -> Color:
            return Color.parse(app.theme_variables[name])

        await pilot.press("s")
        await until(pilot, lambda: ticket.is_open)
        assert border() == theme("error")
        await pilot.press("escape", "b")
        await until(pilot, lambda: ticket.is_open)
        assert border() == theme("success")
        await pilot.press("escape", "s")
        await until(pilot, lambda: ticket.is_open)
        dark_error = border()
        app.theme = "nord"
        await pilot.pause()
        assert border() == theme("error") != dark_error


async def test_a_market_buy_sized_in_quote_from_the_ticket(frozen_venue: VenueThread) -> None:
    """Scenario: the ticket's "market, size in quote" type labels the size in USD, previews the
    amount as the notional and an estimated position, and sends a quote_size order that fills;
    the blotter shows its size in USD. A sell sized so is refused in the ticket (Coinbase has none)."""
    from textual.widgets import DataTable, Label, Select

    app = make_app(frozen_venue)
    async with app.run_test(size=(160, 48)) as pilot:
        await ready_to_trade(pilot)
        ticket = await open_ticket(pilot, "s")
        preview = ticket.query_one("#preview", Static)
        ticket.query_one("#type", Select).value = "market_quote"
        ticket.query_one("#size", Input).value = "250"
        await until(pilot, lambda: "base currency only" in str(preview.render()))
        assert str(ticket.query_one("#size_label", Label).render()) == "size (USD)"
        await pilot.press("escape")
        ticket = await open_ticket(pilot, "b")
        assert str(ticket.query_one("#size_label", Label).render()) == "size"  # a fresh ticket is a limit
        ticket.query_one("#type", Select).value = "market_quote"
        ticket.query_one("#size", Input).value = "250"
        await until(pilot, lambda: "notional   250.00" in str(preview.render()))
        assert "position   0.00000000 → ~0.00" in str(preview.render())
        await pilot.press("enter")
        await until(pilot, lambda: not ticket.is_open)
        orders = frozen_venue.call(lambda v: [(o.quote_size, o.status) for o in v.exchange.owner_orders(KEY.name)])
        assert orders == [(D("250"), "FILLED")]
        await until(pilot, lambda: any("BUY filled" in toast for toast in toasts(app)))
        (fill,) = [toast for toast in toasts(app) if "BUY filled" in toast]
        filled = frozen_venue.call(lambda v: next(iter(v.exchange.owner_orders(KEY.name))).filled_size)
        assert f"BUY filled {filled:.8f} BTC-USD for 250.00 USD at avg" in fill
        await pilot.press("2")
        await until(pilot, lambda: "250.00 USD" in str(app.screen.query_one(DataTable).get_row_at(0)))
        await pilot.press("5")
        await until(pilot, lambda: "BUY 250.00 USD of BTC-USD market" in str(app.journal_entries))
