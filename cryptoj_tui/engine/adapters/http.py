"""What every venue's REST client shares: a client-side rate limit, bounded answers, retry delays."""

from __future__ import annotations

import asyncio
import time

import aiohttp

from cryptoj_tui.engine.adapters.connection import Backoff

MAX_ANSWER_BYTES = 64 << 20
"""The largest REST answer read (a page of orders or fills is far smaller); past it, the call fails."""


class RateLimiter:
    """A token bucket: at most `rate` requests a second on average, bursts up to `burst`."""

    def __init__(self, rate: float, burst: int) -> None:
        if rate <= 0 or burst < 1:
            raise ValueError(f"rate limit needs rate > 0 and burst >= 1, got {rate}/{burst}")
        self.rate = rate
        self.burst = burst
        self._tokens = float(burst)
        self._updated = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until a request may go out."""
        async with self._lock:  # first come, first served
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.rate)
                self._updated = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.rate)


async def answer_text(response: aiohttp.ClientResponse) -> str | None:
    """The answer's body as text, or None past MAX_ANSWER_BYTES (the caller fails the call).
    Bytes that are not UTF-8 are replaced: a junk answer is refused by the parse after."""
    length = response.content_length
    if length is not None:  # the usual answer: its size is known before a byte is read
        if length > MAX_ANSWER_BYTES:
            return None
        # One read of exactly that many bytes (aiohttp stops at Content-Length): the chunked
        # loop below costs a loop turn or more per answer, on the path of every order.
        return (await response.read()).decode("utf-8", "replace")
    chunks, size = [], 0
    async for chunk in response.content.iter_chunked(1 << 16):
        size += len(chunk)
        if size > MAX_ANSWER_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def too_large() -> str:
    """What a call that got an answer past MAX_ANSWER_BYTES says."""
    return f"an answer over {MAX_ANSWER_BYTES:,} bytes"


def retry_delay(retry_after: str | None, delays: Backoff) -> float:
    """Seconds before a retry: the venue's Retry-After (capped), else the next backoff delay."""
    try:
        return min(max(float(retry_after), 0.0), delays.cap) if retry_after else delays.next_delay()
    except ValueError:
        return delays.next_delay()
