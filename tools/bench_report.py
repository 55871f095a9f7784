"""docs/performance.md and its plots, from the JSON of one `make bench` run.

    python tools/bench_report.py .benchmarks/latest.json docs/performance.md

Every figure is the run's own: the ratios to the same-run baselines, the targets of
benchmarks/thresholds.toml checked against them (the same code as the end of `make bench`),
the scaling curves, latency histograms and the soak's RSS over time. The prose around them
(method, bottlenecks and what was done) lives in this file, beside the numbers it explains.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.conftest import baselines, label, measure, verdicts_of

PLOTS = "performance"
"""Folder beside the report for its SVG plots."""


@dataclass(frozen=True)
class Curve:
    """A scaling curve: one engine figure per size, each with its baseline."""

    title: str
    pattern: str
    """Regex on benchmark names; group 1 is the size."""
    baseline_pattern: str
    x_label: str


CURVES = (
    Curve(
        "Applying 1000 one-level updates vs book depth",
        r"test_apply_vs_depth_order_book\[(\d+)\]",
        r"test_apply_vs_depth_baseline_sorteddict\[(\d+)\]",
        "levels in the book",
    ),
    Curve(
        "Kill switch: all confirmed cancelled vs open orders",
        r"test_kill_switch_engine\[(\d+)\]",
        r"test_kill_switch_baseline_bare_batch_cancel\[(\d+)\]",
        "open orders",
    ),
    Curve(
        "Decode + apply 1000 frames vs levels per frame",
        r"test_update_frames_decode_and_apply\[(\d+)\]",
        r"test_update_frames_baseline\[(\d+)\]",
        "levels per frame",
    ),
    Curve(
        "Pre-trade check vs working orders",
        r"test_precheck_engine\[(\d+)\]",
        r"test_precheck_baseline_risk_checks_alone\[(\d+)\]",
        "working orders",
    ),
)

HISTOGRAMS = (
    ("submit -> ack", "test_submit_to_ack_engine_place_limit", "test_submit_to_ack_baseline_bare_aiohttp_post"),
    ("cancel -> ack", "test_cancel_to_ack_engine_cancel", "test_cancel_to_ack_baseline_bare_aiohttp_post"),
    (
        "frame render, 160x48 under a flood",
        "test_frame_trading_screen_under_a_flood",
        "test_frame_baseline_minimal_app",
    ),
    ("keystroke -> order on the wire", "test_keystroke_to_wire_console", "test_keystroke_to_wire_baseline_minimal_app"),
)


def save(fig: Any, out: Path, name: str) -> None:
    """Write one plot and free it."""
    import matplotlib.pyplot as plt

    fig.tight_layout()
    fig.savefig(out / name, metadata={"Date": None})  # the same run gives the same file
    plt.close(fig)


def finish(fig: Any, ax: Any, title: str, out: Path, name: str) -> str:
    """Title and legend, write the plot; its markdown image line."""
    ax.set_title(title, fontsize=10)
    ax.legend()
    save(fig, out, name)
    return f"![{title}]({PLOTS}/{name})"


def load(path: Path) -> tuple[dict[str, Any], list[Any]]:
    raw = json.loads(path.read_text())
    benches = []
    for b in raw["benchmarks"]:
        stats = b["stats"]
        data = stats.get("data") or []
        benches.append(
            SimpleNamespace(
                name=b["name"],
                group=b["group"],
                extra_info=b.get("extra_info", {}),
                stats=SimpleNamespace(median=stats["median"], data=data),
            )
        )
    return raw, benches


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:.3f} ms" if seconds < 1 else f"{seconds:.2f} s"


def results_table(benches: list[Any]) -> list[str]:
    by_group = baselines(benches)
    lines = ["| group | measured (median) | baseline (median) | ratio | p99 ratio |", "|---|---:|---:|---:|---:|"]
    for bench in sorted(benches, key=lambda b: (b.group or b.name, b.name)):
        base = by_group.get(bench.group or bench.name)
        if base is None or base is bench or not bench.stats.data:
            continue
        lines.append(
            f"| {label(bench, benches)} | {ms(bench.stats.median)} | {ms(base.stats.median)} | "
            f"{measure(bench, base, 'median_ratio'):.2f} | {measure(bench, base, 'p99_ratio'):.2f} |"
        )
    return lines


def targets_table(benches: list[Any]) -> tuple[list[str], int]:
    lines = ["| issue | target | measure | measured | bound | result |", "|---|---|---|---:|---:|---|"]
    missed = 0
    for v in verdicts_of(benches):
        result = "not run" if v.value is None else ("**missed**" if v.missed else "met")
        missed += v.missed
        value = "—" if v.value is None else f"{v.value:.2f}"
        lines.append(f"| #{v.issue} | {v.what} | `{v.measure}` | {value} | {v.bound} | {result} |")
    return lines, missed


def extras_table(benches: list[Any]) -> list[str]:
    lines = ["| benchmark | figure | value |", "|---|---|---:|"]
    for bench in benches:
        for name, value in sorted(bench.extra_info.items()):
            if name == "role" or isinstance(value, list):
                continue
            lines.append(
                f"| `{bench.name}` | {name} | {value:.1f} |"
                if isinstance(value, float)
                else f"| `{bench.name}` | {name} | {value} |"
            )
    return lines


def plot_curves(benches: list[Any], out: Path) -> list[str]:
    import matplotlib.pyplot as plt

    made = []
    for n, curve in enumerate(CURVES):
        points = {}
        for bench in benches:
            for pattern, role in ((curve.pattern, "engine"), (curve.baseline_pattern, "baseline")):
                found = re.fullmatch(pattern, bench.name)
                if found:
                    points.setdefault(role, []).append((int(found.group(1)), bench.stats.median * 1e3))
        if not points.get("engine"):
            continue
        fig, ax = plt.subplots(figsize=(6.4, 3.6))
        for role, style in (("engine", "o-"), ("baseline", "s--")):
            xy = sorted(points.get(role, []))
            if xy:
                ax.plot([x for x, _ in xy], [y for _, y in xy], style, label=role)
        ax.set_xscale("log")
        ax.set_xlabel(curve.x_label)
        ax.set_ylabel("median, ms")
        ax.grid(True, alpha=0.3)
        made.append(finish(fig, ax, curve.title, out, f"scaling-{n + 1}.svg"))
    return made


def plot_histograms(benches: list[Any], out: Path) -> list[str]:
    import matplotlib.pyplot as plt

    by_name = {b.name: b for b in benches}
    made = []
    for n, (title, engine, baseline) in enumerate(HISTOGRAMS):
        if engine not in by_name or not by_name[engine].stats.data:
            continue
        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        for name, series in ((baseline, "baseline"), (engine, "ours")):
            if name in by_name and by_name[name].stats.data:
                ax.hist([s * 1e3 for s in by_name[name].stats.data], bins=40, alpha=0.6, label=series)
        ax.set_xlabel("ms")
        ax.set_ylabel("samples")
        made.append(finish(fig, ax, title, out, f"latency-{n + 1}.svg"))
    return made


def plot_load(benches: list[Any], out: Path) -> list[str]:
    import matplotlib.pyplot as plt

    series: dict[str, list[tuple[int, float, float]]] = {}
    for bench in benches:
        found = re.fullmatch(r"test_load_50_products\[(\d+)-(\w+)\]", bench.name)
        if found and "cpu_percent" in bench.extra_info:
            role = "bare reader (baseline)" if found.group(2).startswith("baseline") else "engine"
            series.setdefault(role, []).append(
                (int(found.group(1)), bench.extra_info["cpu_percent"], bench.extra_info.get("p99_ms", 0.0))
            )
    if not series:
        return []
    fig, (cpu_ax, latency_ax) = plt.subplots(1, 2, figsize=(9.6, 3.4))
    for role, points in sorted(series.items()):
        points.sort()
        rates = [r for r, _, _ in points]
        cpu_ax.plot(rates, [c for _, c, _ in points], "o-", label=role)
        latency_ax.plot(rates, [p for _, _, p in points], "o-", label=role)
    cpu_ax.set_title("CPU of the reader's process", fontsize=10)
    cpu_ax.set_ylabel("CPU %")
    latency_ax.set_title("feed latency p99", fontsize=10)
    latency_ax.set_ylabel("ms")
    for ax in (cpu_ax, latency_ax):
        ax.set_xlabel("frames/s over 50 products")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8)
    save(fig, out, "load.svg")
    return ["![CPU and latency vs load](performance/load.svg)"]


def plot_products(benches: list[Any], out: Path) -> list[str]:
    import matplotlib.pyplot as plt

    points = sorted(
        (b.extra_info["products"], b.extra_info["cpu_percent"], b.extra_info["rss_mb"], b.extra_info.get("p99_ms", 0.0))
        for b in benches
        if b.name.startswith("test_load_scaling_with_products") and "products" in b.extra_info
    )
    if not points:
        return []
    fig, axes = plt.subplots(1, 3, figsize=(9.6, 3.0))
    for ax, column, title in zip(axes, (1, 2, 3), ("CPU %", "RSS, MiB", "feed latency p99, ms"), strict=True):
        ax.plot([p[0] for p in points], [p[column] for p in points], "o-")
        ax.set_xlabel("products (5k frames/s in all)")
        ax.set_title(title, fontsize=10)
        ax.set_ylim(bottom=0)
        ax.grid(True, alpha=0.3)
    save(fig, out, "products.svg")
    return ["![The engine at 5k frames/s over 1, 10 and 50 products](performance/products.svg)"]


def plot_rss(benches: list[Any], out: Path) -> list[str]:
    import matplotlib.pyplot as plt

    soak = next((b for b in benches if "rss_mb_each_second" in b.extra_info), None)
    if soak is None:
        return []
    rss = soak.extra_info["rss_mb_each_second"]
    fig, ax = plt.subplots(figsize=(6.4, 3.2))
    ax.plot(range(1, len(rss) + 1), rss)
    ax.set_ylim(0, max(rss) * 1.2)
    ax.set_xlabel("seconds")
    ax.set_ylabel("engine RSS, MiB")
    ax.set_title("Engine RSS under a steady 1k frames/s feed", fontsize=10)
    ax.grid(True, alpha=0.3)
    save(fig, out, "rss.svg")
    return [f"![Engine RSS over time]({PLOTS}/rss.svg)"]


def report(raw: dict[str, Any], benches: list[Any], out: Path) -> tuple[str, int]:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "cryptoj"  # the same run gives the same SVG bytes
    plots = out.parent / PLOTS
    plots.mkdir(exist_ok=True)
    machine = raw.get("machine_info", {})
    targets, missed = targets_table(benches)
    text = [
        "# Performance",
        "",
        "Generated by `make bench-report` from one `make bench` run; do not edit by hand (the prose lives",
        "in `tools/bench_report.py`).",
        "",
        "## Method",
        "",
        "Every figure is measured beside a baseline that does the least possible version of the same",
        "job, in the same run, and reported as a ratio: msgspec decoding the same bytes; the same",
        "changes written straight into SortedDicts; a bare aiohttp POST of the same order (and of the",
        "same cancel) to the same venue; bare `batch_cancel` calls for the kill switch; a bare",
        "websockets connect and snapshot for reconnects; a minimal Line-API widget or a minimal Textual",
        "app for the console. Absolute times on a shared machine drift by a factor of two from run to",
        "run; ratios drift much less. Where an issue names an absolute time, the target is checked as",
        "such and the baseline's own time is shown beside it. Submit -> ack takes its samples in turn,",
        "a bare POST then an engine order and again, so a change of the machine's speed during the run",
        "weighs on both series alike.",
        "",
        "A peer library doing the same job is measured beside ours on the same input: cryptofeed's",
        "Coinbase Advanced Trade handler on the same level2 update frames and the same seeded book",
        "(rows marked peer). It parses prices into Decimal keys of its C order book and checks no",
        "price or size; ours validates every level and keeps integer ticks.",
        "",
        "The venue runs in its own process for every benchmark that talks to it, as a real exchange",
        "is remote (on a thread it would take the measured process's GIL to match and to read each",
        "order); the reconnect benchmark asks it to drop its WebSockets over its fault-injection",
        "endpoint. The console is measured with its journal on disk, as against an external venue",
        "(the embedded paper venue's lives in memory), and its garbage collector tuned as `make run`",
        "tunes it. Memory is read with psutil from outside the engine's process.",
        "",
        f"Machine: {machine.get('cpu', {}).get('brand_raw', machine.get('processor', '?'))}, "
        f"{machine.get('cpu', {}).get('count', '?')} CPUs, Python {machine.get('python_version', '?')} "
        f"({machine.get('python_implementation', '?')}), {machine.get('system', '?')} {machine.get('release', '')}; "
        f"run at {raw.get('datetime', '?')}.",
        "",
        "## Targets",
        "",
        *targets,
        "",
        f"{missed} target(s) missed in this run." if missed else "Every target met in this run.",
        "",
        "## Results: ratios to the same-run baselines",
        "",
        *results_table(benches),
        "",
        "## Other figures the benchmarks record",
        "",
        *extras_table(benches),
        "",
        "## Throughput vs load",
        "",
        "1k, 5k and 10k one-level frames a second spread over 50 products, read for a fixed time by the",
        "engine and by a bare reader (websockets + msgspec decoding, nothing else), each in its own",
        "process; CPU and RSS measured with psutil from the load generator's process.",
        "",
        *[line for image in plot_load(benches, plots) for line in (image, "")],
        *[line for image in plot_products(benches, plots) for line in (image, "")],
        "## Scaling",
        "",
        *[line for image in plot_curves(benches, plots) for line in (image, "")],
        "## Latency distributions",
        "",
        *[line for image in plot_histograms(benches, plots) for line in (image, "")],
        "## Memory over time",
        "",
        *[line for image in plot_rss(benches, plots) for line in (image, "")],
        "## Bottlenecks found and what was done",
        "",
        "- **Ladder render (2.4x a minimal Line-API widget, now about 1.3x).** Rows became NamedTuples",
        "  hashed in C, styles are cached per row kind, prices are formatted once per price, changed",
        "  lines are refreshed in one call, no empty segments are emitted. Since the ladder draws its",
        "  own frame (below) a new row's strip carries the frame's two sides: 1.25-1.30x -> 1.30-1.35x.",
        "- **Frames under a flood (p99 62 ms at first, 7.6-12 ms before the frames below, now 4.8-6.5",
        "  ms; the target is 8 ms).** Book views",
        "  are copied on the engine loop at most once a frame instead of once per update; the tape keeps",
        "  each trade's strip; the chart draws its lines once per change. Then every frame over 10 ms",
        "  turned out to have a garbage collection inside it: full collections of 25 ms and more, and",
        "  5-10 ms ones from a young generation enlarged to 20000. The console now freezes its start-up",
        "  heap once the first book is live, keeps Python's small young thresholds (0.06 ms and 1.3 ms",
        "  collections) and runs the full collection on its own one-minute timer. Under the flood the",
        "  ladder re-centres and the tape scrolls on every frame, so both repaint all of their ~40",
        "  lines each frame, and most of a frame is Textual's per-line work on those ~90 lines, not",
        "  our render_line. Measured by switching parts off: Textual's ANSI-to-truecolour line filter",
        "  was about a quarter of a frame; our widgets now draw in theme colours only and the app runs",
        "  without it (median 7.6 -> 6.0-6.4 ms). Then the tail: every frame over 8.5 ms still had a",
        "  collection of the middle GC generation inside it (2-3 ms under the flood); the console now",
        "  runs those itself from a timer between frames, as often as Python would (slow frames per",
        "  8 s flood 12-29 -> 1-17 in side-by-side runs). The panels' side borders were most of what",
        "  was left: per widget, the tape cost 46 us and the ladder 28 us for each line repainted, of",
        "  which Textual's CSS border (both side cells' colours blended and styled again on every line)",
        "  was about 20 us. The ladder, the tape and the chart now draw the same rounded frame",
        "  themselves, kept inside each line's cached strip (`FramedLines`; the snapshots look the",
        "  same): median 5.3 -> 3.4 ms, p99 7.9-9.4 -> 4.8-5.1 ms side by side.",
        "- **Key -> ticket on screen (median 45 ms and p99 90-100 ms with the ticket as a modal screen;",
        "  now median about 12 ms, p99 about 43 ms; the target is 50 ms p99).** Profiling an open and",
        "  close showed three costs: Textual's Footer recomposes a widget per key at every focus change",
        "  (2,273 restyles in 60 opens), a modal re-renders the dimmed screen under it on every frame",
        "  the book moves, and push/pop restyle the whole screen below. The ticket is now a panel of",
        "  the trading screen, composed once and shown over its right pane (the ladder stays live",
        "  beside it), and the footer is one widget drawing one line. Under the profiler an open went",
        "  from ~275 ms to ~28 ms. Switching screens (keys 2-6) lost the footer's cost too: median",
        "  8-23 ms from the key to the first frame, was 45-90 ms (a minimal app: 4 ms).",
        "- **Keystroke -> order on the wire (p99 4.2-7.8 ms across runs on this machine; the target is",
        "  5 ms).** It is timed to the order's HTTP request written to the socket, with the venue in",
        "  its own process (before, the probe sat in a venue thread behind its JWT check, and that",
        "  thread took the console's GIL to read each order: 2.3 ms of a 3.8 ms median). The console",
        "  is now measured with its journal on disk as against an external venue, so the intent's fsync is in",
        "  the path (on this disk 0.3 ms at the median, over 1 ms at p99; inside the console, with",
        "  the UI thread beside it, about 1 ms at the median): p99 went from 4-5 to 6.1-6.7 ms. Timing",
        "  each step then showed the UI thread in the way: `enter` started a worker (messages and a",
        "  task) before handing over the order; the ticket's 'sending...' line laid the whole screen",
        "  out again (3-5 ms of the GIL the engine thread needed for the order); and on Python 3.11",
        "  aiohttp writes a request from a task of its own, queued behind the bridge's copy of the",
        "  book and its wake-up of the UI for the order's first update. The ticket now hands the order",
        "  over from the key handler, repaints nothing until the answer ('sending...' shows in its",
        "  border only after 50 ms), and the bridge posts order updates a loop turn later; the journal",
        "  keeps a FULL and a NORMAL connection instead of switching one with PRAGMAs. Same-session",
        "  runs: p99 6.1-6.7 -> 4.2-4.5 ms, median 3.3-3.8 -> 2.8 ms; later runs on the same code",
        "  measured 5-7.8 ms p99 as the machine got noisier (baselines 1.4-1.6x slower too). Timing",
        "  each step once more (5.3-5.9 ms p99 at that point) showed a collection of the middle GC",
        "  generation (1.2 ms, the console's own timer, waiting behind the ticket's preview) between",
        "  the key and its handler in 30 % of the orders, holding the GIL while the order went out:",
        "  the console now runs no collection while an order ticket is open or a command from the UI",
        "  is on the engine thread (a collection deferred ten times its interval runs anyway). The",
        "  order's JWT is signed ahead while the client is idle (below), and the journal's WAL is",
        "  folded back every second on a worker thread, never inside an intent's commit (SQLite ran",
        "  its automatic checkpoint, a copy and an fsync of the database file, inside whichever",
        "  commit filled the WAL). p99 5.3-5.9 -> 3.1-3.6 ms, median 2.6 -> 2.2-2.4 ms. The intent's",
        "  fsync then left the order's path (a group commit, see submit -> ack below); what is left",
        "  is the GIL shared with the UI thread.",
        "- **Decode + apply of one-level frames (3.1x msgspec decoding alone, now 2.7-2.8x; the target",
        "  is 3x).** Decoding goes straight into msgspec Structs and prices become integer ticks once.",
        "  Scaling a Decimal price to an int tick (multiply, exactness check, int()) was most of each",
        "  level's check; the book now works a price's tick out exactly once per grid and then looks",
        "  it up by the price's text (a Decimal's text names its value exactly), forgetting them when",
        "  the grid gets finer and starting again past 65,536 prices. The rest is Decimal",
        "  construction in msgspec. The same frames through cryptofeed's Coinbase handler take about",
        "  twice as long at one level per frame and 1.1-1.4x as long at 5 and 50 levels, without any",
        "  checks.",
        "- **Submit -> ack (1.5-1.6x a bare POST at the median, now 1.05-1.1x; the target is 1.3x).**",
        "  Each pre-trade check summed the working orders (O(working orders): 2 ms per order with 900",
        "  working); it now reads running totals (the pre-trade check curve: flat at 10, 100 and 1000",
        "  working orders). The benchmark's venue moved to its own process, and the orders go one at a",
        "  time with the loop running between them (it used to stop between rounds, charging one",
        "  order's aftermath to the next). The order's JWT (an ECDSA signature, 0.15 ms) is signed",
        "  ahead, while the REST client is idle, for the next order and the next cancel: each token is",
        "  still used for one request only, and only while younger than 30 s (renewed every 15 s while",
        "  unused). What was left was the intent's fsync before the order left: 0.4 ms at the median in",
        "  the engine. On this VM's disk a 4 KB write and fdatasync alone takes 0.13 ms back to back and",
        "  0.25 ms with a few milliseconds between them, as orders come, so no design that flushes",
        "  before sending meets 1.3x of a 1.0-1.1 ms loopback POST. Intents are now a group commit",
        "  (engine/group_commit.py): the intent is written into the WAL before the order is sent, so a",
        "  killed process keeps it, and one fdatasync on a worker thread, 2 ms after the first intent",
        "  of a window, makes every intent of the window survive a power cut. Where the flush runs,",
        "  measured side by side: before the send 1.47x; on a thread at once, beside the send, 1.37x",
        "  (the send took 1.42 ms instead of 1.0 while the disk flushed: on this 2-core VM a flush",
        "  slows the loopback round trip); after a 2, 10 or 50 ms window 1.18x, 1.15x, 1.15x. Two",
        "  milliseconds are enough for the order to be on the wire first (it leaves within a loop",
        "  turn or two); on loopback the flush then comes after the venue's answer, and in the",
        "  console it is over long before the next keystroke (keystroke -> wire p99 2.6-4.9 ms with",
        "  10 ms, when a flush could meet the next order, 2.7-3.1 ms with 2 ms). The",
        "  price: a power cut can take back the intents of the last window (plus one flush). Their",
        "  orders may be at the venue; the next start finds them open there and tracks them, so the",
        "  kill switch still cancels them (tested). `intent_sync_window=0` keeps the flush before the",
        "  send; its row above ('each intent fsynced before the send') is measured after the pair, one",
        "  order at a time. The journal's index on orders.status, which no query read, is gone (one",
        "  page less written by every intent and every order update). Then the samples: run after",
        "  run, the two series were taken one after the other, and one full run had the engine's alone",
        "  slowed by 0.3 ms for its last 160 orders (1.52x, where the run before and after measured",
        "  1.16-1.2x). They are now taken in turn, a bare POST then an engine order, the bare POSTs on",
        "  an event loop of their own while the engine's is stopped and its flush done, so none of the",
        "  engine's work is charged to them. The baseline then measures 0.1 ms slower than alone: the",
        "  venue now also sends its book update to the engine's subscription, and each series runs",
        "  with the other's code between its samples, as the engine's always did. Cancel -> ack placed",
        "  its order with the loop stopped right before the timed cancel, which charged the",
        "  placement's aftermath to the cancel: with the group commit its flush too (1.7x where it",
        "  had been 1.15x). The loop now runs for the same pause after each placement, bare or engine.",
        "",
    ]
    return "\n".join(text), missed


def main() -> int:
    source, target = Path(sys.argv[1]), Path(sys.argv[2])
    raw, benches = load(source)
    text, _ = report(raw, benches, target)
    target.write_text(text)
    print(f"wrote {target} and {target.parent / PLOTS}/*.svg")
    return 0


if __name__ == "__main__":
    sys.exit(main())
