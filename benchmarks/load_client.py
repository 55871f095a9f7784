"""A feed reader alone in a process, for the load benchmark: the engine, or (`--bare`) the least
a reader can do, websockets + msgspec decoding each frame. Runs for a fixed time, then prints
one JSON line of what it saw.

    python benchmarks/load_client.py URL SECONDS PRODUCT... [--bare]

Latency is sampled every 5 ms: the venue's stamp on the latest frame to its arrival here. A
reader that falls behind reads frames late, and the samples say so.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

SAMPLE_EVERY = 0.005


async def sample_for(seconds: float, latency: Any) -> list[float]:
    samples: list[float] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(SAMPLE_EVERY)
        value = latency()
        if value is not None:
            samples.append(value)
    return samples


async def engine_reader(url: str, seconds: float, products: list[str]) -> dict[str, Any]:
    from cryptoj_tui.engine import Engine, EngineConfig

    async with Engine(EngineConfig(ws_url=url, stale_after=10.0)) as engine:
        events = engine.events(max_pending=100_000)
        await engine.subscribe(*products)
        for product in products:
            await engine.wait_for_book(product, timeout=30)
        kinds: Counter[str] = Counter()

        async def drain() -> None:
            async for event in events:
                kinds[type(event).__name__] += 1

        draining = asyncio.ensure_future(drain())
        frames, applied = engine.metrics.frames, sum(engine.book(p).updates_applied for p in products)
        samples = await sample_for(seconds, engine.feed_latency)
        draining.cancel()
        return {
            "frames": engine.metrics.frames - frames,
            "updates_applied": sum(engine.book(p).updates_applied for p in products) - applied,
            "book_events": kinds["BookUpdated"],
            "dropped_events": events.dropped,
            "gaps": engine.metrics.gaps,
            "latency": samples,
        }


async def bare_reader(url: str, seconds: float, products: list[str]) -> dict[str, Any]:
    import msgspec
    from websockets.asyncio.client import connect

    decode = msgspec.json.decode
    last: dict[str, Any] = {"stamp": "", "at": 0.0}
    frames = 0

    def latency() -> float | None:
        if not last["stamp"]:
            return None
        arrived = time.time() - (time.monotonic() - last["at"])
        return arrived - datetime.fromisoformat(last["stamp"]).astimezone(UTC).timestamp()

    async with connect(url, max_size=None, compression=None) as ws:
        await ws.send(json.dumps({"type": "subscribe", "channel": "level2", "product_ids": products}))

        async def read() -> None:
            nonlocal frames
            async for raw in ws:
                frame = decode(raw)
                frames += 1
                last["stamp"], last["at"] = frame["timestamp"], time.monotonic()

        reading = asyncio.ensure_future(read())
        while frames < len(products):  # the snapshots
            await asyncio.sleep(0.01)
        start = frames
        samples = await sample_for(seconds, latency)
        reading.cancel()
        return {"frames": frames - start, "latency": samples}


def main() -> None:
    url, seconds, *products = sys.argv[1:]
    bare = "--bare" in products
    products = [p for p in products if p != "--bare"]
    reader = bare_reader if bare else engine_reader
    result = asyncio.run(reader(url, float(seconds), products))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
