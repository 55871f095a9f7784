"""Venue adapters: how the engine speaks to each venue's wire protocol."""
