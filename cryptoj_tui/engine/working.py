"""The working orders, with what they leave on each product and side kept current as they change.

Every pre-trade check needs the number of working orders and the size still working on the new
order's side. Summing those over the working orders made each check cost O(working orders): a
quoting session runs into thousands, and the check is on the path of every order. Here they are
running totals, moved by `update(order)`, which Execution calls after every change to an order.
"""

from __future__ import annotations

from decimal import Decimal

from cryptoj_tui.engine.orders import Order, OrderSide

ZERO = Decimal(0)


class WorkingOrders:
    """Orders that can still trade, by client order id, with per product and side leaves totals."""

    def __init__(self) -> None:
        self._orders: dict[str, Order] = {}
        self._counted: dict[str, tuple[tuple[str, OrderSide], Decimal]] = {}
        """What each working order adds to the totals, as of its last update."""
        self._leaves: dict[tuple[str, OrderSide], Decimal] = {}

    def update(self, order: Order) -> None:
        """Take the order as it is now: counted if working, dropped if not."""
        client_id = order.client_order_id
        previous = self._counted.pop(client_id, None)
        if previous is not None:
            key, leaves = previous
            remaining = self._leaves[key] - leaves
            if remaining:
                self._leaves[key] = remaining
            else:
                del self._leaves[key]
        if order.status.is_working:
            key, leaves = (order.product_id, order.side), order.leaves
            self._orders[client_id] = order
            self._counted[client_id] = (key, leaves)
            self._leaves[key] = self._leaves.get(key, ZERO) + leaves
        else:
            self._orders.pop(client_id, None)

    def __len__(self) -> int:
        return len(self._orders)

    def leaves(self, product_id: str, side: OrderSide) -> Decimal:
        """The size still working on this product and side."""
        return self._leaves.get((product_id, side), ZERO)

    def products(self) -> set[str]:
        """Every product with size working."""
        return {product_id for product_id, _ in self._leaves}

    def orders(self, product_id: str | None = None, side: OrderSide | None = None) -> list[Order]:
        """The working orders, optionally of one product and side, oldest first."""
        return [
            o
            for o in self._orders.values()
            if (product_id is None or o.product_id == product_id) and (side is None or o.side is side)
        ]

    def is_consistent(self) -> bool:
        """Whether the totals equal a fresh count (for tests: an order changed behind update's back
        would break this)."""
        fresh: dict[tuple[str, OrderSide], Decimal] = {}
        for order in self._orders.values():
            if not order.status.is_working:
                return False
            key = (order.product_id, order.side)
            fresh[key] = fresh.get(key, ZERO) + order.leaves
        return fresh == {k: v for k, v in self._leaves.items() if v}
