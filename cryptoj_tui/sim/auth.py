"""JWT verification as Coinbase Advanced Trade does it (API v3, CDP keys).

The venue registers public keys from CDP key files; every authenticated REST request carries a
fresh JWT whose `uri` claim binds it to one method, host and path; WebSocket subscribe messages
carry the same JWT without `uri`. Nothing here knows about our engine: a client written from the
public docs gets the same answers.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import jwt

from cryptoj_tui.cdp_keys import JWT_LIFETIME_S, PublicKey, read_public_key_file

ALGORITHMS = ["ES256", "EdDSA"]
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
        self._used: dict[tuple[str, str], int] = {}
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
                issuer="cdp",
                # Times are checked below against the venue's own (injectable) clock.
                options={
                    "require": ["sub", "iss", "nbf", "exp"],
                    "verify_exp": False,
                    "verify_nbf": False,
                    "verify_iat": False,
                },
            )
        except jwt.InvalidSignatureError:
            raise AuthError("JWT signature does not match the API key") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"invalid JWT: {exc}") from None
        now = self._clock()
        if not isinstance(claims["nbf"], int) or not isinstance(claims["exp"], int):
            raise AuthError("JWT nbf and exp must be whole seconds")
        if claims["nbf"] > now + CLOCK_SKEW_S:
            raise AuthError("JWT not yet valid (nbf in the future)")
        if claims["exp"] <= now - CLOCK_SKEW_S:
            raise AuthError("JWT expired")
        if claims["exp"] - claims["nbf"] > MAX_LIFETIME_S:
            raise AuthError("JWT lifetime is over 120 seconds")
        if claims["sub"] != kid:
            raise AuthError("JWT sub does not match its kid")
        if uri is not None and claims.get("uri") != uri:
            raise AuthError(f"JWT uri {claims.get('uri')!r} does not match the request {uri!r}")
        if uri is not None:
            self._spend(kid, header.get("nonce") or claims.get("jti"), claims["exp"], now)
        return str(kid)

    def _spend(self, kid: str, once: object, expires: int, now: float) -> None:
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
