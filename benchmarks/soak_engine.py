"""The engine alone in a process, reading a feed until killed (the soak benchmark's subject)."""

from __future__ import annotations

import asyncio
import sys

from cryptoj_tui.engine import Engine, EngineConfig


async def main(url: str) -> None:
    async with Engine(EngineConfig(ws_url=url)) as engine:
        events = engine.events()
        await engine.subscribe("BTC-USD")
        async for _ in events:
            pass


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
