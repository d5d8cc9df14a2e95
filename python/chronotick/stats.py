"""Frequency-stability statistics: Allan deviation (plain and overlapping)
and time deviation, vectorised numpy.

Data are either phase (time error x, seconds) or fractional frequency
(y, dimensionless), sampled every tau0 = 1/rate seconds. Frequency data are
first integrated to phase, x[0] = 0, x[k+1] = x[k] + y[k]*tau0, so N
frequency points give N+1 phase points.

For an averaging time tau = m*tau0 the second difference of phase is

    d2[i] = x[i+2m] - 2 x[i+m] + x[i]

and
    plain Allan variance  sigma_y^2(tau) = < d2^2 > / (2 tau^2),  i = 0, m, 2m, ...
                          (non-overlapping: phase decimated by m, as Stable32's
                          "Allan" sigma type; it uses floor((Nx-1)/m) - 1 terms)
    overlapping Allan     the same mean over every i = 0, 1, ..., Nx-2m-1
    modified Allan        Mod sigma^2(tau) = < (sum_{j=i}^{i+m-1} d2[j])^2 > / (2 m^2 tau^2)
    time variance         TVAR(tau) = tau^2/3 * Mod sigma^2(tau)

Each function returns (taus, devs) as float64 arrays; taus in seconds.
References: IEEE Std 1139-2008; NIST SP 1065 (Riley, "Handbook of
Frequency Stability Analysis"), sections 5.2.2-5.2.6.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["adev", "oadev", "tdev", "mdev"]

_DATA_TYPES = ("phase", "freq")


def _phase(data, rate, data_type) -> tuple[np.ndarray, float]:
    """Validate the input and return (phase x in seconds, tau0 in seconds)."""
    if data_type not in _DATA_TYPES:
        raise ValueError(f"data_type must be one of {_DATA_TYPES}, got {data_type!r}")
    try:
        rate = float(rate)
    except (TypeError, ValueError):
        raise TypeError(f"rate must be a number (samples per second), got {rate!r}") from None
    if not 1e-12 <= rate <= 1e12:    # also nan, inf, <= 0
        # beyond these tau0 = 1/rate over- or underflows the deviations (inf, 0)
        raise ValueError(f"rate must be a finite number in [1e-12, 1e12] (samples per second), got {rate!r}")
    raw = np.asarray(data)
    if np.iscomplexobj(raw):     # numpy would drop the imaginary part with only a warning
        raise TypeError(f"data must be real, got {raw.dtype} values")
    try:
        a = raw.astype(np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"data must be numbers, got {raw.dtype} values") from None
    if a.ndim != 1:
        raise ValueError(f"data must be one-dimensional, got shape {a.shape}")
    bad = np.flatnonzero(~np.isfinite(a))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"data[{i}] is {float(a[i])!r}: data must be finite "
                         f"({bad.size} non-finite value(s))")
    need = 3 if data_type == "phase" else 2
    if a.size < need:
        raise ValueError(f"data too short: {a.size} {data_type} point(s), need at least {need}")
    tau0 = 1.0 / rate
    if data_type == "freq":
        x = np.empty(a.size + 1)
        x[0] = 0.0
        np.cumsum(a * tau0, out=x[1:])
        return x, tau0
    return a, tau0


def _ms(taus, nx: int, tau0: float, min_terms_m) -> np.ndarray:
    """Averaging factors m for the requested taus (seconds). With taus=None:
    octaves m = 1, 2, 4, ... while at least one term is available.
    min_terms_m(m) -> number of terms the statistic has at factor m."""
    if taus is None:
        ms = []
        m = 1
        while min_terms_m(m) >= 1:
            ms.append(m)
            m *= 2
        if not ms:
            raise ValueError(f"data too short: {nx} phase points give no tau")
        return np.asarray(ms, dtype=np.int64)
    try:
        t = np.atleast_1d(np.asarray(taus, dtype=np.float64))
    except (TypeError, ValueError):
        raise TypeError(f"taus must be numbers (seconds), got {taus!r:.100}") from None
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"taus must be a non-empty 1-D sequence of seconds, got shape {t.shape}")
    ms = np.rint(t / tau0)
    for i, (ti, mi) in enumerate(zip(t.tolist(), ms.tolist())):
        if not math.isfinite(ti) or ti <= 0:
            raise ValueError(f"taus[{i}]={ti!r}: taus must be finite and > 0 seconds")
        if mi < 1:
            raise ValueError(f"taus[{i}]={ti!r} s is shorter than the sample interval {tau0!r} s")
        if abs(mi * tau0 - ti) > 1e-6 * ti:
            raise ValueError(f"taus[{i}]={ti!r} s is not a multiple of the sample interval {tau0!r} s")
        if min_terms_m(int(mi)) < 1:
            raise ValueError(f"taus[{i}]={ti!r} s is too long for {nx} phase points")
    return ms.astype(np.int64)


def adev(data, rate: float = 1.0, data_type: str = "phase", taus=None):
    """Plain (non-overlapping) Allan deviation.

    data: phase (seconds) or fractional frequency, sampled at `rate` Hz.
    taus: averaging times in seconds (multiples of 1/rate); None = octaves.
    Returns (taus, devs). Matches Stable32's "Allan" sigma: phase decimated by
    m = tau*rate, floor((Nx-1)/m) - 1 second differences (Nx phase points).
    """
    x, tau0 = _phase(data, rate, data_type)
    nx = x.size
    ms = _ms(taus, nx, tau0, lambda m: (nx - 1) // m - 1)
    devs = np.empty(ms.size)
    for k, m in enumerate(ms):
        xd = x[::m]
        d2 = xd[2:] - 2.0 * xd[1:-1] + xd[:-2]
        tau = m * tau0
        devs[k] = math.sqrt(float(np.mean(d2 * d2)) / (2.0 * tau * tau))
    return ms * tau0, devs


def oadev(data, rate: float = 1.0, data_type: str = "phase", taus=None):
    """Overlapping Allan deviation (every phase point starts a term:
    Nx - 2m terms). Arguments and return as `adev`."""
    x, tau0 = _phase(data, rate, data_type)
    nx = x.size
    ms = _ms(taus, nx, tau0, lambda m: nx - 2 * m)
    devs = np.empty(ms.size)
    for k, m in enumerate(ms):
        d2 = x[2 * m:] - 2.0 * x[m:-m] + x[:-2 * m]
        tau = m * tau0
        devs[k] = math.sqrt(float(np.mean(d2 * d2)) / (2.0 * tau * tau))
    return ms * tau0, devs


def _mvar(x: np.ndarray, m: int, tau: float) -> float:
    # Windowed sums of m consecutive second differences, via a cumulative sum.
    d2 = x[2 * m:] - 2.0 * x[m:-m] + x[:-2 * m]
    c = np.concatenate(([0.0], np.cumsum(d2)))
    s = c[m:] - c[:-m]  # Nx - 3m + 1 terms
    return float(np.mean(s * s)) / (2.0 * m * m * tau * tau)


def mdev(data, rate: float = 1.0, data_type: str = "phase", taus=None):
    """Modified Allan deviation (Nx - 3m + 1 terms). Arguments and return as `adev`."""
    x, tau0 = _phase(data, rate, data_type)
    nx = x.size
    ms = _ms(taus, nx, tau0, lambda m: nx - 3 * m + 1)
    devs = np.array([math.sqrt(_mvar(x, int(m), m * tau0)) for m in ms])
    return ms * tau0, devs


def tdev(data, rate: float = 1.0, data_type: str = "phase", taus=None):
    """Time deviation, seconds: TDEV(tau) = tau/sqrt(3) * MDEV(tau).
    Arguments and return as `adev`."""
    t, md = mdev(data, rate, data_type, taus)
    return t, t * md / math.sqrt(3.0)
