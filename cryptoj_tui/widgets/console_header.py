"""The header of every screen: Textual's, with title updates that survive the screen's teardown."""

from __future__ import annotations

from textual.dom import NoScreen
from textual.events import Mount
from textual.widgets import Header
from textual.widgets._header import HeaderTitle


class ConsoleHeader(Header):
    """Textual's Header, whose title updates are dropped once its title widget is gone.

    The app's sub-title follows the connection state, which the engine changes from its own
    thread; a change queued just as the screens come apart (quitting) reached Header's own
    watcher after its children were removed, and Textual raised NoMatches.
    """

    def _on_mount(self, event: Mount) -> None:
        event.prevent_default()  # in place of Header's watchers, not beside them

        async def set_title() -> None:
            try:
                title = self.format_title()
            except NoScreen:
                return
            for widget in self.query(HeaderTitle):
                widget.update(title, layout=False)  # its width is the header's, whatever the title

        self.watch(self.app, "title", set_title)
        self.watch(self.app, "sub_title", set_title)
        self.watch(self.screen, "title", set_title)
        self.watch(self.screen, "sub_title", set_title)
