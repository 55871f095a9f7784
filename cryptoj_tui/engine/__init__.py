"""The headless trading engine. Never imports textual, rich or the paper venue."""

from cryptoj_tui.engine.book import OrderBook
from cryptoj_tui.engine.engine import Engine, EngineConfig, EngineStartError
from cryptoj_tui.engine.market_data import ProductUnavailable
from cryptoj_tui.engine.model import ConnectionState, Side

__all__ = ["ConnectionState", "Engine", "EngineConfig", "EngineStartError", "OrderBook", "ProductUnavailable", "Side"]
