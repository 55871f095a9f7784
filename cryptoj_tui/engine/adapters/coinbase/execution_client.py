"""Coinbase Advanced Trade behind the engine's ExecutionClient: REST calls in, domain types out."""

from __future__ import annotations

from collections.abc import Sequence

from cryptoj_tui.engine.adapters.base import CancelOutcome, EditOutcome, Placement, VenueError, VenueOrder
from cryptoj_tui.engine.adapters.coinbase import parsing
from cryptoj_tui.engine.adapters.coinbase.rest import MAX_CANCEL_IDS, CoinbaseRest
from cryptoj_tui.engine.orders import OrderError, OrderRequest, VenueFill
from cryptoj_tui.engine.portfolio import Balance
from cryptoj_tui.engine.risk import ProductRules


class CoinbaseExecutionClient:
    """The engine's trading calls on one Coinbase key (see adapters/base.py ExecutionClient)."""

    max_cancel_batch = MAX_CANCEL_IDS
    cancels_by_product = False

    def __init__(self, rest: CoinbaseRest) -> None:
        self.rest = rest

    async def start(self) -> None:
        await self.rest.start()

    async def close(self) -> None:
        await self.rest.close()

    async def place(self, client_order_id: str, request: OrderRequest) -> Placement:
        try:
            configuration = parsing.order_configuration(request)
        except OrderError as exc:  # an order Coinbase cannot take: refused here, nothing sent
            return Placement(refusal=str(exc))
        answer = await self.rest.create_order(
            client_order_id,
            request.product_id,
            str(request.side),
            configuration,
            parsing.attached_configuration(request),
        )
        return parsing.placement(answer)

    async def cancel(self, order_ids: Sequence[str]) -> list[CancelOutcome]:
        return parsing.cancel_outcomes(await self.rest.cancel_batch(order_ids))

    async def cancel_product(self, product_id: str) -> list[CancelOutcome]:
        # Advanced Trade cancels by order id only (batch_cancel): the engine never asks this.
        raise VenueError("Coinbase Advanced Trade has no cancel-all call", call="cancel_product", status=404)

    async def edit(self, order_id: str, request: OrderRequest) -> EditOutcome:
        price = format(request.price, "f") if request.price is not None else ""
        return parsing.edit_outcome(await self.rest.edit_order(order_id, price, format(request.size, "f")))

    async def order(self, order_id: str) -> VenueOrder:
        return parsing.venue_order(await self.rest.get_order(order_id))

    async def orders(self, product_ids: Sequence[str] = ()) -> list[VenueOrder]:
        return [parsing.venue_order(data) for data in await self.rest.list_orders()]

    async def fills(self, order_id: str) -> tuple[list[VenueFill], list[str]]:
        return parsing.venue_fills(await self.rest.list_fills(order_ids=[order_id]))

    async def balances(self) -> tuple[list[Balance], list[str]]:
        return parsing.balances(await self.rest.accounts())

    async def products(self) -> tuple[dict[str, ProductRules], list[str]]:
        return parsing.product_rules(await self.rest.products())
