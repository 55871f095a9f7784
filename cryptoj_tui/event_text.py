"""What an engine event says, in a trader's words: one line for the journal screen.

Numbers are written to their product's increments, order ids are shortened, and an order that
is reported again without having changed (the REST answer and the user channel both say
CANCELLED) is one line, not two.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

from cryptoj_tui.engine.events import (
    Alert,
    BookReset,
    ConnectionStatus,
    Event,
    FeedError,
    MarketStale,
    OrderFilled,
    OrderRefused,
    OrderUpdated,
    ProductRefused,
    Reconciled,
    RiskLimitChanged,
    SequenceGap,
    TradingStateChanged,
)
from cryptoj_tui.formats import DEFAULT_FORMAT, ProductFormat, quote, short_id
from cryptoj_tui.views import OrderRow

KINDS = {
    OrderUpdated: "order",
    OrderFilled: "fill",
    OrderRefused: "refused",
    TradingStateChanged: "trading",
    Alert: "alert",
    ConnectionStatus: "connection",
    SequenceGap: "gap",
    FeedError: "feed error",
    BookReset: "book",
    MarketStale: "market",
    Reconciled: "reconcile",
    RiskLimitChanged: "risk limit",
    ProductRefused: "product",
}


def order_words(row: OrderRow, fmt: ProductFormat) -> str:
    """`BUY 0.01000000 BTC-USD limit at 64,999.17` (market orders have no price; one sized in the
    quote currency: `BUY 250.00 USD of BTC-USD market`)."""
    price = f" at {fmt.price(row.price)}" if row.price is not None else ""
    of = " of" if row.in_quote else ""
    return f"{row.side} {row.size_words(fmt)}{of} {row.product_id} {row.type}{price}"


class EventText:
    """Turns engine events into journal lines, remembering what each order last said."""

    def __init__(self) -> None:
        self._said: dict[str, tuple[str, Decimal, int]] = {}
        """client_order_id -> (status, filled size, edits) last written for it."""

    def line(self, event: Event, formats: Mapping[str, ProductFormat]) -> tuple[str, str] | None:
        """(kind, text) for the journal, or None when the event adds nothing."""
        kind = KINDS.get(type(event), type(event).__name__)
        text = self._text(event, formats)
        return None if text is None else (kind, text[:300])

    def _text(self, event: Event, formats: Mapping[str, ProductFormat]) -> str | None:
        match event:
            case OrderUpdated():
                row = OrderRow.from_snapshot(event.order, "")
                said = (row.status, row.filled_size, row.edits)
                if self._said.get(row.client_order_id) == said:
                    return None
                self._said[row.client_order_id] = said
                fmt = formats.get(row.product_id, DEFAULT_FORMAT)
                filled = (
                    f", filled {fmt.size(row.filled_size)} at avg {fmt.price(row.average_price)}"
                    if row.filled_size
                    else ""
                )
                reason = f" ({row.note})" if row.note else ""
                return f"{row.status}: {order_words(row, fmt)}{filled}{reason} · {short_id(row.client_order_id)}"
            case OrderFilled():
                fmt = formats.get(event.product_id, DEFAULT_FORMAT)
                return (
                    f"{event.side} {fmt.size(event.size)} {event.product_id} at {fmt.price(event.price)}, "
                    f"fee {quote(event.fee)} · {short_id(event.client_order_id)}"
                )
            case OrderRefused():
                return f"{event.product_id}: not sent: {event.reason}"
            case TradingStateChanged():
                before = f" (was {event.previous})" if event.previous else ""
                return f"{event.state}{before}" + (f": {event.reason}" if event.reason else "")
            case Alert():
                return f"{event.severity}: {event.message}"
            case ConnectionStatus():  # the venue's address is on the status line, not on every entry
                why = f": {event.reason}" if event.reason else ""
                attempt = f" (attempt {event.attempt})" if event.attempt > 1 else ""
                return f"{event.role} data {event.state}{attempt}{why}"
            case SequenceGap():
                return f"frames lost: expected {event.expected}, got {event.received}"
            case FeedError():
                return f"{event.message} · {event.where}"
            case BookReset():
                return f"{event.product_id} book rebuilt from a fresh snapshot: {event.reason}"
            case MarketStale():
                return (
                    f"{event.product_id}: no book update for {event.age:.0f} s"
                    if event.stale
                    else f"{event.product_id}: book updates again"
                )
            case Reconciled():
                ids = " ".join(short_id(i) for i in (event.client_order_id, event.order_id) if i)
                return f"{event.kind.replace('_', ' ')}: {event.detail} · {ids}"
            case RiskLimitChanged():
                return f"{event.limit}: {event.old} -> {event.new} ({event.reason})"
            case ProductRefused():
                return f"{event.product_id}: {event.reason}"
        return str(event)
