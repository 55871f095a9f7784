"""Portfolio: balances from the venue, positions from fills, and PnL — exact Decimals throughout.

A position is the signed base quantity traded through this engine (spot: buys add, sells
subtract) with the quote cost of that quantity, from the fills' exact values; the average entry
price is derived, never stored, so no rounding accumulates. Reducing a position realises PnL
against the cost; crossing through zero realises the closed part and opens the rest at the
fill's price. Fees are kept apart and subtracted from PnL. Unrealised PnL marks to the mid.

Inventory is the rest of what the account holds in a product's base currency: the venue's
balance beyond the positions traded here (what it held at start, plus anything moved in or
traded elsewhere since), as of the last balance read. Its cost is unknown, so it is in no PnL,
no limit and no flatten: the kill switch never sells holdings the trader had before.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from cryptoj_tui.engine.orders import Fill

ZERO = Decimal(0)


@dataclass
class Position:
    """One product's position."""

    product_id: str
    quantity: Decimal = ZERO
    """Signed base quantity: positive long, negative short (of what this engine traded)."""
    cost: Decimal = ZERO
    """Signed quote cost of the open quantity (what was paid for a long, received for a short)."""
    realised: Decimal = ZERO
    fees: Decimal = ZERO
    bought: Decimal = ZERO
    sold: Decimal = ZERO

    def apply(self, fill: Fill) -> None:
        """Add one fill."""
        signed = fill.size * fill.side.sign
        self.fees += fill.fee
        if fill.side.sign > 0:
            self.bought += fill.size
        else:
            self.sold += fill.size
        if self.quantity == 0 or (self.quantity > 0) == (signed > 0):
            self.cost += fill.value * fill.side.sign
            self.quantity += signed
            return
        closed = min(abs(signed), abs(self.quantity))
        direction = 1 if self.quantity > 0 else -1
        # The closed part leaves at its share of the fill's value against its share of the cost.
        closed_cost = self.cost * closed / abs(self.quantity)
        closed_value = fill.value * closed / fill.size
        self.realised += direction * closed_value - closed_cost  # a short's cost is negative
        self.cost -= closed_cost
        self.quantity += signed
        if self.quantity == 0:
            self.cost = ZERO
        elif (self.quantity > 0) != (direction > 0):  # went through zero: the rest opens here
            self.cost = (fill.value - closed_value) * fill.side.sign

    @property
    def average_price(self) -> Decimal:
        """Average entry price of the open quantity (0 when flat)."""
        return self.cost / self.quantity if self.quantity else ZERO

    def unrealised(self, mark: Decimal | None) -> Decimal:
        """PnL of the open quantity at `mark` (0 without a mark or when flat)."""
        if mark is None or self.quantity == 0:
            return ZERO
        return self.quantity * mark - self.cost


@dataclass(frozen=True)
class Balance:
    """One currency's account at the venue."""

    currency: str
    available: Decimal
    hold: Decimal

    @property
    def total(self) -> Decimal:
        """Available plus held for open orders."""
        return self.available + self.hold


@dataclass
class Portfolio:
    """Every position and balance, PnL and its peak."""

    positions: dict[str, Position] = field(default_factory=dict)
    balances: dict[str, Balance] = field(default_factory=dict)
    peak_pnl: Decimal = ZERO
    day_start_pnl: Decimal = ZERO
    """PnL when the trading day began (the daily loss limit counts from here)."""
    inventory: dict[str, Decimal] = field(default_factory=dict)
    """Currency -> held at the venue beyond the positions traded here in it as base (cost unknown)."""

    def position(self, product_id: str) -> Position:
        """The position of a product (flat if never traded)."""
        position = self.positions.get(product_id)
        if position is None:
            position = self.positions[product_id] = Position(product_id)
        return position

    def quantity(self, product_id: str) -> Decimal:
        """The signed position of a product (0 if never traded)."""
        position = self.positions.get(product_id)
        return ZERO if position is None else position.quantity

    def apply(self, fill: Fill) -> None:
        """Add one fill to its product's position."""
        self.position(fill.product_id).apply(fill)

    def set_balances(self, balances: list[Balance]) -> None:
        """Take the venue's balances (every currency it lists; one it leaves out holds nothing)."""
        self.balances = {balance.currency: balance for balance in balances}
        self._take_inventory()

    def update_balances(self, balances: list[Balance]) -> None:
        """Take the venue's word on some currencies (a stream's, as they change); the others stay."""
        self.balances.update({balance.currency: balance for balance in balances})
        self._take_inventory()

    def _take_inventory(self) -> None:
        traded: dict[str, Decimal] = {}
        for position in self.positions.values():
            base = position.product_id.split("-", 1)[0]
            traded[base] = traded.get(base, ZERO) + position.quantity
        self.inventory = {
            currency: held
            for currency, balance in self.balances.items()
            if (held := balance.total - traded.get(currency, ZERO)) != 0
        }

    def inventory_of(self, product_id: str) -> Decimal:
        """What the account holds of `product_id`'s base currency beyond the positions traded
        here, as of the last balance read (shown on every product of that base)."""
        return self.inventory.get(product_id.split("-", 1)[0], ZERO)

    def available(self, currency: str) -> Decimal:
        """What the venue says can be spent in `currency`."""
        balance = self.balances.get(currency)
        return ZERO if balance is None else balance.available

    def realised(self) -> Decimal:
        """Realised PnL of every product, before fees."""
        return sum((p.realised for p in self.positions.values()), ZERO)

    def fees(self) -> Decimal:
        """Fees paid."""
        return sum((p.fees for p in self.positions.values()), ZERO)

    def unrealised(self, marks: Mapping[str, Decimal | None]) -> Decimal:
        """Unrealised PnL at these marks."""
        return sum((p.unrealised(marks.get(p.product_id)) for p in self.positions.values()), ZERO)

    def pnl(self, marks: Mapping[str, Decimal | None]) -> Decimal:
        """Realised + unrealised - fees; also moves the peak."""
        pnl = self.realised() + self.unrealised(marks) - self.fees()
        if pnl > self.peak_pnl:
            self.peak_pnl = pnl
        return pnl

    def start_day(self, marks: Mapping[str, Decimal | None]) -> None:
        """A new trading day: the daily loss counts from the current PnL."""
        self.day_start_pnl = self.pnl(marks)
