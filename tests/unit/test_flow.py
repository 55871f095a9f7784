"""Synthetic flow: deterministic per seed, lively, two-sided, bounded."""

from __future__ import annotations

import random

from cryptoj_tui.sim.flow import FLOW_OWNER, SyntheticFlow
from cryptoj_tui.sim.matching import MatchingBook
from cryptoj_tui.sim.products import PRODUCTS


def run(seed: int, steps: int, product: str = "BTC-USD") -> tuple[MatchingBook, int, int]:
    book = MatchingBook(PRODUCTS[product])
    flow = SyntheticFlow(book, random.Random(seed), min_levels=60)
    flow.seed_book()
    trades = changes = 0
    for _ in range(steps):
        trades += len(flow.step())
        changes += len(book.take_changes())
    return book, trades, changes


def test_same_seed_same_market_different_seed_different_market() -> None:
    a, _, _ = run(5, 400)
    b, _, _ = run(5, 400)
    c, _, _ = run(6, 400)
    assert a.levels("bid") == b.levels("bid") and a.levels("offer") == b.levels("offer")
    assert a.levels("bid") != c.levels("bid")


def test_every_product_keeps_a_deep_two_sided_uncrossed_book_that_trades() -> None:
    for product in PRODUCTS:
        book, trades, changes = run(1, 1500, product)
        assert book.level_count("bid") >= 50 and book.level_count("offer") >= 50, product
        assert book.best_bid() < book.best_ask(), product  # type: ignore[operator]
        assert trades > 100, product
        assert changes >= 1500, product  # at least one book change per step on average


def test_resting_orders_stay_bounded_over_a_long_run() -> None:
    book, _, _ = run(3, 5000, "SOL-USD")
    assert len(book.resting_orders(FLOW_OWNER)) <= 60 * 5
