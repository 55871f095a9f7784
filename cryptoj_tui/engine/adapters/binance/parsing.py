"""Binance Spot's REST and user-data JSON, read into the engine's types and written from them.

Answers are decoded into msgspec Structs named after Binance's own objects; what does not fit
its Struct is a one-line problem, never an exception out of the adapter. Products: the engine
names a product BASE-QUOTE (BTC-USDT), Binance a symbol (BTCUSDT); exchangeInfo's baseAsset and
quoteAsset map one to the other. An order's id in the engine is "SYMBOL:orderId", since every
Binance order call needs the symbol as well as the id. Nothing outside `adapters/binance/`
imports this module (an import-linter contract).
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from cryptoj_tui.engine.adapters.base import VenueOrder
from cryptoj_tui.engine.model import clip
from cryptoj_tui.engine.orders import (
    MAX_DECIMAL_PLACES,
    MAX_INTEGER_DIGITS,
    OrderError,
    OrderRequest,
    OrderType,
    VenueFill,
    VenueOrderUpdate,
    venue_number,
)
from cryptoj_tui.engine.portfolio import Balance
from cryptoj_tui.engine.risk import ProductRules

ZERO = Decimal(0)
STATUSES = {
    "NEW": "OPEN",
    "PARTIALLY_FILLED": "OPEN",
    "PENDING_NEW": "PENDING",
    "PENDING_CANCEL": "OPEN",
    "FILLED": "FILLED",
    "CANCELED": "CANCELLED",
    "EXPIRED": "EXPIRED",
    "EXPIRED_IN_MATCH": "EXPIRED",
    "REJECTED": "FAILED",
}
"""Binance's order states in the engine's words (orders.py)."""


class OrderAnswer(msgspec.Struct):
    """An order as `/api/v3/order` (GET, DELETE, and POST's RESULT/FULL) and `openOrders` give it."""

    symbol: str
    orderId: int
    clientOrderId: str = ""
    price: str = "0"
    origQty: str = "0"
    executedQty: str = "0"
    cummulativeQuoteQty: str = "0"
    status: str = ""
    timeInForce: str = ""
    type: str = ""
    side: str = ""
    stopPrice: str = "0"
    origQuoteOrderQty: str = "0"
    """A market order's quote amount (quoteOrderQty), 0 for one sized in quantity."""
    origClientOrderId: str = ""
    """On a cancel's answer: the cancelled order's own client id (clientOrderId is the cancel's)."""


class PlaceAnswer(msgspec.Struct):
    """POST /api/v3/order's ACK answer."""

    symbol: str
    orderId: int
    clientOrderId: str = ""


class TradeAnswer(msgspec.Struct):
    """One entry of `/api/v3/myTrades`."""

    id: int
    orderId: int
    price: str
    qty: str
    quoteQty: str
    commission: str
    commissionAsset: str
    isMaker: bool


class AssetBalance(msgspec.Struct):
    asset: str
    free: str
    locked: str


class AccountAnswer(msgspec.Struct):
    balances: list[AssetBalance]


class SymbolInfo(msgspec.Struct):
    symbol: str
    baseAsset: str
    quoteAsset: str
    status: str = "TRADING"
    filters: list[dict[str, object]] = []
    quoteAssetPrecision: int | None = None
    """Decimal places of a quote amount (a market order's quoteOrderQty)."""


class RateLimit(msgspec.Struct):
    rateLimitType: str
    interval: str
    intervalNum: int
    limit: int


class ExchangeInfo(msgspec.Struct):
    symbols: list[SymbolInfo]
    rateLimits: list[RateLimit] = []


def limits(info: ExchangeInfo) -> tuple[int | None, int | None]:
    """(request weight a minute, new orders in ten seconds) as the venue states them, if it does."""
    weight = orders = None
    for entry in info.rateLimits:
        if (entry.rateLimitType, entry.interval, entry.intervalNum) == ("REQUEST_WEIGHT", "MINUTE", 1):
            weight = entry.limit
        elif (entry.rateLimitType, entry.interval, entry.intervalNum) == ("ORDERS", "SECOND", 10):
            orders = entry.limit
    return weight, orders


def order_id(symbol: str, venue_id: int) -> str:
    """The engine's id of a Binance order."""
    return f"{symbol}:{venue_id}"


def split_order_id(engine_id: str) -> tuple[str, int]:
    """(symbol, orderId) of an engine order id; ValueError names it when it is not one of ours."""
    symbol, _, number = engine_id.partition(":")
    if not symbol or not number.isdigit():
        raise ValueError(f"{clip(engine_id, 40)!r} is not a Binance order id (SYMBOL:orderId)")
    return symbol, int(number)


def venue_number_or_zero(text: str) -> Decimal:
    """A quantity Binance sent, 0 when it cannot be read (the full read then says why)."""
    try:
        return venue_number("quantity", text)
    except ValueError:
        return ZERO


def _text(value: Decimal) -> str:
    return format(value, "f")


# -- requests ------------------------------------------------------------------------------


def order_params(client_order_id: str, symbol: str, request: OrderRequest) -> list[tuple[str, str]]:
    """POST /api/v3/order's parameters for `request`; OrderError for what Binance Spot cannot
    take as one order (a good-till-date, a bracket)."""
    params = [
        ("symbol", symbol),
        ("side", str(request.side)),
        ("newClientOrderId", client_order_id),
        ("newOrderRespType", "ACK"),
    ]
    size = _text(request.size)
    price = _text(request.price) if request.price is not None else ""
    if request.take_profit is not None or request.stop_loss is not None:
        raise OrderError("Binance Spot takes no bracket attached to an entry here (place the exits yourself)")
    match request.type:
        case OrderType.MARKET if request.in_quote:
            return [*params, ("type", "MARKET"), ("quoteOrderQty", size)]
        case OrderType.MARKET:
            return [*params, ("type", "MARKET"), ("quantity", size)]
        case OrderType.LIMIT if request.post_only:
            return [*params, ("type", "LIMIT_MAKER"), ("quantity", size), ("price", price)]
        case OrderType.LIMIT:
            return [*params, ("type", "LIMIT"), ("timeInForce", "GTC"), ("quantity", size), ("price", price)]
        case OrderType.FOK:
            return [*params, ("type", "LIMIT"), ("timeInForce", "FOK"), ("quantity", size), ("price", price)]
        case OrderType.IOC:
            return [*params, ("type", "LIMIT"), ("timeInForce", "IOC"), ("quantity", size), ("price", price)]
        case OrderType.STOP_LIMIT | OrderType.TAKE_PROFIT_LIMIT:
            assert request.stop_price is not None
            # STOP_LOSS_LIMIT: a buy wakes when the price rises to the stop, a sell when it falls;
            # TAKE_PROFIT_LIMIT the other way round.
            kind = "STOP_LOSS_LIMIT" if request.type is OrderType.STOP_LIMIT else "TAKE_PROFIT_LIMIT"
            return [
                *params,
                ("type", kind),
                ("timeInForce", "GTC"),
                ("quantity", size),
                ("price", price),
                ("stopPrice", _text(request.stop_price)),
            ]
        case OrderType.LIMIT_GTD:
            raise OrderError("Binance Spot has no good-till-date orders")
        case OrderType.BRACKET:
            raise OrderError("brackets on Binance Spot (its OCO order lists) are not supported yet")
    raise AssertionError(request.type)  # pragma: no cover


def request_from_order(order: OrderAnswer, product_id: str) -> OrderRequest:
    """The request behind a Binance order; OrderError names a type this engine does not trade."""
    side, size, price = order.side, order.origQty, order.price
    match order.type, order.timeInForce:
        case "MARKET", _:
            if Decimal(order.origQuoteOrderQty) > 0 or Decimal(size) == 0:  # sized by quoteOrderQty
                return OrderRequest.parse(product_id, side, OrderType.MARKET, order.origQuoteOrderQty, in_quote=True)
            return OrderRequest.parse(product_id, side, OrderType.MARKET, size)
        case "LIMIT_MAKER", _:
            return OrderRequest.parse(product_id, side, OrderType.LIMIT, size, price, post_only=True)
        case "LIMIT", "FOK":
            return OrderRequest.parse(product_id, side, OrderType.FOK, size, price)
        case "LIMIT", "IOC":
            return OrderRequest.parse(product_id, side, OrderType.IOC, size, price)
        case "LIMIT", _:
            return OrderRequest.parse(product_id, side, OrderType.LIMIT, size, price)
        case "STOP_LOSS_LIMIT", _:
            return OrderRequest.parse(product_id, side, OrderType.STOP_LIMIT, size, price, stop_price=order.stopPrice)
        case "TAKE_PROFIT_LIMIT", _:
            kind = OrderType.TAKE_PROFIT_LIMIT
            return OrderRequest.parse(product_id, side, kind, size, price, stop_price=order.stopPrice)
    raise OrderError(f"Binance order type {clip(order.type, 30)!r} is not one this engine trades")


# -- orders --------------------------------------------------------------------------------


def status(binance_status: str) -> str:
    """Binance's order state in the engine's words; ValueError for one Binance does not have."""
    try:
        return STATUSES[binance_status]
    except KeyError:
        raise ValueError(f"order status {clip(binance_status, 30)!r} is not one of Binance's") from None


def order_update(order: OrderAnswer, total_fees: Decimal) -> VenueOrderUpdate:
    """An order's state and totals (its fees come from its trades: an order does not carry them)."""
    return VenueOrderUpdate(
        order_id=order_id(order.symbol, order.orderId),
        client_order_id=order.origClientOrderId or order.clientOrderId,
        status=status(order.status),
        filled_size=venue_number("executedQty", order.executedQty),
        filled_value=venue_number("cummulativeQuoteQty", order.cummulativeQuoteQty, limit=2 * MAX_INTEGER_DIGITS),
        total_fees=total_fees,
    )


def venue_order(order: OrderAnswer, product_id: str, total_fees: Decimal = ZERO) -> VenueOrder:
    """A Binance order in the engine's words: its state and its request each read on their own."""
    update: VenueOrderUpdate | None = None
    update_problem = request_problem = ""
    request: OrderRequest | None = None
    try:
        update = order_update(order, total_fees)
    except (ValueError, ArithmeticError) as exc:
        update_problem = str(exc)
    try:
        request = request_from_order(order, product_id)
    except (OrderError, ValueError, ArithmeticError) as exc:
        request_problem = str(exc)
    return VenueOrder(
        order_id=order_id(order.symbol, order.orderId),
        client_order_id=order.origClientOrderId or order.clientOrderId,
        product_id=product_id,
        status=STATUSES.get(order.status, order.status),
        update=update,
        update_problem=update_problem,
        request=request,
        request_problem=request_problem,
    )


def fee_in_quote(commission: Decimal, asset: str, price: Decimal, base: str, quote: str) -> Decimal | None:
    """A commission in the quote currency: as is when charged in quote, at the trade's price when
    charged in base (Binance takes a buyer's fee from what it receives), None for another asset
    (a BNB discount): its value in quote is not known here."""
    if asset == quote or commission == 0:
        return commission
    if asset == base:
        return commission * price
    return None


def venue_fills(trades: list[TradeAnswer], base: str, quote: str) -> tuple[list[VenueFill], list[str]]:
    """myTrades entries read (newest first, as the protocol wants), and a line for each fee that
    cannot be valued in the quote currency (counted as 0)."""
    fills, problems = [], []
    for trade in sorted(trades, key=lambda t: t.id, reverse=True):
        price = venue_number("price", trade.price)
        commission = venue_number("commission", trade.commission)
        fee = fee_in_quote(commission, trade.commissionAsset, price, base, quote)
        if fee is None:
            problems.append(
                f"trade {trade.id}: fee {commission} {clip(trade.commissionAsset, 12)} not valued in {quote}; counted 0"
            )
            fee = ZERO
        fills.append(
            VenueFill(str(trade.id), price, venue_number("qty", trade.qty), fee, "MAKER" if trade.isMaker else "TAKER")
        )
    return fills, problems


def balances(account: AccountAnswer) -> tuple[list[Balance], list[str]]:
    """The account's balances, and a line for each that cannot be read."""
    read, problems = [], []
    for entry in account.balances:
        try:
            read.append(Balance(entry.asset, venue_number("free", entry.free), venue_number("locked", entry.locked)))
        except ValueError as exc:
            problems.append(f"balance {clip(entry.asset, 12)}: {exc}")
    return read, problems


def _filter(symbol: SymbolInfo, name: str) -> dict[str, object]:
    for entry in symbol.filters:
        if entry.get("filterType") == name:
            return entry
    raise ValueError(f"no {name} filter")


def _min_notional(symbol: SymbolInfo) -> Decimal:
    """NOTIONAL's minNotional (today's filter), else MIN_NOTIONAL's (the older one), else 0."""
    for name in ("NOTIONAL", "MIN_NOTIONAL"):
        try:
            return venue_number("minNotional", _filter(symbol, name).get("minNotional"))
        except ValueError as exc:
            if not str(exc).startswith("no "):
                raise
    return ZERO


def _quote_increment(symbol: SymbolInfo) -> Decimal:
    places = symbol.quoteAssetPrecision
    if places is None:
        return ZERO
    if not 0 <= places <= MAX_DECIMAL_PLACES:
        raise ValueError(f"quoteAssetPrecision {places} is not from 0 to {MAX_DECIMAL_PLACES}")
    return Decimal(1).scaleb(-places)


def product_rules(info: ExchangeInfo) -> tuple[dict[str, ProductRules], dict[str, SymbolInfo], list[str]]:
    """Each trading symbol's rules under its product id (PRICE_FILTER's tickSize, LOT_SIZE's
    stepSize, minQty and maxQty), the symbols by product id, and a line for each that cannot be read."""
    rules: dict[str, ProductRules] = {}
    symbols: dict[str, SymbolInfo] = {}
    problems = []
    for symbol in info.symbols:
        product_id = f"{symbol.baseAsset}-{symbol.quoteAsset}"
        symbols[product_id] = symbol
        if symbol.status != "TRADING":
            continue
        try:
            price, lot = _filter(symbol, "PRICE_FILTER"), _filter(symbol, "LOT_SIZE")
            rules[product_id] = ProductRules(
                price_increment=venue_number("tickSize", price.get("tickSize")),
                base_increment=venue_number("stepSize", lot.get("stepSize")),
                base_min_size=venue_number("minQty", lot.get("minQty")),
                base_max_size=venue_number("maxQty", lot.get("maxQty")),
                min_notional=_min_notional(symbol),
                quote_increment=_quote_increment(symbol),
            )
        except ValueError as exc:
            problems.append(f"symbol {clip(symbol.symbol, 20)}: {exc}")
    return rules, symbols, problems
