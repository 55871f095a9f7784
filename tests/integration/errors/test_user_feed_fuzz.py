"""Fuzzed frames of the authenticated `user` channel over a real socket into a trading engine:
valid updates of its real orders (fills moving forward, statuses changing), and the same mutated
or truncated, among them absurd numbers (negative, NaN, infinite, 400 digits), from a loopback
stand-in for the venue's user channel (test code). REST and market data are the paper venue's.

The engine must stay up and keep trading, count every frame it could not decode, say every
problem in one short line, never take a fill of more than an order's size or a number that is
not one, and keep its position equal to what its orders say they filled. The seed comes from
CRYPTOJ_FUZZ_SEED; a failure names it.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed

from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.events import Alert, FeedError
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import trading_config
from tests.fuzz_frames import FUZZ_SEED, BookModel, UserFrameMaker, VenueOrder, user_snapshot

USER_FRAMES = int(os.environ.get("CRYPTOJ_FUZZ_USER_FRAMES", "1500"))
"""User-channel frames over the socket."""


class FuzzUserChannel:
    """Answers a `user` subscribe with an empty snapshot; streams fuzzed frames once told the orders."""

    def __init__(self) -> None:
        self.orders: list[VenueOrder] = []
        self.go = asyncio.Event()
        self.streamed = asyncio.Event()
        self.sent = {"valid": 0, "mutated": 0, "truncated": 0}
        self._frames: AsyncIterator[tuple[str, str]] | None = None
        self._streaming: asyncio.Task[None] | None = None

    async def handler(self, ws: ServerConnection) -> None:
        numbers = itertools.count(0)  # each connection numbers its frames from 0
        try:
            async for message in ws:
                if json.loads(message).get("channel") != "user":
                    continue
                await ws.send(user_snapshot(next(numbers)))
                if self._streaming is None:
                    self._streaming = asyncio.get_running_loop().create_task(self._stream(ws, numbers))
        except ConnectionClosed:
            pass

    async def _stream(self, ws: ServerConnection, numbers: itertools.count[int]) -> None:
        await self.go.wait()
        maker = UserFrameMaker(self.orders, FUZZ_SEED)
        for kind, frame in maker.stream(USER_FRAMES, BookModel(), numbers):
            try:
                await ws.send(frame)
            except ConnectionClosed:
                return
            self.sent[kind] += 1
            await asyncio.sleep(0)
        self.streamed.set()


@pytest.fixture
async def user_channel() -> AsyncIterator[tuple[FuzzUserChannel, str]]:
    channel = FuzzUserChannel()
    async with serve(channel.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        yield channel, f"ws://127.0.0.1:{port}"


async def test_fuzzed_user_frames_leave_the_engine_trading_and_its_position_whole(
    quiet_venue: PaperVenue,
    api_key: tuple[Path, CdpKey],
    user_channel: tuple[FuzzUserChannel, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    channel, url = user_channel
    caplog.set_level(logging.WARNING)
    bid = quiet_venue.book_levels("BTC-USD")[0][0][0]
    config = trading_config(quiet_venue, api_key[1], user_ws_url=url)
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        placed = [
            await engine.place_limit("BTC-USD", side, size=size, price=price)
            for side, size, price in (("buy", "0.5", bid - 100), ("buy", "0.02", bid - 101), ("sell", "0.3", bid + 200))
        ]
        channel.orders[:] = [VenueOrder(o.order_id, o.client_order_id, o.request.size) for o in placed]
        events = engine.events(max_pending=1_000_000)
        problems: list[str] = []
        channel.go.set()
        async with asyncio.timeout(120):
            while not channel.streamed.is_set():
                event = await events.get()
                if isinstance(event, FeedError | Alert):
                    problems.append(event.message)
            await asyncio.sleep(0.2)  # the last frames read
        while (event := events.get_nowait()) is not None:
            if isinstance(event, FeedError | Alert):
                problems.append(event.message)
        events.close()

        bad = channel.sent["mutated"] + channel.sent["truncated"]
        assert engine.trading is not None
        assert 0 < engine.trading.user_feed.metrics.decode_errors <= bad, f"seed {FUZZ_SEED}"
        assert all("\n" not in p and len(p) < 600 for p in problems), f"seed {FUZZ_SEED}: {problems[:3]}"
        quantity = Decimal(0)
        for order in placed:
            assert 0 <= order.filled_size <= order.request.size and order.filled_value >= 0, f"seed {FUZZ_SEED}"
            quantity += order.filled_size * order.side.sign
        assert engine.positions()["BTC-USD"].quantity == quantity, f"seed {FUZZ_SEED}"
        assert any(order.filled_size for order in placed), "no valid fill got through"
        # Still trading: a new order goes out and is acknowledged.
        after = await engine.place_limit("BTC-USD", "buy", size="0.01", price=bid - 102)
        assert after.order_id
        escaped = [r for r in caplog.records if r.levelno >= logging.ERROR]
        assert escaped == [], [r.getMessage() for r in escaped][:3]
