"""Online interval calibration of a quantile forecaster (split conformal).

A time-series foundation model states quantiles q_1 <= ... <= q_K at levels
l_1 < ... < l_K (Chronos-Bolt: 0.1 .. 0.9) around its median m. Those raw
quantiles are not guaranteed to cover: a model trained on other data can be
over- or under-confident on this clock. The forecaster's own recent
one-step-ahead errors correct them.

For the central interval of nominal coverage c (quantile levels
(1 - c)/2 and (1 + c)/2), take the model's distances below and above the
median at the nearest central interval it has, c' = min(c, 2 l_K - 1,
1 - 2 l_1) (c' = min(c, l_K - l_1) when the levels are symmetric):

    d_lo = m - q((1 - c')/2),   d_hi = q((1 + c')/2) - m.

Each past prediction j (made before y_j was seen) gives the score

    a_j = (y_j - m_j) / d_hi_j   if y_j >= m_j,   else (m_j - y_j) / d_lo_j,

so that y_j lies in [m_j - s d_lo_j, m_j + s d_hi_j] exactly when a_j <= s.
If the scores are exchangeable with the next one, s(c) = the
ceil((n + 1) c)-th smallest of the n scores gives an interval
[m - s(c) d_lo, m + s(c) d_hi] covering the next value with probability
>= c (split conformal; n capped at the rolling window). Beyond
c_n = n / (n + 1), where that order statistic does not exist, s(c) is the
largest score times z((1 + c)/2) / z((1 + c_n)/2), the normal tail's ratio
(until 2026-12-05 the largest score itself: from 8 scores the 80% ... 99.9%
intervals were one, covering 89%). Quantile level l
maps to m + s(|2l - 1|) (q(clamp(l)) - m), clamp(l) into
[(1 - c_max)/2, (1 + c_max)/2] with c_max = min(2 l_K - 1, 1 - 2 l_1) (the
distances s was computed on, also where the model's levels are not
symmetric); the model's asymmetry and its
growth with the horizon are kept, only the width is rescaled. With fewer
than `min_errors` scores the raw quantiles are used, extended beyond the
model's outermost levels by the Gaussian ratio z(l) / z(clamp(l)).
The scores and their conformal quantiles are computed in C++
(_core.conformal_factors, cpp/windowing/quantile_conformal.h; the numpy
statement of the same rule is tests/test_onnx.py's reference_factors).
"""
from __future__ import annotations

from statistics import NormalDist

import numpy as np

from chronotick import _core
from chronotick._validate import is_int, is_real


def _check_levels(levels, name: str) -> np.ndarray:
    if isinstance(levels, (list, tuple)) and not all(is_real(v) for v in levels):
        # '0.5' had been parsed as a number (predict refuses it), a nested list failed elsewhere
        i = next(i for i, v in enumerate(levels) if not is_real(v))
        raise ValueError(f"{name} must hold real numbers, got {name}[{i}] = {levels[i]!r}")
    if isinstance(levels, np.ndarray) and levels.dtype.kind not in "fiu":
        raise ValueError(f"{name} must hold real numbers, got an array of dtype {levels.dtype}")
    a = np.asarray(levels, dtype=np.float64)
    if a.ndim != 1 or a.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence, got shape {a.shape}")
    if not (np.all((a > 0.0) & (a < 1.0)) and np.all(a[1:] > a[:-1])):
        for i, v in enumerate(a):
            if not (0.0 < v < 1.0):
                raise ValueError(f"{name}[{i}] = {float(v)!r} is not in (0, 1)")
            if i and not v > a[i - 1]:
                raise ValueError(f"{name} must be strictly increasing: {name}[{i}] = {float(v)!r} "
                                 f"after {float(a[i - 1])!r}")
    # a level so near 0 or 1 that its central coverage 1 - 2 min(l, 1 - l) rounds to 1: the
    # calibration had failed on it naming "coverages[0]", a value the caller never passed
    edge = np.flatnonzero(np.abs(2.0 * a - 1.0) >= 1.0)
    if edge.size:
        i = int(edge[0])
        raise ValueError(f"{name}[{i}] = {float(a[i])!r} is too near {0 if a[i] < 0.5 else 1}: its central "
                         f"coverage 1 - 2 min(l, 1 - l) rounds to 1 in float64 (chronotick.predict takes "
                         f"levels in [1e-06, 1 - 1e-06])")
    return a


def _map_levels(q: np.ndarray, m, lo, hi, w, w1, f) -> np.ndarray:
    """Sorted quantiles q [..., K] with median m at the levels of a plan: the interpolation
    q[lo] w1 + q[hi] w, its distance from m scaled by f, made non-decreasing."""
    base = q[..., lo] * w1 + q[..., hi] * w
    return np.maximum.accumulate(m + f * (base - m), axis=-1)


def interpolate_levels(q: np.ndarray, model_levels: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """Raw quantiles q[..., K] at model_levels, linearly interpolated to
    `levels` clamped into [model_levels[0], model_levels[-1]]."""
    lo, hi, w, _ = _level_weights(model_levels, levels)
    return q[..., lo] * (1.0 - w) + q[..., hi] * w


def _level_weights(model_levels: np.ndarray, levels: np.ndarray):
    """(lo, hi, w, lc): `levels` clamped into the model's range (lc) lie
    between model_levels[lo] and model_levels[hi] = lo + 1, at weight w of hi."""
    lc = np.clip(levels, model_levels[0], model_levels[-1])
    hi = np.clip(np.searchsorted(model_levels, lc, side="left"), 1, model_levels.size - 1)
    lo = hi - 1
    return lo, hi, (lc - model_levels[lo]) / (model_levels[hi] - model_levels[lo]), lc


def _central_clamp(ml: np.ndarray) -> tuple[float, float]:
    """The widest central interval of the model levels ml, [(1 - c_max)/2, (1 + c_max)/2]
    with c_max = min(2 ml[-1] - 1, 1 - 2 ml[0]), its ends snapped to ml's within 1e-12."""
    c_max = min(2 * ml[-1] - 1, 1 - 2 * ml[0])
    lo_l, hi_l = (1 - c_max) / 2, (1 + c_max) / 2
    lo_l = ml[0] if abs(lo_l - ml[0]) <= 1e-12 else max(lo_l, ml[0])
    hi_l = ml[-1] if abs(hi_l - ml[-1]) <= 1e-12 else min(hi_l, ml[-1])
    return lo_l, hi_l


class ConformalScaler:
    """Rolling-window split-conformal rescaling of quantile forecasts.

    model_levels: the levels of the raw quantiles (strictly increasing, must
    include 0.5). window: how many of the newest errors are kept.
    min_errors: below this many, `apply` returns the raw quantiles.

        cs = ConformalScaler([0.1, ..., 0.9])
        cs.add(y_j, q_j)            # q_j: raw quantiles predicted for y_j before it was seen
        cs.apply(q_raw, [0.05, 0.5, 0.95])
    """

    def __init__(self, model_levels, window: int = 64, min_errors: int = 8):
        self.model_levels = _check_levels(model_levels, "model_levels")
        hits = np.flatnonzero(np.isclose(self.model_levels, 0.5))
        if hits.size != 1:
            raise ValueError(f"model_levels must contain 0.5 (the median), got {self.model_levels.tolist()}")
        self.median_index = int(hits[0])
        if not is_int(window) or window < 1:          # a numpy integer is an integer too
            raise ValueError(f"window must be an integer >= 1, got {window!r}")
        if not is_int(min_errors) or min_errors < 1:
            raise ValueError(f"min_errors must be an integer >= 1, got {min_errors!r}")
        self.window = int(window)
        self.min_errors = int(min_errors)
        self._y = np.empty(0)
        self._q = np.empty((0, self.model_levels.size))
        self._plans: dict = {}
        self._clamp = _central_clamp(self.model_levels)   # _calibrated_plan's bounds, fixed by the levels
        self._flat: tuple | None = None   # _flat_rows, computed when first asked
        self._fcache: dict = {}           # _factors by coverages, emptied when the errors change
        self.lead: int | None = None      # the lead bucket these errors are at, where a caller keeps one

    def fresh(self) -> ConformalScaler:
        """An empty scaler with the same settings."""
        new = object.__new__(ConformalScaler)
        new.model_levels, new.median_index = self.model_levels, self.median_index
        new.window, new.min_errors = self.window, self.min_errors
        new._y, new._q = self._y[:0], self._q[:0]
        new._plans, new._clamp = self._plans, self._clamp
        new._flat = None
        new._fcache = {}
        new.lead = None
        return new

    def __len__(self) -> int:
        return self._y.size

    @property
    def calibrated(self) -> bool:
        return self._y.size >= self.min_errors

    def add(self, y, q) -> None:
        """Record that y was observed where raw quantiles q (at model_levels)
        had been predicted from earlier data only. Several at once: y [n],
        q [n, K], oldest first. Only the newest `window` are kept."""
        y = np.atleast_1d(np.asarray(y, dtype=np.float64))
        if y.ndim != 1:
            raise ValueError(f"y must be a number or a 1-D sequence, got shape {y.shape}")
        K = self.model_levels.size
        q = np.asarray(q, dtype=np.float64)
        # q [n, K] (one row per y); one y may come with its K values alone. No other shape is
        # reshaped into that: q laid out [K, n] (one row per level) would be read scrambled.
        if q.shape == (K,) and y.size == 1:
            q = q.reshape(1, K)
        elif q.size == 0 and y.size == 0:
            q = np.empty((0, K))
        if q.shape != (y.size, K):
            raise ValueError(f"q must have shape ({y.size}, {K}): {K} values per y (one per model level), "
                             f"got shape {q.shape} for {y.size} y")
        bad = np.flatnonzero(~np.isfinite(y))
        if bad.size:
            raise ValueError(f"y[{int(bad[0])}] = {float(y[bad[0]])!r} is not finite")
        bad = np.flatnonzero(~np.all(np.isfinite(q), axis=1))
        if bad.size:
            raise ValueError(f"q[{int(bad[0])}] has non-finite values: {q[bad[0]].tolist()}")
        self._y = np.concatenate([self._y, y])[-self.window:]
        self._q = np.concatenate([self._q, np.sort(q, axis=1)])[-self.window:]
        self._flat = None
        self._fcache = {}

    def _fill(self, y: np.ndarray, q: np.ndarray) -> None:
        """`add` into an empty scaler, unchecked: y [n] finite float64, q [n, K]
        finite float64 and already sorted along its last axis (the forecaster's
        own past predictions, _pair_preds, are); only the newest `window` kept."""
        self._y, self._q = y[-self.window:], q[-self.window:]
        self._flat = None
        self._fcache = {}

    def _flat_rows(self) -> tuple[np.ndarray, np.ndarray]:
        """(misses, hits): rows of the recorded predictions that had zero width
        (all quantiles equal: the forecaster's forecast from an exactly flat
        window) and missed, and those that equalled their measurement exactly.
        A miss's score |e| / 0 has no scale of its own (the core clamps the
        distance to 1e-300, so one such miss made factors of ~1e293); a hit's
        0 / 0 says nothing about how to scale a forecast that has a spread.
        Both empty for any prediction with a spread, i.e. on ordinary data."""
        f = self._flat
        if f is None:
            q = self._q
            same = q[:, -1] == q[:, 0]
            if same.any():
                hit = self._y == q[:, self.median_index]
                f = (np.flatnonzero(same & ~hit), np.flatnonzero(same & hit))
            else:
                none = np.empty(0, dtype=np.int64)
                f = (none, none)
            self._flat = f
        return f

    def _has_flat(self) -> bool:
        """Whether a forecast's factors may depend on its own distances (_factors_for)."""
        misses, hits = self._flat_rows()
        return bool(misses.size or hits.size)

    def _factors_for(self, cov: np.ndarray, dist: np.ndarray) -> np.ndarray | None:
        """`_factors` for the forecast whose quantiles lie `dist` [K] (sorted,
        0 at the median) from its median: each flat past prediction that
        missed is scored as if it had had those distances, i.e. its absolute
        error against the width of the forecast it calibrates (the classical
        models keep such errors absolute likewise: cpp/models/calibration.h),
        and each flat one that hit exactly is left out (Rule Z5, docs/models.md:
        its 0 / 0 scaled this forecast's spread to nothing -- after 299 equal
        measurements and a step, the model's 80% interval was zero wide). None
        where fewer than min_errors scores remain: the caller uses the model's
        own quantiles. The same as `_factors` where there is no flat
        prediction or `dist` is 0 (a flat forecast: nothing to scale)."""
        if not self.calibrated:
            return self._factors(cov)
        misses, hits = self._flat_rows()
        if not (misses.size or hits.size) or not np.any(dist):
            return self._factors(cov)
        q = self._q.copy()
        q[misses] = q[misses, self.median_index][:, None] + dist[None, :]
        y = self._y
        if hits.size:
            if y.size - hits.size < self.min_errors:
                return None
            keep = np.ones(y.size, dtype=bool)
            keep[hits] = False
            y, q = y[keep], q[keep]
        return _core.conformal_factors(y, q, self.model_levels, self.median_index, cov)

    def factors(self, coverages) -> np.ndarray:
        """s(c) for each coverage c in [0, 1): the multiplier of the model's
        distances from the median that makes the central interval of that
        coverage cover the recorded values (1.0 when not calibrated yet)."""
        cov = np.atleast_1d(np.asarray(coverages, dtype=np.float64))
        bad = np.flatnonzero(~((cov >= 0) & (cov < 1)))
        if bad.size:
            raise ValueError(f"coverage[{int(bad[0])}] = {float(cov[bad[0]])!r} is not in [0, 1)")
        return self._factors(cov).copy()      # the caller's own: _factors' is kept

    def _factors(self, cov: np.ndarray) -> np.ndarray:
        """`factors` for checked coverages (float64 array); kept per coverages until the
        recorded errors change (a forecaster's scalers are reused while the measurements
        they were made from are unchanged). A kept array is read-only: callers share it."""
        cache, y, q = self._fcache, self._y, self._q   # together: an add() between reads starts a new cache
        if y.size < self.min_errors:
            return np.ones_like(cov)
        key = cov.tobytes()
        f = cache.get(key)
        if f is None:
            f = _core.conformal_factors(y, q, self.model_levels, self.median_index, cov)
            f.flags.writeable = False
            if len(cache) < 16:
                cache[key] = f
        return f

    def factor(self, coverage: float) -> float:
        """s(coverage) for one coverage, see `factors`."""
        return float(self.factors([coverage])[0])

    def apply(self, q_raw, levels) -> np.ndarray:
        """Calibrated quantiles at `levels` from raw quantiles q_raw[..., K]
        (K = len(model_levels)); the result has shape q_raw.shape[:-1] +
        (len(levels),) and is non-decreasing along the last axis."""
        levels = _check_levels(levels, "levels")
        q = np.asarray(q_raw, dtype=np.float64)
        if q.ndim == 0 or q.shape[-1] != self.model_levels.size:
            raise ValueError(f"q_raw's last axis must have {self.model_levels.size} values, got shape {q.shape}")
        rows = np.argwhere(~np.all(np.isfinite(q), axis=-1)) if not np.isfinite(q.sum()) else ()
        if len(rows):
            # a NaN would be sorted to the end and shift the median: wrong numbers, not NaN
            i = tuple(int(v) for v in rows[0])
            where = f"q_raw[{', '.join(map(str, i))}]" if i else "q_raw"
            raise ValueError(f"{where} has non-finite values: {q[i].tolist()}")
        return self._apply(q, levels)

    def _plan(self, levels: np.ndarray):
        """Per requested levels, cached: interpolation indices/weights into the
        model levels and the uncalibrated multipliers z(l) / z(clamp(l))."""
        key = levels.tobytes()
        plan = self._plans.get(key)
        if plan is None:
            lo, hi, w, lc = _level_weights(self.model_levels, levels)
            f = np.ones_like(levels)
            out = levels != lc
            if out.any():
                z = NormalDist().inv_cdf
                f[out] = [z(lv) / z(c) for lv, c in zip(levels[out], lc[out])]
            plan = (lo, hi, w, 1.0 - w, f, np.abs(2 * levels - 1))
            if len(self._plans) < 64:
                self._plans[key] = plan
        return plan

    def _calibrated_plan(self, levels: np.ndarray, plan):
        """(lo, hi, w, w1) of `levels` clamped into the widest central
        interval of the model's levels, [(1 - c_max)/2, (1 + c_max)/2]: the
        distances the conformal factors are computed on (_core.conformal_factors
        clamps each coverage to c_max). The same as `plan`'s where the model's
        levels are symmetric about 0.5."""
        ml = self.model_levels
        lo_l, hi_l = self._clamp
        if lo_l == ml[0] and hi_l == ml[-1]:
            return plan[:4]
        key = (b"calibrated", levels.tobytes())
        cal = self._plans.get(key)
        if cal is None:
            lo, hi, w, _ = _level_weights(ml, np.clip(levels, lo_l, hi_l))
            cal = (lo, hi, w, 1.0 - w)
            if len(self._plans) < 64:
                self._plans[key] = cal
        return cal

    def _apply(self, q: np.ndarray, levels: np.ndarray) -> np.ndarray:
        """`apply` for checked float64 q [..., K] and checked levels."""
        plan = self._plan(levels)
        lo, hi, w, w1, f_raw, coverage = plan
        q = np.sort(q, axis=-1)
        m = q[..., self.median_index:self.median_index + 1]
        if self.calibrated:
            cal = self._calibrated_plan(levels, plan)
            if self._has_flat():      # factors per forecast: see _factors_for
                rows = q.reshape(-1, q.shape[-1])
                out = np.empty((rows.shape[0], levels.size))
                for k, r in enumerate(rows):
                    f = self._factors_for(coverage, r - r[self.median_index])
                    # None: too few scores left, the raw quantiles
                    out[k] = _map_levels(r, r[self.median_index], *((lo, hi, w, w1, f_raw) if f is None
                                                                    else (*cal, f)))
                return out.reshape(q.shape[:-1] + (levels.size,))
            lo, hi, w, w1 = cal
            f = self._factors(coverage)
        else:
            f = f_raw
        return _map_levels(q, m, lo, hi, w, w1, f)
