"""chronotick.Clock's lifecycle and status semantics: what in-process reads and
shared-file readers say after stop(), status changes that depend only on elapsed
time published at their instant (not at the next poll), a degraded status
published even when the forecast fails, history() not blocked by a hanging
source, stop() from inside the polling thread, start/stop/start, a shared
Engine, a closed Engine, and an injected time base that gives garbage."""
import threading
import time

import numpy as np
import pytest

import chronotick
from chronotick.clock import HOLDOVER, SYNCHRONIZED, UNKNOWN, Clock
from chronotick.sources import Measurement

from test_clock_read_probe import T0, fused   # noqa: E402  (the tests directory is on sys.path)
from conftest import skip_on_system_clock_set   # noqa: E402
from clock_helpers import wait_for   # noqa: E402


class Scripted:
    """A source whose answers a test sets: a Measurement, or an exception."""

    def __init__(self):
        self.next = None

    def measure(self):
        if isinstance(self.next, BaseException):
            raise self.next
        return self.next


def hand_driven():
    """A clock on a simulated time base (now[0], ns), driven by poll_once at 64 s polls for
    six measurements: (clock, source, now, their times)."""
    now = [int(T0 * 1e9)]
    src = Scripted()
    clock = Clock(src, fused(), {"poll_interval_s": 64.0}, time_ns=lambda: now[0])
    t = T0 + 64.0 * np.arange(6)
    for x in t:
        now[0] = int(x * 1e9)
        drive(clock, src, [x])
    return clock, src, now, t


def drive(clock, src, times, offset=1e-3):
    for t in times:
        src.next = Measurement(t=float(t), offset=offset, delay=2e-4, uncertainty=1e-4)
        assert clock.poll_once(int(t * 1e9))


def live_source(fail_after=None, hang=None):
    """A source measuring the real clock (5 ms offset); it raises TimeoutError after
    `fail_after` measurements, or waits on the event `hang` from then on."""
    n = [0]

    def measure():
        n[0] += 1
        if fail_after is not None and n[0] > fail_after:
            if hang is None:
                raise TimeoutError("all servers timed out")
            hang.wait(10)
        return (time.time() - 1e-3, 5e-3, 1e-4)
    return measure, n


# -- stop(): UNKNOWN at once, in this process and in the shared file ------------------

def test_stop_makes_the_in_process_clock_unknown_like_its_shared_file_readers(tmp_path):
    # Was: after stop() the shared file read UNKNOWN at once, but the Clock's own now() kept
    # SYNCHRONIZED (with a bound) until stale_after (2 polls + 10 s) although nothing measured.
    path = tmp_path / "clock"
    src, _ = live_source()
    clock = Clock(src, fused(), {"poll_interval_s": 0.05, "warmup_poll_interval_s": 0.01}, shm_path=path)
    reader = chronotick.Client(path)
    with clock:
        assert wait_for(lambda: clock.now().status == SYNCHRONIZED and reader.now().status == SYNCHRONIZED)
        before = clock.now_ns()
    b, r = clock.now(), reader.now()
    assert b.status == UNKNOWN and r.status == UNKNOWN, (b, r)
    assert (b.earliest_ns, b.latest_ns) == (chronotick.shm.UNBOUNDED_EARLIEST, chronotick.shm.UNBOUNDED_LATEST)
    assert b.time_ns >= before                              # time still runs on along the last model
    assert abs(b.time_ns - (time.time_ns() + 5_000_000)) < 50_000_000
    h = clock.health()
    assert h["status"] == "UNKNOWN" and h["published_status"] == "UNKNOWN" and not h["running"]
    assert not clock.after(before) and not clock.before(before + 10**12)   # no claim either way
    # and started again it is SYNCHRONIZED again, in both
    with clock:
        assert wait_for(lambda: clock.now().status == SYNCHRONIZED and reader.now().status == SYNCHRONIZED)
    assert clock.now().status == UNKNOWN and reader.now().status == UNKNOWN


def test_stop_of_a_clock_driven_by_poll_once_and_polls_after_it():
    # A hand-driven clock on a simulated base: stop() ends its claim too; a poll after it
    # (the caller measuring again) publishes again.
    clock, src, now, t = hand_driven()
    now[0] += 10**9
    assert clock.now().status == SYNCHRONIZED
    before = clock.now_ns()
    clock.stop()
    clock.stop()                                            # twice: no error, no change
    b = clock.now()
    assert b.status == UNKNOWN and b.time_ns >= before
    assert clock.health()["published_status"] == "UNKNOWN"
    now[0] = int((t[-1] + 64) * 1e9)
    drive(clock, src, [t[-1] + 64])
    assert clock.now().status == SYNCHRONIZED and clock.now_ns() >= b.time_ns


def test_a_poll_once_after_stop_publishes_the_shared_file_again(tmp_path):
    # Was: the in-process clock went back to SYNCHRONIZED while the file, closed by stop(),
    # said UNKNOWN for good (only start() opened it again).
    path = tmp_path / "clock"
    src, _ = live_source()
    clock = Clock(src, fused(), {"poll_interval_s": 64.0}, shm_path=path)
    reader = chronotick.Client(path)
    for _ in range(4):
        clock.poll_once()
        time.sleep(0.002)
    assert clock.now().status == SYNCHRONIZED and reader.now().status == SYNCHRONIZED
    clock.stop()
    assert clock.now().status == UNKNOWN and reader.now().status == UNKNOWN
    assert clock.poll_once()
    assert clock.now().status == SYNCHRONIZED
    assert wait_for(lambda: reader.now().status == SYNCHRONIZED, 3)     # the reader follows the new file
    clock.stop()
    assert clock.now().status == UNKNOWN and reader.now().status == UNKNOWN


def test_stop_without_start_and_stop_twice_never_raise(tmp_path):
    clock = Clock(lambda: None, fused(), shm_path=tmp_path / "c")
    clock.stop()
    clock.stop()
    assert clock.now().status == UNKNOWN and chronotick.Client(tmp_path / "c").now().status == UNKNOWN
    assert not clock.health()["running"]


def test_a_missing_shm_directory_is_named(tmp_path):
    # the publisher's error had named its temporary file (.../clock.tmp.PID), never asked for
    missing = tmp_path / "no-such-dir" / "clock"
    with pytest.raises(FileNotFoundError, match=r"the directory .*no-such-dir' does not exist"):
        Clock(lambda: None, fused(), shm_path=missing)
    assert not (tmp_path / "no-such-dir").exists()
    assert Clock.health.__doc__ and "published_status" in Clock.health.__doc__


# -- status changes that depend only on elapsed time ---------------------------------

def test_holdover_and_unknown_are_published_when_due_not_a_poll_later(tmp_path):
    # Was: SYNCHRONIZED -> HOLDOVER (holdover_after_s without a measurement) and HOLDOVER ->
    # UNKNOWN (unknown_after_s) were published only by the next poll: here 0.8 s and 0.5 s late.
    path = tmp_path / "clock"
    src, n = live_source(fail_after=8)
    cfg = {"poll_interval_s": 1.0, "warmup_poll_interval_s": 0.01, "warmup_measurements": 8,
           "holdover_after_s": 1.2, "unknown_after_s": 2.5}
    clock = Clock(src, fused(), cfg, shm_path=path)
    reader = chronotick.Client(path)
    seen = {}
    with clock:
        assert wait_for(lambda: n[0] > 8)
        assert clock.health()["counts"]["measurements"] == 8
        last = clock._last_meas_ns
        deadline = time.monotonic() + 4.0
        while time.monotonic() < deadline and len(seen) < 6:
            st, rs = clock.now().status, reader.now().status
            age = (time.time_ns() - last) / 1e9
            for who, s in (("clock", st), ("reader", rs)):
                seen.setdefault((who, s), age)
            time.sleep(0.002)
    for who in ("clock", "reader"):
        assert 1.2 <= seen[(who, HOLDOVER)] <= 1.2 + 0.25, seen
        assert 2.5 <= seen[(who, UNKNOWN)] <= 2.5 + 0.25, seen
    h = clock.health()
    skip_on_system_clock_set(h["counts"]["clock_set_wakes"] > 0)
    assert h["counts"]["polls"] <= 12                         # a status change is not a poll of the source


def test_a_degraded_status_is_published_even_when_the_forecast_fails():
    # Was: poll_once set health()["published_status"] to HOLDOVER, but the forecast failed and
    # nothing was written: readers kept SYNCHRONIZED (until stale_after) with a bound in holdover.
    clock, src, now, t = hand_driven()

    def broken(*a, **k):
        raise RuntimeError("forecast broke")
    clock._engine.forecast_at = broken
    src.next = TimeoutError("all servers timed out")
    now[0] = int((t[-1] + 400) * 1e9)
    assert clock.poll_once() is False
    h = clock.health()
    assert h["counts"]["forecast_errors"] == 1 and "forecast broke" in h["last_error"]
    b = clock.now()
    assert b.status == HOLDOVER and h["published_status"] == "HOLDOVER" and h["status"] == "HOLDOVER"
    assert b.earliest_ns < b.time_ns < b.latest_ns


# -- a hanging source, stop() from inside the polling thread --------------------------

def test_history_and_health_do_not_wait_for_a_hanging_source():
    # Was: history() took the poll lock, held across the source's call: it waited as long as
    # the source hung (an NTP query waiting for its timeout; here 10 s).
    hang = threading.Event()
    src, n = live_source(fail_after=5, hang=hang)
    clock = Clock(src, fused(), {"poll_interval_s": 0.02, "warmup_poll_interval_s": 0.01})
    try:
        clock.start()
        assert wait_for(lambda: n[0] > 5)
        time.sleep(0.05)
        t = time.monotonic()
        h = clock.history()
        clock.health()
        assert time.monotonic() - t < 0.5
        assert h["t"].size >= 3 and np.all(np.isfinite(h["corrected_offset"]))
    finally:
        hang.set()
        clock.stop()


def test_stop_called_from_the_polling_thread_ends_it_without_a_source_error():
    # Was: stop() joined the current thread: RuntimeError ("cannot join current thread")
    # counted as a source error, the measurement dropped.
    box = {}

    def src():
        if box["clock"].health()["counts"]["measurements"] >= 4:
            box["clock"].stop()
        return (time.time() - 1e-3, 5e-3, 1e-4)
    clock = Clock(src, fused(), {"poll_interval_s": 0.02, "warmup_poll_interval_s": 0.01})
    box["clock"] = clock
    clock.start()
    assert wait_for(lambda: not clock.health()["running"])
    h = clock.health()
    assert h["counts"]["source_errors"] == 0, h["last_error"]
    assert h["counts"]["measurements"] == 5 and h["status"] == "UNKNOWN"


def test_a_source_calling_back_into_its_clock_in_the_caller_s_thread():
    # Was: stop() or poll_once() from inside the source's measure() in a caller's own
    # poll_once() waited for the update lock that poll held: the caller hung for good.
    box = {"do": None}

    def src():
        if box["do"] is not None:
            box["do"]()
        return (time.time() - 1e-3, 5e-3, 1e-4)
    clock = Clock(src, fused(), {"poll_interval_s": 64.0})
    for _ in range(4):
        assert clock.poll_once()
        time.sleep(0.002)
    assert clock.now().status == SYNCHRONIZED
    box["do"] = clock.poll_once
    done = []
    th = threading.Thread(target=lambda: done.append(clock.poll_once()), daemon=True)
    th.start()
    th.join(5)
    assert not th.is_alive() and done == [False]          # a source error, named
    assert "poll_once called from inside a poll" in clock.health()["last_error"]
    box["do"] = clock.stop
    th = threading.Thread(target=lambda: done.append(clock.poll_once()), daemon=True)
    th.start()
    th.join(5)
    assert not th.is_alive() and done[-1] is True          # the measurement is used, then the clock stops
    assert clock.now().status == UNKNOWN and clock.health()["published_status"] == "UNKNOWN"
    assert clock.health()["counts"]["source_errors"] == 1


# -- the rest of the lifecycle ------------------------------------------------------

def test_start_stop_start_keeps_one_thread_and_a_monotonic_time():
    src, _ = live_source()
    clock = Clock(src, fused(), {"poll_interval_s": 0.03, "warmup_poll_interval_s": 0.01})
    seen = []
    for _ in range(3):
        clock.start()
        clock.start()                                         # a no-op while it runs
        assert wait_for(lambda: clock.now().status == SYNCHRONIZED)
        assert len([th for th in threading.enumerate() if th.name == "chronotick-clock"]) == 1
        seen.append(clock.now_ns())
        clock.stop()
        seen.append(clock.now_ns())
    assert seen == sorted(seen)
    assert not [th for th in threading.enumerate() if th.name == "chronotick-clock"]


def test_stop_from_another_thread_while_polling():
    src, _ = live_source()
    clock = Clock(src, fused(), {"poll_interval_s": 0.01, "warmup_poll_interval_s": 0.001})
    clock.start()
    stoppers = [threading.Thread(target=clock.stop) for _ in range(3)]
    time.sleep(0.05)
    for th in stoppers:
        th.start()
    for th in stoppers:
        th.join(5)
    assert not any(th.is_alive() for th in stoppers)
    assert not clock.health()["running"] and clock.now().status == UNKNOWN


def test_a_closed_engine_makes_the_clock_degrade_not_raise():
    src, _ = live_source()
    eng = fused()
    clock = Clock(src, eng, {"poll_interval_s": 0.02, "warmup_poll_interval_s": 0.01,
                             "holdover_after_s": 0.1, "unknown_after_s": 0.3})
    with clock:
        assert wait_for(lambda: clock.now().status == SYNCHRONIZED)
        eng.close()
        assert wait_for(lambda: clock.now().status == UNKNOWN)
        h = clock.health()
        assert h["running"] and h["counts"]["source_errors"] >= 1
        assert "refused by the engine" in h["last_error"] or "forecast failed" in h["last_error"]


def test_two_clocks_on_one_engine_each_serve_their_own_status():
    eng = fused()
    a_src, b_src = Scripted(), Scripted()
    a = Clock(a_src, eng, {"poll_interval_s": 64.0})
    b = Clock(b_src, eng, {"poll_interval_s": 64.0})
    t = T0 + 64.0 * np.arange(5)
    drive(a, a_src, t)
    b_src.next = Measurement(t=float(t[2]), offset=1e-3, delay=2e-4, uncertainty=1e-4)
    assert b.poll_once(int(t[-1] * 1e9)) is False              # the shared engine is past it: dropped
    assert "refused by the engine" in b.health()["last_error"]
    assert b.now_at(int(t[-1] * 1e9)).status == UNKNOWN
    assert a.now_at(int(t[-1] * 1e9) + 10**9).status == SYNCHRONIZED


@pytest.mark.parametrize("bad", [float("nan"), None, "1700000000000000000", 2**70])
def test_an_injected_time_base_that_gives_garbage_is_named(bad):
    now = [bad]
    clock = Clock(lambda: None, fused(), time_ns=lambda: now[0])
    with pytest.raises((TypeError, ValueError), match="time_ns\\(\\)"):
        clock.poll_once()
    now[0] = int(T0 * 1e9)                                    # a sane time again: the clock works on
    assert clock.poll_once() is False and clock.health()["status"] == "UNKNOWN"
