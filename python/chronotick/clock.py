"""`Clock`: corrected time with error bounds, served from a measured source.

A background thread polls a measurement source (an NTP client, chrony, or any
callable/iterator of ``(t, offset, uncertainty)``), feeds the Engine with the
MEASUREMENTS ONLY (never its own predictions), forecasts the offset over the
next polls, and publishes a correction into a C++ seqlock (``_core.ClockState``)
that `now()` reads without locks or allocation:

    time(t)       = t + offset + freq * (t - ref)                      (best estimate)
    bound(t)      = bound0 + growth * (t - ref)                        (half-width)
    [earliest, latest] = time(t) -/+ bound(t)

t is the local CLOCK_REALTIME in ns. offset/freq come from the forecast's
mean at the update instant and one poll later. The half-width bounds the
TRUE offset at the configured confidence (default 99%) as a function of the
time e elapsed since the newest measurement: A + Q(e), with A the path
asymmetry and server error no client can observe (NTP's worst case for the
smallest round trip seen: delta_min/2 + root distance) and Q(e) the
conformal quantile of the clock's own past errors at elapsed e
(_ElapsedCalibration), so HOLDOVER widens as the clock's own record of long
gaps says. Before enough errors are known: the newest measurement's NTP
interval grown at max_drift_ppm (worst case). bound0/growth: the line through
the half-width at lead 0 with the steepest of the chords to leads 1..4 polls
(horizon_polls), so it lies above the half-width at every one of those leads.
Corrections are slewed by the C++ writer at `max_slew_rate` so corrected
time never goes backwards.

Steps (a level shift of the measured offset: the local clock stepped by
another program, a new reference): a measurement that differs from the
median of the 5 newest measurements fed, carried to its time along the drift
of the 16 newest (Theil-Sen; from the 3rd measurement on: 2 fed
that agree), by more than `step_threshold_s` (after an outage too) is held back from the engine, as ntpd holds a "popcorn
spike", and the bound is widened to include it until it is decided.
`step_confirm` such measurements in a row that agree (within half the
threshold in force, min(step_threshold_s, step_threshold_sigmas x the
noise), of their median) are a step:
its size (their median disagreement) is added to the step correction S, and
the engine is fed offset - S from then on, so its models see one continuous
series and need not re-learn the level (chrony corrects its sample history
after a step in the same way). A held measurement followed by an ordinary
one was a spike: it is fed to the engine unchanged (as are held
measurements with nothing after them for holdover_after_s).
A spike is not scored into the calibration (its error is the measurement's,
not the clock's). After a step the stored predictors are moved by it first and
the held measurements scored against them, so neither the step itself nor the
models re-learning the level keep the bound wide. Steps and spikes are counted
in `health()`.
`step_confirm: 0` feeds every measurement at once (no step handling). A
shared engine sees the step-corrected offsets. `step_threshold_sigmas` = K
(default 10; 0: off) lowers the threshold to K robust sigmas of the recent
jumps where that is smaller (_step_threshold), so that steps and spikes below
128 ms are handled too; on simulated clocks it also holds a few ordinary
measurements (0-12 in 12 h) for a poll each (docs/clock.md, Rules W and Z).

Status: SYNCHRONIZED while measurements arrive (the last within
`holdover_after_s`); HOLDOVER when the source fails (timeouts, all servers
rejected, exceptions) -- the bound keeps widening with the forecast -- and
UNKNOWN after `unknown_after_s` without a measurement, before the first
`min_measurements`, when the writer is gone (stale segment), or from a poll
that finds the local clock stepped by another program (CLOCK_REALTIME parted
from CLOCK_BOOTTIME; on an injected time base: gone back) until the next
measurement decides it (a step of the local clock alone is then added to the
Clock's time base, so measurements before and after it form one series: see
docs/clock.md), and after stop() (nothing measures any more: in this
process and for shared-file readers alike, at once; time_ns runs on along the
last model; a poll_once() or start() after it publishes again). A change that
depends only on elapsed time (holdover_after_s, unknown_after_s since the
newest measurement) is published by the polling thread at that instant, not at
its next poll (it was up to a poll late), unless a poll is in progress then
(a source waiting for its timeout, a forecast): then when that poll ends --
the worst-case lag is that poll's duration, and never beyond stale_after_s,
when readers say UNKNOWN for want of a heartbeat. A clock driven by
poll_once() alone (no thread) publishes only at its polls. A poll whose
forecast fails keeps the correction but still publishes a status that claims
less (HOLDOVER, UNKNOWN). The application thread never sees an exception from the
background thread, nor from a source (a BaseException such as SystemExit
raised by a source is a source error too; only poll_once() called in the
caller's own thread raises on a KeyboardInterrupt or SystemExit, after
counting it, so that Ctrl-C works).

Retrospective correction: each new measurement (t_m, o_m) reveals the error
e = o_m - served(t_m) of the correction served since the previous measurement
t_p; the records in (t_p, t_m] are corrected by the linear ramp
e * (t - t_p) / (t_m - t_p) (the prototype's rule). This is for records and
evaluation (`history()`) and is never fed back to the models.

Units: ns in `now()`/`TimeBound`; seconds everywhere else. Sign: offset =
reference - local.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from collections import deque, namedtuple
from dataclasses import dataclass, fields
from typing import Callable

import numpy as np

from chronotick import _core
from chronotick._validate import is_real
from chronotick.errors import ConfigError
# TimeBound(earliest_ns, latest_ns, time_ns, status), built in C++
from chronotick.shm import UNBOUNDED_EARLIEST, UNBOUNDED_LATEST, Status, TimeBound

log = logging.getLogger("chronotick.clock")

UNKNOWN, SYNCHRONIZED, HOLDOVER = Status.UNKNOWN, Status.SYNCHRONIZED, Status.HOLDOVER
# how little a status claims: a change towards a larger one needs no forecast to be published
_SEVERITY = {SYNCHRONIZED: 0, HOLDOVER: 1, UNKNOWN: 2}


@dataclass(frozen=True)
class ClockConfig:
    """Clock settings (seconds unless stated)."""

    poll_interval_s: float = 64.0          # between measurements once warmed up (>= 1 ms)
    warmup_poll_interval_s: float = 4.0    # between the first `warmup_measurements` (at most poll_interval_s)
    warmup_measurements: int = 16
    min_measurements: int = 3              # UNKNOWN before this many
    confidence: float = 0.99               # of [earliest, latest]
    max_slew_rate: float = 5e-4            # of a correction (0.5 ms/s)
    step_threshold_s: float = 0.128        # a larger disagreement is held back: a spike or a step
    step_confirm: int = 3                  # that many in a row, agreeing, make a step (0: no step handling)
    step_threshold_sigmas: float = 10.0    # the threshold is at most this many robust sigmas of recent jumps (0: off)
    holdover_after_s: float | None = None  # default: 3 poll intervals
    unknown_after_s: float = 3600.0        # UNKNOWN after this long without a measurement
    stale_after_s: float | None = None     # readers: writer silent this long -> UNKNOWN (default 2 polls + 10 s)
    horizon_polls: int = 4                 # leads the bound is fitted over
    history_size: int = 100000             # records kept for retrospective correction
    calib_origins: int = 128               # unused by the Clock (validated only, kept so that older
    #                                        clock.yaml files load): the engine's engine.calib_origins counts
    calib_window: int = 2048               # the clock's own past errors kept per elapsed-time bin
    max_drift_ppm: float = 50.0            # worst-case frequency error: the bound's growth before any
    #                                        calibration AND beyond the longest calibrated elapsed time
    #                                        (docs/clock.md; lowering it narrows long-holdover bounds)

    @classmethod
    def from_dict(cls, d: dict | None) -> "ClockConfig":
        if d is None:
            return cls()
        if isinstance(d, cls):
            d.validate()            # built directly, it was never checked (confidence=1.5 was accepted)
            return d
        if not isinstance(d, dict):
            raise ConfigError(f"clock config must be a dict, got {type(d).__name__}")
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ConfigError(f"clock.{unknown[0]}: unknown key; valid keys: {', '.join(sorted(names))}")
        cfg = cls(**d)
        cfg.validate()
        return cfg

    def validate(self) -> None:
        def positive(name, integer=False):
            v = getattr(self, name)
            ok = isinstance(v, int) if integer else isinstance(v, (int, float))
            if isinstance(v, bool) or not ok or not math.isfinite(v) or v <= 0:
                kind = "a positive integer" if integer else "a positive number"
                raise ConfigError(f"clock.{name}: must be {kind}, got {v!r}")
        def at_most(name, top, what):
            v = getattr(self, name)
            if v is not None and v > top:
                raise ConfigError(f"clock.{name}: must be at most {top:g}{what}, got {v!r}")

        for n in ("poll_interval_s", "warmup_poll_interval_s", "step_threshold_s", "unknown_after_s",
                  "max_drift_ppm"):
            positive(n)
        for n in ("warmup_measurements", "min_measurements", "horizon_polls", "history_size", "calib_origins",
                  "calib_window"):
            positive(n, integer=True)
        # the optional ones typed before the limits compare them (a string -- YAML reads `1e3` without
        # a dot as one -- had raised a bare TypeError from '>')
        for n in ("holdover_after_s", "stale_after_s"):
            if getattr(self, n) is not None:
                positive(n)
        # upper limits, so that a typo is an error here, not an overflow in the polling thread
        # (holdover_after_s 1e300 had killed it: int(inf) ns) or an allocation at start
        for n in ("poll_interval_s", "warmup_poll_interval_s", "unknown_after_s", "holdover_after_s",
                  "stale_after_s", "step_threshold_s"):
            at_most(n, _MAX_DURATION_S, " s (about 3 years)")
        at_most("max_drift_ppm", 1e6, " ppm")
        for n in ("warmup_measurements", "min_measurements", "horizon_polls", "history_size", "calib_origins"):
            at_most(n, 10**9, "")
        at_most("calib_window", 10**5, " (its errors are kept in arrays of that many per elapsed-time bin)")
        if isinstance(self.step_confirm, bool) or not isinstance(self.step_confirm, int) or self.step_confirm < 0:
            raise ConfigError(f"clock.step_confirm: must be an integer >= 0, got {self.step_confirm!r}")
        k = self.step_threshold_sigmas
        if isinstance(k, bool) or not isinstance(k, (int, float)) or not math.isfinite(k) or k < 0:
            raise ConfigError(f"clock.step_threshold_sigmas: must be a finite number >= 0 (0: off), got {k!r}")
        if self.holdover_after_s is not None and self.holdover_after_s > self.unknown_after_s:
            raise ConfigError(f"clock.holdover_after_s: must be at most clock.unknown_after_s "
                              f"({self.unknown_after_s!r} s), got {self.holdover_after_s!r}")
        if self.stale_after_s is not None and self.stale_after_s < 1e-6:
            raise ConfigError(f"clock.stale_after_s: must be at least 1e-06 s (a whole nanosecond count), "
                              f"got {self.stale_after_s!r}")
        if self.poll_interval_s < _MIN_POLL_S:
            # the bound's ladder of elapsed times and forecast leads are poll multiples: below
            # this they are not distinct times at Unix-epoch magnitudes, and no forecast is made
            raise ConfigError(f"clock.poll_interval_s: must be at least {_MIN_POLL_S} s, got {self.poll_interval_s!r}")
        if not (isinstance(self.confidence, (int, float)) and 0.5 < self.confidence < 1):
            raise ConfigError(f"clock.confidence: must be in (0.5, 1), got {self.confidence!r}")
        if not (isinstance(self.max_slew_rate, (int, float)) and 0 < self.max_slew_rate <= 0.5):
            raise ConfigError(f"clock.max_slew_rate: must be in (0, 0.5], got {self.max_slew_rate!r}")

    @property
    def holdover_after(self) -> float:
        """3 polls by default, never past unknown_after_s: with polls of 1200 s and more the
        default would reach past the default hour, and the status had stayed SYNCHRONIZED past
        unknown_after_s (then went straight to UNKNOWN at 3 polls)."""
        h = self.holdover_after_s if self.holdover_after_s is not None else 3 * self.poll_interval_s
        return min(h, self.unknown_after_s)

    @property
    def stale_after(self) -> float:
        return self.stale_after_s if self.stale_after_s is not None else 2 * self.poll_interval_s + 10.0


class _ElapsedCalibration:
    """Conformal half-widths from the clock's own past errors, by elapsed
    time since the newest measurement the clock had.

    After each measurement (origin o) the clock keeps its predictor p_o(t)
    (the forecast mean on a ladder of elapsed times). When a later
    measurement j arrives, every kept predictor is scored there:
    r = |m_j - p_o(t_j)| at elapsed e = t_j - t_o, so the scores at long
    elapsed times are exactly the errors a holdover of that length makes.
    Scores are kept in bins of elapsed time (1, 2, 3, 4 polls, then x1.5).

    Target: the symmetric-path offset z (the true offset up to the path
    asymmetry, which no client can observe; the clock adds that separately).
    m_j = z_j + n_j with n_j the queueing/spike noise of exchange j, drawn
    after p_o was made, so independent of z_j - p_o. Two consequences:
    (1) for symmetric unimodal noise |z - p + n| is stochastically larger
    than |z - p| (Birnbaum/Anderson peakedness), so quantiles of r are
    conservative quantiles of |z - p|; (2) selecting scores by the round
    trip of exchange j does not bias them, so only exchanges with a round
    trip in the lower quartile of those seen are used -- they carry the
    least queueing noise (the idea of NTP's minimum-delay clock filter).
    The half-width at elapsed e is the conformal quantile of the bin's
    scores: the ceil(c (n + 1))-th smallest of n (finite-sample valid under
    exchangeability; needs n >= c / (1 - c), else the bin is pooled with the
    next longer ones, conservative where errors grow with elapsed time).
    Across bins the quantile is made non-decreasing and interpolated; past
    the longest calibrated bin, where the clock's record says nothing, it
    grows at the worst-case rate from there (max_drift_ppm plus the
    predictor's frequency, as before any bin is calibrated), and at least
    linearly with elapsed time. (Until 2026-12-05 only linearly: a frequency
    random walk grows the error like e^1.5 and a drift like e^2, and with
    unknown_after_s raised to a day the 99% bound held the truth in 50-90% of
    simulated clocks after 24 h of holdover; an audit.)
    """

    def __init__(self, poll_s: float, max_elapsed_s: float, window: int, confidence: float):
        self.poll, self.c, self.window = poll_s, confidence, window
        self.n_min = int(math.ceil(confidence / (1 - confidence) - 1e-9))
        edges = [0.0, 1.5, 2.5, 3.5, 4.5]
        while edges[-1] * poll_s < max_elapsed_s:
            edges.append(edges[-1] * 1.5)
        self.edges = np.array(edges) * poll_s
        k = len(edges)
        self._e = np.zeros((k, window))
        self._r = np.zeros((k, window))
        self._d = np.zeros((k, window))
        self._n = np.zeros(k, dtype=np.int64)      # scores ever added per bin (ring position = n % window)

    def add(self, elapsed: np.ndarray, resid: np.ndarray, delay: float) -> None:
        bins = np.searchsorted(self.edges, elapsed, side="right") - 1
        for k, e, r in zip(bins, elapsed, resid):
            if 0 <= k < self._n.size:
                i = self._n[k] % self.window
                self._e[k, i], self._r[k, i], self._d[k, i] = e, r, delay
                self._n[k] += 1

    def quantiles(self, delay_max_used: float):
        """(centres, quantiles) of the calibrated bins from the scores of
        exchanges with round trip <= delay_max_used, elapsed-ascending;
        empty when no bin is calibrated."""
        sel_s, sel_e = [], []
        for k in range(self._n.size):
            m = min(int(self._n[k]), self.window)
            d = self._d[k, :m]
            use = d <= delay_max_used
            sel_s.append(self._r[k, :m][use])
            sel_e.append(self._e[k, :m][use])
        centres, qs = [], []
        for k in range(len(sel_s)):
            if sel_s[k].size == 0:
                continue
            pool = [sel_s[k]]
            n = sel_s[k].size
            j = k
            while n < self.n_min and j + 1 < len(sel_s):
                j += 1
                pool.append(sel_s[j])
                n += sel_s[j].size
            if n < self.n_min:
                break                   # this and every longer bin: not enough scores
            s = np.concatenate(pool)
            rank = int(math.ceil(self.c * (n + 1)))
            centres.append(float(np.mean(sel_e[k])))
            qs.append(float(np.partition(s, rank - 1)[rank - 1]))
        return np.array(centres), np.maximum.accumulate(np.array(qs)) if qs else np.array(qs)

    @staticmethod
    def at(e: np.ndarray, centres: np.ndarray, qs: np.ndarray, rho: float) -> np.ndarray:
        """Half-width at elapsed times e from calibrated (centres, qs); past the longest
        calibrated bin, growing at the worst-case rate rho (s/s) from there, and at least
        linearly with e."""
        e = np.asarray(e, float)
        out = np.interp(e, centres, qs)
        far = e > centres[-1]
        out[far] = np.maximum(qs[-1] + rho * (e[far] - centres[-1]), qs[-1] * e[far] / centres[-1])
        return out

    def counts(self) -> list[int]:
        return [int(min(n, self.window)) for n in self._n]


def _wall_ns() -> int:
    return time.time_ns()


_BOOTTIME = getattr(time, "CLOCK_BOOTTIME", None)   # Linux: CLOCK_MONOTONIC plus time suspended
_PAIR_MAX_NS = 100_000        # the two CLOCK_REALTIME reads around the CLOCK_BOOTTIME one: at most 0.1 ms apart
_LOCAL_STEP_NS = 1_000_000    # a local clock step smaller than 1 ms is not told from the pair's read jitter


def _local_pair() -> tuple[int, int | None]:
    """CLOCK_REALTIME and CLOCK_BOOTTIME (ns) at one instant: the realtime reads on either side
    of the boottime read within _PAIR_MAX_NS (else retried; boot None after three tries, or
    where the system has no CLOCK_BOOTTIME). Both advance alike -- adjtime/NTP slewing changes
    both, a suspend counts in both -- so only a step of the local clock parts them."""
    r2 = time.time_ns()
    if _BOOTTIME is None:
        return r2, None
    for _ in range(3):
        r1 = time.time_ns()
        b = time.clock_gettime_ns(_BOOTTIME)
        r2 = time.time_ns()
        if 0 <= r2 - r1 <= _PAIR_MAX_NS:
            return r1 + (r2 - r1) // 2, b
    return r2, None


_INT64_S = 9.2e9              # |t| (s) whose ns still fit an int64 (2**63 ns = 9.22e9 s): the C++ state's range
_MAX_OFFSET_S = 2**62 / 1e9   # |offset| (s) a ns correction holds with room (146 y: a clock booted at 1970 is fine)
_MAX_FREQ = 0.01              # |freq| the C++ state takes (10000 ppm)
_MIN_POLL_S = 1e-3           # the shortest poll_interval_s (ClockConfig.validate)
FAIL_BACKOFF_POLLS = 8       # a source failing poll after poll is polled at most this many intervals apart
_MAX_DURATION_S = 1e8        # the longest duration a clock.*_s key takes (ClockConfig.validate)
_MAX_AHEAD_S = 1.0            # a measurement is taken before the poll reads its local time: slack for rounding only
_JUMPS_KEPT = 64              # jumps of recent ordinary measurements: step_threshold_sigmas' noise scale
_JUMPS_MIN = 16               # fewer: the fixed step_threshold_s


def _text(obj, how) -> str:
    """str() or repr() of a source's object, or its type's name where that raises: a source's
    exception or measurement whose __str__/__repr__ failed had escaped poll_once, uncounted (an
    audit, 2026-12-06)."""
    try:
        return how(obj)
    except Exception:
        return f"<{type(obj).__name__}: its {how.__name__}() failed>"


def _check_ns(name: str, v, compared_only: bool = False, published: bool = False) -> None:
    """A time in ns the C++ state can take: |t| <= 2**62 where it reads the clock
    at that time (room for an offset without leaving int64), any int64 where
    it is only compared with a bound (after/before/wait_until), and >= 0 too where a
    model may be published at it (the writer takes (0, 2**62]: a negative poll time had
    been taken, the source asked and the measurement fed, and the publish then raised
    at every poll from the third on; an audit, 2026-12-06; 0 stays allowed: simulated
    time bases start there, and the first publish comes polls later); a clear error
    naming it otherwise."""
    if not is_real(v):
        raise TypeError(f"{name} must be a time in ns (an integer), got {type(v).__name__} {v!r}")
    if compared_only:
        if not -2**63 <= v < 2**63:       # also nan and inf
            raise ValueError(f"{name} must be a time in ns within int64 (|{name}| < 2**63), got {v!r}")
    elif not -2**62 <= v <= 2**62:
        raise ValueError(f"{name} must be a time in ns within +-2**62, got {v!r}")
    elif published and not v >= 0:
        raise ValueError(f"{name} must be >= 0: the clock publishes its model at positive times (up to 2**62 ns), "
                         f"got {v!r}")


# A measurement held back (a spike or a step, not decided yet): as _checked gave it, the
# poll's local time (ns), its disagreement with the time served (err) and with the median
# of the newest measurements fed (jump).
_Held = namedtuple("_Held", "t offset delay unc now err jump")


def _round_trip(delay, unc) -> tuple[float, bool]:
    """(the round trip the calibration files a measurement under, whether it
    was measured): without one, the uncertainty read as NTP's delay/2."""
    measured = delay is not None and delay > 0
    return (delay if measured else 2 * (unc if unc is not None else 0.0)), measured


def _join_timeout(name: str, v) -> float | None:
    """A wait for Thread.join: None (or inf) for no limit, else a number of
    seconds (<= 0: no wait); a clear error naming the value otherwise."""
    if v is None:
        return None
    if not is_real(v) or math.isnan(v):
        raise (TypeError if not is_real(v) else ValueError)(
            f"{name} must be a number of seconds or None (no limit), got {type(v).__name__} {v!r}")
    return None if math.isinf(v) and v > 0 else max(float(v), 0.0)


def _report(obj, method: str):
    """obj.method() for health(), None without one; a report that fails is
    described, not raised (a failed source never raises in the caller's thread)."""
    try:
        f = getattr(obj, method, None)
        return None if f is None else f()
    except Exception as exc:
        return {"error": f"{type(obj).__name__}.{method}() failed: {type(exc).__name__}: {exc}"}


class _BadMeasurement(ValueError):
    """A source gave a measurement the Clock cannot use: counted as a source error, dropped."""


class Clock:
    """Corrected time with error bounds from a measurement source.

    source: an object with `.measure()` (chronotick.NTPSource, ChronySource)
    or any callable / iterator of (t, offset, uncertainty) tuples or
    Measurements. engine: a chronotick.Engine (default: a new Engine(),
    whose short-term model is `auto`: the classical fusion with clock-bolt). config: dict or ClockConfig (see ClockConfig).
    time_ns: the local clock (CLOCK_REALTIME ns) -- replaceable for replays
    on a simulated time base, with `poll_once(now_ns)` driving the clock
    by hand and `now_at(t_ns)` reading it; now(), now_ns(), after(),
    before() and wait_until() then read the model at time_ns() too (a
    shm_path needs CLOCK_REALTIME: its readers read that clock).
    """

    def __init__(self, source, engine=None, config=None, *, time_ns: Callable[[], int] = _wall_ns,
                 shm_path: str | None = None):
        from chronotick.sources import as_source
        self.config = ClockConfig.from_dict(config)
        self._source = as_source(source)
        if engine is None:
            from chronotick.engine import Engine
            engine = Engine()
        self._engine = engine
        self._time_ns = time_ns
        # The local clock is CLOCK_REALTIME (the default, or time.time_ns itself): now() reads it in
        # C++, inside the seqlock's read window. Any other time base (a simulated one, CLOCK_TAI, ...)
        # is read through time_ns, so that the model is never applied to a clock it was not made on.
        self._wall = time_ns is _wall_ns or time_ns is time.time_ns
        self._state = _core.ClockState(self.config.stale_after, self.config.max_slew_rate)
        if self._wall:
            # the hot path: the C++ reads themselves, no Python frame between (the methods
            # below stay for the class's documentation and for an injected time base)
            self.now, self.now_ns = self._state.now, self._state.now_ns
        # Other processes read the same model from a shared-memory file (chronotick.Client).
        if shm_path is not None:
            shm_path = os.fspath(shm_path)     # a pathlib.Path too, as chronotick.Client takes
            if isinstance(shm_path, bytes):
                shm_path = os.fsdecode(shm_path)     # bytes too, as chronotick.Client takes
            if not isinstance(shm_path, str) or not shm_path:
                raise ValueError(f"shm_path must be a non-empty file path or None, got {shm_path!r}")
            if not self._wall:
                # its readers (Client, include/chronotick.h) apply the model to CLOCK_REALTIME: a model
                # made on another time base would be served to them as SYNCHRONIZED, and wrong
                raise ValueError(f"shm_path needs the Clock's local clock to be CLOCK_REALTIME (the default "
                                 f"time_ns), which its readers read; got time_ns={time_ns!r}")
        self._shm_path = shm_path               # re-opened by start() after a stop() closed it
        if shm_path is not None:
            folder = os.path.dirname(os.path.abspath(os.fspath(shm_path)))
            if not os.path.isdir(folder):       # the publisher had named its temporary file instead
                raise FileNotFoundError(f"shm_path {os.fspath(shm_path)!r}: the directory {folder!r} does not "
                                        f"exist (create it first; `chronotick serve --path` creates it)")
        # the path as bytes to the core: a name that is not UTF-8 (fsdecode's surrogates) reaches it intact
        self._shm = (_core.ClockPublisher(os.fsencode(shm_path), self.config.stale_after, self.config.max_slew_rate)
                     if shm_path is not None else None)
        self._lock = threading.Lock()            # serialises updates (thread vs poll_once)
        self._rec_lock = threading.Lock()        # the records only: history() never waits for a source
        self._poller: int | None = None          # the thread in poll_once (holding self._lock), if any
        self._retire_pending = False             # stop() called from inside a poll: retire at its end
        self._ctl = threading.Lock()             # serialises start()/stop(): one polling thread at most
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Linux: the polling thread waits on a timerfd that wakes it when the local clock is set
        # (stepped), so a step is looked at then, not at the next poll (_core.ClockSetWatch, _run)
        self._watch = None
        self._n_meas = 0
        self._fail_streak = 0      # polls in a row whose source raised (_next_interval)
        self._last_meas_ns: int | None = None
        self._last_meas_t: float | None = None      # the newest measurement fed to the engine
        self._last_seen_t: float | None = None      # the newest accepted, held back or not
        self._last_poll_ns: int | None = None       # the local time of the previous poll
        self._went_back = False                     # the local clock went back since the newest measurement
        # The Clock's own time base: the local clock minus B, the sum of the steps of the local clock
        # seen since it was made (CLOCK_REALTIME against CLOCK_BOOTTIME at each poll; the default
        # time_ns only). Measurements, the engine, the records and the model are on this base
        # (t - B, offset + B); what is published is converted back (ref + B, offset - B).
        self._base_ns = 0
        self._pair: tuple[int, int] | None = None   # (realtime, boottime) of the previous live read
        self._pending_step_ns: int | None = None     # a step seen, not yet decided by a measurement
        self._last_local_step: dict | None = None
        self._step_correction = 0.0                 # S: the sum of the confirmed steps (s); the engine gets offset - S
        self._held: list[_Held] = []                # measurements held back, oldest first
        self._recent: deque = deque(maxlen=16)      # the newest measurements fed: (t, offset - S at the time)
        self._jumps: deque = deque(maxlen=_JUMPS_KEPT)   # their jumps (_jump) when fed as ordinary ones
        self._last_uncertainty = 0.0
        self._last_offset = 0.0
        self._last_rd = 0.0                       # newest measurement's uncertainty beyond delay/2 (root distance)
        cfg = self.config
        # Elapsed times (s after a measurement) at which each origin's predictor is kept:
        # 1 ms (half a poll if shorter), 1..4 polls, then x1.5, up to unknown_after_s (at most 256 polls).
        self._max_elapsed = min(cfg.unknown_after_s, 256 * cfg.poll_interval_s) + cfg.poll_interval_s
        ladder = [min(1e-3, cfg.poll_interval_s / 2) / cfg.poll_interval_s, 1.0, 2.0, 3.0, 4.0]
        while ladder[-1] * cfg.poll_interval_s < self._max_elapsed:
            ladder.append(ladder[-1] * 1.5)
        self._ladder = np.array(ladder) * cfg.poll_interval_s
        self._origins: deque = deque(maxlen=256)    # (t_o, predictor means on t_o + ladder)
        self._delays: deque = deque(maxlen=cfg.calib_window)
        self._calib = _ElapsedCalibration(cfg.poll_interval_s, self._max_elapsed, cfg.calib_window, cfg.confidence)
        self._status = UNKNOWN
        self._counts = {"polls": 0, "measurements": 0, "empty_polls": 0, "source_errors": 0, "forecast_errors": 0,
                        "publishes": 0, "steps_detected": 0, "spikes": 0, "local_clock_steps": 0,
                        "clock_set_wakes": 0}
        self._last_error: str | None = None
        self._last_step: dict | None = None
        self._model: dict | None = None
        self._records = deque(maxlen=self.config.history_size)  # [t_s, served_offset_s, corrected_offset_s]

    # -- reading (hot path: C++) ------------------------------------------
    def now(self) -> TimeBound:
        """Corrected time now and its bound (ns), at the local time the
        Clock's `time_ns` reads (CLOCK_REALTIME by default)."""
        if self._wall:
            return self._state.now()
        return self._now_local()

    def now_ns(self) -> int:
        """Corrected time now, ns since the Unix epoch."""
        if self._wall:
            return self._state.now_ns()
        return self._now_local().time_ns

    def _now_local(self) -> TimeBound:
        """now() on an injected time base: the published model at time_ns()
        (its local times are on that base, not on CLOCK_REALTIME)."""
        return self._bound_and_local()[0]

    def _bound_and_local(self) -> tuple[TimeBound, int]:
        """(the published model's bound at one read of time_ns(), that local time in ns): the
        correction is bound.time_ns - local exactly (serve's offset metric)."""
        t = self._time_ns()
        _check_ns("time_ns()", t)
        t = int(t)
        try:
            return self._state.now_at(t), t
        except ValueError:        # the model's time there is beyond int64 ns: no claim
            return TimeBound((UNBOUNDED_EARLIEST, UNBOUNDED_LATEST, t, UNKNOWN)), t

    def now_at(self, local_ns: int) -> TimeBound:
        """The bound the published model gives at local time `local_ns` (for replays)."""
        _check_ns("local_ns", local_ns)
        return self._state.now_at(int(local_ns))

    def after(self, t_ns: int) -> bool:
        """True if reference time t_ns has certainly passed (earliest > t_ns)."""
        _check_ns("t_ns", t_ns, compared_only=True)          # nan would answer False silently
        return self.now().earliest_ns > t_ns

    def before(self, t_ns: int) -> bool:
        """True if reference time t_ns has certainly not arrived (latest < t_ns)."""
        _check_ns("t_ns", t_ns, compared_only=True)
        return self.now().latest_ns < t_ns

    def wait_until(self, t_ns: int, timeout_s: float | None = None) -> bool:
        """Sleep until after(t_ns) holds (commit-wait). Returns False on timeout
        or if the clock is UNKNOWN for the whole timeout. timeout_s: None waits
        without limit; a finite number of seconds (<= 0: check once)."""
        _check_ns("t_ns", t_ns, compared_only=True)
        if timeout_s is not None:
            if not is_real(timeout_s):
                raise TypeError(f"timeout_s must be a number of seconds or None, got {type(timeout_s).__name__} "
                                f"{timeout_s!r}")
            if not math.isfinite(timeout_s):   # nan never passes the deadline: the wait would never end
                raise ValueError(f"timeout_s must be a finite number of seconds (or None: no limit), got {timeout_s!r}")
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            b = self.now()
            if b.status != UNKNOWN and b.earliest_ns > t_ns:
                return True
            # at most 1 s at a time: the correction or the status may change meanwhile
            wait = min(max((t_ns - b.earliest_ns) / 1e9, 1e-4), 1.0) if b.status != UNKNOWN else 0.05
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                wait = min(wait, left)
            time.sleep(wait)

    # -- the background thread ------------------------------------------------
    def start(self, timeout_s: float = 5.0) -> "Clock":
        """Start polling in a background thread (no-op if it already runs).
        After a stop(), a Clock with a shm_path publishes into a new file at
        that path (readers of the old one follow it). There is never more
        than one polling thread: if stop() returned while the previous one
        was still in a poll (a slow source), start() waits up to timeout_s
        for it to end and raises RuntimeError if it has not."""
        wait = _join_timeout("timeout_s", timeout_s)
        with self._ctl:
            old = self._thread
            if old is not None and old.is_alive():
                if not self._stop.is_set():
                    return self
                old.join(wait)
                if old.is_alive():
                    raise RuntimeError(f"Clock.start: the previous polling thread is still in a poll after "
                                       f"{timeout_s!r} s (the source's measure() has not returned since stop()); "
                                       f"not starting a second one -- call start() again later")
            with self._lock:
                self._reopen_shm()
            if self._watch is None and self._wall and _core.clock_set_watch_available:
                try:
                    self._watch = _core.ClockSetWatch()
                except OSError as exc:     # (no timerfd here: steps are seen at the next poll)
                    log.info("clock: cannot watch for steps of the local clock: %s", exc)
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="chronotick-clock", daemon=True)
            self._thread.start()
        return self

    def stop(self, timeout_s: float = 5.0) -> None:
        """Stop polling. Nothing measures any more, so the clock reads UNKNOWN
        from then on, in this process (now(), health()) and for the readers of
        its shared-memory file (marked UNKNOWN and released); time_ns runs on
        along the last model. Waits up to timeout_s for a poll in progress; a
        thread still in its poll then ends after it (and marks the clock
        UNKNOWN, closes the file, itself): health() says running until then,
        and start() waits for it. Called from the polling thread itself (from
        a source), it only asks that thread to end after this poll. Without
        start(), or a second time: marks the clock UNKNOWN (a poll_once()
        after it publishes again). timeout_s: a number of seconds (None or
        inf: no limit)."""
        wait = _join_timeout("timeout_s", timeout_s)     # before anything changes
        if self._poller == threading.get_ident() or self._thread is threading.current_thread():
            # from inside a poll (a source; this thread holds the update lock) or from the polling
            # thread: joining itself would raise, taking the lock would hang. The poll marks the
            # clock UNKNOWN as it ends (the polling thread then ends too).
            self._stop.set()
            self._retire_pending = self._poller == threading.get_ident()
            return
        with self._ctl:
            self._stop.set()
            watch = self._watch           # (the polling thread drops a watch that failed)
            if watch is not None:
                watch.interrupt()             # the polling thread may be waiting on it
            th = self._thread
            if th is not None:
                th.join(wait)
                if th.is_alive():
                    return            # kept in self._thread, so that start() cannot run a second one
                self._thread = None
            with self._lock:
                self._retire()

    def _close_shm(self) -> None:
        # under self._lock: never while a poll publishes to it
        if self._shm is not None:
            self._shm.close()
            self._shm = None

    def _reopen_shm(self) -> None:
        """Under self._lock: after stop() (which retired the file for its readers) a new file
        is renamed onto the path, which open Clients follow (was: never published again)."""
        if self._shm is None and self._shm_path is not None:
            self._shm = _core.ClockPublisher(os.fsencode(self._shm_path), self.config.stale_after,
                                             self.config.max_slew_rate)

    def _retire(self) -> None:
        """Under self._lock, when polling stops: the shared file marked UNKNOWN and released,
        and this process's own clock UNKNOWN too (it had kept its last status until stale_after
        although nothing measured any more). Never raises (stop() and the thread's end)."""
        self._close_shm()
        if self._status == UNKNOWN:
            return
        try:
            now = self._time_ns()
            _check_ns("time_ns()", now, published=True)
            self._publish_status(int(now), UNKNOWN, live=True)
        except Exception as exc:      # an injected time base gone bad: said in health()
            self._last_error = f"stop: the clock could not be marked UNKNOWN: {type(exc).__name__}: {exc}"
            log.warning("clock: %s", self._last_error)

    def __enter__(self) -> "Clock":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _run(self) -> None:
        next_poll = time.monotonic()
        due_ns, tries = None, 0
        while not self._stop.is_set():
            if time.monotonic() >= next_poll:
                try:
                    self.poll_once()
                except BaseException as exc:  # never let the thread die; visible in health()
                    self._last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("clock update failed")
                next_poll = time.monotonic() + self._next_interval()
            else:
                # woken for a status change that depends only on elapsed time, or to keep the
                # heartbeat fresh between polls backed off past stale_after
                try:
                    self._publish_due_status()
                    self._heartbeat()
                except BaseException as exc:
                    self._last_error = f"{type(exc).__name__}: {exc}"
                    log.exception("clock status update failed")
            # At most half of stale_after between wakes: polls backed off after failures (up to
            # FAIL_BACKOFF_POLLS intervals) are further apart than stale_after (2 polls + 10 s by
            # default), and readers took the silent writer for a dead one -- UNKNOWN for most of
            # each gap while health() said HOLDOVER (an audit, 2026-12-06).
            wait = min(next_poll - time.monotonic(), 0.5 * self.config.stale_after)
            # SYNCHRONIZED -> HOLDOVER and HOLDOVER -> UNKNOWN are due at holdover_after_s and
            # unknown_after_s after the newest measurement: published then, not at the next poll
            # (up to a poll late before). A few tries per change (a wake a little early, a time
            # base that does not advance), then the next poll.
            try:
                d = self._status_due_ns()
            except BaseException as exc:   # never let the thread die; visible in health()
                self._last_error = f"{type(exc).__name__}: {exc}"
                log.exception("clock status timing failed")
                d = None
            if d != due_ns:
                due_ns, tries = d, 0
            if d is not None and tries < 3:
                try:
                    t = self._time_ns()
                    left = ((d - (int(t) - self._base_ns)) / 1e9 + 2e-4
                            if is_real(t) and math.isfinite(t) else None)
                except Exception:
                    left = None
                if left is not None and left < wait:
                    wait, tries = left, tries + 1
            watch = self._watch
            if watch is None:
                self._stop.wait(max(wait, 0.0))
                continue
            try:
                woke = watch.wait(max(wait, 0.0))
            except OSError as exc:
                # the timer could not be armed again after a set: that set is polled for now and
                # later ones are seen at the next poll (the watch is dropped; start() makes a new one)
                self._last_error = (f"the watch for sets of the local clock failed ({exc}); later steps "
                                    f"of the local clock are seen at the next poll")
                log.warning("clock: %s", self._last_error)
                self._watch, woke = None, 1
            if woke == 1:
                # the local clock was set (stepped) by another program: poll now, so the step is
                # seen and decided by a measurement at once rather than up to a poll later
                self._counts["clock_set_wakes"] += 1
                next_poll = time.monotonic()
        # stop() may have returned during the last poll: the clock is marked UNKNOWN and the
        # segment closed after it, not before
        with self._lock:
            self._retire()

    def _status_due_ns(self) -> int | None:
        """The local time (ns) at which the published status changes by elapsed time alone
        (SYNCHRONIZED -> HOLDOVER -> UNKNOWN), or None."""
        last = self._last_meas_ns
        if last is None or self._went_back or self._n_meas < self.config.min_measurements:
            return None
        if self._status == SYNCHRONIZED:
            return last + int(self.config.holdover_after * 1e9)
        if self._status == HOLDOVER:
            return last + int(self.config.unknown_after_s * 1e9)
        return None

    def _heartbeat(self) -> None:
        """Tell readers the writer is alive between polls: the published model and status
        stay, the heartbeat is refreshed (only while a model of this Clock's is published and
        it claims something: UNKNOWN needs no heartbeat, and an adopted model keeps its age)."""
        with self._lock:
            if self._stop.is_set() or self._model is None or self._status == UNKNOWN:
                return
            if not self._wall:
                # the state's heartbeat is in the Clock's own time base (publish_at): the C++
                # heartbeat() reads CLOCK_REALTIME, so the model is published again at time_ns(),
                # its status as it was
                self._publish_status(self._live_now(), self._status, live=True)
                return
            self._state.heartbeat()
            if self._shm is not None:
                self._shm.heartbeat()

    def _publish_due_status(self) -> None:
        """Publish the status elapsed time has given the clock, where it claims less than the
        published one: the same correction and bound, another status word (no forecast)."""
        with self._lock:
            if self._stop.is_set():
                return
            now = self._live_now()
            status = self._status_at(now)
            if _SEVERITY[status] > _SEVERITY[self._status]:
                self._publish_status(now, status, live=True)

    # -- one update -----------------------------------------------------------
    def poll_once(self, now_ns: int | None = None) -> bool:
        """Measure once, feed the engine, re-forecast and publish. Returns
        whether a measurement was used. Source failures -- exceptions, and
        measurements the Clock cannot use (not a Measurement, non-finite or
        out of range, not after the previous one) -- are counted in
        health()["counts"]["source_errors"] with last_error, the measurement
        dropped, and move the status towards HOLDOVER/UNKNOWN; they are not
        raised. That includes BaseExceptions (KeyboardInterrupt, SystemExit,
        GeneratorExit, ...): the polling thread records them and polls on;
        only a KeyboardInterrupt or SystemExit in a caller's own thread (its
        Ctrl-C, its exit) is raised on after it is counted. A source with no
        measurement this time (None) is counted in "empty_polls" (a failed
        poll is not). now_ns: the local time of the poll (default: time_ns()).
        Raised: a bad now_ns (before the source is asked), an injected
        time_ns() that gives no time in ns (TypeError/ValueError naming it),
        a call from inside a poll of the same clock (its source calling
        back: RuntimeError, counted as that source's error), and after stop()
        on a Clock with shm_path, where the file is published again as
        start() does, what that raises (another process publishing there)."""
        if now_ns is not None:
            _check_ns("now_ns", now_ns, published=True)   # the caller's argument: raised, before the source is asked
            if now_ns == 0 and (self._model is not None or self._n_meas + 1 >= self.config.min_measurements):
                # 0 is a start of simulated time, before any model: a model published at 0 is refused by
                # the writer ((0, 2**62]), so this poll would have fed its measurement and then raised
                # (every poll on at 0 alike; an audit, 2026-12-06)
                raise ValueError("now_ns must be > 0 once the clock may publish a model (the writer takes times "
                                 "in (0, 2**62] ns), got 0")
        if self._poller == threading.get_ident():
            # (a source calling back into its clock) the update lock is not re-entrant: it would wait for itself
            raise RuntimeError("Clock.poll_once called from inside a poll of the same clock (by its source?)")
        with self._lock:
            self._poller = threading.get_ident()
            try:
                return self._poll_locked(now_ns)
            finally:
                self._poller = None
                if self._retire_pending:      # stop() was called by the source
                    self._retire_pending = False
                    self._retire()

    def _next_interval(self) -> float:
        """Seconds to the next poll of the polling thread. Warm-up polls (the first
        warmup_measurements polls, while fewer measurements than that came) are faster, never
        slower, than the normal ones (with poll_interval_s 1 the 4 s warm-up polls had outlasted
        holdover_after and the status flapped; audit, 2026-12-05). After k polls in a row whose
        source raised, the interval doubles k times, up to FAIL_BACKOFF_POLLS normal intervals
        (RFC 4330 section 10 / RFC 5905: back off from a server that does not answer). Until
        2026-12-06 the warm-up lasted until warmup_measurements measurements had come, so a
        server that never answered was polled every 4 s for good (an audit)."""
        cfg = self.config
        # every poll so far was a warm-up poll while fewer measurements than warmup_measurements came
        warm = self._n_meas < cfg.warmup_measurements and self._counts["polls"] < cfg.warmup_measurements
        interval = min(cfg.warmup_poll_interval_s, cfg.poll_interval_s) if warm else cfg.poll_interval_s
        if self._fail_streak:
            cap = max(interval, FAIL_BACKOFF_POLLS * cfg.poll_interval_s)
            interval = min(cap, interval * 2.0 ** min(self._fail_streak, 60))
        return interval

    def _poll_locked(self, now_ns) -> bool:
        """poll_once under self._lock."""
        # after stop(): the shared file is published again, as start() does (else this process
        # would read the new status while the file's readers kept UNKNOWN)
        self._reopen_shm()
        self._counts["polls"] += 1
        m, failed = None, True
        try:
            m = self._source.measure()
            failed = False
        except StopIteration:
            self._source_error("source exhausted")
        except Exception as exc:
            self._source_error(f"{type(exc).__name__}: {_text(exc, str)}")
        except BaseException as exc:
            # KeyboardInterrupt, SystemExit, GeneratorExit, ...: a source failure too, never the
            # end of the polling thread; raised on only in a caller's thread (its Ctrl-C / exit)
            self._source_error(f"{type(exc).__name__} raised by the source: {_text(exc, str)}")
            if isinstance(exc, (KeyboardInterrupt, SystemExit)) and threading.current_thread() is not self._thread:
                raise
        self._fail_streak = self._fail_streak + 1 if failed else 0
        if now_ns is None:
            now = self._live_now()
            live = True
        else:
            now = int(now_ns) - self._base_ns
            live = False
        if self._pending_step_ns is not None and not failed and m is not None:
            now = self._decide_local_step(m, now)
        if self._last_poll_ns is not None and now < self._last_poll_ns and self._n_meas:
            # stepped back by another program: the correction served is off by the step,
            # and elapsed times read on this clock are wrong -- UNKNOWN until a measurement
            self._went_back = True
            self._last_error = (f"the local clock went back by {(self._last_poll_ns - now) / 1e9!r} s since "
                                f"the previous poll (not seen against CLOCK_BOOTTIME): UNKNOWN until a new "
                                f"measurement")
        self._last_poll_ns = now
        used = False
        if failed:
            pass
        elif m is None:
            self._counts["empty_polls"] += 1     # not an error, but a source that never answers is visible
        else:
            try:
                used = self._ingest(m, now)
            except _BadMeasurement as exc:
                self._source_error(f"{exc}; dropped")
        if used:
            self._went_back = False
        else:
            self._release_stale_held(now)
        self._publish(now, live=live)
        return used

    def _live_now(self) -> int:
        """The local time now (ns) on the Clock's base (the local clock minus the steps seen).
        With the default time_ns, a step of the local clock since the previous read -- another
        program setting it -- is seen as CLOCK_REALTIME parting from CLOCK_BOOTTIME, by more
        than 1 ms, and added to the base: measurements before and after it then lie on one
        continuous time line and offset series (nothing dropped, no level shift for the models
        to re-learn), and what is published is converted to the stepped local clock. The step is
        added once a measurement confirms it (_decide_local_step); until then it is pending and
        the clock UNKNOWN."""
        if self._wall:
            t, boot = _local_pair()
            if boot is not None:
                if self._pair is not None:
                    step = (t - self._pair[0]) - (boot - self._pair[1])
                    if abs(step) > _LOCAL_STEP_NS:
                        pending = (self._pending_step_ns or 0) + step
                        # a step undone before any measurement decided it: nothing to decide
                        self._pending_step_ns = pending if abs(pending) > _LOCAL_STEP_NS else None
                self._pair = (t, boot)
        else:
            t = self._time_ns()
            _check_ns("time_ns()", t, published=True)   # the injected clock: named (was: int() of it, or a str taken)
            t = int(t)
        return t - self._base_ns

    def _decide_local_step(self, m, now: int) -> int:
        """A step D of the local clock is pending: did the reference step with it (a leap
        second: UTC and the local clock both repeat a second, the offset goes on) or the local
        clock alone (its offset then shows -D)? The measurement's offset against the median of
        the newest ones decides, whichever hypothesis it lies closer to; with fewer than 2 fed
        (or 2 that disagree), the local clock alone. Returns `now` on the base decided (the measurement is then
        checked and converted by _checked)."""
        try:
            off = getattr(m, "offset", None)
            off = float(off) if is_real(off) else None
        except Exception:
            off = None
        if off is None or not math.isfinite(off):
            return now                # not a usable measurement: still pending (_checked names it)
        step, self._pending_step_ns = self._pending_step_ns, None
        try:
            mt = getattr(m, "t", None)
            mt = float(mt) - self._base_ns / 1e9 if is_real(mt) and math.isfinite(float(mt)) else None
        except Exception:
            mt = None
        # the offset (and time) on the Clock's base, as _checked moves them; a measurement without a
        # usable t is judged at the newest fed one's (the carrying along the drift then does nothing)
        at = mt if mt is not None else (self._recent[-1][0] if self._recent else 0.0)
        jump = self._jump(off + self._base_ns / 1e9, at)
        local = True if jump is None else abs(jump + step / 1e9) < abs(jump)
        real = now + self._base_ns
        self._last_local_step = {"t": real / 1e9, "step_s": step / 1e9, "local_clock_alone": local}
        if local:
            self._base_ns += step
            self._counts["local_clock_steps"] += 1
            log.warning("clock: the local clock was stepped by %.9f s (CLOCK_REALTIME against CLOCK_BOOTTIME, "
                        "the offset measured after it agrees); measurements and published model follow it",
                        step / 1e9)
        else:
            log.warning("clock: the local clock was stepped by %.9f s and the reference with it (a leap "
                        "second?): the offset goes on, nothing moved", step / 1e9)
        self._last_local_step["base_s"] = self._base_ns / 1e9
        return real - self._base_ns

    def _source_error(self, msg: str) -> None:
        self._last_error = msg
        self._counts["source_errors"] += 1

    def _checked(self, m, now: int) -> tuple[float, float, float | None, float | None]:
        """(t, offset, delay or None, uncertainty or None) of a source's
        measurement, or _BadMeasurement naming the bad value. Nothing is
        changed before this passes (a NaN once scored stays in the calibration)."""
        try:
            ok = hasattr(m, "t") and hasattr(m, "offset")
        except Exception:                 # a failing property: not usable either
            ok = False
        if not ok:
            raise _BadMeasurement(f"source's measure() gave a {type(m).__name__}, not a Measurement "
                                  f"(with .t and .offset): {_text(m, repr):.200}")
        vals = {}
        for name in ("t", "offset", "delay", "uncertainty"):
            try:
                v = getattr(m, name, None)
            except Exception as exc:      # a property of a custom measurement that fails
                raise _BadMeasurement(f"measurement {name}: {type(exc).__name__}: {_text(exc, str)}") from None
            if v is None and name in ("delay", "uncertainty"):    # optional
                vals[name] = None
                continue
            if not is_real(v):
                raise _BadMeasurement(f"measurement {name} must be a number, got {type(v).__name__} "
                                      f"{_text(v, repr):.200}")
            try:
                v = float(v)
            except Exception as exc:      # a numbers.Real whose __float__ fails (it had escaped poll_once)
                raise _BadMeasurement(f"measurement {name}: float() of a {type(v).__name__} failed: "
                                      f"{type(exc).__name__}") from None
            if not math.isfinite(v):
                raise _BadMeasurement(f"measurement {name} must be finite, got {v!r}")
            if name in ("delay", "uncertainty") and v < 0:
                raise _BadMeasurement(f"measurement {name} must be >= 0 seconds, got {v!r}")
            vals[name] = v
        t, offset = vals["t"], vals["offset"]
        # t is the local time (s) of the measurement, taken before this poll's local time `now`:
        # it is compared with now and published in ns, so it must lie just before now. Not older
        # than unknown_after_s either: the clock would be UNKNOWN by then. (1.7e12: ms by mistake.)
        # (Checked on the local clock as the source reads it, then moved to the Clock's base.)
        now_s = (now + self._base_ns) / 1e9
        if not (now_s - self.config.unknown_after_s <= t <= now_s + _MAX_AHEAD_S and abs(t) < _INT64_S):
            raise _BadMeasurement(
                f"measurement t = {t!r} is not a plausible time in seconds: this poll's local time is "
                f"{now_s!r} s and t must lie within {self.config.unknown_after_s!r} s (unknown_after_s) "
                f"before it and {_MAX_AHEAD_S} s after it (milliseconds or another time base by mistake?)")
        if abs(offset) > _MAX_OFFSET_S:
            raise _BadMeasurement(f"measurement offset = {offset!r} s is beyond +-{_MAX_OFFSET_S:.3g} s, "
                                  f"more than a ns correction can hold")
        if self._base_ns:
            t, offset = t - self._base_ns / 1e9, offset + self._base_ns / 1e9
        if self._last_seen_t is not None and t <= self._last_seen_t:
            back = " (the local clock went back?)" if now / 1e9 < self._last_seen_t else ""
            raise _BadMeasurement(f"measurement time {t!r} not after the previous {self._last_seen_t!r}{back}")
        return t, offset, vals["delay"], vals["uncertainty"]

    def _ingest(self, m, now: int) -> bool:
        t, offset, delay, unc = self._checked(m, now)
        cfg = self.config
        # How far off was the time we served at t? (the bound while held, the records' ramp)
        err = None if self._model is None else offset - self._served_offset(int(t * 1e9))
        jump = self._jump(offset, t)
        prev = self._last_seen_t
        limit = self._step_threshold()
        # err None: no model published; the 3rd measurement at the start (2 fed) is held all the
        # same -- judged against the first two (_jump) -- not one after a reset of the model
        starting = err is None and len(self._recent) == 2
        if cfg.step_confirm and (err is not None or starting) and jump is not None and abs(jump) > limit:
            if self._held and abs(jump - self._held_median()) > limit / 2:
                self._release_held()          # not the same level: those were spikes
            self._held.append(_Held(t, offset, delay, unc, now, err, jump))
            self._last_seen_t = t
            self._last_step = {"t": t, "error_s": jump, "confirmed": False}
            if len(self._held) >= cfg.step_confirm:
                self._confirm_step()
            return True
        if self._held:
            self._release_held()
        used = self._feed(t, offset, delay, unc, now, err)
        if not used:
            self._last_seen_t = prev
        elif jump is not None:
            self._jumps.append(jump)
        return used

    def _step_threshold(self) -> float:
        """The disagreement (s) beyond which a measurement is held: step_threshold_s, or with
        step_threshold_sigmas = K > 0 at most K sigma, sigma = 1.4826 x the median |jump| of
        the newest _JUMPS_KEPT measurements fed as ordinary ones (a robust scale of the
        measurement noise; at least _JUMPS_MIN of them, and sigma > 0, else the fixed one)."""
        k = self.config.step_threshold_sigmas
        if k > 0 and len(self._jumps) >= _JUMPS_MIN:
            sigma = 1.4826 * float(np.median(np.abs(self._jumps)))
            if sigma > 0:
                return min(self.config.step_threshold_s, k * sigma)
        return self.config.step_threshold_s

    def _jump(self, offset: float, t: float) -> float | None:
        """How far `offset` (on the Clock's base), measured at t, lies from the median of the 5
        newest measurements fed, each carried to t along the drift of the newest 16 fed (the
        Theil-Sen slope b, the median of their pairwise slopes: o_i + b (t - t_i); from 3 fed on,
        0 before), or None before 2 -- and with 2 only where those agree (within the step
        threshold: two that disagree cannot tell which of them is off). Steps and spikes are
        judged against it (not against the model, which a spike fed to it may have pulled, nor
        the time served, which slews towards a new level for a while). Until 2026-12-05 nothing
        was judged before 3 fed, and a spike as the 3rd measurement was served SYNCHRONIZED with
        a bound that excluded the truth; and until 2026-12-05 (an audit) the median was not
        carried along the clock's drift: it lagged ~3 polls of drift behind, so a 50 ppm clock
        at 1024 s polls "stepped" 35 times in 72 h, the drift over a 55 min outage was confirmed
        as a step, and the noise scale of the jumps (step_threshold_sigmas) was the drift's,
        hiding real steps of 20 ms at 10 ppm."""
        n = len(self._recent)
        if n < 2:
            return None
        ts = np.array([p[0] for p in self._recent])
        vs = np.array([p[1] for p in self._recent])
        slope = 0.0
        if n >= 3:
            i, j = np.triu_indices(n, 1)
            slope = float(np.median((vs[j] - vs[i]) / (ts[j] - ts[i])))
        carried = vs[-5:] + slope * (t - ts[-5:])
        if n == 2 and abs(carried[0] - carried[1]) > self._step_threshold():
            return None
        return offset - self._step_correction - float(np.median(carried))

    def _release_stale_held(self, now: int) -> None:
        """Held measurements with nothing after them for holdover_after
        (the source went quiet): undecided, they are fed as measured rather
        than kept from the models for good."""
        if self._held and (now - self._held[-1].now) / 1e9 > self.config.holdover_after:
            self._release_held()

    def _held_median(self) -> float:
        return float(np.median([h.jump for h in self._held]))

    def _release_held(self) -> None:
        """The held measurements were spikes: fed as they are, but not scored
        into the record of the clock's own errors (_ElapsedCalibration). That
        record stands for how far the truth strays from the predictions; a
        disagreement beyond the step threshold that nothing confirmed is the
        measurement's error (ntpd's popcorn spike suppressor drops such a
        sample). Scored, one such reply with a low round trip kept the 99%
        bound about twice the spike wide for a day (docs/clock.md, Rule Y)."""
        held, self._held = self._held, []
        self._counts["spikes"] += len(held)
        for h in held:
            self._feed(*h[:6], score=False)       # all but the jump

    def _confirm_step(self) -> None:
        """The held measurements agree on a new level: a step of their median
        disagreement. The predictors are moved by the step, the held
        measurements scored against them (their noise enters the record of
        the clock's own errors, the step does not: a step is an event,
        reported in health(), which no predictor could foresee; scored
        against the predictors as they were, one held measurement with a
        low round trip kept the 99% bound about twice the step wide for a
        day: docs/clock.md, Rule X), and the engine is fed offset - S from
        here on."""
        step = self._held_median()
        held, self._held = self._held, []
        self._counts["steps_detected"] += 1
        self._last_step = {"t": held[0].t, "error_s": step, "confirmed": True}
        log.warning("clock: offset step of %.6g s at t = %.6f (%d measurements agree)", step, held[0].t, len(held))
        self._step_correction += step
        for o in self._origins:
            o[1] += step
        for h in held:
            self._feed(*h[:6])

    def _feed(self, t, offset, delay, unc, now, err, score: bool = True) -> bool:
        """Feed one measurement (offset as measured; the engine gets offset - S); score: into
        the record of the clock's own errors (not a spike's: _release_held)."""
        u = unc if unc is not None else 0.0
        delay, measured = _round_trip(delay, unc)
        # The engine first: if it refuses the measurement (a shared engine already past t, or
        # closed), nothing of the Clock has changed yet.
        try:
            # a measured round trip weighs the models' measurements (uncertainty_from_delay)
            # a source's uncertainty 0 weighs as unknown (the engine refuses 0: no 1/u^2 weight);
            # the bound still uses it (_last_uncertainty)
            self._engine.observe(t, offset - self._step_correction, unc if unc else None,
                                 delay=delay if measured else None)
            self._recent.append((t, offset - self._step_correction))
        except Exception as exc:
            self._source_error(f"measurement at t = {t!r} refused by the engine: {type(exc).__name__}: {exc}; "
                               f"dropped")
            return False
        if err is not None:
            if not self.config.step_confirm and abs(err) > self.config.step_threshold_s:
                self._counts["steps_detected"] += 1     # no step handling: each one is reported
                self._last_step = {"t": t, "error_s": err, "confirmed": False}
            self._retro_correct(t, err, self._last_meas_t)
        if score:
            self._score_origins(t, offset, delay)
        self._last_uncertainty = u
        self._last_offset = offset
        self._last_rd = max(0.0, u - delay / 2)
        self._delays.append(delay)
        self._n_meas += 1
        self._counts["measurements"] += 1
        # the status ages from the measurement's own time (a source may hand over one taken
        # earlier; it had aged from the poll that received it), never from after the poll
        self._last_meas_ns = min(now, int(round(t * 1e9)))
        self._last_meas_t = t
        self._last_seen_t = t
        return True

    def _score_origins(self, t: float, offset: float, delay: float) -> None:
        """Score every stored predictor at the new measurement (see _ElapsedCalibration)."""
        while self._origins and t - self._origins[0][0] > self._max_elapsed:
            self._origins.popleft()
        if not self._origins:
            return
        t_o = np.array([o[0] for o in self._origins])
        means = np.array([o[1] for o in self._origins])          # [origins, ladder]
        e = t - t_o
        lad = self._ladder
        i = np.clip(np.searchsorted(lad, e) - 1, 0, lad.size - 2)
        f = np.clip((e - lad[i]) / (lad[i + 1] - lad[i]), 0.0, 1.0)
        rows = np.arange(t_o.size)
        pred = means[rows, i] + f * (means[rows, i + 1] - means[rows, i])
        self._calib.add(e, np.abs(offset - pred), delay)

    def _ladder_forecast(self, t_last: float) -> np.ndarray:
        """The predictor kept for origin t_last: the forecast mean over the
        elapsed-time ladder (a member that cannot reach the whole ladder, an
        ONNX model's 64 steps, is fused at the points it reaches)."""
        lad = self._engine.forecast_at(t_last + self._ladder, (0.5,))
        mean = np.asarray(lad.mean, float) + self._step_correction     # the engine's frame is offset - S
        if not np.all(np.isfinite(mean)):
            raise ValueError(f"forecast by {lad.model} is not finite")
        return mean

    def _half_width(self, elapsed: np.ndarray, mean_at_last: float, freq: float,
                    centre: tuple[float, float] | None = None) -> tuple[np.ndarray, str]:
        """Half-width (s) of the bound at these times since the newest measurement, and how it was made.

        calibrated: A + Q(e). A = delta_min / 2 + root distance of the newest
        measurement: the path asymmetry (|asymmetry| <= the smallest round
        trip, as each direction takes >= 0) and the server's own error, which
        no client can observe, at NTP's worst case for the smallest round
        trip seen. Q: the conformal quantile of the clock's own past errors at
        elapsed e (_ElapsedCalibration).
        worst-case (before enough errors are known): the NTP interval of the
        newest measurement grown at max_drift_ppm plus the predictor's own
        frequency, around the predictor.
        centre: (t0, offset at t0) of the model being published, whose line
        offset + freq (t - t0) the bound is centred on: a held measurement's
        reach is measured from it as well as from the time served when it came
        (they differ while a slew is in progress)."""
        d = np.array(self._delays) if self._delays else np.zeros(1)
        centres, qs = self._calib.quantiles(float(np.quantile(d, 0.25)))
        rho = self.config.max_drift_ppm * 1e-6 + abs(freq)
        if centres.size:
            half = float(d.min()) / 2 + self._last_rd + _ElapsedCalibration.at(elapsed, centres, qs, rho)
            how = "calibrated" if np.all(elapsed <= centres[-1]) else "calibrated, worst-case growth beyond"
        else:
            half, how = self._last_uncertainty + abs(mean_at_last - self._last_offset) + rho * elapsed, "worst-case"
        if self._held:
            # measurements held back (a spike or a step, not decided yet): the bound includes
            # each one's NTP interval, at the disagreement it showed with the time served and
            # with the line the bound is centred on, whichever is larger
            def off_centre(h):
                return 0.0 if centre is None else abs(h.offset - (centre[1] + freq * (h.t - centre[0])))
            reach = max(max(0.0 if h.err is None else abs(h.err), off_centre(h))
                        + max(h.delay / 2 if h.delay else 0.0, h.unc or 0.0) for h in self._held)
            half = np.maximum(half, reach)
            how += ", held measurements included"
        return half, how

    def _served_offset(self, local_ns: int) -> float:
        """The offset served at local_ns (the Clock's base) by the published model, on that base."""
        real = local_ns + self._base_ns
        b = self._state.now_at(real)
        return (b[2] - real + self._base_ns) / 1e9

    def _retro_correct(self, t_m: float, err: float, t_p: float | None) -> None:
        """Ramp the error e of measurement t_m over the records in (t_p, t_m]."""
        with self._rec_lock:
            for rec in reversed(self._records):
                if rec[0] > t_m:
                    continue
                if t_p is not None and rec[0] <= t_p:
                    break
                rec[2] = rec[1] + err * (1.0 if t_p is None else (rec[0] - t_p) / (t_m - t_p))

    def _status_at(self, now: int) -> int:
        if self._n_meas < self.config.min_measurements or self._last_meas_ns is None:
            return UNKNOWN
        age = (now - self._last_meas_ns) / 1e9
        if self._went_back or age < 0 or self._pending_step_ns is not None:
            # the local clock went back or was stepped (by another program): the correction may no
            # longer fit it, and until a new measurement arrives nothing says by how much
            return UNKNOWN
        if age <= self.config.holdover_after:
            return SYNCHRONIZED
        if age <= self.config.unknown_after_s:
            return HOLDOVER
        return UNKNOWN

    def _write(self, now: int, args: tuple, live: bool) -> None:
        """Publish args (ref_local_ns, ...) into the state and the shared file.

        A replay (poll_once(now_ns)) publishes at its own `now`. A live poll
        publishes at the instant of the write, not at `now` (read before the
        forecasts, milliseconds earlier or more): the slew that keeps time_ns
        from going back starts from what readers got up to that instant --
        from `now` it could be below what they had read meanwhile (was: time_ns
        went back by up to (write - now) x (slew rate + the frequency change),
        3 ms after a 0.4 s forecast)."""
        if self._base_ns:             # to the local clock readers read: ref + B, offset - B
            now = now + self._base_ns
            args = (args[0] + self._base_ns, args[1] - self._base_ns) + tuple(args[2:])
        if not live:
            self._state.publish_at(now, *args)
        elif self._wall:
            self._state.publish(*args)            # the clock read inside the write window
        else:
            t = self._time_ns()
            ok = is_real(t) and now <= t <= 2**62
            self._state.publish_at(int(t) if ok else now, *args)
        if self._shm is not None:
            self._shm.publish(*args)

    def _publish_status(self, now: int, status: int, live: bool) -> None:
        """Publish another status without a new forecast: UNKNOWN along the last model, or
        the last model (its correction, its bound still growing) with another status word.
        self._status is what readers were given."""
        m = self._model
        if m is None:                    # never published: readers read UNKNOWN already
            if status == UNKNOWN:
                self._status = UNKNOWN
            return
        if status == UNKNOWN:
            # say UNKNOWN, keep the slewed time monotonic: re-anchored at now along the last model
            # (offset + freq x elapsed): re-publishing its offset at a new reference point would
            # drop the frequency correction at every poll
            off = m["offset_ns"] + int(round(m["freq"] * (now - m["ref_local_ns"])))
            if abs(off) > _MAX_OFFSET_S * 1e9:
                off = m["offset_ns"]      # beyond int64 ns after a very long outage: hold the last
            self._write(now, (now, off, m["freq"], 0, 0.0, UNKNOWN, self.config.confidence), live)
        else:
            self._write(now, (m["ref_local_ns"], m["offset_ns"], m["freq"], m["bound_ns"], m["growth_ns_per_s"],
                              status, self.config.confidence), live)
            self._model = dict(m, status=status)
        self._status = status

    def _keep_correction(self, now: int, status: int, live: bool) -> None:
        """A forecast failed: the correction is not updated, but a status that claims less
        than the published one is published (was: health() said HOLDOVER while readers kept
        SYNCHRONIZED until stale_after)."""
        if _SEVERITY[status] > _SEVERITY[self._status]:
            self._publish_status(now, status, live)

    def _publish(self, now: int, live: bool = False) -> None:
        status = self._status_at(now)
        if status == UNKNOWN:
            self._publish_status(now, UNKNOWN, live)
            return
        poll = self.config.poll_interval_s
        now_s = now / 1e9
        t_last = self._last_meas_t
        leads = np.arange(self.config.horizon_polls + 1, dtype=float) * poll
        # Forecasts are for times after the newest measurement (a replay
        # publishes at the very instant of a measurement: 1 ms later then).
        base = max(now_s, t_last + 1e-3)
        try:
            if not self._origins or self._origins[-1][0] != t_last:
                # A new origin: keep its predictor over the elapsed-time ladder, to be scored later.
                lad_mean = self._ladder_forecast(t_last)
                self._origins.append([t_last, lad_mean])
            mean_last = float(self._origins[-1][1][0])
            fc = self._engine.forecast_at(base + leads, (0.5,))
        except Exception as exc:
            self._counts["forecast_errors"] += 1
            self._last_error = f"forecast failed: {type(exc).__name__}: {exc}"
            self._keep_correction(now, status, live)
            return
        mean = np.asarray(fc.mean, float) + self._step_correction
        if not np.all(np.isfinite(mean)):
            self._counts["forecast_errors"] += 1
            self._last_error = f"forecast by {fc.model} is not finite; correction not updated"
            self._keep_correction(now, status, live)
            return
        offset, freq = mean[0], (mean[1] - mean[0]) / leads[1]
        half, how = self._half_width(base + leads - t_last, mean_last, freq, (base, float(offset)))
        # The bound is a line through (0, half[0]) above every later lead -- those before
        # unknown_after_s since the newest measurement, when nothing is claimed any more (at long
        # polls the last leads lie beyond it, past the calibrated elapsed times, where the
        # half-width grows at the worst-case rate: _ElapsedCalibration.at)
        claimed = (base + leads[1:] - t_last) <= self.config.unknown_after_s
        if not claimed.any():
            claimed[0] = True
        growth = max(0.0, float(np.max((half[1:][claimed] - half[0]) / leads[1:][claimed])))
        if not (abs(offset) <= _MAX_OFFSET_S and 0 <= half[0] <= _MAX_OFFSET_S and math.isfinite(growth)
                and abs(freq) <= _MAX_FREQ):
            # the C++ state holds ns in int64 and a frequency within 1%: keep the previous
            # correction rather than raise (from poll_once, or every poll of the thread)
            self._counts["forecast_errors"] += 1
            self._last_error = (f"forecast by {fc.model} gives offset {float(offset)!r} s, frequency "
                                f"{float(freq)!r}, bound {float(half[0])!r} s: beyond what a correction can hold "
                                f"(|offset| <= {_MAX_OFFSET_S:.3g} s, |frequency| <= {_MAX_FREQ}); "
                                f"correction not updated")
            self._keep_correction(now, status, live)
            return
        model = dict(ref_local_ns=now, offset_ns=int(round(offset * 1e9)), freq=float(freq),
                     bound_ns=int(math.ceil(half[0] * 1e9)), growth_ns_per_s=growth * 1e9, status=status,
                     model_name=fc.model, bound_kind=how)
        args = (model["ref_local_ns"], model["offset_ns"], model["freq"], model["bound_ns"],
                model["growth_ns_per_s"], status, self.config.confidence)
        self._write(now, args, live)
        self._model = model
        self._status = status
        self._counts["publishes"] += 1
        served = self._served_offset(now)
        with self._rec_lock:
            self._records.append([now_s, served, served])

    # -- records and health ---------------------------------------------------
    def history(self) -> dict:
        """Published corrections: t (s, local), served offset (s) and the
        retrospectively corrected offset (s). For records and evaluation
        only; never fed back to the models."""
        with self._rec_lock:          # not the update lock: a source can hang in a poll under it
            a = np.array(self._records, dtype=float).reshape(-1, 3)
            b = self._base_ns / 1e9   # records are on the Clock's base: given on today's local clock
        return {"t": a[:, 0] + b, "served_offset": a[:, 1] - b, "corrected_offset": a[:, 2] - b}

    def health(self) -> dict:
        """The Clock's state (seconds unless named _ns): status (what now() reads) and
        published_status (what the model says: SYNCHRONIZED / HOLDOVER / UNKNOWN), measurements
        (received), last_measurement_age_s, bound_ns (the half-width now; None while UNKNOWN),
        model (the published model on the local clock readers read: ref_local_ns, offset_ns,
        freq, bound_ns, growth ...; None before the first), counts (polls, failures, rejected
        and held measurements, steps ...), last_error, last_step (the latest step of the reference
        offset seen, with its time t and error_s: confirmed True once decided, False while its
        measurements are held or where it was a spike) and step_correction_s, local_clock_step (a step
        of the local clock seen), shm ({path, adopted}: the shared file, adopted = it took over
        a gone publisher's model; None without shm_path), local_clock_base_s,
        held_measurements (waiting to be judged as a step or a spike), source (the source's
        stats), engine (Engine.health()), slew ({rate, v0_ns, t0_ns}: a correction being slewed
        in, docs/clock.md), running (the polling thread is alive)."""
        snap = self._state.snapshot()
        b = self.now()
        return {
            "status": Status(b.status).name,
            "published_status": Status(self._status).name,
            "measurements": self._n_meas,
            "last_measurement_age_s": (None if self._last_meas_ns is None else
                                       (self._time_ns() - self._base_ns - self._last_meas_ns) / 1e9),
            "bound_ns": (b.latest_ns - b.earliest_ns) // 2 if b.status != UNKNOWN else None,
            "model": None if self._model is None else dict(           # on the local clock readers read
                self._model, ref_local_ns=self._model["ref_local_ns"] + self._base_ns,
                offset_ns=self._model["offset_ns"] - self._base_ns),
            "counts": dict(self._counts),
            "last_error": self._last_error,
            "last_step": (None if self._last_step is None else
                          dict(self._last_step, t=self._last_step["t"] + self._base_ns / 1e9)),
            "step_correction_s": self._step_correction,
            "local_clock_step": self._last_local_step,
            # the shared file; adopted: it took over the model a gone publisher left there
            "shm": None if self._shm_path is None else {
                "path": self._shm_path, "adopted": bool(self._shm is not None and self._shm.adopted)},
            "local_clock_base_s": self._base_ns / 1e9,
            "held_measurements": len(self._held),
            "source": _report(self._source, "stats"),
            "engine": _report(self._engine, "health"),
            "slew": {"rate": snap["slew_rate"], "v0_ns": snap["slew_v0_ns"], "t0_ns": snap["slew_t0_ns"]},
            "running": bool(self._thread and self._thread.is_alive()),
        }
