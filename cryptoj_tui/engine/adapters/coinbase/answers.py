"""Coinbase Advanced Trade's REST answers as msgspec Structs, named after the API's objects.

Numbers stay text (Coinbase sends them as strings, "" where there is none yet): parsing.py reads
each into a Decimal with `venue_number`, which names the field in its one-line error. An order
is read as two Structs, its state and its request, so that one that cannot be read still leaves
the other (a reconcile can take an order's state without being able to trade its type).
"""

from __future__ import annotations

from typing import Any, TypeVar

import msgspec

Number = str | int | float | None
"""A number as an answer may carry it: read by `venue_number`, which refuses what is not one."""


T = TypeVar("T")


def read(data: object, kind: type[T], what: str) -> T:
    """`data` (decoded JSON) as `kind`; ValueError naming `what` and the first field that is wrong."""
    try:
        return msgspec.convert(data, kind)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{what}: {exc}") from None


class OrderState(msgspec.Struct, kw_only=True):
    """What an order object (GET /orders/historical/...) says of its state and totals."""

    order_id: str
    client_order_id: str = ""
    product_id: str = ""
    status: str
    filled_size: Number = "0"
    filled_value: Number = None
    average_filled_price: Number = "0"
    total_fees: Number = "0"
    reject_reason: str | None = ""
    originating_order_id: str | None = ""


class OrderTerms(msgspec.Struct, kw_only=True):
    """What an order object says of the order asked for: its product, side and configuration."""

    order_id: str = "?"
    product_id: str
    side: str
    order_configuration: dict[str, dict[str, Any]]
    attached_order_configuration: dict[str, dict[str, Any]] | None = None


class SuccessResponse(msgspec.Struct, kw_only=True):
    order_id: str


class ErrorResponse(msgspec.Struct, kw_only=True):
    error: str = ""
    message: str = ""
    error_details: str = ""


class CreateOrderAnswer(msgspec.Struct, kw_only=True):
    """POST /orders: acknowledged (`success_response`) or refused (`error_response`)."""

    success: bool
    success_response: SuccessResponse | None = None
    error_response: Any = None
    """Read on its own (`error_of`): a refusal whose details cannot be read is still a refusal."""
    failure_reason: str = ""

    def error_of(self) -> ErrorResponse:
        """The refusal's details, or none where they cannot be read."""
        try:
            return msgspec.convert(self.error_response, ErrorResponse)
        except msgspec.ValidationError:
            return ErrorResponse()


class CancelResult(msgspec.Struct, kw_only=True):
    """One entry of POST /orders/batch_cancel's `results`."""

    order_id: str
    success: bool = False
    failure_reason: str = ""


class EditError(msgspec.Struct, kw_only=True):
    edit_failure_reason: str = ""
    preview_failure_reason: str = ""


class EditAnswer(msgspec.Struct, kw_only=True):
    """POST /orders/edit."""

    success: bool = False
    errors: list[EditError] = []


class FillEntry(msgspec.Struct, kw_only=True):
    """One entry of GET /orders/historical/fills."""

    trade_id: str
    price: Number
    size: Number
    commission: Number = "0"
    liquidity_indicator: str | None = ""


class Amount(msgspec.Struct):
    value: Number


class Account(msgspec.Struct, kw_only=True):
    """One entry of GET /accounts."""

    currency: str
    available_balance: Amount
    hold: Amount


class Product(msgspec.Struct, kw_only=True):
    """One entry of GET /products (the fields the engine reads)."""

    product_id: str
    price_increment: Number = None
    quote_increment: Number = None
    base_increment: Number
    base_min_size: Number
    base_max_size: Number
    quote_min_size: Number = None
