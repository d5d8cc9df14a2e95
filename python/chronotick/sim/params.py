"""Parameters of the simulated clock and of its NTP-like measurements.

Sign convention: the clock's time error x = local - true (seconds); an NTP
measurement reports offset = reference - local = -x.

Noise levels are the IEEE Std 1139 power-law coefficients of the one-sided
spectral density of fractional frequency, S_y(f) = sum_a h_a f^a:
    h_wpm  = h_2  (white PM,   s^2)     sigma_y^2(tau) = 3 f_h h_2 / (4 pi^2 tau^2)
    h_fpm  = h_1  (flicker PM, s)       sigma_y^2(tau) = h_1 (1.038 + 3 ln(2 pi f_h tau)) / (4 pi^2 tau^2)
    h_wfm  = h_0  (white FM,   s)       sigma_y^2(tau) = h_0 / (2 tau)
    h_ffm  = h_-1 (flicker FM, 1)       sigma_y^2(tau) = 2 ln 2 h_-1
    h_rwfm = h_-2 (random-walk FM, 1/s) sigma_y^2(tau) = (2 pi^2 / 3) h_-2 tau
with f_h = 1/(2 dt) the simulation's Nyquist frequency. Alternatively give
`adev_1s` and `adev_slope` (-1, -0.5, 0 or +0.5): the Allan deviation at
tau = 1 s of one power-law noise, which then sets that noise's h
(see noise.h_from_adev).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass


MAX_SERVERS = 10_000   # a server pool larger than any real one (pool.ntp.org: ~4000 servers)


@dataclass
class ClockParams:
    """The oscillator and, when disciplined, the NTP-like servo steering it.

    Units: ppm = 1e-6 fractional frequency; ppm/day; degC; seconds.
    """

    freq_offset_ppm: float = 0.0       # initial fractional frequency offset y(0), ppm
    aging_ppm_per_day: float = 0.0     # linear frequency drift, ppm/day
    initial_offset_s: float = 0.0      # initial time error x(0) = local - true, s
    temp_coeff_ppm_per_c: float = 0.0  # linear temperature coefficient, ppm/degC
    temp_quad_ppm_per_c2: float = 0.0  # quadratic coefficient around turnover_c, ppm/degC^2
    turnover_c: float = 25.0           # temperature where the temperature terms vanish, degC
    load_heating_c: float = 0.0        # oscillator warming at full CPU load, degC
    thermal_tau_s: float = 600.0       # thermal time constant from ambient/load to the oscillator, s
    h_wpm: float = 0.0                 # h_2, white phase noise, s^2
    h_fpm: float = 0.0                 # h_1, flicker phase noise, s (0 = off)
    h_wfm: float = 0.0                 # h_0, white frequency noise, s
    h_ffm: float = 0.0                 # h_-1, flicker frequency noise (0 = off)
    h_rwfm: float = 0.0                # h_-2, random-walk frequency noise, 1/s
    adev_1s: float | None = None       # optional: Allan deviation at 1 s of the noise with slope adev_slope
    adev_slope: float = -0.5           # -1 (white PM, at dt = 1 s), -0.5 (white FM), 0 (flicker FM), +0.5 (RWFM);
                                       # when adev_1s is set it replaces that noise's h
    migration_per_day: float = 0.0     # VM live migrations per day (Poisson; at most one per grid step:
                                       # simulate refuses migration_per_day * dt / 86400 > 0.1)
    migration_step_s: float = 0.0      # rms time step at a migration, s
    migration_freq_ppm: float = 0.0    # rms frequency step at a migration, ppm
    servo_time_constant_polls: float = 8.0  # disciplined mode: PI loop time constant, in polls
    servo_step_threshold_s: float = 0.128   # disciplined mode: step (not slew) above this |offset|, s
    servo_max_freq_ppm: float = 500.0       # disciplined mode: frequency correction limit, ppm

    def __post_init__(self) -> None:
        _check_finite(self, allow_none=("adev_1s",))
        _check_nonneg(self, ("h_wpm", "h_fpm", "h_wfm", "h_ffm", "h_rwfm", "load_heating_c",
                             "migration_per_day", "migration_step_s", "migration_freq_ppm",
                             "servo_step_threshold_s", "servo_max_freq_ppm"))
        _check_pos(self, ("thermal_tau_s",))
        if self.servo_time_constant_polls < 1.0:
            raise ValueError(f"servo_time_constant_polls must be >= 1, got {self.servo_time_constant_polls!r}")
        if self.adev_1s is not None:
            if not (self.adev_1s > 0):
                raise ValueError(f"adev_1s must be > 0, got {self.adev_1s!r}")
            from chronotick.sim.noise import h_from_adev
            field, h = h_from_adev(self.adev_1s, self.adev_slope)
            setattr(self, field, h)


@dataclass
class MeasurementParams:
    """NTP-like client/server exchanges.

    Each way's delay = min_delay_s/2 +- asymmetry/2 + exponential queueing;
    measured offset = true offset + (forward - backward delay)/2, so the
    error never exceeds delay/2 (the NTP bound). Units: seconds, probabilities
    per poll.
    """

    poll_s: float = 64.0               # poll interval, s, rounded to a multiple of dt (adaptive: the start)
    poll_mode: str = "fixed"           # "fixed" or "adaptive" (2^n s, ntpd-like rule)
    min_poll_log2: int = 4             # adaptive: shortest interval 2^min_poll_log2 s
    max_poll_log2: int = 10            # adaptive: longest interval 2^max_poll_log2 s
    min_delay_s: float = 0.015         # round-trip propagation delay, s
    queue_mean_s: float = 0.003        # mean exponential queueing per direction, s
    asymmetry_s: float = 0.0           # mean path asymmetry (forward - backward), s
    asymmetry_jitter_s: float = 0.002  # rms of the asymmetry level drawn at each route change, s
    route_change_per_hour: float = 0.5 # route changes per hour (Poisson; at most one per grid step:
                                       # simulate refuses route_change_per_hour * dt / 3600 > 0.1)
    spike_prob: float = 0.02           # probability that one direction is hit by a delay spike
    spike_mean_s: float = 0.040        # mean extra one-way delay of a spike, s (exponential)
    loss_prob: float = 0.01            # probability that a reply is lost
    root_dispersion_s: float = 0.0005  # server's root dispersion, s, added to the uncertainty
    congestion_queue_gain: float = 10.0  # queueing multiplied by 1 + gain * net_congestion
    congestion_spike_prob: float = 0.2   # extra spike probability at net_congestion = 1
    # A server pool (pool.ntp.org: each query may reach another server): each poll asks one of
    # `servers` at random; each has its own extra propagation delay ~ U(0, server_delay_spread_s)
    # and its own fixed path asymmetry ~ N(0, server_asymmetry_s), added to the route's.
    servers: int = 1
    server_delay_spread_s: float = 0.0
    server_asymmetry_s: float = 0.0

    def __post_init__(self) -> None:
        if self.poll_mode not in ("fixed", "adaptive"):
            raise ValueError(f"poll_mode must be 'fixed' or 'adaptive', got {self.poll_mode!r}")
        if (isinstance(self.servers, bool) or not isinstance(self.servers, numbers.Integral)
                or not 1 <= self.servers <= MAX_SERVERS):
            # each server draws its own delay and asymmetry: 1e9 of them took 8 GB (CLI audit)
            raise ValueError(f"servers must be an integer in [1, {MAX_SERVERS}], got {self.servers!r}")
        _check_finite(self, skip=("poll_mode", "servers"))
        _check_pos(self, ("poll_s",))
        _check_nonneg(self, ("min_delay_s", "queue_mean_s", "asymmetry_jitter_s", "route_change_per_hour",
                             "spike_mean_s", "root_dispersion_s", "congestion_queue_gain",
                             "server_delay_spread_s", "server_asymmetry_s"))
        for name in ("spike_prob", "loss_prob", "congestion_spike_prob"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ValueError(f"{name} must be a probability in [0, 1], got {v!r}")
        if self.loss_prob >= 1.0:
            raise ValueError(f"loss_prob must be < 1 (every reply lost), got {self.loss_prob!r}")
        if not (isinstance(self.min_poll_log2, numbers.Integral) and isinstance(self.max_poll_log2, numbers.Integral)):
            raise TypeError(f"min_poll_log2/max_poll_log2 must be integers, got "
                            f"{self.min_poll_log2!r}/{self.max_poll_log2!r}")
        if not 0 <= self.min_poll_log2 <= self.max_poll_log2 <= 17:
            raise ValueError(f"need 0 <= min_poll_log2 <= max_poll_log2 <= 17, got "
                             f"{self.min_poll_log2!r}, {self.max_poll_log2!r}")
        if abs(self.asymmetry_s) > 0.9 * self.min_delay_s:
            raise ValueError(f"|asymmetry_s| ({self.asymmetry_s!r}) must be at most 0.9 * min_delay_s "
                             f"({self.min_delay_s!r}): a one-way delay cannot be negative")

def _check_finite(obj, allow_none=(), skip=()) -> None:
    for f in dataclasses.fields(obj):
        if f.name in skip:
            continue
        v = getattr(obj, f.name)
        if v is None and f.name in allow_none:
            continue
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            raise TypeError(f"{type(obj).__name__}.{f.name} must be a number, got {v!r}")
        if not math.isfinite(v):
            raise ValueError(f"{type(obj).__name__}.{f.name} must be finite, got {v!r}")


def _check_nonneg(obj, names) -> None:
    for name in names:
        v = getattr(obj, name)
        if v < 0:
            raise ValueError(f"{type(obj).__name__}.{name} must be >= 0, got {v!r}")


def _check_pos(obj, names) -> None:
    for name in names:
        v = getattr(obj, name)
        if not v > 0:
            raise ValueError(f"{type(obj).__name__}.{name} must be > 0, got {v!r}")


CLOCK_FIELDS = frozenset(f.name for f in dataclasses.fields(ClockParams))
MEASUREMENT_FIELDS = frozenset(f.name for f in dataclasses.fields(MeasurementParams))
