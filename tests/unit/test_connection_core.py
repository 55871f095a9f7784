"""The sans-I/O parts of the connection: backoff, sequence tracking, subscription replay."""

from __future__ import annotations

import random

import pytest

from cryptoj_tui.engine.adapters.connection import Backoff, Gap, SequenceTracker, SubscriptionSet


def test_first_retry_is_immediate_then_jittered_under_a_doubling_cap() -> None:
    backoff = Backoff(base=0.25, cap=2.0, rng=random.Random(1))
    delays = [backoff.next_delay() for _ in range(10)]
    assert delays[0] == 0.0
    ceilings = [0.25, 0.5, 1.0, 2.0, 2.0, 2.0, 2.0, 2.0, 2.0]
    for delay, ceiling in zip(delays[1:], ceilings, strict=True):
        assert 0 <= delay <= ceiling
    assert max(delays) > 0.25  # jitter actually spreads the retries out


def test_reset_makes_the_next_retry_immediate_again() -> None:
    backoff = Backoff(rng=random.Random(2))
    for _ in range(5):
        backoff.next_delay()
    backoff.reset()
    assert backoff.next_delay() == 0.0


@pytest.mark.parametrize(("base", "cap"), [(0, 1), (-1, 1), (2, 1)])
def test_backoff_refuses_nonsense_limits(base: float, cap: float) -> None:
    with pytest.raises(ValueError, match="backoff"):
        Backoff(base=base, cap=cap)


def test_sequence_tracker_accepts_a_run_from_zero_and_reports_gaps() -> None:
    tracker = SequenceTracker()
    assert [tracker.observe(n) for n in range(5)] == [None] * 5
    assert tracker.observe(7) == Gap(expected=5, received=7)
    assert tracker.observe(8) is None  # counting resumes after the gap
    assert tracker.observe(8) == Gap(expected=9, received=8)  # a repeat is a gap too


def test_sequence_tracker_requires_the_first_frame_to_be_zero() -> None:
    tracker = SequenceTracker()
    assert tracker.observe(3) == Gap(expected=0, received=3)
    tracker.reset()
    assert tracker.observe(0) is None


def test_subscription_set_replays_in_first_asked_order_without_duplicates() -> None:
    subs = SubscriptionSet()
    assert subs.add("level2", ["BTC-USD"]) == ["BTC-USD"]
    assert subs.add("ticker", ["ETH-USD"]) == ["ETH-USD"]
    assert subs.add("level2", ["BTC-USD", "SOL-USD"]) == ["SOL-USD"]
    assert subs.items() == [("level2", ["BTC-USD", "SOL-USD"]), ("ticker", ["ETH-USD"])]


def test_feed_latency_is_the_venue_stamp_to_our_arrival() -> None:
    import time
    from datetime import UTC, datetime, timedelta

    from cryptoj_tui.engine.adapters.connection import ConnectionMetrics

    metrics = ConnectionMetrics()
    now = datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    assert metrics.feed_latency(now) is None  # no stamped frame yet
    metrics.venue_time = (now - timedelta(milliseconds=250)).isoformat().replace("+00:00", "Z")
    metrics.venue_time_at = time.monotonic()
    assert 0.2 < metrics.feed_latency(now) <= 0.25  # type: ignore[operator]
    metrics.venue_time = "2026-11-25T14:29:59.750000000Z"  # Coinbase sends nanoseconds
    assert 0.2 < metrics.feed_latency(now) <= 0.25  # type: ignore[operator]
    for unusable in ("yesterday", "2026-11-25T14:29:59"):  # garbage, or no zone to place it in
        metrics.venue_time = unusable
        assert metrics.feed_latency(now) is None
