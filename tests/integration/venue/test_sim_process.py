"""`cryptoj sim` as its own process: prints its URL, serves the engine, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

from cryptoj_tui.engine import Engine, EngineConfig
from tests.integration.helpers import start_sim


async def test_sim_process_serves_books_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    from cryptoj_tui.cdp_keys import generate_key, write_key_file

    write_key_file(tmp_path / "k.json", generate_key())
    process, printed = await start_sim(
        "--port", "0", "--seed", "4", "--products", "ETH-USD", "--api-key-file", str(tmp_path / "k.json")
    )
    url = printed["websocket"]
    try:
        assert printed["rest"] == url.replace("ws://", "http://")
        assert url.startswith("ws://127.0.0.1:")
        async with Engine(EngineConfig(ws_url=url)) as engine:
            await engine.subscribe("ETH-USD")
            book = await engine.wait_for_book("ETH-USD")
            assert book.depth()[0] >= 50
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            code = await process.wait()
    assert code == 0


async def test_sim_speaks_binance_to_a_client_written_from_binances_docs(tmp_path: Path) -> None:
    """`cryptoj sim --protocol binance` with a key from `cryptoj keygen --binance`: a client that
    knows only Binance's docs (aiohttp and hmac) reads the venue's time and depth, places an
    order and finds it open, then cancels every open order of the symbol."""
    import hashlib
    import hmac
    import json
    import time
    from urllib.parse import urlencode

    import aiohttp

    from cryptoj_tui.cli import main

    assert main(["keygen", "--binance", "--out", str(tmp_path / "b.json")]) == 0
    key = json.loads((tmp_path / "b.json").read_text())
    process, printed = await start_sim(
        "--protocol", "binance", "--seed", "4", "--step-interval", "0", "--binance-key-file", str(tmp_path / "b.json")
    )
    base = printed["rest"]
    assert printed["binance streams"] == printed["websocket"] + "/stream"

    def signed(params: dict[str, str]) -> str:
        query = urlencode({**params, "timestamp": str(int(time.time() * 1000))})
        return query + "&signature=" + hmac.new(key["secretKey"].encode(), query.encode(), hashlib.sha256).hexdigest()

    try:
        async with aiohttp.ClientSession(headers={"X-MBX-APIKEY": key["apiKey"]}) as session:
            async with session.get(f"{base}/api/v3/time") as answer:
                assert abs((await answer.json())["serverTime"] - time.time() * 1000) < 5000
            async with session.get(f"{base}/api/v3/depth?symbol=BTCUSD&limit=1") as answer:
                bid = (await answer.json())["bids"][0][0]
            order = {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC", "quantity": "0.01"}
            async with session.post(f"{base}/api/v3/order?{signed({**order, 'price': bid})}") as answer:
                placed = await answer.json()
                assert answer.status == 200 and placed["status"] == "NEW", placed
            async with session.get(f"{base}/api/v3/openOrders?{signed({'symbol': 'BTCUSD'})}") as answer:
                assert [o["orderId"] for o in await answer.json()] == [placed["orderId"]]
            async with session.delete(f"{base}/api/v3/openOrders?{signed({'symbol': 'BTCUSD'})}") as answer:
                assert [o["status"] for o in await answer.json()] == ["CANCELED"]
    finally:
        process.send_signal(signal.SIGTERM)
        async with asyncio.timeout(10):
            assert await process.wait() == 0


async def test_sim_on_a_busy_port_says_so_and_exits_1() -> None:
    first, printed = await start_sim("--port", "0")
    try:
        port = printed["websocket"].rsplit(":", 1)[1]
        second = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "cryptoj_tui",
            "sim",
            "--port",
            port,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(20):
            _, err = await second.communicate()
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in err.decode()
    finally:
        first.send_signal(signal.SIGTERM)
        await first.wait()


async def test_sim_with_tls_and_control_prints_its_urls_and_certificate(tmp_path: Path) -> None:
    process, printed = await start_sim("--tls", "--control", env={"XDG_DATA_HOME": str(tmp_path)}, until="certificate")
    cert = printed["certificate"]
    try:
        assert printed["rest"].startswith("https://") and printed["websocket"].startswith("wss://")
        assert Path(cert).is_relative_to(tmp_path) and Path(cert).exists()
    finally:
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 0
