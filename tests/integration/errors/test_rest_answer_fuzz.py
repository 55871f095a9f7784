"""REST answers that are not Coinbase's, into the order gateway: wrong types, missing fields,
huge bodies, cut-off JSON. A proxy in front of the paper venue (test code) forwards every call
and swaps the answer to some order placements for junk, so the venue has acted and the engine
must find out what happened rather than believe (or crash on) what it was told."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from decimal import Decimal as D
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web

from cryptoj_tui.cdp_keys import CdpKey
from cryptoj_tui.engine import Engine
from cryptoj_tui.engine.events import Alert
from cryptoj_tui.engine.orders import OrderStatus
from cryptoj_tui.sim.venue import PaperVenue
from tests.conftest import trading_config
from tests.integration.helpers import best

JUNK = [
    b"[]",
    b'"ok"',
    b"42",
    b"{}",
    b'{"success": "yes"}',
    b'{"success": true}',
    b'{"success": true, "success_response": "placed"}',
    b'{"success": true, "success_response": {"order_id": 5}}',
    b'{"success": true, "success_response": {"order_id": ""}}',
    b'{"success": true, "pad": "' + b"x" * (4 << 20) + b'"}',
    b'{"success": tr',
    b"\xff\xfe not even text",
]
"""Answers to a placement the venue carried out."""
REFUSED_JUNK = [b'{"success": false, "error_response": "denied"}', b'{"success": false, "error_response": [1]}']
"""Answers that say no, oddly; the proxy does not forward these (the venue never saw the order)."""


class ManglingProxy:
    """Forwards to the venue (Host and Authorization as sent, so signatures still check); the
    next order placements get the queued answers instead of the venue's."""

    def __init__(self, venue_url: str) -> None:
        self.venue_url = venue_url
        self.answers: list[tuple[bytes, bool]] = []
        self.url = ""
        self._session: aiohttp.ClientSession | None = None

    async def handle(self, request: web.Request) -> web.Response:
        assert self._session is not None
        placing = request.method == "POST" and request.path == "/api/v3/brokerage/orders"
        if placing and self.answers:
            answer, forward = self.answers.pop(0)
            if forward:
                await self._forward(request)
            return web.Response(body=answer, status=200, content_type="application/json")
        status, body = await self._forward(request)
        return web.Response(body=body, status=status, content_type="application/json")

    async def _forward(self, request: web.Request) -> tuple[int, bytes]:
        assert self._session is not None
        headers = {k: v for k, v in request.headers.items() if k.lower() in ("authorization", "content-type", "host")}
        async with self._session.request(
            request.method, self.venue_url + request.path_qs, headers=headers, data=await request.read()
        ) as response:
            return response.status, await response.read()

    async def __aenter__(self) -> ManglingProxy:
        self._session = aiohttp.ClientSession(auto_decompress=False)
        app = web.Application(client_max_size=1 << 20)
        app.router.add_route("*", "/{tail:.*}", self.handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._runner.cleanup()
        assert self._session is not None
        await self._session.close()


@pytest.fixture
async def proxied(
    quiet_venue: PaperVenue, api_key: tuple[Path, CdpKey]
) -> AsyncIterator[tuple[Engine, ManglingProxy, PaperVenue]]:
    async with ManglingProxy(quiet_venue.rest_url) as proxy:
        config = trading_config(quiet_venue, api_key[1], rest_url=proxy.url)
        async with Engine(config) as engine:
            await engine.subscribe("BTC-USD")
            await engine.wait_for_book("BTC-USD")
            yield engine, proxy, quiet_venue


async def test_junk_answers_to_placements_end_in_the_venues_truth(
    proxied: tuple[Engine, ManglingProxy, PaperVenue], caplog: pytest.LogCaptureFixture
) -> None:
    engine, proxy, venue = proxied
    caplog.set_level(logging.ERROR)
    alerts = engine.events()
    proxy.answers = [(junk, True) for junk in JUNK] + [(junk, False) for junk in REFUSED_JUNK]
    bid, _ = best(engine)
    placed = []
    for n in range(len(JUNK) + len(REFUSED_JUNK)):
        order = await engine.place_limit("BTC-USD", "buy", size="0.001", price=bid - 100 - n)
        placed.append(order)
    for order in placed[: len(JUNK)]:  # the venue has each: the engine found it, whatever it was told
        await engine.wait_for(order, "OPEN")
        assert order.order_id and venue.exchange.orders[order.order_id].client_order_id == order.client_order_id
    for order in placed[len(JUNK) :]:
        assert order.status is OrderStatus.REJECTED and not order.order_id
    venue_open = sorted(o.client_order_id for o in venue.exchange.orders.values() if o.status == "OPEN")
    assert sorted(o.client_order_id for o in engine.open_orders()) == venue_open
    cancelled, failed = await engine.cancel_all()
    assert len(cancelled) == len(JUNK) and failed == []
    problems = []
    while (event := alerts.get_nowait()) is not None:
        if isinstance(event, Alert) and "background work failed" in event.message:
            problems.append(event.message)
    assert problems == []
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    assert all(D(o.request.size) == D("0.001") for o in placed)
