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
        case OrderType.STOP_LIMIT:
            assert request.stop_price is not None
            # A buy stop waits for the price to rise to it, a sell stop for it to fall.
            direction = "STOP_DIRECTION_STOP_UP" if request.side is OrderSide.BUY else "STOP_DIRECTION_STOP_DOWN"
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


def request_from_order(data: dict[str, Any]) -> OrderRequest:
    """The request behind a venue order object (its product, side and `order_configuration`).

    OrderError names what cannot be read, or a configuration this engine does not trade
    (a market order sized in quote currency, a type it does not know).
    """
    try:
        ((name, fields),) = dict(data["order_configuration"]).items()
        product_id, side = str(data["product_id"]), str(data["side"])
        size = fields.get("base_size")
        if size is None:
            raise OrderError(f"a {name} order without a base_size (sized in quote currency)")
        price = fields.get("limit_price")
        post_only = fields.get("post_only") in (True, "true")
        attached = dict(data.get("attached_order_configuration") or {}).get("trigger_bracket_gtc") or {}
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
                return parse(product_id, side, OrderType.STOP_LIMIT, size, price, stop_price=fields["stop_price"])
            case "trigger_bracket_gtc":
                return parse(product_id, side, OrderType.BRACKET, size, price, stop_price=fields["stop_trigger_price"])
        raise OrderError(f"order configuration {name!r} is not one this engine trades")
    except OrderError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise OrderError(f"venue order {data.get('order_id', '?')}: unreadable order configuration ({exc!r})") from None


# -- orders --------------------------------------------------------------------------------


def order_update(data: dict[str, Any]) -> VenueOrderUpdate:
    """From a REST order object or a user-channel order (KeyError/ValueError if malformed,
    a number that is not one, or is negative, infinite or 10^15 and over included)."""
    filled = venue_number("filled size", data.get("filled_size", data.get("cumulative_quantity", "0")))
    value = data.get("filled_value")
    if value in (None, ""):
        price = venue_number("average price", data.get("average_filled_price", data.get("avg_price", "0")))
        value = filled * price
    return VenueOrderUpdate(
        order_id=str(data["order_id"]),
        client_order_id=str(data.get("client_order_id", "")),
        status=str(data["status"]),
        filled_size=filled,
        filled_value=venue_number("filled value", value, limit=2 * MAX_INTEGER_DIGITS),
        total_fees=venue_number("total fees", data.get("total_fees", "0"), signed=True),
        reject_reason=clip(str(data.get("reject_reason", "") or "")),
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
    except (KeyError, ValueError, ArithmeticError, TypeError, AttributeError) as exc:
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
    if isinstance(answer, dict) and isinstance(answer.get("success"), bool):
        if answer["success"]:
            response = answer.get("success_response")
            order_id = response.get("order_id") if isinstance(response, dict) else None
            if isinstance(order_id, str) and order_id:
                return Placement(order_id=order_id)
        else:
            error = answer.get("error_response")
            error = error if isinstance(error, dict) else {}
            reason = clip(str(error.get("message") or answer.get("failure_reason") or "rejected"))
            code = clip(str(error.get("error") or answer.get("failure_reason") or ""), 60)
            return Placement(refusal=f"{code}: {reason}" if code and code != reason else reason)
    return Placement(unreadable=f"an answer that is not Coinbase's: {clip(repr(answer), 80)}")


def cancel_outcomes(results: object) -> list[CancelOutcome]:
    """A batch_cancel answer's `results`, one per order it names (others are left out: the
    caller counts an order without a result as not cancelled)."""
    outcomes = []
    for result in results if isinstance(results, list) else []:
        if not isinstance(result, dict):
            continue
        cancelled = bool(result.get("success"))
        reason = "" if cancelled else clip(str(result.get("failure_reason", "refused")))
        outcomes.append(CancelOutcome(str(result.get("order_id")), cancelled, reason))
    return outcomes


def edit_outcome(answer: object) -> EditOutcome:
    """An edit answer: done (an edit asking for what already is counts: a retried edit), or
    refused with the venue's reason, and whether that reason means no edit can be made."""
    answer = answer if isinstance(answer, dict) else {}
    errors = answer.get("errors") or []
    first = errors[0] if isinstance(errors, list) and errors and isinstance(errors[0], dict) else {}
    reason = clip(str(first.get("edit_failure_reason") or first.get("preview_failure_reason") or ""), 80)
    if answer.get("success") or reason == EDIT_ALREADY_DONE:
        return EditOutcome(done=True)
    return EditOutcome(done=False, reason=reason, unsupported=reason in EDIT_UNSUPPORTED)


def venue_fill(data: dict[str, Any]) -> VenueFill:
    """From a `/orders/historical/fills` entry (KeyError/ArithmeticError if malformed)."""
    return VenueFill(
        trade_id=str(data["trade_id"]),
        price=Decimal(str(data["price"])),
        size=Decimal(str(data["size"])),
        fee=Decimal(str(data.get("commission") or "0")),
        liquidity=str(data.get("liquidity_indicator") or "").upper(),
    )


def venue_fills(entries: list[Any]) -> tuple[list[VenueFill], list[str]]:
    """Fills entries read, and a line for each that cannot be."""
    fills, problems = [], []
    for data in entries:
        try:
            fills.append(venue_fill(data))
        except (KeyError, ArithmeticError, ValueError, TypeError) as exc:
            problems.append(repr(exc))
    return fills, problems


def balances(accounts: list[Any]) -> tuple[list[Balance], list[str]]:
    """The `/accounts` answer read, and a line for each account that cannot be."""
    read, problems = [], []
    for account in accounts:
        try:
            read.append(
                Balance(
                    str(account["currency"]),
                    Decimal(str(account["available_balance"]["value"])),
                    Decimal(str(account["hold"]["value"])),
                )
            )
        except (KeyError, TypeError, ArithmeticError, ValueError) as exc:
            problems.append(f"account {account.get('currency', '?') if isinstance(account, dict) else '?'}: {exc!r}")
    return read, problems


def product_rules(products: list[Any]) -> tuple[dict[str, ProductRules], list[str]]:
    """The `/products` answer's increments and size bounds, and a line for each product that
    cannot be read."""
    rules, problems = {}, []
    for product in products:
        try:
            rules[str(product["product_id"])] = ProductRules(
                price_increment=Decimal(str(product.get("price_increment") or product["quote_increment"])),
                base_increment=Decimal(str(product["base_increment"])),
                base_min_size=Decimal(str(product["base_min_size"])),
                base_max_size=Decimal(str(product["base_max_size"])),
            )
        except (KeyError, ArithmeticError, ValueError, TypeError, AttributeError) as exc:
            name = product.get("product_id") if isinstance(product, dict) else None
            problems.append(f"product {name}: bad {exc}")
    return rules, problems
