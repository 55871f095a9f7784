"""Benchmark reporting: every figure as a ratio to the baseline measured in the same run.

Benchmarks in one pytest-benchmark group compare with the one named `baseline` (its
`extra_info["role"]`); absolute times on a shared machine drift, ratios much less.
"""

from __future__ import annotations

from typing import Any

import pytest


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    benchmarks = getattr(session, "benchmarks", None) or []
    groups: dict[str, dict[str, Any]] = {}
    for bench in benchmarks:
        if bench.stats is None or not bench.stats.data:
            continue
        groups.setdefault(bench.group or bench.name, {})[bench.extra_info.get("role", bench.name)] = bench
    rows = []
    for group, members in sorted(groups.items()):
        baseline = members.get("baseline")
        for role, bench in sorted(members.items()):
            if role == "baseline" or baseline is None:
                continue
            ratio = bench.stats.median / baseline.stats.median
            p99 = _p99(bench) / _p99(baseline)
            rows.append((group, bench.name, bench.stats.median, baseline.stats.median, ratio, p99))
    if not rows:
        return
    write = terminalreporter.write_line
    terminalreporter.section("ratios to the same-run baseline (median)")
    write(f"{'group':<30} {'measured':>12} {'baseline':>12} {'ratio':>7} {'p99 ratio':>9}")
    for group, _, measured, base, ratio, p99 in rows:
        write(f"{group:<30} {measured * 1e6:>10.1f}us {base * 1e6:>10.1f}us {ratio:>7.2f} {p99:>9.2f}")
    for bench in benchmarks:
        for name, value in sorted(bench.extra_info.items()):
            if name != "role":
                write(f"{bench.name}: {name} = {value:.1f}" if isinstance(value, float) else f"{bench.name}: {name} = {value}")


def _p99(bench: Any) -> float:
    data = sorted(bench.stats.data)
    return data[min(len(data) - 1, int(len(data) * 0.99))]
