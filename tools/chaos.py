"""Chaos run: the engine trades against the paper venue, each in its own process, while a seeded
schedule of faults overlaps with a seeded random trader; invariants are checked as it goes and at
the end. `make chaos` (CHAOS_SECONDS, default 600; CHAOS_SEED) writes docs/reliability.md; `make
test` runs a 20-second version (tests/integration/chaos/).

A failing run prints its seed: `CHAOS_SEED=N make chaos` replays the same schedule of actions and
faults (timings on a busy machine differ, so a race may need a few runs to come back).

The processes: `cryptoj sim --control --db FILE` (the venue, with its SQLite store, killed -9 and
restarted on it) and `cryptoj headless --journal FILE` (the engine, killed -9 and restarted on its
journal). The trader talks to the engine over its stdin and stdout as any script would; the faults
go to the venue's /sim control endpoint; the verdict compares what the engine says with what the
venue's own database holds.
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
    "rest_503",
    "rest_429",
    "rest_latency",
    "reject_orders",
    "venue_restart",
    "engine_kill",
)


class ChaosFailure(AssertionError):
    """An invariant broke; the message names it and the seed."""


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
    """`cryptoj headless` on a journal: commands in, one reply per command out (events skipped)."""

    def __init__(self, workdir: Path, venue: VenueProcess, key_file: Path) -> None:
        self.journal = workdir / "journal.db"
        self.venue = venue
        self.key_file = key_file
        self.log = open(workdir / "engine.log", "ab")  # noqa: SIM115 - closed in stop()
        self.events: Counter[str] = Counter()

    async def start(self) -> float:
        """Start and wait for its BTC-USD book; the seconds that took."""
        started = time.monotonic()
        self.process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cryptoj_tui",
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
            stderr=self.log,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            limit=1 << 24,
        )
        await self.reply_to("ready", timeout=60)
        return time.monotonic() - started

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    async def reply_to(self, name: str, timeout: float = REPLY_TIMEOUT) -> dict[str, Any]:
        assert self.process is not None and self.process.stdout is not None
        async with asyncio.timeout(timeout):
            while True:
                line = await self.process.stdout.readline()
                if not line:
                    raise ChaosFailure(f"the engine ended while a {name!r} reply was awaited (see engine.log)")
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
        assert self.process is not None and self.process.stdin is not None
        self.process.stdin.write((json.dumps({"cmd": name, **fields}) + "\n").encode())
        await self.process.stdin.drain()
        return await self.reply_to(name)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()  # headless ends at the end of its input
            await self._ended_within(15)
        self.log.close()


class Chaos:
    """One seeded run."""

    def __init__(self, seconds: float, seed: int, workdir: Path) -> None:
        self.seconds = seconds
        self.seed = seed
        self.rng = random.Random(seed)
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
                    self.tally.halted_windows.append((self.halted_since, time.time()))
                    self.halted_since = None
                self.tally.actions["rearm"] += 1
            else:  # a halted engine must refuse
                reply = await self._place(mid)
                if reply.get("ok"):
                    raise self.fail(f"an order was placed while HALTED: {reply}")
            return
        if roll < 0.55:
            await self._place(mid)
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

    async def inject(self, session: aiohttp.ClientSession) -> None:
        fault = self.rng.choice(FAULTS)
        self.tally.faults[fault] += 1
        control = f"{self.venue.http_url}/sim/faults"
        bodies = {
            "drop": {"fault": "drop"},
            "stall": {"fault": "stall", "seconds": 1.5},
            "skip_sequence": {"fault": "skip_sequence"},
            "malformed": {"fault": "malformed"},
            "rest_503": {"fault": "rest_error", "status": 503, "count": 3},
            "rest_429": {"fault": "rest_error", "status": 429, "count": 2},
            "rest_latency": {"fault": "rest_latency", "seconds": 0.3},
            "reject_orders": {"fault": "reject_orders", "reason": "INSUFFICIENT_FUND", "count": 2},
        }
        if fault in bodies:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with session.post(control, json=bodies[fault], timeout=aiohttp.ClientTimeout(total=5)):
                    pass
            if fault == "rest_latency":  # lifted again after a while (it stays until then)
                asyncio.get_running_loop().call_later(2.0, lambda: asyncio.ensure_future(self._lift(session)))
        elif fault == "venue_restart":
            await self.venue.kill()
            await asyncio.sleep(self.rng.uniform(0.2, 1.5))
            await self.venue.start()
        else:  # engine_kill: SIGKILL, then a restart on its journal
            await self.engine.kill()
            if self.halted_since is not None:
                self.tally.halted_windows.append((self.halted_since, time.time()))
            seconds = await self.engine.start()
            self.tally.recovered("engine restart on its journal", seconds)
            state = await self.engine.command("state")
            self.halted_since = time.time() if state.get("state") == "HALTED" else None

    async def _lift(self, session: aiohttp.ClientSession) -> None:
        with contextlib.suppress(aiohttp.ClientError, TimeoutError):
            async with session.post(
                f"{self.venue.http_url}/sim/faults",
                json={"fault": "rest_latency", "seconds": 0},
                timeout=aiohttp.ClientTimeout(total=5),
            ):
                pass

    # -- the run ---------------------------------------------------------------------------

    async def run(self) -> Tally:
        await self.venue.start()
        await self.engine.start()
        deadline = time.monotonic() + self.seconds
        next_fault = time.monotonic() + self.rng.uniform(0.5, 2.0)
        next_sample = time.monotonic()
        async with aiohttp.ClientSession() as session:
            try:
                while time.monotonic() < deadline:
                    mid = await self._mid(session)
                    if mid is not None:
                        await self.trade_once(mid)
                    if time.monotonic() >= next_fault:
                        await self.inject(session)
                        next_fault = time.monotonic() + self.rng.uniform(0.5, 2.5)
                    if time.monotonic() >= next_sample:
                        self._sample()
                        next_sample = time.monotonic() + 1.0
                    await asyncio.sleep(self.rng.uniform(0.02, 0.15))
                await self._quiesce(session)
                engine_orders = (await self.engine.command("orders"))["orders"]
                positions = (await self.engine.command("positions"))["positions"]
            finally:
                await self.engine.stop()
                await self.venue.stop()
        self._verdict(engine_orders, positions)
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
            self.tally.rss_mb.append(process.memory_info().rss / 2**20)
            self.tally.fds.append(process.num_fds())

    async def _quiesce(self, session: aiohttp.ClientSession) -> None:
        """No more faults; the engine re-armed and reconciled with a venue that is up."""
        if self.venue.process is None or self.venue.process.returncode is not None:
            await self.venue.start()
        async with session.post(f"{self.venue.http_url}/sim/reset") as response:
            response.raise_for_status()
        await self._lift(session)
        if self.halted_since is not None:
            await self.engine.command("rearm", reason="chaos: end of run")
            self.tally.halted_windows.append((self.halted_since, time.time()))
            self.halted_since = None
        # Orders far from the market, still open at the end: the open sets compared below are
        # not empty only because every order near the inside filled while the run settled.
        mid = await self._mid(session)
        for n in range(3):
            if mid is not None:
                price = str((mid - 500 - n).quantize(Decimal("0.01")))
                reply = await self.engine.command(
                    "place", product_id="BTC-USD", side="buy", type="limit", size="0.001", price=price
                )
                if reply.get("ok"):
                    self.asked.append(reply["order"]["client_order_id"])
        # Unknown outcomes resolve and the scheduled reconcile runs (every few seconds).
        previous: list[Any] = []
        async with asyncio.timeout(60):
            while True:
                await asyncio.sleep(3)
                orders = (await self.engine.command("orders"))["orders"]
                if orders == previous and not any(o["status"] in ("PENDING_NEW", "PENDING_CANCEL") for o in orders):
                    return
                previous = orders

    # -- the verdict -----------------------------------------------------------------------

    def _venue_orders(self) -> list[dict[str, Any]]:
        with contextlib.closing(sqlite3.connect(self.venue.db)) as db:
            rows = db.execute("SELECT document FROM orders WHERE owner = ?", (self.key_name,)).fetchall()
        return [json.loads(row[0]) for row in rows]

    def _verdict(self, engine_orders: list[dict[str, Any]], positions: dict[str, Any]) -> None:
        venue_orders = self._venue_orders()
        at_venue = Counter(o["client_order_id"] for o in venue_orders)
        doubled = [cid for cid, n in at_venue.items() if n > 1]
        if doubled:
            raise self.fail(f"orders at the venue twice: {doubled[:5]}")
        # What the engine knows: its working orders in memory, and every order in its journal
        # (a restarted engine loads only the working ones; the finished stay on disk).
        with contextlib.closing(sqlite3.connect(self.engine.journal)) as db:
            journalled = {row[0] for row in db.execute("SELECT client_order_id FROM orders")}
        engine_ids = {o["client_order_id"] for o in engine_orders} | journalled
        lost = [cid for cid in self.asked if cid not in at_venue and cid not in engine_ids]
        if lost:
            raise self.fail(f"orders the engine acked that neither it nor the venue knows: {lost[:5]}")
        unknown = sorted(set(at_venue) - engine_ids)
        if unknown:
            raise self.fail(f"orders at the venue the engine does not know: {unknown[:5]}")
        venue_open = sorted(o["client_order_id"] for o in venue_orders if o["status"] in ("OPEN", "PENDING"))
        engine_open = sorted(o["client_order_id"] for o in engine_orders if o["status"] in WORKING)
        if venue_open != engine_open:
            raise self.fail(f"open orders differ: venue {venue_open[:5]}..., engine {engine_open[:5]}...")
        filled = sum(
            (Decimal(f["size"]) * (1 if f["side"] == "BUY" else -1) for o in venue_orders for f in o["fills"]),
            Decimal(0),
        )
        held = Decimal(positions.get("BTC-USD", {}).get("quantity", "0"))
        self.tally.checked.update(
            {
                "orders at the venue": len(venue_orders),
                "open at the end": len(venue_open),
                "fills": sum(len(o["fills"]) for o in venue_orders),
                "halts": len(self.tally.halted_windows),
            }
        )
        if held != filled:
            raise self.fail(f"position {held} is not the venue's fills {filled}")
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


def _first_words(text: str) -> str:
    return " ".join(str(text).split()[:4])


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
        "Invariants checked: no order at the venue twice (client ids); none the engine acked lost; the "
        "engine's open orders equal the venue's; its position equals the sum of the venue's fills, to "
        "the unit; no order reached the venue while the engine was HALTED, and a halted engine refused "
        "every order the trader tried; engine memory and file descriptors flat.",
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
        "Compared at the end of the runs: " + ", ".join(f"{n} {what}" for what, n in tally.checked.items()) + ".",
        "",
        f"Engine memory {min(tally.rss_mb, default=0):.0f}-{max(tally.rss_mb, default=0):.0f} MiB, "
        f"file descriptors {min(tally.fds, default=0)}-{max(tally.fds, default=0)} over the runs.",
        "",
        "Not injected yet: a disk that refuses fsync (the journal's own tests cover it, not this run).",
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
