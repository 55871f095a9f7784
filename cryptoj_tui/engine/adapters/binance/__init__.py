"""Binance Spot public market data: depth diffs synchronised with REST snapshots."""
