"""Helpers of the clock tests (tests/test_clock_local_steps.py, test_clock_steps_probe.py,
test_shm_restart.py, test_clock_lifecycle_probe.py): a simulated local clock that a Clock reads in
place of CLOCK_REALTIME / CLOCK_BOOTTIME (the `world` fixture of conftest.py replaces
chronotick.clock._local_pair with World.pair), polling it, waiting for a condition, and a publisher
in another process."""
import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time

import numpy as np

from chronotick import Clock, Engine

POLL = 64.0
NS = 1_000_000_000


class World:
    """Reference time advancing 64 s per poll; a local clock 20 ms behind it and 3 ppm slow, which
    can be stepped alone (`steps`) or with the reference (`leaps`, leap seconds)."""

    def __init__(self, seed=1):
        self.elapsed = 0.0             # true seconds since the start (never stepped)
        self.steps = 0.0               # sum of the steps applied to the local clock alone, s
        self.leaps = 0.0               # leap seconds inserted: UTC and the local clock both repeat them
        self.rng = np.random.default_rng(seed)

    @property
    def ref(self):                     # reference time (UTC), s
        return 1.7e9 + self.elapsed - self.leaps

    def offset(self):                  # reference - local without steps: 20 ms, growing 3 ppm (slow oscillator)
        return 0.020 + 3e-6 * self.elapsed

    def local(self):                   # the local clock (what CLOCK_REALTIME reads)
        return self.ref - self.offset() + self.steps

    def pair(self):                    # (CLOCK_REALTIME, CLOCK_BOOTTIME) ns: one oscillator; boot never stepped
        return int(round(self.local() * NS)), int(round((self.elapsed * (1 - 3e-6) + 1000.0) * NS))

    def measure(self):                 # an NTP-like measurement: 0.2 ms noise
        return self.local(), self.ref - self.local() + self.rng.normal(0, 2e-4), 5e-4

    def advance(self):
        self.elapsed += POLL


def make_clock(world, source=None, **cfg):
    """A Clock measuring `world` (or `source`) with the classical fusion, polled every 64 s."""
    return Clock(source or world.measure, Engine({"short_term": {"models": ["fused"]}}),
                 dict({"poll_interval_s": POLL}, **cfg))


def run_polls(clock, world, n):
    """n polls, the world advanced by a poll before each; whether each used a measurement."""
    used = []
    for _ in range(n):
        world.advance()
        used.append(clock.poll_once())
    return used


def published_offset(clock, world):
    """The published model's offset (s) at the world's local time now, as readers would read it."""
    m = clock.health()["model"]
    t = world.pair()[0]
    return (m["offset_ns"] + m["freq"] * (t - m["ref_local_ns"])) / NS


def served_error(clock, world):
    """published_offset minus the true offset of the world's local clock (s)."""
    return published_offset(clock, world) - (world.ref - world.local())


def wait_for(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not pred() and time.monotonic() < deadline:
        time.sleep(0.01)
    return pred()


@contextlib.contextmanager
def publisher_process(path, offset_ns):
    """Another process publishing a SYNCHRONIZED model with offset_ns to the clock file at `path`,
    up when entered, SIGKILLed on exit."""
    code = textwrap.dedent(f"""
        import time
        from chronotick import _core
        pub = _core.ClockPublisher({path!r}, 10.0)
        pub.publish(time.time_ns(), {int(offset_ns)}, 0.0, 1_000_000, 10.0, 1)
        print("up", flush=True)
        time.sleep(60)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, env=env)
    try:
        assert proc.stdout.readline().strip() == b"up"
        yield proc
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()


def simulated(preset, seed, hours=12.0):
    """A steady simulated clock polled every POLL s: (times, offsets, true offsets, delays)."""
    from chronotick import sim
    s = sim.simulate(preset=preset, scenario="steady", duration_s=hours * 3600, poll_s=POLL, seed=seed)
    return s.trace.times, np.asarray(s.trace.offsets, float), np.asarray(s.true_offset, float), s.trace.delay


def replay_bounds(offsets, truth, times, delay, config=None):
    """Drive a Clock (the classical fusion) through the measurements on their own time base;
    per measurement i (after 20): the bound's width at t_i before it arrives, and whether it
    holds the truth. Returns (clock, width, inside); the clock's engine is closed. Used by
    tests/test_clock_steps.py and scripts/step_threshold_eval.py."""
    from chronotick.sources import Measurement
    it = iter(range(len(times)))
    now = [int(times[0] * 1e9)]

    def src():
        i = next(it)
        return Measurement(t=float(times[i]), offset=float(offsets[i]), uncertainty=float(delay[i]) / 2,
                           delay=float(delay[i]))
    eng = Engine({"engine": {"calib_origins": 128, "history": 512}, "short_term": {"models": ["fused"]}})
    clock = Clock(src, engine=eng, config={"poll_interval_s": POLL, "warmup_measurements": 1, **(config or {})},
                  time_ns=lambda: now[0])
    width, inside = np.full(len(times), np.nan), np.zeros(len(times), bool)
    for i, t in enumerate(times):
        t_ns = int(round(t * 1e9))
        if i >= 20:
            b = clock.now_at(t_ns)
            lo, hi = (b.earliest_ns - t_ns) / 1e9, (b.latest_ns - t_ns) / 1e9
            width[i], inside[i] = hi - lo, lo <= truth[i] <= hi
        now[0] = t_ns
        clock.poll_once(t_ns)
    eng.close()
    return clock, width, inside
