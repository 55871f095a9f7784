"""The kill switch, the automatic halt triggers, and re-arming.

`halt()` is synchronous and comes first: from the moment it returns, every new order is refused.
Only then does `kill_switch()` cancel what is working (and optionally flatten positions) and
report what it did and what it could not. HALTED is journalled, so a restarted engine comes
back halted; only `rearm()`, an explicit call a person makes, lifts it.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.events import Alert, TradingStateChanged
from cryptoj_tui.engine.execution import Execution
from cryptoj_tui.engine.journal import Journal, JournalError
from cryptoj_tui.engine.orders import Order, OrderRequest, OrderSide, OrderType
from cryptoj_tui.engine.portfolio import Portfolio
from cryptoj_tui.engine.risk import RiskManager, TradingState

log = logging.getLogger(__name__)

STATE_KEY = "trading_state"
REASON_KEY = "trading_state_reason"
WARN_AT = Decimal("0.8")
"""Warn when a loss reaches this share of its limit."""


@dataclass(frozen=True)
class KillReport:
    """What the kill switch did."""

    reason: str
    cancelled: tuple[str, ...]
    """client_order_ids confirmed cancelled by the venue."""
    failed: tuple[tuple[str, str], ...]
    """(client_order_id, why) of orders that could not be cancelled."""
    flattened: tuple[str, ...]
    """client_order_ids of the orders sent to flatten positions."""
    refusing_after: float
    """Seconds from the call until new orders were refused."""
    seconds: float
    """Seconds the whole kill switch took."""


class Emergency:
    """Halts, kills, re-arms; watches the automatic triggers."""

    def __init__(
        self,
        risk: RiskManager,
        execution: Execution,
        portfolio: Portfolio,
        journal: Journal,
        bus: EventBus,
        *,
        marks: Callable[[], dict[str, Decimal | None]],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._risk = risk
        self._execution = execution
        self._portfolio = portfolio
        self._journal = journal
        self._bus = bus
        self._marks = marks
        self._clock = clock
        self._problems: deque[float] = deque()
        self._warned: set[str] = set()
        self.last_report: KillReport | None = None

    def restore(self) -> None:
        """Take the trading state the journal remembers (HALTED survives restarts)."""
        state = self._journal.state(STATE_KEY)
        if state is not None and state in TradingState.__members__ and state != TradingState.ACTIVE:
            reason = self._journal.state(REASON_KEY) or "restored from the journal"
            self._risk.set_state(TradingState(state), reason)
            self._bus.publish(
                TradingStateChanged(
                    state=state, previous=str(TradingState.ACTIVE), reason=f"{reason} (before the restart)"
                )
            )

    def set_state(self, state: TradingState, reason: str, severity: str = "warning") -> float:
        """Change the trading state now, then journal and announce it; returns the clock reading
        at which the new state took effect (before the journal's disk writes)."""
        previous = self._risk.set_state(state, reason)
        in_force = self._clock()
        self._tell_state(previous, state, reason, severity)
        return in_force

    def _tell_state(self, previous: TradingState, state: TradingState, reason: str, severity: str) -> None:
        """Journal and announce a state change made in memory."""
        try:
            # In the WAL now (a process killed next restarts in this state); fsynced on a worker
            # thread, so a kill switch's cancels do not wait for the disk (a power cut in the
            # next fsync's time could take the change back: the venue still has the orders,
            # and a restart finds them).
            self._journal.set_states(
                {STATE_KEY: str(state), REASON_KEY: reason}, ("state", f"{previous} -> {state}: {reason}")
            )
            self._execution.intents.sync_soon()
        except JournalError as exc:  # the state holds in memory; say loudly that it is not on disk
            log.error("%s", exc)
            self._bus.publish(Alert(severity="breach", message=f"trading state not journalled: {exc}"))
        self._bus.publish(TradingStateChanged(state=str(state), previous=str(previous), reason=reason))
        self._bus.publish(Alert(severity=severity, message=f"trading {state}: {reason}"))

    def halt(self, reason: str) -> float:
        """HALTED at once: new orders are refused from this call on. Returns when (clock) it held."""
        return self.set_state(TradingState.HALTED, reason, severity="halt")

    async def kill_switch(self, reason: str, *, flatten: bool = False) -> KillReport:
        """Halt, cancel every working order, optionally flatten; report what happened.

        New orders are refused from the first statement on; the cancels go out next, and the
        halt is journalled and announced while they are on their way (before, it held them back
        by its journal write and its announcements).
        """
        started = self._clock()
        previous = self._risk.set_state(TradingState.HALTED, reason)
        refusing_after = self._clock() - started
        cancelled, failed = await self._execution.cancel(
            self._execution.working(),
            meanwhile=lambda: self._tell_state(previous, TradingState.HALTED, reason, "halt"),
            everything=True,
        )
        flattened: list[Order] = []
        if flatten:
            flattened = await self._flatten()
        report = KillReport(
            reason=reason,
            cancelled=tuple(o.client_order_id for o in cancelled),
            failed=tuple((o.client_order_id, why) for o, why in failed),
            flattened=tuple(o.client_order_id for o in flattened),
            refusing_after=refusing_after,
            seconds=self._clock() - started,
        )
        self.last_report = report
        summary = f"kill switch: {len(report.cancelled)} cancelled, {len(report.failed)} could not be cancelled"
        if flatten:
            summary += f", {len(flattened)} flattening orders"
        self._record("kill_switch", f"{summary} ({reason})")
        self._bus.publish(Alert(severity="breach" if report.failed else "halt", message=summary))
        return report

    async def _flatten(self) -> list[Order]:
        # Flattening bypasses the HALTED refusal on purpose: it is the halt's own action.
        orders = []
        for position in list(self._portfolio.positions.values()):
            if position.quantity == 0:
                continue
            side = OrderSide.SELL if position.quantity > 0 else OrderSide.BUY
            request = OrderRequest(position.product_id, side, OrderType.MARKET, abs(position.quantity))
            orders.append(await self._execution.submit(request))
        return orders

    def rearm(self, reason: str) -> None:
        """Back to ACTIVE after a halt: a person's explicit decision, journalled."""
        if not reason.strip():
            raise ValueError("re-arming needs a reason (who and why)")
        if self._risk.state is TradingState.ACTIVE:
            return
        self._problems.clear()
        self._warned.clear()
        self._portfolio.peak_pnl = self._portfolio.pnl(self._marks())  # drawdown counts from now
        self.set_state(TradingState.ACTIVE, f"re-armed: {reason}", severity="info")

    # -- automatic triggers ------------------------------------------------------------------

    def on_problem(self, kind: str, message: str) -> Callable[[], object] | None:
        """A reject or venue error; a storm of them halts. Returns the kill to run, if any."""
        now = self._clock()
        limits = self._risk.limits
        self._problems.append(now)
        while self._problems and now - self._problems[0] > limits.storm_window:
            self._problems.popleft()
        if len(self._problems) >= limits.reject_storm and self._risk.state is not TradingState.HALTED:
            return lambda: self.kill_switch(
                f"{len(self._problems)} rejects/errors within {limits.storm_window:g}s (last: {message})"
            )
        return None

    def recent_problems(self) -> int:
        """Rejects and venue errors inside the storm window."""
        now = self._clock()
        return sum(1 for t in self._problems if now - t <= self._risk.limits.storm_window)

    def losses(self) -> tuple[Decimal, Decimal]:
        """(loss since the day started, drawdown from the peak), in the quote currency."""
        pnl = self._portfolio.pnl(self._marks())
        return self._portfolio.day_start_pnl - pnl, self._portfolio.peak_pnl - pnl

    def breach(self, stale_products: list[str]) -> str | None:
        """The first halt trigger that fires now, as a reason (None: all clear). Warns on the way.

        Fails closed: a trigger that cannot be evaluated (its marks or PnL raise) is itself a
        reason to halt. A kill switch whose own sums throw must not leave orders flowing
        (hummingbot #2534).
        """
        if self._risk.state is TradingState.HALTED:
            return None
        try:
            return self._first_breach(stale_products)
        except Exception as exc:  # whatever broke the check, halting is the safe answer
            log.exception("the halt triggers could not be evaluated")
            return f"the halt triggers could not be evaluated ({exc!r}): halting to be safe"

    def _first_breach(self, stale_products: list[str]) -> str | None:
        limits = self._risk.limits
        daily_loss, drawdown = self.losses()
        for name, value, limit in (
            ("daily loss", daily_loss, limits.daily_loss_limit),
            ("drawdown", drawdown, limits.max_drawdown),
        ):
            if value >= limit:
                return f"{name} {value:.2f} reached its limit {limit}"
            if value >= limit * WARN_AT and name not in self._warned:
                self._warned.add(name)
                self._bus.publish(
                    Alert(severity="warning", message=f"{name} {value:.2f} is over 80% of its limit {limit}")
                )
            elif value < limit * WARN_AT:
                self._warned.discard(name)
        if stale_products:
            return f"market data stale for {', '.join(sorted(stale_products))} while orders are working"
        return None

    def _record(self, kind: str, detail: str) -> None:
        try:
            self._journal.record_event(kind, detail)
        except JournalError as exc:
            log.error("%s", exc)
