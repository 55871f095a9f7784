"""How the console writes numbers: prices and sizes to the product's increments, quote amounts
to the cent, thousands separated, as the ladder writes them, on every screen.

Plain functions of exact Decimals (no UI imports), so every screen, the journal lines and the
toasts say the same number the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")
MAX_PLACES = 12
"""No product quotes finer than this; an increment finer still is shown to this many places."""


def places(increment: Decimal) -> int:
    """Decimal places of an increment: 0.01 -> 2, 0.00000001 -> 8, 1 -> 0, 0.5 -> 1."""
    exponent = increment.normalize().as_tuple().exponent
    return min(MAX_PLACES, max(0, -exponent)) if isinstance(exponent, int) else 2


def grouped(value: Decimal, decimals: int) -> str:
    """`value` to `decimals` places (half to even), thousands separated; never "-0.00"."""
    try:
        rounded = value.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_EVEN) + 0
    except InvalidOperation:  # too many digits to quantize at this precision: every digit it has
        return f"{value:,f}"
    return f"{rounded:,.{decimals}f}"


def to_cent(value: Decimal) -> Decimal:
    """`value` rounded to the cent (half to even, as formatting rounds), a negative zero made zero:
    a loss of less than half a cent is shown as no loss, "+0.00", not "-0.00"."""
    return value.quantize(CENT) + 0  # Decimal("-0.00") + 0 is Decimal("0.00")


def quote(value: Decimal) -> str:
    """A quote-currency amount (notional, fee, balance, a loss limit) to the cent."""
    return grouped(value, 2)


def money(value: Decimal) -> str:
    """PnL to the cent, with its sign."""
    return f"{to_cent(value):+,.2f}"


def pnl_style(value: Decimal) -> str:
    """Green for a gain, red for a loss (as shown: to the cent)."""
    shown = to_cent(value)
    return "green" if shown > 0 else "red" if shown < 0 else ""


@dataclass(frozen=True, slots=True)
class ProductFormat:
    """One product's increments, and its prices and sizes written to them.

    The defaults are what a dollar market of the paper venue and Coinbase use (cents, and
    satoshis for sizes), for a product whose rules the venue has not told us (no API key).
    """

    price_increment: Decimal = CENT
    base_increment: Decimal = Decimal("0.00000001")

    def price(self, value: Decimal | None) -> str:
        """A price to the product's price increment ("" for None)."""
        return "" if value is None else grouped(value, places(self.price_increment))

    def size(self, value: Decimal | None) -> str:
        """A base size to the product's base increment ("" for None)."""
        return "" if value is None else grouped(value, places(self.base_increment))

    def text_price(self, text: str) -> str:
        """A price given as the engine's text (an order snapshot's field); "" stays ""."""
        return self.price(_decimal(text))

    def text_size(self, text: str) -> str:
        """A size given as the engine's text; "" stays ""."""
        return self.size(_decimal(text))


def _decimal(text: str) -> Decimal | None:
    try:
        return Decimal(text) if text else None
    except InvalidOperation:
        return None


DEFAULT_FORMAT = ProductFormat()


def short_id(client_order_id: str) -> str:
    """An order id as the console shows it: its first eight characters."""
    return client_order_id[:8]
