"""The engine against the paper venue over loopback: books stay exactly the venue's."""

from __future__ import annotations

import pytest

from cryptoj_tui.engine import ConnectionState, Engine, EngineConfig, ProductUnavailable
from cryptoj_tui.engine.events import BookUpdated, ConnectionStatus, FeedError
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig
from tests.conftest import book_matches, next_event, wait_for_exact_book


async def test_live_books_equal_the_venue_books_exactly(venue: PaperVenue, engine: Engine) -> None:
    """Scenario: subscribe two products, let the market move, freeze it, compare every level."""
    events = engine.events()
    await engine.subscribe("BTC-USD", "ETH-USD")
    btc = await engine.wait_for_book("BTC-USD")
    first_seq = btc.sequence_num
    # Let at least 30 incremental updates through before comparing.
    await next_event(
        events,
        lambda e: isinstance(e, BookUpdated) and e.product_id == "BTC-USD" and e.sequence_num > first_seq + 30,
    )
    for product in ("BTC-USD", "ETH-USD"):
        await wait_for_exact_book(engine, venue, product)
        bids, asks = venue.book_levels(product)
        assert len(bids) >= 50 and len(asks) >= 50
        assert engine.book(product).best_bid() == bids[0]
    assert engine.metrics.decode_errors == 0 and engine.metrics.gaps == 0


async def test_subscribing_after_the_connection_is_up(venue: PaperVenue, engine: Engine) -> None:
    """Scenario: the connection is already streaming when a new product is asked for."""
    events = engine.events()
    await engine.subscribe("BTC-USD")
    await engine.wait_for_book("BTC-USD")
    if engine.connection_state is not ConnectionState.CONNECTED:
        await next_event(events, lambda e: isinstance(e, ConnectionStatus) and e.state is ConnectionState.CONNECTED)
    await engine.subscribe("SOL-USD")
    await engine.wait_for_book("SOL-USD")
    await wait_for_exact_book(engine, venue, "SOL-USD")
    assert book_matches(engine, venue, "SOL-USD") and engine.metrics.connects == 1  # on the same connection


async def test_unknown_product_gets_a_clear_error_and_the_rest_keeps_working(venue: PaperVenue, engine: Engine) -> None:
    """Scenario: a product the venue does not list; the venue says so, waiting for its book ends
    at once with the venue's words (not at a timeout), and the engine carries on."""
    events = engine.events()
    await engine.subscribe("BTC-USD")
    await engine.wait_for_book("BTC-USD")
    await engine.subscribe("DOGE-USD")
    error = await next_event(events, lambda e: isinstance(e, FeedError))
    assert error.message == "venue error: unknown product ids ['DOGE-USD'] for level2"  # type: ignore[attr-defined]
    with pytest.raises(ProductUnavailable, match=r"^the venue refused DOGE-USD: unknown product ids \['DOGE-USD'\]"):
        await engine.wait_for_book("DOGE-USD", timeout=5)
    await wait_for_exact_book(engine, venue, "BTC-USD")


async def test_malformed_product_id_is_refused_before_anything_is_sent(engine: Engine) -> None:
    """Scenario: a subscription naming 'btc' is refused before anything is sent; no book is created."""
    with pytest.raises(ValueError, match="'btc' is not of the form BASE-QUOTE"):
        await engine.subscribe("BTC-USD", "btc")
    with pytest.raises(KeyError, match="BTC-USD is not subscribed"):
        engine.book("BTC-USD")


async def test_venue_restart_reconnects_and_resyncs_to_the_new_book() -> None:
    """Scenario: the venue goes away mid-stream and comes back (new market, same port)."""
    first = PaperVenue(VenueConfig(seed=11, step_interval=0.01))
    await first.start()
    port = first.port
    async with Engine(EngineConfig(ws_url=first.ws_url, stale_after=3.0)) as engine:
        events = engine.events()
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        await first.stop()
        await next_event(events, lambda e: isinstance(e, ConnectionStatus) and e.state is ConnectionState.RECONNECTING)
        assert not engine.market_data.is_live("BTC-USD")
        async with PaperVenue(VenueConfig(seed=12, port=port, step_interval=0.01)) as second:
            await engine.wait_for_book("BTC-USD")
            await wait_for_exact_book(engine, second, "BTC-USD")
        assert engine.metrics.connects == 2


async def test_unreachable_venue_keeps_retrying_and_says_why() -> None:
    """Scenario: nothing listens at the URL; the engine retries with backoff and reports it."""
    async with PaperVenue(VenueConfig(seed=1)) as probe:
        url = probe.ws_url
    async with Engine(EngineConfig(ws_url=url)) as engine:
        events = engine.events()
        status = await next_event(
            events,
            lambda e: isinstance(e, ConnectionStatus) and e.state is ConnectionState.RECONNECTING and e.reason != "",
        )
        assert "retry in" in status.reason  # type: ignore[attr-defined]
        with pytest.raises(TimeoutError, match="connection reconnecting"):
            await engine.wait_for_book("BTC-USD", timeout=0.2)
