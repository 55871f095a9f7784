"""The failures users of comparable systems reported (../shared/PEERS.md), one named test each,
each made impossible here: real engine, real paper venue, loopback sockets."""

from __future__ import annotations

import asyncio
import sqlite3
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptoj_tui.cdp_keys import CdpKey, generate_key
from cryptoj_tui.engine import Engine, Side
from cryptoj_tui.engine.adapters.coinbase.auth import JwtSigner
from cryptoj_tui.engine.adapters.coinbase.execution_client import CoinbaseExecutionClient
from cryptoj_tui.engine.adapters.coinbase.rest import CoinbaseRest
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.emergency import Emergency
from cryptoj_tui.engine.events import BookReset, BookUpdated
from cryptoj_tui.engine.execution import Execution
from cryptoj_tui.engine.journal import Journal
from cryptoj_tui.engine.orders import OrderStatus
from cryptoj_tui.engine.portfolio import Portfolio
from cryptoj_tui.engine.risk import RiskLimits, RiskManager, TradingState
from cryptoj_tui.engine.trading import OrderRefusedError
from cryptoj_tui.sim import frames
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import next_event, trading_config
from tests.integration.helpers import assert_position_matches_venue_fills, best, venue_order


def open_at_venue(venue: PaperVenue, owner_key: CdpKey) -> list[str]:
    """The client order ids the venue has open for one key."""
    return sorted(o.client_order_id for o in venue.exchange.owner_orders(owner_key.name) if o.status == "OPEN")


async def another_trader_buys_through(venue: PaperVenue, price: D, beyond: D = D(0)) -> None:
    """A second account buys every offer below `price` and `beyond` more at `price` itself,
    with a limit order at `price` (the venue's own matching decides who fills)."""
    async with Engine(trading_config(venue, generate_key())) as other:
        await other.subscribe("BTC-USD")
        await other.wait_for_book("BTC-USD")
        asks = other.book("BTC-USD").levels(Side.ASK)
        size = sum((s for p, s in asks if p < price), D(0)) + beyond
        order = await other.place_limit("BTC-USD", "buy", size=size, price=price)
        await other.wait_for(order, "FILLED")


async def test_hummingbot_2534_a_kill_switch_whose_own_sums_throw_halts_and_no_order_flows(
    trader: Engine, quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]
) -> None:
    """hummingbot #2534: the kill switch's calculation raised after its threshold, and orders kept
    flowing. Here a trigger that cannot be evaluated is itself the reason to halt."""
    trading = trader.trading
    assert trading is not None
    bid, _ = best(trader)
    working = await trader.place_limit("BTC-USD", "buy", size="0.01", price=bid - 50)
    await trader.wait_for(working, "OPEN")

    def marks_that_throw() -> dict[str, D | None]:
        raise ArithmeticError("mark of BTC-USD: division by zero")

    # The engine's own parts, with the one input the loss trigger needs broken.
    emergency = Emergency(
        trading.risk, trading.execution, trading.portfolio, trading.journal, trader.bus, marks=marks_that_throw
    )
    reason = emergency.breach([])
    assert reason == (
        "the halt triggers could not be evaluated (ArithmeticError('mark of BTC-USD: division by zero')): "
        "halting to be safe"
    )
    report = await emergency.kill_switch(reason)
    assert report.cancelled == (working.client_order_id,) and report.failed == ()
    assert trader.state is TradingState.HALTED
    with pytest.raises(OrderRefusedError, match="HALTED"):
        await trader.place_limit("BTC-USD", "buy", size="0.01", price=bid - 60)
    assert open_at_venue(quiet_venue, api_key[1]) == []


async def test_hummingbot_1508_no_order_is_created_after_stop(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]
) -> None:
    """hummingbot #1508: the bot kept creating orders after `stop`. A stopped engine refuses to
    place, and the venue receives nothing."""
    engine = Engine(trading_config(quiet_venue, api_key[1]))
    await engine.start()
    await engine.subscribe("BTC-USD")
    await engine.wait_for_book("BTC-USD")
    bid, _ = best(engine)
    await engine.stop()
    with pytest.raises(OrderRefusedError, match="stopped"):
        await engine.place_limit("BTC-USD", "buy", size="0.01", price=bid - 50)
    assert quiet_venue.exchange.owner_orders(api_key[1].name) == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    marks=st.lists(st.decimals(min_value=D("0.01"), max_value=D("10000000"), places=2), min_size=1, max_size=20),
)
def test_hummingbot_1145_a_flat_account_never_trips_the_loss_trigger(marks: list[D]) -> None:
    """hummingbot #1145/#1866: the loss trigger fired with no trades or no position, from
    mark-to-market noise. With nothing held, no mark moves the PnL, so nothing halts or warns."""

    bus, journal, portfolio = EventBus(), Journal(":memory:"), Portfolio()
    alerts = bus.subscribe()
    risk = RiskManager(RiskLimits(daily_loss_limit=D("0.01"), max_drawdown=D("0.01")))
    execution = Execution(
        CoinbaseExecutionClient(CoinbaseRest("http://127.0.0.1:9", JwtSigner(generate_key()))), bus, journal
    )
    current: dict[str, D | None] = {}
    emergency = Emergency(risk, execution, portfolio, journal, bus, marks=lambda: dict(current))
    portfolio.start_day(current)
    for mark in marks:
        current["BTC-USD"] = mark
        assert emergency.breach([]) is None
    assert risk.state is TradingState.ACTIVE
    assert alerts.get_nowait() is None


async def test_freqtrade_907_an_order_that_fills_while_the_engine_is_down_is_known_at_restart(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey], tmp_path: Path
) -> None:
    """freqtrade #907: resting orders filled after the bot stopped or crashed, and it never knew.
    Stopping leaves working orders at the venue (the console asks first, and offers to cancel
    them); whatever happens to them meanwhile is what the restarted engine knows."""
    config = trading_config(quiet_venue, api_key[1], journal_path=tmp_path / "journal.db")
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        _, ask = best(engine)
        resting = await engine.place_limit("BTC-USD", "sell", size="0.02", price=ask + D("0.01"))
        await engine.wait_for(resting, "OPEN")
    await another_trader_buys_through(quiet_venue, resting.request.price, beyond=D("0.02"))  # all of it
    assert venue_order(quiet_venue, resting.order_id).status == "FILLED"

    async with Engine(config) as restarted:
        order = restarted.order(resting.client_order_id)
        assert order.status is OrderStatus.FILLED and order.filled_size == D("0.02")
        assert restarted.open_orders() == []
        assert_position_matches_venue_fills(restarted, quiet_venue, [resting.order_id])


async def test_freqtrade_11608_the_kill_switch_leaves_no_stop_order_at_the_venue(
    trader: Engine, quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]
) -> None:
    """freqtrade #11608/#12681: stop orders were left on the exchange after exit. A stop waiting
    for its trigger is a working order like any other: the kill switch cancels it too."""
    bid, _ = best(trader)
    stop = await trader.place("BTC-USD", "sell", "stop_limit", "0.01", stop_price=bid - 100, price=bid - 101)
    limit = await trader.place_limit("BTC-USD", "buy", size="0.01", price=bid - 50)
    await trader.wait_for(stop, "OPEN")
    await trader.wait_for(limit, "OPEN")
    report = await trader.kill_switch("end of day")
    assert sorted(report.cancelled) == sorted([stop.client_order_id, limit.client_order_id])
    assert open_at_venue(quiet_venue, api_key[1]) == []
    assert venue_order(quiet_venue, stop.order_id).status == "CANCELLED"


async def test_nautilus_4736_a_warm_restart_invents_no_fill(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey], tmp_path: Path
) -> None:
    """nautilus #4736: a warm restart's reconciliation invented an opposite fill, so the strategy
    thought it was flat while the venue held a position. The restarted engine's position is the
    venue's fills, to the unit, and it made none of its own."""
    config = trading_config(quiet_venue, api_key[1], journal_path=tmp_path / "journal.db")
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        bought = await engine.place_market("BTC-USD", "buy", size="0.3")
        await engine.wait_for(bought, "FILLED")
        before = engine.positions()["BTC-USD"].quantity
    assert before == D("0.3")
    for _ in range(2):  # warm restarts, one after another
        async with Engine(config) as restarted:
            await restarted.trading.execution.reconcile("test: a second look")  # type: ignore[union-attr]
            assert restarted.positions()["BTC-USD"].quantity == before
            assert_position_matches_venue_fills(restarted, quiet_venue, [bought.order_id])
    fills = venue_order(quiet_venue, bought.order_id).fills
    assert len(quiet_venue.exchange.owner_orders(api_key[1].name)) == 1 and fills


async def test_nautilus_5000_start_up_reconciliation_keeps_every_working_order(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey], tmp_path: Path
) -> None:
    """nautilus #5000: start-up reconciliation dropped 14 working orders. Twenty working orders
    before a restart are twenty after it, with the same ids, here and at the venue."""
    config = trading_config(quiet_venue, api_key[1], journal_path=tmp_path / "journal.db")
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        bid, _ = best(engine)
        placed = [await engine.place_limit("BTC-USD", "buy", size="0.001", price=bid - 10 - n) for n in range(20)]
        for order in placed:
            await engine.wait_for(order, "OPEN")
    async with Engine(config) as restarted:
        kept = sorted(o.client_order_id for o in restarted.open_orders())
        assert kept == sorted(o.client_order_id for o in placed)
        assert open_at_venue(quiet_venue, api_key[1]) == kept
        report = await restarted.kill_switch("the restart kept them all: they can be cancelled")
        assert len(report.cancelled) == 20 and report.failed == ()


async def test_nautilus_3104_a_position_from_long_ago_does_not_block_start_up(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey], tmp_path: Path
) -> None:
    """nautilus #3104: a position older than the fill look-back blocked start-up. Positions come
    from the journal's orders, however old: a fill from 400 days ago starts like one from today."""
    journal = tmp_path / "journal.db"
    config = trading_config(quiet_venue, api_key[1], journal_path=journal)
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        bought = await engine.place_market("BTC-USD", "buy", size="0.1")
        await engine.wait_for(bought, "FILLED")
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE orders SET created_at = created_at - ?", (400 * 86_400,))
    async with Engine(config) as restarted:
        assert restarted.positions()["BTC-USD"].quantity == D("0.1")
        assert_position_matches_venue_fills(restarted, quiet_venue, [bought.order_id])


async def test_nautilus_3046_fills_told_again_are_counted_once(trader: Engine, quiet_venue: PaperVenue) -> None:
    """nautilus #3046: duplicate trade ids from replayed fills were counted twice. A partial fill
    told again (the user channel's snapshot after a venue restart, reconciliation by REST, twice)
    leaves the position at exactly the venue's fills."""
    _, ask = best(trader)
    order = await trader.place_limit("BTC-USD", "sell", size="0.05", price=ask + D("0.01"))
    await trader.wait_for(order, "OPEN")
    await another_trader_buys_through(quiet_venue, order.request.price, beyond=D("0.02"))  # part of it
    await trader.wait_for(order, "PARTIALLY_FILLED")
    await quiet_venue.restart(down_for=0.2)  # the user channel reconnects: its snapshot again
    events = trader.events()
    await next_event(events, lambda e: type(e).__name__ == "ConnectionStatus" and e.state == "connected")  # type: ignore[attr-defined]
    for _ in range(2):
        await trader.trading.execution.reconcile("test: told again")  # type: ignore[union-attr]
    assert order.filled_size == D("0.02")
    assert trader.positions()["BTC-USD"].quantity == D("-0.02")
    assert_position_matches_venue_fills(trader, quiet_venue, [order.order_id])


async def test_cryptofeed_232_a_crossed_book_is_never_passed_on(trader: Engine, quiet_venue: PaperVenue) -> None:
    """cryptofeed #232: crossed books (best bid >= best ask) went unnoticed until an exception and
    a reconnect. The update that would cross is caught as it arrives: no subscriber ever sees a
    crossed book, and the book is rebuilt from a fresh snapshot."""
    book = trader.book("BTC-USD")
    _, ask = best(trader)
    updates = trader.events()
    crossing = frames.l2_event("update", "BTC-USD", frames.rfc3339(quiet_venue.clock()), [("bid", ask + 5, D("1"))])
    quiet_venue.feed.broadcast("l2_data", "level2", "BTC-USD", frames.encode_events([crossing]))
    # The first word about the book after the crossing frame is that it was discarded: no
    # subscriber is ever told of a book in the crossed state.
    first = await next_event(updates, lambda e: isinstance(e, BookUpdated | BookReset))
    assert isinstance(first, BookReset)
    assert first.reason == f"crossed book: best bid {(ask + 5).normalize():f} >= best ask {ask.normalize():f}"
    async with asyncio.timeout(10):
        while not trader.market_data.is_live("BTC-USD"):
            await updates.get()
    assert not book.is_crossed()
    assert best(trader)[1] == ask  # the venue's own book again, from a fresh snapshot
