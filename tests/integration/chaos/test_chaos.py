"""The chaos run in short (tools/chaos.py; `make chaos` runs it for 10 minutes on three seeds):
twenty seconds of a seeded trader and seeded, overlapping faults against the engine and the paper
venue in their own processes, with every invariant checked at the end."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from tools.chaos import FAULTS, Chaos

SECONDS = float(os.environ.get("CRYPTOJ_CHAOS_TEST_SECONDS", "20"))
SEED = int(os.environ.get("CRYPTOJ_CHAOS_TEST_SEED", "7"))


def test_twenty_seconds_of_chaos_break_no_invariant(tmp_path: Path) -> None:
    tally = asyncio.run(Chaos(SECONDS, SEED, tmp_path).run())  # ChaosFailure names the seed
    assert sum(tally.faults.values()) >= 5 and set(tally.faults) <= set(FAULTS)
    assert tally.checked["orders at the venue"] > 10 and tally.checked["fills"] > 0
    assert tally.checked["open at the end"] >= 1  # the open sets compared were not empty
