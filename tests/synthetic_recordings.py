"""Recordings written here, in the documented format (docs/recording.md), for the replay tests
and benchmarks that must not depend on the captures in ../shared (a clean clone has none).

Each is stamped with the recording's own clock (from T0), never this machine's, and is seeded:
the same arguments write the same file.
"""

from __future__ import annotations

import gzip
import json
import random
import time
from pathlib import Path
from typing import Any

import msgspec

from cryptoj_tui.engine.recording import FORMAT, VERSION, ConnectRecord, FrameRecord, Header, RestRecord

T0 = 1_800_000_000.0
COINBASE_URL = "wss://advanced-trade-ws.coinbase.com"
BINANCE_URL = "wss://stream.binance.com:9443/stream"


def _stamp(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(at)) + f".{int(at % 1 * 1e6):06d}Z"


def coinbase_frame(seq: int, at: float, channel: str, events: list[dict[str, Any]]) -> str:
    return json.dumps(
        {"channel": channel, "client_id": "", "timestamp": _stamp(at), "sequence_num": seq, "events": events},
        separators=(",", ":"),
    )


def _write(path: Path, records: list[Any]) -> None:
    with gzip.open(path, "wb", compresslevel=1) as out:
        out.write(b"\n".join(msgspec.json.encode(r) for r in records) + b"\n")


def coinbase_recording(
    path: Path, seconds: int, *, seed: int = 23, depth: int = 2000, reconnect_at: int | None = None
) -> list[str]:
    """A BTC-USD level2 session: a snapshot of `depth` levels a side, ten updates a second (1-5
    levels each, never crossing), a heartbeat a second, and (`reconnect_at`, seconds in) a
    recorded reconnect with a new snapshot. Returns the market frames in order."""
    rng = random.Random(seed)
    frames: list[str] = []
    records: list[Any] = [Header(format=FORMAT, version=VERSION, venue="coinbase", started="2027-01-15T08:00:00+00:00")]
    book: dict[tuple[str, str], str] = {
        (side, f"{65000 + sign * (i + 1) / 100:.2f}"): "1.5"
        for side, sign in (("bid", -1), ("offer", 1))
        for i in range(depth)
    }

    def snapshot(seq: int, at: float) -> None:
        updates = [{"side": s, "event_time": "", "price_level": p, "new_quantity": q} for (s, p), q in book.items()]
        event = {"type": "snapshot", "product_id": "BTC-USD", "updates": updates}
        records.append(ConnectRecord(at=at, stream="market", url=COINBASE_URL))
        add(at, coinbase_frame(seq, at, "l2_data", [event]))

    def add(at: float, frame: str) -> None:
        frames.append(frame)
        records.append(FrameRecord(at=at, stream="market", frame=frame))

    seq = 0
    snapshot(seq, T0)
    for tick in range(1, seconds * 10 + 1):
        at = T0 + tick / 10
        if reconnect_at is not None and tick == reconnect_at * 10:
            seq = 0  # a new connection numbers from 0
            snapshot(seq, at)
            continue
        levels = []
        for _ in range(rng.randint(1, 5)):
            side = rng.choice(("bid", "offer"))
            offset = rng.randint(1, depth) / 100  # bids below 65000, offers above: never crossed
            price = f"{65000 - offset if side == 'bid' else 65000 + offset:.2f}"
            quantity = rng.choice(("0", "0.5", "2.25"))
            book[(side, price)] = quantity
            levels.append({"side": side, "event_time": "", "price_level": price, "new_quantity": quantity})
        seq += 1
        add(at, coinbase_frame(seq, at, "l2_data", [{"type": "update", "product_id": "BTC-USD", "updates": levels}]))
        if tick % 10 == 0:
            seq += 1
            add(at, coinbase_frame(seq, at, "heartbeats", [{"current_time": "", "heartbeat_counter": tick // 10}]))
    _write(path, records)
    return frames


def binance_recording(path: Path, diffs: int, *, seed: int = 5, symbol: str = "BTCUSDT") -> tuple[list[dict], dict]:
    """A Binance depth session as the engine records one: the combined stream's frames (depth
    diffs with consecutive update ids, a bookTicker stream between them) and the REST snapshot
    the book started from, taken after the first few diffs (so those are older than it).
    Returns (the diff events in order, the snapshot as Binance answered it)."""
    rng = random.Random(seed)
    stream = f"{symbol.lower()}@depth@100ms"
    bids = {f"{100 - i / 100:.2f}": "1.00000000" for i in range(1, 60)}
    asks = {f"{101 + i / 100:.2f}": "1.00000000" for i in range(1, 60)}
    records: list[Any] = [
        Header(format=FORMAT, version=VERSION, venue="binance", started="2027-01-15T08:00:00+00:00"),
        ConnectRecord(at=T0, stream="market", url=BINANCE_URL),
    ]
    events: list[dict] = []
    update_id = 1000
    snapshot: dict = {}
    for n in range(diffs):
        at = T0 + n / 10
        first = update_id + 1
        update_id += rng.randint(1, 3)
        changes: dict[str, list[list[str]]] = {"b": [], "a": []}
        for _ in range(rng.randint(1, 4)):
            side = rng.choice(("b", "a"))
            price = f"{100 - rng.randint(1, 80) / 100:.2f}" if side == "b" else f"{101 + rng.randint(1, 80) / 100:.2f}"
            quantity = rng.choice(("0.00000000", "0.50000000", "3.25000000"))
            changes[side].append([price, quantity])
        event = {"e": "depthUpdate", "E": int(at * 1000), "s": symbol, "U": first, "u": update_id, **changes}
        events.append(event)
        records.append(FrameRecord(at=at, stream="market", frame=json.dumps({"stream": stream, "data": event})))
        ticker = {"u": update_id, "s": symbol, "b": "99.99", "B": "1", "a": "101.01", "A": "1"}
        records.append(
            FrameRecord(
                at=at, stream="market", frame=json.dumps({"stream": f"{symbol.lower()}@bookTicker", "data": ticker})
            )
        )
        if n < 3:  # the book the snapshot shows includes the first three diffs
            for side, levels in (("b", bids), ("a", asks)):
                for price, quantity in changes[side]:
                    if float(quantity):
                        levels[price] = quantity
                    else:
                        levels.pop(price, None)
        if n == 2:
            snapshot = {
                "lastUpdateId": update_id,
                "bids": [[p, q] for p, q in sorted(bids.items(), key=lambda x: -float(x[0]))],
                "asks": [[p, q] for p, q in sorted(asks.items(), key=lambda x: float(x[0]))],
            }
            records.append(
                RestRecord(
                    at=at,
                    method="GET",
                    path="/api/v3/depth",
                    params=[("symbol", symbol), ("limit", "1000")],
                    status=200,
                    answer=json.dumps(snapshot),
                )
            )
    _write(path, records)
    return events, snapshot
