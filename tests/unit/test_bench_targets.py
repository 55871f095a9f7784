"""The benchmark targets' arithmetic: a ceiling, a floor, and a speed-up over a peer."""

from __future__ import annotations

from types import SimpleNamespace

from benchmarks.conftest import Verdict, measure


def bench(name: str, median: float) -> SimpleNamespace:
    return SimpleNamespace(name=name, stats=SimpleNamespace(median=median, data=[median]), extra_info={})


def test_a_ceiling_is_missed_above_it_and_a_floor_below_it() -> None:
    assert Verdict(1, "x", "median_ratio", 3.0, 3.01).missed
    assert not Verdict(1, "x", "median_ratio", 3.0, 3.0).missed
    assert Verdict(1, "x", "extra:views", 55.0, 54.9, floor=True).missed
    assert not Verdict(1, "x", "extra:views", 55.0, 55.0, floor=True).missed
    assert not Verdict(1, "x", "extra:views", 55.0, None, floor=True).missed  # not run is not missed
    assert Verdict(1, "x", "m", 55.0, 1.0, floor=True).bound == ">= 55"


def test_speedup_over_a_peer_is_its_median_over_ours() -> None:
    ours, peer = bench("ours", 1.0), bench("peer", 2.5)
    assert measure(ours, None, "speedup_over:peer", {"peer": peer, "ours": ours}) == 2.5
    assert measure(ours, None, "speedup_over:absent", {"ours": ours}) is None
