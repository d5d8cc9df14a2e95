"""Simulator speed: the vectorised `sim.simulate` on 1e6 one-second samples of
the full model (all five power-law noises, aging, temperature through the
thermal lag, combined scenarios, NTP-like measurements every 64 s), side by
side with a naive Python loop integrating the same model sample by sample
(what one would otherwise write) on fewer samples.

Target (issue 3): 1e6 samples of the full model in <= 1 s.
extra_info["s_per_sample"] is recorded by each benchmark and
extra_info["naive_over_vectorised_per_sample"] by the naive one (the
per-sample cost ratio, using the free-running 1e6 run measured before it).

The naive loop gets the environment (scenario covariates) and the two
flicker sequences from the same vectorised generators -- a per-sample
flicker filter would be O(N^2) -- so its ratio is a lower bound.

    PYTHONPATH=python pytest benchmarks/bench_sim.py --benchmark-only
"""
from __future__ import annotations

import math

import numpy as np

from chronotick import sim
from chronotick.sim import clock, noise, scenarios

N = 1_000_000
N_NAIVE = 20_000
SCENARIO = "server_load+thermal_cycle+network_spike"
FULL = dict(preset="xo", scenario=SCENARIO, poll_s=64.0, h_fpm=1e-20)  # xo has WPM, WFM, FFM, RWFM

_PER_SAMPLE: dict[str, float] = {}


def _record(benchmark, name: str, n: int) -> None:
    if benchmark.stats is None:  # --benchmark-disable: ran once as a smoke test, nothing timed
        return
    per = benchmark.stats.stats.mean / n
    _PER_SAMPLE[name] = per
    benchmark.extra_info["samples"] = n
    benchmark.extra_info["s_per_sample"] = per


def test_bench_simulate_1e6_free_running(benchmark):
    r = benchmark(sim.simulate, duration_s=N - 1, seed=1, **FULL)
    assert r.x.size == N and np.all(np.isfinite(r.x))
    _record(benchmark, "vectorised", N)


def test_bench_simulate_1e6_disciplined(benchmark):
    # the servo steps through the ~15600 polls in Python (never through the samples)
    r = benchmark(sim.simulate, duration_s=N - 1, seed=1, disciplined=True, **FULL)
    assert r.x.size == N and np.max(np.abs(r.x)) < 0.05
    _record(benchmark, "vectorised_disciplined", N)


def naive_simulate(n: int, seed: int, dt: float = 1.0, poll_s: float = 64.0):
    """The same model, one sample per Python iteration (measurements at the polls)."""
    r0 = sim.simulate(duration_s=10, **FULL)
    p, mp = r0.params.clock, r0.params.measurement
    rng = np.random.default_rng(seed)
    t = np.arange(n) * dt
    env = scenarios.environment(SCENARIO, t, dt, {s: np.random.default_rng(i) for i, s in
                                                  enumerate(scenarios.SCENARIOS)})
    ffm = noise.flicker(rng, n, math.pi * p.h_ffm, averaged=True)
    fpm = noise.flicker(rng, n, p.h_fpm / (4 * math.pi))
    a = math.exp(-dt / p.thermal_tau_s)
    q1 = p.h_wfm / 2
    q2 = 2 * math.pi ** 2 * p.h_rwfm
    sx = math.sqrt(p.h_wpm / (8 * math.pi ** 2 * dt))
    step = int(round(poll_s / dt))
    x = np.empty(n)
    meas = []
    xi = p.initial_offset_s
    y_rw = 0.0
    temp = env["ambient_c"][0] + p.load_heating_c * env["cpu_load"][0]
    for k in range(n):
        temp = a * temp + (1 - a) * (env["ambient_c"][k] + p.load_heating_c * env["cpu_load"][k])
        dT = temp - p.turnover_c
        y = clock.PPM * (p.freq_offset_ppm + p.aging_ppm_per_day * t[k] / clock.DAY
                         + p.temp_coeff_ppm_per_c * dT + p.temp_quad_ppm_per_c2 * dT * dT)
        x[k] = xi + sx * rng.standard_normal() + fpm[k]
        if k % step == 0:
            c = env["net_congestion"][k]
            qm = mp.queue_mean_s * (1 + mp.congestion_queue_gain * c)
            p_spike = mp.spike_prob + mp.congestion_spike_prob * c
            spike = mp.spike_mean_s * rng.exponential() if rng.random() < p_spike else 0.0
            fwd = rng.random() < 0.5
            d_f = mp.min_delay_s / 2 + qm * rng.exponential() + (spike if fwd else 0.0)
            d_b = mp.min_delay_s / 2 + qm * rng.exponential() + (0.0 if fwd else spike)
            if rng.random() >= mp.loss_prob:
                meas.append((t[k], -x[k] + (d_f - d_b) / 2, d_f + d_b))
        e2 = math.sqrt(q2 * dt) * rng.standard_normal()
        xi += ((y + y_rw + ffm[k]) * dt + math.sqrt(q1 * dt) * rng.standard_normal()
               + 0.5 * dt * e2 + math.sqrt(q2 * dt ** 3 / 12) * rng.standard_normal())
        y_rw += e2
    return x, meas


def test_bench_naive_python_loop(benchmark):
    x, meas = benchmark(naive_simulate, N_NAIVE, 1)
    assert x.size == N_NAIVE and len(meas) > 250
    _record(benchmark, "naive", N_NAIVE)
    if "vectorised" in _PER_SAMPLE:
        benchmark.extra_info["naive_over_vectorised_per_sample"] = _PER_SAMPLE["naive"] / _PER_SAMPLE["vectorised"]
