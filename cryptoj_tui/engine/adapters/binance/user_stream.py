"""Binance Spot's user-data stream over the WebSocket API: the key's orders as they change.

One connection to the WebSocket API; on each open it sends `userDataStream.subscribe.signature`
(signed like a REST call, over its parameters sorted by name), and the account's events then
arrive as {"subscriptionId", "event"}. `executionReport` becomes a VenueOrderUpdate;
`outboundAccountPosition` goes to the owner's balances as it comes (the position after every
change: `balanceUpdate`, a deposit or withdrawal, is checked and then told by it). A reconnect
may have lost updates, so it asks the owner to reconcile over REST.

An execution report carries the trade's own commission, not the order's total: the stream adds
them up per order. When a report's cumulative size says a trade was missed (before a reconnect,
or before this process started) the order's total is read from its trades over REST first.
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from decimal import Decimal
from urllib.parse import urlencode

import msgspec

from cryptoj_tui.binance_keys import BinanceKey
from cryptoj_tui.engine.adapters.base import ConnectionOwner
from cryptoj_tui.engine.adapters.binance import parsing
from cryptoj_tui.engine.adapters.connection import MAX_FRAME_BYTES, Backoff, FrameTap, WebSocketConnection
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import ConnectionStatus, FeedError
from cryptoj_tui.engine.model import ConnectionState, clip, excerpt
from cryptoj_tui.engine.orders import VenueOrderUpdate, venue_number
from cryptoj_tui.engine.portfolio import Balance

log = logging.getLogger(__name__)

QUIET_STREAM_S = 24 * 3600.0
"""A user stream is silent while nothing happens to the account; the WebSocket's own pings tell
a dead connection (Binance ends every connection after 24 hours anyway)."""
FINAL = frozenset({"FILLED", "CANCELLED", "EXPIRED", "FAILED"})


class ExecutionReport(msgspec.Struct, kw_only=True):
    """Binance's `executionReport` event (the fields the engine reads)."""

    symbol: str = msgspec.field(name="s")
    client_order_id: str = msgspec.field(name="c")
    original_client_order_id: str = msgspec.field(name="C", default="")
    """A cancel's report: the cancelled order's own client id (`c` is then the cancel's)."""
    execution_type: str = msgspec.field(name="x")
    status: str = msgspec.field(name="X")
    reject_reason: str = msgspec.field(name="r", default="NONE")
    order_id: int = msgspec.field(name="i")
    last_quantity: str = msgspec.field(name="l", default="0")
    filled_quantity: str = msgspec.field(name="z")
    last_price: str = msgspec.field(name="L", default="0")
    commission: str = msgspec.field(name="n", default="0")
    commission_asset: str | None = msgspec.field(name="N", default=None)
    filled_quote: str = msgspec.field(name="Z")


class AssetPosition(msgspec.Struct):
    asset: str = msgspec.field(name="a")
    free: str = msgspec.field(name="f")
    locked: str = msgspec.field(name="l")


class AccountPosition(msgspec.Struct):
    """Binance's `outboundAccountPosition`: the balances a change touched."""

    balances: list[AssetPosition] = msgspec.field(name="B")


class BalanceDelta(msgspec.Struct):
    """Binance's `balanceUpdate`: a deposit, withdrawal or transfer."""

    asset: str = msgspec.field(name="a")
    delta: str = msgspec.field(name="d")


class _Frame(msgspec.Struct):
    id: int | str | None = None
    status: int | None = None
    error: dict[str, object] | None = None
    event: dict[str, object] | None = None


FeeLookup = Callable[[str], Awaitable[Decimal]]
"""An order's total fees in its quote currency, from its trades (engine order id in)."""
AssetsOf = Callable[[str], tuple[str, str] | None]
"""A symbol's (base, quote) assets, or None when not known."""


def subscribe_request(key: BinanceKey, request_id: int, timestamp_ms: int) -> str:
    """The signed `userDataStream.subscribe.signature` request."""
    params = {"apiKey": key.api_key, "timestamp": timestamp_ms}
    payload = urlencode(sorted((name, str(value)) for name, value in params.items()))
    method = "userDataStream.subscribe.signature"
    return json.dumps({"id": request_id, "method": method, "params": {**params, "signature": key.sign(payload)}})


class BinanceUserStream(ConnectionOwner):
    """Streams order updates to `on_update`; calls `on_resync(reason)` when some may be lost."""

    def __init__(
        self,
        url: str,
        key: BinanceKey,
        bus: EventBus,
        *,
        on_update: Callable[[VenueOrderUpdate], None],
        on_resync: Callable[[str], None],
        on_balances: Callable[[list[Balance]], None],
        now_ms: Callable[[], int],
        fee_lookup: FeeLookup,
        assets_of: AssetsOf,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        backoff: Backoff | None = None,
        tap: FrameTap | None = None,
    ) -> None:
        self.url = url
        self._key = key
        self._bus = bus
        self._on_update = on_update
        self._on_resync = on_resync
        self._on_balances = on_balances
        self._now_ms = now_ms
        self._fee_lookup = fee_lookup
        self._assets_of = assets_of
        self._ids = itertools.count(1)
        self._subscribe_id = 0
        self._connection = WebSocketConnection(
            url,
            on_open=self._on_open,
            on_frame=self._on_frame,
            on_state=self._on_state,
            stale_after=QUIET_STREAM_S,
            max_frame_bytes=max_frame_bytes,
            backoff=backoff,
            tap=tap,
        )
        self._opened_once = False
        self._totals: dict[str, tuple[Decimal, Decimal]] = {}
        """Engine order id -> (filled size, fees) as this stream has added them up."""
        self._lookups: set[asyncio.Task[None]] = set()
        self.ready = asyncio.Event()
        """Set once the venue confirmed the subscription; cleared when the connection drops."""

    def start(self) -> None:
        """Connect in the background."""
        self._connection.start()

    async def close(self) -> None:
        """Disconnect for good."""
        for task in self._lookups:
            task.cancel()
        await self._connection.close()

    def reconnect(self, reason: str) -> None:
        """Drop the connection (tests and the fault drills use this)."""
        self._connection.reconnect(reason)

    async def _on_open(self, send: Callable[[str], Awaitable[None]]) -> None:
        self._subscribe_id = next(self._ids)
        await send(subscribe_request(self._key, self._subscribe_id, self._now_ms()))
        if self._opened_once:
            self._on_resync("user data stream reconnected")
        self._opened_once = True

    def _on_state(self, state: ConnectionState, attempt: int, reason: str) -> None:
        if state is not ConnectionState.CONNECTED:
            self.ready.clear()
        self._bus.publish(ConnectionStatus(url=self.url, state=state, attempt=attempt, reason=reason, role="user"))

    def _problem(self, message: str) -> None:
        self.metrics.decode_errors += 1
        log.warning("user stream %s: %s", self.url, message)
        self._bus.publish(FeedError(where=f"{self.url} user", message=message))

    def _on_frame(self, raw: str | bytes) -> None:
        try:
            frame = msgspec.json.decode(raw, type=_Frame)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            self._problem(f"undecodable frame ({exc}): {excerpt(raw)}")
            self._on_resync("undecodable user data frame")
            return
        if frame.event is not None:
            self._on_event(frame.event)
        elif frame.id == self._subscribe_id and frame.status == 200:
            self.ready.set()
        elif frame.error is not None:
            code, message = frame.error.get("code"), clip(str(frame.error.get("msg", "")))
            self._problem(f"venue error {code}: {message}")

    def _on_event(self, event: dict[str, object]) -> None:
        kind = event.get("e")
        try:
            if kind == "executionReport":
                self._on_report(msgspec.convert(event, ExecutionReport))
            elif kind == "outboundAccountPosition":
                changed = [
                    Balance(entry.asset, venue_number("free", entry.free), venue_number("locked", entry.locked))
                    for entry in msgspec.convert(event, AccountPosition).balances
                ]
                self._on_balances(changed)
            elif kind == "balanceUpdate":
                msgspec.convert(event, BalanceDelta)  # what changed is told by the position that follows
        except (msgspec.ValidationError, ValueError, ArithmeticError) as exc:
            self._problem(f"unreadable {clip(str(kind), 30)} event: {clip(str(exc))}")
            if kind == "executionReport":
                self._on_resync("unreadable execution report")

    def _on_report(self, report: ExecutionReport) -> None:
        engine_id = parsing.order_id(report.symbol, report.order_id)
        filled = venue_number("z", report.filled_quantity)
        last = venue_number("l", report.last_quantity)
        known_filled, fees = self._totals.get(engine_id, (Decimal(0), Decimal(0)))
        update = VenueOrderUpdate(
            order_id=engine_id,
            client_order_id=report.original_client_order_id or report.client_order_id,
            status=parsing.status(report.status),
            filled_size=filled,
            filled_value=venue_number("Z", report.filled_quote),
            total_fees=fees,
            reject_reason="" if report.reject_reason == "NONE" else clip(report.reject_reason),
        )
        if report.execution_type == "TRADE" and known_filled + last != filled:
            self._spawn_lookup(engine_id, update)  # a trade was missed: its fee with it
            return
        if report.execution_type == "TRADE":
            price = venue_number("L", report.last_price)
            fee = self._fee(report, price)
            fees += fee
            update = dataclasses.replace(update, total_fees=fees)
        self._remember(engine_id, filled, fees, update.status)
        self._on_update(update)

    def _fee(self, report: ExecutionReport, price: Decimal) -> Decimal:
        commission = venue_number("n", report.commission)
        assets = self._assets_of(report.symbol)
        fee = None
        if assets is not None:
            fee = parsing.fee_in_quote(commission, report.commission_asset or "", price, *assets)
        if fee is None:
            self._problem(
                f"fee {commission} {clip(report.commission_asset or '?', 12)} of {report.symbol} not valued; counted 0"
            )
            return Decimal(0)
        return fee

    def _remember(self, engine_id: str, filled: Decimal, fees: Decimal, status: str) -> None:
        if status in FINAL:
            self._totals.pop(engine_id, None)
        else:
            self._totals[engine_id] = (filled, fees)

    def _spawn_lookup(self, engine_id: str, update: VenueOrderUpdate) -> None:
        async def lookup() -> None:
            try:
                fees = await self._fee_lookup(engine_id)
            except Exception as exc:
                self._problem(f"fees of {engine_id} could not be read: {exc}")
                self._on_resync(f"fees of {engine_id} unknown")
                return
            self._remember(engine_id, update.filled_size, fees, update.status)
            self._on_update(dataclasses.replace(update, total_fees=fees))

        task = asyncio.get_running_loop().create_task(lookup())
        self._lookups.add(task)
        task.add_done_callback(self._lookups.discard)
