"""Inference speed of the shipped time-series foundation model (clock-bolt).

    pytest benchmarks/bench_onnx.py --benchmark-columns=min,median,mean,ops

Side by side, one thread each (torch.set_num_threads(1), onnxruntime
intra_op_num_threads=1), on the same weights (export/clock-bolt-checkpoint
is the PyTorch checkpoint the shipped .onnx was exported from):

- OnnxForecaster.forecast, batch 1, end to end: irregular measurements in,
  quantile forecast out (windowing, the model, interpolation; with and
  without the online interval calibration, warm);
- the bare onnxruntime session.run on the same window (the floor);
- ChronosBoltPipeline.predict_quantiles (PyTorch), what a user would
  otherwise call, on the same window (skipped without torch/chronos);
- batched: 64 series per call (series/s = 64 / time).
"""
from __future__ import annotations

import os

import numpy as np
import pytest
from chronotick.models.onnx import OnnxForecaster

ROOT = os.path.join(os.path.dirname(__file__), "..")
MODEL = os.path.join(ROOT, "python", "chronotick", "models", "data", "clock-bolt.onnx")
CHECKPOINT = os.path.join(ROOT, "export", "clock-bolt-checkpoint")
LEVELS = [0.1, 0.5, 0.9]

pytestmark = pytest.mark.skipif(not os.path.isfile(MODEL), reason="clock-bolt.onnx not shipped in this checkout")


def history(n=300, seed=0):
    """A disciplined-clock-like history: ms-level offsets every ~100 s with noise."""
    rng = np.random.default_rng(seed)
    t = 1.76e9 + np.cumsum(rng.uniform(99.9, 100.2, n))
    y = 1e-3 * (np.cumsum(rng.normal(0, 0.2, n)) + rng.normal(0, 2, n))
    return t, y


@pytest.fixture(scope="module")
def forecaster():
    return OnnxForecaster(MODEL, intra_op_threads=1)


@pytest.fixture(scope="module")
def pipeline():
    torch = pytest.importorskip("torch", reason="torch not installed (export extra): no PyTorch side")
    pytest.importorskip("chronos", reason="chronos-forecasting not installed (export extra): no PyTorch side")
    if not os.path.isdir(CHECKPOINT):
        pytest.skip("export/clock-bolt-checkpoint missing")
    from chronotick.models.export_bolt import load_pipeline
    torch.set_num_threads(1)
    return load_pipeline(CHECKPOINT)


def test_forecast_batch1_raw(benchmark, forecaster):
    t, y = history()
    target = [t[-1] + 100.0]
    fc = benchmark(forecaster.forecast, t, y, target, LEVELS, calibrate=False)
    assert np.all(np.isfinite(fc.quantiles))


def test_forecast_batch1_calibrated(benchmark, forecaster):
    t, y = history()
    target = [t[-1] + 100.0]
    forecaster.forecast(t, y, target, LEVELS)          # warm: the 64 one-step predictions are memoised
    fc = benchmark(forecaster.forecast, t, y, target, LEVELS)
    assert np.all(np.isfinite(fc.quantiles))


def test_session_run_bare(benchmark, forecaster):
    t, y = history()
    x = forecaster._window(t, y, forecaster._step(t)).values[None, :]
    sess = forecaster.session
    out = benchmark(sess.run, ["quantiles"], {"context": x})
    assert out[0].shape == (1, 9, 64)


def test_pytorch_pipeline_batch1(benchmark, forecaster, pipeline):
    import torch
    t, y = history()
    x = torch.from_numpy(forecaster._window(t, y, forecaster._step(t)).values[None, :].copy())
    q, _ = benchmark(pipeline.predict_quantiles, x, prediction_length=64, quantile_levels=LEVELS)
    assert q.shape == (1, 64, 3)


def test_forecast_batch64(benchmark, forecaster):
    series = [history(300, seed=s) for s in range(64)]
    targets = [[t[-1] + 100.0] for t, _ in series]
    out = benchmark(forecaster.forecast_batch, series, targets, LEVELS, calibrate=False)
    benchmark.extra_info["series"] = 64
    assert len(out) == 64


def test_pytorch_pipeline_batch64(benchmark, forecaster, pipeline):
    import torch
    wins = [forecaster._window(t, y, forecaster._step(t)).values for t, y in (history(300, seed=s) for s in range(64))]
    x = torch.from_numpy(np.stack(wins))
    q, _ = benchmark(pipeline.predict_quantiles, x, prediction_length=64, quantile_levels=LEVELS)
    benchmark.extra_info["series"] = 64
    assert q.shape == (64, 64, 3)
