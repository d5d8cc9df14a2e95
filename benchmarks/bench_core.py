"""Core latency, side by side with what a user would otherwise write.

    pytest benchmarks/bench_core.py --benchmark-only --benchmark-group-by=group

Groups (compare the rows within a group; ratios in docs/performance.md):
- push: MeasurementBuffer.push vs collections.deque.append (one measurement).
- bulk-push: MeasurementBuffer.push_many of 1e6 samples vs numpy concatenation
  onto a growing array and vs deque.extend (goal: <= 5 ms).
- window: _core.make_window (context 512 over ~2000 irregular measurements)
  vs the same in numpy (np.interp + gap mask + centring) (goal: >= 10x).
- predict: chronotick.predict (classical fusion, 64 measurements, 1 step)
  vs a numpy least-squares line extrapolation (goal: <= 200 us per call),
  and each classical model alone.
"""
from __future__ import annotations

import collections

import numpy as np
import pytest

import chronotick
from chronotick import _core

RNG = np.random.default_rng(0)
T_BIG = np.cumsum(RNG.uniform(0.5, 1.5, 1_000_000)) + 1.7e9
Y_BIG = RNG.normal(0, 1e-3, 1_000_000)


@pytest.mark.benchmark(group="push")
def test_push_ring(benchmark):
    b = _core.MeasurementBuffer(4096)
    benchmark(b.push, 1.7e9, 1e-3, 1e-4)


@pytest.mark.benchmark(group="push")
def test_push_deque(benchmark):
    d = collections.deque(maxlen=4096)
    benchmark(d.append, (1.7e9, 1e-3, 1e-4))


@pytest.mark.benchmark(group="bulk-push")
def test_bulk_push_ring(benchmark):
    b = _core.MeasurementBuffer(1_000_000)
    benchmark(b.push_many, T_BIG, Y_BIG)
    assert len(b) == 1_000_000


@pytest.mark.benchmark(group="bulk-push")
def test_bulk_push_numpy_concatenate(benchmark):
    held = np.empty((0, 3))

    def push():
        rows = np.column_stack([T_BIG, Y_BIG, np.full(T_BIG.size, np.nan)])
        return np.concatenate([held, rows])[-1_000_000:]
    benchmark(push)


@pytest.mark.benchmark(group="bulk-push")
def test_bulk_push_deque_extend(benchmark):
    def push():
        d = collections.deque(maxlen=1_000_000)
        d.extend(zip(T_BIG.tolist(), Y_BIG.tolist()))
        return d
    benchmark.pedantic(push, rounds=3, iterations=1)


T_W = 1.7e9 + np.cumsum(RNG.uniform(30, 90, 2000))
Y_W = np.cumsum(RNG.normal(0, 1e-5, 2000))
STEP, CONTEXT, GAP = 64.0, 512, 300.0


def numpy_window(t, y, end, step, context, max_gap):
    m = t <= end
    t, y = t[m], y[m]
    level = y[-1]
    g = end - (context - 1 - np.arange(context)) * step
    v = np.interp(g, t, y)
    j = np.searchsorted(t, g)
    jc = np.minimum(j, t.size - 1)
    gap = t[jc] - t[np.maximum(j - 1, 0)]
    ok = (t[jc] == g) | ((g > t[0]) & (g < t[-1]) & (gap <= max_gap))
    return np.where(ok, v - level, np.nan).astype(np.float32), ok, level


@pytest.mark.benchmark(group="window")
def test_window_core(benchmark):
    w = benchmark(_core.make_window, T_W, Y_W, T_W[-1], STEP, CONTEXT, GAP)
    ref, ok, _ = numpy_window(T_W, Y_W, T_W[-1], STEP, CONTEXT, GAP)
    np.testing.assert_array_equal(w.mask, ok)


@pytest.mark.benchmark(group="window")
def test_window_numpy(benchmark):
    benchmark(numpy_window, T_W, Y_W, T_W[-1], STEP, CONTEXT, GAP)


T_P = 1.7e9 + np.cumsum(RNG.uniform(64, 128, 64))
Y_P = 2e-6 * (T_P - T_P[0]) + RNG.normal(0, 1e-4, 64)


@pytest.mark.benchmark(group="predict")
def test_predict_fused(benchmark):
    fc = benchmark(chronotick.predict, Y_P, T_P, horizon=1, model="fused")
    assert np.isfinite(fc.mean[0])


@pytest.mark.benchmark(group="predict")
@pytest.mark.parametrize("model", ["hold", "robust", "regression", "kalman"])
def test_predict_single(benchmark, model):
    benchmark(chronotick.predict, Y_P, T_P, horizon=1, model=model)


@pytest.mark.benchmark(group="predict")
def test_predict_numpy_line_fit(benchmark):
    """The reference a user would write: least-squares line, extrapolated."""
    def line():
        a, b = np.polyfit(T_P - T_P[-1], Y_P, 1)
        return b + a * np.median(np.diff(T_P))
    benchmark(line)
