"""The risk screen: the trading state, large; every limit with its use as a bar; alert history."""

from __future__ import annotations

from collections.abc import Callable

from rich.style import Style
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from cryptoj_tui.bridge import RiskView
from cryptoj_tui.widgets.console_footer import ConsoleFooter
from cryptoj_tui.widgets.console_header import ConsoleHeader
from cryptoj_tui.widgets.halt_banner import HaltBanner
from cryptoj_tui.widgets.palette import SEVERITY_STYLES, themed

BAR_WIDTH = 30
STATE_CLASSES = {"ACTIVE": "-active", "REDUCING": "-reducing", "HALTED": "-halted"}
Styler = Callable[[str], Style | str]
"""Rich's colour words to a style: `themed` on screen, as they are elsewhere."""


def usage_bar(share: float | None, style: Styler = str) -> Text:
    """A bar for a limit's use: green, yellow from 80 %, red at the limit."""
    if share is None:
        return Text("checked on every order", style=style("dim"))
    filled = min(BAR_WIDTH, round(share * BAR_WIDTH))
    colour = style("red" if share >= 1 else "yellow" if share >= 0.8 else "green")
    return Text.assemble(("█" * filled, colour), ("░" * (BAR_WIDTH - filled), style("dim")), (f" {share:5.0%}", colour))


def limits_table(view: RiskView, style: Styler = str) -> Table:
    """Every limit: name, used / limit, the bar, what it does."""
    table = Table(box=None, padding=(0, 2), header_style="bold")
    for column in ("limit", "used", "of", "", "note"):
        table.add_column(column)
    for usage in view.usage:
        used = "—" if usage.used is None else f"{usage.used:.2f}" if isinstance(usage.used, float) else f"{usage.used}"
        table.add_row(usage.name, used, f"{usage.limit}", usage_bar(usage.share, style), Text(usage.note, style=style("dim")))
    return table


class RiskScreen(Screen[None]):
    """What may trade now, how close every limit is, and what has happened."""

    DEFAULT_CSS = """
    RiskScreen #state { height: 5; content-align: center middle; text-style: bold; margin: 1 2; }
    RiskScreen #state.-active { background: $success 30%; }
    RiskScreen #state.-reducing { background: $warning 40%; }
    RiskScreen #state.-halted { background: $error; }
    RiskScreen #limits, RiskScreen #history { padding: 0 2; height: auto; }
    RiskScreen .title { padding: 1 2 0 2; text-style: bold underline; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.view: RiskView | None = None

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        yield HaltBanner()
        with VerticalScroll():
            yield Static("no API key: nothing trades", id="state")
            yield Static("Limits", classes="title")
            yield Static("", id="limits")
            yield Static("Warnings, breaches and halts", classes="title")
            yield Static("none yet", id="history")
        yield ConsoleFooter()

    def on_mount(self) -> None:
        if self.view is not None:
            self.show(self.view)
        self.show_history()

    def on_screen_resume(self) -> None:
        self.show_history()

    def show(self, view: RiskView) -> None:
        """Take the latest copy of the trading state and limit usage."""
        self.view = view
        if not self.is_mounted or not self.query("#state"):
            return  # not composed yet (or already gone): on_mount catches up
        state = self.query_one("#state", Static)
        state.update(f"TRADING {view.state}" + (f"\n{view.reason}" if view.reason else ""))
        for cls in STATE_CLASSES.values():
            state.set_class(STATE_CLASSES.get(view.state) == cls, cls)
        self.query_one("#limits", Static).update(limits_table(view, lambda spec: themed(self.app, spec)))

    def show_history(self) -> None:
        """The alerts the app has seen, newest first."""
        if not self.is_mounted or not self.query("#history"):
            return
        alerts = list(getattr(self.app, "alerts", []))[-200:]
        if not alerts:
            return
        text = Text()
        for when, severity, message in reversed(alerts):
            text.append(f"{when}  {severity:<8} ", themed(self.app, "dim"))
            text.append(message + "\n", themed(self.app, SEVERITY_STYLES.get(severity, "")))
        self.query_one("#history", Static).update(text)
