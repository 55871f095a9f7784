"""Reconnects, each against the bare work it cannot avoid:

- drop -> fresh, verified book (after a healthy session; after one that dropped before it was
  healthy, the backoff path; on a venue that sends checksums, to the first verified checksum),
  against a bare websockets connect + level2 snapshot;
- drop -> the user channel back (its new connection's snapshot in), against a bare connect +
  user subscribe (JWT signed inside the window, as the engine signs it) + its first frame;
- an engine restart on a journal of 10k orders (5k fills) -> trading again, against the same
  restart on an empty journal.

The venue runs in its own process (as the console's embedded one does), asked to drop every
WebSocket over its fault-injection endpoint; the engine runs on this thread's loop.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect

from benchmarks.support import scaled, venue_process
from cryptoj_tui.cdp_keys import generate_key, sign, write_key_file
from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.adapters.connection import HEALTHY_AFTER
from cryptoj_tui.engine.journal import Journal
from cryptoj_tui.engine.orders import Fill, Order, OrderRequest, OrderStatus

ROUNDS = scaled(15)
RESTARTS = scaled(8)
JOURNALLED_ORDERS = scaled(10_000, smoke=100)
KEY = generate_key()


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The venue's WebSocket URL (it knows KEY)."""
    key_file = tmp_path_factory.mktemp("key") / "key.json"
    write_key_file(key_file, KEY)
    args = ("--seed", "3", "--products", "BTC-USD", "--step-interval", "0.02", "--control")
    with venue_process(*args, "--api-key-file", str(key_file)) as ws_url:
        yield ws_url


@pytest.fixture(scope="module")
def checksum_venue() -> Iterator[str]:
    """A venue that adds a checksum of the top 25 levels a side to every level2 event."""
    args = ("--seed", "3", "--products", "BTC-USD", "--step-interval", "0.02", "--control", "--checksum")
    with venue_process(*args) as ws_url:
        yield ws_url


def test_reconnect_baseline_bare_websocket_snapshot(benchmark: Any, venue: str) -> None:
    loop = asyncio.new_event_loop()

    async def fresh_snapshot() -> None:
        async with connect(venue, max_size=None, compression=None) as ws:
            await ws.send(json.dumps({"type": "subscribe", "channel": "level2", "product_ids": ["BTC-USD"]}))
            frame = json.loads(await ws.recv())
            assert frame["events"][0]["type"] == "snapshot"

    benchmark.group = "reconnect to a fresh book"
    benchmark.extra_info["role"] = "baseline"
    benchmark.pedantic(lambda: loop.run_until_complete(fresh_snapshot()), rounds=ROUNDS, warmup_rounds=2)
    loop.close()


def _faults(venue: str) -> str:
    return f"{venue.replace('ws://', 'http://').rstrip('/')}/sim/faults"


async def _drop(session: aiohttp.ClientSession, venue: str) -> None:
    async with session.post(_faults(venue), json={"fault": "drop"}) as answer:
        assert answer.status == 200, await answer.text()


def _book_reconnects(benchmark: Any, venue: str, role: str, *, healthy_first: bool, checksummed: bool) -> None:
    """Drop every connection, then time until the book is live again (and, with `checksummed`,
    until a checksum of the new book was verified). With `healthy_first` the connection has been
    up a while when it drops, so the retry is immediate; without, it drops again right after a
    reconnect, before it counts as healthy, and the retry backs off (on purpose: a venue that
    accepts and drops must not make us spin) - the time includes that backoff."""
    loop = asyncio.new_event_loop()
    engine = Engine(EngineConfig(ws_url=venue))
    loop.run_until_complete(engine.start())
    loop.run_until_complete(engine.subscribe("BTC-USD"))
    loop.run_until_complete(engine.wait_for_book("BTC-USD"))
    session = loop.run_until_complete(_session())

    async def drop_and_recover() -> None:
        verified = engine.metrics.checksums_verified
        await _drop(session, venue)
        while engine.market_data.is_live("BTC-USD"):
            await asyncio.sleep(0)
        await engine.wait_for_book("BTC-USD", timeout=5)
        while checksummed and engine.metrics.checksums_verified == verified:
            await asyncio.sleep(0)

    def before_the_drop() -> None:
        loop.run_until_complete(asyncio.sleep(HEALTHY_AFTER + 0.2))  # healthy: the backoff resets
        if not healthy_first:  # one drop now (the immediate retry), so the timed one backs off
            loop.run_until_complete(drop_and_recover())

    benchmark.group = "reconnect to a fresh book"
    benchmark.extra_info["role"] = role
    benchmark.pedantic(lambda: loop.run_until_complete(drop_and_recover()), setup=before_the_drop, rounds=ROUNDS)
    assert engine.metrics.gaps == 0
    if checksummed:
        assert engine.metrics.checksums_verified > 0 and engine.metrics.checksum_mismatches == 0
    loop.run_until_complete(session.close())
    loop.run_until_complete(engine.stop())
    loop.close()


def test_reconnect_engine_drop_to_verified_book(benchmark: Any, venue: str) -> None:
    _book_reconnects(benchmark, venue, "engine drop -> live book", healthy_first=True, checksummed=False)


def test_reconnect_engine_drop_before_healthy(benchmark: Any, venue: str) -> None:
    _book_reconnects(
        benchmark, venue, "engine drop before healthy -> live book", healthy_first=False, checksummed=False
    )


def test_reconnect_engine_drop_to_verified_checksum(benchmark: Any, checksum_venue: str) -> None:
    _book_reconnects(
        benchmark, checksum_venue, "engine drop -> live book, checksum verified", healthy_first=True, checksummed=True
    )


def test_user_channel_baseline_bare_subscribe(benchmark: Any, venue: str) -> None:
    loop = asyncio.new_event_loop()

    async def subscribed() -> None:
        async with connect(venue, max_size=None, compression=None) as ws:
            await ws.send(json.dumps({"type": "subscribe", "channel": "user", "jwt": sign(KEY)}))
            while json.loads(await ws.recv()).get("channel") != "user":
                pass

    benchmark.group = "reconnect the user channel"
    benchmark.extra_info["role"] = "baseline"
    benchmark.pedantic(lambda: loop.run_until_complete(subscribed()), rounds=ROUNDS, warmup_rounds=2)
    loop.close()


def test_user_channel_engine_drop_to_ready(benchmark: Any, venue: str, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    engine = Engine(EngineConfig(ws_url=venue, key=KEY, journal_path=tmp_path / "journal.db"))
    loop.run_until_complete(engine.start())
    assert engine.trading is not None
    user = engine.trading.user_feed
    session = loop.run_until_complete(_session())

    async def drop_and_recover() -> None:
        await _drop(session, venue)
        while user.ready.is_set():
            await asyncio.sleep(0)
        await asyncio.wait_for(user.ready.wait(), 5)

    def healthy_connection() -> None:
        loop.run_until_complete(asyncio.sleep(HEALTHY_AFTER + 0.2))

    benchmark.group = "reconnect the user channel"
    benchmark.extra_info["role"] = "engine drop -> user channel snapshot in"
    benchmark.pedantic(lambda: loop.run_until_complete(drop_and_recover()), setup=healthy_connection, rounds=ROUNDS)
    loop.run_until_complete(session.close())
    loop.run_until_complete(engine.stop())
    loop.close()


def _journal_of(path: Path, orders: int) -> Path:
    """A journal as a trader's would be after `orders` orders: every one done, half filled."""
    journal = Journal(path)
    done = []
    for n in range(orders):
        request = OrderRequest.parse("BTC-USD", "buy" if n % 2 else "sell", "limit", "0.001", f"{60000 + n % 500}.00")
        order = Order(client_order_id=f"journalled-{n}", request=request)
        journal.record_intent(order)
        filled = n % 2 == 0
        done.append(
            dataclasses.replace(
                order,
                order_id=f"venue-{n}",
                status=OrderStatus.FILLED if filled else OrderStatus.CANCELLED,
                filled_size=request.size if filled else order.filled_size,
                filled_value=request.size * (request.price or 0) if filled else order.filled_value,
            )
        )
        if filled:
            journal.record_fill(
                Fill(
                    order.client_order_id,
                    "BTC-USD",
                    request.side,
                    request.size,
                    request.size * (request.price or 0),
                    Decimal("0.01"),
                )
            )
    journal.record_orders(done)
    journal.close()
    return path


def _restarts(benchmark: Any, venue: str, journal_path: Path, role: str) -> None:
    loop = asyncio.new_event_loop()

    async def restart() -> None:
        engine = Engine(EngineConfig(ws_url=venue, key=KEY, journal_path=journal_path))
        try:
            await engine.start()  # returns trading: state restored, orders recovered, listening
            assert engine.trading is not None and engine.trading.user_feed.ready.is_set()
        finally:
            await engine.stop()

    benchmark.group = "engine restart -> trading"
    benchmark.extra_info["role"] = role
    benchmark.pedantic(lambda: loop.run_until_complete(restart()), rounds=RESTARTS, warmup_rounds=1)
    loop.close()


def test_restart_baseline_empty_journal(benchmark: Any, venue: str, tmp_path: Path) -> None:
    _restarts(benchmark, venue, _journal_of(tmp_path / "journal.db", 0), "baseline")


def test_restart_engine_journal_of_10k_orders(benchmark: Any, venue: str, tmp_path: Path) -> None:
    journal = _journal_of(tmp_path / "journal.db", JOURNALLED_ORDERS)
    _restarts(benchmark, venue, journal, f"engine on a journal of {JOURNALLED_ORDERS} orders")


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()
