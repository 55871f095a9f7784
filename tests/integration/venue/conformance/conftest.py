"""A quiet paper venue (the market moves only when a test trades) with keys registered from
key files the docs client wrote, and a session for the client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from cryptoj_tui.sim.venue import PaperVenue, VenueConfig
from tests.integration.venue.conformance.docs_client import DocsKey


@pytest.fixture
def keys(tmp_path: Path) -> dict[str, DocsKey]:
    """An EC key and an Ed25519 key, and two more EC keys (other traders)."""
    return {
        "ec": DocsKey.new(),
        "ed25519": DocsKey.new(ed25519_key=True),
        "other": DocsKey.new(),
        "third": DocsKey.new(),
    }


@pytest.fixture
async def coinbase(keys: dict[str, DocsKey], tmp_path: Path) -> AsyncIterator[PaperVenue]:
    files = tuple(key.write(tmp_path / f"{name}.json") for name, key in keys.items())
    config = VenueConfig(
        seed=11, step_interval=0, warmup_steps=200, api_key_files=files, control=True, ticker_batch_interval=0.2
    )
    async with PaperVenue(config) as venue:
        yield venue


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session
