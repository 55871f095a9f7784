"""The journal's schema, versions and records."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from cryptoj_tui.engine.journal import MIGRATIONS, Journal, JournalError
from cryptoj_tui.engine.orders import Fill, Order, OrderRequest, OrderSide, OrderStatus, VenueOrderUpdate
from tests.conftest import disk_refusing_writes


def test_intent_state_fill_and_events_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = Journal(path)
    order = Order("c1", OrderRequest("BTC-USD", "buy", "stop_limit", "1", price="10", stop_price="11"))
    journal.record_intent(order)
    entry = Order("c2", OrderRequest.parse("BTC-USD", "buy", "limit", "1", "10", take_profit="12", stop_loss="9"))
    journal.record_intent(entry)
    order.acknowledged("v1")
    journal.record_order(order)
    journal.record_fill(Fill("c1", "BTC-USD", OrderSide.BUY, D("0.5"), D("5.25"), D("0.01")))
    journal.record_event("state", "ACTIVE -> HALTED")
    journal.set_state("trading_state", "HALTED")
    journal.close()
    again = Journal(path)
    record, entry_record = again.orders(working_only=True)
    assert record.to_order().request == order.request and record.status is OrderStatus.OPEN and record.order_id == "v1"
    assert entry_record.to_order().request == entry.request
    assert again.fills()[0].price == D("10.5") and again.state("trading_state") == "HALTED"
    assert again.events()[0][1:] == ("state", "ACTIVE -> HALTED") and again.schema_version == len(MIGRATIONS)
    assert sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    again.checkpoint()


def test_durable_intents_are_fsynced_at_their_commit_the_rest_is_not(tmp_path: Path) -> None:
    """An intent asked durable (and `set_state`) is fsynced at its commit (FULL: a power cut
    keeps it); other intents, order states, the trading state's `set_states`, fills and events
    are not (NORMAL: a killed process keeps them; `sync`, which the engine runs on a worker
    thread after a state change, or the next FULL commit makes them durable)."""
    journal = Journal(tmp_path / "j.db")
    written: list[tuple[str, int]] = []
    for connection in {journal._db, journal._durable_db}:
        level = connection.execute("PRAGMA synchronous").fetchone()[0]
        connection.set_trace_callback(lambda sql, level=level: written.append((sql.split()[0], level)))
    order = Order("c1", OrderRequest("BTC-USD", "buy", "limit", "1", price="10"))
    journal.record_intent(order)
    journal.record_intent(Order("c2", OrderRequest("BTC-USD", "buy", "limit", "1", price="10")), durable=True)
    journal.set_state("trading_state", "HALTED")
    journal.set_states({"trading_state": "ACTIVE", "trading_reason": "r"}, ("state", "HALTED -> ACTIVE: r"))
    order.acknowledged("v1")
    journal.record_order(order)
    journal.record_event("state", "ACTIVE -> HALTED")
    FULL, NORMAL = 2, 1
    writes = [(sql, level) for sql, level in written if sql in ("INSERT", "UPDATE")]
    assert writes == [
        ("INSERT", NORMAL),
        ("INSERT", FULL),
        ("INSERT", FULL),
        ("INSERT", NORMAL),  # set_states: both values (one statement, executemany) ...
        ("INSERT", NORMAL),
        ("INSERT", NORMAL),  # ... and its event, in one transaction
        ("UPDATE", NORMAL),
        ("INSERT", NORMAL),
    ]
    assert journal.state("trading_state") == "ACTIVE" and journal.state("trading_reason") == "r"
    journal.close()


def test_order_states_are_written_in_one_transaction(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.db")
    orders = [Order(f"c{n}", OrderRequest("BTC-USD", "buy", "limit", "1", price="10")) for n in range(3)]
    for order in orders:
        journal.record_intent(order)
        order.acknowledged(f"v{order.client_order_id}")
    written: list[str] = []
    journal._db.set_trace_callback(lambda sql: written.append(sql.split()[0]))
    journal.record_orders(orders)
    assert written == ["BEGIN", "UPDATE", "UPDATE", "UPDATE", "COMMIT"]
    assert [o.order_id for o in journal.orders()] == ["vc0", "vc1", "vc2"]
    journal.close()


def test_an_intent_is_in_the_file_when_written_a_killed_process_keeps_it(tmp_path: Path) -> None:
    """Written without an fsync, an intent is still in the WAL file (the OS has it) before the
    order is sent: a process that dies right after, without closing anything, leaves it there."""
    path = tmp_path / "j.db"
    subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import os; from cryptoj_tui.engine.journal import Journal; "
                "from cryptoj_tui.engine.orders import Order, OrderRequest; "
                f"j = Journal({str(path)!r}); "
                "j.record_intent(Order('c1', OrderRequest('BTC-USD', 'buy', 'limit', '1', price='10'))); "
                "os._exit(9)"
            ),
        ],
        check=False,
    )
    (record,) = Journal(path).orders(working_only=True)
    assert record.client_order_id == "c1" and record.status is OrderStatus.PENDING_NEW


def test_sync_flushes_the_wal_and_a_disk_that_cannot_says_which_journal(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    journal = Journal(path)
    journal.record_intent(Order("c1", OrderRequest("BTC-USD", "buy", "limit", "1", price="10")))
    journal.sync()
    assert journal.syncs == 1
    # A file that cannot be flushed (the fd now names /dev/null, which refuses fdatasync).
    null = os.open(os.devnull, os.O_RDONLY)
    assert journal._wal_fd is not None
    os.dup2(null, journal._wal_fd)
    os.close(null)
    with pytest.raises(JournalError, match=f"journal {path}: cannot sync: Invalid argument"):
        journal.sync()
    assert journal.syncs == 1
    journal.close()
    journal.sync()  # closed: nothing to flush, no error
    memory = Journal(":memory:")
    memory.sync()
    assert memory.syncs == 0


def test_a_version_1_journal_is_upgraded_in_place_and_keeps_its_orders(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    old = sqlite3.connect(path, isolation_level=None)
    old.executescript(MIGRATIONS[0] + "PRAGMA user_version=1;")
    old.execute(
        "INSERT INTO orders (client_order_id, product_id, request, status, created_at, updated_at)"
        " VALUES ('c1', 'BTC-USD', ?, 'OPEN', 1, 1)",
        (
            '{"product_id": "BTC-USD", "side": "BUY", "type": "limit", "size": "1", "price": "10",'
            ' "stop_price": null, "end_time": null, "post_only": false}',
        ),
    )
    old.close()
    journal = Journal(path)
    assert journal.schema_version == 2 == len(MIGRATIONS)
    assert [o.client_order_id for o in journal.orders(working_only=True)] == ["c1"]
    indexes = journal._db.execute("SELECT name FROM sqlite_master WHERE type='index' AND tbl_name='orders'").fetchall()
    assert indexes == [("sqlite_autoindex_orders_1",)]  # the primary key's; the unused one on status is gone
    journal.close()


def test_a_journal_from_a_newer_program_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version={len(MIGRATIONS) + 1}")
    with pytest.raises(JournalError, match="is newer than this program"):
        Journal(path)


def test_an_unopenable_journal_says_where(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("")  # a directory that is a file: the disk refuses
    with pytest.raises(JournalError, match=f"journal {tmp_path}/a-file/j.db: cannot open"):
        Journal(tmp_path / "a-file" / "j.db")


def test_a_journal_in_a_directory_not_made_yet_is_made_there(tmp_path: Path) -> None:
    Journal(tmp_path / "new" / "j.db").close()  # the platform data dir, the first time
    assert (tmp_path / "new" / "j.db").stat().st_mode & 0o777 == 0o600


def test_a_duplicate_intent_is_a_clear_error() -> None:
    journal = Journal(":memory:")
    order = Order("c1", OrderRequest("BTC-USD", "buy", "market", "1"))
    journal.record_intent(order)
    with pytest.raises(JournalError, match="cannot write: UNIQUE constraint failed"):
        journal.record_intent(order)


def test_an_intent_never_carries_a_checkpoint_the_scheduled_one_folds_the_wal_back(tmp_path: Path) -> None:
    """A checkpoint copies pages and fsyncs the database file: not while an order waits on its
    intent. The WAL grows past SQLite's automatic checkpoint under intents alone; the journal's
    own checkpoint (a worker thread's job) folds all of it back, and later commits reuse the file."""
    path = tmp_path / "j.db"
    journal = Journal(path)
    wal = Path(f"{path}-wal")
    for n in range(1500):
        journal.record_intent(Order(f"c{n}", OrderRequest("BTC-USD", "buy", "limit", "1", price="10")))
    pages = wal.stat().st_size // 4096
    assert pages >= 2 * 1500  # never started over: SQLite alone folds it back at 1000 pages, inside a commit
    journal.checkpoint()
    ((busy, frames, folded),) = sqlite3.connect(path).execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    assert busy == 0 and frames == folded
    journal.record_intent(Order("after", OrderRequest("BTC-USD", "buy", "limit", "1", price="10")))
    assert wal.stat().st_size // 4096 == pages  # started over at the top of the file, not grown
    journal.close()
    journal.checkpoint()  # closed: nothing to do, no error
    assert [o.client_order_id for o in Journal(path).orders(working_only=False)][-1] == "after"


def halted_journal(path: Path) -> None:
    journal = Journal(path)
    journal.record_intent(Order("c1", OrderRequest("BTC-USD", "buy", "limit", "1", price="10")))
    journal.set_state("trading_state", "HALTED")
    journal.close()


def test_a_journal_emptied_to_nothing_stops_start_up_rather_than_starting_fresh(tmp_path: Path) -> None:
    """Issue 25.4: `: > journal.db` made the next start a fresh journal: HALTED was lost without a word."""
    path = tmp_path / "journal.db"
    halted_journal(path)
    path.write_bytes(b"")
    with pytest.raises(JournalError) as refused:
        Journal(path)
    assert str(refused.value) == (
        f"journal {path}: the file is empty: it held this engine's orders and trading state (HALTED survives "
        "in it); restore it from a copy, or move it away to start a new journal"
    )
    assert path.stat().st_size == 0  # nothing was written into it either


def test_a_corrupt_journal_stops_start_up_in_one_line(tmp_path: Path) -> None:
    """Issue 25.4: a corrupt page gave a sqlite3.DatabaseError traceback from journal.fills()."""
    path = tmp_path / "journal.db"
    halted_journal(path)
    data = bytearray(path.read_bytes())
    for page in range(1, len(data) // 4096):  # every page but the header's: a disk that lost them
        data[page * 4096 + 8 : page * 4096 + 200] = b"\xff" * 192
    path.write_bytes(bytes(data))
    with pytest.raises(JournalError) as refused:
        Journal(path)
    message = str(refused.value)
    assert (
        message.startswith(f"journal {path}: damaged (")
        and message.endswith("): restore it from a copy, or move it away to start a new journal")
        and "\n" not in message
    )


def test_the_journal_and_its_wal_are_readable_by_their_owner_only(tmp_path: Path) -> None:
    """Issue 25.8: they were created 0644: anyone on the machine could read the orders."""
    path = tmp_path / "journal.db"
    journal = Journal(path)
    journal.record_event("x", "y")
    modes = {p.name: p.stat().st_mode & 0o777 for p in tmp_path.iterdir()}
    journal.close()
    assert modes == {"journal.db": 0o600, "journal.db-wal": 0o600, "journal.db-shm": 0o600}
    path.chmod(0o644)  # an existing journal others can read is made private too
    Journal(path).close()
    assert path.stat().st_mode & 0o777 == 0o600


def test_a_fill_and_its_orders_totals_reach_the_file_together(tmp_path: Path) -> None:
    """Chaos seed 1 (10 minutes): an engine killed between writing a fill and its order's new
    totals came back with the old totals, learned the new ones from the venue, and counted the
    fill twice. The two are one commit now: a process that dies right after has both or neither."""
    path = tmp_path / "j.db"
    subprocess.run(
        [
            sys.executable,
            "-c",
            (
                "import os; from decimal import Decimal as D; from cryptoj_tui.engine.journal import Journal; "
                "from cryptoj_tui.engine.orders import Order, OrderRequest, VenueOrderUpdate; "
                f"j = Journal({str(path)!r}); "
                "o = Order('c1', OrderRequest('BTC-USD', 'buy', 'limit', '1', price='10')); j.record_intent(o); "
                "_, fill = o.apply(VenueOrderUpdate('v1', 'c1', 'OPEN', D('0.4'), D('4'), D('0.01'))); "
                "j.record_fill(fill, o); "
                "os._exit(9)"
            ),
        ],
        check=False,
    )
    journal = Journal(path)
    (record,) = journal.orders()
    assert record.filled_size == D("0.4") == sum(f.size for f in journal.fills())


def test_writes_a_full_disk_refused_go_first_when_it_takes_writes_again(tmp_path: Path) -> None:
    """Chaos (a full disk, then an engine killed): a fill the disk refused, then the next fill
    written with the order's totals, left a journal whose totals counted a fill it did not hold;
    restarted on it, the engine never counted that fill. A refused write now waits and goes first,
    in order, with the next write the disk takes; an intent the disk refuses is not kept (its order
    is not sent)."""
    path = tmp_path / "j.db"
    journal = Journal(path)
    order = Order("c1", OrderRequest("BTC-USD", "buy", "limit", "1", price="10"))
    journal.record_intent(order)
    _, first = order.apply(VenueOrderUpdate("v1", "c1", "OPEN", D("0.4"), D("4"), D("0.01")))
    assert first is not None
    with disk_refusing_writes():
        with pytest.raises(JournalError, match=f"journal {path}: cannot write: "):
            journal.record_fill(first, order)
        with pytest.raises(JournalError):
            journal.record_intent(Order("c2", OrderRequest("BTC-USD", "buy", "limit", "1", price="9")))
        with pytest.raises(JournalError):
            journal.set_state("trading_state", "HALTED")
    assert journal.refused_writes == 2  # the fill and the state; not the intent
    _, second = order.apply(VenueOrderUpdate("v1", "c1", "OPEN", D("1"), D("10"), D("0.02")))
    assert second is not None
    journal.record_fill(second, order)
    assert journal.refused_writes == 0 and journal.dropped_writes == 0
    journal.close()
    again = Journal(path)  # what a restarted engine reads
    (record,) = again.orders()
    assert [f.size for f in again.fills()] == [D("0.4"), D("0.6")]
    assert record.filled_size == D("1") == sum(f.size for f in again.fills())
    assert again.state("trading_state") == "HALTED" and not again.has_order("c2")
