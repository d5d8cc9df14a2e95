"""Environment scenarios: ambient temperature, CPU load and network
congestion on the dense grid. Scenarios combine with "+" (e.g.
"server_load+thermal_cycle"): temperature and load contributions add,
congestion takes the maximum.

Each returns deltas on a base of 25 degC ambient, 0.05 CPU load and no
congestion. Load and congestion are in [0, 1]. Bursts (jobs, congestion
episodes) are Poisson arrivals with exponential durations, built with a
difference array and a cumulative sum.
"""
from __future__ import annotations

import math

import numpy as np

BASE_AMBIENT_C = 25.0
BASE_LOAD = 0.05

SCENARIOS = {
    "steady": "constant 25 degC ambient, 5% CPU load, quiet network",
    "server_load": "daily load cycle (peak 50% at 15:00) plus Poisson batch jobs "
                   "(1 per 20 min, mean 10 min, +20-60% load each); the oscillator warms with load",
    "thermal_cycle": "ambient +-2 degC daily cycle plus a 45-min HVAC triangle cycle of +-1 degC",
    "network_spike": "network congestion episodes (1 per hour, mean 5 min, intensity 0.5-1): "
                     "more queueing delay and delay spikes in the measurements",
}


def _bursts(rng: np.random.Generator, n: int, dt: float, per_s: float, mean_len_s: float,
            lo: float, hi: float) -> np.ndarray:
    """Sum of rectangular bursts: Poisson starts at rate per_s, exponential
    lengths, intensities uniform in [lo, hi]."""
    count = rng.poisson(per_s * n * dt)
    start = rng.integers(0, n, count) if n else np.zeros(0, dtype=np.int64)
    length = np.maximum(1, np.rint(rng.exponential(mean_len_s / dt, count))).astype(np.int64)
    level = rng.uniform(lo, hi, count)
    end = np.minimum(start + length, n)
    diff = np.zeros(n + 1)
    np.add.at(diff, start, level)
    np.add.at(diff, end, -level)
    out = np.cumsum(diff[:-1])
    # exactly 0 where no burst is on (the float cumsum leaves ~1e-16 there, which read as
    # "congested" to anyone thresholding at 0): counted in integers
    on = np.zeros(n + 1, dtype=np.int64)
    np.add.at(on, start, 1)
    np.add.at(on, end, -1)
    out[np.cumsum(on[:-1]) == 0] = 0.0
    return out


def _steady(rng, t, dt):
    return 0.0, 0.0, 0.0


def _server_load(rng, t, dt):
    n = t.size
    hour = (t / 3600.0 + rng.uniform(0, 24)) % 24.0
    daily = 0.2 + 0.25 * np.cos(2.0 * math.pi * (hour - 15.0) / 24.0)
    jobs = _bursts(rng, n, dt, 1.0 / 1200.0, 600.0, 0.2, 0.6)
    return 0.0, daily + jobs, 0.0


def _thermal_cycle(rng, t, dt):
    phase_day = rng.uniform(0, 2 * math.pi)
    phase_hvac = rng.uniform(0, 2 * math.pi)
    daily = 2.0 * np.sin(2.0 * math.pi * t / 86400.0 + phase_day)
    hvac = 1.0 * (2.0 / math.pi) * np.arcsin(np.sin(2.0 * math.pi * t / 2700.0 + phase_hvac))
    return daily + hvac, 0.0, 0.0


def _network_spike(rng, t, dt):
    cong = _bursts(rng, t.size, dt, 1.0 / 3600.0, 300.0, 0.5, 1.0)
    return 0.0, 0.0, cong


_FUNCS = {"steady": _steady, "server_load": _server_load,
          "thermal_cycle": _thermal_cycle, "network_spike": _network_spike}


def parse(scenario: str) -> list[str]:
    """Scenario names in a "+"-combination; ValueError listing the valid ones."""
    if not isinstance(scenario, str) or not scenario.strip():
        raise ValueError(f"scenario must be a name or names joined by '+', one of {sorted(SCENARIOS)}; "
                         f"got {scenario!r}")
    names = [s.strip() for s in scenario.split("+")]
    for s in names:
        if s not in SCENARIOS:
            raise ValueError(f"unknown scenario {s!r} in {scenario!r}; valid scenarios: "
                             f"{', '.join(sorted(SCENARIOS))} (combine with '+')")
    return names


def environment(scenario: str, t: np.ndarray, dt: float,
                rngs: dict[str, np.random.Generator]) -> dict[str, np.ndarray]:
    """ambient_c, cpu_load, net_congestion on the grid t (seconds)."""
    n = t.size
    ambient = np.full(n, BASE_AMBIENT_C)
    load = np.full(n, BASE_LOAD)
    cong = np.zeros(n)
    for name in parse(scenario):
        dtemp, dload, dcong = _FUNCS[name](rngs[name], t, dt)
        ambient += dtemp
        load += dload
        cong = np.maximum(cong, dcong)
    return {"ambient_c": ambient, "cpu_load": np.clip(load, 0.0, 1.0), "net_congestion": np.clip(cong, 0.0, 1.0)}
