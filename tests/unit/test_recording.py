"""The session recorder: what it writes, how it rotates, and that a flood never blocks it."""

from __future__ import annotations

import gzip
import os
import threading
from pathlib import Path

import pytest

from cryptoj_tui.engine.recording import (
    FORMAT,
    ConnectRecord,
    DroppedRecord,
    FrameRecord,
    Header,
    Recorder,
    RecordingError,
    RestRecord,
    part_path,
    read_recording,
)


def test_a_recording_reads_back_record_for_record(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl.gz"
    recorder = Recorder(path, venue="coinbase")
    recorder.open()
    tap = recorder.tap("market")
    tap.connected("ws://127.0.0.1:1/ws")
    tap.frame('{"channel":"heartbeats","sequence_num":0}')
    tap.frame(b'{"channel":"l2_data","sequence_num":1,"note":"caf\xc3\xa9"}')
    recorder.rest(
        "POST",
        "/orders",
        params=[],
        body={"client_order_id": "c1"},
        status=200,
        answer='{"success":true}',
    )
    recorder.close()

    records = list(read_recording(path))
    assert isinstance(records[0], Header)
    assert (records[0].format, records[0].venue, records[0].part) == (FORMAT, "coinbase", 0)
    assert records[1] == ConnectRecord(at=records[1].at, stream="market", url="ws://127.0.0.1:1/ws")
    assert [r.frame for r in records[2:4]] == [  # type: ignore[union-attr]
        '{"channel":"heartbeats","sequence_num":0}',
        '{"channel":"l2_data","sequence_num":1,"note":"café"}',
    ]
    rest = records[4]
    assert isinstance(rest, RestRecord)
    assert (rest.method, rest.path, rest.body, rest.status, rest.answer) == (
        "POST",
        "/orders",
        {"client_order_id": "c1"},
        200,
        '{"success":true}',
    )
    assert recorder.stats.written == 4 and recorder.stats.dropped == 0
    assert path.stat().st_mode & 0o077 == 0  # the account's orders and balances are in it
    assert records[1].at <= records[2].at <= records[4].at  # type: ignore[union-attr]


def test_a_recording_rotates_past_its_size_and_reads_on_through_its_parts(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl.gz"
    recorder = Recorder(path, venue="coinbase", max_file_bytes=4_000)
    recorder.open()
    frames = [f'{{"sequence_num":{n},"noise":"{os.urandom(200).hex()}"}}' for n in range(60)]
    for frame in frames:
        recorder.frame("market", frame)
        assert recorder.flush()  # one write each, so each part ends near its limit
    recorder.close()

    assert recorder.stats.parts > 3
    parts = [part_path(path, n) for n in range(recorder.stats.parts)]
    assert parts[1].name == "session.1.jsonl.gz" and all(p.exists() for p in parts)
    assert all(p.stat().st_size < 4_000 + 1_000 for p in parts)
    records = list(read_recording(path))
    headers = [r for r in records if isinstance(r, Header)]
    assert [h.part for h in headers] == list(range(recorder.stats.parts))
    assert [r.frame for r in records if isinstance(r, FrameRecord)] == frames
    assert recorder.stats.bytes == sum(p.stat().st_size for p in parts)


def test_a_flood_against_a_stuck_disk_never_blocks_and_every_drop_is_counted(tmp_path: Path) -> None:
    """The worker blocks on a pipe nobody reads; the feed's calls all return, and what did not
    fit in the queue is counted, then marked in the file once the disk moves again."""
    fifo = tmp_path / "stuck.jsonl.gz"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    recorder = Recorder(fifo, venue="coinbase", max_pending_records=500, max_pending_bytes=200_000)
    recorder.open()
    frame = '{"channel":"l2_data","noise":"' + os.urandom(512).hex() + '"}'
    sent = 20_000
    flood = threading.Thread(target=lambda: [recorder.frame("market", frame) for _ in range(sent)])
    flood.start()
    flood.join(timeout=60)
    assert not flood.is_alive(), "recording a frame blocked on the disk"
    assert recorder.stats.dropped > 0

    received = bytearray()
    closing = threading.Thread(target=recorder.close)
    closing.start()
    os.set_blocking(reader, True)
    while chunk := os.read(reader, 1 << 16):
        received += chunk
    closing.join(timeout=30)
    os.close(reader)
    assert recorder.stats.written + recorder.stats.dropped == sent
    copy = tmp_path / "copy.jsonl.gz"
    copy.write_bytes(bytes(received))
    records = list(read_recording(copy))
    marks = [r for r in records if isinstance(r, DroppedRecord)]
    assert len([r for r in records if isinstance(r, FrameRecord)]) == recorder.stats.written
    assert marks and sum(m.count for m in marks) == recorder.stats.dropped


def test_a_recording_that_cannot_be_written_says_where(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    with pytest.raises(RecordingError, match=r"^recording .*not-a-dir/s.jsonl.gz: cannot make its directory"):
        Recorder(blocker / "s.jsonl.gz", venue="coinbase").open()
    (tmp_path / "read-only").mkdir(mode=0o500)
    if os.geteuid() != 0:  # root writes anywhere
        with pytest.raises(RecordingError, match=r"^recording .*read-only/s.jsonl.gz: cannot write it"):
            Recorder(tmp_path / "read-only" / "s.jsonl.gz", venue="coinbase").open()
    with pytest.raises(RecordingError, match=r"^recording .*: cannot write it \(Is a directory\)"):
        Recorder(tmp_path, venue="coinbase").open()


def test_a_cut_short_last_line_ends_the_recording_there(tmp_path: Path) -> None:
    path = tmp_path / "crashed.jsonl.gz"
    recorder = Recorder(path, venue="coinbase")
    recorder.open()
    recorder.frame("market", '{"sequence_num":0}')
    recorder.close()
    whole = gzip.decompress(path.read_bytes())
    path.write_bytes(gzip.compress(whole + b'{"kind":"frame","at":1.0,"stream":"mar'))
    assert [type(r) for r in read_recording(path)] == [Header, FrameRecord]


def test_a_recording_killed_before_its_gzip_trailer_reads_up_to_the_last_flush(tmp_path: Path) -> None:
    path = tmp_path / "killed.jsonl.gz"
    recorder = Recorder(path, venue="coinbase")
    recorder.open()
    for n in range(3):
        recorder.frame("market", f'{{"sequence_num":{n}}}')
    assert recorder.flush()
    as_killed = path.read_bytes()  # what a SIGKILL leaves: flushed blocks, no trailer
    recorder.close()
    path.write_bytes(as_killed)
    assert [r.frame for r in read_recording(path) if isinstance(r, FrameRecord)] == [
        f'{{"sequence_num":{n}}}' for n in range(3)
    ]


def test_a_kind_from_a_later_version_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "later.jsonl"
    path.write_text(
        f'{{"kind":"header","format":"{FORMAT}","version":1,"venue":"coinbase","started":"x"}}\n'
        '{"kind":"bookmark","at":1.0,"label":"kill switch"}\n'
        '{"kind":"frame","at":1.0,"stream":"market","frame":"{}"}\n'
    )
    assert [type(r) for r in read_recording(path)] == [Header, FrameRecord]


def test_a_bad_line_inside_a_recording_is_named(tmp_path: Path) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text(
        f'{{"kind":"header","format":"{FORMAT}","version":1,"venue":"coinbase","started":"x"}}\n'
        '{"kind":"frame","at":"soon","stream":"market","frame":"{}"}\n'
        '{"kind":"frame","at":1.0,"stream":"market","frame":"{}"}\n'
    )
    with pytest.raises(RecordingError, match=r"bad.jsonl line 2: not a record"):
        list(read_recording(path))


def test_a_recording_from_a_newer_cryptoj_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "newer.jsonl"
    path.write_text(f'{{"kind":"header","format":"{FORMAT}","version":99,"venue":"coinbase","started":"x"}}\n')
    with pytest.raises(RecordingError, match="version 99 is not one this cryptoj reads"):
        list(read_recording(path))


def test_a_bare_capture_reads_as_market_frames_stamped_by_the_venue(tmp_path: Path) -> None:
    path = tmp_path / "capture.jsonl.gz"
    lines = [
        b'{"channel":"heartbeats","timestamp":"2026-08-09T21:05:48.5Z","sequence_num":0,"events":[]}',
        b'{"channel":"l2_data","timestamp":"not a time","sequence_num":1,"events":[]}',
    ]
    path.write_bytes(gzip.compress(b"\n".join(lines) + b"\n"))
    records = list(read_recording(path))
    assert [r.frame.encode() for r in records] == lines  # type: ignore[union-attr]
    assert [r.at for r in records] == [1786309548.5, 0.0]  # type: ignore[union-attr]


def test_a_missing_recording_is_named(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match=r"nothing.jsonl.gz: no such file"):
        list(read_recording(tmp_path / "nothing.jsonl.gz"))


def test_limits_must_be_positive(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="limits must be positive"):
        Recorder(tmp_path / "x.jsonl.gz", venue="coinbase", max_file_bytes=0)


def test_a_cryptofeed_capture_reads_with_its_rest_answers_merged_in_time(tmp_path: Path) -> None:
    (tmp_path / "BINANCE.ws.1.0").write_text(
        "wss://stream.binance.com:9443/stream?streams=x@depth@100ms <-> 10.0\n"
        '10.5: {"stream":"x@depth@100ms","data":{}}\n'
        '12.0: {"stream":"x@depth@100ms","data":{"u":2}}\n'
    )
    (tmp_path / "BINANCE.http.0.0").write_text(
        'https://api.binance.com/api/v3/depth?symbol=X&limit=1000 -> 11.0: {"lastUpdateId":1}\n'
    )
    records = list(read_recording(tmp_path / "BINANCE.ws.1.0"))
    assert isinstance(records[0], Header) and records[0].venue == "binance"
    assert [type(r) for r in records[1:]] == [ConnectRecord, FrameRecord, RestRecord, FrameRecord]
    rest = records[3]
    assert isinstance(rest, RestRecord)
    assert (rest.path, rest.params, rest.answer) == (
        "/api/v3/depth",
        [("symbol", "X"), ("limit", "1000")],
        '{"lastUpdateId":1}',
    )


def test_a_bad_line_in_a_cryptofeed_capture_is_named(tmp_path: Path) -> None:
    (tmp_path / "BINANCE.ws.1.0").write_text("wss://h/stream <-> 10.0\nsoon: {}\n")
    with pytest.raises(RecordingError, match=r"BINANCE.ws.1.0 line 2: 'soon' is not a time"):
        list(read_recording(tmp_path / "BINANCE.ws.1.0"))
