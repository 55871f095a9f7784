"""The status bar: venue, connection state, feed health and the UTC clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from cryptoj_tui.engine.model import ConnectionState
from cryptoj_tui.widgets.palette import themed

STATE_STYLES = {
    ConnectionState.CONNECTED: "bold green",
    ConnectionState.CONNECTING: "yellow",
    ConnectionState.RECONNECTING: "bold yellow",
    ConnectionState.CLOSED: "bold red",
}


TRADING_STYLES = {"ACTIVE": "bold green", "REDUCING": "bold yellow", "HALTED": "bold white on red"}


class StatusBar(Widget):
    """One line of facts a trader checks at a glance."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    connection: reactive[ConnectionState] = reactive(ConnectionState.CONNECTING)
    gaps: reactive[int] = reactive(0)
    bad_frames: reactive[int] = reactive(0)
    now: reactive[str] = reactive("")
    trading_state: reactive[str] = reactive("")
    round_trip_ms: reactive[float | None] = reactive(None)
    """The last order's send -> ack time."""
    frame_age: reactive[float | None] = reactive(None)
    """Seconds since the last market data frame."""
    feed_latency_ms: reactive[float | None] = reactive(None)
    """The venue's stamp on the last frame to its arrival here (clock skew included)."""

    def __init__(self, venue: str, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.venue = venue
        self._clock = clock

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        self.now = self._clock().strftime("%H:%M:%S UTC")

    def render(self) -> Text:
        # Most important first: a narrow terminal cuts the end of the line, not the state.
        text = Text()
        dim = themed(self.app, "dim")

        def style(spec: str) -> Style:
            return themed(self.app, spec)

        if self.trading_state:
            text.append(self.trading_state, style(TRADING_STYLES.get(self.trading_state, "bold")))
            text.append("  ")
        text.append(f"● {self.connection}", style(STATE_STYLES[self.connection]))
        text.append("  venue ", dim)
        text.append(self.venue, style("bold"))
        text.append("  gaps ", dim)
        text.append(str(self.gaps), style("bold yellow" if self.gaps else ""))
        text.append("  bad frames ", dim)
        text.append(str(self.bad_frames), style("bold yellow" if self.bad_frames else ""))
        if self.frame_age is not None:
            text.append("  last frame ", dim)
            # Heartbeats arrive every second: under two seconds is simply healthy.
            text.append("<2 s" if self.frame_age < 2 else f"{self.frame_age:.0f} s ago", style("" if self.frame_age < 2 else "bold yellow"))
        if self.feed_latency_ms is not None:
            text.append("  latency ", dim)
            latency = self.feed_latency_ms
            # Below a millisecond (or below zero: the venue's clock runs ahead of ours) is noise.
            text.append("<1 ms" if latency < 1 else (f"{latency:.0f} ms" if latency < 1000 else f"{latency / 1000:.1f} s"),
                        style("bold yellow" if latency >= 1000 else ""))
        if self.round_trip_ms is not None:
            text.append("  order rtt ", dim)
            text.append(f"{self.round_trip_ms:.1f} ms")
        clock = Text(self.now, style="bold")
        room = self.size.width - clock.cell_len - 1
        if text.cell_len > room:
            text.truncate(max(0, room))
        text.append(" " * max(1, self.size.width - text.cell_len - clock.cell_len))
        text.append_text(clock)
        return text
