"""Products, books, market trades, candles and time, signed and public (`/market/...`), in
Coinbase's field names and types: numbers and times as strings."""

from __future__ import annotations

import re
import time
from decimal import Decimal

import aiohttp
import pytest

from cryptoj_tui.sim.venue import PaperVenue
from tests.integration.venue.conformance.docs_client import DocsClient, DocsKey

DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?")


def is_decimal_text(value: object) -> bool:
    return isinstance(value, str) and DECIMAL.fullmatch(value) is not None


@pytest.mark.parametrize("prefix", ["", "/market"])
async def test_products_books_trades_and_candles_signed_and_public(
    coinbase: PaperVenue, http: aiohttp.ClientSession, keys: dict[str, DocsKey], prefix: str
) -> None:
    # The public /market paths need no token; the brokerage ones are called signed.
    client = DocsClient(http, coinbase.rest_url, None if prefix else keys["ec"])
    products = await client.ok("GET", f"{prefix}/products")
    assert products["num_products"] == len(products["products"]) == 3
    btc = await client.ok("GET", f"{prefix}/products/BTC-USD")
    assert btc["product_id"] == "BTC-USD" and all(
        is_decimal_text(btc[k]) for k in ("price", "base_increment", "quote_increment", "base_min_size")
    )
    book = (await client.ok("GET", f"{prefix}/product_book", params={"product_id": "BTC-USD", "limit": "5"}))[
        "pricebook"
    ]
    assert len(book["bids"]) == len(book["asks"]) == 5
    assert all(is_decimal_text(level["price"]) and is_decimal_text(level["size"]) for level in book["bids"])

    if not prefix:  # best_bid_ask has no /market twin
        inside = (
            await client.ok("GET", "/best_bid_ask", params=[("product_ids", "BTC-USD"), ("product_ids", "ETH-USD")])
        )["pricebooks"]
        assert [b["product_id"] for b in inside] == ["BTC-USD", "ETH-USD"]
        assert all(len(b["bids"]) == len(b["asks"]) == 1 for b in inside)
    trades = await client.ok("GET", f"{prefix}/products/BTC-USD/ticker", params={"limit": "10"})
    assert len(trades["trades"]) == 10
    assert is_decimal_text(trades["best_bid"]) and is_decimal_text(trades["best_ask"])
    first = trades["trades"][0]
    assert set(first) >= {"trade_id", "product_id", "price", "size", "time", "side"}
    assert first["side"] in ("BUY", "SELL") and is_decimal_text(first["price"]) and is_decimal_text(first["size"])
    ids = [int(t["trade_id"]) for t in trades["trades"]]
    assert ids == sorted(ids, reverse=True), "newest first"

    now = int(time.time())
    bars = await client.ok(
        "GET",
        f"{prefix}/products/BTC-USD/candles",
        params={"start": str(now - 3600), "end": str(now + 60), "granularity": "ONE_MINUTE"},
    )
    assert bars["candles"], "the warm-up traded in this minute"
    bar = bars["candles"][0]
    assert set(bar) == {"start", "low", "high", "open", "close", "volume"} and bar["start"].isdigit()
    assert Decimal(bar["low"]) <= Decimal(bar["open"]) <= Decimal(bar["high"])
    assert int(bar["start"]) % 60 == 0


async def test_market_trades_add_up_to_the_rolling_day(coinbase: PaperVenue, http: aiohttp.ClientSession) -> None:
    """The ticker's 24-hour volume is the trades of the last 24 hours (here: every trade so far)."""
    client = DocsClient(http, coinbase.rest_url, None)
    trades = (await client.ok("GET", "/market/products/BTC-USD/ticker", params={"limit": "1000"}))["trades"]
    assert 0 < len(trades) < 1000, "the warm-up's trades fit one page"
    ticker = coinbase.ticker("BTC-USD")
    assert Decimal(ticker["volume_24_h"]) == sum(Decimal(t["size"]) for t in trades)
    prices = [Decimal(t["price"]) for t in trades]
    assert (Decimal(ticker["low_24_h"]), Decimal(ticker["high_24_h"])) == (min(prices), max(prices))
    opening, last = prices[-1], prices[0]
    assert Decimal(ticker["price_percent_chg_24_h"]) == (last - opening) / opening * 100


async def test_candle_and_trade_requests_are_checked_as_coinbase_words_them(
    coinbase: PaperVenue, http: aiohttp.ClientSession
) -> None:
    client = DocsClient(http, coinbase.rest_url, None)
    now = int(time.time())
    path = "/market/products/BTC-USD/candles"
    cases = {
        "number of candles requested should be less than 350": {
            "start": str(now - 351 * 60),
            "end": str(now),
            "granularity": "ONE_MINUTE",
        },
        "granularity must be one of": {"start": str(now - 60), "end": str(now), "granularity": "ONE_WEEK"},
        "start is required": {"end": str(now), "granularity": "ONE_MINUTE"},
        "end must be UNIX seconds": {"start": str(now - 60), "end": "yesterday", "granularity": "ONE_MINUTE"},
    }
    for words, params in cases.items():
        status, body = await client.call("GET", path, params=params)
        assert status == 400 and body["error"] == "INVALID_ARGUMENT" and words in body["message"], (words, body)
    status, body = await client.call("GET", "/market/products/BTC-USD/ticker", params={"limit": "0"})
    assert status == 400 and "limit must be a whole number 1..1000" in body["message"]
    status, body = await client.call("GET", "/market/products/DOGE-USD/candles", params=cases["start is required"])
    assert status == 404 and body["error"] == "NOT_FOUND"
    exactly = {"start": str(now - 350 * 60), "end": str(now), "granularity": "ONE_MINUTE"}
    assert (await client.call("GET", path, params=exactly))[0] == 200


async def test_server_time_and_an_unknown_path(coinbase: PaperVenue, http: aiohttp.ClientSession) -> None:
    client = DocsClient(http, coinbase.rest_url, None)
    clock = await client.ok("GET", "/time")
    assert set(clock) == {"iso", "epochSeconds", "epochMillis"}
    assert abs(int(clock["epochSeconds"]) - time.time()) < 5 and clock["epochMillis"].startswith(clock["epochSeconds"])
    status, body = await client.call("GET", "/no_such_thing")
    assert status == 404 and body["error"] == "NOT_FOUND" and set(body) == {"error", "error_details", "message"}
