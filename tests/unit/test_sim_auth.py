"""The venue's JWT checks and CDP key files, as PROTOCOL.md describes them."""

from __future__ import annotations

import base64
import json
import stat
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cryptoj_tui.cdp_keys import (
    CdpKey,
    KeyFileError,
    generate_key,
    key_file_text,
    parse_key_file,
    read_key_file,
    sign,
    write_key_file,
)
from cryptoj_tui.sim.auth import USED_TOKENS_PRUNED_ABOVE, AuthError, KeyRegistry

NOW = 1_800_000_000.0
URI = "POST 127.0.0.1:8765/api/v3/brokerage/orders"


def registry_with(*keys: CdpKey) -> KeyRegistry:
    registry = KeyRegistry(clock=lambda: NOW)
    for key in keys:
        registry.register(key.name, key.public_key())
    return registry


@pytest.mark.parametrize("ed25519_key", [False, True])
def test_fresh_jwt_for_the_right_uri_is_accepted(ed25519_key: bool) -> None:
    key = generate_key(ed25519_key)
    registry = registry_with(key)
    assert registry.verify(sign(key, URI, now=NOW), URI) == key.name
    assert registry.verify(sign(key, now=NOW)) == key.name  # WebSocket: no uri
    header = jwt.get_unverified_header(sign(key, URI, now=NOW))
    assert header["kid"] == key.name and header["typ"] == "JWT" and len(header["nonce"]) == 32
    assert header["alg"] == ("EdDSA" if ed25519_key else "ES256")


def test_each_way_a_jwt_can_be_wrong_gets_its_own_reason() -> None:
    key, other = generate_key(), generate_key()
    registry = registry_with(key)
    cases = {
        "JWT expired": sign(key, URI, now=NOW - 300),
        "JWT not yet valid": sign(key, URI, now=NOW + 60),
        "unknown API key": sign(other, URI, now=NOW),
        "does not match the request": sign(key, "GET 127.0.0.1:8765/api/v3/brokerage/orders", now=NOW),
        "malformed JWT": "not-a-jwt",
    }
    forged = jwt.encode(
        {"sub": key.name, "iss": "cdp", "nbf": int(NOW), "exp": int(NOW) + 120, "uri": URI},
        other.private_key,
        algorithm="ES256",
        headers={"kid": key.name},
    )
    cases["signature does not match"] = forged
    hmac = jwt.encode({"sub": key.name}, "s" * 32, algorithm="HS256", headers={"kid": key.name})
    cases["JWT alg must be one of"] = hmac
    wrong_sub = jwt.encode(
        {"sub": "someone-else", "iss": "cdp", "nbf": int(NOW), "exp": int(NOW) + 120, "uri": URI},
        key.private_key,
        algorithm="ES256",
        headers={"kid": key.name},
    )
    cases["sub does not match"] = wrong_sub
    long_lived = jwt.encode(
        {"sub": key.name, "iss": "cdp", "nbf": int(NOW), "exp": int(NOW) + 3600, "uri": URI},
        key.private_key,
        algorithm="ES256",
        headers={"kid": key.name},
    )
    cases["lifetime is over 120 seconds"] = long_lived
    wrong_issuer = jwt.encode(
        {"sub": key.name, "iss": "me", "nbf": int(NOW), "exp": int(NOW) + 120, "uri": URI},
        key.private_key,
        algorithm="ES256",
        headers={"kid": key.name},
    )
    cases["JWT iss must be one of ['cdp', 'coinbase-cloud'], got 'me'"] = wrong_issuer
    # json reads NaN: an exp that is not a number would pass every time comparison.
    not_a_time = jwt.encode(
        {"sub": key.name, "iss": "cdp", "nbf": int(NOW), "exp": float("nan"), "uri": URI},
        key.private_key,
        algorithm="ES256",
        headers={"kid": key.name},
    )
    cases["JWT needs nbf (or iat) and exp as seconds since the epoch"] = not_a_time
    no_start = jwt.encode(
        {"sub": key.name, "iss": "cdp", "exp": int(NOW) + 120, "uri": URI},
        key.private_key,
        algorithm="ES256",
        headers={"kid": key.name},
    )
    cases["JWT needs nbf (or iat) and exp"] = no_start
    other_paths = jwt.encode(
        {
            "sub": key.name,
            "iss": "cdp",
            "nbf": int(NOW),
            "exp": int(NOW) + 120,
            "uris": ["GET 127.0.0.1:8765/api/v3/brokerage/orders", "GET 127.0.0.1:8765/api/v3/brokerage/products"],
        },
        key.private_key,
        algorithm="ES256",
        headers={"kid": key.name},
    )
    cases[
        "JWT uri ['GET 127.0.0.1:8765/api/v3/brokerage/orders', 'GET 127.0.0.1:8765/api/v3/brokerage/products'] does"
    ] = other_paths
    missing_exp = jwt.encode(
        {"sub": key.name, "iss": "cdp", "nbf": int(NOW), "uri": URI},
        key.private_key,
        algorithm="ES256",
        headers={"kid": key.name},
    )
    cases['invalid JWT: Token is missing the "exp" claim'] = missing_exp
    for reason, token in cases.items():
        with pytest.raises(AuthError) as info:
            registry.verify(token, URI)
        assert reason in str(info.value), reason


def test_small_clock_skew_is_tolerated() -> None:
    key = generate_key()
    assert registry_with(key).verify(sign(key, URI, now=NOW + 4), URI) == key.name


@pytest.mark.parametrize("ed25519_key", [False, True])
def test_key_files_round_trip_and_are_private(tmp_path: Path, ed25519_key: bool) -> None:
    key = generate_key(ed25519_key)
    path = tmp_path / "key.json"
    write_key_file(path, key)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = read_key_file(path)
    assert loaded.name == key.name
    registry = registry_with()
    assert registry.register_file(path) == key.name and len(registry) == 1
    with pytest.raises(KeyFileError, match="already exists"):
        write_key_file(path, generate_key())
    data = json.loads(path.read_text())
    assert ("id" if ed25519_key else "name") in data
    if not ed25519_key:
        assert data["privateKey"].startswith("-----BEGIN EC PRIVATE KEY-----")


def test_a_64_byte_ed25519_key_is_accepted() -> None:
    key = generate_key(ed25519_key=True)
    raw = key.private_key.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    text = json.dumps({"id": "k", "privateKey": base64.b64encode(raw + public).decode()})
    loaded = parse_key_file(text, "k.json")
    registry = registry_with()
    registry.register("k", loaded.public_key())
    assert registry.verify(sign(CdpKey("k", key.private_key), now=NOW)) == "k"


def p384_pem() -> str:
    return (
        ec.generate_private_key(ec.SECP384R1())
        .private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
        )
        .decode()
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("{", "not JSON"),
        ("[]", "needs a 'privateKey'"),
        ('{"privateKey": "x"}', "needs a 'name' (or 'id')"),
        (
            '{"name": "n", "privateKey": "-----BEGIN EC PRIVATE KEY-----\\nAAAA\\n-----END EC PRIVATE KEY-----"}',
            "not a readable",
        ),
        ('{"name": "n", "privateKey": "%%%"}', "neither PEM nor base64"),
        ('{"name": "n", "privateKey": "AAAA"}', "32 or 64 bytes, got 3"),
    ],
)
def test_bad_key_files_say_what_is_wrong_without_showing_the_key(text: str, reason: str) -> None:
    with pytest.raises(KeyFileError) as info:
        parse_key_file(text, "bad.json")
    assert str(info.value).startswith("bad.json: ") and reason in str(info.value)


def test_non_p256_pem_is_refused_and_missing_file_is_clear(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="must be EC P-256"):
        parse_key_file(json.dumps({"name": "n", "privateKey": p384_pem()}), "p384.json")
    with pytest.raises(KeyFileError, match="cannot read"):
        read_key_file(tmp_path / "absent.json")
    assert "privateKey" in key_file_text(generate_key())


def test_a_spent_token_stays_spent_past_the_pruning_of_expired_ones() -> None:
    """Over USED_TOKENS_PRUNED_ABOVE live tokens in one two-minute window (a busy benchmark):
    the first is still refused, and pruning forgot only expired ones."""
    key = generate_key(True)  # Ed25519: the quicker to sign and verify ten thousand times
    registry = registry_with(key)
    first = sign(key, URI, now=NOW)
    registry.verify(first, URI)
    for _ in range(USED_TOKENS_PRUNED_ABOVE + 1):
        registry.verify(sign(key, URI, now=NOW), URI)
    with pytest.raises(AuthError, match="already used"):
        registry.verify(first, URI)
