"""`cryptoj headless`: the engine without a UI, driven by JSON lines.

Every engine event goes to stdout as one JSON object per line (`{"event": "OrderUpdated", ...}`);
commands come in on stdin, one JSON object per line, and each gets one reply line
(`{"reply": "place", "ok": true, ...}` or `{"reply": ..., "ok": false, "error": "..."}`).
A bad command is answered with an error and the engine keeps running. End of input stops it
(unless `--stay`): stdin may be a pipe, a file or /dev/null.

Commands: subscribe {product_ids}, place {product_id, side, type, size, price?, stop_price?,
end_time?, post_only?, take_profit?, stop_loss?} (market, ioc and fok replies wait for the outcome;
take_profit with stop_loss attach a bracket), cancel {client_order_id},
cancel_all {product_id?, side?}, kill {reason, flatten?}, rearm {reason}, orders, positions, state,
set_limit {name, value, reason, product_id?}, book {product_id, depth?}, balances, reconcile {reason?}.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import threading
from collections import deque
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, BinaryIO, Protocol, TextIO

import msgspec

from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.orders import Order, OrderError, OrderType
from cryptoj_tui.engine.trading import OrderRefusedError

log = logging.getLogger(__name__)

IMMEDIATE = (OrderType.MARKET, OrderType.IOC, OrderType.FOK)
Handler = Callable[[Engine, dict[str, Any]], Awaitable[dict[str, Any]]]


def _order(order: Order) -> dict[str, Any]:
    return order.snapshot()


def _find(engine: Engine, client_order_id: object) -> Order:
    for order in engine.orders():
        if order.client_order_id == client_order_id:
            return order
    raise ValueError(f"no order with client_order_id {client_order_id!r}")


async def _subscribe(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    products = command.get("product_ids")
    if not isinstance(products, list) or not products:
        raise ValueError("subscribe needs product_ids, a non-empty list")
    await engine.subscribe(*products)
    for product_id in products:  # orders need a live book (risk checks price against mid)
        await engine.wait_for_book(product_id)
    return {"product_ids": products}


async def _place(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    details: dict[str, Any] = {
        k: command[k] for k in ("price", "stop_price", "post_only", "take_profit", "stop_loss") if k in command
    }
    if "end_time" in command:
        details["end_time"] = datetime.fromisoformat(str(command["end_time"]))
    size = command.get("size")
    if "quote_size" in command:  # a market order that spends (or raises) this much quote currency
        if "size" in command:
            raise OrderError("a place takes size or quote_size, not both")
        size, details["in_quote"] = command["quote_size"], True
    order = await engine.place(
        str(command.get("product_id")),
        str(command.get("side")),
        str(command.get("type", "limit")),
        size,
        **details,
    )
    if order.request.type in IMMEDIATE and order.status.is_working:
        await engine.wait_done(order)  # they end at once: reply with the outcome, not the ack
    return {"order": _order(order)}


def _cancel_reply(result: tuple[list[Order], list[tuple[Order, str]]]) -> dict[str, Any]:
    cancelled, failed = result
    return {
        "cancelled": [o.client_order_id for o in cancelled],
        "failed": [[o.client_order_id, why] for o, why in failed],
    }


async def _cancel(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return _cancel_reply(await engine.cancel(_find(engine, command.get("client_order_id"))))


async def _cancel_all(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return _cancel_reply(await engine.cancel_all(command.get("product_id"), command.get("side")))


async def _kill(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    report = await engine.kill_switch(
        str(command.get("reason") or "headless kill"), flatten=bool(command.get("flatten"))
    )
    return {
        "cancelled": list(report.cancelled),
        "failed": [list(f) for f in report.failed],
        "flattened": list(report.flattened),
        "seconds": report.seconds,
    }


async def _rearm(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    engine.rearm(str(command.get("reason", "")))
    return {"state": str(engine.state)}


async def _orders(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return {"orders": [_order(o) for o in engine.orders()]}


async def _positions(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return {
        "positions": {
            p: {
                "quantity": str(v.quantity),
                "average_price": str(v.average_price),
                "realised": str(v.realised),
                "fees": str(v.fees),
            }
            for p, v in engine.positions().items()
        },
        "inventory": {currency: str(held) for currency, held in engine.inventory().items()},
    }


async def _book(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    product_id = command.get("product_id")
    depth = command.get("depth", 50)
    if not isinstance(depth, int) or isinstance(depth, bool) or not 1 <= depth <= 10_000:
        raise ValueError(f"book depth must be a whole number from 1 to 10000, got {depth!r}")
    if not isinstance(product_id, str):
        raise ValueError(f"book needs a product_id, got {product_id!r}")
    bids, asks = engine.book(product_id).top(depth)  # KeyError: not subscribed
    return {
        "product_id": product_id,
        "live": engine.market_data.is_live(product_id),
        "bids": [[str(price), str(size)] for price, size in bids],
        "asks": [[str(price), str(size)] for price, size in asks],
    }


async def _balances(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return {
        "balances": {
            currency: {"available": str(b.available), "hold": str(b.hold)} for currency, b in engine.balances().items()
        }
    }


async def _reconcile(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    await engine.reconcile(str(command.get("reason") or "asked by a headless command"))
    return {}


async def _state(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return {"state": str(engine.state)}


async def _set_limit(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    product_id = command.get("product_id")
    if product_id is not None and not isinstance(product_id, str):
        raise ValueError(f"set_limit's product_id must be a product id, got {product_id!r}")
    reason = str(command.get("reason") or "headless")
    engine.set_limit(str(command.get("name")), command.get("value"), reason, product_id)
    return {}


COMMANDS: dict[str, Handler] = {
    "subscribe": _subscribe,
    "place": _place,
    "cancel": _cancel,
    "cancel_all": _cancel_all,
    "kill": _kill,
    "rearm": _rearm,
    "orders": _orders,
    "positions": _positions,
    "state": _state,
    "set_limit": _set_limit,
    "book": _book,
    "balances": _balances,
    "reconcile": _reconcile,
}


class JsonLines:
    """Writes one JSON object per line and flushes (a pipe reader sees each line at once)."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._encoder = msgspec.json.Encoder()

    def write(self, item: Any) -> None:
        """Write one object."""
        self._out.write(self._encoder.encode(item).decode() + "\n")
        self._out.flush()


async def handle(engine: Engine, line: str) -> dict[str, Any]:
    """Run one command line; the reply (errors included, never raised)."""
    try:
        command = json.loads(line)
    except ValueError as exc:
        return {"reply": None, "ok": False, "error": f"not JSON: {exc}"}
    if not isinstance(command, dict) or command.get("cmd") not in COMMANDS:
        name = command.get("cmd") if isinstance(command, dict) else None
        return {"reply": name, "ok": False, "error": f"unknown command {name!r}; known: {', '.join(COMMANDS)}"}
    name = command["cmd"]
    try:
        return {"reply": name, "ok": True, **await COMMANDS[name](engine, command)}
    except (OrderError, OrderRefusedError, ValueError, KeyError, RuntimeError, TimeoutError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else str(exc)
        return {"reply": name, "ok": False, "error": str(message)}


MAX_LINE = 1 << 20
"""Bytes a command line may have; a longer one is answered with an error, and the next read."""


class LineTooLong(ValueError):
    """A command line over MAX_LINE bytes (it was read to its end and dropped)."""


class LineSource(Protocol):
    """Where command lines come from: one line (with its newline) per call, b"" at the end."""

    async def readline(self) -> bytes: ...


class StdinLines:
    """Lines of stdin, whatever it is (a pipe, a file, /dev/null, a terminal), read by a daemon
    thread: asyncio's pipe transport takes only pipes, sockets and character devices that poll,
    and a blocked read must not keep the process alive after the engine stopped. The thread
    starts at the first read (an engine that fails to start never reads) and stays at most
    AHEAD lines ahead of the commands being run."""

    AHEAD = 64

    def __init__(self, stream: BinaryIO, max_line: int = MAX_LINE) -> None:
        self._stream = stream
        self._max_line = max_line
        self._lines: deque[bytes | LineTooLong] = deque()
        self._arrived = asyncio.Event()
        self._room = threading.Semaphore(self.AHEAD)
        self._loop: asyncio.AbstractEventLoop | None = None

    def _deliver(self, item: bytes | LineTooLong) -> None:  # on the loop
        self._lines.append(item)
        self._arrived.set()

    def _put(self, item: bytes | LineTooLong) -> bool:  # on the thread; False once the loop is gone
        assert self._loop is not None
        self._room.acquire()
        try:
            self._loop.call_soon_threadsafe(self._deliver, item)
        except RuntimeError:  # the loop closed: nobody reads any more
            return False
        return True

    def _read(self) -> None:
        while True:
            try:
                line = self._stream.readline(self._max_line + 1)
                if len(line) > self._max_line and not line.endswith(b"\n"):
                    size = len(line)
                    while (rest := self._stream.readline(self._max_line)) and not rest.endswith(b"\n"):
                        size += len(rest)
                    if not self._put(
                        LineTooLong(
                            f"a line of {size + len(rest):,} bytes is over the {self._max_line:,}-byte limit; dropped"
                        )
                    ):
                        return
                    if rest:
                        continue
                    line = b""
            except (OSError, ValueError) as exc:  # stdin closed under us: that is its end
                log.debug("stdin reader stopped: %s", exc)
                line = b""
            if not self._put(line) or not line:
                return

    async def readline(self) -> bytes:
        """The next line (b"" at the end); LineTooLong for one that was too long."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            threading.Thread(target=self._read, name="stdin", daemon=True).start()
        while not self._lines:
            self._arrived.clear()
            await self._arrived.wait()
        item = self._lines.popleft()
        self._room.release()
        if isinstance(item, LineTooLong):
            raise item
        return item


async def run(config: EngineConfig, products: list[str], lines: LineSource, out: TextIO, *, stay: bool = False) -> int:
    """Run the engine until `lines` ends (or, with `stay`, until cancelled); events and replies go to `out`."""
    writer = JsonLines(out)
    async with Engine(config) as engine:
        events = engine.events()

        async def pump() -> None:
            async for event in events:
                writer.write({"event": type(event).__name__, **msgspec.structs.asdict(event)})

        pumping = asyncio.get_running_loop().create_task(pump())
        if products:
            writer.write(await handle(engine, json.dumps({"cmd": "subscribe", "product_ids": products})))
        writer.write({"reply": "ready", "ok": True, "trading": engine.trading is not None})
        while True:
            try:
                line = await lines.readline()
            except (LineTooLong, ValueError) as exc:  # ValueError: asyncio's StreamReader over its limit
                writer.write({"reply": None, "ok": False, "error": str(exc)})
                continue
            if not line:
                break
            if line.strip():
                writer.write(await handle(engine, line.decode(errors="replace")))
        if stay:
            await asyncio.Event().wait()  # until interrupted
        pumping.cancel()
    return 0


async def main(config: EngineConfig, products: list[str], *, stay: bool = False) -> int:
    """`cryptoj headless` on stdin and stdout."""
    return await run(config, products, StdinLines(sys.stdin.buffer), sys.stdout, stay=stay)
