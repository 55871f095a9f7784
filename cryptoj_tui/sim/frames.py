"""Coinbase Advanced Trade frame text, built the way the real venue writes it.

Events are encoded once per market event and spliced into each connection's envelope, because
`sequence_num` is per connection.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec

from cryptoj_tui.sim.products import format_decimal

Clock = Callable[[], int]
"""Nanoseconds since the UNIX epoch."""

_encoder = msgspec.json.Encoder()


def rfc3339(ns: int) -> str:
    """`2026-08-09T21:05:48.483587501Z`: RFC 3339 with nanoseconds, as the venue stamps frames."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def go_time(ns: int, uptime_s: float) -> str:
    """Go's `time.Time.String()` text, which heartbeats carry as `current_time`."""
    seconds, nanos = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%d %H:%M:%S")
    return f"{stamp}.{nanos:09d} +0000 UTC m=+{uptime_s:.9f}"


def encode_events(events: list[dict[str, object]]) -> str:
    """The `events` array of a frame as JSON text."""
    return _encoder.encode(events).decode()


def envelope(channel: str, timestamp: str, sequence_num: int, events_json: str) -> str:
    """A whole frame with keys in the venue's order."""
    return f'{{"channel":"{channel}","timestamp":"{timestamp}","sequence_num":{sequence_num},"events":{events_json}}}'


def l2_event(
    kind: str, product_id: str, event_time: str, levels: Iterable[tuple[str, Decimal, Decimal]]
) -> dict[str, object]:
    """A level2 snapshot or update event; `levels` are (side, price, new total)."""
    return {
        "type": kind,
        "product_id": product_id,
        "updates": [
            {
                "side": side,
                "event_time": event_time,
                "price_level": format_decimal(price),
                "new_quantity": format_decimal(size),
            }
            for side, price, size in levels
        ],
    }


def error_frame(message: str) -> str:
    """The venue's error reply; error frames carry no sequence number."""
    return _encoder.encode({"type": "error", "message": message}).decode()


def system_clock() -> int:
    """Wall-clock nanoseconds."""
    return time.time_ns()


def trades_event(kind: str, product_id: str, trades: list[Any]) -> dict[str, object]:
    """A market_trades event; `trades` are TapeTrades, newest first; side is the maker's."""
    return {
        "type": kind,
        "trades": [
            {
                "trade_id": str(t.trade.trade_id),
                "product_id": product_id,
                "price": format_decimal(t.trade.price),
                "size": format_decimal(t.trade.size),
                "side": t.trade.maker_side,
                "time": t.time,
            }
            for t in trades
        ],
    }


def ticker_event(kind: str, tickers: list[dict[str, str]]) -> dict[str, object]:
    """A ticker event."""
    return {"type": kind, "tickers": tickers}


def candles_event(kind: str, product_id: str, candles: list[Any]) -> dict[str, object]:
    """A candles event (five-minute bars; `start` is UNIX seconds as text)."""
    return {
        "type": kind,
        "candles": [
            {
                "start": str(c.start),
                "high": format_decimal(c.high),
                "low": format_decimal(c.low),
                "open": format_decimal(c.open),
                "close": format_decimal(c.close),
                "volume": format_decimal(c.volume),
                "product_id": product_id,
            }
            for c in candles
        ],
    }


def user_order(order: Any) -> dict[str, object]:
    """One order as the user channel reports it."""
    return {
        "order_id": order.order_id,
        "client_order_id": order.client_order_id,
        "cumulative_quantity": format_decimal(order.filled_size),
        "leaves_quantity": format_decimal(order.leaves if order.status in ("OPEN", "PENDING") else Decimal(0)),
        "avg_price": format_decimal(order.average_filled_price),
        "total_fees": format_decimal(order.total_fees),
        "status": order.status,
        "product_id": order.product_id,
        "creation_time": order.created_time,
        "order_side": order.side,
        "order_type": order.order_type,
        "limit_price": format_decimal(order.limit_price) if order.limit_price is not None else "",
        "stop_price": format_decimal(order.stop_price) if order.stop_price is not None else "",
        "filled_value": format_decimal(order.filled_value),
        "number_of_fills": str(order.number_of_fills),
        "outstanding_hold_amount": format_decimal(order.hold),
        "reject_reason": order.reject_reason,
        "time_in_force": order.time_in_force,
    }


CHECKSUM_DEPTH = 25


def book_checksum(bids: list[tuple[Decimal, Decimal]], asks: list[tuple[Decimal, Decimal]]) -> int:
    """CRC32 of the top 25 levels per side, as docs/paper-venue.md specifies.

    The hashed text interleaves the sides best first, each level as `price:size` in the wire's
    minimal decimal form, joined by ':' — bid1, ask1, bid2, ask2, ... — and a side that runs
    out simply stops contributing. The result is the unsigned 32-bit CRC (zlib.crc32).
    """
    parts: list[str] = []
    for n in range(CHECKSUM_DEPTH):
        for side in (bids, asks):
            if n < len(side):
                price, size = side[n]
                parts.append(f"{format_decimal(price)}:{format_decimal(size)}")
    return zlib.crc32(":".join(parts).encode())
