"""The JWT signer: a token per request, and tokens signed ahead used once and only while young."""

from __future__ import annotations

import jwt

from cryptoj_tui.cdp_keys import generate_key
from cryptoj_tui.engine.adapters.coinbase.auth import SPARE_MAX_AGE_S, JwtSigner

ORDERS = "http://127.0.0.1:8080/api/v3/brokerage/orders"


def claims(token: str) -> dict[str, object]:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_token_signed_ahead_is_used_by_the_next_call_only() -> None:
    now = [1_000_000.0]
    signer = JwtSigner(generate_key(), clock=lambda: now[0])
    signer.sign_ahead("POST", ORDERS)
    assert signer.ready_for("post", ORDERS + "?ignored=1")  # the uri has neither query nor case
    now[0] += 5
    first = signer.for_request("POST", ORDERS)
    assert claims(first)["nbf"] == 1_000_000  # signed ahead, 5 s before the call
    assert not signer.ready_for("POST", ORDERS)
    second = signer.for_request("POST", ORDERS)
    assert second != first and claims(second)["nbf"] == 1_000_005
    assert claims(second)["uri"] == "POST 127.0.0.1:8080/api/v3/brokerage/orders"


def test_a_token_signed_ahead_too_long_ago_or_for_another_call_is_not_used() -> None:
    now = [1_000_000.0]
    signer = JwtSigner(generate_key(), clock=lambda: now[0])
    signer.sign_ahead("POST", ORDERS)
    assert claims(signer.for_request("GET", ORDERS))["uri"] == "GET 127.0.0.1:8080/api/v3/brokerage/orders"
    assert signer.ready_for("POST", ORDERS)
    now[0] += SPARE_MAX_AGE_S
    assert not signer.ready_for("POST", ORDERS)
    assert claims(signer.for_request("POST", ORDERS))["nbf"] == now[0]


def test_a_clock_set_back_does_not_hand_out_a_token_from_its_future() -> None:
    now = [1_000_000.0]
    signer = JwtSigner(generate_key(), clock=lambda: now[0])
    signer.sign_ahead("POST", ORDERS)
    now[0] -= 60
    assert not signer.ready_for("POST", ORDERS)
    assert claims(signer.for_request("POST", ORDERS))["nbf"] == now[0]
