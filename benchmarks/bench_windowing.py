"""Windowing irregular measurements onto a model's grid, side by side with
the same computation in numpy (np.interp + gap mask + centring + scale).

    PYTHONPATH=python pytest benchmarks/bench_windowing.py --benchmark-only --benchmark-group-by=group

Groups (compare the rows within a group; goal: make_window >= 10x faster):
- window-512: context 512, step 64 s, over 2000 irregular measurements
  (30-90 s apart, some long gaps) on a 1.7e9 s epoch with ~1e-6 s steps.
- window-512-long-history: the same grid over 100 000 measurements (the
  whole buffer passed in; only the tail is in the window). make_window
  checks all n times and values (O(n)); the numpy version checks nothing
  and touches only O(log n + context), so numpy can win here.
- window-512-batch-64: 64 series of 2000: make_windows (one call) vs a
  Python loop of make_window vs a loop of the numpy version.
The numpy version gives the same output (checked) and is written for speed
(searchsorted instead of boolean masks, std of the observed values).
"""
from __future__ import annotations

import numpy as np
import pytest

from chronotick import _core

STEP, CONTEXT, GAP = 64.0, 512, 300.0


def series(n, seed):
    rng = np.random.default_rng(seed)
    dt = rng.uniform(30, 90, n)
    dt[rng.random(n) < 0.01] = 600.0  # some gaps longer than GAP
    t = 1.7e9 + np.cumsum(dt)
    y = 0.25 + np.cumsum(rng.normal(0, 1e-6, n))
    return t, y


def numpy_window(t, y, end, step, context, max_gap):
    """What make_window computes, in numpy, written for speed: (values float32, mask, times, level, scale)."""
    m = np.searchsorted(t, end, side="right")  # t <= end
    t, y = t[:m], y[:m]
    level = y[-1]
    g = end - (context - 1 - np.arange(context)) * step
    j = np.searchsorted(t, g)
    jc = np.minimum(j, t.size - 1)
    gap = t[jc] - t[np.maximum(j - 1, 0)]
    ok = (t[jc] == g) | ((g > t[0]) & (g < t[-1]) & (gap <= max_gap))
    c = np.interp(g, t, y) - level
    observed = c[ok]
    scale = float(observed.std()) if observed.size >= 2 else 1.0
    c[~ok] = np.nan
    return c.astype(np.float32), ok, g, level, scale if scale > 0 else 1.0


CASES = {"window-512": series(2000, 0), "window-512-long-history": series(100_000, 1)}


def check_same(w, ref):
    values, ok, g, level, scale = ref
    assert np.array_equal(w.mask, ok) and np.array_equal(w.times, g) and w.level == level
    np.testing.assert_allclose(w.values[ok], values[ok], rtol=1e-6, atol=1e-13)
    assert w.scale == pytest.approx(scale, rel=1e-9)


@pytest.mark.parametrize("group", list(CASES))
def test_make_window(benchmark, group):
    benchmark.group = group
    t, y = CASES[group]
    w = benchmark(_core.make_window, t, y, t[-1], STEP, CONTEXT, GAP)
    assert 0 < w.mask.sum() < CONTEXT  # the gaps are in the window
    check_same(w, numpy_window(t, y, t[-1], STEP, CONTEXT, GAP))


@pytest.mark.parametrize("group", list(CASES))
def test_numpy_window(benchmark, group):
    benchmark.group = group
    t, y = CASES[group]
    benchmark(numpy_window, t, y, t[-1], STEP, CONTEXT, GAP)


BATCH = [series(2000, 10 + b) for b in range(64)]


@pytest.mark.benchmark(group="window-512-batch-64")
def test_make_windows_batch(benchmark):
    ts, ys = [t for t, _ in BATCH], [y for _, y in BATCH]
    ends = np.array([t[-1] for t in ts])
    ws = benchmark(_core.make_windows, ts, ys, ends, STEP, CONTEXT, GAP)
    assert ws.values.shape == (64, CONTEXT)
    check_same(_core.make_window(ts[5], ys[5], ends[5], STEP, CONTEXT, GAP),
               numpy_window(ts[5], ys[5], ends[5], STEP, CONTEXT, GAP))
    np.testing.assert_array_equal(ws.values[5], _core.make_window(ts[5], ys[5], ends[5], STEP, CONTEXT, GAP).values)


@pytest.mark.benchmark(group="window-512-batch-64")
def test_make_window_loop(benchmark):
    benchmark(lambda: [_core.make_window(t, y, t[-1], STEP, CONTEXT, GAP) for t, y in BATCH])


@pytest.mark.benchmark(group="window-512-batch-64")
def test_numpy_window_loop(benchmark):
    benchmark(lambda: [numpy_window(t, y, t[-1], STEP, CONTEXT, GAP) for t, y in BATCH])


# ---- the window the forecast path builds (2026-12-06, a review) ---------------------------------
# make_window (above) is not what the ONNX member uses: OnnxForecaster bins onto its grid with
# _core.nearest_window (cell means, NaN gaps, the newest value subtracted), whose numpy reference is
# chronotick.models.onnx.window (tests/test_onnx_window_parity.py pins them bit-equal). Group
# "nearest-window-256": clock-bolt's context, step = the median spacing, 2000 irregular measurements.

def _nearest_case():
    t, y = series(2000, 11)
    step = float(np.median(np.diff(t[-65:])))
    return t, y, step


@pytest.mark.benchmark(group="nearest-window-256")
def test_nearest_window(benchmark):
    from chronotick.models.onnx import window
    t, y, step = _nearest_case()
    got, level = benchmark(_core.nearest_window, t, y, float(t[-1]), step, 256, None)
    ref = window(t, y, float(t[-1]), step, 256)
    np.testing.assert_array_equal(got, ref.values)
    assert level == ref.level


@pytest.mark.benchmark(group="nearest-window-256")
def test_nearest_window_numpy_reference(benchmark):
    from chronotick.models.onnx import window
    t, y, step = _nearest_case()
    ref = benchmark(window, t, y, float(t[-1]), step, 256)
    assert ref.values.shape == (256,)
