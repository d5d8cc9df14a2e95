"""`Forecast`: what `predict` and the Engine return."""
from __future__ import annotations

import math

import numpy as np

from chronotick._validate import as_1d_float

def _normal_quantile(p: float) -> float:
    from statistics import NormalDist
    return NormalDist().inv_cdf(p)


class Forecast:
    """Quantile forecast of a clock's offset at future times.

    times: forecast times (s). mean: forecast offset (the values' unit).
    quantiles: [horizon, len(quantile_levels)]. std: (q90 - q10) / 2.563 per
    step (the sigma the fusion weighs by). model: which model made it
    ("fused(robust,regression,kalman)", "hold (fallback: ...)", ...).
    weights: member name -> fusion weight per step (a single model: ones).
    note: why a member was dropped or an interval is uncalibrated ("" if none).
    """

    __slots__ = ("times", "mean", "quantiles", "quantile_levels", "std", "model", "weights", "note", "origin")

    def __init__(self, times, mean, quantiles, quantile_levels, std, model: str, weights: dict | None = None,
                 note: str = "", origin: float | None = None):
        self.times = np.asarray(times, dtype=np.float64)
        self.mean = np.asarray(mean, dtype=np.float64)
        self.quantiles = np.asarray(quantiles, dtype=np.float64).reshape(self.times.size, -1)
        self.quantile_levels = np.asarray(quantile_levels, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        self.model = model
        self.weights = weights if weights is not None else {model: np.ones(self.times.size)}
        self.note = note
        self.origin = origin

    @classmethod
    def from_core(cls, fc, weights: dict | None = None, levels=None, origin: float | None = None) -> "Forecast":
        """From a _core.QuantileForecast, keeping only `levels` (default: all)."""
        q, lv = fc.quantiles, fc.levels
        if levels is not None and len(levels) != len(lv):
            index = {round(float(l), 12): i for i, l in enumerate(lv)}
            keep = [index[round(float(l), 12)] for l in levels]
            q, lv = q[:, keep], lv[keep]
        return cls(fc.times, fc.mean, q, lv, fc.std, fc.model, weights, fc.note, origin)

    def __len__(self) -> int:
        return self.times.size

    def __repr__(self) -> str:
        return (f"Forecast(model={self.model!r}, steps={self.times.size}, levels={self.quantile_levels.tolist()}"
                f"{', note=' + repr(self.note) if self.note else ''})")

    def _quantile(self, level: float) -> np.ndarray:
        """Quantile `level` per step: linear in level between stored levels;
        outside them, the Gaussian with the forecast's std."""
        lv = self.quantile_levels
        hit = np.flatnonzero(np.isclose(lv, level, rtol=0, atol=1e-12))
        if hit.size:
            return self.quantiles[:, hit[0]].copy()
        if lv[0] < level < lv[-1]:
            return np.array([np.interp(level, lv, row) for row in self.quantiles])
        return self.mean + _normal_quantile(level) * self.std

    def interval(self, level: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
        """Central interval holding the offset with probability `level`:
        (lower, upper) arrays over the horizon."""
        if isinstance(level, bool) or not isinstance(level, (int, float)) or not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        return self._quantile((1 - level) / 2), self._quantile((1 + level) / 2)

    def at(self, t: float, level: float = 0.8) -> tuple[float, float, float]:
        """(mean, lower, upper) at future time t (s), linearly interpolated
        between forecast times. t must lie after the forecast origin (the
        last measurement) and at most at times[-1]; between the origin and
        times[0] the first step's forecast applies (its interval is then a
        little wider than needed)."""
        if isinstance(t, bool) or not isinstance(t, (int, float, np.floating, np.integer)) or not math.isfinite(t):
            raise ValueError(f"t must be a finite time in seconds, got {t!r}")
        t = float(t)
        lo_t, hi_t = float(self.times[0]), float(self.times[-1])
        if self.origin is not None and self.origin < t < lo_t:
            t = lo_t
        if not lo_t <= t <= hi_t:
            lo_t = self.origin if self.origin is not None else lo_t
            raise ValueError(f"t = {t!r} is outside the forecast's range ({lo_t!r}, {hi_t!r}]")
        lo, hi = self.interval(level)
        return (float(np.interp(t, self.times, self.mean)), float(np.interp(t, self.times, lo)),
                float(np.interp(t, self.times, hi)))

    def to_dict(self) -> dict:
        return {"times": self.times.tolist(), "mean": self.mean.tolist(), "quantiles": self.quantiles.tolist(),
                "quantile_levels": self.quantile_levels.tolist(), "std": self.std.tolist(), "model": self.model,
                "weights": {k: np.asarray(v).tolist() for k, v in self.weights.items()}, "note": self.note}
