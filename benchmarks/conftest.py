"""Benchmark reporting: every figure as a ratio to the baseline measured in the same run, then
the targets of `thresholds.toml` measured against it (a miss makes the run fail).

Benchmarks in one pytest-benchmark group compare with the one named `baseline` (its
`extra_info["role"]`); absolute times on a shared machine drift, ratios much less.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from benchmarks.support import p99

THRESHOLDS = Path(__file__).with_name("thresholds.toml")


@dataclass(frozen=True)
class Verdict:
    """One target of thresholds.toml against this run."""

    issue: int
    what: str
    measure: str
    limit: float
    value: float | None
    """None when its benchmark did not run (filtered out, or benchmarks disabled)."""
    floor: bool = False
    """The limit is the least value that passes (`min` in thresholds.toml), not the most (`max`)."""

    @property
    def missed(self) -> bool:
        if self.value is None:
            return False
        return self.value < self.limit if self.floor else self.value > self.limit

    @property
    def bound(self) -> str:
        return f"{'>=' if self.floor else '<='} {self.limit:g}"


def _benchmarks(config: pytest.Config) -> list[Any]:
    session = getattr(config, "_benchmarksession", None)
    return [b for b in getattr(session, "benchmarks", None) or [] if b.stats is not None and b.stats.data]


def baselines(benchmarks: list[Any]) -> dict[str, Any]:
    """The baseline of each group, by group name."""
    return {b.group or b.name: b for b in benchmarks if b.extra_info.get("role") == "baseline"}


def label(bench: Any, benchmarks: list[Any]) -> str:
    """The group's name, with the benchmark's role where several in the group share a baseline."""
    group = bench.group or bench.name
    shared = sum(1 for b in benchmarks if (b.group or b.name) == group and b.extra_info.get("role") != "baseline")
    return f"{group}: {bench.extra_info.get('role', bench.name)}" if shared > 1 else group


def measure(bench: Any, baseline: Any | None, what: str, by_name: dict[str, Any] | None = None) -> float | None:
    """The figure `what` (a thresholds.toml measure) of one benchmark; `by_name` holds the
    run's benchmarks for `speedup_over:NAME` (NAME's median over this one's)."""
    data = bench.stats.data
    if what.startswith("speedup_over:"):
        other = (by_name or {}).get(what.removeprefix("speedup_over:"))
        return None if other is None else other.stats.median / bench.stats.median
    if what.startswith("extra:"):
        value = bench.extra_info.get(what.removeprefix("extra:"))
        return float(value) if value is not None else None
    if what == "median_ms":
        return bench.stats.median * 1000
    if what == "p99_ms":
        return p99(data) * 1000
    if what == "max_ms":
        return max(data) * 1000
    if baseline is None:
        return None
    if what == "median_ratio":
        return bench.stats.median / baseline.stats.median
    if what == "p99_ratio":
        return p99(data) / p99(baseline.stats.data)
    raise ValueError(f"{THRESHOLDS.name}: unknown measure {what!r}")


def verdicts(config: pytest.Config) -> list[Verdict]:
    return verdicts_of(_benchmarks(config))


def verdicts_of(benchmarks: list[Any]) -> list[Verdict]:
    """Every target of thresholds.toml against these benchmarks (pytest-benchmark's, or the
    same fields read back from its JSON by tools/bench_report.py)."""
    by_name = {b.name: b for b in benchmarks}
    by_group = baselines(benchmarks)
    result = []
    for target in tomllib.loads(THRESHOLDS.read_text())["target"]:
        bench = by_name.get(target["benchmark"])
        value = (
            None
            if bench is None
            else measure(bench, by_group.get(bench.group or bench.name), target["measure"], by_name)
        )
        floor = "min" in target
        limit = float(target["min"] if floor else target["max"])
        result.append(Verdict(target["issue"], target["what"], target["measure"], limit, value, floor))
    return result


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    benchmarks = _benchmarks(config)
    if not benchmarks:
        return
    by_group = baselines(benchmarks)
    write = terminalreporter.write_line
    terminalreporter.section("ratios to the same-run baseline")
    write(f"{'group':<34} {'measured':>12} {'baseline':>12} {'ratio':>7} {'p99 ratio':>9}")
    for bench in sorted(benchmarks, key=lambda b: (b.group or b.name, b.name)):
        baseline = by_group.get(bench.group or bench.name)
        if baseline is None or baseline is bench:
            continue
        write(
            f"{label(bench, benchmarks):<34} {bench.stats.median * 1e6:>10.1f}us "
            f"{baseline.stats.median * 1e6:>10.1f}us "
            f"{measure(bench, baseline, 'median_ratio'):>7.2f} {measure(bench, baseline, 'p99_ratio'):>9.2f}"
        )
    for bench in benchmarks:
        for name, value in sorted(bench.extra_info.items()):
            if name != "role" and not isinstance(value, list):
                write(
                    f"{bench.name}: {name} = {value:.1f}"
                    if isinstance(value, float)
                    else f"{bench.name}: {name} = {value}"
                )
    terminalreporter.section("targets (benchmarks/thresholds.toml)")
    write(f"{'issue':<6} {'target':<78} {'measure':<34} {'measured':>9} {'bound':>9}  result")
    for v in verdicts(config):
        measured = "-" if v.value is None else f"{v.value:.2f}"
        result = "not run" if v.value is None else ("MISSED" if v.missed else "ok")
        write(f"#{v.issue:<5} {v.what[:78]:<78} {v.measure[:34]:<34} {measured:>9} {v.bound:>9}  {result}")


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    missed = [v for v in verdicts(session.config) if v.missed]
    if missed and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
