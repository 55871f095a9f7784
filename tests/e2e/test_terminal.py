"""The real `cryptoj` command in a real terminal (tmux): what a user sees after `make run`."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

PRICE_ROW = re.compile(r"(?<!\d\d:\d\d:\d\d    )(?<![\d,.])\d{2},\d{3}\.\d{2}(?=    )")
"""A ladder price (centred in its column), not a trades-tape price (which follows a time)."""
# The shell's prompt may precede it ("# exit=0") when the command was typed before the prompt.
EXIT_STATUS = re.compile(r"(?:^|\s)exit=(\d+)$", re.MULTILINE)


def exit_status(screen: str) -> int | None:
    match = EXIT_STATUS.search(screen)
    return int(match.group(1)) if match else None


class Terminal:
    """A detached tmux session on a private server socket."""

    def __init__(self, command: str, width: int = 120, height: int = 40) -> None:
        self.socket = f"cryptoj-test-{os.getpid()}-{time.monotonic_ns()}"
        # Start a shell and type the command, as a user would: a program started with the
        # session itself can read the size before tmux has applied -x/-y.
        self._tmux("-f", "/dev/null", "new-session", "-d", "-s", "t", "-x", str(width), "-y", str(height), "sh")
        self._tmux("send-keys", "-t", "t", command, "Enter")

    def _tmux(self, *args: str) -> str:
        return subprocess.run(
            ["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True
        ).stdout

    def screen(self) -> str:
        return self._tmux("capture-pane", "-p", "-t", "t")

    def history(self) -> str:
        return self._tmux("capture-pane", "-p", "-S", "-", "-t", "t")

    def press(self, key: str) -> None:
        self._tmux("send-keys", "-t", "t", key)

    def wait_for(self, predicate: Callable[[str], bool], timeout: float = 20.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if predicate(screen):
                return screen
            time.sleep(0.1)
        raise AssertionError(f"screen never matched; whole scrollback:\n{self.history()}")

    def close(self) -> None:
        subprocess.run(["tmux", "-L", self.socket, "kill-server"], capture_output=True)


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Callable[[str], Terminal]]:
    opened: list[Terminal] = []

    def open_terminal(args: str) -> Terminal:
        # pytest exports COLUMNS/LINES, which would override the real terminal size.
        env = f"-u COLUMNS -u LINES CRYPTOJ_CONFIG={tmp_path / 'none.toml'} CRYPTOJ_LOG_FILE={tmp_path / 'cryptoj.log'}"
        command = f"env {env} {shlex.quote(sys.executable)} -m cryptoj_tui {args}; echo exit=$?"
        opened.append(Terminal(command))
        return opened[-1]

    yield open_terminal
    for term in opened:
        term.close()


def ladder_prices(screen: str) -> list[str]:
    return PRICE_ROW.findall(screen)


def test_console_shows_a_live_moving_ladder_and_q_exits_cleanly(terminal: Callable[[str], Terminal]) -> None:
    term = terminal("")
    # 40 lines: 32 price rows (16 asks and 16 bids around the spread) plus the chrome.
    first = term.wait_for(lambda s: "● connected" in s and len(ladder_prices(s)) == 32)
    assert "BTC-USD book" in first and "spread" in first and "BID SIZE" in first
    term.wait_for(lambda s: ladder_prices(s) != ladder_prices(first), timeout=10)
    term.press("q")
    assert exit_status(term.wait_for(lambda s: exit_status(s) is not None)) == 0
    assert "Traceback" not in term.screen()


def test_bad_setting_prints_one_line_and_exits_2(terminal: Callable[[str], Terminal]) -> None:
    term = terminal("--product btc")
    screen = term.wait_for(lambda s: exit_status(s) is not None)
    assert "cryptoj: config error: --product: product id 'BTC' is not of the form BASE-QUOTE" in screen
    assert exit_status(screen) == 2
