"""The frame the hot panels draw themselves: it must look like the CSS border it replaces."""

from __future__ import annotations

from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.strip import Strip

from cryptoj_tui.widgets.styled_lines import FramedLines


class Numbers(FramedLines):
    """Line y inside the frame says y."""

    DEFAULT_CSS = "Numbers { width: 12; height: 5; }"

    def render_inner_line(self, y: int) -> Strip:
        return self.framed(Strip([Segment(f"line {y}")]), self.inner_size.width)


class Framed(App[None]):
    def compose(self) -> ComposeResult:
        yield Numbers()


def text(strip: Strip) -> str:
    return "".join(segment.text for segment in strip)


async def test_a_frame_with_its_title_around_the_lines() -> None:
    app = Framed()
    async with app.run_test(size=(20, 8)) as pilot:
        numbers = app.query_one(Numbers)
        numbers.frame_title = "nums"
        await pilot.pause()
        assert [text(numbers.render_line(y)) for y in range(5)] == [
            "╭─ nums ───╮", "│line 0    │", "│line 1    │", "│line 2    │", "╰──────────╯"]
        assert numbers.inner_size == (10, 3)
        numbers.frame_title = "a much longer title"
        assert text(numbers.render_line(0)) == "╭─ a much ─╮"  # cut to fit; the corners stay
        numbers.styles.width = 3
        await pilot.pause()
        assert [text(numbers.render_line(y)) for y in (0, 1, 4)] == ["╭─╮", "│l│", "╰─╯"]
