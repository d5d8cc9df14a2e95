"""Input checks shared by `predict` and the `Engine`: every error names the
argument and the offending index or value."""
from __future__ import annotations

import math
import numbers

import numpy as np

MAX_HORIZON = 1_000_000


def is_real(v) -> bool:
    """A Python or numpy real number, not a bool."""
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def is_int(v) -> bool:
    """A Python or numpy integer, not a bool."""
    return isinstance(v, numbers.Integral) and not isinstance(v, bool)


def as_1d_float(x, name: str, *, allow_nan: bool = False) -> np.ndarray:
    """A 1-D float64 array from a list, numpy array or pandas Series.
    Rejects strings/objects, 2-D input, inf, and NaN unless allowed."""
    return as_1d_float_nan(x, name, allow_nan=allow_nan)[0]


def as_1d_float_nan(x, name: str, *, allow_nan: bool = False) -> tuple[np.ndarray, bool]:
    """as_1d_float and whether the array holds a NaN (only possible with allow_nan)."""
    if x is None:
        raise TypeError(f"{name} must be a 1-D sequence of numbers, got None")
    if isinstance(x, (str, bytes)):
        raise TypeError(f"{name} must be a 1-D sequence of numbers, got {type(x).__name__}")
    orig = x
    if isinstance(x, np.ma.MaskedArray):
        # np.asarray drops the mask (the masked entries' data would be used as measured): masked
        # entries are missing values, as NaN, where NaN is allowed, else an error
        mask, x = np.ma.getmaskarray(x), np.ma.getdata(x)
        if mask.any() and x.dtype.kind in "fiu" and x.ndim == 1:
            if not allow_nan:
                i = int(np.flatnonzero(mask)[0])
                raise ValueError(f"{name}[{i}] is masked: {name} cannot have missing entries")
            x = x.astype(np.float64, copy=True)
            x[mask] = np.nan
    if type(x) is not np.ndarray:
        values = getattr(x, "to_numpy", None)
        try:
            x = np.asarray(values() if callable(values) else x)
        except ValueError:   # ragged nesting
            raise TypeError(f"{name} must be a 1-D sequence of numbers, got a ragged nested sequence") from None
    if x.dtype.kind == "O" and x.ndim == 1 and all(is_real(v) for v in x.tolist()):
        # Python ints beyond int64 (2**70) make an object array: as floats, or named if beyond
        # float's range too (10**400)
        for i, v in enumerate(x.tolist()):
            try:
                float(v)
            except OverflowError:
                raise ValueError(f"{name}[{i}] is an integer of {len(str(abs(v)))} digits, beyond float's "
                                 f"range") from None
        x = x.astype(np.float64)
    if x.dtype.kind not in "fiu":   # float, signed, unsigned; not bool, complex, object, str
        raise TypeError(f"{name} must hold real numbers, got dtype {x.dtype}{_first_non_number(orig, x, name)}")
    if x.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {x.shape}")
    arr = x.astype(np.float64, copy=False)
    # sum is NaN/inf exactly when an element is (cheap fast path; overflow
    # to inf on huge finite values only costs the exact check below).
    if math.isfinite(arr.sum()):
        return arr, False
    bad = np.isinf(arr) if allow_nan else ~np.isfinite(arr)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name}[{i}] = {float(arr[i])!r} is not finite")
    return arr, bool(np.isnan(arr).any())


def _first_non_number(orig, x: np.ndarray, name: str) -> str:
    """' (name[i] = v)' for the first element that is not a real number."""
    seq = orig if isinstance(orig, (list, tuple)) else (x if x.ndim == 1 else None)
    if seq is None:
        return ""
    for i, v in enumerate(seq):
        v = v.item() if isinstance(v, np.generic) else v
        if isinstance(v, bool) or not isinstance(v, numbers.Real):
            return f" ({name}[{i}] = {v!r})"
    return ""


def check_timestamps(t: np.ndarray, name: str = "timestamps") -> np.ndarray:
    if t.size > 1 and not (t[1:] > t[:-1]).all():
        d = np.diff(t)
        bad = np.flatnonzero(~(d > 0))
        if bad.size:
            i = int(bad[0]) + 1
            raise ValueError(f"{name} must be strictly increasing: {name}[{i}] = {float(t[i])!r} after "
                             f"{name}[{i - 1}] = {float(t[i - 1])!r}")
    return t


def _no_time_type(x, name: str, what: str) -> None:
    """numpy's timedelta64 / datetime64 count as integers to `numbers` (a timedelta64 of 5 ns had
    been taken as 5 steps, one of 60 s was a TypeError naming no argument; an audit, 2026-12-05)."""
    if isinstance(x, (np.timedelta64, np.datetime64)):
        raise TypeError(f"{name} must be {what}, got numpy {type(x).__name__} {x!r}"
                        + (f" (in seconds: {name}=td / np.timedelta64(1, 's'))" if isinstance(x, np.timedelta64)
                           and what.startswith("a number") else ""))


def positive_number(x, name: str, *, allow_none: bool = False):
    if x is None and allow_none:
        return None
    _no_time_type(x, name, "a number (seconds)")
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        raise TypeError(f"{name} must be a number, got {type(x).__name__} {x!r}")
    try:
        x = float(x)
    except OverflowError:      # an int beyond float's range (10**400): not a finite number of seconds
        raise ValueError(f"{name} must be finite and > 0, got an integer of {len(str(abs(x)))} digits, "
                         f"beyond float's range") from None
    if not math.isfinite(x) or x <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {x!r}")
    return x


def horizon_steps(horizon, name: str = "horizon") -> int:
    _no_time_type(horizon, name, "an integer number of steps (horizon_s: seconds)")
    if isinstance(horizon, bool) or not isinstance(horizon, numbers.Integral):
        if isinstance(horizon, (float, np.floating)) and math.isfinite(horizon) and float(horizon).is_integer():
            horizon = int(horizon)     # 8.0 as 8, a numpy float too (np.float32(8.0) had been a TypeError)
        else:
            raise TypeError(f"{name} must be an integer number of steps, got {type(horizon).__name__} {horizon!r}")
    horizon = int(horizon)
    if horizon <= 0:
        raise ValueError(f"{name} must be > 0 steps, got {horizon}")
    if horizon > MAX_HORIZON:
        raise ValueError(f"{name} = {horizon} steps is absurd (more than {MAX_HORIZON:,})")
    return horizon


_DEFAULT_LEVELS = (0.1, 0.5, 0.9)
_DEFAULT_LEVELS_ARRAY = np.array(_DEFAULT_LEVELS)
_DEFAULT_LEVELS_ARRAY.flags.writeable = False   # shared by every call that uses the default


MIN_TAIL = 1e-6   # the most extreme quantile level accepted: [MIN_TAIL, 1 - MIN_TAIL]


def quantile_levels(levels, name: str = "quantile_levels") -> np.ndarray:
    """The levels as a float64 array, each in [MIN_TAIL, 1 - MIN_TAIL],
    strictly increasing."""
    if isinstance(levels, tuple) and levels == _DEFAULT_LEVELS:
        return _DEFAULT_LEVELS_ARRAY
    if isinstance(levels, tuple) and all(type(v) is float for v in levels):   # a literal: no numpy checks
        ok = all(MIN_TAIL <= v <= 1 - MIN_TAIL for v in levels) and all(a < b for a, b in zip(levels, levels[1:])) \
            and levels
        if ok:
            return np.array(levels)
    lv = as_1d_float(levels, name)
    if lv.size == 0:
        raise ValueError(f"{name} is empty")
    bad = np.flatnonzero(~((lv > 0) & (lv < 1)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {float(lv[i])!r} is not in (0, 1)")
    bad = np.flatnonzero(~((lv >= MIN_TAIL) & (lv <= 1 - MIN_TAIL)))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {float(lv[i])!r} is too far in the tail: levels must be in "
                         f"[{MIN_TAIL}, 1 - {MIN_TAIL}] (no history calibrates a one-in-a-million tail, "
                         f"and near 0 or 1 the central coverage 1 - 2 min(l, 1 - l) rounds to 1)")
    d = np.flatnonzero(~(np.diff(lv) > 0))
    if d.size:
        i = int(d[0]) + 1
        raise ValueError(f"{name} must be strictly increasing: {name}[{i}] = {float(lv[i])!r} "
                         f"after {float(lv[i - 1])!r}")
    return lv


def uncertainty(u, n: int, name: str = "uncertainty"):
    if u is None:
        return None
    arr = as_1d_float(u, name, allow_nan=True)
    if arr.size != n:
        raise ValueError(f"{name} has {arr.size} entries, values have {n}")
    neg = np.flatnonzero(arr < 0)
    if neg.size:
        i = int(neg[0])
        raise ValueError(f"{name}[{i}] = {float(arr[i])!r} is negative")
    zero = np.flatnonzero(arr == 0)
    if zero.size:
        i = int(zero[0])
        raise ValueError(f"{name}[{i}] = 0.0: {ZERO_UNCERTAINTY}, or NaN / None for unknown")
    return arr


# Why an uncertainty of 0 is refused (predict, Engine.observe/observe_many). The models weigh
# measurements by 1/u^2 relative to the window's others: 0 is no weight they can give, and until
# 2026-12-05 it was silently weighed as an unknown u while 1e-9 took all the weight (an audit).
ZERO_UNCERTAINTY = ("an uncertainty must be > 0 (an exact measurement still has a resolution: "
                    "give it, e.g. 1e-9 s for PPS)")


def int_times_hint(raw) -> str:
    """For timestamps given as integers beyond 2^53 (nanoseconds since 1970 are ~1.7e18), which
    float64 seconds cannot keep apart: a note saying so, for an error about times that collapsed
    (not increasing); "" else."""
    try:
        a = np.asarray(raw)
    except (ValueError, TypeError):
        return ""
    if a.dtype.kind not in "iu" or a.size == 0:
        return ""
    big = float(np.max(np.abs(a.astype(np.float64))))
    if big < 2.0 ** 53:
        return ""
    return (f" (timestamps came as integers up to {big:.6g}, beyond 2^53, where float64 seconds keep only "
            f"steps of {float(np.spacing(big)):g}: timestamps are seconds -- for nanoseconds pass t / 1e9, "
            f"relative to a nearer origin where they are under a microsecond apart)")
