"""The Coinbase Advanced Trade REST client: orders, cancels, fills, accounts.

One keep-alive aiohttp session per client, a fresh JWT per request (signed ahead, while idle, for
the calls that race the market: placing and cancelling), a client-side rate limit
under the venue's, and bounded retries only where a retry cannot do harm: every read, every
cancel (cancelling twice cancels once), and order creation, which is idempotent through its
`client_order_id` (a repeat returns the existing order instead of making a second one).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from typing import Any

import aiohttp

from cryptoj_tui.engine.adapters.base import VenueError
from cryptoj_tui.engine.adapters.coinbase.auth import SPARE_MAX_AGE_S, JwtSigner
from cryptoj_tui.engine.adapters.connection import Backoff, RestTap
from cryptoj_tui.engine.adapters.http import RateLimiter, answer_text, retry_delay, too_large
from cryptoj_tui.engine.model import clip

log = logging.getLogger(__name__)

BROKERAGE = "/api/v3/brokerage"
MAX_CANCEL_IDS = 100
PAGE_LIMIT = 250
SIGNED_AHEAD = frozenset({("POST", "/orders"), ("POST", "/orders/batch_cancel")})
"""Calls whose next JWT is signed while the client is idle, so an order or a cancel does not wait
for its signature."""
SPARE_REFRESH_S = SPARE_MAX_AGE_S / 2
"""How often a token signed ahead but not used is signed again, so one is always young enough."""


class RestError(VenueError):
    """A REST call that failed for good; one line naming the call, the status and the venue's words."""

    def __init__(self, call: str, status: int, code: str, message: str) -> None:
        super().__init__(
            f"{call}: HTTP {status} {code}: {message}" if status else f"{call}: {message}",
            call=call,
            status=status,
            code=code,
        )


class CoinbaseRest:
    """Authenticated calls to one venue's brokerage API (`base_url` is scheme://host[:port])."""

    def __init__(
        self,
        base_url: str,
        signer: JwtSigner,
        *,
        rate: float = 25.0,
        burst: int = 10,
        timeout: float = 5.0,
        retries: int = 3,
        backoff: Backoff | None = None,
        tap: RestTap | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._tap = tap
        self._signer = signer
        self._limiter = RateLimiter(rate, burst)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._backoff_base = backoff or Backoff(base=0.05, cap=1.0)
        self._session: aiohttp.ClientSession | None = None
        self._refreshes: dict[tuple[str, str], asyncio.TimerHandle] = {}
        self.requests = 0
        self.retried = 0

    async def start(self) -> None:
        """Open the keep-alive session."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, raise_for_status=False)
            for method, path in SIGNED_AHEAD:
                self._sign_ahead(method, path)

    def _url(self, path: str) -> str:
        return f"{self.base_url}{BROKERAGE}{path}"

    def _sign_ahead(self, method: str, path: str) -> None:
        """Sign the next token for this call now, and again every SPARE_REFRESH_S while unused."""
        if self._session is None:  # closed meanwhile
            return
        self._signer.sign_ahead(method, self._url(path))
        previous = self._refreshes.pop((method, path), None)
        if previous is not None:
            previous.cancel()
        self._refreshes[method, path] = asyncio.get_running_loop().call_later(
            SPARE_REFRESH_S, self._sign_ahead, method, path
        )

    async def close(self) -> None:
        """Close the session."""
        for refresh in self._refreshes.values():
            refresh.cancel()
        self._refreshes.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _call(self, method: str, path: str, *, params: Sequence[tuple[str, str]] = (), body: Any = None) -> Any:
        """One call with retries on 429, 5xx, timeouts and dropped connections."""
        try:
            return await self._attempts(method, path, params, body)
        finally:
            if (method, path) in SIGNED_AHEAD:
                # Its token was used: sign the next once the caller has had the answer, not before
                # (aiohttp on Python 3.11 writes the request a loop turn after it is made).
                asyncio.get_running_loop().call_soon(self._sign_ahead, method, path)

    async def _attempts(self, method: str, path: str, params: Sequence[tuple[str, str]], body: Any) -> Any:
        if self._session is None:
            await self.start()
        assert self._session is not None
        url = self._url(path)
        call = f"{method} {BROKERAGE}{path}"
        data = None if body is None else json.dumps(body)
        delays = Backoff(self._backoff_base.base, self._backoff_base.cap)
        for attempt in range(self._retries + 1):
            last = attempt == self._retries
            await self._limiter.acquire()
            session = self._session
            if session is None:  # closed while this call waited its turn
                raise RestError(call, 0, "", "not sent: the client was closed")
            headers = {"Authorization": f"Bearer {self._signer.for_request(method, url)}"}
            if data is not None:
                headers["Content-Type"] = "application/json"
            self.requests += 1
            try:
                async with session.request(
                    method, url, params=list(params) or None, data=data, headers=headers
                ) as response:
                    text = await answer_text(response)
                    status = response.status
                    retry_after = response.headers.get("Retry-After")
                if text is None:
                    raise RestError(call, status, "BAD_RESPONSE", too_large())
                if self._tap is not None:
                    self._tap.rest(method, path, params=list(params), body=body, status=status, answer=text)
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                if self._tap is not None:
                    self._tap.rest(method, path, params=list(params), body=body, status=0, answer=problem)
                if last:
                    raise RestError(call, 0, "", f"no answer after {attempt + 1} tries ({problem})") from None
                log.info("%s: %s; retrying", call, problem)
                self.retried += 1
                await asyncio.sleep(delays.next_delay())
                continue
            if status == 429 or status >= 500:
                if last:
                    raise _error(call, status, text)
                self.retried += 1
                await asyncio.sleep(retry_delay(retry_after, delays))
                continue
            if status >= 400:
                raise _error(call, status, text)
            try:
                return json.loads(text)
            except ValueError:
                raise RestError(call, status, "BAD_RESPONSE", f"not JSON: {text[:80]!r}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def create_order(
        self,
        client_order_id: str,
        product_id: str,
        side: str,
        configuration: dict[str, Any],
        attached: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """POST /orders; the venue's answer (success or a business failure) as a dict. `attached`
        is an entry's `attached_order_configuration` (its bracket)."""
        body = {
            "client_order_id": client_order_id,
            "product_id": product_id,
            "side": side,
            "order_configuration": configuration,
            **({"attached_order_configuration": attached} if attached is not None else {}),
        }
        result: dict[str, Any] = await self._call("POST", "/orders", body=body)
        return result

    async def edit_order(self, order_id: str, price: str, size: str) -> dict[str, Any]:
        """POST /orders/edit: a resting GTC limit order's new price and total size; the venue's
        answer (`success`, and `errors` with the edit's or the preview's failure reason).
        Retried like a read: both numbers are absolute, so a repeat asks for what is already so
        (and is refused as EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST, which the caller reads as done)."""
        result: dict[str, Any] = await self._call(
            "POST", "/orders/edit", body={"order_id": order_id, "price": price, "size": size}
        )
        return result

    async def cancel_batch(self, order_ids: Sequence[str]) -> list[dict[str, Any]]:
        """One `batch_cancel` call (at most MAX_CANCEL_IDS ids); its results. Callers cancelling more
        send several at once (Execution.cancel takes each batch's answer as it comes)."""
        if len(order_ids) > MAX_CANCEL_IDS:
            raise ValueError(f"a batch_cancel takes at most {MAX_CANCEL_IDS} ids, got {len(order_ids)}")
        answer = await self._call("POST", "/orders/batch_cancel", body={"order_ids": list(order_ids)})
        results: list[dict[str, Any]] = _field(answer, "results", f"POST {BROKERAGE}/orders/batch_cancel", [])
        return results

    async def get_order(self, order_id: str) -> dict[str, Any]:
        """GET /orders/historical/{order_id}."""
        answer = await self._call("GET", f"/orders/historical/{order_id}")
        order: dict[str, Any] = _field(answer, "order", f"GET {BROKERAGE}/orders/historical/{order_id}")
        return order

    async def list_orders(self, *, status: str | None = None, product_ids: Sequence[str] = ()) -> list[dict[str, Any]]:
        """Every order matching the filters, all pages."""
        params = [("order_status", status)] if status else []
        params += [("product_ids", p) for p in product_ids]
        return await self._pages("/orders/historical/batch", params, "orders")

    async def list_fills(
        self, *, order_ids: Sequence[str] = (), product_ids: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """Every fill matching the filters, all pages."""
        params = [("order_ids", o) for o in order_ids] + [("product_ids", p) for p in product_ids]
        return await self._pages("/orders/historical/fills", params, "fills")

    async def accounts(self) -> list[dict[str, Any]]:
        """Every account (one per currency) with available balance and hold."""
        return await self._pages("/accounts", [], "accounts")

    async def products(self) -> list[dict[str, Any]]:
        """The venue's products with their increments and limits."""
        answer = await self._call("GET", "/products")
        products: list[dict[str, Any]] = _field(answer, "products", f"GET {BROKERAGE}/products")
        return products

    async def _pages(self, path: str, params: list[tuple[str, str]], key: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        cursor = ""
        while True:
            page = await self._call("GET", path, params=[*params, ("limit", str(PAGE_LIMIT)), ("cursor", cursor)])
            items.extend(page.get(key, []))
            cursor = page.get("cursor") or ""
            if not cursor or page.get("has_next") is False:
                return items


UNAUTHORIZED_HINT = (
    "the venue refused the API key: it does not know the key, the key may not make this call, "
    "or this machine's clock is more than two minutes off the venue's (tokens live two minutes)"
)
"""Coinbase answers a request it does not authenticate with 401 and a bare "Unauthorized": what
can be wrong, said once, since the venue does not say which."""


_MISSING = object()


def _field(answer: Any, name: str, call: str, default: Any = _MISSING) -> Any:
    """`answer[name]`; a RestError naming the call when the answer is not an object that has it."""
    if isinstance(answer, dict) and name in answer:
        return answer[name]
    if isinstance(answer, dict) and default is not _MISSING:
        return default
    raise RestError(call, 200, "BAD_RESPONSE", f"no {name!r} in the answer")


def _error(call: str, status: int, text: str) -> RestError:
    if status == 401 and text.strip() in ("", "Unauthorized"):
        return RestError(call, status, "UNAUTHORIZED", UNAUTHORIZED_HINT)
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if isinstance(body, dict):
        code = clip(str(body.get("error") or ""), 60)
        message = str(body.get("message") or body.get("error_details") or code)
        return RestError(call, status, code, clip(message))
    return RestError(call, status, "", clip(text, 80) or "no body")
