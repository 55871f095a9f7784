"""Generated Coinbase market frames for the fuzz tests: valid ones of each channel, and the same
mutated or truncated, from one seeded `random.Random` (a failing seed replays exactly)."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal as D

FUZZ_FRAMES = int(os.environ.get("CRYPTOJ_FUZZ_FRAMES", "100000"))
"""Frames per channel through the decoder (CRYPTOJ_FUZZ_FRAMES to change it)."""
FUZZ_SEED = int(os.environ.get("CRYPTOJ_FUZZ_SEED", "1"))
CHANNELS = ("l2_data", "market_trades", "ticker", "heartbeats")
STAMP = "2026-12-05T09:30:00.000000000Z"
_NOISE = '{}[]",:0123456789.-eE abcxyzNnul\\'
_SWAPS = (
    '"x"',
    "-1",
    "1e999",
    "[]",
    "{}",
    "null",
    '"-0.5"',
    '"1e-99999"',
    "true",
    '"' + "9" * 400 + '"',
    '"NaN"',
    '"-Infinity"',
)


@dataclass
class BookModel:
    """The venue's BTC-USD book as the fuzz server keeps it: bids under 100, asks over 101, so
    no valid update ever crosses it."""

    bids: dict[D, D] = field(default_factory=lambda: {D("99.5"): D("1"), D("99"): D("2")})
    asks: dict[D, D] = field(default_factory=lambda: {D("101.5"): D("3"), D("102"): D("4")})

    def levels(self) -> list[tuple[str, D, D]]:
        return [("bid", p, s) for p, s in sorted(self.bids.items(), reverse=True)] + [
            ("offer", p, s) for p, s in sorted(self.asks.items())
        ]

    def apply(self, side: str, price: D, size: D) -> None:
        levels = self.bids if side == "bid" else self.asks
        if size:
            levels[price] = size
        else:
            levels.pop(price, None)


def l2_frame(sequence_num: int, kind: str, levels: list[tuple[str, D, D]]) -> str:
    updates = [
        {"side": s, "event_time": STAMP, "price_level": f"{p:f}", "new_quantity": f"{q:f}"} for s, p, q in levels
    ]
    event = {"type": kind, "product_id": "BTC-USD", "updates": updates}
    return json.dumps({"channel": "l2_data", "timestamp": STAMP, "sequence_num": sequence_num, "events": [event]})


class FrameMaker:
    """Valid frames of one channel, and bad ones made from them."""

    def __init__(self, channel: str, seed: int = FUZZ_SEED) -> None:
        self.channel = channel
        self.rng = random.Random(f"{seed}:{channel}")
        self.heartbeat = 0
        self.trade_id = 0

    def valid(self, sequence_num: int, model: BookModel) -> str:
        """A valid frame; a level2 one changes `model` as it changes the venue's book."""
        rng = self.rng
        if self.channel == "l2_data":
            side = rng.choice(("bid", "offer"))
            ticks = rng.randrange(1, 200)
            price = D(100) - D(ticks) / 100 if side == "bid" else D(101) + D(ticks) / 100
            size = D(rng.randrange(0, 5000)) / 1000
            model.apply(side, price, size)
            return l2_frame(sequence_num, "update", [(side, price, size)])
        if self.channel == "market_trades":
            self.trade_id += 1
            trade = {
                "trade_id": str(self.trade_id),
                "product_id": "BTC-USD",
                "price": f"{D(100) + D(rng.randrange(0, 100)) / 100:f}",
                "size": f"{D(rng.randrange(1, 10_000)) / 10_000:f}",
                "side": rng.choice(("BUY", "SELL")),
                "time": STAMP,
            }
            events = [{"type": "update", "trades": [trade]}]
        elif self.channel == "ticker":
            ticker = {"type": "ticker", "product_id": "BTC-USD", "price": f"{D(100) + D(rng.randrange(100)) / 100:f}"}
            ticker |= {"best_bid": "99.5", "best_ask": "101.5", "volume_24_h": str(rng.randrange(10_000))}
            events = [{"type": "update", "tickers": [ticker]}]
        else:
            self.heartbeat += 1
            events = [{"current_time": STAMP, "heartbeat_counter": self.heartbeat}]
        return json.dumps({"channel": self.channel, "timestamp": STAMP, "sequence_num": sequence_num, "events": events})

    def mutated(self, text: str) -> str:
        """The frame with one to three random edits: a character changed, a span deleted or
        repeated, a value swapped for one of another type or absurd size."""
        rng = self.rng
        for _ in range(rng.randint(1, 3)):
            at = rng.randrange(len(text))
            edit = rng.randrange(4)
            if edit == 0:
                text = text[:at] + rng.choice(_NOISE) + text[at + 1 :]
            elif edit == 1:
                text = text[:at] + text[at + rng.randint(1, 12) :]
            elif edit == 2:
                text = text[:at] + text[at : at + rng.randint(1, 30)] + text[at:]
            else:
                start = text.find(":", at)
                end = min((i for i in (text.find(",", start), text.find("}", start)) if i > start), default=-1)
                if start != -1 and end != -1:
                    text = text[: start + 1] + rng.choice(_SWAPS) + text[end:]
        return text or "{"

    def truncated(self, text: str) -> str:
        """The frame cut short (never empty, never whole)."""
        return text[: self.rng.randrange(1, len(text) - 1)]

    def stream(self, count: int, model: BookModel, next_sequence: Iterator[int]) -> Iterator[tuple[str, str]]:
        """(kind, frame) for `count` frames: about 70 % valid, 20 % mutated, 10 % truncated."""
        for _ in range(count):
            roll = self.rng.random()
            if roll < 0.7:
                yield "valid", self.valid(next(next_sequence), model)
            else:
                # A bad frame's content never reaches the model: the venue did not mean it.
                frame = self.valid(next(next_sequence), BookModel())
                yield ("mutated", self.mutated(frame)) if roll < 0.9 else ("truncated", self.truncated(frame))


@dataclass
class VenueOrder:
    """One of the user's orders as the fuzz server reports it: its ids, size and side, and the
    totals it has claimed so far (each valid update claims a little more)."""

    order_id: str
    client_order_id: str
    size: D
    filled: D = D(0)
    value: D = D(0)
    fees: D = D(0)


class UserFrameMaker(FrameMaker):
    """Frames of the authenticated `user` channel about `orders`: valid ones move an order's
    fills forward (never past its size) or change its status; bad ones are made as for the
    market channels (mutated, truncated)."""

    def __init__(self, orders: list[VenueOrder], seed: int = FUZZ_SEED) -> None:
        super().__init__("user", seed)
        self.orders = orders

    def valid(self, sequence_num: int, model: BookModel) -> str:
        rng = self.rng
        order = rng.choice(self.orders)
        step = min(order.size - order.filled, order.size * D(rng.randrange(0, 30)) / 100)
        order.filled += step
        order.value += step * (D(100) + D(rng.randrange(0, 100)) / 100)
        order.fees += step * D("0.6")
        status = "FILLED" if order.filled == order.size else rng.choice(("OPEN", "OPEN", "PENDING", "CANCEL_QUEUED"))
        update = {
            "order_id": order.order_id,
            "client_order_id": order.client_order_id,
            "status": status,
            "product_id": "BTC-USD",
            "cumulative_quantity": f"{order.filled:f}",
            "avg_price": f"{order.value / order.filled:f}" if order.filled else "0",
            "filled_value": f"{order.value:f}",
            "total_fees": f"{order.fees:f}",
        }
        events = [{"type": "update", "orders": [update]}]
        return json.dumps({"channel": "user", "timestamp": STAMP, "sequence_num": sequence_num, "events": events})


def user_snapshot(sequence_num: int) -> str:
    """The user channel's first frame: no open orders yet."""
    events = [{"type": "snapshot", "orders": []}]
    return json.dumps({"channel": "user", "timestamp": STAMP, "sequence_num": sequence_num, "events": events})
