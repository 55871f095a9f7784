"""The order path against the paper venue over loopback, with same-run baselines.

- submit -> ack: `engine.place_limit` (risk checks, journal intent, JWT, REST, state machine)
  against a bare aiohttp POST of the same order to the same venue. Both send a JWT signed
  before the clock starts: the engine signs its next token ahead while idle, and so does the
  baseline (signing, an ECDSA signature, is a tenth of a millisecond: charged to the baseline
  alone, it flattered the ratio). The intent
  is fsynced by the group commit after the send (the default), and, as a second figure, before
  the send (`intent_sync_window=0`).
- pre-trade check with 10 / 100 / 1000 orders working, against the risk checks alone on a
  context built beforehand: the cost must not grow with the working orders.
- kill switch with 200 working orders: HALTED and all 200 confirmed cancelled, against bare
  aiohttp batch_cancel calls for 200 orders (two batches of 100, in parallel, tokens signed
  ahead), rounds taken in turn as submit -> ack's are, the engine connected throughout; and
  when a new order is refused, timed from outside the engine (a task of its own asking about
  an order every loop turn).

The venue runs in its own process, as a real one is remote: on a thread of this process its
work (matching, the user channel the engine subscribes to) would share our GIL and be charged
to whichever side it interrupts. The engine and the baselines run on this thread's loop.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
import urllib.request
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from benchmarks.support import (
    SMOKE,
    engine_limit_buy,
    p99,
    record,
    running_engine,
    scaled,
    submit_rounds,
    venue_process,
)
from cryptoj_tui.cdp_keys import generate_key, sign, write_key_file
from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.orders import OrderRequest
from cryptoj_tui.engine.risk import RiskContext, RiskLimits
from cryptoj_tui.engine.trading import OrderRefusedError

ROUNDS = scaled(200)
PAUSE = 0.005
"""Seconds between one order's ack and the next order."""
KILL_SIZES = [10, 100, 200, 500, 1000]
KEY = generate_key()
"""The engine's key."""
BARE_KEY = generate_key()
"""The baselines' key: the engine does not hear of their orders on its user channel."""


class Venue:
    """The paper venue's addresses."""

    def __init__(self, ws_url: str) -> None:
        self.ws_url = ws_url
        self.api = f"{ws_url.replace('ws://', 'http://')}/api/v3/brokerage"


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Venue]:
    keys = tmp_path_factory.mktemp("key")
    write_key_file(keys / "engine.json", KEY)
    write_key_file(keys / "bare.json", BARE_KEY)
    with venue_process(
        "--seed",
        "3",
        "--products",
        "BTC-USD",
        "--step-interval",
        "0",
        "--rate-limit",
        "0",
        "--api-key-file",
        str(keys / "engine.json"),
        "--api-key-file",
        str(keys / "bare.json"),
    ) as ws_url:
        yield Venue(ws_url)


def far_bid(venue: Venue) -> Decimal:
    with urllib.request.urlopen(f"{venue.api}/best_bid_ask?product_ids=BTC-USD", timeout=5) as answer:
        return Decimal(json.load(answer)["pricebooks"][0]["bids"][0]["price"]) - 1000


async def cancel_open_orders(session: aiohttp.ClientSession, venue: Venue) -> None:
    """Leave the venue as the next benchmark expects it: none of our orders resting."""
    ids: list[str] = []
    cursor = ""
    while True:
        async with session.get(
            f"{venue.api}/orders/historical/batch",
            params={"order_status": "OPEN", "cursor": cursor},
            headers=auth("GET", f"{venue.api}/orders/historical/batch"),
        ) as response:
            page = await response.json()
        ids += [o["order_id"] for o in page["orders"]]
        if not page["has_next"]:
            break
        cursor = page["cursor"]
    await cancel_in_batches(session, venue, ids)


def batch_cancels(venue: Venue, ids: list[str]) -> list[tuple[str, dict[str, str]]]:
    """The bodies and signed headers of batch_cancel calls for `ids`, 100 a call (the venue's
    limit): made before they are sent, as the engine signs ahead."""
    url = f"{venue.api}/orders/batch_cancel"
    return [(json.dumps({"order_ids": ids[n : n + 100]}), auth("POST", url)) for n in range(0, len(ids), 100)]


async def send_batch_cancels(
    session: aiohttp.ClientSession, venue: Venue, calls: list[tuple[str, dict[str, str]]]
) -> list[Any]:
    """The batch_cancel calls sent in parallel; their answers."""
    url = f"{venue.api}/orders/batch_cancel"
    return await asyncio.gather(*(post(session, url, body, headers) for body, headers in calls))


async def cancel_in_batches(session: aiohttp.ClientSession, venue: Venue, ids: list[str]) -> list[Any]:
    return await send_batch_cancels(session, venue, batch_cancels(venue, ids))


async def place_many(engine: Engine, price: Decimal, count: int) -> None:
    """`count` resting BTC-USD buys of 0.001 at `price`, sent together."""
    await asyncio.gather(*(engine.place_limit("BTC-USD", "buy", size="0.001", price=price) for _ in range(count)))


def order_body(price: Decimal) -> str:
    return json.dumps(
        {
            "client_order_id": str(uuid.uuid4()),
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "limit_price": str(price)}},
        }
    )


def auth(method: str, url: str) -> dict[str, str]:
    uri = f"{method} {url.split('://', 1)[1]}"
    return {"Authorization": f"Bearer {sign(BARE_KEY, uri)}", "Content-Type": "application/json"}


async def post(session: aiohttp.ClientSession, url: str, body: str, headers: dict[str, str] | None = None) -> Any:
    """POST `body`, with `headers` signed ahead if given (else signed now)."""
    async with session.post(url, data=body, headers=headers or auth("POST", url)) as response:
        return await response.json()


@pytest.fixture(scope="module")
def submit_samples(venue: Venue, tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[float]]:
    """Seconds from submit to ack of ROUNDS bare POSTs and ROUNDS engine orders, taken in turn (a
    bare one, then an engine one, and again), so that the machine getting faster or slower during
    the run weighs on both alike.

    The bare POSTs run on an event loop of their own while the engine's is stopped, and after the
    engine's group commit has flushed its intents, so none of the engine's work is charged to
    them; after each order the engine's loop runs for PAUSE, reading what that order brought (its
    book update, its user channel update), charged to neither.
    """
    bare_loop, engine_loop = asyncio.new_event_loop(), asyncio.new_event_loop()
    session = bare_loop.run_until_complete(opened_session())
    price = far_bid(venue)
    url = f"{venue.api}/orders"
    with trading_engine(venue, engine_loop, tmp_path_factory.mktemp("journal")) as engine:

        async def bare() -> float:
            body, headers = order_body(price), auth("POST", url)  # signed ahead, as the engine's
            started = time.perf_counter()
            answer = await post(session, url, body, headers)
            took = time.perf_counter() - started
            assert answer["success"], answer
            return took

        assert engine.trading is not None
        # Its intent's flush (a worker thread's) is done before the next bare POST.
        samples = submit_rounds(
            ROUNDS,
            (bare_loop, bare),
            (engine_loop, engine_limit_buy(engine, price)),
            pause=PAUSE,
            after_engine=engine.trading.execution.intents.flush,
        )
    bare_loop.run_until_complete(cancel_open_orders(session, venue))
    bare_loop.run_until_complete(session.close())
    bare_loop.close()
    engine_loop.close()
    return samples


async def opened_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession()


def test_submit_to_ack_baseline_bare_aiohttp_post(benchmark: Any, submit_samples: dict[str, list[float]]) -> None:
    record(benchmark, "submit -> ack", "baseline", submit_samples["baseline"])


def test_submit_to_ack_engine_place_limit(benchmark: Any, submit_samples: dict[str, list[float]]) -> None:
    record(
        benchmark, "submit -> ack", "engine place_limit (risk, journal, JWT, state machine)", submit_samples["engine"]
    )


async def one_by_one(place: Callable[[], Awaitable[None]]) -> list[float]:
    """Seconds each of ROUNDS placements took, one at a time with a pause between them.

    The loop keeps running through the pause, as in a session: what an order's ack brings after
    it (its user channel update, the book moving) is read then, not charged to the next order,
    as it would be if the loop stopped between rounds.
    """
    samples = []
    for n in range(ROUNDS + 5):
        started = time.perf_counter()
        await place()
        if n >= 5:  # warm-up
            samples.append(time.perf_counter() - started)
        await asyncio.sleep(PAUSE)
    return samples


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    """This benchmark's event loop (run round by round from the benchmark's own thread)."""
    running = asyncio.new_event_loop()
    yield running
    running.close()


@pytest.fixture
def session(loop: asyncio.AbstractEventLoop) -> Iterator[aiohttp.ClientSession]:
    """A bare aiohttp session (the baselines')."""

    bare = loop.run_until_complete(opened_session())
    yield bare
    loop.run_until_complete(bare.close())


@pytest.fixture
def engine(venue: Venue, loop: asyncio.AbstractEventLoop, tmp_path: Path) -> Iterator[Engine]:
    """An engine trading on the venue, BTC-USD book live, its journal on disk as the console's
    (intents fsynced in groups, the halt at once); what it left working is cancelled after."""
    with trading_engine(venue, loop, tmp_path) as trader:
        yield trader


@contextmanager
def trading_engine(venue: Venue, loop: asyncio.AbstractEventLoop, tmp_path: Path, **config: Any) -> Iterator[Engine]:
    limits = RiskLimits(max_open_orders=10_000, max_orders_per_second=10_000)
    config = EngineConfig(
        ws_url=venue.ws_url, key=KEY, journal_path=tmp_path / "journal.db", limits=limits, rest_rate=10_000, **config
    )
    with running_engine(config, loop) as trader:
        yield trader


def test_submit_to_ack_engine_fsync_before_send(
    benchmark: Any, venue: Venue, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    """The engine with each intent fsynced before its order is sent (intent_sync_window=0), after
    the pair above, one order at a time."""
    price = far_bid(venue)
    with trading_engine(venue, loop, tmp_path, intent_sync_window=0) as engine:

        async def one() -> None:
            order = await engine.place_limit("BTC-USD", "buy", size="0.001", price=price)
            assert order.order_id, order.reason

        samples = loop.run_until_complete(one_by_one(one))
        record(benchmark, "submit -> ack", "engine, each intent fsynced before the send", samples)


KILL_ROUNDS = scaled(9, 1)
SETTLE = 0.05
"""Seconds the engine's loop runs after orders are placed or cancelled, reading what they brought
(user channel, book), charged to neither side."""


class KillRounds:
    """Kill switch rounds against bare batch_cancel rounds, measured in turn on one venue."""

    def __init__(self, venue: Venue, engine: Engine, engine_loop: asyncio.AbstractEventLoop) -> None:
        self.venue, self.engine, self.engine_loop = venue, engine, engine_loop
        self.bare_loop = asyncio.new_event_loop()
        self.session = self.bare_loop.run_until_complete(opened_session())
        self.price = far_bid(venue)
        self._taken: dict[int, tuple[list[float], list[float], list[float]]] = {}

    def samples(self, orders: int) -> tuple[list[float], list[float], list[float]]:
        """(bare seconds, engine seconds, engine refusing-after seconds) of KILL_ROUNDS rounds."""
        if orders not in self._taken:
            self._taken[orders] = self._measure(orders)
        return self._taken[orders]

    def _settle(self) -> None:
        self.engine_loop.run_until_complete(asyncio.sleep(SETTLE))

    def _measure(self, orders: int) -> tuple[list[float], list[float], list[float]]:
        bare: list[float] = []
        engine: list[float] = []
        refusing: list[float] = []
        for _ in range(KILL_ROUNDS):
            bare.append(self.bare_loop.run_until_complete(self._bare_round(orders)))
            self._settle()
            took, refused_after = self._engine_round(orders)
            engine.append(took)
            refusing.append(refused_after)
            self._settle()
        return bare, engine, refusing

    async def _bare_round(self, orders: int) -> float:
        session, venue = self.session, self.venue
        answers = await asyncio.gather(
            *(post(session, f"{venue.api}/orders", order_body(self.price)) for _ in range(orders))
        )
        calls = batch_cancels(venue, [a["success_response"]["order_id"] for a in answers])
        await asyncio.sleep(SETTLE)  # the placements' answers and frames read, as the engine's are
        started = time.perf_counter()
        results = await send_batch_cancels(session, venue, calls)
        took = time.perf_counter() - started
        assert sum(r["success"] for answer in results for r in answer["results"]) == orders
        return took

    def _engine_round(self, orders: int) -> tuple[float, float]:
        engine, loop = self.engine, self.engine_loop
        if engine.state != "ACTIVE":
            engine.rearm("benchmark round")
        loop.run_until_complete(place_many(engine, self.price, orders))
        assert engine.trading is not None
        loop.run_until_complete(engine.trading.execution.intents.flush())
        self._settle()
        request = OrderRequest("BTC-USD", "buy", "limit", "0.001", price=self.price)

        async def refused_after(pressed: float) -> float:
            while True:
                verdict = engine.precheck(request)
                if not verdict.ok:
                    assert verdict.refusal is not None and "HALTED" in verdict.refusal, verdict.refusal
                    return time.perf_counter() - pressed
                await asyncio.sleep(0)

        async def kill() -> tuple[float, float]:
            pressed = time.perf_counter()
            watcher = asyncio.ensure_future(refused_after(pressed))
            report = await engine.kill_switch("benchmark")
            took = time.perf_counter() - pressed
            assert len(report.cancelled) == orders and not report.failed
            return took, await watcher

        return loop.run_until_complete(kill())

    def close(self) -> None:
        self.bare_loop.run_until_complete(self.session.close())
        self.bare_loop.close()


@pytest.fixture(scope="module")
def kill_rounds(venue: Venue, tmp_path_factory: pytest.TempPathFactory) -> Iterator[KillRounds]:
    """Rounds taken in turn, a bare one then the engine's, as submit -> ack's are: the engine is
    connected (to the book and its user channel) through both, so the venue does the same work
    for either side's cancels, and the machine getting faster or slower weighs on both alike.
    The bare calls run on a loop of their own while the engine's is stopped: what the venue sends
    the engine meanwhile waits in its socket and is read between rounds, charged to neither."""
    engine_loop = asyncio.new_event_loop()
    with trading_engine(venue, engine_loop, tmp_path_factory.mktemp("kill")) as engine:
        rounds = KillRounds(venue, engine, engine_loop)
        try:
            yield rounds
        finally:
            rounds.close()
    engine_loop.close()


@pytest.mark.parametrize("orders", KILL_SIZES)
def test_kill_switch_baseline_bare_batch_cancel(benchmark: Any, orders: int, kill_rounds: KillRounds) -> None:
    """Two (or more) batch_cancel calls of 100 ids, sent in parallel with tokens signed ahead."""
    bare, _, _ = kill_rounds.samples(orders)
    record(benchmark, f"kill switch, {orders} orders", "baseline", bare)


@pytest.mark.parametrize("orders", KILL_SIZES)
def test_kill_switch_engine(benchmark: Any, orders: int, kill_rounds: KillRounds) -> None:
    """All `orders` confirmed cancelled; and, timed from outside the engine, when an order is
    refused: a task of its own asks the engine's pre-trade check about an order every loop
    turn from just before the kill switch is pressed until the answer is the halt."""
    _, engine, refusing = kill_rounds.samples(orders)
    record(benchmark, f"kill switch, {orders} orders", "engine kill_switch -> all confirmed cancelled", engine)
    benchmark.extra_info["refusing_after_max_us"] = max(refusing) * 1e6
    with pytest.raises(OrderRefusedError):  # and an order placed now is not sent
        kill_rounds.engine_loop.run_until_complete(
            kill_rounds.engine.place_limit("BTC-USD", "buy", size="0.001", price=kill_rounds.price)
        )


PRECHECK_SIZES = [10, 100, 1000]


@pytest.mark.parametrize("working", PRECHECK_SIZES)
def test_precheck_baseline_risk_checks_alone(benchmark: Any, venue: Venue, working: int, engine: Engine) -> None:
    """The risk checks on a context built beforehand: what a pre-trade check costs at least."""
    trading = engine.trading
    assert trading is not None
    request = OrderRequest("BTC-USD", "buy", "limit", "0.001", price=far_bid(venue))
    context = RiskContext(
        mid=engine.market_data.mid("BTC-USD"),
        position=Decimal(0),
        working_same_side=Decimal(0),
        open_orders=working,
        available_base=Decimal(1),
        available_quote=Decimal(100_000),
        rules=trading.products.get("BTC-USD"),
    )
    assert trading.risk.check(request, context).ok
    benchmark.group = f"pre-trade check, {working} working orders"
    benchmark.extra_info["role"] = "baseline"
    benchmark(trading.risk.check, request, context)


@pytest.mark.parametrize("working", PRECHECK_SIZES)
def test_precheck_engine(
    benchmark: Any, venue: Venue, working: int, loop: asyncio.AbstractEventLoop, engine: Engine
) -> None:
    """`engine.precheck` (context gathered from the book, the portfolio and the working orders,
    then the checks) with this many orders working: it should not grow with them."""
    price = far_bid(venue)
    loop.run_until_complete(place_many(engine, price, working))
    assert len(engine.open_orders()) == working
    request = OrderRequest("BTC-USD", "buy", "limit", "0.001", price=price)
    assert engine.precheck(request).ok
    benchmark.group = f"pre-trade check, {working} working orders"
    benchmark.extra_info["role"] = "engine precheck"
    benchmark(engine.precheck, request)


def test_cancel_to_ack_baseline_bare_aiohttp_post(
    benchmark: Any, venue: Venue, loop: asyncio.AbstractEventLoop, session: aiohttp.ClientSession
) -> None:
    base = venue.api
    price = far_bid(venue)
    calls: list[tuple[str, dict[str, str]]] = []

    async def placed() -> None:
        answer = await post(session, f"{base}/orders", order_body(price))
        calls.extend(batch_cancels(venue, [answer["success_response"]["order_id"]]))  # signed ahead
        await asyncio.sleep(PAUSE)  # as the engine's order below settles

    def place_one() -> None:
        loop.run_until_complete(placed())

    async def cancel_one() -> None:
        (answer,) = await send_batch_cancels(session, venue, [calls.pop()])
        assert answer["results"][0]["success"], answer

    benchmark.group = "cancel -> ack"
    benchmark.extra_info["role"] = "baseline"
    benchmark.pedantic(lambda: loop.run_until_complete(cancel_one()), setup=place_one, rounds=ROUNDS, warmup_rounds=5)


def test_cancel_to_ack_engine_cancel(
    benchmark: Any, venue: Venue, loop: asyncio.AbstractEventLoop, engine: Engine
) -> None:
    price = far_bid(venue)
    working: list[Any] = []

    async def placed() -> None:
        working.append(await engine.place_limit("BTC-USD", "buy", size="0.001", price=price))
        # The loop runs on, as in a session: what the placement brings after its answer (its user
        # channel and book updates, its intent's flush) is not charged to the cancel that follows.
        await asyncio.sleep(PAUSE)

    def place_one() -> None:
        loop.run_until_complete(placed())

    async def cancel_one() -> None:
        cancelled, failed = await engine.cancel(working.pop())
        assert len(cancelled) == 1 and not failed, failed

    benchmark.group = "cancel -> ack"
    benchmark.extra_info["role"] = "engine cancel (journal, JWT, state machine)"
    benchmark.pedantic(lambda: loop.run_until_complete(cancel_one()), setup=place_one, rounds=ROUNDS, warmup_rounds=5)


CONCURRENCY = [1, 2] if SMOKE else [1, 2, 4, 8, 16, 32]
ORDERS_FOR = 0.5 if SMOKE else 2.0
"""Seconds each concurrency level places orders for."""


def test_orders_per_second_sustained(
    benchmark: Any, venue: Venue, loop: asyncio.AbstractEventLoop, tmp_path: Path
) -> None:
    """Orders/s the engine sustains against the venue in its own process: `n` placements in flight
    at once (each waits for its ack, then the next goes), n rising until acks/s stops rising. Each
    level's orders are cancelled before the next. The samples are the ack times at the best level."""
    price = far_bid(venue)
    points: list[dict[str, Any]] = []
    best: list[float] = []
    best_rate = 0.0
    with trading_engine(venue, loop, tmp_path) as engine:

        async def level(in_flight: int) -> list[float]:
            took: list[float] = []
            deadline = time.perf_counter() + ORDERS_FOR

            async def worker() -> None:
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    # Small, so the venue's funds hold every order of a level (it cancels them after),
                    # yet worth more than its minimum order value (1 USD).
                    order = await engine.place_limit("BTC-USD", "buy", size="0.00002", price=price)
                    assert order.order_id, order.reason
                    took.append(time.perf_counter() - started)

            await asyncio.gather(*(worker() for _ in range(in_flight)))
            await engine.cancel_all()
            return took

        for in_flight in CONCURRENCY:
            took = loop.run_until_complete(level(in_flight))
            rate = len(took) / ORDERS_FOR
            points.append(
                {
                    "in_flight": in_flight,
                    "orders_per_s": round(rate),
                    "p50_ms": round(statistics.median(took) * 1000, 3),
                    "p99_ms": round(p99(took) * 1000, 3),
                }
            )
            if rate > best_rate:
                best, best_rate = took, rate
    record(benchmark, "orders/s sustained", "engine place_limit, acks at the best concurrency", best)
    benchmark.extra_info.update(sweep=points, sustained_orders_per_s=max(p["orders_per_s"] for p in points))
