"""The Binance Spot REST client: signed calls, the venue's clock, and its request-weight limits.

Every signed call carries `timestamp` (the venue's clock, as this machine estimates it from
`GET /api/v3/time`) and `recvWindow`, and is signed over its query string (HMAC-SHA256 or
Ed25519, binance_keys.py). Binance's own counters drive the client-side limit: each answer's
`X-MBX-USED-WEIGHT-1M` and `X-MBX-ORDER-COUNT-10S` say how much of the minute's weight and the
ten seconds' orders are spent, and a call that would pass either waits for the window to turn.
429 is waited out as its Retry-After says; 418 (the address is banned) stops every call until
the ban ends, as Binance requires. A -1021 (timestamp outside recvWindow) re-reads the venue's
clock and tries once more. Reads and cancels are retried; a new order is not (a 5xx or no
answer means "unknown", and the caller asks the venue whether it has the order).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import msgspec
from yarl import URL

from cryptoj_tui.binance_keys import API_KEY_HEADER, BinanceKey
from cryptoj_tui.engine.adapters.base import VenueError
from cryptoj_tui.engine.adapters.connection import Backoff, RestTap
from cryptoj_tui.engine.adapters.http import RateLimiter, answer_text, retry_delay, too_large
from cryptoj_tui.engine.model import clip

log = logging.getLogger(__name__)

RECV_WINDOW_MS = 5000
WEIGHT_LIMIT_1M = 6000
"""Binance Spot's request weight a minute per address (exchangeInfo's REQUEST_WEIGHT limit)."""
ORDER_LIMIT_10S = 100
"""New orders in ten seconds per account (exchangeInfo's ORDERS limit)."""
WEIGHTS = {
    ("POST", "/api/v3/order"): 1,
    ("DELETE", "/api/v3/order"): 1,
    ("DELETE", "/api/v3/openOrders"): 1,
    ("GET", "/api/v3/order"): 4,
    ("GET", "/api/v3/openOrders"): 80,
    ("GET", "/api/v3/allOrders"): 20,
    ("GET", "/api/v3/myTrades"): 20,
    ("GET", "/api/v3/account"): 20,
    ("GET", "/api/v3/exchangeInfo"): 20,
}
"""Each call's request weight as Binance's docs give it (1 where not listed)."""
TIMESTAMP_OUTSIDE_WINDOW = -1021
AUTH_CODES = frozenset({-1022, -2014, -2015})
"""Bad signature, bad API key format, key refused: no retry will help."""
MAX_BAN_WAIT_S = 3600.0


class BinanceRestError(VenueError):
    """A REST call that failed for good: the call, the HTTP status, Binance's code and words."""

    def __init__(self, call: str, status: int, code: int | None, message: str) -> None:
        where = f"HTTP {status}" + (f" code {code}" if code is not None else "")
        super().__init__(
            f"{call}: {where}: {message}" if status else f"{call}: {message}",
            call=call,
            status=status,
            code="" if code is None else str(code),
        )
        self.binance_code = code
        self.venue_message = message
        """What the venue (or the client, for a call with no answer) said, without the call's name."""


class _ErrorBody(msgspec.Struct):
    code: int
    msg: str = ""


class _ServerTime(msgspec.Struct):
    serverTime: int


class WeightGate:
    """Keeps calls inside the minute's request weight and the ten seconds' order count that the
    venue reports it has counted (its headers), waiting for the window to turn when full."""

    def __init__(self, weight_limit: int = WEIGHT_LIMIT_1M, order_limit: int = ORDER_LIMIT_10S) -> None:
        self.weight_limit = weight_limit
        self.order_limit = order_limit
        self.used_weight = 0
        self.order_count = 0
        self._weight_window = 0
        self._order_window = 0
        self.waits = 0

    async def admit(self, weight: int, is_order: bool, now_ms: int) -> None:
        """Wait until a call of `weight` (a new order if `is_order`) fits its windows."""
        minute, ten = now_ms // 60_000, now_ms // 10_000
        if minute != self._weight_window:
            self._weight_window, self.used_weight = minute, 0
        if ten != self._order_window:
            self._order_window, self.order_count = ten, 0
        wait_ms = 0
        if self.used_weight + weight > self.weight_limit:
            wait_ms = (minute + 1) * 60_000 - now_ms
        if is_order and self.order_count + 1 > self.order_limit:
            wait_ms = max(wait_ms, (ten + 1) * 10_000 - now_ms)
        if wait_ms > 0:
            self.waits += 1
            log.warning("Binance rate limit nearly spent: waiting %.1f s for its window", wait_ms / 1000)
            await asyncio.sleep(wait_ms / 1000)
        self.used_weight += weight  # counted ahead; the answer's header corrects it
        if is_order:
            self.order_count += 1

    def update(self, headers: Any, now_ms: int) -> None:
        """Take the venue's own counts from an answer's headers."""
        for header, attribute in (("X-MBX-USED-WEIGHT-1M", "used_weight"), ("X-MBX-ORDER-COUNT-10S", "order_count")):
            value = headers.get(header)
            if value is not None and value.isdigit():
                setattr(self, attribute, int(value))
        self._weight_window, self._order_window = now_ms // 60_000, now_ms // 10_000


class BinanceRest:
    """Calls to one Binance Spot REST API (`base_url` is scheme://host[:port])."""

    def __init__(
        self,
        base_url: str,
        key: BinanceKey,
        *,
        rate: float = 25.0,
        burst: int = 10,
        timeout: float = 5.0,
        retries: int = 3,
        recv_window_ms: int = RECV_WINDOW_MS,
        backoff: Backoff | None = None,
        tap: RestTap | None = None,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._key = key
        self._limiter = RateLimiter(rate, burst)
        self.gate = WeightGate()
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._retries = retries
        self._recv_window = recv_window_ms
        self._backoff_base = backoff or Backoff(base=0.05, cap=1.0)
        self._tap = tap
        self._session: aiohttp.ClientSession | None = None
        self.clock_offset_ms = 0
        """The venue's clock minus this machine's, as last measured."""
        self._banned_until = 0.0
        self.requests = 0
        self.retried = 0

    async def start(self) -> None:
        """Open the keep-alive session and read the venue's clock."""
        if self._session is None:
            self._session = aiohttp.ClientSession(timeout=self._timeout, raise_for_status=False)
            await self.sync_clock()

    async def close(self) -> None:
        """Close the session."""
        if self._session is not None:
            await self._session.close()
            self._session = None

    def now_ms(self) -> int:
        """The venue's time now, in milliseconds, as this machine estimates it."""
        return int(time.time() * 1000) + self.clock_offset_ms

    async def sync_clock(self) -> None:
        """Measure the venue's clock against this machine's (half the round trip counted)."""
        sent = time.time()
        answer = await self.call("GET", "/api/v3/time", signed=False)
        received = time.time()
        try:
            server = msgspec.convert(answer, _ServerTime).serverTime
        except msgspec.ValidationError as exc:
            raise BinanceRestError("GET /api/v3/time", 200, None, f"unreadable answer: {exc}") from None
        self.clock_offset_ms = server - int((sent + received) / 2 * 1000)

    def _query(self, params: Sequence[tuple[str, str]], signed: bool) -> str:
        if not signed:
            return urlencode(list(params))
        query = urlencode([*params, ("recvWindow", str(self._recv_window)), ("timestamp", str(self.now_ms()))])
        return f"{query}&signature={quote(self._key.sign(query), safe='')}"

    async def call(
        self,
        method: str,
        path: str,
        params: Sequence[tuple[str, str]] = (),
        *,
        signed: bool = True,
        retry: bool = True,
    ) -> Any:
        """One call; its JSON answer. `retry` False for a new order (only a 429, which Binance
        did not act on, and a stale timestamp are tried again)."""
        if self._session is None:
            await self.start()
        assert self._session is not None
        call = f"{method} {path}"
        headers = {API_KEY_HEADER: self._key.api_key} if signed else {}
        weight = WEIGHTS.get((method, path), 1)
        is_order = (method, path) == ("POST", "/api/v3/order")
        delays = Backoff(self._backoff_base.base, self._backoff_base.cap)
        clock_resynced = False
        attempt = 0
        while True:
            attempt += 1
            last = attempt > self._retries
            self._refuse_while_banned(call)
            await self._limiter.acquire()
            await self.gate.admit(weight, is_order, self.now_ms())
            query = self._query(params, signed)
            url = URL(f"{self.base_url}{path}" + (f"?{query}" if query else ""), encoded=True)
            session = self._session
            if session is None:  # closed while this call waited its turn
                raise BinanceRestError(call, 0, None, "not sent: the client was closed")
            self.requests += 1
            try:
                async with session.request(method, url, headers=headers) as response:
                    text = await answer_text(response)
                    status = response.status
                    self.gate.update(response.headers, self.now_ms())
                    retry_after = response.headers.get("Retry-After")
            except (aiohttp.ClientError, TimeoutError) as exc:
                problem = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                self._record(method, path, params, 0, problem)
                if last or not retry:
                    raise BinanceRestError(call, 0, None, f"no answer after {attempt} tries ({problem})") from None
                log.info("%s: %s; retrying", call, problem)
                self.retried += 1
                await asyncio.sleep(delays.next_delay())
                continue
            if text is None:
                raise BinanceRestError(call, status, None, too_large())
            self._record(method, path, params, status, text)
            if status == 418:
                self._ban(retry_after)
                raise _error(call, status, text)
            if status == 429 and not last:
                self.retried += 1
                await asyncio.sleep(retry_delay(retry_after, delays))
                continue
            if status >= 500 and retry and not last:
                self.retried += 1
                await asyncio.sleep(delays.next_delay())
                continue
            if status >= 400:
                error = _error(call, status, text)
                if error.binance_code == TIMESTAMP_OUTSIDE_WINDOW and not clock_resynced:
                    clock_resynced = True
                    log.warning("%s: %s; reading the venue's clock again", call, error)
                    await self.sync_clock()
                    continue
                raise error
            try:
                return msgspec.json.decode(text)
            except msgspec.DecodeError:
                raise BinanceRestError(call, status, None, f"not JSON: {text[:80]!r}") from None

    def _record(self, method: str, path: str, params: Sequence[tuple[str, str]], status: int, answer: str) -> None:
        if self._tap is not None:  # the parameters as given: never the signature
            self._tap.rest(method, path, params=list(params), body=None, status=status, answer=answer)

    def _ban(self, retry_after: str | None) -> None:
        try:
            seconds = min(max(float(retry_after or "60"), 1.0), MAX_BAN_WAIT_S)
        except ValueError:
            seconds = 60.0
        self._banned_until = time.monotonic() + seconds
        log.error("Binance banned this address (HTTP 418) for %.0f s: no call goes out until then", seconds)

    def _refuse_while_banned(self, call: str) -> None:
        left = self._banned_until - time.monotonic()
        if left > 0:
            raise BinanceRestError(call, 0, None, f"not sent: the venue banned this address for {left:.0f} s more")


def _error(call: str, status: int, text: str) -> BinanceRestError:
    try:
        body = msgspec.json.decode(text, type=_ErrorBody)
    except (msgspec.DecodeError, msgspec.ValidationError):
        return BinanceRestError(call, status, None, clip(text, 80) or "no body")
    message = clip(body.msg or "no message")
    if body.code in AUTH_CODES:
        message += " (check the API key, its permissions, and that the key file is the venue's)"
    return BinanceRestError(call, status, body.code, message)
