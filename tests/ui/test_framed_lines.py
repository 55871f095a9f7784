"""The frame the hot panels draw themselves: it must look like the CSS border it replaces."""

from __future__ import annotations

from rich.segment import Segment
from textual.app import App, ComposeResult
from textual.geometry import Region
from textual.strip import Strip
from textual.widget import Widget

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
            "╭─ nums ───╮",
            "│line 0    │",
            "│line 1    │",
            "│line 2    │",
            "╰──────────╯",
        ]
        assert numbers.inner_size == (10, 3)
        numbers.frame_title = "a much longer title"
        assert text(numbers.render_line(0)) == "╭─ a much ─╮"  # cut to fit; the corners stay
        numbers.styles.width = 3
        await pilot.pause()
        assert [text(numbers.render_line(y)) for y in (0, 1, 4)] == ["╭─╮", "│l│", "╰─╯"]


async def test_lines_reach_the_compositor_as_textuals_styles_pass_would_draw_them() -> None:
    """FramedLines skips Textual's per-line styles pass: same segments, whole or cropped; with a
    CSS border (which the pass draws) it goes the usual way."""
    app = Framed()
    async with app.run_test(size=(20, 8)) as pilot:
        numbers = app.query_one(Numbers)
        numbers.frame_title = "nums"
        await pilot.pause()
        for crop in (Region(0, 0, 12, 5), Region(2, 1, 5, 3)):
            direct = numbers.render_lines(crop)
            assert [list(strip) for strip in direct] == [list(s) for s in Widget.render_lines(numbers, crop)]
        assert text(numbers.render_lines(Region(2, 1, 5, 1))[0]) == "ine 0"
        numbers.styles.border = ("solid", "red")
        await pilot.pause()
        assert not numbers._drawn_whole()
        assert text(numbers.render_lines(Region(0, 0, 12, 5))[0]).startswith("┌")


async def test_textuals_own_calls_on_the_tape_and_the_chart_work() -> None:
    """Issue 19: TradesTape and PriceChart overrode Widget._render with another signature, so
    Textual's own get_content_width and get_selection on them raised TypeError (mypy found it)."""
    from decimal import Decimal as D

    from textual.geometry import Offset, Size
    from textual.selection import Selection

    from cryptoj_tui.engine.model import PublicTrade
    from cryptoj_tui.widgets.price_chart import PriceChart
    from cryptoj_tui.widgets.trades_tape import TradesTape

    class Panels(App[None]):
        def compose(self) -> ComposeResult:
            yield TradesTape()
            yield PriceChart()

    app = Panels()
    async with app.run_test(size=(80, 24)) as pilot:
        tape, chart = app.query_one(TradesTape), app.query_one(PriceChart)
        tape.add((PublicTrade(trade_id="1", price=D("65000.5"), size=D("0.01"), side="BUY", time=0.0),))
        chart.show([D("1"), D("2")])
        await pilot.pause()
        everything = Selection(Offset(0, 0), Offset(80, 24))
        for widget in (tape, chart):
            assert widget.get_content_width(Size(80, 24), Size(80, 24)) >= 0
        assert chart.get_selection(everything) is None  # a sparkline is no text
        selected = tape.get_selection(everything)  # the tape's lines, to copy
        assert selected is not None and "65,000.50  0.01000000" in selected[0] and "price" in selected[0]
