"""The halt triggers at their thresholds, and what the kill switch reports (found by the
mutation check, `make mutation`). Real components throughout; the REST client points at a
closed port and is never reached unless a test says so."""

from __future__ import annotations

from decimal import Decimal as D

import pytest

from cryptoj_tui.cdp_keys import generate_key
from cryptoj_tui.engine.adapters.coinbase.auth import JwtSigner
from cryptoj_tui.engine.adapters.coinbase.execution_client import CoinbaseExecutionClient
from cryptoj_tui.engine.adapters.coinbase.rest import CoinbaseRest
from cryptoj_tui.engine.bus import EventBus, Subscription
from cryptoj_tui.engine.emergency import Emergency
from cryptoj_tui.engine.events import Alert, Event
from cryptoj_tui.engine.execution import Execution
from cryptoj_tui.engine.journal import Journal
from cryptoj_tui.engine.portfolio import Portfolio
from cryptoj_tui.engine.risk import RiskLimits, RiskManager


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def parts() -> tuple[Emergency, Portfolio, EventBus, Clock]:
    bus, journal, portfolio, clock = EventBus(), Journal(":memory:"), Portfolio(), Clock()
    risk = RiskManager(RiskLimits(daily_loss_limit=D("100"), max_drawdown=D("200"), reject_storm=3, storm_window=10))
    execution = Execution(
        CoinbaseExecutionClient(CoinbaseRest("http://127.0.0.1:9", JwtSigner(generate_key()))), bus, journal
    )
    return Emergency(risk, execution, portfolio, journal, bus, marks=dict, clock=clock), portfolio, bus, clock


def test_the_daily_loss_halts_at_its_limit_and_warns_once_from_80_percent(parts) -> None:
    emergency, portfolio, bus, _ = parts
    events = bus.subscribe()
    portfolio.day_start_pnl = D("79.99")  # pnl is 0 with no fills: the loss is the day's start
    assert emergency.breach([]) is None
    portfolio.day_start_pnl = D("80")
    assert emergency.breach([]) is None and emergency.breach([]) is None  # warns once, not every second
    portfolio.day_start_pnl = D("99.99")
    assert emergency.breach([]) is None
    portfolio.day_start_pnl = D("100")
    assert emergency.breach([]) == "daily loss 100.00 reached its limit 100"
    warnings = [e.message for e in drain(events) if isinstance(e, Alert)]
    assert warnings == ["daily loss 80.00 is over 80% of its limit 100"]


def test_a_warning_comes_again_after_the_loss_went_back_under_80_percent(parts) -> None:
    emergency, portfolio, bus, _ = parts
    events = bus.subscribe()
    for loss in ("160", "100", "170"):  # drawdown limit 200: warn, recover, warn again
        portfolio.peak_pnl = D(loss)
        assert emergency.breach([]) is None
    assert [e.message for e in drain(events) if isinstance(e, Alert)] == [
        "drawdown 160.00 is over 80% of its limit 200",
        "drawdown 170.00 is over 80% of its limit 200",
    ]
    portfolio.peak_pnl = D("200")
    assert emergency.breach([]) == "drawdown 200.00 reached its limit 200"


def test_stale_data_is_a_trigger_only_while_nothing_else_is_and_never_once_halted(parts) -> None:
    emergency, _, _, _ = parts
    assert emergency.breach(["SOL-USD", "BTC-USD"]) == "market data stale for BTC-USD, SOL-USD while orders are working"
    emergency.halt("manual")
    assert emergency.breach(["BTC-USD"]) is None


def test_a_reject_storm_counts_problems_inside_its_window_inclusive(parts) -> None:
    emergency, _, _, clock = parts
    assert emergency.on_problem("reject", "a") is None
    clock.now += 5
    assert emergency.on_problem("reject", "b") is None
    clock.now += 5  # the first is exactly 10 s old: still inside the window
    assert emergency.recent_problems() == 2
    assert emergency.on_problem("reject", "c") is not None
    clock.now += 0.001
    assert emergency.recent_problems() == 2


async def test_the_kill_switch_reports_its_timings_and_flattens_only_when_asked(parts) -> None:
    from cryptoj_tui.engine.orders import Fill, OrderSide

    emergency, portfolio, _, _ = parts
    portfolio.apply(Fill("c1", "BTC-USD", OrderSide.BUY, D("1"), D("100"), D("0.1")))
    report = await emergency.kill_switch("test")
    assert report.flattened == () and report.cancelled == () and report.failed == ()
    assert report.refusing_after == 0 and report.seconds == 0  # the clock did not move
    assert emergency.last_report is report


def drain(events: Subscription) -> list[Event]:
    found = []
    while (event := events.get_nowait()) is not None:
        found.append(event)
    return found
