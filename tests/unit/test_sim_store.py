"""The paper account's SQLite store: everything an order carries survives a round trip."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from cryptoj_tui.sim.store import AccountStore, StoreError
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig

OWNER = "organizations/o/apiKeys/k"


def place(venue: PaperVenue, cid: str, config: dict, side: str = "BUY") -> dict:
    return venue.create_order(
        OWNER, {"client_order_id": cid, "product_id": "BTC-USD", "side": side, "order_configuration": config}
    )


def snapshot(venue: PaperVenue) -> tuple:
    orders = {o.order_id: o.to_json() for o in venue.exchange.owner_orders(OWNER)}
    fills = [
        (f.entry_id, f.trade_id, f.price, f.size, f.commission) for o in venue.exchange.orders.values() for f in o.fills
    ]
    accounts = [(a.currency, a.available, a.hold) for a in venue.exchange.owner_accounts(OWNER)]
    return orders, sorted(fills), accounts


def test_a_restarted_venue_has_the_same_account(tmp_path: Path) -> None:
    config = VenueConfig(seed=4, step_interval=0, db=tmp_path / "paper.db")
    first = PaperVenue(config)
    bid = first.books["BTC-USD"].best_bid()
    place(first, "gtc", {"limit_limit_gtc": {"base_size": "0.01", "limit_price": str(bid - 100), "post_only": True}})
    place(
        first,
        "gtd",
        {"limit_limit_gtd": {"base_size": "0.02", "limit_price": str(bid - 150), "end_time": "2099-01-01T00:00:00Z"}},
    )
    place(
        first,
        "stop",
        {
            "stop_limit_stop_limit_gtc": {
                "base_size": "0.01",
                "limit_price": str(bid - 500),
                "stop_price": str(bid - 400),
                "stop_direction": "STOP_DIRECTION_STOP_DOWN",
            }
        },
        "SELL",
    )
    place(
        first,
        "bracket",
        {
            "trigger_bracket_gtc": {
                "base_size": "0.01",
                "limit_price": str(bid + 500),
                "stop_trigger_price": str(bid - 400),
            }
        },
        "SELL",
    )
    first.create_order(
        OWNER,
        {
            "client_order_id": "entry",
            "product_id": "BTC-USD",
            "side": "BUY",
            "order_configuration": {"limit_limit_gtc": {"base_size": "0.01", "limit_price": str(bid - 100)}},
            "attached_order_configuration": {
                "trigger_bracket_gtc": {"limit_price": str(bid + 200), "stop_trigger_price": str(bid - 300)}
            },
        },
    )
    place(first, "mkt", {"market_market_ioc": {"quote_size": "250.00"}})
    before = snapshot(first)
    assert len(before[0]) == 6 and before[1]
    first.store.close()  # type: ignore[union-attr]

    second = PaperVenue(config)
    assert snapshot(second) == before
    resting = {o.order_id for o in second.books["BTC-USD"].resting_orders(OWNER)}
    by_client = {o.client_order_id: o for o in second.exchange.orders.values()}
    assert resting == {by_client[c].order_id for c in ("gtc", "gtd", "bracket", "entry")}
    stop = by_client["stop"]
    assert stop.status == "OPEN" and not stop.triggered and stop.end_time is None
    assert by_client["entry"].attached == {"limit_price": str(bid + 200), "stop_trigger_price": str(bid - 300)}
    assert second.exchange._stops["BTC-USD"] == [stop.order_id, by_client["bracket"].order_id]
    assert place(second, "mkt", {"market_market_ioc": {"quote_size": "250.00"}})["success"]
    assert len(second.exchange.orders) == 6  # the retry created nothing
    second.store.close()  # type: ignore[union-attr]


def test_a_newer_schema_or_a_foreign_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "paper.db"
    AccountStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute("UPDATE meta SET value = '99' WHERE key = 'schema'")
    with pytest.raises(StoreError, match="schema 99 is newer"):
        AccountStore(path)
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00garbage" * 500)
    with pytest.raises(StoreError, match="not a usable paper venue database"):
        AccountStore(junk)
