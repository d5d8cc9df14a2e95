"""`chronotick.predict`: forecast a clock's offset from its measurements."""
from __future__ import annotations

import datetime
import math
import os
import threading
from collections.abc import Mapping
from types import SimpleNamespace

import numpy as np

from chronotick import _core
from chronotick import models as registry
from chronotick._validate import (MAX_HORIZON, as_1d_float, as_1d_float_nan, check_timestamps, horizon_steps,
                                  int_times_hint, positive_number)
from chronotick._validate import quantile_levels as _check_levels
from chronotick._validate import uncertainty as check_uncertainty
from chronotick.errors import ForecastError
from chronotick.forecast import Forecast

DEFAULT_HORIZON = 64
# Levels always computed (interval(0.8) and the fusion need q10/q90), each calibrated by the
# core on past errors, so that interval(level) for
# the common levels 0.5, 0.8 and 0.95 is exact and other levels are interpolated between
# calibrated ones. With 0.1/0.5/0.9 alone a 98% interval was extended with a Gaussian tail
# (92-95% coverage on simulated clocks, whose errors are heavier-tailed) and a 50% one
# interpolated (55-61%).
_BASE_LEVELS = (0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975)
_BASE_LEVELS_ARRAY = np.array(_BASE_LEVELS)
_BASE_LEVELS_ARRAY.flags.writeable = False
AUTO_ONNX = "clock-bolt"   # the shipped model "auto" adds to the fusion when present

_onnx_cache: dict = {}
_onnx_lock = threading.Lock()
_path_seen: dict = {}    # _path_forecaster: a path that was its own real path -> its cache key


def with_base_levels(levels: np.ndarray) -> np.ndarray:
    """`levels` plus the base levels _BASE_LEVELS (sorted) unless already there."""
    if levels.size == 3 and levels.tolist() == [0.1, 0.5, 0.9]:   # the default: no set building
        return _BASE_LEVELS_ARRAY
    # Exact membership: a level 1e-13 from 0.1 is another level, and 0.1
    # itself is still computed (the core compares levels exactly).
    have = set(levels.tolist())
    return levels if all(b in have for b in _BASE_LEVELS) else np.union1d(levels, _BASE_LEVELS)


def pinned_levels(run, levels: np.ndarray):
    """run(levels) -> (QuantileForecast, weights, note), at `levels` (with_base_levels' set),
    with the base levels' quantiles those of run at the base levels alone and every other level
    held between its two base neighbours there: a calibrated level of another coverage can
    cross its neighbour (clock-bolt's 0.8 above its 0.9), and making the set non-decreasing then
    moved the base level -- interval(0.8) had depended on which other levels were asked for (up
    to 22% for clock-bolt, 7% for auto; an audit, 2026-12-05). Levels within the base set: one
    run, as before; others: two."""
    base = _BASE_LEVELS_ARRAY
    have = set(base.tolist())
    if all(v in have for v in levels.tolist()):
        return run(levels)
    fb, wb, nb = run(base)
    fa, _, _ = run(levels)
    if not (fb.ok and fa.ok):
        return fa, wb, nb
    qb, qa = np.asarray(fb.quantiles), np.array(fa.quantiles)
    lv = np.asarray(fa.levels, dtype=np.float64)
    at = np.searchsorted(base, lv)                      # each level's place among the base levels
    for j, v in enumerate(lv.tolist()):
        k = int(at[j])
        if k < base.size and base[k] == v:
            qa[:, j] = qb[:, k]
        else:                                           # between base k - 1 and k (or beyond the ends)
            lo = qb[:, k - 1] if k > 0 else -np.inf
            hi = qb[:, k] if k < base.size else np.inf
            qa[:, j] = np.minimum(np.maximum(qa[:, j], lo), hi)
    out = _core.QuantileForecast(fb.model, np.asarray(fb.times), lv, np.asarray(fb.mean), qa,
                                 not np.isfinite(np.asarray(fb.mean)).all(), fb.note)
    return out, wb, nb


def fuse_with_onnx(t, y, u, targets, levels, params, onnx, others=()):
    """(the core's fusion of the classical ensemble with the ONNX members
    `onnx` and the other extra members `others`, None) -- or, should the core
    reject an ONNX member's output or past predictions (a ValueError naming
    which), (the fusion without the ONNX members, that ValueError): predict()
    and the Engine leave the ONNX members out with a note rather than pass
    the exception on to the application. The ONNX members are (forecast,
    past prefixes, targets, means, sigmas) as forecast_with_past gives them."""
    ensemble = list(_core.DEFAULT_ENSEMBLE)
    try:
        return _core.forecast_fused(ensemble, t, y, u, targets, levels, params, extra=[*onnx, *others]), None
    except ValueError as exc:
        if not onnx:
            raise
        return _core.forecast_fused(ensemble, t, y, u, targets, levels, params, extra=list(others)), exc


# predict()'s ONNX models run one short-term forecast at a time: on the CPU, where clock-bolt
# took 0.4-0.6 ms against 1.2-1.9 ms launch-bound on an H200's CUDA (docs/gpu.md). The Engine's
# long-term model is where CUDA goes (engine.py, _add_slot).
SHORT_TERM_PROVIDERS = ["CPUExecutionProvider"]


def _file_identity(path: str) -> tuple:
    """What tells a file replaced or rewritten: device, inode, size, mtime and the inode's change
    time (None: absent). The change time, which no caller can set, tells a new file that was given
    a freed inode number and the old file's size and mtime (a reproducible build's) from the old one."""
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _pair_identity(path: str) -> tuple:
    """The identities (_file_identity) of a .onnx file and of its model card beside it."""
    return _file_identity(path), _file_identity(registry.card_path_of(path))


def load_onnx(path: str, make):
    """(make(), the identity of the file pair its successful load began with): make() loads the
    .onnx at `path` (an OnnxForecaster). A load that fails (ModelError) while the file or its card
    was being replaced is made again, twice at most: a re-export replaces the card, then the model,
    and a load in between had read one export's card with the other's graph ("the graph's context
    is 50, the model card says 64") and failed -- predict(model=PATH) then raised once."""
    from chronotick.errors import ModelError
    for attempt in range(3):
        before = _pair_identity(path)
        try:
            return make(), before
        except ModelError:
            if attempt == 2 or _pair_identity(path) == before:
                raise
    raise AssertionError("unreachable")


def _seen_path_forecaster(path):
    """_path_forecaster's kept forecaster of a path it has loaded before that was then its own
    real path (absolute, no symbolic link on the way) and whose stem is no model name, where
    the path still reaches the same file (_file_identity) and the card beside it is unchanged;
    else None (the full look-up). Both are looked up through the path as it resolves now, so a
    directory on the way replaced by a link elsewhere is seen through the card and the file as
    there (a path through links is resolved at every call, as before: a link retargeted to a hard
    link of the same file beside another card had kept the old card; review, session 33). It
    spares resolving the path again (os.path.realpath: an lstat per component) and, from
    onnx_forecaster, model_path's checks, which that file passed (a regular .onnx file)."""
    seen = _path_seen.get(path) if isinstance(path, str) else None
    if seen is None or os.path.splitext(os.path.basename(path))[0] in registry.names():
        return None
    with _onnx_lock:
        f = _onnx_cache.get(seen)
        if f is not None and getattr(f, "_file_identity", None) == _pair_identity(path):
            return f
    return None


def _path_forecaster(path: str):
    """The (cached, shared) OnnxForecaster of the .onnx file at `path` (predict(model=PATH)),
    named after the file's stem -- or, where the stem is another model's name (kalman.onnx,
    clock-bolt.onnx that is not the shipped file), after the path as given, as the Engine
    names such a file (its forecasts had read as the built-in model's). Cached by the file's
    real path and that name, and loaded again (and checked) when the file or its card was
    replaced or rewritten since."""
    from chronotick.models.onnx import OnnxForecaster
    f = _seen_path_forecaster(path)
    if f is not None:
        return f
    name = os.path.splitext(os.path.basename(path))[0]
    registered = name in registry.names()
    real = os.path.realpath(path)
    if registered and os.path.realpath(registry.onnx_models().get(name, "")) != real:
        name = os.fspath(path)
    key = ("path", real, name)
    with _onnx_lock:
        # taken before the load: a file replaced while it loads is loaded again at the next call
        ident = _pair_identity(real)
        f = _onnx_cache.get(key)
        if f is None or getattr(f, "_file_identity", None) != ident:
            _onnx_cache.pop(key, None)      # a failed reload leaves no stale model behind
            f, ident = load_onnx(real, lambda: OnnxForecaster(real, name=name, providers=SHORT_TERM_PROVIDERS))
            f._file_identity = ident
            _onnx_cache[key] = f
        if not registered and real == path:      # absolute, no link on the way
            if len(_path_seen) >= 256:
                _path_seen.clear()
            _path_seen[path] = key
        return f


def onnx_forecaster(name: str):
    """The (cached, shared) OnnxForecaster of a registered/shipped ONNX model.
    Cached by name, path AND registration: a name registered again loads
    (and checks) its file again, whether another file or the same path with
    new content (a re-export), not the one the name meant before; so does a
    file (or its card) replaced or rewritten since it was loaded, as for
    model=PATH (until 2026-12-05 the name kept serving the old model; audit). Its
    forecasts are named `name` (the registered name, not the file's stem:
    two exports both saved as model.onnx stay two models).
    `name` may also be a path to a .onnx file that is no registered name
    (registry.model_path): see _path_forecaster."""
    models = registry.onnx_models()
    if name not in models:
        f = _seen_path_forecaster(name)      # a file loaded before, unchanged: its checks passed
        if f is not None:
            return f
        path = registry.model_path(name)
        if path is not None:
            return _path_forecaster(path)
    path = models[name]
    gen = registry.generation(name)
    with _onnx_lock:
        ident = _pair_identity(os.fspath(path))   # taken before a load, as _path_forecaster's
        f = _onnx_cache.get(name)
        if f is None or f.path != os.fspath(path) or getattr(f, "_registry_generation", 0) != gen \
                or getattr(f, "_file_identity", None) != ident:
            from chronotick.models.onnx import OnnxForecaster
            _onnx_cache.pop(name, None)      # a failed reload leaves no stale model behind
            f, ident = load_onnx(path, lambda: OnnxForecaster(path, name=name, providers=SHORT_TERM_PROVIDERS))
            f._registry_generation, f._file_identity = gen, ident
            _onnx_cache[name] = f
        return f


def prepare(values, timestamps, uncertainty=None, delay=None, notes: list | None = None):
    """Validated (t, y, u) with NaN values (missing) dropped; with `delay`,
    u is uncertainty_from_delay of the kept values (notes, if given, gets why
    the delay weights are off, where they are)."""
    if delay is not None:
        if uncertainty is not None:
            raise ValueError("give uncertainty or delay, not both (delay only sets the uncertainty)")
        t, y, _ = prepare(values, timestamps)
        return t, y, _delay_sigma(values, delay, notes)
    if (uncertainty is None and type(values) is np.ndarray and type(timestamps) is np.ndarray
            and values.size and _core.scan_series(timestamps, values) == 0):
        return timestamps, values, None   # the common case, checked in one C++ pass
    y, has_nan = as_1d_float_nan(values, "values", allow_nan=True)
    if y.size == 0:
        raise ValueError("values is empty")
    if timestamps is None:
        t = np.arange(y.size, dtype=np.float64)
    else:
        t = as_1d_float(_datetimes_to_seconds(timestamps), "timestamps")
        if t.size != y.size:
            raise ValueError(f"timestamps has {t.size} entries, values has {y.size}")
        try:
            check_timestamps(t)
        except ValueError as exc:
            raise ValueError(f"{exc}{_coarse_dtype_hint(timestamps, t)}") from None
    try:
        u = check_uncertainty(uncertainty, y.size)
    except ValueError as exc:
        measured = int(np.count_nonzero(np.isfinite(y))) if has_nan else y.size
        if uncertainty is None or measured == y.size or np.size(uncertainty) != measured:
            raise
        raise ValueError(f"{exc} ({measured} of them measured, not NaN: uncertainty_from_delay returns one entry "
                         f"per measured value; pass delay= instead, or the measured values alone)") from None
    if has_nan:
        keep = np.isfinite(y)
        if not keep.any():
            raise ValueError(f"values are all NaN ({y.size} entries): nothing to forecast from")
        t, y = t[keep], y[keep]
        u = u[keep] if u is not None else None
    if u is not None and not np.all(np.isfinite(u)):
        u = np.where(np.isfinite(u), u, 0.0)   # 0 = unknown to the models
    return t, y, u


def _coarse_dtype_hint(timestamps, t: np.ndarray) -> str:
    """For timestamps given as a float type narrower than float64 (float32
    holds Unix times only to 128 s): a note naming that dtype and its
    resolution at the largest time, which is why times collapsed; "" else."""
    dtype = getattr(timestamps, "dtype", None)
    if t.size == 0:
        return ""
    hint = int_times_hint(timestamps)
    if hint:
        return hint
    if dtype is None or getattr(dtype, "kind", None) != "f" or dtype.itemsize >= 8:
        return ""
    big = float(np.max(np.abs(t)))
    res = float(np.spacing(np.asarray(big, dtype=dtype)))
    return (f" (timestamps came as {dtype}, whose resolution near {big:.6g} s is {res:g} s: pass them as "
            f"float64, or relative to a nearer origin)")


def uncertainty_from_delay(values, delay):
    """Each measurement's standard uncertainty from its round-trip delay.

    values: measured offsets (any unit; NaN = missing); delay: the same
    measurements' round-trip delays (any unit, >= 0; NaN = not recorded).
    Returns an array for the measured (non-NaN) values, in the values' unit,
    for `predict(..., uncertainty=...)` or `Engine.observe_many` -- or None
    when the window gives nothing to fit (fewer than 8 measurements, all
    delays equal, no scatter) or a measured value has no delay (NaN): as the
    Engine and the backtest, delay weights only where every measurement of
    the window has its delay (`predict(..., delay=)` says so in `fc.note`).

    The model (cpp/models/delay_noise.h, chrony's weighting of samples by
    their distance above the minimum): sigma_i = c (1 + k x_i / x_typ) with
    x_i = (delay_i - min delay) / 2, fitted on this window by maximum
    likelihood on each value's scatter about its neighbours; k = 0 (equal
    sigma, i.e. equal weights) unless the delays explain the scatter (BIC).
    `predict(values, ..., delay=d)` is the same as passing this as uncertainty
    with the measured values only (`values[~np.isnan(values)]` and their
    timestamps): where values hold NaN, this array is that much shorter.
    """
    return _delay_sigma(values, delay)


def _delay_sigma(values, delay, notes: list | None = None):
    y, _ = as_1d_float_nan(values, "values", allow_nan=True)
    d, _ = as_1d_float_nan(delay, "delay", allow_nan=True)
    if d.size != y.size:
        raise ValueError(f"delay has {d.size} entries, values has {y.size}")
    keep = np.isfinite(y)
    bad = np.flatnonzero(keep & ~(d >= 0) & ~np.isnan(d))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"delay[{i}] = {float(d[i])!r} where values[{i}] is measured: need a delay >= 0 "
                         f"(NaN: not recorded)")
    miss = np.flatnonzero(keep & np.isnan(d))
    if miss.size:
        # as the Engine: no delay weights for a window with a measurement lacking its delay
        if notes is not None:
            i = int(miss[0])
            notes.append(f"delay weights off: delay[{i}] is NaN (not recorded) where values[{i}] is measured "
                         f"({miss.size} such)")
        return None
    return _core.delay_noise(y[keep], d[keep])[0]


def _datetimes_to_seconds(x):
    """numpy datetime64 / pandas datetime timestamps (naive = UTC, or
    tz-aware) -> Unix seconds (float); anything else unchanged (validated by
    as_1d_float)."""
    seq = x if isinstance(x, (list, tuple)) else None
    if seq is None and getattr(getattr(x, "dtype", None), "kind", None) == "O":
        # an object array or Series of datetimes (pandas keeps tz-aware datetimes with mixed
        # UTC offsets, e.g. across a DST change, as objects)
        a = np.asarray(x.to_numpy() if callable(getattr(x, "to_numpy", None)) else x)
        seq = a if a.ndim == 1 else None
    if seq is not None and len(seq) and isinstance(seq[0], (datetime.datetime, np.datetime64)):
        if any(isinstance(d, datetime.datetime) and d.tzinfo is not None for d in seq):
            # tz-aware: to naive UTC here (numpy's own conversion warns once per item)
            seq = [d.astimezone(datetime.timezone.utc).replace(tzinfo=None)
                   if isinstance(d, datetime.datetime) and d.tzinfo is not None else d for d in seq]
        for i, d in enumerate(seq):
            # pandas' NaT among Timestamps: numpy's conversion below had failed with "'float' object
            # cannot be interpreted as an integer", naming no entry (an audit, 2026-12-06)
            if d is not None and not isinstance(d, np.datetime64) and d != d:
                raise ValueError(f"timestamps[{i}] = NaT is not a time")
        x = np.asarray(seq)   # numpy picks the finest unit of the items: no cast to [ns], which wraps
        if x.dtype.kind == "O":   # datetime.datetime objects (microsecond resolution), or mixed
            x = x.astype("datetime64[us]")
    dtype = getattr(x, "dtype", None)
    if getattr(dtype, "kind", None) != "M":
        return x
    if getattr(x, "tz", None) is not None:                          # tz-aware DatetimeIndex
        x = x.tz_convert(None)
    elif getattr(getattr(x, "dt", None), "tz", None) is not None:   # tz-aware Series
        x = x.dt.tz_convert(None)
    a = np.asarray(x)
    if np.isnat(a).any():
        i = int(np.flatnonzero(np.isnat(a))[0])
        raise ValueError(f"timestamps[{i}] = NaT is not a time")
    unit, count = np.datetime_data(a.dtype)
    per_s = {"ns": 1e9, "ps": 1e12, "fs": 1e15, "as": 1e18}.get(unit)
    if per_s is not None:   # finer than us: the integers as they are (a cast to [ns] could wrap)
        v = a.view(np.int64)
        return v / per_s if count == 1 else v.astype(np.float64) * (count / per_s)
    # us and coarser: to [us] (+-290,000 years); numpy up to 2.4 does not check the cast (the
    # round trip does), numpy 2.5 raises OverflowError (the first item that overflows is named)
    try:
        b = a.astype("datetime64[us]")
        bad = np.flatnonzero(b.astype(a.dtype) != a)
    except OverflowError:
        bad = np.array([next(i for i in range(a.size) if not _fits_us(a[i]))])
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"timestamps[{i}] = {a[i]} is out of range: a time must be within about "
                         f"290,000 years of 1970")
    return b.view(np.int64) / 1e6


def _fits_us(d: np.datetime64) -> bool:
    """Whether one datetime64 survives the cast to [us] and back."""
    try:
        return d.astype("datetime64[us]").astype(d.dtype) == d
    except OverflowError:
        return False


def _median_spacing(t: np.ndarray) -> float:
    """Median of the newest (up to 64) measurement spacings; 1.0 for one measurement."""
    return _core.median_spacing(t)


def target_times(t: np.ndarray, horizon, horizon_s, step_s) -> tuple[np.ndarray, float]:
    if step_s is None:
        step = _median_spacing(t)
    else:
        step = positive_number(step_s, "step_s")
    if horizon_s is not None:
        hs = positive_number(horizon_s, "horizon_s")
        r = hs / step
        if not math.isfinite(r):   # e.g. 1e308 / 1e-10, where math.ceil overflows
            raise ValueError(f"horizon_s / step_s = {hs!r} / {step!r} = {r} steps is absurd "
                             f"(more than {MAX_HORIZON:,})")
        # at least one step: a horizon_s shorter than a step (even below the 1e-9-step
        # tolerance for float error in hs / step) is reached by the first step
        n = max(1, math.ceil(r - 1e-9))
        if horizon is not None and horizon_steps(horizon) != n:
            raise ValueError(f"horizon = {horizon} and horizon_s = {hs!r} disagree: horizon_s / step_s = "
                             f"{hs / step:g} steps")
        h = horizon_steps(n, "horizon_s / step_s")
    else:
        h = horizon_steps(DEFAULT_HORIZON if horizon is None else horizon)
    # the last target in Python floats first (inf on overflow, no warning): finite, so is every
    # target, and numpy's grid below computes that last one the same way
    if not math.isfinite(float(t[-1]) + step * h):
        what = "step_s" if step_s is not None else "the median measurement spacing (the default step_s)"
        raise ValueError(f"the forecast times overflow: the last timestamp {float(t[-1])!r} + {h} steps of {what} "
                         f"= {step!r} s is beyond the largest float; use timestamps relative to a nearer origin")
    last = float(t[-1])
    # float steps: no int -> float promotion per call; one step without numpy's arange (the same sum)
    targets = np.array([last + step]) if h == 1 else last + step * np.arange(1.0, h + 1.0)
    if horizon_s is not None:
        # step * h can fall short of horizon_s by rounding (0.3 * 3 = 0.8999999999999999) or by
        # the 1e-9-step tolerance above: the last target is then origin + horizon_s itself, so
        # that the forecast reaches what was asked and fc.at(origin + horizon_s) is in range
        end = float(t[-1]) + hs
        if targets[-1] < end < math.inf:
            targets[-1] = end
    if not (targets[0] > last and (h == 1 or (targets[1:] > targets[:-1]).all())):
        # a step below the resolution of float64 times this large: the grid would collapse
        # onto the origin (or repeat times)
        what = "step_s" if step_s is not None else "the median measurement spacing (the default step_s)"
        raise ValueError(f"{what} = {step!r} s is too small for timestamps near {float(t[-1])!r}: their "
                         f"resolution there is {float(np.spacing(abs(targets[-1]))):.3g} s, so the forecast "
                         f"times would not increase; use a larger step_s (or timestamps relative to a "
                         f"nearer origin)")
    return targets, step


def classical_forecast(model: str, t, y, u, targets, levels, params=None):
    """One classical model's forecast; where the model cannot forecast from
    these measurements (too few, degenerate), the core's hold fallback, its
    `.model` saying "hold (fallback: <the model's own note>)"."""
    args = (t, y, u, targets, levels) if params is None else (t, y, u, targets, levels, params)
    fc = _core.forecast(model, *args)
    if fc.ok or model == "hold":
        return fc
    fb = _core.forecast_fused([model], *args).forecast
    if not fb.ok:
        return fc
    return SimpleNamespace(model=f"hold (fallback: {fc.note})", times=fb.times, levels=fb.levels, mean=fb.mean,
                           quantiles=fb.quantiles, std=fb.std, ok=True, note=fb.note)


def dropped_note(model: str, note: str) -> str:
    """The note for a dropped member, from its own failure note, which names the member already
    ("dropped kalman: kalman: ..." had said it twice; as the core's fusion says it)."""
    return f"dropped {model}: {note.removeprefix(model + ': ')}"


def forecast_members(model: str, t, y, u, targets, levels, temperature=None, params=None):
    """(QuantileForecast, weights dict, note) for a validated model name.

    "fused"/"auto": the classical ensemble (plus, for "auto", the shipped
    ONNX model AUTO_ONNX when present and able to reach the targets; plus the
    temperature regression when `temperature` is given), fused in the core
    with weights 1/MAE^2 of each member's recent errors at each target's
    lead. note: why AUTO_ONNX was left out ("" if not). params: the
    classical models' _core.ModelParams (None: the defaults; the backtest's
    window selection varies them)."""
    p = params if params is not None else _core.ModelParams()
    if temperature is not None:
        if model == "regression":
            fc = _core.forecast_tempcomp(t, y, u, temperature, targets, levels, p)
            if fc.ok:
                return fc, {fc.model: np.ones(targets.size)}, ""
            # too little history or a degenerate temperature (e.g. constant): the plain
            # regression (itself falling back to hold), the temperature term dropped with a
            # note, as "fused" drops the member
            fb = classical_forecast("regression", t, y, u, targets, levels, params)
            return fb, {fb.model.split(" ")[0]: np.ones(targets.size)}, dropped_note("regression+temp", fc.note)
        if model not in (registry.FUSED, registry.AUTO):
            raise ValueError(f"covariates are used by model='regression', 'fused' or 'auto' only, got model={model!r}")
    if model in registry.CLASSICAL:
        fc = classical_forecast(model, t, y, u, targets, levels, params)
        return fc, {fc.model.split(" ")[0]: np.ones(targets.size)}, ""
    if model in (registry.FUSED, registry.AUTO):
        onnx, extra, note = [], [], ""
        if t.size >= p.min_history:   # else the core's too-little-history fallback
            if model == registry.AUTO and AUTO_ONNX in registry.onnx_models():
                # optional in "auto": fused at the targets it reaches (NaN past its
                # horizon); reaching none, or failing, it is left out with a note and
                # the classical fusion stands.
                # Its past predictions at the calibration pairs let the core weigh it
                # by its recent error at each lead and calibrate the fused intervals
                # with it included.
                try:
                    f = onnx_forecaster(AUTO_ONNX)
                    # t, y, targets checked here already (prepare, target_times): from 2 measurements
                    # on the forecaster's own entry without its checks, its grid step computed once
                    # (with fewer the public ones, which say why it cannot forecast)
                    step = f._step(t) if t.size >= 2 else None
                    cells = f.observed_cells(t) if step is None else f._observed_cells(t, step)
                    if cells < p.min_history:
                        note = f"{AUTO_ONNX} left out: {_few_cells(f, t, cells, p.min_history)}"
                    else:    # NaN past its horizon
                        fc, *past = (f.forecast_with_past(t, y, targets, levels, params) if step is None else
                                     f._forecast_with_past(t, y, targets, levels, params, None, step=step))
                        if fc is None:
                            note = f"{AUTO_ONNX} left out: {f.out_of_reach(t, targets)}"
                        else:
                            onnx.append((fc, *past))
                except Exception as exc:  # noqa: BLE001 - any failure of the optional member
                    note = f"{AUTO_ONNX} left out: {exc}"
            if temperature is not None:
                extra.append((_core.forecast_tempcomp(t, y, u, temperature, targets, levels, p), None, None))
        elif model == registry.AUTO and AUTO_ONNX in registry.onnx_models():
            note = f"{AUTO_ONNX} left out: {t.size} measurements < min_history {p.min_history}"
        if temperature is not None and t.size < p.min_history:
            # said, as every other dropped member is (it had been dropped silently; an audit, 2026-12-06)
            why = f"dropped regression+temp: {t.size} measurements < min_history {p.min_history}"
            note = f"{note}; {why}" if note else why
        fused, rejected = fuse_with_onnx(t, y, u, targets, levels, p, onnx, extra)
        if rejected is not None:
            note = f"{AUTO_ONNX} left out: the fusion rejected its output ({rejected})"
        w = fused.weights   # one conversion, not one per member
        return fused.forecast, dict(zip(fused.member_names, w)), note
    if t.size < 2:   # an ONNX model needs a spacing: the core's too-little-history fallback
        fc = _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, u, targets, levels, p).forecast
        return fc, {"hold": np.ones(targets.size)}, ""
    f = onnx_forecaster(model)
    step = f._step(t)        # once for the cells and the reach (t: checked, >= 2 measurements)
    cells = f._observed_cells(t, step)
    if cells < p.min_history:
        # as too little history for a classical model: the core's fallback, saying why
        fc = _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, u, targets, levels, p)
        return (fc.forecast, dict(zip(fc.member_names, fc.weights)),
                f"{f.name} cannot forecast: {_few_cells(f, t, cells, p.min_history)}: the classical fusion instead")
    reach = f._reach(t, step)
    if targets[-1] > reach:
        # in the caller's terms (its horizon), not the forecaster's "target_times[k]" (predict()
        # made those; its default horizon of 64 steps is beyond a model exported with a shorter one)
        fit = int(np.count_nonzero(targets <= reach))
        ahead = f.horizon * f._step(t)
        how = (f"pass horizon <= {fit} (or horizon_s <= {ahead:.6g})" if fit else
               f"pass a step_s (now {float(targets[0] - t[-1]):.6g} s) and horizon_s of at most {ahead:.6g} s")
        label = model if f.name == model else f"{f.name} ({model})"    # a path: its name, then the path
        raise ValueError(f"model {label} forecasts at most {f.horizon} steps of {f._step(t):.6g} s = "
                         f"{ahead:.6g} s ahead of the newest measurement (its exported prediction_length); "
                         f"{targets.size} forecast times reaching {float(targets[-1] - t[-1]):.6g} s ahead "
                         f"were asked for: {how}, or use model='auto' / 'fused' further ahead")
    fc = f.forecast(t, y, targets, levels)
    return fc, {fc.model: np.ones(targets.size)}, ""


def _few_cells(f, t, cells: int, min_history: int) -> str:
    """Why an ONNX model is not used on this history (OnnxForecaster.observed_cells)."""
    return (f"its window ({f.context} cells of {f._step(t):.6g} s) holds {cells} measured "
            f"cell{'s' if cells != 1 else ''} < min_history {min_history}")


def predict(values, timestamps=None, *, horizon=None, horizon_s=None, step_s=None, model="auto",
            quantile_levels=(0.1, 0.5, 0.9), covariates=None, uncertainty=None, delay=None) -> Forecast:
    """Forecast the offset ahead of the last measurement.

    values: measured offsets (any unit; the forecast is in the same unit),
    NaN = missing. timestamps: measurement times in seconds (or numpy/pandas
    datetimes, taken as Unix seconds UTC), strictly increasing, may be
    irregular; None = a regular series with step 1.
    horizon: steps ahead (default 64) or horizon_s: seconds ahead; step_s:
    the forecast grid (default: the median measurement spacing). Forecast
    times are last timestamp + step_s * (1 .. horizon); with horizon_s,
    horizon = ceil(horizon_s / step_s) (at least 1) and the last forecast
    time is at least last timestamp + horizon_s. "Last timestamp" is that of
    the newest measured (non-NaN) value: trailing NaN values are dropped as
    any other, so after a failed last poll the grid starts at the poll before
    it (ask for a longer horizon_s to reach past it).
    model: "auto" (the best available: the fused classical ensemble, plus the
    shipped clock model when present), "fused", "hold", "robust",
    "regression", "kalman", an ONNX model name (chronotick.models.names()), or
    the path (str or os.PathLike) of an exported .onnx file, its model card the
    .json beside it: loaded and checked as a registered model (a missing file
    is a FileNotFoundError, a file that is not a .onnx model a ValueError or
    chronotick.errors.ModelError, each naming the path), kept loaded by its
    real path and reloaded when the file or its card is replaced; its
    forecasts are named after the file's stem (`fc.model`, `fc.weights`; after the path
    where the stem is another model's name, e.g. kalman.onnx).
    An ONNX model forecasts once min_history (8) cells of its window hold a
    measurement (after a gap longer than its window: the measurements since);
    before, the classical fusion stands in ("auto": the model is left out),
    `fc.note` saying so.
    quantile_levels: in (0, 1), strictly increasing.
    Where the model, and for a classical model its hold fallback, cannot
    forecast from these values (e.g. values near the float64 limit, or an
    ONNX model whose output is not finite): chronotick.errors.ForecastError
    (a RuntimeError), naming the model and why. An ONNX model given a window
    its float32 input cannot carry (centred values beyond ~3.4e38, or
    variations below float32's normal range, ~1.2e-38): ValueError saying so
    (the data's fault, not the model's; "auto" leaves the model out instead).
    covariates: {"temperature": array aligned with values (deg C)}: a
    regression with a temperature term (chrony tempcomp-style); it is the
    model for model="regression" and joins the fusion for "fused"/"auto".
    An empty dict is the same as None (no covariates). Where the temperature
    regression cannot be fitted (too little history, a constant temperature),
    "regression" falls back to the plain regression and "fused"/"auto" drop
    that member, with `fc.note` saying why.
    uncertainty: per-measurement standard uncertainty (same unit as values,
    > 0; NaN: unknown for that measurement), weighting the regression and
    Kalman models; None = unknown. 0 is refused: the models weigh by 1/u^2,
    so give an exact reference's resolution (e.g. 1e-9 s for PPS).
    delay: instead of uncertainty, each measurement's round-trip delay (any
    unit): the uncertainty is then `uncertainty_from_delay(values, delay)`,
    a noise scale growing with the delay above the window's minimum where
    this window's scatter shows it does (NTP; see that function). A NaN
    delay at a measured value (not recorded: a loaded trace's missing cell)
    turns the delay weights off for this forecast, as in the Engine and the
    backtest, with `fc.note` saying so.

    Returns a chronotick.Forecast: fc.times, fc.mean, fc.quantiles
    [horizon, len(quantile_levels)], fc.std, fc.model, fc.weights (member ->
    fusion weight per step), fc.interval(level), fc.at(t, level). The levels
    0.025/0.1/0.25/0.5/0.75/0.9/0.975 are always computed as well, so
    fc.interval(0.5 / 0.8 / 0.95) is exact; other levels are derived between
    calibrated ones (see chronotick.forecast). A quantile level asked for
    beyond those is calibrated in a second run and held between its two
    neighbours among them, so asking for it changes none of them (pinned_levels).
    fc.at(t) is defined for last timestamp (of a measured value) < t <= fc.times[-1].

    Too little history is not an error: the forecast falls back to `hold`
    with a wide interval and `fc.model` says so ("hold (fallback: ...)"). Intervals are calibrated on
    the model's own past errors at the same lead (see docs/backtest.md for
    the coverage this achieves on real traces).
    """
    path = registry.model_path(model)
    if path is None:
        registry.check_name(model)
    else:
        model = path
    delay_notes: list[str] = []
    t, y, u = prepare(values, timestamps, uncertainty, delay, delay_notes)
    user_levels = _check_levels(quantile_levels)
    levels = with_base_levels(user_levels)
    targets, _ = target_times(t, horizon, horizon_s, step_s)
    temp = None if covariates is None or (isinstance(covariates, Mapping) and not covariates) else \
        _temperature(covariates, values)
    fc, weights, note = pinned_levels(lambda lv: forecast_members(model, t, y, u, targets, lv, temp), levels)
    if not fc.ok:
        raise ForecastError(f"model {model!r} failed: {fc.note}")
    # the weights are forecast_members' own new arrays: made read-only in place
    out = Forecast.from_core(fc, weights, levels=user_levels, origin=float(t[-1]), own_weights=True)
    note = "; ".join(n for n in (note, *delay_notes) if n)
    if note:
        out.note = f"{out.note}; {note}" if out.note else note
    return out


def _temperature(covariates, values) -> np.ndarray:
    """The temperature covariate aligned with the kept (non-NaN) values."""
    if not isinstance(covariates, Mapping):
        raise TypeError(f"covariates must be a dict name -> array, got {type(covariates).__name__}")
    unknown = sorted(set(covariates) - {"temperature"})
    if unknown:
        raise ValueError(f"covariates: unknown name {unknown[0]!r}; supported: 'temperature'")
    y = as_1d_float(values, "values", allow_nan=True)
    temp = as_1d_float(covariates["temperature"], "covariates['temperature']", allow_nan=True)
    if temp.size != y.size:
        raise ValueError(f"covariates['temperature'] has {temp.size} entries, values has {y.size}")
    bad = np.flatnonzero(np.isfinite(y) & ~np.isfinite(temp))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"covariates['temperature'][{i}] = {float(temp[i])!r} where values[{i}] is measured")
    return temp[np.isfinite(y)]
