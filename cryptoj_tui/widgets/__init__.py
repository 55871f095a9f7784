"""Widgets of the trading console."""
