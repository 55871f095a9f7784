"""What every main screen has: the header, the HALTED banner, the status line and the footer.

The app hands each screen the console's status (`status`, a ConsoleStatus view); the banner and
the status line are bound to it, so every screen shows the trading state, the connection and the
account's PnL the same way, and none of them reads the app.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from textual import events, on
from textual.app import ComposeResult
from textual.reactive import Reactive, reactive
from textual.screen import Screen
from textual.widget import Widget

from cryptoj_tui.views import ConsoleStatus
from cryptoj_tui.widgets.console_footer import ConsoleFooter
from cryptoj_tui.widgets.console_header import ConsoleHeader
from cryptoj_tui.widgets.halt_banner import HaltBanner
from cryptoj_tui.widgets.status_bar import StatusBar


class ConsoleScreen(Screen[None]):
    """A main screen of the console; subclasses compose their body."""

    BLANK = True
    """The screen's own content is its background colour alone (no border, opaque): Textual then
    draws it as blank strips. Otherwise every full repaint (showing the screen, closing a dialog
    over it) renders 48 lines of background cell by cell, longer than any widget on it."""

    focused: Reactive[Widget | None] = Reactive(None, repaint=False)
    """Textual's, without its repaint of the whole screen: the widgets gaining and losing focus
    repaint themselves (their :focus styles), and the screen's own content is blank. Opening the
    order ticket (focus to its size field) composited every line of the screen again for it."""

    status: reactive[ConsoleStatus] = reactive(ConsoleStatus, init=False)
    """The console's status, as the app last saw it."""

    def __init__(self, clock: Callable[[], datetime]) -> None:
        super().__init__()
        self.clock = clock
        self._styled_for: int | None = None
        """The app's CSS generation this screen's styles were last applied for (on resume)."""

    @on(events.ScreenResume)
    def _restyle_only_if_css_changed(self, event: events.ScreenResume) -> None:
        # Runs before Textual's own handler (a subclass's on_screen_resume runs too), which
        # restyles every node of the screen on each switch to it: half of the switch's frame on
        # the watchlist, for styles that change only when the app's CSS does (a theme change
        # moves its generation on). Classes, focus and sizes that changed while the screen was
        # away restyled their nodes as they changed.
        # Textual's own counter, private: read directly, so a Textual without it fails every
        # switch test at once rather than restyling on every switch unnoticed.
        generation = self.app._css_update_count
        if generation == self._styled_for:
            event.refresh_styles = False
        self._styled_for = generation

    def compose(self) -> ComposeResult:
        yield ConsoleHeader()
        yield HaltBanner().data_bind(status=ConsoleScreen.status)
        yield from self.compose_body()
        yield StatusBar(self.clock, id="status").data_bind(status=ConsoleScreen.status)
        yield ConsoleFooter()
        yield from self.compose_overlays()

    def compose_body(self) -> ComposeResult:
        """The screen's own widgets, between the banner and the status line."""
        yield from ()

    def compose_overlays(self) -> ComposeResult:
        """Panels drawn over the body (the trading screen's order ticket)."""
        yield from ()

    def why_disabled(self, action: str) -> str | None:
        """What to tell a trader who presses a key that does nothing now (None: nothing to say)."""
        return None

    @property
    def halted(self) -> bool:
        """Whether trading is HALTED (as the status says)."""
        return self.status.trading_state == "HALTED"
