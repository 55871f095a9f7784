"""The order path against the paper venue over loopback, with same-run baselines.

- submit -> ack: `engine.place_limit` (risk checks, journal intent with fsync, JWT, REST, state
  machine) against a bare aiohttp POST of the same order with a fresh JWT to the same venue.
- kill switch with 200 working orders: HALTED and all 200 confirmed cancelled, against bare
  aiohttp batch_cancel calls for 200 orders (two batches of 100, in parallel).

The venue runs on its own thread; the engine and the baselines on this thread's loop.
"""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from cryptoj_tui.cdp_keys import generate_key, sign
from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.risk import RiskLimits
from cryptoj_tui.sim.venue import VenueConfig, VenueThread

from benchmarks.support import scaled

ROUNDS = scaled(200)
KILL_SIZES = [10, 100, 200, 500, 1000]
KEY = generate_key()


@pytest.fixture(scope="module")
def venue() -> Iterator[VenueThread]:
    with VenueThread(VenueConfig(seed=3, step_interval=0, rate_limit=0)) as thread:
        thread.call(lambda v: v.keys.register(KEY.name, KEY.public_key()))
        yield thread


def far_bid(venue: VenueThread) -> Decimal:
    bids, _ = venue.call(lambda v: v.book_levels("BTC-USD"))
    return bids[0][0] - 1000


def order_body(price: Decimal) -> str:
    return json.dumps({"client_order_id": str(uuid.uuid4()), "product_id": "BTC-USD", "side": "BUY",
                       "order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "limit_price": str(price)}}})


async def post(session: aiohttp.ClientSession, url: str, body: str) -> Any:
    uri = f"POST {url.split('://', 1)[1]}"
    headers = {"Authorization": f"Bearer {sign(KEY, uri)}", "Content-Type": "application/json"}
    async with session.post(url, data=body, headers=headers) as response:
        return await response.json()


def test_submit_to_ack_baseline_bare_aiohttp_post(benchmark: Any, venue: VenueThread) -> None:
    loop = asyncio.new_event_loop()
    session = loop.run_until_complete(_session())
    url = f"{venue.ws_url.replace('ws://', 'http://')}/api/v3/brokerage/orders"
    price = far_bid(venue)

    async def one() -> None:
        answer = await post(session, url, order_body(price))
        assert answer["success"], answer

    benchmark.group = "submit -> ack"
    benchmark.extra_info["role"] = "baseline"
    benchmark.pedantic(lambda: loop.run_until_complete(one()), rounds=ROUNDS, warmup_rounds=5)
    loop.run_until_complete(session.close())
    loop.close()
    venue.call(lambda v: v.cancel_orders(KEY.name, [o.order_id for o in v.exchange.owner_orders(KEY.name)
                                                    if o.status == "OPEN"]))


async def _session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


def _engine(venue: VenueThread, journal: Path, loop: asyncio.AbstractEventLoop) -> Engine:
    limits = RiskLimits(max_open_orders=10_000, max_orders_per_second=10_000)
    engine = Engine(EngineConfig(ws_url=venue.ws_url, key=KEY, journal_path=journal, limits=limits, rest_rate=10_000))
    loop.run_until_complete(engine.start())
    loop.run_until_complete(engine.subscribe("BTC-USD"))
    loop.run_until_complete(engine.wait_for_book("BTC-USD"))
    return engine


def test_submit_to_ack_engine_place_limit(benchmark: Any, venue: VenueThread, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    engine = _engine(venue, tmp_path / "journal.db", loop)
    price = far_bid(venue)

    async def one() -> None:
        order = await engine.place_limit("BTC-USD", "buy", size="0.001", price=price)
        assert order.order_id, order.reason

    benchmark.group = "submit -> ack"
    benchmark.extra_info["role"] = "engine place_limit (journal fsync, risk, JWT)"
    benchmark.pedantic(lambda: loop.run_until_complete(one()), rounds=ROUNDS, warmup_rounds=5)
    loop.run_until_complete(engine.cancel_all())
    loop.run_until_complete(engine.stop())
    loop.close()


@pytest.mark.parametrize("orders", KILL_SIZES)
def test_kill_switch_baseline_bare_batch_cancel(benchmark: Any, venue: VenueThread, orders: int) -> None:
    loop = asyncio.new_event_loop()
    session = loop.run_until_complete(_session())
    base = f"{venue.ws_url.replace('ws://', 'http://')}/api/v3/brokerage"
    price = far_bid(venue)
    ids: list[str] = []

    def place_orders() -> None:
        async def run() -> None:
            answers = await asyncio.gather(*(post(session, f"{base}/orders", order_body(price)) for _ in range(orders)))
            ids[:] = [a["success_response"]["order_id"] for a in answers]
        loop.run_until_complete(run())

    async def cancel_all() -> None:
        chunks = [ids[n:n + 100] for n in range(0, len(ids), 100)]  # the venue takes 100 a batch
        results = await asyncio.gather(*(post(session, f"{base}/orders/batch_cancel", json.dumps({"order_ids": c})) for c in chunks))
        assert all(r["success"] for answer in results for r in answer["results"])

    benchmark.group = f"kill switch, {orders} orders"
    benchmark.extra_info["role"] = "baseline"
    benchmark.pedantic(lambda: loop.run_until_complete(cancel_all()), setup=place_orders, rounds=scaled(5, 1))
    loop.run_until_complete(session.close())
    loop.close()


@pytest.mark.parametrize("orders", KILL_SIZES)
def test_kill_switch_engine(benchmark: Any, venue: VenueThread, orders: int, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    engine = _engine(venue, tmp_path / "journal.db", loop)  # on disk, as the console's: the halt is fsynced
    price = far_bid(venue)
    refusing: list[float] = []

    def place_orders() -> None:
        if engine.state != "ACTIVE":
            engine.rearm("benchmark round")

        async def run() -> None:
            await asyncio.gather(*(engine.place_limit("BTC-USD", "buy", size="0.001", price=price)
                                   for _ in range(orders)))
        loop.run_until_complete(run())

    async def kill() -> None:
        report = await engine.kill_switch("benchmark")
        refusing.append(report.refusing_after)
        assert len(report.cancelled) == orders and not report.failed

    benchmark.group = f"kill switch, {orders} orders"
    benchmark.extra_info["role"] = "engine kill_switch -> all confirmed cancelled"
    benchmark.pedantic(lambda: loop.run_until_complete(kill()), setup=place_orders, rounds=scaled(5, 1))
    benchmark.extra_info["refusing_after_max_us"] = max(refusing) * 1e6
    loop.run_until_complete(engine.stop())
    loop.close()


def test_cancel_to_ack_baseline_bare_aiohttp_post(benchmark: Any, venue: VenueThread) -> None:
    loop = asyncio.new_event_loop()
    session = loop.run_until_complete(_session())
    base = f"{venue.ws_url.replace('ws://', 'http://')}/api/v3/brokerage"
    price = far_bid(venue)
    ids: list[str] = []

    def place_one() -> None:
        answer = loop.run_until_complete(post(session, f"{base}/orders", order_body(price)))
        ids.append(answer["success_response"]["order_id"])

    async def cancel_one() -> None:
        answer = await post(session, f"{base}/orders/batch_cancel", json.dumps({"order_ids": [ids.pop()]}))
        assert answer["results"][0]["success"], answer

    benchmark.group = "cancel -> ack"
    benchmark.extra_info["role"] = "baseline"
    benchmark.pedantic(lambda: loop.run_until_complete(cancel_one()), setup=place_one, rounds=ROUNDS, warmup_rounds=5)
    loop.run_until_complete(session.close())
    loop.close()


def test_cancel_to_ack_engine_cancel(benchmark: Any, venue: VenueThread, tmp_path: Path) -> None:
    loop = asyncio.new_event_loop()
    engine = _engine(venue, tmp_path / "journal.db", loop)
    price = far_bid(venue)
    working: list[Any] = []

    def place_one() -> None:
        working.append(loop.run_until_complete(engine.place_limit("BTC-USD", "buy", size="0.001", price=price)))

    async def cancel_one() -> None:
        cancelled, failed = await engine.cancel(working.pop())
        assert len(cancelled) == 1 and not failed, failed

    benchmark.group = "cancel -> ack"
    benchmark.extra_info["role"] = "engine cancel (journal, JWT, state machine)"
    benchmark.pedantic(lambda: loop.run_until_complete(cancel_one()), setup=place_one, rounds=ROUNDS, warmup_rounds=5)
    loop.run_until_complete(engine.stop())
    loop.close()
