"""Decode + apply of Coinbase level2 frames against msgspec decoding the same bytes.

The frames are built like the venue's (minimal decimal strings, one event per frame) from a
seeded generator, so the benchmark needs no network and no shared data. Ours, the baseline and
the peer take their rounds in turn on the same frames (`in_turn`): measured one after the other,
a quieter or busier minute of the machine fell on one of them alone and moved their ratio by a
third between runs.
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable
from decimal import Decimal
from itertools import islice
from typing import Any

import msgspec
import pytest
from sortedcontainers import SortedDict

from benchmarks.support import in_turn, record
from cryptoj_tui.engine.adapters.coinbase.stream import L2DataFrame, StreamDecoder
from cryptoj_tui.engine.book import OrderBook
from cryptoj_tui.engine.model import Side

FRAMES = 1000


def _level(rng: random.Random, side: str) -> dict[str, str]:
    ticks = rng.randint(1, 5000)
    price = Decimal(6_500_000 - ticks if side == "bid" else 6_500_000 + ticks) / 100
    size = "0" if rng.random() < 0.3 else str(Decimal(rng.randint(1, 10**8)) / 10**8)
    return {"side": side, "event_time": "2026-11-25T00:00:00.000000Z", "price_level": str(price), "new_quantity": size}


def frame(seq: int, kind: str, levels: list[dict[str, str]]) -> bytes:
    return json.dumps(
        {
            "channel": "l2_data",
            "timestamp": "2026-11-25T00:00:00.000000000Z",
            "sequence_num": seq,
            "events": [{"type": kind, "product_id": "BTC-USD", "updates": levels}],
        },
        separators=(",", ":"),
    ).encode()


def update_frames(levels_per_frame: int) -> list[bytes]:
    rng = random.Random(levels_per_frame)
    return [
        frame(n, "update", [_level(rng, rng.choice(("bid", "offer"))) for _ in range(levels_per_frame)])
        for n in range(FRAMES)
    ]


def snapshot_frame(levels_per_side: int) -> bytes:
    bids = [
        {"side": "bid", "event_time": "t", "price_level": str(Decimal(6_500_000 - n) / 100), "new_quantity": "0.5"}
        for n in range(levels_per_side)
    ]
    asks = [
        {"side": "offer", "event_time": "t", "price_level": str(Decimal(6_500_001 + n) / 100), "new_quantity": "0.5"}
        for n in range(levels_per_side)
    ]
    return frame(0, "snapshot", bids + asks)


def seeded_book(levels_per_side: int = 2500) -> OrderBook:
    decoder = StreamDecoder()
    book = OrderBook("BTC-USD")
    snapshot = decoder.decode(snapshot_frame(levels_per_side))
    assert isinstance(snapshot, L2DataFrame)
    book.replace(snapshot.events[0].updates)
    return book


def decode_only(frames: list[bytes]) -> None:
    decode = msgspec.json.decode
    for raw in frames:
        decode(raw)


def decode_and_apply(frames: list[bytes], decoder: StreamDecoder, book: OrderBook) -> None:
    for raw in frames:
        parsed = decoder.decode(raw)
        for event in parsed.events:  # type: ignore[union-attr]
            book.apply(event.updates)


def cryptofeed_handler(frames: list[bytes]) -> Callable[[], None] | None:
    """cryptofeed's Coinbase Advanced Trade handler on `frames`, its book seeded as ours is: its
    json.loads with Decimal prices, its C order book and an L2_BOOK callback that does nothing.
    None when cryptofeed is not installed (the `peers` extra, which `make bench` installs: it
    builds C extensions)."""
    try:
        from cryptofeed.defines import L2_BOOK
        from cryptofeed.exchanges import Coinbase
        from cryptofeed.symbols import Symbols
    except ImportError:
        return None

    # Its product list would come from Coinbase's REST API; the benchmark stays offline.
    Symbols.set(
        Coinbase.id,
        *Coinbase._parse_symbol_data(
            {
                "products": [
                    {
                        "base_currency_id": "BTC",
                        "quote_currency_id": "USD",
                        "quote_increment": "0.01",
                        "product_id": "BTC-USD",
                    }
                ]
            }
        ),
    )

    async def nothing(book: Any, receipt_timestamp: float) -> None:
        pass

    feed = Coinbase(symbols=["BTC-USD"], channels=[L2_BOOK], callbacks={L2_BOOK: nothing})
    loop = asyncio.new_event_loop()

    async def handle(raws: list[bytes]) -> None:
        for raw in raws:
            await feed.message_handler(raw, None, 0.0)

    # Its snapshot reader takes asks as side "ask" (the venue says "offer"; its update reader
    # takes either): seeded with both sides, as ours is.
    loop.run_until_complete(handle([snapshot_frame(2500).replace(b'"side":"offer"', b'"side":"ask"')]))
    return lambda: loop.run_until_complete(handle(frames))


class UpdateRounds:
    """The update frames of each size through msgspec's decode (the baseline), ours and the peer,
    taken in turn (see `in_turn`), each size once for the three benchmarks that report it."""

    def __init__(self) -> None:
        self._taken: dict[int, dict[str, list[float]]] = {}

    def samples(self, levels: int) -> dict[str, list[float]]:
        if levels not in self._taken:
            frames = update_frames(levels)
            decoder, book = StreamDecoder(), seeded_book()
            jobs: dict[str, Callable[[], object]] = {
                "baseline": lambda: decode_only(frames),
                "ours": lambda: decode_and_apply(frames, decoder, book),
            }
            peer = cryptofeed_handler(frames)
            if peer is not None:
                jobs["peer"] = peer
            self._taken[levels] = in_turn(jobs)
        return self._taken[levels]


@pytest.fixture(scope="module")
def update_rounds() -> UpdateRounds:
    return UpdateRounds()


@pytest.mark.parametrize("levels", [1, 5, 50])
def test_update_frames_baseline(benchmark: Any, levels: int, update_rounds: UpdateRounds) -> None:
    """msgspec's decode of the same bytes into Python objects, checking nothing."""
    record(benchmark, f"l2 update, {levels} level(s) x{FRAMES}", "baseline", update_rounds.samples(levels)["baseline"])


@pytest.mark.parametrize("levels", [1, 5, 50])
def test_update_frames_decode_and_apply(benchmark: Any, levels: int, update_rounds: UpdateRounds) -> None:
    record(benchmark, f"l2 update, {levels} level(s) x{FRAMES}", "decode+apply", update_rounds.samples(levels)["ours"])


@pytest.mark.parametrize("levels", [1, 5, 50])
def test_update_frames_peer_cryptofeed(benchmark: Any, levels: int, update_rounds: UpdateRounds) -> None:
    """cryptofeed's Coinbase Advanced Trade handler on the same frames and the same seeded book
    (see `cryptofeed_handler`)."""
    samples = update_rounds.samples(levels)
    if "peer" not in samples:
        pytest.skip("cryptofeed is the bench's peer only: `make bench` installs it")
    record(benchmark, f"l2 update, {levels} level(s) x{FRAMES}", "peer: cryptofeed Coinbase handler", samples["peer"])


@pytest.fixture(scope="module")
def snapshot_rounds() -> dict[str, list[float]]:
    """A 10k-level snapshot through msgspec's decode and through ours (decode and replace the
    book), taken in turn."""
    raw = snapshot_frame(5000)
    decoder = StreamDecoder()
    book = OrderBook("BTC-USD")

    def ours() -> None:
        parsed = decoder.decode(raw)
        book.replace(parsed.events[0].updates)  # type: ignore[union-attr]

    samples = in_turn({"baseline": lambda: msgspec.json.decode(raw), "ours": ours})
    assert book.depth() == (5000, 5000)
    return samples


def test_snapshot_10k_baseline(benchmark: Any, snapshot_rounds: dict[str, list[float]]) -> None:
    record(benchmark, "l2 snapshot, 10k levels", "baseline", snapshot_rounds["baseline"])


def test_snapshot_10k_decode_and_replace(benchmark: Any, snapshot_rounds: dict[str, list[float]]) -> None:
    record(benchmark, "l2 snapshot, 10k levels", "decode+replace", snapshot_rounds["ours"])


DEPTHS = [1_000, 10_000, 50_000]
"""Levels in the book (both sides) for the scaling curve."""


def decoded_updates(depth: int) -> list[Any]:
    """1000 one-level changes inside a book of `depth` levels, already decoded."""
    rng = random.Random(depth)
    decoder = StreamDecoder()
    changes = []
    for n in range(FRAMES):
        side = rng.choice(("bid", "offer"))
        ticks = rng.randint(0, depth // 2 - 1)
        price = Decimal(6_500_000 - ticks if side == "bid" else 6_500_001 + ticks) / 100
        size = "0" if rng.random() < 0.3 else "0.25"
        level = {"side": side, "event_time": "t", "price_level": str(price), "new_quantity": size}
        changes.append(decoder.decode(frame(n, "update", [level])).events[0].updates)  # type: ignore[union-attr]
    return changes


@pytest.mark.parametrize("depth", DEPTHS)
def test_apply_vs_depth_baseline_sorteddict(benchmark: Any, depth: int) -> None:
    """The same changes as integer ticks straight into two SortedDicts: no checks, no scaling."""
    bids = SortedDict({6_500_000 - n: Decimal("0.5") for n in range(depth // 2)})
    asks = SortedDict({6_500_001 + n: Decimal("0.5") for n in range(depth // 2)})
    raw = [
        (bids if c[0].side == "bid" else asks, int(Decimal(c[0].price) * 100), Decimal(c[0].size))
        for c in decoded_updates(depth)
    ]

    def apply_all() -> None:
        for levels, tick, size in raw:
            if size:
                levels[tick] = size
            else:
                levels.pop(tick, None)

    benchmark.group = f"apply 1000 updates, book of {depth} levels"
    benchmark.extra_info["role"] = "baseline"
    benchmark(apply_all)


@pytest.mark.parametrize("depth", DEPTHS)
def test_apply_vs_depth_order_book(benchmark: Any, depth: int) -> None:
    """OrderBook.apply of the same decoded changes: validation, tick scaling, all-or-nothing."""
    book, changes = seeded_book(depth // 2), decoded_updates(depth)

    def apply_all() -> None:
        for change in changes:
            book.apply(change)

    benchmark.group = f"apply 1000 updates, book of {depth} levels"
    benchmark.extra_info["role"] = "OrderBook.apply"
    benchmark(apply_all)


def test_top_20_baseline_sorteddict(benchmark: Any) -> None:
    bids = SortedDict({6_500_000 - n: Decimal("0.5") for n in range(5000)})
    asks = SortedDict({6_500_001 + n: Decimal("0.5") for n in range(5000)})
    benchmark.group = "top 20 read, book of 10k levels"
    benchmark.extra_info["role"] = "baseline"
    benchmark(lambda: ([(t, bids[t]) for t in islice(reversed(bids), 20)], [(t, asks[t]) for t in islice(asks, 20)]))


def test_top_20_order_book(benchmark: Any) -> None:
    book = seeded_book(5000)
    benchmark.group = "top 20 read, book of 10k levels"
    benchmark.extra_info["role"] = "OrderBook.top (prices as Decimal)"
    bids, asks = benchmark(book.top, 20)
    assert len(bids) == len(asks) == 20 and bids[0][0] > bids[1][0] and book.levels(Side.BID)
