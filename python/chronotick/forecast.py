"""`Forecast`: what `predict` and the Engine return.

Quantiles at levels that were not computed are derived from the stored ones:
between two stored levels p0 < p < p1 the quantile is interpolated linearly
in z = Phi^-1(p) (exact for a Gaussian forecast); outside the stored range it
is extended from the nearest stored quantile with the forecast's Gaussian
std: q(p) = q(p_edge) + (z(p) - z(p_edge)) * std. So wider intervals are
always at least as wide as narrower ones.
"""
from __future__ import annotations

import math
from statistics import NormalDist

import numpy as np

from chronotick.models.calibration import _check_levels

_PHI = NormalDist()


def _z(levels) -> np.ndarray:
    return np.array([_PHI.inv_cdf(float(p)) for p in levels])


def _level_index(computed: np.ndarray, p: float) -> int | None:
    """Index of level p among the computed levels: the exactly equal one,
    else the nearest within 1e-12 (a level that went through a text or
    float32 round trip); None when none is."""
    hit = np.flatnonzero(computed == p)
    if hit.size:
        return int(hit[0])
    i = int(np.argmin(np.abs(computed - p)))
    return i if abs(float(computed[i]) - p) < 1e-12 else None


# from_core's columns of the asked-for levels among the computed ones, by both levels' shape and bytes
_COLUMNS: dict = {}


def _level_column(computed: np.ndarray, p: float) -> int:
    """_level_index, a ValueError naming p when the level was not computed."""
    i = _level_index(computed, p)
    if i is None:
        raise ValueError(f"quantile level {p!r} was not computed (computed: {computed.tolist()})")
    return i


def _check_shapes(times, mean, std, q, nlev: int, name: str) -> None:
    """mean and std one value per time; q [len(times), nlev] (ValueError naming what differs)."""
    if times.ndim != 1:
        raise ValueError(f"times must be 1-D, got shape {times.shape}")
    for what, v in (("mean", mean), ("std", std)):
        if np.shape(v) != times.shape:
            raise ValueError(f"{what} must have one value per time ({times.size}), got shape {np.shape(v)}")
    if np.shape(q) not in ((times.size, nlev),) and not (times.size == 1 and np.shape(q) == (nlev,)):
        raise ValueError(f"{name} must have shape ({times.size}, {nlev}) (times x levels), got {np.shape(q)}")
    # the values too: interval() and at() read them as a forecast (a NaN or a crossed pair had come
    # back as an interval with its lower end above its upper, silently)
    for what, v in (("times", times), ("mean", mean), ("std", std), (name, q)):
        a = np.asarray(v, dtype=np.float64)
        if not np.isfinite(a).all():
            i = np.unravel_index(int(np.flatnonzero(~np.isfinite(a.ravel()))[0]), a.shape)
            raise ValueError(f"{what}[{', '.join(map(str, i))}] = {float(a[i])!r} is not finite")
    if times.size > 1 and not (np.diff(times) > 0).all():
        i = int(np.flatnonzero(~(np.diff(times) > 0))[0]) + 1
        raise ValueError(f"times must be strictly increasing: times[{i}] = {float(times[i])!r} after "
                         f"{float(times[i - 1])!r}")
    sd = np.asarray(std, dtype=np.float64)
    if (sd < 0).any():
        i = int(np.flatnonzero(sd < 0)[0])
        raise ValueError(f"std[{i}] = {float(sd[i])!r} is negative")
    qa = np.asarray(q, dtype=np.float64).reshape(times.size, nlev)
    crossed = np.argwhere(np.diff(qa, axis=1) < 0)
    if crossed.size:
        r, k = (int(v) for v in crossed[0])
        raise ValueError(f"{name}[{r}] must not decrease with the level: {float(qa[r, k + 1])!r} at level index "
                         f"{k + 1} < {float(qa[r, k])!r} at {k}")


def _readonly(a: np.ndarray) -> np.ndarray:
    v = np.asarray(a).view()
    v.flags.writeable = False
    return v


def _readonly_weights(weights: dict) -> dict:
    """member -> read-only float64 view of its weights (the caller's arrays stay writable)."""
    return {k: _readonly(np.asarray(v, dtype=np.float64)) for k, v in weights.items()}


_F64 = np.dtype(np.float64)


def _owned(a) -> np.ndarray:
    """A new float64 array (a core forecast's, made at this access) made read-only in place; anything
    else as a read-only float64 view (_readonly)."""
    if type(a) is np.ndarray and a.dtype is _F64 and a.flags.owndata:    # any other dtype object: below
        a.setflags(write=False)
        return a
    return _readonly(np.asarray(a, dtype=np.float64))


class Forecast:
    """Quantile forecast of a clock's offset at future times.

    times: forecast times (s), the origin (last measurement) + step * (1..h).
    mean: forecast offset per step (the values' unit). quantiles:
    [horizon, len(quantile_levels)] at the levels asked for. std: the
    Gaussian-equivalent sigma per step, (q90 - q10) / 2.563 (what the fusion
    weighs by). model: which model made it ("fused(robust,regression,kalman)",
    "hold (fallback: ...)", ...). weights: member name -> fusion weight per
    step (a single model: ones). note: why a member was dropped or an
    interval is uncalibrated ("" if none). origin: time of the newest
    measurement the forecast was made from (s).

    The levels 0.025, 0.1, 0.25, 0.5, 0.75, 0.9 and 0.975 are always computed
    by predict() and the Engine (kept privately when not asked for), so
    interval(0.5 / 0.8 / 0.95) is exact; other levels: see the module
    docstring. Its arrays are read-only (convert a copy: np.array(fc.mean) * 1e3).
    """

    __slots__ = ("times", "mean", "quantiles", "quantile_levels", "std", "model", "weights", "note", "origin",
                 "_all_q", "_all_levels")

    def __init__(self, times, mean, quantiles, quantile_levels, std, model: str, weights: dict | None = None,
                 note: str = "", origin: float | None = None, all_quantile_levels=None, all_quantiles=None,
                 *, _checked: bool = False):
        # built by hand: copies (views had let the caller's later changes through, past the checks
        # below: an interval with a NaN end, lower > upper; an audit, 2026-12-06); from_core's
        # arrays are the core's own new ones
        own = np.asarray if _checked else np.array
        self.times = own(times, dtype=np.float64)
        self.mean = own(mean, dtype=np.float64)
        self.quantile_levels = own(quantile_levels, dtype=np.float64)
        if not _checked:     # built by hand (from_core's arrays come checked from the core)
            # quantile()/interval() search and interpolate the levels in order: unsorted levels
            # had given silently wrong columns, a level of 0 or 1 a StatisticsError
            _check_levels(self.quantile_levels, "quantile_levels")
            _check_shapes(self.times, self.mean, std, quantiles, self.quantile_levels.size, "quantiles")
        self.quantiles = own(quantiles, dtype=np.float64).reshape(self.times.size, self.quantile_levels.size)
        self.std = own(std, dtype=np.float64)
        self.model = model
        if weights is None:
            weights = {model: np.ones(self.times.size)}
        elif not _checked:
            # as arrays of one weight per step (a to_dict() round trip gave lists: 2 * w repeated the
            # list, sums over members raised; wrong lengths passed unnoticed; an audit, 2026-12-05)
            if not isinstance(weights, dict):
                raise TypeError(f"weights must be a dict member -> weight per step, got {type(weights).__name__}")
            conv = {}
            for k, v in weights.items():
                w = np.array(v, dtype=np.float64).reshape(-1)      # a copy, as the arrays above
                if w.shape != self.times.shape or not np.isfinite(w).all():
                    raise ValueError(f"weights[{k!r}] must be {self.times.size} finite numbers (one per step), "
                                     f"got {np.asarray(v).shape} {np.asarray(v).tolist()[:4]!r}")
                conv[k] = w
            weights = conv
        self.weights = weights
        self.note = note
        if origin is not None and not _checked:
            try:      # a number or a 0-d array of one; not a bool, a string, NaN or inf
                ok = not isinstance(origin, (bool, np.bool_, str, bytes)) and np.ndim(origin) == 0
                origin = float(origin) if ok else origin
            except (TypeError, ValueError):
                ok = False
            if not ok or not math.isfinite(origin):
                raise ValueError(f"origin must be a finite time in seconds or None, got {origin!r}")
        self.origin = origin
        self._all_q, self._all_levels = self.quantiles, self.quantile_levels
        if (all_quantile_levels is None) != (all_quantiles is None):
            raise ValueError("give all_quantile_levels and all_quantiles together, or neither")
        if all_quantile_levels is not None:   # every level computed (to_dict() gives them): interval() uses them
            lv = np.array(all_quantile_levels, dtype=np.float64)
            _check_levels(lv, "all_quantile_levels")
            _check_shapes(self.times, self.mean, std, all_quantiles, lv.size, "all_quantiles")
            self._all_q = np.array(all_quantiles, dtype=np.float64).reshape(self.times.size, lv.size)
            self._all_levels = lv
        self._freeze()

    def __setstate__(self, state) -> None:
        """Unpickled or deep-copied: read-only again (the copies' arrays had come back writable, so
        g.mean *= 1e3 mixed units in at(); an audit, 2026-12-06)."""
        slots = state[1] if isinstance(state, tuple) else state
        for name, value in (slots or {}).items():
            setattr(self, name, value)
        self._freeze()

    def _freeze(self) -> None:
        """Its arrays as read-only views: interval()/quantile() read the computed levels and at()
        the mean, so an array changed in place (a unit conversion) had mixed units in one answer
        (an audit, 2026-12-05); convert a copy instead (np.array(fc.mean) * 1e3). Views: an
        array the caller passed in stays the caller's to change."""
        for name in ("times", "mean", "quantiles", "quantile_levels", "std", "_all_q", "_all_levels"):
            setattr(self, name, _readonly(getattr(self, name)))
        self.weights = _readonly_weights(self.weights)

    @classmethod
    def from_core(cls, fc, weights: dict | None = None, levels=None, origin: float | None = None,
                  own_weights: bool = False) -> "Forecast":
        """From a _core.QuantileForecast, exposing only `levels` (default:
        all); the other computed levels still serve interval()/at(). fc's
        arrays are new at each access (the core's properties copy), so they
        are made read-only in place; weights may be the caller's: views
        (own_weights: the caller made them for this forecast, so they are
        made read-only in place too, as predict's are)."""
        q_all, lv_all = _owned(fc.quantiles), _owned(fc.levels)
        q, lv = q_all, lv_all
        if levels is not None:
            want = np.asarray(levels, dtype=np.float64)
            if want.shape != lv_all.shape or not (want == lv_all).all():
                # each level asked for at its own computed column: exactly equal first (two levels
                # 1e-13 apart are two columns: rounding both to 12 digits had mapped them to one)
                key = (want.shape, want.tobytes(), lv_all.tobytes())
                keep = _COLUMNS.get(key)
                if keep is None:
                    keep = np.array([_level_column(lv_all, p) for p in want.tolist()], dtype=np.intp)
                    if len(_COLUMNS) < 256:
                        _COLUMNS[key] = keep
                q, lv = _owned(q_all[:, keep]), _owned(lv_all[keep])
        # Built directly, not through __init__ (the core's arrays are checked): __init__'s
        # conversions and _freeze's twelve read-only views had cost ~18 us a forecast (2026-12-05,
        # session 31); the same attributes, the same read-only arrays.
        out = cls.__new__(cls)
        out.times, out.mean, out.std = _owned(fc.times), _owned(fc.mean), _owned(fc.std)
        out.quantiles, out.quantile_levels, out._all_q, out._all_levels = q, lv, q_all, lv_all
        out.model, out.note, out.origin = fc.model, fc.note, origin
        if weights is None:
            weights = {fc.model: np.ones(out.times.size)}
        out.weights = {k: _owned(v) for k, v in weights.items()} if own_weights else _readonly_weights(weights)
        return out

    def __len__(self) -> int:
        return self.times.size

    def __repr__(self) -> str:
        return (f"Forecast(model={self.model!r}, steps={self.times.size}, levels={self.quantile_levels.tolist()}"
                f"{', note=' + repr(self.note) if self.note else ''})")

    def quantile(self, level: float) -> np.ndarray:
        """The quantile at `level` in (0, 1) per step (derived as the module
        docstring says when `level` was not computed)."""
        if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        lv, q = self._all_levels, self._all_q
        i = _level_index(lv, level)       # exactly a computed level first, then one within 1e-12
        if i is not None:
            return q[:, i].copy()
        z, zs = _PHI.inv_cdf(float(level)), _z(lv)
        if level < lv[0]:
            return q[:, 0] + (z - zs[0]) * self.std
        if level > lv[-1]:
            return q[:, -1] + (z - zs[-1]) * self.std
        j = int(np.searchsorted(lv, level))
        w = (z - zs[j - 1]) / (zs[j] - zs[j - 1])
        # a + w (b - a), held in [a, b]: monotone in w and exact where a == b (the weighted sum
        # (1 - w) a + w b is not, so a derived 0.5114 interval of a constant series had its lower
        # end 1 ulp above its upper one; an audit, 2026-12-06)
        a, b = q[:, j - 1], q[:, j]
        with np.errstate(over="ignore", invalid="ignore"):
            d = b - a
            v = a + w * d
        if not np.isfinite(d).all():    # quantiles spanning more than the double range (values near 1e308)
            v = np.where(np.isfinite(d), v, (1 - w) * a + w * b)
        return np.minimum(np.maximum(v, a), b)

    def interval(self, level: float = 0.8) -> tuple[np.ndarray, np.ndarray]:
        """Central interval holding the offset with probability `level`:
        (lower, upper) arrays over the horizon, the quantiles (1 - level)/2
        and (1 + level)/2."""
        if isinstance(level, bool) or not isinstance(level, (int, float, np.floating)) or not 0 < level < 1:
            raise ValueError(f"level must be in (0, 1), got {level!r}")
        lo, hi = (1 - level) / 2, (1 + level) / 2
        if not 0 < lo < 1 or not 0 < hi < 1:
            # in floating point (1 + level)/2 rounds to 1.0 for a level within ~1e-16 of 1
            raise ValueError(f"level {level!r} is too close to 1: its interval's upper quantile (1 + level)/2 "
                             f"rounds to {hi!r} in floating point; use a level <= 1 - 1e-15")
        return self.quantile(lo), self.quantile(hi)

    def at(self, t: float, level: float = 0.8) -> tuple[float, float, float]:
        """(mean, lower, upper) at future time t (s), linearly interpolated
        between forecast times.

        Valid t: origin < t <= times[-1] (origin = the newest measurement's
        time). Between the origin and times[0] the first step's forecast
        applies unchanged: it is what is forecast nearest to t, and its
        interval, made for a longer lead, is if anything too wide -- never
        the zero width a line from the last (noisy) measurement would give.
        Outside that range: ValueError naming t and the valid range.
        """
        if isinstance(t, bool) or not isinstance(t, (int, float, np.floating, np.integer)) or not math.isfinite(t):
            raise ValueError(f"t must be a finite time in seconds, got {t!r}")
        t = float(t)
        first, last = float(self.times[0]), float(self.times[-1])
        start = self.origin if self.origin is not None else first
        inside = (start < t <= last) if self.origin is not None else (first <= t <= last)
        if not inside:
            bracket = "(" if self.origin is not None else "["
            raise ValueError(f"t = {t!r} is outside the forecast's range {bracket}{start!r}, {last!r}]")
        t = max(t, first)
        lo, hi = self.interval(level)
        return (float(np.interp(t, self.times, self.mean)), float(np.interp(t, self.times, lo)),
                float(np.interp(t, self.times, hi)))

    def to_dict(self) -> dict:
        """Plain lists and floats (JSON-serialisable). `Forecast(**d)` gives
        the forecast back, interval() and at() included: all_quantile_levels
        / all_quantiles are every level computed (the calibrated base levels
        kept privately besides those asked for)."""
        return {"times": self.times.tolist(), "mean": self.mean.tolist(), "quantiles": self.quantiles.tolist(),
                "quantile_levels": self.quantile_levels.tolist(), "std": self.std.tolist(), "model": self.model,
                "weights": {k: np.asarray(v).tolist() for k, v in self.weights.items()}, "note": self.note,
                "origin": self.origin, "all_quantile_levels": np.asarray(self._all_levels).tolist(),
                "all_quantiles": np.asarray(self._all_q).tolist()}
