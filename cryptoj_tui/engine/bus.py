"""Publish/subscribe for engine events.

Publishing never blocks and never waits for a subscriber. Each subscriber has its own bounded
mailbox: state events (see `Event.coalesce`) replace their undelivered predecessor in place, so
a slow consumer such as the UI sees the latest book rather than a backlog; records are kept in
order, and if a subscriber falls `max_pending` behind, the oldest are dropped and counted.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import OrderedDict
from collections.abc import AsyncIterator, Hashable

from cryptoj_tui.engine.events import Event


class Subscription(AsyncIterator[Event]):
    """One subscriber's mailbox; iterate it with `async for`."""

    def __init__(self, bus: EventBus, max_pending: int) -> None:
        self._bus = bus
        self._max_pending = max_pending
        self._pending: OrderedDict[Hashable, Event] = OrderedDict()
        self._unique = itertools.count()
        self._wake = asyncio.Event()
        self._closed = False
        self.dropped = 0

    def offer(self, event: Event) -> None:
        """Queue `event` for this subscriber (called by the bus)."""
        coalesce = event.coalesce_key()
        key: Hashable = next(self._unique) if coalesce is None else coalesce
        self._pending[key] = event
        if len(self._pending) > self._max_pending:
            self._pending.popitem(last=False)
            self.dropped += 1
        self._wake.set()

    @property
    def pending(self) -> int:
        """How many events wait to be read."""
        return len(self._pending)

    def get_nowait(self) -> Event | None:
        """The oldest pending event, or None when there is none."""
        if not self._pending:
            return None
        return self._pending.popitem(last=False)[1]

    async def get(self) -> Event:
        """Wait for the next event; raises StopAsyncIteration once closed and drained."""
        while not self._pending:
            if self._closed:
                raise StopAsyncIteration
            self._wake.clear()
            await self._wake.wait()
        return self._pending.popitem(last=False)[1]

    def close(self) -> None:
        """Stop receiving; pending events can still be read."""
        self._closed = True
        self._bus.unsubscribe(self)
        self._wake.set()

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Event:
        return await self.get()


class EventBus:
    """Fan-out of engine events to any number of subscriptions."""

    def __init__(self) -> None:
        self._subscriptions: list[Subscription] = []

    def subscribe(self, max_pending: int = 10_000) -> Subscription:
        """A new mailbox that receives every event published from now on."""
        subscription = Subscription(self, max_pending)
        self._subscriptions.append(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop delivering to `subscription` (idempotent)."""
        if subscription in self._subscriptions:
            self._subscriptions.remove(subscription)

    def publish(self, event: Event) -> None:
        """Deliver `event` to every subscription without waiting."""
        for subscription in self._subscriptions:
            subscription.offer(event)

    def close(self) -> None:
        """Close every subscription so their readers finish."""
        for subscription in list(self._subscriptions):
            subscription.close()
