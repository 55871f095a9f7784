"""What the engine needs from a venue adapter."""

from __future__ import annotations

from typing import Protocol

from cryptoj_tui.engine.adapters.connection import ConnectionMetrics, WebSocketConnection
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import ConnectionStatus
from cryptoj_tui.engine.market_data import MarketData
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

    async def unsubscribe(self, product_ids: list[str]) -> None:
        """Stop asking for these products (now and after reconnects)."""
        ...

    async def close(self) -> None:
        """Disconnect for good."""
        ...


class ConnectionOwner:
    """Something that keeps one venue WebSocket: its state and counters, read-only."""

    _connection: WebSocketConnection

    @property
    def state(self) -> ConnectionState:
        """Where the underlying connection is."""
        return self._connection.state

    @property
    def metrics(self) -> ConnectionMetrics:
        """The connection's counters."""
        return self._connection.metrics


class ConnectedFeed(ConnectionOwner):
    """What every WebSocket market data feed shares: its connection's state and counters, and
    the rule that books die with the connection they came from."""

    url: str
    _market_data: MarketData
    _bus: EventBus

    def _on_state(self, state: ConnectionState, attempt: int, reason: str) -> None:
        if state is not ConnectionState.CONNECTED:
            # Whatever arrives after a reconnect starts from a fresh snapshot.
            self._market_data.reset_all(f"connection {state}: {reason}")
        self._bus.publish(ConnectionStatus(url=self.url, state=state, attempt=attempt, reason=reason))
