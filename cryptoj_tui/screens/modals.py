"""Modal dialogs: a yes/no confirmation, an order edit, a replay's go-to time, quitting, the
kill switch's report, and the product picker."""

from __future__ import annotations

from datetime import datetime
from datetime import time as time_of_day
from decimal import Decimal, InvalidOperation
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.fuzzy import Matcher
from textual.screen import ModalScreen
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option, OptionDoesNotExist

from cryptoj_tui.engine.emergency import KillReport
from cryptoj_tui.formats import ProductFormat, short_id
from cryptoj_tui.views import OrderRow
from cryptoj_tui.widgets.typed_keys import after_typed_keys

EditChoice = tuple[Decimal | None, Decimal | None]
"""A new (price, total size) for an order; None where it stays as it is."""


class ConfirmScreen(ModalScreen[bool]):
    """Ask before doing something that matters; `y`/enter confirms, `n`/escape declines."""

    DEFAULT_CSS = """
    ConfirmScreen { align: center middle; }
    ConfirmScreen > Vertical {
        width: 64; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    ConfirmScreen #question { margin-bottom: 1; }
    ConfirmScreen Horizontal { height: auto; align: right middle; }
    ConfirmScreen Button { margin-left: 2; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("y,enter", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n,escape", "answer(False)", "No", id="confirm.no"),
    ]

    def __init__(self, question: str, yes: str = "Yes") -> None:
        super().__init__()
        self.question = question
        self.yes = yes

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question")
            with Horizontal():
                yield Button(f"{self.yes} (y)", variant="warning", id="yes")
                yield Button("No (n)", id="no")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(event.button.id == "yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class EditOrderScreen(ModalScreen[EditChoice | None]):
    """A working order's new price and total size: enter sends, escape leaves it as it is.

    Dismissed with (price, size), each None where unchanged, or None when nothing is to change.
    """

    DEFAULT_CSS = """
    EditOrderScreen { align: center middle; }
    EditOrderScreen > Vertical {
        width: 64; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    EditOrderScreen Input { margin-bottom: 1; }
    EditOrderScreen #problem { color: $text-muted; height: auto; }
    EditOrderScreen #problem.-bad { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "leave", "Leave the order as it is", id="edit.leave"),
    ]

    def __init__(self, row: OrderRow, fmt: ProductFormat) -> None:
        super().__init__()
        self.row = row
        self.fmt = fmt

    def compose(self) -> ComposeResult:
        row = self.row
        with Vertical():
            yield Static(
                f"Edit {row.side} {row.product_id} {row.type} · {short_id(row.client_order_id)}"
                f"\nfilled {self.fmt.size(row.filled_size)} of {self.fmt.size(row.size)};"
                " the size is the order's new total",
                id="about",
            )
            yield Static("price")
            yield Input(value="" if row.price is None else f"{row.price:f}", id="price")
            yield Static("size")
            yield Input(value=f"{row.size:f}", id="size")
            yield Static("enter sends the edit · escape leaves it", id="problem")

    def on_input_submitted(self, _: Input.Submitted) -> None:
        try:
            price = Decimal(self.query_one("#price", Input).value.strip().replace(",", ""))
            size = Decimal(self.query_one("#size", Input).value.strip().replace(",", ""))
        except InvalidOperation:
            self._problem("price and size must be numbers")
            return
        if not (price.is_finite() and size.is_finite()) or price <= 0 or size <= 0:
            self._problem("price and size must be above 0")
            return
        if size <= self.row.filled_size:
            self._problem(f"the size must stay above what filled ({self.row.filled_size:f})")
            return
        new_price = None if price == self.row.price else price
        new_size = None if size == self.row.size else size
        self.dismiss(None if new_price is None and new_size is None else (new_price, new_size))

    def _problem(self, text: str) -> None:
        problem = self.query_one("#problem", Static)
        problem.update(text)
        problem.set_class(True, "-bad")

    def action_leave(self) -> None:
        self.dismiss(None)


class GotoTimeScreen(ModalScreen[datetime | None]):
    """A time of day (UTC) in the recording to go to: enter goes, escape stays."""

    DEFAULT_CSS = """
    GotoTimeScreen { align: center middle; }
    GotoTimeScreen > Vertical {
        width: 48; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    GotoTimeScreen #problem { color: $text-muted; height: auto; }
    GotoTimeScreen #problem.-bad { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "stay", "Stay", id="goto.stay")]

    def __init__(self, now: datetime) -> None:
        super().__init__()
        self.now = now
        """Where the replay is: its date is the day the time is read on."""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(f"Go to a time of {self.now:%Y-%m-%d} (UTC), HH:MM or HH:MM:SS")
            yield Input(value=f"{self.now:%H:%M:%S}", id="time")
            yield Static("enter goes · escape stays", id="problem")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        try:
            wanted = time_of_day.fromisoformat(event.value.strip())
        except ValueError:
            problem = self.query_one("#problem", Static)
            problem.update(f"{event.value.strip()!r} is not HH:MM or HH:MM:SS")
            problem.set_class(True, "-bad")
            return
        self.dismiss(datetime.combine(self.now.date(), wanted, tzinfo=self.now.tzinfo))

    def action_stay(self) -> None:
        self.dismiss(None)


class QuitScreen(ModalScreen[str | None]):
    """Quitting with orders working: say what becomes of them, and offer to cancel them first.

    Dismissed with "cancel" (cancel every order, then quit), "quit" (leave them), or None (stay).
    """

    DEFAULT_CSS = """
    QuitScreen { align: center middle; }
    QuitScreen > Vertical {
        width: 72; max-width: 100%; height: auto; padding: 1 2;
        border: thick $warning; background: $surface;
    }
    QuitScreen #question { margin-bottom: 1; }
    QuitScreen Horizontal { height: auto; align: right middle; }
    QuitScreen Button { margin-left: 1; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("c", "answer('cancel')", "Cancel all and quit", id="quit.cancel_all"),
        Binding("y", "answer('quit')", "Quit, leave them", id="quit.leave"),
        Binding("n,escape", "answer(None)", "Stay", id="quit.stay"),
    ]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self.question, id="question")
            with Horizontal():
                yield Button("Cancel all and quit (c)", variant="warning", id="cancel")
                yield Button("Quit (y)", id="quit")
                yield Button("Stay (n)", id="stay")

    def on_button_pressed(self, event: Button.Pressed) -> None:
        self.dismiss(None if event.button.id == "stay" else event.button.id)

    def action_answer(self, answer: str | None) -> None:
        self.dismiss(answer)


class KillReportScreen(ModalScreen[None]):
    """What the kill switch did: orders cancelled, and any it could not cancel."""

    DEFAULT_CSS = """
    KillReportScreen { align: center middle; }
    KillReportScreen > Vertical {
        width: 72; height: auto; max-height: 80%; padding: 1 2;
        border: thick $error; background: $surface;
    }
    KillReportScreen #title { text-style: bold; color: $error; margin-bottom: 1; }
    KillReportScreen #failed { color: $error; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape,enter", "dismiss", "Close", id="report.close")]

    def __init__(self, report: KillReport) -> None:
        super().__init__()
        self.report = report

    def compose(self) -> ComposeResult:
        report = self.report
        with Vertical():
            yield Static("TRADING HALTED", id="title")
            yield Static(f"reason: {report.reason}")
            yield Static(
                f"{len(report.cancelled)} order(s) cancelled and confirmed by the venue "
                f"in {report.seconds * 1000:.0f} ms; new orders refused after "
                f"{report.refusing_after * 1e6:.0f} µs",
                id="cancelled",
            )
            if report.flattened:
                yield Static(f"{len(report.flattened)} order(s) sent to flatten positions")
            if report.failed:
                lines = "\n".join(f"  {client_id[:8]}: {why}" for client_id, why in report.failed)
                yield Static(f"{len(report.failed)} order(s) could NOT be cancelled:\n{lines}", id="failed")
            yield Static("\nRe-arm with ctrl+r when it is safe.   enter: close", classes="hint")

    async def action_dismiss(self, result: None = None) -> None:
        self.dismiss(result)


def matching_products(products: list[str], query: str) -> list[str]:
    """The products `query` matches, best first (fuzzy, as the command palette; all when empty)."""
    query = query.strip()
    if not query:
        return list(products)
    matcher = Matcher(query)
    scored = [(matcher.match(product), n, product) for n, product in enumerate(products)]
    return [product for score, _, product in sorted(scored, key=lambda s: (-s[0], s[1])) if score > 0]


class ProductPickerScreen(ModalScreen[str | None]):
    """Pick a product (to trade, or to watch): type to narrow the venue's list, enter picks,
    escape stays.

    The app keeps one, installed, and `prepare`s it for each pick: a picker made and removed
    each time restyled its search field as it went (its blur), in the frame that draws the
    product picked, which took a tenth of the switch.
    """

    DEFAULT_CSS = """
    ProductPickerScreen { align: center middle; }
    ProductPickerScreen > Vertical {
        width: 48; height: auto; max-height: 80%; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    ProductPickerScreen OptionList { height: auto; max-height: 16; margin-top: 1; }
    ProductPickerScreen #none { color: $text-muted; height: auto; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "stay", "Stay", id="picker.stay"),
        # Priority: the search field has focus and would only post Submitted for us to act on.
        Binding("enter", "pick", "Pick", priority=True, id="picker.pick"),
        Binding("down", "move(1)", "Next", show=False, id="picker.next"),
        Binding("up", "move(-1)", "Previous", show=False, id="picker.previous"),
    ]

    def __init__(self, products: list[str], current: str, question: str = "Trade which product?") -> None:
        super().__init__()
        self.products = sorted(products)
        self.current = current
        self.question = question
        self._narrowed_for = ""

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(self._title(), id="question")
            yield Input(placeholder="type to search, e.g. eth", id="query")
            yield OptionList(*self._options(self.products), id="products")
            yield Static("", id="none")

    def _title(self) -> str:
        return f"{self.question} (now {self.current})"

    def prepare(self, products: list[str], current: str, question: str) -> None:
        """Ask afresh: the venue's list as it is now, nothing typed, the current one highlighted."""
        self.products, self.current, self.question = sorted(products), current, question
        if not self.is_mounted:
            return  # composed from these when first shown
        self.query_one("#question", Static).update(self._title())
        self.query_one("#query", Input).value = ""
        self._narrow("")

    def _options(self, products: list[str]) -> list[Option]:
        return [Option(f"{p}  ← now" if p == self.current else p, id=p) for p in products]

    def on_mount(self) -> None:
        self._highlight(self.current)

    def _highlight(self, product_id: str) -> None:
        options = self.query_one("#products", OptionList)
        try:
            options.highlighted = options.get_option_index(product_id)
        except OptionDoesNotExist:  # not in the list: the first one then
            options.highlighted = 0 if options.option_count else None

    def on_input_changed(self, event: Input.Changed) -> None:
        self._narrow(event.value)

    def _narrow(self, query: str) -> None:
        self._narrowed_for = query
        found = matching_products(self.products, query)
        options = self.query_one("#products", OptionList)
        options.clear_options()
        options.add_options(self._options(found))
        if query.strip():
            options.highlighted = 0 if found else None
        else:  # nothing typed (or all of it deleted): where it opened, on the current one
            self._highlight(self.current)
        self.query_one("#none", Static).update("" if found else f"no product matches {query.strip()!r}")

    def action_pick(self) -> None:
        """The highlighted product, once the letters typed before enter are in the search."""
        after_typed_keys(self, self._pick)

    def _pick(self) -> None:
        if not self.is_active:
            return  # picked or left already (two enters in a burst)
        # The search field's Changed message for the last letters can still be on its way.
        query = self.query_one("#query", Input).value
        if query != self._narrowed_for:
            self._narrow(query)
        options = self.query_one("#products", OptionList)
        if options.highlighted is not None:
            self.dismiss(options.get_option_at_index(options.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        self.dismiss(event.option.id)

    def action_move(self, steps: int) -> None:
        options = self.query_one("#products", OptionList)
        if options.option_count:
            options.highlighted = ((options.highlighted or 0) + steps) % options.option_count

    def action_stay(self) -> None:
        self.dismiss(None)
