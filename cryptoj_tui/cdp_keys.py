"""CDP API keys as Coinbase Advanced Trade defines them: key files, and the JWTs they sign.

Protocol, not policy: both the engine (a client) and the paper venue (which must read the
same key files) use this module, and it imports neither of them.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519

JWT_LIFETIME_S = 120

PublicKey = ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey
PrivateKey = ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey


class KeyFileError(ValueError):
    """A CDP key file that cannot be used; the message names the file and the problem."""


@dataclass(frozen=True)
class CdpKey:
    """A CDP API key: its name (the JWT `kid`/`sub`) and private key."""

    name: str
    private_key: PrivateKey = field(repr=False)

    @property
    def algorithm(self) -> str:
        """The JWT algorithm this key signs with."""
        return "EdDSA" if isinstance(self.private_key, ed25519.Ed25519PrivateKey) else "ES256"

    def public_key(self) -> PublicKey:
        """The public half, which the venue registers."""
        return self.private_key.public_key()


def generate_key(ed25519_key: bool = False) -> CdpKey:
    """A new random key with a CDP-style name."""
    org, key_id = secrets.token_hex(8), secrets.token_hex(8)
    if ed25519_key:
        return CdpKey(key_id, ed25519.Ed25519PrivateKey.generate())
    return CdpKey(f"organizations/{org}/apiKeys/{key_id}", ec.generate_private_key(ec.SECP256R1()))


def key_file_text(key: CdpKey) -> str:
    """The CDP key file for `key`: SEC1 PEM for EC keys, base64 of the raw key for Ed25519."""
    if isinstance(key.private_key, ed25519.Ed25519PrivateKey):
        raw = key.private_key.private_bytes(
            serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
        )
        return json.dumps({"id": key.name, "privateKey": base64.b64encode(raw).decode()}, indent=2)
    pem = key.private_key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    ).decode()
    return json.dumps({"name": key.name, "privateKey": pem}, indent=2)


def public_key_file_text(key: CdpKey) -> str:
    """What a venue needs of `key` to check its JWTs: the name and the public half (PEM), no secret."""
    pem = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return json.dumps({"name": key.name, "publicKey": pem.decode()}, indent=2)


def write_key_file(path: Path, key: CdpKey, *, public_only: bool = False) -> None:
    """Write a key file readable by its owner only (the public half alone if `public_only`);
    refuses to overwrite an existing file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    try:
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path}: already exists; not overwriting a key") from None
    with os.fdopen(fd, "w") as handle:
        handle.write((public_key_file_text(key) if public_only else key_file_text(key)) + "\n")


def read_public_key_file(path: Path) -> tuple[str, PublicKey]:
    """(name, public key) from a CDP key file or a public key file (`public_key_file_text`)."""
    try:
        text = path.read_text()
        data = json.loads(text)
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read: {exc.strerror}") from None
    except ValueError:
        raise KeyFileError(f"{path}: not JSON") from None
    if isinstance(data, dict) and isinstance(data.get("publicKey"), str) and isinstance(data.get("name"), str):
        try:
            public = serialization.load_pem_public_key(data["publicKey"].encode())
        except (ValueError, TypeError):
            raise KeyFileError(f"{path}: publicKey is not a readable PEM public key") from None
        if not isinstance(public, ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey):
            raise KeyFileError(f"{path}: public keys must be EC P-256 or Ed25519")
        return data["name"], public
    key = parse_key_file(text, str(path))
    return key.name, key.public_key()


def parse_key_file(text: str, where: str) -> CdpKey:
    """A CDP key from a key file's text; KeyFileError says what is wrong (never the key)."""
    try:
        data = json.loads(text)
    except ValueError:
        raise KeyFileError(f"{where}: not JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("privateKey"), str):
        raise KeyFileError(f"{where}: needs a 'privateKey' string and a 'name' (or 'id')")
    name = data.get("name") or data.get("id")
    if not isinstance(name, str) or not name:
        raise KeyFileError(f"{where}: needs a 'name' (or 'id') string")
    material: str = data["privateKey"]
    if "BEGIN" in material:
        try:
            private = serialization.load_pem_private_key(material.encode(), password=None)
        except (ValueError, TypeError):
            raise KeyFileError(f"{where}: privateKey is not a readable unencrypted PEM key") from None
        if not isinstance(private, ec.EllipticCurvePrivateKey) or not isinstance(private.curve, ec.SECP256R1):
            raise KeyFileError(f"{where}: PEM keys must be EC P-256 (ES256)")
        return CdpKey(name, private)
    try:
        raw = base64.b64decode(material, validate=True)
    except (binascii.Error, ValueError):
        raise KeyFileError(f"{where}: privateKey is neither PEM nor base64") from None
    if len(raw) not in (32, 64):
        raise KeyFileError(f"{where}: an Ed25519 privateKey is 32 or 64 bytes, got {len(raw)}")
    return CdpKey(name, ed25519.Ed25519PrivateKey.from_private_bytes(raw[:32]))


def read_key_file(path: Path) -> CdpKey:
    """Read and parse a key file."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise KeyFileError(f"{path}: cannot read: {exc.strerror}") from None
    return parse_key_file(text, str(path))


def sign(key: CdpKey, uri: str | None = None, now: float | None = None) -> str:
    """A JWT as the public docs describe it: `uri` is "METHOD host[:port]/path" for REST, None for WebSocket."""
    issued = int(time.time() if now is None else now)
    claims: dict[str, object] = {"sub": key.name, "iss": "cdp", "nbf": issued, "exp": issued + JWT_LIFETIME_S}
    if uri is not None:
        claims["uri"] = uri
    headers = {"kid": key.name, "nonce": secrets.token_hex(16)}
    return jwt.encode(claims, key.private_key, algorithm=key.algorithm, headers=headers)
