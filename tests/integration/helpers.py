"""Small helpers the integration scenarios share (fixtures live in tests/conftest.py)."""

from __future__ import annotations

from decimal import Decimal as D

from cryptoj_tui.engine import Engine
from cryptoj_tui.sim.venue import PaperVenue


def venue_order(venue: PaperVenue, order_id: str):  # noqa: ANN201 - the venue's own record
    """The venue's own record of one order."""
    return venue.exchange.orders[order_id]


def best(engine: Engine, product_id: str = "BTC-USD") -> tuple[D, D]:
    """(best bid, best ask) of the engine's live book."""
    book = engine.book(product_id)
    bid, ask = book.best_bid(), book.best_ask()
    assert bid is not None and ask is not None
    return bid[0], ask[0]


def assert_position_matches_venue_fills(trader: Engine, venue: PaperVenue, order_ids: list[str],
                                        product_id: str = "BTC-USD") -> None:
    """The engine's position is exactly what the venue's fills of `order_ids` add up to."""
    fills = [f for order_id in order_ids for f in venue_order(venue, order_id).fills]
    position = trader.positions()[product_id]
    assert position.quantity == sum(f.size * (1 if f.side == "BUY" else -1) for f in fills)
    assert position.cost == sum(f.price * f.size * (1 if f.side == "BUY" else -1) for f in fills)
    assert position.fees == sum(f.commission for f in fills)
