"""Issue 25.6 and 25.4: `cryptoj headless` starts from the same settings as the console, and
every way it cannot start is one line on stderr and exit 2, never a traceback."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

from cryptoj_tui.cdp_keys import CdpKey


async def headless(*argv: str, env: dict[str, str] | None = None, stdin: bytes = b"") -> tuple[int, list[dict], str]:
    """Run `cryptoj ARGV` (ARGV includes `headless`): exit code, JSON lines, stderr."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "cryptoj_tui",
        *argv,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
    )
    out, err = await asyncio.wait_for(process.communicate(stdin), 60)
    assert process.returncode is not None
    return process.returncode, [json.loads(line) for line in out.decode().splitlines()], err.decode()


@pytest.fixture
def no_config() -> dict[str, str]:
    """An environment whose config file is empty (the developer's own is not read)."""
    return {"CRYPTOJ_CONFIG": os.devnull}


def market_urls(lines: list[dict]) -> set[str]:
    return {line["url"] for line in lines if line.get("event") == "ConnectionStatus"}


async def test_a_venue_that_cannot_be_reached_is_one_line_and_exit_2(
    api_key: tuple[Path, CdpKey], no_config: dict[str, str], tmp_path: Path
) -> None:
    """It printed a traceback and "Unclosed client session"."""
    code, _, err = await headless(
        "headless",
        "--ws-url",
        "ws://127.0.0.1:9",
        "--key-file",
        str(api_key[0]),
        "--journal",
        str(tmp_path / "journal.db"),
        env=no_config,
    )
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err and "Unclosed" not in err
    assert err.startswith(
        "cryptoj headless: cannot start trading at http://127.0.0.1:9: GET /api/v3/brokerage/products: no answer after"
    )


@pytest.mark.parametrize("where", ["environment", "config file", "top-level flag"])
async def test_the_venue_comes_from_the_settings_every_command_reads(
    where: str, tmp_path: Path, no_config: dict[str, str]
) -> None:
    """`cryptoj --ws-url X headless` started an embedded venue: headless read only its own flags."""
    env, argv = dict(no_config), ["headless"]
    if where == "environment":
        env["CRYPTOJ_WS_URL"] = "ws://127.0.0.1:9"
    elif where == "config file":
        (tmp_path / "config.toml").write_text('ws_url = "ws://127.0.0.1:9"\n')
        env["CRYPTOJ_CONFIG"] = str(tmp_path / "config.toml")
    else:
        argv = ["--ws-url", "ws://127.0.0.1:9", "headless"]
    code, lines, err = await headless(*argv, env=env)
    assert code == 0, err
    assert market_urls(lines) == {"ws://127.0.0.1:9"} and lines[0] == {"reply": "ready", "ok": True, "trading": False}


async def test_a_config_file_that_is_named_but_missing_is_an_error(tmp_path: Path) -> None:
    for argv, env in (
        (["--config", str(tmp_path / "nope.toml"), "headless"], {}),
        (["headless"], {"CRYPTOJ_CONFIG": str(tmp_path / "nope.toml")}),
    ):
        code, _, err = await headless(*argv, env=env)
        assert (code, err) == (2, f"cryptoj: config error: {tmp_path / 'nope.toml'}: no such file\n")


async def test_an_emptied_journal_stops_headless_in_one_line(
    api_key: tuple[Path, CdpKey], tmp_path: Path, no_config: dict[str, str]
) -> None:
    """Issue 25.4: an emptied journal started fresh (HALTED lost); a corrupt one gave a traceback."""
    journal = tmp_path / "journal.db"
    journal.write_bytes(b"")
    code, _, err = await headless(
        "headless",
        "--ws-url",
        "ws://127.0.0.1:9",
        "--key-file",
        str(api_key[0]),
        "--journal",
        str(journal),
        env=no_config,
    )
    assert code == 2 and err == (
        f"cryptoj headless: journal {journal}: the file is empty: it held this engine's orders and trading state "
        "(HALTED survives in it); restore it from a copy, or move it away to start a new journal\n"
    )
