"""The venue's REST API over real sockets, with signed requests as a docs-only client sends them."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from websockets.asyncio.client import connect

from cryptoj_tui.cdp_keys import CdpKey, generate_key, sign
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig

BASE = "/api/v3/brokerage"


class Client:
    """Signs every request with a fresh JWT bound to its method, host and path."""

    def __init__(self, session: aiohttp.ClientSession, venue: PaperVenue, key: CdpKey | None) -> None:
        self.session, self.venue, self.key = session, venue, key
        self.host = f"127.0.0.1:{venue.port}"

    async def call(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        params: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, Any]:
        all_headers = dict(headers or {})
        if token is None and self.key is not None:
            token = sign(self.key, f"{method} {self.host}{BASE}{path}")
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        async with self.session.request(
            method, f"{self.venue.rest_url}{BASE}{path}", json=body, params=params, headers=all_headers
        ) as response:
            return response.status, await response.json(), response.headers

    async def order(self, side: str, config: str, *, cid: str | None = None, **fields: str) -> dict[str, Any]:
        body = {
            "client_order_id": cid or str(uuid.uuid4()),
            "product_id": "BTC-USD",
            "side": side,
            "order_configuration": {config: fields},
        }
        status, data, _ = await self.call("POST", "/orders", body=body)
        assert status == 200, data
        return data


@pytest.fixture
async def paper(api_key: tuple[Path, CdpKey]) -> AsyncIterator[PaperVenue]:
    config = VenueConfig(seed=5, step_interval=0, api_key_files=(api_key[0],), rate_limit=1000)
    async with PaperVenue(config) as venue:
        yield venue


@pytest.fixture
async def client(paper: PaperVenue, api_key: tuple[Path, CdpKey]) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, paper, api_key[1])


async def test_place_get_list_fill_and_cancel_round_trip(client: Client, paper: PaperVenue) -> None:
    bid = paper.books["BTC-USD"].best_bid()
    ask = paper.books["BTC-USD"].best_ask()
    resting = await client.order("BUY", "limit_limit_gtc", base_size="0.01", limit_price=str(bid - 100))
    assert resting["success"] is True
    order_id = resting["success_response"]["order_id"]
    status, data, _ = await client.call("GET", f"/orders/historical/{order_id}")
    assert status == 200 and data["order"]["status"] == "OPEN" and data["order"]["order_type"] == "LIMIT"
    taker = await client.order("BUY", "market_market_ioc", base_size="0.001")
    taker_id = taker["success_response"]["order_id"]
    status, fills, _ = await client.call("GET", "/orders/historical/fills", params={"order_ids": taker_id})
    assert status == 200 and len(fills["fills"]) >= 1
    fill = fills["fills"][0]
    assert D(fill["price"]) >= ask and fill["liquidity_indicator"] == "TAKER" and fill["trade_type"] == "FILL"
    status, listed, _ = await client.call(
        "GET",
        "/orders/historical/batch",
        params=[("order_status", "OPEN"), ("product_ids", "BTC-USD"), ("product_ids", "ETH-USD")],
    )
    assert [o["order_id"] for o in listed["orders"]] == [order_id]
    status, cancelled, _ = await client.call("POST", "/orders/batch_cancel", body={"order_ids": [order_id]})
    assert cancelled == {
        "results": [{"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": order_id}]
    }
    status, accounts, _ = await client.call("GET", "/accounts")
    usd = next(a for a in accounts["accounts"] if a["currency"] == "USD")
    assert usd["hold"] == {"value": "0", "currency": "USD"}
    assert D(usd["available_balance"]["value"]) < D("100000")


async def test_resting_orders_show_in_the_public_book_and_the_level2_feed(client: Client, paper: PaperVenue) -> None:
    async with connect(paper.ws_url, max_size=None) as ws:
        await ws.send('{"type":"subscribe","channel":"level2","product_ids":["BTC-USD"]}')
        await ws.recv(), await ws.recv()  # snapshot, ack
        bid = paper.books["BTC-USD"].best_bid()
        price = bid + D("0.01")
        await client.order("BUY", "limit_limit_gtc", base_size="0.5", limit_price=str(price))
        async with asyncio.timeout(5):
            update = json.loads(await ws.recv())
        assert update["events"][0]["updates"][0]["price_level"] == str(price)
    status, book, _ = await client.call("GET", "/product_book", params={"product_id": "BTC-USD", "limit": "1"})
    assert book["pricebook"]["bids"] == [{"price": str(price), "size": "0.5"}]
    status, best, _ = await client.call("GET", "/best_bid_ask", params={"product_ids": "BTC-USD"})
    assert status == 200 and best["pricebooks"][0]["bids"][0]["price"] == str(price)


async def test_repeated_client_order_id_returns_the_same_order(client: Client, paper: PaperVenue) -> None:
    price = str(paper.books["BTC-USD"].best_bid() - 50)
    first = await client.order("BUY", "limit_limit_gtc", cid="retry-me", base_size="0.01", limit_price=price)
    again = await client.order("BUY", "limit_limit_gtc", cid="retry-me", base_size="0.01", limit_price=price)
    assert first == again
    assert len(paper.exchange.owner_orders(client.key.name)) == 1  # type: ignore[union-attr]


async def test_business_rejection_is_success_false_with_error_response(client: Client) -> None:
    data = await client.order("BUY", "limit_limit_gtc", base_size="3000", limit_price="100.00")
    assert data["success"] is False and data["order_id"] == ""
    assert data["error_response"]["error"] == "INSUFFICIENT_FUND"


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("POST", "/orders", "not json", "not valid JSON"),
        ("POST", "/orders", {"client_order_id": "x", "product_id": "NOPE-USD"}, "unknown product_id"),
        (
            "POST",
            "/orders",
            {
                "client_order_id": "x",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": "-1", "limit_price": "1"}},
            },
            "base_size must be a plain decimal string such as \"0.001\", got '-1'",
        ),
        (
            "POST",
            "/orders",
            {
                "client_order_id": "x",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"limit_limit_gtc": {"base_size": "0.000", "limit_price": "1"}},
            },
            "base_size must be a positive number, got '0.000'",
        ),
        ("POST", "/orders/batch_cancel", {"order_ids": "abc"}, "order_ids must be a non-empty list"),
        ("POST", "/orders/batch_cancel", {"order_ids": [str(n) for n in range(101)]}, "at most 100 order_ids"),
        ("GET", "/orders/historical/batch?limit=0", None, "limit must be 1..1000"),
        ("GET", "/orders/historical/batch?cursor=x", None, "limit and cursor must be whole numbers"),
        ("GET", "/product_book?product_id=DOGE-USD", None, "unknown product_id 'DOGE-USD'"),
        ("GET", "/product_book?product_id=BTC-USD&limit=z", None, "limit must be a whole number"),
    ],
)
async def test_malformed_requests_get_400_invalid_argument(
    client: Client, method: str, path: str, body: Any, message: str
) -> None:
    path_only, _, query = path.partition("?")
    params = dict(p.split("=") for p in query.split("&")) if query else None
    if body == "not json":
        token = sign(client.key, f"{method} {client.host}{BASE}{path_only}")  # type: ignore[arg-type]
        async with client.session.post(
            f"{client.venue.rest_url}{BASE}{path_only}", data="{nope", headers={"Authorization": f"Bearer {token}"}
        ) as response:
            status, data = response.status, await response.json()
    else:
        status, data, _ = await client.call(method, path_only, body=body, params=params)
    assert status == 400 and data["error"] == "INVALID_ARGUMENT" and message in data["message"]


async def test_each_auth_failure_is_401_unauthorized_and_the_reason_is_logged(
    client: Client, paper: PaperVenue, caplog: pytest.LogCaptureFixture
) -> None:
    """As Coinbase answers: 401 with the plain text body "Unauthorized" (clients map the status to
    their authentication error); why is in the venue's log, for whoever runs it."""
    key = client.key
    assert key is not None
    uri = f"GET {client.host}{BASE}/accounts"
    cases = {
        "missing Authorization": "",
        "JWT expired": sign(key, uri, now=1_000_000_000),
        "unknown API key": sign(generate_key(), uri),
        "does not match the request": sign(key, f"POST {client.host}{BASE}/accounts"),
    }
    caplog.set_level("INFO", logger="cryptoj_tui.sim.rest")
    for reason, token in cases.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with client.session.get(f"{paper.rest_url}{BASE}/accounts", headers=headers) as response:
            assert (response.status, await response.text()) == (401, "Unauthorized"), reason
        assert reason in caplog.records[-1].getMessage()
    anonymous = Client(client.session, paper, None)
    status, data, _ = await anonymous.call("GET", "/products")
    assert status == 200 and data["num_products"] == 3  # market data needs no key


async def test_unknown_routes_and_orders_are_404_json(client: Client) -> None:
    status, data, _ = await client.call("GET", "/orders/historical/no-such-order")
    assert status == 404 and data["error"] == "NOT_FOUND"
    status, data, _ = await client.call("GET", "/nothing/here")
    assert status == 404 and "no route GET" in data["message"]
    status, data, _ = await client.call("GET", "/products/DOGE-USD")
    assert status == 404


async def test_products_carry_real_increments(client: Client) -> None:
    status, product, _ = await client.call("GET", "/products/BTC-USD")
    assert status == 200
    assert (product["quote_increment"], product["base_increment"], product["status"]) == (
        "0.01",
        "0.00000001",
        "online",
    )


async def test_get_with_an_empty_json_body_is_fine(client: Client) -> None:
    status, data, _ = await client.call("GET", "/accounts", body={})
    assert status == 200 and data["size"] == len(data["accounts"]) >= 4


async def test_orders_page_with_a_cursor(client: Client, paper: PaperVenue) -> None:
    price = str(paper.books["BTC-USD"].best_bid() - 500)
    ids = [
        (await client.order("BUY", "limit_limit_gtc", base_size="0.001", limit_price=price))["success_response"][
            "order_id"
        ]
        for _ in range(5)
    ]
    seen, cursor = [], ""
    while True:
        status, page, _ = await client.call("GET", "/orders/historical/batch", params={"limit": "2", "cursor": cursor})
        assert status == 200
        seen += [o["order_id"] for o in page["orders"]]
        if not page["has_next"]:
            break
        cursor = page["cursor"]
    assert seen == list(reversed(ids))


async def test_rate_limit_answers_429_with_retry_after(api_key: tuple[Path, CdpKey]) -> None:
    config = VenueConfig(seed=5, step_interval=0, api_key_files=(api_key[0],), rate_limit=3)
    async with PaperVenue(config) as venue, aiohttp.ClientSession() as session:
        client = Client(session, venue, api_key[1])
        statuses = [(await client.call("GET", "/accounts"))[0] for _ in range(5)]
        assert statuses[:3] == [200, 200, 200] and 429 in statuses[3:]
        status, data, headers = await client.call("GET", "/accounts")
        assert status == 429 and int(headers["Retry-After"]) >= 1 and data["error"] == "RATE_LIMIT_EXCEEDED"


@pytest.mark.parametrize("status_code", [429, 500, 503])
async def test_injected_rest_faults_then_recovery(client: Client, paper: PaperVenue, status_code: int) -> None:
    paper.faults.fail_rest(status_code, count=2)
    assert [(await client.call("GET", "/accounts"))[0] for _ in range(3)] == [status_code, status_code, 200]


async def test_injected_rejections_and_latency(client: Client, paper: PaperVenue) -> None:
    paper.faults.reject_orders("INSUFFICIENT_FUND", count=1)
    price = str(paper.books["BTC-USD"].best_bid() - 500)
    rejected = await client.order("BUY", "limit_limit_gtc", base_size="0.001", limit_price=price)
    assert rejected["success"] is False and rejected["error_response"]["error"] == "INSUFFICIENT_FUND"
    assert (await client.order("BUY", "limit_limit_gtc", base_size="0.001", limit_price=price))["success"]
    paper.faults.slow_rest(0.2)
    started = asyncio.get_running_loop().time()
    await client.call("GET", "/products")
    assert asyncio.get_running_loop().time() - started >= 0.2
    paper.faults.clear()
    with pytest.raises(ValueError, match="can inject REST status"):
        paper.faults.fail_rest(418)


async def test_extra_fields_are_ignored_and_starting_balances_are_configurable(api_key: tuple[Path, CdpKey]) -> None:
    config = VenueConfig(
        step_interval=0, api_key_files=(api_key[0],), starting_balances=(("USD", D("500")), ("BTC", D("0.1")))
    )
    async with PaperVenue(config) as venue, aiohttp.ClientSession() as session:
        client = Client(session, venue, api_key[1])
        status, accounts, _ = await client.call("GET", "/accounts")
        assert {a["currency"]: a["available_balance"]["value"] for a in accounts["accounts"]} == {
            "USD": "500",
            "BTC": "0.1",
        }
        price = str(venue.books["BTC-USD"].best_bid() - 100)
        body = {
            "client_order_id": "x1",
            "product_id": "BTC-USD",
            "side": "BUY",
            "surprise": {"nested": [1, 2]},
            "order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "limit_price": price, "colour": "red"}},
        }
        status, data, _ = await client.call("POST", "/orders", body=body)
        assert status == 200 and data["success"] is True
        assert data["order_configuration"] == {"limit_limit_gtc": {"base_size": "0.001", "limit_price": price}}
        too_big = dict(
            body,
            client_order_id="x2",
            order_configuration={"limit_limit_gtc": {"base_size": "1", "limit_price": price}},
        )
        status, data, _ = await client.call("POST", "/orders", body=too_big)
        assert data["error_response"]["error"] == "INSUFFICIENT_FUND"


async def test_an_armed_rejection_waits_for_a_well_formed_order(client: Client, paper: PaperVenue) -> None:
    paper.faults.reject_orders("INSUFFICIENT_FUND", count=1)
    status, data, _ = await client.call("POST", "/orders", body={"client_order_id": "x", "product_id": "NOPE-USD"})
    assert status == 400 and data["error"] == "INVALID_ARGUMENT"  # malformed input is still a 400
    price = str(paper.books["BTC-USD"].best_bid() - 500)
    rejected = await client.order("BUY", "limit_limit_gtc", base_size="0.001", limit_price=price)
    assert rejected["error_response"]["error"] == "INSUFFICIENT_FUND"
    assert rejected["order_configuration"] == {"limit_limit_gtc": {"base_size": "0.001", "limit_price": price}}
