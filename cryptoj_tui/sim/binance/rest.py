"""The paper venue's Binance Spot REST API under /api/v3, as Binance's public docs describe it.

Thin translation only: read the parameters (query string and form body), check the key and the
signature, count the request's weight, call the exchange, shape the answer. Every answer carries
`X-MBX-USED-WEIGHT-1M` (and order endpoints `X-MBX-ORDER-COUNT-10S`); past the minute's weight
or the ten seconds' orders the answer is 429 with Retry-After, and an address that keeps sending
through its 429s is banned for a while with 418, as Binance does.
"""

from __future__ import annotations

import logging
import math
import time
import zlib
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from aiohttp import web

from cryptoj_tui.sim.binance import orders as binance_orders
from cryptoj_tui.sim.binance.auth import split_signature
from cryptoj_tui.sim.binance.errors import (
    INVALID_SYMBOL,
    NO_SUCH_ORDER,
    UNKNOWN_ORDER,
    BinanceApiError,
    illegal,
    mandatory,
    rejected,
)
from cryptoj_tui.sim.binance.orders import number_of, order_json, symbol_of, trade_json
from cryptoj_tui.sim.exchange import OPEN_STATUSES, Order
from cryptoj_tui.sim.products import format_decimal

if TYPE_CHECKING:
    from cryptoj_tui.sim.binance.front import BinanceFront

log = logging.getLogger(__name__)

WEIGHT_LIMIT_1M = 6000
ORDER_LIMIT_10S = 100
BAN_AFTER = 10
"""429s one address may run into in a minute before it is banned (418)."""
BAN_SECONDS = 120
MAX_DEPTH_LIMIT = 5000
MAX_LIST_LIMIT = 1000
Params = dict[str, str]
Handler = Callable[[web.Request, Params, str], Awaitable[Any]]
Weight = int | Callable[[Mapping[str, str]], int]
"""A call's request weight: fixed, or by its query (every symbol's open orders weigh more than one's)."""


def error_answer(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """An injected fault in Binance's shape."""
    code = -1003 if status == 429 else -1000
    return web.json_response({"code": code, "msg": message}, status=status, headers=headers)


class WeightLimits:
    """Request weight per address a minute, new orders per key in ten seconds, and bans."""

    def __init__(
        self,
        weight_limit: int = WEIGHT_LIMIT_1M,
        order_limit: int = ORDER_LIMIT_10S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.weight_limit = weight_limit
        self.order_limit = order_limit
        self._clock = clock
        self._weights: dict[str, tuple[int, int]] = {}
        """address -> (minute, weight used in it)"""
        self._orders: dict[str, tuple[int, int]] = {}
        """API key -> (ten-second window, orders in it)"""
        self._refusals: dict[str, tuple[int, int]] = {}
        self._banned_until: dict[str, float] = {}

    def charge(self, address: str, weight: int) -> int:
        """Count a request's weight; the minute's total. BinanceApiError 429/418 when over."""
        now = self._clock()
        banned = self._banned_until.get(address, 0.0) - now
        if banned > 0:
            raise BinanceApiError(
                418,
                -1003,
                f"Way too many requests; IP({address}) banned until {int((now + banned) * 1000)}. "
                "Please use the websocket for live updates to avoid bans.",
                {"Retry-After": str(math.ceil(banned))},
            )
        minute = int(now // 60)
        window, used = self._weights.get(address, (minute, 0))
        used = used if window == minute else 0
        if used + weight > self.weight_limit:
            self._refuse(address, minute, now)
            raise BinanceApiError(
                429,
                -1003,
                f"Too many requests; current limit of IP({address}) request weight per minute is "
                f"{self.weight_limit}. Please use WebSocket Streams for live updates to avoid polling the API.",
                {"Retry-After": str(max(1, math.ceil((minute + 1) * 60 - now))), "X-MBX-USED-WEIGHT-1M": str(used)},
            )
        self._weights[address] = (minute, used + weight)
        return used + weight

    def count_order(self, key: str) -> int:
        """Count a new order of `key`; the ten seconds' count. 429 -1015 when over."""
        now = self._clock()
        window = int(now // 10)
        current, count = self._orders.get(key, (window, 0))
        count = count if current == window else 0
        if count + 1 > self.order_limit:
            raise BinanceApiError(
                429,
                -1015,
                f"Too many new orders; current limit is {self.order_limit} orders per TEN_SECOND.",
                {"Retry-After": str(max(1, math.ceil((window + 1) * 10 - now))), "X-MBX-ORDER-COUNT-10S": str(count)},
            )
        self._orders[key] = (window, count + 1)
        return count + 1

    def _refuse(self, address: str, minute: int, now: float) -> None:
        window, count = self._refusals.get(address, (minute, 0))
        count = count + 1 if window == minute else 1
        self._refusals[address] = (minute, count)
        if count > BAN_AFTER:
            self._banned_until[address] = now + BAN_SECONDS
            log.warning("Binance protocol: banning %s for %d s (it kept sending through 429s)", address, BAN_SECONDS)


class BinanceRestApi:
    """aiohttp routes of Binance Spot's REST API for one paper venue."""

    def __init__(self, front: BinanceFront, limits: WeightLimits) -> None:
        self.front = front
        self.venue = front.venue
        self.limits = limits

    def routes(self) -> list[web.RouteDef]:
        """Every route, public and signed."""
        public, signed = self._public, self._signed
        return [
            web.get("/api/v3/ping", public(self.ping, 1)),
            web.get("/api/v3/time", public(self.time, 1)),
            web.get("/api/v3/exchangeInfo", public(self.exchange_info, 20)),
            web.get("/api/v3/depth", public(self.depth, 5)),
            web.post("/api/v3/order", signed(self.new_order, 1, order=True)),
            web.get("/api/v3/order", signed(self.get_order, 4)),
            web.delete("/api/v3/order", signed(self.cancel_order, 1)),
            web.get("/api/v3/openOrders", signed(self.open_orders, lambda query: 6 if query.get("symbol") else 80)),
            web.delete("/api/v3/openOrders", signed(self.cancel_open_orders, 1)),
            web.get("/api/v3/allOrders", signed(self.all_orders, 20)),
            web.get("/api/v3/myTrades", signed(self.my_trades, 20)),
            web.get("/api/v3/account", signed(self.account, 20)),
            web.post("/api/v3/userDataStream", self._keyed(self.open_user_stream, 2)),
            web.put("/api/v3/userDataStream", self._keyed(self.keep_user_stream, 2)),
            web.delete("/api/v3/userDataStream", self._keyed(self.close_user_stream, 2)),
        ]

    # -- wrappers ------------------------------------------------------------------------

    async def _params(self, request: web.Request) -> tuple[Params, str, str]:
        """The parameters, and (what was signed, the signature): query string then form body."""
        query = request.rel_url.raw_query_string
        body = (await request.text()) if request.can_read_body else ""
        signed_part, signature = split_signature(query)
        if not signature and body:
            head, signature = split_signature(body)
            signed_part = query + head
        else:
            signed_part += body
        params: Params = {}
        for text in (query, body):
            try:
                params.update(parse_qsl(text, keep_blank_values=True, strict_parsing=False))
            except ValueError:
                raise BinanceApiError(400, -1100, "Illegal characters found in a parameter.") from None
        params.pop("signature", None)
        return params, signed_part, signature

    def _public(self, handler: Handler, weight: Weight) -> Callable[[web.Request], Awaitable[web.Response]]:
        return self._endpoint(handler, weight, signed=False, order=False)

    def _keyed(self, handler: Handler, weight: Weight) -> Callable[[web.Request], Awaitable[web.Response]]:
        """An API key and no signature (Binance's USER_STREAM security type)."""
        return self._endpoint(handler, weight, signed=False, order=False, keyed=True)

    def _signed(
        self, handler: Handler, weight: Weight, *, order: bool = False
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        return self._endpoint(handler, weight, signed=True, order=order)

    def _endpoint(
        self, handler: Handler, weight: Weight, *, signed: bool, order: bool, keyed: bool = False
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def wrapped(request: web.Request) -> web.Response:
            address = request.remote or "?"
            headers: dict[str, str] = {}
            try:
                used = self.limits.charge(address, weight if isinstance(weight, int) else weight(request.query))
                headers["X-MBX-USED-WEIGHT-1M"] = str(used)
                fault = await self.venue.faults.before_rest(request, error_answer)
                if fault is not None:
                    return fault
                params, payload, signature = await self._params(request)
                owner = ""
                api_key = request.headers.get("X-MBX-APIKEY")
                if signed:
                    owner = self.front.keys.check_signed(api_key, payload, signature, params)
                elif keyed:
                    owner = self.front.keys.known(api_key)
                if order:
                    headers["X-MBX-ORDER-COUNT-10S"] = str(self.limits.count_order(owner))
                answer = await handler(request, params, owner)
            except BinanceApiError as exc:
                return exc.response(headers)
            return web.json_response(answer, headers=headers)

        return wrapped

    # -- helpers -------------------------------------------------------------------------

    def _product(self, params: Params, *, required: bool = True) -> str | None:
        symbol = params.get("symbol", "")
        if not symbol:
            if required:
                raise mandatory("symbol")
            return None
        product_id = self.front.product_of(symbol)
        if product_id is None:
            raise INVALID_SYMBOL
        return product_id

    def _limit(self, params: Params, default: int, most: int) -> int:
        text = params.get("limit", str(default))
        if not text.isdigit():
            raise illegal("limit")
        return max(1, min(int(text), most))

    def _order(self, params: Params, owner: str, product_id: str, missing: BinanceApiError) -> Order:
        if params.get("orderId"):
            if not params["orderId"].isdigit():
                raise illegal("orderId")
            order = self.front.order_by_number(int(params["orderId"]))
        elif params.get("origClientOrderId"):
            order = self.venue.exchange.order_by_client_id(owner, params["origClientOrderId"])
        else:
            raise BinanceApiError(
                400, -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
            )
        if order is None or order.owner != owner or order.product_id != product_id:
            raise missing
        return order

    # -- public --------------------------------------------------------------------------

    async def ping(self, request: web.Request, params: Params, owner: str) -> Any:
        return {}

    async def time(self, request: web.Request, params: Params, owner: str) -> Any:
        return {"serverTime": self.front.keys.clock_ms()}

    async def exchange_info(self, request: web.Request, params: Params, owner: str) -> Any:
        wanted = None
        if params.get("symbol"):
            wanted = {params["symbol"]}
        elif params.get("symbols"):
            wanted = {s.strip('"[] ') for s in params["symbols"].split(",")}
        products = [p for p in self.venue.books if wanted is None or symbol_of(p) in wanted]
        if wanted is not None and len(products) != len(wanted):
            raise INVALID_SYMBOL
        return {
            "timezone": "UTC",
            "serverTime": self.front.keys.clock_ms(),
            "rateLimits": [
                {
                    "rateLimitType": "REQUEST_WEIGHT",
                    "interval": "MINUTE",
                    "intervalNum": 1,
                    "limit": self.limits.weight_limit,
                },
                {"rateLimitType": "ORDERS", "interval": "SECOND", "intervalNum": 10, "limit": self.limits.order_limit},
            ],
            "exchangeFilters": [],
            "symbols": [binance_orders.exchange_symbol(self.venue.books[p].spec) for p in products],
        }

    async def depth(self, request: web.Request, params: Params, owner: str) -> Any:
        product_id = self._product(params)
        assert product_id is not None
        limit = self._limit(params, 100, MAX_DEPTH_LIMIT)
        bids, asks = self.venue.book_levels(product_id)
        return {
            "lastUpdateId": self.front.update_id(product_id),
            "bids": [[format_decimal(p), format_decimal(s)] for p, s in bids[:limit]],
            "asks": [[format_decimal(p), format_decimal(s)] for p, s in asks[:limit]],
        }

    # -- signed --------------------------------------------------------------------------

    async def new_order(self, request: web.Request, params: Params, owner: str) -> Any:
        product_id = self._product(params)
        assert product_id is not None
        spec = self.venue.books[product_id].spec
        last = self.front.last_price(product_id)
        body, client_order_id = binance_orders.new_order_body(params, product_id, spec, last)
        existing = self.venue.exchange.order_by_client_id(owner, client_order_id)
        if existing is not None:
            raise rejected("Duplicate order sent.")
        answer = self.venue.create_order(owner, body, quote_sells=True)
        if not answer.get("success"):
            raise binance_orders.refusal(answer)
        order = self.venue.exchange.orders[answer["success_response"]["order_id"]]
        self.front.remember(order)
        kind = params["type"]
        response_type = params.get("newOrderRespType") or ("FULL" if kind in ("MARKET", "LIMIT") else "ACK")
        ack = {
            "symbol": symbol_of(product_id),
            "orderId": number_of(order.order_id),
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "transactTime": self.front.keys.clock_ms(),
        }
        if response_type == "ACK":
            return ack
        result = {**order_json(order), **ack}
        if response_type == "FULL":
            result["fills"] = [
                {
                    "price": t["price"],
                    "qty": t["qty"],
                    "commission": t["commission"],
                    "commissionAsset": t["commissionAsset"],
                    "tradeId": t["id"],
                }
                for t in (trade_json(order, fill) for fill in order.fills)
            ]
        return result

    async def get_order(self, request: web.Request, params: Params, owner: str) -> Any:
        product_id = self._product(params)
        assert product_id is not None
        return order_json(self._order(params, owner, product_id, NO_SUCH_ORDER))

    def _cancelled(self, order: Order, cancel_client_order_id: str) -> dict[str, Any]:
        answer = order_json(order)
        return {
            "symbol": answer["symbol"],
            "origClientOrderId": order.client_order_id,
            "orderId": answer["orderId"],
            "orderListId": -1,
            "clientOrderId": cancel_client_order_id,
            "transactTime": self.front.keys.clock_ms(),
            **{k: answer[k] for k in ("price", "origQty", "executedQty", "cummulativeQuoteQty", "status")},
            **{k: answer[k] for k in ("timeInForce", "type", "side", "selfTradePreventionMode")},
        }

    def _cancel(self, owner: str, order: Order, cancel_client_order_id: str) -> dict[str, Any]:
        self.front.cancel_ids[order.order_id] = cancel_client_order_id
        (result,) = self.venue.cancel_orders(owner, [order.order_id])
        if not result["success"]:
            self.front.cancel_ids.pop(order.order_id, None)
            raise UNKNOWN_ORDER
        return self._cancelled(order, cancel_client_order_id)

    async def cancel_order(self, request: web.Request, params: Params, owner: str) -> Any:
        product_id = self._product(params)
        assert product_id is not None
        order = self._order(params, owner, product_id, UNKNOWN_ORDER)
        return self._cancel(owner, order, params.get("newClientOrderId") or binance_orders.new_client_order_id())

    def _open(self, owner: str, product_id: str | None) -> list[Order]:
        return [
            o
            for o in reversed(self.venue.exchange.owner_orders(owner))
            if o.status in OPEN_STATUSES and (product_id is None or o.product_id == product_id)
        ]

    async def open_orders(self, request: web.Request, params: Params, owner: str) -> Any:
        return [order_json(o) for o in self._open(owner, self._product(params, required=False))]

    async def cancel_open_orders(self, request: web.Request, params: Params, owner: str) -> Any:
        product_id = self._product(params)
        working = self._open(owner, product_id)
        cancel_ids = {o.order_id: binance_orders.new_client_order_id() for o in working}
        self.front.cancel_ids.update(cancel_ids)
        results = self.venue.cancel_orders(owner, [o.order_id for o in working])
        done = {r["order_id"] for r in results if r["success"]}
        return [self._cancelled(o, cancel_ids[o.order_id]) for o in working if o.order_id in done]

    async def all_orders(self, request: web.Request, params: Params, owner: str) -> Any:
        product_id = self._product(params)
        limit = self._limit(params, 500, MAX_LIST_LIMIT)
        mine = [o for o in reversed(self.venue.exchange.owner_orders(owner)) if o.product_id == product_id]
        return [order_json(o) for o in mine[-limit:]]

    async def my_trades(self, request: web.Request, params: Params, owner: str) -> Any:
        product_id = self._product(params)
        assert product_id is not None
        limit = self._limit(params, 500, MAX_LIST_LIMIT)
        if params.get("orderId"):
            orders = [self._order(params, owner, product_id, NO_SUCH_ORDER)]
        else:
            orders = [o for o in reversed(self.venue.exchange.owner_orders(owner)) if o.product_id == product_id]
        trades = sorted((trade_json(o, f) for o in orders for f in o.fills), key=lambda t: int(t["id"]))
        return trades[-limit:]

    async def account(self, request: web.Request, params: Params, owner: str) -> Any:
        omit_zero = params.get("omitZeroBalances") == "true"
        accounts = self.venue.exchange.owner_accounts(owner)
        maker = int(self.venue.exchange.maker_rate * 10_000)
        taker = int(self.venue.exchange.taker_rate * 10_000)
        return {
            "makerCommission": maker,
            "takerCommission": taker,
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": format_decimal(self.venue.exchange.maker_rate),
                "taker": format_decimal(self.venue.exchange.taker_rate),
                "buyer": "0",
                "seller": "0",
            },
            "canTrade": True,
            "canWithdraw": False,
            "canDeposit": False,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self.front.keys.clock_ms(),
            "accountType": "SPOT",
            "balances": [
                {"asset": a.currency, "free": format_decimal(a.available), "locked": format_decimal(a.hold)}
                for a in accounts
                if not omit_zero or a.available or a.hold
            ],
            "permissions": ["SPOT"],
            "uid": zlib.crc32(owner.encode()),
        }

    # -- listen keys (API key, no signature) ----------------------------------------------

    async def open_user_stream(self, request: web.Request, params: Params, owner: str) -> Any:
        return {"listenKey": self.front.listen_keys.open(owner)}

    async def keep_user_stream(self, request: web.Request, params: Params, owner: str) -> Any:
        self.front.listen_keys.keep_alive(owner, self._listen_key(params))
        return {}

    async def close_user_stream(self, request: web.Request, params: Params, owner: str) -> Any:
        self.front.close_listen_key(owner, self._listen_key(params))
        return {}

    @staticmethod
    def _listen_key(params: Params) -> str:
        key = params.get("listenKey", "")
        if not key:
            raise mandatory("listenKey")
        return key


def _rate_limit(kind: str, interval: str, count: int, limit: int) -> dict[str, object]:
    return {"rateLimitType": kind, "interval": interval, "intervalNum": count, "limit": limit}
