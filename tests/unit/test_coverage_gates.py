"""The coverage gates name what missed and by how much."""

from __future__ import annotations

from fnmatch import fnmatch
from pathlib import Path

import cryptoj_tui
from tools.coverage_gates import COMPONENTS, misses, report, stale


def test_every_miss_names_the_component_and_its_figure() -> None:
    rows = [("risk", True, 79.4, 70.0, 60.0), ("console", False, 10.0, 5.0, 5.0), ("overall", True, 84.9, 50.0, 69.9)]
    assert misses(rows) == [
        "coverage gate: component risk 79.4 % < 80 %",
        "coverage gate: overall 84.9 % < 85 %",
        "coverage gate: integration tests alone 69.9 % < 70 %",
    ]
    assert misses([("risk", True, 80.0, 0.0, 0.0), ("overall", True, 85.0, 0.0, 70.0)]) == []


def test_the_report_has_a_row_per_component_and_every_gated_engine_component() -> None:
    names = {c.name for c in COMPONENTS if c.gated}
    assert names == {
        "market_data",
        "execution",
        "risk",
        "emergency",
        "portfolio",
        "journal",
        "connection",
        "engine core",
        "recording",
    }
    text = report(
        [(c.name, c.gated, 90.0, 50.0, 80.0) for c in COMPONENTS] + [("overall", True, 90.0, 50.0, 80.0)], "93"
    )
    assert text.count("\n| ") == len(COMPONENTS) + 2  # header, components, overall
    assert "| **overall** | ≥ 85 % | 90.0 % | 50.0 % | 80.0 % |" in text and "93 s" in text


def test_every_source_file_belongs_to_exactly_one_component() -> None:
    """A new module outside every component would be counted nowhere but in the overall figure."""
    package = Path(cryptoj_tui.__file__).parent
    files = [p.relative_to(package).as_posix() for p in package.rglob("*.py") if p.name != "__init__.py"]
    homes = {f: [c.name for c in COMPONENTS if any(fnmatch(f, pattern) for pattern in c.files)] for f in files}
    assert {f: names for f, names in homes.items() if len(names) != 1} == {}


def test_a_committed_report_whose_components_differ_is_stale() -> None:
    """docs/coverage.md predated group_commit.py and heap.py: `make test` now says so."""
    current = report(
        [(c.name, c.gated, 90.0, 50.0, 80.0) for c in COMPONENTS] + [("overall", True, 90.0, 50.0, 80.0)], None
    )
    assert stale(current) is None
    older = current.replace(", `engine/group_commit.py`", "")
    assert stale(older) == (
        "coverage report docs/coverage.md is stale: its components are not "
        "tools/coverage_gates.py's; run `make coverage` and commit it"
    )
    assert stale((Path(__file__).parents[2] / "docs" / "coverage.md").read_text()) is None  # the committed one
