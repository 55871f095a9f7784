"""Issue 25.2: one unauthenticated WebSocket message stalled the venue and ate about a gigabyte.

A subscribe naming "BTC-USD" 60,000 times (660 KB) built 60,000 level2 snapshots in one blocking
burst: other clients' heartbeats stopped for 17-30 s, and the queued frames outlived the client.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import json
import random
import time
from collections.abc import AsyncIterator

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from cryptoj_tui.sim.venue import PaperVenue, VenueConfig
from cryptoj_tui.sim.ws import MAX_QUEUED_BYTES


@pytest.fixture
async def paper() -> AsyncIterator[PaperVenue]:
    async with PaperVenue(VenueConfig(seed=9, step_interval=0.01, heartbeat_interval=0.2)) as venue:
        yield venue


async def heartbeat_gaps(url: str, seconds: float) -> list[float]:
    """Seconds between the heartbeats one well-behaved client receives over `seconds`."""
    times: list[float] = []
    async with connect(url) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channel": "heartbeats"}))
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                async with asyncio.timeout(left):
                    frame = json.loads(await ws.recv())
            except TimeoutError:
                break
            if frame.get("channel") == "heartbeats":
                times.append(time.monotonic())
    return [b - a for a, b in itertools.pairwise(times)]


async def test_a_subscribe_repeating_one_product_is_one_subscription_and_stalls_no_one(paper: PaperVenue) -> None:
    watching = asyncio.create_task(heartbeat_gaps(paper.ws_url, 3.0))
    await asyncio.sleep(0.5)
    async with connect(paper.ws_url, max_size=None) as abuser:
        await abuser.send(json.dumps({"type": "subscribe", "channel": "level2", "product_ids": ["BTC-USD"] * 60_000}))
        snapshots, ack = 0, None
        async with asyncio.timeout(10):
            while ack is None:
                frame = json.loads(await abuser.recv())
                if frame.get("channel") == "l2_data":
                    snapshots += 1
                elif frame.get("channel") == "subscriptions":
                    ack = frame
        assert snapshots == 1 and ack["events"][0]["subscriptions"] == {"level2": ["BTC-USD"]}
    gaps = await watching
    assert gaps and max(gaps) < 1.0  # heartbeats every 0.2 s: never a stall


async def test_a_client_that_never_reads_is_cut_off_at_a_byte_bound_and_its_frames_are_freed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The queue is bounded in bytes (one level2 snapshot is megabytes at a real venue), the
    client is cut off (the reason in a close frame it will not read either, and in the venue's
    log), and nothing of it stays behind."""
    async with (
        PaperVenue(VenueConfig(seed=9, step_interval=0.01, max_queued_bytes=256 << 10)) as paper,
        connect(paper.ws_url, max_size=None, max_queue=1, close_timeout=0.5) as idle,
    ):
        for _ in range(200):  # a burst of fresh snapshots it will never read
            await idle.send(
                json.dumps({"type": "subscribe", "channel": "level2", "product_ids": ["BTC-USD", "ETH-USD", "SOL-USD"]})
            )
        async with asyncio.timeout(20):
            while paper.feed.sessions:
                await asyncio.sleep(0.05)
        gc.collect()
        assert paper.feed.queued_bytes() == 0
    assert any(r.getMessage().startswith("disconnecting a slow consumer: ") for r in caplog.records)
    assert 0 < MAX_QUEUED_BYTES <= 64 << 20


async def test_connections_over_the_limit_from_one_client_are_refused_and_others_keep_time() -> None:
    async with PaperVenue(
        VenueConfig(seed=9, step_interval=0.01, heartbeat_interval=0.2, max_connections_per_client=20)
    ) as paper:
        watching = asyncio.create_task(heartbeat_gaps(paper.ws_url, 3.0))  # connection 1
        await asyncio.sleep(0.3)
        crowd = [await connect(paper.ws_url) for _ in range(24)]  # 19 fit, 5 do not
        try:
            refused = []
            for ws in crowd[19:]:
                async with asyncio.timeout(5):
                    refused.append(json.loads(await ws.recv()))
                    with pytest.raises(ConnectionClosed):
                        while True:
                            await ws.recv()
            assert (
                refused == [{"type": "error", "message": "too many connections from 127.0.0.1: at most 20 at once"}] * 5
            )
            await crowd[0].close()
            async with connect(paper.ws_url) as again:  # room again for one more
                await again.send(json.dumps({"type": "subscribe", "channel": "heartbeats"}))
                assert json.loads(await asyncio.wait_for(again.recv(), 5))["channel"] == "subscriptions"
        finally:
            for ws in crowd:
                await ws.close()
        gaps = await watching
        assert gaps and max(gaps) < 1.0


async def test_a_flood_of_messages_on_one_connection_cuts_it_off_and_no_one_else(paper: PaperVenue) -> None:
    watching = asyncio.create_task(heartbeat_gaps(paper.ws_url, 3.0))
    await asyncio.sleep(0.3)
    async with connect(paper.ws_url, max_size=None) as flooder:
        heartbeat = json.dumps({"type": "subscribe", "channel": "heartbeats"})
        with contextlib.suppress(ConnectionClosed):
            for _ in range(2_000):
                await flooder.send(heartbeat)
        errors = []
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            async with asyncio.timeout(5):
                while True:
                    frame = json.loads(await flooder.recv())
                    if frame.get("type") == "error":
                        errors.append(frame["message"])
        assert errors == ["rate limit exceeded: at most 50 messages a second"]
    gaps = await watching
    assert gaps and max(gaps) < 1.0
    async with asyncio.timeout(5):
        while len(paper.feed.sessions) > 0:
            await asyncio.sleep(0.05)
    assert paper.feed.queued_bytes() == 0


async def test_an_unknown_product_named_sixty_thousand_times_gets_a_short_answer(paper: PaperVenue) -> None:
    async with connect(paper.ws_url, max_size=None) as ws:
        names = ["NOPE-USD"] * 60_000 + [f"X{n}-USD" for n in range(100)]
        await ws.send(json.dumps({"type": "subscribe", "channel": "level2", "product_ids": names}))
        answer = json.loads(await asyncio.wait_for(ws.recv(), 5))
    assert answer == {
        "type": "error",
        "message": "unknown product ids ['NOPE-USD', 'X0-USD', 'X1-USD', 'X2-USD', 'X3-USD'] and 96 more for level2",
    }


async def test_fuzzed_subscribe_messages_get_an_ack_or_one_error_each(paper: PaperVenue) -> None:
    """200 generated messages (valid, wrong types, unknown channels and products, junk, cut
    short) on one connection: each gets its answer, the connection and the venue keep serving."""
    rng = random.Random(11)
    channels = ["level2", "ticker", "heartbeats", "market_trades", "candles", "status", "user", "nope", 7, None]
    products = ["BTC-USD", "ETH-USD", "NOPE-USD", "", 5, None, ["BTC-USD"]]
    async with connect(paper.ws_url, max_size=None) as ws:
        answers = 0
        for _ in range(200):
            message: object = {
                "type": rng.choice(["subscribe", "unsubscribe", "subscribe", "ping", 1, None]),
                "channel": rng.choice(channels),
                "product_ids": rng.choice([[rng.choice(products)], rng.sample(products, 3), "BTC-USD", [], None]),
            }
            text = json.dumps(message)
            roll = rng.random()
            if roll < 0.1:
                text = text[: rng.randrange(1, len(text))]
            elif roll < 0.15:
                text = json.dumps(rng.choice([[], 3, "subscribe", None]))
            await ws.send(text)
            async with asyncio.timeout(5):  # the answer to this message: an ack or an error
                while True:
                    frame = json.loads(await ws.recv())
                    if frame.get("type") == "error" or frame.get("channel") == "subscriptions":
                        answers += 1
                        assert len(frame.get("message", "")) < 200
                        break
        assert answers == 200
        await ws.send(json.dumps({"type": "subscribe", "channel": "level2", "product_ids": ["BTC-USD"]}))
        async with asyncio.timeout(5):
            while json.loads(await ws.recv()).get("channel") != "l2_data":
                pass
