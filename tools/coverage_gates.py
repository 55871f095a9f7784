"""Coverage gates and the coverage report, from the `.coverage` of a `make test` run.

The run records which test covered each line and branch (`--cov-context=test`), so one run
gives three figures per component: all tests, unit tests alone, integration tests alone (the
engine against the paper venue over loopback, the console through Textual's pilot, the
terminal end-to-end tests). Branch coverage throughout.

    python tools/coverage_gates.py            # check the gates, one line per miss, exit 1
    python tools/coverage_gates.py --write docs/coverage.md   # and write the report
"""

from __future__ import annotations

import argparse
import io
import sys
from dataclasses import dataclass
from pathlib import Path

from coverage import Coverage
from coverage.exceptions import NoDataError

OVERALL_MIN = 85.0
COMPONENT_MIN = 80.0
INTEGRATION_MIN = 70.0

# Lines run while pytest imports the modules (def, class, constants) and lines run in the
# subprocesses of the terminal and kill-and-restart tests carry no test's name (the empty
# context): they count in both columns.
UNIT = [r"^tests/unit/", r"^$"]
INTEGRATION = [r"^tests/(integration|ui|e2e)/", r"^$"]


@dataclass(frozen=True)
class Component:
    """A part of the package whose coverage is gated (or only reported) on its own."""

    name: str
    files: tuple[str, ...]
    gated: bool = True


COMPONENTS = (
    Component(
        "market_data",
        (
            "engine/market_data.py",
            "engine/book.py",
            "engine/tape.py",
            "engine/adapters/coinbase/market_feed.py",
            "engine/adapters/coinbase/stream.py",
            "engine/adapters/binance/depth.py",
            "engine/adapters/binance/feed.py",
        ),
    ),
    Component(
        "execution",
        (
            "engine/execution.py",
            "engine/orders.py",
            "engine/working.py",
            "engine/adapters/coinbase/rest.py",
            "engine/adapters/coinbase/user_feed.py",
            "engine/adapters/coinbase/parsing.py",
            "engine/adapters/coinbase/answers.py",
            "engine/adapters/coinbase/execution_client.py",
            "engine/adapters/coinbase/venue.py",
            "engine/adapters/binance/rest.py",
            "engine/adapters/binance/user_stream.py",
            "engine/adapters/binance/parsing.py",
            "engine/adapters/binance/execution_client.py",
            "engine/adapters/binance/venue.py",
            "engine/adapters/http.py",
        ),
    ),
    Component("risk", ("engine/risk.py",)),
    Component("emergency", ("engine/emergency.py",)),
    Component("portfolio", ("engine/portfolio.py",)),
    Component("journal", ("engine/journal.py", "engine/group_commit.py")),
    Component(
        "connection",
        (
            "engine/adapters/connection.py",
            "engine/adapters/key_files.py",
            "engine/adapters/coinbase/auth.py",
            "cdp_keys.py",
            "binance_keys.py",
        ),
    ),
    Component(
        "engine core",
        (
            "engine/engine.py",
            "engine/trading.py",
            "engine/bus.py",
            "engine/events.py",
            "engine/model.py",
            "engine/adapters/base.py",
        ),
    ),
    Component("recording", ("engine/recording.py", "replay/*")),
    Component(
        "console",
        (
            "app.py",
            "bridge.py",
            "heap.py",
            "messages.py",
            "views.py",
            "formats.py",
            "event_text.py",
            "screens/*",
            "widgets/*",
        ),
        gated=False,
    ),
    Component("paper venue", ("sim/*",), gated=False),
    Component("cli and config", ("cli.py", "config.py", "headless.py", "__main__.py"), gated=False),
)


def percent(cov: Coverage, files: tuple[str, ...] | None = None, contexts: list[str] | None = None) -> float:
    include = None if files is None else [f"*/cryptoj_tui/{f}" for f in files]
    try:
        return cov.report(
            include=include, contexts=contexts, file=io.StringIO(), precision=1, skip_covered=False, skip_empty=False
        )
    except NoDataError:
        return 0.0


def figures(data_file: str) -> list[tuple[str, bool, float, float, float]]:
    """(component, gated, all, unit only, integration only) for each component, then the total."""
    cov = Coverage(data_file=data_file)
    cov.load()
    rows = [
        (c.name, c.gated, percent(cov, c.files), percent(cov, c.files, UNIT), percent(cov, c.files, INTEGRATION))
        for c in COMPONENTS
    ]
    rows.append(("overall", True, percent(cov), percent(cov, None, UNIT), percent(cov, None, INTEGRATION)))
    return rows


def misses(rows: list[tuple[str, bool, float, float, float]]) -> list[str]:
    found = []
    for name, gated, total, _, integration in rows:
        if name == "overall":
            if total < OVERALL_MIN:
                found.append(f"coverage gate: overall {total:.1f} % < {OVERALL_MIN:g} %")
            if integration < INTEGRATION_MIN:
                found.append(f"coverage gate: integration tests alone {integration:.1f} % < {INTEGRATION_MIN:g} %")
        elif gated and total < COMPONENT_MIN:
            found.append(f"coverage gate: component {name} {total:.1f} % < {COMPONENT_MIN:g} %")
    return found


def report(rows: list[tuple[str, bool, float, float, float]], seconds: str | None) -> str:
    lines = [
        "# Test coverage",
        "",
        "Written by `make coverage` from a real run of the whole suite (branch coverage; do not edit by",
        "hand). *Unit* is `tests/unit` alone; *integration* is `tests/integration`, `tests/ui` and",
        "`tests/e2e` alone: real engine, console and paper venue over loopback sockets. Lines run while",
        "pytest imports the modules, and code run in the subprocesses of the terminal and",
        "kill-and-restart tests, carry no test's name and count in both columns.",
        "",
        f"Gates (`make test` fails naming the component): overall ≥ {OVERALL_MIN:g} %, each gated engine",
        f"component ≥ {COMPONENT_MIN:g} %, integration tests alone ≥ {INTEGRATION_MIN:g} % overall.",
        "",
        "| component | gate | all tests | unit only | integration only |",
        "|---|---|---:|---:|---:|",
    ]
    for name, gated, total, unit, integration in rows:
        gate = f"≥ {OVERALL_MIN:g} %" if name == "overall" else (f"≥ {COMPONENT_MIN:g} %" if gated else "—")
        bold = "**" if name == "overall" else ""
        lines.append(f"| {bold}{name}{bold} | {gate} | {total:.1f} % | {unit:.1f} % | {integration:.1f} % |")
    lines += ["", "Files of each component:", "", *component_lines()]
    if seconds:
        lines += ["", f"Suite time of this run (`make test`'s pytest, 2 workers): {seconds} s."]
    return "\n".join(lines) + "\n"


def component_lines() -> list[str]:
    """The report's list of every component's files (what a stale report would differ in)."""
    return [
        f"- **{c.name}**" + (" (gated)" if c.gated else "") + ": " + ", ".join(f"`{f}`" for f in c.files)
        for c in COMPONENTS
    ]


def stale(report_text: str) -> str | None:
    """Why a committed report no longer describes the components (None: it does)."""
    if all(line in report_text.splitlines() for line in component_lines()):
        return None
    return (
        "coverage report docs/coverage.md is stale: its components are not tools/coverage_gates.py's; "
        "run `make coverage` and commit it"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-file", default=".coverage")
    parser.add_argument("--write", type=Path, help="write the markdown report here (keeps any mutation section)")
    parser.add_argument("--seconds", help="the suite's run time, for the report")
    parser.add_argument("--check-report", type=Path, help="fail when this committed report is stale")
    args = parser.parse_args()
    rows = figures(args.data_file)
    for name, gated, total, unit, integration in rows:
        print(
            f"coverage {name:<15} all {total:5.1f} %   unit {unit:5.1f} %   integration {integration:5.1f} %"
            + ("" if gated else "   (not gated)")
        )
    if args.write:
        keep = ""
        if args.write.exists():
            old = args.write.read_text()
            marker = old.find("\n## Mutation check")
            keep = old[marker:] if marker >= 0 else ""
        args.write.write_text(report(rows, args.seconds) + keep)
        print(f"wrote {args.write}")
    found = misses(rows)
    if args.check_report is not None:
        why = stale(args.check_report.read_text()) if args.check_report.exists() else f"{args.check_report} is missing"
        if why is not None:
            found.append(why)
    for line in found:
        print(line, file=sys.stderr)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
