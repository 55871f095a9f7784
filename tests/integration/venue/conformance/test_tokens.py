"""Every token shape Coinbase's SDKs sign is accepted; every bad credential is 401 `Unauthorized`."""

from __future__ import annotations

import time

import aiohttp
import pytest

from cryptoj_tui.sim.venue import PaperVenue
from tests.integration.venue.conformance.docs_client import BASE, TOKEN_SHAPES, DocsClient, DocsKey


@pytest.mark.parametrize("key_name", ["ec", "ed25519"])
@pytest.mark.parametrize("shape", TOKEN_SHAPES)
async def test_every_token_shape_reads_accounts_and_places_an_order(
    coinbase: PaperVenue, http: aiohttp.ClientSession, keys: dict[str, DocsKey], shape: str, key_name: str
) -> None:
    client = DocsClient(http, coinbase.rest_url, keys[key_name], shape)
    accounts = await client.ok("GET", "/accounts")
    assert {a["currency"] for a in accounts["accounts"]} >= {"USD", "BTC"}
    bid = coinbase.books["BTC-USD"].best_bid()
    assert bid is not None
    order_id = await client.limit_order("BUY", str(bid - 100), "0.001")
    assert (await client.order(order_id))["status"] == "OPEN"


@pytest.mark.parametrize("shape", TOKEN_SHAPES)
async def test_a_token_for_another_request_is_refused_in_every_shape(
    coinbase: PaperVenue, http: aiohttp.ClientSession, keys: dict[str, DocsKey], shape: str
) -> None:
    client = DocsClient(http, coinbase.rest_url, keys["ec"], shape)
    host = client.host
    for signed_for in (
        f"GET {host}{BASE}/orders/historical/batch",  # another path
        f"POST {host}{BASE}/accounts",  # another method
        f"GET api.coinbase.com{BASE}/accounts",  # another host
    ):
        status, body = await client.call("GET", "/accounts", token=keys["ec"].token(shape, signed_for))
        assert (status, body) == (401, "Unauthorized"), signed_for


async def test_bad_credentials_get_401_unauthorized_as_plain_text(
    coinbase: PaperVenue, http: aiohttp.ClientSession, keys: dict[str, DocsKey]
) -> None:
    client = DocsClient(http, coinbase.rest_url, keys["ec"])
    request = f"GET {client.host}{BASE}/accounts"
    stranger = DocsKey.new()
    impostor = DocsKey(keys["ec"].name, DocsKey.new().private_key)  # the right name, another key's signature
    cases = {
        "unknown key": stranger.token("cdp", request),
        "wrong signature": impostor.token("cdp", request),
        "expired": keys["ec"].token("cdp", request, now=time.time() - 600),
        "not yet valid": keys["ec"].token("cdp", request, now=time.time() + 600),
        "too long-lived": keys["ec"].token("cdp", request, lifetime=3600),
        "not a JWT": "not-a-jwt",
    }
    for reason, token in cases.items():
        assert await client.call("GET", "/accounts", token=token) == (401, "Unauthorized"), reason
    async with http.get(f"{coinbase.rest_url}{BASE}/accounts") as response:  # no Authorization at all
        assert (response.status, await response.text()) == (401, "Unauthorized")
    token = keys["ec"].token("cdp", request)
    assert (await client.call("GET", "/accounts", token=token))[0] == 200
    assert await client.call("GET", "/accounts", token=token) == (401, "Unauthorized"), "a token is good once"
