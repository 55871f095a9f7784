"""The venue's market-data answers beyond the book: market trades, candles, server time.

Pure functions of the venue's state and a request's query, shaped as Coinbase's public API
reference shapes them (numbers as strings, times as UNIX seconds in text); `RestApi` routes
both the authenticated paths and the public `/market/...` ones here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from cryptoj_tui.sim.exchange import InvalidRequest
from cryptoj_tui.sim.products import format_decimal

if TYPE_CHECKING:
    from cryptoj_tui.sim.venue import PaperVenue

GRANULARITY_SECONDS = {
    "ONE_MINUTE": 60,
    "FIVE_MINUTE": 300,
    "FIFTEEN_MINUTE": 900,
    "THIRTY_MINUTE": 1800,
    "ONE_HOUR": 3600,
    "TWO_HOUR": 7200,
    "FOUR_HOUR": 14400,
    "SIX_HOUR": 21600,
    "ONE_DAY": 86400,
}
MAX_CANDLES = 350
MAX_MARKET_TRADES = 1000


def _seconds(query: Mapping[str, str], name: str, *, required: bool) -> int | None:
    text = query.get(name, "")
    if not text:
        if required:
            raise InvalidRequest(f"{name} is required: UNIX seconds as a string")
        return None
    if not text.isascii() or not text.isdigit():
        raise InvalidRequest(f"{name} must be UNIX seconds (digits), got {text!r}")
    return int(text)


def market_trades(venue: PaperVenue, product_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """`GET /products/{id}/ticker` (Get Market Trades): the latest trades, newest first, with
    the inside market. `limit` (1..1000) and optional `start` / `end` (UNIX seconds) filter;
    `side` is the resting order's side, as on the market_trades channel."""
    limit_text = query.get("limit", "")
    if not limit_text.isascii() or not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_MARKET_TRADES:
        raise InvalidRequest(f"limit must be a whole number 1..{MAX_MARKET_TRADES}, got {limit_text!r}")
    start = _seconds(query, "start", required=False)
    end = _seconds(query, "end", required=False)
    trades = [
        t
        for t in venue.tapes[product_id].recent
        if (start is None or t.epoch_s >= start) and (end is None or t.epoch_s <= end)
    ][: int(limit_text)]
    book = venue.books[product_id]
    bid, ask = book.best_bid(), book.best_ask()
    return {
        "trades": [
            {
                "trade_id": str(t.trade.trade_id),
                "product_id": product_id,
                "price": format_decimal(t.trade.price),
                "size": format_decimal(t.trade.size),
                "time": t.time,
                "side": t.trade.maker_side,
                "bid": "",
                "ask": "",
                "exchange": "paper",
            }
            for t in trades
        ],
        "best_bid": format_decimal(bid) if bid is not None else "",
        "best_ask": format_decimal(ask) if ask is not None else "",
    }


def candles(venue: PaperVenue, product_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """`GET /products/{id}/candles`: bars of `granularity` from `start` to `end` (UNIX seconds),
    newest first, at most 350 (`limit` may ask for fewer). Bars come from the venue's one-minute
    history, so a span before the venue started (or more than a day ago) has none."""
    start = _seconds(query, "start", required=True)
    end = _seconds(query, "end", required=True)
    assert start is not None and end is not None
    name = query.get("granularity", "")
    seconds = GRANULARITY_SECONDS.get(name)
    if seconds is None:
        raise InvalidRequest(f"granularity must be one of {', '.join(GRANULARITY_SECONDS)}, got {name!r}")
    if end < start:
        raise InvalidRequest("start and end argument is invalid - end must not be before start")
    if (end - start) // seconds > MAX_CANDLES:
        raise InvalidRequest(
            f"start and end argument is invalid - number of candles requested should be less than {MAX_CANDLES}"
        )
    limit_text = query.get("limit", str(MAX_CANDLES))
    if not limit_text.isascii() or not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_CANDLES:
        raise InvalidRequest(f"limit must be a whole number 1..{MAX_CANDLES}, got {limit_text!r}")
    bars = venue.tapes[product_id].bars(start - start % seconds, end, seconds)[: int(limit_text)]
    return {
        "candles": [
            {
                "start": str(bar.start),
                "low": format_decimal(bar.low),
                "high": format_decimal(bar.high),
                "open": format_decimal(bar.open),
                "close": format_decimal(bar.close),
                "volume": format_decimal(bar.volume),
            }
            for bar in bars
        ]
    }


def server_time(venue: PaperVenue) -> dict[str, str]:
    """`GET /time`: the venue's clock three ways."""
    ns = venue.clock()
    return {
        "iso": venue.now().strftime("%Y-%m-%dT%H:%M:%SZ"),
        "epochSeconds": str(ns // 1_000_000_000),
        "epochMillis": str(ns // 1_000_000),
    }
