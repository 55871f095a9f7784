"""Coinbase stream decoding: every channel's shape, real frames, and bad input."""

from __future__ import annotations

from pathlib import Path

import pytest

from cryptoj_tui.engine.adapters.coinbase.stream import (
    CandlesFrame,
    ErrorFrame,
    FrameError,
    HeartbeatsFrame,
    L2DataFrame,
    MarketTradesFrame,
    StreamDecoder,
    SubscriptionsFrame,
    TickerFrame,
)
from cryptoj_tui.engine.adapters.connection import SequenceTracker
from cryptoj_tui.engine.book import OrderBook
from cryptoj_tui.engine.model import excerpt
from tests.capture_data import FINAL_BOOKS, coinbase_frames

decoder = StreamDecoder()

L2 = (
    b'{"channel":"l2_data","timestamp":"2026-08-09T21:05:48.5Z","sequence_num":14,"events":'
    b'[{"type":"update","product_id":"BTC-USD","updates":[{"side":"bid","event_time":"t",'
    b'"price_level":"65062.5","new_quantity":"0.00583"},{"side":"offer","event_time":"t",'
    b'"price_level":"65106.54","new_quantity":"0"}]}]}'
)


def test_level2_update_decodes_to_the_venues_exact_text() -> None:
    """Kept as text, not rounded through a float: the book reads it exactly."""
    frame = decoder.decode(L2)
    assert isinstance(frame, L2DataFrame)
    assert frame.sequence_num == 14
    (event,) = frame.events
    assert event.type == "update" and event.product_id == "BTC-USD"
    assert [(u.side, u.price, u.size) for u in event.updates] == [
        ("bid", "65062.5", "0.00583"),
        ("offer", "65106.54", "0"),
    ]


def test_field_order_does_not_matter() -> None:
    frame = decoder.decode(b'{"events":[],"sequence_num":3,"timestamp":"x","channel":"heartbeats","client_id":""}')
    assert isinstance(frame, HeartbeatsFrame) and frame.sequence_num == 3


def test_heartbeat_subscriptions_and_error_frames() -> None:
    heartbeat = decoder.decode(
        b'{"channel":"heartbeats","timestamp":"t","sequence_num":35,"events":[{"current_time":'
        b'"2026-08-09 21:05:48.854840045 +0000 UTC m=+41691.260485341","heartbeat_counter":41691}]}'
    )
    assert isinstance(heartbeat, HeartbeatsFrame)
    assert heartbeat.events[0].heartbeat_counter == 41691
    subs = decoder.decode(
        b'{"channel":"subscriptions","timestamp":"t","sequence_num":2,"events":'
        b'[{"subscriptions":{"level2":["BTC-USD"],"heartbeats":["heartbeats"]}}]}'
    )
    assert isinstance(subs, SubscriptionsFrame)
    assert subs.events[0].subscriptions["level2"] == ["BTC-USD"]
    error = decoder.decode(b'{"type":"error","message":"unknown product"}')
    assert error == ErrorFrame(type="error", message="unknown product")


@pytest.mark.parametrize(
    ("raw", "channel", "sequence_num", "fragment"),
    [
        (b'{"channel":"l2_data", "sequence', "", None, "truncated"),
        (b'{"channel": nope}', "", None, "malformed"),
        (b"[1, 2, 3]", "", None, "Expected `object`"),
        (b'{"channel":"nope","timestamp":"t","sequence_num":5,"events":[]}', "nope", 5, "Invalid value 'nope'"),
        (
            b'{"channel":"l2_data","timestamp":"t","sequence_num":"7","events":[]}',
            "",
            None,
            "Expected `int`",
        ),
        (
            b'{"channel":"l2_data","timestamp":"t","sequence_num":8,"events":[{"type":"update",'
            b'"product_id":"BTC-USD","updates":[{"side":"bid","price_level":100,"new_quantity":"1"}]}]}',
            "l2_data",
            8,
            "Expected `str`, got `int`",
        ),
        (
            b'{"channel":"l2_data","timestamp":"t","sequence_num":9,"events":[{"type":"update",'
            b'"product_id":"BTC-USD","updates":[{"side":"sideways","price_level":"1","new_quantity":"1"}]}]}',
            "l2_data",
            9,
            "Invalid enum value 'sideways'",
        ),
        (b"", "", None, "truncated"),
    ],
)
def test_bad_frames_raise_one_line_errors_with_what_could_be_read(
    raw: bytes, channel: str, sequence_num: int | None, fragment: str
) -> None:
    with pytest.raises(FrameError) as info:
        decoder.decode(raw)
    error = info.value
    assert fragment in str(error)
    assert "\n" not in str(error)
    assert error.channel == channel
    assert error.sequence_num == sequence_num


def test_excerpt_is_short_and_single_line() -> None:
    assert excerpt(b"a\nb") == "a b"
    assert excerpt("x" * 500).endswith("...") and len(excerpt("x" * 500)) == 83


@pytest.mark.captures
def test_real_coinbase_session_decodes_and_rebuilds_the_documented_books(captures: Path) -> None:
    """Every one of the 1,030 recorded frames decodes; the books end as PROVENANCE.md says."""
    frames = coinbase_frames(captures)
    assert len(frames) == 1030
    tracker = SequenceTracker()
    books = {product: OrderBook(product) for product in FINAL_BOOKS}
    kinds: dict[type, int] = {}
    for raw in frames:
        frame = decoder.decode(raw)
        kinds[type(frame)] = kinds.get(type(frame), 0) + 1
        assert tracker.observe(frame.sequence_num) is None
        if isinstance(frame, L2DataFrame):
            for event in frame.events:
                book = books[event.product_id]
                if event.type == "snapshot":
                    book.replace(event.updates)
                else:
                    book.apply(event.updates)
                assert not book.is_crossed()
    assert kinds[L2DataFrame] == 775
    assert {MarketTradesFrame, TickerFrame, CandlesFrame, HeartbeatsFrame, SubscriptionsFrame} <= set(kinds)
    for product, (bid, ask, depth) in FINAL_BOOKS.items():
        assert books[product].best_bid() == bid
        assert books[product].best_ask() == ask
        if depth is not None:
            assert books[product].depth() == depth
