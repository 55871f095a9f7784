"""Which trading day a moment belongs to, when days start at a UTC time of day."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

from cryptoj_tui.engine.trading import trading_day

UTC = UTC


def test_days_turn_at_the_reset_time_in_utc() -> None:
    reset = time(13, 30)
    assert trading_day(datetime(2026, 11, 25, 13, 29, 59, tzinfo=UTC), reset) == date(2026, 11, 24)
    assert trading_day(datetime(2026, 11, 25, 13, 30, tzinfo=UTC), reset) == date(2026, 11, 25)
    assert trading_day(datetime(2026, 11, 26, 0, 0, tzinfo=UTC), time(0, 0)) == date(2026, 11, 26)


def test_a_moment_given_in_another_zone_counts_in_utc() -> None:
    new_york = timezone(timedelta(hours=-5))
    # 20:00 in New York on the 25th is 01:00 UTC on the 26th: past a 00:00 UTC reset.
    assert trading_day(datetime(2026, 11, 25, 20, 0, tzinfo=new_york), time(0, 0)) == date(2026, 11, 26)
