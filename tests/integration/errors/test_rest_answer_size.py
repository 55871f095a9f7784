"""A venue's answer is read whole only up to MAX_ANSWER_BYTES, whether it says its size
(Content-Length, read in one go) or streams it (chunked, counted as it comes)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from cryptoj_tui.cdp_keys import generate_key
from cryptoj_tui.engine.adapters import http as http_module
from cryptoj_tui.engine.adapters.coinbase.auth import JwtSigner
from cryptoj_tui.engine.adapters.coinbase.rest import CoinbaseRest, RestError
from tests.conftest import serving

LIMIT = 4096


def accounts(count: int) -> bytes:
    rows = [
        {"uuid": f"a{n}", "currency": "USD", "available_balance": {"value": "1", "currency": "USD"}}
        for n in range(count)
    ]
    return json.dumps({"accounts": rows, "has_next": False, "cursor": ""}).encode()


@pytest.fixture
async def answering() -> AsyncIterator[str]:
    async def sized(request: web.Request) -> web.Response:
        return web.Response(body=accounts(int(request.match_info["n"])), content_type="application/json")

    async def streamed(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        body = accounts(int(request.match_info["n"]))
        for start in range(0, len(body), 1000):
            await response.write(body[start : start + 1000])
        await response.write_eof()
        return response

    app = web.Application()
    app.router.add_get("/sized/{n}/api/v3/brokerage/accounts", sized)
    app.router.add_get("/streamed/{n}/api/v3/brokerage/accounts", streamed)
    async with serving(app) as host:
        yield f"http://{host}"


@pytest.mark.parametrize("how", ["sized", "streamed"])
async def test_an_answer_under_the_limit_is_read_and_one_over_it_refused(
    answering: str, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http_module, "MAX_ANSWER_BYTES", LIMIT)
    assert len(accounts(5)) < LIMIT < len(accounts(100))
    signer = JwtSigner(generate_key())
    small, large = (CoinbaseRest(f"{answering}/{how}/{n}", signer, retries=0) for n in (5, 100))
    try:
        assert len(await small.accounts()) == 5
        with pytest.raises(RestError, match=f"an answer over {LIMIT:,} bytes"):
            await large.accounts()
    finally:
        await small.close()
        await large.close()
