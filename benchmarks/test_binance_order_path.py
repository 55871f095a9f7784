"""The order path on Binance Spot's protocol, against the paper venue over loopback, with
same-run baselines (issue 21: the same targets as Coinbase's, benchmarks/test_order_path.py).

- submit -> ack: `engine.place_limit` (risk checks, journal intent, signing, REST, the state
  machine) against a bare aiohttp POST /api/v3/order of the same order to the same venue. Both
  sign with HMAC-SHA256 inside the timed span (a few microseconds; the engine signs when it
  sends), and both ask for Binance's ACK answer. Rounds are taken in turn, a bare one then the
  engine's, each on its own stopped-in-between loop.
- kill switch with 200 working orders: HALTED and all 200 confirmed cancelled, against the
  fastest bare way Binance offers to cancel them: one signed DELETE /api/v3/openOrders for the
  symbol. The engine's kill switch sends that same call (a call per product).

The venue runs in its own process, as a real one is remote.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest

from benchmarks.support import engine_limit_buy, record, running_engine, scaled, submit_rounds, venue_process
from cryptoj_tui import binance_keys
from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.risk import RiskLimits

ROUNDS = scaled(200)
PAUSE = 0.005
KILL_ORDERS = 200
KILL_ROUNDS = scaled(9, 1)
SETTLE = 0.05
KEY = binance_keys.generate_key()
"""The engine's key (HMAC)."""
BARE_KEY = binance_keys.generate_key()
"""The baselines' key: the engine does not hear of their orders on its user stream."""


class Venue:
    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.rest = ws_url.replace("ws://", "http://")


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    keys = tmp_path_factory.mktemp("binance-keys")
    binance_keys.write_key_file(keys / "engine.json", KEY)
    binance_keys.write_key_file(keys / "bare.json", BARE_KEY)
    with venue_process(
        "--protocol",
        "binance",
        "--seed",
        "3",
        "--products",
        "BTC-USD",
        "--step-interval",
        "0",
        "--binance-order-limit",
        "1000000",  # Binance's 100 in ten seconds would pace these rounds, not measure them
        "--binance-weight-limit",
        "1000000",
        "--binance-key-file",
        str(keys / "engine.json"),
        "--binance-key-file",
        str(keys / "bare.json"),
    ) as ws_url:
        yield Venue(ws_url)


def far_bid(venue: Venue) -> Decimal:
    with urllib.request.urlopen(f"{venue.rest}/api/v3/depth?symbol=BTCUSD&limit=1", timeout=5) as answer:
        return Decimal(json.load(answer)["bids"][0][0]) - 1000


def signed_url(venue: Venue, path: str, params: dict[str, str]) -> str:
    """What Binance's docs say a signed call is: the query with timestamp, HMAC-SHA256 of it."""
    query = urlencode({**params, "recvWindow": "5000", "timestamp": str(int(time.time() * 1000))})
    signature = hmac.new(BARE_KEY.secret, query.encode(), hashlib.sha256).hexdigest()
    return f"{venue.rest}{path}?{query}&signature={signature}"


async def bare_call(session: aiohttp.ClientSession, method: str, url: str) -> Any:
    headers = {binance_keys.API_KEY_HEADER: BARE_KEY.api_key}
    async with session.request(method, aiohttp.client.URL(url, encoded=True), headers=headers) as response:
        answer = await response.json()
        assert response.status == 200, answer
        return answer


def bare_order(venue: Venue, price: Decimal) -> str:
    params = {
        "symbol": "BTCUSD",
        "side": "BUY",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.001",
        "price": str(price),
        "newClientOrderId": str(uuid.uuid4()),
        "newOrderRespType": "ACK",
    }
    return signed_url(venue, "/api/v3/order", params)


async def bare_cancel_all(session: aiohttp.ClientSession, venue: Venue) -> list[Any]:
    answer: list[Any] = await bare_call(
        session, "DELETE", signed_url(venue, "/api/v3/openOrders", {"symbol": "BTCUSD"})
    )
    return answer


@contextmanager
def trading_engine(venue: Venue, loop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[Engine]:
    config = EngineConfig(
        ws_url=f"{venue.ws_url}/stream",
        venue="binance",
        rest_url=venue.rest,
        key=KEY,
        journal_path=tmp_path / "journal.db",
        limits=RiskLimits(max_open_orders=10_000, max_orders_per_second=10_000),
        rest_rate=10_000,
        stale_after=3600.0,
    )
    with running_engine(config, loop) as engine:
        yield engine


@pytest.fixture(scope="module")
def submit_samples(venue: Venue, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[float]]:
    """Seconds from submit to ack of ROUNDS bare POSTs and ROUNDS engine orders, in turn."""
    bare_loop, engine_loop = asyncio.new_event_loop(), asyncio.new_event_loop()
    session = bare_loop.run_until_complete(opened_session())
    price = far_bid(venue)
    with trading_engine(venue, engine_loop, tmp_path_factory.mktemp("journal")) as engine:

        async def bare() -> float:
            started = time.perf_counter()
            answer = await bare_call(session, "POST", bare_order(venue, price))
            took = time.perf_counter() - started
            assert answer["orderId"], answer
            return took

        def tidy(n: int) -> None:
            if n % 50 == 49:  # keep the book small
                bare_loop.run_until_complete(bare_cancel_all(session, venue))
                engine_loop.run_until_complete(engine.cancel_all())

        assert engine.trading is not None
        samples = submit_rounds(
            ROUNDS,
            (bare_loop, bare),
            (engine_loop, engine_limit_buy(engine, price)),
            pause=PAUSE,
            after_engine=engine.trading.execution.intents.flush,
            between=tidy,
        )
    bare_loop.run_until_complete(bare_cancel_all(session, venue))
    bare_loop.run_until_complete(session.close())
    bare_loop.close()
    engine_loop.close()
    return samples


async def opened_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


def test_binance_submit_to_ack_baseline_bare_signed_post(
    benchmark: Any, submit_samples: dict[str, list[float]]
) -> None:
    record(benchmark, "Binance submit -> ack", "baseline", submit_samples["baseline"])


def test_binance_submit_to_ack_engine_place_limit(benchmark: Any, submit_samples: dict[str, list[float]]) -> None:
    record(
        benchmark,
        "Binance submit -> ack",
        "engine place_limit (risk, journal, HMAC, state machine)",
        submit_samples["engine"],
    )


@pytest.fixture(scope="module")
def kill_samples(venue: Venue, tmp_path_factory: pytest.TempPathFactory) -> tuple[list[float], list[float]]:
    """KILL_ROUNDS rounds in turn: 200 orders placed, then cancelled by one bare DELETE
    openOrders; 200 placed by the engine, then its kill switch until all are confirmed."""
    bare_loop, engine_loop = asyncio.new_event_loop(), asyncio.new_event_loop()
    session = bare_loop.run_until_complete(opened_session())
    price = far_bid(venue)
    bare: list[float] = []
    engine_times: list[float] = []
    with trading_engine(venue, engine_loop, tmp_path_factory.mktemp("kill")) as engine:
        for _ in range(KILL_ROUNDS):

            async def bare_round() -> float:
                await asyncio.gather(
                    *(bare_call(session, "POST", bare_order(venue, price)) for _ in range(KILL_ORDERS))
                )
                await asyncio.sleep(SETTLE)
                started = time.perf_counter()
                cancelled = await bare_cancel_all(session, venue)
                took = time.perf_counter() - started
                assert len(cancelled) == KILL_ORDERS
                return took

            bare.append(bare_loop.run_until_complete(bare_round()))
            engine_loop.run_until_complete(asyncio.sleep(SETTLE))
            if engine.state != "ACTIVE":
                engine.rearm("benchmark round")

            async def place_all() -> None:
                await asyncio.gather(
                    *(engine.place_limit("BTC-USD", "buy", size="0.001", price=price) for _ in range(KILL_ORDERS))
                )

            engine_loop.run_until_complete(place_all())
            assert engine.trading is not None
            engine_loop.run_until_complete(engine.trading.execution.intents.flush())
            engine_loop.run_until_complete(asyncio.sleep(SETTLE))

            async def kill() -> float:
                started = time.perf_counter()
                report = await engine.kill_switch("benchmark")
                took = time.perf_counter() - started
                assert len(report.cancelled) == KILL_ORDERS and not report.failed, report
                return took

            engine_times.append(engine_loop.run_until_complete(kill()))
            engine_loop.run_until_complete(asyncio.sleep(SETTLE))
    bare_loop.run_until_complete(session.close())
    bare_loop.close()
    engine_loop.close()
    return bare, engine_times


def test_binance_kill_switch_baseline_bare_cancel_open_orders(
    benchmark: Any, kill_samples: tuple[list[float], list[float]]
) -> None:
    record(benchmark, "Binance kill switch, 200 orders", "baseline", kill_samples[0])


def test_binance_kill_switch_engine(benchmark: Any, kill_samples: tuple[list[float], list[float]]) -> None:
    record(
        benchmark, "Binance kill switch, 200 orders", "engine kill_switch -> all confirmed cancelled", kill_samples[1]
    )
