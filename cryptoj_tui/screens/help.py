"""The help screen, made from the live bindings (so it cannot drift from what the keys do)."""

from __future__ import annotations

from rich.style import Style
from rich.table import Table
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Static

from cryptoj_tui.screens.modals import ConfirmScreen, KillReportScreen
from cryptoj_tui.widgets.console_footer import ConsoleFooter
from cryptoj_tui.widgets.console_header import ConsoleHeader
from cryptoj_tui.widgets.order_ticket import OrderTicket
from cryptoj_tui.widgets.palette import themed


def binding_table(sections: list[tuple[str, list[tuple[str, str]]]], key_style: Style | str = "bold cyan") -> Table:
    """A two-column table of keys and what they do, one section per screen."""
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column(style=key_style, no_wrap=True)
    table.add_column()
    for title, rows in sections:
        table.add_row(f"[b u]{title}[/]", "")
        for key, description in rows:
            table.add_row(key, description)
        table.add_row("", "")
    return table


class HelpScreen(Screen[None]):
    """Every key of every screen, from the bindings themselves."""

    DEFAULT_CSS = """
    HelpScreen #keys { height: 1fr; }
    HelpScreen #keys Static { width: 1fr; height: auto; padding: 1 2; }
    """

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        sections = self.sections()
        # Two columns, split where half the rows are, so every key fits 48 lines (it scrolls below).
        sizes = [len(rows) + 2 for _, rows in sections]
        half = next(n for n in range(len(sections) + 1) if sum(sizes[:n]) >= sum(sizes) / 2)
        with VerticalScroll(id="keys"), Horizontal():
            key_style = themed(self.app, "bold cyan")
            yield Static(binding_table(sections[:half], key_style))
            yield Static(binding_table(sections[half:], key_style))
        yield ConsoleFooter()

    def sections(self) -> list[tuple[str, list[tuple[str, str]]]]:
        """(screen title, [(keys, description)]) for the app and each main screen."""
        app = self.app
        screens: list[tuple[str, type]] = [("Everywhere", type(app))]
        for name in ("trading", "orders", "positions", "journal"):
            screen = app.get_screen(name) if name in getattr(app, "_installed_screens", {}) else None
            if screen is not None:
                screens.append((name.capitalize(), type(screen)))
                if name == "trading":
                    screens.append(("Order ticket", OrderTicket))
        screens += [("Questions (flatten, re-arm, quit)", ConfirmScreen), ("Kill switch report", KillReportScreen)]
        sections = []
        for title, owner in screens:
            rows = []
            keymap = getattr(app, "keymap", {})
            for binding in getattr(owner, "BINDINGS", []):
                keys = keymap.get(binding.id, binding.key)  # type: ignore[union-attr]
                rows.append((", ".join(k.strip() for k in keys.split(",")), binding.description))  # type: ignore[union-attr]
            sections.append((title, rows))
        return sections
