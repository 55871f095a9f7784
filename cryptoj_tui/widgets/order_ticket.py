"""The order ticket: what will be sent, what it costs, and which risk checks it passes.

It opens at the ladder's cursor price with the default size. Every edit re-runs the engine's
pre-trade checks (nothing is sent) and shows the preview; enter sends, escape closes. A refusal
keeps the ticket open with the reason, so the trader can fix the order and try again.

A panel of the trading screen, composed once and shown over the right of it, not a modal
screen: pushing a screen restyles and repaints everything below it, and a modal repaints the
dimmed screen under it on every frame the book moves. Opening a panel repaints the panel.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from concurrent.futures import Future
from decimal import Decimal, InvalidOperation
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Grid, Vertical
from textual.message import Message
from textual.widget import Widget
from textual.widgets import Input, Label, Select, Static

from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.orders import Order, OrderError, OrderRequest, OrderType
from cryptoj_tui.engine.risk import CheckResult
from cryptoj_tui.engine.trading import OrderRefusedError

Submit = Callable[[Callable[[Engine], Coroutine[Any, Any, Any]]], Future[Any]]

TYPES: list[tuple[str, str]] = [
    ("limit", "limit (GTC)"),
    ("post_only", "limit, post-only"),
    ("market", "market"),
    ("ioc", "IOC limit"),
    ("fok", "FOK limit"),
    ("stop_limit", "stop-limit"),
]
QUICK_SIZES = {"f1": "0.001", "f2": "0.01", "f3": "0.1", "f4": "1"}
TAKER_FEE = Decimal("0.006")
SENDING_NOTICE_AFTER = 0.05
"""Seconds an order may take before the ticket says it is sending (a loopback venue answers in 2 ms)."""


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


class OrderTicket(Vertical):
    """A buy or sell ticket for one product, hidden until `open`."""

    DEFAULT_CSS = """
    OrderTicket {
        layer: ticket; dock: right; display: none;
        width: 62; height: auto; max-height: 80%; overflow-y: auto; margin: 1 0 0 0; padding: 1 2;
        background: $surface; border: thick $success;
    }
    OrderTicket.-open { display: block; }
    OrderTicket.-sell { border: thick $error; }
    OrderTicket #title { text-style: bold; margin-bottom: 1; }
    OrderTicket Grid { grid-size: 2; grid-columns: 14 1fr; grid-rows: 3; height: auto; }
    OrderTicket Label { padding-top: 1; }
    OrderTicket #preview { margin-top: 1; height: auto; }
    OrderTicket #refusal { color: $error; text-style: bold; height: auto; }
    OrderTicket .hint { color: $text-muted; margin-top: 1; }
    """
    BINDINGS = [
        Binding("enter", "send", "Send", priority=True, id="ticket.send"),
        Binding("escape", "close", "Cancel", id="ticket.cancel"),
        Binding("up", "field(-1)", "Previous field", show=False, id="ticket.previous_field"),
        Binding("down", "field(1)", "Next field", show=False, id="ticket.next_field"),
        *(Binding(key, f"quick_size('{size}')", f"size {size}", id=f"ticket.size_{key}") for key, size in QUICK_SIZES.items()),
    ]

    class Sent(Message):
        """The venue took an order from the ticket."""

        def __init__(self, order: Order) -> None:
            super().__init__()
            self.order = order

    def __init__(self, product_id: str, submit: Submit, *, id: str | None = None) -> None:
        super().__init__(id=id)
        # Out of the focus chain while closed: hidden widgets can still take focus (and the
        # screen's keys with it). Not `disabled`, which restyles every field on each open.
        self.can_focus_children = False
        self.product_id = product_id
        self.side = "buy"
        self._submit = submit
        self._opened = 0
        """How many times it was opened: a send finishing after a re-open must not close the new one."""
        self.result: CheckResult | None = None
        self._sending: Future[Order] | None = None
        """The order on its way to the venue, until the engine answers."""

    def compose(self) -> ComposeResult:
        yield Static("", id="title")
        with Grid():
            yield Label("type")
            yield Select(((label, value) for value, label in TYPES), value="limit", allow_blank=False, id="type")
            yield Label("size")
            yield Input("", id="size")
            yield Label("limit price")
            yield Input("", id="price")
            yield Label("stop price")
            yield Input("", id="stop", disabled=True)
        yield Static("", id="preview")
        yield Static("", id="refusal")
        yield Static("enter send · esc cancel · ↑↓ field · F1-F4 size", classes="hint")

    @property
    def is_open(self) -> bool:
        """Whether the ticket is on screen."""
        return self.has_class("-open")

    def open(self, side: str, price: Decimal | None, size: str) -> None:
        """Show the ticket for `side` at `price` with `size`, fresh (whatever was typed before is gone)."""
        self._opened += 1
        self.side = side
        self.result = None
        self.set_class(side == "sell", "-sell")
        self.query_one("#title", Static).update(f"{side.upper()} {self.product_id}")
        self.query_one("#type", Select).value = "limit"
        self.query_one("#price", Input).disabled = False
        self.query_one("#stop", Input).disabled = True
        self.query_one("#stop", Input).value = ""
        self.query_one("#price", Input).value = "" if price is None else f"{price:f}"
        self.query_one("#refusal", Static).update("")
        size_input = self.query_one("#size", Input)
        size_input.value = size
        self.can_focus_children = True
        self.add_class("-open")
        size_input.focus()
        self._refresh_preview()

    def close(self) -> None:
        """Hide the ticket; the keys go back to the ladder."""
        if self.is_open:
            self.remove_class("-open")
            self.can_focus_children = False
            self.screen.set_focus(None)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if not self.is_open:
            return False
        if action == "send" and self._sending is not None:
            return False  # one order per ticket: a second enter while it goes would send another
        if action == "send" and self.query_one("#type", Select).expanded:
            return False  # enter picks the type in the open list
        return True

    def action_field(self, step: int) -> None:
        fields = [w for w in self.query("Select, Input") if w.focusable]
        focused = self.screen.focused
        index = next((n for n, w in enumerate(fields) if focused is w or (focused is not None and w in focused.ancestors)), 0)
        fields[(index + step) % len(fields)].focus()

    def request(self) -> OrderRequest:
        """The order as typed (OrderError names the field that is wrong)."""
        kind = str(self.query_one("#type", Select).value)
        size = _number(self.query_one("#size", Input).value)
        price = _number(self.query_one("#price", Input).value)
        stop = _number(self.query_one("#stop", Input).value)
        if size is None:
            raise OrderError("size is not a number")
        order_type = OrderType.LIMIT if kind == "post_only" else OrderType(kind)
        return OrderRequest(
            self.product_id, self.side, order_type, size,
            price=None if order_type is OrderType.MARKET else price,
            stop_price=stop if order_type is OrderType.STOP_LIMIT else None,
            post_only=kind == "post_only",
        )

    def on_select_changed(self, event: Select.Changed) -> None:
        kind = str(event.value)
        self.query_one("#price", Input).disabled = kind == "market"
        self.query_one("#stop", Input).disabled = kind != "stop_limit"
        self._refresh_preview()

    def on_input_changed(self, _: Input.Changed) -> None:
        self._refresh_preview()

    def action_quick_size(self, size: str) -> None:
        self.query_one("#size", Input).value = size

    def _refresh_preview(self) -> None:
        preview = self.query_one("#preview", Static)
        try:
            request = self.request()
        except (OrderError, ValueError) as exc:
            preview.update(f"[b]not ready:[/b] {exc}")
            self.result = None
            return
        self._check(request)

    @work(exclusive=True, group="preview")
    async def _check(self, request: OrderRequest) -> None:
        async def precheck(engine: Engine) -> tuple[CheckResult, Decimal | None, Decimal]:
            mid = engine.market_data.mid(request.product_id)
            position = engine.trading.portfolio.quantity(request.product_id) if engine.trading else Decimal(0)
            return engine.precheck(request), mid, position

        preview = self.query_one("#preview", Static)  # held: the ticket may close while we wait
        result, mid, position = await asyncio.wrap_future(self._submit(precheck))
        self.result = result
        price = request.price if request.price is not None else mid
        notional = request.size * price if price is not None else None
        after = position + request.size * request.side.sign
        lines = [
            f"notional   {notional:,.2f}" if notional is not None else "notional   (no market price)",
            f"fee (est.) {notional * TAKER_FEE:,.2f} at most" if notional is not None else "",
            f"position   {position:f} → {after:f}",
            *_checks_lines([f"✓ {name}" for name in result.passed]),
        ]
        if result.refusal:
            lines.append(f"[b $text-error]✗ {result.refusal}[/]")
        preview.update("\n".join(line for line in lines if line))

    def action_send(self) -> None:
        """Hand the order to the engine from the key handler itself (a worker would start a loop turn later)."""
        refusal = self.query_one("#refusal", Static)
        try:
            request = self.request()
        except (OrderError, ValueError) as exc:
            refusal.update(str(exc))
            return

        async def place(engine: Engine) -> Order:
            return await engine.place(request.product_id, str(request.side), str(request.type), request.size,
                                      **({"price": request.price} if request.price is not None else {}),
                                      **({"stop_price": request.stop_price} if request.stop_price is not None else {}),
                                      **({"post_only": True} if request.post_only else {}))

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
            refusal.update(f"refused: {exc}")
            return
        except Exception as exc:  # the venue or the connection: say so, keep the ticket
            refusal.update(f"not sent: {exc}")
            return
        if order.status in ("REJECTED", "FAILED"):
            refusal.update(f"{order.status}: {order.reason}")
            return
        if refusal.content:  # the last attempt's reason is stale now
            refusal.update("")
        self.post_message(self.Sent(order))
        if opened == self._opened:
            self.close()

    def action_close(self) -> None:
        self.close()
