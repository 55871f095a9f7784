"""The paper exchange: accounts with holds, orders of every Advanced Trade type, fills, fees.

Sans-I/O: requests in (already-parsed JSON objects), Coinbase-shaped response objects out.
The REST and WebSocket layers only translate; every rule lives here, so it is tested directly.
"""

from __future__ import annotations

import itertools
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import Any

from cryptoj_tui.sim.matching import MatchingBook, OrderRejected, OrderSide, RestingOrder, Trade
from cryptoj_tui.sim.products import ProductSpec, format_decimal

ZERO = Decimal(0)
ONE = Decimal(1)
BPS = Decimal(10_000)
DEFAULT_BALANCES = {"USD": Decimal("100000"), "BTC": Decimal("2"), "ETH": Decimal("20"), "SOL": Decimal("200")}
CONFIGURATIONS = (
    "market_market_ioc",
    "limit_limit_gtc",
    "limit_limit_gtd",
    "limit_limit_fok",
    "sor_limit_ioc",
    "stop_limit_stop_limit_gtc",
    "trigger_bracket_gtc",
)
OPEN_STATUSES = ("PENDING", "OPEN")
CONFIGURATION_KEYS = {
    "market_market_ioc": ("quote_size", "base_size"),
    "limit_limit_gtc": ("base_size", "limit_price", "post_only"),
    "limit_limit_gtd": ("base_size", "limit_price", "end_time", "post_only"),
    "limit_limit_fok": ("base_size", "limit_price"),
    "sor_limit_ioc": ("base_size", "limit_price"),
    "stop_limit_stop_limit_gtc": ("base_size", "limit_price", "stop_price", "stop_direction"),
    "trigger_bracket_gtc": ("base_size", "limit_price", "stop_trigger_price"),
}
"""The documented fields of each order configuration; anything else is ignored."""
ATTACHABLE = ("limit_limit_gtc", "market_market_ioc")
"""Entries that can carry an attached bracket (`attached_order_configuration`)."""
BRACKET_STOP_SLIPPAGE = Decimal("0.05")
"""A triggered bracket's stop becomes a limit order this far beyond its trigger price (lower for
a sell, higher for a buy), as Coinbase's trigger_bracket_gtc does: it fills in a fast market
without selling at any price."""


ORDER_TYPES = {
    "market_market_ioc": "MARKET",
    "stop_limit_stop_limit_gtc": "STOP_LIMIT",
    "trigger_bracket_gtc": "BRACKET",
}
"""The `order_type` each configuration reports (the rest are LIMIT)."""


class InvalidRequest(ValueError):
    """Malformed input: the REST layer answers 400 INVALID_ARGUMENT with this message."""


@dataclass
class Account:
    """One currency balance of one owner."""

    currency: str
    available: Decimal
    hold: Decimal = ZERO


@dataclass
class Fill:
    """One execution of a user's order, as `/orders/historical/fills` lists it."""

    entry_id: str
    trade_id: str
    order_id: str
    trade_time: str
    price: Decimal
    size: Decimal
    commission: Decimal
    product_id: str
    liquidity_indicator: str
    side: OrderSide

    def to_json(self) -> dict[str, Any]:
        """The fill object of the REST API."""
        return {
            "entry_id": self.entry_id,
            "trade_id": self.trade_id,
            "order_id": self.order_id,
            "trade_time": self.trade_time,
            "trade_type": "FILL",
            "price": format_decimal(self.price),
            "size": format_decimal(self.size),
            "commission": format_decimal(self.commission),
            "product_id": self.product_id,
            "sequence_timestamp": self.trade_time,
            "liquidity_indicator": self.liquidity_indicator,
            "size_in_quote": False,
            "user_id": "",
            "side": self.side,
        }


@dataclass
class Order:
    """A user's order and everything the REST and user channel report about it."""

    order_id: str
    client_order_id: str
    owner: str
    product_id: str
    side: OrderSide
    configuration_name: str
    configuration: dict[str, Any]
    order_type: str
    time_in_force: str
    created_time: str
    base_size: Decimal | None = None
    quote_size: Decimal | None = None
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    stop_direction: str = ""
    post_only: bool = False
    end_time: datetime | None = None
    status: str = "PENDING"
    reject_reason: str = ""
    filled_size: Decimal = ZERO
    filled_value: Decimal = ZERO
    total_fees: Decimal = ZERO
    number_of_fills: int = 0
    hold: Decimal = ZERO
    hold_currency: str = ""
    triggered: bool = False
    stop_limit_price: Decimal | None = None
    """A bracket's limit price once its stop triggered (BRACKET_STOP_SLIPPAGE past the trigger)."""
    attached: dict[str, str] | None = None
    """An entry's attached `trigger_bracket_gtc` (limit_price, stop_trigger_price): placed as its
    own order, sized to the entry, when the entry fills."""
    attached_order_id: str = ""
    originating_order_id: str = ""
    last_update: str = ""
    fills: list[Fill] = field(default_factory=list)
    edit_history: list[dict[str, str]] = field(default_factory=list)
    """Each accepted edit: the new `price` and `size` and `replace_accept_timestamp`."""

    @property
    def average_filled_price(self) -> Decimal:
        """Value over size of everything filled so far (0 before the first fill)."""
        return self.filled_value / self.filled_size if self.filled_size else ZERO

    @property
    def leaves(self) -> Decimal:
        """Base size still to fill (for base-sized orders)."""
        return (self.base_size or ZERO) - self.filled_size

    @property
    def working_price(self) -> Decimal | None:
        """The price it rests at: its limit, or a triggered bracket's stop limit."""
        return self.stop_limit_price if self.triggered and self.stop_limit_price is not None else self.limit_price

    @property
    def is_stop(self) -> bool:
        """Whether it waits on a stop trigger (a stop-limit, or a bracket's stop leg)."""
        return self.order_type in ("STOP_LIMIT", "BRACKET")

    def to_json(self) -> dict[str, Any]:
        """The order object of the REST API."""
        completion = (
            self.filled_size / self.base_size * 100 if self.base_size else (100 if self.status == "FILLED" else 0)
        )
        return {
            "order_id": self.order_id,
            "client_order_id": self.client_order_id,
            "product_id": self.product_id,
            "user_id": self.owner,
            "side": self.side,
            "status": self.status,
            "time_in_force": self.time_in_force,
            "order_type": self.order_type,
            "order_configuration": {self.configuration_name: self.configuration},
            "created_time": self.created_time,
            "last_fill_time": self.fills[-1].trade_time if self.fills else None,
            "filled_size": format_decimal(self.filled_size),
            "average_filled_price": format_decimal(self.average_filled_price),
            "filled_value": format_decimal(self.filled_value),
            "total_fees": format_decimal(self.total_fees),
            "completion_percentage": format_decimal(Decimal(completion).quantize(Decimal("0.01"))),
            "number_of_fills": str(self.number_of_fills),
            "outstanding_hold_amount": format_decimal(self.hold),
            "reject_reason": self.reject_reason,
            "post_only": self.post_only,
            "edit_history": list(self.edit_history),
            "product_type": "SPOT",
            "trigger_status": (
                ("STOP_TRIGGERED" if self.triggered else "STOP_PENDING") if self.is_stop else "INVALID_ORDER_TYPE"
            ),
            "originating_order_id": self.originating_order_id,
            "attached_order_id": self.attached_order_id,
            "attached_order_configuration": (
                {"trigger_bracket_gtc": dict(self.attached)} if self.attached is not None else None
            ),
        }


DECIMAL_STRING = re.compile(r"[0-9]+(\.[0-9]+)?", re.ASCII)
"""How Coinbase writes a number: digits, a point, digits. Python's Decimal also reads spaces,
underscores, exponents, signs and other scripts' digits; the venue does not."""
MAX_INTEGER_DIGITS = 15
"""Prices and sizes under 10^15: past every product's bounds, and within exact arithmetic (a size
of 1e20 reached the hold's quantize and answered 500)."""


def _decimal(value: object, name: str) -> Decimal:
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be a decimal string, got {value!r}")
    if not DECIMAL_STRING.fullmatch(value):
        raise InvalidRequest(f'{name} must be a plain decimal string such as "0.001", got {value!r}')
    number = Decimal(value)
    if number <= 0:
        raise InvalidRequest(f"{name} must be a positive number, got {value!r}")
    if number.adjusted() >= MAX_INTEGER_DIGITS:
        raise InvalidRequest(f"{name} {value} is too large: numbers are under 10^{MAX_INTEGER_DIGITS}")
    return number


def _time(value: object, name: str) -> datetime:
    if not isinstance(value, str):
        raise InvalidRequest(f"{name} must be an RFC 3339 time string, got {value!r}")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidRequest(f"{name} is not an RFC 3339 time: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _attached_bracket(value: object, entry: str) -> dict[str, str] | None:
    """An entry's `attached_order_configuration`, read: the bracket's two prices, or None."""
    if value is None:
        return None
    if not isinstance(value, dict) or list(value) != ["trigger_bracket_gtc"]:
        raise InvalidRequest("attached_order_configuration must hold exactly one trigger_bracket_gtc")
    if entry not in ATTACHABLE:
        raise InvalidRequest(f"a bracket attaches to {' or '.join(ATTACHABLE)}, not {entry}")
    bracket = value["trigger_bracket_gtc"]
    if not isinstance(bracket, dict):
        raise InvalidRequest("trigger_bracket_gtc must be an object")
    for name in ("limit_price", "stop_trigger_price"):
        _decimal(bracket.get(name), f"attached {name}")
    return {"limit_price": bracket["limit_price"], "stop_trigger_price": bracket["stop_trigger_price"]}


def _bracket_problem(side: OrderSide, take_profit: Decimal, stop: Decimal, entry: Decimal | None) -> str | None:
    """Why a bracket on `side` (the exit's side) has its prices the wrong way round, or None: a
    sell bracket protects a long, so its stop is below its take-profit (and an entry's price lies
    between the two); a buy bracket is the mirror image."""
    low, high = (stop, take_profit) if side == "SELL" else (take_profit, stop)
    if not low < high:
        return f"stop_trigger_price {stop} must be {'below' if side == 'SELL' else 'above'} limit_price {take_profit}"
    if entry is not None and not low < entry < high:
        return f"the entry's price {entry} must lie between the bracket's {low} and {high}"
    return None


def _opposite(side: OrderSide) -> OrderSide:
    return "SELL" if side == "BUY" else "BUY"


def _attached_problem(entry: Order, price: Decimal | None) -> str | None:
    """Why an entry at `price` cannot carry its attached bracket, or None (none attached too)."""
    if entry.attached is None:
        return None
    take_profit, stop = (Decimal(entry.attached[k]) for k in ("limit_price", "stop_trigger_price"))
    return _bracket_problem(_opposite(entry.side), take_profit, stop, price)


class Exchange:
    """Every user account and order of the paper venue, over the shared matching books."""

    def __init__(
        self,
        books: dict[str, MatchingBook],
        clock: Callable[[], datetime],
        *,
        maker_bps: Decimal = Decimal("40"),
        taker_bps: Decimal = Decimal("60"),
        starting_balances: dict[str, Decimal] | None = None,
    ) -> None:
        self.books = books
        self.clock = clock
        self.maker_rate = maker_bps / BPS
        self.taker_rate = taker_bps / BPS
        self.starting_balances = dict(starting_balances or DEFAULT_BALANCES)
        self.accounts: dict[str, dict[str, Account]] = {}
        self.orders: dict[str, Order] = {}
        self._by_client_id: dict[tuple[str, str], str] = {}
        self._stops: dict[str, list[str]] = {p: [] for p in books}
        self._expiring: dict[str, datetime] = {}
        """Open GTD orders and their end times: expiry checks only these, never the history."""
        self.last_trade: dict[str, Decimal] = {}
        self._entry_ids = itertools.count(1)
        self.trades: list[tuple[str, Trade]] = []
        """Every trade since the last `take_trades`, flow's included (for the public tape)."""
        self.changed_orders: list[Order] = []
        """Orders whose state changed since the last `take_changed_orders` (for the user channel)."""
        self._filled_entries: list[Order] = []
        """Entries filled whose attached bracket is yet to be placed (once their trades are settled)."""

    def restore(self, orders: list[Order], accounts: list[tuple[str, Account]]) -> None:
        """Load a saved paper account: balances, orders, and resting orders back in the books."""
        for owner, account in accounts:
            self.accounts.setdefault(owner, {})[account.currency] = account
        for order in orders:
            self.orders[order.order_id] = order
            self._by_client_id[(order.owner, order.client_order_id)] = order.order_id
            if order.status != "OPEN":
                continue
            if order.end_time is not None:
                self._expiring[order.order_id] = order.end_time
            if order.is_stop and not order.triggered:
                self._stops[order.product_id].append(order.order_id)
            if order.order_type != "STOP_LIMIT" or order.triggered:
                assert order.working_price is not None
                self.books[order.product_id].restore(
                    RestingOrder(order.order_id, order.side, order.working_price, order.leaves, order.owner)
                )
        entry_ids = [int(f.entry_id) for o in orders for f in o.fills]
        self._entry_ids = itertools.count(max(entry_ids, default=0) + 1)

    # -- accounts ------------------------------------------------------------------------

    def account(self, owner: str, currency: str) -> Account:
        """An owner's balance in one currency (created with the starting balance)."""
        accounts = self.accounts.setdefault(owner, {})
        if not accounts:
            for name, amount in self.starting_balances.items():
                accounts[name] = Account(name, amount)
        if currency not in accounts:
            accounts[currency] = Account(currency, ZERO)
        return accounts[currency]

    def owner_accounts(self, owner: str) -> list[Account]:
        """Every balance of an owner, in a stable order."""
        self.account(owner, "USD")
        return sorted(self.accounts[owner].values(), key=lambda a: a.currency)

    # -- orders --------------------------------------------------------------------------

    def create_order(
        self,
        owner: str,
        request: object,
        refusal: Callable[[], str | None] | None = None,
        *,
        quote_sells: bool = False,
    ) -> dict[str, Any]:
        """Handle `POST /orders`; InvalidRequest for malformed input, else a Coinbase response.

        `refusal` (fault injection) is asked only for a well-formed new order; a venue error
        name it returns rejects the order the way a real rejection would. `quote_sells`: a market
        sell may be sized by the quote it raises (Binance's quoteOrderQty; Coinbase sells by
        base_size only).
        """
        order = self._parse(owner, request)
        existing = self._by_client_id.get((owner, order.client_order_id))
        if existing is not None:  # an idempotent retry: create nothing, answer as before
            return self._success(self.orders[existing])
        try:
            injected = refusal() if refusal is not None else None
            if injected is not None:
                raise OrderRejected(injected, f"injected rejection: {injected}")
            if order.side == "SELL" and order.quote_size is not None and not quote_sells:
                raise OrderRejected("INVALID_ORDER_CONFIGURATION", "sell orders need base_size")
            self._place(order)
        except OrderRejected as exc:
            return {
                "success": False,
                "failure_reason": "UNKNOWN_FAILURE_REASON",
                "order_id": "",
                "error_response": {
                    "error": exc.error,
                    "message": str(exc),
                    "error_details": str(exc),
                    "preview_failure_reason": f"PREVIEW_{exc.error}",
                },
                "order_configuration": {order.configuration_name: order.configuration},
            }
        return self._success(order)

    def cancel_orders(self, owner: str, order_ids: list[str]) -> list[dict[str, Any]]:
        """Handle `POST /orders/batch_cancel` (the caller has checked the list's shape)."""
        results = []
        for order_id in order_ids:
            order = self.orders.get(order_id)
            if order is None or order.owner != owner:
                results.append({"success": False, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": order_id})
            elif order.status not in OPEN_STATUSES:
                results.append({"success": False, "failure_reason": "DUPLICATE_CANCEL_REQUEST", "order_id": order_id})
            else:
                self._cancel(order, "CANCELLED")
                results.append(
                    {"success": True, "failure_reason": "UNKNOWN_CANCEL_FAILURE_REASON", "order_id": order_id}
                )
        return results

    def edit_order(self, owner: str, request: object, *, preview: bool = False) -> dict[str, Any]:
        """Handle `POST /orders/edit` (or `/orders/edit_preview`): a new price and/or size for a
        resting GTC limit order, with Coinbase's rules. A size decrease at the same price keeps
        the order's place in its queue; any other edit sends it to the back (at its new price,
        where it may trade at once unless post-only). `size` is the order's new total size."""
        order, price, size = self._parse_edit(owner, request)
        failure = self._edit_failure(order, price, size)
        if order is None or order.limit_price is None or order.base_size is None:
            return _edit_answer(preview, failure, {})
        new_price = price if price is not None else order.limit_price
        new_size = size if size is not None else order.base_size
        leaves = new_size - order.filled_size
        needed = leaves if order.side == "SELL" else leaves * new_price * (ONE + self.taker_rate)
        book = self.books[order.product_id]
        if failure is None and order.post_only:
            best = book.best_ask() if order.side == "BUY" else book.best_bid()
            if best is not None and (new_price >= best if order.side == "BUY" else new_price <= best):
                failure = ("", "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY")
        account = self.account(order.owner, order.hold_currency)
        if failure is None and needed - order.hold > account.available:
            failure = ("", "PREVIEW_INSUFFICIENT_FUND")
        if preview or failure is not None:
            return _edit_answer(preview, failure, self._edit_costs(order, new_price, new_size))
        account.available -= needed - order.hold
        account.hold += needed - order.hold
        order.hold = needed
        keeps_place = new_price == order.limit_price and new_size < order.base_size
        order.limit_price, order.base_size = new_price, new_size
        order.configuration["limit_price"] = format_decimal(new_price)
        order.configuration["base_size"] = format_decimal(new_size)
        order.edit_history.append(
            {
                "price": format_decimal(new_price),
                "size": format_decimal(new_size),
                "replace_accept_timestamp": self._now_text(),
            }
        )
        self._changed(order)
        if keeps_place:
            book.reduce(order.order_id, leaves)
        else:
            book.cancel(order.order_id)
            self._execute(order)
        return _edit_answer(False, None, {})

    def preview_order(self, owner: str, request: object) -> dict[str, Any]:
        """Handle `POST /orders/preview`: what placing the order would cost, or why it would
        fail; nothing is placed and no funds are held."""
        if isinstance(request, dict) and "client_order_id" not in request:
            request = {**request, "client_order_id": "preview"}
        order = self._parse(owner, request)
        book = self.books[order.product_id]
        errors: list[str] = []
        try:
            self._check_size(order, book.spec)
            cost = self._preview_cost(order)
        except OrderRejected as exc:
            errors.append(f"PREVIEW_{exc.error}")
            cost = ZERO
        fee = cost * self.taker_rate
        available = self.account(owner, book.spec.quote_currency if order.side == "BUY" else book.spec.base_currency)
        spend = cost + fee if order.side == "BUY" else order.base_size or ZERO
        if not errors and spend > available.available:
            errors.append("PREVIEW_INSUFFICIENT_FUND")
        bid, ask = book.best_bid(), book.best_ask()
        return {
            "order_total": format_decimal(cost + fee if order.side == "BUY" else cost - fee),
            "commission_total": format_decimal(fee),
            "errs": errors,
            "warning": [],
            "quote_size": format_decimal(cost),
            "base_size": format_decimal(order.base_size or ZERO),
            "best_bid": format_decimal(bid) if bid is not None else "",
            "best_ask": format_decimal(ask) if ask is not None else "",
            "is_max": False,
            "slippage": "0",
            "preview_id": str(uuid.uuid4()),
        }

    def order_by_client_id(self, owner: str, client_order_id: str) -> Order | None:
        """The owner's order placed under `client_order_id`, if any."""
        order_id = self._by_client_id.get((owner, client_order_id))
        return self.orders[order_id] if order_id is not None else None

    def owner_orders(self, owner: str) -> list[Order]:
        """An owner's orders, newest first."""
        return [o for o in reversed(self.orders.values()) if o.owner == owner]

    def settle(self, product_id: str, trades: list[Trade]) -> None:
        """Account for trades the synthetic flow made (they may hit users' resting orders)."""
        self._apply_trades(product_id, trades, taker=None)
        self._after_trades(product_id)

    def expire(self) -> None:
        """Expire GTD orders whose end time has passed."""
        if not self._expiring:
            return
        now = self.clock()
        for order_id, end_time in list(self._expiring.items()):
            order = self.orders[order_id]
            if order.status != "OPEN":
                del self._expiring[order_id]
            elif end_time <= now:
                self._cancel(order, "EXPIRED")

    def take_trades(self) -> list[tuple[str, Trade]]:
        """(product id, trade) since the last call, in order."""
        trades, self.trades = self.trades, []
        return trades

    def take_changed_orders(self) -> list[Order]:
        """Orders that changed since the last call, each once, in order of change."""
        seen: dict[str, Order] = {}
        for order in self.changed_orders:
            seen[order.order_id] = order
        self.changed_orders = []
        return list(seen.values())

    # -- internals -----------------------------------------------------------------------

    def _now_text(self) -> str:
        return self.clock().strftime("%Y-%m-%dT%H:%M:%S.%fZ")

    def _success(self, order: Order) -> dict[str, Any]:
        return {
            "success": True,
            "success_response": {
                "order_id": order.order_id,
                "product_id": order.product_id,
                "side": order.side,
                "client_order_id": order.client_order_id,
            },
            "order_configuration": {order.configuration_name: order.configuration},
        }

    def _parse(self, owner: str, request: object) -> Order:
        if not isinstance(request, dict):
            raise InvalidRequest("request body must be a JSON object")
        client_order_id = request.get("client_order_id")
        if not isinstance(client_order_id, str) or not client_order_id or len(client_order_id) > 128:
            raise InvalidRequest("client_order_id must be a non-empty string (a UUID)")
        product_id = request.get("product_id")
        if not isinstance(product_id, str) or product_id not in self.books:
            raise InvalidRequest(f"unknown product_id {product_id!r}")
        side = request.get("side")
        if side not in ("BUY", "SELL"):
            raise InvalidRequest(f"side must be BUY or SELL, got {side!r}")
        configuration = request.get("order_configuration")
        if not isinstance(configuration, dict) or len(configuration) != 1:
            raise InvalidRequest(f"order_configuration must hold exactly one of {', '.join(CONFIGURATIONS)}")
        ((name, config),) = configuration.items()
        if name not in CONFIGURATIONS or not isinstance(config, dict):
            raise InvalidRequest(f"unknown order_configuration {name!r}")
        config = {key: config[key] for key in CONFIGURATION_KEYS[name] if key in config}
        order = Order(
            order_id=str(uuid.uuid4()),
            client_order_id=client_order_id,
            owner=owner,
            product_id=product_id,
            side=side,
            configuration_name=name,
            configuration=config,
            order_type=ORDER_TYPES.get(name, "LIMIT"),
            time_in_force={
                "market_market_ioc": "IMMEDIATE_OR_CANCEL",
                "limit_limit_gtc": "GOOD_UNTIL_CANCELLED",
                "limit_limit_gtd": "GOOD_UNTIL_DATE_TIME",
                "limit_limit_fok": "FILL_OR_KILL",
                "sor_limit_ioc": "IMMEDIATE_OR_CANCEL",
                "stop_limit_stop_limit_gtc": "GOOD_UNTIL_CANCELLED",
                "trigger_bracket_gtc": "GOOD_UNTIL_CANCELLED",
            }[name],
            created_time=self._now_text(),
        )
        order.attached = _attached_bracket(request.get("attached_order_configuration"), name)
        if name == "market_market_ioc":
            sizes = [k for k in ("base_size", "quote_size") if k in config]
            if len(sizes) != 1:
                raise InvalidRequest("market_market_ioc needs exactly one of base_size or quote_size")
            if sizes[0] == "base_size":
                order.base_size = _decimal(config["base_size"], "base_size")
            else:
                if order.attached is not None:
                    raise InvalidRequest("a bracket attaches to a market order sized in base_size, not quote_size")
                order.quote_size = _decimal(config["quote_size"], "quote_size")
            return order
        order.base_size = _decimal(config.get("base_size"), "base_size")
        order.limit_price = _decimal(config.get("limit_price"), "limit_price")
        post_only = config.get("post_only", False)
        if not isinstance(post_only, bool):
            raise InvalidRequest(f"post_only must be true or false, got {post_only!r}")
        order.post_only = post_only and name in ("limit_limit_gtc", "limit_limit_gtd")
        if name == "limit_limit_gtd":
            order.end_time = _time(config.get("end_time"), "end_time")
        if name == "trigger_bracket_gtc":
            order.stop_price = _decimal(config.get("stop_trigger_price"), "stop_trigger_price")
        if name == "stop_limit_stop_limit_gtc":
            order.stop_price = _decimal(config.get("stop_price"), "stop_price")
            direction = config.get("stop_direction")
            if direction not in ("STOP_DIRECTION_STOP_UP", "STOP_DIRECTION_STOP_DOWN"):
                raise InvalidRequest(f"stop_direction must be STOP_DIRECTION_STOP_UP or _DOWN, got {direction!r}")
            order.stop_direction = direction
        return order

    def _parse_edit(self, owner: str, request: object) -> tuple[Order | None, Decimal | None, Decimal | None]:
        if not isinstance(request, dict):
            raise InvalidRequest("request body must be a JSON object")
        order_id = request.get("order_id")
        if not isinstance(order_id, str) or not order_id:
            raise InvalidRequest("order_id must be a non-empty string")
        price = _decimal(request["price"], "price") if request.get("price") not in (None, "") else None
        size = _decimal(request["size"], "size") if request.get("size") not in (None, "") else None
        if price is None and size is None:
            raise InvalidRequest("an edit needs a new price, a new size or both")
        order = self.orders.get(order_id)
        return (order if order is not None and order.owner == owner else None), price, size

    def _edit_failure(self, order: Order | None, price: Decimal | None, size: Decimal | None) -> tuple[str, str] | None:
        """(edit_failure_reason, preview_failure_reason) of an edit Coinbase would refuse as asked."""
        if order is None:
            return ("ORDER_NOT_FOUND", "")
        spec = self.books[order.product_id].spec
        if order.configuration_name != "limit_limit_gtc":
            return ("ONLY_LIMIT_ORDER_EDITS_SUPPORTED", "")
        if order.status != "OPEN":
            return ("ONLY_OPEN_ORDERS_CAN_BE_EDITED", "")
        if price is not None and price % spec.quote_increment:
            return ("INVALID_EDITED_PRICE", "")
        if size is not None and (size % spec.base_increment or not spec.base_min_size <= size <= spec.base_max_size):
            return ("INVALID_EDITED_SIZE", "")
        if size is not None and size <= order.filled_size:
            return ("CANNOT_EDIT_TO_BELOW_FILLED_SIZE", "")
        if price is not None and _attached_problem(order, price) is not None:
            return ("ORDER_EDIT_INVALID_ATTACHED_ORDER_REQUEST", "")
        if (price is None or price == order.limit_price) and (size is None or size == order.base_size):
            return ("EDIT_REQUEST_EQUAL_TO_ORIGINAL_REQUEST", "")
        return None

    def _edit_costs(self, order: Order, price: Decimal, size: Decimal) -> dict[str, str]:
        """The figures of an edit preview: the order as edited, at its limit price."""
        book = self.books[order.product_id]
        value = (size - order.filled_size) * price
        fee = value * self.taker_rate
        bid, ask = book.best_bid(), book.best_ask()
        return {
            "order_total": format_decimal(value + fee if order.side == "BUY" else value - fee),
            "commission_total": format_decimal(fee),
            "quote_size": format_decimal(value),
            "base_size": format_decimal(size),
            "best_bid": format_decimal(bid) if bid is not None else "",
            "best_ask": format_decimal(ask) if ask is not None else "",
            "average_filled_price": format_decimal(order.average_filled_price),
        }

    def _preview_cost(self, order: Order) -> Decimal:
        """The quote value an order would trade: its limit value, or a market order's walk of the book."""
        if order.quote_size is not None:
            return order.quote_size
        if order.limit_price is not None:
            return (order.base_size or ZERO) * order.limit_price
        if order.side == "BUY":
            return self._market_cost(order)
        remaining, value = order.base_size or ZERO, ZERO
        for price, size in self.books[order.product_id].levels("bid"):
            take = min(size, remaining)
            value += take * price
            remaining -= take
            if not remaining:
                return value
        raise OrderRejected("INSUFFICIENT_LIQUIDITY", "not enough bids to fill this market order")

    def _place(self, order: Order) -> None:
        book = self.books[order.product_id]
        spec = book.spec
        self._check_size(order, spec)
        if order.end_time is not None and order.end_time <= self.clock():
            raise OrderRejected("INVALID_END_TIME", f"end_time {order.end_time.isoformat()} is already past")
        owner = order.owner
        if order.post_only and order.limit_price is not None:
            best = book.best_ask() if order.side == "BUY" else book.best_bid()
            if best is not None and (order.limit_price >= best if order.side == "BUY" else order.limit_price <= best):
                raise OrderRejected("INVALID_LIMIT_PRICE_POST_ONLY", "post-only order would take liquidity")
        fok = order.configuration_name == "limit_limit_fok"
        if fok and book.marketable_size(order.side, order.limit_price, owner) < order.leaves:
            raise OrderRejected("FOK_CANNOT_FILL", "fill-or-kill order cannot fill completely now")
        self._reserve(order, spec)
        self.orders[order.order_id] = order
        self._by_client_id[(owner, order.client_order_id)] = order.order_id
        order.status = "OPEN"
        self._changed(order)
        if order.end_time is not None:
            self._expiring[order.order_id] = order.end_time
        if order.is_stop:
            self._stops[order.product_id].append(order.order_id)
        if order.order_type == "STOP_LIMIT":
            self._trigger_stops(order.product_id)
            return
        self._execute(order)

    def _check_size(self, order: Order, spec: ProductSpec) -> None:
        if order.base_size is not None:
            if order.base_size % spec.base_increment:
                raise OrderRejected(
                    "INVALID_SIZE_PRECISION", f"base_size {order.base_size} is not a multiple of {spec.base_increment}"
                )
            if not spec.base_min_size <= order.base_size <= spec.base_max_size:
                raise OrderRejected(
                    "INVALID_SIZE", f"base_size {order.base_size} outside [{spec.base_min_size}, {spec.base_max_size}]"
                )
        attached = order.attached or {}
        prices = [order.limit_price, order.stop_price, *(Decimal(v) for v in attached.values())]
        for price in prices:
            if price is not None and price % spec.quote_increment:
                raise OrderRejected(
                    "INVALID_PRICE_PRECISION", f"price {price} is not a multiple of {spec.quote_increment}"
                )
        if order.order_type == "BRACKET":
            assert order.limit_price is not None and order.stop_price is not None
            problem = _bracket_problem(order.side, order.limit_price, order.stop_price, None)
            order.stop_limit_price = self._stop_limit_price(order.side, order.stop_price, spec)
        else:
            problem = _attached_problem(order, order.limit_price)
        if problem is not None:
            raise OrderRejected("INVALID_STOP_PRICE", problem)
        if order.quote_size is not None and order.quote_size % spec.quote_increment:
            raise OrderRejected(
                "INVALID_SIZE_PRECISION", f"quote_size {order.quote_size} is not a multiple of {spec.quote_increment}"
            )

    def _reserve(self, order: Order, spec: ProductSpec) -> None:
        """Put funds on hold for the order's worst case, or refuse it."""
        if order.side == "SELL":
            currency = spec.base_currency
            if order.quote_size is not None:
                amount = self._base_raising(order.quote_size, order.product_id)
            elif order.base_size is None:
                raise OrderRejected("INVALID_ORDER_CONFIGURATION", "sell orders need base_size")
            else:
                amount = order.base_size
        else:
            currency = spec.quote_currency
            if order.quote_size is not None:
                amount = order.quote_size
            elif order.limit_price is not None:
                amount = order.base_size * self._hold_price(order) * (ONE + self.taker_rate)  # type: ignore[operator]
            else:
                amount = self._market_cost(order) * (ONE + self.taker_rate)
        account = self.account(order.owner, currency)
        if amount > account.available:
            raise OrderRejected(
                "INSUFFICIENT_FUND",
                f"needs {format_decimal(amount)} {currency}, {format_decimal(account.available)} available",
            )
        account.available -= amount
        account.hold += amount
        order.hold, order.hold_currency = amount, currency

    def _base_raising(self, quote: Decimal, product_id: str) -> Decimal:
        """The most base a market sell can sell now for at most `quote` (before its fee), in the
        product's base increments, walking the bids."""
        book = self.books[product_id]
        step, remaining, base = book.spec.base_increment, quote, ZERO
        for price, size in book.levels("bid"):
            take = min(size, (remaining / price).quantize(step, ROUND_DOWN))
            base += take
            remaining -= take * price
            if take < size:
                break
        if base < book.spec.base_min_size:
            raise OrderRejected("INSUFFICIENT_LIQUIDITY", "not enough bids to raise this quote_size")
        return base

    def _market_cost(self, order: Order) -> Decimal:
        book = self.books[order.product_id]
        remaining, cost = order.base_size or ZERO, ZERO
        for price, size in book.levels("offer"):
            take = min(size, remaining)
            cost += take * price
            remaining -= take
            if not remaining:
                break
        if remaining:
            raise OrderRejected("INSUFFICIENT_LIQUIDITY", "not enough offers to fill this market order")
        return cost

    def _execute(self, order: Order) -> None:
        book = self.books[order.product_id]
        name = order.configuration_name
        owner = order.owner
        if order.quote_size is not None and order.side == "SELL":  # what it holds is what it sells
            trades = book.submit_market(order.order_id, "SELL", order.hold, owner, prevent_self_trade=True)
        elif order.quote_size is not None:
            trades = self._buy_for_quote(order, book)
        elif name == "market_market_ioc":
            assert order.base_size is not None  # a market order has one or the other (quote_size above)
            trades = book.submit_market(order.order_id, order.side, order.base_size, owner, prevent_self_trade=True)
        else:
            rests = name in ("limit_limit_gtc", "limit_limit_gtd", "stop_limit_stop_limit_gtc", "trigger_bracket_gtc")
            price = order.working_price
            assert price is not None  # every configuration but market has one
            trades = book.submit_limit(
                order.order_id, order.side, price, order.leaves, owner, rest=rests, prevent_self_trade=True
            )
        self._apply_trades(order.product_id, trades, taker=order)
        if order.status == "OPEN" and (order.order_type == "MARKET" or name in ("limit_limit_fok", "sor_limit_ioc")):
            self._cancel(order, "CANCELLED")  # the unfilled rest of an immediate order
        self._after_trades(order.product_id)

    def _buy_for_quote(self, order: Order, book: MatchingBook) -> list[Trade]:
        spec, trades = book.spec, []
        budget = order.quote_size or ZERO
        while budget > 0:
            ask = book.best_ask()
            if ask is None:
                break
            size = (budget / (ask * (ONE + self.taker_rate))).quantize(spec.base_increment, ROUND_DOWN)
            level = book.levels("offer")[0][1]
            size = min(size, level)
            if size < spec.base_min_size:
                break
            step = book.submit_market(order.order_id, "BUY", size, order.owner, prevent_self_trade=True)
            if not step:
                break
            trades += step
            budget -= sum(t.price * t.size for t in step) * (ONE + self.taker_rate)
        return trades

    def _apply_trades(self, product_id: str, trades: list[Trade], taker: Order | None) -> None:
        book = self.books[product_id]
        for cancelled in book.take_self_trade_cancels():
            order = self.orders.get(cancelled.order_id)
            if order is not None and order.status == "OPEN":
                self._cancel(order, "CANCELLED", resting_cancelled=True)
        for trade in trades:
            self.trades.append((product_id, trade))
            self.last_trade[product_id] = trade.price
            maker = self.orders.get(trade.maker_order_id)
            if maker is not None:
                self._fill(maker, trade, "MAKER")
            if taker is not None and trade.taker_order_id == taker.order_id:
                self._fill(taker, trade, "TAKER")

    def _fill(self, order: Order, trade: Trade, liquidity: str) -> None:
        spec = self.books[order.product_id].spec
        rate = self.maker_rate if liquidity == "MAKER" else self.taker_rate
        value = trade.price * trade.size
        fee = value * rate
        base = self.account(order.owner, spec.base_currency)
        quote = self.account(order.owner, spec.quote_currency)
        if order.side == "BUY":
            spent = value + fee
            released = min(
                order.hold,
                spent if order.limit_price is None else trade.size * self._hold_price(order) * (ONE + self.taker_rate),
            )
            quote.hold -= released
            quote.available += released - spent
            order.hold -= released
            base.available += trade.size
        else:
            base.hold -= trade.size
            order.hold -= trade.size
            quote.available += value - fee
        order.filled_size += trade.size
        order.filled_value += value
        order.total_fees += fee
        order.number_of_fills += 1
        now = self._now_text()
        fill = Fill(
            str(next(self._entry_ids)),
            str(trade.trade_id),
            order.order_id,
            now,
            trade.price,
            trade.size,
            fee,
            order.product_id,
            liquidity,
            order.side,
        )
        order.fills.append(fill)
        if order.base_size is not None and order.filled_size >= order.base_size:
            self._finish(order, "FILLED")
        self._changed(order)

    def _cancel(self, order: Order, status: str, *, resting_cancelled: bool = False) -> None:
        if not resting_cancelled:
            self.books[order.product_id].cancel(order.order_id)
        if order.order_id in self._stops[order.product_id]:
            self._stops[order.product_id].remove(order.order_id)
        self._finish(order, status)

    def _finish(self, order: Order, status: str) -> None:
        """Release what is still on hold and close the order."""
        if order.hold:
            account = self.account(order.owner, order.hold_currency)
            account.hold -= order.hold
            account.available += order.hold
            order.hold = ZERO
        if order.quote_size is not None and status == "CANCELLED" and order.filled_size:
            status = "FILLED"  # a quote-sized market order that spent what it could
        order.status = status
        self._expiring.pop(order.order_id, None)
        if order.is_stop and order.order_id in self._stops[order.product_id]:
            self._stops[order.product_id].remove(order.order_id)  # a bracket's take-profit filled: no stop
        if order.attached is not None and status == "FILLED":
            self._filled_entries.append(order)
        self._changed(order)

    def _after_trades(self, product_id: str) -> None:
        """What trades set off: filled entries' brackets placed, then stops the last price reached."""
        while self._filled_entries:
            self._place_bracket(self._filled_entries.pop(0))
        self._trigger_stops(product_id)

    def _place_bracket(self, entry: Order) -> None:
        """An entry filled: its attached bracket becomes an order of its own, exiting what the
        entry traded. One the venue cannot place (the bought coins moved away) is FAILED, with why."""
        assert entry.attached is not None and entry.base_size is not None
        config = {"base_size": format_decimal(entry.filled_size), **entry.attached}
        bracket = Order(
            order_id=str(uuid.uuid4()),
            client_order_id=str(uuid.uuid4()),
            owner=entry.owner,
            product_id=entry.product_id,
            side=_opposite(entry.side),
            configuration_name="trigger_bracket_gtc",
            configuration=config,
            order_type="BRACKET",
            time_in_force="GOOD_UNTIL_CANCELLED",
            created_time=self._now_text(),
            base_size=entry.filled_size,
            limit_price=Decimal(entry.attached["limit_price"]),
            stop_price=Decimal(entry.attached["stop_trigger_price"]),
            originating_order_id=entry.order_id,
        )
        entry.attached_order_id = bracket.order_id
        self._changed(entry)
        try:
            self._place(bracket)
        except OrderRejected as exc:
            bracket.status, bracket.reject_reason = "FAILED", f"{exc.error}: {exc}"
            self.orders[bracket.order_id] = bracket
            self._changed(bracket)

    def _hold_price(self, order: Order) -> Decimal:
        """The price a buy order's hold is reserved at: its limit, or a bracket's dearer leg (its
        stop limit is above its take-profit)."""
        assert order.limit_price is not None
        return max(order.limit_price, order.stop_limit_price or ZERO)

    def _stop_limit_price(self, side: OrderSide, stop: Decimal, spec: ProductSpec) -> Decimal:
        """A bracket's limit once its stop triggers: past the trigger, on the product's tick."""
        if side == "SELL":
            return max(
                (stop * (ONE - BRACKET_STOP_SLIPPAGE)).quantize(spec.quote_increment, ROUND_DOWN), spec.quote_increment
            )
        return (stop * (ONE + BRACKET_STOP_SLIPPAGE)).quantize(spec.quote_increment, ROUND_UP)

    def _trigger_stops(self, product_id: str) -> None:
        last = self.last_trade.get(product_id)
        if last is None:
            return
        for order_id in list(self._stops[product_id]):
            order = self.orders[order_id]
            if order_id not in self._stops[product_id]:
                continue  # an earlier trigger's trades finished it
            assert order.stop_price is not None
            if order.order_type == "BRACKET":
                up = order.side == "BUY"  # a buy bracket's stop guards a short: it wakes as the price rises
            else:
                up = order.stop_direction == "STOP_DIRECTION_STOP_UP"
            if (up and last >= order.stop_price) or (not up and last <= order.stop_price):
                self._stops[product_id].remove(order_id)
                order.triggered = True
                if order.order_type == "BRACKET":
                    # One cancels the other: the take-profit leaves the book as the stop takes over.
                    self.books[product_id].cancel(order_id)
                    self._changed(order)
                self._execute(order)

    def _changed(self, order: Order) -> None:
        order.last_update = self._now_text()
        self.changed_orders.append(order)


def _edit_answer(preview: bool, failure: tuple[str, str] | None, costs: dict[str, str]) -> dict[str, Any]:
    """The body of `/orders/edit` or `/orders/edit_preview`, as Coinbase shapes them; an error
    names only the reasons that apply."""
    errors = []
    if failure is not None:
        edit, preview_reason = failure
        errors.append(
            {
                **({"edit_failure_reason": edit} if edit else {}),
                **({"preview_failure_reason": preview_reason} if preview_reason else {}),
            }
        )
    if not preview:
        return {"success": failure is None, "errors": errors}
    return {"errors": errors, "slippage": "0", **costs}
