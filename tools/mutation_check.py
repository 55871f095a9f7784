"""A small mutation check of the code that must never be wrong: risk.py and emergency.py.

Each mutant changes one thing (a comparison, a boolean operator, an arithmetic operator, a
number, a refusal returned as None, a `not` dropped), then the tests that guard the file run
against it in a copy of the repository. A mutant the tests fail on is killed; one they pass
is a survivor: either a test is missing or the change makes no difference (an equivalent
mutant), which the report lists by line so a person can tell which.

    python tools/mutation_check.py              # both files, 2 workers, report on stdout
    python tools/mutation_check.py --write docs/coverage.md   # replace its mutation section
"""

from __future__ import annotations

import argparse
import ast
import copy
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {
    "cryptoj_tui/engine/risk.py": [
        "tests/unit/test_risk.py",
        "tests/unit/test_risk_boundaries.py",
        "tests/unit/test_absurd_numbers.py",
        "tests/integration/risk",
        "tests/integration/emergency",
        "tests/integration/trading_flows/test_trading.py",
    ],
    "cryptoj_tui/engine/emergency.py": [
        "tests/unit/test_emergency.py",
        "tests/unit/test_risk_boundaries.py",
        "tests/integration/emergency",
        "tests/integration/risk",
        "tests/unit/test_risk.py",
    ],
}
TIMEOUT_S = 180

DEFAULT_LIMIT = "a default limit: a setting a trader changes, not behaviour"
JUDGED: dict[tuple[str, str, str], str] = {
    ("risk.py", "500 -> 501", "max_open_orders: int = 500"): DEFAULT_LIMIT,
    ("risk.py", "50 -> 51", "max_orders_per_second: int = 50"): DEFAULT_LIMIT,
    ("risk.py", "15.0 -> 16.0", "stale_halt_after: float = 15.0"): DEFAULT_LIMIT,
    ("risk.py", "10 -> 11", "reject_storm: int = 10"): DEFAULT_LIMIT,
    ("risk.py", "80 -> 81", "exact.prec = 80"): (
        "equivalent: more digits never change an exact remainder (80 is a margin over the 58 needed)"
    ),
    (
        "risk.py",
        "Mult -> Div",
        "reduces = context.position * request.side.sign < 0 and request.size <= abs(context.position)",
    ): "equivalent: the side's sign is 1 or -1, so multiplying and dividing by it agree",
    (
        "risk.py",
        "Lt -> LtE",
        "reduces = context.position * request.side.sign < 0 and request.size <= abs(context.position)",
    ): "equivalent: with no position, no order size (> 0) is <= 0, so nothing reduces either way",
    (
        "risk.py",
        "Gt -> GtE",
        "aggressive = (request.price > context.mid) if request.side is OrderSide.BUY else (request.price < context.mid)",  # noqa: E501 - a line of risk.py, as it is
    ): "equivalent: a price at mid is 0 % through it, inside any collar",
    (
        "risk.py",
        "Lt -> LtE",
        "aggressive = (request.price > context.mid) if request.side is OrderSide.BUY else (request.price < context.mid)",  # noqa: E501 - a line of risk.py, as it is
    ): "equivalent: a price at mid is 0 % through it, inside any collar",
    (
        "emergency.py",
        "Gt -> GtE",
        "side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY",
    ): "equivalent: flat positions are skipped just above",
}
"""Survivors a person has judged, by (file, change, source line): why they need no test."""

SWAPS: dict[type, type] = {
    ast.Lt: ast.LtE,
    ast.LtE: ast.Lt,
    ast.Gt: ast.GtE,
    ast.GtE: ast.Gt,
    ast.Eq: ast.NotEq,
    ast.NotEq: ast.Eq,
    ast.Is: ast.IsNot,
    ast.IsNot: ast.Is,
    ast.In: ast.NotIn,
    ast.NotIn: ast.In,
    ast.And: ast.Or,
    ast.Or: ast.And,
    ast.Add: ast.Sub,
    ast.Sub: ast.Add,
    ast.Mult: ast.Div,
    ast.Div: ast.Mult,
}


@dataclass(frozen=True)
class Mutant:
    """One change to one file."""

    path: str
    index: int
    line: int
    change: str

    @property
    def judgement(self) -> str | None:
        source = (REPO / self.path).read_text().splitlines()[self.line - 1].strip()
        return JUDGED.get((Path(self.path).name, self.change, source))


class Mutator(ast.NodeTransformer):
    """Walks a module; counts mutation sites, and applies the one numbered `target` (if any)."""

    def __init__(self, target: int | None = None) -> None:
        self.target = target
        self.sites: list[tuple[int, str]] = []
        self._in_fstring = 0

    def _site(self, node: ast.AST, change: str) -> bool:
        self.sites.append((getattr(node, "lineno", 0), change))
        return len(self.sites) - 1 == self.target

    def visit_JoinedStr(self, node: ast.JoinedStr) -> ast.AST:
        return node  # the text of messages is not behaviour

    def visit_Compare(self, node: ast.Compare) -> ast.AST:
        self.generic_visit(node)
        for i, op in enumerate(node.ops):
            swap = SWAPS.get(type(op))
            if swap and self._site(node, f"{type(op).__name__} -> {swap.__name__}"):
                node.ops[i] = swap()
        return node

    def visit_BoolOp(self, node: ast.BoolOp) -> ast.AST:
        self.generic_visit(node)
        swap = SWAPS[type(node.op)]
        if self._site(node, f"{type(node.op).__name__} -> {swap.__name__}"):
            node.op = swap()
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        self.generic_visit(node)
        swap = SWAPS.get(type(node.op))
        if swap and self._site(node, f"{type(node.op).__name__} -> {swap.__name__}"):
            node.op = swap()
        return node

    def visit_UnaryOp(self, node: ast.UnaryOp) -> ast.AST:
        self.generic_visit(node)
        if isinstance(node.op, ast.Not) and self._site(node, "drop `not`"):
            return node.operand
        return node

    def visit_Constant(self, node: ast.Constant) -> ast.AST:
        value = node.value
        if isinstance(value, bool):
            if self._site(node, f"{value} -> {not value}"):
                return ast.copy_location(ast.Constant(not value), node)
        elif isinstance(value, int | float) and self._site(node, f"{value!r} -> {value + 1!r}"):
            return ast.copy_location(ast.Constant(value + 1), node)
        return node

    def visit_Return(self, node: ast.Return) -> ast.AST:
        self.generic_visit(node)
        if (
            isinstance(node.value, ast.JoinedStr | ast.Constant)
            and not (isinstance(node.value, ast.Constant) and node.value.value is None)
            and self._site(node, "return the refusal -> return None")
        ):
            node.value = ast.Constant(None)
        return node

    def visit_Expr(self, node: ast.Expr) -> ast.AST:
        if isinstance(node.value, ast.Constant) and isinstance(node.value.value, str):
            return node  # docstrings
        return self.generic_visit(node)


def mutants(path: str) -> list[Mutant]:
    counter = Mutator()
    counter.visit(ast.parse((REPO / path).read_text()))
    return [Mutant(path, i, line, change) for i, (line, change) in enumerate(counter.sites)]


def mutated_source(mutant: Mutant | None, path: str) -> str:
    tree = ast.parse((REPO / path).read_text())
    if mutant is not None:
        tree = Mutator(mutant.index).visit(copy.deepcopy(tree))
        ast.fix_missing_locations(tree)
    return ast.unparse(tree)  # the unmutated baseline is unparsed too, so only the mutation differs


def workspaces(count: int, root: Path) -> Iterator[Path]:
    ignore = shutil.ignore_patterns(
        ".venv",
        ".git",
        ".benchmarks",
        "__pycache__",
        ".coverage*",
        "htmlcov",
        ".hypothesis",
        ".pytest_cache",
        "snapshot_report.html",
    )
    for n in range(count):
        target = root / f"w{n}"
        shutil.copytree(REPO, target, ignore=ignore)
        yield target


def run_tests(workspace: Path, path: str, source: str) -> bool:
    """True when the guarding tests pass with `source` in place of `path`."""
    (workspace / path).write_text(source)
    command = [
        sys.executable,
        "-m",
        "pytest",
        "-x",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "--no-cov",
        *TARGETS[path],
    ]
    try:
        result = subprocess.run(
            command,
            cwd=workspace,
            capture_output=True,
            timeout=TIMEOUT_S,
            env={**__import__("os").environ, "PYTHONPATH": str(workspace)},
        )
    except subprocess.TimeoutExpired:
        return False  # a mutant that hangs the tests is caught by them
    return result.returncode == 0


def check(paths: list[str], workers: int) -> tuple[dict[str, tuple[int, list[Mutant]]], float]:
    started = time.monotonic()
    results: dict[str, tuple[int, list[Mutant]]] = {}
    with tempfile.TemporaryDirectory(prefix="cryptoj-mutation-") as tmp:
        spaces = list(workspaces(workers, Path(tmp)))
        for path in paths:
            original = (REPO / path).read_text()
            if not run_tests(spaces[0], path, mutated_source(None, path)):
                raise SystemExit(f"mutation check: the tests guarding {path} fail without any mutation")
            todo = mutants(path)
            print(f"{path}: {len(todo)} mutants", flush=True)

            def one(job: tuple[int, Mutant], path: str = path) -> tuple[Mutant, bool]:
                n, mutant = job
                return mutant, run_tests(spaces[n % workers], path, mutated_source(mutant, path))

            # Each workspace runs one mutant at a time: jobs are dealt out round-robin in batches.
            survivors: list[Mutant] = []
            with ThreadPoolExecutor(workers) as pool:
                for batch in range(0, len(todo), workers):
                    jobs = list(enumerate(todo[batch : batch + workers]))
                    for mutant, survived in pool.map(one, jobs):
                        mark = "SURVIVED" if survived else "killed"
                        print(f"  line {mutant.line:>4}  {mutant.change:<40} {mark}", flush=True)
                        if survived:
                            survivors.append(mutant)
            for space in spaces:
                (space / path).write_text(original)
            results[path] = (len(todo), survivors)
    return results, time.monotonic() - started


def section(results: dict[str, tuple[int, list[Mutant]]], seconds: float) -> str:
    lines = [
        "",
        "## Mutation check",
        "",
        "Written by `make mutation` (`tools/mutation_check.py`): each mutant changes one comparison,",
        "boolean or arithmetic operator, number, `not`, or returns None instead of a refusal; the tests",
        "guarding the file run against it. Survivors are listed so each can be judged: a missing test,",
        "or a change that makes no difference (equivalent).",
        "",
        "| file | mutants | killed | survived | score |",
        "|---|---:|---:|---:|---:|",
    ]
    for path, (total, survivors) in results.items():
        killed = total - len(survivors)
        equivalent = sum(1 for m in survivors if m.judgement)
        lines.append(
            f"| `{path}` | {total} | {killed} | {len(survivors)} ({equivalent} judged harmless) | "
            f"{killed / total * 100:.1f} % |"
        )
    lines += ["", f"Run time: {seconds:.0f} s.", ""]
    for path, (_, survivors) in results.items():
        if survivors:
            lines.append(f"Survivors in `{path}`:")
            lines += [
                f"- line {m.line}: {m.change}" + (f" — {m.judgement}" if m.judgement else " — **not judged yet**")
                for m in survivors
            ]
            lines.append("")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("paths", nargs="*", default=list(TARGETS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--write", type=Path, help="replace the mutation section of this markdown file")
    args = parser.parse_args()
    results, seconds = check(args.paths, args.workers)
    text = section(results, seconds)
    print(text)
    if args.write:
        old = args.write.read_text() if args.write.exists() else ""
        marker = old.find("\n## Mutation check")
        args.write.write_text((old[:marker] if marker >= 0 else old).rstrip("\n") + "\n" + text)
        print(f"wrote {args.write}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
