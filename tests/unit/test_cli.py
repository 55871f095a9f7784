"""The command line: --help, --version, and one-line errors with exit 2 for bad settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from cryptoj_tui import __version__
from cryptoj_tui.cli import main


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"cryptoj {__version__}"


def test_help_lists_the_settings_and_the_sim(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    out = capsys.readouterr().out
    for flag in ("--ws-url", "--product", "--config", "sim"):
        assert flag in out


@pytest.mark.parametrize(
    ("argv", "env", "fragment"),
    [
        (["--product", "nonsense"], {}, "--product: product id 'NONSENSE'"),
        (["--ws-url", "ftp://x"], {}, "--ws-url: 'ftp://x' is not a ws:// or wss:// URL"),
        ([], {"CRYPTOJ_STALE_AFTER": "-3"}, "environment CRYPTOJ_STALE_AFTER"),
        (["--intent-sync-window", "2"], {}, "--intent-sync-window: expected seconds from 0 to 1, got '2'"),
    ],
)
def test_bad_settings_exit_2_with_one_line(
    argv: list[str],
    env: dict[str, str],
    fragment: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("CRYPTOJ_CONFIG", os.devnull)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("cryptoj: config error: ") and fragment in err
    assert err.count("\n") == 1


def test_broken_config_file_exits_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "c.toml"
    path.write_text("product = [\n")
    assert main(["--config", str(path)]) == 2
    assert "not valid TOML" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["sim", "--products", "PEPE-USD"], "unknown products ['PEPE-USD']"),
        (["sim", "--port", "70000"], "port must be 0..65535"),
        (["sim", "--step-interval", "-1"], "step_interval"),
    ],
)
def test_sim_refuses_bad_options(argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert fragment in capsys.readouterr().err


@pytest.mark.parametrize("flag", [[], ["--ed25519"]])
def test_keygen_writes_a_private_key_file_and_prints_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str]
) -> None:
    from cryptoj_tui.cdp_keys import read_key_file

    path = tmp_path / "key.json"
    assert main(["keygen", "--out", str(path), *flag]) == 0
    out = capsys.readouterr().out
    key = read_key_file(path)
    assert key.name in out and str(path) in out and "PRIVATE" not in out
    assert (path.stat().st_mode & 0o777) == 0o600
    assert main(["keygen", "--out", str(path)]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["keygen", "--out", str(tmp_path / "no" / "dir" / "k.json")]) == 1
    assert "cannot write" in capsys.readouterr().err


@pytest.mark.parametrize(("flag", "kind"), [([], "HMAC"), (["--ed25519"], "Ed25519")])
def test_keygen_binance_writes_a_binance_key_file_and_prints_no_secret(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: list[str], kind: str
) -> None:
    from cryptoj_tui.engine.adapters.binance.venue import load_key_file

    path = tmp_path / "bkey.json"
    assert main(["keygen", "--binance", "--out", str(path), *flag]) == 0
    out = capsys.readouterr().out
    key = load_key_file(path)
    assert key.kind == kind and f"wrote Binance {kind} key {key.api_key[:8]}" in out and str(path) in out
    assert key.api_key not in out and "PRIVATE" not in out  # the key is named by its start only
    assert not key.secret or key.secret.decode() not in out
    assert main(["keygen", "--binance", "--out", str(path)]) == 1
    assert "already exists" in capsys.readouterr().err


def test_sim_refuses_a_bad_key_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    assert main(["sim", "--api-key-file", str(bad)]) == 2
    assert f"{bad}: needs a 'privateKey'" in capsys.readouterr().err
    assert main(["sim", "--rate-limit", "-1"]) == 2
    assert "rate_limit must be >= 0" in capsys.readouterr().err


def test_sim_refuses_a_file_that_is_not_its_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not sqlite" * 100)
    assert main(["sim", "--db", str(junk)]) == 2
    assert "not a usable paper venue database" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("balances", "fragment"),
    [
        ("USD", "'USD' is not CURRENCY=AMOUNT"),
        ("USD=lots", "'USD=lots' is not CURRENCY=AMOUNT"),
        ("USD=-5", "starting balance USD=-5 must be"),
    ],
)
def test_sim_refuses_bad_balances(balances: str, fragment: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sim", "--balances", balances]) == 2
    assert fragment in capsys.readouterr().err


def test_the_usage_line_shows_the_command_as_optional(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 18.16: with no command, cryptoj is the console; the usage line says so."""
    with pytest.raises(SystemExit):
        main(["--help"])
    usage = capsys.readouterr().out.splitlines()[0]
    assert usage == "usage: cryptoj [OPTIONS] [COMMAND [ARGS ...]]"


@pytest.mark.parametrize(
    ("keys", "fragment"),
    [
        ("bogus=n", "keys: unknown binding id(s) bogus; known: "),
        ("buy=ctrl+k", "keys: buy = 'ctrl+k' takes ctrl+k, the kill switch's key"),
        ("kill_switch=f12;quit=f12", "keys: quit = 'f12' takes f12, the kill switch's key"),
    ],
)
def test_a_bad_keymap_is_refused_before_anything_starts(
    keys: str,
    fragment: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """Issue 18.16: CRYPTOJ_KEYS=bogus=n was reported after the embedded venue had started and the
    UI had begun drawing; it is found first, in one line, and nothing starts (no log file either)."""
    monkeypatch.setenv("CRYPTOJ_CONFIG", os.devnull)
    monkeypatch.setenv("CRYPTOJ_KEYS", keys)
    monkeypatch.setenv("CRYPTOJ_LOG_FILE", str(tmp_path / "log" / "cryptoj.log"))
    assert main([]) == 2
    err = capsys.readouterr().err
    assert err.startswith("cryptoj: config error: ") and fragment in err and err.count("\n") == 1
    assert not (tmp_path / "log").exists()


def test_the_log_file_is_readable_by_its_owner_only_after_a_rollover_too(tmp_path: Path) -> None:
    """Issue 25.8: the log was created 0644 (it names orders and the venue)."""
    import logging

    from cryptoj_tui.cli import setup_logging

    path = tmp_path / "logs" / "cryptoj.log"
    setup_logging(path)
    try:
        handler = logging.getLogger().handlers[0]
        logging.getLogger("test").info("one")
        assert path.stat().st_mode & 0o777 == 0o600
        handler.doRollover()  # type: ignore[attr-defined]
        logging.getLogger("test").info("two")
        assert {p.name: p.stat().st_mode & 0o777 for p in path.parent.iterdir()} == {
            "cryptoj.log": 0o600,
            "cryptoj.log.1": 0o600,
        }
    finally:
        logging.getLogger().handlers[0].close()
        logging.basicConfig(force=True)
