"""Coinbase Advanced Trade's order JSON, read into the engine's types and written from them.

Everything that knows Coinbase's REST shapes lives here: order configurations (both ways), order
objects from REST and the user channel, create/cancel/edit answers, fills, accounts and products.
Nothing outside `adapters/coinbase/` imports this module (an import-linter contract).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from cryptoj_tui.engine.adapters.base import CancelOutcome, EditOutcome, Placement, VenueOrder
from cryptoj_tui.engine.adapters.coinbase import answers
from cryptoj_tui.engine.adapters.coinbase.answers import (
    Account,
    CancelResult,
    CreateOrderAnswer,
    EditAnswer,
    EditError,
    FillEntry,
    Number,
    OrderState,
    OrderTerms,
    Product,
)
from cryptoj_tui.engine.adapters.coinbase.stream import UserOrder
from cryptoj_tui.engine.model import clip
from cryptoj_tui.engine.orders import (
    MAX_INTEGER_DIGITS,
    OrderError,
    OrderRequest,
    OrderSide,
    OrderType,
    VenueFill,
    VenueOrderUpdate,
    venue_number,
)
from cryptoj_tui.engine.portfolio import Balance
from cryptoj_tui.engine.risk import ProductRules

EDIT_UNSUPPORTED = frozenset({"ONLY_LIMIT_ORDER_EDITS_SUPPORTED"})
"""Edit refusals that say this order cannot be edited at all (not that this edit is wrong)."""
EDIT_ALREADY_DONE = "EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST"
"""The refusal of an edit that asks for what the order already is: a retried edit whose first
answer was lost, done."""


def _text(value: Decimal) -> str:
    return format(value, "f")


# -- requests ------------------------------------------------------------------------------


def order_configuration(request: OrderRequest) -> dict[str, Any]:
    """The venue's `order_configuration` for `request` (all numbers as strings)."""
    size = _text(request.size)
    price = _text(request.price) if request.price is not None else ""
    match request.type:
        case OrderType.MARKET if request.in_quote:
            if request.side is OrderSide.SELL:
                raise OrderError("Coinbase sizes a market sell in the base currency only (not quote_size)")
            return {"market_market_ioc": {"quote_size": size}}
        case OrderType.MARKET:
            return {"market_market_ioc": {"base_size": size}}
        case OrderType.LIMIT:
            return {"limit_limit_gtc": {"base_size": size, "limit_price": price, "post_only": request.post_only}}
        case OrderType.LIMIT_GTD:
            assert request.end_time is not None
            end = request.end_time.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return {
                "limit_limit_gtd": {
                    "base_size": size,
                    "limit_price": price,
                    "end_time": end,
                    "post_only": request.post_only,
                }
            }
        case OrderType.FOK:
            return {"limit_limit_fok": {"base_size": size, "limit_price": price}}
        case OrderType.IOC:
            return {"sor_limit_ioc": {"base_size": size, "limit_price": price}}
        case OrderType.STOP_LIMIT | OrderType.TAKE_PROFIT_LIMIT:
            assert request.stop_price is not None
            # A buy stop waits for the price to rise to it, a sell stop for it to fall; a
            # take-profit the other way round.
            rising = (request.side is OrderSide.BUY) == (request.type is OrderType.STOP_LIMIT)
            direction = "STOP_DIRECTION_STOP_UP" if rising else "STOP_DIRECTION_STOP_DOWN"
            return {
                "stop_limit_stop_limit_gtc": {
                    "base_size": size,
                    "limit_price": price,
                    "stop_price": _text(request.stop_price),
                    "stop_direction": direction,
                }
            }
        case OrderType.BRACKET:
            assert request.stop_price is not None
            return {
                "trigger_bracket_gtc": {
                    "base_size": size,
                    "limit_price": price,
                    "stop_trigger_price": _text(request.stop_price),
                }
            }
    raise AssertionError(request.type)  # pragma: no cover


def attached_configuration(request: OrderRequest) -> dict[str, Any] | None:
    """The venue's `attached_order_configuration` for an entry with a bracket, else None."""
    if request.take_profit is None or request.stop_loss is None:
        return None
    return {
        "trigger_bracket_gtc": {
            "limit_price": _text(request.take_profit),
            "stop_trigger_price": _text(request.stop_loss),
        }
    }


def request_from_order(data: object) -> OrderRequest:
    """The request behind a venue order object (its product, side and `order_configuration`).

    OrderError names what cannot be read, or a configuration this engine does not trade.
    """
    where = data.get("order_id", "?") if isinstance(data, dict) else "?"
    try:
        terms = answers.read(data, OrderTerms, "order")
        ((name, fields),) = terms.order_configuration.items()
        product_id, side = terms.product_id, terms.side
        size = fields.get("base_size")
        if size is None and name == "market_market_ioc" and fields.get("quote_size") is not None:
            return OrderRequest.parse(product_id, side, OrderType.MARKET, fields["quote_size"], in_quote=True)
        if size is None:
            raise OrderError(f"a {name} order without a base_size")
        price = fields.get("limit_price")
        post_only = fields.get("post_only") in (True, "true")
        attached = (terms.attached_order_configuration or {}).get("trigger_bracket_gtc") or {}
        take_profit, stop_loss = attached.get("limit_price"), attached.get("stop_trigger_price")
        parse = OrderRequest.parse
        match name:
            case "market_market_ioc":
                return parse(product_id, side, OrderType.MARKET, size, take_profit=take_profit, stop_loss=stop_loss)
            case "limit_limit_gtc":
                return parse(
                    product_id,
                    side,
                    OrderType.LIMIT,
                    size,
                    price,
                    post_only=post_only,
                    take_profit=take_profit,
                    stop_loss=stop_loss,
                )
            case "limit_limit_gtd":
                end = datetime.fromisoformat(str(fields["end_time"]).replace("Z", "+00:00"))
                return parse(product_id, side, OrderType.LIMIT_GTD, size, price, end_time=end, post_only=post_only)
            case "limit_limit_fok":
                return parse(product_id, side, OrderType.FOK, size, price)
            case "sor_limit_ioc":
                return parse(product_id, side, OrderType.IOC, size, price)
            case "stop_limit_stop_limit_gtc":
                rising = fields.get("stop_direction") == "STOP_DIRECTION_STOP_UP"
                kind = OrderType.STOP_LIMIT if rising == (side.upper() == "BUY") else OrderType.TAKE_PROFIT_LIMIT
                return parse(product_id, side, kind, size, price, stop_price=fields["stop_price"])
            case "trigger_bracket_gtc":
                return parse(product_id, side, OrderType.BRACKET, size, price, stop_price=fields["stop_trigger_price"])
        raise OrderError(f"order configuration {name!r} is not one this engine trades")
    except OrderError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise OrderError(f"venue order {where}: unreadable order configuration ({exc!r})") from None


# -- orders --------------------------------------------------------------------------------


def order_update(data: object) -> VenueOrderUpdate:
    """From a REST order object (decoded JSON, or its OrderState) or a user-channel order.
    ValueError names what is wrong: a field missing or of the wrong type, or a number that is
    not one, or is negative, infinite or 10^15 and over."""
    filled_text: Number
    average: Number
    value: Number | Decimal
    if isinstance(data, UserOrder):
        filled_text, average, value = data.cumulative_quantity, data.avg_price, data.filled_value
        state = OrderState(
            order_id=data.order_id,
            client_order_id=data.client_order_id,
            status=data.status,
            total_fees=data.total_fees,
            reject_reason=data.reject_reason,
        )
    else:
        state = data if isinstance(data, OrderState) else answers.read(data, OrderState, "order")
        filled_text, average, value = state.filled_size, state.average_filled_price, state.filled_value
    filled = venue_number("filled size", filled_text)
    if value in (None, ""):
        value = filled * venue_number("average price", average)
    return VenueOrderUpdate(
        order_id=state.order_id,
        client_order_id=state.client_order_id,
        status=state.status,
        filled_size=filled,
        filled_value=venue_number("filled value", value, limit=2 * MAX_INTEGER_DIGITS),
        total_fees=venue_number("total fees", state.total_fees, signed=True),
        reject_reason=clip(state.reject_reason or ""),
    )


def problem(exc: BaseException) -> str:
    """One line for why a venue object could not be read."""
    if isinstance(exc, KeyError):
        return f"no {exc.args[0]!r} field"
    if isinstance(exc, ArithmeticError):
        return f"a number in it cannot be read: {exc!r}"
    if isinstance(exc, ValueError):
        return str(exc)
    return f"unreadable ({exc!r})"


def venue_order(data: object) -> VenueOrder:
    """A REST order object read into the engine's words: its state and its request each read on
    their own, so one that cannot be read still leaves the other."""
    if not isinstance(data, dict):
        return VenueOrder("", "", "", "", None, f"an order object, not {type(data).__name__}")
    update: VenueOrderUpdate | None = None
    update_problem = request_problem = ""
    request: OrderRequest | None = None
    try:
        update = order_update(data)
    except (ValueError, ArithmeticError) as exc:
        update_problem = problem(exc)
    try:
        request = request_from_order(data)
    except OrderError as exc:
        request_problem = str(exc)
    return VenueOrder(
        order_id=str(data.get("order_id", "")),
        client_order_id=str(data.get("client_order_id", "")),
        product_id=str(data.get("product_id", "")),
        status=str(data.get("status", "")),
        update=update,
        update_problem=update_problem,
        request=request,
        request_problem=request_problem,
        originating_order_id=str(data.get("originating_order_id") or ""),
    )


# -- answers -------------------------------------------------------------------------------


def placement(answer: object) -> Placement:
    """A create-order answer: the order id it acknowledges, the venue's reason for refusing it,
    or, for an answer Coinbase does not give, what it was (the venue may still have acted)."""
    try:
        created = answers.read(answer, CreateOrderAnswer, "create order answer")
    except ValueError:
        created = None
    if created is not None and created.success and created.success_response and created.success_response.order_id:
        return Placement(order_id=created.success_response.order_id)
    if created is not None and not created.success:
        error = created.error_of()
        reason = clip(error.message or created.failure_reason or "rejected")
        code = clip(error.error or created.failure_reason, 60)
        return Placement(refusal=f"{code}: {reason}" if code and code != reason else reason)
    return Placement(unreadable=f"an answer that is not Coinbase's: {clip(repr(answer), 80)}")


def cancel_outcomes(results: object) -> list[CancelOutcome]:
    """A batch_cancel answer's `results`, one per order it names (others are left out: the
    caller counts an order without a result as not cancelled)."""
    outcomes = []
    for entry in results if isinstance(results, list) else []:
        try:
            result = answers.read(entry, CancelResult, "cancel result")
        except ValueError:
            continue
        reason = "" if result.success else clip(result.failure_reason or "refused")
        outcomes.append(CancelOutcome(result.order_id, result.success, reason))
    return outcomes


def edit_outcome(answer: object) -> EditOutcome:
    """An edit answer: done (an edit asking for what already is counts: a retried edit), or
    refused with the venue's reason, and whether that reason means no edit can be made."""
    try:
        edit = answers.read(answer, EditAnswer, "edit answer")
    except ValueError:
        edit = EditAnswer()
    first = edit.errors[0] if edit.errors else EditError()
    reason = clip(first.edit_failure_reason or first.preview_failure_reason, 80)
    if edit.success or reason == EDIT_ALREADY_DONE:
        return EditOutcome(done=True)
    return EditOutcome(done=False, reason=reason, unsupported=reason in EDIT_UNSUPPORTED)


def venue_fill(data: object) -> VenueFill:
    """From a `/orders/historical/fills` entry (ValueError names what is wrong)."""
    entry = answers.read(data, FillEntry, "fill")
    return VenueFill(
        trade_id=entry.trade_id,
        price=venue_number("price", entry.price),
        size=venue_number("size", entry.size),
        fee=venue_number("commission", entry.commission, signed=True),
        liquidity=(entry.liquidity_indicator or "").upper(),
    )


def venue_fills(entries: list[Any]) -> tuple[list[VenueFill], list[str]]:
    """Fills entries read, and a line for each that cannot be."""
    fills, problems = [], []
    for data in entries:
        try:
            fills.append(venue_fill(data))
        except (ValueError, ArithmeticError) as exc:
            problems.append(str(exc))
    return fills, problems


def balances(accounts: list[Any]) -> tuple[list[Balance], list[str]]:
    """The `/accounts` answer read, and a line for each account that cannot be."""
    read, problems = [], []
    for data in accounts:
        try:
            account = answers.read(data, Account, "account")
            read.append(
                Balance(
                    account.currency,
                    venue_number("available balance", account.available_balance.value),
                    venue_number("hold", account.hold.value),
                )
            )
        except (ValueError, ArithmeticError) as exc:
            name = data.get("currency", "?") if isinstance(data, dict) else "?"
            problems.append(f"account {name}: {exc}")
    return read, problems


def product_rules(products: list[Any]) -> tuple[dict[str, ProductRules], list[str]]:
    """The `/products` answer's increments and size bounds, and a line for each product that
    cannot be read."""
    rules, problems = {}, []
    for data in products:
        try:
            product = answers.read(data, Product, "product")
            increment = (
                product.price_increment if product.price_increment not in (None, "") else product.quote_increment
            )
            rules[product.product_id] = ProductRules(
                price_increment=venue_number("price_increment", increment),
                base_increment=venue_number("base_increment", product.base_increment),
                base_min_size=venue_number("base_min_size", product.base_min_size),
                base_max_size=venue_number("base_max_size", product.base_max_size),
                min_notional=venue_number("quote_min_size", product.quote_min_size),
                quote_increment=venue_number("quote_increment", product.quote_increment),
                quote_sized_sells=False,  # market_market_ioc's quote_size is a buy's
            )
        except (ValueError, ArithmeticError) as exc:
            name = data.get("product_id") if isinstance(data, dict) else None
            problems.append(f"product {name}: bad {exc}")
    return rules, problems
