"""Trades, tickers and staleness from the paper venue, through the engine's market data service."""

from __future__ import annotations

import asyncio
from decimal import Decimal as D

import pytest

from cryptoj_tui.engine import ConnectionState, Engine, EngineConfig, ProductUnavailable
from cryptoj_tui.engine.events import (
    Alert,
    ConnectionStatus,
    FeedError,
    FeedMetrics,
    MarketStale,
    ProductRefused,
    TickerUpdated,
    TradesPrinted,
)
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig
from tests.conftest import next_event, wait_for_exact_book


async def test_trades_and_ticker_arrive_and_a_reconnect_never_double_counts(venue: PaperVenue, engine: Engine) -> None:
    """Scenario: trades stream in; the connection drops; the venue replays its recent trades."""
    events = engine.events()
    await engine.subscribe("BTC-USD")
    await next_event(events, lambda e: isinstance(e, TradesPrinted))
    await next_event(events, lambda e: isinstance(e, TickerUpdated))
    ticker = engine.ticker("BTC-USD")
    assert ticker is not None and ticker.price > 0
    tape = engine.tape("BTC-USD")
    # The market holds still while the connection is down, so the venue's replay on reconnect is
    # exactly trades the engine already has: every one of them must be recognised.
    venue.pause_flow()
    newest = str(venue.tapes["BTC-USD"].recent[0].trade.trade_id)
    async with asyncio.timeout(10):
        while not any(t.trade_id == newest for t in tape.trades):
            await events.get()
    seen_before, duplicates_before = len(tape.trades), tape.duplicates
    await venue.feed.drop_all()
    await next_event(events, lambda e: isinstance(e, ConnectionStatus) and e.state is ConnectionState.CONNECTED)
    replayed = len(venue.tapes["BTC-USD"].snapshot_trades())
    async with asyncio.timeout(10):
        while tape.duplicates - duplicates_before < replayed:
            await asyncio.sleep(0.01)
    assert tape.duplicates - duplicates_before == replayed and len(tape.trades) == seen_before
    venue.resume_flow()
    await next_event(events, lambda e: isinstance(e, TradesPrinted))
    ids = [t.trade_id for t in tape.trades]
    assert len(ids) == len(set(ids)) and len(ids) > seen_before
    venue_trades = {str(t.trade.trade_id): t.trade for t in venue.tapes["BTC-USD"].recent}
    for trade in list(tape.trades)[:20]:
        if trade.trade_id in venue_trades:
            assert (trade.price, trade.size) == (venue_trades[trade.trade_id].price, venue_trades[trade.trade_id].size)
    bar = tape.candles[60].latest(1)[0]
    assert bar.low <= bar.close <= bar.high and bar.volume > D(0)


async def test_a_quiet_product_is_reported_stale_and_fresh_again() -> None:
    """Scenario: the connection stays healthy (heartbeats) but a product's book stops changing."""
    async with PaperVenue(VenueConfig(seed=2, step_interval=0.01)) as venue:
        async with Engine(EngineConfig(ws_url=venue.ws_url, market_stale_after=0.3)) as engine:
            events = engine.events()
            await engine.subscribe("ETH-USD")
            await engine.wait_for_book("ETH-USD")
            venue.pause_flow()
            stale = await next_event(events, lambda e: isinstance(e, MarketStale))
            assert stale.stale and stale.product_id == "ETH-USD" and stale.age >= 0.3  # type: ignore[attr-defined]
            venue.resume_flow()
            fresh = await next_event(events, lambda e: isinstance(e, MarketStale))
            assert not fresh.stale  # type: ignore[attr-defined]
            assert engine.connection_state is ConnectionState.CONNECTED


async def test_feed_counters_are_published_about_once_a_second(venue: PaperVenue, engine: Engine) -> None:
    """Scenario: a live feed publishes its counters (frames, bytes, state, last-frame age, feed
    latency) about once a second."""
    events = engine.events()
    await engine.subscribe("BTC-USD")
    first = await next_event(events, lambda e: isinstance(e, FeedMetrics))
    second = await next_event(events, lambda e: isinstance(e, FeedMetrics))
    assert second.frames > first.frames > 0 and second.bytes > first.bytes  # type: ignore[attr-defined]
    assert second.state is ConnectionState.CONNECTED and second.last_frame_age is not None  # type: ignore[attr-defined]
    # The venue stamps frames with this machine's clock: what is left is the delay, well under a second.
    assert 0 <= second.feed_latency < 1  # type: ignore[attr-defined,operator]


async def test_a_subscriber_that_never_reads_cannot_slow_the_feed_or_grow_without_bound() -> None:
    """Scenario: a UI or script stops reading its event stream while the market floods."""
    async with PaperVenue(VenueConfig(seed=8, step_interval=0.002)) as venue:
        async with Engine(EngineConfig(ws_url=venue.ws_url)) as engine:
            stuck = engine.events(max_pending=100)  # never read
            reader = engine.events()
            await engine.subscribe("BTC-USD", "ETH-USD", "SOL-USD")
            await engine.wait_for_book("SOL-USD")
            start = engine.metrics.frames
            while engine.metrics.frames < start + 1500:
                await reader.get()
            assert stuck.pending <= 100  # book updates coalesced, oldest records dropped
            for product in ("BTC-USD", "ETH-USD", "SOL-USD"):
                await wait_for_exact_book(engine, venue, product)


async def test_a_product_the_venue_refuses_ends_the_wait_with_its_reason_and_others_go_on(venue: PaperVenue) -> None:
    """Issue 18.7: without a key the engine learns of an unknown product only from the venue's
    error frame; its wait ends at once with the venue's reason (it waited 'connected' forever),
    it is not asked for again after a reconnect, and the other products keep their books."""
    async with Engine(EngineConfig(ws_url=venue.ws_url, stale_after=3.0)) as engine:
        events = engine.events()
        await engine.subscribe("BTC-USD", "DOGE-USD")
        with pytest.raises(ProductUnavailable) as refused:
            await engine.wait_for_book("DOGE-USD", timeout=5)
        assert str(refused.value) == "the venue refused DOGE-USD: unknown product ids ['DOGE-USD'] for level2"
        event = await next_event(events, lambda e: isinstance(e, ProductRefused))
        assert event == ProductRefused(product_id="DOGE-USD", reason=str(refused.value))
        alert = await next_event(events, lambda e: isinstance(e, Alert))
        assert alert.message == str(refused.value)  # type: ignore[attr-defined]
        await engine.wait_for_book("BTC-USD")
        await venue.feed.drop_all()
        await next_event(events, lambda e: isinstance(e, ConnectionStatus) and e.state is ConnectionState.CONNECTED)
        await engine.wait_for_book("BTC-USD")
        pending = iter(events.get_nowait, None)
        errors = [e for e in pending if isinstance(e, FeedError)]  # nothing refused again after the reconnect
        assert all("DOGE-USD" not in e.message for e in errors)
        with pytest.raises(ProductUnavailable):
            await engine.wait_for_book("DOGE-USD", timeout=5)


async def test_an_unsubscribed_product_stops_at_the_venue_and_can_come_back(venue: PaperVenue, engine: Engine) -> None:
    """The watchlist's remove: the venue is told (no more of its frames), the engine forgets the
    book, and a later subscribe starts again from a fresh snapshot."""
    await engine.subscribe("BTC-USD", "ETH-USD")
    await engine.wait_for_book("ETH-USD")

    def asked(product_id: str) -> bool:
        return any(product_id in s.subscriptions.get("level2", ()) for s in venue.feed.sessions)

    assert asked("ETH-USD")
    await engine.unsubscribe("ETH-USD")
    assert engine.market_data.products() == ["BTC-USD"] and engine.market_data.mid("ETH-USD") is None
    async with asyncio.timeout(5):
        while asked("ETH-USD"):
            await asyncio.sleep(0.01)
    assert asked("BTC-USD")
    await engine.subscribe("ETH-USD")
    book = await engine.wait_for_book("ETH-USD")
    assert book.best_bid() is not None
