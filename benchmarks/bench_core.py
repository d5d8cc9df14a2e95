"""Each classical model alone through chronotick.predict, next to a numpy
line fit (the fused ensemble is in bench_predict.py; buffers and windowing
in bench_buffers.py / bench_windowing.py).

    pytest benchmarks/bench_core.py --benchmark-only --benchmark-group-by=group
"""
from __future__ import annotations

import numpy as np
import pytest

import chronotick

RNG = np.random.default_rng(0)
T_P = 1.7e9 + np.cumsum(RNG.uniform(64, 128, 64))
Y_P = 2e-6 * (T_P - T_P[0]) + RNG.normal(0, 1e-4, 64)


@pytest.mark.benchmark(group="predict-single-model")
@pytest.mark.parametrize("model", ["hold", "robust", "regression", "kalman"])
def test_predict_single(benchmark, model):
    benchmark(chronotick.predict, Y_P, T_P, horizon=1, model=model)


@pytest.mark.benchmark(group="predict-single-model")
def test_predict_numpy_line_fit(benchmark):
    """The reference a user would write: least-squares line, extrapolated."""
    def line():
        a, b = np.polyfit(T_P - T_P[-1], Y_P, 1)
        return b + a * np.median(np.diff(T_P))
    benchmark(line)
