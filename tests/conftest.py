"""Fixtures shared by every test: a paper venue on port 0, the real captures, snapshot paths."""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_textual_snapshot
from aiohttp import web
from hypothesis import settings

from cryptoj_tui import binance_keys
from cryptoj_tui.binance_keys import BinanceKey
from cryptoj_tui.cdp_keys import CdpKey, generate_key, write_key_file
from cryptoj_tui.engine import Engine, EngineConfig, Side
from cryptoj_tui.engine.bus import Subscription
from cryptoj_tui.engine.events import Event
from cryptoj_tui.sim.venue import PaperVenue, VenueConfig

REPO = Path(__file__).resolve().parents[1]
SNAPSHOT_DIR = Path(__file__).resolve().parent / "snapshots"
CAPTURES = Path(os.environ.get("CRYPTOJ_CAPTURES", REPO.parent / "shared" / "data" / "captures"))

# Property and fuzz tests draw the same examples on every run (`make test` is CI: green stays
# green); CRYPTOJ_HYPOTHESIS=explore draws new ones each run, to look for what is still there.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile(os.environ.get("CRYPTOJ_HYPOTHESIS", "repeatable"))


def _snapshot_dirname(cls: type, *, test_location: object) -> str:
    # syrupy 4 has no --snapshot-dirname: keep every SVG in tests/snapshots/.
    return str(SNAPSHOT_DIR)


pytest_textual_snapshot.SVGImageExtension.dirname = classmethod(_snapshot_dirname)  # type: ignore[method-assign,assignment]


@pytest.fixture(autouse=True, scope="session")
def private_platform_dirs(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The platform's config, data and log directories of this run (and of the commands it runs)
    are its own: no test reads the developer's config or leaves a journal in their data dir."""
    home = tmp_path_factory.mktemp("platform")
    for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME"):
        os.environ[name] = str(home / name.lower())


@pytest.fixture
def captures() -> Path:
    """The real recorded exchange frames in ../shared/data/captures (skips where absent)."""
    if not CAPTURES.is_dir():
        pytest.skip(f"real exchange captures not found at {CAPTURES} (set CRYPTOJ_CAPTURES)")
    return CAPTURES


@pytest.fixture
def api_key(tmp_path: Path) -> tuple[Path, CdpKey]:
    """A fresh CDP key: (its key file, the key)."""
    key = generate_key()
    write_key_file(tmp_path / "api-key.json", key)
    return tmp_path / "api-key.json", key


@pytest.fixture
async def venue() -> AsyncIterator[PaperVenue]:
    """A lively paper venue on 127.0.0.1, any free port, on the test's own loop."""
    async with PaperVenue(VenueConfig(seed=7, step_interval=0.01, warmup_steps=100)) as paper:
        yield paper


@pytest.fixture
async def engine(venue: PaperVenue) -> AsyncIterator[Engine]:
    """An engine connected to `venue`."""
    async with Engine(EngineConfig(ws_url=venue.ws_url, stale_after=3.0)) as running:
        yield running


async def next_event(events: Subscription, predicate: Callable[[Event], bool], timeout: float = 10.0) -> Event:
    """The next event on `events` that satisfies `predicate`, or TimeoutError."""
    async with asyncio.timeout(timeout):
        async for event in events:
            if predicate(event):
                return event
    raise AssertionError("event stream ended")


def book_matches(engine: Engine, venue: PaperVenue, product_id: str) -> bool:
    """True when the engine's book equals the venue's own book, level for level."""
    if not engine.market_data.is_live(product_id):
        return False
    book = engine.book(product_id)
    bids, asks = venue.book_levels(product_id)
    return book.levels(Side.BID) == bids and book.levels(Side.ASK) == asks


async def wait_for_exact_book(engine: Engine, venue: PaperVenue, product_id: str, timeout: float = 10.0) -> None:
    """Freeze the venue's market and wait until the engine's book equals the venue's exactly."""
    venue.pause_flow()
    events = engine.events()
    try:
        async with asyncio.timeout(timeout):
            while not book_matches(engine, venue, product_id):
                await events.get()
    finally:
        events.close()


@contextlib.asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    """`app` served on a free loopback port: its "127.0.0.1:port", until the block ends."""
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    try:
        yield f"127.0.0.1:{runner.addresses[0][1]}"
    finally:
        await runner.cleanup()


VENUES = ("coinbase", "binance")
BOTH_VENUES = pytest.mark.parametrize("venue_protocol", VENUES, indirect=True)
"""Runs a scenario once per venue protocol: the engine trades Coinbase Advanced Trade, then
Binance Spot, on the same paper venue (its `trader` and `quiet_venue` follow)."""


@pytest.fixture
def venue_protocol(request: pytest.FixtureRequest) -> str:
    """The protocol the engine trades in this test: coinbase unless BOTH_VENUES says otherwise."""
    return str(getattr(request, "param", "coinbase"))


@pytest.fixture
async def quiet_venue() -> AsyncIterator[PaperVenue]:
    """A venue whose market does not move by itself (resting orders stay resting), with faults,
    speaking both Coinbase's and Binance's protocols."""
    config = VenueConfig(seed=5, step_interval=0, warmup_steps=50, control=True, protocols=VENUES)
    async with PaperVenue(config) as paper:
        yield paper


def trading_config(venue: PaperVenue, key: CdpKey | BinanceKey, **overrides: object) -> EngineConfig:
    """An engine config that trades on `venue` with `key` (registered with the venue here):
    Coinbase's protocol for a CDP key, Binance's for a Binance key."""
    if isinstance(key, BinanceKey):
        assert venue.binance is not None, "the venue does not speak Binance's protocol"
        venue.binance.keys.register(binance_keys.parse_verifier(binance_keys.key_file_text(key), "test key"))
        # A quiet market sends no depth diffs: the socket's own pings tell a dead connection.
        binance = {"stale_after": 3600.0, **overrides}
        return EngineConfig(
            ws_url=f"{venue.ws_url}/stream",
            venue="binance",
            rest_url=venue.rest_url,
            key=key,
            **binance,  # type: ignore[arg-type]
        )
    venue.keys.register(key.name, key.public_key())
    return EngineConfig(ws_url=venue.ws_url, key=key, stale_after=5.0, **overrides)  # type: ignore[arg-type]


def venue_key(venue_protocol: str, cdp_key: CdpKey) -> CdpKey | BinanceKey:
    """The key a test trades with on `venue_protocol`."""
    return binance_keys.generate_key() if venue_protocol == "binance" else cdp_key


@pytest.fixture
def trading_key(venue_protocol: str, api_key: tuple[Path, CdpKey]) -> CdpKey | BinanceKey:
    """A fresh key of the venue protocol the test trades on (trading_config registers it)."""
    return venue_key(venue_protocol, api_key[1])


def key_owner(key: CdpKey | BinanceKey) -> str:
    """Who the venue's records name as the owner of a key's orders."""
    return key.api_key if isinstance(key, BinanceKey) else key.name


@pytest.fixture
async def trader(quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey], venue_protocol: str) -> AsyncIterator[Engine]:
    """An engine with an API key on `quiet_venue` (Coinbase's protocol, or Binance's under
    BOTH_VENUES), BTC-USD book live."""
    async with Engine(trading_config(quiet_venue, venue_key(venue_protocol, api_key[1]))) as running:
        await running.subscribe("BTC-USD")
        await running.wait_for_book("BTC-USD")
        yield running
        if running.trading is not None:  # whatever the test did, the pre-trade totals kept up with it
            assert running.trading.execution.working_orders.is_consistent()


@contextlib.contextmanager
def disk_refusing_writes() -> Iterator[None]:
    """This process's writes to files fail (EFBIG) while inside, as on a full disk: its file-size
    limit drops to one byte (Python ignores SIGXFSZ, so the write fails instead of killing it).
    Keep the block synchronous and short: pytest's own capture files are refused too."""
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (1, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
