"""CryptoJ TUI: a terminal trading console for crypto spot markets."""

__version__ = "0.1.0"
