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

    def __post_init__(self) -> None:
        # A spec that breaks its own increments makes a venue whose first quote is refused.
        problems = [
            f"{name} {value} must be above 0"
            for name, value in (
                ("base_increment", self.base_increment),
                ("quote_increment", self.quote_increment),
                ("base_min_size", self.base_min_size),
                ("start_price", self.start_price),
                ("typical_notional", self.typical_notional),
            )
            if not value > 0
        ]
        if not problems:
            if self.base_min_size > self.base_max_size:
                problems.append(f"base_min_size {self.base_min_size} is over base_max_size {self.base_max_size}")
            if self.base_min_size % self.base_increment:
                problems.append(f"base_min_size {self.base_min_size} is not a multiple of {self.base_increment}")
            if self.start_price % self.quote_increment:
                problems.append(f"start_price {self.start_price} is not a multiple of {self.quote_increment}")
        if problems:
            raise ValueError(f"product {self.product_id}: {problems[0]}")

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

# More markets, for a watchlist of many products (and its benchmark): the increments are of the
# kinds Coinbase uses, and the prices round numbers near theirs; neither was checked against the
# venue's current listing, so these stand for "a market like it", not for the real product.
_MORE = (
    ("ADA-USD", "0.00000001", "0.0001", "0.45", "400"),
    ("AVAX-USD", "0.00000001", "0.01", "25.00", "500"),
    ("BCH-USD", "0.00000001", "0.01", "350.00", "600"),
    ("DOGE-USD", "0.1", "0.00001", "0.12", "300"),
    ("DOT-USD", "0.00000001", "0.001", "5.500", "300"),
    ("LINK-USD", "0.00000001", "0.001", "13.000", "400"),
    ("LTC-USD", "0.00000001", "0.01", "70.00", "500"),
    ("XRP-USD", "0.000001", "0.0001", "0.55", "500"),
    ("ATOM-USD", "0.0001", "0.001", "6.500", "300"),
    ("UNI-USD", "0.000001", "0.001", "7.000", "300"),
    ("AAVE-USD", "0.001", "0.01", "150.00", "500"),
    ("ALGO-USD", "0.1", "0.0001", "0.15", "200"),
    ("XLM-USD", "1", "0.000001", "0.100000", "200"),
    ("FIL-USD", "0.001", "0.001", "4.000", "200"),
    ("NEAR-USD", "0.001", "0.001", "5.000", "300"),
    ("ETC-USD", "0.00000001", "0.01", "20.00", "300"),
    ("MATIC-USD", "0.1", "0.0001", "0.50", "300"),
)
ALL_PRODUCTS: dict[str, ProductSpec] = {
    **PRODUCTS,
    **{
        product_id: ProductSpec(
            product_id,
            Decimal(base_increment),
            Decimal(quote_increment),
            Decimal(base_increment),
            Decimal("100000000"),
            Decimal(price),
            Decimal(notional),
        )
        for product_id, base_increment, quote_increment, price, notional in _MORE
    },
}
"""Every product the paper venue can list (`--products` picks; the default lists `PRODUCTS`)."""


def format_decimal(value: Decimal) -> str:
    """The minimal text form the venue puts on the wire: "65160", "1919.5", "0"."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text
