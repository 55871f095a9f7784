"""Small helpers the integration scenarios share (fixtures live in tests/conftest.py)."""

from __future__ import annotations

import asyncio
import os
import sys
from decimal import Decimal as D

from cryptoj_tui.engine import Engine
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import key_owner


def venue_order(venue: PaperVenue, order_id: str):
    """The venue's own record of one order (by the engine's id of it, on either protocol)."""
    _, _, number = order_id.partition(":")
    if number.isdigit() and venue.binance is not None:  # Binance's: SYMBOL:orderId
        order = venue.binance.order_by_number(int(number))
        assert order is not None, f"the venue has no Binance order {order_id}"
        return order
    return venue.exchange.orders[order_id]


def owner(engine: Engine) -> str:
    """Who the venue's records name as the owner of `engine`'s orders (its API key's name)."""
    assert engine.config.key is not None
    return key_owner(engine.config.key)


async def drop_connections(venue: PaperVenue) -> None:
    """Fault: cut every WebSocket of both protocols without a close handshake."""
    await venue.drop_connections()


def best(engine: Engine, product_id: str = "BTC-USD") -> tuple[D, D]:
    """(best bid, best ask) of the engine's live book."""
    book = engine.book(product_id)
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None and ask is not None
    return bid[0], ask[0]


def assert_position_matches_venue_fills(
    trader: Engine, venue: PaperVenue, order_ids: list[str], product_id: str = "BTC-USD"
) -> None:
    """The engine's position is exactly what the venue's fills of `order_ids` add up to."""
    fills = [f for order_id in order_ids for f in venue_order(venue, order_id).fills]
    position = trader.positions()[product_id]
    assert position.quantity == sum(f.size * (1 if f.side == "BUY" else -1) for f in fills)
    assert position.cost == sum(f.price * f.size * (1 if f.side == "BUY" else -1) for f in fills)
    assert position.fees == sum(f.commission for f in fills)


async def start_sim(
    *args: str, env: dict[str, str] | None = None, until: str = "websocket"
) -> tuple[asyncio.subprocess.Process, dict[str, str]]:
    """Start `cryptoj sim`; return it and the `name: value` lines it printed up to `until`."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cryptoj_tui",
        "sim",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    assert process.stdout is not None
    printed: dict[str, str] = {}
    async with asyncio.timeout(20):
        while line := (await process.stdout.readline()).decode():
            name, _, value = line.partition(": ")
            printed[name] = value.strip()
            if name == until:
                return process, printed
    raise AssertionError(f"cryptoj sim printed no {until}; stderr: {(await process.stderr.read()).decode()}")  # type: ignore[union-attr]
