"""A hostile feed over a real socket: bad frames are counted and logged, never fatal, and any
sign of lost or wrong data leads to a fresh snapshot rather than a corrupted book.

The server here is a scripted stand-in for a misbehaving venue (test code, not a mock of ours):
the Nth level2 subscribe (on whichever connection) is answered with script N.
"""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from collections.abc import AsyncIterator
from decimal import Decimal as D

import pytest
from websockets.asyncio.server import ServerConnection, serve

from cryptoj_tui.engine import Engine, EngineConfig, Side
from cryptoj_tui.engine.bus import Subscription
from cryptoj_tui.engine.events import BookReset, FeedError, SequenceGap
from tests.conftest import next_event


def l2(seq: int, kind: str, *levels: tuple[str, object, object], product: str = "BTC-USD") -> str:
    updates = [{"side": s, "event_time": "t", "price_level": p, "new_quantity": q} for s, p, q in levels]
    return json.dumps(
        {
            "channel": "l2_data",
            "timestamp": "2026-11-25T00:00:00.000000000Z",
            "sequence_num": seq,
            "events": [{"type": kind, "product_id": product, "updates": updates}],
        }
    )


SNAPSHOT = (("bid", "100", "1"), ("bid", "99", "2"), ("offer", "101", "3"), ("offer", "102", "4"))


class ScriptedVenue:
    """Serves scripted frames; counts connections and level2 subscribes."""

    def __init__(self, *scripts: list[str]) -> None:
        self.scripts = scripts
        self.connections = 0
        self.level2_subscribes = 0
        self.url = ""

    async def handler(self, ws: ServerConnection) -> None:
        self.connections += 1
        async for message in ws:
            if json.loads(message).get("channel") == "level2":
                script = self.scripts[min(self.level2_subscribes, len(self.scripts) - 1)]
                self.level2_subscribes += 1
                for frame in script:
                    await ws.send(frame)
        # stay open until the client leaves


@pytest.fixture
async def scripted(request: pytest.FixtureRequest) -> AsyncIterator[ScriptedVenue]:
    venue = ScriptedVenue(*request.param)
    async with serve(venue.handler, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        venue.url = f"ws://127.0.0.1:{port}"
        yield venue


async def best_bid_becomes(engine: Engine, events: Subscription, bid: tuple[D, D]) -> None:
    """Wait (on engine events) until the BTC-USD book's best bid is `bid`."""
    book = engine.book("BTC-USD")
    async with asyncio.timeout(5):
        while book.best_bid() != bid:
            await events.get()


async def engine_on(venue: ScriptedVenue) -> Engine:
    engine = Engine(EngineConfig(ws_url=venue.url, stale_after=30))
    await engine.start()
    return engine


GARBAGE_THEN_UPDATE = [
    l2(0, "snapshot", *SNAPSHOT),
    "{not json",
    '{"channel":"l2_data","timestamp":"t","sequence_num":"one","events":[]}',
    '{"channel":"mystery","timestamp":"t","sequence_num":1,"events":[]}',
    '{"channel":"ticker","timestamp":"t","sequence_num":2,"events":[{"type":"update","tickers":[{"product_id":"BTC-USD","price":{}}]}]}',
    '{"type":"error","message":"you did something odd"}',
    l2(3, "update", ("bid", "100", "5"), ("offer", "101", "0")),
]


@pytest.mark.parametrize("scripted", [[GARBAGE_THEN_UPDATE]], indirect=True)
async def test_malformed_wrong_typed_and_unknown_frames_are_counted_and_skipped(
    scripted: ScriptedVenue, caplog: pytest.LogCaptureFixture
) -> None:
    """Scenario: garbage between good frames; the book still ends exactly right, no reconnect."""
    caplog.set_level(logging.WARNING)
    engine = await engine_on(scripted)
    events = engine.events()
    try:
        await engine.subscribe("BTC-USD")
        errors = [await next_event(events, lambda e: isinstance(e, FeedError)) for _ in range(5)]
        await best_bid_becomes(engine, events, (D("100"), D("5")))
        assert engine.book("BTC-USD").best_ask() == (D("102"), D("4"))
        assert engine.metrics.decode_errors == 4
        assert engine.metrics.connects == 1 and engine.metrics.gaps == 0
        text = [e.message for e in errors]  # type: ignore[attr-defined]
        assert "malformed" in text[0]
        assert "Expected `int`" in text[1]
        assert "Invalid value 'mystery'" in text[2]
        assert "channel 'ticker'" in text[3] and "$.events[0].tickers[0].price" in text[3]
        assert text[4] == "venue error: you did something odd"
        assert all("\n" not in message for message in text)
        assert sum("bad frame" in r.message for r in caplog.records) == 4
    finally:
        await engine.stop()


GAP = [l2(0, "snapshot", *SNAPSHOT), l2(1, "update", ("bid", "100", "7")), l2(5, "update", ("bid", "100", "8"))]
FRESH = [l2(0, "snapshot", ("bid", "200", "1"), ("offer", "201", "1"))]


@pytest.mark.parametrize("scripted", [[GAP, FRESH]], indirect=True)
async def test_sequence_gap_discards_the_book_and_resyncs_from_a_fresh_snapshot(
    scripted: ScriptedVenue,
) -> None:
    """Scenario: frames 2..4 never arrive; the engine must not apply frame 5 on a stale book."""
    engine = await engine_on(scripted)
    events = engine.events()
    try:
        await engine.subscribe("BTC-USD")
        gap = await next_event(events, lambda e: isinstance(e, SequenceGap))
        assert (gap.expected, gap.received) == (2, 5)  # type: ignore[attr-defined]
        await next_event(events, lambda e: isinstance(e, BookReset))
        book = await engine.wait_for_book("BTC-USD")
        await best_bid_becomes(engine, events, (D("200"), D("1")))
        assert book.levels(Side.BID) == [(D("200"), D("1"))]
        assert book.levels(Side.ASK) == [(D("201"), D("1"))]
        assert engine.metrics.gaps == 1 and scripted.connections == 2
    finally:
        await engine.stop()


CROSSED = [l2(0, "snapshot", *SNAPSHOT), l2(1, "update", ("bid", "101.5", "1"))]
NEGATIVE = [l2(0, "snapshot", *SNAPSHOT), l2(1, "update", ("bid", "98", "1"), ("offer", "101", "-2"))]
BAD_PRICE_TEXT = [l2(0, "snapshot", *SNAPSHOT), l2(1, "update", ("bid", "x", "1"))]
BAD_L2_TYPE = [l2(0, "snapshot", *SNAPSHOT), l2(1, "update", ("bid", 100, "1"))]  # a number, not text
FRESH_ON_THE_SAME_CONNECTION = [l2(2, "snapshot", ("bid", "200", "1"), ("offer", "201", "1"))]


@pytest.mark.parametrize(
    ("scripted", "fragment", "connections"),
    [
        ([CROSSED, FRESH_ON_THE_SAME_CONNECTION], "crossed book: best bid 101.5 >= best ask 101", 1),
        ([NEGATIVE, FRESH_ON_THE_SAME_CONNECTION], "ask level at 101 has invalid size -2", 1),
        ([BAD_PRICE_TEXT, FRESH_ON_THE_SAME_CONNECTION], "bid level has invalid price x", 1),
        # Which book an undecodable frame was for is unknown: every book, new connection.
        ([BAD_L2_TYPE, FRESH], "Expected `str`, got `int`", 2),
    ],
    indirect=["scripted"],
)
async def test_a_book_that_cannot_be_right_is_reported_and_rebuilt(
    scripted: ScriptedVenue, fragment: str, connections: int
) -> None:
    """Scenario: an update that would cross the book, a negative size, a price that is no number,
    an undecodable level."""
    engine = await engine_on(scripted)
    events = engine.events()
    try:
        await engine.subscribe("BTC-USD")
        error = await next_event(events, lambda e: isinstance(e, FeedError))
        assert fragment in error.message  # type: ignore[attr-defined]
        await best_bid_becomes(engine, events, (D("200"), D("1")))
        assert scripted.connections == connections and scripted.level2_subscribes == 2
        assert engine.metrics.book_resyncs == 2 - connections
        assert not engine.book("BTC-USD").is_crossed()
    finally:
        await engine.stop()


def with_checksum(frame: str, checksum: int) -> str:
    data = json.loads(frame)
    data["events"][0]["checksum"] = checksum
    return json.dumps(data)


GOOD_CRC = with_checksum(l2(0, "snapshot", ("bid", "100", "1"), ("offer", "101", "3")), zlib.crc32(b"100:1:101:3"))
BAD_CRC = [GOOD_CRC, with_checksum(l2(1, "update", ("bid", "100", "2")), 12345)]


@pytest.mark.parametrize("scripted", [[BAD_CRC, FRESH_ON_THE_SAME_CONNECTION]], indirect=True)
async def test_a_checksum_mismatch_is_reported_and_the_book_rebuilt(scripted: ScriptedVenue) -> None:
    """Scenario: the venue's checksum disagrees with our book after an update: only that book is
    re-subscribed, on the same connection."""
    engine = await engine_on(scripted)
    events = engine.events()
    try:
        await engine.subscribe("BTC-USD")
        error = await next_event(events, lambda e: isinstance(e, FeedError))
        assert "BTC-USD checksum mismatch: venue 12345" in error.message  # type: ignore[attr-defined]
        await best_bid_becomes(engine, events, (D("200"), D("1")))
        assert engine.metrics.checksums_verified == 1 and engine.metrics.checksum_mismatches == 1
        assert scripted.connections == 1 and engine.metrics.book_resyncs == 1
    finally:
        await engine.stop()


def trades(seq: int, *priced: tuple[str, str, str]) -> str:
    """A market_trades frame of (trade id, price, size)."""
    return json.dumps(
        {
            "channel": "market_trades",
            "timestamp": "2026-11-25T00:00:00.000000000Z",
            "sequence_num": seq,
            "events": [
                {
                    "type": "update",
                    "trades": [
                        {
                            "trade_id": i,
                            "product_id": "BTC-USD",
                            "price": p,
                            "size": q,
                            "side": "BUY",
                            "time": "2026-11-25T00:00:00.000000Z",
                        }
                        for i, p, q in priced
                    ],
                }
            ],
        }
    )


def ticker(seq: int, price: str, **fields: str) -> str:
    return json.dumps(
        {
            "channel": "ticker",
            "timestamp": "2026-11-25T00:00:00.000000000Z",
            "sequence_num": seq,
            "events": [{"type": "update", "tickers": [{"product_id": "BTC-USD", "price": price, **fields}]}],
        }
    )


BAD_TRADES = [
    l2(0, "snapshot", *SNAPSHOT),
    trades(
        1,
        ("t1", "100.5", "0.1"),
        ("t2", "NaN", "0.1"),
        ("t3", "100.6", "-1"),
        ("t4", "1E+999999", "1"),
        ("t5", "100.7", "0.2"),
    ),
    ticker(2, "NaN"),
    ticker(3, "100.5", best_bid="-3"),
    ticker(4, "100.6", price_percent_chg_24_h="-250"),
    ticker(5, "100.8", best_bid="100", best_ask="101", volume_24_h="12", price_percent_chg_24_h="-1.25"),
    l2(6, "update", ("bid", "100", "5")),
]


@pytest.mark.parametrize("scripted", [[BAD_TRADES]], indirect=True)
async def test_a_trade_or_ticker_that_cannot_be_is_reported_and_skipped_without_a_reconnect(
    scripted: ScriptedVenue,
) -> None:
    """Issue 25.5: a public trade priced NaN raised in the tape and forced a full reconnect on
    every such frame; negative and 1E+999999 passed. Each is reported and left out; the good
    trades of the same frame and the book go on, on the same connection."""
    engine = await engine_on(scripted)
    events = engine.events()
    try:
        await engine.subscribe("BTC-USD")
        errors = [await next_event(events, lambda e: isinstance(e, FeedError)) for _ in range(6)]
        await best_bid_becomes(engine, events, (D("100"), D("5")))
        assert [e.message for e in errors] == [  # type: ignore[attr-defined]  # oldest first: the frame lists newest first
            "BTC-USD trade t4: price 1E+999999 is not a price",
            "BTC-USD trade t3: size -1 is not a size",
            "BTC-USD trade t2: price NaN is not a price",
            "BTC-USD ticker: price NaN is not a price",
            "BTC-USD ticker: best_bid -3 is not a price",
            "BTC-USD ticker: price_percent_chg_24_h -250 is not a change in percent",
        ]
        assert [t.trade_id for t in engine.tape("BTC-USD").trades] == ["t1", "t5"]
        ticker_now = engine.ticker("BTC-USD")
        assert ticker_now is not None and ticker_now.price == D("100.8")
        assert ticker_now.change_24h_percent == D("-1.25")
        assert engine.metrics.connects == 1 and engine.metrics.gaps == 0
    finally:
        await engine.stop()
