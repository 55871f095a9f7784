"""Risk over real sockets: every pre-trade refusal, REDUCING, limits changed while trading, and
the daily loss reset the scheduler runs on an injected clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

from cryptoj_tui.binance_keys import BinanceKey
from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.events import Alert, OrderRefused, RiskLimitChanged
from cryptoj_tui.engine.risk import TradingState
from cryptoj_tui.engine.trading import OrderRefusedError
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import BOTH_VENUES, next_event, trading_config
from tests.integration.helpers import best

pytestmark = BOTH_VENUES


@pytest.mark.parametrize(
    ("limit", "value", "order", "refusal"),
    [
        ("max_order_size", "0.1", {"size": "0.2"}, "size 0.2 is over the max order size 0.1"),
        ("max_order_size", "10", {"size": "0.000000001"}, "size 0.000000001 is not a multiple of the base increment"),
        ("max_order_size", "10", {"size": "0.01", "offset": D("0.005")}, "is not a multiple of the price increment"),
        ("max_order_notional", "100", {"size": "0.01"}, "over the max order notional 100"),
        ("max_order_size", "10", {"size": "0.00001"}, "is under the venue's minimum order value 1"),
        ("price_collar_pct", "1", {"size": "0.01", "through": D("1.05")}, "through mid"),
        ("max_position", "0.005", {"size": "0.01"}, "over the max position 0.005"),
        ("max_open_orders", "1", {"size": "0.01", "twice": True}, "1 orders already open, the max is 1"),
        ("max_orders_per_second", "1", {"size": "0.01", "twice": True}, "order rate over 1 a second"),
        ("fee_estimate_bps", "1", {"size": "1.6"}, "only 100000 is available"),  # 1.6 BTC at ~65k
    ],
)
async def test_each_risk_check_refuses_with_its_reason(
    trader: Engine, limit: str, value: str, order: dict, refusal: str
) -> None:
    """Scenario: a limit is lowered at run time; the next order breaks it and is refused, by name."""
    trader.set_limit(limit, value, reason="test")
    trader.set_limit("max_order_size", "10", reason="test") if limit != "max_order_size" else None
    bid, _ = best(trader)
    price = (bid * order["through"]).quantize(D("0.01")) if "through" in order else bid - 100 + order.get("offset", 0)
    events = trader.events()
    if order.get("twice"):
        await trader.place_limit("BTC-USD", "buy", size=order["size"], price=price)
    with pytest.raises(OrderRefusedError, match=refusal) as raised:
        await trader.place_limit("BTC-USD", "buy", size=order["size"], price=price)
    refused = await next_event(events, lambda e: isinstance(e, OrderRefused))
    assert refused == OrderRefused(product_id="BTC-USD", reason=str(raised.value))  # the event says the same, whole


async def test_a_sell_needs_the_base_currency(trader: Engine) -> None:
    """Scenario: sell more BTC than the account holds."""
    trader.set_limit("max_order_size", "100", reason="test")
    trader.set_limit("max_position", "100", reason="test")
    _, ask = best(trader)
    with pytest.raises(OrderRefusedError, match="sell 3 but only 2 available"):
        await trader.place_limit("BTC-USD", "sell", size="3", price=ask + 100)


async def test_reducing_only_allows_orders_that_shrink_the_position(trader: Engine) -> None:
    """Scenario: long 0.02, REDUCING: a buy is refused, a sell of 0.01 goes, a sell of 0.05 does not."""
    buy = await trader.place_market("BTC-USD", "buy", size="0.02")
    await trader.wait_for(buy, "FILLED")
    assert trader.trading is not None
    trader.trading.emergency.set_state(TradingState.REDUCING, "test")
    with pytest.raises(OrderRefusedError, match="REDUCING"):
        await trader.place_market("BTC-USD", "buy", size="0.01")
    with pytest.raises(OrderRefusedError, match="REDUCING"):
        await trader.place_market("BTC-USD", "sell", size="0.05")
    sell = await trader.place_market("BTC-USD", "sell", size="0.01")
    await trader.wait_for(sell, "FILLED")


async def test_a_limit_loosened_at_run_time_lets_the_next_order_through(trader: Engine) -> None:
    """Scenario: max order size 0.1 refuses 0.2; raised to 1 while trading, the same order goes;
    each change is published with who asked and why."""
    events = trader.events()
    trader.set_limit("max_order_size", "0.1", reason="desk: tighten")
    changed = await next_event(events, lambda e: isinstance(e, RiskLimitChanged))
    assert (changed.limit, changed.old, changed.new, changed.reason) == (  # type: ignore[attr-defined]
        "max_order_size",
        "5",
        "0.1",
        "desk: tighten",
    )
    bid, _ = best(trader)
    with pytest.raises(OrderRefusedError, match=r"over the max order size 0\.1"):
        await trader.place_limit("BTC-USD", "buy", size="0.2", price=bid - 100)
    trader.set_limit("max_order_size", "1", reason="desk: loosen")
    order = await trader.place_limit("BTC-USD", "buy", size="0.2", price=bid - 100)
    await trader.wait_for(order, "OPEN")


@pytest.mark.parametrize(
    ("name", "value", "error"),
    [
        ("max_order_size", "-1", "max_order_size"),
        ("max_order_size", "lots", "is not a number"),
        ("max_leverage", "2", "unknown risk limit 'max_leverage'"),
    ],
)
async def test_a_bad_limit_change_is_refused_and_the_old_limit_stands(
    trader: Engine, name: str, value: str, error: str
) -> None:
    """Scenario: a typo'd limit change while trading: one clear error, nothing changes."""
    before = trader.trading.risk.limits  # type: ignore[union-attr]
    with pytest.raises(ValueError, match=error):
        trader.set_limit(name, value, reason="typo")
    assert trader.trading.risk.limits == before  # type: ignore[union-attr]
    bid, _ = best(trader)
    order = await trader.place_limit("BTC-USD", "buy", size="0.01", price=bid - 100)
    await trader.wait_for(order, "OPEN")


class SteppedClock:
    """A wall clock the test moves by hand."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


async def test_the_scheduler_resets_the_daily_loss_when_the_trading_day_turns(
    quiet_venue: PaperVenue, trading_key: CdpKey | BinanceKey
) -> None:
    """Scenario: days start at 13:30 UTC. A market buy costs the spread and a fee: today's loss
    is above 0. At 13:29:59 nothing happens; once the clock reads 13:30 the scheduler's job
    starts a new day: an alert says so and the daily loss is 0 again (the drawdown is not reset)."""
    clock = SteppedClock(datetime(2026, 11, 25, 13, 29, 58, tzinfo=UTC))
    config = trading_config(
        quiet_venue, trading_key, daily_reset_utc="13:30", wall_clock=clock, trigger_check_every=0.05
    )
    async with Engine(config) as engine:
        await engine.subscribe("BTC-USD")
        await engine.wait_for_book("BTC-USD")
        emergency = engine.trading.emergency  # type: ignore[union-attr]
        buy = await engine.place_market("BTC-USD", "buy", size="0.01")
        await engine.wait_for(buy, "FILLED")
        daily_loss, drawdown = emergency.losses()
        assert daily_loss > 0 and drawdown == daily_loss
        events = engine.events()
        clock.now += timedelta(seconds=1)  # 13:29:59: still the same trading day
        with pytest.raises(TimeoutError):
            await next_event(events, lambda e: isinstance(e, Alert) and "new trading day" in e.message, timeout=0.3)
        assert emergency.losses()[0] == daily_loss
        clock.now += timedelta(seconds=1)  # 13:30:00
        await next_event(events, lambda e: isinstance(e, Alert) and "new trading day" in e.message)
        assert emergency.losses() == (D(0), drawdown)
        assert engine.state is TradingState.ACTIVE
