"""The engine against the paper venue's injected faults: after each, the book is exact again."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from cryptoj_tui.engine import ConnectionState, Engine, EngineConfig
from cryptoj_tui.engine.events import ConnectionStatus, FeedError, SequenceGap
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig
from tests.conftest import book_matches, next_event, wait_for_exact_book


@pytest.fixture
async def live(venue: PaperVenue) -> AsyncIterator[Engine]:
    """An engine with a live BTC-USD book on `venue`, quick to call a silent feed dead."""
    async with Engine(EngineConfig(ws_url=venue.ws_url, stale_after=0.5)) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        yield engine


def reconnected(event: object) -> bool:
    return isinstance(event, ConnectionStatus) and event.state is ConnectionState.CONNECTED


async def test_dropped_connection(venue: PaperVenue, live: Engine) -> None:
    """Scenario: the venue cuts the TCP connection without a close frame."""
    events = live.events()
    await venue.feed.drop_all()
    await next_event(events, reconnected)
    await wait_for_exact_book(live, venue, "BTC-USD")
    assert live.metrics.connects == 2


async def test_skipped_sequence_numbers(venue: PaperVenue, live: Engine) -> None:
    """Scenario: frames go missing (the sequence jumps); the engine must not trust its book."""
    events = live.events()
    venue.feed.skip_sequence(3)
    gap = await next_event(events, lambda e: isinstance(e, SequenceGap))
    assert gap.received - gap.expected == 3  # type: ignore[attr-defined]
    await next_event(events, reconnected)
    await wait_for_exact_book(live, venue, "BTC-USD")


async def test_stalled_feed(venue: PaperVenue, live: Engine) -> None:
    """Scenario: the connection stays open but nothing arrives for longer than stale_after."""
    events = live.events()
    venue.faults.stall_ws(1.5, time.monotonic())
    status = await next_event(events, lambda e: isinstance(e, ConnectionStatus) and "no frame for 0.5s" in e.reason)
    assert status.state is ConnectionState.RECONNECTING  # type: ignore[attr-defined]
    venue.faults.clear()
    await next_event(events, reconnected)
    await wait_for_exact_book(live, venue, "BTC-USD")


async def test_malformed_frame(venue: PaperVenue, live: Engine) -> None:
    """Scenario: a frame that is not JSON; counted and reported, the next frame's number decides."""
    events = live.events()
    venue.feed.send_malformed()
    error = await next_event(events, lambda e: isinstance(e, FeedError))
    assert "truncated" in error.message  # type: ignore[attr-defined]
    await wait_for_exact_book(live, venue, "BTC-USD")
    assert live.metrics.decode_errors == 1 and live.metrics.gaps == 0 and live.metrics.connects == 1


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
