"""The embedded paper venue as a child process: it starts, takes our key, and never outlives us."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import psutil
import pytest

from cryptoj_tui.cdp_keys import generate_key, sign
from cryptoj_tui.sim.process import VenueProcess, VenueProcessError


def test_the_venue_process_listens_takes_our_key_and_stops() -> None:
    key = generate_key()
    with VenueProcess(key, seed=3) as venue:
        rest = venue.ws_url.replace("ws://", "http://") + "/api/v3/brokerage"
        with urllib.request.urlopen(f"{rest}/products", timeout=5) as answer:
            assert "BTC-USD" in {p["product_id"] for p in json.load(answer)["products"]}
        uri = f"GET {rest.split('://', 1)[1]}/accounts"
        request = urllib.request.Request(f"{rest}/accounts", headers={"Authorization": f"Bearer {sign(key, uri)}"})
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200
        child = psutil.Process(venue._process.pid)  # type: ignore[union-attr]
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE


def test_a_venue_that_cannot_start_says_why() -> None:
    with pytest.raises(VenueProcessError, match=r"exited .* before listening: .*port must be 0\.\.65535"):
        VenueProcess(generate_key(), extra_args=("--port", "99999")).start()


def test_the_venue_goes_when_its_parent_dies_without_stopping_it() -> None:
    """Scenario: the console is killed (no clean-up runs): its venue must not keep the port."""
    parent = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
            import os
            from cryptoj_tui.cdp_keys import generate_key
            from cryptoj_tui.sim.process import VenueProcess
            venue = VenueProcess(generate_key()).start()
            print(venue._process.pid, flush=True)
            os._exit(9)  # as if killed: no stop(), no finally
        """),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    child = psutil.Process(int(parent.stdout.strip()))
    deadline = time.monotonic() + 10
    while child.is_running() and child.status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not child.is_running() or child.status() == psutil.STATUS_ZOMBIE


def test_the_embedded_venue_is_handed_the_public_half_of_the_key_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 25.8: the child process was given the whole key file, private key and all."""
    from cryptoj_tui.cdp_keys import generate_key
    from cryptoj_tui.sim import process
    from cryptoj_tui.sim.process import VenueProcess

    handed: list[str] = []
    removed = process.shutil.rmtree

    def keep_a_copy(directory: str, ignore_errors: bool = False) -> None:
        handed.extend((Path(directory) / name).read_text() for name in os.listdir(directory))
        removed(directory, ignore_errors=ignore_errors)

    monkeypatch.setattr(process.shutil, "rmtree", keep_a_copy)
    key = generate_key()
    with VenueProcess(key) as venue:
        assert venue.ws_url.startswith("ws://127.0.0.1:")
    (text,) = handed
    assert "privateKey" not in text and "PRIVATE" not in text and "BEGIN PUBLIC KEY" in text
