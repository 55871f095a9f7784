"""The venue's WebSocket endpoint: subscribe/unsubscribe, snapshots, updates, heartbeats.

Each connection has its own `sequence_num` (from 0, +1 per frame, across channels) and its own
bounded send queue, so one slow client cannot hold up the others: a client that falls too far
behind is disconnected, as real venues do.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from typing import TYPE_CHECKING, Any

from aiohttp import WSCloseCode, WSMsgType, web

from cryptoj_tui.sim import frames
from cryptoj_tui.sim.auth import AuthError
from cryptoj_tui.sim.faults import Faults

if TYPE_CHECKING:
    from cryptoj_tui.sim.venue import PaperVenue

log = logging.getLogger(__name__)
AUTHENTICATION_FAILURE = "authentication failure"
"""The error frame's message when a user-channel subscribe carries no valid JWT, as Coinbase sends it."""

PRODUCT_CHANNELS = {"level2", "market_trades", "ticker", "ticker_batch", "candles", "user"}
KNOWN_CHANNELS = PRODUCT_CHANNELS | {"heartbeats", "status"}
ALL_PRODUCTS_UNLESS_NAMED = {"user", "status"}
"""Channels whose product_ids are optional: without them, every product is meant."""
FRAME_CHANNEL = {"level2": "l2_data"}
"""The `channel` a subscription's frames carry, where it differs from the subscription's name."""
MAX_INBOUND_BYTES = 1 << 20
MAX_QUEUED_BYTES = 32 << 20
MAX_OVERSIZED_BYTES = 16 << 20
"""The largest frame the `oversized` fault sends (within one connection's queue bound)."""
MAX_CONNECTIONS_PER_CLIENT = 100
"""Connections open at once from one address (this venue's own guard: Coinbase documents only a
rate of new connections)."""
MAX_MESSAGES_PER_SECOND = 50
"""Messages a second one connection may send, on average..."""
MESSAGE_BURST = 250
"""...and at once: a client subscribing every channel and product at start stays far below."""
"""Bytes of frames a connection may have waiting to be sent before it counts as a slow consumer
and is cut off (a frame count alone would not bound memory: a snapshot can be megabytes)."""


class FeedSession:
    """One client connection: its subscriptions, its sequence counter, its send queue."""

    def __init__(
        self,
        ws: web.WebSocketResponse,
        max_queue: int,
        faults: Faults | None = None,
        transport: Any = None,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
    ) -> None:
        self.ws = ws
        self.transport = transport
        self._faults = faults
        self.sequence_num = 0
        self.subscriptions: dict[str, set[str]] = {}
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._max_queue = max_queue
        self._max_queued_bytes = max_queued_bytes
        self.queued_bytes = 0
        self.heartbeat_task: asyncio.Task[None] | None = None
        self.pending_skip = 0
        self.user: str | None = None
        """The API key that authenticated the user channel, if any."""
        self.closed = False
        self.refused = False
        """Being cut off: nothing more the client says is read."""
        self._tokens = float(MESSAGE_BURST)
        self._tokens_at = time.monotonic()

    def take_message_token(self, per_second: float, burst: int) -> bool:
        """Count one inbound message against the rate limit (a token bucket); False when over."""
        now = time.monotonic()
        self._tokens = min(float(burst), self._tokens + (now - self._tokens_at) * per_second)
        self._tokens_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True

    def refuse(self, why: str) -> None:
        """Say why in a Coinbase-style error frame, then cut the connection off."""
        self.refused = True
        self.send_error(why)
        log.warning("disconnecting a client: %s", why)
        asyncio.get_running_loop().create_task(self._cut_off(why, flush=True))

    def wants(self, channel: str, product_id: str) -> bool:
        """True when subscribed to `channel` for `product_id`."""
        return product_id in self.subscriptions.get(channel, ())

    def send_frame(self, channel: str, timestamp: str, events_json: str) -> None:
        """Queue a data frame, stamping it with this connection's next sequence number."""
        if self.pending_skip:  # fault injection: frames "lost" before this one
            self.sequence_num += self.pending_skip
            self.pending_skip = 0
        self._enqueue(frames.envelope(channel, timestamp, self.sequence_num, events_json))
        self.sequence_num += 1

    def send_error(self, message: str) -> None:
        """Queue an error frame (error frames carry no sequence number)."""
        self._enqueue(frames.error_frame(message))

    def _enqueue(self, text: str) -> None:
        if self.closed:
            return
        if self._queue.qsize() >= self._max_queue or self.queued_bytes + len(text) > self._max_queued_bytes:
            why = f"slow consumer: {self._queue.qsize()} frames, {self.queued_bytes:,} bytes waiting"
            log.warning("disconnecting a %s", why)
            self.close()
            asyncio.get_running_loop().create_task(self._cut_off(why))
            return
        self.queued_bytes += len(text)
        self._queue.put_nowait(text)

    async def _cut_off(self, why: str, *, flush: bool = False) -> None:
        """Say why in a close frame, if the client reads it within a second; then hang up (one
        that reads nothing would hold the connection for aiohttp's whole close handshake).
        `flush`: send what is queued first (the error frame saying why)."""
        if flush:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(1.0):
                    while self._queue.qsize() and not self.ws.closed:
                        await asyncio.sleep(0.01)
            self.close()
        with contextlib.suppress(Exception):
            async with asyncio.timeout(1.0):
                await self.ws.close(code=WSCloseCode.POLICY_VIOLATION, message=why.encode()[:120])
        if self.transport is not None and not self.transport.is_closing():
            self.transport.abort()

    def send_raw(self, text: str) -> None:
        """Queue text exactly as given (fault injection: malformed frames)."""
        self._enqueue(text)

    async def write_loop(self) -> None:
        """Send queued frames in order until the session closes (or the client goes)."""
        try:
            while (text := await self._queue.get()) is not None:
                self.queued_bytes -= len(text)
                if self._faults is not None:
                    stall = self._faults.ws_stalled_until - time.monotonic()
                    if stall > 0:
                        await asyncio.sleep(stall)
                await self.ws.send_str(text)
        except (ConnectionError, RuntimeError) as exc:  # the client went: nothing to send to
            log.info("feed client gone: %s", exc)
        finally:
            self._drop_queued()

    def _drop_queued(self) -> None:
        """Forget every frame still waiting: a closed session holds no memory."""
        while not self._queue.empty():
            self._queue.get_nowait()
        self.queued_bytes = 0

    def close(self) -> None:
        """Stop sending; the write loop ends after its current frame, and what waits is dropped."""
        if not self.closed:
            self.closed = True
            self._drop_queued()
            self._queue.put_nowait(None)
            if self.heartbeat_task is not None:
                self.heartbeat_task.cancel()


class FeedEndpoint:
    """Serves the market data WebSocket for a `PaperVenue`."""

    def __init__(
        self,
        venue: PaperVenue,
        *,
        max_queue: int = 50_000,
        max_queued_bytes: int = MAX_QUEUED_BYTES,
        max_connections_per_client: int = MAX_CONNECTIONS_PER_CLIENT,
        max_messages_per_second: float = MAX_MESSAGES_PER_SECOND,
    ) -> None:
        self._venue = venue
        self._max_queue = max_queue
        self._max_queued_bytes = max_queued_bytes
        self._max_connections = max_connections_per_client
        self._messages_per_second = max_messages_per_second
        self.sessions: set[FeedSession] = set()
        self._by_client: dict[str, int] = {}

    async def handle(self, request: web.Request) -> web.WebSocketResponse:
        """aiohttp handler: one WebSocket client from upgrade to close."""
        ws = web.WebSocketResponse(compress=False, max_msg_size=MAX_INBOUND_BYTES)
        await ws.prepare(request)
        client = request.remote or "?"
        session = FeedSession(ws, self._max_queue, self._venue.faults, request.transport, self._max_queued_bytes)
        self.sessions.add(session)
        self._by_client[client] = self._by_client.get(client, 0) + 1
        writer = asyncio.get_running_loop().create_task(session.write_loop())
        try:
            if self._by_client[client] > self._max_connections:
                session.refuse(f"too many connections from {client}: at most {self._max_connections} at once")
            async for message in ws:
                if session.refused or session.closed:
                    continue
                if not session.take_message_token(self._messages_per_second, MESSAGE_BURST):
                    session.refuse(f"rate limit exceeded: at most {self._messages_per_second:g} messages a second")
                elif message.type == WSMsgType.TEXT:
                    await self._on_message(session, message.data)
                elif message.type == WSMsgType.BINARY:
                    session.send_error("binary frames are not accepted; send JSON text")
        finally:
            self._by_client[client] -= 1
            if not self._by_client[client]:
                del self._by_client[client]
            self.sessions.discard(session)
            session.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(writer, 1.0)
            writer.cancel()
        return ws

    def skip_sequence(self, count: int = 1) -> None:
        """Fault: each connection's next data frame jumps `count` sequence numbers."""
        if count < 1:
            raise ValueError("skip at least 1 sequence number")
        for session in self.sessions:
            session.pending_skip = count

    async def drop_all(self) -> None:
        """Fault: cut every connection without a close handshake."""
        for session in list(self.sessions):
            session.close()
            if session.transport is not None:
                session.transport.abort()

    def send_malformed(self, text: str = '{"channel":"l2_data","sequence_num":') -> None:
        """Fault: send a frame that is not valid JSON to every connection."""
        for session in self.sessions:
            session.send_raw(text)

    def send_oversized(self, size: int) -> None:
        """Fault: send every connection one well-formed JSON frame of `size` bytes, on a channel
        no client subscribed to (a client's frame limit decides whether it is read or refused)."""
        head, tail = '{"channel":"oversized","padding":"', '"}'
        least = len(head) + len(tail)
        if not least <= size <= MAX_OVERSIZED_BYTES:
            raise ValueError(f"oversized frames are {least} to {MAX_OVERSIZED_BYTES:,} bytes, got {size}")
        text = head + "x" * (size - len(head) - len(tail)) + tail
        for session in self.sessions:
            session.send_raw(text)

    async def close_all(self) -> None:
        """Close every client connection (venue shutdown)."""
        for session in list(self.sessions):
            session.close()
            await session.ws.close(code=WSCloseCode.GOING_AWAY, message=b"venue shutting down")

    def broadcast_user(self, owner: str, product_id: str, events_json: str) -> None:
        """Send a user-channel frame to the owner's sessions that follow `product_id`."""
        timestamp = frames.rfc3339(self._venue.clock())
        for session in self.sessions:
            if session.user == owner and session.wants("user", product_id):
                session.send_frame("user", timestamp, events_json)

    def broadcast(self, channel: str, subscription: str, product_id: str, events_json: str) -> None:
        """Send a frame to every connection subscribed to `subscription` for `product_id`."""
        timestamp = frames.rfc3339(self._venue.clock())
        for session in self.sessions:
            if session.wants(subscription, product_id):
                session.send_frame(channel, timestamp, events_json)

    # -- client messages -----------------------------------------------------------------

    def queued_bytes(self) -> int:
        """Bytes of frames waiting to be sent, over every connection."""
        return sum(session.queued_bytes for session in self.sessions)

    async def _on_message(self, session: FeedSession, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            session.send_error(f"malformed JSON message: {text[:60]!r}")
            return
        problem = self._check_request(message)
        if problem:
            session.send_error(problem)
            return
        kind, channel = message["type"], message["channel"]
        if channel in ALL_PRODUCTS_UNLESS_NAMED:
            products = message.get("product_ids") or list(self._venue.books)
        elif channel in PRODUCT_CHANNELS:
            products = list(dict.fromkeys(message["product_ids"]))  # a product named twice is one subscription
        else:
            products = [channel]
        if kind == "subscribe":
            if channel == "user":
                try:
                    session.user = self._venue.keys.verify(str(message.get("jwt", "")))
                except AuthError as exc:  # Coinbase's words; why goes to the log only
                    log.info("user channel subscribe refused: %s", exc)
                    session.send_error(AUTHENTICATION_FAILURE)
                    return
            await self._subscribe(session, channel, products)  # it acknowledges, in its place
        else:
            self._unsubscribe(session, channel, products)
            self._acknowledge(session)

    def _check_request(self, message: object) -> str | None:
        if not isinstance(message, dict):
            return "message must be a JSON object"
        kind = message.get("type")
        if kind not in ("subscribe", "unsubscribe"):
            return f"unknown message type {kind!r}: expected subscribe or unsubscribe"
        channel = message.get("channel")
        if channel not in KNOWN_CHANNELS:
            return f"unknown channel {channel!r}"
        if channel in PRODUCT_CHANNELS or "product_ids" in message:
            products = message.get("product_ids")
            if channel in ALL_PRODUCTS_UNLESS_NAMED and products is None:
                return None
            if not isinstance(products, list) or not products or not all(isinstance(p, str) for p in products):
                return f"{channel} needs product_ids, a non-empty list of product id strings"
            unknown = list(dict.fromkeys(p[:40] for p in products if p not in self._venue.books))
            if unknown:  # named once each, and a few: the answer never grows with the request
                more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
                return f"unknown product ids {unknown[:5]}{more} for {channel}"
        return None

    async def _subscribe(self, session: FeedSession, channel: str, products: list[str]) -> None:
        subscribed = session.subscriptions.setdefault(channel, set())
        venue = self._venue
        # Every (re)subscribe starts with a fresh snapshot, before the ack. One product at a time,
        # letting the loop run between them: a snapshot is built and queued, and the product is
        # subscribed, with no update in between (none is lost); other clients wait for one
        # snapshot at most, never for a whole burst.
        if channel in ("user", "status"):
            timestamp = frames.rfc3339(venue.clock())
            session.send_frame(channel, timestamp, venue.snapshot_events(channel, "", session.user or ""))
            subscribed.update(products)
            self._acknowledge(session)
        elif channel == "heartbeats":
            subscribed.update(products)
            self._acknowledge(session)
        else:
            for product_id in products:
                if session.closed:
                    return
                session.send_frame(
                    FRAME_CHANNEL.get(channel, channel),
                    frames.rfc3339(venue.clock()),
                    venue.snapshot_events(channel, product_id),
                )
                subscribed.add(product_id)
                if product_id == products[-1]:  # the ack right after the last snapshot: no update between
                    self._acknowledge(session)
                await asyncio.sleep(0)
        if channel == "heartbeats" and session.heartbeat_task is None:
            session.heartbeat_task = asyncio.get_running_loop().create_task(self._heartbeats(session))

    def _unsubscribe(self, session: FeedSession, channel: str, products: list[str]) -> None:
        subscribed = session.subscriptions.get(channel, set())
        subscribed.difference_update(products)
        if not subscribed:
            session.subscriptions.pop(channel, None)
            if channel == "heartbeats" and session.heartbeat_task is not None:
                session.heartbeat_task.cancel()
                session.heartbeat_task = None

    def _acknowledge(self, session: FeedSession) -> None:
        current = {ch: sorted(products) for ch, products in sorted(session.subscriptions.items())}
        events = frames.encode_events([{"subscriptions": current}])
        session.send_frame("subscriptions", frames.rfc3339(self._venue.clock()), events)

    async def _heartbeats(self, session: FeedSession) -> None:
        started = time.monotonic()
        counter = 0
        while not session.closed:
            await asyncio.sleep(self._venue.config.heartbeat_interval)
            counter += 1
            ns = self._venue.clock()
            events = frames.encode_events(
                [{"current_time": frames.go_time(ns, time.monotonic() - started), "heartbeat_counter": counter}]
            )
            session.send_frame("heartbeats", frames.rfc3339(ns), events)
