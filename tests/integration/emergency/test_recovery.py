"""The engine is killed (SIGKILL) mid-flow with orders in flight, and restarted on its journal:
no order is lost, none is sent twice, and every difference from the venue is reported."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import sys
from dataclasses import replace
from decimal import ROUND_DOWN
from decimal import Decimal as D
from pathlib import Path

from cryptoj_tui import binance_keys
from cryptoj_tui.binance_keys import BinanceKey
from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.orders import OrderStatus
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import BOTH_VENUES, key_owner, trading_config
from tests.integration import helpers

pytestmark = BOTH_VENUES


def venue_args(venue: PaperVenue, protocol: str) -> list[str]:
    """`cryptoj headless`'s flags that reach `venue` in `protocol`."""
    if protocol == "binance":
        return ["--venue", "binance", "--ws-url", f"{venue.ws_url}/stream", "--rest-url", venue.rest_url]
    return ["--ws-url", venue.ws_url]


def key_file_for(venue: PaperVenue, protocol: str, api_key: tuple[Path, CdpKey], directory: Path) -> tuple[str, Path]:
    """A key the venue knows, for `protocol`: (its owner name, its key file)."""
    if protocol == "binance":
        assert venue.binance is not None
        key = binance_keys.generate_key(ed25519_key=True)
        path = directory / "binance-key.json"
        binance_keys.write_key_file(path, key)
        venue.binance.keys.register_file(path)
        return key.api_key, path
    key_file, key = api_key
    venue.keys.register(key.name, key.public_key())
    return key.name, key_file


async def headless(
    venue: PaperVenue, key_file: Path, journal: Path, protocol: str = "coinbase"
) -> asyncio.subprocess.Process:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cryptoj_tui",
        "headless",
        *venue_args(venue, protocol),
        "--key-file",
        str(key_file),
        "--journal",
        str(journal),
        "--product",
        "BTC-USD",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    await replies(process, "ready", 1)
    return process


async def replies(process: asyncio.subprocess.Process, name: str, count: int) -> list[dict]:
    """Read stdout until `count` replies to `name` arrived."""
    assert process.stdout is not None
    found: list[dict] = []
    async with asyncio.timeout(30):
        while len(found) < count:
            line = await process.stdout.readline()
            if not line:
                raise AssertionError(f"headless ended; stderr: {(await process.stderr.read()).decode()}")  # type: ignore[union-attr]
            message = json.loads(line)
            if message.get("reply") == name:
                assert message["ok"], message
                found.append(message)
    return found


def place(price: str, post_only: bool = True) -> bytes:
    return (
        json.dumps(
            {
                "cmd": "place",
                "product_id": "BTC-USD",
                "side": "buy",
                "type": "limit",
                "size": "0.001",
                "price": price,
                "post_only": post_only,
            }
        )
        + "\n"
    ).encode()


async def test_sigkill_mid_flow_then_restart_loses_nothing_and_sends_nothing_twice(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey], tmp_path: Path, venue_protocol: str
) -> None:
    """Scenario: 40 orders sent without waiting; SIGKILL after 10 answers; while the engine is
    down, one of its orders fills at the venue; restart on the same journal."""
    owner, key_file = key_file_for(quiet_venue, venue_protocol, api_key, tmp_path)
    journal = tmp_path / "journal.db"
    bids, asks = quiet_venue.book_levels("BTC-USD")
    bid = bids[0][0]
    inside = bid + (asks[0][0] - bid) / 2
    inside = inside.quantize(D("0.01"), rounding=ROUND_DOWN)
    assert bid < inside < asks[0][0]
    process = await headless(quiet_venue, key_file, journal, venue_protocol)
    assert process.stdin is not None
    process.stdin.write(place(str(inside)))  # the new best bid: another trader's sell will hit it
    first = (await replies(process, "place", 1))[0]["order"]
    for n in range(40):
        process.stdin.write(place(str(bid - 100 - n)))
    await process.stdin.drain()
    await replies(process, "place", 10)
    process.send_signal(signal.SIGKILL)
    await process.wait()

    await asyncio.sleep(0.2)  # let requests already on the wire land at the venue
    ours = {o.client_order_id: o for o in quiet_venue.exchange.owner_orders(owner)}
    assert ours[first["client_order_id"]].status == "OPEN"
    quiet_venue.create_order(
        "another-trader",
        {
            "client_order_id": "x1",
            "product_id": "BTC-USD",
            "side": "SELL",
            "order_configuration": {"market_market_ioc": {"base_size": "0.001"}},
        },
    )
    assert ours[first["client_order_id"]].status == "FILLED"
    count_before = len(quiet_venue.exchange.owner_orders(owner))

    if venue_protocol == "binance":
        config = EngineConfig(
            ws_url=f"{quiet_venue.ws_url}/stream",
            venue="binance",
            rest_url=quiet_venue.rest_url,
            key_file=key_file,
            journal_path=journal,
            stale_after=3600.0,
        )
    else:
        config = EngineConfig(ws_url=quiet_venue.ws_url, key_file=key_file, journal_path=journal)
    async with Engine(config) as engine:
        assert engine.trading is not None
        journalled = {o.client_order_id for o in engine.trading.journal.orders()}
        known = {o.client_order_id: o for o in engine.orders()}
        # Nothing lost: every order the venue has from us is known, with the venue's state.
        for client_id, venue_order in ours.items():
            assert client_id in journalled
            order = known[client_id]
            assert venue_order is helpers.venue_order(quiet_venue, order.order_id)
            assert order.filled_size == venue_order.filled_size
            expected = {"OPEN": (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED)}.get(venue_order.status)
            assert order.status in (expected or (OrderStatus(venue_order.status),))
        # Intents that never reached the venue are failed, not resent.
        for client_id in journalled - set(ours):
            assert known[client_id].status is OrderStatus.FAILED and "never reached" in known[client_id].reason
        assert len(quiet_venue.exchange.owner_orders(owner)) == count_before
        # The fill made while we were down is a reported difference and is in the position.
        filled = known[first["client_order_id"]]
        assert filled.status is OrderStatus.FILLED
        assert engine.positions()["BTC-USD"].quantity == filled.filled_size
        kinds = [kind for _, kind, detail in engine.trading.journal.events() if first["client_order_id"] in detail]
        assert "reconcile.missed_fill" in kinds


async def test_an_order_whose_intent_a_power_cut_took_back_is_tracked_from_the_venue_and_the_kill_switch_cancels_it(
    quiet_venue: PaperVenue, trading_key: CdpKey | BinanceKey, tmp_path: Path
) -> None:
    """Scenario: a stop-limit sell reached the venue, then a power cut took back its intent (written,
    not yet fsynced: engine/group_commit.py), so the journal the disk kept has no trace of it. The
    next start finds it open at the venue and tracks it, with a report; nothing is sent; the kill
    switch cancels it like any order of ours."""
    key = trading_key
    config = trading_config(quiet_venue, key, journal_path=tmp_path / "before.db")
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        bid = engine.book("BTC-USD").best_bid()
        assert bid is not None
        lost = await engine.place("BTC-USD", "sell", "stop_limit", "0.01", price=bid[0] - 500, stop_price=bid[0] - 400)
        assert lost.status is OrderStatus.OPEN
    sent = len(quiet_venue.exchange.owner_orders(key_owner(key)))

    async with Engine(replace(config, journal_path=tmp_path / "as-the-power-cut-left-it.db")) as engine:
        assert engine.trading is not None
        (order,) = engine.orders()
        assert (order.client_order_id, order.order_id, order.status) == (
            lost.client_order_id,
            lost.order_id,
            OrderStatus.OPEN,
        )
        assert order.request == lost.request
        (report,) = [d for _, kind, d in engine.trading.journal.events() if kind == "reconcile.unknown_open_order"]
        assert report == (
            f"{lost.client_order_id} {lost.order_id}: open at the venue, unknown here: now tracked "
            f"(stop_limit SELL 0.01 BTC-USD @ {lost.request.price})"
        )
        assert [o.client_order_id for o in engine.trading.journal.orders()] == [lost.client_order_id]
        kill = await engine.kill_switch("test: after a power cut")
        assert kill.cancelled == (lost.client_order_id,) and kill.failed == ()
    assert helpers.venue_order(quiet_venue, lost.order_id).status == "CANCELLED"
    assert len(quiet_venue.exchange.owner_orders(key_owner(key))) == sent  # nothing placed by the second engine


async def test_an_order_the_journal_has_as_finished_but_the_venue_has_open_is_reported(
    quiet_venue: PaperVenue, trading_key: CdpKey | BinanceKey, tmp_path: Path
) -> None:
    """Scenario: the journal says an order was cancelled, the venue has it open (the two disagree:
    a journal restored from a copy, say). The start reports it and does not take it in as new."""
    journal = tmp_path / "journal.db"
    config = trading_config(quiet_venue, trading_key, journal_path=journal)
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        bid = engine.book("BTC-USD").best_bid()
        assert bid is not None
        order = await engine.place_limit("BTC-USD", "buy", size="0.01", price=bid[0] - 500)
    with sqlite3.connect(journal) as db:
        db.execute("UPDATE orders SET status='CANCELLED' WHERE client_order_id=?", (order.client_order_id,))

    async with Engine(config) as engine:
        assert engine.trading is not None
        assert engine.open_orders() == []
        (report,) = [d for _, kind, d in engine.trading.journal.events() if kind == "reconcile.unknown_open_order"]
        assert report == f"{order.client_order_id} {order.order_id}: open at the venue, journalled as finished: BTC-USD"
