"""The event bus: never blocks the publisher, coalesces state, keeps records in order."""

from __future__ import annotations

import asyncio

from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import BookUpdated, FeedError, Heartbeat


async def test_records_arrive_in_order_and_state_events_coalesce_per_key() -> None:
    bus = EventBus()
    events = bus.subscribe()
    bus.publish(FeedError(where="a", message="1"))
    for n in range(100):
        bus.publish(BookUpdated(product_id="BTC-USD", sequence_num=n))
        bus.publish(BookUpdated(product_id="ETH-USD", sequence_num=n))
    bus.publish(FeedError(where="b", message="2"))
    received = [events.get_nowait() for _ in range(4)]
    assert received == [
        FeedError(where="a", message="1"),
        BookUpdated(product_id="BTC-USD", sequence_num=99),
        BookUpdated(product_id="ETH-USD", sequence_num=99),
        FeedError(where="b", message="2"),
    ]
    assert events.get_nowait() is None


async def test_a_subscriber_that_falls_far_behind_loses_the_oldest_and_counts_them() -> None:
    bus = EventBus()
    events = bus.subscribe(max_pending=3)
    for n in range(5):
        bus.publish(FeedError(where="x", message=str(n)))
    assert events.dropped == 2
    assert [events.get_nowait().message for _ in range(3)] == ["2", "3", "4"]  # type: ignore[union-attr]


async def test_each_subscription_gets_every_event_and_close_ends_iteration() -> None:
    bus = EventBus()
    first, second = bus.subscribe(), bus.subscribe()
    bus.publish(Heartbeat(url="u", counter=1))
    assert await first.get() == Heartbeat(url="u", counter=1)
    second.close()
    bus.publish(Heartbeat(url="u", counter=2))
    assert [e async for e in second] == [Heartbeat(url="u", counter=1)]

    async def read_one() -> object:
        return await first.get()

    waiter = asyncio.create_task(read_one())
    await asyncio.sleep(0)
    bus.publish(FeedError(where="w", message="m"))
    assert await waiter == Heartbeat(url="u", counter=2)
    bus.close()
    assert [e async for e in first] == [FeedError(where="w", message="m")]
