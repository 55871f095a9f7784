"""Fuzz the Coinbase frame decoder: valid, mutated and truncated frames of every market channel.

Whatever arrives, the decoder returns a frame or raises FrameError with one short line; a valid
frame decodes to what was sent; a truncated one never decodes. Hypothesis picks the seeds (a
failure prints the seed that replays it), and a bulk run pushes FUZZ_FRAMES per channel through
(100,000 unless CRYPTOJ_FUZZ_FRAMES says otherwise).
"""

from __future__ import annotations

import itertools
from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cryptoj_tui.engine.adapters.coinbase.stream import (
    FrameError,
    HeartbeatsFrame,
    L2DataFrame,
    MarketTradesFrame,
    StreamDecoder,
    TickerFrame,
)
from tests.fuzz_frames import CHANNELS, FUZZ_FRAMES, BookModel, FrameMaker

DECODED = {
    "l2_data": L2DataFrame,
    "market_trades": MarketTradesFrame,
    "ticker": TickerFrame,
    "heartbeats": HeartbeatsFrame,
}


def check(decoder: StreamDecoder, channel: str, kind: str, frame: str, sequence_num: int | None) -> bool:
    """One frame through the decoder; True when it decoded."""
    try:
        decoded = decoder.decode(frame)
    except FrameError as exc:
        assert kind != "valid", (exc, frame)
        message = str(exc)
        assert "\n" not in message and len(message) < 400, message
        return False
    assert kind != "truncated", frame
    if kind == "valid":
        assert isinstance(decoded, DECODED[channel]) and decoded.sequence_num == sequence_num  # type: ignore[union-attr]
    return True


@settings(max_examples=150, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), channel=st.sampled_from(CHANNELS))
def test_any_frame_decodes_or_is_refused_in_one_line(seed: int, channel: str) -> None:
    decoder, numbers = StreamDecoder(), itertools.count()
    for n, (kind, frame) in enumerate(FrameMaker(channel, seed).stream(40, BookModel(), numbers)):
        check(decoder, channel, kind, frame, n)


@pytest.mark.parametrize("channel", CHANNELS)
def test_bulk_frames_of_one_channel(channel: str) -> None:
    decoder, numbers = StreamDecoder(), itertools.count()
    counts = {"valid": 0, "mutated": 0, "truncated": 0}
    decoded_bad = 0
    for n, (kind, frame) in enumerate(FrameMaker(channel).stream(FUZZ_FRAMES, BookModel(), numbers)):
        counts[kind] += 1
        if check(decoder, channel, kind, frame, n) and kind != "valid":
            decoded_bad += 1  # a mutation that still fits the schema (a digit changed, say)
    assert counts["valid"] > FUZZ_FRAMES // 2 and counts["truncated"] > FUZZ_FRAMES // 20
    assert decoded_bad < counts["mutated"]  # most mutations break the frame


def test_a_valid_level2_frame_decodes_to_exactly_its_levels() -> None:
    model = BookModel()
    frame = FrameMaker("l2_data", seed=7).valid(5, model)
    decoded = StreamDecoder().decode(frame)
    assert isinstance(decoded, L2DataFrame)
    (event,) = decoded.events
    ((side, price, size),) = [(u.side, D(u.price), D(u.size)) for u in event.updates]
    assert (model.bids if side == "bid" else model.asks).get(price, D(0)) == size
