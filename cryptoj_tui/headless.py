"""`cryptoj headless`: the engine without a UI, driven by JSON lines.

Every engine event goes to stdout as one JSON object per line (`{"event": "OrderUpdated", ...}`);
commands come in on stdin, one JSON object per line, and each gets one reply line
(`{"reply": "place", "ok": true, ...}` or `{"reply": ..., "ok": false, "error": "..."}`).
A bad command is answered with an error and the engine keeps running. End of input stops it.

Commands: subscribe {product_ids}, place {product_id, side, type, size, price?, stop_price?,
end_time?, post_only?} (market, ioc and fok replies wait for the outcome), cancel {client_order_id}, cancel_all {product_id?, side?},
kill {reason, flatten?}, rearm {reason}, orders, positions, state, set_limit {name, value, reason}.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TextIO

import msgspec

from cryptoj_tui.engine import Engine, EngineConfig
from cryptoj_tui.engine.orders import Order, OrderError, OrderType
from cryptoj_tui.engine.trading import OrderRefusedError

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
    details = {k: command[k] for k in ("price", "stop_price", "post_only") if k in command}
    if "end_time" in command:
        details["end_time"] = datetime.fromisoformat(str(command["end_time"]))
    order = await engine.place(str(command.get("product_id")), str(command.get("side")),
                               str(command.get("type", "limit")), command.get("size"), **details)
    if order.request.type in IMMEDIATE and order.status.is_working:
        await engine.wait_done(order)  # they end at once: reply with the outcome, not the ack
    return {"order": _order(order)}


def _cancel_reply(result: tuple[list[Order], list[tuple[Order, str]]]) -> dict[str, Any]:
    cancelled, failed = result
    return {"cancelled": [o.client_order_id for o in cancelled], "failed": [[o.client_order_id, why] for o, why in failed]}


async def _cancel(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return _cancel_reply(await engine.cancel(_find(engine, command.get("client_order_id"))))


async def _cancel_all(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return _cancel_reply(await engine.cancel_all(command.get("product_id"), command.get("side")))


async def _kill(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    report = await engine.kill_switch(str(command.get("reason") or "headless kill"), flatten=bool(command.get("flatten")))
    return {"cancelled": list(report.cancelled), "failed": [list(f) for f in report.failed],
            "flattened": list(report.flattened), "seconds": report.seconds}


async def _rearm(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    engine.rearm(str(command.get("reason", "")))
    return {"state": str(engine.state)}


async def _orders(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return {"orders": [_order(o) for o in engine.orders()]}


async def _positions(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return {"positions": {p: {"quantity": str(v.quantity), "average_price": str(v.average_price),
                              "realised": str(v.realised), "fees": str(v.fees)}
                          for p, v in engine.positions().items()}}


async def _state(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    return {"state": str(engine.state)}


async def _set_limit(engine: Engine, command: dict[str, Any]) -> dict[str, Any]:
    engine.set_limit(str(command.get("name")), command.get("value"), str(command.get("reason") or "headless"))
    return {}


COMMANDS: dict[str, Handler] = {
    "subscribe": _subscribe, "place": _place, "cancel": _cancel, "cancel_all": _cancel_all, "kill": _kill,
    "rearm": _rearm, "orders": _orders, "positions": _positions, "state": _state, "set_limit": _set_limit,
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


async def run(config: EngineConfig, products: list[str], lines: asyncio.StreamReader, out: TextIO) -> int:
    """Run the engine until `lines` ends; events and replies go to `out`."""
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
        while line := await lines.readline():
            if line.strip():
                writer.write(await handle(engine, line.decode()))
        pumping.cancel()
    return 0


async def stdin_reader() -> asyncio.StreamReader:
    """stdin as an asyncio stream."""
    reader = asyncio.StreamReader()
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    return reader


async def main(config: EngineConfig, products: list[str]) -> int:
    """`cryptoj headless` on stdin and stdout."""
    return await run(config, products, await stdin_reader(), sys.stdout)
