"""Binance Spot API keys as Binance's public docs define them: key files, and request signatures.

A Binance key is an API key (sent as the `X-MBX-APIKEY` header) and what signs: an HMAC-SHA256
secret, or an Ed25519 private key whose public half was registered with the venue. A signed
request's payload is its query string (and body) without the signature; HMAC signatures are the
hex digest, Ed25519 signatures base64. Protocol, not policy: the engine (a client) and the paper
venue (which checks the same keys) both use this module, and it imports neither.

Key files are JSON: {"apiKey": ..., "secretKey": ...} for HMAC, {"apiKey": ..., "privateKey":
PKCS#8 PEM} for Ed25519, and {"apiKey": ..., "publicKey": PEM} for what a venue needs of an
Ed25519 key (no secret).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import secrets
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

API_KEY_HEADER = "X-MBX-APIKEY"


class BinanceKeyError(ValueError):
    """A Binance key file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class BinanceKey:
    """An API key and its signing material: an HMAC secret, or an Ed25519 private key."""

    api_key: str
    secret: bytes = field(default=b"", repr=False)
    private_key: ed25519.Ed25519PrivateKey | None = field(default=None, repr=False)

    @property
    def kind(self) -> str:
        """ "HMAC" or "Ed25519"."""
        return "Ed25519" if self.private_key is not None else "HMAC"

    def sign(self, payload: str) -> str:
        """The signature of `payload` (a query string), as Binance expects it in `signature`."""
        if self.private_key is not None:
            return base64.b64encode(self.private_key.sign(payload.encode("ascii"))).decode("ascii")
        return hmac.new(self.secret, payload.encode("ascii"), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class BinanceVerifier:
    """What a venue keeps of a key to check its signatures (the HMAC secret, or the public key)."""

    api_key: str
    secret: bytes = field(default=b"", repr=False)
    public_key: ed25519.Ed25519PublicKey | None = field(default=None, repr=False)

    def verify(self, payload: str, signature: str) -> bool:
        """Whether `signature` signs `payload` with this key."""
        if self.public_key is not None:
            try:
                self.public_key.verify(base64.b64decode(signature, validate=True), payload.encode("ascii"))
            except (InvalidSignature, ValueError):
                return False
            return True
        expected = hmac.new(self.secret, payload.encode("ascii"), hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature.lower())


def generate_key(*, ed25519_key: bool = False) -> BinanceKey:
    """A new random key: a 64-character API key, and a 64-character HMAC secret or an Ed25519 key."""
    api_key = secrets.token_urlsafe(48)[:64]
    if ed25519_key:
        return BinanceKey(api_key, private_key=ed25519.Ed25519PrivateKey.generate())
    return BinanceKey(api_key, secret=secrets.token_hex(32).encode("ascii"))


def key_file_text(key: BinanceKey, *, public_only: bool = False) -> str:
    """The key file of `key` (for an Ed25519 key and `public_only`, its public half alone)."""
    if key.private_key is None:
        if public_only:
            raise BinanceKeyError("an HMAC key has no public half: the venue needs its secret")
        return json.dumps({"apiKey": key.api_key, "secretKey": key.secret.decode("ascii")}, indent=2)
    if public_only:
        pem = key.private_key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return json.dumps({"apiKey": key.api_key, "publicKey": pem.decode()}, indent=2)
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return json.dumps({"apiKey": key.api_key, "privateKey": pem.decode()}, indent=2)


def write_key_file(path: Path, key: BinanceKey, *, public_only: bool = False) -> None:
    """Write a key file readable by its owner only; refuses to overwrite an existing file."""
    text = key_file_text(key, public_only=public_only)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise BinanceKeyError(f"{path}: already exists; not overwriting a key") from None
    with os.fdopen(fd, "w") as handle:
        handle.write(text + "\n")


def _fields(text: str, where: str) -> dict[str, str]:
    try:
        data = json.loads(text)
    except ValueError:
        raise BinanceKeyError(f"{where}: not JSON") from None
    if not isinstance(data, dict):
        raise BinanceKeyError(f"{where}: needs a JSON object with 'apiKey'")
    api_key = data.get("apiKey")
    if not isinstance(api_key, str) or not api_key or not api_key.isascii() or not api_key.isprintable():
        raise BinanceKeyError(f"{where}: needs an 'apiKey' string of printable ASCII")
    return {name: value for name, value in data.items() if isinstance(value, str)}


def _ed25519_private(material: str, where: str) -> ed25519.Ed25519PrivateKey:
    try:
        private = serialization.load_pem_private_key(material.encode(), password=None)
    except (ValueError, TypeError):
        raise BinanceKeyError(f"{where}: privateKey is not a readable unencrypted PKCS#8 PEM key") from None
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        raise BinanceKeyError(f"{where}: privateKey must be an Ed25519 key (RSA keys are not supported)")
    return private


def parse_key_file(text: str, where: str) -> BinanceKey:
    """A signing key from a key file's text; BinanceKeyError says what is wrong (never the key)."""
    data = _fields(text, where)
    if "privateKey" in data:
        return BinanceKey(data["apiKey"], private_key=_ed25519_private(data["privateKey"], where))
    secret = data.get("secretKey", "")
    if not secret or not secret.isascii():
        raise BinanceKeyError(f"{where}: needs a 'secretKey' (HMAC) or a 'privateKey' (Ed25519)")
    return BinanceKey(data["apiKey"], secret=secret.encode("ascii"))


def parse_verifier(text: str, where: str) -> BinanceVerifier:
    """What a venue needs of a key file (a full one, or an Ed25519 key's public half)."""
    data = _fields(text, where)
    if "publicKey" in data:
        try:
            public = serialization.load_pem_public_key(data["publicKey"].encode())
        except (ValueError, TypeError):
            raise BinanceKeyError(f"{where}: publicKey is not a readable PEM public key") from None
        if not isinstance(public, ed25519.Ed25519PublicKey):
            raise BinanceKeyError(f"{where}: publicKey must be an Ed25519 key")
        return BinanceVerifier(data["apiKey"], public_key=public)
    key = parse_key_file(text, where)
    if key.private_key is not None:
        return BinanceVerifier(key.api_key, public_key=key.private_key.public_key())
    return BinanceVerifier(key.api_key, secret=key.secret)


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError as exc:
        raise BinanceKeyError(f"{path}: cannot read: {exc.strerror}") from None


def read_key_file(path: Path) -> BinanceKey:
    """Read and parse a signing key file."""
    return parse_key_file(_read(path), str(path))


def read_verifier_file(path: Path) -> BinanceVerifier:
    """Read what a venue needs of a key file."""
    return parse_verifier(_read(path), str(path))
