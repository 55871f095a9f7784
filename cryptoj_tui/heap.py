"""The console's garbage-collection policy: collections between frames, never under an order.

A full collection walks every container object: 25 ms and more on this Python, paid by
whichever frame (or engine thread, holding the GIL) allocates at the wrong moment; under a feed
flood every slow frame had a collection inside it. So once the first book is live the console
takes the older generations' collections over from the allocator (settle_heap) and runs them
itself from a per-frame timer (HeapKeeper).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable

GC_THRESHOLDS = (700, 1_000_000_000, 1_000_000_000)
"""The youngest generation as Python's default (small, frequent, cheap); the other two never by
themselves: the console collects them between frames."""
MIDDLE_COLLECTION_AFTER = 10
"""Young collections before the middle generation is collected (Python's own default)."""
FULL_COLLECTION_SECONDS = 60.0
"""How often the console runs the full collection itself, between frames."""
LONGEST_DEFERRAL = 10
"""A collection waits for the console to be idle at most this many times its interval (a ticket
left open all afternoon does not stop the heap from being collected)."""


def settle_heap() -> None:
    """Take the older generations' collections away from the allocator.

    What exists once the first book is live (modules, widgets, the book) lives for the whole
    session, so it is frozen out of collection; the youngest generation keeps Python's small,
    cheap threshold (larger batches made 5-10 ms pauses); the other two are left to HeapKeeper,
    so cyclic garbage is still freed, on the console's schedule instead of inside a frame.
    Frozen objects are still freed by reference counting when dropped.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


class HeapKeeper:
    """Runs the middle generation's collection as often as Python would, and a full one every
    FULL_COLLECTION_SECONDS, from a timer between frames, but not while `busy()`: an order ticket
    open (the next key may send an order) or the engine thread working on the trader's command.
    A collection holds the GIL the engine thread needs, so one that started as `enter` was
    pressed held the order back by its whole length (1-2 ms for the middle generation, 25 ms for a
    full one). A collection deferred LONGEST_DEFERRAL times its interval runs anyway."""

    def __init__(self, busy: Callable[[], bool], clock: Callable[[], float] = time.monotonic) -> None:
        self._busy = busy
        self._clock = clock
        self._next_full = clock() + FULL_COLLECTION_SECONDS

    def tick(self) -> None:
        """Collect what is due, unless the console is busy (then a later tick)."""
        now = self._clock()
        full_due = now >= self._next_full
        middle_due = gc.get_count()[1] >= MIDDLE_COLLECTION_AFTER
        if not (full_due or middle_due):
            return
        overdue = (
            now >= self._next_full + FULL_COLLECTION_SECONDS * (LONGEST_DEFERRAL - 1)
            or gc.get_count()[1] >= MIDDLE_COLLECTION_AFTER * LONGEST_DEFERRAL
        )
        if self._busy() and not overdue:
            return
        if full_due:
            gc.collect()
            self._next_full = now + FULL_COLLECTION_SECONDS
        else:
            gc.collect(1)
