"""Recording a session and replaying it through the engine over a loopback socket.

The real Coinbase session in shared/ must replay to exactly the book built here, independently,
with plain dicts and Decimals straight from the frames; a recorded paper session must replay to
the books the live engine ended with.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import os
from decimal import Decimal as D
from pathlib import Path

import pytest

from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.cli import main
from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.orders import OrderStatus
from cryptoj_tui.engine.recording import ConnectRecord, FrameRecord, Header, RestRecord, read_recording
from cryptoj_tui.replay.binance import BinanceReplayServer, product_of
from cryptoj_tui.replay.headless import book_line, replay_books
from cryptoj_tui.sim.venue import PaperVenue
from tests.capture_data import (
    BINANCE_WS,
    COINBASE_SESSION,
    FINAL_BOOKS,
    SYMBOLS,
    binance_snapshots,
    binance_stream,
    coinbase_frames,
    documented_rule,
    independent_books,
)
from tests.conftest import trading_config, wait_for_exact_book


def as_decimals(line: dict[str, object]) -> dict[str, object]:
    return {
        "sequence_num": line["sequence_num"],
        "bids": [[D(p), D(s)] for p, s in line["bids"]],  # type: ignore[attr-defined]
        "asks": [[D(p), D(s)] for p, s in line["asks"]],  # type: ignore[attr-defined]
    }


async def test_the_real_session_replays_to_the_book_built_independently(captures: Path) -> None:
    session = captures / COINBASE_SESSION
    lines = await replay_books(session)
    expected = independent_books(coinbase_frames(captures))
    assert [line["product_id"] for line in lines] == sorted(expected) == ["BTC-USD", "ETH-USD"]
    for line in lines:
        product = str(line["product_id"])
        assert as_decimals(line) == expected[product]
        assert len(line["bids"]) == len(line["asks"]) == 50  # type: ignore[arg-type]
        best_bid, best_ask, _ = FINAL_BOOKS[product]
        assert as_decimals(line)["bids"][0] == list(best_bid)  # type: ignore[index]
        assert as_decimals(line)["asks"][0] == list(best_ask)  # type: ignore[index]


def test_cryptoj_replay_headless_prints_one_line_per_product(
    captures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", str(captures / COINBASE_SESSION), "--headless", "--product", "eth-usd"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert len(out) == 1
    line = json.loads(out[0])
    assert (line["product_id"], line["sequence_num"]) == ("ETH-USD", 1029)
    assert line["bids"][0] == ["1919.28", "0.14476526"] and line["asks"][0] == ["1919.38", "0.01194407"]


def test_cryptoj_replay_says_what_is_wrong_in_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", str(tmp_path / "nothing.jsonl.gz"), "--headless"]) == 2
    assert capsys.readouterr().err.strip() == f"cryptoj replay: recording {tmp_path}/nothing.jsonl.gz: no such file"
    assert main(["replay", str(tmp_path / "nothing.jsonl.gz")]) == 2  # the console's path says the same
    assert capsys.readouterr().err.strip() == f"cryptoj replay: recording {tmp_path}/nothing.jsonl.gz: no such file"


def test_a_recording_that_cannot_be_written_stops_the_engine_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setattr("sys.stdin", open(os.devnull))  # noqa: SIM115 - closed with the test
    code = main(["--record", str(blocker / "s.jsonl.gz"), "headless", "--ws-url", "ws://127.0.0.1:9/ws"])
    assert code == 2
    assert capsys.readouterr().err == (
        f"cryptoj headless: recording {blocker}/s.jsonl.gz: cannot make its directory {blocker} (File exists)\n"
    )


async def test_a_recorded_paper_session_replays_to_the_books_the_engine_ended_with(
    venue: PaperVenue, api_key: tuple[Path, CdpKey], tmp_path: Path
) -> None:
    """Scenario: trade on the paper venue while recording; the recording holds the market and
    user frames, each connection and the order with its answer; replayed, it ends on the books
    the engine had when it stopped (every frame it handled was recorded first)."""
    path = tmp_path / "paper.jsonl.gz"
    async with Engine(trading_config(venue, api_key[1], record_path=path)) as engine:
        await engine.subscribe("BTC-USD", "ETH-USD")
        await engine.wait_for_book("BTC-USD")
        await engine.wait_for_book("ETH-USD")
        bid, _ = engine.book("BTC-USD").best_bid()  # type: ignore[misc]
        order = await engine.place_limit("BTC-USD", "buy", size="0.01", price=bid - 500)
        await engine.wait_for(order, OrderStatus.OPEN)
        for product in ("BTC-USD", "ETH-USD"):
            await wait_for_exact_book(engine, venue, product)
        ended_with = [book_line(engine, p) for p in ("BTC-USD", "ETH-USD")]
        recorder = engine.recorder
        assert recorder is not None
    assert recorder.stats.dropped == 0 and recorder.stats.written > 0

    records = list(read_recording(path))
    assert isinstance(records[0], Header) and records[0].venue == "coinbase"
    assert {r.stream for r in records if isinstance(r, ConnectRecord)} == {"market", "user"}
    market = [r for r in records if isinstance(r, FrameRecord) and r.stream == "market"]
    user = [r for r in records if isinstance(r, FrameRecord) and r.stream == "user"]
    assert any('"snapshot"' in r.frame for r in market) and user
    placed = [r for r in records if isinstance(r, RestRecord) and (r.method, r.path) == ("POST", "/orders")]
    assert len(placed) == 1 and placed[0].status == 200
    assert placed[0].body["client_order_id"] == order.client_order_id
    assert json.loads(placed[0].answer)["success_response"]["order_id"] == order.order_id
    everything = gzip.decompress(path.read_bytes())
    assert b"Bearer" not in everything and b"eyJhbGciOi" not in everything  # no token, no JWT header

    assert await replay_books(path, ["BTC-USD", "ETH-USD"]) == ended_with


def test_a_venue_given_for_a_recording_is_checked_against_the_file(
    captures: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for extra in (["--headless"], [], ["--paper"]):
        assert main(["replay", str(captures / BINANCE_WS), "--venue", "coinbase", *extra]) == 2
        assert capsys.readouterr().err.strip() == (
            f"cryptoj replay: {captures / BINANCE_WS} is a binance recording, not coinbase"
        )


async def test_the_binance_session_replays_to_the_books_binance_documents(captures: Path) -> None:
    """The cryptofeed capture in shared/ (a stream file and its REST snapshots beside it) through
    the Binance adapter over a loopback Binance: each book as PROTOCOL.md's sync rule builds it."""
    lines = await replay_books(captures / BINANCE_WS)
    assert [line["product_id"] for line in lines] == sorted(product_of(s) for s in SYMBOLS)
    frames = [json.loads(f)["data"] for f in binance_stream(captures)]
    snapshots = binance_snapshots(captures)
    for line in lines:
        symbol = str(line["product_id"]).replace("-", "")
        diffs = [d for d in frames if d.get("e") == "depthUpdate" and d["s"] == symbol]
        bids, asks = documented_rule(json.loads(snapshots[symbol]), diffs)
        assert as_decimals(line) == {
            "sequence_num": diffs[-1]["u"],
            "bids": [[p, bids[p]] for p in sorted(bids, reverse=True)[:50]],
            "asks": [[p, asks[p]] for p in sorted(asks)[:50]],
        }, symbol


async def test_a_recorded_binance_session_replays_to_the_books_the_engine_ended_with(
    captures: Path, tmp_path: Path
) -> None:
    """Scenario: the engine on Binance records (frames and the REST snapshots its books start
    from); its recording replays to the books it ended with."""
    path = tmp_path / "binance.jsonl.gz"
    venue = BinanceReplayServer(captures / BINANCE_WS)
    ws_url, rest_url = await venue.start()
    products = ["LRC-BTC", "NKN-USDT"]
    try:
        config = EngineConfig(venue="binance", ws_url=ws_url, rest_url=rest_url, record_path=path)
        async with Engine(config) as engine:
            await engine.subscribe(*products)
            for product in products:
                await engine.wait_for_book(product)
            await venue.finished.wait()
            while engine.metrics.frames < venue.frames_sent:
                await asyncio.sleep(0.01)
            ended_with = [book_line(engine, p) for p in products]
    finally:
        await venue.close()
    snapshots = [r for r in read_recording(path) if isinstance(r, RestRecord)]
    assert sorted(dict(r.params)["symbol"] for r in snapshots) == ["LRCBTC", "NKNUSDT"]
    assert all(r.path == "/api/v3/depth" and r.status == 200 for r in snapshots)
    assert await replay_books(path, products) == ended_with
