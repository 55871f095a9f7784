"""The venue's REST API at /api/v3/brokerage, as PROTOCOL.md describes Coinbase's.

Thin translation only: parse the request, authenticate it, call the `Exchange`, shape the
answer. Every failure has the documented body: 400 INVALID_ARGUMENT, 401 UNAUTHORIZED, 404
NOT_FOUND, 429 with Retry-After, and 500 INTERNAL for our own bugs (logged, never fatal).
"""

from __future__ import annotations

import json
import logging
import math
import time
import uuid
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aiohttp import web

from cryptoj_tui.sim import rest_market
from cryptoj_tui.sim.auth import AuthError
from cryptoj_tui.sim.exchange import InvalidRequest
from cryptoj_tui.sim.products import format_decimal

if TYPE_CHECKING:
    from cryptoj_tui.sim.venue import PaperVenue

log = logging.getLogger(__name__)

BASE = "/api/v3/brokerage"
MAX_BODY_BYTES = 1 << 20
MAX_PAGE = 1000
MAX_CANCEL_IDS = 100
Handler = Callable[[web.Request, str], Awaitable[web.Response]]
"""A route handler: the request and who made it (an API key name, or the client address)."""


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    """A Coinbase-shaped error response."""
    body = {"error": code, "error_details": message, "message": message}
    return web.json_response(body, status=status, headers=headers)


def unauthorized(reason: str, request: web.Request) -> web.Response:
    """What Coinbase answers a request it does not authenticate: 401 and the plain text
    "Unauthorized" (clients map the status to their authentication error). Why goes to the log."""
    log.info("401 for %s %s from %s: %s", request.method, request.path, request.remote, reason)
    return web.Response(status=401, text="Unauthorized")


class RateLimiter:
    """A token bucket per API key: `rate` requests a second, bursts up to `rate`."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    def retry_after(self, key: str) -> float:
        """0 if the request may go now (and count it), else seconds until it may."""
        if self.rate <= 0:
            return 0.0
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.rate, now))
        tokens = min(self.rate, tokens + (now - last) * self.rate)
        if tokens >= 1:
            self._buckets[key] = (tokens - 1, now)
            return 0.0
        self._buckets[key] = (tokens, now)
        return (1 - tokens) / self.rate


def _page(items: list[Any], request: web.Request) -> tuple[list[Any], bool, str]:
    query = request.query
    try:
        limit = int(query.get("limit", "100"))
        offset = int(query.get("cursor") or "0")
    except ValueError:
        raise InvalidRequest("limit and cursor must be whole numbers") from None
    if not 1 <= limit <= MAX_PAGE or offset < 0:
        raise InvalidRequest(f"limit must be 1..{MAX_PAGE} and cursor >= 0")
    page = items[offset : offset + limit]
    has_next = offset + limit < len(items)
    return page, has_next, str(offset + limit) if has_next else ""


def portfolio_uuid(owner: str) -> str:
    """A key's default portfolio id: stable for the key, different between keys."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"cryptoj-paper:{owner}"))


def _values(request: web.Request, *names: str) -> set[str]:
    """Every value of repeated (or legacy singular) query keys."""
    return {value for name in names for value in request.query.getall(name, [])}


class RestApi:
    """aiohttp routes of the brokerage API for one `PaperVenue`."""

    def __init__(self, venue: PaperVenue, *, rate_limit: float) -> None:
        self.venue = venue
        self.limiter = RateLimiter(rate_limit)

    def routes(self) -> list[web.RouteDef]:
        """Every route, public and private."""
        private, public = self._private, self._public
        market = [
            ("/products", public(self.products)),
            ("/products/{product_id}", public(self.product)),
            ("/product_book", public(self.product_book)),
            ("/products/{product_id}/ticker", public(self.market_trades)),
            ("/products/{product_id}/candles", public(self.candles)),
        ]
        return [
            web.post(f"{BASE}/orders", private(self.create_order)),
            web.post(f"{BASE}/orders/preview", private(self.preview_order)),
            web.post(f"{BASE}/orders/edit", private(self.edit_order)),
            web.post(f"{BASE}/orders/edit_preview", private(self.edit_preview)),
            web.post(f"{BASE}/orders/close_position", private(self.close_position)),
            web.post(f"{BASE}/orders/batch_cancel", private(self.batch_cancel)),
            web.get(f"{BASE}/orders/historical/batch", private(self.list_orders)),
            web.get(f"{BASE}/orders/historical/fills", private(self.list_fills)),
            web.get(f"{BASE}/orders/historical/{{order_id}}", private(self.get_order)),
            web.get(f"{BASE}/accounts", private(self.accounts)),
            web.get(f"{BASE}/transaction_summary", private(self.transaction_summary)),
            web.get(f"{BASE}/key_permissions", private(self.key_permissions)),
            web.get(f"{BASE}/portfolios", private(self.portfolios)),
            web.get(f"{BASE}/best_bid_ask", public(self.best_bid_ask)),
            web.get(f"{BASE}/time", public(self.time)),
            # The same market data under the brokerage paths (a JWT, if sent, is checked) and
            # under /market/..., which Coinbase serves without one.
            *(web.get(f"{BASE}{path}", handler) for path, handler in market),
            *(web.get(f"{BASE}/market{path}", handler) for path, handler in market),
        ]

    # -- middleware-like wrappers --------------------------------------------------------

    def _authenticate(self, request: web.Request) -> str:
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer "):
            raise AuthError("missing Authorization: Bearer <JWT> header")
        uri = f"{request.method} {request.host}{request.path}"
        return self.venue.keys.verify(header[len("Bearer ") :].strip(), uri)

    def _private(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        return self._endpoint(handler, require_auth=True)

    def _public(self, handler: Handler) -> Callable[[web.Request], Awaitable[web.Response]]:
        return self._endpoint(handler, require_auth=False)

    def _endpoint(self, handler: Handler, *, require_auth: bool) -> Callable[[web.Request], Awaitable[web.Response]]:
        """Authenticate (always for private routes; for public ones when a JWT is sent), then
        rate-limit, apply injected faults and answer malformed input with 400."""

        async def wrapped(request: web.Request) -> web.Response:
            principal = request.remote or "anonymous"
            if require_auth or "Authorization" in request.headers:
                try:
                    principal = self._authenticate(request)
                except AuthError as exc:
                    return unauthorized(str(exc), request)
            return await self._guarded(request, principal, handler)

        return wrapped

    async def _guarded(self, request: web.Request, principal: str, handler: Handler) -> web.Response:
        wait = self.limiter.retry_after(principal)
        if wait:
            return error(429, "RATE_LIMIT_EXCEEDED", "too many requests", {"Retry-After": str(max(1, math.ceil(wait)))})
        fault = await self.venue.faults.before_rest(request)
        if fault is not None:
            return fault
        try:
            return await handler(request, principal)
        except InvalidRequest as exc:
            return error(400, "INVALID_ARGUMENT", str(exc))

    async def _json_body(self, request: web.Request) -> Any:
        try:
            return json.loads(await request.text() or "null")
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: nested past the parser's depth
            raise InvalidRequest("request body is not valid JSON") from None

    # -- private -------------------------------------------------------------------------

    async def create_order(self, request: web.Request, owner: str) -> web.Response:
        body = await self._json_body(request)
        response = self.venue.create_order(owner, body)
        return web.json_response(response)

    async def batch_cancel(self, request: web.Request, owner: str) -> web.Response:
        body = await self._json_body(request)
        ids = body.get("order_ids") if isinstance(body, dict) else None
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids) or not ids:
            raise InvalidRequest("order_ids must be a non-empty list of order id strings")
        if len(ids) > MAX_CANCEL_IDS:
            raise InvalidRequest(f"at most {MAX_CANCEL_IDS} order_ids per batch_cancel, got {len(ids)}")
        return web.json_response({"results": self.venue.cancel_orders(owner, ids)})

    async def preview_order(self, request: web.Request, owner: str) -> web.Response:
        return web.json_response(self.venue.exchange.preview_order(owner, await self._json_body(request)))

    async def edit_order(self, request: web.Request, owner: str) -> web.Response:
        return web.json_response(self.venue.edit_order(owner, await self._json_body(request)))

    async def edit_preview(self, request: web.Request, owner: str) -> web.Response:
        body = await self._json_body(request)
        return web.json_response(self.venue.exchange.edit_order(owner, body, preview=True))

    async def close_position(self, request: web.Request, owner: str) -> web.Response:
        """Coinbase closes futures positions here; every product of this venue is spot, which
        has no position to close (sell the balance instead), so a well-formed request is refused."""
        body = await self._json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("client_order_id"), str):
            raise InvalidRequest("close_position needs client_order_id and product_id")
        product_id = self._known_product(body.get("product_id"))
        raise InvalidRequest(f"close_position closes futures positions; {product_id} is a SPOT product")

    async def list_orders(self, request: web.Request, owner: str) -> web.Response:
        statuses = _values(request, "order_status")
        products = _values(request, "product_ids", "product_id")
        orders = [
            o
            for o in self.venue.exchange.owner_orders(owner)
            if (not statuses or o.status in statuses) and (not products or o.product_id in products)
        ]
        page, has_next, cursor = _page(orders, request)
        return web.json_response(
            {"orders": [o.to_json() for o in page], "sequence": "0", "has_next": has_next, "cursor": cursor}
        )

    async def get_order(self, request: web.Request, owner: str) -> web.Response:
        order = self.venue.exchange.orders.get(request.match_info["order_id"])
        if order is None or order.owner != owner:
            return error(404, "NOT_FOUND", f"order {request.match_info['order_id']} not found")
        return web.json_response({"order": order.to_json()})

    async def list_fills(self, request: web.Request, owner: str) -> web.Response:
        order_ids = _values(request, "order_ids", "order_id")
        trade_ids = _values(request, "trade_ids")
        products = _values(request, "product_ids", "product_id")
        fills = [
            fill
            for order in self.venue.exchange.owner_orders(owner)
            for fill in reversed(order.fills)
            if (not order_ids or fill.order_id in order_ids)
            and (not trade_ids or fill.trade_id in trade_ids)
            and (not products or fill.product_id in products)
        ]
        fills.sort(key=lambda f: int(f.entry_id), reverse=True)
        page, _, cursor = _page(fills, request)
        return web.json_response({"fills": [f.to_json() for f in page], "cursor": cursor})

    async def accounts(self, request: web.Request, owner: str) -> web.Response:
        accounts = self.venue.exchange.owner_accounts(owner)
        page, has_next, cursor = _page(accounts, request)
        body = [
            {
                "uuid": f"{owner}:{a.currency}",
                "name": f"{a.currency} Wallet",
                "currency": a.currency,
                "available_balance": {"value": format_decimal(a.available), "currency": a.currency},
                "hold": {"value": format_decimal(a.hold), "currency": a.currency},
                "default": True,
                "active": True,
                "type": "ACCOUNT_TYPE_FIAT" if a.currency == "USD" else "ACCOUNT_TYPE_CRYPTO",
                "ready": True,
            }
            for a in page
        ]
        return web.json_response({"accounts": body, "has_next": has_next, "cursor": cursor, "size": len(body)})

    async def transaction_summary(self, request: web.Request, owner: str) -> web.Response:
        """The fee tier (the venue's one pair of rates) and what this key has traded and paid."""
        exchange = self.venue.exchange
        fills = [fill for order in exchange.owner_orders(owner) for fill in order.fills]
        volume = sum((fill.price * fill.size for fill in fills), Decimal(0))
        fees = sum((fill.commission for fill in fills), Decimal(0))
        return web.json_response(
            {
                # Coinbase sends these four as JSON numbers, not strings.
                "total_volume": float(volume),
                "total_fees": float(fees),
                "advanced_trade_only_volume": float(volume),
                "advanced_trade_only_fees": float(fees),
                "fee_tier": {
                    "pricing_tier": "Paper",
                    "usd_from": "0",
                    "usd_to": "",
                    "taker_fee_rate": format_decimal(exchange.taker_rate),
                    "maker_fee_rate": format_decimal(exchange.maker_rate),
                    "aop_from": "",
                    "aop_to": "",
                },
                "margin_rate": None,
                "goods_and_services_tax": None,
                "coinbase_pro_volume": 0,
                "coinbase_pro_fees": 0,
                "total_balance": "",
                "has_promo_fee": False,
            }
        )

    async def key_permissions(self, request: web.Request, owner: str) -> web.Response:
        return web.json_response(
            {
                "can_view": True,
                "can_trade": True,
                "can_transfer": False,
                "portfolio_uuid": portfolio_uuid(owner),
                "portfolio_type": "DEFAULT",
            }
        )

    async def portfolios(self, request: web.Request, owner: str) -> web.Response:
        """One portfolio per key, the default one (a `portfolio_type` filter may leave it out)."""
        wanted = request.query.get("portfolio_type", "")
        portfolio = {"name": "Default", "uuid": portfolio_uuid(owner), "type": "DEFAULT", "deleted": False}
        return web.json_response({"portfolios": [portfolio] if wanted in ("", "DEFAULT") else []})

    # -- public --------------------------------------------------------------------------

    def _product_json(self, product_id: str) -> dict[str, Any]:
        book = self.venue.books[product_id]
        spec = book.spec
        last = self.venue.exchange.last_trade.get(product_id)
        bid, ask = book.best_bid(), book.best_ask()
        price = last if last is not None else (bid + ask) / 2 if bid and ask else spec.start_price
        return {
            "product_id": product_id,
            "price": format_decimal(price),
            "base_increment": format_decimal(spec.base_increment),
            "quote_increment": format_decimal(spec.quote_increment),
            "base_min_size": format_decimal(spec.base_min_size),
            "base_max_size": format_decimal(spec.base_max_size),
            "quote_min_size": "1",
            "status": "online",
            "trading_disabled": False,
            "base_currency_id": spec.base_currency,
            "quote_currency_id": spec.quote_currency,
            "product_type": "SPOT",
        }

    async def products(self, request: web.Request, _: str) -> web.Response:
        products = [self._product_json(p) for p in self.venue.books]
        return web.json_response({"products": products, "num_products": len(products)})

    async def product(self, request: web.Request, _: str) -> web.Response:
        product_id = request.match_info["product_id"]
        if product_id not in self.venue.books:
            return error(404, "NOT_FOUND", f"product {product_id} not found")
        return web.json_response(self._product_json(product_id))

    def _pricebook(self, product_id: str, limit: int) -> dict[str, Any]:
        bids, asks = self.venue.book_levels(product_id)

        def levels(rows: list[tuple[Decimal, Decimal]]) -> list[dict[str, str]]:
            return [{"price": format_decimal(p), "size": format_decimal(s)} for p, s in rows[:limit]]

        return {"product_id": product_id, "bids": levels(bids), "asks": levels(asks), "time": self.venue.now_text()}

    def _known_product(self, product_id: str | None) -> str:
        if not product_id or product_id not in self.venue.books:
            raise InvalidRequest(f"unknown product_id {product_id!r}")
        return product_id

    async def product_book(self, request: web.Request, _: str) -> web.Response:
        product_id = self._known_product(request.query.get("product_id"))
        try:
            limit = int(request.query.get("limit", "50"))
        except ValueError:
            raise InvalidRequest("limit must be a whole number") from None
        if limit < 1:
            raise InvalidRequest("limit must be at least 1")
        return web.json_response({"pricebook": self._pricebook(product_id, limit)})

    async def market_trades(self, request: web.Request, _: str) -> web.Response:
        product_id = request.match_info["product_id"]
        if product_id not in self.venue.books:
            return error(404, "NOT_FOUND", f"product {product_id} not found")
        return web.json_response(rest_market.market_trades(self.venue, product_id, request.query))

    async def candles(self, request: web.Request, _: str) -> web.Response:
        product_id = request.match_info["product_id"]
        if product_id not in self.venue.books:
            return error(404, "NOT_FOUND", f"product {product_id} not found")
        return web.json_response(rest_market.candles(self.venue, product_id, request.query))

    async def time(self, request: web.Request, _: str) -> web.Response:
        return web.json_response(rest_market.server_time(self.venue))

    async def best_bid_ask(self, request: web.Request, _: str) -> web.Response:
        products = _values(request, "product_ids") or set(self.venue.books)
        books = [self._pricebook(self._known_product(p), 1) for p in sorted(products)]
        return web.json_response({"pricebooks": books})


@web.middleware
async def json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Unknown routes get a JSON 404, and a bug in a handler a JSON 500, not a dead venue."""
    try:
        return await handler(request)
    except web.HTTPNotFound:
        return error(404, "NOT_FOUND", f"no route {request.method} {request.path}")
    except web.HTTPMethodNotAllowed:
        return error(405, "METHOD_NOT_ALLOWED", f"{request.method} not allowed on {request.path}")
    except web.HTTPRequestEntityTooLarge:
        return error(413, "INVALID_ARGUMENT", f"request body over {MAX_BODY_BYTES} bytes")
    except web.HTTPException:
        raise
    except Exception:
        log.exception("internal error serving %s %s", request.method, request.path)
        return error(500, "INTERNAL", "internal error (logged by the venue)")
