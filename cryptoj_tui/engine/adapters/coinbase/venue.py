"""Coinbase Advanced Trade as a TradingVenue: REST calls and the user channel on one API key."""

from __future__ import annotations

from collections.abc import Callable

from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.engine.adapters.base import ExecutionClient
from cryptoj_tui.engine.adapters.coinbase.auth import JwtSigner
from cryptoj_tui.engine.adapters.coinbase.execution_client import CoinbaseExecutionClient
from cryptoj_tui.engine.adapters.coinbase.rest import CoinbaseRest
from cryptoj_tui.engine.adapters.coinbase.user_feed import CoinbaseUserFeed
from cryptoj_tui.engine.adapters.connection import MAX_FRAME_BYTES, Backoff
from cryptoj_tui.engine.bus import EventBus
from cryptoj_tui.engine.orders import VenueOrderUpdate
from cryptoj_tui.engine.portfolio import Balance
from cryptoj_tui.engine.recording import USER, Recorder


class CoinbaseTrading:
    """The execution client and the user channel of one Coinbase key (one signer for both)."""

    def __init__(
        self,
        key: CdpKey,
        *,
        rest_url: str,
        user_ws_url: str,
        rest_rate: float = 25.0,
        rest_timeout: float = 5.0,
        max_frame_bytes: int = MAX_FRAME_BYTES,
        recorder: Recorder | None = None,
    ) -> None:
        self._signer = JwtSigner(key)
        self._user_ws_url = user_ws_url
        self._max_frame_bytes = max_frame_bytes
        self._recorder = recorder
        self.client: ExecutionClient = CoinbaseExecutionClient(
            CoinbaseRest(
                rest_url,
                self._signer,
                rate=rest_rate,
                timeout=rest_timeout,
                backoff=Backoff(base=min(0.05, rest_timeout), cap=1.0),
                tap=recorder,
            )
        )

    def user_stream(
        self,
        bus: EventBus,
        on_update: Callable[[VenueOrderUpdate], None],
        on_resync: Callable[[str], None],
        on_balances: Callable[[list[Balance]], None],
    ) -> CoinbaseUserFeed:
        # Coinbase's user channel tells orders only: balances are read over REST.
        return CoinbaseUserFeed(
            self._user_ws_url,
            self._signer,
            bus,
            on_update=on_update,
            on_resync=on_resync,
            max_frame_bytes=self._max_frame_bytes,
            tap=None if self._recorder is None else self._recorder.tap(USER),
        )
