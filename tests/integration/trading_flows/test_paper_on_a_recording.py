"""Paper trading on a replay, end to end: the paper venue's market is a hand-made Coinbase
recording, the engine trades on it over loopback, and the fills are the ones worked out below
from the queue model (docs/recording.md, "Paper trading on a replay")."""

from __future__ import annotations

import asyncio
import gzip
import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest

from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.cli import main
from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.orders import OrderStatus
from cryptoj_tui.replay.paper import RecordedFrames
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig
from tests.capture_data import COINBASE_SESSION, coinbase_frames, independent_books
from tests.conftest import book_matches, trading_config
from tests.integration.helpers import start_sim, venue_order

START = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


class HandMadeRecording:
    """Coinbase market frames (a bare capture: one frame a line, timed by its timestamp)."""

    def __init__(self) -> None:
        self.lines: list[str] = []

    def _frame(self, second: float, channel: str, events: list[dict[str, Any]]) -> None:
        stamp = (START + timedelta(seconds=second)).isoformat().replace("+00:00", "Z")
        frame = {"channel": channel, "timestamp": stamp, "sequence_num": len(self.lines), "events": events}
        self.lines.append(json.dumps(frame))

    def levels(self, second: float, *updates: tuple[str, str, str], snapshot: bool = False) -> HandMadeRecording:
        rows = [{"side": s, "event_time": "", "price_level": p, "new_quantity": q} for s, p, q in updates]
        kind = "snapshot" if snapshot else "update"
        self._frame(second, "l2_data", [{"type": kind, "product_id": "BTC-USD", "updates": rows}])
        return self

    def trade(self, second: float, price: str, size: str, maker_side: str) -> HandMadeRecording:
        trade = {"trade_id": "1", "product_id": "BTC-USD", "price": price, "size": size, "side": maker_side, "time": ""}
        self._frame(second, "market_trades", [{"type": "update", "trades": [trade]}])
        return self

    def write(self, path: Path) -> Path:
        with gzip.open(path, "wt") as out:
            out.write("\n".join(self.lines) + "\n")
        return path


def queue_recording() -> HandMadeRecording:
    """2 BTC bid at 100.00 ahead of the trader's 0.5; then trades and cancels work through it."""
    return (
        HandMadeRecording()
        .levels(0, ("bid", "100.00", "2"), ("bid", "99.99", "1"), ("offer", "100.01", "1"), snapshot=True)
        .trade(1, "100.00", "1.5", "BUY")  # 0.5 still ahead
        .levels(1, ("bid", "100.00", "0.5"))
        .levels(2, ("bid", "100.00", "1.5"))  # 1.0 queues behind the order
        .levels(3, ("bid", "100.00", "1.2"))  # a 0.3 cancel, from behind the order
        .trade(4, "100.00", "0.8", "BUY")  # 0.5 ahead, then 0.3 of the order
        .levels(4, ("bid", "100.00", "0.4"))
        .trade(5, "100.00", "0.25", "BUY")  # the order's last 0.2
        .levels(5, ("bid", "100.00", "0.15"))
    )


async def test_a_resting_order_fills_against_recorded_liquidity_as_worked_out(
    tmp_path: Path, api_key: tuple[Path, CdpKey]
) -> None:
    market = RecordedFrames(queue_recording().write(tmp_path / "queue.jsonl.gz")).market()
    venue = PaperVenue(VenueConfig(products=tuple(market.products)), market=market)
    venue.pause_flow()  # the test plays the recording one event at a time
    async with venue, Engine(trading_config(venue, api_key[1])) as trader:
        await trader.subscribe("BTC-USD")
        await trader.wait_for_book("BTC-USD")
        order = await trader.place_limit("BTC-USD", "buy", size="0.5", price=D("100.00"))
        await trader.wait_for(order, "OPEN")
        steps = len(market.events) - market.position
        for _ in range(steps - 2):  # up to the last trade
            venue.step()
        await _until(lambda: order.filled_size == D("0.3"))
        assert order.status is OrderStatus.PARTIALLY_FILLED
        venue.step()
        venue.step()
        await trader.wait_for(order, "FILLED")
        fills = venue_order(venue, order.order_id).fills
        assert [(f.size, f.price, f.liquidity_indicator) for f in fills] == [
            (D("0.3"), D("100.00"), "MAKER"),
            (D("0.2"), D("100.00"), "MAKER"),
        ]
        position = trader.positions()["BTC-USD"]
        await _until(lambda: position.quantity == D("0.5"))
        assert position.cost == D("50.00")
        # The book the engine shows is the recording's, exactly.
        await _until(lambda: book_matches(trader, venue, "BTC-USD"))
        assert venue.book_levels("BTC-USD") == (
            [(D("100.00"), D("0.15")), (D("99.99"), D("1"))],
            [(D("100.01"), D("1"))],
        )


async def test_the_venue_plays_the_recording_at_its_own_pace(tmp_path: Path) -> None:
    recording = (
        HandMadeRecording()
        .levels(0, ("bid", "100.00", "2"), ("offer", "100.01", "1"), snapshot=True)
        .levels(10, ("bid", "100.00", "3"))
        .levels(20, ("offer", "100.01", "0"), ("offer", "100.02", "4"))
    )
    market = RecordedFrames(recording.write(tmp_path / "pace.jsonl.gz")).market(speed=100)  # 20 s in 0.2 s
    venue = PaperVenue(VenueConfig(products=("BTC-USD",)), market=market)
    assert venue.book_levels("BTC-USD") == ([(D("100.00"), D("2"))], [(D("100.01"), D("1"))])
    async with venue:
        await asyncio.sleep(0.05)
        assert market.position < len(market.events)  # 10 recorded seconds are 0.1 s here: not yet
        await _until(lambda: market.next_at() is None)
    assert venue.book_levels("BTC-USD") == ([(D("100.00"), D("3"))], [(D("100.02"), D("4"))])


async def test_cryptoj_sim_serves_a_recording_to_any_coinbase_client(tmp_path: Path) -> None:
    path = queue_recording().write(tmp_path / "queue.jsonl.gz")
    process, printed = await start_sim("--recording", str(path), "--speed", "2")
    try:
        listing = next(line for line in printed if line.startswith("paper venue listing"))
        assert listing.startswith(f"paper venue listing BTC-USD (recording {path} at 2x")
    finally:
        process.terminate()
        await process.wait()


@pytest.mark.parametrize(
    ("lines", "expected"),
    [
        (None, "no such file"),
        ([json.dumps({"channel": "heartbeats", "timestamp": "2026-12-05T09:30:00Z", "events": []})], "no level2"),
    ],
)
def test_a_recording_the_paper_venue_cannot_trade_on_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str] | None, expected: str
) -> None:
    path = tmp_path / "bad.jsonl"
    if lines is not None:
        path.write_text("\n".join(lines) + "\n")
    assert main(["sim", "--recording", str(path)]) == 2
    assert main(["replay", str(path), "--paper"]) == 2
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 2 and all(expected in line for line in err), err
    assert main(["replay", str(path), "--paper", "--headless"]) == 2
    assert "drop --headless" in capsys.readouterr().err


async def _until(condition: Any, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():
            await asyncio.sleep(0.01)


def test_the_real_session_as_the_paper_market_ends_on_the_recorded_book(captures: Path) -> None:
    """With no trader in it, the paper venue's book after the whole real session is the book
    built independently from the same frames, level for level."""
    market = RecordedFrames(captures / COINBASE_SESSION).market()
    venue = PaperVenue(VenueConfig(products=tuple(market.products)), market=market)
    while market.next_at() is not None:
        venue.step()
    expected = independent_books(coinbase_frames(captures), depth=10**6)
    for product_id in ("BTC-USD", "ETH-USD"):
        bids, asks = venue.book_levels(product_id)
        assert [[p, s] for p, s in bids] == expected[product_id]["bids"]
        assert [[p, s] for p, s in asks] == expected[product_id]["asks"]
    assert venue.tapes["BTC-USD"].last is not None  # the recorded trades made the tape
