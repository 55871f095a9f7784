"""`cryptoj headless`: commands in as JSON lines, replies and events out, against the venue."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from pathlib import Path

from cryptoj_tui import headless
from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import trading_config


async def run_script(venue: PaperVenue, key: CdpKey, commands: list[object]) -> list[dict]:
    reader = asyncio.StreamReader()
    for command in commands:
        reader.feed_data((command if isinstance(command, str) else json.dumps(command)).encode() + b"\n")
    reader.feed_eof()
    out = io.StringIO()
    assert await headless.run(trading_config(venue, key), ["BTC-USD"], reader, out) == 0
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_a_session_of_commands(quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]) -> None:
    """Scenario: place, list, cancel, kill, re-arm, plus bad commands; one reply each, in order."""
    bid = quiet_venue.book_levels("BTC-USD")[0][0][0]
    place = {"cmd": "place", "product_id": "BTC-USD", "side": "buy", "type": "limit", "size": "0.01",
             "price": str(bid - 50)}
    lines = await run_script(quiet_venue, api_key[1], [
        place, {"cmd": "orders"}, {"cmd": "cancel_all"}, place, {"cmd": "state"},
        {"cmd": "set_limit", "name": "max_order_size", "value": "0.001", "reason": "test"}, place,
        {"cmd": "kill", "reason": "demo"}, {"cmd": "rearm", "reason": "ok"}, {"cmd": "positions"},
        {"cmd": "cancel", "client_order_id": "nope"}, {"cmd": "teleport"}, "{broken",
        {"cmd": "place", "product_id": "BTC-USD", "side": "buy", "type": "limit", "size": "-1", "price": "1"},
    ])
    replies = [line for line in lines if "reply" in line]
    assert [r["reply"] for r in replies] == [
        "subscribe", "ready", "place", "orders", "cancel_all", "place", "state", "set_limit", "place", "kill",
        "rearm", "positions", "cancel", "teleport", None, "place",
    ]
    assert replies[2]["ok"] and replies[2]["order"]["status"] == "OPEN"
    assert len(replies[3]["orders"]) == 1 and len(replies[4]["cancelled"]) == 1
    assert replies[6]["state"] == "ACTIVE"
    assert not replies[8]["ok"] and "over the max order size 0.001" in replies[8]["error"]
    assert len(replies[9]["cancelled"]) == 1 and replies[10]["state"] == "ACTIVE"
    assert replies[12]["error"] == "no order with client_order_id 'nope'"
    assert "unknown command 'teleport'" in replies[13]["error"] and "not JSON" in replies[14]["error"]
    assert "size must be a finite number above 0" in replies[15]["error"]
    events = {line["event"] for line in lines if "event" in line}
    assert {"OrderUpdated", "TradingStateChanged", "Alert", "OrderRefused", "RiskLimitChanged"} <= events


async def test_the_command_runs_an_embedded_venue_and_exits_0_at_end_of_input() -> None:
    """Scenario: `cryptoj headless --product BTC-USD` with no venue given, stdin closed at once."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cryptoj_tui", "headless", "--product", "BTC-USD",
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out, err = await asyncio.wait_for(process.communicate(b'{"cmd": "state"}\n'), 60)
    replies = [json.loads(line) for line in out.decode().splitlines() if '"reply"' in line]
    assert process.returncode == 0, err.decode()
    assert [r["reply"] for r in replies] == ["subscribe", "ready", "state"]
    assert replies[1]["trading"] is True and replies[2]["state"] == "ACTIVE"


async def test_a_world_readable_key_file_is_refused_in_one_line(tmp_path: Path, api_key: tuple[Path, CdpKey]) -> None:
    """Scenario: `cryptoj headless` with a key file others can read exits 2 with one line saying how to fix it."""
    key_file, _ = api_key
    key_file.chmod(0o644)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cryptoj_tui", "headless", "--ws-url", "ws://127.0.0.1:9", "--key-file", str(key_file),
        stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert err.decode().strip() == (
        f"cryptoj headless: {key_file}: readable or writable by others (mode 644); run: chmod 600 {key_file}"
    )
