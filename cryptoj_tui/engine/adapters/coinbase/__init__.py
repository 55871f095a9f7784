"""Coinbase Advanced Trade (API v3): stream decoding now; REST and JWT auth to come."""
