"""`simulate`: a clock in an environment, polled by an NTP-like client.

Sign convention: x = local - true (the clock's time error, s); measured and
true offsets are reference - local = -x.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from dataclasses import dataclass

import numpy as np

from chronotick._validate import positive_number
from chronotick.io.trace import Trace
from chronotick.sim import clock, measurement, presets, scenarios
from chronotick.sim.noise import _SLOPE_FIELD
from chronotick.sim.params import CLOCK_FIELDS, MEASUREMENT_FIELDS, ClockParams, MeasurementParams

MAX_SAMPLES = 20_000_000  # dense grid points; about 4 GB of working memory

# Independent random streams, in a fixed order: adding a component never
# changes the draws of another.
_STREAMS = ("wfm", "rwfm", "ffm", "wpm", "fpm", "migration", "steady", "server_load",
            "thermal_cycle", "network_spike", "trace", "servo")


@dataclass
class SimParams:
    """Everything a run used: rerunning simulate with these reproduces it."""

    clock: ClockParams
    measurement: MeasurementParams
    preset: str
    scenario: str
    disciplined: bool
    duration_s: float
    dt: float
    seed: int


@dataclass
class SimResult:
    """trace: the measurements (chronotick.io.Trace: times s, offsets s =
    reference - local, delay s, uncertainty s, covariates at the measurement
    times; extra["true_offset"]). true_offset: true offset (s) at the
    measurement times. t, x, y: the dense grid (s), true time error x =
    local - true (s) and fractional frequency. covariates: dense
    temperature_c (oscillator, degC), cpu_load and net_congestion (0..1)."""

    trace: Trace
    true_offset: np.ndarray
    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    covariates: dict
    params: SimParams


def _positive(name: str, v) -> float:
    return positive_number(v, name)


def _valid_adev(v) -> bool:
    return not isinstance(v, bool) and isinstance(v, numbers.Real) and math.isfinite(v) and v > 0


MAX_EVENTS_PER_STEP = 0.1


class CoarseGridError(ValueError):
    """A grid step dt too coarse for an event rate (_check_event_rates): `rate_text` says the
    rate and its expected events per step, `max_dt` the largest dt it takes (s)."""

    def __init__(self, rate_text: str, max_dt: float):
        self.rate_text, self.max_dt = rate_text, max_dt
        super().__init__(f"{rate_text}, more than {MAX_EVENTS_PER_STEP}: the simulator draws at most one per "
                         f"step, so it would not be Poisson (past 1 per step, fewer events); use dt <= "
                         f"{max_dt:.6g} s or a lower {rate_text.split(' ', 1)[0]}")


def _check_event_rates(cp: ClockParams, mp: MeasurementParams, dt: float) -> None:
    """Refuse a Poisson rate the grid cannot follow. Migrations and route changes are one
    Bernoulli draw per step (probability rate * dt), so never two in a step: more than 0.1
    expected per step departs from Poisson (variance 1 - rate * dt of its own), and past 1 the
    mean is lost too (10/day at dt 86400 s: 399 in 400 days, not ~4000; an audit). Changing
    the draws would change every run, so a coarse grid is refused instead; an event that
    changes nothing (no step sizes, no asymmetry jitter) is not."""
    for name, rate, per_s, active in (
            ("migration_per_day", cp.migration_per_day, 86400.0,
             cp.migration_step_s > 0 or cp.migration_freq_ppm > 0),
            ("route_change_per_hour", mp.route_change_per_hour, 3600.0, mp.asymmetry_jitter_s > 0)):
        per_step = rate * dt / per_s
        if active and per_step > MAX_EVENTS_PER_STEP:
            raise CoarseGridError(f"{name} {rate!r} at dt {dt!r} s is {rate!r} * {dt!r} / {per_s:g} = "
                                  f"{per_step:.6g} expected events per step", MAX_EVENTS_PER_STEP * per_s / rate)


def simulate(preset: str = "tcxo", scenario: str = "steady", duration_s: float = 6 * 3600,
             poll_s: float | None = None, seed: int = 0, disciplined: bool | None = None,
             dt: float = 1.0, clock_params: ClockParams | None = None,
             measurement_params: MeasurementParams | None = None, **overrides) -> SimResult:
    """Simulate a clock for duration_s seconds on a grid of step dt (s),
    t = 0, dt, ..., and poll it every poll_s seconds (None: the measurement
    parameters' poll_s, 64 s by default). Polls fall on the grid, the first
    at t = 0: the interval is rounded to a multiple of dt.

    preset: one of PRESETS; clock_params / measurement_params replace the
    preset's (e.g. from random_params). overrides: any ClockParams or
    MeasurementParams field, applied last. disciplined: None = the preset's
    choice (True only for "disciplined"). seed: int >= 0; the same arguments
    and seed reproduce the run exactly. Migrations and route changes are at
    most one per step: more than 0.1 expected per step (dt > 720 s at the
    default 0.5 route changes/h) is a ValueError.
    """
    duration_s = _positive("duration_s", duration_s)
    dt = _positive("dt", dt)
    if duration_s < dt:
        raise ValueError(f"duration_s ({duration_s!r}) must be at least dt ({dt!r})")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0, got {seed!r}")
    scen_names = scenarios.parse(scenario)
    c_fields, m_fields, disc = presets.preset(preset)
    if disciplined is None:
        disciplined = disc
    elif not isinstance(disciplined, (bool, np.bool_)):
        raise TypeError(f"disciplined must be True, False or None, got {type(disciplined).__name__} {disciplined!r}")
    disciplined = bool(disciplined)
    for name, v, cls in (("clock_params", clock_params, ClockParams),
                         ("measurement_params", measurement_params, MeasurementParams)):
        if v is not None and not isinstance(v, cls):
            raise TypeError(f"{name} must be a {cls.__name__} or None, got {type(v).__name__} {v!r:.100}")
    unknown = sorted(set(overrides) - CLOCK_FIELDS - MEASUREMENT_FIELDS)
    if unknown:
        raise TypeError(f"unknown simulate parameter(s) {unknown}; ClockParams fields: "
                        f"{sorted(CLOCK_FIELDS)}; MeasurementParams fields: {sorted(MEASUREMENT_FIELDS)}")
    cp = clock_params if clock_params is not None else ClockParams(**c_fields)
    mp = measurement_params if measurement_params is not None else MeasurementParams(**m_fields)
    c_over = {k: v for k, v in overrides.items() if k in CLOCK_FIELDS}
    adev_1s = c_over.get("adev_1s", cp.adev_1s)
    slope = c_over.get("adev_slope", cp.adev_slope)
    if (_valid_adev(adev_1s) and isinstance(slope, numbers.Real) and not isinstance(slope, bool)
            and _SLOPE_FIELD.get(float(slope)) in c_over):
        # an explicit h of the noise adev_1s sets is applied last, as every override: adev_1s
        # no longer describes it (was: __post_init__ ran again and adev_1s overwrote it, silently;
        # so did an adev_1s given in the same call, until session 36). A bad adev_1s or slope is
        # kept, for ClockParams to name.
        c_over["adev_1s"] = None
    if cp.adev_1s is not None and ("adev_1s" in c_over or "adev_slope" in c_over):
        # a new adev_1s / adev_slope replaces the noise the old pair set: its h goes back to 0
        # unless given too (was: a new slope added its noise to the old one's, ADEV 1.41e-9
        # where 1e-9 was asked; audit 2026-12-05)
        from chronotick.sim.noise import h_from_adev
        old = h_from_adev(cp.adev_1s, cp.adev_slope)[0]
        c_over.setdefault(old, 0.0)
    cp = dataclasses.replace(cp, **c_over)
    m_over = {k: v for k, v in overrides.items() if k in MEASUREMENT_FIELDS}
    if poll_s is not None:
        m_over["poll_s"] = _positive("poll_s", poll_s)
    mp = dataclasses.replace(mp, **m_over)
    if mp.poll_s < dt:
        raise ValueError(f"poll_s ({mp.poll_s!r}) must be at least dt ({dt!r})")
    used = round(mp.poll_s / dt) * dt
    if mp.poll_mode == "fixed" and mp.poll_s < duration_s and abs(used - mp.poll_s) > 1e-9 * mp.poll_s:
        # said, not silent (dt 10, poll_s 64 polled every 60 s; an audit, 2026-12-05)
        import warnings
        warnings.warn(f"poll_s {mp.poll_s!r} is not a multiple of dt {dt!r}: polls fall on the grid, every "
                      f"{used:g} s", RuntimeWarning, stacklevel=2)

    ratio = duration_s / dt
    # a ratio past 1e15 (or inf: 1e300 / 1e-10) is stated as a float: floor(inf) had raised
    # OverflowError and a 1e300-sample count printed 300 digits
    n = int(math.floor(ratio + 1e-9)) + 1 if ratio < 1e15 else None
    if n is None or n > MAX_SAMPLES:
        count = f"{n}" if n is not None else f"{ratio:.3g}"
        raise ValueError(f"duration_s / dt = {duration_s!r} / {dt!r} gives {count} samples, more than {MAX_SAMPLES:.0e} "
                         f"(about 200 MB per 1e6 samples): use a larger dt or a shorter duration_s")
    _check_event_rates(cp, mp, dt)
    t = np.arange(n, dtype=np.float64) * dt
    rngs = {name: np.random.default_rng(s)
            for name, s in zip(_STREAMS, np.random.SeedSequence(int(seed)).spawn(len(_STREAMS)))}

    env = scenarios.environment("+".join(scen_names), t, dt, rngs)
    temp = clock.oscillator_temperature(cp, env["ambient_c"], env["cpu_load"], dt)
    x_free, y_free = clock.integrate(cp, n, dt, temp, rngs)

    slots = measurement.max_slots(n, dt, mp)
    trace_stream = measurement.Stream(mp, rngs["trace"], slots, n, dt, env["net_congestion"])
    servo_stream = (measurement.Stream(mp, rngs["servo"], slots, n, dt, env["net_congestion"])
                    if disciplined else None)
    polls = measurement.poll(x_free, float(y_free[0]), dt, mp, cp, disciplined, trace_stream, servo_stream)

    x = x_free + polls["C"]
    y = y_free
    if disciplined:
        # the servo's steering, less its time steps (a step is not a frequency)
        dc = np.diff(polls["C"], append=polls["C"][-1])
        ks = polls["step_k"]
        ks_in = ks < n - 1
        np.subtract.at(dc, ks[ks_in], polls["steps"][ks_in])
        y = y_free + dc / dt
        if n > 1:
            y[-1] = y[-2]
    covariates = {"temperature_c": temp, "cpu_load": env["cpu_load"], "net_congestion": env["net_congestion"]}

    keep = ~polls["lost"]
    k = polls["k"][keep]
    delay = polls["delay"][keep]
    true_offset = polls["true"][keep]
    trace = Trace(times=t[k], offsets=polls["meas"][keep], delay=delay,
                  uncertainty=0.5 * delay + mp.root_dispersion_s,
                  covariates={name: v[k] for name, v in covariates.items()},
                  extra={"true_offset": true_offset},
                  source=f"sim:preset={preset},scenario={scenario},seed={seed}"
                         f"{',disciplined' if disciplined else ''}"
                         # the preset's parameters were replaced: not labelled as its run (random_params'
                         # runs had read "preset=tcxo"; an audit, 2026-12-05)
                         f"{',custom clock_params' if clock_params is not None else ''}"
                         f"{',custom measurement_params' if measurement_params is not None else ''}")
    params = SimParams(clock=cp, measurement=mp, preset=preset, scenario=scenario,
                       disciplined=bool(disciplined), duration_s=duration_s, dt=dt, seed=int(seed))
    return SimResult(trace=trace, true_offset=true_offset, t=t, x=x, y=y, covariates=covariates, params=params)


def _logu(rng: np.random.Generator, lo: float, hi: float) -> float:
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def random_params(rng: np.random.Generator) -> tuple[ClockParams, MeasurementParams]:
    """Clock and measurement parameters drawn over wide physical ranges
    (cheap XO to OCXO, LAN to congested internet paths), for training data.
    Use as simulate(clock_params=c, measurement_params=m, ...); pick
    `disciplined` and the scenario yourself."""
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    sign = lambda: float(rng.choice([-1.0, 1.0]))  # noqa: E731
    h = presets._h(wfm_1s=_logu(rng, 1e-12, 1e-8),
                   ffm_floor=_logu(rng, 1e-13, 1e-8) if rng.random() < 0.7 else 0.0,
                   rwfm_1e4=_logu(rng, 1e-13, 1e-7),
                   jitter_s=_logu(rng, 1e-9, 1e-5),
                   fpm_1s=_logu(rng, 1e-12, 1e-8) if rng.random() < 0.2 else 0.0)
    vm = rng.random() < 0.2
    cp = ClockParams(
        freq_offset_ppm=sign() * _logu(rng, 1e-3, 100.0),
        aging_ppm_per_day=sign() * _logu(rng, 1e-5, 0.05),
        initial_offset_s=float(rng.normal(0.0, 1e-3)),
        temp_coeff_ppm_per_c=sign() * _logu(rng, 1e-5, 0.5),
        temp_quad_ppm_per_c2=sign() * _logu(rng, 1e-5, 1e-2) if rng.random() < 0.5 else 0.0,
        turnover_c=float(rng.uniform(15.0, 35.0)),
        load_heating_c=float(rng.uniform(0.0, 10.0)),
        thermal_tau_s=_logu(rng, 60.0, 3600.0),
        migration_per_day=_logu(rng, 0.5, 10.0) if vm else 0.0,
        migration_step_s=_logu(rng, 1e-4, 1e-2) if vm else 0.0,
        migration_freq_ppm=_logu(rng, 0.1, 10.0) if vm else 0.0,
        servo_time_constant_polls=float(rng.uniform(4.0, 32.0)),
        **h)
    min_delay = _logu(rng, 1e-4, 0.1)
    mp = MeasurementParams(
        poll_s=float(2 ** int(rng.integers(4, 11))),
        poll_mode="adaptive" if rng.random() < 0.3 else "fixed",
        min_delay_s=min_delay,
        queue_mean_s=_logu(rng, 1e-5, 0.02),
        asymmetry_s=float(rng.uniform(-0.4, 0.4)) * min_delay,
        asymmetry_jitter_s=_logu(rng, 1e-3, 0.3) * min_delay,
        route_change_per_hour=_logu(rng, 0.01, 5.0),
        spike_prob=float(rng.uniform(0.0, 0.1)),
        spike_mean_s=_logu(rng, 1e-3, 0.1),
        loss_prob=float(rng.uniform(0.0, 0.1)),
        root_dispersion_s=_logu(rng, 1e-5, 1e-2),
        congestion_queue_gain=float(rng.uniform(0.0, 20.0)),
        congestion_spike_prob=float(rng.uniform(0.0, 0.3)))
    return cp, mp
