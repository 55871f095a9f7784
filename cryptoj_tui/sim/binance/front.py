"""The paper venue's Binance Spot front: its streams, its WebSocket API, and what both are told.

Market streams (`/ws`, `/ws/<streams>`, `/stream?streams=...`, SUBSCRIBE/UNSUBSCRIBE/
LIST_SUBSCRIPTIONS): `<symbol>@depth` (and `@depth@100ms`) diffs whose `U`..`u` number every level
change, so a client syncs against `/api/v3/depth`'s `lastUpdateId` as Binance documents;
`<symbol>@trade`; `<symbol>@bookTicker`. The WebSocket API (`/ws-api/v3`): `ping`, `time`,
`userDataStream.subscribe.signature` (signed over its parameters sorted by name) and
`userDataStream.unsubscribe`; a subscribed connection then gets the key's `executionReport`s
and `outboundAccountPosition`s as {"subscriptionId", "event"}. A market stream connection
named by a listen key (`/ws/<listenKey>`, see listen_keys.py) gets the same events bare.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from aiohttp import WSMsgType, web

from cryptoj_tui.sim.binance.auth import BinanceKeys
from cryptoj_tui.sim.binance.errors import BinanceApiError
from cryptoj_tui.sim.binance.listen_keys import ListenKeys
from cryptoj_tui.sim.binance.orders import execution_report, number_of, status_of, symbol_of
from cryptoj_tui.sim.binance.rest import BinanceRestApi, WeightLimits
from cryptoj_tui.sim.exchange import Order
from cryptoj_tui.sim.matching import Trade
from cryptoj_tui.sim.products import format_decimal
from cryptoj_tui.sim.ws import MAX_INBOUND_BYTES, FeedSession

if TYPE_CHECKING:
    from cryptoj_tui.sim.venue import PaperVenue

log = logging.getLogger(__name__)

STREAM_KINDS = ("depth", "depth@100ms", "trade", "bookTicker")
FINAL_STATUSES = frozenset({"FILLED", "CANCELED", "EXPIRED", "REJECTED"})


class BinanceFront:
    """Binance Spot's protocol over one PaperVenue's books, exchange and accounts."""

    def __init__(self, venue: PaperVenue, *, weight_limit: int, order_limit: int) -> None:
        self.venue = venue
        self.keys = BinanceKeys()
        self.listen_keys = ListenKeys()
        self.rest = BinanceRestApi(self, WeightLimits(weight_limit, order_limit))
        self._products = {symbol_of(p): p for p in venue.books}
        self._update_ids = dict.fromkeys(venue.books, 1)
        self._tops: dict[str, tuple[Any, ...]] = {}
        self._numbers: dict[int, str] = {}
        """Binance order id -> the exchange's order id (filled in as orders are seen)."""
        self._numbered = 0
        """How many of the exchange's orders there were when all were last numbered."""
        self.cancel_ids: dict[str, str] = {}
        """The exchange's order id -> the client id of the cancel asked for it (its report's `c`)."""
        self._reported: dict[str, tuple[int, str]] = {
            o.order_id: (len(o.fills), status_of(o)) for o in venue.exchange.orders.values() if o.status == "OPEN"
        }
        """Open orders' fills and state as the user data stream last told them."""
        self._market: dict[FeedSession, tuple[set[str], bool]] = {}
        """Market stream connections: their streams, and whether they are combined."""
        self._users: dict[str, set[FeedSession]] = {}
        """API key -> WebSocket API connections subscribed to its user data."""
        self._api_sessions: set[FeedSession] = set()

    # -- lookups ---------------------------------------------------------------------------

    def product_of(self, symbol: str) -> str | None:
        """The venue's product of a Binance symbol (None if it lists none)."""
        return self._products.get(symbol)

    def update_id(self, product_id: str) -> int:
        """The last depth update id of a product's book."""
        return self._update_ids[product_id]

    def last_price(self, product_id: str) -> Decimal:
        """The last trade's price (the start price before any), for the price filters."""
        last = self.venue.tapes[product_id].last
        return last if last is not None else self.venue.books[product_id].spec.start_price

    def remember(self, order: Order) -> None:
        """Know an order by its Binance id."""
        self._numbers[number_of(order.order_id)] = order.order_id

    def order_by_number(self, number: int) -> Order | None:
        """The order with this Binance id, if any."""
        order_id = self._numbers.get(number)
        orders = self.venue.exchange.orders
        if order_id is None and len(orders) != self._numbered:
            # One not placed here (restored after a restart, a bracket's exit, another
            # protocol's): number every order once, not on each lookup of an unknown id.
            for order in orders.values():
                self.remember(order)
            self._numbered = len(orders)
            order_id = self._numbers.get(number)
        return self.venue.exchange.orders.get(order_id) if order_id is not None else None

    def routes(self) -> list[web.RouteDef]:
        """REST, market streams and the WebSocket API."""
        return [
            *self.rest.routes(),
            web.get("/ws", self.market_stream),
            web.get("/ws/{streams}", self.market_stream),
            web.get("/stream", self.market_stream),
            web.get("/ws-api/v3", self.ws_api),
        ]

    # -- what the venue tells --------------------------------------------------------------

    def book_changed(self, product_id: str, changes: Sequence[tuple[str, Decimal, Decimal]]) -> None:
        """Level changes of one product: a depthUpdate numbering each, and the top if it moved."""
        first = self._update_ids[product_id] + 1
        last = self._update_ids[product_id] = first + len(changes) - 1
        symbol = symbol_of(product_id)
        stream = f"{symbol.lower()}@depth"
        if any(stream in streams or f"{stream}@100ms" in streams for streams, _ in self._market.values()):
            event = {
                "e": "depthUpdate",
                "E": self.keys.clock_ms(),
                "s": symbol,
                "U": first,
                "u": last,
                "b": [[format_decimal(p), format_decimal(s)] for side, p, s in changes if side == "bid"],
                "a": [[format_decimal(p), format_decimal(s)] for side, p, s in changes if side != "bid"],
            }
            self._send_market(f"{symbol.lower()}@depth", event, also=f"{symbol.lower()}@depth@100ms")
        book = self.venue.books[product_id]
        top = (*(book.top("bid") or ("", "")), *(book.top("offer") or ("", "")))
        if top != self._tops.get(product_id):
            self._tops[product_id] = top
            self._send_market(
                f"{symbol.lower()}@bookticker",
                {
                    "u": last,
                    "s": symbol,
                    "b": _text(top[0]),
                    "B": _text(top[1]),
                    "a": _text(top[2]),
                    "A": _text(top[3]),
                },
            )

    def traded(self, product_id: str, trades: Iterable[Trade]) -> None:
        """Public trades of one product on `<symbol>@trade`."""
        symbol = symbol_of(product_id)
        now = self.keys.clock_ms()
        for trade in trades:
            event = {
                "e": "trade",
                "E": now,
                "s": symbol,
                "t": trade.trade_id,
                "p": format_decimal(trade.price),
                "q": format_decimal(trade.size),
                "T": now,
                "m": trade.maker_side == "BUY",
                "M": True,
            }
            self._send_market(f"{symbol.lower()}@trade", event)

    def orders_changed(self, changed: list[Order]) -> None:
        """The user data stream's reports of every change, in order, then each touched balance."""
        now = self.keys.clock_ms()
        touched: dict[str, set[str]] = {}
        for order in changed:
            reports = self._reports(order, now)
            if not reports:
                continue
            touched.setdefault(order.owner, set()).update(order.product_id.split("-"))
            for report in reports:
                self._send_user(order.owner, report)
        for owner, currencies in touched.items():
            if owner not in self._users and self.listen_keys.key_of(owner) is None:
                continue
            balances = [
                {"a": a.currency, "f": format_decimal(a.available), "l": format_decimal(a.hold)}
                for a in self.venue.exchange.owner_accounts(owner)
                if a.currency in currencies
            ]
            self._send_user(owner, {"e": "outboundAccountPosition", "E": now, "u": now, "B": balances})

    def balance_changed(self, owner: str, asset: str, delta: Decimal) -> None:
        """A deposit or withdrawal: `balanceUpdate`, then the asset's `outboundAccountPosition`."""
        now = self.keys.clock_ms()
        self._send_user(owner, {"e": "balanceUpdate", "E": now, "a": asset, "d": format_decimal(delta), "T": now})
        (account,) = [a for a in self.venue.exchange.owner_accounts(owner) if a.currency == asset]
        balance = {"a": asset, "f": format_decimal(account.available), "l": format_decimal(account.hold)}
        self._send_user(owner, {"e": "outboundAccountPosition", "E": now, "u": now, "B": [balance]})

    def _reports(self, order: Order, now: int) -> list[dict[str, Any]]:
        told_fills, told_status = self._reported.get(order.order_id, (0, ""))
        status = status_of(order)
        reports = []
        if not told_status:
            reports.append(
                execution_report(order, "NEW", now, filled=Decimal(0), filled_quote=Decimal(0), status="NEW")
            )
        filled = sum((f.size for f in order.fills[:told_fills]), Decimal(0))
        value = sum((f.size * f.price for f in order.fills[:told_fills]), Decimal(0))
        for index in range(told_fills, len(order.fills)):
            fill = order.fills[index]
            filled += fill.size
            value += fill.size * fill.price
            last = index == len(order.fills) - 1
            fill_status = status if last and status == "FILLED" else "PARTIALLY_FILLED"
            reports.append(
                execution_report(order, "TRADE", now, fill=fill, filled=filled, filled_quote=value, status=fill_status)
            )
        if status in FINAL_STATUSES and status != "FILLED" and told_status != status:
            cancel_id = self.cancel_ids.pop(order.order_id, "") if status == "CANCELED" else ""
            kind = {"CANCELED": "CANCELED", "EXPIRED": "EXPIRED"}.get(status, "REJECTED")
            reports.append(execution_report(order, kind, now, cancel_client_order_id=cancel_id))
        if status in FINAL_STATUSES:
            self._reported.pop(order.order_id, None)
        else:
            self._reported[order.order_id] = (len(order.fills), status)
        return reports

    def _send_market(self, stream: str, event: dict[str, Any], also: str = "") -> None:
        raw = json.dumps(event, separators=(",", ":"))
        combined: dict[str, str] = {}
        for session, (streams, is_combined) in self._market.items():
            name = stream if stream in streams else also if also and also in streams else ""
            if not name:
                continue
            if is_combined:
                if name not in combined:
                    combined[name] = f'{{"stream":"{name}","data":{raw}}}'
                session.send_raw(combined[name])
            else:
                session.send_raw(raw)

    def _send_user(self, owner: str, event: dict[str, Any]) -> None:
        sessions = self._users.get(owner)
        if sessions:
            text = json.dumps({"subscriptionId": 0, "event": event}, separators=(",", ":"))
            for session in sessions:
                session.send_raw(text)
        self._expire_listen_keys()
        key = self.listen_keys.key_of(owner)
        if key is not None:
            self._send_market(key, event)  # to the streams named by it, bare (or combined)

    def _expire_listen_keys(self) -> None:
        """Tell the streams of keys that expired, once, and send them nothing more."""
        for key in self.listen_keys.expired():
            self._send_market(key, {"e": "listenKeyExpired", "E": self.keys.clock_ms(), "listenKey": key})
            self._forget_stream(key)

    def close_listen_key(self, owner: str, key: str) -> None:
        """`DELETE /api/v3/userDataStream`: the key is closed, its streams get nothing more."""
        self.listen_keys.close(owner, key)
        self._forget_stream(key)

    def _forget_stream(self, name: str) -> None:
        for streams, _ in self._market.values():
            streams.discard(name)

    # -- connections -----------------------------------------------------------------------

    async def _serve(self, request: web.Request, on_text: Any, on_close: Any) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(compress=False, max_msg_size=MAX_INBOUND_BYTES, heartbeat=20.0)
        await ws.prepare(request)
        config = self.venue.config
        session = FeedSession(ws, 50_000, self.venue.faults, request.transport, config.max_queued_bytes)
        writer = asyncio.get_running_loop().create_task(session.write_loop())
        try:
            await on_text(session, None)
            async for message in ws:
                if session.closed:
                    break
                if message.type == WSMsgType.TEXT:
                    await on_text(session, message.data)
        finally:
            on_close(session)
            session.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, 1.0)
            writer.cancel()
        return ws

    async def market_stream(self, request: web.Request) -> web.WebSocketResponse:
        """One market stream connection: raw at /ws, combined at /stream."""
        combined = request.path.startswith("/stream")
        named = request.match_info.get("streams") or request.query.get("streams", "")
        first = [s for s in named.split("/") if s]

        async def on_text(session: FeedSession, text: str | None) -> None:
            if text is None:
                self._market[session] = (set(), combined)
                self._subscribe(session, first)
                return
            self._on_market_message(session, text)

        return await self._serve(request, on_text, lambda session: self._market.pop(session, None))

    def _subscribe(self, session: FeedSession, streams: list[str]) -> str:
        """Add streams to a connection ("" or why not)."""
        for stream in streams:
            if self.listen_keys.owner_of(stream) is not None:
                continue  # a user data stream
            symbol, _, kind = stream.partition("@")
            if kind.replace("bookticker", "bookTicker") not in STREAM_KINDS or self.product_of(symbol.upper()) is None:
                return f"Invalid request: unknown stream {stream[:60]!r}"
        self._market[session][0].update(s.replace("@bookTicker", "@bookticker") for s in streams)
        return ""

    def _on_market_message(self, session: FeedSession, text: str) -> None:
        try:
            command = json.loads(text)
        except ValueError:
            session.send_raw(json.dumps({"error": {"code": 3, "msg": "Invalid JSON: expected a JSON object"}}))
            return
        if not isinstance(command, dict):
            session.send_raw(json.dumps({"error": {"code": 3, "msg": "Invalid JSON: expected a JSON object"}}))
            return
        request_id, method, params = command.get("id"), command.get("method"), command.get("params") or []
        streams, _ = self._market[session]
        if method == "LIST_SUBSCRIPTIONS":
            session.send_raw(json.dumps({"result": sorted(streams), "id": request_id}))
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            msg = f"Invalid request: unknown method {str(method)[:40]!r}" if method else "Invalid request: no method"
            session.send_raw(json.dumps({"error": {"code": 2, "msg": msg}, "id": request_id}))
            return
        names = [str(p) for p in params]
        if method == "UNSUBSCRIBE":
            streams.difference_update(s.replace("@bookTicker", "@bookticker") for s in names)
        elif problem := self._subscribe(session, names):
            session.send_raw(json.dumps({"error": {"code": 2, "msg": problem}, "id": request_id}))
            return
        session.send_raw(json.dumps({"result": None, "id": request_id}))

    async def ws_api(self, request: web.Request) -> web.WebSocketResponse:
        """One WebSocket API connection."""
        owners: dict[FeedSession, str] = {}

        async def on_text(session: FeedSession, text: str | None) -> None:
            if text is None:
                self._api_sessions.add(session)
            else:
                self._on_api_request(session, text, owners)

        def on_close(session: FeedSession) -> None:
            self._api_sessions.discard(session)
            owner = owners.pop(session, None)
            if owner is not None:
                self._users.get(owner, set()).discard(session)

        return await self._serve(request, on_text, on_close)

    def _on_api_request(self, session: FeedSession, text: str, owners: dict[FeedSession, str]) -> None:
        try:
            request = json.loads(text)
        except ValueError:
            request = None
        if not isinstance(request, dict):
            answer = {"id": None, "status": 400, "error": {"code": -1100, "msg": "Invalid JSON request."}}
            session.send_raw(json.dumps(answer))
            return
        request_id, method = request.get("id"), request.get("method")
        params = request.get("params") or {}
        try:
            if not isinstance(params, dict):
                raise BinanceApiError(400, -1100, "Illegal characters found in parameter 'params'.")
            result = self._api_call(session, str(method), params, owners)
        except BinanceApiError as exc:
            answer = {"id": request_id, "status": exc.status, "error": {"code": exc.code, "msg": exc.msg}}
            session.send_raw(json.dumps(answer))
            return
        session.send_raw(json.dumps({"id": request_id, "status": 200, "result": result}))

    def _api_call(
        self, session: FeedSession, method: str, params: dict[str, Any], owners: dict[FeedSession, str]
    ) -> Any:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": self.keys.clock_ms()}
        if method == "userDataStream.subscribe.signature":
            text_params = {name: str(value) for name, value in params.items()}
            signature = text_params.pop("signature", "")
            payload = urlencode(sorted(text_params.items()))
            owner = self.keys.check_signed(text_params.get("apiKey"), payload, signature, text_params)
            if session in owners:
                raise BinanceApiError(400, -1210, "This connection is already subscribed to a user data stream.")
            owners[session] = owner
            self._users.setdefault(owner, set()).add(session)
            return {"subscriptionId": 0}
        if method == "userDataStream.unsubscribe":
            subscribed = owners.pop(session, None)
            if subscribed is not None:
                self._users.get(subscribed, set()).discard(session)
            return {}
        raise BinanceApiError(400, -1000, f"Unsupported method {method[:40]!r}.")

    def skip_updates(self, count: int) -> None:
        """Fault: each book's next depthUpdate starts `count` update ids past where it should (as
        if that many diffs were lost on the way)."""
        if count < 1:
            raise ValueError("skip at least 1 update id")
        for product_id in self._update_ids:
            self._update_ids[product_id] += count

    def send_malformed(self, text: str = '{"e":"depthUpdate","E":') -> None:
        """Fault: a frame that is not JSON to every market stream connection."""
        for session in self._market:
            session.send_raw(text)

    async def drop_all(self) -> None:
        """Fault: cut every Binance connection without a close handshake."""
        for session in [*self._market, *self._api_sessions]:
            session.close()
            if session.transport is not None:
                session.transport.abort()


def _text(value: object) -> str:
    return format_decimal(value) if isinstance(value, Decimal) else ""
