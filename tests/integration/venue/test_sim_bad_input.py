"""Issue 25.1 and 25.7: the paper venue answers bad REST input as Coinbase does, never with a 500
and never by accepting what Coinbase refuses. Each test was first a failing reproduction."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from cryptoj_tui.cdp_keys import CdpKey, sign
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig

BASE = "/api/v3/brokerage"


@pytest.fixture
async def paper(api_key: tuple[Path, CdpKey]) -> AsyncIterator[PaperVenue]:
    config = VenueConfig(seed=5, step_interval=0, api_key_files=(api_key[0],), rate_limit=1000)
    async with PaperVenue(config) as venue:
        yield venue


async def post(
    venue: PaperVenue, key: CdpKey, path: str, data: bytes | str, token: str | None = None
) -> tuple[int, str]:
    token = token or sign(key, f"POST 127.0.0.1:{venue.port}{BASE}{path}")
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{venue.rest_url}{BASE}{path}",
            data=data,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        ) as response,
    ):
        return response.status, await response.text()


def order(size: str, price: str = "65000") -> str:
    return json.dumps(
        {
            "client_order_id": str(uuid.uuid4()),
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"limit_limit_gtc": {"base_size": size, "limit_price": price}},
        }
    )


@pytest.mark.parametrize(
    ("size", "price", "field"),
    [
        ("1e20", "65000", "base_size"),
        ("100000000000000000000", "65000", "base_size"),
        ("0.01", "1e26", "limit_price"),
        ("1E+999999", "65000", "base_size"),
    ],
)
async def test_an_absurd_size_or_price_is_400_not_500(
    paper: PaperVenue, api_key: tuple[Path, CdpKey], size: str, price: str, field: str
) -> None:
    status, text = await post(paper, api_key[1], "/orders", order(size, price))
    body = json.loads(text)
    assert (status, body["error"]) == (400, "INVALID_ARGUMENT") and field in body["message"]


@pytest.mark.parametrize("size", [" 0.001 ", "0.00_1", "1e-3", "+0.001", "0x1", "٠.٠٠١", "0.001\n"])
async def test_a_decimal_string_coinbase_would_not_read_is_refused(
    paper: PaperVenue, api_key: tuple[Path, CdpKey], size: str
) -> None:
    status, text = await post(paper, api_key[1], "/orders", order(size))
    body = json.loads(text)
    assert (status, body["error"]) == (400, "INVALID_ARGUMENT")
    assert body["message"] == f'base_size must be a plain decimal string such as "0.001", got {size!r}'


async def test_a_body_nested_deeper_than_json_allows_here_is_400(
    paper: PaperVenue, api_key: tuple[Path, CdpKey]
) -> None:
    status, text = await post(paper, api_key[1], "/orders", "[" * 100_000 + "]" * 100_000)
    body = json.loads(text)
    assert (status, body["error"], body["message"]) == (400, "INVALID_ARGUMENT", "request body is not valid JSON")


async def test_a_body_over_the_size_limit_is_413_in_the_json_error_shape(
    paper: PaperVenue, api_key: tuple[Path, CdpKey]
) -> None:
    status, text = await post(paper, api_key[1], "/orders", "x" * (2 << 20))
    body = json.loads(text)
    assert status == 413 and body["error"] == "INVALID_ARGUMENT" and "over 1048576 bytes" in body["message"]


async def test_a_token_is_good_for_one_request(paper: PaperVenue, api_key: tuple[Path, CdpKey]) -> None:
    """Coinbase's REST tokens are per request: one seen again (same key and nonce) is refused."""
    token = sign(api_key[1], f"POST 127.0.0.1:{paper.port}{BASE}/orders")
    first, _ = await post(paper, api_key[1], "/orders", order("0.001", "60000"), token)
    again, text = await post(paper, api_key[1], "/orders", order("0.001", "60000"), token)
    assert first == 200 and (again, text) == (401, "Unauthorized")
