"""Session recordings: every frame the engine received and every REST call it made, on disk.

The format extends the real capture in shared/data/captures/coinbase_advanced_trade (gzip,
one JSON value a line) with a header line and a `kind` on each record; docs/recording.md has it
in full. `read_recording` reads both: a bare capture's lines are market frames.

The writer never slows the feed: `Recorder.frame` only appends to a bounded queue that a worker
thread encodes, compresses and writes. When the queue is full (in records or in bytes: one level2
snapshot is megabytes) the record is dropped and counted, and the file says where with a
`dropped` record, so a replay knows that gap was the recorder's and not the venue's.
"""

from __future__ import annotations

import gzip
import heapq
import io
import logging
import os
import re
import threading
import time
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import msgspec

log = logging.getLogger(__name__)

FORMAT = "cryptoj-recording"
VERSION = 1
MARKET = "market"
USER = "user"
"""The streams a frame record names: the public market data connection, the user channel."""


class RecordingError(ValueError):
    """A recording cannot be written or read; the message names the file and the problem."""


class Header(msgspec.Struct, tag_field="kind", tag="header", kw_only=True):
    """First line of every part."""

    format: str
    version: int
    venue: str
    started: str
    """ISO 8601 UTC time the part was opened."""
    part: int = 0


class FrameRecord(msgspec.Struct, tag_field="kind", tag="frame", kw_only=True):
    """One WebSocket frame exactly as received, and when (Unix seconds)."""

    at: float
    stream: str
    frame: str


class ConnectRecord(msgspec.Struct, tag_field="kind", tag="connect", kw_only=True):
    """A stream's (re)connection: the venue's sequence numbers start again after it."""

    at: float
    stream: str
    url: str


class RestRecord(msgspec.Struct, tag_field="kind", tag="rest", kw_only=True):
    """One REST request (never its Authorization header) and the answer it got."""

    at: float
    method: str
    path: str
    params: list[tuple[str, str]] = []
    body: Any = None
    status: int = 0
    """HTTP status; 0 when no answer came (the answer field says why)."""
    answer: str = ""


class DroppedRecord(msgspec.Struct, tag_field="kind", tag="dropped", kw_only=True):
    """The queue was full: this many records before `at` were not written."""

    at: float
    count: int


Record = Header | FrameRecord | ConnectRecord | RestRecord | DroppedRecord
_ENCODER = msgspec.json.Encoder()
_DECODER = msgspec.json.Decoder(Record)


class _CaptureStamp(msgspec.Struct):
    timestamp: str = ""


_STAMP_DECODER = msgspec.json.Decoder(_CaptureStamp)


def part_path(path: Path, part: int) -> Path:
    """Part `part` of a recording: `x.jsonl.gz`, then `x.1.jsonl.gz`, `x.2.jsonl.gz`, ..."""
    if part == 0:
        return path
    name = path.name
    stem, dot, suffixes = name.partition(".")
    return path.with_name(f"{stem}.{part}.{suffixes}" if dot else f"{stem}.{part}")


@dataclass
class RecorderStats:
    """What the recorder did: records written, records dropped, compressed bytes, parts opened."""

    written: int = 0
    dropped: int = 0
    bytes: int = 0
    parts: int = 0


def _private(path: str, flags: int) -> int:
    return os.open(path, flags, 0o600)


class _CountedFile:
    """The file under the gzip stream, counting what reaches it (a pipe cannot tell its position)."""

    def __init__(self, raw: io.BufferedWriter) -> None:
        self.raw = raw
        self.written = 0

    def write(self, data: bytes) -> int:
        self.written += len(data)
        return self.raw.write(data)

    def flush(self) -> None:
        self.raw.flush()


class Recorder:
    """Writes a session to `path` (gzip JSON lines), rotating to a new part past `max_file_bytes`.

    Call `open()` before recording and `close()` at the end; both block briefly (the file is
    opened, the queue flushed). Everything else is safe to call from the event loop's hot path.
    """

    def __init__(
        self,
        path: Path,
        *,
        venue: str,
        max_file_bytes: int = 256 * 1024 * 1024,
        max_pending_bytes: int = 64 * 1024 * 1024,
        max_pending_records: int = 100_000,
        compresslevel: int = 1,
    ) -> None:
        if max_file_bytes <= 0 or max_pending_bytes <= 0 or max_pending_records <= 0:
            raise RecordingError(f"recording {path}: file and queue limits must be positive")
        self.path = Path(path)
        self.venue = venue
        self.max_file_bytes = max_file_bytes
        self.max_pending_bytes = max_pending_bytes
        self.max_pending_records = max_pending_records
        self._compresslevel = compresslevel
        self.stats = RecorderStats()
        self._pending: deque[tuple[Any, int]] = deque()
        self._pending_bytes = 0
        self._dropped_since_write = 0
        self._wake = threading.Condition()
        self._closing = False
        self._thread: threading.Thread | None = None
        self._busy = False
        """The worker holds a batch it has not written yet (flush waits for it)."""
        self._earlier_parts_bytes = 0
        self._raw: _CountedFile | None = None
        self._gzip: gzip.GzipFile | None = None

    # -- the producer's side: never blocks on I/O ---------------------------------------

    def frame(self, stream: str, raw: str | bytes) -> None:
        """Record one received frame, as received."""
        text = raw if isinstance(raw, str) else raw.decode("utf-8", "replace")
        self._put(FrameRecord(at=time.time(), stream=stream, frame=text), len(text))

    def connected(self, stream: str, url: str) -> None:
        """Record that `stream` (re)connected to `url`."""
        self._put(ConnectRecord(at=time.time(), stream=stream, url=url), len(url))

    def rest(
        self,
        method: str,
        path: str,
        *,
        params: list[tuple[str, str]],
        body: Any,
        status: int,
        answer: str,
    ) -> None:
        """Record one REST request and its answer (status 0: none came)."""
        record = RestRecord(at=time.time(), method=method, path=path, params=params, body=body, status=status)
        record.answer = answer
        self._put(record, len(answer) + 200)

    def tap(self, stream: str) -> StreamTap:
        """What a WebSocket connection calls with each frame of `stream`."""
        return StreamTap(self, stream)

    def _put(self, record: Any, size: int) -> None:
        with self._wake:
            if (
                self._closing
                or len(self._pending) >= self.max_pending_records
                or self._pending_bytes + size > self.max_pending_bytes
            ):
                self.stats.dropped += 1
                self._dropped_since_write += 1
                return
            self._pending.append((record, size))
            self._pending_bytes += size
            self._wake.notify()

    # -- life --------------------------------------------------------------------------

    def open(self) -> None:
        """Open the first part and start the writer; RecordingError names what went wrong."""
        if self._thread is not None:
            return
        self._open_part(0)
        self._thread = threading.Thread(target=self._write_loop, name=f"recorder {self.path.name}", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Write what is queued, then close the file."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        self._close_part()

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until everything queued so far is on disk (tests, and a clean stop); False on timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._wake:
                if not self._pending and not self._busy:
                    return True
            time.sleep(0.005)
        return False

    def _open_part(self, part: int) -> None:
        path = part_path(self.path, part)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RecordingError(
                f"recording {path}: cannot make its directory {path.parent} ({exc.strerror or exc})"
            ) from None
        try:
            # Private like the journal: a recording holds the account's orders, fills and balances.
            self._raw = _CountedFile(open(path, "wb", opener=_private))  # noqa: SIM115 - closed in _close_part
        except OSError as exc:
            raise RecordingError(f"recording {path}: cannot write it ({exc.strerror or exc})") from None
        self._gzip = gzip.GzipFile(fileobj=self._raw, mode="wb", compresslevel=self._compresslevel)
        self.stats.parts += 1
        started = datetime.now(UTC).isoformat()
        header = Header(format=FORMAT, version=VERSION, venue=self.venue, started=started, part=part)
        self._gzip.write(_ENCODER.encode(header) + b"\n")

    def _close_part(self) -> None:
        try:
            if self._gzip is not None:
                self._gzip.close()
        finally:
            self._gzip = None
            if self._raw is not None:
                self._earlier_parts_bytes += self._raw.written
                self.stats.bytes = self._earlier_parts_bytes
                self._raw.raw.close()
                self._raw = None

    def _write_loop(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closing:
                    self._wake.wait()
                if not self._pending and self._closing:
                    return
                batch = list(self._pending)
                self._pending.clear()
                self._pending_bytes = 0
                dropped, self._dropped_since_write = self._dropped_since_write, 0
                self._busy = True
            try:
                self._write(batch, dropped)
            except Exception:  # a full disk must not take the engine down: record no more
                log.exception("recording %s stopped", self.path)
                with self._wake:
                    self._closing = True
                    self.stats.dropped += len(self._pending)
                    self._pending.clear()
                    self._busy = False
                return
            with self._wake:
                self._busy = False

    def _write(self, batch: list[tuple[Any, int]], dropped: int) -> None:
        assert self._gzip is not None and self._raw is not None
        lines = [_ENCODER.encode(record) for record, _ in batch]
        if dropped:
            lines.append(_ENCODER.encode(DroppedRecord(at=time.time(), count=dropped)))
        self._gzip.write(b"\n".join(lines) + b"\n")
        self.stats.written += len(batch)
        self._gzip.flush()  # a reader (or a crash) sees whole lines, not half a compressed block
        self.stats.bytes = self._earlier_parts_bytes + self._raw.written
        if self._raw.written >= self.max_file_bytes:
            self._close_part()
            self._open_part(self.stats.parts)


class StreamTap:
    """One stream's view of a recorder: what `WebSocketConnection` calls."""

    __slots__ = ("_recorder", "stream")

    def __init__(self, recorder: Recorder, stream: str) -> None:
        self._recorder = recorder
        self.stream = stream

    def frame(self, raw: str | bytes) -> None:
        self._recorder.frame(self.stream, raw)

    def connected(self, url: str) -> None:
        self._recorder.connected(self.stream, url)


# -- reading -------------------------------------------------------------------------------


def _stamp(frame: bytes) -> float:
    """Arrival time for a bare capture's frame: the venue's own timestamp on it, or 0."""
    try:
        text = _STAMP_DECODER.decode(frame).timestamp
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() if text else 0.0
    except (msgspec.DecodeError, ValueError):
        return 0.0


def _lines(path: Path) -> Iterator[bytes]:
    try:
        with open(path, "rb") as raw:
            compressed = raw.read(2) == b"\x1f\x8b"
        handle = gzip.open(path, "rb") if compressed else open(path, "rb")  # noqa: SIM115
        with handle:
            yield from handle
    except EOFError:  # no gzip trailer: the writer was killed; what it flushed is whole lines
        log.warning("recording %s ends without its gzip trailer (the writer stopped); read up to there", path)
    except (OSError, gzip.BadGzipFile) as exc:
        raise RecordingError(f"recording {path}: cannot read it ({exc})") from None


_KINDS = {"header", "frame", "connect", "rest", "dropped"}


def _unknown_kind(line: bytes) -> bool:
    try:
        value = msgspec.json.decode(line)
    except msgspec.DecodeError:
        return False
    return isinstance(value, dict) and isinstance(value.get("kind"), str) and value["kind"] not in _KINDS


_CRYPTOFEED_CONNECT = re.compile(rb"^wss?://\S+ <-> [0-9.]+$")
"""The first line of a cryptofeed raw-data file: the URL it connected to, and when."""


def _read_cryptofeed(ws_path: Path) -> Iterator[Record]:
    """A capture in cryptofeed's raw-data format (shared/data/captures/binance_spot) as records.

    `EXCHANGE.ws.N.M` holds `<url> <-> <ts>` at each connect and `<ts>: <frame>` for each frame;
    the REST answers of the same session are in `EXCHANGE.http.*` beside it, as
    `<url> -> <ts>: <body>`. Both are merged in time order.
    """
    exchange = ws_path.name.split(".", 1)[0]
    header = Header(format=FORMAT, version=VERSION, venue=exchange.lower(), started="", part=0)

    def frames() -> Iterator[Record]:
        for number, line in enumerate(_lines(ws_path), start=1):
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            if not text:
                continue
            if " <-> " in text:
                url, _, stamp = text.rpartition(" <-> ")
                yield ConnectRecord(at=_seconds(stamp, ws_path, number), stream=MARKET, url=url)
                continue
            stamp, sep, frame = text.partition(": ")
            if not sep:
                raise RecordingError(f"recording {ws_path} line {number}: not '<time>: <frame>'")
            yield FrameRecord(at=_seconds(stamp, ws_path, number), stream=MARKET, frame=frame)

    def answers(http_path: Path) -> Iterator[Record]:
        for number, line in enumerate(_lines(http_path), start=1):
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            url, sep, rest = text.partition(" -> ")
            stamp, sep2, body = rest.partition(": ")
            if not (sep and sep2):
                continue  # cryptofeed writes other lines (request headers) in some versions
            parts = urlsplit(url)
            yield RestRecord(
                at=_seconds(stamp, http_path, number),
                method="GET",
                path=parts.path,
                params=parse_qsl(parts.query),
                status=200,
                answer=body,
            )

    yield header
    sources = [frames(), *(answers(p) for p in sorted(ws_path.parent.glob(f"{exchange}.http.*")))]
    yield from heapq.merge(*sources, key=lambda r: r.at)  # type: ignore[union-attr]


def _seconds(stamp: str, path: Path, number: int) -> float:
    try:
        return float(stamp)
    except ValueError:
        raise RecordingError(f"recording {path} line {number}: {stamp[:30]!r} is not a time") from None


def read_recording(path: Path) -> Iterator[Record]:
    """Every record of a recording, its rotated parts included, in order.

    A file without a header line is read as a bare capture (one market frame a line, arrival
    times taken from each frame's own timestamp). A line that is not a record raises
    RecordingError naming the file and the line; a truncated last line (a crash mid-write) ends
    the recording there.
    """
    path = Path(path)
    if not path.exists():
        raise RecordingError(f"recording {path}: no such file")
    first = next((line for line in _lines(path) if line.strip()), b"")
    if _CRYPTOFEED_CONNECT.match(first.rstrip(b"\r\n")):
        yield from _read_cryptofeed(path)
        return
    part = 0
    while True:
        current = part_path(path, part)
        if part and not current.exists():
            return
        yield from _read_part(current)
        part += 1


def _read_part(path: Path) -> Iterator[Record]:
    bare: bool | None = None
    pending: tuple[int, bytes] | None = None
    for number, line in enumerate(_lines(path), start=1):
        if pending is not None:  # a bad line followed by more lines is not a truncated tail
            raise RecordingError(f"recording {path} line {pending[0]}: not a record ({pending[1][:60]!r})")
        line = line.rstrip(b"\r\n")
        if not line:
            continue
        if bare is None:
            bare = not line.startswith(b'{"kind":"header"')
        if bare:
            yield FrameRecord(at=_stamp(line), stream=MARKET, frame=line.decode("utf-8", "replace"))
            continue
        try:
            record = _DECODER.decode(line)
        except msgspec.DecodeError:
            if not _unknown_kind(line):  # a later version's kind is skipped; anything else is bad
                pending = (number, line)
            continue
        if isinstance(record, Header) and (record.format != FORMAT or record.version > VERSION):
            raise RecordingError(
                f"recording {path}: format {record.format!r} version {record.version} is not one this cryptoj reads"
            )
        yield record
    if pending is not None:
        log.warning("recording %s: line %d is cut short (the writer stopped mid-line); read up to it", path, pending[0])
