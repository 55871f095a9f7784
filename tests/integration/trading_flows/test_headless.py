"""`cryptoj headless`: commands in as JSON lines, replies and events out, against the venue."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import sys
from decimal import Decimal
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


def resting_buy(bid: Decimal, **details: str) -> dict[str, str]:
    """A headless `place` of a 0.01 BTC-USD limit buy resting 50 below `bid`, with `details`."""
    return {
        "cmd": "place",
        "product_id": "BTC-USD",
        "side": "buy",
        "type": "limit",
        "size": "0.01",
        "price": str(bid - 50),
        **details,
    }


async def test_a_session_of_commands(quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]) -> None:
    """Scenario: place, list, cancel, kill, re-arm, plus bad commands; one reply each, in order."""
    bid = quiet_venue.book_levels("BTC-USD")[0][0][0]
    place = resting_buy(bid)
    lines = await run_script(
        quiet_venue,
        api_key[1],
        [
            place,
            {"cmd": "orders"},
            {"cmd": "cancel_all"},
            place,
            {"cmd": "state"},
            {"cmd": "set_limit", "name": "max_order_size", "value": "0.001", "reason": "test"},
            place,
            {"cmd": "kill", "reason": "demo"},
            {"cmd": "rearm", "reason": "ok"},
            {"cmd": "positions"},
            {"cmd": "cancel", "client_order_id": "nope"},
            {"cmd": "teleport"},
            "{broken",
            {"cmd": "place", "product_id": "BTC-USD", "side": "buy", "type": "limit", "size": "-1", "price": "1"},
            {"cmd": "place", "product_id": "BTC-USD", "side": "buy", "type": "limit", "size": "1e308", "price": "1"},
            {"cmd": "state"},
        ],
    )
    replies = [line for line in lines if "reply" in line]
    assert [r["reply"] for r in replies] == [
        "subscribe",
        "ready",
        "place",
        "orders",
        "cancel_all",
        "place",
        "state",
        "set_limit",
        "place",
        "kill",
        "rearm",
        "positions",
        "cancel",
        "teleport",
        None,
        "place",
        "place",
        "state",
    ]
    assert replies[2]["ok"] and replies[2]["order"]["status"] == "OPEN"
    assert len(replies[3]["orders"]) == 1 and len(replies[4]["cancelled"]) == 1
    assert replies[6]["state"] == "ACTIVE"
    assert not replies[8]["ok"] and "over the max order size 0.001" in replies[8]["error"]
    assert len(replies[9]["cancelled"]) == 1 and replies[10]["state"] == "ACTIVE"
    assert replies[12]["error"] == "no order with client_order_id 'nope'"
    assert "unknown command 'teleport'" in replies[13]["error"] and "not JSON" in replies[14]["error"]
    assert "size must be a finite number above 0" in replies[15]["error"]
    # Issue 25.1: 1e308 ended headless with a traceback and lost every later command.
    assert replies[16]["error"] == "size 1E+308 is too large: a venue takes numbers under 10^15"
    assert replies[17]["ok"] and replies[17]["state"] == "ACTIVE"
    events = {line["event"] for line in lines if "event" in line}
    assert {"OrderUpdated", "TradingStateChanged", "Alert", "OrderRefused", "RiskLimitChanged"} <= events


async def test_a_place_with_a_bracket_attaches_it(quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]) -> None:
    """Scenario: a headless limit buy carrying take_profit and stop_loss; the venue has the bracket."""
    bid = quiet_venue.book_levels("BTC-USD")[0][0][0]
    place = resting_buy(bid, take_profit=str(bid + 500), stop_loss=str(bid - 500))
    lines = await run_script(quiet_venue, api_key[1], [place])
    (reply,) = [line for line in lines if line.get("reply") == "place"]
    assert reply["ok"], reply
    assert (reply["order"]["take_profit"], reply["order"]["stop_loss"]) == (str(bid + 500), str(bid - 500))
    (at_venue,) = quiet_venue.exchange.orders.values()
    assert at_venue.attached == {"limit_price": str(bid + 500), "stop_trigger_price": str(bid - 500)}


async def test_a_market_place_can_be_sized_in_quote(quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]) -> None:
    """Scenario: a headless market buy with quote_size fills for no more than that; one with both
    size and quote_size is refused and nothing is sent."""
    buy = {"cmd": "place", "product_id": "BTC-USD", "side": "buy", "type": "market", "quote_size": "120"}
    both = {**buy, "size": "0.01"}
    lines = await run_script(quiet_venue, api_key[1], [buy, both])
    first, second = [line for line in lines if line.get("reply") == "place"]
    assert first["ok"] and first["order"]["status"] == "FILLED", first
    assert first["order"]["in_quote"] is True and first["order"]["size"] == "120"
    assert not second["ok"] and "size or quote_size, not both" in second["error"]
    (at_venue,) = quiet_venue.exchange.orders.values()
    assert at_venue.quote_size == Decimal("120") and at_venue.filled_value + at_venue.total_fees <= Decimal("120")


async def test_the_command_runs_an_embedded_venue_and_exits_0_at_end_of_input() -> None:
    """Scenario: `cryptoj headless --product BTC-USD` with no venue given, stdin closed at once."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cryptoj_tui",
        "headless",
        "--product",
        "BTC-USD",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
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
        sys.executable,
        "-m",
        "cryptoj_tui",
        "headless",
        "--ws-url",
        "ws://127.0.0.1:9",
        "--key-file",
        str(key_file),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 2
    assert err.decode().strip() == (
        f"cryptoj headless: {key_file}: readable or writable by others (mode 644); run: chmod 600 {key_file}"
    )


async def headless_with_stdin(stdin: object, *args: str, timeout: float = 60) -> tuple[int, list[dict], str]:
    """`cryptoj headless` (embedded venue) with `stdin`: (exit code, reply lines, stderr)."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cryptoj_tui",
        "headless",
        *args,
        stdin=stdin,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,  # type: ignore[arg-type]
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    out, err = await asyncio.wait_for(process.communicate(), timeout)
    replies = [json.loads(line) for line in out.decode().splitlines() if '"reply"' in line]
    assert process.returncode is not None
    return process.returncode, replies, err.decode()


async def test_commands_from_a_file_are_read_and_the_end_of_the_file_stops_it(tmp_path: Path) -> None:
    """Issue 18.15: `cryptoj headless < commands.jsonl` failed ("Pipe transport is for
    pipes/sockets only"); a regular file is read to its end, then the engine stops, exit 0."""
    commands = tmp_path / "commands.jsonl"
    commands.write_text('{"cmd": "state"}\n\n{"cmd": "positions"}\n')
    with commands.open("rb") as stdin:
        code, replies, err = await headless_with_stdin(stdin)
    assert code == 0, err
    assert [r["reply"] for r in replies] == ["ready", "state", "positions"] and "Traceback" not in err


async def test_stdin_from_dev_null_ends_at_once_and_cleanly() -> None:
    """Issue 18.15: `cryptoj headless </dev/null` printed a PermissionError traceback and never
    exited; it answers ready and stops, exit 0."""
    code, replies, err = await headless_with_stdin(asyncio.subprocess.DEVNULL, timeout=30)
    assert code == 0 and [r["reply"] for r in replies] == ["ready"] and err == ""


async def test_a_line_over_the_limit_is_answered_with_an_error_and_the_next_is_read(tmp_path: Path) -> None:
    """Issue 25.3: one line over 64 KiB ended the session ("Separator is not found, and chunk
    exceed the limit"); a line over the 1 MiB limit is dropped with an error reply, and the
    commands after it run."""
    commands = tmp_path / "commands.jsonl"
    commands.write_bytes(
        b'{"cmd": "state", "pad": "'
        + b"x" * (3 << 20)
        + b'"}\n{"cmd": "state"}\n'
        + b'{"cmd": "state", "pad": "'
        + b"y" * 100_000
        + b'"}\n'
    )
    with commands.open("rb") as stdin:
        code, replies, err = await headless_with_stdin(stdin)
    assert code == 0, err
    assert [r["reply"] for r in replies] == ["ready", None, "state", "state"]
    assert replies[1]["error"] == "a line of 3,145,756 bytes is over the 1,048,576-byte limit; dropped"


async def test_stay_keeps_the_engine_after_the_end_of_input_until_interrupted() -> None:
    """`--stay`: stdin ends at once, the engine goes on printing events until SIGINT; exit 0."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cryptoj_tui",
        "headless",
        "--stay",
        "--product",
        "BTC-USD",
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    assert process.stdout is not None
    async with asyncio.timeout(60):
        while b'"reply":"ready"' not in await process.stdout.readline():
            pass
        events = 0
        while events < 20:  # events keep coming after the end of input
            events += b'"event"' in await process.stdout.readline()
    assert process.returncode is None
    process.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 0 and "Traceback" not in err.decode()


async def test_book_balances_and_reconcile_commands(quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]) -> None:
    """Scenario: a script reads the engine's book, its balances from the venue and asks for a
    reconciliation now; bad arguments get one-line errors."""
    lines = await run_script(
        quiet_venue,
        api_key[1],
        [
            {"cmd": "book", "product_id": "BTC-USD", "depth": 3},
            {"cmd": "balances"},
            {"cmd": "reconcile", "reason": "script"},
            {"cmd": "book", "product_id": "ETH-USD"},
            {"cmd": "book", "product_id": "BTC-USD", "depth": 0},
            {"cmd": "book", "product_id": 7},
        ],
    )
    book, balances, reconcile, unsubscribed, no_depth, bad_id = [line for line in lines if "reply" in line][2:]
    bids, asks = quiet_venue.book_levels("BTC-USD")
    assert book["live"] and [[Decimal(p), Decimal(s)] for p, s in book["bids"]] == [list(b) for b in bids[:3]]
    assert [[Decimal(p), Decimal(s)] for p, s in book["asks"]] == [list(a) for a in asks[:3]]
    assert balances["balances"]["USD"] == {"available": "100000", "hold": "0"}
    assert reconcile == {"reply": "reconcile", "ok": True}
    assert unsubscribed["error"] == "ETH-USD is not subscribed"
    assert no_depth["error"] == "book depth must be a whole number from 1 to 10000, got 0"
    assert bad_id["error"] == "book needs a product_id, got 7"


async def test_a_products_own_limit_set_at_run_time_refuses_with_its_reason(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]
) -> None:
    """Scenario (issue 22): a script gives BTC-USD its own max position; an order past it is
    refused naming the product's limit, an order within it goes out; a limit a product cannot
    have is one line."""
    bid = quiet_venue.book_levels("BTC-USD")[0][0][0]
    place = {"cmd": "place", "product_id": "BTC-USD", "side": "buy", "type": "limit", "price": str(bid - 50)}
    lines = await run_script(
        quiet_venue,
        api_key[1],
        [
            {"cmd": "set_limit", "name": "max_position", "value": "0.05", "reason": "t", "product_id": "BTC-USD"},
            place | {"size": "0.06"},
            place | {"size": "0.04"},
            {"cmd": "set_limit", "name": "daily_loss_limit", "value": "5", "reason": "t", "product_id": "BTC-USD"},
            {"cmd": "set_limit", "name": "max_position", "value": "1", "reason": "t", "product_id": 3},
        ],
    )
    set_own, refused, placed, wrong_limit, wrong_product = [line for line in lines if "reply" in line][2:]
    assert set_own["ok"]
    assert refused["error"] == (
        "position would reach 0.06 (with working orders), over the max position 0.05 of BTC-USD"
    )
    assert placed["ok"] and placed["order"]["status"] == "OPEN"
    assert wrong_limit["error"] == "a product has its own max_order_size and max_position only, not 'daily_loss_limit'"
    assert wrong_product["error"] == "set_limit's product_id must be a product id, got 3"
    changed = [line for line in lines if line.get("event") == "RiskLimitChanged"]
    assert [(c["limit"], c["old"], c["new"]) for c in changed] == [("max_position BTC-USD", "None", "0.05")]
