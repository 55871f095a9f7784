"""Reading the real recorded exchange sessions in ../shared/data/captures."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from decimal import Decimal as D
from pathlib import Path

COINBASE_SESSION = Path("coinbase_advanced_trade") / "session-2026-08-09.jsonl.gz"

# Documented in PROVENANCE.md: the books after the whole session.
FINAL_BOOKS = {
    "BTC-USD": ((D("65083.66"), D("0.23929087")), (D("65083.67"), D("0.29040961")), (18_769, 27_238)),
    "ETH-USD": ((D("1919.28"), D("0.14476526")), (D("1919.38"), D("0.01194407")), None),
}


def coinbase_frames(captures: Path) -> list[bytes]:
    """Every frame of the recorded Coinbase session, in received order."""
    with gzip.open(captures / COINBASE_SESSION, "rb") as handle:
        return [line.rstrip(b"\n") for line in handle if line.strip()]


def independent_books(frames: Iterable[bytes | str], depth: int = 50) -> dict[str, dict[str, object]]:
    """Each product's book after `frames`, built from the frames alone with plain dicts and
    Decimals: a snapshot replaces a product's book, an update sets a level (size "0" deletes it).
    Per product: the last `sequence_num` that touched it, and the top `depth` bids and asks."""
    books: dict[str, tuple[dict[D, D], dict[D, D]]] = {}
    last_seq: dict[str, int] = {}
    for line in frames:
        frame = json.loads(line)
        if frame["channel"] != "l2_data":
            continue
        for event in frame["events"]:
            product = event["product_id"]
            if event["type"] == "snapshot":
                books[product] = ({}, {})
            bids, asks = books[product]
            for update in event["updates"]:
                side = bids if update["side"] == "bid" else asks
                price, size = D(update["price_level"]), D(update["new_quantity"])
                if size == 0:
                    side.pop(price, None)
                else:
                    side[price] = size
            last_seq[product] = frame["sequence_num"]
    return {
        product: {
            "sequence_num": last_seq[product],
            "bids": [[p, bids[p]] for p in sorted(bids, reverse=True)[:depth]],
            "asks": [[p, asks[p]] for p in sorted(asks)[:depth]],
        }
        for product, (bids, asks) in books.items()
    }


BINANCE_WS = Path("binance_spot") / "BINANCE.ws.1.0"
BINANCE_HTTP = Path("binance_spot") / "BINANCE.http.0.0"


def binance_stream(captures: Path) -> list[str]:
    """The recorded combined-stream frames (every stream), in order."""
    lines = (captures / BINANCE_WS).read_text().splitlines()
    return [line.split(": ", 1)[1] for line in lines[1:] if ": " in line]


def binance_snapshots(captures: Path) -> dict[str, str]:
    """Symbol -> the recorded REST depth snapshot body."""
    snapshots = {}
    for line in (captures / BINANCE_HTTP).read_text().splitlines():
        if " -> " not in line:
            continue
        url, rest = line.split(" -> ", 1)
        symbol = url.split("symbol=", 1)[1].split("&", 1)[0]
        snapshots[symbol] = rest.split(": ", 1)[1]
    return snapshots


SYMBOLS = ["NKNUSDT", "BLZETH", "LRCBTC", "RUNEEUR"]
"""The Binance symbols of the recorded session."""


def documented_rule(snapshot: dict, diffs: list[dict]) -> tuple[dict, dict]:
    """Binance's procedure written straight from PROTOCOL.md, with plain dicts."""
    bids = {D(p): D(q) for p, q in snapshot["bids"]}
    asks = {D(p): D(q) for p, q in snapshot["asks"]}
    last = snapshot["lastUpdateId"]
    applied = [d for d in diffs if d["u"] > last]
    assert applied[0]["U"] <= last + 1 <= applied[0]["u"]
    for previous, diff in zip([None, *applied], applied, strict=False):
        if previous is not None:
            assert diff["U"] == previous["u"] + 1
        for side, levels in ((bids, diff["b"]), (asks, diff["a"])):
            for price, qty in levels:
                if D(qty) == 0:
                    side.pop(D(price), None)
                else:
                    side[D(price)] = D(qty)
    return bids, asks
