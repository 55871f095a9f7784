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
