"""The WebSocket as a docs-only client uses it: market channels without a token, `user` with a
token of any shape, `ticker_batch` every few seconds."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import ClientConnection, connect

from cryptoj_tui.sim.venue import PaperVenue
from tests.integration.venue.conformance.docs_client import TOKEN_SHAPES, DocsClient, DocsKey


async def frames_until(ws: ClientConnection, predicate: Any, limit: int = 200) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        while len(seen) < limit:
            seen.append(json.loads(await ws.recv()))
            if predicate(seen[-1]):
                return seen
    raise AssertionError(f"no matching frame in {seen[-3:]}")


async def test_market_channels_need_no_token_and_ticker_batch_comes_in_batches(coinbase: PaperVenue) -> None:
    async with connect(coinbase.ws_url, max_size=None) as ws:
        for channel in ("level2", "ticker_batch", "market_trades"):
            await ws.send(json.dumps({"type": "subscribe", "channel": channel, "product_ids": ["BTC-USD"]}))
        frames = await frames_until(
            ws, lambda f: f["channel"] == "subscriptions" and len(f["events"][0]["subscriptions"]) == 3
        )
        channels = [f["channel"] for f in frames]
        assert {"l2_data", "ticker_batch", "market_trades"} <= set(channels) and "error" not in str(channels)
        snapshot = next(f for f in frames if f["channel"] == "ticker_batch")
        ticker = snapshot["events"][0]["tickers"][0]
        assert snapshot["events"][0]["type"] == "snapshot" and ticker["product_id"] == "BTC-USD"
        assert set(ticker) >= {"price", "volume_24_h", "low_24_h", "high_24_h", "price_percent_chg_24_h", "best_bid"}
        # A trade, then one ticker_batch update within the venue's batch interval (0.2 s here).
        tape = coinbase.tapes["BTC-USD"]
        newest = tape.recent[0]
        while tape.recent[0] is newest:
            coinbase.step("BTC-USD")
        update = (await frames_until(ws, lambda f: f["channel"] == "ticker_batch"))[-1]
        assert update["events"][0]["type"] == "update"


@pytest.mark.parametrize("key_name", ["ec", "ed25519"])
@pytest.mark.parametrize("shape", TOKEN_SHAPES)
async def test_the_user_channel_takes_a_token_of_every_shape(
    coinbase: PaperVenue, http: aiohttp.ClientSession, keys: dict[str, DocsKey], shape: str, key_name: str
) -> None:
    key = keys[key_name]
    async with connect(coinbase.ws_url) as ws:
        subscribe = {"type": "subscribe", "channel": "user", "product_ids": ["BTC-USD"], "jwt": key.token(shape)}
        await ws.send(json.dumps(subscribe))
        frames = await frames_until(ws, lambda f: f.get("channel") == "subscriptions" or f.get("type") == "error")
        assert frames[-1]["channel"] == "subscriptions", frames
        assert frames[0]["channel"] == "user" and frames[0]["events"][0]["type"] == "snapshot"
        bid = coinbase.books["BTC-USD"].best_bid()
        assert bid is not None
        order_id = await DocsClient(http, coinbase.rest_url, key, shape).limit_order("BUY", str(bid - 1), "0.001")
        update = await frames_until(ws, lambda f: f.get("channel") == "user")
        assert update[-1]["events"][0]["orders"][0]["order_id"] == order_id


async def test_a_bad_user_token_gets_coinbases_error_frame(coinbase: PaperVenue, keys: dict[str, DocsKey]) -> None:
    impostor = DocsKey(keys["ec"].name, DocsKey.new().private_key)
    async with connect(coinbase.ws_url) as ws:
        for token in ("", "not-a-jwt", DocsKey.new().token("cdp"), impostor.token("coinbase-cloud")):
            await ws.send(
                json.dumps({"type": "subscribe", "channel": "user", "product_ids": ["BTC-USD"], "jwt": token})
            )
            assert json.loads(await ws.recv()) == {"type": "error", "message": "authentication failure"}
        # The connection still serves.
        await ws.send(json.dumps({"type": "subscribe", "channel": "heartbeats", "jwt": str(uuid.uuid4())}))
        frames = await frames_until(ws, lambda f: f.get("channel") == "subscriptions")
        assert frames[-1]["events"][0]["subscriptions"] == {"heartbeats": ["heartbeats"]}
