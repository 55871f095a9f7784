"""The alerts feed: warnings, breaches and halts as they happen, newest on top."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

from cryptoj_tui.widgets.palette import SEVERITY_STYLES, themed


class AlertsFeed(Static):
    """The latest alerts from the app's alert history."""

    DEFAULT_CSS = """
    AlertsFeed { width: 1fr; height: 1fr; background: $surface; border: round $primary 50%; padding: 0 1; }
    """

    def on_mount(self) -> None:
        self.border_title = "alerts"
        self.show([])

    def show(self, alerts: list[tuple[str, str, str]]) -> None:
        """(time, severity, message), oldest first."""
        if not alerts:
            self.update(Text("no alerts", style=themed(self.app, "dim")))
            return
        text = Text()
        for when, severity, message in reversed(alerts[-50:]):
            text.append(f"{when} ", themed(self.app, "dim"))
            text.append(message + "\n", themed(self.app, SEVERITY_STYLES.get(severity, "")))
        self.update(text)
