"""The price ladder: asks above, bids below, the spread between, built on the Line API.

A book update recomputes the rows as plain tuples, compares them with what is on screen and
refreshes only the lines that differ; each line's Strip is cached by its content, so an
unchanged row costs nothing to draw again. A DataTable would repaint everything every time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import lru_cache
from typing import ClassVar, NamedTuple

from rich.segment import Segment
from rich.style import Style
from textual.cache import LRUCache
from textual.events import Click
from textual.geometry import Region, Size
from textual.message import Message
from textual.strip import Strip
from textual.timer import Timer

from cryptoj_tui.engine.model import Level
from cryptoj_tui.views import BookView
from cryptoj_tui.widgets.styled_lines import FramedLines

PRICE_WIDTH = 14
FLASH_SECONDS = 0.4
FILL_FLASH_SECONDS = 1.5
"""How long a fill of one of your orders stays lit on its price (longer than a size change's)."""
"""How long a size change stays highlighted: long enough to catch the eye, short enough to
leave a busy book readable."""

FlashKey = tuple[str, Decimal]
"""(side, price) of a level: "bid" or "ask"."""


class LadderRow(NamedTuple):
    """What one line of the ladder shows.

    A NamedTuple, not a dataclass: rows are hashed and compared for every line of every frame,
    and tuples do both in C.
    """

    kind: str
    """header, ask, bid, spread, message or blank."""
    price: str = ""
    bid: str = ""
    ask: str = ""
    cursor: bool = False
    last: bool = False
    """The last trade printed at this price."""
    own_bid: str = ""
    """Leaves of our buy orders at this price (shown left of the bid size)."""
    own_ask: str = ""
    value: Decimal | None = None
    """The exact price of a price row (what an order ticket opened here uses)."""
    flash: str = ""
    """"up" or "down" while the size at this price has just grown or shrunk."""
    bracket: str = ""
    """"TP", "SL" (or both) where one of our brackets has a level; an arrow when that level is
    beyond the rows shown (this row stands at the ladder's edge for it)."""


BLANK = LadderRow("blank")
ZERO = Decimal(0)


@lru_cache(maxsize=8192)
def _grouped(value: Decimal, places: int) -> str:
    # Prices repeat frame after frame: format each once.
    return f"{value:,.{places}f}"


def decimal_places(values: list[Decimal], floor: int, cap: int = 8) -> int:
    """How many decimals show every value exactly (at least `floor`, at most `cap`)."""
    places = floor
    for value in values:
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and -exponent > places:
            places = -exponent
    return min(places, cap)


def ladder_rows(
    view: BookView | None,
    height: int,
    waiting: str,
    cursor: int = 1,
    last: Decimal | None = None,
    flashes: Mapping[FlashKey, str] | None = None,
) -> list[LadderRow]:
    """The ladder's lines for a book view in `height` rows (column titles included).

    Sizes are padded to one width so their decimal points line up in both columns. `cursor`
    counts price rows from the spread: 1 is the best bid, -1 the best ask.
    """
    if height <= 0:
        return []
    body = height - 1
    if view is None or not view.live:
        rows = [LadderRow("header", "PRICE", "BID SIZE", "ASK SIZE")]
        rows += [BLANK] * (body // 2) + [LadderRow("message", waiting)]
        return (rows + [BLANK] * height)[:height]
    ask_rows = (body - 1) // 2
    bid_rows = body - 1 - ask_rows
    asks = list(view.asks[:ask_rows])
    bids = list(view.bids[:bid_rows])
    tags: dict[Decimal, str] = {}
    if view.brackets:
        asks, bids, tags = _with_brackets(view, asks, bids, ask_rows, bid_rows)
    shown = asks + bids
    price_places = decimal_places([p for p, _ in shown], floor=2)
    size_places = decimal_places([s for _, s in shown if s], floor=2)
    sizes = {s: f"{s:,.{size_places}f}" if s else "" for _, s in shown}
    size_width = max([len("BID SIZE"), *map(len, sizes.values())])

    def price(p: Decimal) -> str:
        return _grouped(p, price_places)

    def size(s: Decimal) -> str:
        return sizes[s].rjust(size_width)

    own_bids, own_asks = dict(view.own_bids), dict(view.own_asks)
    flashes = flashes or {}

    def own(levels: dict[Decimal, Decimal], p: Decimal) -> str:
        return f"{levels[p]:f}".rstrip("0").rstrip(".") if levels and p in levels else ""

    rows = [LadderRow("header", "PRICE", "BID SIZE".rjust(size_width), "ASK SIZE".rjust(size_width))]
    rows += [BLANK] * (ask_rows - len(asks))
    rows += [
        LadderRow(
            "ask",
            price(p),
            ask=size(s),
            cursor=cursor == -(n + 1),
            own_ask=own(own_asks, p),
            value=p,
            last=p == last,
            flash=flashes.get(("ask", p), ""),
            bracket=tags.get(p, ""),
        )
        for n, (p, s) in reversed(list(enumerate(asks)))
    ]
    if asks and bids:
        spread = asks[0][0] - bids[0][0]
        mid = (asks[0][0] + bids[0][0]) / 2
        bps = spread / mid * 10_000
        rows.append(LadderRow("spread", f"spread {price(spread)}  {bps:.2g} bps"))
    else:
        rows.append(LadderRow("spread", "one-sided book"))
    rows += [
        LadderRow(
            "bid",
            price(p),
            bid=size(s),
            cursor=cursor == n + 1,
            own_bid=own(own_bids, p),
            value=p,
            last=p == last,
            flash=flashes.get(("bid", p), ""),
            bracket=tags.get(p, ""),
        )
        for n, (p, s) in enumerate(bids)
    ]
    rows += [BLANK] * (bid_rows - len(bids))
    return rows


def _with_brackets(
    view: BookView, asks: list[Level], bids: list[Level], ask_rows: int, bid_rows: int
) -> tuple[list[Level], list[Level], dict[Decimal, str]]:
    """The sides shown with our brackets' levels among them (a price with no size where the book
    has none), and each tagged price. A level beyond the rows shown takes the side's outermost
    row, tagged with an arrow, so a take-profit far from the market is still on the ladder."""
    levels = dict(view.brackets)
    best_bid = view.bids[0][0] if view.bids else None
    tags: dict[Decimal, str] = {}
    sides: list[list[Level]] = []
    for levels_shown, rows, ask_side in ((asks, ask_rows, True), (bids, bid_rows, False)):
        # Above the best bid is the ask side (a level inside the spread leads it).
        mine = [p for p in levels if (best_bid is None or p > best_bid) is ask_side]
        merged = dict(levels_shown)
        book = dict(view.asks if ask_side else view.bids)  # a level beyond the rows shown keeps its size
        for p in mine:
            merged.setdefault(p, book.get(p, ZERO))
            tags[p] = levels[p]
        ordered = sorted(merged.items(), key=lambda level: level[0], reverse=not ask_side)
        inside, beyond = ordered[:rows], [p for p, _ in ordered[rows:] if p in tags]
        if beyond and rows:  # the farthest level of ours stands at the edge, tagged with where it is
            far = beyond[-1]
            inside[-1] = (far, merged[far])
            tags[far] = f"{tags[far]} {'↑' if ask_side else '↓'}"
        sides.append(inside)
    return sides[0], sides[1], tags


class Ladder(FramedLines):
    """Depth ladder of one product around the inside market."""

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "ladder--header",
        "ladder--bid",
        "ladder--ask",
        "ladder--bid-price",
        "ladder--ask-price",
        "ladder--spread",
        "ladder--message",
        "ladder--cursor",
        "ladder--last",
        "ladder--own",
        "ladder--flash-up",
        "ladder--flash-down",
        "ladder--flash-fill",
    }

    DEFAULT_CSS = """
    Ladder {
        height: 1fr;
        min-width: 40;
        background: $surface;
    }
    Ladder > .frame--title { color: $text; text-style: bold; }
    Ladder > .ladder--header { color: $text-muted; text-style: bold; }
    Ladder > .ladder--bid { color: $success; }
    Ladder > .ladder--ask { color: $error; }
    Ladder > .ladder--bid-price { color: $text; background: $success 15%; }
    Ladder > .ladder--ask-price { color: $text; background: $error 15%; }
    Ladder > .ladder--spread { color: $warning; text-style: italic; }
    Ladder > .ladder--message { color: $text-muted; }
    Ladder > .ladder--cursor { text-style: reverse bold; }
    Ladder > .ladder--last { text-style: bold underline; color: $warning; }
    Ladder > .ladder--own { color: $accent; text-style: bold; }
    Ladder > .ladder--flash-up { background: $success 35%; text-style: bold; }
    Ladder > .ladder--flash-down { background: $error 35%; text-style: bold; }
    Ladder > .ladder--flash-fill { background: $accent; color: $text; text-style: bold; }
    """

    class PriceClicked(Message):
        """A price row was clicked: open a ticket there (bid row: buy, ask row: sell)."""

        def __init__(self, price: Decimal, side: str) -> None:
            super().__init__()
            self.price = price
            self.side = side

    def on_click(self, event: Click) -> None:
        y = event.y - 1  # the frame's top edge
        row = self._rows[y] if 0 <= y < len(self._rows) else None
        if row is not None and row.value is not None:
            self.post_message(self.PriceClicked(row.value, row.kind))

    def __init__(
        self,
        product_id: str,
        *,
        flash_seconds: float = FLASH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        name: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(name=name, id=id)
        self.flash_seconds = flash_seconds
        """0 turns size-change flashes off."""
        self._clock = clock
        self._sizes: dict[FlashKey, Decimal] = {}
        """Sizes of the levels on screen, to see which changed."""
        self._flashes: dict[FlashKey, tuple[str, float]] = {}
        """(up/down, until) per flashing level."""
        self._flash_timer: Timer | None = None
        self.product_id = product_id
        self.view: BookView | None = None
        self.waiting = f"waiting for the {product_id} book..."
        self._rows: list[LadderRow] = []
        self._strips: LRUCache[tuple[LadderRow, int], Strip] = LRUCache(2048)
        self.lines_refreshed = 0
        self._width = 0
        self._row_style_cache: dict[tuple[str, str, bool, bool], tuple[Style, Style, Style, Style]] = {}
        self.cursor = 1
        """Price rows from the spread: 1 = best bid, -1 = best ask (follows the market)."""
        self.last_trade: Decimal | None = None

    @property
    def rows(self) -> tuple[LadderRow, ...]:
        """What each line of the ladder shows now, top to bottom (column titles first)."""
        return tuple(self._rows)

    def set_last_trade(self, price: Decimal) -> None:
        """Highlight the price of the latest public trade."""
        if price != self.last_trade:
            self.last_trade = price
            self._relayout(self.inner_size)

    def move_cursor(self, steps: int) -> None:
        """Move the cursor `steps` price rows down (negative: up), skipping the spread line."""
        position = self.cursor + steps
        if self.cursor > 0 >= position:
            position -= 1
        elif self.cursor < 0 <= position:
            position += 1
        limit = max(1, (self.inner_size.height - 2) // 2)
        self.cursor = max(-limit, min(limit, position))
        self._relayout(self.inner_size)

    def centre(self) -> None:
        """Back to the inside market (the best bid)."""
        self.cursor = 1
        self._relayout(self.inner_size)

    def cursor_price(self) -> Decimal | None:
        """The exact price under the cursor, if a price row is there."""
        for row in self._rows:
            if row.cursor:
                return row.value
        return None

    def update_book(self, view: BookView) -> None:
        """Show a new view of the book, repainting only the rows that changed."""
        self.view = view
        if self.flash_seconds > 0:
            self._note_size_changes(view)
        self._relayout(self.inner_size)

    def _note_size_changes(self, view: BookView) -> None:
        depth = self.inner_size.height // 2  # at most this many levels of a side are on screen
        sizes = {("bid", p): s for p, s in view.bids[:depth]}
        sizes.update((("ask", p), s) for p, s in view.asks[:depth])
        if view.live and self._sizes:
            until = self._clock() + self.flash_seconds
            for key, size in sizes.items():
                before = self._sizes.get(key)
                # A level that only scrolled into view is not a change; one that grew or shrank is
                # (a fill of yours lit there stays lit: it says more).
                if before is not None and before != size and self._flashes.get(key, ("",))[0] != "fill":
                    self._flashes[key] = ("up" if size > before else "down", until)
        self._sizes = sizes if view.live else {}
        if self._flashes and self._flash_timer is None and self.is_mounted:
            self._flash_timer = self.set_timer(self.flash_seconds, self._expire_flashes)

    def flash_fill(self, side: str, price: Decimal) -> None:
        """Light the price a fill of yours traded at, on its side, for FILL_FLASH_SECONDS (off, as
        every flash, with flash_seconds 0)."""
        if self.flash_seconds <= 0:
            return
        key = ("bid" if side.upper() == "BUY" else "ask", price)
        self._flashes[key] = ("fill", self._clock() + FILL_FLASH_SECONDS)
        self._relayout(self.inner_size)
        if self._flash_timer is None and self.is_mounted:
            self._flash_timer = self.set_timer(FILL_FLASH_SECONDS, self._expire_flashes)

    def _expire_flashes(self) -> None:
        self._flash_timer = None
        now = self._clock()
        self._flashes = {key: flash for key, flash in self._flashes.items() if flash[1] > now}
        self._relayout(self.inner_size)
        if self._flashes:
            soonest = min(until for _, until in self._flashes.values())
            self._flash_timer = self.set_timer(max(0.01, soonest - now), self._expire_flashes)

    def show_product(self, product_id: str, cursor: int = 1) -> None:
        """Another product: no book until its first view, its own cursor, nothing lit."""
        self.product_id = product_id
        self.view = None
        self.waiting = f"waiting for the {product_id} book..."
        self.cursor = cursor
        self.last_trade = None
        self._sizes, self._flashes = {}, {}
        self.frame_title = f"{product_id} book"
        self._relayout(self.inner_size)

    def set_waiting(self, message: str) -> None:
        """What to show while there is no live book."""
        self.waiting = message
        self._relayout(self.inner_size)

    def on_resize(self) -> None:
        self._rows = []
        self._relayout(self.inner_size)

    def forget_strips(self) -> None:
        self._strips.clear()
        self._row_style_cache.clear()

    def _relayout(self, size: Size) -> None:
        self._width = size.width  # read per line by render_inner_line
        flashes = {key: direction for key, (direction, _) in self._flashes.items()}
        rows = ladder_rows(self.view, size.height, self.waiting, self.cursor, self.last_trade, flashes)
        old = self._rows
        self._rows = rows
        if len(old) != len(rows):
            self.refresh()
            return
        width = size.width + 2
        changed = [
            Region(0, y + 1, width, 1)
            for y, (before, after) in enumerate(zip(old, rows, strict=True))
            if before != after
        ]
        if changed:
            # One call for all of them: each refresh() walks the DOM to mark the screen dirty.
            self.lines_refreshed += len(changed)
            self.refresh(*changed)

    def render_inner_line(self, y: int) -> Strip:
        width = self._width
        row = self._rows[y] if y < len(self._rows) else BLANK
        key = (row, width)
        strip = self._strips.get(key)
        if strip is None:
            strip = self._strips[key] = self._render_row(row, width)
        return strip

    def _row_styles(self, kind: str, flash: str, last: bool, cursor: bool) -> tuple[Style, Style, Style, Style]:
        """(bid size, ask size, price, own order) styles of a price or header row, cached."""
        key = (kind, flash, last, cursor)
        styles = self._row_style_cache.get(key)
        if styles is None:
            if kind == "header":
                header = self._style("ladder--header")
                styles = (header, header, header, header)
            else:
                flashing = (f"ladder--flash-{flash}",) if flash else ()
                marks = (("ladder--last",) if last else ()) + (("ladder--cursor",) if cursor else ())
                styles = (
                    self._style("ladder--bid", *flashing),
                    self._style("ladder--ask", *flashing),
                    self._style(f"ladder--{kind}-price", *marks),
                    self._style("ladder--own"),
                )
            self._row_style_cache[key] = styles
        return styles

    def _render_row(self, row: LadderRow, width: int) -> Strip:
        """The row's line, framed."""
        base = self._style()
        if row.kind == "blank":
            return self.framed(Strip.blank(width, base), width)
        if row.kind in ("message", "spread"):
            style = self._style(f"ladder--{row.kind}")
            left = max(0, (width - len(row.price)) // 2)
            return self.framed(Strip([Segment(" " * left, base), Segment(row.price, style)]), width)
        side_width = max(0, (width - PRICE_WIDTH - 2) // 2)
        bid_style, ask_style, price_style, own_style = self._row_styles(row.kind, row.flash, row.last, row.cursor)
        # Bid sizes end against the price, ask sizes start after it; padding goes in segments
        # of its own so every renderer (terminal or SVG) aligns the text the same way.
        own_bid = f"▶{row.own_bid} " if row.own_bid else ""
        own_ask = f" ◀{row.own_ask}" if row.own_ask else ""
        if row.bracket:  # beside our own size, on the outside: "SL ▶0.5 1.20"
            if row.kind == "bid":
                own_bid = f"{row.bracket} {own_bid}"
            else:
                own_ask = f"{own_ask} {row.bracket}"
        bid = (own_bid + row.bid)[-side_width:] if side_width else ""
        ask = (row.ask + own_ask)[:side_width]
        mark_bid = min(len(own_bid), len(bid))
        mark_ask = max(0, len(ask) - len(own_ask))
        price = row.price.center(PRICE_WIDTH)
        used = side_width + 2 + len(price) + len(ask)
        if used > width:  # narrower than the columns: let Strip crop
            return self.framed(
                Strip([Segment(" " * (side_width - len(bid)) + bid + " " + price + " " + ask, base)]), width
            )
        segments = [Segment(" " * (side_width - len(bid)), base)]
        if mark_bid:
            segments.append(Segment(bid[:mark_bid], own_style))
        segments += (
            Segment(bid[mark_bid:], bid_style),
            Segment(" ", base),
            Segment(price, price_style),
            Segment(" ", base),
            Segment(ask[:mark_ask], ask_style),
        )
        if mark_ask < len(ask):
            segments.append(Segment(ask[mark_ask:], own_style))
        segments.append(Segment(" " * (width - used), base))
        # Every character here is one cell wide (digits, commas, the two markers), so the
        # length is known and Strip need not measure it.
        return self.framed(segments, width)
