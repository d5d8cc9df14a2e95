"""A restarted publisher takes over the model its predecessor left in the clock file
(ClockWriter::adopt), so readers' time_ns does not go back across the restart; it does
not when the model is from another boot, over an hour old, or the local clock was
stepped since (CLOCK_REALTIME and CLOCK_MONOTONIC parted)."""
import os
import struct
import time

import pytest

from chronotick import _core
from chronotick.shm import Client, Status
from clock_helpers import publisher_process   # (tests/ is on sys.path)

MS = 1_000_000
WORDS = 14
DATA_AT = 24                      # magic, versions, size, pid (16 bytes), seq (8): include/chronotick.h
HEARTBEAT_MONO, HEARTBEAT_REAL = 8, 9


def _checksum(words):             # ct_checksum: FNV-1a over the first 13 words, then a mix
    h = 0xcbf29ce484222325
    for w in words[:WORDS - 1]:
        h ^= w
        h = (h * 0x100000001b3) & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 29
    return h


def _publish(path, offset_ns):
    pub = _core.ClockPublisher(path, 10.0)
    pub.publish(time.time_ns(), offset_ns, 0.0, MS, 10.0, 1)
    return pub


def test_time_does_not_go_back_across_a_killed_publisher(tmp_path):
    path = str(tmp_path / "clock")
    with publisher_process(path, 30 * MS):                # the reference 30 ms ahead
        client = Client(path)
        seen = [client.now()]
        assert seen[0].status == Status.SYNCHRONIZED
        assert abs(seen[0].time_ns - time.time_ns() - 30 * MS) < 5 * MS
    seen.append(client.now())
    pub = _core.ClockPublisher(path, 10.0)
    assert pub.adopted
    deadline = time.monotonic() + 3
    while client.snapshot()["heartbeat_real_ns"] == 0 or client.writer_pid != os.getpid():
        seen.append(client.now())                # the old file (UNKNOWN) until the client follows
        assert time.monotonic() < deadline, "the client did not follow the new file"
    a = time.time_ns()
    seen.append(client.now())
    b = time.time_ns()
    assert seen[-1].status == Status.UNKNOWN
    assert a + 30 * MS - MS <= seen[-1].time_ns <= b + 30 * MS + MS   # along the old model (bracketed)
    pub.publish(time.time_ns(), 0, 0.0, MS, 10.0, 1)   # the new model: 30 ms back, slewed
    for _ in range(1000):
        seen.append(client.now())
    times = [b.time_ns for b in seen]
    assert all(b >= a for a, b in zip(times, times[1:])), "time_ns went back"
    last = seen[-1]
    assert last.status == Status.SYNCHRONIZED and last.earliest_ns <= last.time_ns <= last.latest_ns
    pub.close()


def test_a_clean_stop_and_start_continues_too(tmp_path):
    path = str(tmp_path / "clock")
    _publish(path, 20 * MS).close()
    with _core.ClockPublisher(path, 10.0) as pub:
        assert pub.adopted
        b = Client(path).now()
        assert b.status == Status.UNKNOWN and abs(b.time_ns - time.time_ns() - 20 * MS) < 5 * MS


def test_never_published_files_and_opt_out_are_not_adopted(tmp_path):
    path = str(tmp_path / "clock")
    _core.ClockPublisher(path, 10.0).close()      # retired without a publish
    with _core.ClockPublisher(path, 10.0) as pub:
        assert not pub.adopted
    _publish(path, 20 * MS).close()
    with _core.ClockPublisher(path, 10.0, adopt=False) as pub:
        assert not pub.adopted
        b = Client(path).now()
        assert b.status == Status.UNKNOWN and abs(b.time_ns - time.time_ns()) < 5 * MS   # the local clock


def _rewrite(path, change):
    """The retired file's data words changed by `change` (a dict word -> delta), checksum fixed."""
    with open(path, "r+b") as f:
        f.seek(DATA_AT)
        words = list(struct.unpack(f"<{WORDS}Q", f.read(8 * WORDS)))
        for i, delta in change.items():
            words[i] = (words[i] + delta) & 0xFFFFFFFFFFFFFFFF
        words[-1] = _checksum(words)
        f.seek(DATA_AT)
        f.write(struct.pack(f"<{WORDS}Q", *words))


@pytest.mark.parametrize("change, why", [
    ({HEARTBEAT_REAL: 5_000 * MS}, "the local clock stepped back 5 s since"),
    ({HEARTBEAT_REAL: -3 * MS}, "the local clock stepped forward 3 ms since"),
    ({HEARTBEAT_MONO: 10 ** 18}, "a monotonic time ahead of now: another boot"),
    ({HEARTBEAT_MONO: -3601 * 10 ** 9, HEARTBEAT_REAL: -3601 * 10 ** 9}, "over an hour old"),
])
def test_a_model_from_before_a_step_another_boot_or_too_old_is_not_adopted(tmp_path, change, why):
    path = str(tmp_path / "clock")
    _publish(path, 20 * MS).close()
    _rewrite(path, {})
    with _core.ClockPublisher(path, 10.0) as pub:   # the rewrite itself changes nothing
        assert pub.adopted
    _publish(path, 20 * MS).close()
    _rewrite(path, change)
    with _core.ClockPublisher(path, 10.0) as pub:
        assert not pub.adopted, why
        assert abs(Client(path).now().time_ns - time.time_ns()) < 5 * MS


def test_a_corrupt_old_file_is_not_adopted(tmp_path):
    path = str(tmp_path / "clock")
    _publish(path, 20 * MS).close()
    with open(path, "r+b") as f:
        f.seek(DATA_AT + 8)                           # offset_ns changed, checksum not
        f.write(struct.pack("<q", 123))
    with _core.ClockPublisher(path, 10.0) as pub:
        assert not pub.adopted


def test_a_clock_and_serve_say_when_they_carry_a_model_on(tmp_path):
    from chronotick import Clock
    path = str(tmp_path / "clock")
    clock = Clock(lambda: None, shm_path=path)
    assert clock.health()["shm"] == {"path": path, "adopted": False}
    clock.stop()
    _publish(path, 20 * MS).close()
    clock = Clock(lambda: None, shm_path=path)
    assert clock.health()["shm"] == {"path": path, "adopted": True}
    clock.stop()
    assert clock.health()["shm"]["adopted"] is False      # closed
    assert Clock(lambda: None).health()["shm"] is None
