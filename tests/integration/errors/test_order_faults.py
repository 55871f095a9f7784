"""Venue faults during order flow: 500s, answers that never come, failed cancels, orders the
engine did not place, and a key the venue does not know."""

from __future__ import annotations

import re
import time
from decimal import ROUND_DOWN
from decimal import Decimal as D
from pathlib import Path

import pytest

from cryptoj_tui.binance_keys import BinanceKey
from cryptoj_tui.cdp_keys import CdpKey, generate_key
from cryptoj_tui.engine import Engine, EngineStartError
from cryptoj_tui.engine.adapters.binance.execution_client import BinanceExecutionClient
from cryptoj_tui.engine.adapters.coinbase.auth import JwtSigner
from cryptoj_tui.engine.adapters.coinbase.execution_client import CoinbaseExecutionClient
from cryptoj_tui.engine.adapters.coinbase.parsing import order_configuration
from cryptoj_tui.engine.adapters.coinbase.rest import CoinbaseRest, RestError
from cryptoj_tui.engine.events import Alert, Reconciled
from cryptoj_tui.engine.orders import OrderStatus
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import BOTH_VENUES, key_owner, next_event, trading_config
from tests.integration.helpers import drop_connections, owner


def passive(engine: Engine) -> str:
    bid = engine.book("BTC-USD").best_bid()
    assert bid is not None
    return str(bid[0] - 100)


@BOTH_VENUES
async def test_a_placement_the_venue_keeps_failing_ends_failed_with_the_reason(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: every try answers 500; the order is FAILED (not guessed open), saying why."""
    quiet_venue.faults.fail_rest(500, count=10)
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=passive(trader))
    assert order.status is OrderStatus.FAILED and "HTTP 500" in order.reason
    quiet_venue.faults.clear()
    assert [o for o in quiet_venue.exchange.owner_orders(owner(trader))] == []


@BOTH_VENUES
async def test_an_unanswered_placement_is_resolved_by_asking_and_a_late_arrival_is_taken_in(
    quiet_venue: PaperVenue, trading_key: CdpKey | BinanceKey
) -> None:
    """Scenario: no answer to any try nor to the question that follows: the order is FAILED, not
    guessed. Then the venue acts on the request after all (as a real venue may, when only the
    answer was lost) and the user channel reports it: the venue wins, with an alert."""
    async with Engine(trading_config(quiet_venue, trading_key, rest_timeout=0.1)) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        events = engine.events()
        quiet_venue.faults.slow_rest(2.0)  # past every try and the question after them
        price = passive(engine)
        order = await engine.place_limit("BTC-USD", "buy", size="0.01", price=price)
        quiet_venue.faults.slow_rest(0)
        assert order.status is OrderStatus.FAILED and "could not be asked" in order.reason
        assert quiet_venue.exchange.owner_orders(key_owner(trading_key)) == []  # aiohttp dropped the late requests
        quiet_venue.create_order(
            key_owner(trading_key),
            {
                "client_order_id": order.client_order_id,
                "product_id": "BTC-USD",
                "side": "BUY",
                "order_configuration": order_configuration(order.request),
            },
        )
        alert = await next_event(events, lambda e: isinstance(e, Alert) and "after it was given up" in e.message)
        assert order.client_order_id in alert.message  # type: ignore[attr-defined]
        await engine.wait_for(order, "OPEN")


@BOTH_VENUES
async def test_an_unanswered_placement_the_venue_never_saw_is_failed(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: the connection is refused for every try (429 with a long Retry-After would do the
    same); asking the venue afterwards finds nothing: FAILED, nothing sent twice."""
    assert trader.trading is not None
    assert isinstance(trader.trading.client, CoinbaseExecutionClient | BinanceExecutionClient)
    rest = trader.trading.client.rest
    real = rest.base_url
    rest.base_url = "http://127.0.0.1:9"  # nothing listens: no answer at all
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=passive(trader))
    rest.base_url = real
    # Coinbase's create is idempotent: it is tried four times; a Binance order is sent once.
    assert order.status is OrderStatus.FAILED and re.search("no answer after [14] tries", order.reason)


@BOTH_VENUES
async def test_a_cancel_the_venue_fails_leaves_the_order_working_and_says_why(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: batch_cancel answers 500 on every try."""
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=passive(trader))
    quiet_venue.faults.fail_rest(500, count=10)
    cancelled, failed = await trader.cancel(order)
    quiet_venue.faults.clear()
    assert cancelled == [] and failed[0][0] is order and "HTTP 500" in failed[0][1]
    assert order.status is OrderStatus.OPEN
    cancelled, failed = await trader.cancel(order)
    assert cancelled == [order] and not failed


@BOTH_VENUES
async def test_an_order_placed_elsewhere_with_our_key_is_reported_tracked_and_cancelled_by_the_kill_switch(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: another program using the same key places an order; the user channel shows it.
    The engine reports it, tracks it (read from the venue) and its kill switch cancels it."""
    events = trader.events()
    assert trader.config.key is not None
    price = passive(trader)
    quiet_venue.create_order(
        owner(trader),
        {
            "client_order_id": "elsewhere",
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"limit_limit_gtc": {"base_size": "0.01", "limit_price": price}},
        },
    )
    report = await next_event(events, lambda e: isinstance(e, Reconciled) and e.kind == "unknown_open_order")
    assert report.client_order_id == "elsewhere"  # type: ignore[attr-defined]
    assert report.detail == f"open at the venue, unknown here: now tracked (limit BUY 0.01 BTC-USD @ {price})"  # type: ignore[attr-defined]
    (order,) = trader.orders()
    assert order.client_order_id == "elsewhere" and order.status is OrderStatus.OPEN
    kill = await trader.kill_switch("test: orders from elsewhere too")
    assert kill.cancelled == ("elsewhere",)
    assert [o.status for o in quiet_venue.exchange.owner_orders(owner(trader))] == ["CANCELLED"]


@BOTH_VENUES
async def test_an_unknown_order_the_venue_will_not_show_is_reported_not_tracked(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: the user channel shows an order the engine does not know, and reading it from the
    venue fails (500 on every try): reported with the reason, nothing tracked, trading goes on."""
    events = trader.events()
    assert trader.config.key is not None
    quiet_venue.faults.fail_rest(500, count=10)
    quiet_venue.create_order(
        owner(trader),
        {
            "client_order_id": "elsewhere",
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"limit_limit_gtc": {"base_size": "0.01", "limit_price": passive(trader)}},
        },
    )
    report = await next_event(events, lambda e: isinstance(e, Reconciled) and e.kind == "unknown_open_order")
    quiet_venue.faults.clear()
    assert "open at the venue, unknown here, cannot be read: " in report.detail and "HTTP 500" in report.detail  # type: ignore[attr-defined]
    assert trader.orders() == [] and trader.state.name == "ACTIVE"


async def test_a_key_the_venue_does_not_know_stops_the_start_with_a_clear_error(quiet_venue: PaperVenue) -> None:
    """Scenario: a valid key file whose key was never registered."""
    engine = Engine(
        trading_config(quiet_venue, generate_key()).__class__(ws_url=quiet_venue.ws_url, key=generate_key())
    )
    with pytest.raises(
        EngineStartError,
        match=r"^cannot start trading at http://127\.0\.0\.1:\d+: GET /api/v3/brokerage/"
        r"\S+: HTTP 401 UNAUTHORIZED: the venue refused the API key: it does not know the key",
    ) as refused:
        await engine.start()
    assert "\n" not in str(refused.value)
    await engine.stop()


async def test_a_gap_and_garbage_on_the_user_channel_lead_to_reconciliation(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: the venue skips sequence numbers and sends a broken frame on every connection;
    the user connection counts both and reconciles orders over REST, which finds what it missed."""
    assert trader.trading is not None
    user = trader.trading.user_feed
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=passive(trader))
    events = trader.events()
    quiet_venue.feed.send_malformed('{"channel":"user","sequence_num":')
    quiet_venue.feed.skip_sequence(2)
    # The order is cancelled at the venue and the frame saying so is lost (the gap): only
    # reconciliation can tell.
    quiet_venue.exchange.cancel_orders(owner(trader), [order.order_id])
    quiet_venue.exchange.take_changed_orders()
    await trader.place_limit("BTC-USD", "buy", size="0.01", price=passive(trader))  # a frame after the gap
    gone = await next_event(events, lambda e: isinstance(e, Reconciled) and e.kind == "order_gone")
    assert gone.client_order_id == order.client_order_id  # type: ignore[attr-defined]
    assert order.status is OrderStatus.CANCELLED
    assert user.metrics.gaps >= 1 and user.metrics.decode_errors >= 1 and user.state == "connected"


async def test_an_expired_jwt_is_a_clear_401_not_a_retry_storm(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]
) -> None:
    """Scenario: this machine's clock is ten minutes slow, so every JWT we sign has already
    expired by the venue's clock: the venue answers 401 "Unauthorized" (as Coinbase: it says no
    more), our client says in one line what can cause it, the clock among them, after one request
    (a 401 is not retried), and with the clock right it works."""
    _, key = api_key
    quiet_venue.keys.register(key.name, key.public_key())
    slow = CoinbaseRest(quiet_venue.rest_url, JwtSigner(key, clock=lambda: time.time() - 600))
    right = CoinbaseRest(quiet_venue.rest_url, JwtSigner(key))
    try:
        with pytest.raises(RestError, match=r"HTTP 401 UNAUTHORIZED: .*clock is more than two minutes off") as raised:
            await slow.accounts()
        assert "\n" not in str(raised.value) and slow.requests == 1
        assert await right.accounts()
    finally:
        await slow.close()
        await right.close()


@BOTH_VENUES
async def test_a_fill_just_before_a_cancel_told_on_a_lost_connection_is_found_at_the_next_reconciliation(
    quiet_venue: PaperVenue, trading_key: CdpKey | BinanceKey
) -> None:
    """Chaos seed 3 (5 minutes): an order partly filled just before its cancel; the venue's ack
    of the cancel came over REST while the fill's news sat on a user channel that then dropped.
    The order was CANCELLED here with its old totals, and finished orders were never read again:
    the fill was lost from the position. An order cancelled on an ack is now read again at the
    next reconciliation (the user channel's reconnect runs one) until the venue tells its end."""
    async with Engine(trading_config(quiet_venue, trading_key)) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        bid, ask = quiet_venue.book_levels("BTC-USD")[0][0][0], quiet_venue.book_levels("BTC-USD")[1][0][0]
        inside = (bid + (ask - bid) / 2).quantize(D("0.01"), rounding=ROUND_DOWN)  # the new best bid
        assert bid < inside < ask
        order = await engine.place_limit("BTC-USD", "buy", size="0.01", price=inside)
        await engine.wait_for(order, "OPEN")
        events = engine.events()
        quiet_venue.faults.stall_ws(30, time.monotonic())  # nothing reaches the engine from here
        quiet_venue.create_order(
            "another-trader",
            {
                "client_order_id": "x1",
                "product_id": "BTC-USD",
                "side": "SELL",
                "order_configuration": {"market_market_ioc": {"base_size": "0.004"}},
            },
        )
        cancelled, _ = await engine.cancel(order)
        assert cancelled == [order] and order.status is OrderStatus.CANCELLED and order.filled_size == 0
        await drop_connections(quiet_venue)  # the held frames go with the connections
        quiet_venue.faults.clear()
        found = await next_event(events, lambda e: isinstance(e, Reconciled) and e.kind == "missed_fill")
        assert found.client_order_id == order.client_order_id  # type: ignore[attr-defined]
        assert order.filled_size == D("0.004") and order.status is OrderStatus.CANCELLED
        assert engine.positions()["BTC-USD"].quantity == D("0.004")


@BOTH_VENUES
async def test_a_fill_just_before_a_cancel_never_told_before_a_stop_counts_at_the_next_start(
    quiet_venue: PaperVenue, trading_key: CdpKey | BinanceKey, tmp_path: Path
) -> None:
    """The same, but the engine stops before anything tells it the fill: its journal has the order
    CANCELLED with the old totals. The next start reads the venue's word on the journal's finished
    orders too, counts the fill and reports it."""
    journal = tmp_path / "journal.db"
    async with Engine(trading_config(quiet_venue, trading_key, journal_path=journal)) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        bid, ask = quiet_venue.book_levels("BTC-USD")[0][0][0], quiet_venue.book_levels("BTC-USD")[1][0][0]
        inside = (bid + (ask - bid) / 2).quantize(D("0.01"), rounding=ROUND_DOWN)
        order = await engine.place_limit("BTC-USD", "buy", size="0.01", price=inside)
        await engine.wait_for(order, "OPEN")
        quiet_venue.faults.stall_ws(30, time.monotonic())
        quiet_venue.create_order(
            "another-trader",
            {
                "client_order_id": "x2",
                "product_id": "BTC-USD",
                "side": "SELL",
                "order_configuration": {"market_market_ioc": {"base_size": "0.003"}},
            },
        )
        await engine.cancel(order)
        assert order.status is OrderStatus.CANCELLED and order.filled_size == 0
    quiet_venue.faults.clear()
    async with Engine(trading_config(quiet_venue, trading_key, journal_path=journal)) as again:
        assert again.positions()["BTC-USD"].quantity == D("0.003")
        found = again.order(order.client_order_id)
        assert found.status is OrderStatus.CANCELLED and found.filled_size == D("0.003")
        assert again.trading is not None
        details = [detail for _, kind, detail in again.trading.journal.events() if kind == "reconcile.missed_fill"]
        assert details == [f"{order.client_order_id} {order.order_id}: filled 0 -> 0.003 after it ended here"]
