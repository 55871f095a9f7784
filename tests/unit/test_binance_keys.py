"""Binance API keys: signatures as Binance's docs give them, key files, and what is refused."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from cryptoj_tui.binance_keys import (
    BinanceKey,
    BinanceKeyError,
    generate_key,
    key_file_text,
    parse_key_file,
    parse_verifier,
    write_key_file,
)
from cryptoj_tui.engine.adapters.binance.venue import load_key, load_key_file

DOCS_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOCS_PAYLOAD = (
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
)
DOCS_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"


def test_hmac_signature_is_the_one_binance_documents() -> None:
    key = BinanceKey("vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A", secret=DOCS_SECRET.encode())
    assert key.sign(DOCS_PAYLOAD) == DOCS_SIGNATURE
    verifier = parse_verifier(key_file_text(key), "test")
    assert verifier.verify(DOCS_PAYLOAD, DOCS_SIGNATURE)
    assert not verifier.verify(DOCS_PAYLOAD.replace("price=0.1", "price=0.2"), DOCS_SIGNATURE)


def test_ed25519_signature_verifies_with_the_public_half_only() -> None:
    key = generate_key(ed25519_key=True)
    public = parse_verifier(key_file_text(key, public_only=True), "public")
    signature = key.sign(DOCS_PAYLOAD)
    assert public.verify(DOCS_PAYLOAD, signature)
    assert not public.verify(DOCS_PAYLOAD + "&x=1", signature)
    assert not public.verify(DOCS_PAYLOAD, "not base64!")
    assert not parse_verifier(key_file_text(generate_key(ed25519_key=True)), "other").verify(DOCS_PAYLOAD, signature)


@pytest.mark.parametrize("ed25519_key", [False, True], ids=["hmac", "ed25519"])
def test_key_file_round_trip_is_private_and_not_overwritten(tmp_path: Path, ed25519_key: bool) -> None:
    key = generate_key(ed25519_key=ed25519_key)
    path = tmp_path / "key.json"
    write_key_file(path, key)
    assert path.stat().st_mode & 0o777 == 0o600
    read = load_key_file(path)
    assert read.api_key == key.api_key and read.kind == key.kind
    assert read.sign("a=1") == key.sign("a=1")  # HMAC and Ed25519 signatures are both deterministic
    with pytest.raises(BinanceKeyError, match="already exists"):
        write_key_file(path, key)


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "key.json"
    write_key_file(path, generate_key())
    os.chmod(path, 0o644)
    with pytest.raises(BinanceKeyError, match=r"readable or writable by others \(mode 644\); run: chmod 600"):
        load_key_file(path)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("{", "not JSON"),
        ("[]", "needs a JSON object"),
        ('{"secretKey": "abc"}', "needs an 'apiKey'"),
        ('{"apiKey": "k"}', "needs a 'secretKey' \\(HMAC\\) or a 'privateKey' \\(Ed25519\\)"),
        ('{"apiKey": "k", "privateKey": "-----BEGIN junk"}', "privateKey is not a readable unencrypted PKCS#8 PEM"),
    ],
)
def test_bad_key_files_say_what_is_wrong_in_one_line(text: str, problem: str) -> None:
    with pytest.raises(BinanceKeyError, match=f"where: {problem}"):
        parse_key_file(text, "where")


def test_an_rsa_or_ec_private_key_is_refused_by_name() -> None:
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    text = json.dumps({"apiKey": "k", "privateKey": pem.decode()})
    with pytest.raises(BinanceKeyError, match="must be an Ed25519 key"):
        parse_key_file(text, "ec.json")


def test_the_secret_never_shows_in_repr_or_errors() -> None:
    key = generate_key()
    assert key.secret.decode() not in repr(key)
    with pytest.raises(BinanceKeyError) as caught:
        parse_key_file(json.dumps({"apiKey": "k", "privateKey": key.secret.decode()}), "f")
    assert key.secret.decode() not in str(caught.value)


def test_keys_from_the_environment() -> None:
    assert load_key(env={}) is None
    key = load_key(env={"CRYPTOJ_BINANCE_API_KEY": "k", "CRYPTOJ_BINANCE_SECRET_KEY": "s"})
    assert key is not None and key.api_key == "k" and key.kind == "HMAC"
    with pytest.raises(BinanceKeyError, match="CRYPTOJ_BINANCE_SECRET_KEY is not set"):
        load_key(env={"CRYPTOJ_BINANCE_API_KEY": "k"})
