"""The paper venue's Binance Spot protocol, driven by a client written only from Binance's public
docs (aiohttp, hmac and cryptography; nothing of the engine), and the engine's own Binance
client against it: signatures, clocks, filters, error codes, weight limits and bans, streams."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from decimal import ROUND_DOWN
from decimal import Decimal as D
from typing import Any
from urllib.parse import quote, urlencode

import aiohttp
import pytest
from cryptography.hazmat.primitives.asymmetric import ed25519

from cryptoj_tui import binance_keys
from cryptoj_tui.binance_keys import BinanceKey
from cryptoj_tui.engine import Engine, EngineConfig, EngineStartError
from cryptoj_tui.engine.adapters.binance.rest import BinanceRest, BinanceRestError
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig
from tests.conftest import book_matches, wait_for_exact_book

SECRET = "docs-client-secret-0123456789abcdef0123456789abcdef0123456789abcdef"
API_KEY = "docs-client-api-key"


@pytest.fixture
async def binance_venue() -> AsyncIterator[PaperVenue]:
    """A quiet paper venue speaking Binance Spot only, knowing the docs client's HMAC key."""
    config = VenueConfig(seed=5, step_interval=0, warmup_steps=50, protocols=("binance",), control=True)
    async with PaperVenue(config) as venue:
        assert venue.binance is not None
        venue.binance.keys.register(binance_keys.BinanceVerifier(API_KEY, secret=SECRET.encode()))
        yield venue


class DocsClient:
    """What Binance's docs say a client does: params in the query string, `timestamp` and
    `recvWindow` added, HMAC-SHA256 hex (or Ed25519 base64) of the query as `signature`, the key
    in X-MBX-APIKEY."""

    def __init__(self, session: aiohttp.ClientSession, base: str, private_key: ed25519.Ed25519PrivateKey | None = None):
        self.session, self.base, self.private_key = session, base, private_key
        self.api_key = API_KEY

    def sign(self, query: str) -> str:
        if self.private_key is not None:
            return quote(base64.b64encode(self.private_key.sign(query.encode())).decode(), safe="")
        return hmac.new(SECRET.encode(), query.encode(), hashlib.sha256).hexdigest()

    async def call(
        self,
        method: str,
        path: str,
        params: dict[str, str] | None = None,
        *,
        signed: bool = True,
        stamp: int = 0,
        keyed: bool = False,
    ) -> tuple[int, Any, dict[str, str]]:
        """`keyed`: the API key and no signature (the listen key endpoints)."""
        query = urlencode(params or {})
        if signed and not keyed:
            query = "&".join(filter(None, [query, f"recvWindow=5000&timestamp={stamp or int(time.time() * 1000)}"]))
            query += f"&signature={self.sign(query)}"
        headers = {"X-MBX-APIKEY": self.api_key} if signed or keyed else {}
        url = aiohttp.client.URL(f"{self.base}{path}?{query}" if query else f"{self.base}{path}", encoded=True)
        async with self.session.request(method, url, headers=headers) as response:
            return response.status, await response.json(), dict(response.headers)


@pytest.fixture
async def docs_client(binance_venue: PaperVenue) -> AsyncIterator[DocsClient]:
    async with aiohttp.ClientSession() as session:
        yield DocsClient(session, binance_venue.rest_url)


async def test_a_client_from_the_docs_trades_a_whole_order_life(
    binance_venue: PaperVenue, docs_client: DocsClient
) -> None:
    """exchangeInfo, depth, a resting LIMIT (FULL answer), GET order, openOrders, DELETE, a MARKET
    that fills, myTrades, account: every answer in Binance's documented shape."""
    status, info, headers = await docs_client.call("GET", "/api/v3/exchangeInfo", {"symbol": "BTCUSD"}, signed=False)
    assert status == 200 and int(headers["X-MBX-USED-WEIGHT-1M"]) >= 20
    (symbol,) = info["symbols"]
    filters = {f["filterType"]: f for f in symbol["filters"]}
    assert (symbol["symbol"], symbol["baseAsset"], symbol["quoteAsset"]) == ("BTCUSD", "BTC", "USD")
    assert {"PRICE_FILTER", "LOT_SIZE", "NOTIONAL", "PERCENT_PRICE_BY_SIDE"} <= set(filters)
    _, depth, _ = await docs_client.call("GET", "/api/v3/depth", {"symbol": "BTCUSD", "limit": "5"}, signed=False)
    assert len(depth["bids"]) == 5 and depth["lastUpdateId"] > 0
    bid = D(depth["bids"][0][0])

    params = {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"}
    status, placed, headers = await docs_client.call(
        "POST", "/api/v3/order", {**params, "price": str(bid - 100), "newClientOrderId": "docs-1"}
    )
    assert status == 200, placed
    assert headers["X-MBX-ORDER-COUNT-10S"] == "1"
    assert (placed["status"], placed["clientOrderId"], placed["fills"]) == ("NEW", "docs-1", [])
    order_id = placed["orderId"]
    assert isinstance(order_id, int)
    _, read, _ = await docs_client.call("GET", "/api/v3/order", {"symbol": "BTCUSD", "orderId": str(order_id)})
    assert (read["orderId"], read["status"], read["price"], read["origQty"]) == (
        order_id,
        "NEW",
        str(bid - 100),
        "0.01",
    )
    _, by_client, _ = await docs_client.call(
        "GET", "/api/v3/order", {"symbol": "BTCUSD", "origClientOrderId": "docs-1"}
    )
    assert by_client["orderId"] == order_id
    _, open_orders, _ = await docs_client.call("GET", "/api/v3/openOrders", {"symbol": "BTCUSD"})
    assert [o["orderId"] for o in open_orders] == [order_id]
    _, cancelled, _ = await docs_client.call("DELETE", "/api/v3/order", {"symbol": "BTCUSD", "orderId": str(order_id)})
    assert (cancelled["status"], cancelled["origClientOrderId"]) == ("CANCELED", "docs-1")

    _, market, _ = await docs_client.call(
        "POST", "/api/v3/order", {"symbol": "BTCUSD", "side": "SELL", "type": "MARKET", "quantity": "0.02"}
    )
    assert market["status"] == "FILLED" and market["executedQty"] == "0.02" and market["fills"]
    _, trades, _ = await docs_client.call(
        "GET", "/api/v3/myTrades", {"symbol": "BTCUSD", "orderId": str(market["orderId"])}
    )
    assert sum(D(t["qty"]) for t in trades) == D("0.02") and all(t["commissionAsset"] == "USD" for t in trades)
    assert sum(D(t["quoteQty"]) for t in trades) == D(market["cummulativeQuoteQty"])
    _, account, _ = await docs_client.call("GET", "/api/v3/account", {"omitZeroBalances": "true"})
    balances = {b["asset"]: D(b["free"]) + D(b["locked"]) for b in account["balances"]}
    assert balances["BTC"] == D("2") - D("0.02")
    _, all_orders, _ = await docs_client.call("GET", "/api/v3/allOrders", {"symbol": "BTCUSD"})
    assert [o["status"] for o in all_orders] == ["CANCELED", "FILLED"]


async def test_an_ed25519_key_signs_as_the_docs_say(binance_venue: PaperVenue) -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    assert binance_venue.binance is not None
    binance_venue.binance.keys.register(binance_keys.BinanceVerifier("ed-key", public_key=private.public_key()))
    async with aiohttp.ClientSession() as session:
        client = DocsClient(session, binance_venue.rest_url, private)
        client.api_key = "ed-key"
        status, account, _ = await client.call("GET", "/api/v3/account")
        assert status == 200 and account["canTrade"] is True
        client.private_key = ed25519.Ed25519PrivateKey.generate()  # not the registered key
        status, refused, _ = await client.call("GET", "/api/v3/account")
        assert (status, refused["code"]) == (400, -1022)


@pytest.mark.parametrize(
    ("params", "status", "code", "msg"),
    [
        ({"side": "BUY", "type": "LIMIT"}, 400, -1102, "Mandatory parameter 'symbol'"),
        ({"symbol": "NOPE", "side": "BUY", "type": "MARKET", "quantity": "1"}, 400, -1121, "Invalid symbol."),
        ({"symbol": "BTCUSD", "side": "HOLD", "type": "MARKET", "quantity": "1"}, 400, -1117, "Invalid side."),
        ({"symbol": "BTCUSD", "side": "BUY", "type": "ICEBERG", "quantity": "1"}, 400, -1116, "Invalid orderType."),
        ({"symbol": "BTCUSD", "side": "BUY", "type": "MARKET", "quantity": "-1"}, 400, -1100, "Illegal characters"),
        ({"symbol": "BTCUSD", "side": "BUY", "type": "MARKET"}, 400, -1102, "'quantity' or 'quoteOrderQty'"),
        (
            {"symbol": "BTCUSD", "side": "BUY", "type": "MARKET", "quoteOrderQty": "100.005"},
            400,
            -1111,
            "Parameter 'quoteOrderQty' has too much precision.",
        ),
        (
            {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT", "quantity": "1", "price": "100"},
            400,
            -1102,
            "'timeInForce'",
        ),
        (
            {"symbol": "BTCUSD", "side": "BUY", "type": "MARKET", "quantity": "0.000000001"},
            400,
            -1013,
            "Filter failure: LOT_SIZE",
        ),
        (
            {"symbol": "BTCUSD", "side": "BUY", "type": "MARKET", "quantity": "0.0000001"},
            400,
            -1013,
            "Filter failure: NOTIONAL",
        ),
        (
            {"symbol": "BTCUSD", "side": "BUY", "type": "MARKET", "quantity": "5000"},
            400,
            -1013,
            "Filter failure: LOT_SIZE",
        ),
        (
            {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "0.01", "price": "100.001"},
            400,
            -1013,
            "Filter failure: PRICE_FILTER",
        ),
        (
            {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "0.01", "price": "1000"},
            400,
            -1013,
            "Filter failure: PERCENT_PRICE_BY_SIDE",
        ),
        (
            {
                "symbol": "BTCUSD",
                "side": "BUY",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "10",
                "price": "60000",
            },
            400,
            -2010,
            "Account has insufficient balance",
        ),
        (
            {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT", "timeInForce": "DAY", "quantity": "1", "price": "100"},
            400,
            -1115,
            "Invalid timeInForce.",
        ),
    ],
)
async def test_each_bad_new_order_gets_binances_code_and_words(
    docs_client: DocsClient, binance_venue: PaperVenue, params: dict[str, str], status: int, code: int, msg: str
) -> None:
    answered, body, _ = await docs_client.call("POST", "/api/v3/order", params)
    assert (answered, body["code"]) == (status, code) and msg in body["msg"], body
    assert binance_venue.exchange.owner_orders(API_KEY) == []


async def test_a_post_only_that_would_take_and_a_stop_that_would_trigger_are_rejected(
    docs_client: DocsClient, binance_venue: PaperVenue
) -> None:
    ask = binance_venue.books["BTC-USD"].best_ask()
    assert ask is not None
    _, body, _ = await docs_client.call(
        "POST",
        "/api/v3/order",
        {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT_MAKER", "quantity": "0.01", "price": str(ask)},
    )
    assert (body["code"], body["msg"]) == (-2010, "Order would immediately match and take.")
    last = binance_venue.binance.last_price("BTC-USD")  # type: ignore[union-attr]
    stop = {"symbol": "BTCUSD", "side": "BUY", "type": "STOP_LOSS_LIMIT", "timeInForce": "GTC", "quantity": "0.01"}
    _, body, _ = await docs_client.call(
        "POST", "/api/v3/order", {**stop, "price": str(last), "stopPrice": str(last - 10)}
    )
    assert (body["code"], body["msg"]) == (-2010, "Stop price would trigger immediately.")
    status, body, _ = await docs_client.call(
        "POST", "/api/v3/order", {**stop, "price": str(last + 20), "stopPrice": str(last + 10)}
    )
    assert status == 200 and body["orderId"]


async def test_orders_unknown_duplicated_and_signed_wrongly(docs_client: DocsClient) -> None:
    _, body, _ = await docs_client.call("DELETE", "/api/v3/order", {"symbol": "BTCUSD", "orderId": "12345"})
    assert (body["code"], body["msg"]) == (-2011, "Unknown order sent.")
    _, body, _ = await docs_client.call("GET", "/api/v3/order", {"symbol": "BTCUSD", "orderId": "12345"})
    assert (body["code"], body["msg"]) == (-2013, "Order does not exist.")
    order = {"symbol": "BTCUSD", "side": "SELL", "type": "MARKET", "quantity": "0.01", "newClientOrderId": "same"}
    assert (await docs_client.call("POST", "/api/v3/order", order))[0] == 200
    _, body, _ = await docs_client.call("POST", "/api/v3/order", order)
    assert (body["code"], body["msg"]) == (-2010, "Duplicate order sent.")
    _, body, _ = await docs_client.call("GET", "/api/v3/account", stamp=int(time.time() * 1000) - 60_000)
    assert (body["code"], body["msg"]) == (-1021, "Timestamp for this request is outside of the recvWindow.")
    docs_client.api_key = "nobody"
    status, body, _ = await docs_client.call("GET", "/api/v3/account")
    assert (status, body["code"]) == (401, -2015)
    docs_client.api_key = ""
    status, body, _ = await docs_client.call("GET", "/api/v3/account")
    assert (status, body["code"]) == (401, -2014)


async def test_weight_over_the_minute_is_429_and_sending_through_it_is_a_418_ban() -> None:
    config = VenueConfig(step_interval=0, warmup_steps=10, protocols=("binance",), binance_weight_limit=30)
    async with PaperVenue(config) as venue, aiohttp.ClientSession() as session:
        client = DocsClient(session, venue.rest_url)
        used = []
        for _ in range(6):  # depth weighs 5: the sixth reaches 30
            status, _, headers = await client.call("GET", "/api/v3/depth", {"symbol": "BTCUSD"}, signed=False)
            assert status == 200
            used.append(int(headers["X-MBX-USED-WEIGHT-1M"]))
        if used[-1] < 30:  # a minute turned over meanwhile
            pytest.skip("the weight minute turned during the test")
        assert used == [5, 10, 15, 20, 25, 30]
        statuses = []
        for _ in range(12):
            status, body, headers = await client.call("GET", "/api/v3/depth", {"symbol": "BTCUSD"}, signed=False)
            statuses.append(status)
            assert int(headers["Retry-After"]) >= 1
        assert statuses[0] == 429 and statuses[-1] == 418, statuses
        assert body["code"] == -1003 and "banned until" in body["msg"]


async def test_new_orders_over_ten_seconds_limit_are_429_minus_1015() -> None:
    config = VenueConfig(step_interval=0, warmup_steps=10, protocols=("binance",), binance_order_limit=2)
    async with PaperVenue(config) as venue, aiohttp.ClientSession() as session:
        assert venue.binance is not None
        venue.binance.keys.register(binance_keys.BinanceVerifier(API_KEY, secret=SECRET.encode()))
        client = DocsClient(session, venue.rest_url)
        order = {"symbol": "BTCUSD", "side": "SELL", "type": "MARKET", "quantity": "0.01"}
        answers = [await client.call("POST", "/api/v3/order", order) for _ in range(3)]
        if int(answers[1][2]["X-MBX-ORDER-COUNT-10S"]) != 2:
            pytest.skip("the ten-second window turned during the test")
        status, body, headers = answers[2]
        assert (status, body["code"]) == (429, -1015) and "Too many new orders" in body["msg"]
        assert int(headers["Retry-After"]) >= 1


# -- the engine's client against it -----------------------------------------------------


@pytest.fixture
async def rest(binance_venue: PaperVenue) -> AsyncIterator[BinanceRest]:
    key = BinanceKey(API_KEY, secret=SECRET.encode())
    client = BinanceRest(binance_venue.rest_url, key)
    yield client
    await client.close()


async def test_the_client_reads_the_venues_clock_again_after_minus_1021(rest: BinanceRest) -> None:
    await rest.start()
    rest.clock_offset_ms = -120_000  # as if this machine's clock ran two minutes behind
    account = await rest.call("GET", "/api/v3/account")
    assert account["accountType"] == "SPOT" and abs(rest.clock_offset_ms) < 5_000


async def test_the_client_takes_the_venues_weight_counts(rest: BinanceRest) -> None:
    await rest.call("GET", "/api/v3/exchangeInfo", signed=False)
    await rest.call("GET", "/api/v3/account")
    assert rest.gate.used_weight >= 40  # the venue's own count, from its header


async def test_after_a_418_the_client_sends_nothing_until_the_ban_ends() -> None:
    config = VenueConfig(step_interval=0, warmup_steps=10, protocols=("binance",), binance_weight_limit=10)
    async with PaperVenue(config) as venue:
        client = BinanceRest(venue.rest_url, BinanceKey(API_KEY, secret=SECRET.encode()), retries=0)
        client.gate.weight_limit = 10**9  # a client that ignores the counts, to be banned
        try:
            with pytest.raises(BinanceRestError) as raised:
                for _ in range(40):
                    try:
                        await client.call("GET", "/api/v3/depth", [("symbol", "BTCUSD")], signed=False)
                    except BinanceRestError as exc:
                        if exc.status == 418:
                            raise
            assert raised.value.status == 418 and raised.value.binance_code == -1003
            sent = client.requests
            with pytest.raises(BinanceRestError, match=r"not sent: the venue banned this address for \d+ s more"):
                await client.call("GET", "/api/v3/time", signed=False)
            assert client.requests == sent
        finally:
            await client.close()


async def test_a_key_the_venue_does_not_know_stops_the_start_in_one_line(binance_venue: PaperVenue) -> None:
    config = EngineConfig(
        ws_url=f"{binance_venue.ws_url}/stream",
        venue="binance",
        rest_url=binance_venue.rest_url,
        key=binance_keys.generate_key(),
    )
    engine = Engine(config)
    with pytest.raises(EngineStartError, match=r"HTTP 401 code -2015: Invalid API-key, IP, or permissions") as raised:
        await engine.start()
    assert "\n" not in str(raised.value)
    await engine.stop()


async def test_a_cdp_key_on_binance_is_refused_by_name(binance_venue: PaperVenue) -> None:
    from cryptoj_tui.cdp_keys import generate_key

    config = EngineConfig(
        ws_url=f"{binance_venue.ws_url}/stream", venue="binance", rest_url=binance_venue.rest_url, key=generate_key()
    )
    with pytest.raises(ValueError, match="a CDP \\(Coinbase\\) key cannot trade on binance"):
        config.trading_config()


# -- streams ------------------------------------------------------------------------------


async def test_the_engines_depth_feed_keeps_the_venues_book_exactly() -> None:
    config = VenueConfig(seed=3, step_interval=0.005, warmup_steps=100, protocols=("binance",))
    async with PaperVenue(config) as venue:
        engine_config = EngineConfig(ws_url=f"{venue.ws_url}/stream", venue="binance", rest_url=venue.rest_url)
        async with Engine(engine_config) as engine:
            await engine.subscribe("BTC-USD", "ETH-USD")
            await engine.wait_for_book("BTC-USD")
            await asyncio.sleep(0.5)  # diffs flow on top of the snapshot
            await wait_for_exact_book(engine, venue, "BTC-USD")
            assert book_matches(engine, venue, "BTC-USD")
            assert engine.metrics.gaps == 0
            # The public tape: the venue's own last trade, maker side and all.
            last = engine.tape("BTC-USD").last
            assert last is not None and last.price == venue.tapes["BTC-USD"].last


async def test_market_streams_subscribe_list_and_refuse_unknown_ones(binance_venue: PaperVenue) -> None:
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{binance_venue.ws_url}/ws") as ws:
        await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["btcusd@trade", "btcusd@bookTicker"], "id": 1}))
        assert json.loads((await ws.receive()).data) == {"result": None, "id": 1}
        await ws.send_str(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
        assert json.loads((await ws.receive()).data) == {"result": ["btcusd@bookticker", "btcusd@trade"], "id": 2}
        await ws.send_str(json.dumps({"method": "SUBSCRIBE", "params": ["zzzusd@trade"], "id": 3}))
        refused = json.loads((await ws.receive()).data)
        assert refused["id"] == 3 and refused["error"]["code"] == 2
        binance_venue.create_order(
            "someone",
            {
                "client_order_id": "t",
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": {"market_market_ioc": {"base_size": "0.01"}},
            },
        )
        kinds = set()
        async with asyncio.timeout(5):
            while kinds != {"trade", "bookTicker"}:
                event = json.loads((await ws.receive()).data)
                kinds.add(event.get("e", "bookTicker" if "u" in event else "?"))
                if event.get("e") == "trade":
                    assert event["s"] == "BTCUSD" and event["m"] is False  # the buyer took: not the maker


async def test_the_user_data_stream_over_the_websocket_api(binance_venue: PaperVenue, docs_client: DocsClient) -> None:
    """Subscribe signed as the docs say; a resting order, a trade against it and its cancel come
    as executionReports (with outboundAccountPosition); a bad signature is refused with -1022."""
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{binance_venue.ws_url}/ws-api/v3") as ws:
        stamp = int(time.time() * 1000)
        payload = f"apiKey={API_KEY}&timestamp={stamp}"
        bad = {"apiKey": API_KEY, "timestamp": stamp, "signature": "00" * 32}
        await ws.send_str(json.dumps({"id": "a", "method": "userDataStream.subscribe.signature", "params": bad}))
        answer = json.loads((await ws.receive()).data)
        assert (answer["status"], answer["error"]["code"]) == (400, -1022)
        signature = hmac.new(SECRET.encode(), payload.encode(), hashlib.sha256).hexdigest()
        params = {"apiKey": API_KEY, "timestamp": stamp, "signature": signature}
        await ws.send_str(json.dumps({"id": "b", "method": "userDataStream.subscribe.signature", "params": params}))
        assert json.loads((await ws.receive()).data) == {"id": "b", "status": 200, "result": {"subscriptionId": 0}}

        bid, ask = binance_venue.books["BTC-USD"].best_bid(), binance_venue.books["BTC-USD"].best_ask()
        assert bid is not None and ask is not None
        inside = (bid + (ask - bid) / 2).quantize(D("0.01"), rounding=ROUND_DOWN)  # the new best bid
        assert bid < inside < ask
        order = {
            "symbol": "BTCUSD",
            "side": "BUY",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.02",
            "price": str(inside),
            "newClientOrderId": "ws-1",
        }
        _, placed, _ = await docs_client.call("POST", "/api/v3/order", order)
        binance_venue.create_order(
            "someone",
            {
                "client_order_id": "s",
                "product_id": "BTC-USD",
                "side": "SELL",
                "order_configuration": {"market_market_ioc": {"base_size": "0.01"}},
            },
        )
        await docs_client.call(
            "DELETE",
            "/api/v3/order",
            {"symbol": "BTCUSD", "orderId": str(placed["orderId"]), "newClientOrderId": "cancel-1"},
        )
        reports, positions = [], 0
        async with asyncio.timeout(5):
            while len(reports) < 3:
                event = json.loads((await ws.receive()).data)["event"]
                if event["e"] == "outboundAccountPosition":
                    positions += 1
                    assert {b["a"] for b in event["B"]} == {"BTC", "USD"}
                else:
                    reports.append(event)
        assert [(r["x"], r["X"], r["z"]) for r in reports] == [
            ("NEW", "NEW", "0"),
            ("TRADE", "PARTIALLY_FILLED", "0.01"),
            ("CANCELED", "CANCELED", "0.01"),
        ]
        assert reports[1]["L"] == str(inside) and reports[1]["m"] is True and reports[1]["N"] == "USD"
        assert (reports[2]["c"], reports[2]["C"]) == ("cancel-1", "ws-1") and positions >= 1


@pytest.mark.parametrize("venue_protocol", ["binance"], indirect=True)
async def test_fees_of_a_trade_the_user_stream_missed_are_read_from_the_venues_trades(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """An execution report carries one trade's commission. A trade made while the stream was
    away is told by the reconcile after the reconnect; the next report's cumulative size then
    says the stream missed one, and the order's fees are read from its trades: the engine's
    order ends with exactly the venue's fees."""
    from tests.integration.helpers import drop_connections, venue_order
    from tests.integration.trading_flows.test_trading import another_trader_sells

    bids, asks = quiet_venue.book_levels("BTC-USD")
    inside = (bids[0][0] + (asks[0][0] - bids[0][0]) / 2).quantize(D("0.01"), rounding=ROUND_DOWN)
    order = await trader.place_limit("BTC-USD", "buy", size="0.003", price=inside)
    await trader.wait_for(order, "OPEN")
    quiet_venue.faults.stall_ws(30, time.monotonic())  # nothing reaches the engine from here
    another_trader_sells(quiet_venue, "0.001")
    await drop_connections(quiet_venue)  # the held report goes with the connection
    quiet_venue.faults.clear()
    await trader.wait_for(order, "PARTIALLY_FILLED")  # from the reconcile after the reconnect
    another_trader_sells(quiet_venue, "0.001")
    async with asyncio.timeout(10):
        while order.filled_size < D("0.002"):
            await asyncio.sleep(0.01)
    at_venue = venue_order(quiet_venue, order.order_id)
    assert (order.filled_size, order.fees) == (at_venue.filled_size, at_venue.total_fees)
    assert trader.positions()["BTC-USD"].fees == at_venue.total_fees


@pytest.mark.parametrize("venue_protocol", ["binance"], indirect=True)
async def test_balances_follow_the_user_stream_between_reconciliations(trader: Engine) -> None:
    """outboundAccountPosition after a fill: the balances move at once, not at the next
    reconciliation (30 s away), and the inventory held before the fill stays what it was."""
    before = trader.balances()["BTC"].total
    buy = await trader.place_market("BTC-USD", "buy", size="0.01")
    await trader.wait_for(buy, "FILLED")
    async with asyncio.timeout(5):
        while trader.balances()["BTC"].total != before + D("0.01"):
            await asyncio.sleep(0.01)
    assert trader.inventory()["BTC"] == before


async def test_a_call_waiting_its_turn_when_the_client_closes_is_not_sent(binance_venue: PaperVenue) -> None:
    """Found when a benchmark failed mid-run: the engine stopping closed its REST client while
    work the closing user stream had started waited for the rate limit; the call then crashed
    on the closed session (AttributeError). It now fails as a venue error, naming why."""
    client = BinanceRest(binance_venue.rest_url, BinanceKey(API_KEY, secret=SECRET.encode()), rate=1.0, burst=1)
    await client.start()  # its one token goes on reading the venue's clock
    waiting = asyncio.ensure_future(client.call("GET", "/api/v3/account"))
    await asyncio.sleep(0.05)
    await client.close()
    with pytest.raises(BinanceRestError, match="GET /api/v3/account: not sent: the client was closed"):
        await waiting


async def test_a_refusal_keeps_the_venues_whole_words(binance_venue: PaperVenue) -> None:
    """The engine's refusal names Binance's code and all its words ("Filter failure: ..."; it
    once kept only what followed the last colon)."""
    from cryptoj_tui.engine.adapters.binance.execution_client import BinanceExecutionClient
    from cryptoj_tui.engine.orders import OrderRequest, new_client_order_id

    client = BinanceExecutionClient(BinanceRest(binance_venue.rest_url, BinanceKey(API_KEY, secret=SECRET.encode())))
    try:
        far_below = OrderRequest.parse("BTC-USD", "buy", "limit", "0.01", "1000")
        placed = await client.place(new_client_order_id(), far_below)
        assert placed.refusal == "-1013: Filter failure: PERCENT_PRICE_BY_SIDE" and not placed.order_id
    finally:
        await client.close()


async def test_listing_orders_reads_their_fees_from_one_call_a_symbol(binance_venue: PaperVenue) -> None:
    """Every order listed (recovery, an unanswered placement) comes with its fees, which Binance
    keeps on its trades: the symbol's recent trades are read once, not once per order."""
    from cryptoj_tui.engine.adapters.binance.execution_client import BinanceExecutionClient
    from cryptoj_tui.engine.orders import OrderRequest, new_client_order_id
    from tests.integration.helpers import venue_order

    rest = BinanceRest(binance_venue.rest_url, BinanceKey(API_KEY, secret=SECRET.encode()))
    client = BinanceExecutionClient(rest, ["BTC-USD"])
    try:
        await client.products()
        sold = [
            await client.place(new_client_order_id(), OrderRequest.parse("BTC-USD", "sell", "market", "0.01"))
            for _ in range(5)
        ]
        before = rest.requests
        listed = {o.order_id: o for o in await client.orders()}
        assert rest.requests - before == 3  # openOrders, allOrders and myTrades of BTCUSD
        for placed in sold:
            update = listed[placed.order_id].update
            assert (
                update is not None and update.total_fees == venue_order(binance_venue, placed.order_id).total_fees > 0
            )
    finally:
        await client.close()


async def test_every_symbols_open_orders_weigh_more_than_ones(docs_client: DocsClient) -> None:
    _, _, headers = await docs_client.call("GET", "/api/v3/openOrders", {"symbol": "BTCUSD"})
    first = int(headers["X-MBX-USED-WEIGHT-1M"])
    _, _, headers = await docs_client.call("GET", "/api/v3/openOrders")
    if int(headers["X-MBX-USED-WEIGHT-1M"]) < first:
        pytest.skip("the weight minute turned during the test")
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) - first == 80 and first >= 6


async def test_a_listen_key_streams_the_accounts_events_bare_until_closed(
    binance_venue: PaperVenue, docs_client: DocsClient
) -> None:
    """The docs' older user data stream: POST userDataStream with the API key alone gives a
    listen key (the same one while it is valid); /ws/<listenKey> gets executionReport and
    outboundAccountPosition with no wrapper; PUT keeps it alive; after DELETE it is unknown
    (-1125) and its stream gets nothing more."""
    status, opened, _ = await docs_client.call("POST", "/api/v3/userDataStream", keyed=True)
    assert status == 200 and len(opened["listenKey"]) == 60
    key = opened["listenKey"]
    assert (await docs_client.call("POST", "/api/v3/userDataStream", keyed=True))[1] == {"listenKey": key}
    status, refused, _ = await docs_client.call("POST", "/api/v3/userDataStream", signed=False)
    assert (status, refused["code"]) == (401, -2014)
    async with aiohttp.ClientSession() as session, session.ws_connect(f"{binance_venue.ws_url}/ws/{key}") as ws:
        params = {"symbol": "BTCUSD", "side": "BUY", "type": "MARKET", "quantity": "0.01", "newClientOrderId": "lk-1"}
        status, placed, _ = await docs_client.call("POST", "/api/v3/order", params)
        assert status == 200, placed
        kinds: list[str] = []
        while "outboundAccountPosition" not in kinds:
            event = json.loads((await ws.receive(timeout=5)).data)
            if event["e"] == "executionReport":
                assert event["c"] == "lk-1" and event["s"] == "BTCUSD"
                kinds.append(event["x"])
            else:
                kinds.append(event["e"])
        assert kinds[0] == "NEW" and "TRADE" in kinds
        assert (await docs_client.call("PUT", "/api/v3/userDataStream", {"listenKey": key}, keyed=True))[1] == {}
        assert (await docs_client.call("DELETE", "/api/v3/userDataStream", {"listenKey": key}, keyed=True))[1] == {}
        status, gone, _ = await docs_client.call("PUT", "/api/v3/userDataStream", {"listenKey": key}, keyed=True)
        assert (status, gone) == (400, {"code": -1125, "msg": "This listenKey does not exist."})
        status, missing, _ = await docs_client.call("PUT", "/api/v3/userDataStream", keyed=True)
        assert (status, missing["code"]) == (400, -1102)
        await docs_client.call("POST", "/api/v3/order", {**params, "newClientOrderId": "lk-2"})
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)


async def test_a_listen_key_not_kept_alive_expires_and_its_stream_is_told(
    binance_venue: PaperVenue, docs_client: DocsClient
) -> None:
    assert binance_venue.binance is not None
    binance_venue.binance.listen_keys.ttl = 0.2
    key = (await docs_client.call("POST", "/api/v3/userDataStream", keyed=True))[1]["listenKey"]
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(f"{binance_venue.ws_url}/stream?streams={key}") as ws,
    ):
        await asyncio.sleep(0.3)
        params = {"symbol": "BTCUSD", "side": "BUY", "type": "MARKET", "quantity": "0.01"}
        await docs_client.call("POST", "/api/v3/order", params)
        told = json.loads((await ws.receive(timeout=5)).data)
        assert told["stream"] == key and told["data"]["e"] == "listenKeyExpired" and told["data"]["listenKey"] == key
        with pytest.raises(asyncio.TimeoutError):
            await ws.receive(timeout=0.3)
    status, gone, _ = await docs_client.call("PUT", "/api/v3/userDataStream", {"listenKey": key}, keyed=True)
    assert (status, gone["code"]) == (400, -1125)
    fresh = (await docs_client.call("POST", "/api/v3/userDataStream", keyed=True))[1]["listenKey"]
    assert fresh != key
