"""Where the engine's API key comes from, and the JWTs it signs with it.

A key comes from a CDP key file (`--key-file` / CRYPTOJ_KEY_FILE) or from the environment
(CRYPTOJ_API_KEY_NAME + CRYPTOJ_API_PRIVATE_KEY). A key file that anyone but its owner can
read or write is refused: a leaked trading key is not a warning. Nothing here ever logs or
formats the private key.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlsplit

from cryptoj_tui.cdp_keys import CdpKey, KeyFileError, parse_key_file, read_key_file, sign
from cryptoj_tui.engine.adapters.key_files import find_key, load_private

KEY_FILE_ENV = "CRYPTOJ_KEY_FILE"
KEY_NAME_ENV = "CRYPTOJ_API_KEY_NAME"
PRIVATE_KEY_ENV = "CRYPTOJ_API_PRIVATE_KEY"


def load_key_file(path: Path) -> CdpKey:
    """Read a CDP key file that only its owner can read; KeyFileError says why not."""
    return load_private(path, read_key_file, KeyFileError)


def load_key(key_file: Path | None = None, env: Mapping[str, str] | None = None) -> CdpKey | None:
    """The API key from `key_file`, else CRYPTOJ_KEY_FILE, else the two key variables; None when
    none is given (market data needs no key)."""

    def from_pair(name: str, private: str) -> CdpKey:
        return parse_key_file(json.dumps({"name": name, "privateKey": private}), f"environment {PRIVATE_KEY_ENV}")

    return find_key(
        key_file,
        env,
        file_variable=KEY_FILE_ENV,
        pair=(KEY_NAME_ENV, PRIVATE_KEY_ENV),
        load_file=load_key_file,
        from_pair=from_pair,
        error=KeyFileError,
    )


SPARE_MAX_AGE_S = 30.0
"""A token signed ahead is used only while younger than this (a JWT is valid for 120 s)."""


class JwtSigner:
    """Signs a fresh short-lived JWT for every request with one API key.

    For the calls that race the market (placing, cancelling) the next token can be signed ahead,
    while nothing waits for it (`sign_ahead`): signing is an ECDSA signature, about a tenth of a
    loopback order's round trip. Such a token is still used for one request only, and only while
    it is younger than SPARE_MAX_AGE_S.
    """

    def __init__(self, key: CdpKey, clock: Callable[[], float] = time.time) -> None:
        self._key = key
        self._clock = clock
        """Wall-clock seconds; a JWT is only valid for two minutes from it, so a skewed clock shows."""
        self._spares: dict[str, tuple[float, str]] = {}
        """uri -> (signed at, token) signed ahead for the next call to that uri."""

    @property
    def key_name(self) -> str:
        """The key's name (not secret: it identifies the key, like a user name)."""
        return self._key.name

    def for_request(self, method: str, url: str) -> str:
        """A JWT bound to one REST call: `uri` is "METHOD host[:port]/path", no scheme or query.

        The token signed ahead for this call if there is a young enough one (it is used up), else
        one signed now.
        """
        uri = _uri(method, url)
        spare = self._spares.pop(uri, None)
        if spare is not None and self._usable(spare):
            return spare[1]
        return sign(self._key, uri, now=self._clock())

    def sign_ahead(self, method: str, url: str) -> None:
        """Sign the next call's token to `url` now (replacing an older one signed ahead)."""
        uri = _uri(method, url)
        now = self._clock()
        self._spares[uri] = (now, sign(self._key, uri, now=now))

    def ready_for(self, method: str, url: str) -> bool:
        """Whether a young enough token signed ahead waits for the next call to `url`."""
        spare = self._spares.get(_uri(method, url))
        return spare is not None and self._usable(spare)

    def _usable(self, spare: tuple[float, str]) -> bool:
        """A token signed ahead is usable while younger than SPARE_MAX_AGE_S (and not from a
        clock that has since been set back)."""
        return 0 <= self._clock() - spare[0] < SPARE_MAX_AGE_S

    def for_websocket(self) -> str:
        """A JWT for a WebSocket subscribe message (no `uri`)."""
        return sign(self._key, now=self._clock())

    def __repr__(self) -> str:
        return f"JwtSigner({self._key.name!r})"


def _uri(method: str, url: str) -> str:
    parts = urlsplit(url)
    return f"{method.upper()} {parts.netloc}{parts.path}"
