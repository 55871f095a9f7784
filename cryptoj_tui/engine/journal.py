"""The journal: a durable record of every order intent, what became of it, and the trading state.

SQLite in WAL mode. Every write is in the WAL file when its call returns, so it survives the
process being killed at any point; an intent is written before its order is sent. What survives a
power cut is what has been fsynced: the trading state always is before `set_state` returns, an
intent is when written with `durable=True`, and `sync()` makes everything written so far durable
(the engine's group commit calls it shortly after intents, see group_commit.py). What a power cut
could take back of the rest (acks, fills, cancels, alerts) is what reconciliation with the venue
restores. On start the engine reads it back to reconcile with the venue and to stay HALTED if it
was halted.

The WAL is folded back into the database file by a scheduled job on a worker thread, through
a connection of its own (`checkpoint`), not by whichever commit happens to fill it: a checkpoint
copies pages and fsyncs the database file, and an intent's commit has an order waiting on it.

The schema carries a version (PRAGMA user_version) and upgrades itself through MIGRATIONS.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptoj_tui.engine.orders import Fill, Order, OrderRequest, OrderSide, OrderStatus

MIGRATIONS: list[str] = [
    # 1: orders, fills, events and a key-value table for the trading state
    """
    CREATE TABLE orders (
        client_order_id TEXT PRIMARY KEY,
        order_id TEXT NOT NULL DEFAULT '',
        product_id TEXT NOT NULL,
        request TEXT NOT NULL,
        status TEXT NOT NULL,
        filled_size TEXT NOT NULL DEFAULT '0',
        filled_value TEXT NOT NULL DEFAULT '0',
        fees TEXT NOT NULL DEFAULT '0',
        reason TEXT NOT NULL DEFAULT '',
        created_at REAL NOT NULL,
        updated_at REAL NOT NULL
    );
    CREATE INDEX orders_working ON orders (status);
    CREATE TABLE fills (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        client_order_id TEXT NOT NULL,
        product_id TEXT NOT NULL,
        side TEXT NOT NULL,
        size TEXT NOT NULL,
        value TEXT NOT NULL,
        fee TEXT NOT NULL,
        at REAL NOT NULL
    );
    CREATE TABLE events (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        at REAL NOT NULL,
        kind TEXT NOT NULL,
        detail TEXT NOT NULL
    );
    CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: no index on orders.status: no query used it, and every intent and every order update
    # wrote a page of it
    """
    DROP INDEX IF EXISTS orders_working;
    """,
]


_flush_to_disk = getattr(os, "fdatasync", os.fsync)
"""fdatasync where there is one (Linux): the WAL's data, without its timestamps."""


Statement = tuple[str, Any, bool]
"""(sql, its parameters, whether they are many rows for executemany)."""
MAX_REFUSED_WRITES = 100_000
"""Writes a refusing disk may leave waiting (a halted engine makes few: its cancels and fills)."""


class JournalError(RuntimeError):
    """The journal cannot be opened or written; the message names the file and the cause."""


RECOVER = ": restore it from a copy, or move it away to start a new journal"
"""What a trader can do about a journal that cannot be read: never a silent fresh start, which
would forget HALTED and every order in flight."""


def _make_private(path: Path) -> None:
    """Create the journal readable by its owner only (SQLite gives its WAL the same mode), or
    make an existing one so; JournalError for one that was emptied (it cannot be the new one)."""
    try:
        if path.exists():
            if path.stat().st_size == 0:
                raise JournalError(
                    f"journal {path}: the file is empty: it held this engine's orders and trading "
                    f"state (HALTED survives in it){RECOVER.replace(':', ';', 1)}"
                )
            os.chmod(path, 0o600)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except OSError as exc:
        raise JournalError(f"journal {path}: cannot open: {exc.strerror or exc}") from None


@dataclass(frozen=True)
class JournalledOrder:
    """An order as the journal last recorded it."""

    client_order_id: str
    order_id: str
    request: OrderRequest
    status: OrderStatus
    filled_size: Decimal
    filled_value: Decimal
    fees: Decimal
    reason: str
    created_at: float

    def to_order(self) -> Order:
        """The live Order this record describes."""
        return Order(
            client_order_id=self.client_order_id,
            request=self.request,
            status=self.status,
            order_id=self.order_id,
            filled_size=self.filled_size,
            filled_value=self.filled_value,
            fees=self.fees,
            reason=self.reason,
            created_at=self.created_at,
        )


def _request_json(request: OrderRequest) -> str:
    return json.dumps(
        {
            "product_id": request.product_id,
            "side": str(request.side),
            "type": str(request.type),
            "size": str(request.size),
            "price": None if request.price is None else str(request.price),
            "stop_price": None if request.stop_price is None else str(request.stop_price),
            "end_time": None if request.end_time is None else request.end_time.isoformat(),
            "post_only": request.post_only,
            "take_profit": None if request.take_profit is None else str(request.take_profit),
            "stop_loss": None if request.stop_loss is None else str(request.stop_loss),
            "in_quote": request.in_quote,
        }
    )


def _request_from_json(text: str) -> OrderRequest:
    data = json.loads(text)
    return OrderRequest.parse(
        product_id=data["product_id"],
        side=data["side"],
        type=data["type"],
        size=Decimal(data["size"]),
        price=None if data["price"] is None else Decimal(data["price"]),
        stop_price=None if data["stop_price"] is None else Decimal(data["stop_price"]),
        end_time=None if data["end_time"] is None else datetime.fromisoformat(data["end_time"]),
        post_only=data["post_only"],
        # Journals written before brackets have neither take_profit nor stop_loss.
        take_profit=None if data.get("take_profit") is None else Decimal(data["take_profit"]),
        stop_loss=None if data.get("stop_loss") is None else Decimal(data["stop_loss"]),
        in_quote=data.get("in_quote", False),  # journals written before quote sizes have none
    )


class Journal:
    """One SQLite journal file (or ":memory:")."""

    def __init__(self, path: Path | str) -> None:
        self.path = path
        self._checkpoint_lock = threading.Lock()
        on_disk = str(path) != ":memory:"
        if on_disk:
            _make_private(Path(path))
        try:
            self._db = sqlite3.connect(str(path), isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            if on_disk:
                problems = [row[0] for row in self._db.execute("PRAGMA quick_check(3)") if row[0] != "ok"]
                if problems:
                    first = "; ".join(p for p in "\n".join(problems).splitlines() if not p.startswith("***"))
                    raise JournalError(f"journal {path}: damaged ({first[:160]}){RECOVER}")
                for suffix in ("-wal", "-shm"):  # SQLite made them with the file's mode; older ones too
                    if Path(f"{path}{suffix}").exists():
                        os.chmod(f"{path}{suffix}", 0o600)
            self._migrate()
            self._wal_fd: int | None = None
            # Durable writes (the trading state, intents asked durable) go through a connection of
            # their own, kept at FULL: one connection switched between FULL and NORMAL took two
            # PRAGMAs a write. Its fsync of the shared WAL makes everything written before durable.
            self._durable_db = self._db
            self._checkpoint_db: sqlite3.Connection | None = None
            if str(path) != ":memory:":  # a second connection to ":memory:" is another database
                self._db.execute("PRAGMA wal_autocheckpoint=0")  # never inside an order's commit
                self._durable_db = sqlite3.connect(str(path), isolation_level=None)
                self._durable_db.execute("PRAGMA synchronous=FULL")
                self._durable_db.execute("PRAGMA wal_autocheckpoint=0")
                self._checkpoint_db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
                # The WAL file exists from the first read (the migration's); SQLite keeps it, and
                # reuses it from the start after a checkpoint, while a connection is open.
                self._wal_fd = os.open(f"{path}-wal", os.O_RDONLY)
        except sqlite3.Error as exc:
            if getattr(exc, "sqlite_errorname", "") in ("SQLITE_CORRUPT", "SQLITE_NOTADB"):
                raise JournalError(f"journal {path}: damaged ({exc}){RECOVER}") from None
            raise JournalError(f"journal {path}: cannot open: {exc}") from None
        except OSError as exc:
            raise JournalError(f"journal {path}: cannot open its WAL file: {exc.strerror or exc}") from None
        self._refused: deque[tuple[list[Statement], bool]] = deque(maxlen=MAX_REFUSED_WRITES)
        self.dropped_writes = 0
        """Refused writes dropped, the oldest first, once MAX_REFUSED_WRITES waited."""
        self._sync_lock = threading.Lock()
        self.syncs = 0
        """How many times `sync` flushed the WAL to the disk."""

    def _migrate(self) -> None:
        version = self._db.execute("PRAGMA user_version").fetchone()[0]
        if version > len(MIGRATIONS):
            raise JournalError(
                f"journal {self.path}: schema version {version} is newer than this program ({len(MIGRATIONS)})"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            with self._transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(f"PRAGMA user_version={number}")

    def _transaction(self) -> Any:
        return _Transaction(self._db)

    @property
    def schema_version(self) -> int:
        """The schema version on disk."""
        return int(self._db.execute("PRAGMA user_version").fetchone()[0])

    def _commit(self, statements: list[Statement], *, durable: bool = False, keep: bool = True) -> None:
        """Write `statements` in one transaction, after every earlier write the disk refused.

        JournalError if the disk or the file fails; nothing of them is written then. With `keep`
        (a fact that has happened: a fill, an order's state, a trading state, an event) they wait,
        in order, and go first with the next write that the disk takes: written later out of order,
        an order's totals could reach the disk without the fill they count, and a restarted engine
        would never count that fill. Without it (an intent: its order is not sent) they are dropped.
        """
        try:
            while self._refused:
                self._run(*self._refused[0])
                self._refused.popleft()
            self._run(statements, durable)
        except sqlite3.Error as exc:
            if keep:
                if len(self._refused) == MAX_REFUSED_WRITES:
                    self.dropped_writes += 1  # the oldest goes; the venue still knows what it said
                self._refused.append((statements, durable))
            raise JournalError(f"journal {self.path}: cannot write: {exc}") from None

    def _run(self, statements: list[Statement], durable: bool) -> None:
        if len(statements) == 1 and not statements[0][2]:  # one statement: committed on its own
            sql, args, _ = statements[0]
            (self._durable_db if durable else self._db).execute(sql, args)
            return
        with self._transaction():
            for sql, args, many in statements:
                if many:
                    self._db.executemany(sql, args)
                else:
                    self._db.execute(sql, args)

    @property
    def refused_writes(self) -> int:
        """Writes the disk refused that wait to go first with the next one it takes."""
        return len(self._refused)

    def _read(self, sql: str, args: tuple[Any, ...] = ()) -> list[Any]:
        """Every row of one query; JournalError names the journal when the disk or the file fails."""
        try:
            return self._db.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise JournalError(
                f"journal {self.path}: cannot read: {exc}{RECOVER if 'malformed' in str(exc) else ''}"
            ) from None

    def record_intent(self, order: Order, *, durable: bool = False) -> None:
        """Record an order before it is sent: in the WAL file when this returns (it survives the
        process being killed), and fsynced too if `durable` (it survives a power cut)."""
        now = time.time()
        insert = (
            "INSERT INTO orders (client_order_id, order_id, product_id, request, status, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)"
        )
        row = (
            order.client_order_id,
            order.order_id,
            order.product_id,
            _request_json(order.request),
            str(order.status),
            order.created_at,
            now,
        )
        self._commit([(insert, row, False)], durable=durable, keep=False)

    def record_order(self, order: Order) -> None:
        """Record an order's current state (after an ack, a fill, a cancel...)."""
        self.record_orders([order])

    def record_orders(self, orders: Sequence[Order]) -> None:
        """Record the current state of several orders, in one transaction: one commit to the WAL
        for a kill switch's two hundred cancels, not two hundred."""
        now = time.time()
        self._commit([(UPDATE_ORDER, [_order_row(o, now) for o in orders], True)])

    def record_edit(self, order: Order) -> None:
        """Record an order the venue edited in place: its request as it now is, and the event."""
        now = time.time()
        edited = f"{order.client_order_id} {order.order_id}: {order.request}"
        self._commit(
            [
                (
                    "UPDATE orders SET request=?, updated_at=? WHERE client_order_id=?",
                    (_request_json(order.request), now, order.client_order_id),
                    False,
                ),
                (INSERT_EVENT, (now, "order.edited", edited), False),
            ]
        )

    def record_fill(self, fill: Fill, order: Order | None = None) -> None:
        """Record one execution and, in the same commit, the order's totals after it.

        Together or not at all: a fill on disk whose order still shows the totals before it is
        counted again when a restarted engine learns the totals from the venue (found by the
        chaos run: an engine killed between the two writes doubled a position's fills).
        """
        now = time.time()
        row = (fill.client_order_id, fill.product_id, str(fill.side), str(fill.size), str(fill.value), str(fill.fee))
        statements: list[Statement] = [(INSERT_FILL, (*row, now), False)]
        if order is not None:
            statements.append((UPDATE_ORDER, _order_row(order, now), False))
        self._commit(statements)

    def record_event(self, kind: str, detail: str) -> None:
        """Record a state change, an alert, a reconciliation difference."""
        self._commit([(INSERT_EVENT, (time.time(), kind, detail), False)])

    def set_state(self, key: str, value: str) -> None:
        """Durably remember a value (the trading state and why)."""
        self._commit([(UPSERT_STATE, (key, value), False)], durable=True)

    def set_states(self, values: dict[str, str], event: tuple[str, str]) -> None:
        """Remember values and record the event (kind, detail) that changed them, in one
        transaction: in the WAL file when this returns (it survives the process dying), and
        durable once `sync` has run (the caller has that done off its thread)."""
        self._commit([(UPSERT_STATE, list(values.items()), True), (INSERT_EVENT, (time.time(), *event), False)])

    def state(self, key: str) -> str | None:
        """A remembered value, or None."""
        rows = self._read("SELECT value FROM state WHERE key=?", (key,))
        return str(rows[0][0]) if rows else None

    def orders(self, *, working_only: bool = False) -> list[JournalledOrder]:
        """Every journalled order (or only those not final), oldest first."""
        # Working ones chosen by the database: a restart on 10k done orders read (and parsed) them
        # all to keep the few still working (178 ms to trading again; 13 ms on an empty journal).
        working = [str(status) for status in OrderStatus if not status.is_final] if working_only else []
        where = f" WHERE status IN ({', '.join('?' * len(working))})" if working_only else ""
        rows = self._read(
            "SELECT client_order_id, order_id, request, status, filled_size, filled_value, fees, reason, created_at"
            f" FROM orders{where} ORDER BY created_at, rowid",
            tuple(working),
        )
        result = [
            JournalledOrder(
                row[0],
                row[1],
                _request_from_json(row[2]),
                OrderStatus(row[3]),
                Decimal(row[4]),
                Decimal(row[5]),
                Decimal(row[6]),
                row[7],
                row[8],
            )
            for row in rows
        ]
        return result

    def has_order(self, client_order_id: str) -> bool:
        """Whether the journal has ever recorded this order."""
        return bool(self._read("SELECT 1 FROM orders WHERE client_order_id=?", (client_order_id,)))

    def fills(self) -> list[Fill]:
        """Every journalled fill, oldest first."""
        rows = self._read("SELECT client_order_id, product_id, side, size, value, fee FROM fills ORDER BY id")
        return [Fill(r[0], r[1], OrderSide(r[2]), Decimal(r[3]), Decimal(r[4]), Decimal(r[5])) for r in rows]

    def events(self, limit: int = 1000) -> list[tuple[float, str, str]]:
        """The latest journalled events (time, kind, detail), oldest first."""
        rows = self._read("SELECT at, kind, detail FROM events ORDER BY id DESC LIMIT ?", (limit,))
        return [(r[0], r[1], r[2]) for r in reversed(rows)]

    def sync(self) -> None:
        """Make everything written so far survive a power cut: flush the WAL file to the disk, as
        a synchronous=FULL commit does. Safe to call from a worker thread."""
        with self._sync_lock:
            if self._wal_fd is None:  # in memory, or closed
                return
            try:
                _flush_to_disk(self._wal_fd)
            except OSError as exc:
                raise JournalError(f"journal {self.path}: cannot sync: {exc.strerror or exc}") from None
            self.syncs += 1

    def checkpoint(self) -> None:
        """Fold the WAL back into the database file, without blocking writers (PASSIVE); safe to
        call from a worker thread. The WAL file keeps its size, so the next commits overwrite it
        from the start instead of growing it (an fsync then has no file size to update)."""
        with self._checkpoint_lock:
            if self._checkpoint_db is None:  # in memory, or closed
                return
            try:
                self._checkpoint_db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.Error as exc:
                raise JournalError(f"journal {self.path}: checkpoint failed: {exc}") from None

    def close(self) -> None:
        """Close the file."""
        with self._checkpoint_lock:
            if self._checkpoint_db is not None:
                self._checkpoint_db.close()
                self._checkpoint_db = None
        with self._sync_lock:
            if self._wal_fd is not None:
                os.close(self._wal_fd)
                self._wal_fd = None
        if self._durable_db is not self._db:
            self._durable_db.close()
        self._db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            try:
                self._db.execute("COMMIT")
                return
            except sqlite3.Error:
                self._roll_back()  # a COMMIT the disk refused may leave its transaction open
                raise
        self._roll_back()

    def _roll_back(self) -> None:
        # Left open, every later BEGIN would fail: the journal would stay unwritable after the
        # disk came back.
        if self._db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")


INSERT_FILL = "INSERT INTO fills (client_order_id, product_id, side, size, value, fee, at) VALUES (?, ?, ?, ?, ?, ?, ?)"
INSERT_EVENT = "INSERT INTO events (at, kind, detail) VALUES (?, ?, ?)"
UPSERT_STATE = "INSERT INTO state (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value"
UPDATE_ORDER = (
    "UPDATE orders SET order_id=?, status=?, filled_size=?, filled_value=?, fees=?, reason=?, updated_at=?"
    " WHERE client_order_id=?"
)


def _order_row(order: Order, now: float) -> tuple[Any, ...]:
    """UPDATE_ORDER's parameters for one order's current state."""
    return (
        order.order_id,
        str(order.status),
        str(order.filled_size),
        str(order.filled_value),
        str(order.fees),
        order.reason,
        now,
        order.client_order_id,
    )
