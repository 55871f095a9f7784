"""The status line of every screen: trading state, connection, feed health, PnL and the UTC clock."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from rich.style import Style
from rich.text import Text
from textual.reactive import reactive
from textual.widget import Widget

from cryptoj_tui.engine.model import ConnectionState
from cryptoj_tui.formats import money, pnl_style
from cryptoj_tui.views import ConsoleStatus
from cryptoj_tui.widgets.palette import themed

STATE_STYLES = {
    ConnectionState.CONNECTED: "bold green",
    ConnectionState.CONNECTING: "yellow",
    ConnectionState.RECONNECTING: "bold yellow",
    ConnectionState.CLOSED: "bold red",
}


TRADING_STYLES = {"ACTIVE": "bold green", "REDUCING": "bold yellow", "HALTED": "bold white on red"}


class StatusBar(Widget):
    """One line of facts a trader checks at a glance, the most important first: a narrow
    terminal cuts the end of the line, never the trading state or the connection."""

    DEFAULT_CSS = """
    StatusBar {
        height: 1;
        background: $panel;
        color: $text;
        padding: 0 1;
    }
    """

    status: reactive[ConsoleStatus] = reactive(ConsoleStatus)
    now: reactive[str] = reactive("")

    def __init__(self, clock: Callable[[], datetime], *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._clock = clock

    def on_mount(self) -> None:
        self._tick()
        self.set_interval(1.0, self._tick)

    def _tick(self) -> None:
        self.now = self._clock().strftime("%H:%M:%S UTC")

    def render(self) -> Text:
        status = self.status
        dim = themed(self.app, "dim")

        def style(spec: str) -> Style:
            return themed(self.app, spec)

        # Each item whole or not at all: a narrow terminal drops the last ones, never half of one.
        items: list[Text] = []
        if status.replay:
            items.append(Text.assemble((" REPLAY ", style("bold reverse")), " ", (status.replay, style("bold"))))
        if status.trading_state:
            items.append(Text(status.trading_state, style(TRADING_STYLES.get(status.trading_state, "bold"))))
        items.append(Text(f"● {status.connection}", style(STATE_STYLES[status.connection])))
        if status.problem:
            items.append(Text(status.problem, style("bold red")))
        if status.pnl is not None:
            items.append(Text.assemble(("PnL ", dim), (money(status.pnl), style("bold " + pnl_style(status.pnl)))))
        items.append(Text.assemble(("venue ", dim), (status.venue, style("bold"))))
        items.append(Text.assemble(("gaps ", dim), (str(status.gaps), style("bold yellow" if status.gaps else ""))))
        items.append(
            Text.assemble(
                ("bad frames ", dim), (str(status.bad_frames), style("bold yellow" if status.bad_frames else ""))
            )
        )
        if status.frame_age is not None and not status.replay:  # a paused replay sends nothing, rightly
            # Heartbeats arrive every second: under two seconds is simply healthy.
            age = "<2 s" if status.frame_age < 2 else f"{status.frame_age:.0f} s ago"
            items.append(
                Text.assemble(("last frame ", dim), (age, style("" if status.frame_age < 2 else "bold yellow")))
            )
        if status.feed_latency_ms is not None and not status.replay:  # a recording's stamps are not now
            latency = status.feed_latency_ms
            # Below a millisecond (or below zero: the venue's clock runs ahead of ours) is noise.
            shown = "<1 ms" if latency < 1 else (f"{latency:.0f} ms" if latency < 1000 else f"{latency / 1000:.1f} s")
            items.append(Text.assemble(("latency ", dim), (shown, style("bold yellow" if latency >= 1000 else ""))))
        if status.round_trip_ms is not None:
            items.append(Text.assemble(("order rtt ", dim), f"{status.round_trip_ms:.1f} ms"))
        clock = Text(self.now, style="bold")
        room = self.size.width - clock.cell_len - 1
        text = Text()
        for item in items:
            gap = 2 if text.cell_len else 0
            if text.cell_len + gap + item.cell_len > room:
                break
            text.append(" " * gap)
            text.append_text(item)
        text.append(" " * max(1, self.size.width - text.cell_len - clock.cell_len))
        text.append_text(clock)
        return text
