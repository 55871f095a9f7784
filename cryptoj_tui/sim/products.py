"""The products the paper venue lists, with the real venue's increments and limits."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class ProductSpec:
    """One spot product: increments, size limits and where its synthetic price starts."""

    product_id: str
    base_increment: Decimal
    quote_increment: Decimal
    base_min_size: Decimal
    base_max_size: Decimal
    start_price: Decimal
    typical_notional: Decimal
    """Median notional of a synthetic order, in quote currency."""

    @property
    def base_currency(self) -> str:
        """e.g. BTC for BTC-USD."""
        return self.product_id.split("-")[0]

    @property
    def quote_currency(self) -> str:
        """e.g. USD for BTC-USD."""
        return self.product_id.split("-")[1]


PRODUCTS: dict[str, ProductSpec] = {
    spec.product_id: spec
    for spec in (
        ProductSpec(
            "BTC-USD",
            Decimal("0.00000001"),
            Decimal("0.01"),
            Decimal("0.00000001"),
            Decimal("3400"),
            Decimal("65000.00"),
            Decimal("2500"),
        ),
        ProductSpec(
            "ETH-USD",
            Decimal("0.00000001"),
            Decimal("0.01"),
            Decimal("0.00000001"),
            Decimal("42000"),
            Decimal("1900.00"),
            Decimal("1500"),
        ),
        ProductSpec(
            "SOL-USD",
            Decimal("0.00000001"),
            Decimal("0.01"),
            Decimal("0.00000001"),
            Decimal("1000000"),
            Decimal("150.00"),
            Decimal("800"),
        ),
    )
}
"""Increments as Coinbase lists them for these spot products."""


def format_decimal(value: Decimal) -> str:
    """The minimal text form the venue puts on the wire: "65160", "1919.5", "0"."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
