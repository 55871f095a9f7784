"""A Coinbase Advanced Trade client written from Coinbase's public docs alone.

Its keys and tokens are made here with cryptography and PyJWT directly, never with the
project's signer, in every shape Coinbase's SDKs have signed: today's `iss: "cdp"` with one
`uri`; the older `iss: "coinbase-cloud"` with an `aud` list; the CDP SDK's `uris` list with
`iat` and `aud`; ES256 (EC P-256, SEC1 PEM key files) and EdDSA (Ed25519, base64 key files).
Pointing it at the paper venue changes only the base URL, as a trader's own client would.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

BASE = "/api/v3/brokerage"
TOKEN_SHAPES = ("cdp", "coinbase-cloud", "cdp-sdk")
"""cdp: iss "cdp" and one `uri` (the docs' example); coinbase-cloud: older SDKs and many
third-party clients, with `aud`; cdp-sdk: `iat`, `aud` and a `uris` list."""
WS_AUDIENCE = "public_websocket_api"
REST_AUDIENCE = "retail_rest_api_proxy"


@dataclass(frozen=True)
class DocsKey:
    """A CDP API key as the Coinbase developer portal hands it out."""

    name: str
    private_key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey

    @classmethod
    def new(cls, ed25519_key: bool = False) -> DocsKey:
        if ed25519_key:
            return cls(str(uuid.uuid4()), ed25519.Ed25519PrivateKey.generate())
        org, key_id = uuid.uuid4(), uuid.uuid4()
        return cls(f"organizations/{org}/apiKeys/{key_id}", ec.generate_private_key(ec.SECP256R1()))

    @property
    def algorithm(self) -> str:
        return "EdDSA" if isinstance(self.private_key, ed25519.Ed25519PrivateKey) else "ES256"

    def write(self, path: Path) -> Path:
        """The key file as downloaded: `{"name", "privateKey"}` (SEC1 PEM) for EC keys,
        `{"id", "privateKey"}` (base64 of the 64-byte seed + public key) for Ed25519."""
        if isinstance(self.private_key, ed25519.Ed25519PrivateKey):
            seed = self.private_key.private_bytes(
                serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
            )
            public = self.private_key.public_key().public_bytes(
                serialization.Encoding.Raw, serialization.PublicFormat.Raw
            )
            document = {"id": self.name, "privateKey": base64.b64encode(seed + public).decode()}
        else:
            pem = self.private_key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
            )
            document = {"name": self.name, "privateKey": pem.decode()}
        path.write_text(json.dumps(document))
        path.chmod(0o600)
        return path

    def token(self, shape: str, request: str | None = None, *, now: float | None = None, lifetime: int = 120) -> str:
        """A JWT in one of TOKEN_SHAPES for `request` ("METHOD host/path"), or for the
        WebSocket when `request` is None."""
        now = int(time.time() if now is None else now)
        claims: dict[str, Any] = {"sub": self.name, "nbf": now, "exp": now + lifetime}
        if shape == "cdp":
            claims["iss"] = "cdp"
            if request is not None:
                claims["uri"] = request
        elif shape == "coinbase-cloud":
            claims["iss"] = "coinbase-cloud"
            claims["aud"] = [REST_AUDIENCE if request is not None else WS_AUDIENCE]
            if request is not None:
                claims["uri"] = request
        elif shape == "cdp-sdk":
            claims.update(iss="cdp", iat=now, aud=["cdp_service"])
            if request is not None:
                claims["uris"] = [request]
        else:
            raise ValueError(f"unknown token shape {shape!r}")
        headers = {"kid": self.name, "nonce": secrets.token_hex(16), "typ": "JWT"}
        return jwt.encode(claims, self.private_key, algorithm=self.algorithm, headers=headers)


class DocsClient:
    """REST calls as the docs describe them: a fresh token per request, bound to its method,
    host and path (no scheme, no query string)."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str, key: DocsKey | None, shape: str = "cdp") -> None:
        self.session, self.base_url, self.key, self.shape = session, base_url, key, shape
        self.host = base_url.split("://", 1)[1]

    async def call(
        self, method: str, path: str, *, body: Any = None, params: Any = None, token: str | None = None
    ) -> tuple[int, Any]:
        """(status, JSON body, or the text where the body is not JSON)."""
        headers = {}
        if token is None and self.key is not None:
            token = self.key.token(self.shape, f"{method} {self.host}{BASE}{path}")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(
            method, f"{self.base_url}{BASE}{path}", json=body, params=params, headers=headers
        ) as response:
            text = await response.text()
            try:
                return response.status, json.loads(text)
            except ValueError:
                return response.status, text

    async def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        status, data = await self.call(method, path, **kwargs)
        assert status == 200, (method, path, status, data)
        return data

    async def limit_order(self, side: str, price: str, size: str, **extra: Any) -> str:
        """A GTC limit order; its order id."""
        body = {
            "client_order_id": str(uuid.uuid4()),
            "product_id": "BTC-USD",
            "side": side,
            "order_configuration": {"limit_limit_gtc": {"base_size": size, "limit_price": price, **extra}},
        }
        data = await self.ok("POST", "/orders", body=body)
        assert data["success"] is True, data
        return str(data["success_response"]["order_id"])

    async def market_sell(self, size: str) -> str:
        body = {
            "client_order_id": str(uuid.uuid4()),
            "product_id": "BTC-USD",
            "side": "SELL",
            "order_configuration": {"market_market_ioc": {"base_size": size}},
        }
        data = await self.ok("POST", "/orders", body=body)
        assert data["success"] is True, data
        return str(data["success_response"]["order_id"])

    async def order(self, order_id: str) -> dict[str, Any]:
        return dict((await self.ok("GET", f"/orders/historical/{order_id}"))["order"])
