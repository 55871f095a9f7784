"""What the engine needs from a venue adapter."""

from __future__ import annotations

from typing import Protocol

from cryptoj_tui.engine.adapters.connection import ConnectionMetrics
from cryptoj_tui.engine.model import ConnectionState


class MarketDataFeed(Protocol):
    """A venue's market data stream feeding the engine's `MarketData` service."""

    url: str

    @property
    def state(self) -> ConnectionState:
        """Where the underlying connection is."""
        ...

    @property
    def metrics(self) -> ConnectionMetrics:
        """Frames, bytes, reconnects, gaps, decode errors, last frame time."""
        ...

    def start(self) -> None:
        """Connect in the background."""
        ...

    async def subscribe(self, product_ids: list[str]) -> None:
        """Ask for books of these products (kept across reconnects)."""
        ...

    async def close(self) -> None:
        """Disconnect for good."""
        ...
