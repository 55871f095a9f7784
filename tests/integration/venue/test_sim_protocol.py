"""The paper venue's WebSocket, seen by a plain client written from PROTOCOL.md (not our engine)."""

from __future__ import annotations

import asyncio
import json
import re
from decimal import Decimal as D
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from cryptoj_tui.sim.venue import PaperVenue

MINIMAL_NUMBER = re.compile(r"^(0|[1-9]\d*)(\.\d*[1-9])?$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z$")


async def recv(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(5):
        return json.loads(await ws.recv())


async def subscribe(ws: ClientConnection, channel: str, products: list[str] | None = None) -> None:
    message: dict[str, Any] = {"type": "subscribe", "channel": channel}
    if products is not None:
        message["product_ids"] = products
    await ws.send(json.dumps(message))


async def test_level2_snapshot_then_ack_then_updates_with_a_per_connection_sequence(
    venue: PaperVenue,
) -> None:
    async with connect(venue.ws_url, max_size=None) as ws:
        await subscribe(ws, "level2", ["BTC-USD"])
        snapshot = await recv(ws)
        assert list(snapshot) == ["channel", "timestamp", "sequence_num", "events"]
        assert snapshot["channel"] == "l2_data" and snapshot["sequence_num"] == 0
        assert TIMESTAMP.match(snapshot["timestamp"])
        (event,) = snapshot["events"]
        assert event["type"] == "snapshot" and event["product_id"] == "BTC-USD"
        sides = [u["side"] for u in event["updates"]]
        assert sides == sorted(sides)  # all bids, then all offers
        bids = [D(u["price_level"]) for u in event["updates"] if u["side"] == "bid"]
        offers = [D(u["price_level"]) for u in event["updates"] if u["side"] == "offer"]
        assert bids == sorted(bids, reverse=True) and offers == sorted(offers)
        assert len(bids) >= 50 and len(offers) >= 50 and bids[0] < offers[0]
        for update in event["updates"]:
            assert MINIMAL_NUMBER.match(update["price_level"]) and MINIMAL_NUMBER.match(update["new_quantity"])
        ack = await recv(ws)
        assert ack["channel"] == "subscriptions" and ack["sequence_num"] == 1
        assert ack["events"] == [{"subscriptions": {"level2": ["BTC-USD"]}}]
        for expected in range(2, 12):
            frame = await recv(ws)
            assert frame["sequence_num"] == expected
            assert frame["channel"] == "l2_data" and frame["events"][0]["type"] == "update"
    # A second connection counts from 0 again.
    async with connect(venue.ws_url, max_size=None) as ws:
        await subscribe(ws, "level2", ["ETH-USD"])
        assert (await recv(ws))["sequence_num"] == 0


async def test_heartbeats_need_no_products_and_count_up() -> None:
    from cryptoj_tui.sim.venue import VenueConfig

    async with PaperVenue(VenueConfig(heartbeat_interval=0.05, step_interval=0)) as quiet:
        async with connect(quiet.ws_url) as ws:
            await subscribe(ws, "heartbeats")
            ack = await recv(ws)
            assert ack["events"] == [{"subscriptions": {"heartbeats": ["heartbeats"]}}]
            beats = [await recv(ws) for _ in range(3)]
            assert [b["channel"] for b in beats] == ["heartbeats"] * 3
            assert [b["sequence_num"] for b in beats] == [1, 2, 3]
            counters = [b["events"][0]["heartbeat_counter"] for b in beats]
            assert counters == [counters[0], counters[0] + 1, counters[0] + 2]
            assert " +0000 UTC m=+" in beats[0]["events"][0]["current_time"]


@pytest.mark.parametrize(
    ("message", "fragment"),
    [
        ("{oops", "malformed JSON"),
        ("[]", "must be a JSON object"),
        ('{"type": "subscribed", "channel": "level2"}', "unknown message type 'subscribed'"),
        ('{"type": "subscribe", "channel": "level3", "product_ids": ["BTC-USD"]}', "unknown channel 'level3'"),
        ('{"type": "subscribe", "channel": "level2"}', "level2 needs product_ids"),
        ('{"type": "subscribe", "channel": "level2", "product_ids": "BTC-USD"}', "level2 needs product_ids"),
        ('{"type": "subscribe", "channel": "level2", "product_ids": [{"a": 1}]}', "level2 needs product_ids"),
        (
            '{"type": "subscribe", "channel": "level2", "product_ids": ["BTC-USD", "XXX-USD"]}',
            "unknown product ids ['XXX-USD']",
        ),
        (
            '{"type": "subscribe", "channel": "user", "product_ids": ["BTC-USD"]}',
            "authentication failure",
        ),
    ],
)
async def test_bad_requests_get_error_frames_and_the_connection_keeps_serving(
    venue: PaperVenue, message: str, fragment: str
) -> None:
    async with connect(venue.ws_url, max_size=None) as ws:
        await ws.send(message)
        error = await recv(ws)
        assert error["type"] == "error" and fragment in error["message"]
        assert "sequence_num" not in error
        await subscribe(ws, "level2", ["SOL-USD"])
        snapshot = await recv(ws)
        assert snapshot["sequence_num"] == 0 and snapshot["channel"] == "l2_data"


async def test_binary_frames_are_refused_politely(venue: PaperVenue) -> None:
    async with connect(venue.ws_url) as ws:
        await ws.send(b"\x00\x01")
        assert "binary frames are not accepted" in (await recv(ws))["message"]


async def test_unsubscribe_stops_a_product_and_the_ack_shows_what_is_left(venue: PaperVenue) -> None:
    async with connect(venue.ws_url, max_size=None) as ws:
        await subscribe(ws, "level2", ["BTC-USD", "ETH-USD"])
        seen: set[str] = set()
        while True:
            frame = await recv(ws)
            if frame["channel"] == "subscriptions":
                break
            seen.add(frame["events"][0]["product_id"])
        assert seen == {"BTC-USD", "ETH-USD"}
        await ws.send(json.dumps({"type": "unsubscribe", "channel": "level2", "product_ids": ["BTC-USD"]}))
        while (frame := await recv(ws))["channel"] != "subscriptions":
            pass
        assert frame["events"] == [{"subscriptions": {"level2": ["ETH-USD"]}}]
        for _ in range(10):
            frame = await recv(ws)
            assert frame["events"][0]["product_id"] == "ETH-USD"
