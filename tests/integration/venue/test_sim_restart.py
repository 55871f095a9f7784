"""`cryptoj sim --db F` killed with SIGKILL mid-flow and started again loses nothing."""

from __future__ import annotations

import signal
import uuid
from decimal import Decimal as D
from pathlib import Path
from typing import Any

import aiohttp

from cryptoj_tui.cdp_keys import CdpKey, generate_key, sign, write_key_file
from tests.integration.helpers import start_sim

BASE = "/api/v3/brokerage"


async def call(
    http: aiohttp.ClientSession, rest: str, key: CdpKey, method: str, path: str, body: Any = None, params: Any = None
) -> Any:
    host = rest.split("://", 1)[1]
    headers = {"Authorization": f"Bearer {sign(key, f'{method} {host}{BASE}{path}')}"}
    async with http.request(method, f"{rest}{BASE}{path}", json=body, params=params, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.json()


async def state(http: aiohttp.ClientSession, rest: str, key: CdpKey) -> dict[str, Any]:
    orders = await call(http, rest, key, "GET", "/orders/historical/batch", params={"limit": "1000"})
    fills = await call(http, rest, key, "GET", "/orders/historical/fills", params={"limit": "1000"})
    accounts = await call(http, rest, key, "GET", "/accounts")
    return {
        "orders": {
            o["order_id"]: (o["status"], o["filled_size"], o["outstanding_hold_amount"]) for o in orders["orders"]
        },
        "fills": sorted((f["entry_id"], f["trade_id"], f["price"], f["size"], f["commission"]) for f in fills["fills"]),
        "accounts": {
            a["currency"]: (a["available_balance"]["value"], a["hold"]["value"]) for a in accounts["accounts"]
        },
    }


async def test_sigkill_and_restart_keeps_orders_fills_and_balances(tmp_path: Path) -> None:
    key = generate_key()
    write_key_file(tmp_path / "key.json", key)
    args = ("--db", str(tmp_path / "paper.db"), "--api-key-file", str(tmp_path / "key.json"), "--seed", "2")
    process, printed = await start_sim(*args, "--port", "0")
    async with aiohttp.ClientSession() as http:
        try:
            rest = printed["rest"]
            book = await call(http, rest, key, "GET", "/product_book", params={"product_id": "BTC-USD", "limit": "1"})
            bid = D(book["pricebook"]["bids"][0]["price"])
            resting = []
            for n in range(3):
                order = {
                    "client_order_id": str(uuid.uuid4()),
                    "product_id": "BTC-USD",
                    "side": "BUY",
                    "order_configuration": {
                        "limit_limit_gtc": {"base_size": "0.01", "limit_price": str(bid - 200 - n)}
                    },
                }
                resting.append((await call(http, rest, key, "POST", "/orders", order))["success_response"]["order_id"])
            taker = {
                "client_order_id": "taker-1",
                "product_id": "BTC-USD",
                "side": "SELL",
                "order_configuration": {"market_market_ioc": {"base_size": "0.05"}},
            }
            await call(http, rest, key, "POST", "/orders", taker)
            before = await state(http, rest, key)
        finally:
            process.send_signal(signal.SIGKILL)
            await process.wait()
        assert len(before["fills"]) >= 1 and len(before["orders"]) == 4

        process, printed = await start_sim(*args, "--port", "0")
        try:
            rest = printed["rest"]
            after = await state(http, rest, key)
            assert after == before
            retried = await call(http, rest, key, "POST", "/orders", taker)  # idempotent across restarts
            assert retried["success"] is True and len((await state(http, rest, key))["fills"]) == len(before["fills"])
            book = await call(
                http, rest, key, "GET", "/product_book", params={"product_id": "BTC-USD", "limit": "1000"}
            )
            prices = {D(level["price"]) for level in book["pricebook"]["bids"]}
            assert {bid - 200, bid - 201, bid - 202} <= prices  # resting orders are back in the book
            cancelled = await call(http, rest, key, "POST", "/orders/batch_cancel", {"order_ids": resting})
            assert all(r["success"] for r in cancelled["results"])
        finally:
            process.send_signal(signal.SIGTERM)
            assert await process.wait() == 0
