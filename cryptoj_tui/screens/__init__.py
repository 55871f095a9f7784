"""Screens of the trading console."""
