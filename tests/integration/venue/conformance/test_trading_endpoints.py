"""Account, preview, place, edit, list, fill and cancel, as a docs-only client calls them."""

from __future__ import annotations

import asyncio
import json
import uuid
from decimal import Decimal

import aiohttp
import pytest

from cryptoj_tui.sim.venue import PaperVenue
from tests.integration.venue.conformance.docs_client import BASE, DocsClient, DocsKey


@pytest.fixture
def client(coinbase: PaperVenue, http: aiohttp.ClientSession, keys: dict[str, DocsKey]) -> DocsClient:
    return DocsClient(http, coinbase.rest_url, keys["ec"])


def inside_bid(venue: PaperVenue) -> Decimal:
    """A price one tick above the best bid and below the best ask: first in line on its own."""
    book = venue.books["BTC-USD"]
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None and ask is not None and ask - bid > Decimal("0.01")
    return bid + Decimal("0.01")


async def test_account_endpoints_a_client_calls_while_loading(client: DocsClient, coinbase: PaperVenue) -> None:
    summary = await client.ok("GET", "/transaction_summary")
    tier = summary["fee_tier"]
    assert (tier["maker_fee_rate"], tier["taker_fee_rate"]) == ("0.004", "0.006")
    assert summary["total_volume"] == 0 and summary["total_fees"] == 0
    permissions = await client.ok("GET", "/key_permissions")
    assert permissions["can_view"] is True and permissions["can_trade"] is True
    portfolios = (await client.ok("GET", "/portfolios"))["portfolios"]
    assert [p["uuid"] for p in portfolios] == [permissions["portfolio_uuid"]]
    assert portfolios[0]["type"] == "DEFAULT" and portfolios[0]["deleted"] is False

    # After a fill, the summary counts it: volume as a JSON number, as Coinbase sends it.
    await client.market_sell("0.01")
    summary = await client.ok("GET", "/transaction_summary")
    assert isinstance(summary["total_volume"], float) and summary["total_volume"] > 0
    assert summary["total_fees"] > 0


async def test_preview_costs_an_order_and_places_nothing(client: DocsClient, coinbase: PaperVenue) -> None:
    bid = inside_bid(coinbase)
    body = {
        "product_id": "BTC-USD",
        "side": "BUY",
        "order_configuration": {"limit_limit_gtc": {"base_size": "0.5", "limit_price": str(bid)}},
    }
    preview = await client.ok("POST", "/orders/preview", body=body)
    assert preview["errs"] == [] and preview["base_size"] == "0.5"
    assert Decimal(preview["quote_size"]) == bid * Decimal("0.5")
    assert Decimal(preview["commission_total"]) == bid * Decimal("0.5") * Decimal("0.006")
    assert Decimal(preview["order_total"]) == Decimal(preview["quote_size"]) + Decimal(preview["commission_total"])
    assert preview["preview_id"]
    too_big = {**body, "order_configuration": {"limit_limit_gtc": {"base_size": "50", "limit_price": str(bid)}}}
    assert (await client.ok("POST", "/orders/preview", body=too_big))["errs"] == ["PREVIEW_INSUFFICIENT_FUND"]
    listed = await client.ok("GET", "/orders/historical/batch", params={"order_status": "OPEN"})
    assert listed["orders"] == []


async def test_edit_keeps_queue_priority_only_for_a_size_decrease(
    coinbase: PaperVenue, http: aiohttp.ClientSession, keys: dict[str, DocsKey]
) -> None:
    """Two traders rest at the same price, A first. A third sells into them."""
    a, b, taker = (DocsClient(http, coinbase.rest_url, keys[name]) for name in ("ec", "other", "third"))
    price = str(inside_bid(coinbase))
    first, second = await a.limit_order("BUY", price, "0.01"), await b.limit_order("BUY", price, "0.01")

    assert await a.ok("POST", "/orders/edit", body={"order_id": first, "size": "0.005", "price": price}) == {
        "success": True,
        "errors": [],
    }
    await taker.market_sell("0.005")
    assert (await a.order(first))["status"] == "FILLED", "a smaller order keeps its place: first in line"
    assert (await b.order(second))["filled_size"] == "0"

    third = await a.limit_order("BUY", price, "0.01")  # behind B now
    await a.ok("POST", "/orders/edit", body={"order_id": third, "size": "0.02", "price": price})
    await b.ok("POST", "/orders/edit", body={"order_id": second, "size": "0.02", "price": price})
    # B grew after A did: A is ahead again, though it joined the queue later.
    await taker.market_sell("0.02")
    edited = await a.order(third)
    assert edited["status"] == "FILLED" and (await b.order(second))["filled_size"] == "0"
    assert [(e["price"], e["size"]) for e in edited["edit_history"]] == [(price, "0.02")]
    assert edited["order_configuration"]["limit_limit_gtc"]["base_size"] == "0.02"


async def test_edit_rules_and_edit_preview(client: DocsClient, coinbase: PaperVenue) -> None:
    bid = inside_bid(coinbase)
    order_id = await client.limit_order("BUY", str(bid), "0.01")
    preview = await client.ok(
        "POST", "/orders/edit_preview", body={"order_id": order_id, "size": "0.02", "price": str(bid)}
    )
    assert preview["errors"] == [] and preview["base_size"] == "0.02"
    assert Decimal(preview["quote_size"]) == bid * Decimal("0.02")
    assert (await client.order(order_id))["order_configuration"]["limit_limit_gtc"]["base_size"] == "0.01"

    def refused(reason: str) -> dict[str, object]:
        return {"success": False, "errors": [{"edit_failure_reason": reason}]}

    same = {"order_id": order_id, "size": "0.01", "price": str(bid)}
    assert await client.ok("POST", "/orders/edit", body=same) == refused("EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST")
    odd_price = {"order_id": order_id, "price": str(bid + Decimal("0.001"))}
    assert await client.ok("POST", "/orders/edit", body=odd_price) == refused("INVALID_EDITED_PRICE")
    unknown = {"order_id": str(uuid.uuid4()), "price": str(bid)}
    assert await client.ok("POST", "/orders/edit", body=unknown) == refused("ORDER_NOT_FOUND")
    broke = {"order_id": order_id, "size": "40", "price": str(bid)}
    assert await client.ok("POST", "/orders/edit", body=broke) == {
        "success": False,
        "errors": [{"preview_failure_reason": "PREVIEW_INSUFFICIENT_FUND"}],
    }
    post_only = await client.limit_order("BUY", str(bid), "0.01", post_only=True)
    ask = coinbase.books["BTC-USD"].best_ask()
    crossing = {"order_id": post_only, "price": str(ask)}
    assert await client.ok("POST", "/orders/edit", body=crossing) == {
        "success": False,
        "errors": [{"preview_failure_reason": "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY"}],
    }
    await client.ok("POST", "/orders/batch_cancel", body={"order_ids": [order_id]})
    assert await client.ok("POST", "/orders/edit", body={"order_id": order_id, "price": str(bid - 1)}) == refused(
        "ONLY_OPEN_ORDERS_CAN_BE_EDITED"
    )
    status, body = await client.call("POST", "/orders/edit", body={"order_id": post_only})
    assert status == 400 and "needs a new price, a new size or both" in body["message"]


async def test_an_edit_to_a_crossing_price_trades_and_holds_follow_the_edit(
    client: DocsClient, coinbase: PaperVenue
) -> None:
    usd = Decimal(
        next(a for a in (await client.ok("GET", "/accounts"))["accounts"] if a["currency"] == "USD")["hold"]["value"]
    )
    bid = inside_bid(coinbase)
    order_id = await client.limit_order("BUY", str(bid - 100), "0.01")
    ask = coinbase.books["BTC-USD"].best_ask()
    assert ask is not None
    await client.ok("POST", "/orders/edit", body={"order_id": order_id, "price": str(ask)})
    order = await client.order(order_id)
    assert order["status"] == "FILLED" and Decimal(order["average_filled_price"]) <= ask
    accounts = (await client.ok("GET", "/accounts"))["accounts"]
    assert Decimal(next(a for a in accounts if a["currency"] == "USD")["hold"]["value"]) == usd


async def test_orders_page_with_cursor_and_has_next_and_fills_list(client: DocsClient, coinbase: PaperVenue) -> None:
    bid = inside_bid(coinbase)
    placed = [await client.limit_order("BUY", str(bid - 50 - n), "0.001") for n in range(5)]
    seen, cursor, pages = [], "", 0
    while True:
        params = {"order_status": "OPEN", "limit": "2", **({"cursor": cursor} if cursor else {})}
        page = await client.ok("GET", "/orders/historical/batch", params=params)
        pages += 1
        seen += [o["order_id"] for o in page["orders"]]
        assert isinstance(page["has_next"], bool) and isinstance(page["cursor"], str)
        if not page["has_next"]:
            assert page["cursor"] == ""
            break
        cursor = page["cursor"]
    assert pages == 3 and sorted(seen) == sorted(placed)
    order = await client.order(placed[0])
    assert all(isinstance(order[k], str) for k in ("filled_size", "average_filled_price", "total_fees", "created_time"))
    sold = await client.market_sell("0.01")
    fills = (await client.ok("GET", "/orders/historical/fills", params={"order_ids": sold}))["fills"]
    assert fills and all(f["order_id"] == sold and f["liquidity_indicator"] == "TAKER" for f in fills)
    assert sum(Decimal(f["size"]) for f in fills) == Decimal("0.01")
    results = (await client.ok("POST", "/orders/batch_cancel", body={"order_ids": placed}))["results"]
    assert [r["success"] for r in results] == [True] * 5


async def test_close_position_is_refused_for_spot_products(client: DocsClient) -> None:
    body = {"client_order_id": str(uuid.uuid4()), "product_id": "BTC-USD", "size": "0.01"}
    status, answer = await client.call("POST", "/orders/close_position", body=body)
    assert status == 400 and answer["error"] == "INVALID_ARGUMENT" and "SPOT" in answer["message"]


async def test_an_order_whose_caller_hung_up_before_the_answer_is_still_placed(
    coinbase: PaperVenue, client: DocsClient, keys: dict[str, DocsKey]
) -> None:
    """As at a real exchange: the request arrived, so it is carried out; the answer is lost.
    Staged through the socket: the venue is slowed, and the client closes its connection
    right after sending."""
    coinbase.faults.slow_rest(0.3)
    cid = str(uuid.uuid4())
    bid = inside_bid(coinbase)
    body = json.dumps(
        {
            "client_order_id": cid,
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"limit_limit_gtc": {"base_size": "0.001", "limit_price": str(bid - 10)}},
        }
    ).encode()
    token = keys["ec"].token("cdp", f"POST {client.host}{BASE}/orders")
    _, writer = await asyncio.open_connection("127.0.0.1", coinbase.port)
    writer.write(
        (
            f"POST {BASE}/orders HTTP/1.1\r\nHost: {client.host}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        + body
    )
    await writer.drain()
    writer.close()
    await writer.wait_closed()
    coinbase.faults.clear()
    async with asyncio.timeout(5):
        while True:
            orders = (await client.ok("GET", "/orders/historical/batch", params={"order_status": "OPEN"}))["orders"]
            if any(o["client_order_id"] == cid for o in orders):
                break
            await asyncio.sleep(0.05)
    # The caller's retry with the same client id creates nothing new.
    retry = {**json.loads(body)}
    again = await client.ok("POST", "/orders", body=retry)
    assert again["success"] is True
    orders = (await client.ok("GET", "/orders/historical/batch", params={"order_status": "OPEN"}))["orders"]
    assert [o["client_order_id"] for o in orders].count(cid) == 1
