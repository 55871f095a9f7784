"""The order ticket: what will be sent, what it costs, and which risk checks it passes.

It opens at the ladder's cursor price with the default size. Every edit re-runs the engine's
pre-trade checks (nothing is sent) and shows the preview; enter sends, escape closes. A refusal
keeps the ticket open with the reason, so the trader can fix the order and try again.
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
from textual.screen import ModalScreen
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


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text.replace(",", "").strip())
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _checks_lines(checks: list[str], width: int = 50) -> list[str]:
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


class OrderTicket(ModalScreen["Order | None"]):
    """A buy or sell ticket for one product."""

    DEFAULT_CSS = """
    OrderTicket { align: center middle; }
    OrderTicket > Vertical {
        width: 68; height: auto; padding: 1 2; background: $surface; border: thick $success;
    }
    OrderTicket.-sell > Vertical { border: thick $error; }
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
        *(Binding(key, f"quick_size('{size}')", f"size {size}", id=f"ticket.size_{key}") for key, size in QUICK_SIZES.items()),
    ]

    def __init__(self, product_id: str, side: str, price: Decimal | None, size: str, submit: Submit) -> None:
        super().__init__(classes="-sell" if side == "sell" else "")
        self.product_id = product_id
        self.side = side
        self._initial_price = price
        self._initial_size = size
        self._submit = submit
        self.result: CheckResult | None = None

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"{self.side.upper()} {self.product_id}", id="title")
            with Grid():
                yield Label("type")
                yield Select(((label, value) for value, label in TYPES), value="limit", allow_blank=False, id="type")
                yield Label("size")
                yield Input(self._initial_size, id="size")
                yield Label("limit price")
                yield Input("" if self._initial_price is None else f"{self._initial_price:f}", id="price")
                yield Label("stop price")
                yield Input("", id="stop", disabled=True)
            yield Static("", id="preview")
            yield Static("", id="refusal")
            yield Static("enter send · escape cancel · F1-F4 size 0.001/0.01/0.1/1", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#size", Input).focus()
        self._refresh_preview()

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
            lines.append(f"[b red]✗ {result.refusal}[/]")
        preview.update("\n".join(line for line in lines if line))

    @work(exclusive=True, group="send")
    async def action_send(self) -> None:
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

        refusal.update("sending…")
        try:
            order = await asyncio.wrap_future(self._submit(place))
        except (OrderRefusedError, OrderError) as exc:
            refusal.update(f"refused: {exc}")
            return
        except Exception as exc:  # the venue or the connection: say so, keep the ticket
            refusal.update(f"not sent: {exc}")
            return
        if order.status in ("REJECTED", "FAILED"):
            refusal.update(f"{order.status}: {order.reason}")
            return
        self.dismiss(order)

    def action_close(self) -> None:
        self.dismiss(None)
