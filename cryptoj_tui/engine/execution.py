"""Order management: sending orders, cancelling them, and keeping every Order true to the venue.

Every order gets a fresh `client_order_id` and is journalled before it is sent (group_commit.py
says when it is fsynced). The REST answer and the user channel both drive its state machine,
whichever comes first. An order whose placement got no answer is resolved by asking the venue
(never by guessing): if the venue has it, it is tracked; if not, it failed, and a late arrival is
still taken in, with an alert. An open order the venue reports that the engine did not place
(another program with the same key, or an intent lost to a power cut) is tracked from then on.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import Any

from cryptoj_tui.engine.adapters.base import CancelOutcome, ExecutionClient, VenueError, VenueOrder
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import Alert, OrderFilled, OrderUpdated, Reconciled
from cryptoj_tui.engine.group_commit import INTENT_SYNC_WINDOW, GroupCommit, OrderStateWriter
from cryptoj_tui.engine.journal import Journal, JournalError
from cryptoj_tui.engine.orders import (
    VENUE_FINAL_STATUSES,
    Fill,
    Order,
    OrderError,
    OrderRequest,
    OrderSide,
    OrderStatus,
    VenueFill,
    VenueOrderUpdate,
    new_client_order_id,
)
from cryptoj_tui.engine.working import WorkingOrders

log = logging.getLogger(__name__)


class EditUnsupported(OrderError):
    """The venue does not edit this order in place: cancel and replace it instead."""


REQUEST_WRITE_TURNS = 3
"""Loop turns a REST request takes to be written after it is made (aiohttp writes it two turns
after; see Execution.cancel)."""


class Execution:
    """Owns every order the engine placed and talks to the venue about them."""

    def __init__(
        self,
        client: ExecutionClient,
        bus: EventBus,
        journal: Journal,
        *,
        on_fill: Callable[[Fill], None] = lambda fill: None,
        on_problem: Callable[[str, str], None] = lambda kind, message: None,
        on_unknown_order: Callable[[str], None] = lambda order_id: None,
        intent_sync_window: float = INTENT_SYNC_WINDOW,
        client_order_ids: Callable[[], str] = new_client_order_id,
    ) -> None:
        self._client = client
        self._new_client_order_id = client_order_ids
        self._bus = bus
        self._journal = journal
        self._on_fill = on_fill
        self._on_problem = on_problem
        """Told ("reject" | "error" | "journal", message) of every refusal, venue failure and journal
        failure: storms halt, and so does a journal that cannot be written."""
        self._on_unknown_order = on_unknown_order
        """Told the venue id of an open order the venue reports and the engine does not know (the
        owner runs `take_in` for it)."""
        self.intents = GroupCommit(journal, intent_sync_window, lambda why: self._on_problem("journal", why))
        self.order_states = OrderStateWriter(journal, self._journal_failed)
        self.orders: dict[str, Order] = {}
        """Every order by client_order_id."""
        self.working_orders = WorkingOrders()
        """The working orders and their running totals (what each pre-trade check reads)."""
        self._by_venue_id: dict[str, str] = {}
        self._contested: set[str] = set()
        """Orders open at the venue that the journal has as finished (reported once, not tracked)."""
        self._unconfirmed: dict[str, Order] = {}
        """Orders finished here on the venue's cancel ack, whose end the venue has not told yet.
        A fill just before the cancel can be told after its ack, or lost with a user channel that
        dropped: until the venue's own word on the order comes (the user channel, or a read at a
        reconciliation), its totals are not final."""
        self._waiters: list[tuple[Callable[[], bool], asyncio.Future[None]]] = []
        self.round_trips: list[float] = []
        """Seconds from send to ack of recent orders (the status bar shows the last)."""

    # -- views ---------------------------------------------------------------------------

    def working(self, product_id: str | None = None, side: OrderSide | None = None) -> list[Order]:
        """Orders that can still trade, optionally of one product and side."""
        return self.working_orders.orders(product_id, side)

    def _track(self, order: Order) -> None:
        self.orders[order.client_order_id] = order
        self.working_orders.update(order)

    def adopt(self, order: Order) -> None:
        """Track an order known from the journal or found at the venue."""
        self._track(order)
        if order.order_id:
            self._by_venue_id[order.order_id] = order.client_order_id

    def knows(self, client_order_id: str, order_id: str) -> bool:
        """Whether the engine tracks this order (by either id), or has reported it as contested."""
        return client_order_id in self.orders or order_id in self._by_venue_id or client_order_id in self._contested

    async def take_in(self, order_id: str) -> Order | None:
        """Read the venue's open order `order_id`, which the engine does not know, and track it
        (see `take_in_venue_order`); a venue that cannot say is reported. The order, if taken in."""
        try:
            venue_order = await self._client.order(order_id)
        except VenueError as exc:
            self.report("unknown_open_order", "", order_id, f"open at the venue, unknown here, cannot be read: {exc}")
            return None
        return self.take_in_venue_order(venue_order)

    def take_in_venue_order(self, venue_order: VenueOrder) -> Order | None:
        """Track an order open at the venue that the engine does not know: placed by another
        program with this key, or one whose intent a power cut took back (group_commit.py). It
        is journalled, published and reported, and from then on it is an order like ours: the
        kill switch cancels it. One that cannot be read or journalled is reported, not tracked."""
        client_id, order_id = venue_order.client_order_id, venue_order.order_id
        if not venue_order.is_open or self.knows(client_id, order_id):
            return None
        try:
            if client_id and self._journal.has_order(client_id):  # the two disagree: reported, not taken in
                self._contested.add(client_id)
                self.report(
                    "unknown_open_order",
                    client_id,
                    order_id,
                    f"open at the venue, journalled as finished: {venue_order.product_id}",
                )
                return None
            update, request = venue_order.update, venue_order.request
            if update is None or request is None:
                self._untrackable(
                    venue_order, venue_order.update_problem if update is None else venue_order.request_problem
                )
                return None
            order = Order(client_order_id=client_id or f"venue-{order_id}", request=request)
            self._journal.record_intent(order)
        except JournalError as exc:
            self._untrackable(venue_order, str(exc))
            return None
        self._track(order)
        self._by_venue_id[order_id] = order.client_order_id
        self.on_venue_update(update)
        request = order.request
        entry = self.orders.get(self._by_venue_id.get(venue_order.originating_order_id, ""))
        if entry is not None:  # the bracket our entry carried, placed by the venue as the entry filled
            self._alert(
                "info",
                f"bracket of {entry.client_order_id[:8]} working: {request.side} {request.size_text} "
                f"{request.product_id}, take-profit {request.price}, stop {request.stop_price}",
            )
            return order
        self.report(
            "unknown_open_order",
            order.client_order_id,
            order_id,
            (
                f"open at the venue, unknown here: now tracked ({request.type} {request.side} {request.size_text} "
                f"{request.product_id}{'' if request.price is None else f' @ {request.price}'})"
            ),
        )
        return order

    def _untrackable(self, venue_order: VenueOrder, why: str) -> None:
        self.report(
            "unknown_open_order",
            venue_order.client_order_id,
            venue_order.order_id,
            f"open at the venue, unknown here, cannot be tracked: {why}",
        )

    # -- placing -------------------------------------------------------------------------

    async def submit(self, request: OrderRequest, base_estimate: Decimal | None = None) -> Order:
        """Journal, send and track one order; returns once the venue answered (or did not).
        `base_estimate`: the base size of an order sized in the quote currency (Order.leaves)."""
        order = Order(client_order_id=self._new_client_order_id(), request=request, base_estimate=base_estimate)
        self.intents.record_intent(order)  # JournalError here: nothing was sent, nothing is tracked
        self._track(order)
        self._publish(order)
        await self._send(order)
        return order

    async def _send(self, order: Order) -> None:
        loop = asyncio.get_running_loop()
        sent = loop.time()
        try:
            placed = await self._client.place(order.client_order_id, order.request)
        except VenueError as exc:
            if order.order_id:
                return  # the user channel told us the venue has it while REST failed to say so
            if exc.status == 0:
                await self._resolve_unanswered(order, str(exc))
            else:
                rejected = exc.status == 400
                self._refuse(order, OrderStatus.REJECTED if rejected else OrderStatus.FAILED, str(exc))
                self._on_problem("reject" if rejected else "error", str(exc))
            return
        if placed.order_id:
            self.round_trips = [*self.round_trips[-99:], loop.time() - sent]
            self._acknowledge(order, placed.order_id)
        elif placed.refusal:
            self._refuse(order, OrderStatus.REJECTED, placed.refusal)
            self._on_problem("reject", order.reason)
        else:  # an answer that says nothing we can read: the venue may have the order
            await self._resolve_unanswered(order, placed.unreadable or "an empty answer")

    async def _resolve_unanswered(self, order: Order, problem: str) -> None:
        """No answer to the placement: ask the venue whether it has the order."""
        try:
            listed = await self._client.orders([order.product_id])
            found = [o for o in listed if o.client_order_id == order.client_order_id]
        except VenueError as exc:
            if order.order_id:
                return  # meanwhile the user channel reported it
            self._refuse(order, OrderStatus.FAILED, f"{problem}; and the venue could not be asked: {exc}")
            self._on_problem("error", str(exc))
            return
        if not found and not order.order_id:
            self._refuse(order, OrderStatus.FAILED, f"not at the venue after: {problem}")
            self._on_problem("error", problem)
            return
        if found:
            self.read_update(order, found[0])

    def read_update(self, order: Order, venue_order: VenueOrder) -> bool:
        """Apply what the venue read back about `order`; what cannot be read is reported, never raised."""
        if venue_order.update is None:
            self._alert(
                "warning",
                f"the venue's word on order {order.client_order_id} cannot be read: {venue_order.update_problem}",
            )
            return False
        self.on_venue_update(venue_order.update)
        return True

    def _acknowledge(self, order: Order, order_id: str) -> None:
        self._by_venue_id[order_id] = order.client_order_id
        if order.acknowledged(order_id):
            self._changed_order(order)

    def _refuse(self, order: Order, status: OrderStatus, reason: str) -> None:
        if order.refused(status, reason):
            self._changed_order(order)

    def give_up(self, order: Order, reason: str) -> None:
        """Mark an order FAILED (recovery found it journalled but never placed)."""
        self._refuse(order, OrderStatus.FAILED, reason)

    # -- venue updates -------------------------------------------------------------------

    def on_venue_update(self, update: VenueOrderUpdate) -> None:
        """An order update from the user channel or REST; unknown orders are reported, not dropped."""
        client_id = self._by_venue_id.get(update.order_id) or update.client_order_id
        order = self.orders.get(client_id)
        if order is None:
            if update.status in ("OPEN", "PENDING"):
                self._on_unknown_order(update.order_id)
            return
        if order.request.overfilled_by(update.filled_size, update.filled_value) or (
            update.filled_size > order.filled_size and update.filled_value < order.filled_value
        ):  # a fill of more than was asked, or one worth less than nothing: no position takes it
            self._alert(
                "warning",
                f"the venue says order {client_id} filled {update.filled_size:f} for {update.filled_value:f} "
                f"(size {order.request.size_text}, filled {order.filled_size:f} for {order.filled_value:f}): "
                "not applied",
            )
            return
        revived = order.status is OrderStatus.FAILED and not order.order_id
        if revived:  # we had given it up for lost; the venue's word wins
            order.status = OrderStatus.PENDING_NEW
            self._alert("warning", f"order {order.client_order_id} reached the venue after it was given up")
        if update.order_id:
            self._by_venue_id[update.order_id] = client_id
        changed, fill = order.apply(update)
        if update.status in VENUE_FINAL_STATUSES:
            self._unconfirmed.pop(order.client_order_id, None)
        if fill is not None:
            self._journalled(lambda f: self._journal.record_fill(f, order), fill)
            self._on_fill(fill)
            self._bus.publish(
                OrderFilled(
                    client_order_id=fill.client_order_id,
                    product_id=fill.product_id,
                    side=str(fill.side),
                    size=fill.size,
                    price=fill.price,
                    fee=fill.fee,
                )
            )
        if changed or revived:
            self._changed_order(order)

    async def reconcile(self, reason: str) -> None:
        """Bring every order the engine thinks is working up to date from the venue, and every
        one cancelled here whose end the venue has not told yet."""
        log.info("reconciling orders: %s", reason)
        for order in [*self.working(), *self._unconfirmed.values()]:
            if not order.order_id:
                continue  # its placement is still being answered or resolved
            try:
                venue_order = await self._client.order(order.order_id)
            except VenueError as exc:
                self._alert("warning", f"could not reconcile order {order.client_order_id}: {exc}")
                continue
            before = (order.status, order.filled_size)
            if not self.read_update(order, venue_order):
                continue
            if order.filled_size != before[1]:
                self.report(
                    "missed_fill",
                    order.client_order_id,
                    order.order_id,
                    f"filled {before[1]} -> {order.filled_size} while we were not listening",
                )
            if order.status is not before[0] and order.status.is_final:
                self.report(
                    "order_gone",
                    order.client_order_id,
                    order.order_id,
                    f"{before[0]} here, {order.status} at the venue",
                )

    async def fills(self, order: Order) -> list[VenueFill]:
        """The venue's fills of `order` (as it lists them: newest first), with maker or taker
        (VenueError if it cannot say; an entry that cannot be read is left out, reported)."""
        if not order.order_id:
            return []
        fills, problems = await self._client.fills(order.order_id)
        for problem in problems:
            self._alert("warning", f"a fill of order {order.client_order_id} cannot be read: {problem}")
        return fills

    # -- editing -------------------------------------------------------------------------

    async def edit(self, order: Order, request: OrderRequest) -> None:
        """Have the venue edit `order` in place to `request`'s price and (total) size.

        Raises EditUnsupported when the venue cannot edit this order (the caller may cancel and
        replace instead), and OrderError when it refused the edit or its outcome cannot be
        learnt; either way the order is as the venue has it. A refusal that says the order
        already is as asked is a retried edit whose first answer was lost: done. An edit that
        got no answer is settled by reading the order back from the venue, never by guessing.
        """
        if not order.order_id or not order.status.is_working:
            raise OrderError(f"order {order.client_order_id} is {order.status}: it cannot be edited")
        try:
            outcome = await self._client.edit(order.order_id, request)
        except VenueError as exc:
            if exc.status == 404 or 400 <= exc.status < 500:
                raise  # no edit call at this venue, or a malformed edit: nothing was done
            await self._settle_unanswered_edit(order, request, exc)
            return
        if not outcome.done:
            if outcome.unsupported:
                raise EditUnsupported(f"the venue cannot edit order {order.client_order_id}: {outcome.reason}")
            raise OrderError(
                f"edit of {order.client_order_id} refused by the venue: {outcome.reason or 'no reason given'}"
            )
        self._edited(order, request)

    async def _settle_unanswered_edit(self, order: Order, request: OrderRequest, problem: VenueError) -> None:
        try:
            read = await self._client.order(order.order_id)
            now, unreadable = read.request, read.request_problem
        except VenueError as exc:
            now, unreadable = None, str(exc)
        if now is None:
            raise OrderError(
                f"edit of {order.client_order_id} got no answer ({problem}) and the order could not be read back"
                f" ({unreadable}): its price and size at the venue are not known"
            )
        if (now.price, now.size) == (request.price, request.size):
            self._edited(order, request)
            return
        raise OrderError(f"edit of {order.client_order_id} not made ({problem}): the order is as it was")

    def _edited(self, order: Order, request: OrderRequest) -> None:
        if order.status.is_final:  # it finished while the edit was on its way: nothing left to show
            return
        order.edited(request)
        self._journalled(self._journal.record_edit, order)
        self._publish(order)

    # -- cancelling ----------------------------------------------------------------------

    async def cancel(
        self, orders: Iterable[Order], *, meanwhile: Callable[[], None] | None = None, everything: bool = False
    ) -> tuple[list[Order], list[tuple[Order, str]]]:
        """Cancel orders (in parallel batches); returns (cancelled, [(order, why not)]).

        `everything` (the kill switch: `orders` are all that work) lets a venue that cancels every
        open order of a product in one call do so, a call per product, instead of one per order.

        An order that filled or expired before the cancel reached it is in neither list: it is
        done, and its final state says how. `meanwhile` runs once, as soon as the cancels are
        on their way, or before waiting for unacknowledged orders' acks, or when there is
        nothing to cancel.
        """
        targets = [o for o in orders if o.status.is_working]
        unacked = [o for o in targets if not o.order_id]
        if unacked:  # wait for their answers: an order cannot be cancelled before it exists
            if meanwhile is not None:
                meanwhile()
                meanwhile = None
            await self.wait_until(lambda: all(o.order_id or o.status.is_final for o in unacked), timeout=10)
        targets = [o for o in targets if o.order_id and o.status.is_working]
        if not targets:
            if meanwhile is not None:
                meanwhile()
            return [], []
        sending: dict[asyncio.Future[list[CancelOutcome]], list[Order]]
        if everything and self._client.cancels_by_product:
            by_product: dict[str, list[Order]] = {}
            for order in targets:
                by_product.setdefault(order.product_id, []).append(order)
            sending = {asyncio.ensure_future(self._client.cancel_product(p)): batch for p, batch in by_product.items()}
        else:
            size = self._client.max_cancel_batch
            batches = [targets[i : i + size] for i in range(0, len(targets), size)]
            sending = {
                asyncio.ensure_future(self._client.cancel([o.order_id for o in batch])): batch for batch in batches
            }
        # The requests leave first: marking two hundred orders PENDING_CANCEL, and telling each,
        # took a millisecond that a kill switch's cancels used to wait for. aiohttp writes a
        # request a couple of loop turns after it is made (a turn is microseconds here).
        for _ in range(REQUEST_WRITE_TURNS):
            await asyncio.sleep(0)
        if meanwhile is not None:
            meanwhile()
        for order in targets:
            if order.cancel_requested():
                self._changed_order(order)
        cancelled: list[Order] = []
        failed: list[tuple[Order, str]] = []
        pending = set(sending)
        try:
            while pending:  # each batch's answer taken in as it comes, while the others are on their way
                done, pending = await asyncio.wait(pending, return_when=asyncio.FIRST_COMPLETED)
                for request in done:
                    self._take_cancel_results(sending[request], request, cancelled, failed)
        finally:
            for request in pending:  # the caller gave up (its orders' ends still come on the user channel)
                request.cancel()
        return cancelled, failed

    def _take_cancel_results(
        self,
        batch: list[Order],
        request: asyncio.Future[list[CancelOutcome]],
        cancelled: list[Order],
        failed: list[tuple[Order, str]],
    ) -> None:
        exc = request.exception()
        if exc is not None:
            if not isinstance(exc, VenueError):
                raise exc
            for order in batch:
                order.cancel_refused()
                self._changed_order(order)
            failed.extend((o, str(exc)) for o in batch)
            return
        by_id = {outcome.order_id: outcome for outcome in request.result()}
        for order in batch:
            result = by_id.get(order.order_id) or CancelOutcome(order.order_id, False, "no result from the venue")
            if order.status.is_final:  # the user channel told us its end meanwhile (and it was published)
                if order.status is OrderStatus.CANCELLED:
                    cancelled.append(order)
                continue
            if result.cancelled:
                order.apply(
                    VenueOrderUpdate(
                        order.order_id,
                        order.client_order_id,
                        "CANCELLED",
                        order.filled_size,
                        order.filled_value,
                        order.fees,
                    )
                )
                self._unconfirmed[order.client_order_id] = order
                cancelled.append(order)
            else:
                order.cancel_refused()
                failed.append((order, result.reason or "refused"))
            self._changed_order(order)

    # -- waiting and telling -------------------------------------------------------------

    async def wait_until(self, predicate: Callable[[], bool], timeout: float) -> bool:
        """Wait until `predicate()` holds after some order change; False on timeout."""
        if predicate():
            return True
        waiter = (predicate, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(timeout):
                await waiter[1]
            return True
        except TimeoutError:
            return False
        finally:
            if waiter in self._waiters:
                self._waiters.remove(waiter)

    def _changed_order(self, order: Order) -> None:
        self.order_states.changed(order)
        self._publish(order)

    def _journal_failed(self, why: str) -> None:
        log.error("%s", why)
        self._on_problem("journal", why)

    def _journalled(self, write: Callable[[Any], None], item: Any) -> None:
        # What the venue did has happened whether or not the disk takes it: keep the state in
        # memory, and let the owner halt trading, since nothing new can be journalled.
        try:
            write(item)
        except JournalError as exc:
            self._journal_failed(str(exc))

    def _publish(self, order: Order) -> None:
        # Every change to an order passes here, so the running totals move with it.
        self.working_orders.update(order)
        self._bus.publish(
            OrderUpdated(client_order_id=order.client_order_id, status=str(order.status), order=order.snapshot())
        )
        for predicate, future in list(self._waiters):
            if not future.done() and predicate():
                future.set_result(None)

    def _alert(self, severity: str, message: str) -> None:
        self._journalled(lambda text: self._journal.record_event(f"alert.{severity}", text), message)
        self._bus.publish(Alert(severity=severity, message=message))

    def report(self, kind: str, client_order_id: str, order_id: str, detail: str) -> None:
        """Journal and publish one difference between what we knew and what the venue says."""
        self._journalled(
            lambda text: self._journal.record_event(f"reconcile.{kind}", text),
            f"{client_order_id} {order_id}: {detail}",
        )
        self._bus.publish(Reconciled(kind=kind, client_order_id=client_order_id, order_id=order_id, detail=detail))
