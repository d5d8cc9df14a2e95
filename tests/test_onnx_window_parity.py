"""The C++ window and post-processing of the ONNX forecaster against the
numpy reference they replace (cpp/windowing/nearest_window.h,
grid_quantiles.h vs chronotick.models.onnx.window and the numpy
interpolation / level mapping): equal to float32 rounding - in fact bit for
bit - so the shipped clock-bolt model, trained on the numpy binning
(export/train_clock_bolt.py), needs no retraining."""
from __future__ import annotations

import os

import numpy as np
import pytest
from chronotick import _core
from chronotick.models.calibration import ConformalScaler
from chronotick.models.onnx import DEFAULT_LEVELS, OnnxForecaster, window

SHIPPED = os.path.join(os.path.dirname(__file__), "..", "python", "chronotick", "models", "data", "clock-bolt.onnx")


def random_case(rng):
    n = int(rng.integers(1, 700))
    kind = rng.integers(4)
    if kind == 0:      # NTP-like polls with jitter and losses
        dt = rng.choice([16.0, 64.0, 128.0, 1024.0]) * rng.uniform(0.98, 1.02, n)
        dt[rng.random(n) < 0.1] *= 3
    elif kind == 1:    # bursts: several measurements per cell
        dt = rng.exponential(rng.uniform(1, 50), n) + 1e-3
    elif kind == 2:    # regular
        dt = np.full(n, rng.uniform(0.5, 500))
    else:              # wildly irregular
        dt = np.exp(rng.uniform(-3, 8, n))
    t = rng.choice([0.0, 1.7e9, -5e3]) + np.cumsum(dt)
    y = rng.choice([0.0, 0.25, 1e6, -3.0]) + np.cumsum(rng.normal(size=n)) * 10.0 ** rng.uniform(-7, 1)
    return t, y


def test_nearest_window_equals_numpy_reference():
    rng = np.random.default_rng(20261124)
    for _ in range(3000):
        t, y = random_case(rng)
        context = int(rng.choice([1, 2, 16, 256, 512, 2048]))
        step = float(np.median(np.diff(t[-65:]))) if t.size > 1 else 1.0
        step *= rng.choice([1.0, 0.5, 2.0, rng.uniform(0.3, 3)])
        end = float(t[-1]) + rng.choice([0.0, rng.uniform(0, 0.499) * step])
        level = None if rng.random() < 0.7 else float(rng.normal())
        want = window(t, y, end, step, context, level=level)
        got, lv = _core.nearest_window(t, y, end, step, context, level)
        assert got.dtype == np.float32 and got.shape == (context,)
        np.testing.assert_array_equal(got, want.values)          # NaN where NaN, bit-equal elsewhere
        np.testing.assert_array_equal(~np.isnan(got), want.mask)
        assert lv == want.level


def test_nearest_window_fills_a_given_buffer_and_refuses_the_future():
    t, y = np.array([0.0, 10.0, 20.0]), np.array([1.0, 2.0, 4.0])
    buf = np.zeros((2, 4), np.float32)
    _, lv = _core.nearest_window(t, y, 20.0, 10.0, 4, None, buf[1])
    np.testing.assert_array_equal(buf[1], [np.nan, -3, -2, 0])
    assert lv == 4.0 and np.all(buf[0] == 0)
    with pytest.raises(ValueError, match="lies after the window's end_time") as c:
        _core.nearest_window(np.array([0.0, 10.0, 30.0]), np.zeros(3), 10.0, 10.0, 4)
    with pytest.raises(ValueError) as ref:
        window(np.array([0.0, 10.0, 30.0]), np.zeros(3), end_time=10.0, step_s=10.0, context=4)
    assert str(c.value) == str(ref.value)
    with pytest.raises(ValueError, match=r"t must be strictly increasing: t\[1\] = 0.0 after t\[0\] = 0.0"):
        _core.nearest_window(np.zeros(2), np.zeros(2), 0.0, 1.0, 4)
    with pytest.raises(ValueError, match="out must be a writable C-contiguous float32 array of 4"):
        _core.nearest_window(t, y, 20.0, 10.0, 4, None, np.zeros(3, np.float32))


def test_median_spacing_equals_numpy():
    rng = np.random.default_rng(5)
    for n in (2, 3, 4, 64, 65, 66, 67, 300):
        t, _ = random_case(rng)
        t = t[:n] if t.size >= n else np.cumsum(rng.exponential(10, n))
        assert _core.window_step(t) == float(np.median(np.diff(t[-65:])))


def old_post(q, h, level, levels, cs):
    """The numpy post-processing the C++ replaced: quantiles at fractional steps, uncentred,
    mapped to `levels` (ConformalScaler._apply), median of the sorted raw quantiles."""
    H = q.shape[1]
    hc = np.clip(h, 1.0, float(H))
    lo = np.minimum(hc.astype(np.int64), max(H - 1, 1))
    w = hc - lo
    qt = (q[:, lo - 1] * (1.0 - w) + q[:, np.minimum(lo, H - 1)] * w).T + level
    return np.sort(qt, axis=-1)[:, cs.median_index], cs._apply(qt, levels)


@pytest.mark.parametrize("calibrated", [False, True])
def test_grid_quantiles_equal_the_numpy_post_processing(calibrated):
    rng = np.random.default_rng(7 + calibrated)
    model_levels = np.array(DEFAULT_LEVELS)
    cs = ConformalScaler(model_levels, min_errors=4)
    if calibrated:
        for _ in range(20):
            cs.add(rng.normal(), np.sort(rng.normal(size=9)))
    for _ in range(300):
        H = int(rng.choice([1, 2, 64]))
        q = (np.sort(rng.normal(size=(9, H)), axis=0) * rng.uniform(0.01, 3)).astype(np.float32)
        if rng.random() < 0.3:      # crossed quantiles
            q = q[rng.permutation(9)]
        h = rng.uniform(0, H + 0.5, int(rng.integers(1, 6)))
        levels = np.sort(rng.choice([0.01, 0.05, 0.1, 0.15, 0.25, 0.35, 0.5, 0.6, 0.8, 0.9, 0.95, 0.99],
                                    int(rng.integers(1, 7)), replace=False))
        level = float(rng.choice([0.0, 1e-3, 1e6]))
        lo, hi, w, w1, f_raw, coverage = cs._plan(levels)
        f = cs.factors(coverage) if cs.calibrated else f_raw
        med, out = _core.grid_quantiles(q, h, level, cs.median_index, lo, hi, w, w1, f)
        want_med, want = old_post(q, h, level, levels, cs)
        np.testing.assert_allclose(med, want_med, rtol=1e-15, atol=0)
        np.testing.assert_allclose(out, want, rtol=1e-14, atol=1e-15 * max(1.0, abs(level)))
    bad = np.zeros((9, 4), np.float32)
    bad[3, 2] = np.inf
    assert _core.grid_quantiles(bad, np.ones(1), 0.0, 4, lo, hi, w, w1, f) is None


def test_grid_forecast_is_grid_quantiles_made_into_a_quantile_forecast():
    """_core.grid_forecast (the uncalibrated forecast's post-processing in one call) gives
    the QuantileForecast that grid_quantiles + QuantileForecast(...) give, bit for bit, with
    the same checks (cpp/fusion/forecast_checks.h); None where grid_quantiles is."""
    rng = np.random.default_rng(17)
    cs = ConformalScaler(np.array(DEFAULT_LEVELS), min_errors=4)
    for _ in range(200):
        H = int(rng.choice([1, 2, 64]))
        q = (np.sort(rng.normal(size=(9, H)), axis=0) * rng.uniform(0.01, 3)).astype(np.float32)
        if rng.random() < 0.3:      # crossed quantiles: sorted by both
            q = q[rng.permutation(9)]
        h = rng.uniform(0, H + 0.5, int(rng.integers(1, 6)))
        times = 1.7e9 + 64.0 * h
        levels = np.sort(rng.choice([0.01, 0.05, 0.1, 0.25, 0.5, 0.8, 0.9, 0.95, 0.99],
                                    int(rng.integers(1, 7)), replace=False))
        level, slope = float(rng.choice([0.0, 1e-3, 1e6])), float(rng.choice([0.0, -2e-4]))
        lo, hi, w, w1, f_raw, _ = cs._plan(levels)
        got = _core.grid_forecast("m", times, levels, q, h, level, cs.median_index, lo, hi, w, w1, f_raw, slope,
                                  "a note")
        want = _core.QuantileForecast("m", times, levels,
                                      *_core.grid_quantiles(q, h, level, cs.median_index, lo, hi, w, w1, f_raw,
                                                            slope), False, "a note")
        for name in ("times", "levels", "mean", "quantiles", "std"):
            np.testing.assert_array_equal(getattr(got, name), getattr(want, name), err_msg=name)
        assert (got.model, got.ok, got.note) == (want.model, want.ok, want.note) == ("m", True, "a note")
    bad = np.zeros((9, 4), np.float32)
    bad[3, 2] = np.nan
    lo, hi, w, w1, f_raw, _ = cs._plan(np.array([0.1, 0.9]))
    args = (np.array([0.1, 0.9]), bad, np.ones(1), 0.0, cs.median_index, lo, hi, w, w1, f_raw)
    assert _core.grid_forecast("m", [1.0], *args) is None
    with pytest.raises(ValueError, match=r"times must have one entry per step h \(1\).*got 2 and 2"):
        _core.grid_forecast("m", [1.0, 2.0], *args)
    with pytest.raises(ValueError, match="levels must be strictly increasing in \\(0, 1\\): levels\\[1\\] = 0.1"):
        _core.grid_forecast("m", [1.0], np.array([0.5, 0.1]), *args[1:])


@pytest.mark.skipif(not os.path.isfile(SHIPPED), reason="clock-bolt.onnx not shipped in this checkout")
def test_shipped_model_forecast_equals_the_numpy_pipeline():
    """The forecaster end to end (C++ window -> ORT -> C++ post) against the numpy pipeline
    (window -> session.run -> numpy post) it replaced, on the shipped model."""
    f = OnnxForecaster(SHIPPED)
    rng = np.random.default_rng(11)
    levels = [0.05, 0.1, 0.5, 0.8, 0.9]
    for seed in range(12):
        n = int(rng.integers(2, 400))
        t = 1.76e9 + np.cumsum(rng.uniform(60, 140, n))
        y = 1e-3 * (np.cumsum(rng.normal(0, 0.2, n)) + rng.normal(0, 2, n))
        step = float(np.median(np.diff(t[-65:])))
        targets = t[-1] + step * np.sort(rng.uniform(0, 64.5, 4))
        w = window(t, y, float(t[-1]), step, f.context)
        raw = f.session.run(["quantiles"], {"context": w.values[None, :]})[0][0]
        h = (targets - t[-1]) / step
        cs = f._raw_scaler
        want_med, want = old_post(raw, h, w.level, np.array(levels), cs)
        got = f.forecast(t, y, targets, levels, calibrate=False)
        np.testing.assert_allclose(got.quantiles, want, rtol=1e-12, atol=1e-15)
        np.testing.assert_allclose(got.mean, want_med, rtol=1e-12, atol=1e-15)
        np.testing.assert_array_equal(got.times, targets)


def test_the_output_buffer_must_be_a_contiguous_float32_row():
    """A buffer that would need a copy is refused (the writes would go to the copy)."""
    t = np.arange(10.0) * 100
    y = np.linspace(0, 1e-3, 10)
    for bad in (np.zeros((16, 2), np.float32)[:, 0], np.zeros(16)):
        with pytest.raises(TypeError):
            _core.nearest_window(t, y, float(t[-1]), 100.0, 16, None, bad)
        with pytest.raises(TypeError):
            _core.forecast_window(bad, t, y, np.array([t[-1] + 100.0]), 100.0, 64, "m")
    good = np.full((2, 16), np.nan, np.float32)
    _core.nearest_window(t, y, float(t[-1]), 100.0, 16, None, good[1])
    assert np.isfinite(good[1]).sum() == 10 and np.isnan(good[0]).all()
