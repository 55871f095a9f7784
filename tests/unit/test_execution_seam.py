"""Execution against an in-memory venue behind the ExecutionClient protocol: the order state
machine, answers that refuse or cannot be read, calls that get no answer, batched cancels and
edits, with no socket and no venue format. What the engine does here is what it does on any
venue whose adapter keeps the protocol."""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from decimal import Decimal as D

import pytest

from cryptoj_tui.engine.adapters.base import (
    CancelOutcome,
    EditOutcome,
    ExecutionClient,
    Placement,
    VenueError,
    VenueOrder,
)
from cryptoj_tui.engine.bus import EventBus, Subscription
from cryptoj_tui.engine.events import Alert, Reconciled
from cryptoj_tui.engine.execution import EditUnsupported, Execution
from cryptoj_tui.engine.journal import Journal
from cryptoj_tui.engine.orders import Order, OrderError, OrderRequest, OrderStatus, VenueFill, VenueOrderUpdate
from cryptoj_tui.engine.portfolio import Balance
from cryptoj_tui.engine.risk import ProductRules

NO_ANSWER = VenueError("POST /orders: no answer after 4 tries (TimeoutError)", call="POST /orders")
BUY = OrderRequest("BTC-USD", "buy", "limit", "0.5", price="100")


class MemoryVenue:
    """A venue in a dict: it keeps what it was sent, answers as a test tells it to, and records
    what the journal held when each order reached it."""

    max_cancel_batch = 2
    cancels_by_product = False

    def __init__(self, journal: Journal) -> None:
        self.journal = journal
        self.kept: dict[str, VenueOrder] = {}
        self.ids = (f"v{n}" for n in itertools.count(1))
        self.answers: list[Placement | VenueError] = []
        """What the next placements get, in turn (then: acknowledged)."""
        self.keep_unanswered = True
        """Whether a placement that gets no answer reached the venue all the same."""
        self.cancel_refused: dict[str, str] = {}
        self.cancel_failure: VenueError | None = None
        self.cancel_calls: list[list[str]] = []
        self.product_cancels: list[str] = []
        self.edit_answer: EditOutcome | VenueError = EditOutcome(done=True)
        self.asking_fails = False
        self.journalled_at_send: list[bool] = []

    async def start(self) -> None:
        pass

    async def close(self) -> None:
        pass

    def _keep(self, client_order_id: str, request: OrderRequest, status: str = "OPEN") -> str:
        order_id = next(self.ids)
        self.kept[order_id] = VenueOrder(
            order_id,
            client_order_id,
            request.product_id,
            status,
            VenueOrderUpdate(order_id, client_order_id, status, D(0), D(0), D(0)),
            request=request,
        )
        return order_id

    async def place(self, client_order_id: str, request: OrderRequest) -> Placement:
        self.journalled_at_send.append(self.journal.has_order(client_order_id))
        answer = self.answers.pop(0) if self.answers else None
        if isinstance(answer, VenueError):
            if self.keep_unanswered:
                self._keep(client_order_id, request)
            raise answer
        if answer is not None and (answer.refusal or answer.unreadable):
            if answer.unreadable and self.keep_unanswered:
                self._keep(client_order_id, request)
            return answer
        return Placement(order_id=self._keep(client_order_id, request))

    async def cancel(self, order_ids: Sequence[str]) -> list[CancelOutcome]:
        assert len(order_ids) <= self.max_cancel_batch
        self.cancel_calls.append(list(order_ids))
        if self.cancel_failure is not None:
            raise self.cancel_failure
        outcomes = []
        for order_id in order_ids:
            if order_id == "lost":
                continue  # the answer leaves it out
            if order_id in self.cancel_refused:
                outcomes.append(CancelOutcome(order_id, False, self.cancel_refused[order_id]))
            else:
                self.set_state(order_id, "CANCELLED")
                outcomes.append(CancelOutcome(order_id, True))
        return outcomes

    async def cancel_product(self, product_id: str) -> list[CancelOutcome]:
        assert self.cancels_by_product, "asked to cancel a product on a venue that cannot"
        self.product_cancels.append(product_id)
        outcomes = []
        for order_id, kept in self.kept.items():
            if kept.product_id == product_id and kept.status == "OPEN":
                self.set_state(order_id, "CANCELLED")
                outcomes.append(CancelOutcome(order_id, True))
        return outcomes

    async def edit(self, order_id: str, request: OrderRequest) -> EditOutcome:
        if isinstance(self.edit_answer, VenueError):
            raise self.edit_answer
        if self.edit_answer.done:
            kept = self.kept[order_id]
            self.kept[order_id] = VenueOrder(
                order_id, kept.client_order_id, kept.product_id, kept.status, kept.update, request=request
            )
        return self.edit_answer

    async def order(self, order_id: str) -> VenueOrder:
        if self.asking_fails:
            raise VenueError(f"GET /orders/historical/{order_id}: HTTP 503", status=503)
        return self.kept[order_id]

    async def orders(self, product_ids: Sequence[str] = ()) -> list[VenueOrder]:
        if self.asking_fails:
            raise VenueError("GET /orders/historical/batch: HTTP 503", status=503)
        return list(self.kept.values())

    async def fills(self, order_id: str) -> tuple[list[VenueFill], list[str]]:
        return [VenueFill("t1", D("100"), D("0.1"), D("0.01"), "MAKER")], ["KeyError('trade_id')"]

    async def balances(self) -> tuple[list[Balance], list[str]]:
        return [], []

    async def products(self) -> tuple[dict[str, ProductRules], list[str]]:
        return {}, []

    def set_state(self, order_id: str, status: str, filled: str = "0", value: str = "0") -> None:
        kept = self.kept[order_id]
        update = VenueOrderUpdate(order_id, kept.client_order_id, status, D(filled), D(value), D(0))
        self.kept[order_id] = VenueOrder(
            order_id, kept.client_order_id, kept.product_id, status, update, request=kept.request
        )


@pytest.fixture
def venue() -> MemoryVenue:
    return MemoryVenue(Journal(":memory:"))


@pytest.fixture
def problems() -> list[tuple[str, str]]:
    return []


@pytest.fixture
def execution(venue: MemoryVenue, problems: list[tuple[str, str]]) -> Execution:
    client: ExecutionClient = venue  # a stand-in for the venue behind the protocol, not for our code
    return Execution(client, EventBus(), venue.journal, on_problem=lambda kind, why: problems.append((kind, why)))


def alerts(events: Subscription) -> list[str]:
    return [e.message for e in iter(events.get_nowait, None) if isinstance(e, Alert)]


async def test_an_order_is_journalled_before_it_reaches_the_venue_and_open_once_acknowledged(
    execution: Execution, venue: MemoryVenue
) -> None:
    order = await execution.submit(BUY)
    assert venue.journalled_at_send == [True]
    assert order.status is OrderStatus.OPEN and order.order_id == "v1" and execution.working() == [order]
    assert execution.round_trips and execution.round_trips[-1] >= 0


async def test_a_refusal_rejects_the_order_with_the_venues_words(
    execution: Execution, venue: MemoryVenue, problems: list[tuple[str, str]]
) -> None:
    venue.answers = [Placement(refusal="INSUFFICIENT_FUND: not enough USD")]
    order = await execution.submit(BUY)
    assert order.status is OrderStatus.REJECTED and order.reason == "INSUFFICIENT_FUND: not enough USD"
    assert problems == [("reject", "INSUFFICIENT_FUND: not enough USD")] and execution.working() == []


async def test_a_placement_without_an_answer_is_settled_by_asking_the_venue(
    execution: Execution, venue: MemoryVenue
) -> None:
    venue.answers = [NO_ANSWER]  # the venue took it; only the answer was lost
    order = await execution.submit(BUY)
    assert order.status is OrderStatus.OPEN and order.order_id == "v1"


async def test_a_placement_the_venue_never_got_fails_and_one_it_cannot_be_asked_about_too(
    execution: Execution, venue: MemoryVenue, problems: list[tuple[str, str]]
) -> None:
    venue.keep_unanswered = False
    venue.answers = [NO_ANSWER, NO_ANSWER]
    lost = await execution.submit(BUY)
    assert lost.status is OrderStatus.FAILED and lost.reason == f"not at the venue after: {NO_ANSWER}"
    venue.asking_fails = True
    unknown = await execution.submit(BUY)
    assert unknown.status is OrderStatus.FAILED and "and the venue could not be asked: GET" in unknown.reason
    assert [kind for kind, _ in problems] == ["error", "error"]


async def test_an_answer_that_cannot_be_read_is_settled_by_asking_too(execution: Execution, venue: MemoryVenue) -> None:
    venue.answers = [Placement(unreadable="an answer that is not this venue's: 'OK'")]
    order = await execution.submit(BUY)
    assert order.status is OrderStatus.OPEN and order.order_id == "v1"


async def test_cancels_go_in_batches_and_each_order_gets_its_own_answer(
    execution: Execution, venue: MemoryVenue
) -> None:
    orders = [await execution.submit(BUY) for _ in range(5)]
    venue.cancel_refused["v2"] = "UNKNOWN_CANCEL_ORDER"
    orders[4].order_id = "lost"  # its result is missing from the answer
    cancelled, failed = await execution.cancel(orders)
    assert [len(call) for call in venue.cancel_calls] == [2, 2, 1]
    assert sorted(o.order_id for o in cancelled) == ["v1", "v3", "v4"]  # each batch's as it is answered
    assert sorted((o.order_id, why) for o, why in failed) == [
        ("lost", "no result from the venue"),
        ("v2", "UNKNOWN_CANCEL_ORDER"),
    ]
    assert [o.status for o in orders] == [
        OrderStatus.CANCELLED,
        OrderStatus.OPEN,
        OrderStatus.CANCELLED,
        OrderStatus.CANCELLED,
        OrderStatus.OPEN,
    ]


async def test_cancelling_everything_takes_a_call_per_product_where_the_venue_has_one(
    execution: Execution, venue: MemoryVenue
) -> None:
    """The kill switch's cancel on a venue that cancels a product's open orders in one call (Binance's
    DELETE openOrders): one call per product, each order its own answer; an order the venue no
    longer had open (filled meanwhile) is not counted cancelled. Elsewhere, by id."""
    eth = OrderRequest("ETH-USD", "buy", "limit", "1", price="10")
    orders = [await execution.submit(BUY) for _ in range(3)] + [await execution.submit(eth)]
    venue.set_state(orders[2].order_id, "FILLED")
    cancelled, _ = await execution.cancel(orders, everything=True)
    assert venue.product_cancels == [] and len(venue.cancel_calls) == 2  # by id: this venue cannot
    venue.cancels_by_product = True
    venue.cancel_calls.clear()
    orders = [await execution.submit(BUY) for _ in range(3)] + [await execution.submit(eth)]
    venue.set_state(orders[2].order_id, "FILLED")
    cancelled, failed = await execution.cancel(orders, everything=True)
    assert sorted(venue.product_cancels) == ["BTC-USD", "ETH-USD"] and venue.cancel_calls == []
    assert sorted(o.order_id for o in cancelled) == sorted(orders[n].order_id for n in (0, 1, 3))
    assert [(o, why) for o, why in failed] == [(orders[2], "no result from the venue")]
    cancelled, _ = await execution.cancel([await execution.submit(BUY)])
    assert len(venue.cancel_calls) == 1  # a cancel of chosen orders goes by id on every venue


async def test_a_cancel_call_that_fails_leaves_its_orders_working_with_the_reason(
    execution: Execution, venue: MemoryVenue
) -> None:
    order = await execution.submit(BUY)
    venue.cancel_failure = VenueError("POST /orders/batch_cancel: HTTP 500", status=500)
    cancelled, failed = await execution.cancel([order])
    assert cancelled == [] and failed == [(order, "POST /orders/batch_cancel: HTTP 500")]
    assert order.status is OrderStatus.OPEN


async def test_edits_done_refused_unsupported_and_unanswered(execution: Execution, venue: MemoryVenue) -> None:
    order = await execution.submit(BUY)
    cheaper = OrderRequest("BTC-USD", "buy", "limit", "0.5", price="99")
    await execution.edit(order, cheaper)
    assert order.request == cheaper and order.edits == 1
    venue.edit_answer = EditOutcome(done=False, reason="ONLY_LIMIT_ORDER_EDITS_SUPPORTED", unsupported=True)
    with pytest.raises(EditUnsupported, match="cannot edit order"):
        await execution.edit(order, BUY)
    venue.edit_answer = EditOutcome(done=False, reason="INVALID_PRICE")
    with pytest.raises(OrderError, match="refused by the venue: INVALID_PRICE"):
        await execution.edit(order, BUY)
    venue.edit_answer = VenueError("POST /orders/edit: no answer", status=0)  # and it was not made
    with pytest.raises(OrderError, match=r"not made .* the order is as it was"):
        await execution.edit(order, BUY)
    assert order.request == cheaper
    venue.kept["v1"] = VenueOrder(
        "v1", order.client_order_id, "BTC-USD", "OPEN", venue.kept["v1"].update, request=BUY
    )  # this time it was made, only the answer was lost
    await execution.edit(order, BUY)
    assert order.request == BUY and order.edits == 2


async def test_reconciling_takes_the_venues_word_and_reports_what_changed_while_away(
    execution: Execution, venue: MemoryVenue
) -> None:
    events = execution._bus.subscribe()
    order = await execution.submit(BUY)
    venue.set_state("v1", "FILLED", filled="0.5", value="50")
    await execution.reconcile("test")
    assert order.status is OrderStatus.FILLED and order.filled_size == D("0.5")
    kinds = [e.kind for e in iter(events.get_nowait, None) if isinstance(e, Reconciled)]
    assert kinds == ["missed_fill", "order_gone"]


async def test_a_venue_order_whose_state_cannot_be_read_is_reported_not_applied(
    execution: Execution, venue: MemoryVenue
) -> None:
    order = await execution.submit(BUY)
    events = execution._bus.subscribe()
    venue.kept["v1"] = VenueOrder("v1", order.client_order_id, "BTC-USD", "OPEN", None, "no 'status' field")
    await execution.reconcile("test")
    assert order.status is OrderStatus.OPEN
    assert alerts(events) == [f"the venue's word on order {order.client_order_id} cannot be read: no 'status' field"]


async def test_fills_come_with_a_line_for_each_that_cannot_be_read(execution: Execution) -> None:
    order = await execution.submit(BUY)
    events = execution._bus.subscribe()
    assert [f.trade_id for f in await execution.fills(order)] == ["t1"]
    assert alerts(events) == [f"a fill of order {order.client_order_id} cannot be read: KeyError('trade_id')"]
    assert await execution.fills(Order("c9", BUY)) == []  # not at the venue: nothing to ask
