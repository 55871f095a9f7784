"""JWT verification as Coinbase Advanced Trade does it (API v3, CDP keys).

The venue registers public keys from CDP key files; every authenticated REST request carries a
fresh JWT bound to one method, host and path; WebSocket subscribe messages carry the same JWT
without one. Every shape Coinbase's own SDKs have signed is accepted: `iss` "cdp" (today's
SDKs) or "coinbase-cloud" (older coinbase-advanced-py releases and many third-party clients,
with an `aud` list), the request in `uri` or in a `uris` list, with or without `iat`, signed
ES256 or EdDSA. What is checked stays exact: the signature, the key, the time window and the
request's method + host + path. Nothing here knows about our engine: a client written from the
public docs gets the same answers.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import jwt

from cryptoj_tui.cdp_keys import JWT_LIFETIME_S, PublicKey, read_public_key_file

ALGORITHMS = ["ES256", "EdDSA"]
ISSUERS = ("cdp", "coinbase-cloud")
CLOCK_SKEW_S = 5
MAX_LIFETIME_S = JWT_LIFETIME_S + CLOCK_SKEW_S


class AuthError(Exception):
    """A request that is not authenticated; the message says why in one line."""


USED_TOKENS_PRUNED_ABOVE = 10_000
"""Spent tokens remembered before the expired ones are first forgotten."""


class KeyRegistry:
    """The public keys the venue accepts, by key name."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._keys: dict[str, PublicKey] = {}
        self._clock = clock
        self._used: dict[tuple[str, str], float] = {}
        """(key name, nonce or jti) of every REST token accepted -> its expiry: each is good once."""
        self._prune_above = USED_TOKENS_PRUNED_ABOVE

    def __len__(self) -> int:
        return len(self._keys)

    def register(self, name: str, public_key: PublicKey) -> None:
        """Accept JWTs signed by this key from now on."""
        self._keys[name] = public_key

    def register_file(self, path: Path) -> str:
        """Register the public key of a CDP key file (its public half) or of a public key file;
        returns the key name."""
        name, public_key = read_public_key_file(path)
        self.register(name, public_key)
        return name

    def verify(self, token: str, uri: str | None = None) -> str:
        """Check a JWT; return the key name, or raise AuthError saying what is wrong.

        `uri` is "METHOD host[:port]/path" for REST; None for WebSocket subscriptions.
        """
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise AuthError("malformed JWT") from None
        kid = header.get("kid")
        if header.get("alg") not in ALGORITHMS:
            raise AuthError(f"JWT alg must be one of {ALGORITHMS}, got {header.get('alg')!r}")
        public_key = self._keys.get(kid) if isinstance(kid, str) else None
        if public_key is None:
            raise AuthError("unknown API key")
        try:
            claims = jwt.decode(
                token,
                public_key,
                algorithms=ALGORITHMS,
                # Times are checked below against the venue's own (injectable) clock; `aud` is
                # whatever the SDK's generation put there (Coinbase does not ask for one).
                options={
                    "require": ["sub", "iss", "exp"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                    "verify_aud": False,
                    "verify_iss": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise AuthError("JWT signature does not match the API key") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid JWT: {exc}") from None
        if claims["iss"] not in ISSUERS:
            raise AuthError(f"JWT iss must be one of {list(ISSUERS)}, got {claims['iss']!r}")
        self._check_times(claims)
        if claims["sub"] != kid:
            raise AuthError("JWT sub does not match its kid")
        if uri is not None:
            signed_for = _requests_of(claims)
            if uri not in signed_for:
                raise AuthError(f"JWT uri {signed_for or None} does not match the request {uri!r}")
            self._spend(kid, header.get("nonce") or claims.get("jti"), claims["exp"], self._clock())
        return str(kid)

    def _check_times(self, claims: dict[str, object]) -> None:
        """nbf (or iat, where a client signs only that) not in the future, exp not past, and
        at most two minutes between them; all NumericDates (seconds, whole or not)."""
        now = self._clock()
        start = claims.get("nbf", claims.get("iat"))
        expires = claims["exp"]
        if not _is_seconds(start) or not _is_seconds(expires):
            raise AuthError("JWT needs nbf (or iat) and exp as seconds since the epoch")
        if any(name in claims and not _is_seconds(claims[name]) for name in ("nbf", "iat")):
            raise AuthError("JWT nbf and iat must be seconds since the epoch")
        if start > now + CLOCK_SKEW_S:  # type: ignore[operator]
            raise AuthError("JWT not yet valid (nbf in the future)")
        if expires <= now - CLOCK_SKEW_S:  # type: ignore[operator]
            raise AuthError("JWT expired")
        if expires - start > MAX_LIFETIME_S:  # type: ignore[operator]
            raise AuthError("JWT lifetime is over 120 seconds")

    def _spend(self, kid: str, once: object, expires: float, now: float) -> None:
        """A REST token is good for one request: one carrying a nonce (or jti) already seen is
        refused. A token with neither can be replayed until it expires (two minutes at most)."""
        if not isinstance(once, str) or not once:
            return
        if len(self._used) > self._prune_above:  # forget the expired ones: they are refused as expired anyway
            self._used = {k: e for k, e in self._used.items() if e > now - CLOCK_SKEW_S}
            # Next time at twice what is left: a busy minute holds more than 10,000 live tokens,
            # and pruning at a fixed size then rebuilt them all on every request (milliseconds each).
            self._prune_above = max(USED_TOKENS_PRUNED_ABOVE, 2 * len(self._used))
        if (kid, once) in self._used:
            raise AuthError("JWT already used: a REST token is good for one request")
        self._used[(kid, once)] = expires


def _is_seconds(value: object) -> bool:
    # json reads NaN and Infinity: a NaN exp would pass every comparison and never expire.
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _requests_of(claims: dict[str, object]) -> list[str]:
    """The requests a token was signed for: its `uri`, and every entry of its `uris` list."""
    signed: list[str] = []
    uri, uris = claims.get("uri"), claims.get("uris")
    if isinstance(uri, str):
        signed.append(uri)
    if isinstance(uris, list):
        signed += [u for u in uris if isinstance(u, str)]
    return signed
