"""The red banner that stays on every screen while trading is HALTED."""

from __future__ import annotations

from textual.widgets import Static


class HaltBanner(Static):
    """Shown (class `-halted`) while the app's trading state is HALTED."""

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

    def on_mount(self) -> None:
        self.watch(self.app, "trading_state", self._show, init=True)
        self.watch(self.app, "halt_reason", self._show, init=False)

    def _show(self, _: object = None) -> None:
        state = getattr(self.app, "trading_state", "")
        reason = getattr(self.app, "halt_reason", "")
        self.set_class(state == "HALTED", "-halted")
        self.update(f"TRADING HALTED — {reason} — new orders refused · ctrl+r re-arms")
