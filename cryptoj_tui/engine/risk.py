"""Pre-trade risk: every order is checked before it is sent, and every refusal says why.

Sans-I/O. The checks need a view of the market and the account (`RiskContext`), which the
engine assembles; the trading state (ACTIVE, REDUCING, HALTED) lives here and only changes
through `set_state`, so every change is journalled and published with its reason.
"""

from __future__ import annotations

import dataclasses
import enum
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Any

from cryptoj_tui.engine.model import check_product_id
from cryptoj_tui.engine.orders import OrderRequest, OrderSide

HUNDRED = Decimal(100)


class TradingState(enum.StrEnum):
    """What the engine may do."""

    ACTIVE = "ACTIVE"
    REDUCING = "REDUCING"
    """Only orders that make a position smaller."""
    HALTED = "HALTED"
    """Nothing new; stays so across restarts until a person re-arms."""


PRODUCT_LIMITS = ("max_order_size", "max_position")
"""The limits a product may set for itself, in its own base units (`[risk.products."ETH-USD"]`)."""


@dataclass(frozen=True)
class ProductLimits:
    """One product's own limits in its base units; None leaves the account's."""

    max_order_size: Decimal | None = None
    max_position: Decimal | None = None

    def __post_init__(self) -> None:
        for name in PRODUCT_LIMITS:
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, _positive(name, value))


def _positive(name: str, value: object) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"risk limit {name}: {value!r} is not a number")
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        raise ValueError(f"risk limit {name}: {value!r} is not a number") from None
    if not number.is_finite() or number <= 0:
        raise ValueError(f"risk limit {name} must be a positive number, got {value}")
    return number


@dataclass(frozen=True)
class RiskLimits:
    """The limits, in base units, quote currency, percent and counts. Frozen: change with `replace`.

    Sizes in base units are the account's defaults; a product's own (`products`) win for it, so
    10 BTC and 10 of a coin worth a cent need not be the same limit. `max_gross_notional` bounds
    the whole account in quote currency, each quote currency on its own.
    """

    max_order_size: Decimal = Decimal("5")
    max_order_notional: Decimal = Decimal("250000")
    price_collar_pct: Decimal = Decimal("5")
    """A limit price further than this from mid is a fat finger."""
    max_position: Decimal = Decimal("10")
    """Largest absolute position per product, counting working orders on the same side."""
    max_open_orders: int = 500
    max_orders_per_second: int = 50
    fee_estimate_bps: Decimal = Decimal("60")
    """Taker fee assumed when checking that a buy can be paid for."""
    daily_loss_limit: Decimal = Decimal("10000")
    """Halt when PnL falls this far below the day's start."""
    max_drawdown: Decimal = Decimal("20000")
    """Halt when PnL falls this far below its peak."""
    stale_halt_after: float = 15.0
    """Halt when a product with working orders has had no book update for this long (s)."""
    reject_storm: int = 10
    """Halt after this many rejects or venue errors within `storm_window` seconds."""
    storm_window: float = 10.0
    max_gross_notional: Decimal = Decimal("1000000")
    """Largest exposure of the account in one quote currency: every position and working order
    of the products quoted in it, at mid, with the new order at its price."""
    products: tuple[tuple[str, ProductLimits], ...] = ()
    """Products' own limits, (product id, limits), sorted by product id."""

    def __post_init__(self) -> None:
        for product_id, own in self.products:
            check_product_id(product_id)
            if not isinstance(own, ProductLimits):
                raise ValueError(f"risk limits of {product_id}: expected ProductLimits, got {own!r}")
        object.__setattr__(self, "products", tuple(sorted(self.products)))
        for f in dataclasses.fields(self):
            if f.name == "products":
                continue
            value = getattr(self, f.name)
            if isinstance(value, str):
                try:
                    value = Decimal(value)
                except ArithmeticError:
                    raise ValueError(f"risk limit {f.name}: {value!r} is not a number") from None
                object.__setattr__(self, f.name, value)
            if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
                raise ValueError(f"risk limit {f.name}: {value!r} is not a number")
            if (isinstance(value, Decimal) and not value.is_finite()) or value <= 0:
                raise ValueError(f"risk limit {f.name} must be a positive number, got {value}")

    def for_product(self, product_id: str) -> ProductLimits:
        """`product_id`'s own limits (all None when it has none)."""
        return dict(self.products).get(product_id, NO_PRODUCT_LIMITS)

    def max_order_size_of(self, product_id: str) -> Decimal:
        """The max order size that applies to `product_id` (its own, else the account's)."""
        return self.for_product(product_id).max_order_size or self.max_order_size

    def max_position_of(self, product_id: str) -> Decimal:
        """The max position that applies to `product_id` (its own, else the account's)."""
        return self.for_product(product_id).max_position or self.max_position

    def replace(self, name: str, value: object, product_id: str | None = None) -> RiskLimits:
        """A copy with one limit changed, the account's or (`product_id`) one product's own
        (ValueError names a bad name, product or value)."""
        if product_id is not None:
            check_product_id(product_id)
            if name not in PRODUCT_LIMITS:
                raise ValueError(f"a product has its own {' and '.join(PRODUCT_LIMITS)} only, not {name!r}")
            change: dict[str, Any] = {name: value}  # checked by ProductLimits.__post_init__
            own = dataclasses.replace(self.for_product(product_id), **change)
            others = tuple((p, limits) for p, limits in self.products if p != product_id)
            return dataclasses.replace(self, products=(*others, (product_id, own)))
        names = [f.name for f in dataclasses.fields(self) if f.name != "products"]
        if name not in names:
            raise ValueError(f"unknown risk limit {name!r}; known: {', '.join(names)}")
        current = getattr(self, name)
        try:
            typed: Decimal | float | int = (
                type(current)(str(value)) if not isinstance(current, int) else int(str(value))
            )
        except (ArithmeticError, ValueError):
            raise ValueError(f"risk limit {name}: {value!r} is not a number") from None
        changes: dict[str, Any] = {name: typed}  # checked again by __post_init__
        return dataclasses.replace(self, **changes)


NO_PRODUCT_LIMITS = ProductLimits()


@dataclass(frozen=True)
class RiskContext:
    """What the checks need to know about the market and the account for one order."""

    mid: Decimal | None
    position: Decimal
    """Signed base position of the product."""
    working_same_side: Decimal
    """Leaves of working orders of the product on the order's side."""
    open_orders: int
    available_base: Decimal
    available_quote: Decimal
    rules: ProductRules | None = None
    """The venue's increments and size bounds for the product (None: unknown, not checked)."""
    gross_notional: Decimal = Decimal(0)
    """The account's exposure in the order's quote currency before it (see RiskLimits)."""


@dataclass(frozen=True)
class ProductRules:
    """What the venue accepts for one product (from GET /products)."""

    price_increment: Decimal
    base_increment: Decimal
    base_min_size: Decimal
    base_max_size: Decimal
    min_notional: Decimal = Decimal(0)
    """The least an order may be worth in the quote currency (Coinbase's quote_min_size, Binance's
    NOTIONAL or MIN_NOTIONAL filter); 0: none."""
    quote_increment: Decimal = Decimal(0)
    """The step of an amount of the quote currency (a market order sized in it); 0: unknown."""
    quote_sized_sells: bool = True
    """Whether a market sell may be sized in the quote currency (Binance's may, Coinbase's not)."""


@dataclass(frozen=True)
class CheckResult:
    """Which checks passed, and the first refusal if any (the order ticket shows both)."""

    passed: tuple[str, ...]
    refusal: str | None

    @property
    def ok(self) -> bool:
        """True when the order may be sent."""
        return self.refusal is None


class RiskManager:
    """Holds the limits and the trading state; checks orders."""

    def __init__(
        self,
        limits: RiskLimits,
        *,
        state: TradingState = TradingState.ACTIVE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limits = limits
        self.state = state
        self.state_reason = ""
        self._clock = clock
        self._recent: deque[float] = deque()

    def set_state(self, state: TradingState, reason: str) -> TradingState:
        """Change the trading state at once; returns the previous one."""
        previous = self.state
        self.state, self.state_reason = state, reason
        return previous

    def check(self, request: OrderRequest, context: RiskContext) -> CheckResult:
        """Run every check in order; the first failure is the refusal."""
        passed: list[str] = []
        for name, check in self._checks():
            refusal = check(request, context)
            if refusal is not None:
                return CheckResult(tuple(passed), refusal)
            passed.append(name)
        return CheckResult(tuple(passed), None)

    def orders_last_second(self) -> int:
        """Orders counted against the rate throttle in the last second."""
        now = self._clock()
        return sum(1 for t in self._recent if now - t <= 1.0)

    def record_sent(self) -> None:
        """Count an order against the rate throttle."""
        self._recent.append(self._clock())

    def _checks(self) -> list[tuple[str, Callable[[OrderRequest, RiskContext], str | None]]]:
        return [
            ("trading state", self._check_state),
            ("increments", self._check_increments),
            ("order size", self._check_size),
            ("price collar", self._check_collar),
            ("notional", self._check_notional),
            ("position", self._check_position),
            ("gross notional", self._check_gross_notional),
            ("open orders", self._check_open_orders),
            ("order rate", self._check_rate),
            ("balance", self._check_balance),
        ]

    def _check_state(self, request: OrderRequest, context: RiskContext) -> str | None:
        if self.state is TradingState.HALTED:
            return f"trading is HALTED ({self.state_reason}); re-arm first"
        if self.state is TradingState.REDUCING and request.in_quote:
            # What it sells or buys in base is known only once it has: it could pass zero.
            return "trading is REDUCING: size the order in the base currency, so that it cannot overshoot"
        if self.state is TradingState.REDUCING and not self._reduces(request, context):
            return (
                f"trading is REDUCING: only orders that shrink the position are allowed "
                f"(position {context.position:f}, order {request.side} {request.size_text})"
            )
        return None

    @staticmethod
    def _base_size(request: OrderRequest, context: RiskContext) -> Decimal | None:
        """The order's base size; for one sized in the quote currency, at mid (None: no mid)."""
        if not request.in_quote:
            return request.size
        return None if context.mid is None else request.base_size_at(context.mid)

    def _reduces(self, request: OrderRequest, context: RiskContext) -> bool:
        """Whether the order can only make the position smaller (an estimate at mid for one sized
        in the quote currency)."""
        size = self._base_size(request, context)
        return size is not None and context.position * request.side.sign < 0 and size <= abs(context.position)

    def _check_increments(self, request: OrderRequest, context: RiskContext) -> str | None:
        rules = context.rules
        if rules is None:
            return None
        # A remainder is exact only while the quotient fits the context's precision: a request's
        # numbers are under 10^15 with at most 18 places, so 40 more digits cover any increment
        # a venue gives down to 10^-25 (Decimal's default 28 raised InvalidOperation for 1e30).
        with localcontext() as exact:
            exact.prec = 80
            try:
                return self._increments(request, rules) or self._notional_floor(request, rules, context.mid)
            except ArithmeticError:  # an increment finer than any venue's (its rules are not trusted blindly)
                return (
                    f"size {request.size_text} cannot be checked against the venue's increments "
                    f"({rules.base_increment}, {rules.price_increment})"
                )

    def _increments(self, request: OrderRequest, rules: ProductRules) -> str | None:
        if request.in_quote:
            if request.side is OrderSide.SELL and not rules.quote_sized_sells:
                return "the venue sizes a market sell in the base currency only"
            # The venue bounds the base size such an order comes to; here only its amount is known.
            if rules.quote_increment and request.size % rules.quote_increment:
                return f"size {request.size_text} is not a multiple of the quote increment {rules.quote_increment:f}"
            return None
        if request.size % rules.base_increment:
            return f"size {request.size:f} is not a multiple of the base increment {rules.base_increment:f}"
        if not rules.base_min_size <= request.size <= rules.base_max_size:
            return f"size {request.size:f} is outside the venue's {rules.base_min_size:f}..{rules.base_max_size:f}"
        prices = (
            ("price", request.price),
            ("stop price", request.stop_price),
            ("take-profit", request.take_profit),
            ("stop-loss", request.stop_loss),
        )
        for name, price in prices:
            if price is not None and price % rules.price_increment:
                return f"{name} {price:f} is not a multiple of the price increment {rules.price_increment:f}"
        return None

    def _notional_floor(self, request: OrderRequest, rules: ProductRules, mid: Decimal | None) -> str | None:
        price = request.price if request.price is not None else mid  # a market order: at mid
        if not rules.min_notional:
            return None
        worth = request.notional if request.in_quote else None if price is None else request.size * price
        if worth is None:
            return None
        if worth < rules.min_notional:
            return f"worth {worth:f} is under the venue's minimum order value {rules.min_notional:f}"
        return None

    def _check_size(self, request: OrderRequest, context: RiskContext) -> str | None:
        limit = self.limits.max_order_size_of(request.product_id)
        size = self._base_size(request, context)
        if size is None:
            return f"no market price for {request.product_id} (book not live): cannot size the order in base"
        if size > limit:
            about = f" (about {size:.8f} at mid)" if request.in_quote else ""
            return (
                f"size {request.size_text}{about} is over the max order size "
                f"{limit:f}{self._own(request, 'max_order_size')}"
            )
        return None

    def _own(self, request: OrderRequest, name: str) -> str:
        """ " of BTC-USD" where the limit is the product's own."""
        return f" of {request.product_id}" if getattr(self.limits.for_product(request.product_id), name) else ""

    def _check_collar(self, request: OrderRequest, context: RiskContext) -> str | None:
        if context.mid is None:
            return f"no market price for {request.product_id} (book not live): cannot check the order"
        if request.price is None:
            return None
        deviation = abs(request.price - context.mid) / context.mid * HUNDRED
        # A passive price far away is harmless; only an aggressive one is a fat finger.
        aggressive = (request.price > context.mid) if request.side is OrderSide.BUY else (request.price < context.mid)
        if aggressive and deviation > self.limits.price_collar_pct:
            return (
                f"price {request.price:f} is {deviation:.2f}% through mid {context.mid:f} "
                f"(collar {self.limits.price_collar_pct:f}%)"
            )
        return None

    def _check_notional(self, request: OrderRequest, context: RiskContext) -> str | None:
        notional = self._notional(request, context)
        if notional > self.limits.max_order_notional:
            return f"notional {notional:.2f} is over the max order notional {self.limits.max_order_notional:f}"
        return None

    def _check_position(self, request: OrderRequest, context: RiskContext) -> str | None:
        sign = request.side.sign
        worst = context.position + sign * (context.working_same_side + self._sized(request, context))
        limit = self.limits.max_position_of(request.product_id)
        if abs(worst) > limit and abs(worst) > abs(context.position):
            return (
                f"position would reach {worst:f} (with working orders), over the max position "
                f"{limit:f}{self._own(request, 'max_position')}"
            )
        return None

    def _check_gross_notional(self, request: OrderRequest, context: RiskContext) -> str | None:
        if self._reduces(request, context):
            return None  # it makes the exposure smaller
        gross = context.gross_notional + self._notional(request, context)
        if gross > self.limits.max_gross_notional:
            return (
                f"gross notional would reach {gross:.2f} {request.quote_currency} "
                "(positions and working orders at mid), "
                f"over the max gross notional {self.limits.max_gross_notional:f}"
            )
        return None

    def _check_open_orders(self, request: OrderRequest, context: RiskContext) -> str | None:
        if context.open_orders >= self.limits.max_open_orders:
            return f"{context.open_orders} orders already open, the max is {self.limits.max_open_orders}"
        return None

    def _check_rate(self, request: OrderRequest, context: RiskContext) -> str | None:
        now = self._clock()
        while self._recent and now - self._recent[0] > 1.0:
            self._recent.popleft()
        if len(self._recent) >= self.limits.max_orders_per_second:
            return f"order rate over {self.limits.max_orders_per_second} a second; slow down"
        return None

    def _check_balance(self, request: OrderRequest, context: RiskContext) -> str | None:
        if request.side is OrderSide.SELL:
            size = self._sized(request, context)
            if size > context.available_base:
                return f"sell {request.size_text} but only {context.available_base:f} available"
            return None
        if request.in_quote:  # the venue spends no more than the amount, its fee included
            if request.size > context.available_quote:
                return f"buy {request.size_text} but only {context.available_quote:f} is available"
            return None
        cost = request.size * self._price(request, context) * (1 + self.limits.fee_estimate_bps / 10_000)
        if cost > context.available_quote:
            return f"buy costs about {cost:.2f} with fees but only {context.available_quote:f} is available"
        return None

    def _sized(self, request: OrderRequest, context: RiskContext) -> Decimal:
        """The base size, once the size check has made sure it can be known."""
        size = self._base_size(request, context)
        assert size is not None  # _check_size refuses an order whose base size is not known first
        return size

    def _notional(self, request: OrderRequest, context: RiskContext) -> Decimal:
        """What the order is worth in the quote currency (a market order sized in base: at mid)."""
        notional = request.notional
        return notional if notional is not None else request.size * self._price(request, context)

    @staticmethod
    def _price(request: OrderRequest, context: RiskContext) -> Decimal:
        if request.price is not None:
            return request.price
        assert context.mid is not None  # the collar check refuses orders without a mid first
        return context.mid
