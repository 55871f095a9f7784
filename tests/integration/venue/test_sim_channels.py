"""The venue's other WebSocket channels: market_trades, ticker, candles, status and user."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect

from cryptoj_tui.cdp_keys import CdpKey, generate_key, sign
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig


@pytest.fixture
async def paper(api_key: tuple[Path, CdpKey]) -> AsyncIterator[PaperVenue]:
    async with PaperVenue(VenueConfig(seed=9, step_interval=0, api_key_files=(api_key[0],))) as venue:
        yield venue


async def recv(ws: ClientConnection) -> dict[str, Any]:
    async with asyncio.timeout(5):
        return json.loads(await ws.recv())


async def subscribe(ws: ClientConnection, channel: str, **extra: Any) -> list[dict[str, Any]]:
    """Subscribe; return the frames up to and including the subscriptions ack."""
    await ws.send(json.dumps({"type": "subscribe", "channel": channel, **extra}))
    frames = []
    while True:
        frame = await recv(ws)
        frames.append(frame)
        if frame.get("channel") == "subscriptions" or frame.get("type") == "error":
            return frames


async def next_on(ws: ClientConnection, channel: str, paper: PaperVenue) -> dict[str, Any]:
    """Step the market until a frame of `channel` arrives."""
    for _ in range(500):
        paper.step("BTC-USD")
        try:
            async with asyncio.timeout(0.05):
                while True:
                    frame = json.loads(await ws.recv())
                    if frame["channel"] == channel:
                        return frame
        except TimeoutError:
            continue
    raise AssertionError(f"no {channel} frame")


async def test_market_trades_snapshot_then_updates_with_the_makers_side(paper: PaperVenue) -> None:
    async with connect(paper.ws_url) as ws:
        snapshot, ack = await subscribe(ws, "market_trades", product_ids=["BTC-USD"])
        assert snapshot["channel"] == "market_trades" and snapshot["events"][0]["type"] == "snapshot"
        trades = snapshot["events"][0]["trades"]
        assert 0 < len(trades) <= 50 and {t["side"] for t in trades} <= {"BUY", "SELL"}
        assert int(trades[0]["trade_id"]) > int(trades[-1]["trade_id"])  # newest first
        assert ack["events"] == [{"subscriptions": {"market_trades": ["BTC-USD"]}}]
        update = await next_on(ws, "market_trades", paper)
        assert update["events"][0]["type"] == "update"
        assert all(t["product_id"] == "BTC-USD" and D(t["size"]) > 0 for t in update["events"][0]["trades"])


async def test_ticker_follows_the_book_and_the_last_trade(paper: PaperVenue) -> None:
    async with connect(paper.ws_url) as ws:
        snapshot, _ = await subscribe(ws, "ticker", product_ids=["BTC-USD"])
        ticker = snapshot["events"][0]["tickers"][0]
        bids, asks = paper.book_levels("BTC-USD")
        assert (D(ticker["best_bid"]), D(ticker["best_ask"])) == (bids[0][0], asks[0][0])
        assert D(ticker["low_24_h"]) <= D(ticker["price"]) <= D(ticker["high_24_h"])
        update = await next_on(ws, "ticker", paper)
        assert D(update["events"][0]["tickers"][0]["price"]) == paper.tapes["BTC-USD"].last


async def test_candles_are_five_minute_bars(paper: PaperVenue) -> None:
    async with connect(paper.ws_url) as ws:
        snapshot, _ = await subscribe(ws, "candles", product_ids=["BTC-USD"])
        candle = snapshot["events"][0]["candles"][-1]
        assert int(candle["start"]) % 300 == 0
        assert D(candle["low"]) <= min(D(candle["open"]), D(candle["close"]))
        assert D(candle["high"]) >= max(D(candle["open"]), D(candle["close"]))


async def test_status_lists_every_product_without_product_ids(paper: PaperVenue) -> None:
    async with connect(paper.ws_url) as ws:
        snapshot, ack = await subscribe(ws, "status")
        products = snapshot["events"][0]["products"]
        assert [p["id"] for p in products] == ["BTC-USD", "ETH-USD", "SOL-USD"]
        assert products[0]["quote_increment"] == "0.01" and products[0]["status"] == "online"
        assert ack["events"][0]["subscriptions"]["status"] == ["BTC-USD", "ETH-USD", "SOL-USD"]


async def test_user_channel_needs_a_jwt_then_reports_every_change_of_our_orders(
    paper: PaperVenue, api_key: tuple[Path, CdpKey]
) -> None:
    owner = api_key[1]
    async with connect(paper.ws_url) as ws, connect(paper.ws_url) as stranger:
        refused = await subscribe(ws, "user", jwt=sign(generate_key()))
        assert refused[-1] == {"type": "error", "message": "authentication failure"}
        bid = paper.books["BTC-USD"].best_bid()
        resting = paper.create_order(
            owner.name,
            {
                "client_order_id": str(uuid.uuid4()),
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": "0.01", "limit_price": str(bid - 10)}},
            },
        )["success_response"]["order_id"]
        snapshot, _ = await subscribe(ws, "user", jwt=sign(owner), product_ids=["BTC-USD"])
        assert snapshot["channel"] == "user" and snapshot["sequence_num"] == 0
        assert [o["order_id"] for o in snapshot["events"][0]["orders"]] == [resting]
        assert snapshot["events"][0]["orders"][0]["leaves_quantity"] == "0.01"
        other = generate_key()
        paper.keys.register(other.name, other.public_key())
        await subscribe(stranger, "user", jwt=sign(other))
        paper.cancel_orders(owner.name, [resting])
        update = await recv(ws)
        assert update["channel"] == "user" and update["events"][0]["type"] == "update"
        order = update["events"][0]["orders"][0]
        assert (order["order_id"], order["status"], order["leaves_quantity"]) == (resting, "CANCELLED", "0")
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.2):
                await stranger.recv()


async def test_one_sequence_counter_across_channels(paper: PaperVenue) -> None:
    async with connect(paper.ws_url, max_size=None) as ws:
        frames = await subscribe(ws, "level2", product_ids=["ETH-USD"])
        frames += await subscribe(ws, "ticker", product_ids=["ETH-USD"])
        frames += await subscribe(ws, "status")
        assert [f["sequence_num"] for f in frames] == list(range(len(frames)))
