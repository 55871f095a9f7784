"""Chaos run: the engine trades against the paper venue, each in its own process, while a seeded
schedule of faults overlaps with a seeded random trader; invariants are checked as it goes and at
the end. `make chaos` (CHAOS_SECONDS, default 600; CHAOS_SEED) writes docs/reliability.md; `make
test` runs a 20-second version (tests/integration/chaos/).

A failing run prints its seed: `CHAOS_SEED=N make chaos` replays the same schedule of actions and
faults (timings on a busy machine differ, so a race may need a few runs to come back).

The processes: `cryptoj sim --control --db FILE` (the venue, with its SQLite store, killed -9 and
restarted on it) and `cryptoj headless --journal FILE` (the engine, killed -9 and restarted on its
journal). The trader talks to the engine over its stdin and stdout as any script would, in one
task; the faults come from another on their own seeded schedule, so they land in the middle of
the trader's commands: the venue's through its /sim control endpoint, the disk's by dropping the
engine's file-size limit (RLIMIT_FSIZE) to nothing for a moment, so every journal write fails as
on a full disk. Every CHECK_EVERY seconds, and at the end, a checkpoint stops the faults, freezes
the venue's market, asks the engine to reconcile and compares what it says (open orders,
position, fees, balances, the book) with the venue's own database and book.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import socket
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import aiohttp
import psutil

from cryptoj_tui.cdp_keys import generate_key, write_key_file

REPLY_TIMEOUT = 30.0
"""Seconds the engine may take to answer one command, faults and all, before the run fails."""
WORKING = {"PENDING_NEW", "OPEN", "PARTIALLY_FILLED", "PENDING_CANCEL"}
FAULTS = (
    "drop",
    "stall",
    "skip_sequence",
    "malformed",
    "oversized",
    "disk_full",
    "rest_503",
    "rest_429",
    "rest_latency",
    "reject_orders",
    "venue_restart",
    "engine_kill",
)


CHECK_EVERY = 60.0
"""Seconds between checkpoints (a run shorter than two of them has one in its middle)."""
FRAME_LIMIT = 1 << 20
"""The engine's frame limit in the run (`--max-frame-bytes`): the oversized fault sends frames a
quarter under it and half over it."""
STARTING_BALANCES = {"BTC": Decimal(2), "USD": Decimal(100_000)}
CASH_DUST = Decimal("1e-9")
"""How far the engine's cash flow (open cost minus realised PnL) may sit from the venue's fills:
the average-cost split of a partial close divides at 28 digits. The venue's own balances and
the engine's quantity and fees are compared exactly."""


class ChaosFailure(AssertionError):
    """An invariant broke; the message names it and the seed."""


class EngineGone(Exception):
    """The engine was killed while a command was on its way (its outcome is the venue's to tell)."""


@dataclass
class Tally:
    """What the run did, for the report."""

    actions: Counter[str] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    refusals: Counter[str] = field(default_factory=Counter)
    recoveries: dict[str, list[float]] = field(default_factory=dict)
    """Kind of restart -> seconds until the engine answered with a live book again."""
    rss_mb: list[float] = field(default_factory=list)
    fds: list[int] = field(default_factory=list)
    halted_windows: list[tuple[float, float]] = field(default_factory=list)
    checked: Counter[str] = field(default_factory=Counter)
    """What the verdict compared: orders at the venue, open ones, fills, halts."""
    checkpoints: int = 0
    books_compared: int = 0

    def recovered(self, kind: str, seconds: float) -> None:
        self.recoveries.setdefault(kind, []).append(seconds)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ChildProcess:
    """A process of the run: killed (-9) when the schedule says, stopped politely at the end."""

    process: asyncio.subprocess.Process | None = None

    async def kill(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.kill()
            await self.process.wait()

    async def _ended_within(self, seconds: float) -> None:
        """Wait for the asked-for exit; kill it if it does not come."""
        assert self.process is not None
        try:
            await asyncio.wait_for(self.process.wait(), seconds)
        except TimeoutError:
            await self.kill()


class VenueProcess(ChildProcess):
    """`cryptoj sim` on a fixed port with a store: killed and restarted on the same state."""

    def __init__(self, workdir: Path, key_file: Path, seed: int) -> None:
        self.port = free_port()
        self.db = workdir / "venue.db"
        self.key_file = key_file
        self.seed = seed
        self.log = open(workdir / "venue.log", "ab")  # noqa: SIM115 - closed in stop()

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cryptoj_tui",
            "sim",
            "--port",
            str(self.port),
            "--seed",
            str(self.seed),
            "--step-interval",
            "0.05",
            "--control",
            "--db",
            str(self.db),
            "--api-key-file",
            str(self.key_file),
            "--rate-limit",
            "0",
            "--balances",
            ",".join(f"{currency}={amount}" for currency, amount in STARTING_BALANCES.items()),
            stdout=asyncio.subprocess.PIPE,
            stderr=self.log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        assert self.process.stdout is not None
        async with asyncio.timeout(30):
            while line := await self.process.stdout.readline():
                if line.startswith(b"websocket: "):
                    return
        raise ChaosFailure("the venue did not start (see venue.log)")

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            self.process.terminate()
            await self._ended_within(10)
        self.log.close()


class EngineProcess(ChildProcess):
    """`cryptoj headless` on a journal: commands in, one reply per command out (events skipped).

    Its stderr is copied to engine.log by this process: the disk fault limits the engine's own
    writes, and its log must not be what the fault takes."""

    def __init__(self, workdir: Path, venue: VenueProcess, key_file: Path) -> None:
        self.journal = workdir / "journal.db"
        self.venue = venue
        self.key_file = key_file
        self.log = open(workdir / "engine.log", "ab")  # noqa: SIM115 - closed in stop()
        self.events: Counter[str] = Counter()
        self.up = asyncio.Event()
        """Set while the engine answers; cleared from a kill until its restart has answered."""
        self._copying: asyncio.Task[None] | None = None

    async def start(self) -> float:
        """Start and wait for its BTC-USD book; the seconds that took."""
        started = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cryptoj_tui",
            "--max-frame-bytes",
            str(FRAME_LIMIT),
            "headless",
            "--ws-url",
            self.venue.ws_url,
            "--key-file",
            str(self.key_file),
            "--journal",
            str(self.journal),
            "--product",
            "BTC-USD",
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            limit=1 << 24,
        )
        self._copying = asyncio.ensure_future(self._copy_log(self.process))
        await self._reply(self.process, "ready", timeout=60)
        return time.monotonic() - started

    async def _copy_log(self, process: asyncio.subprocess.Process) -> None:
        assert process.stderr is not None
        while line := await process.stderr.readline():
            self.log.write(line)
        self.log.flush()

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def _reply(self, process: asyncio.subprocess.Process, name: str, timeout: float) -> dict[str, Any]:
        assert process.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = await process.stdout.readline()
                if not line:
                    raise EngineGone(f"the engine ended while a {name!r} reply was awaited (see engine.log)")
                message = json.loads(line)
                if "event" in message:
                    self.events[message["event"]] += 1
                    continue
                if message.get("reply") == name or (name == "ready" and message.get("reply") == "subscribe"):
                    if message.get("reply") == name:
                        return message  # type: ignore[no-any-return]
                    if not message.get("ok"):
                        raise ChaosFailure(f"the engine could not subscribe at start: {message}")

    async def command(self, name: str, **fields: Any) -> dict[str, Any]:
        """Send one command once the engine is up and wait for its reply; EngineGone when the
        engine is killed meanwhile."""
        await self.up.wait()
        return await self.ask(name, **fields)

    async def ask(self, name: str, **fields: Any) -> dict[str, Any]:
        """Send one command now (up or not) and wait for its reply."""
        process = self.process
        assert process is not None and process.stdin is not None
        try:
            process.stdin.write((json.dumps({"cmd": name, **fields}) + "\n").encode())
            await process.stdin.drain()
        except (BrokenPipeError, ConnectionResetError) as exc:
            raise EngineGone(f"the engine was gone before {name!r}: {exc}") from None
        return await self._reply(process, name, REPLY_TIMEOUT)

    async def kill(self) -> None:
        self.up.clear()
        await super().kill()
        if self._copying is not None:
            await self._copying

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # headless ends at the end of its input
            await self._ended_within(15)
        if self._copying is not None:
            await self._copying
        self.log.close()


class Chaos:
    """One seeded run."""

    def __init__(self, seconds: float, seed: int, workdir: Path) -> None:
        self.seconds = seconds
        self.seed = seed
        self.rng = random.Random(seed)
        """The trader's choices."""
        self.fault_rng = random.Random(f"faults {seed}")
        """The fault schedule's: its own, so the schedule is the seed's whatever the trader waits for."""
        self.workdir = workdir
        key = generate_key()
        self.key_name = key.name
        self.key_file = workdir / "key.json"
        write_key_file(self.key_file, key)
        self.venue = VenueProcess(workdir, self.key_file, seed)
        self.engine = EngineProcess(workdir, self.venue, self.key_file)
        self.tally = Tally()
        self.halted_since: float | None = None
        self.asked: list[str] = []
        """client_order_ids the engine said it placed (acked or finished)."""
        self.faults_allowed = asyncio.Event()
        """Cleared while a checkpoint compares (no new fault starts)."""
        self.injecting = asyncio.Lock()
        """Held while a fault is being injected (a checkpoint waits for it to finish)."""
        self.lifting: set[asyncio.Task[None]] = set()
        """Faults that end by themselves a moment later (latency, the full disk)."""
        self.disk_limit: tuple[int, int] | None = None
        """The engine's file-size limit before the disk fault lowered it, while it is lowered."""

    def fail(self, what: str) -> ChaosFailure:
        return ChaosFailure(f"chaos seed {self.seed}: {what} (logs in {self.workdir})")

    # -- the trader ------------------------------------------------------------------------

    async def trade_once(self, mid: Decimal) -> None:
        rng, engine = self.rng, self.engine
        roll = rng.random()
        if self.halted_since is not None:
            if roll < 0.5:  # re-arm after a while, as a person would
                reply = await engine.command("rearm", reason="chaos: trader re-arms")
                if reply.get("ok") and reply.get("state") == "ACTIVE":
                    self._halt_ended()
                self.tally.actions["rearm"] += 1
            else:  # a halted engine must refuse
                reply = await self._place(mid)
                if reply.get("ok") and reply["order"]["status"] not in ("REJECTED", "FAILED"):
                    raise self.fail(f"an order was placed while HALTED: {reply}")
            return
        if roll < 0.55:
            reply = await self._place(mid)
            if not reply.get("ok"):  # the engine may have halted itself (a journal it cannot write)
                await self._note_halt()
        elif roll < 0.85:
            orders = (await engine.command("orders")).get("orders", [])
            working = [o for o in orders if o["status"] in WORKING]
            if working:
                target = rng.choice(working)["client_order_id"]
                reply = await engine.command("cancel", client_order_id=target)
                self.tally.actions["cancel"] += 1
                if not reply.get("ok"):
                    self.tally.refusals[_first_words(reply.get("error", ""))] += 1
        elif roll < 0.97:
            reply = await engine.command("cancel_all")
            self.tally.actions["cancel_all"] += 1
        else:
            reply = await engine.command("kill", reason="chaos: trader hits the kill switch")
            self.tally.actions["kill"] += 1
            if reply.get("ok"):
                self.halted_since = time.time()

    async def _note_halt(self) -> None:
        if self.halted_since is None and (await self.engine.command("state")).get("state") == "HALTED":
            self.halted_since = time.time()

    def _halt_ended(self) -> None:
        if self.halted_since is not None:
            self.tally.halted_windows.append((self.halted_since, time.time()))
            self.halted_since = None

    async def _place(self, mid: Decimal) -> dict[str, Any]:
        rng = self.rng
        side = rng.choice(("buy", "sell"))
        kind = rng.choices(("limit", "market", "ioc", "fok", "stop_limit"), (6, 2, 1, 1, 1))[0]
        size = str(Decimal(rng.randint(1, 20)) / 1000)
        away = Decimal(rng.randint(-20, 200)) / 100 * (1 if side == "buy" else -1)
        price = (mid - away).quantize(Decimal("0.01"))
        fields: dict[str, Any] = {"product_id": "BTC-USD", "side": side, "type": kind, "size": size}
        if kind in ("limit", "ioc", "fok"):
            fields["price"] = str(price)
        elif kind == "stop_limit":
            stop = (mid - Decimal(50) if side == "sell" else mid + Decimal(50)).quantize(Decimal("0.01"))
            fields |= {"stop_price": str(stop), "price": str(stop)}
        reply = await self.engine.command("place", **fields)
        self.tally.actions[f"place {kind}"] += 1
        if reply.get("ok") and reply["order"]["status"] in ("REJECTED", "FAILED"):
            self.tally.refusals[_first_words(reply["order"]["reason"])] += 1  # refused, with its reason
        elif reply.get("ok"):
            self.asked.append(reply["order"]["client_order_id"])
        else:
            self.tally.refusals[_first_words(reply.get("error", ""))] += 1
        return reply

    # -- the faults ------------------------------------------------------------------------

    async def fault_loop(self, session: aiohttp.ClientSession) -> None:
        """Inject the seeded schedule of faults, each when its time comes, whatever the trader is doing."""
        rng = self.fault_rng
        while True:
            await asyncio.sleep(rng.uniform(0.5, 2.5))
            await self.faults_allowed.wait()
            async with self.injecting:
                await self.inject(session, rng.choice(FAULTS))

    async def inject(self, session: aiohttp.ClientSession, fault: str) -> None:
        rng = self.fault_rng
        self.tally.faults[fault] += 1
        bodies: dict[str, dict[str, Any]] = {
            "drop": {"fault": "drop"},
            "stall": {"fault": "stall", "seconds": 1.5},
            "skip_sequence": {"fault": "skip_sequence"},
            "malformed": {"fault": "malformed"},
            "oversized": {"fault": "oversized", "bytes": rng.choice((FRAME_LIMIT * 3 // 4, FRAME_LIMIT * 3 // 2))},
            "rest_503": {"fault": "rest_error", "status": 503, "count": 3},
            "rest_429": {"fault": "rest_error", "status": 429, "count": 2},
            "rest_latency": {"fault": "rest_latency", "seconds": 0.3},
            "reject_orders": {"fault": "reject_orders", "reason": "INSUFFICIENT_FUND", "count": 2},
        }
        if fault in bodies:
            await self._control(session, "/sim/faults", bodies[fault])
            if fault == "rest_latency":  # lifted again after a while (it stays until then)
                self._later(2.0, lambda: self._control(session, "/sim/faults", {"fault": "rest_latency", "seconds": 0}))
        elif fault == "disk_full":
            self._refuse_disk()
            self._later(rng.uniform(0.3, 2.0), self._accept_disk)
        elif fault == "venue_restart":
            await self.venue.kill()
            await asyncio.sleep(rng.uniform(0.2, 1.5))
            await self.venue.start()
        else:  # engine_kill: SIGKILL, then a restart on its journal
            await self.engine.kill()
            self.disk_limit = None  # a new process: the limit went with the old one
            self._halt_ended()
            seconds = await self.engine.start()
            self.tally.recovered("engine restart on its journal", seconds)
            state = (await self.engine.ask("state")).get("state")
            self.halted_since = time.time() if state == "HALTED" else None
            self.engine.up.set()

    def _later(self, seconds: float, lift: Callable[[], Coroutine[Any, Any, None]]) -> None:
        async def after() -> None:
            await asyncio.sleep(seconds)
            await lift()

        task = asyncio.ensure_future(after())
        self.lifting.add(task)
        task.add_done_callback(self.lifting.discard)

    async def _control(self, session: aiohttp.ClientSession, path: str, body: dict[str, Any]) -> None:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.post(f"{self.venue.http_url}{path}", json=body, timeout=aiohttp.ClientTimeout(total=5)):
                pass

    def _refuse_disk(self) -> None:
        """Every write the engine makes to a file (its journal and its WAL) fails from now on, as
        on a full disk: its file-size limit drops to one byte. Python ignores SIGXFSZ, so a write
        past the limit fails with EFBIG instead of killing the process."""
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(self.engine.pid)
            if self.disk_limit is None:
                self.disk_limit = process.rlimit(psutil.RLIMIT_FSIZE)
            process.rlimit(psutil.RLIMIT_FSIZE, (1, self.disk_limit[1]))

    async def _accept_disk(self) -> None:
        if self.disk_limit is not None:
            with contextlib.suppress(psutil.Error):
                psutil.Process(self.engine.pid).rlimit(psutil.RLIMIT_FSIZE, self.disk_limit)
            self.disk_limit = None

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> Tally:
        await self.venue.start()
        await self.engine.start()
        self.engine.up.set()
        started = time.monotonic()
        deadline = started + self.seconds
        every = min(CHECK_EVERY, self.seconds / 2)
        next_check = started + every
        next_sample = started
        self.faults_allowed.set()
        async with aiohttp.ClientSession() as session:
            faults = asyncio.ensure_future(self.fault_loop(session))
            try:
                while time.monotonic() < deadline:
                    mid = await self._mid(session)
                    if mid is not None:
                        with contextlib.suppress(EngineGone):  # killed under the trader's command
                            await self.trade_once(mid)
                    if time.monotonic() >= next_sample:
                        self._sample()
                        next_sample = time.monotonic() + 1.0
                    if time.monotonic() >= next_check and deadline - time.monotonic() > every / 2:
                        await self.checkpoint(session)
                        next_check = time.monotonic() + every
                    await asyncio.sleep(self.rng.uniform(0.02, 0.15))
                faults.cancel()
                await self.checkpoint(session, final=True)
            finally:
                faults.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await faults
                for task in list(self.lifting):
                    task.cancel()
                await self.engine.stop()
                await self.venue.stop()
        self._verdict()
        return self.tally

    async def _mid(self, session: aiohttp.ClientSession) -> Decimal | None:
        try:
            async with session.get(f"{self.venue.http_url}/sim/state", timeout=aiohttp.ClientTimeout(total=3)) as r:
                product = (await r.json())["products"]["BTC-USD"]
            return (Decimal(product["best_bid"]) + Decimal(product["best_ask"])) / 2
        except (aiohttp.ClientError, TimeoutError, KeyError, TypeError, ValueError, ArithmeticError):
            return None  # the venue is restarting

    def _sample(self) -> None:
        with contextlib.suppress(psutil.Error):
            process = psutil.Process(self.engine.pid)
            rss, fds = process.memory_info().rss, process.num_fds()
            if rss and fds:  # not a process just killed
                self.tally.rss_mb.append(rss / 2**20)
                self.tally.fds.append(fds)

    # -- checkpoints -----------------------------------------------------------------------

    async def checkpoint(self, session: aiohttp.ClientSession, *, final: bool = False) -> None:
        """No fault running, the venue up with its market frozen, the engine reconciled: then
        everything the engine says must be what the venue holds."""
        self.faults_allowed.clear()
        async with self.injecting:  # a fault under way (an engine restart) finishes first
            for task in list(self.lifting):
                task.cancel()
            await self._accept_disk()
            if self.venue.process is None or self.venue.process.returncode is not None:
                await self.venue.start()
            async with session.post(f"{self.venue.http_url}/sim/reset") as response:
                response.raise_for_status()
            await self._control(session, "/sim/faults", {"fault": "rest_latency", "seconds": 0})
            if final:
                await self._leave_orders_open(session)
            async with session.post(f"{self.venue.http_url}/sim/flow", json={"running": False}) as response:
                response.raise_for_status()
            await self._settled()
            reply = await self.engine.command("reconcile", reason="chaos checkpoint")
            if not reply.get("ok"):
                raise self.fail(f"the engine could not reconcile at a checkpoint: {reply}")
            self._compare(
                (await self.engine.command("orders"))["orders"],
                (await self.engine.command("positions"))["positions"],
                (await self.engine.command("balances"))["balances"],
            )
            await self._books_agree(session)
            self.tally.checkpoints += 1
            async with session.post(f"{self.venue.http_url}/sim/flow", json={"running": True}) as response:
                response.raise_for_status()
        self.faults_allowed.set()

    async def _leave_orders_open(self, session: aiohttp.ClientSession) -> None:
        """Re-armed, three orders far from the market: the open sets compared at the end are not
        empty only because every order near the inside filled while the run settled."""
        await self.engine.command("rearm", reason="chaos: end of run")
        self._halt_ended()
        placed, reply = 0, {}
        try:
            async with asyncio.timeout(30):  # the engine trades again once the faults stop
                while placed < 3:
                    mid = await self._mid(session)
                    if mid is not None:
                        price = str((mid - 500 - placed).quantize(Decimal("0.01")))
                        reply = await self.engine.command(
                            "place", product_id="BTC-USD", side="buy", type="limit", size="0.001", price=price
                        )
                        if reply.get("ok") and reply["order"]["status"] == "OPEN":
                            self.asked.append(reply["order"]["client_order_id"])
                            placed += 1
                            continue
                    await asyncio.sleep(0.5)
        except TimeoutError:
            raise self.fail(f"the engine did not trade again after the faults stopped: {reply}") from None

    async def _settled(self) -> None:
        """Wait until no order's placement or cancel is still being answered or resolved."""
        try:
            async with asyncio.timeout(60):
                while True:
                    orders = (await self.engine.command("orders"))["orders"]
                    if not any(o["status"] in ("PENDING_NEW", "PENDING_CANCEL") for o in orders):
                        return
                    await asyncio.sleep(0.3)
        except TimeoutError:
            raise self.fail("orders still pending 60 s after the faults stopped") from None

    async def _books_agree(self, session: aiohttp.ClientSession) -> None:
        """The engine's book equals the venue's (the market frozen: the same version of it), level
        for level, 50 a side; it may take a moment to resync after the last fault."""
        engine_book: dict[str, Any] = {}
        venue_book: dict[str, Any] = {}
        try:
            async with asyncio.timeout(20):
                while True:
                    async with session.get(f"{self.venue.http_url}/sim/book?product_id=BTC-USD&depth=50") as r:
                        venue_book = await r.json()
                    engine_book = await self.engine.command("book", product_id="BTC-USD", depth=50)
                    if engine_book.get("live") and all(
                        _levels(engine_book[side]) == _levels(venue_book[side]) for side in ("bids", "asks")
                    ):
                        self.tally.books_compared += 1
                        return
                    await asyncio.sleep(0.2)
        except TimeoutError:
            raise self.fail(
                f"the engine's book is not the venue's: engine {engine_book.get('bids', [])[:2]} / "
                f"{engine_book.get('asks', [])[:2]}, venue {venue_book.get('bids', [])[:2]} / "
                f"{venue_book.get('asks', [])[:2]}"
            ) from None

    def _venue_orders(self) -> list[dict[str, Any]]:
        with contextlib.closing(sqlite3.connect(self.venue.db)) as db:
            rows = db.execute("SELECT document FROM orders WHERE owner = ?", (self.key_name,)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def _venue_accounts(self) -> dict[str, Decimal]:
        with contextlib.closing(sqlite3.connect(self.venue.db)) as db:
            rows = db.execute(
                "SELECT currency, available, hold FROM accounts WHERE owner = ?", (self.key_name,)
            ).fetchall()
        return {currency: Decimal(available) + Decimal(hold) for currency, available, hold in rows}

    def _compare(
        self, engine_orders: list[dict[str, Any]], positions: dict[str, Any], balances: dict[str, Any]
    ) -> None:
        """The engine's open orders, position, fees and balances against the venue's database."""
        venue_orders = self._venue_orders()
        venue_open = sorted(o["client_order_id"] for o in venue_orders if o["status"] in ("OPEN", "PENDING"))
        engine_open = sorted(o["client_order_id"] for o in engine_orders if o["status"] in WORKING)
        if venue_open != engine_open:
            only_venue = sorted(set(venue_open) - set(engine_open))[:3]
            only_engine = sorted(set(engine_open) - set(venue_open))[:3]
            raise self.fail(f"open orders differ: only at the venue {only_venue}, only in the engine {only_engine}")
        fills = [f for o in venue_orders for f in o["fills"]]
        signed = [(1 if f["side"] == "BUY" else -1, Decimal(f["price"]), Decimal(f["size"])) for f in fills]
        quantity = sum((sign * size for sign, _, size in signed), Decimal(0))
        paid = sum((sign * price * size for sign, price, size in signed), Decimal(0))
        fees = sum((Decimal(f["commission"]) for f in fills), Decimal(0))
        position = positions.get("BTC-USD", {})
        held = Decimal(position.get("quantity", "0"))
        if held != quantity:
            raise self.fail(f"position {held} is not the venue's fills {quantity}")
        if Decimal(position.get("fees", "0")) != fees:
            raise self.fail(f"fees {position.get('fees')} are not the venue's commissions {fees}")
        cost = held * Decimal(position.get("average_price", "0"))
        if abs(cost - Decimal(position.get("realised", "0")) - paid) > CASH_DUST:
            raise self.fail(f"cash flow {cost} - {position.get('realised')} is not the venue's fills {paid}")
        venue = self._venue_accounts()
        expected = {"BTC": STARTING_BALANCES["BTC"] + quantity, "USD": STARTING_BALANCES["USD"] - paid - fees}
        for currency, amount in expected.items():
            if venue.get(currency, STARTING_BALANCES[currency]) != amount:
                raise self.fail(f"the venue's {currency} {venue.get(currency)} is not its start plus fills {amount}")
            told = balances.get(currency, {})
            if Decimal(told.get("available", "0")) + Decimal(told.get("hold", "0")) != amount:
                raise self.fail(f"the engine's {currency} balance {told} is not the venue's {amount}")
        self.tally.checked.update({"open orders compared": len(venue_open), "fills compared": len(fills)})

    # -- the verdict -----------------------------------------------------------------------

    def _verdict(self) -> None:
        """At the end: every order once at the venue, none lost, none placed while halted, the
        engine's memory and descriptors flat."""
        venue_orders = self._venue_orders()
        at_venue = Counter(o["client_order_id"] for o in venue_orders)
        doubled = [cid for cid, n in at_venue.items() if n > 1]
        if doubled:
            raise self.fail(f"orders at the venue twice: {doubled[:5]}")
        # What the engine knows: every order in its journal (a restarted engine loads only the
        # working ones; the finished stay on disk). The disk fault can leave an order out of it
        # only if it never left: its intent is written before it is sent.
        with contextlib.closing(sqlite3.connect(self.engine.journal)) as db:
            journalled = {row[0] for row in db.execute("SELECT client_order_id FROM orders")}
        lost = [cid for cid in self.asked if cid not in at_venue and cid not in journalled]
        if lost:
            raise self.fail(f"orders the engine acked that neither it nor the venue knows: {lost[:5]}")
        unknown = sorted(set(at_venue) - journalled)
        if unknown:
            raise self.fail(f"orders at the venue the engine's journal does not know: {unknown[:5]}")
        self.tally.checked.update(
            {
                "orders at the venue": len(venue_orders),
                "open at the end": sum(o["status"] in ("OPEN", "PENDING") for o in venue_orders),
                "fills": sum(len(o["fills"]) for o in venue_orders),
                "halts": len(self.tally.halted_windows),
            }
        )
        for order in venue_orders:
            created = _epoch(order["created_time"])
            for start, end in self.tally.halted_windows:
                if start + 0.05 < created < end - 0.05:
                    raise self.fail(f"order {order['client_order_id']} reached the venue while HALTED")
        rss = self.tally.rss_mb
        if len(rss) >= 8 and max(rss[len(rss) // 2 :]) > 1.5 * max(rss[: len(rss) // 2]) + 50:
            raise self.fail(f"engine memory grew: {rss[:3]} ... {rss[-3:]} MiB")
        fds = self.tally.fds
        if len(fds) >= 8 and max(fds[len(fds) // 2 :]) > max(fds[: len(fds) // 2]) + 20:
            raise self.fail(f"engine file descriptors grew: {fds[:3]} ... {fds[-3:]}")


def _levels(side: list[list[str]]) -> list[tuple[Decimal, Decimal]]:
    return [(Decimal(price), Decimal(size)) for price, size in side]


def _first_words(text: str) -> str:
    """A refusal's first words, a file path shortened to its name (run directories differ)."""
    return " ".join(Path(word).name if word.startswith("/") else word for word in str(text).split()[:4])


def _epoch(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def report(tally: Tally, seconds: float, seeds: list[int]) -> str:
    """docs/reliability.md from one or more passing runs."""
    lines = [
        "# Reliability: chaos runs",
        "",
        f"Written by `make chaos` (tools/chaos.py): {len(seeds)} run(s) of {seconds:g} s, seeds "
        f"{', '.join(map(str, seeds))}, every one passing. The engine (`cryptoj headless`) and the paper "
        "venue (`cryptoj sim`) each ran in their own process; a seeded trader placed, cancelled and "
        "killed while a seeded schedule injected the faults below, overlapping.",
        "",
        "Faults: WebSocket drops (no close frame), stalls (1.5 s without a frame), skipped sequence "
        "numbers, malformed frames, oversized frames (a well-formed frame a quarter under the engine's "
        f"{FRAME_LIMIT:,}-byte frame limit, or half over it: read, or the connection closed with 1009 "
        "and reopened), REST 503 and 429 bursts, REST latency (0.3 s for 2 s), rejected orders, the "
        "venue killed -9 and restarted on its SQLite store, the engine killed -9 and restarted on its "
        "journal, and a full disk (the engine's file-size limit dropped to one byte for 0.3-2 s: every "
        "journal write and commit fails, as on a disk that refuses them; an fsync alone failing is not "
        "injected). They come from their own task on their own seeded schedule, so they land in the "
        "middle of the trader's commands and of each other (a latency or a full disk lasts while the "
        "next faults arrive).",
        "",
        f"Checkpoints, every {CHECK_EVERY:g} s and at the end: the faults stop, the venue's market "
        "freezes, the engine reconciles; then its open orders must equal the venue's (client ids); "
        "its position the sum of the venue's fills, to the unit, its fees the venue's commissions, "
        f"its cash flow (open cost minus realised PnL) the fills' within {CASH_DUST} USD (the "
        "average-cost split divides at 28 digits); the venue's balances its starting balances plus "
        "the fills, exactly, and the engine's balances the venue's; the engine's book the venue's "
        "own, 50 levels a side, level for level, within 20 s of the faults stopping. At the end, "
        "too: no order at the venue twice; none the engine acked lost; every order at the venue in "
        "the engine's journal; none reached the venue while the engine was HALTED, and a halted "
        "engine refused every order the trader tried; once the faults stop the engine places orders "
        "again; engine memory and file descriptors flat.",
        "",
        "| fault | injected |",
        "|---|---|",
        *(f"| {name} | {count} |" for name, count in sorted(tally.faults.items())),
        "",
        "| trader action | count |",
        "|---|---|",
        *(f"| {name} | {count} |" for name, count in sorted(tally.actions.items())),
        "",
        "| recovery | count | median s | max s |",
        "|---|---|---|---|",
    ]
    for kind, times in sorted(tally.recoveries.items()):
        ordered = sorted(times)
        lines.append(f"| {kind} | {len(times)} | {ordered[len(ordered) // 2]:.2f} | {ordered[-1]:.2f} |")
    lines += [
        "",
        "Refusals the trader met (first words), the engine's answers under faults:",
        "",
        *(f"- {name}: {count}" for name, count in tally.refusals.most_common(12)),
        "",
        f"Compared at {tally.checkpoints} checkpoints ({tally.books_compared} books): "
        + ", ".join(f"{n} {what}" for what, n in tally.checked.items())
        + " (open orders and fills summed over the checkpoints).",
        "",
        f"Engine memory {min(tally.rss_mb, default=0):.0f}-{max(tally.rss_mb, default=0):.0f} MiB, "
        f"file descriptors {min(tally.fds, default=0)}-{max(tally.fds, default=0)} over the runs.",
        "",
    ]
    return "\n".join(lines)


def merge(into: Tally, other: Tally) -> None:
    into.actions.update(other.actions)
    into.faults.update(other.faults)
    into.refusals.update(other.refusals)
    for kind, times in other.recoveries.items():
        into.recoveries.setdefault(kind, []).extend(times)
    into.checked.update(other.checked)
    into.checkpoints += other.checkpoints
    into.books_compared += other.books_compared
    into.rss_mb += other.rss_mb
    into.fds += other.fds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--seconds", type=float, default=float(os.environ.get("CHAOS_SECONDS", "600")))
    parser.add_argument("--seeds", default=os.environ.get("CHAOS_SEED", "1,2,3"), help="comma-separated seeds")
    parser.add_argument("--write", type=Path, help="write the report here when every run passes")
    args = parser.parse_args(argv)
    seeds = [int(s) for s in args.seeds.split(",") if s.strip()]
    total = Tally()
    for seed in seeds:
        workdir = Path(tempfile.mkdtemp(prefix=f"cryptoj-chaos-{seed}-"))
        print(f"chaos seed {seed}: {args.seconds:g} s in {workdir}", flush=True)
        try:
            tally = asyncio.run(Chaos(args.seconds, seed, workdir).run())
        except ChaosFailure as exc:
            print(f"FAILED: {exc}", file=sys.stderr)
            return 1
        merge(total, tally)
        checked = ", ".join(f"{n} {what}" for what, n in tally.checked.items())
        did = f"{sum(tally.faults.values())} faults, {sum(tally.actions.values())} actions"
        print(f"chaos seed {seed}: passed ({did}; {checked})")
    if args.write is not None:
        args.write.write_text(report(total, args.seconds, seeds))
    return 0


if __name__ == "__main__":
    sys.exit(main())
