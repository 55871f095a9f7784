"""The kill switch and the automatic halts, over real sockets against the paper venue."""

from __future__ import annotations

import asyncio
import os
import time
from decimal import Decimal as D
from pathlib import Path

import pytest

from cryptoj_tui.binance_keys import BinanceKey
from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.events import Alert, TradingStateChanged
from cryptoj_tui.engine.orders import OrderStatus
from cryptoj_tui.engine.risk import RiskLimits, TradingState
from cryptoj_tui.engine.trading import OrderRefusedError
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig
from tests.conftest import BOTH_VENUES, VENUES, key_owner, next_event, trading_config

pytestmark = BOTH_VENUES


async def rest_orders(engine: Engine, count: int, product: str = "BTC-USD", below: int = 100) -> list:
    """`count` small passive buys, `below` and more under the best bid."""
    bid = engine.book(product).best_bid()
    assert bid is not None
    return list(
        await asyncio.gather(
            *(engine.place_limit(product, "buy", size="0.001", price=bid[0] - below - n) for n in range(count))
        )
    )


async def test_kill_switch_with_hundreds_of_orders_while_the_market_floods(trading_key: CdpKey | BinanceKey) -> None:
    """Scenario: 300 working orders on a venue stepping every millisecond; ctrl+k. New orders are
    refused at once, every order is cancelled at the venue, and the report says so."""
    limits = RiskLimits(max_open_orders=1000, max_orders_per_second=1000)
    async with PaperVenue(
        VenueConfig(seed=11, step_interval=0.001, warmup_steps=50, rate_limit=0, protocols=VENUES)
    ) as venue:
        async with Engine(trading_config(venue, trading_key, limits=limits, rest_rate=2000)) as engine:
            await engine.subscribe("BTC-USD")
            await engine.wait_for_book("BTC-USD")
            orders = await rest_orders(engine, 300, below=2000)
            assert all(o.status in (OrderStatus.OPEN, OrderStatus.PARTIALLY_FILLED) for o in orders)
            placing = asyncio.ensure_future(rest_orders(engine, 1))
            started = time.monotonic()
            report = await engine.kill_switch("test: flood")
            elapsed = time.monotonic() - started
            assert engine.state is TradingState.HALTED and report.refusing_after < 0.01
            with pytest.raises(OrderRefusedError, match="HALTED"):
                await placing
            assert report.failed == () and len(report.cancelled) >= 295  # a few may have filled first
            assert all(o.status.is_final for o in orders)
            venue_open = [o for o in venue.exchange.owner_orders(key_owner(trading_key)) if o.status == "OPEN"]
            assert venue_open == [] and elapsed < 5


async def test_halt_survives_a_restart_and_rearm_is_journalled(
    quiet_venue: PaperVenue, trading_key: CdpKey | BinanceKey, tmp_path: Path
) -> None:
    """Scenario: kill switch, engine stops, engine starts on the same journal: still HALTED until rearm."""
    config = trading_config(quiet_venue, trading_key, journal_path=tmp_path / "journal.db")
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        await rest_orders(engine, 3)
        report = await engine.kill_switch("end of day")
        assert len(report.cancelled) == 3
    async with Engine(config) as engine:
        events = engine.events()
        assert engine.state is TradingState.HALTED
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        with pytest.raises(OrderRefusedError, match=r"HALTED \(end of day\)"):
            await rest_orders(engine, 1)
        with pytest.raises(ValueError, match="needs a reason"):
            engine.rearm(" ")
        engine.rearm("trader checked the books")
        changed = await next_event(events, lambda e: isinstance(e, TradingStateChanged) and e.state == "ACTIVE")
        assert "trader checked the books" in changed.reason  # type: ignore[attr-defined]
        assert len(await rest_orders(engine, 1)) == 1
        assert engine.trading is not None
        kinds = [kind for _, kind, _ in engine.trading.journal.events()]
        assert "kill_switch" in kinds and kinds.count("state") >= 2


async def test_a_reject_storm_halts_trading(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: the venue rejects ten orders in a row; the engine halts by itself."""
    trader.set_limit("reject_storm", "5", reason="test")
    events = trader.events()
    quiet_venue.faults.reject_orders("INSUFFICIENT_FUND", count=10)
    for _ in range(5):
        await rest_orders(trader, 1)
    halted = await next_event(events, lambda e: isinstance(e, TradingStateChanged) and e.state == "HALTED")
    assert "5 rejects/errors within 10s" in halted.reason  # type: ignore[attr-defined]


@pytest.mark.parametrize(("limit", "name"), [("daily_loss_limit", "daily loss"), ("max_drawdown", "drawdown")])
async def test_a_loss_breach_halts_and_cancels(trader: Engine, limit: str, name: str) -> None:
    """Scenario: buy, then a loss limit is set below the loss already made (fees alone): warn, halt."""
    buy = await trader.place_market("BTC-USD", "buy", size="0.1")
    await trader.wait_for(buy, "FILLED")
    resting = await rest_orders(trader, 2)
    events = trader.events()
    assert trader.trading is not None
    trader.trading.check_triggers()  # nothing yet: the limits are far away
    assert trader.state is TradingState.ACTIVE
    trader.set_limit(limit, "0.01", reason="test")
    trader.trading.check_triggers()
    halted = await next_event(events, lambda e: isinstance(e, TradingStateChanged) and e.state == "HALTED")
    assert name in halted.reason  # type: ignore[attr-defined]
    await next_event(events, lambda e: isinstance(e, Alert) and "kill switch" in e.message)
    assert all(o.status is OrderStatus.CANCELLED for o in resting)


async def test_stale_market_data_with_working_orders_halts(trader: Engine, quiet_venue: PaperVenue) -> None:
    """Scenario: orders are working and the book stops updating for longer than allowed."""
    await rest_orders(trader, 1)
    trader.set_limit("stale_halt_after", "0.05", reason="test")
    events = trader.events()
    await asyncio.sleep(0.1)  # the quiet venue sends nothing: the book's age grows
    assert trader.trading is not None
    trader.trading.check_triggers()
    halted = await next_event(events, lambda e: isinstance(e, TradingStateChanged) and e.state == "HALTED")
    assert "market data stale for BTC-USD" in halted.reason  # type: ignore[attr-defined]


async def test_flatten_sells_the_position_and_leaves_the_inventory_held_before(trader: Engine) -> None:
    """Scenario: the account starts with 2 BTC, buys 1; kill switch with flatten: a market sell
    of 1 goes out and fills, and the 2 it held before are still there (never dumped)."""
    held_before = trader.balances()["BTC"].total
    assert held_before > 0 and trader.inventory()["BTC"] == held_before
    buy = await trader.place_market("BTC-USD", "buy", size="1")
    await trader.wait_for(buy, "FILLED")
    await trader.reconcile("test")
    assert trader.inventory()["BTC"] == held_before and trader.balances()["BTC"].total == held_before + 1
    report = await trader.kill_switch("flatten test", flatten=True)
    assert len(report.flattened) == 1
    assert trader.trading is not None
    flat = trader.trading.execution.orders[report.flattened[0]]
    await trader.wait_for(flat, "FILLED")
    assert trader.positions()["BTC-USD"].quantity == D(0)
    await trader.reconcile("test")
    assert trader.balances()["BTC"].total == held_before and trader.inventory()["BTC"] == held_before


async def test_an_unwritable_journal_halts_trading_with_a_clear_error(trader: Engine) -> None:
    """Scenario: the journal's disk goes away (closed file): the order is not sent, trading halts."""
    assert trader.trading is not None
    trader.trading.journal.close()
    with pytest.raises(OrderRefusedError, match="not sent: journal :memory:: cannot write"):
        await rest_orders(trader, 1)
    assert trader.state is TradingState.HALTED


async def test_a_journal_that_cannot_flush_an_intent_halts_trading_and_the_order_stays_tracked(
    quiet_venue: PaperVenue, trading_key: CdpKey | BinanceKey, tmp_path: Path
) -> None:
    """Scenario: the journal's disk stops flushing (fdatasync fails) after an intent was written and
    its order sent. The order is at the venue and stays tracked; trading halts, naming the journal."""
    path = tmp_path / "journal.db"
    async with Engine(trading_config(quiet_venue, trading_key, journal_path=path)) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        assert engine.trading is not None and engine.trading.journal._wal_fd is not None
        null = os.open(os.devnull, os.O_RDONLY)
        os.dup2(null, engine.trading.journal._wal_fd)  # /dev/null refuses fdatasync
        os.close(null)
        events = engine.events()
        (order,) = await rest_orders(engine, 1)
        assert order.status is OrderStatus.OPEN
        halted = await next_event(events, lambda e: isinstance(e, TradingStateChanged) and e.state == "HALTED")
        assert halted.reason == f"journal {path}: cannot sync: Invalid argument"  # type: ignore[attr-defined]
        assert engine.open_orders() == [order]
        with pytest.raises(OrderRefusedError, match="HALTED"):
            await rest_orders(engine, 1)


async def test_a_failing_scheduled_job_is_reported_not_swallowed(
    quiet_venue: PaperVenue, trading_key: CdpKey | BinanceKey
) -> None:
    """Scenario: the periodic reconciliation meets a venue answering 500; an alert names the job."""
    config = trading_config(quiet_venue, trading_key, reconcile_every=0.05)
    async with Engine(config) as engine:
        assert engine.trading is not None
        events = engine.events()
        quiet_venue.faults.fail_rest(500, count=100)
        alert = await next_event(events, lambda e: isinstance(e, Alert) and "scheduled job" in e.message)
        assert "_reconcile_job failed" in alert.message and "HTTP 500" in alert.message  # type: ignore[attr-defined]
        jobs = {job.id: job for job in engine.trading.scheduled_jobs()}
        assert set(jobs) == {"_reconcile_job", "_trigger_job", "_daily_reset_job", "_checkpoint_job"}
        assert all(job.max_instances == 1 and job.coalesce for job in jobs.values())
        assert jobs["_reconcile_job"].seconds == 0.05
        # Failing the same way again and again is one alert, not one a run; getting well is one more.
        failures_left = quiet_venue.faults.rest_count
        await asyncio.sleep(0.5)
        assert quiet_venue.faults.rest_count <= failures_left - 8  # it ran and failed again, twice or more
        quiet_venue.faults.clear()
        seen: list[str] = []
        async with asyncio.timeout(10):
            async for event in events:
                if isinstance(event, Alert) and "scheduled job _reconcile_job" in event.message:
                    seen.append(event.message)
                    if "works again" in event.message:
                        break
        assert seen == ["scheduled job _reconcile_job works again"], seen


async def test_venue_restart_mid_flow_loses_no_fill_and_trading_goes_on(
    trader: Engine, quiet_venue: PaperVenue
) -> None:
    """Scenario: a resting buy is working when the venue fails over (every socket cut, nothing
    listening for a moment); while it is away, another trader fills our order. When it is back
    the engine reconnects both feeds, learns of the fill, its position is the venue's, the book
    is live again and the next order goes through."""
    from cryptoj_tui.engine.events import ConnectionStatus
    from tests.integration.helpers import assert_position_matches_venue_fills

    bids, asks = quiet_venue.book_levels("BTC-USD")
    price = (bids[0][0] + (asks[0][0] - bids[0][0]) / 2).quantize(D("0.01"))
    order = await trader.place_limit("BTC-USD", "buy", size="0.002", price=price, post_only=True)
    await trader.wait_for(order, "OPEN")
    events = trader.events()
    restarting = asyncio.ensure_future(quiet_venue.restart(down_for=0.3))
    await next_event(events, lambda e: isinstance(e, ConnectionStatus) and e.state != "connected")
    quiet_venue.create_order(
        "another-trader",
        {
            "client_order_id": "fill-while-away",
            "product_id": "BTC-USD",
            "side": "SELL",
            "order_configuration": {"market_market_ioc": {"base_size": "0.002"}},
        },
    )
    await restarting
    await trader.wait_for(order, "FILLED")
    assert_position_matches_venue_fills(trader, quiet_venue, [order.order_id])
    await trader.wait_for_book("BTC-USD")
    after = await trader.place_market("BTC-USD", "sell", size="0.002")
    await trader.wait_for(after, "FILLED")
    assert trader.positions()["BTC-USD"].quantity == 0 and trader.state is TradingState.ACTIVE


async def test_the_scheduled_trigger_job_halts_on_each_trigger_by_itself(
    quiet_venue: PaperVenue, trading_key: CdpKey | BinanceKey
) -> None:
    """Scenario: nobody calls check_triggers: the engine's own job (every 0.05 s here) halts on a
    daily loss, then (re-armed) on a drawdown, then on stale market data with orders working."""
    config = trading_config(quiet_venue, trading_key, trigger_check_every=0.05)
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        assert engine.trading is not None and engine.trading.scheduled_jobs()[0].seconds > 0
        events = engine.events()
        for limit, reason in (("daily_loss_limit", "daily loss"), ("max_drawdown", "drawdown")):
            buy = await engine.place_market("BTC-USD", "buy", size="0.1")  # its fee is a loss (re-arming
            await engine.wait_for(buy, "FILLED")  # starts the drawdown from the PnL of the moment)
            engine.set_limit(limit, "0.01", reason="test")
            halted = await next_event(events, lambda e: isinstance(e, TradingStateChanged) and e.state == "HALTED")
            assert reason in halted.reason  # type: ignore[attr-defined]
            engine.set_limit(limit, "100000", reason="test")
            engine.rearm("test")
            assert engine.state is TradingState.ACTIVE
        (working,) = await rest_orders(engine, 1)
        engine.set_limit("stale_halt_after", "0.2", reason="test")  # the quiet venue's book does not move
        halted = await next_event(events, lambda e: isinstance(e, TradingStateChanged) and e.state == "HALTED")
        assert "market data stale for BTC-USD" in halted.reason  # type: ignore[attr-defined]
        await engine.wait_done(working)  # the kill switch the trigger ran cancels it
        assert working.status is OrderStatus.CANCELLED and engine.open_orders() == []
