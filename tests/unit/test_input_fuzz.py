"""Fuzz every door input comes in by: the paper venue's order bodies and JWTs, the engine's config
file and environment, and headless command lines. Whatever arrives is either taken or refused
with the one error type that door documents, in one line; nothing else escapes, nothing changes
on a refusal."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cryptoj_tui.cdp_keys import generate_key
from cryptoj_tui.config import ConfigError, load_settings
from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.adapters.coinbase.auth import JwtSigner
from cryptoj_tui.headless import handle
from cryptoj_tui.sim.auth import AuthError, KeyRegistry
from cryptoj_tui.sim.exchange import Exchange, InvalidRequest
from cryptoj_tui.sim.matching import MatchingBook
from cryptoj_tui.sim.products import PRODUCTS

USER = "organizations/o/apiKeys/k"
NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["BTC-USD", "BUY", "SELL", "0.01", "-1", "1e999", "NaN", "65000", "", "limit_limit_gtc"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=5),
    max_leaves=20,
)
CONFIGURATIONS = ["market_market_ioc", "limit_limit_gtc", "limit_limit_gtd", "limit_limit_fok", "sor_limit_ioc"]
order_bodies = st.one_of(
    json_values,
    st.fixed_dictionaries(
        {
            "client_order_id": st.one_of(st.text(max_size=40), json_values),
            "product_id": st.sampled_from(["BTC-USD", "ETH-USD", "NOPE-USD", "", "btc-usd"]) | json_values,
            "side": st.sampled_from(["BUY", "SELL", "buy", "HOLD"]) | json_values,
            "order_configuration": st.dictionaries(
                st.sampled_from(CONFIGURATIONS) | st.text(max_size=10),
                st.dictionaries(
                    st.sampled_from(["base_size", "quote_size", "limit_price", "end_time", "post_only", "stop_price"]),
                    scalars,
                    max_size=4,
                )
                | json_values,
                max_size=2,
            ),
        }
    ),
)


def exchange() -> Exchange:
    book = MatchingBook(PRODUCTS["BTC-USD"])
    book.submit_limit("flow-bid", "BUY", D("64990"), D("1"), "flow")
    book.submit_limit("flow-ask", "SELL", D("65010"), D("1"), "flow")
    book.take_changes()
    return Exchange({"BTC-USD": book}, lambda: NOW)


def balances(ex: Exchange) -> list[tuple[str, D, D]]:
    return sorted((a.currency, a.available, a.hold) for a in ex.owner_accounts(USER))


@FUZZ
@given(body=order_bodies)
def test_any_order_body_is_placed_refused_or_answered_as_invalid(body: Any) -> None:
    ex = exchange()
    before = balances(ex)
    try:
        answer = ex.create_order(USER, body)
    except InvalidRequest as exc:
        assert "\n" not in str(exc) and str(exc)
        assert balances(ex) == before and ex.orders == {}
        return
    assert isinstance(answer, dict) and isinstance(answer["success"], bool)
    if not answer["success"]:
        assert answer["error_response"]["message"] and balances(ex) == before
    for account in ex.owner_accounts(USER):  # whatever happened, nothing went negative
        assert account.available >= 0 and account.hold >= 0


@FUZZ
@given(body=json_values, ids=st.lists(st.text(max_size=20), max_size=5))  # the REST layer checks the list's shape
def test_any_edit_or_cancel_body_is_answered_or_refused_as_invalid(body: Any, ids: list[Any]) -> None:
    ex = exchange()
    placed = ex.create_order(
        USER,
        {
            "client_order_id": "c1",
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"limit_limit_gtc": {"base_size": "0.1", "limit_price": "64000"}},
        },
    )
    order_id = placed["success_response"]["order_id"]
    for call in (lambda: ex.edit_order(USER, body), lambda: ex.cancel_orders(USER, ids)):  # type: ignore[arg-type]
        try:
            call()
        except InvalidRequest as exc:
            assert "\n" not in str(exc)
    assert ex.orders[order_id].status in ("OPEN", "CANCELLED")


@FUZZ
@given(
    token=st.text(max_size=200) | st.binary(max_size=200).map(lambda b: b.decode("latin-1")), cut=st.integers(0, 400)
)
def test_any_token_is_taken_only_when_signed_and_refused_in_one_line_otherwise(token: str, cut: int) -> None:
    key = generate_key()
    registry = KeyRegistry()
    registry.register(key.name, key.public_key())
    good = JwtSigner(key).for_request("GET", "http://127.0.0.1/api/v3/brokerage/accounts")
    for candidate in (token, good[:cut], good[:cut] + token, token + good):
        if candidate == good:
            continue
        with pytest.raises(AuthError) as refused:
            registry.verify(candidate, "GET 127.0.0.1/api/v3/brokerage/accounts")
        assert "\n" not in str(refused.value)
    assert registry.verify(good, "GET 127.0.0.1/api/v3/brokerage/accounts") == key.name


@FUZZ
@given(
    text=st.text(max_size=300)
    | st.lists(
        st.tuples(
            st.sampled_from(["product", "seed", "stale_after", "theme", "order_size", "ws_url", "keys", "venue", "x"]),
            st.sampled_from(['"BTC-USD"', "7", "-1", '"nope"', "1e999", "[1]", "{a=1}", '"0.01"', "true", '"wss://x"']),
        ),
        max_size=6,
    ).map(lambda pairs: "\n".join(f"{k} = {v}" for k, v in pairs)),
    env_value=st.text(max_size=40),
)
def test_any_config_file_or_environment_value_loads_or_says_what_is_wrong(
    tmp_path_factory: pytest.TempPathFactory, text: str, env_value: str
) -> None:
    path = tmp_path_factory.mktemp("config") / "config.toml"
    path.write_text(text, encoding="utf-8")
    for env in ({}, {"CRYPTOJ_STALE_AFTER": env_value}, {"CRYPTOJ_PRODUCT": env_value}):
        try:
            load_settings(env=env, config_file=path)
        except ConfigError as exc:
            assert "\n" not in str(exc) and str(exc)


@pytest.fixture(scope="module")
def idle_engine() -> Engine:
    """An engine that is never started: commands reach it and fail (or answer) without a venue."""
    return Engine(EngineConfig(ws_url="ws://127.0.0.1:9"))


@FUZZ
@given(
    line=st.text(max_size=200)
    | json_values.map(json.dumps)
    | st.fixed_dictionaries(
        {"cmd": st.sampled_from(["place", "cancel", "cancel_all", "kill", "rearm", "orders", "state", "set_limit"])},
        optional={
            "product_id": scalars,
            "side": scalars,
            "type": scalars,
            "size": scalars,
            "price": scalars,
            "client_order_id": scalars,
            "name": scalars,
            "value": scalars,
            "reason": scalars,
        },
    ).map(json.dumps)
)
def test_any_headless_line_gets_a_reply_never_an_exception(idle_engine: Engine, line: str) -> None:
    started = time.monotonic()
    reply = asyncio.run(handle(idle_engine, line))
    assert set(reply) >= {"reply", "ok"} and time.monotonic() - started < 5
    if not reply["ok"]:
        assert isinstance(reply["error"], str) and "\n" not in reply["error"]


def test_a_real_config_file_still_loads(tmp_path: Path) -> None:  # the fuzz above is not all refusals
    path = tmp_path / "config.toml"
    path.write_text('product = "ETH-USD"\nstale_after = 7\n', encoding="utf-8")
    settings_ = load_settings(env={}, config_file=path)
    assert settings_.product == "ETH-USD" and settings_.stale_after == 7
