"""The order ticket: what will be sent, what it costs, and which risk checks it passes.

It opens at the ladder's cursor price with the default size. Every edit re-runs the engine's
pre-trade checks (nothing is sent) and shows the preview; enter sends, escape closes. A refusal
keeps the ticket open with the reason, so the trader can fix the order and try again. A limit
that would cross the spread says so, with its taker fee, before it is sent; F5 moves its price
back to the inside (the best bid for a buy, the best ask for a sell).

A panel of the trading screen, composed once and shown over the right of it, not a modal
screen: pushing a screen restyles and repaints everything below it, and a modal repaints the
dimmed screen under it on every frame the book moves. Opening a panel repaints the panel.

Keys typed in a burst right after `b` belong to the ticket: focus moves synchronously (Textual's
`Widget.focus` defers it a message, and keys queued behind `b` would reach the screen first).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from textual import events, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.color import Color
from textual.containers import Grid, Horizontal, Vertical
from textual.geometry import Size
from textual.markup import escape
from textual.message import Message
from textual.widgets import Input, Label, Select, Static

from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.orders import Order, OrderError, OrderRequest, OrderSide, OrderType
from cryptoj_tui.engine.risk import CheckResult
from cryptoj_tui.engine.trading import OrderRefusedError
from cryptoj_tui.formats import DEFAULT_FORMAT, ProductFormat, quote
from cryptoj_tui.widgets.typed_keys import after_typed_keys

Submit = Callable[[Callable[[Engine], Coroutine[Any, Any, Any]]], Future[Any]]

TYPES: list[tuple[str, str]] = [
    ("limit", "limit (GTC)"),
    ("post_only", "limit, post-only"),
    ("market", "market"),
    ("market_quote", "market, size in quote"),
    ("ioc", "IOC limit"),
    ("fok", "FOK limit"),
    ("stop_limit", "stop-limit"),
    ("take_profit_limit", "take-profit limit"),
    ("bracket", "bracket (take-profit + stop)"),
]
BRACKETABLE = frozenset({"limit", "post_only", "market"})
"""Ticket types an entry's bracket (take-profit and stop-loss fields) can ride on."""
STOPPED = frozenset({"stop_limit", "take_profit_limit", "bracket"})
"""Ticket types with a stop price."""
UNPRICED = frozenset({"market", "market_quote"})
"""Ticket types without a limit price."""
QUICK_SIZES = {"f1": "0.001", "f2": "0.01", "f3": "0.1", "f4": "1"}
SENDING_NOTICE_AFTER = 0.05
"""Seconds an order may take before the ticket says it is sending (a loopback venue answers in 2 ms)."""
COMPACT_WIDTH, COMPACT_HEIGHT = 120, 36
"""Below either, the ticket is compact: one-line fields, a narrower panel, the passed checks
counted rather than listed, so at 80x24 the whole preview stays in view and the ladder beside it."""
SIZES = Binding.Group("Sizes", compact=True)


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _checks_lines(checks: list[str], width: int = 44) -> list[str]:
    """The passed checks, wrapped between checks (never inside one), under a "checks" label."""
    lines: list[str] = []
    line = ""
    for check in checks:
        if line and len(line) + 2 + len(check) > width:
            lines.append(line)
            line = check
        else:
            line = f"{line}  {check}" if line else check
    if line:
        lines.append(line)
    return [("checks     " if n == 0 else " " * 11) + text for n, text in enumerate(lines)]


class TicketField(Input):
    """An Input whose editing keys act in the order they were typed, and whose cursor does not
    blink (a blinking one repaints the ticket twice a second while the book moves beside it).

    Textual runs a widget's key bindings (ctrl+u, backspace, left...) only after the key has
    bubbled up to the app, while a typed character goes in at once: in a burst such as
    `b down ctrl+u 64000` the digits went in first and ctrl+u then cleared them. Here a key
    bound by the field itself acts when the field handles it, as a character does.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.cursor_blink = False

    async def _on_key(self, event: events.Key) -> None:
        bindings = self._bindings.key_to_bindings.get(event.key)
        if bindings and not event.is_printable:
            event.stop()
            event.prevent_default()
            await self.run_action(bindings[0].action)
            return
        await super()._on_key(event)


@dataclass(frozen=True, slots=True)
class MarketQuote:
    """What the preview needs from the engine, read on its loop in one go."""

    result: CheckResult
    mid: Decimal | None
    best_bid: Decimal | None
    best_ask: Decimal | None
    position: Decimal
    taker_fee: Decimal
    """The taker fee rate the engine assumes (a fraction: 0.006 is 0.6 %)."""
    format: ProductFormat = DEFAULT_FORMAT

    def inside(self, side: OrderSide) -> Decimal | None:
        """The price a passive order joins: the best bid for a buy, the best ask for a sell."""
        return self.best_bid if side is OrderSide.BUY else self.best_ask

    def crosses(self, request: OrderRequest) -> bool:
        """Whether `request` would trade at once against resting orders (take liquidity)."""
        if request.type is OrderType.MARKET:
            return True
        if request.price is None or request.type in (OrderType.STOP_LIMIT, OrderType.TAKE_PROFIT_LIMIT):
            return False  # a stop-limit rests until its stop; what it does then is not known now
        if request.side is OrderSide.BUY:
            return self.best_ask is not None and request.price >= self.best_ask
        return self.best_bid is not None and request.price <= self.best_bid


async def market_quote(engine: Engine, request: OrderRequest) -> MarketQuote:
    """The preview's facts (engine loop): checks, inside market, position, fee, increments."""
    book = engine.book(request.product_id) if request.product_id in engine.market_data.products() else None
    live = book is not None and engine.market_data.is_live(request.product_id)
    bid = book.best_bid() if live and book is not None else None
    ask = book.best_ask() if live and book is not None else None
    trading = engine.trading
    rules = trading.products.get(request.product_id) if trading is not None else None
    return MarketQuote(
        result=engine.precheck(request),
        mid=engine.market_data.mid(request.product_id),
        best_bid=None if bid is None else bid[0],
        best_ask=None if ask is None else ask[0],
        position=trading.portfolio.quantity(request.product_id) if trading is not None else Decimal(0),
        taker_fee=trading.risk.limits.fee_estimate_bps / 10_000 if trading is not None else Decimal("0.006"),
        format=DEFAULT_FORMAT if rules is None else ProductFormat(rules.price_increment, rules.base_increment),
    )


def preview_lines(request: OrderRequest, market: MarketQuote, checks_width: int | None = 44) -> list[str]:
    """The ticket's preview of `request` (Rich markup): cost, fee, position, checks, refusal.
    With no `checks_width` (the compact ticket) the passed checks are counted, not listed."""
    fmt = market.format
    price = request.price if request.price is not None else market.mid
    notional = request.notional  # known for a limit order and for an amount of the quote currency
    if notional is None and price is not None:  # a market order sized in base: at mid
        notional = request.size * price
    base = request.size if not request.in_quote else None if price is None else request.base_size_at(price)
    after = None if base is None else market.position + base * request.side.sign
    lines = [f"notional   {quote(notional)}" if notional is not None else "notional   (no market price)"]
    if market.crosses(request):
        fee = f", fee ~{quote(notional * market.taker_fee)}" if notional is not None else ""
        if request.post_only:
            lines.append("[b $text-warning]crosses the spread: the venue rejects a post-only that would take[/]")
        else:
            lines.append(f"[b $text-warning]crosses the spread: takes liquidity{fee}[/]")
        inside = market.inside(request.side)
        if inside is not None and request.type is not OrderType.MARKET:
            lines.append(f"F5 joins the {'bid' if request.side is OrderSide.BUY else 'ask'} at {fmt.price(inside)}")
    elif notional is not None:
        lines.append(f"fee (est.) {quote(notional * market.taker_fee)} at most")
    about = "~" if request.in_quote else ""
    lines.append(f"position   {fmt.size(market.position)} → {about}{fmt.size(after) if after is not None else '?'}")
    if request.take_profit is not None and request.stop_loss is not None:
        exit_ = request.exit_side.lower()
        lines.append(f"bracket    {exit_} at {fmt.price(request.take_profit)} or stop {fmt.price(request.stop_loss)}")
    if checks_width is None:
        lines.append(f"checks     ✓ {len(market.result.passed)} passed" if market.result.passed else "")
    else:
        lines += _checks_lines([f"✓ {name}" for name in market.result.passed], checks_width)
    if market.result.refusal:
        lines.append(f"[b $text-error]✗ {escape(market.result.refusal)}[/]")
    return lines


class OrderTicket(Vertical):
    """A buy or sell ticket for one product, hidden until `open`."""

    DEFAULT_CSS = """
    OrderTicket {
        layer: ticket; dock: right; display: none;
        width: 62; height: auto; max-height: 80%; overflow-y: auto; margin: 1 0 0 0; padding: 1 2;
        background: $surface; border: thick $success;
    }
    OrderTicket #title { text-style: bold; margin-bottom: 1; }
    OrderTicket Grid { grid-size: 2; grid-columns: 14 1fr; grid-rows: 3; height: auto; }
    OrderTicket Label { padding-top: 1; }
    OrderTicket #preview { margin-top: 1; height: auto; }
    OrderTicket #refusal { color: $error; text-style: bold; height: auto; }
    OrderTicket .hint { color: $text-muted; margin-top: 1; }
    OrderTicket.-compact { width: 40; max-height: 100%; margin: 0; padding: 0 1; }
    OrderTicket.-compact #title { margin-bottom: 0; }
    OrderTicket.-compact Grid { grid-columns: 12 1fr; grid-rows: 1; }
    OrderTicket.-compact Label { padding-top: 0; }
    OrderTicket.-compact #preview { margin-top: 0; }
    OrderTicket.-compact .hint { margin-top: 0; }
    /* One of the two rows at a time: a stop for stop types, the bracket for entries that take one. */
    OrderTicket .stopped { display: none; }
    OrderTicket.-stopped .stopped { display: block; }
    OrderTicket.-stopped .bracketed, OrderTicket.-plain .bracketed { display: none; }
    OrderTicket Horizontal { height: auto; }
    OrderTicket Horizontal TicketField { width: 1fr; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "send", "Send", priority=True, id="ticket.send"),
        # Priority too: the ticket is closed (and the focus back on the screen) before the next
        # key of a burst is handled, so `escape 5` shows the journal rather than typing a 5.
        Binding("escape", "close", "Cancel", priority=True, id="ticket.cancel"),
        # Priority, so that on the type field too ↑/↓ move between fields (the Select would open
        # its list); in the open list they are the list's (check_action).
        Binding("up", "field(-1)", "Previous field", show=False, priority=True, id="ticket.previous_field"),
        Binding("down", "field(1)", "Next field", show=False, priority=True, id="ticket.next_field"),
        *(
            Binding(key, f"quick_size('{size}')", f"size {size}", id=f"ticket.size_{key}", group=SIZES)
            for key, size in QUICK_SIZES.items()
        ),
        Binding("f5", "join_inside", "Price to the inside", id="ticket.join_inside"),
    ]

    class Sent(Message):
        """The venue took an order from the ticket."""

        def __init__(self, order: Order) -> None:
            super().__init__()
            self.order = order

    class Shown(Message):
        """The ticket opened or closed (a compact one shares the screen with the ladder)."""

        def __init__(self, is_open: bool, compact: bool) -> None:
            super().__init__()
            self.is_open = is_open
            self.compact = compact

    def __init__(self, product_id: str, submit: Submit, *, id: str | None = None, brackets: bool = True) -> None:
        super().__init__(id=id)
        self._bracketable = BRACKETABLE if brackets else frozenset()
        """Types a bracket can ride on: none where the venue takes no bracket (Binance Spot here)."""
        self._types = TYPES if brackets else [(value, label) for value, label in TYPES if value != "bracket"]
        # Out of the focus chain while closed: hidden widgets can still take focus (and the
        # screen's keys with it). Not `disabled`, which restyles every field on each open.
        self.can_focus_children = False
        self.product_id = product_id
        self.side = "buy"
        self._submit = submit
        self._opened = 0
        """How many times it was opened: a send finishing after a re-open must not close the new one."""
        self._border_side = "buy"
        """The side whose colour the border has (the CSS gives a buy's)."""
        self.result: CheckResult | None = None
        self.market: MarketQuote | None = None
        """The engine's facts behind the last preview (inside market, fee, increments)."""
        self._sending: Future[Order] | None = None
        """The order on its way to the venue, until the engine answers."""

    def compose(self) -> ComposeResult:
        yield Static("", id="title")
        with Grid():
            yield Label("type")
            yield Select(((label, value) for value, label in self._types), value="limit", allow_blank=False, id="type")
            yield Label("size", id="size_label")
            yield TicketField("", id="size")
            yield Label("limit price")
            yield TicketField("", id="price")
            yield Label("stop price", classes="stopped")
            yield TicketField("", id="stop", disabled=True, classes="stopped")
            yield Label("TP / SL", classes="bracketed")
            with Horizontal(classes="bracketed"):
                yield TicketField("", id="take_profit", placeholder="take-profit")
                yield TicketField("", id="stop_loss", placeholder="stop-loss")
        yield Static("", id="preview")
        yield Static("", id="refusal")
        yield Static("", classes="hint")

    @property
    def order_types(self) -> list[str]:
        """The types the ticket offers (the venue's: no bracket where it takes none)."""
        return [value for value, _ in self._types]

    @property
    def is_open(self) -> bool:
        """Whether the ticket is on screen."""
        return self.display

    @property
    def compact(self) -> bool:
        """One-line fields in a narrower panel (small terminals)."""
        return self.has_class("-compact")

    def fit(self, size: Size) -> None:
        """Compact in a terminal under COMPACT_WIDTH columns or COMPACT_HEIGHT rows."""
        compact = size.width < COMPACT_WIDTH or size.height < COMPACT_HEIGHT
        self.set_class(compact, "-compact")
        for field in self.query("Select, Input"):
            field.compact = compact  # type: ignore[attr-defined]
        self.query_one(".hint", Static).update(
            "enter send · esc close · ↑↓ fields" if compact else "enter send · esc cancel · ↑↓ field · F1-F4 size"
        )

    def open(self, side: str, price: Decimal | None, size: str) -> None:
        """Show the ticket for `side` at `price` with `size`, fresh (whatever was typed before is gone)."""
        self._opened += 1
        self.side = side
        self.result = self.market = None
        if side != self._border_side:
            self._show_side(side)
        self.query_one("#title", Static).update(f"{side.upper()} {self.product_id}")
        self.query_one("#type", Select).value = "limit"
        self.set_class(False, "-stopped")
        self.set_class("limit" not in self._bracketable, "-plain")
        self.query_one("#price", Input).disabled = False
        self.query_one("#stop", Input).disabled = True
        for name in ("#stop", "#take_profit", "#stop_loss"):
            self.query_one(name, Input).value = ""
        for name in ("#take_profit", "#stop_loss"):
            self.query_one(name, Input).disabled = "limit" not in self._bracketable
        self.query_one("#price", Input).value = "" if price is None else f"{price:f}"
        self.query_one("#refusal", Static).update("")
        size_input = self.query_one("#size", Input)
        size_input.value = size
        self.can_focus_children = True
        # Shown by its display style, not a class: a class change restyles every node of the
        # ticket (48), which was nearly all of the 16 ms from `b` to the ticket open.
        self.display = True
        self.screen.set_focus(size_input)  # now, not a message later: the next key is already queued
        self.post_message(self.Shown(True, self.compact))
        self._refresh_preview()

    def on_mount(self) -> None:
        # The signal, not a watch of `theme`: it comes once the theme's variables are in place.
        self.app.theme_changed_signal.subscribe(self, lambda _: self._show_side(self._border_side))

    def _show_side(self, side: str) -> None:
        """The border in the side's colour (success for a buy, error for a sell), set as the
        ticket's own style: a class would restyle every one of its 48 nodes, 15 ms on the key."""
        self._border_side = side
        colour = self.app.theme_variables["error" if side == "sell" else "success"]
        self.styles.border = ("thick", Color.parse(colour))

    def close(self) -> None:
        """Hide the ticket; the keys go back to the ladder."""
        if self.is_open:
            self.display = False
            self.can_focus_children = False
            self.screen.set_focus(None)
            self.post_message(self.Shown(False, self.compact))

    def _type_list_focused(self) -> bool:
        focused = self.screen.focused
        kind = self.query_one("#type", Select)
        return focused is not None and (focused is kind or kind in focused.ancestors)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_open:
            return False
        if action == "send" and self._sending is not None:
            return False  # one order per ticket: a second enter while it goes would send another
        if action == "send" and self._type_list_focused():
            return False  # enter on the type field opens its list (and picks in it): it never sends
        # ↑/↓ move in the open type list, and escape closes it.
        return not (action in ("field", "close") and self.query_one("#type", Select).expanded)

    def action_field(self, step: int) -> None:
        fields = [w for w in self.query("Select, Input") if w.focusable]
        focused = self.screen.focused
        index = next(
            (n for n, w in enumerate(fields) if focused is w or (focused is not None and w in focused.ancestors)), 0
        )
        self.screen.set_focus(fields[(index + step) % len(fields)])  # at once: typing may follow within a millisecond

    def request(self) -> OrderRequest:
        """The order as typed (OrderError names the field that is wrong)."""
        kind = str(self.query_one("#type", Select).value)
        size = _number(self.query_one("#size", Input).value)
        price = _number(self.query_one("#price", Input).value)
        stop = _number(self.query_one("#stop", Input).value)
        if size is None:
            raise OrderError("size is not a number")
        take_profit, stop_loss = None, None
        if kind in self._bracketable:
            for name in ("take_profit", "stop_loss"):
                text = self.query_one(f"#{name}", Input).value
                if text.strip() and _number(text) is None:
                    raise OrderError(f"{name.replace('_', '-')} is not a number")
            take_profit = _number(self.query_one("#take_profit", Input).value)
            stop_loss = _number(self.query_one("#stop_loss", Input).value)
        order_type = {"post_only": OrderType.LIMIT, "market_quote": OrderType.MARKET}.get(kind) or OrderType(kind)
        return OrderRequest.parse(
            self.product_id,
            self.side,
            order_type,
            size,
            price=None if order_type is OrderType.MARKET else price,
            stop_price=stop if kind in STOPPED else None,
            post_only=kind == "post_only",
            take_profit=take_profit,
            stop_loss=stop_loss,
            in_quote=kind == "market_quote",
        )

    def on_select_changed(self, event: Select.Changed) -> None:
        kind = str(event.value)
        self.query_one("#price", Input).disabled = kind in UNPRICED
        quote_currency = self.product_id.split("-", 1)[1]
        self.query_one("#size_label", Label).update(f"size ({quote_currency})" if kind == "market_quote" else "size")
        self.query_one("#stop", Input).disabled = kind not in STOPPED
        for name in ("#take_profit", "#stop_loss"):
            self.query_one(name, Input).disabled = kind not in self._bracketable
        self.set_class(kind in STOPPED, "-stopped")
        self.set_class(kind not in STOPPED and kind not in self._bracketable, "-plain")
        self._refresh_preview()

    def on_input_changed(self, _: Input.Changed) -> None:
        self._refresh_preview()

    def action_quick_size(self, size: str) -> None:
        self.query_one("#size", Input).value = size

    def action_join_inside(self) -> None:
        """Move the limit price to the inside: the best bid for a buy, the best ask for a sell."""
        inside = None if self.market is None else self.market.inside(OrderSide(self.side.upper()))
        if inside is None:
            self.notify("no inside market to join yet", severity="warning")
            return
        self.query_one("#price", Input).value = f"{inside:f}"

    def _refresh_preview(self) -> None:
        preview = self.query_one("#preview", Static)
        try:
            request = self.request()
        except (OrderError, ValueError) as exc:
            preview.update(f"[b]not ready:[/b] {escape(str(exc))}")
            self.result = None
            return
        self._check(request)

    @work(exclusive=True, group="preview")
    async def _check(self, request: OrderRequest) -> None:
        preview = self.query_one("#preview", Static)  # held: the ticket may close while we wait
        market = await asyncio.wrap_future(self._submit(lambda engine: market_quote(engine, request)))
        self.market, self.result = market, market.result
        lines = preview_lines(request, market, None if self.compact else 44)
        preview.update("\n".join(line for line in lines if line))

    def action_send(self) -> None:
        """Send the ticket as typed, once the keys before enter are in its fields."""
        opened = self._opened
        after_typed_keys(self, lambda: self._send(opened))

    def _send(self, opened: int) -> None:
        """Hand the order to the engine from a plain callback (a worker would start a loop turn later)."""
        if opened != self._opened or not self.check_action("send", ()):
            return  # closed (or opened afresh) by a later key, or sending already: nothing goes
        refusal = self.query_one("#refusal", Static)
        try:
            request = self.request()
        except (OrderError, ValueError) as exc:
            refusal.update(escape(str(exc)))
            return

        async def place(engine: Engine) -> Order:
            return await engine.place(
                request.product_id,
                str(request.side),
                str(request.type),
                request.size,
                **({"price": request.price} if request.price is not None else {}),
                **({"stop_price": request.stop_price} if request.stop_price is not None else {}),
                **({"post_only": True} if request.post_only else {}),
                **({"take_profit": request.take_profit} if request.take_profit is not None else {}),
                **({"stop_loss": request.stop_loss} if request.stop_loss is not None else {}),
                **({"in_quote": True} if request.in_quote else {}),
            )

        self._sending = sent = self._submit(place)
        # The answer comes back as a plain callback, not a worker: starting a worker is messages
        # and a task on this thread, whose time (and GIL) the engine thread needs for the order
        # now. Nothing is repainted while the order goes either: "sending…" shows only if the
        # venue is slow to answer, and in the border, where it does not lay the screen out again.
        ui, opened = asyncio.get_running_loop(), self._opened
        sent.add_done_callback(lambda done: ui.call_soon_threadsafe(self._answered, done, opened))
        self.set_timer(SENDING_NOTICE_AFTER, lambda: self._notice_sending(sent))

    def _notice_sending(self, sent: Future[Order]) -> None:
        if self._sending is sent:
            self.border_subtitle = "sending…"

    def _answered(self, sent: Future[Order], opened: int) -> None:
        self._sending = None
        if self.border_subtitle:
            self.border_subtitle = ""
        refusal = self.query_one("#refusal", Static)
        try:
            order = sent.result()
        except (OrderRefusedError, OrderError) as exc:
            refusal.update(f"refused: {escape(str(exc))}")
            return
        except Exception as exc:  # the venue or the connection: say so, keep the ticket
            refusal.update(f"not sent: {escape(str(exc))}")
            return
        if order.status in ("REJECTED", "FAILED"):
            refusal.update(f"{order.status}: {escape(order.reason)}")
            return
        if refusal.content:  # the last attempt's reason is stale now
            refusal.update("")
        self.post_message(self.Sent(order))
        if opened == self._opened:
            self.close()

    def action_close(self) -> None:
        self.close()
