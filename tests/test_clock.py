"""chronotick.Clock: bounds, status, monotonicity, retrospective records,
the background thread against a real loopback NTP server, and the honesty
of the bounds on real and simulated traces (issue 5 §2, §4)."""
import os
import time

import numpy as np
import pytest

import chronotick
from chronotick import sim
from chronotick.clock import HOLDOVER, SYNCHRONIZED, UNKNOWN, Clock
from chronotick.errors import ConfigError
from chronotick.io import load_chronotick_csv
from chronotick.replay import replay
from chronotick.sources import Measurement

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "clock-traces")
T0 = 1.7e9


class Scripted:
    """A source whose answers a test sets: a Measurement, or an exception."""

    def __init__(self):
        self.next = None

    def measure(self):
        if isinstance(self.next, Exception):
            raise self.next
        return self.next


def drive(clock, src, times, offsets, unc=1e-4):
    for t, y in zip(times, offsets):
        src.next = Measurement(t=float(t), offset=float(y), delay=2 * unc, uncertainty=unc)
        clock.poll_once(int(t * 1e9))


def test_status_moves_synchronized_holdover_unknown_without_raising():
    src = Scripted()
    clock = Clock(src, config={"poll_interval_s": 64.0, "unknown_after_s": 1800.0})
    assert clock.now().status == UNKNOWN
    t = T0 + 64.0 * np.arange(40)
    noise = np.random.default_rng(0).normal(0, 2e-4, t.size)
    drive(clock, src, t, 1e-3 + 1e-6 * (t - T0) + noise)
    b = clock.now_at(int((t[-1] + 1) * 1e9))
    assert b.status == SYNCHRONIZED and b.earliest_ns < b.time_ns < b.latest_ns
    src.next = TimeoutError("all servers timed out")
    w_sync = b.latest_ns - b.earliest_ns
    clock.poll_once(int((t[-1] + 400) * 1e9))      # > 3 polls without a measurement
    h = clock.now_at(int((t[-1] + 400) * 1e9))
    assert h.status == HOLDOVER
    assert h.latest_ns - h.earliest_ns > w_sync      # the bound widens in holdover
    clock.poll_once(int((t[-1] + 2000) * 1e9))
    assert clock.now_at(int((t[-1] + 2000) * 1e9)).status == UNKNOWN
    health = clock.health()
    assert health["counts"]["source_errors"] == 2
    assert "TimeoutError" in health["last_error"]


def test_corrected_time_is_monotonic_across_a_backward_correction():
    src = Scripted()
    clock = Clock(src, config={"poll_interval_s": 64.0})
    t = T0 + 64.0 * np.arange(30)
    drive(clock, src, t, np.full(30, 0.020))          # 20 ms ahead ...
    probe = [int((t[-1] + k * 0.5) * 1e9) for k in range(1, 200)]
    before = [clock.now_at(p).time_ns for p in probe[:20]]
    src.next = Measurement(t=float(t[-1] + 10), offset=0.0, delay=2e-4, uncertainty=1e-4)   # ... then 0
    clock.poll_once(probe[20])
    after = [clock.now_at(p).time_ns for p in probe[20:]]
    seq = before + after
    assert all(b >= a for a, b in zip(seq, seq[1:]))   # never steps backwards
    assert clock.health()["counts"]["measurements"] == 31


def test_after_before_and_config_errors():
    src = Scripted()
    clock = Clock(src)
    now = time.time_ns()
    t = (now / 1e9) - 64.0 * np.arange(30)[::-1] - 1
    drive(clock, src, t, np.zeros(30))
    clock.poll_once()                                    # publish at the real current time
    b = clock.now()
    assert b.status == SYNCHRONIZED
    assert clock.after(b.earliest_ns - 10**9) and not clock.after(b.latest_ns + 10**9)
    assert clock.before(b.latest_ns + 10**9) and not clock.before(b.earliest_ns - 10**9)
    assert abs(clock.now_ns() - time.time_ns()) < 10**9
    with pytest.raises(ConfigError, match="clock.poll_interval_s: must be a positive number"):
        Clock(src, config={"poll_interval_s": -1})
    with pytest.raises(ConfigError, match="clock.bogus: unknown key"):
        Clock(src, config={"bogus": 1})


def test_retrospective_records_ramp_the_error_and_never_feed_the_model():
    src = Scripted()
    clock = Clock(src, config={"poll_interval_s": 64.0})
    t = T0 + 64.0 * np.arange(30)
    drive(clock, src, t, np.zeros(30))
    n_obs = clock._engine.stats()["counts"]["observations"]
    h = clock.history()
    assert h["t"].size == 30 - 2 and np.all  # no record before min_measurements (3)(np.isfinite(h["corrected_offset"]))
    # a 5 ms surprise at the next measurement ramps over the records since the previous one
    for k in range(1, 4):
        src.next = TimeoutError("lost")
        clock.poll_once(int((t[-1] + 16 * k) * 1e9))
    src.next = Measurement(t=float(t[-1] + 64), offset=0.005, delay=2e-4, uncertainty=1e-4)
    clock.poll_once(int((t[-1] + 64) * 1e9))
    h = clock.history()
    tail = h["t"] > t[-1]
    ramp = (h["corrected_offset"] - h["served_offset"])[tail][:3]
    assert np.all(np.diff(ramp) > 0) and ramp[-1] < 0.005
    assert clock._engine.stats()["counts"]["observations"] == n_obs + 1   # measurements only


def test_background_thread_against_a_loopback_ntp_server():
    from chronotick.sources import NTPSource
    from chronotick.testing.ntp_server import NTPTestServer
    with NTPTestServer(offset_s=0.050, delay_s=0.002) as srv:
        src = NTPSource([srv.address], burst=1, timeout_s=0.5)
        with Clock(src, config={"warmup_poll_interval_s": 0.05, "poll_interval_s": 0.05,
                                "min_measurements": 3}) as clock:
            deadline = time.monotonic() + 20
            while clock.now().status != SYNCHRONIZED and time.monotonic() < deadline:
                time.sleep(0.05)
            b = clock.now()
            assert b.status == SYNCHRONIZED, clock.health()
            # corrected time is about 50 ms ahead of the local clock, and the bound holds it
            assert abs((b.time_ns - time.time_ns()) / 1e9 - 0.050) < 0.02
            assert b.earliest_ns <= time.time_ns() + 50_000_000 <= b.latest_ns + 5_000_000
        assert not clock.health()["running"]


@pytest.mark.skipif(not os.path.isdir(DATA), reason=f"real traces not found at {DATA}")
def test_bounds_on_a_real_trace():
    """Truth = the next NTP measurement (it carries NTP's own error and
    spikes). Measured: 98.7% for the 99% bound (docs/clock.md); asserted at
    97% to leave room for platform differences."""
    tr = load_chronotick_csv(os.path.join(DATA, "homelab_9h_2025-10-15.csv"))
    r = replay(tr)
    print(r)
    assert r["n"] > 300
    assert r["coverage"] >= 0.97
    assert r["synchronized_share"] == 1.0


def test_bounds_hold_the_true_offset_of_simulated_clocks():
    for preset in ("disciplined", "tcxo"):
        s = sim.simulate(preset=preset, scenario="steady", duration_s=6 * 3600, poll_s=64, seed=3)
        r = replay(s.trace, truth=s.true_offset)
        assert r["coverage"] >= 0.99, (preset, r)
