"""The engine against the paper venue's injected faults: after each, the book is exact again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest

from cryptoj_tui.engine import ConnectionState, Engine, EngineConfig
from cryptoj_tui.engine.events import ConnectionStatus, FeedError, SequenceGap
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig
from tests.conftest import BOTH_VENUES, VENUES, book_matches, next_event, wait_for_exact_book


@pytest.fixture
async def venue() -> AsyncIterator[PaperVenue]:
    """A lively paper venue speaking both protocols."""
    async with PaperVenue(VenueConfig(seed=7, step_interval=0.01, warmup_steps=100, protocols=VENUES)) as paper:
        yield paper


@pytest.fixture
async def live(venue: PaperVenue, venue_protocol: str) -> AsyncIterator[Engine]:
    """An engine with a live BTC-USD book on `venue` in `venue_protocol`, quick to call a silent
    feed dead."""
    config = EngineConfig(ws_url=venue.ws_url, stale_after=0.5)
    if venue_protocol == "binance":
        config = EngineConfig(
            ws_url=f"{venue.ws_url}/stream", venue="binance", rest_url=venue.rest_url, stale_after=0.5
        )
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        yield engine


def reconnected(event: object) -> bool:
    return isinstance(event, ConnectionStatus) and event.state is ConnectionState.CONNECTED


@BOTH_VENUES
async def test_dropped_connection(venue: PaperVenue, live: Engine) -> None:
    """Scenario: the venue cuts the TCP connection without a close frame."""
    events = live.events()
    await venue.drop_connections()
    await next_event(events, reconnected)
    await wait_for_exact_book(live, venue, "BTC-USD")
    assert live.metrics.connects == 2


@BOTH_VENUES
async def test_skipped_sequence_numbers(venue: PaperVenue, live: Engine, venue_protocol: str) -> None:
    """Scenario: frames go missing (the sequence jumps); the engine must not trust its book.
    Coinbase numbers its frames per connection: a reconnect. Binance numbers each book's
    updates: that book is rebuilt from a new snapshot, on the same connection."""
    events = live.events()
    if venue_protocol == "binance":
        assert venue.binance is not None
        venue.binance.skip_updates(3)
        error = await next_event(events, lambda e: isinstance(e, FeedError) and "resync" in e.message)
        assert error.where == "book BTC-USD"  # type: ignore[attr-defined]
        await wait_for_exact_book(live, venue, "BTC-USD")
        assert live.metrics.gaps >= 1 and live.metrics.connects == 1
        return
    venue.feed.skip_sequence(3)
    gap = await next_event(events, lambda e: isinstance(e, SequenceGap))
    assert gap.received - gap.expected == 3  # type: ignore[attr-defined]
    await next_event(events, reconnected)
    await wait_for_exact_book(live, venue, "BTC-USD")


@BOTH_VENUES
async def test_stalled_feed(venue: PaperVenue, live: Engine) -> None:
    """Scenario: the connection stays open but nothing arrives for longer than stale_after."""
    events = live.events()
    venue.faults.stall_ws(1.5, time.monotonic())
    status = await next_event(events, lambda e: isinstance(e, ConnectionStatus) and "no frame for 0.5s" in e.reason)
    assert status.state is ConnectionState.RECONNECTING  # type: ignore[attr-defined]
    venue.faults.clear()
    await next_event(events, reconnected)
    await wait_for_exact_book(live, venue, "BTC-USD")


@BOTH_VENUES
async def test_malformed_frame(venue: PaperVenue, live: Engine, venue_protocol: str) -> None:
    """Scenario: a frame that is not JSON; counted and reported, the next frame's number decides."""
    events = live.events()
    if venue_protocol == "binance":
        assert venue.binance is not None
        venue.binance.send_malformed()
    else:
        venue.feed.send_malformed()
    error = await next_event(events, lambda e: isinstance(e, FeedError))
    assert "truncated" in error.message  # type: ignore[attr-defined]
    await wait_for_exact_book(live, venue, "BTC-USD")
    assert live.metrics.decode_errors == 1 and live.metrics.gaps == 0 and live.metrics.connects == 1


@BOTH_VENUES
async def test_venue_restart(venue: PaperVenue, live: Engine) -> None:
    """Scenario: the venue goes down for a moment and comes back on the same port."""
    events = live.events()
    await venue.restart(down_for=0.3)
    await next_event(events, reconnected)
    await wait_for_exact_book(live, venue, "BTC-USD")
    assert book_matches(live, venue, "BTC-USD") and live.metrics.reconnects >= 1


async def test_control_endpoint_drives_faults_over_http() -> None:
    """Scenario: a test outside the process arms faults over the venue's /sim/faults; bad requests
    get 400s naming the problem."""
    async with PaperVenue(VenueConfig(step_interval=0, control=True)) as venue, aiohttp.ClientSession() as http:

        async def post(body: object) -> tuple[int, dict]:
            async with http.post(f"{venue.rest_url}/sim/faults", json=body) as response:
                return response.status, await response.json()

        status, data = await post({"fault": "rest_error", "status": 503, "count": 1})
        assert status == 200 and data["faults"]["rest_status"] == 503
        async with http.get(f"{venue.rest_url}/api/v3/brokerage/products") as response:
            assert response.status == 503
        for bad, message in [
            ({"fault": "meteor"}, "unknown fault 'meteor'"),
            ({"fault": "rest_error"}, "status"),
            ([1], "must be a JSON object"),
            ({"fault": "stall", "seconds": "x"}, "could not convert"),
        ]:
            status, data = await post(bad)
            assert status == 400 and message in data["message"], bad
        await post({"fault": "reject_orders", "reason": "INSUFFICIENT_FUND", "count": 2})
        async with http.get(f"{venue.rest_url}/sim/state") as response:
            state = await response.json()
        assert state["faults"]["reject_count"] == 2 and set(state["products"]) == {"BTC-USD", "ETH-USD", "SOL-USD"}
        async with http.post(f"{venue.rest_url}/sim/reset") as response:
            assert (await response.json()) == {"ok": True}
        assert venue.faults.reject_count == 0
        status, _ = await post({"fault": "restart", "seconds": 0.05})
        assert status == 200


async def test_control_endpoint_is_absent_unless_asked_for(venue: PaperVenue) -> None:
    """Scenario: a venue started without control=True has no fault endpoint at all."""
    async with aiohttp.ClientSession() as http, http.get(f"{venue.rest_url}/sim/state") as response:
        assert response.status == 404


async def test_engine_verifies_every_checksum_of_a_checksumming_venue() -> None:
    """Scenario: `cryptoj sim --checksum`; every level2 event is checked, none disagrees."""
    async with PaperVenue(VenueConfig(seed=6, step_interval=0.005, checksum=True)) as venue:
        async with Engine(EngineConfig(ws_url=venue.ws_url)) as engine:
            await engine.subscribe("BTC-USD", "ETH-USD")
            await engine.wait_for_book("BTC-USD")
            events = engine.events()
            while engine.metrics.checksums_verified < 100:
                await next_event(events, lambda e: True)
            await wait_for_exact_book(engine, venue, "ETH-USD")
            assert engine.metrics.checksum_mismatches == 0 and engine.metrics.connects == 1


async def test_frames_under_the_limit_are_read_and_over_it_close_the_connection(venue: PaperVenue) -> None:
    """Scenario: the venue sends one frame just under the engine's frame limit, then one over it.
    The first is read (an unknown channel: counted, the book untouched); the second closes the
    connection as RFC 6455 says (1009), the engine reconnects and its book is exact again."""
    limit = 256 * 1024
    config = EngineConfig(ws_url=venue.ws_url, stale_after=3.0, max_frame_bytes=limit)
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        events = engine.events()
        venue.feed.send_oversized(limit - 1024)
        error = await next_event(events, lambda e: isinstance(e, FeedError))
        assert "'oversized'" in error.message  # type: ignore[attr-defined]
        await wait_for_exact_book(engine, venue, "BTC-USD")
        assert engine.metrics.connects == 1 and engine.metrics.decode_errors == 1
        venue.resume_flow()
        venue.feed.send_oversized(limit + 1024)
        status = await next_event(events, lambda e: isinstance(e, ConnectionStatus) and "byte limit" in e.reason)
        assert f"a frame over the {limit:,}-byte limit: closed by us (1009)" in status.reason  # type: ignore[attr-defined]
        await next_event(events, reconnected)
        await wait_for_exact_book(engine, venue, "BTC-USD")
        assert engine.metrics.connects == 2
    with pytest.raises(ValueError, match="max_frame_bytes must be at least 65,536"):
        EngineConfig(ws_url=venue.ws_url, max_frame_bytes=1000)


async def test_control_endpoint_pauses_the_flow_and_shows_the_venue_book() -> None:
    """Scenario: /sim/flow freezes and thaws the market; /sim/book is the venue's own book; the
    oversized fault is armed over HTTP like the others; bad requests get 400s and 404s."""
    config = VenueConfig(seed=3, step_interval=0.005, warmup_steps=50, control=True)
    async with PaperVenue(config) as venue, aiohttp.ClientSession() as http:

        async def book(query: str = "product_id=BTC-USD&depth=5") -> tuple[int, dict]:
            async with http.get(f"{venue.rest_url}/sim/book?{query}") as response:
                return response.status, await response.json()

        async with http.post(f"{venue.rest_url}/sim/flow", json={"running": False}) as response:
            assert (await response.json()) == {"ok": True, "running": False}
        _, first = await book()
        await asyncio.sleep(0.1)
        _, second = await book()
        bids, asks = venue.book_levels("BTC-USD")
        assert first == second and len(first["bids"]) == 5
        assert [[Decimal(p), Decimal(s)] for p, s in first["bids"]] == [list(level) for level in bids[:5]]
        assert [[Decimal(p), Decimal(s)] for p, s in first["asks"]] == [list(level) for level in asks[:5]]
        async with http.post(f"{venue.rest_url}/sim/flow", json={"running": True}) as response:
            assert response.status == 200
        async with asyncio.timeout(5):
            while (await book())[1] == first:
                await asyncio.sleep(0.02)
        assert (await book("product_id=DOGE-USD"))[0] == 404
        assert (await book("product_id=BTC-USD&depth=x"))[0] == 400
        async with http.post(f"{venue.rest_url}/sim/flow", json={"running": "no"}) as response:
            assert response.status == 400 and "running" in (await response.json())["message"]
        for body, status in [({"fault": "oversized", "bytes": 4096}, 200), ({"fault": "oversized", "bytes": 1}, 400)]:
            async with http.post(f"{venue.rest_url}/sim/faults", json=body) as response:
                assert response.status == status, body
