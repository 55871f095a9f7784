"""Binance Spot's order vocabulary over the paper venue's exchange: new-order parameters in,
order, trade, account and exchangeInfo objects out, with Binance's filters and error codes.

Symbols are the venue's products without the dash (BTC-USD is BTCUSD). A Binance order id is a
number: each order's is taken from its UUID, so it is the same after a restart. The paper venue
charges every commission in the quote asset, and a fill-or-kill that cannot fill whole is
refused (-2010) rather than accepted and expired.
"""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from cryptoj_tui.sim.binance.errors import (
    BinanceApiError,
    filter_failure,
    illegal,
    mandatory,
    not_required,
    rejected,
    too_precise,
)
from cryptoj_tui.sim.exchange import Fill, Order
from cryptoj_tui.sim.products import ProductSpec, format_decimal

NUMBER = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?", re.ASCII)
CLIENT_ORDER_ID = re.compile(r"[a-zA-Z0-9\-_]{1,36}", re.ASCII)
ORDER_TYPES = ("LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
"""The order types the paper venue's Binance protocol takes (exchangeInfo lists these)."""
TIME_IN_FORCE = {"GTC": "limit_limit_gtc", "IOC": "sor_limit_ioc", "FOK": "limit_limit_fok"}
MIN_NOTIONAL = Decimal("1")
"""NOTIONAL's minNotional, in the quote asset (as the Coinbase side's min_market_funds)."""
MULTIPLIER_UP, MULTIPLIER_DOWN = Decimal("5"), Decimal("0.2")
"""PERCENT_PRICE_BY_SIDE: a limit price between these multiples of the last trade's price."""
REJECTIONS = {
    "INSUFFICIENT_FUND": "Account has insufficient balance for requested action.",
    "INVALID_LIMIT_PRICE_POST_ONLY": "Order would immediately match and take.",
    "INVALID_STOP_PRICE": "Stop price would trigger immediately.",
}
"""The exchange's refusals in Binance's words (-2010); any other keeps the exchange's own."""
FILTERS = {
    "INVALID_SIZE": "LOT_SIZE",
    "INVALID_SIZE_PRECISION": "LOT_SIZE",
    "INVALID_PRICE_PRECISION": "PRICE_FILTER",
    "INVALID_LIMIT_PRICE": "PRICE_FILTER",
}
"""The exchange's refusals that are a Binance filter failure (-1013)."""


def symbol_of(product_id: str) -> str:
    """BTC-USD -> BTCUSD."""
    return product_id.replace("-", "")


def number_of(order_id: str) -> int:
    """A Binance order id for one of the exchange's order ids (a UUID): its first 52 bits."""
    return int(uuid.UUID(order_id).hex[:13], 16)


def new_client_order_id() -> str:
    """What the venue names an order sent without `newClientOrderId` (Binance makes one up too)."""
    return "paper-" + secrets.token_hex(11)


def _number(params: Mapping[str, str], name: str) -> Decimal:
    text = params.get(name)
    if not text:
        raise mandatory(name)
    if not NUMBER.fullmatch(text):
        raise illegal(name)
    return Decimal(text)


def _required(params: Mapping[str, str], *names: str) -> None:
    for name in names:
        if not params.get(name):
            raise mandatory(name)


def _refused(params: Mapping[str, str], *names: str) -> None:
    for name in names:
        if name in params:
            raise not_required(name)


def check_filters(spec: ProductSpec, side: str, quantity: Decimal | None, price: Decimal | None, last: Decimal) -> None:
    """PRICE_FILTER, LOT_SIZE, NOTIONAL and PERCENT_PRICE_BY_SIDE, as exchangeInfo states them."""
    if price is not None and (price < spec.quote_increment or price % spec.quote_increment):
        raise filter_failure("PRICE_FILTER")
    if quantity is not None:
        if quantity % spec.base_increment or not spec.base_min_size <= quantity <= spec.base_max_size:
            raise filter_failure("LOT_SIZE")
        if quantity * (price if price is not None else last) < MIN_NOTIONAL:
            raise filter_failure("NOTIONAL")
    if price is not None and not last * MULTIPLIER_DOWN <= price <= last * MULTIPLIER_UP:
        raise filter_failure("PERCENT_PRICE_BY_SIDE")


def new_order_body(
    params: Mapping[str, str], product_id: str, spec: ProductSpec, last: Decimal
) -> tuple[dict[str, Any], str]:
    """The exchange's request for POST /api/v3/order's parameters, and the client order id;
    BinanceApiError with Binance's code for what Binance would refuse before matching."""
    side, kind = params.get("side", ""), params.get("type", "")
    if not side:
        raise mandatory("side")
    if side not in ("BUY", "SELL"):
        raise BinanceApiError(400, -1117, "Invalid side.")
    if not kind:
        raise mandatory("type")
    if kind not in ORDER_TYPES:
        raise BinanceApiError(400, -1116, "Invalid orderType.")
    client_order_id = params.get("newClientOrderId") or new_client_order_id()
    if not CLIENT_ORDER_ID.fullmatch(client_order_id):
        raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'newClientOrderId'.")
    body: dict[str, Any] = {"client_order_id": client_order_id, "product_id": product_id, "side": side}
    if kind == "MARKET":
        _refused(params, "timeInForce", "price", "stopPrice")
        if "quantity" in params and "quoteOrderQty" in params:
            raise not_required("quoteOrderQty")
        if "quoteOrderQty" in params:
            quote = _number(params, "quoteOrderQty")
            if quote % Decimal(1).scaleb(-quote_places(spec)):
                raise too_precise("quoteOrderQty")
            if quote < MIN_NOTIONAL:
                raise filter_failure("NOTIONAL")
            body["order_configuration"] = {"market_market_ioc": {"quote_size": format_decimal(quote)}}
            return body, client_order_id
        if "quantity" not in params:
            raise BinanceApiError(
                400, -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
            )
        quantity = _number(params, "quantity")
        check_filters(spec, side, quantity, None, last)
        body["order_configuration"] = {"market_market_ioc": {"base_size": format_decimal(quantity)}}
        return body, client_order_id
    _refused(params, "quoteOrderQty")
    quantity, price = _number(params, "quantity"), _number(params, "price")
    if kind == "LIMIT_MAKER":
        _refused(params, "timeInForce", "stopPrice")
        check_filters(spec, side, quantity, price, last)
        config = {"base_size": format_decimal(quantity), "limit_price": format_decimal(price), "post_only": True}
        body["order_configuration"] = {"limit_limit_gtc": config}
        return body, client_order_id
    _required(params, "timeInForce")
    time_in_force = params["timeInForce"]
    if time_in_force not in TIME_IN_FORCE:
        raise BinanceApiError(400, -1115, "Invalid timeInForce.")
    check_filters(spec, side, quantity, price, last)
    if kind == "LIMIT":
        _refused(params, "stopPrice")
        config = {"base_size": format_decimal(quantity), "limit_price": format_decimal(price)}
        body["order_configuration"] = {TIME_IN_FORCE[time_in_force]: config}
        return body, client_order_id
    if time_in_force != "GTC":
        raise BinanceApiError(400, -1115, "Invalid timeInForce.")  # the paper venue's stops are GTC only
    stop = _number(params, "stopPrice")
    check_filters(spec, side, None, stop, last)
    # STOP_LOSS_LIMIT wakes a buy when the price rises to the stop and a sell when it falls;
    # TAKE_PROFIT_LIMIT the other way round. One that would wake at once is refused.
    rising = (side == "BUY") == (kind == "STOP_LOSS_LIMIT")
    if (last >= stop) if rising else (last <= stop):
        raise rejected(REJECTIONS["INVALID_STOP_PRICE"])
    body["order_configuration"] = {
        "stop_limit_stop_limit_gtc": {
            "base_size": format_decimal(quantity),
            "limit_price": format_decimal(price),
            "stop_price": format_decimal(stop),
            "stop_direction": "STOP_DIRECTION_STOP_UP" if rising else "STOP_DIRECTION_STOP_DOWN",
        }
    }
    return body, client_order_id


def refusal(answer: Mapping[str, Any]) -> BinanceApiError:
    """The Binance error for the exchange's refusal of a new order."""
    error = answer.get("error_response") or {}
    name, message = str(error.get("error", "")), str(error.get("message", "rejected"))
    if name in FILTERS:
        return filter_failure(FILTERS[name])
    return rejected(REJECTIONS.get(name, message[:1].upper() + message[1:].rstrip(".") + "."))


# -- objects out ---------------------------------------------------------------------------


def type_of(order: Order) -> tuple[str, str]:
    """(type, timeInForce) of an exchange order in Binance's words."""
    name = order.configuration_name
    if name == "market_market_ioc":
        return "MARKET", "GTC"
    if name == "stop_limit_stop_limit_gtc":
        rising = order.stop_direction == "STOP_DIRECTION_STOP_UP"
        return ("STOP_LOSS_LIMIT" if rising == (order.side == "BUY") else "TAKE_PROFIT_LIMIT"), "GTC"
    if order.post_only:
        return "LIMIT_MAKER", "GTC"
    return "LIMIT", {"sor_limit_ioc": "IOC", "limit_limit_fok": "FOK"}.get(name, "GTC")


def status_of(order: Order) -> str:
    """An exchange order's state in Binance's words (an immediate order's unfilled rest EXPIRED)."""
    match order.status:
        case "PENDING":
            return "NEW"
        case "OPEN":
            return "PARTIALLY_FILLED" if order.filled_size else "NEW"
        case "FILLED":
            return "FILLED"
        case "CANCELLED":
            immediate = order.time_in_force in ("IMMEDIATE_OR_CANCEL", "FILL_OR_KILL")
            return "EXPIRED" if immediate else "CANCELED"
        case "EXPIRED":
            return "EXPIRED"
    return "REJECTED"


def millis(text: str) -> int:
    """Epoch milliseconds of the exchange's RFC 3339 times."""
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def order_json(order: Order) -> dict[str, Any]:
    """The order object of GET /api/v3/order, openOrders and allOrders."""
    kind, time_in_force = type_of(order)
    created = millis(order.created_time)
    updated = millis(order.last_update) if order.last_update else created
    return {
        "symbol": symbol_of(order.product_id),
        "orderId": number_of(order.order_id),
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
        "price": format_decimal(order.limit_price or Decimal(0)),
        "origQty": format_decimal(order.base_size or Decimal(0)),
        "executedQty": format_decimal(order.filled_size),
        "cummulativeQuoteQty": format_decimal(order.filled_value),
        "status": status_of(order),
        "timeInForce": time_in_force,
        "type": kind,
        "side": order.side,
        "stopPrice": format_decimal(order.stop_price or Decimal(0)),
        "icebergQty": "0",
        "time": created,
        "updateTime": updated,
        "isWorking": order.status == "OPEN" and (not order.is_stop or order.triggered),
        "workingTime": created,
        "origQuoteOrderQty": format_decimal(order.quote_size or Decimal(0)),
        "selfTradePreventionMode": "NONE",
    }


def trade_json(order: Order, fill: Fill) -> dict[str, Any]:
    """One entry of GET /api/v3/myTrades."""
    quote = order.product_id.split("-")[1]
    return {
        "symbol": symbol_of(order.product_id),
        "id": int(fill.entry_id),
        "orderId": number_of(order.order_id),
        "orderListId": -1,
        "price": format_decimal(fill.price),
        "qty": format_decimal(fill.size),
        "quoteQty": format_decimal(fill.price * fill.size),
        "commission": format_decimal(fill.commission),
        "commissionAsset": quote,
        "time": millis(fill.trade_time),
        "isBuyer": order.side == "BUY",
        "isMaker": fill.liquidity_indicator == "MAKER",
        "isBestMatch": True,
    }


def execution_report(
    order: Order,
    execution_type: str,
    event_ms: int,
    *,
    fill: Fill | None = None,
    filled: Decimal | None = None,
    filled_quote: Decimal | None = None,
    status: str | None = None,
    cancel_client_order_id: str = "",
) -> dict[str, Any]:
    """The user data stream's `executionReport` for one change of `order` (a trade's report
    carries the totals as of that trade, and its own price, size and commission)."""
    kind, time_in_force = type_of(order)
    quote = order.product_id.split("-")[1]
    return {
        "e": "executionReport",
        "E": event_ms,
        "s": symbol_of(order.product_id),
        "c": cancel_client_order_id or order.client_order_id,
        "S": order.side,
        "o": kind,
        "f": time_in_force,
        "q": format_decimal(order.base_size or Decimal(0)),
        "p": format_decimal(order.limit_price or Decimal(0)),
        "P": format_decimal(order.stop_price or Decimal(0)),
        "F": "0",
        "g": -1,
        "C": order.client_order_id if cancel_client_order_id else "",
        "x": execution_type,
        "X": status or status_of(order),
        "r": "NONE",
        "i": number_of(order.order_id),
        "l": format_decimal(fill.size) if fill else "0",
        "z": format_decimal(order.filled_size if filled is None else filled),
        "L": format_decimal(fill.price) if fill else "0",
        "n": format_decimal(fill.commission) if fill else "0",
        "N": quote if fill else None,
        "T": event_ms,
        "t": int(fill.entry_id) if fill else -1,
        "w": order.status == "OPEN",
        "m": bool(fill and fill.liquidity_indicator == "MAKER"),
        "O": millis(order.created_time),
        "Z": format_decimal(order.filled_value if filled_quote is None else filled_quote),
        "Y": format_decimal(fill.price * fill.size) if fill else "0",
        "Q": format_decimal(order.quote_size or Decimal(0)),
        "W": millis(order.created_time),
        "V": "NONE",
    }


def quote_places(spec: ProductSpec) -> int:
    """Decimal places of a quote amount: the product's quote increment's (0.01: 2)."""
    exponent = spec.quote_increment.normalize().as_tuple().exponent
    return max(-exponent, 0) if isinstance(exponent, int) else 0


def exchange_symbol(spec: ProductSpec) -> dict[str, Any]:
    """One symbol of GET /api/v3/exchangeInfo."""
    tick, step = format_decimal(spec.quote_increment), format_decimal(spec.base_increment)
    return {
        "symbol": symbol_of(spec.product_id),
        "status": "TRADING",
        "baseAsset": spec.base_currency,
        "baseAssetPrecision": 8,
        "quoteAsset": spec.quote_currency,
        "quotePrecision": quote_places(spec),
        "quoteAssetPrecision": quote_places(spec),
        "orderTypes": list(ORDER_TYPES),
        "icebergAllowed": False,
        "ocoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {"filterType": "PRICE_FILTER", "minPrice": tick, "maxPrice": "1000000000", "tickSize": tick},
            {
                "filterType": "LOT_SIZE",
                "minQty": format_decimal(spec.base_min_size),
                "maxQty": format_decimal(spec.base_max_size),
                "stepSize": step,
            },
            {
                "filterType": "MARKET_LOT_SIZE",
                "minQty": format_decimal(spec.base_min_size),
                "maxQty": format_decimal(spec.base_max_size),
                "stepSize": step,
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": format_decimal(MIN_NOTIONAL),
                "applyMinToMarket": True,
                "maxNotional": "9000000000",
                "applyMaxToMarket": False,
                "avgPriceMins": 0,
            },
            {
                "filterType": "PERCENT_PRICE_BY_SIDE",
                "bidMultiplierUp": format_decimal(MULTIPLIER_UP),
                "bidMultiplierDown": format_decimal(MULTIPLIER_DOWN),
                "askMultiplierUp": format_decimal(MULTIPLIER_UP),
                "askMultiplierDown": format_decimal(MULTIPLIER_DOWN),
                "avgPriceMins": 0,
            },
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }
