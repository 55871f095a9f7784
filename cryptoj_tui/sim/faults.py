"""Injected faults, scriptable from tests (and, later, a control endpoint).

Each fault is armed for a number of requests and disarms itself, so a test states exactly
what goes wrong and everything else behaves normally.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

from cryptoj_tui.sim.rest import error

REST_ERRORS = {429: "RATE_LIMIT_EXCEEDED", 500: "INTERNAL", 502: "BAD_GATEWAY", 503: "UNAVAILABLE"}


@dataclass
class Faults:
    """What the venue should get wrong next."""

    rest_status: int = 0
    rest_count: int = 0
    rest_latency: float = 0.0
    reject_reason: str = ""
    reject_count: int = 0
    ws_stalled_until: float = 0.0
    log: list[str] = field(default_factory=list)

    def fail_rest(self, status: int, count: int = 1) -> None:
        """Answer the next `count` REST requests with `status` (429 carries Retry-After)."""
        if status not in REST_ERRORS:
            raise ValueError(f"can inject REST status {sorted(REST_ERRORS)}, not {status}")
        self.rest_status, self.rest_count = status, count

    def slow_rest(self, seconds: float) -> None:
        """Delay every REST answer by `seconds` (0 to stop)."""
        if seconds < 0:
            raise ValueError("latency must be >= 0 seconds")
        self.rest_latency = seconds

    def reject_orders(self, reason: str, count: int = 1) -> None:
        """Refuse the next `count` new orders with the venue error `reason`."""
        self.reject_reason, self.reject_count = reason, count

    def stall_ws(self, seconds: float, now: float) -> None:
        """Hold back every WebSocket frame for `seconds` (connections stay open)."""
        if seconds < 0:
            raise ValueError("stall must be >= 0 seconds")
        self.ws_stalled_until = now + seconds

    def clear(self) -> None:
        """Back to a well-behaved venue."""
        self.rest_status = self.rest_count = self.reject_count = 0
        self.rest_latency = self.ws_stalled_until = 0.0
        self.reject_reason = ""

    def state(self) -> dict[str, object]:
        """What is armed, for GET /sim/state."""
        return {
            "rest_status": self.rest_status if self.rest_count else 0,
            "rest_count": self.rest_count,
            "rest_latency": self.rest_latency,
            "reject_reason": self.reject_reason if self.reject_count else "",
            "reject_count": self.reject_count,
            "ws_stalled_until": self.ws_stalled_until,
            "log": self.log[-50:],
        }

    async def before_rest(
        self, request: web.Request, answer: Callable[[int, str, dict[str, str] | None], web.Response] | None = None
    ) -> web.Response | None:
        """Apply latency, and the armed error if any (None: serve the request normally), shaped
        by `answer(status, message, headers)` (Coinbase's error body unless given)."""
        if self.rest_latency:
            await asyncio.sleep(self.rest_latency)
        if self.rest_count > 0:
            self.rest_count -= 1
            status = self.rest_status
            self.log.append(f"{status} {request.method} {request.path}")
            headers = {"Retry-After": "1"} if status == 429 else None
            if answer is not None:
                return answer(status, f"injected fault: HTTP {status}", headers)
            return error(status, REST_ERRORS[status], f"injected fault: HTTP {status}", headers)
        return None

    def take_rejection(self) -> str | None:
        """The armed order rejection, consumed, or None."""
        if self.reject_count > 0:
            self.reject_count -= 1
            self.log.append(f"reject {self.reject_reason}")
            return self.reject_reason
        return None
