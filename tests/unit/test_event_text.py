"""The journal screen's lines: one per event, in a trader's words, numbers to the product's
increments, ids shortened, and an order repeated without a change said once (issue 18.10)."""

from __future__ import annotations

from decimal import Decimal as D

from cryptoj_tui.engine.events import (
    Alert,
    ConnectionStatus,
    OrderFilled,
    OrderUpdated,
    ProductRefused,
    Reconciled,
    TradingStateChanged,
)
from cryptoj_tui.engine.model import ConnectionState
from cryptoj_tui.event_text import EventText
from cryptoj_tui.formats import ProductFormat

CLIENT_ID = "1a2b3c4d-0000-4000-8000-000000000000"


def order(status: str, filled: str = "0", average: str = "") -> OrderUpdated:
    return OrderUpdated(
        client_order_id=CLIENT_ID,
        status=status,
        order={
            "client_order_id": CLIENT_ID,
            "order_id": "v-1",
            "product_id": "BTC-USD",
            "side": "BUY",
            "type": "limit",
            "size": "0.01",
            "price": "64999.9",
            "status": status,
            "filled_size": filled,
            "average_price": average,
            "fees": "0",
            "reason": "",
        },
    )


def test_a_cancel_reported_twice_is_one_line() -> None:
    """The REST answer and the user channel both said CANCELLED: one line, not two."""
    text = EventText()
    lines = [text.line(order(s), {}) for s in ("PENDING_NEW", "OPEN", "PENDING_CANCEL", "CANCELLED", "CANCELLED")]
    assert lines == [
        ("order", "PENDING_NEW: BUY 0.01000000 BTC-USD limit at 64,999.90 · 1a2b3c4d"),
        ("order", "OPEN: BUY 0.01000000 BTC-USD limit at 64,999.90 · 1a2b3c4d"),
        ("order", "PENDING_CANCEL: BUY 0.01000000 BTC-USD limit at 64,999.90 · 1a2b3c4d"),
        ("order", "CANCELLED: BUY 0.01000000 BTC-USD limit at 64,999.90 · 1a2b3c4d"),
        None,
    ]


def test_fills_are_words_with_the_products_increments_not_raw_fields() -> None:
    text = EventText()
    eth = {"BTC-USD": ProductFormat(D("0.1"), D("0.0001"))}
    filled = text.line(
        OrderFilled(
            client_order_id=CLIENT_ID,
            product_id="BTC-USD",
            side="BUY",
            size=D("0.004"),
            price=D("65011.2234"),
            fee=D("3.9002232"),
        ),
        eth,
    )
    assert filled == ("fill", "BUY 0.0040 BTC-USD at 65,011.2, fee 3.90 · 1a2b3c4d")
    partly = text.line(order("PARTIALLY_FILLED", "0.004", "65011.2234"), eth)
    assert partly == (
        "order",
        "PARTIALLY_FILLED: BUY 0.0100 BTC-USD limit at 64,999.9, filled 0.0040 at avg 65,011.2 · 1a2b3c4d",
    )
    assert text.line(order("PARTIALLY_FILLED", "0.006", "65011"), eth) is not None  # more filled: a new line


def test_other_events_read_as_sentences() -> None:
    text = EventText()
    assert text.line(TradingStateChanged(state="HALTED", previous="ACTIVE", reason="kill switch"), {}) == (
        "trading",
        "HALTED (was ACTIVE): kill switch",
    )
    assert text.line(TradingStateChanged(state="ACTIVE", previous="", reason=""), {}) == ("trading", "ACTIVE")
    assert text.line(Alert(severity="halt", message="trading HALTED"), {}) == ("alert", "halt: trading HALTED")
    assert text.line(
        ConnectionStatus(url="ws://v", state=ConnectionState.RECONNECTING, attempt=3, reason="closed"), {}
    ) == ("connection", "market data reconnecting (attempt 3): closed")
    assert text.line(ProductRefused(product_id="DOGE-USD", reason="the venue does not list DOGE-USD"), {}) == (
        "product",
        "DOGE-USD: the venue does not list DOGE-USD",
    )
    assert text.line(
        Reconciled(
            kind="missed_fill",
            client_order_id=CLIENT_ID,
            order_id="9f8e7d6c-1111",
            detail="filled 0 -> 0.01 while stopped",
        ),
        {},
    ) == ("reconcile", "missed fill: filled 0 -> 0.01 while stopped · 1a2b3c4d 9f8e7d6c")
