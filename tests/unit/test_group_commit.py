"""Order intents: written before sending, fsynced in groups shortly after (or each before sending)."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from cryptoj_tui.cdp_keys import generate_key
from cryptoj_tui.engine import EngineConfig
from cryptoj_tui.engine.group_commit import GroupCommit, OrderStateWriter
from cryptoj_tui.engine.journal import Journal
from cryptoj_tui.engine.orders import Order, OrderRequest


def order(n: int) -> Order:
    return Order(f"c{n}", OrderRequest("BTC-USD", "buy", "limit", "1", price="10"))


async def until(condition: object, timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not condition():  # type: ignore[operator]
            await asyncio.sleep(0.001)


async def test_intents_written_within_the_window_share_one_fsync(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    intents = GroupCommit(journal, 0.05, on_failure=lambda why: pytest.fail(why))
    for n in range(100):
        intents.record_intent(order(n))
    assert journal.syncs == 0  # written (the orders may go), not yet flushed
    await until(lambda: journal.syncs == 1)
    intents.record_intent(order(100))  # a later one starts a window of its own
    await until(lambda: journal.syncs == 2)
    await asyncio.sleep(0.1)
    assert journal.syncs == 2 and len(journal.orders()) == 101
    journal.close()


async def test_window_zero_fsyncs_each_intent_before_it_returns(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    levels: list[int] = []
    level = journal._durable_db.execute("PRAGMA synchronous").fetchone()[0]
    journal._durable_db.set_trace_callback(lambda sql: levels.append(level))
    intents = GroupCommit(journal, 0, on_failure=lambda why: pytest.fail(why))
    intents.record_intent(order(1))
    assert levels == [2]  # through the FULL connection: fsynced when the commit returned
    await asyncio.sleep(0.02)
    assert journal.syncs == 0  # and no group fsync after it
    journal.close()


async def test_a_failed_fsync_is_reported_to_the_owner(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = Journal(path)
    failures: list[str] = []
    intents = GroupCommit(journal, 0.001, on_failure=failures.append)
    null = os.open(os.devnull, os.O_RDONLY)
    assert journal._wal_fd is not None
    os.dup2(null, journal._wal_fd)  # the WAL's disk now refuses to flush
    os.close(null)
    intents.record_intent(order(1))
    await until(lambda: failures)
    assert failures == [f"journal {path}: cannot sync: Invalid argument"]
    await intents.flush()  # the flush on stop meets the same disk: reported too
    assert len(failures) == 2
    journal.close()


async def test_flush_fsyncs_at_once_what_waits_for_its_window(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    intents = GroupCommit(journal, 60, on_failure=lambda why: pytest.fail(why))
    intents.record_intent(order(1))
    await intents.flush()
    assert journal.syncs == 1
    await asyncio.sleep(0.02)
    assert journal.syncs == 1
    journal.close()


def test_a_negative_window_is_refused() -> None:
    with pytest.raises(ValueError, match="intent_sync_window must be 0 or more seconds, got -1"):
        GroupCommit(Journal(":memory:"), -1, on_failure=print)


def test_the_engine_config_takes_the_window_and_refuses_a_negative_one() -> None:
    config = EngineConfig(ws_url="ws://127.0.0.1:1", key=generate_key(), intent_sync_window=0)
    assert config.trading_config().intent_sync_window == 0  # type: ignore[union-attr]
    with pytest.raises(ValueError, match=r"intent_sync_window must be 0 or more seconds, got -0\.5"):
        EngineConfig(ws_url="ws://127.0.0.1:1", intent_sync_window=-0.5)


async def test_order_states_changed_together_are_written_once_shortly_after(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    orders = [order(n) for n in range(200)]
    for o in orders:
        journal.record_intent(o)
    commits: list[str] = []
    journal._db.set_trace_callback(lambda sql: commits.append(sql) if sql == "COMMIT" else None)
    states = OrderStateWriter(journal, on_failure=lambda why: pytest.fail(why))
    for o in orders:
        o.acknowledged(f"v{o.client_order_id}")
        states.changed(o)
        o.cancel_requested()
        states.changed(o)  # the same order twice in a turn: written once, as it is at the end
    await asyncio.sleep(0)  # not at the end of the loop turn: the requests these changes go with leave first
    assert commits == [] and {j.order_id for j in journal.orders()} == {""}
    await until(lambda: commits == ["COMMIT"])
    assert {(j.order_id, j.status) for j in journal.orders()} == {
        (f"v{o.client_order_id}", "PENDING_CANCEL") for o in orders
    }
    journal.close()


def test_order_states_outside_a_loop_are_written_at_once_and_a_failure_is_told(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    failures: list[str] = []
    states = OrderStateWriter(journal, on_failure=failures.append)
    first = order(1)
    journal.record_intent(first)
    first.acknowledged("v1")
    states.changed(first)
    assert journal.orders()[0].order_id == "v1"
    journal.close()
    states.changed(order(2))
    assert len(failures) == 1 and "cannot write" in failures[0] and "\n" not in failures[0]
