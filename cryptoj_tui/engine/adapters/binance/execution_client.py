"""Binance Spot behind the engine's ExecutionClient: signed REST calls in, domain types out."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

import msgspec

from cryptoj_tui.engine.adapters.base import CancelOutcome, EditOutcome, Placement, VenueError, VenueOrder
from cryptoj_tui.engine.adapters.binance import parsing, symbol_of
from cryptoj_tui.engine.adapters.binance.parsing import (
    AccountAnswer,
    ExchangeInfo,
    OrderAnswer,
    PlaceAnswer,
    SymbolInfo,
    TradeAnswer,
)
from cryptoj_tui.engine.adapters.binance.rest import BinanceRest, BinanceRestError
from cryptoj_tui.engine.model import clip
from cryptoj_tui.engine.orders import OrderError, OrderRequest, VenueFill
from cryptoj_tui.engine.portfolio import Balance
from cryptoj_tui.engine.risk import ProductRules

log = logging.getLogger(__name__)

MAX_CANCEL_BATCH = 100
"""Orders one `cancel` call takes: Binance cancels one order a request, so a batch is sent as
that many requests at once (each of weight 1)."""
RECENT_ORDERS = 100
"""Ended orders listed per symbol when the engine asks for every order (allOrders' `limit`)."""
RECENT_TRADES = 1000
"""Trades read per symbol for those orders' fees (myTrades' most)."""
UNKNOWN_ORDER = -2011


def _decode(answer: object, kind: Any, call: str) -> Any:
    try:
        return msgspec.convert(answer, kind)
    except msgspec.ValidationError as exc:
        raise BinanceRestError(call, 200, None, f"unreadable answer: {clip(str(exc))}") from None


def _fee_total(fills: list[VenueFill], problems: list[str]) -> Decimal:
    """The fills' fees added up; a trade that could not be read, or whose fee could not be
    valued, is logged (it counts 0)."""
    for problem in problems:
        log.warning("Binance fees: %s", problem)
    return sum((f.fee for f in fills), Decimal(0))


class BinanceExecutionClient:
    """The engine's trading calls on one Binance key (see adapters/base.py ExecutionClient).

    `products` names the products this engine trades: Binance lists ended orders per symbol
    only, so those are the symbols `orders()` reads (besides every open order, on all symbols).
    """

    max_cancel_batch = MAX_CANCEL_BATCH
    cancels_by_product = True

    def __init__(self, rest: BinanceRest, products: Iterable[str] = ()) -> None:
        self.rest = rest
        self._traded = {symbol_of(p) for p in products}
        self._symbols: dict[str, SymbolInfo] = {}
        """Binance's symbols by symbol name (from exchangeInfo, read once when first needed)."""

    async def start(self) -> None:
        await self.rest.start()

    async def close(self) -> None:
        await self.rest.close()

    # -- symbols ---------------------------------------------------------------------------

    async def _exchange_info(self) -> ExchangeInfo:
        answer = await self.rest.call("GET", "/api/v3/exchangeInfo", signed=False)
        info: ExchangeInfo = _decode(answer, ExchangeInfo, "exchangeInfo")
        self._symbols = {s.symbol: s for s in info.symbols}
        weight, orders = parsing.limits(info)  # the client-side limits are the venue's own
        if weight is not None and weight > 0:
            self.rest.gate.weight_limit = weight
        if orders is not None and orders > 0:
            self.rest.gate.order_limit = orders
        return info

    async def _symbol(self, symbol: str) -> SymbolInfo | None:
        if symbol not in self._symbols:
            await self._exchange_info()
        return self._symbols.get(symbol)

    def assets_of(self, symbol: str) -> tuple[str, str] | None:
        """A symbol's (base, quote) assets, once exchangeInfo has been read."""
        info = self._symbols.get(symbol)
        return (info.baseAsset, info.quoteAsset) if info is not None else None

    async def _product_id(self, symbol: str) -> str:
        info = await self._symbol(symbol)
        return f"{info.baseAsset}-{info.quoteAsset}" if info is not None else symbol

    # -- orders ----------------------------------------------------------------------------

    async def place(self, client_order_id: str, request: OrderRequest) -> Placement:
        symbol = symbol_of(request.product_id)
        try:
            params = parsing.order_params(client_order_id, symbol, request)
        except OrderError as exc:
            return Placement(refusal=str(exc))
        self._traded.add(symbol)
        try:
            answer = await self.rest.call("POST", "/api/v3/order", params, retry=False)
        except BinanceRestError as exc:
            if exc.status >= 500:  # Binance: the order's fate is unknown; the caller asks
                return Placement(unreadable=str(exc))
            if 400 <= exc.status < 500 and exc.binance_code is not None and exc.status not in (401, 403, 418, 429):
                return Placement(refusal=f"{exc.binance_code}: {exc.venue_message}")
            raise
        try:
            placed = msgspec.convert(answer, PlaceAnswer)
        except msgspec.ValidationError:
            return Placement(unreadable=f"an answer that is not Binance's: {clip(repr(answer), 80)}")
        return Placement(order_id=parsing.order_id(placed.symbol, placed.orderId))

    async def _cancel_one(self, engine_id: str) -> CancelOutcome:
        try:
            symbol, number = parsing.split_order_id(engine_id)
        except ValueError as exc:
            return CancelOutcome(engine_id, False, str(exc))
        try:
            await self.rest.call("DELETE", "/api/v3/order", [("symbol", symbol), ("orderId", str(number))])
        except BinanceRestError as exc:
            if exc.status in (401, 403, 418) or exc.binance_code in (-1022, -2014, -2015):
                raise
            return CancelOutcome(engine_id, False, str(exc))
        return CancelOutcome(engine_id, True)

    async def cancel(self, order_ids: Sequence[str]) -> list[CancelOutcome]:
        if len(order_ids) > MAX_CANCEL_BATCH:
            raise ValueError(f"a cancel takes at most {MAX_CANCEL_BATCH} ids, got {len(order_ids)}")
        return list(await asyncio.gather(*(self._cancel_one(i) for i in order_ids)))

    async def cancel_product(self, product_id: str) -> list[CancelOutcome]:
        symbol = symbol_of(product_id)
        call = "DELETE /api/v3/openOrders"
        try:
            answer = await self.rest.call("DELETE", "/api/v3/openOrders", [("symbol", symbol)])
        except BinanceRestError as exc:
            if exc.binance_code == UNKNOWN_ORDER:  # nothing open on that symbol
                return []
            raise
        return [
            CancelOutcome(parsing.order_id(o.symbol, o.orderId), True) for o in _decode(answer, list[OrderAnswer], call)
        ]

    async def edit(self, order_id: str, request: OrderRequest) -> EditOutcome:
        # Binance Spot amends only a smaller quantity in place (keepPriority); every edit the
        # engine makes is a cancel and replace, which is what this status tells it to do.
        raise VenueError("Binance Spot: no edit in place here; cancel and replace", call="edit", status=404)

    async def fees_of(self, order_id: str) -> Decimal:
        """An order's fees in its quote currency, from its trades (an order carries none)."""
        return _fee_total(*await self.fills(order_id))

    async def order(self, order_id: str) -> VenueOrder:
        try:
            symbol, number = parsing.split_order_id(order_id)
        except ValueError as exc:
            raise VenueError(f"GET /api/v3/order: {exc}", call="GET /api/v3/order", status=400) from None
        answer = await self.rest.call("GET", "/api/v3/order", [("symbol", symbol), ("orderId", str(number))])
        order: OrderAnswer = _decode(answer, OrderAnswer, "GET /api/v3/order")
        filled = parsing.venue_number_or_zero(order.executedQty)
        fees = await self.fees_of(order_id) if filled else Decimal(0)
        return parsing.venue_order(order, await self._product_id(symbol), fees)

    async def orders(self, product_ids: Sequence[str] = ()) -> list[VenueOrder]:
        self._traded.update(symbol_of(p) for p in product_ids)
        answers = _decode(await self.rest.call("GET", "/api/v3/openOrders"), list[OrderAnswer], "openOrders")
        seen = {(o.symbol, o.orderId) for o in answers}
        for symbol in sorted(self._traded):
            recent = await self.rest.call(
                "GET", "/api/v3/allOrders", [("symbol", symbol), ("limit", str(RECENT_ORDERS))]
            )
            answers += [o for o in _decode(recent, list[OrderAnswer], "allOrders") if (o.symbol, o.orderId) not in seen]
        # Each order's fees from its trades: a symbol's recent trades in one call, not a call per
        # order (recovery lists up to RECENT_ORDERS ended orders a symbol, each weighing 20).
        filled = {(o.symbol, o.orderId): parsing.venue_number_or_zero(o.executedQty) for o in answers}
        trades: dict[tuple[str, int], list[TradeAnswer]] = {}
        for symbol in sorted({symbol for (symbol, _), size in filled.items() if size}):
            params = [("symbol", symbol), ("limit", str(RECENT_TRADES))]
            recent = _decode(await self.rest.call("GET", "/api/v3/myTrades", params), list[TradeAnswer], "myTrades")
            for trade in recent:
                trades.setdefault((symbol, trade.orderId), []).append(trade)
        read = []
        for order in answers:
            key, fees = (order.symbol, order.orderId), Decimal(0)
            own = trades.get(key, [])
            if filled[key] and sum((parsing.venue_number_or_zero(t.qty) for t in own), Decimal(0)) == filled[key]:
                fees = _fee_total(*await self._valued(order.symbol, own, f"myTrades of {order.symbol}"))
            elif filled[key]:  # some of its trades are older than the symbol's recent ones
                fees = await self.fees_of(parsing.order_id(*key))
            read.append(parsing.venue_order(order, await self._product_id(order.symbol), fees))
        return read

    async def _valued(self, symbol: str, trades: list[TradeAnswer], where: str) -> tuple[list[VenueFill], list[str]]:
        """Trades read as fills, their fees valued in the symbol's quote asset."""
        info = await self._symbol(symbol)
        base, quote = (info.baseAsset, info.quoteAsset) if info is not None else ("", "")
        try:
            return parsing.venue_fills(trades, base, quote)
        except ValueError as exc:
            return [], [f"{where}: {exc}"]

    async def _fills(self, symbol: str, number: int) -> tuple[list[VenueFill], list[str]]:
        answer = await self.rest.call("GET", "/api/v3/myTrades", [("symbol", symbol), ("orderId", str(number))])
        trades = _decode(answer, list[TradeAnswer], "myTrades")
        return await self._valued(symbol, trades, f"myTrades of {symbol}:{number}")

    async def fills(self, order_id: str) -> tuple[list[VenueFill], list[str]]:
        try:
            symbol, number = parsing.split_order_id(order_id)
        except ValueError as exc:
            return [], [str(exc)]
        return await self._fills(symbol, number)

    async def balances(self) -> tuple[list[Balance], list[str]]:
        return parsing.balances(_decode(await self.rest.call("GET", "/api/v3/account"), AccountAnswer, "account"))

    async def products(self) -> tuple[dict[str, ProductRules], list[str]]:
        rules, _, problems = parsing.product_rules(await self._exchange_info())
        return rules, problems
