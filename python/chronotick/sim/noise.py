"""Power-law oscillator noise: generation and the Allan deviation it implies.

Flicker (1/f) sequences are drawn in the frequency domain (Timmer & Koenig,
A&A 300, 1995; the spectral form of Kasdin's power-law noise, Proc. IEEE
83(5), 1995): complex Gaussian bins with power S(f) = q_d / (pi f) up to the
Nyquist frequency, one inverse FFT on M >= 2N points (O(N log N), no loop
over samples), first N kept. Flicker FM is shaped as the dt-averages of a
continuous 1/f process (aliasing included), so that the Allan deviation
matches the continuous-time relation down to tau = dt.

Conversions used by the clock (dt = sample step, f_h = 1/(2 dt)):
    white PM    x += N(0, sigma^2),   sigma^2 = h_2 / (8 pi^2 dt)
    flicker PM  x += flicker(q_d = h_1 / (4 pi))          (S_x = h_1 / (4 pi^2 f))
    white FM    x increments N(0, q1 dt), q1 = h_0 / 2
    flicker FM  y += flicker(q_d = pi h_-1, averaged)     (S_y = h_-1 / f)
    random-walk FM: y is a Wiener process of diffusion q2 = 2 pi^2 h_-2; its
                exact one-step integral has variance q2 dt^3/3 and covariance
                q2 dt^2/2 with the frequency step.
"""
from __future__ import annotations

import math

import numpy as np

from chronotick._validate import is_real

# slope of sigma_y(tau) -> ClockParams field of that power-law noise
_SLOPE_FIELD = {-1.0: "h_wpm", -0.5: "h_wfm", 0.0: "h_ffm", 0.5: "h_rwfm"}


def h_from_adev(adev_1s: float, slope: float, dt: float = 1.0) -> tuple[str, float]:
    """The power-law coefficient whose Allan deviation at tau = 1 s is adev_1s.

    slope: -1 (white PM), -0.5 (white FM), 0 (flicker FM), +0.5 (random-walk FM).
    Returns (ClockParams field name, h). White PM depends on the bandwidth:
    f_h = 1/(2 dt) with dt the simulation step (default 1 s).
    """
    # types first, by name (a str, a list or None had raised numpy's or math's errors naming nothing)
    for name, v in (("adev_1s", adev_1s), ("slope", slope), ("dt", dt)):
        if not is_real(v):
            raise TypeError(f"{name} must be a number, got {type(v).__name__} {v!r:.100}")
    if slope not in _SLOPE_FIELD:
        raise ValueError(f"adev_slope must be one of {sorted(_SLOPE_FIELD)}, got {slope!r}")
    if not (math.isfinite(adev_1s) and adev_1s > 0):
        raise ValueError(f"adev_1s must be finite and > 0, got {adev_1s!r}")
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be finite and > 0, got {dt!r}")
    v = adev_1s * adev_1s
    field = _SLOPE_FIELD[float(slope)]
    if field == "h_wpm":
        f_h = 1.0 / (2.0 * dt)
        return field, v * 4.0 * math.pi ** 2 / (3.0 * f_h)
    if field == "h_wfm":
        return field, 2.0 * v
    if field == "h_ffm":
        return field, v / (2.0 * math.log(2.0))
    return field, v * 3.0 / (2.0 * math.pi ** 2)


def theory_adev(params, taus, dt: float = 1.0) -> np.ndarray:
    """Allan deviation implied by ClockParams' power-law noise (IEEE 1139
    relations, f_h = 1/(2 dt)) and linear frequency drift D (aging:
    sigma_y^2 = D^2 tau^2 / 2), at taus in seconds. A constant frequency
    offset adds nothing; temperature and VM migrations are not included.
    taus must be >= dt."""
    from chronotick.sim.params import ClockParams
    if not isinstance(params, ClockParams):
        raise TypeError(f"params must be a ClockParams, got {type(params).__name__} {params!r:.100}")
    if isinstance(taus, (str, bytes)) or np.asarray(taus).dtype.kind not in "fiu":
        # a str, None, a bool or a mix with text, by name (numpy's 'could not convert' named nothing)
        raise TypeError(f"taus must be numbers of seconds, got {type(taus).__name__} {taus!r:.100}")
    if not is_real(dt):
        raise TypeError(f"dt must be a number, got {type(dt).__name__} {dt!r:.100}")
    tau = np.asarray(taus, dtype=np.float64)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be finite and > 0, got {dt!r}")
    if tau.size and not np.all(np.isfinite(tau) & (tau > 0)):
        bad = tau.ravel()[~(np.isfinite(tau.ravel()) & (tau.ravel() > 0))][0]
        raise ValueError(f"taus must be finite and > 0 s, got {bad!r}")
    if tau.size and float(tau.min()) < dt:
        # averages over less than one step of the grid: the relations assume tau >= 1/(2 f_h) =
        # dt (the flicker-PM term went negative, NaN with only a warning: an audit, 2026-12-05)
        raise ValueError(f"taus must be >= dt = {dt!r} s (the noise is defined on that grid), "
                         f"got {float(tau.min())!r}")
    f_h = 1.0 / (2.0 * dt)
    pi2 = math.pi ** 2
    var = (3.0 * f_h * params.h_wpm / (4.0 * pi2 * tau ** 2)
           + params.h_fpm * (1.038 + 3.0 * np.log(2.0 * math.pi * f_h * tau)) / (4.0 * pi2 * tau ** 2)
           + params.h_wfm / (2.0 * tau)
           + 2.0 * math.log(2.0) * params.h_ffm
           + 2.0 * pi2 / 3.0 * params.h_rwfm * tau
           + 0.5 * (params.aging_ppm_per_day * 1e-6 / 86400.0 * tau) ** 2)
    return np.sqrt(var)


def _step_average_factor(u: np.ndarray) -> np.ndarray:
    """R(u), u = f dt in (0, 1/2]: the spectrum of the dt-averages of a
    continuous 1/f process, aliased onto the grid, relative to 1/f:
        R(u) = u sin^2(pi u) / pi^2 * sum_k |u + k|^-3
    (R -> 1 as u -> 0, 0.85 at Nyquist). Tabulated on 513 points, k = -64..64."""
    uu = np.linspace(0.0, 0.5, 513)[1:]
    kk = np.arange(-64, 65, dtype=np.float64)[:, None]
    table = uu * np.sin(math.pi * uu) ** 2 / math.pi ** 2 * np.sum(np.abs(uu + kk) ** -3.0, axis=0)
    return np.interp(u, np.concatenate(([0.0], uu)), np.concatenate(([1.0], table)))


def flicker(rng: np.random.Generator, n: int, q_d: float, averaged: bool = False) -> np.ndarray:
    """n samples of 1/f noise with one-sided PSD S(f) = q_d / (pi f) for
    0 < f <= 1/(2 dt): the spectrum is drawn directly (complex Gaussian
    bins, no DC) on M >= 2n points and inverse-FFT'd once, keeping the
    first n. averaged=True shapes it as the dt-averages of a continuous 1/f
    process instead (S(f) * R(f dt), see _step_average_factor): what a
    flicker FM y integrates to over each step."""
    if n == 0 or q_d == 0.0:
        return np.zeros(n)
    m = 1 << int(2 * n - 1).bit_length()
    half = m // 2
    # E|rfft bin|^2 = m S(f) / (2 dt) for a sequence of one-sided PSD S; S = q_d / (pi f), f = u / dt,
    # and each of the real and imaginary parts carries half of it
    k = np.arange(1, half + 1, dtype=np.float64)
    amp = np.sqrt(k)
    np.divide(math.sqrt(m * m * q_d / (4.0 * math.pi)), amp, out=amp)
    if averaged:
        amp *= np.sqrt(_step_average_factor(k / m))
    spec = np.empty(half + 1, dtype=np.complex128)
    spec[0] = 0.0
    spec[1:] = rng.standard_normal(2 * half).view(np.complex128)  # (re, im) pairs
    spec[1:] *= amp
    spec[half] = spec[half].real * math.sqrt(2.0)  # the Nyquist bin is real, with the full power
    return np.fft.irfft(spec, m)[:n]


def lowpass(x: np.ndarray, tau_samples: float) -> np.ndarray:
    """First-order low-pass with time constant tau_samples steps, starting in
    steady state at x[0]: y[k] = x[0] + sum_j a^j (1-a) (x[k-j] - x[0]),
    a = exp(-1/tau). Applied by FFT convolution with the kernel truncated
    where a^j < 1e-17; for tau >= 40 steps it runs on block means of
    tau/20 steps and is interpolated back (the output is smooth on that
    scale)."""
    n = x.size
    if n == 0:
        return x.copy()
    # at most n: a longer block, padded with x[-1], gives the same single block mean (x[0]) but
    # had allocated tau/20 samples (2.2 GiB for 0.01 s at dt = 1e-7 with a 600 s thermal lag)
    block = min(int(tau_samples // 20), n) if tau_samples >= 40 else 1
    if block > 1:
        nb = -(-n // block)
        pad = np.concatenate((x, np.full(nb * block - n, x[-1])))
        xb = pad.reshape(nb, block).mean(axis=1)
        xb[0] = x[0]
        yb = lowpass(xb, tau_samples / block)
        centres = np.arange(nb) * block + 0.5 * (block - 1)
        centres[0] = 0.0
        return np.interp(np.arange(n, dtype=np.float64), centres, yb)
    a = math.exp(-1.0 / tau_samples)
    klen = min(n, int(40.0 * tau_samples) + 1)
    kern = (1.0 - a) * a ** np.arange(klen, dtype=np.float64)
    d = x - x[0]
    size = 1 << int(n + klen - 1).bit_length()
    out = np.fft.irfft(np.fft.rfft(d, size) * np.fft.rfft(kern, size), size)
    return out[:n] + x[0]
