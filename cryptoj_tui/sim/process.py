"""The paper venue in a child process: how the console and headless mode embed it.

On a thread of the console's process the venue would take the console's GIL each time it
steps its market, matches or reads an order, and the latency the console shows would partly be
the venue's. In a process of its own it is what a real exchange is: the other end of a socket.
The child stops when its parent goes, however the parent goes: it watches its stdin, a pipe
only the parent holds (`cryptoj sim --exit-with-parent`).
"""

from __future__ import annotations

import os
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from cryptoj_tui import binance_keys
from cryptoj_tui.binance_keys import BinanceKey
from cryptoj_tui.cdp_keys import CdpKey, write_key_file


class VenueProcessError(RuntimeError):
    """The venue process did not start (the message says why, with its last words)."""


class VenueProcess:
    """`cryptoj sim` as a child process that accepts `key`: Coinbase's protocol for a CDP key,
    Binance's for a Binance key."""

    def __init__(
        self,
        key: CdpKey | BinanceKey,
        *,
        seed: int = 1,
        log_path: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.key = key
        self.seed = seed
        self.log_path = log_path
        """Where the venue's own log goes (appended); nowhere when None."""
        self.extra_args = extra_args
        self._process: subprocess.Popen[str] | None = None
        self._log: IO[Any] | None = None
        self._log_start = 0
        self.ws_url = ""

    def start(self, timeout: float = 30.0) -> VenueProcess:
        """Start the venue and wait until it listens; VenueProcessError if it does not."""
        directory = tempfile.mkdtemp(prefix="cryptoj-venue-")  # only we can read it
        try:
            key_file = Path(directory) / "key.json"
            if isinstance(self.key, BinanceKey):  # an HMAC key's venue needs its secret; Ed25519's not
                binance_keys.write_key_file(key_file, self.key, public_only=self.key.private_key is not None)
                key_args = ["--protocol", "binance", "--binance-key-file", str(key_file)]
            else:
                write_key_file(key_file, self.key, public_only=True)  # the venue checks signatures: no secret
                key_args = ["--api-key-file", str(key_file)]
            # Its log: the given file, or a nameless one, read back if it fails to start.
            self._log = open(self.log_path, "a+") if self.log_path is not None else tempfile.TemporaryFile("w+")  # noqa: SIM115 - closed in stop()
            self._log_start = self._log.seek(0, os.SEEK_END)
            self._process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "cryptoj_tui",
                    "sim",
                    "--seed",
                    str(self.seed),
                    *key_args,
                    "--exit-with-parent",
                    *self.extra_args,
                ],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=self._log,
                text=True,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
            self.ws_url = self._read_url(timeout)
        except BaseException:
            self.stop()
            raise
        finally:
            shutil.rmtree(directory, ignore_errors=True)  # it has read the key once it listens
        return self

    def _read_url(self, timeout: float) -> str:
        # Raw reads, not readline: a buffered reader can hold the line we wait for while the
        # selector sees nothing more to read on the pipe.
        assert self._process is not None and self._process.stdout is not None
        fd = self._process.stdout.fileno()
        deadline = time.monotonic() + timeout
        pending = b""
        said: list[str] = []
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while (left := deadline - time.monotonic()) > 0:
                if not selector.select(left):
                    continue
                chunk = os.read(fd, 4096)
                if not chunk:
                    code = self._process.wait()
                    raise VenueProcessError(
                        f"paper venue exited ({code}) before listening: "
                        f"{' / '.join(said + self._last_words()) or 'no output'}"
                    )
                *lines, pending = (pending + chunk).split(b"\n")
                for line in lines:
                    text = line.decode(errors="replace").strip()
                    name, _, value = text.partition(": ")
                    if name == "websocket":
                        return value
                    said.append(text)
        raise VenueProcessError(f"paper venue did not listen within {timeout:g}s")

    def _last_words(self) -> list[str]:
        if self._log is None:
            return []
        self._log.seek(self._log_start)
        return [line.strip() for line in self._log.read().splitlines()[-3:] if line.strip()]

    def stop(self, timeout: float = 5.0) -> None:
        """Stop the venue (idempotent): its stdin closes, it shuts down; killed if it hangs."""
        process, self._process = self._process, None
        if process is not None:
            if process.stdin is not None:
                process.stdin.close()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
            if process.stdout is not None:
                process.stdout.close()
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> VenueProcess:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
