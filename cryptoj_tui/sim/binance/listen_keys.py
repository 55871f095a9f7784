"""Binance's listen keys: the older way to a user data stream, which most Binance clients use.

`POST /api/v3/userDataStream` (API key, no signature) gives the account's key, the same one while
it is valid, and extends it; `PUT` keeps it alive another TTL; `DELETE` closes it. A stream
connection at `/ws/<listenKey>` (or `/stream?streams=<listenKey>`) then gets the account's
events as they are, with no wrapper. A key not kept alive expires TTL after its last keepalive;
its streams are told `listenKeyExpired` and get nothing more.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable

from cryptoj_tui.sim.binance.errors import BinanceApiError

LISTEN_KEY_TTL = 3600.0
"""Seconds a listen key lives after its last keepalive (Binance's 60 minutes)."""
NO_SUCH_KEY = BinanceApiError(400, -1125, "This listenKey does not exist.")


class ListenKeys:
    """The valid listen keys: which account each is, and until when."""

    def __init__(self, ttl: float = LISTEN_KEY_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl = ttl
        self._clock = clock
        self._by_owner: dict[str, str] = {}
        self._keys: dict[str, tuple[str, float]] = {}
        """listen key -> (owner, expires at)"""

    def open(self, owner: str) -> str:
        """The owner's valid key (a new one if it has none), valid for another TTL."""
        key = self._by_owner.get(owner)
        if key is None or self.owner_of(key) is None:
            key = secrets.token_hex(30)  # 60 characters, as Binance's
            self._by_owner[owner] = key
        self._keys[key] = (owner, self._clock() + self.ttl)
        return key

    def keep_alive(self, owner: str, key: str) -> None:
        """Another TTL for the owner's key (-1125 for one it does not have, or that expired)."""
        if self.owner_of(key) != owner:
            raise NO_SUCH_KEY
        self._keys[key] = (owner, self._clock() + self.ttl)

    def close(self, owner: str, key: str) -> None:
        """The key is no more (-1125 for one the owner does not have)."""
        if self.owner_of(key) != owner:
            raise NO_SUCH_KEY
        del self._keys[key]
        self._by_owner.pop(owner, None)

    def owner_of(self, key: str) -> str | None:
        """Whose valid key this is (None: unknown, closed or expired)."""
        entry = self._keys.get(key)
        return entry[0] if entry is not None and entry[1] > self._clock() else None

    def key_of(self, owner: str) -> str | None:
        """The owner's key while it is valid."""
        key = self._by_owner.get(owner)
        return key if key is not None and self.owner_of(key) is not None else None

    def expired(self) -> list[str]:
        """Keys that expired since last asked (forgotten now: their streams are to be told)."""
        now = self._clock()
        gone = [key for key, (_, until) in self._keys.items() if until <= now]
        for key in gone:
            owner, _ = self._keys.pop(key)
            if self._by_owner.get(owner) == key:
                del self._by_owner[owner]
        return gone
