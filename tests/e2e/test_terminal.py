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

PRICE_ROW = re.compile(r"(?<!\d\d:\d\d:\d\d    )(?<![\d,.│])\d{2},\d{3}\.\d{2}(?=    )")
"""A ladder price (centred in its column), not a trades-tape price (which follows a time) nor the
depth chart's low price (against its frame)."""
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
        return subprocess.run(["tmux", "-L", self.socket, *args], check=True, capture_output=True, text=True).stdout

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
def terminal(tmp_path: Path) -> Iterator[Callable[..., Terminal]]:
    opened: list[Terminal] = []

    def open_terminal(args: str, size: tuple[int, int] = (120, 40), *, hangup_ignored: bool = False) -> Terminal:
        # pytest exports COLUMNS/LINES, which would override the real terminal size.
        env = f"-u COLUMNS -u LINES CRYPTOJ_CONFIG={os.devnull} CRYPTOJ_LOG_FILE={tmp_path / 'cryptoj.log'}"
        command = f"env {env} {shlex.quote(sys.executable)} -m cryptoj_tui {args}; echo exit=$?"
        if hangup_ignored:  # as when a parent (make, a shell wrapper) takes the hangup and not the console
            command = f"trap '' HUP; {command}"
        opened.append(Terminal(command, *size))
        return opened[-1]

    yield open_terminal
    for term in opened:
        term.close()


def ladder_prices(screen: str) -> list[str]:
    return PRICE_ROW.findall(screen)


def test_console_shows_a_live_moving_ladder_and_q_exits_cleanly(terminal: Callable[..., Terminal]) -> None:
    term = terminal("")
    # 40 lines: 32 price rows (16 asks and 16 bids around the spread) plus the chrome.
    first = term.wait_for(lambda s: "● connected" in s and len(ladder_prices(s)) == 32)
    assert "BTC-USD book" in first and "spread" in first and "BID SIZE" in first
    term.wait_for(lambda s: ladder_prices(s) != ladder_prices(first), timeout=10)
    term.press("q")
    assert exit_status(term.wait_for(lambda s: exit_status(s) is not None)) == 0
    assert "Traceback" not in term.screen()


def test_bad_setting_prints_one_line_and_exits_2(terminal: Callable[..., Terminal]) -> None:
    term = terminal("--product btc")
    screen = term.wait_for(lambda s: exit_status(s) is not None)
    assert "cryptoj: config error: --product: product id 'BTC' is not of the form BASE-QUOTE" in screen
    assert exit_status(screen) == 2


def test_a_burst_of_keys_after_b_goes_into_the_ticket(terminal: Callable[..., Terminal]) -> None:
    """Issue 18.3, in a real terminal: `b0.5` typed as one burst opens a ticket of size 0.5 (the
    5 once switched to the journal screen with the ticket open behind it)."""
    term = terminal("")
    term.wait_for(lambda s: "● connected" in s and len(ladder_prices(s)) == 32 and "ACTIVE" in s)
    term.press("b0.5")  # one send-keys: the characters reach the console together
    screen = term.wait_for(lambda s: "BUY BTC-USD" in s and "notional" in s)
    assert re.search(r"size\s+[▊│ ]*0\.5\b", screen) and "time      kind" not in screen
    term.press("Escape")
    term.wait_for(lambda s: "BUY BTC-USD" not in s)
    term.press("q")
    assert exit_status(term.wait_for(lambda s: exit_status(s) is not None)) == 0


def test_in_80_by_24_an_order_is_placed_halted_and_trading_rearmed(terminal: Callable[..., Terminal]) -> None:
    """Issue 18.14: 80x24 is a first-class size: the compact ticket places an order, ctrl+k halts
    and its report is whole, the banner fits, ctrl+r re-arms; q quits."""
    term = terminal("", size=(80, 24))
    term.wait_for(lambda s: "● connected" in s and "ACTIVE" in s and len(ladder_prices(s)) >= 10)
    term.press("Down")
    term.press("b")
    ticket = term.wait_for(lambda s: "BUY BTC-USD" in s and "checks     ✓ 10 passed" in s)
    assert "enter send" in ticket
    term.press("Enter")
    term.wait_for(lambda s: "▶0.01" in s and "BUY BTC-USD" not in s)
    term.press("C-k")
    report = term.wait_for(lambda s: "1 order(s) cancelled and confirmed by the venue" in s)
    assert "Re-arm with ctrl+r when it is safe" in report
    term.press("Enter")
    halted = term.wait_for(lambda s: "HALTED — kill switch (ctrl+k) from the console — ctrl+r re-arms" in s)
    assert "▶0.01" not in halted and halted.splitlines()[-2].lstrip().startswith("HALTED")
    term.press("C-r")
    term.wait_for(lambda s: "Re-arm and allow new orders again?" in s)
    term.press("y")
    screen = term.wait_for(lambda s: s.splitlines()[-2].lstrip().startswith("ACTIVE"))
    assert "TRADING HALTED" not in screen and "Traceback" not in screen
    term.press("q")
    assert exit_status(term.wait_for(lambda s: exit_status(s) is not None)) == 0


def test_a_product_the_venue_does_not_list_exits_2_saying_so(terminal: Callable[..., Terminal]) -> None:
    """Issue 18.7: it waited "connected" for a book that never came."""
    term = terminal("--product DOGE-USD")
    screen = term.wait_for(lambda s: exit_status(s) is not None, timeout=30)
    assert "cryptoj: the venue does not list DOGE-USD (it lists BTC-USD, ETH-USD, SOL-USD)" in screen
    assert exit_status(screen) == 2


def test_the_console_stops_when_its_terminal_goes(terminal: Callable[..., Terminal], tmp_path: Path) -> None:
    """A dropped SSH session or a closed window: the console (and its embedded venue) went on
    running, spinning at 40 % of a core, with nobody able to see it or reach its kill switch
    (under `make run` the hangup reached make, not the console). It now sees its terminal gone."""
    import psutil

    term = terminal("--seed 3", hangup_ignored=True)
    term.wait_for(lambda s: "● connected" in s and len(ladder_prices(s)) == 32)
    marker = str(tmp_path / "cryptoj.log")  # this test's console, and only it, logs there
    processes = [
        p
        for p in psutil.process_iter(["cmdline", "environ"])
        if (p.info["environ"] or {}).get("CRYPTOJ_LOG_FILE") == marker
    ]
    assert processes  # the console (and the venue it started, which inherits the environment)
    term.close()  # the terminal hangs up
    _, alive = psutil.wait_procs(processes, timeout=15)
    assert alive == []


def rest_deep_in_the_bids(term: Terminal) -> None:
    """The cursor 8 levels below the best bid: this venue's market walks, and a buy one level
    down was filled within seconds (once in a run), leaving one order for the kill switch."""
    for _ in range(8):
        term.press("Down")


def test_two_products_traded_then_the_kill_switch_cancels_both(terminal: Callable[..., Terminal]) -> None:
    """Issue 22: an order on BTC-USD, ctrl+o to ETH-USD and an order there, then ctrl+k: the
    report confirms both cancelled, and the orders screen shows both products."""
    term = terminal("--products BTC-USD,ETH-USD")
    term.wait_for(lambda s: "● connected" in s and "ACTIVE" in s and len(ladder_prices(s)) == 32)
    rest_deep_in_the_bids(term)
    term.press("b")
    term.wait_for(lambda s: "BUY BTC-USD" in s and "✓ balance" in s)
    term.press("Enter")
    term.wait_for(lambda s: "BTC-USD limit at" in s and "taken by the" in s)  # the toast (over the order's row)
    term.press("C-o")
    term.wait_for(lambda s: "ETH-USD" in s and "SOL-USD" in s)  # the picker lists the venue's products
    term.press("eth")
    term.press("Enter")
    term.wait_for(lambda s: "ETH-USD book" in s and "BTC-USD limit at" not in s)
    rest_deep_in_the_bids(term)
    term.press("b")
    term.wait_for(lambda s: "BUY ETH-USD" in s and "✓ balance" in s)
    term.press("Enter")
    term.wait_for(lambda s: "ETH-USD limit at" in s and "taken by the" in s)
    term.press("C-k")
    report = term.wait_for(lambda s: "2 order(s) cancelled and confirmed by the venue" in s)
    assert "Re-arm with ctrl+r when it is safe" in report
    term.press("Enter")
    term.wait_for(lambda s: "HALTED — kill switch (ctrl+k)" in s)
    term.press("2")
    orders = term.wait_for(lambda s: s.count("CANCELLED") >= 2)
    assert "BTC-USD" in orders and "ETH-USD" in orders and "Traceback" not in orders
    term.press("q")
    assert exit_status(term.wait_for(lambda s: exit_status(s) is not None)) == 0
