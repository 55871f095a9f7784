"""`--checksum`: every level2 event carries a CRC32 that a client can recompute from its own book."""

from __future__ import annotations

import json
import zlib
from decimal import Decimal as D

from websockets.asyncio.client import connect

from cryptoj_tui.sim.venue import PaperVenue, VenueConfig


def independent_checksum(bids: dict[D, str], asks: dict[D, str], texts: dict[D, str]) -> int:
    """Written from docs/paper-venue.md, not from the venue's code."""
    best_bids = sorted(bids, reverse=True)[:25]
    best_asks = sorted(asks)[:25]
    parts = []
    for n in range(25):
        if n < len(best_bids):
            parts.append(f"{texts[best_bids[n]]}:{bids[best_bids[n]]}")
        if n < len(best_asks):
            parts.append(f"{texts[best_asks[n]]}:{asks[best_asks[n]]}")
    return zlib.crc32(":".join(parts).encode())


async def test_checksums_match_a_book_rebuilt_from_the_frames() -> None:
    async with PaperVenue(VenueConfig(seed=3, step_interval=0, checksum=True)) as venue:
        async with connect(venue.ws_url, max_size=None) as ws:
            await ws.send(json.dumps({"type": "subscribe", "channel": "level2", "product_ids": ["ETH-USD"]}))
            books: dict[str, dict[D, str]] = {"bid": {}, "offer": {}}
            texts: dict[D, str] = {}
            checked = 0
            while checked < 30:
                frame = json.loads(await ws.recv())
                if frame["channel"] != "l2_data":
                    venue.step("ETH-USD")
                    continue
                event = frame["events"][0]
                for update in event["updates"]:
                    price = D(update["price_level"])
                    texts[price] = update["price_level"]
                    if update["new_quantity"] == "0":
                        books[update["side"]].pop(price, None)
                    else:
                        books[update["side"]][price] = update["new_quantity"]
                assert event["checksum"] == independent_checksum(books["bid"], books["offer"], texts)
                checked += 1
                venue.step("ETH-USD")


async def test_no_checksum_unless_asked(venue: PaperVenue) -> None:
    async with connect(venue.ws_url, max_size=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channel": "level2", "product_ids": ["ETH-USD"]}))
        assert "checksum" not in json.loads(await ws.recv())["events"][0]
