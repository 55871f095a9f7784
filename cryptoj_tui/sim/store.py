"""The paper account on disk: every user order (with its fills) and every balance.

SQLite in WAL mode with synchronous=FULL, one transaction per venue operation, so a venue
killed at any instant restarts with exactly what it had acknowledged.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import fields
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from cryptoj_tui.sim.exchange import Account, Fill, Order

SCHEMA_VERSION = 1
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS orders (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    order_id TEXT UNIQUE NOT NULL,
    owner TEXT NOT NULL,
    document TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS accounts (
    owner TEXT NOT NULL,
    currency TEXT NOT NULL,
    available TEXT NOT NULL,
    hold TEXT NOT NULL,
    PRIMARY KEY (owner, currency)
);
"""
DECIMAL_FIELDS = {
    "base_size",
    "quote_size",
    "limit_price",
    "stop_price",
    "filled_size",
    "filled_value",
    "total_fees",
    "hold",
}
FILL_DECIMALS = {"price", "size", "commission"}


class StoreError(RuntimeError):
    """The database cannot be used (wrong file, newer schema...)."""


def _order_document(order: Order) -> str:
    data: dict[str, Any] = {}
    for item in fields(Order):
        value = getattr(order, item.name)
        if item.name == "fills":
            value = [
                {
                    f.name: str(getattr(fill, f.name)) if f.name in FILL_DECIMALS else getattr(fill, f.name)
                    for f in fields(Fill)
                }
                for fill in value
            ]
        elif isinstance(value, Decimal):
            value = str(value)
        elif isinstance(value, datetime):
            value = value.isoformat()
        data[item.name] = value
    return json.dumps(data)


def _order_from_document(text: str) -> Order:
    data = json.loads(text)
    for name in DECIMAL_FIELDS:
        if data.get(name) is not None:
            data[name] = Decimal(data[name])
    if data.get("end_time"):
        data["end_time"] = datetime.fromisoformat(data["end_time"])
    data["fills"] = [_fill_from_document(f) for f in data["fills"]]
    return Order(**data)


def _fill_from_document(data: dict[str, Any]) -> Fill:
    values: dict[str, Any] = {k: Decimal(v) if k in FILL_DECIMALS else v for k, v in data.items()}
    return Fill(**values)


class AccountStore:
    """Reads and writes the paper account."""

    def __init__(self, path: Path) -> None:
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.executescript(SCHEMA)
            row = self._db.execute("SELECT value FROM meta WHERE key='schema'").fetchone()
        except sqlite3.DatabaseError as exc:
            raise StoreError(f"{path}: not a usable paper venue database: {exc}") from None
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (str(SCHEMA_VERSION),))
        elif int(row[0]) > SCHEMA_VERSION:
            raise StoreError(f"{path}: schema {row[0]} is newer than this venue understands ({SCHEMA_VERSION})")
        self.path = path

    def load(self) -> tuple[list[Order], list[tuple[str, Account]]]:
        """Every order in creation order, and every (owner, account)."""
        orders = [_order_from_document(doc) for (doc,) in self._db.execute("SELECT document FROM orders ORDER BY seq")]
        accounts = [
            (owner, Account(currency, Decimal(available), Decimal(hold)))
            for owner, currency, available, hold in self._db.execute(
                "SELECT owner, currency, available, hold FROM accounts ORDER BY owner, currency"
            )
        ]
        return orders, accounts

    def save(self, orders: list[Order], accounts: list[tuple[str, Account]]) -> None:
        """Write changed orders and accounts in one durable transaction."""
        if not orders and not accounts:
            return
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            for order in orders:
                db.execute(
                    "INSERT INTO orders (order_id, owner, document) VALUES (?, ?, ?) "
                    "ON CONFLICT(order_id) DO UPDATE SET document = excluded.document",
                    (order.order_id, order.owner, _order_document(order)),
                )
            for owner, account in accounts:
                db.execute(
                    "INSERT OR REPLACE INTO accounts VALUES (?, ?, ?, ?)",
                    (owner, account.currency, str(account.available), str(account.hold)),
                )
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def close(self) -> None:
        """Close the database."""
        self._db.close()
