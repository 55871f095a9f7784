"""The engine's REST client against the paper venue over loopback: orders, cancels in batches,
fills, accounts, and the venue's bad days (429, 500, slow answers, a key it does not know)."""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import pytest

from cryptoj_tui.cdp_keys import CdpKey, KeyFileError, generate_key, key_file_text
from cryptoj_tui.engine.adapters.coinbase import rest as rest_module
from cryptoj_tui.engine.adapters.coinbase.auth import SPARE_MAX_AGE_S, JwtSigner, load_key, load_key_file
from cryptoj_tui.engine.adapters.coinbase.rest import CoinbaseRest, RestError
from cryptoj_tui.engine.adapters.connection import Backoff
from cryptoj_tui.sim.venue import PaperVenue


@pytest.fixture
async def rest(quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]) -> AsyncIterator[CoinbaseRest]:
    _, key = api_key
    quiet_venue.keys.register(key.name, key.public_key())
    client = CoinbaseRest(quiet_venue.rest_url, JwtSigner(key), backoff=Backoff(base=0.01, cap=0.05))
    yield client
    await client.close()


def resting_buy(venue: PaperVenue, size: str = "0.01") -> dict[str, object]:
    bid = venue.book_levels("BTC-USD")[0][-1][0]  # the lowest bid: far from any fill
    return {"limit_limit_gtc": {"base_size": size, "limit_price": str(bid), "post_only": True}}


async def test_create_list_and_cancel_across_batches(quiet_venue: PaperVenue, rest: CoinbaseRest) -> None:
    """Scenario: 150 resting orders; list them; cancel them all (two batch_cancel calls in parallel)."""
    ids = []
    for _ in range(150):
        answer = await rest.create_order(str(uuid.uuid4()), "BTC-USD", "BUY", resting_buy(quiet_venue))
        assert answer["success"], answer
        ids.append(answer["success_response"]["order_id"])
    open_orders = await rest.list_orders(status="OPEN", product_ids=["BTC-USD"])
    assert sorted(o["order_id"] for o in open_orders) == sorted(ids)
    with pytest.raises(ValueError, match="at most 100 ids, got 150"):
        await rest.cancel_batch(ids)
    answers = await asyncio.gather(rest.cancel_batch(ids[:100]), rest.cancel_batch(ids[100:]))
    results = [result for answer in answers for result in answer]
    assert len(results) == 150 and all(r["success"] for r in results)
    assert await rest.list_orders(status="OPEN") == []
    assert (await rest.get_order(ids[0]))["status"] == "CANCELLED"


async def test_orders_and_cancels_go_with_tokens_signed_ahead(quiet_venue: PaperVenue, rest: CoinbaseRest) -> None:
    """Scenario: an order and a cancel use the token signed while the client was idle (the venue
    takes it); the next one is signed once the caller has the answer."""
    signer = rest._signer
    orders, cancels = (
        f"{rest.base_url}/api/v3/brokerage/orders",
        f"{rest.base_url}/api/v3/brokerage/orders/batch_cancel",
    )
    await rest.start()
    assert signer.ready_for("POST", orders) and signer.ready_for("POST", cancels)
    answer = await rest.create_order(str(uuid.uuid4()), "BTC-USD", "BUY", resting_buy(quiet_venue))
    assert answer["success"], answer
    assert not signer.ready_for("POST", orders)  # used, and not yet signed again
    await asyncio.sleep(0)
    assert signer.ready_for("POST", orders)
    results = await rest.cancel_batch([answer["success_response"]["order_id"]])
    assert [r["success"] for r in results] == [True]
    await asyncio.sleep(0)
    assert signer.ready_for("POST", cancels)


async def test_a_token_signed_ahead_is_signed_again_before_it_gets_old(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Scenario: no order for a long while (the clock runs fast here): the token waiting for the
    next order is renewed, so it is never too old to use; closing the client stops the renewals."""
    _, key = api_key
    quiet_venue.keys.register(key.name, key.public_key())
    monkeypatch.setattr(rest_module, "SPARE_REFRESH_S", 0.02)
    started = time.time()
    fast_clock = lambda: started + (time.time() - started) * SPARE_MAX_AGE_S / 0.2  # noqa: E731 - 0.2 s is 30 s here
    client = CoinbaseRest(quiet_venue.rest_url, JwtSigner(key, clock=fast_clock))
    orders = f"{client.base_url}/api/v3/brokerage/orders"
    await client.start()
    for _ in range(10):  # 60 s of the fast clock: twice a token's usable age
        await asyncio.sleep(0.04)
        assert client._signer.ready_for("POST", orders)
    await client.close()
    await asyncio.sleep(0.3)
    assert not client._signer.ready_for("POST", orders)


async def test_a_repeated_client_order_id_returns_the_same_order(quiet_venue: PaperVenue, rest: CoinbaseRest) -> None:
    """Scenario: a retry after a lost answer must not place a second order."""
    client_id = str(uuid.uuid4())
    first = await rest.create_order(client_id, "BTC-USD", "BUY", resting_buy(quiet_venue))
    again = await rest.create_order(client_id, "BTC-USD", "BUY", resting_buy(quiet_venue))
    assert first["success_response"]["order_id"] == again["success_response"]["order_id"]
    assert len(await rest.list_orders(status="OPEN")) == 1


async def test_fills_and_accounts(quiet_venue: PaperVenue, rest: CoinbaseRest) -> None:
    """Scenario: a market buy fills; its fills and the changed balances are readable."""
    answer = await rest.create_order(str(uuid.uuid4()), "BTC-USD", "BUY", {"market_market_ioc": {"base_size": "0.01"}})
    order_id = answer["success_response"]["order_id"]
    fills = await rest.list_fills(order_ids=[order_id])
    assert fills and sum(D(f["size"]) for f in fills) == D("0.01")
    accounts = {a["currency"]: D(a["available_balance"]["value"]) for a in await rest.accounts()}
    assert accounts["BTC"] > 0
    assert any(p["product_id"] == "BTC-USD" for p in await rest.products())


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_429_and_5xx_are_retried_and_the_order_is_placed_once(
    quiet_venue: PaperVenue, rest: CoinbaseRest, status: int
) -> None:
    """Scenario: the venue refuses twice before accepting; exactly one order exists."""
    quiet_venue.faults.fail_rest(status, count=2)
    answer = await rest.create_order(str(uuid.uuid4()), "BTC-USD", "BUY", resting_buy(quiet_venue))
    assert answer["success"]
    assert rest.retried == 2 and len(await rest.list_orders(status="OPEN")) == 1


async def test_a_venue_that_keeps_failing_gives_one_clear_error(quiet_venue: PaperVenue, rest: CoinbaseRest) -> None:
    """Scenario: 500 on every try; the error names the call and the status, after bounded retries."""
    quiet_venue.faults.fail_rest(500, count=10)
    with pytest.raises(RestError, match=r"^GET /api/v3/brokerage/accounts: HTTP 500") as raised:
        await rest.accounts()
    assert "\n" not in str(raised.value) and rest.requests == 4


async def test_a_key_the_venue_does_not_know_is_refused_clearly(quiet_venue: PaperVenue) -> None:
    """Scenario: a valid key that was never registered."""
    client = CoinbaseRest(quiet_venue.rest_url, JwtSigner(generate_key()))
    try:
        with pytest.raises(RestError, match="HTTP 401 UNAUTHORIZED: the venue refused the API key: it does not know"):
            await client.accounts()
    finally:
        await client.close()


async def test_an_invalid_order_is_a_400_naming_the_problem(quiet_venue: PaperVenue, rest: CoinbaseRest) -> None:
    """Scenario: a negative size."""
    with pytest.raises(RestError, match="HTTP 400 INVALID_ARGUMENT"):
        await rest.create_order(str(uuid.uuid4()), "BTC-USD", "BUY", {"market_market_ioc": {"base_size": "-1"}})


def test_a_key_file_others_can_read_is_refused(tmp_path: Path) -> None:
    """Scenario: a key file with mode 644 is refused with the chmod to run; at 600 it loads."""
    path = tmp_path / "key.json"
    path.write_text(key_file_text(generate_key()))
    os.chmod(path, 0o644)
    with pytest.raises(KeyFileError, match=r"readable or writable by others \(mode 644\); run: chmod 600"):
        load_key_file(path)
    os.chmod(path, 0o600)
    assert load_key_file(path).name


def test_a_key_from_the_environment(tmp_path: Path) -> None:
    """Scenario: keys from CRYPTOJ_API_KEY_NAME/CRYPTOJ_API_PRIVATE_KEY load, never show in repr,
    and bad ones say which variable is wrong."""
    key = generate_key(ed25519_key=True)
    import json

    private = json.loads(key_file_text(key))["privateKey"]
    loaded = load_key(env={"CRYPTOJ_API_KEY_NAME": key.name, "CRYPTOJ_API_PRIVATE_KEY": private})
    assert loaded is not None and loaded.name == key.name and private not in repr(loaded)
    assert load_key(env={}) is None
    with pytest.raises(KeyFileError, match="CRYPTOJ_API_PRIVATE_KEY is not set"):
        load_key(env={"CRYPTOJ_API_KEY_NAME": "x"})
    with pytest.raises(KeyFileError, match="environment CRYPTOJ_API_PRIVATE_KEY: privateKey is neither PEM nor base64"):
        load_key(env={"CRYPTOJ_API_KEY_NAME": "x", "CRYPTOJ_API_PRIVATE_KEY": "not a key!"})


async def test_timeouts_are_retried_with_the_same_client_order_id(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]
) -> None:
    """Scenario: answers come too late; the venue still acts on every try, yet one order exists."""
    _, key = api_key
    quiet_venue.keys.register(key.name, key.public_key())
    impatient = CoinbaseRest(
        quiet_venue.rest_url, JwtSigner(key), timeout=0.1, retries=2, backoff=Backoff(base=0.01, cap=0.02)
    )
    client_id = str(uuid.uuid4())
    quiet_venue.faults.slow_rest(0.3)
    try:
        with pytest.raises(RestError, match=r"POST /api/v3/brokerage/orders: no answer after 3 tries \(TimeoutError\)"):
            await impatient.create_order(client_id, "BTC-USD", "BUY", resting_buy(quiet_venue))
        quiet_venue.faults.slow_rest(0)
        answer = await impatient.create_order(client_id, "BTC-USD", "BUY", resting_buy(quiet_venue))
        assert answer["success"]
        orders = await impatient.list_orders(status="OPEN")
        assert [o["client_order_id"] for o in orders] == [client_id]
    finally:
        await impatient.close()
