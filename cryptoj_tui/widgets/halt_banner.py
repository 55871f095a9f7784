"""The red banner that stays on every screen while trading is HALTED."""

from __future__ import annotations

from textual.events import Resize
from textual.reactive import reactive
from textual.widgets import Static

from cryptoj_tui.views import ConsoleStatus


def banner_text(reason: str, rearm_key: str, width: int) -> str:
    """The banner's words for `width` columns: all of them where they fit; else the reason is
    shortened, and "new orders refused" goes before the re-arm key does."""
    full = f"TRADING HALTED — {reason} — new orders refused · {rearm_key} re-arms"
    if len(full) <= width:
        return full
    tail = f" — {rearm_key} re-arms"
    room = width - len("HALTED — ") - len(tail)
    if room < 8:
        return f"HALTED · {rearm_key} re-arms"[:width]
    short = reason if len(reason) <= room else reason[: room - 1] + "…"
    return f"HALTED — {short}{tail}"


class HaltBanner(Static):
    """Shown (class `-halted`) while the status says HALTED."""

    DEFAULT_CSS = """
    HaltBanner {
        display: none;
        height: 1;
        width: 1fr;
        background: $error;
        color: $text;
        text-style: bold;
        content-align: center middle;
    }
    HaltBanner.-halted { display: block; }
    """

    status: reactive[ConsoleStatus] = reactive(ConsoleStatus)

    def watch_status(self, status: ConsoleStatus) -> None:
        self.set_class(status.trading_state == "HALTED", "-halted")
        self._show()

    def on_resize(self, _: Resize) -> None:
        self._show()

    def _show(self) -> None:
        if self.has_class("-halted"):
            self.update(banner_text(self.status.halt_reason, self.status.rearm_key, self.size.width or 80))
