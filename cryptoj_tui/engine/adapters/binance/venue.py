"""Binance Spot as a TradingVenue: signed REST calls and the user-data stream on one API key.

A key comes from a Binance key file (`--key-file` / CRYPTOJ_BINANCE_KEY_FILE, readable by its
owner only) or from the environment (CRYPTOJ_BINANCE_API_KEY + CRYPTOJ_BINANCE_SECRET_KEY for
HMAC). Nothing here logs or formats the secret.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from cryptoj_tui.binance_keys import BinanceKey, BinanceKeyError, parse_key_file, read_key_file
from cryptoj_tui.engine.adapters.base import ExecutionClient
from cryptoj_tui.engine.adapters.binance.execution_client import BinanceExecutionClient
from cryptoj_tui.engine.adapters.binance.rest import BinanceRest
from cryptoj_tui.engine.adapters.binance.user_stream import BinanceUserStream
from cryptoj_tui.engine.adapters.connection import MAX_FRAME_BYTES, Backoff
from cryptoj_tui.engine.adapters.key_files import find_key, load_private
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.orders import VenueOrderUpdate
from cryptoj_tui.engine.portfolio import Balance
from cryptoj_tui.engine.recording import USER, Recorder

KEY_FILE_ENV = "CRYPTOJ_BINANCE_KEY_FILE"
API_KEY_ENV = "CRYPTOJ_BINANCE_API_KEY"
SECRET_KEY_ENV = "CRYPTOJ_BINANCE_SECRET_KEY"


def load_key_file(path: Path) -> BinanceKey:
    """Read a Binance key file that only its owner can read; BinanceKeyError says why not."""
    return load_private(path, read_key_file, BinanceKeyError)


def load_key(key_file: Path | None = None, env: Mapping[str, str] | None = None) -> BinanceKey | None:
    """The key from `key_file`, else CRYPTOJ_BINANCE_KEY_FILE, else the two key variables; None
    when none is given."""

    def from_pair(api_key: str, secret: str) -> BinanceKey:
        return parse_key_file(json.dumps({"apiKey": api_key, "secretKey": secret}), f"environment {SECRET_KEY_ENV}")

    return find_key(
        key_file,
        env,
        file_variable=KEY_FILE_ENV,
        pair=(API_KEY_ENV, SECRET_KEY_ENV),
        load_file=load_key_file,
        from_pair=from_pair,
        error=BinanceKeyError,
    )


class BinanceTrading:
    """The execution client and the user-data stream of one Binance key."""

    def __init__(
        self,
        key: BinanceKey,
        *,
        rest_url: str,
        ws_api_url: str,
        products: Iterable[str] = (),
        rest_rate: float = 25.0,
        rest_timeout: float = 5.0,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        recorder: Recorder | None = None,
    ) -> None:
        self._key = key
        self._ws_api_url = ws_api_url
        self._max_frame_bytes = max_frame_bytes
        self._recorder = recorder
        self.rest = BinanceRest(
            rest_url,
            key,
            rate=rest_rate,
            timeout=rest_timeout,
            backoff=Backoff(base=min(0.05, rest_timeout), cap=1.0),
            tap=recorder,
        )
        self._client = BinanceExecutionClient(self.rest, products)
        self.client: ExecutionClient = self._client

    def user_stream(
        self,
        bus: EventBus,
        on_update: Callable[[VenueOrderUpdate], None],
        on_resync: Callable[[str], None],
        on_balances: Callable[[list[Balance]], None],
    ) -> BinanceUserStream:
        return BinanceUserStream(
            self._ws_api_url,
            self._key,
            bus,
            on_update=on_update,
            on_resync=on_resync,
            on_balances=on_balances,
            now_ms=self.rest.now_ms,
            fee_lookup=self._client.fees_of,
            assets_of=self._client.assets_of,
            max_frame_bytes=self._max_frame_bytes,
            tap=None if self._recorder is None else self._recorder.tap(USER),
        )
