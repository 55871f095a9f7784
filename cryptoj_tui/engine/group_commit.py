"""Order intents: written before their orders are sent, flushed to the disk together just after.

An intent is in the journal's WAL file before its order is sent, so it survives the engine
dying at any point. Surviving a power cut takes an fsync, and on a VM's disk that is 0.25-0.4 ms:
a third of a loopback round trip to the venue, on every order. So by default one fsync, on a
worker thread, covers every intent written within `window` seconds of the first (a group
commit, as databases do): no order waits for the disk on its way out, and a basket of a hundred
orders costs one fsync, not a hundred.

What a power cut can take back is the intents of the last `window` (plus one fsync). Their
orders may be at the venue; the next start finds them open there and tracks them
(Trading.recover), so the kill switch still cancels them. One that filled completely in that
moment is no longer open: its trade is in the balances the engine reads from the venue, not in
the positions it builds from fills. `window = 0` fsyncs each intent before its order is sent.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from cryptoj_tui.engine.journal import Journal, JournalError
from cryptoj_tui.engine.orders import Order

INTENT_SYNC_WINDOW = 0.002
"""Seconds an intent may wait for its fsync (the default): enough for its order to be on the wire
first (it leaves within a loop turn or two), and so a power cut can take back at most 2 ms of them."""


class GroupCommit:
    """Writes order intents into the journal and has them fsynced, alone or in groups."""

    def __init__(self, journal: Journal, window: float, on_failure: Callable[[str], None]) -> None:
        if not window >= 0:
            raise ValueError(f"intent_sync_window must be 0 or more seconds, got {window}")
        self._journal = journal
        self._window = window
        self._on_failure = on_failure
        """Told why an fsync failed (the owner halts trading: intents may not be durable)."""
        self._timer: asyncio.TimerHandle | None = None
        self._syncing: set[asyncio.Future[None]] = set()

    def record_intent(self, order: Order) -> None:
        """Write `order`'s intent (JournalError: nothing written, so nothing may be sent)."""
        if self._window == 0:
            self._journal.record_intent(order, durable=True)
            return
        self._journal.record_intent(order)
        if self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self._window, self._sync)

    def sync_soon(self) -> None:
        """Fsync whatever is written now, on a worker thread (the trading state after a halt:
        durable within a disk flush, while the kill switch's cancels are already on their way)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        try:
            asyncio.get_running_loop()
        except RuntimeError:  # no loop running: here and now
            try:
                self._journal.sync()
            except JournalError as exc:
                self._on_failure(str(exc))
            return
        self._sync()

    def _sync(self) -> None:
        self._timer = None
        syncing = asyncio.ensure_future(asyncio.to_thread(self._journal.sync))
        self._syncing.add(syncing)
        syncing.add_done_callback(self._synced)

    def _synced(self, syncing: asyncio.Future[None]) -> None:
        self._syncing.discard(syncing)
        if not syncing.cancelled() and syncing.exception() is not None:
            self._on_failure(str(syncing.exception()))

    async def flush(self) -> None:
        """Fsync now whatever is written and not yet durable (the engine stopping)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        await asyncio.gather(*self._syncing, return_exceptions=True)  # their failures are reported
        try:
            await asyncio.to_thread(self._journal.sync)
        except JournalError as exc:
            self._on_failure(str(exc))


ORDER_STATE_DELAY = 0.01
"""Seconds an order's new state waits to be journalled, with every other change made meanwhile."""


class OrderStateWriter:
    """Journals order state changes behind the work that made them: every order changed within
    ORDER_STATE_DELAY of the first change is written once, as it is then, in one transaction.

    The state of an order after its ack, a fill or a cancel is the venue's to tell, and
    recovery asks the venue again on every start: a change written a loop turn later loses
    nothing the venue does not still know. Written one by one, each was a commit of its own on
    the way to the caller: a tenth of an order's submit -> ack, and two hundred of them in a
    kill switch before and after its cancels. Written at the end of the loop turn, the kill
    switch's two hundred went to the disk before its cancels went to the venue (aiohttp writes
    a request a few turns after it is made): the delay lets the requests leave first.
    """

    def __init__(self, journal: Journal, on_failure: Callable[[str], None]) -> None:
        self._journal = journal
        self._on_failure = on_failure
        """Told why a write failed (the owner halts trading: nothing more can be journalled)."""
        self._changed: dict[str, Order] = {}
        self._pending: asyncio.TimerHandle | None = None

    def changed(self, order: Order) -> None:
        """`order` changed: journal its state (as it is then) shortly."""
        self._changed[order.client_order_id] = order
        if self._pending is not None:
            return
        try:
            self._pending = asyncio.get_running_loop().call_later(ORDER_STATE_DELAY, self.flush)
        except RuntimeError:  # no loop running (a script driving the engine's parts by hand)
            self.flush()

    def flush(self) -> None:
        """Write every pending change now (the engine stopping, or the delay over)."""
        if self._pending is not None:
            self._pending.cancel()
            self._pending = None
        if not self._changed:
            return
        orders = list(self._changed.values())
        self._changed.clear()
        try:
            self._journal.record_orders(orders)
        except JournalError as exc:
            self._on_failure(str(exc))
