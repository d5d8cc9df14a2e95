"""Free-running two-state clock on a dense grid t_k = k dt.

State: time error x (s, local - true) and fractional frequency y. Over one
step (Galleani/Zucca two-state model with exact discretisation):

    y_det(t)  = y0 + D t + a1 (T - T0) + a2 (T - T0)^2 + sum of migration frequency steps
    e2_k      ~ N(0, q2 dt)                              random-walk FM increment
    x_{k+1}   = x_k + (y_det_k + y_rw_k + y_ffm_k) dt + D dt^2/2
                + N(0, q1 dt) + e2_k dt/2 + N(0, q2 dt^3/12) + migration time steps
    y_rw_{k+1} = y_rw_k + e2_k

(the e2 dt/2 + N(0, q2 dt^3/12) pair is the exact integral of the random
walk inside the step). White and flicker phase noise are added to x. Every
sum over steps is a cumulative sum, so nothing loops over samples.
T is the oscillator temperature (degC), ppm = 1e-6.
"""
from __future__ import annotations

import math

import numpy as np

from chronotick.sim import noise
from chronotick.sim.params import ClockParams

PPM = 1e-6
DAY = 86400.0


def oscillator_temperature(p: ClockParams, ambient_c: np.ndarray, cpu_load: np.ndarray, dt: float) -> np.ndarray:
    """Oscillator temperature (degC): ambient plus load heating, through the
    first-order thermal lag p.thermal_tau_s."""
    return noise.lowpass(ambient_c + p.load_heating_c * cpu_load, p.thermal_tau_s / dt)


def integrate(p: ClockParams, n: int, dt: float, temperature_c: np.ndarray,
              rngs: dict[str, np.random.Generator]) -> tuple[np.ndarray, np.ndarray]:
    """Dense time error x (s) and mean fractional frequency y over each step
    [t_k, t_k + dt) (y[-1] repeats y[-2]; y excludes phase noise and
    migration time steps). rngs: one Generator per noise
    component ("wfm", "rwfm", "ffm", "wpm", "fpm", "migration"), so turning one
    component on does not change the others' draws."""
    t = np.arange(n, dtype=np.float64) * dt
    dT = temperature_c - p.turnover_c
    y_det = PPM * (p.freq_offset_ppm + p.aging_ppm_per_day * t / DAY
                   + p.temp_coeff_ppm_per_c * dT + p.temp_quad_ppm_per_c2 * dT * dT)
    inc = y_det * dt + 0.5 * PPM * p.aging_ppm_per_day / DAY * dt * dt

    if p.h_wfm > 0:
        inc += rngs["wfm"].standard_normal(n) * math.sqrt(p.h_wfm / 2.0 * dt)
    if p.h_rwfm > 0:
        q2 = 2.0 * math.pi ** 2 * p.h_rwfm
        g = rngs["rwfm"]
        e2 = g.standard_normal(n) * math.sqrt(q2 * dt)
        y_rw = np.concatenate(([0.0], np.cumsum(e2[:-1])))
        inc += y_rw * dt + 0.5 * dt * e2 + g.standard_normal(n) * math.sqrt(q2 * dt ** 3 / 12.0)
    if p.h_ffm > 0:
        inc += noise.flicker(rngs["ffm"], n, math.pi * p.h_ffm, averaged=True) * dt
    if p.migration_per_day > 0:
        g = rngs["migration"]
        # at most one per step, Poisson only on a fine grid: run.simulate refuses rate * dt > 0.1
        events = g.random(n) < p.migration_per_day * dt / DAY
        k = np.flatnonzero(events)
        steps = np.zeros(n)
        steps[k] = g.standard_normal(k.size) * p.migration_step_s
        fsteps = np.zeros(n)
        fsteps[k] = g.standard_normal(k.size) * p.migration_freq_ppm * PPM
        inc += np.cumsum(fsteps) * dt
    else:
        steps = None

    y = np.empty(n)
    y[:-1] = inc[:-1] / dt
    y[-1] = y[-2] if n > 1 else inc[0] / dt
    if steps is not None:
        inc += steps  # time steps move x but are not a frequency
    x = np.empty(n)
    x[0] = p.initial_offset_s
    np.cumsum(inc[:-1], out=x[1:])
    x[1:] += p.initial_offset_s

    if p.h_wpm > 0:
        x += rngs["wpm"].standard_normal(n) * math.sqrt(p.h_wpm / (8.0 * math.pi ** 2 * dt))
    if p.h_fpm > 0:
        x += noise.flicker(rngs["fpm"], n, p.h_fpm / (4.0 * math.pi))
    return x, y
