"""Binance Spot: depth diffs synchronised with REST snapshots, signed trading, the user data stream."""


def symbol_of(product_id: str) -> str:
    """What Binance calls a product: BTC-USDT is BTCUSDT."""
    return product_id.replace("-", "")
