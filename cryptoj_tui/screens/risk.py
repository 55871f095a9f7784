"""The risk screen: the trading state, large; every limit with its use as a bar; alert history."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Static

from cryptoj_tui.formats import quote
from cryptoj_tui.screens.base import ConsoleScreen
from cryptoj_tui.views import RiskView
from cryptoj_tui.widgets.palette import SEVERITY_STYLES, themed

BAR_WIDTH = 30
STATE_CLASSES = {"ACTIVE": "-active", "REDUCING": "-reducing", "HALTED": "-halted"}
Styler = Callable[[str], Style | str]
"""Rich's colour words to a style: `themed` on screen, as they are elsewhere."""


NARROW_BAR_WIDTH = 10
WIDE_FROM = 120
"""Columns from which the limits table has full bars and its notes."""


def usage_bar(share: float | None, style: Styler = str, width: int = BAR_WIDTH) -> Text:
    """A bar for a limit's use: green, yellow from 80 %, red at the limit."""
    if share is None:
        return Text("per order" if width < BAR_WIDTH else "checked on every order", style=style("dim"))
    filled = min(width, round(share * width))
    colour = style("red" if share >= 1 else "yellow" if share >= 0.8 else "green")
    return Text.assemble(("█" * filled, colour), ("░" * (width - filled), style("dim")), (f" {share:5.0%}", colour))


def limit_value(value: Decimal | float | int, unit: str) -> str:
    """A limit or its use as a trader reads it: money to the cent, sizes without trailing zeros,
    seconds to a tenth, percent with its sign, counts whole."""
    if unit == "quote":
        return quote(Decimal(str(value)))
    if unit == "base":
        return f"{Decimal(str(value)).normalize():f}"
    if unit == "seconds":
        return f"{float(value):.1f} s"
    if unit == "percent":
        return f"{Decimal(str(value)).normalize():f} %"
    return f"{value}"


def limits_table(view: RiskView, style: Styler = str, *, wide: bool = True) -> Table:
    """Every limit: name, used / limit, the bar, what it does (narrow: a short bar, no notes)."""
    table = Table(box=None, padding=(0, 2 if wide else 1), header_style="bold")
    for column in ("limit", "used", "of", "", "note") if wide else ("limit", "used", "of", ""):
        table.add_column(column, no_wrap=True)
    for usage in view.usage:
        used = "—" if usage.used is None else limit_value(usage.used, usage.unit)
        cells: list[str | Text] = [
            usage.name,
            used,
            limit_value(usage.limit, usage.unit),
            usage_bar(usage.share, style, BAR_WIDTH if wide else NARROW_BAR_WIDTH),
        ]
        table.add_row(*cells, *([Text(usage.note, style=style("dim"))] if wide else []))
    return table


class RiskScreen(ConsoleScreen):
    """What may trade now, how close every limit is, and what has happened."""

    DEFAULT_CSS = """
    RiskScreen #state { height: 5; content-align: center middle; text-style: bold; margin: 1 2; }
    RiskScreen.-narrow #state { height: 3; margin: 0 1; }
    RiskScreen.-narrow .title { padding: 0 1; }
    RiskScreen.-narrow #limits, RiskScreen.-narrow #history { padding: 0 1; }
    RiskScreen #state.-active { background: $success 30%; }
    RiskScreen #state.-reducing { background: $warning 40%; }
    RiskScreen #state.-halted { background: $error; }
    RiskScreen #limits, RiskScreen #history { padding: 0 2; height: auto; }
    RiskScreen .title { padding: 1 2 0 2; text-style: bold underline; }
    """

    view: RiskView | None = None
    alerts: tuple[tuple[str, str, str], ...] = ()

    def compose_body(self) -> ComposeResult:
        with VerticalScroll():
            yield Static("no API key: nothing trades", id="state")
            yield Static("Limits", classes="title")
            yield Static("", id="limits")
            yield Static("Warnings, breaches and halts", classes="title")
            yield Static("none yet", id="history")

    def on_mount(self) -> None:
        if self.view is not None:
            self.show(self.view)
        self.show_history(self.alerts)

    def show(self, view: RiskView) -> None:
        """Take the latest copy of the trading state and limit usage."""
        self.view = view
        if not self.query("#state"):
            return  # not composed yet (or already gone): on_mount catches up
        state = self.query_one("#state", Static)
        state.update(f"TRADING {view.state}" + (f"\n{view.reason}" if view.reason else ""))
        for cls in STATE_CLASSES.values():
            state.set_class(STATE_CLASSES.get(view.state) == cls, cls)
        self.query_one("#limits", Static).update(
            limits_table(view, lambda spec: themed(self.app, spec), wide=self.size.width >= WIDE_FROM)
        )

    def on_resize(self) -> None:
        if self.view is not None:
            self.show(self.view)

    def show_history(self, alerts: tuple[tuple[str, str, str], ...]) -> None:
        """The alerts the console has seen, (time, severity, message) oldest first; newest shown first."""
        self.alerts = alerts
        if not alerts or not self.query("#history"):
            return
        text = Text()
        for when, severity, message in reversed(alerts[-200:]):
            text.append(f"{when}  {severity:<8} ", themed(self.app, "dim"))
            text.append(message + "\n", themed(self.app, SEVERITY_STYLES.get(severity, "")))
        self.query_one("#history", Static).update(text)
