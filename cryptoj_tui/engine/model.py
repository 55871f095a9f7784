"""Value types shared by every engine layer.

Money is exact: prices and sizes are `Decimal`, never float.
"""

from __future__ import annotations

import enum
import re
from decimal import Decimal

PRODUCT_ID_PATTERN = re.compile(r"^[A-Z0-9]{2,10}-[A-Z0-9]{2,10}$")


class Side(enum.StrEnum):
    """Which side of the book a level or an order is on."""

    BID = "bid"
    ASK = "ask"


class ConnectionState(enum.StrEnum):
    """Where a venue connection is in its life."""

    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    CLOSED = "closed"


def check_product_id(product_id: str) -> str:
    """Return `product_id` if it has the BASE-QUOTE form (e.g. BTC-USD), else raise ValueError."""
    if not isinstance(product_id, str) or not PRODUCT_ID_PATTERN.match(product_id):
        raise ValueError(f"product id {product_id!r} is not of the form BASE-QUOTE, e.g. BTC-USD")
    return product_id


Level = tuple[Decimal, Decimal]
"""One price level: (price, size)."""
