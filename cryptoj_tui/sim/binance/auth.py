"""Signed requests as Binance Spot checks them: the API key header, a `timestamp` inside the
request's `recvWindow`, and a signature over the query string (and form body) without itself,
HMAC-SHA256 (hex) or Ed25519 (base64), from the key's registered secret or public key."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import unquote

from cryptoj_tui.binance_keys import BinanceVerifier, read_verifier_file
from cryptoj_tui.sim.binance.errors import (
    BAD_API_KEY_FORMAT,
    BAD_SIGNATURE,
    OUTSIDE_RECV_WINDOW,
    REFUSED_API_KEY,
    BinanceApiError,
    mandatory,
)

DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60_000
AHEAD_ALLOWED_MS = 1000
"""A timestamp may be this far ahead of the venue's clock (Binance's rule)."""


class BinanceKeys:
    """The keys the venue accepts, by API key."""

    def __init__(self, clock_ms: Callable[[], int] = lambda: int(time.time() * 1000)) -> None:
        self._keys: dict[str, BinanceVerifier] = {}
        self.clock_ms = clock_ms

    def __len__(self) -> int:
        return len(self._keys)

    def register(self, verifier: BinanceVerifier) -> None:
        """Accept this key's signatures from now on."""
        self._keys[verifier.api_key] = verifier

    def register_file(self, path: Path) -> str:
        """Register a Binance key file (a full one, or an Ed25519 key's public half); its API key."""
        verifier = read_verifier_file(path)
        self.register(verifier)
        return verifier.api_key

    def known(self, api_key: str | None) -> str:
        """The API key of a USER_STREAM-style call (key, no signature); BinanceApiError if unknown."""
        if not api_key:
            raise BAD_API_KEY_FORMAT
        if api_key not in self._keys:
            raise REFUSED_API_KEY
        return api_key

    def check_timestamp(self, params: Mapping[str, str]) -> None:
        """`timestamp` inside `recvWindow` of the venue's clock (-1021 otherwise)."""
        timestamp = params.get("timestamp", "")
        if not timestamp.isdigit():
            raise mandatory("timestamp")
        window_text = params.get("recvWindow", str(DEFAULT_RECV_WINDOW_MS))
        if not window_text.isdigit():
            raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'recvWindow'.")
        window = int(window_text)
        if window > MAX_RECV_WINDOW_MS:
            raise BinanceApiError(400, -1131, f"recvWindow must be less than {MAX_RECV_WINDOW_MS}.")
        now, stamp = self.clock_ms(), int(timestamp)
        if stamp >= now + AHEAD_ALLOWED_MS or now - stamp > window:
            raise OUTSIDE_RECV_WINDOW

    def check_signed(self, api_key: str | None, payload: str, signature: str, params: Mapping[str, str]) -> str:
        """The API key of a signed request; BinanceApiError says why it is refused."""
        key = self.known(api_key)
        if not signature:
            raise mandatory("signature")
        self.check_timestamp(params)
        if not self._keys[key].verify(payload, signature):
            raise BAD_SIGNATURE
        return key


def split_signature(query: str) -> tuple[str, str]:
    """(what was signed, the signature) of a raw query string: `signature` must come last."""
    head, separator, signature = query.rpartition("signature=")
    if not separator or (head and not head.endswith("&")) or "&" in signature:
        return query, ""
    return head[:-1] if head else "", unquote(signature)
