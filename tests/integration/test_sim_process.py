"""`cryptoj sim` as its own process: prints its URL, serves the engine, stops on SIGTERM."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

from cryptoj_tui.engine import Engine, EngineConfig


async def start_sim(*args: str, env: dict[str, str] | None = None, until: str = "websocket") -> tuple[asyncio.subprocess.Process, str]:
    """Start `cryptoj sim`; return it and the value of its first `until: ...` line."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "cryptoj_tui", "sim", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    assert process.stdout is not None
    async with asyncio.timeout(20):
        while line := (await process.stdout.readline()).decode():
            if line.startswith(f"{until}: "):
                return process, line.split(": ", 1)[1].strip()
    raise AssertionError(f"cryptoj sim printed no URL; stderr: {(await process.stderr.read()).decode()}")  # type: ignore[union-attr]


async def test_sim_process_serves_books_and_exits_cleanly_on_sigterm(tmp_path: Path) -> None:
    from cryptoj_tui.sim.auth import generate_key, write_key_file

    write_key_file(tmp_path / "k.json", generate_key())
    process, url = await start_sim("--port", "0", "--seed", "4", "--products", "ETH-USD", "--api-key-file", str(tmp_path / "k.json"))
    try:
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
    first, url = await start_sim("--port", "0")
    try:
        port = url.rsplit(":", 1)[1]
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "cryptoj_tui", "sim", "--port", port,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )
        async with asyncio.timeout(20):
            _, err = await second.communicate()
        assert second.returncode == 1
        assert f"cannot listen on 127.0.0.1:{port}" in err.decode()
    finally:
        first.send_signal(signal.SIGTERM)
        await first.wait()


async def test_sim_with_tls_and_control_prints_its_urls_and_certificate(tmp_path: Path) -> None:
    process, cert = await start_sim("--tls", "--control", env={"XDG_DATA_HOME": str(tmp_path)}, until="certificate")
    try:
        assert Path(cert).is_relative_to(tmp_path) and Path(cert).exists()
    finally:
        process.send_signal(signal.SIGTERM)
        assert await process.wait() == 0
