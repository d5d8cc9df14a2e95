"""The local clock stepped by another program while a Clock runs (chrony's makestep, date -s, a
leap second): seen at the next poll as CLOCK_REALTIME parting from CLOCK_BOOTTIME, and added
to the Clock's time base, so measurements before and after it form one series -- none dropped
(a step back used to drop them, UNKNOWN, for about as long as the step) and no level shift for
the models to re-learn (a +50 ms step used to widen the bound for a day) -- while the published
model follows the stepped local clock.

The local clock here is simulated: chronotick.clock._local_pair (the one place a live Clock
reads CLOCK_REALTIME with CLOCK_BOOTTIME) is replaced by the `world` fixture (conftest.py,
tests/clock_helpers.World): reference time advancing 64 s per poll, a local clock 20 ms behind it
and 3 ppm slow, which can be stepped."""
import contextlib
import os
import threading
import time

import numpy as np
import pytest

import chronotick.clock as clockmod
from chronotick import Clock, Engine, _core
from clock_helpers import NS, POLL, make_clock, published_offset, run_polls, wait_for  # (tests/ is on sys.path)


@pytest.mark.parametrize("step", [-100.0, -0.05, 0.05, 3.0])
def test_a_step_of_the_local_clock_loses_no_measurement_and_the_model_follows_it(world, step):
    clock = make_clock(world)
    assert all(run_polls(clock, world, 40))
    h = clock.health()
    assert h["published_status"] == "SYNCHRONIZED" and h["counts"]["local_clock_steps"] == 0
    bound_before = h["model"]["bound_ns"]
    world.steps += step                 # another program steps the local clock
    used = run_polls(clock, world, 10)
    h = clock.health()
    assert all(used), h["last_error"]   # none dropped (a step back had dropped them all)
    assert h["counts"]["local_clock_steps"] == 1
    assert h["local_clock_step"]["step_s"] == pytest.approx(step, abs=1e-6)
    assert h["counts"]["steps_detected"] == 0 and h["counts"]["spikes"] == 0   # no offset step seen
    assert h["published_status"] == "SYNCHRONIZED"
    # the published model serves the reference time on the stepped local clock
    off = published_offset(clock, world)
    assert off == pytest.approx(world.ref - world.local(), abs=1e-3)
    # and its bound did not blow up (a +50 ms step had widened it to ~80 ms for a day)
    assert h["model"]["bound_ns"] < 3 * bound_before + 1e6
    # history: on today's local clock, ending at the newest poll
    hist = clock.history()
    assert hist["t"][-1] == pytest.approx(world.local(), abs=1e-3)
    assert np.all(np.diff(hist["t"]) > 0)


def test_slewing_and_frequency_error_are_not_steps(world):
    clock = make_clock(world)
    run_polls(clock, world, 30)             # the local clock runs 3 ppm slow throughout
    assert clock.health()["counts"]["local_clock_steps"] == 0
    world.steps += 0.0005              # half a millisecond: below what the pair can tell from jitter
    run_polls(clock, world, 3)
    assert clock.health()["counts"]["local_clock_steps"] == 0


def test_two_steps_add_up(world):
    clock = make_clock(world)
    run_polls(clock, world, 30)
    world.steps -= 2.0
    run_polls(clock, world, 5)
    world.steps += 0.5
    assert all(run_polls(clock, world, 5))
    h = clock.health()
    assert h["counts"]["local_clock_steps"] == 2 and h["local_clock_base_s"] == pytest.approx(-1.5, abs=1e-6)
    off = published_offset(clock, world)
    assert off == pytest.approx(world.ref - world.local(), abs=1e-3)


def test_an_injected_time_base_is_never_rebased(world):
    # time_ns other than CLOCK_REALTIME: no CLOCK_BOOTTIME to compare with; a step back is
    # UNKNOWN until a measurement, as before
    t = {"ns": int(1.7e18)}
    clock = Clock(lambda: (t["ns"] / NS, 0.01, 5e-4), Engine({"short_term": {"models": ["fused"]}}),
                  {"poll_interval_s": POLL}, time_ns=lambda: t["ns"])
    for _ in range(10):
        t["ns"] += int(POLL * NS)
        clock.poll_once()
    assert clock.health()["counts"]["local_clock_steps"] == 0 and clock.health()["local_clock_base_s"] == 0


def test_local_pair_reads_both_clocks_together():
    real, boot = clockmod._local_pair()
    import time
    assert abs(real - time.time_ns()) < 1e8
    if clockmod._BOOTTIME is not None:
        assert boot is not None and abs(boot - time.clock_gettime_ns(clockmod._BOOTTIME)) < 1e8


def test_local_pair_gives_no_boot_time_when_the_reads_are_torn_apart(monkeypatch):
    if clockmod._BOOTTIME is None:
        pytest.skip("no CLOCK_BOOTTIME here")
    import time
    ticks = iter(range(0, 10 ** 9, 1_000_000))        # each realtime read 1 ms after the one before
    monkeypatch.setattr(clockmod.time, "time_ns", lambda: next(ticks))
    real, boot = clockmod._local_pair()
    assert boot is None and real > 0                   # a preempted pair is not used to look for steps


def test_a_leap_second_moves_nothing(world):
    # UTC and the local clock both repeat a second: the pair sees -1 s, the offset measured after
    # it does not move, so the base stays (a rebase would have shifted the offsets by 1 s)
    clock = make_clock(world)
    run_polls(clock, world, 40)
    world.leaps += 1.0
    assert all(run_polls(clock, world, 10))
    h = clock.health()
    assert h["counts"]["local_clock_steps"] == 0 and h["local_clock_base_s"] == 0
    assert h["local_clock_step"]["local_clock_alone"] is False
    assert h["local_clock_step"]["step_s"] == pytest.approx(-1.0, abs=1e-6)
    assert h["counts"]["steps_detected"] == 0 and h["published_status"] == "SYNCHRONIZED"
    off = published_offset(clock, world)
    assert off == pytest.approx(world.ref - world.local(), abs=1e-3)


def test_a_step_with_no_measurement_after_it_is_unknown_until_one_decides(world):
    clock = make_clock(world)
    run_polls(clock, world, 40)
    world.steps += 0.2
    answer = {"none": True}
    clock._source = __import__("chronotick.sources", fromlist=["as_source"]).as_source(
        lambda: None if answer["none"] else world.measure())
    world.advance()
    assert clock.poll_once() is False
    assert clock.health()["published_status"] == "UNKNOWN"    # the correction may be 200 ms off
    answer["none"] = False
    world.advance()
    assert clock.poll_once() is True
    h = clock.health()
    assert h["published_status"] == "SYNCHRONIZED" and h["counts"]["local_clock_steps"] == 1
    off = published_offset(clock, world)
    assert off == pytest.approx(world.ref - world.local(), abs=1e-3)


# ---- waking at the step (Linux timerfd) rather than at the next poll --------------------------

class FakeWatch:
    """_core.ClockSetWatch's interface: fire() is the kernel cancelling the timerfd (clock set)."""

    def __init__(self):
        self._ev = threading.Event()
        self._result = 0

    def wait(self, timeout_s):
        if not self._ev.wait(timeout_s):
            return 0
        self._ev.clear()
        return self._result

    def fire(self):
        self._result = 1
        self._ev.set()

    def interrupt(self):
        self._result = 2
        self._ev.set()


@contextlib.contextmanager
def running_with(world, watch):
    """A clock 40 polls in, started with `watch` in place of the real one (start() polls at once);
    on exit it must stop at once (interrupt() ends the wait, 64 s otherwise)."""
    clock = make_clock(world)
    run_polls(clock, world, 40)
    clock._watch = watch
    clock.start()
    try:
        assert wait_for(lambda: clock.health()["counts"]["polls"] == 41)
        yield clock
    finally:
        t0 = time.monotonic()
        clock.stop()
        assert time.monotonic() - t0 < 30 and not clock.health()["running"]


def set_back_and_wake(world, watch):
    """The local clock set back 30 s, and the kernel says so at once (watch.fire())."""
    world.steps -= 30.0
    world.elapsed += 1.0
    watch.fire()


def test_a_set_of_the_local_clock_wakes_the_polling_thread(world):
    watch = FakeWatch()
    with running_with(world, watch) as clock:
        time.sleep(0.2)
        assert clock.health()["counts"]["polls"] == 41      # the next poll is 64 s away
        set_back_and_wake(world, watch)
        assert wait_for(lambda: clock.health()["counts"]["local_clock_steps"] == 1)
        h = clock.health()
        assert h["counts"]["polls"] == 42 and h["counts"]["clock_set_wakes"] == 1
        assert h["published_status"] == "SYNCHRONIZED"
        off = published_offset(clock, world)
        assert off == pytest.approx(world.ref - world.local(), abs=1e-3)


class FailingWatch(FakeWatch):
    """A watch whose timer cannot be armed again after the clock was set (ClockSetWatch.wait's
    OSError from timerfd_settime)."""

    def fire(self):
        self._result = -1
        self._ev.set()

    def wait(self, timeout_s):
        r = super().wait(timeout_s)
        if r == -1:
            raise OSError(24, "timerfd_settime(TFD_TIMER_CANCEL_ON_SET): Too many open files")
        return r


def test_a_watch_that_fails_is_dropped_and_the_clock_polls_on(world):
    # was: the OSError ended the polling thread (nothing caught it there)
    watch = FailingWatch()
    with running_with(world, watch) as clock:
        set_back_and_wake(world, watch)                # the set is seen, re-arming fails
        assert wait_for(lambda: clock.health()["counts"]["local_clock_steps"] == 1)
        h = clock.health()
        assert h["running"] and h["counts"]["clock_set_wakes"] == 1 and clock._watch is None
        assert "watch for sets of the local clock failed" in h["last_error"] and "timerfd_settime" in h["last_error"]
        assert published_offset(clock, world) == pytest.approx(world.ref - world.local(), abs=1e-3)
        clock.poll_once()                              # polling goes on without the watch
        assert clock.health()["counts"]["polls"] == 43


@pytest.mark.skipif(not _core.clock_set_watch_available, reason="no timerfd (not Linux)")
def test_the_real_watch_times_out_and_is_interrupted():
    from conftest import skip_on_system_clock_set
    w = _core.ClockSetWatch()
    t0 = time.monotonic()
    r = w.wait(0.05)
    skip_on_system_clock_set(r == 1)
    assert r == 0 and time.monotonic() - t0 >= 0.045
    threading.Timer(0.05, w.interrupt).start()
    r = w.wait(10)
    skip_on_system_clock_set(r == 1)
    assert r == 2
    w.interrupt()                                            # before the wait: ends the next one
    r = w.wait(10)
    skip_on_system_clock_set(r == 1)
    assert r == 2 and w.wait(0) == 0
    with pytest.raises(ValueError):
        w.wait(float("nan"))


_NO_FDS_LEFT = r"""
import errno, json, os, resource
from chronotick import _core
resource.setrlimit(resource.RLIMIT_NOFILE, (64, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
held = []
try:
    while True:
        held.append(os.open(os.devnull, os.O_RDONLY))
except OSError:
    pass
def attempt():
    try:
        _core.ClockSetWatch()
    except OSError as e:
        return [e.errno, str(e)]
    return None
none_left = attempt()
os.close(held.pop())
one_left = attempt()                     # the timerfd is made (and must be closed again), the eventfd is not
os.close(held.pop())
print(json.dumps([none_left, one_left, attempt() is None]))   # two free: only if the timerfd was closed
"""


@pytest.mark.skipif(not _core.clock_set_watch_available, reason="no timerfd (not Linux)")
def test_a_watch_that_cannot_be_made_names_the_failed_call():
    import errno
    import json
    import subprocess
    import sys
    from conftest import child_env
    r = subprocess.run([sys.executable, "-c", _NO_FDS_LEFT], capture_output=True, text=True, timeout=120,
                       env=child_env())
    assert r.returncode == 0, r.stderr
    none_left, one_left, made = json.loads(r.stdout)
    assert none_left[0] == errno.EMFILE and "timerfd_create(CLOCK_REALTIME)" in none_left[1]
    assert one_left[0] == errno.EMFILE and "eventfd" in one_left[1]
    assert made                                            # nothing leaked by the failed attempts


@pytest.mark.skipif(not _core.clock_set_watch_available, reason="no timerfd (not Linux)")
def test_a_running_clock_stops_at_once_with_the_real_watch():
    clock = Clock(lambda: None, Engine({"short_term": {"models": ["fused"]}}), {"poll_interval_s": 3600.0,
                                                                               "warmup_poll_interval_s": 3600.0})
    clock.start()
    assert wait_for(lambda: clock.health()["counts"]["polls"] >= 1)
    assert isinstance(clock._watch, _core.ClockSetWatch)
    t0 = time.monotonic()
    clock.stop()
    assert time.monotonic() - t0 < 30 and not clock.health()["running"]   # not the hour's wait


@pytest.mark.skipif(os.environ.get("CHRONOTICK_TEST_CLOCK_SET") != "1" or not _core.clock_set_watch_available,
                    reason="sets the system clock (forward by 100 us): CHRONOTICK_TEST_CLOCK_SET=1, as root")
def test_a_real_clock_set_wakes_the_watch():
    w = _core.ClockSetWatch()
    assert w.wait(0) == 0
    time.clock_settime_ns(time.CLOCK_REALTIME, time.clock_gettime_ns(time.CLOCK_REALTIME) + 100_000)
    assert w.wait(1) == 1 and w.wait(0) == 0                  # re-armed: once per set
