"""ONNX runtime of time-series foundation models: windowing, interval
calibration, model validation at load, forecasting.

Hand-built ONNX graphs (made with the `onnx` package, skipped without it)
have a known answer: "hold" outputs quantile k at step h as the newest
context value + (level_k - 0.5) * 0.01 * h, so every figure of a forecast can
be checked by hand. The shipped clock-bolt model is exercised too.
"""
from __future__ import annotations

import json
import math
import os
from statistics import NormalDist

import numpy as np
import pytest
import chronotick
from chronotick.errors import ModelError
from chronotick.models.calibration import ConformalScaler, interpolate_levels
from chronotick.models.onnx import DEFAULT_LEVELS, OnnxForecaster, window

LEVELS = np.array(DEFAULT_LEVELS)
TEST_ARCHITECTURE = "hold (test model)"   # build_model's graph metadata: not Chronos-Bolt
SHIPPED = os.path.join(os.path.dirname(__file__), "..", "python", "chronotick", "models", "data", "clock-bolt.onnx")
SPREAD = 0.01  # hold model: quantile k at step h = last + (level_k - 0.5) * SPREAD * h


# ---- windowing -------------------------------------------------------------------------------

def test_window_bins_to_nearest_cell_and_centres_on_newest():
    t = np.array([-6.0, 0.0, 10.0, 20.0, 21.0, 40.0])
    y = np.array([9.0, 1.0, 2.0, 3.0, 5.0, 7.0])
    w = window(t, y, end_time=40.0, step_s=10.0, context=5)
    # grid 0, 10, 20, 30, 40; t=-6 falls in cell -1 (dropped); 20 and 21 share cell 2
    np.testing.assert_array_equal(w.times, [0, 10, 20, 30, 40])
    np.testing.assert_array_equal(w.mask, [True, True, True, False, True])
    assert w.level == 7.0
    assert w.values.dtype == np.float32
    np.testing.assert_allclose(w.values[[0, 1, 2, 4]], [1 - 7, 2 - 7, 4 - 7, 0])
    assert np.isnan(w.values[3])


def test_window_rejects_measurement_after_end():
    with pytest.raises(ValueError, match="after the window's end_time"):
        window(np.array([0.0, 10.0, 30.0]), np.zeros(3), end_time=10.0, step_s=10.0, context=4)


def test_window_keeps_float32_resolution_at_large_levels():
    t = np.arange(8) * 100.0
    y = 1e6 + np.arange(8) * 1e-6       # micro-second steps on a 1e6 level
    w = window(t, y, t[-1], 100.0, 8)
    np.testing.assert_allclose(w.values, (np.arange(8) - 7) * 1e-6, rtol=1e-4)


# ---- conformal calibration -------------------------------------------------------------------

def gaussian_quantiles(m, sd):
    z = np.array([NormalDist().inv_cdf(lv) for lv in LEVELS])
    return np.asarray(m)[..., None] + np.asarray(sd)[..., None] * z


def test_scaler_uncalibrated_is_raw_inside_and_gaussian_ratio_outside():
    cs = ConformalScaler(LEVELS, min_errors=5)
    q = gaussian_quantiles(1.0, 2.0)
    out = cs.apply(q, [0.05, 0.1, 0.35, 0.5, 0.9, 0.99])
    z = NormalDist().inv_cdf
    np.testing.assert_allclose(out[[1, 3, 4]], q[[0, 4, 8]])
    np.testing.assert_allclose(out[2], (q[2] + q[3]) / 2)      # 0.35: halfway between 0.3 and 0.4
    np.testing.assert_allclose(out[0], 1.0 + 2.0 * z(0.05))
    np.testing.assert_allclose(out[5], 1.0 + 2.0 * z(0.99))


def test_scaler_factor_is_the_conformal_quantile_of_side_scores():
    rng = np.random.default_rng(1)
    cs = ConformalScaler(LEVELS, window=50, min_errors=5)
    ys = rng.normal(size=50) * 3.0
    for y in ys:
        cs.add(y, gaussian_quantiles(0.0, 1.0))
    scores = np.sort(np.abs(ys) / NormalDist().inv_cdf(0.9))
    k = math.ceil(51 * 0.8)
    assert cs.factor(0.8) == pytest.approx(scores[k - 1])
    # beyond the model's outermost levels the 0.1/0.9 distances are the yardstick
    assert cs.factor(0.95) == pytest.approx(scores[min(50, math.ceil(51 * 0.95)) - 1])
    assert cs.factor(0.0) == 1.0


def reference_factors(y, q, levels, median_index, cov):
    """The conformal factors in plain numpy (the rule of chronotick.models.calibration's docstring)."""
    cc = np.minimum(cov, min(2 * levels[-1] - 1, 1 - 2 * levels[0]))
    lo = interpolate_levels(q, levels, (1 - cc) / 2)
    hi = interpolate_levels(q, levels, (1 + cc) / 2)
    m = q[:, median_index:median_index + 1]
    e = y[:, None] - m
    d = np.where(e >= 0, hi - m, m - lo)
    with np.errstate(divide="ignore", invalid="ignore"):
        scores = np.where(e == 0, 0.0, np.abs(e) / np.maximum(d, 1e-300))
    scores.sort(axis=0)
    n = y.size
    k_raw = np.ceil((n + 1) * cov).astype(np.int64)
    k = np.clip(k_raw, 1, n) - 1
    f = np.where(cov == 0, 1.0, scores[k, np.arange(cov.size)])
    # beyond c_n = n / (n + 1): the largest score times the normal tail's ratio
    cn = n / (n + 1)
    z = NormalDist().inv_cdf
    tail = np.array([z(0.5 + 0.5 * c) / z(0.5 + 0.5 * cn) if c > cn else 1.0 for c in cov])
    return np.where((k_raw > n) & (cov > cn) & (f > 0), f * tail, f)


def test_scaler_factors_are_bit_equal_to_the_numpy_rule():
    rng = np.random.default_rng(5)
    cov = np.array([0.0, 0.1, 0.5, 0.8, 0.9, 0.95, 0.99])
    for trial in range(300):
        n = int(rng.integers(1, 80))
        q = np.sort(rng.standard_normal((n, 9)) * rng.uniform(0.1, 3), axis=1)
        if trial % 7 == 0:
            q[:] = q[:, 4:5]                       # zero-width predictions: scores 0 or inf
        y = rng.standard_normal(n)
        if trial % 5 == 0:
            y[: n // 2] = q[: n // 2, 4]           # exactly at the median: score 0
        cs = ConformalScaler(LEVELS, window=128, min_errors=1)
        cs.add(y, q)
        got, want = cs.factors(cov), reference_factors(cs._y, cs._q, LEVELS, 4, cov)
        order = np.ceil((n + 1) * cov) <= n            # an order statistic: bit-equal
        np.testing.assert_array_equal(got[order], want[order])
        np.testing.assert_allclose(got[~order], want[~order], rtol=1e-12)   # C++'s z vs NormalDist's


def test_coverages_beyond_what_the_scores_give_grow_with_the_normal_tail():
    """From n scores the widest order statistic covers n / (n + 1): 80% ... 99.9% from 8 scores
    were one factor (the largest score), covering 89% on i.i.d. normal errors whatever was asked
    (an audit, 2026-12-05). Now wider coverage asked is a wider interval, and on i.i.d. data the
    95% interval from 8 scores covers at least 95%."""
    rng = np.random.default_rng(11)
    cov = np.array([0.8, 0.9, 0.95, 0.99])
    q_row = np.array([NormalDist().inv_cdf(p) for p in LEVELS])
    hits = np.zeros(cov.size)
    trials = 4000
    for _ in range(trials):
        cs = ConformalScaler(LEVELS, window=64, min_errors=1)
        cs.add(rng.standard_normal(8), np.tile(q_row, (8, 1)))
        f = cs.factors(cov)
        assert np.all(np.diff(f) > 0), f
        half = f * q_row[-1]                     # the model's 0.9 distance, scaled
        hits += np.abs(rng.standard_normal()) <= half
    assert np.all(hits / trials >= cov - 0.015), hits / trials


def test_conformal_factors_binding_rejects_bad_input():
    from chronotick import _core
    q = np.zeros((3, 9))
    with pytest.raises(ValueError, match=r"q must have shape \(2, 9\)"):
        _core.conformal_factors(np.zeros(2), q, LEVELS, 4, np.array([0.8]))
    with pytest.raises(ValueError, match=r"coverages\[0\] = 1.0"):
        _core.conformal_factors(np.zeros(3), q, LEVELS, 4, np.array([1.0]))
    with pytest.raises(ValueError, match="median_index"):
        _core.conformal_factors(np.zeros(3), q, LEVELS, 9, np.array([0.8]))
    with pytest.raises(ValueError, match="y is empty"):
        _core.conformal_factors(np.zeros(0), np.zeros((0, 9)), LEVELS, 4, np.array([0.8]))


def test_scaler_restores_coverage_of_an_overconfident_model_online():
    rng = np.random.default_rng(2)
    cs = ConformalScaler(LEVELS, window=200, min_errors=20)
    hits_raw = hits_cal = n = 0
    for i in range(3000):
        m = rng.normal()
        q = gaussian_quantiles(m, 1.0)           # the model says sd 1; the truth has sd 3
        y = m + 3.0 * rng.normal()
        if i >= 200:
            lo, hi = cs.apply(q, [0.1, 0.9])
            hits_cal += lo <= y <= hi
            hits_raw += q[0] <= y <= q[8]
            n += 1
        cs.add(y, q)
    assert hits_raw / n < 0.45
    assert 0.75 <= hits_cal / n <= 0.86


def test_scaler_keeps_asymmetry_and_monotonicity():
    cs = ConformalScaler(LEVELS, min_errors=3)
    q = np.array([-4.0, -3, -2, -1, 0, 0.5, 1.0, 1.5, 2.0])   # twice as wide below the median
    for y in (1.0, -2.0, 0.5, -1.5, 3.0):
        cs.add(y, q)
    out = cs.apply(q, [0.1, 0.5, 0.9])
    assert out[1] == 0.0
    assert -out[0] == pytest.approx(2 * out[2])
    out = cs.apply(np.stack([q, q + 1]), np.linspace(0.02, 0.98, 25))
    assert out.shape == (2, 25)
    assert np.all(np.diff(out, axis=-1) >= 0)


@pytest.mark.parametrize("kwargs, match", [
    (dict(model_levels=[0.1, 0.9]), "must contain 0.5"),
    (dict(model_levels=[0.1, 0.5, 0.5]), r"strictly increasing: model_levels\[2\]"),
    (dict(model_levels=[0.0, 0.5]), r"model_levels\[0\] = 0.0 is not in \(0, 1\)"),
    (dict(model_levels=LEVELS, window=0), "window must be an integer >= 1"),
])
def test_scaler_rejects_bad_settings(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ConformalScaler(**kwargs)


def test_scaler_rejects_bad_records_and_levels():
    cs = ConformalScaler(LEVELS)
    with pytest.raises(ValueError, match="not finite"):
        cs.add(float("nan"), np.zeros(9))
    with pytest.raises(ValueError, match="9 values per y"):
        cs.add(1.0, np.zeros(4))
    with pytest.raises(ValueError, match=r"levels\[1\] = 1.0 is not in \(0, 1\)"):
        cs.apply(np.zeros(9), [0.5, 1.0])


def test_interpolate_levels_clamps():
    q = np.arange(9.0)
    np.testing.assert_allclose(interpolate_levels(q, LEVELS, np.array([0.01, 0.15, 0.5, 0.95])), [0, 0.5, 4, 8])


# ---- hand-built ONNX graphs ------------------------------------------------------------------

def build_model(path, *, context=16, levels=LEVELS, horizon=64, input_name="context", output_name="quantiles",
                out_rank=3, dynamic_context=False, log=False, ignore_batch=False, fixed_batch=None,
                architecture=TEST_ARCHITECTURE):
    """'hold': quantiles[b, k, h] = context[b, -1] + (levels[k] - 0.5) * SPREAD * (h + 1).
    ignore_batch: one output row whatever the batch (the mean of the rows' last values).
    fixed_batch: that many output rows whatever the batch (the same mean, repeated).
    architecture: recorded in the graph's metadata as `chronotick export` does (None: none, the
    loader then warns that it runs a model of unknown architecture)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    spread = ((np.asarray(levels) - 0.5)[:, None] * SPREAD * np.arange(1, horizon + 1)[None, :]).astype(np.float32)
    inits = [numpy_helper.from_array(spread[None], "spread"),
             numpy_helper.from_array(np.array([-1], np.int64), "start"),
             numpy_helper.from_array(np.array([2**62], np.int64), "end"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1"),
             numpy_helper.from_array(np.array([1, 2], np.int64), "axes12"),
             numpy_helper.from_array(np.array([0, -1], np.int64), "flat")]
    nodes = [helper.make_node("Slice", [input_name, "start", "end", "axis1"], ["last"])]       # [B, 1]
    src = "last"
    if ignore_batch:
        nodes.append(helper.make_node("ReduceMean", ["last"], ["last1"], axes=[0], keepdims=1))  # [1, 1]
        src = "last1"
    if fixed_batch is not None:
        inits.append(numpy_helper.from_array(np.array([fixed_batch, 1], np.int64), "rows"))
        nodes.append(helper.make_node("ReduceMean", ["last"], ["mean1"], axes=[0], keepdims=1))  # [1, 1]
        nodes.append(helper.make_node("Expand", ["mean1", "rows"], ["lastn"]))                 # [n, 1]
        src = "lastn"
    if log:
        nodes.append(helper.make_node("Log", ["last"], ["log"]))                              # -inf at 0
        src = "log"
    nodes.append(helper.make_node("Unsqueeze", [src, "axis1"], ["last3"]))                    # [B, 1, 1]
    nodes.append(helper.make_node("Add", ["last3", "spread"], ["q3"]))                         # [B, K, H]
    if out_rank == 2:
        nodes.append(helper.make_node("Reshape", ["q3", "flat"], [output_name]))
        out_shape = ["B", len(levels) * horizon]
    else:
        nodes.append(helper.make_node("Identity", ["q3"], [output_name]))
        out_shape = ["B", len(levels), horizon]
    graph = helper.make_graph(
        nodes, "hold",
        [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["B", "L" if dynamic_context else context])],
        [helper.make_tensor_value_info(output_name, TensorProto.FLOAT, out_shape)], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    if architecture is not None:
        from chronotick.models.onnx import ARCHITECTURE_KEY
        helper.set_model_props(model, {ARCHITECTURE_KEY: architecture})
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture
def hold_model(tmp_path):
    return build_model(tmp_path / "hold.onnx")


def regular(n=100, step=100.0, seed=0):
    rng = np.random.default_rng(seed)
    t = 1.7e9 + np.arange(n) * step + rng.uniform(-0.5, 0.5, n)
    y = np.cumsum(rng.normal(size=n)) * 1e-3
    return t, y


def test_missing_and_corrupt_files_raise_model_error(tmp_path):
    with pytest.raises(ModelError, match="not found"):
        OnnxForecaster(tmp_path / "nope.onnx")
    # a FileNotFoundError too, as predict(model=PATH) and register() raise it (they had differed)
    for call in (lambda: OnnxForecaster(tmp_path / "nope.onnx"),
                 lambda: chronotick.predict(np.arange(20.0), model=str(tmp_path / "nope.onnx")),
                 lambda: chronotick.models.register("nope", str(tmp_path / "nope.onnx"))):
        with pytest.raises(FileNotFoundError) as got:
            call()
        assert isinstance(got.value, ModelError)
    bad = tmp_path / "bad.onnx"
    bad.write_bytes(b"\x08\x07garbage that is not a protobuf" * 10)
    with pytest.raises(ModelError, match="cannot load ONNX model"):
        OnnxForecaster(bad)


@pytest.mark.parametrize("kwargs, match", [
    (dict(input_name="x"), "one input named 'context'"),
    (dict(output_name="y"), "no output named 'quantiles'"),
    (dict(out_rank=2), r"must be float32 \[batch, quantiles, horizon\]"),
    (dict(dynamic_context=True), "context length is dynamic"),
    (dict(log=True), "probe run"),
    (dict(ignore_batch=True), r"probe run on a batch of 2 .*invalid dimensions"),
    # always two rows: passed the batch-2 probe and failed at its first forecast (an audit, 2026-12-05)
    (dict(fixed_batch=2), r"probe run on a batch of 1 .*invalid dimensions"),
    (dict(levels=[0.1, 0.5, 0.9]), "outputs 3 quantiles and neither a model card nor the graph's metadata "
                                   "lists their levels"),
])
def test_mismatched_models_raise_model_error(tmp_path, kwargs, match):
    path = build_model(tmp_path / "m.onnx", **kwargs)
    with pytest.raises(ModelError, match=match):
        OnnxForecaster(path)


def test_card_must_agree_with_graph(tmp_path):
    path = build_model(tmp_path / "m.onnx", horizon=32)
    with open(tmp_path / "m.json", "w") as f:
        json.dump({"prediction_length": 64}, f)
    with pytest.raises(ModelError, match="horizon is 32, the model card says 64"):
        OnnxForecaster(path)
    with open(tmp_path / "m.json", "w") as f:
        f.write("{not json")
    with pytest.raises(ModelError, match="not readable JSON"):
        OnnxForecaster(path)


def test_card_levels_and_dynamic_context(tmp_path):
    path = build_model(tmp_path / "m.onnx", dynamic_context=True, levels=[0.05, 0.5, 0.95])
    with open(tmp_path / "m.json", "w") as f:
        json.dump({"context": 12, "quantile_levels": [0.05, 0.5, 0.95]}, f)
    f = OnnxForecaster(path)
    assert (f.context, f.num_levels, f.horizon) == (12, 3, 64)
    np.testing.assert_allclose(f.model_levels, [0.05, 0.5, 0.95])


def test_nan_output_at_run_time_is_a_model_error(hold_model):
    f = OnnxForecaster(hold_model)
    x = np.zeros((3, f.context), np.float32)
    x[1, -1] = np.nan
    with pytest.raises(ModelError, match=r"non-finite quantiles for batch row\(s\) \[1\]"):
        f.run(x)
    assert f.run(np.zeros((5, f.context), np.float32)).shape == (5, 9, 64)


def test_forecast_hold_model_raw(hold_model):
    f = OnnxForecaster(hold_model, detrend_r2=None)     # the model as it is (a random walk can look like a line)
    t, y = regular()
    step = float(np.median(np.diff(t[-65:])))
    targets = t[-1] + np.array([0.3, 1.0, 2.5, 64.0, 64.4]) * step
    fc = f.forecast(t, y, targets, [0.1, 0.5, 0.9], calibrate=False)
    assert fc.model == "hold"
    np.testing.assert_allclose(fc.times, targets)
    np.testing.assert_allclose(fc.mean, y[-1], atol=1e-9)
    h = np.array([1.0, 1.0, 2.5, 64.0, 64.0])        # below one step: step 1; just past the last: step 64
    np.testing.assert_allclose(fc.quantiles[:, 2] - y[-1], 0.4 * SPREAD * h, rtol=1e-5)
    np.testing.assert_allclose(fc.quantiles[:, 0] - y[-1], -0.4 * SPREAD * h, rtol=1e-5)


def test_forecast_calibration_uses_past_one_step_errors_only(hold_model):
    f = OnnxForecaster(hold_model, step_s=100.0, calib_window=40, detrend_r2=None)   # the model as it is
    t = 1.7e9 + np.arange(120) * 100.0
    y = np.cumsum(np.random.default_rng(3).normal(size=120)) * 1e-3
    fc = f.forecast(t, y, [t[-1] + 100.0], [0.1, 0.5, 0.9])
    # hold model: the prediction of y_j made from y[:j] has median y_{j-1} and 0.1/0.9 distance 0.4 * SPREAD,
    # so the calibrated half-width is the conformal 0.8-quantile of |y_j - y_{j-1}| over the last 40
    e = np.sort(np.abs(np.diff(y))[-40:])
    want = e[math.ceil(41 * 0.8) - 1]
    assert fc.quantiles[0, 2] - fc.mean[0] == pytest.approx(want, rel=1e-5)
    assert fc.mean[0] - fc.quantiles[0, 0] == pytest.approx(want, rel=1e-5)
    again = f.forecast(t, y, [t[-1] + 100.0], [0.1, 0.5, 0.9])   # memoised one-step predictions: same answer
    np.testing.assert_array_equal(again.quantiles, fc.quantiles)
    # changing the newest measurement changes neither the scores of the earlier ones nor the leakage rule
    y2 = y.copy()
    y2[-1] += 1.0
    fc2 = f.forecast(t, y2, [t[-1] + 100.0], [0.1, 0.5, 0.9])
    e2 = np.sort(np.abs(np.diff(y2))[-40:])
    assert fc2.quantiles[0, 2] - fc2.mean[0] == pytest.approx(e2[math.ceil(41 * 0.8) - 1], rel=1e-5)


def test_forecast_batch_matches_single(hold_model):
    f = OnnxForecaster(hold_model)
    series = [regular(n, seed=s) for n, s in ((30, 1), (80, 2), (5, 3))]
    targets = [[t[-1] + 150.0, t[-1] + 900.0] for t, _ in series]
    batch = f.forecast_batch(series, targets, [0.05, 0.5, 0.95])
    for (t, y), tt, b in zip(series, targets, batch):
        one = OnnxForecaster(f.path).forecast(t, y, tt, [0.05, 0.5, 0.95])
        np.testing.assert_allclose(b.quantiles, one.quantiles, rtol=1e-6)
        np.testing.assert_allclose(b.mean, one.mean, rtol=1e-6)


def test_concurrent_calls_on_one_instance_agree_with_sequential(hold_model):
    from concurrent.futures import ThreadPoolExecutor
    f = OnnxForecaster(hold_model)
    series = [regular(40 + 5 * s, seed=s) for s in range(16)]
    want = [OnnxForecaster(hold_model).forecast(t, y, [t[-1] + 100.0], [0.1, 0.5, 0.9]).quantiles for t, y in series]
    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(lambda s: f.forecast(s[0], s[1], [s[0][-1] + 100.0], [0.1, 0.5, 0.9]).quantiles, series))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)


@pytest.mark.parametrize("t, y, targets, levels, match", [
    ([0.0, 100.0], [0.0, 1.0], [50.0], [0.5], r"target_times\[0\] = 50.0 is before the newest measurement"),
    ([0.0, 100.0], [0.0, 1.0], [200.0, 100.0 + 64.6 * 100.0], [0.5], r"target_times\[1\].*at most 64 steps"),
    ([0.0, 100.0, 100.0], [0.0, 1.0, 2.0], [200.0], [0.5], r"strictly increasing: t\[2\]"),
    ([0.0, 100.0], [0.0, float("nan")], [200.0], [0.5], r"y\[1\] = nan is not finite"),
    ([0.0], [0.0], [200.0], [0.5], "at least 2 measurements"),
    ([0.0, 100.0], [0.0, 1.0, 2.0], [200.0], [0.5], "t and y differ in length: 2 vs 3"),
    ([0.0, 100.0], [0.0, 1.0], [200.0], [0.9, 0.5], r"levels must be strictly increasing"),
    ([0.0, 100.0], [0.0, 1.0], [[200.0]], [0.5], r"target_times must be 1-D"),
])
def test_forecast_rejects_bad_input(hold_model, t, y, targets, levels, match):
    f = OnnxForecaster(hold_model)
    with pytest.raises(ValueError, match=match):
        f.forecast(t, y, targets, levels)


def test_constructor_rejects_bad_arguments(hold_model):
    with pytest.raises(ValueError, match="intra_op_threads"):
        OnnxForecaster(hold_model, intra_op_threads=-1)
    with pytest.raises(ValueError, match="step_s"):
        OnnxForecaster(hold_model, step_s=0.0)
    with pytest.raises(ValueError, match="calib_min"):
        OnnxForecaster(hold_model, calib_min=0)


# ---- the shipped model -----------------------------------------------------------------------

shipped = pytest.mark.skipif(not os.path.isfile(SHIPPED), reason="clock-bolt.onnx not shipped in this checkout")


@shipped
def test_shipped_model_is_listed_with_its_card():
    from chronotick import models
    entry = {m["name"]: m for m in models.list()}["clock-bolt"]
    assert entry["kind"] == "onnx"
    card = entry["card"]
    assert card["architecture"] == "ChronosBoltModelForForecasting"
    assert card["prediction_length"] == 64 and card["quantile_levels"] == list(DEFAULT_LEVELS)
    assert card["parity"]["max_abs_diff_normalised"] <= 1e-3
    assert 0.5e6 <= card["parameters"] <= 2.5e6


@shipped
def test_shipped_model_forecasts_a_real_trace():
    from chronotick.io import load_chronotick_csv
    path = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "clock-traces",
                        "homelab_2h_2025-10-16.csv")
    if not os.path.isfile(path):
        pytest.skip("shared/data not beside the repository")
    tr = load_chronotick_csv(path)
    f = OnnxForecaster(SHIPPED)
    t, y = tr.times[:60], tr.offsets[:60]
    fc = f.forecast(t, y, [tr.times[60]], [0.1, 0.5, 0.9])
    q = fc.quantiles[0]
    assert fc.ok and np.all(np.isfinite(q)) and q[0] < q[1] < q[2]
    # the median lies within the range of the recent measurements (offsets of a few ms)
    assert y[-20:].min() - 0.005 <= fc.mean[0] <= y[-20:].max() + 0.005
    assert q[2] - q[0] < 0.05



@shipped
def test_fused_norms_change_the_shipped_model_by_less_than_1e_4():
    plain = OnnxForecaster(SHIPPED)
    fused = OnnxForecaster(SHIPPED, fuse_norms=True)
    assert fused.fused and not plain.fused
    x = np.cumsum(np.random.default_rng(9).normal(size=(4, plain.context)), axis=1).astype(np.float32) * 1e-3
    x[1, :100] = np.nan
    a, b = plain.run(x), fused.run(x)
    assert np.max(np.abs(a - b)) <= 1e-4 * np.max(np.abs(a))


def test_fused_norms_fall_back_to_the_plain_graph(hold_model):
    import warnings
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f = OnnxForecaster(hold_model, fuse_norms=True)      # nothing to fuse: works either way
    # either the optimizer ran, or it failed and said so
    assert f.fused or any(issubclass(w.category, RuntimeWarning) and "fuse_norms" in str(w.message) for w in caught)
    t, y = regular()
    assert np.all(np.isfinite(f.forecast(t, y, [t[-1] + 100.0], [0.5]).quantiles))


@pytest.mark.skipif(not os.path.isfile(SHIPPED), reason="clock-bolt.onnx not shipped")
def test_shipped_model_intervals_are_calibrated_at_the_lead_asked_for(homelab_9h):
    # Eight measurements ahead on a real trace (leakage-free rolling origin): calibrated on the
    # model's errors 8 ahead, the 80% intervals cover near 80% (one-step errors gave 96%, twice as wide).
    from chronotick import backtest
    res = backtest.run_backtest(homelab_9h, {"clock-bolt": backtest.predict_model("clock-bolt")}, horizon=8,
                                include_baselines=False)
    m = res.table()["clock-bolt"]
    assert m["n"] > 300
    assert 0.74 <= m["coverage"] <= 0.88


def test_kept_calibrations_never_outlive_their_data(hold_model):
    # The per-lead calibration is kept under the bytes of the measurements it
    # depends on: forecasting again from unchanged data reuses it, and any
    # change within the calibration window (a value, a time, one more
    # measurement) gives what a fresh forecaster gives, bit for bit.
    f = OnnxForecaster(hold_model, calib_window=40)
    t = 1.7e9 + np.arange(150) * 100.0
    y = np.cumsum(np.random.default_rng(9).normal(size=150)) * 1e-3
    targets = [t[-1] + 100.0, t[-1] + 800.0]
    first = f.forecast(t, y, targets, [0.1, 0.5, 0.9])
    kept = len(f._scalers)
    again = f.forecast(t, y, targets, [0.1, 0.5, 0.9])
    assert len(f._scalers) == kept and np.array_equal(first.quantiles, again.quantiles)
    y_changed, t_changed = y.copy(), t.copy()
    y_changed[-30] += 5e-3
    t_changed[-20:] += 1.0
    for tt, yy in ((t, y_changed), (t_changed, y), (t[:-1], y[:-1]), (t, y)):
        tg = [tt[-1] + 100.0, tt[-1] + 800.0]
        got = f.forecast(tt, yy, tg, [0.1, 0.5, 0.9])
        want = OnnxForecaster(hold_model, calib_window=40).forecast(tt, yy, tg, [0.1, 0.5, 0.9])
        assert np.array_equal(got.quantiles, want.quantiles) and np.array_equal(got.mean, want.mean)
    assert not np.array_equal(f.forecast(t, y_changed, targets, [0.1, 0.5, 0.9]).quantiles, first.quantiles)


def test_the_memo_never_answers_for_another_series_sharing_the_newest_measurements():
    """The memo keys a prefix by its newest measurement and a hash of the
    newest context + 65 (models/onnx.py prefix_keys). Two series that agree
    from index 100 on but differ before (two clocks polled together, or a
    corrected history) share every later prefix's newest measurement: each
    must still be calibrated on its own model outputs, bit-equal to a fresh
    forecaster's."""
    from chronotick import models as registry
    path = registry.onnx_models()["clock-bolt"]
    t = 1.7e9 + 64.0 * np.arange(200)
    rng = np.random.default_rng(7)
    a = np.cumsum(rng.normal(size=200)) * 1e-4
    b = a.copy()
    b[:100] += rng.normal(size=100) * 1e-3
    targets, levels = t[-1] + 64.0 * np.array([1.0, 4.0]), [0.1, 0.5, 0.9]
    shared = OnnxForecaster(path)
    shared.forecast(t, a, targets, levels)
    got = shared.forecast(t, b, targets, levels)
    want = OnnxForecaster(path).forecast(t, b, targets, levels)
    np.testing.assert_array_equal(got.quantiles, want.quantiles)
    assert not np.array_equal(got.quantiles, shared.forecast(t, a, targets, levels).quantiles)


def test_a_full_memo_reuses_its_oldest_slots_without_changing_answers():
    """The memo keeps prefix outputs in slots of one array (_memo_q); beyond
    _memo_max the oldest entry's slot is reused. A streaming forecaster with a
    memo of 16 slots (its 40 calibration pairs never all held, slots
    overwritten every call, some mid-series) must answer bit-equal to a fresh
    forecaster at every step, at one and several leads."""
    from chronotick import models as registry
    path = registry.onnx_models()["clock-bolt"]
    n = 140
    t = 1.7e9 + 64.0 * np.arange(n) + np.random.default_rng(3).uniform(-2, 2, n)
    y = np.cumsum(np.random.default_rng(4).normal(size=n)) * 1e-4
    levels = [0.1, 0.5, 0.9]
    small = OnnxForecaster(path, calib_window=40)
    small._memo_max = 16
    for end in range(60, n, 9):
        tt, yy = t[end - 60:end], y[end - 60:end]
        targets = tt[-1] + 64.0 * np.array([1.0, 3.0, 9.0])
        got = small.forecast(tt, yy, targets, levels)
        want = OnnxForecaster(path, calib_window=40).forecast(tt, yy, targets, levels)
        np.testing.assert_array_equal(got.quantiles, want.quantiles)
        np.testing.assert_array_equal(got.mean, want.mean)
        assert len(small._memo) <= 16 and small._memo_q.shape[0] <= 16
    assert sorted(small._memo.slots()) == list(range(16))      # every slot in use, each once


@pytest.mark.parametrize("kw", [{"step_factor": 4.0}, {"step_s": 256.0}])
def test_a_coarse_grid_memo_never_answers_for_another_series_sharing_the_newest_measurements(kw):
    """On a grid k times coarser a window spans ~k x context measurements; the
    memo keys must cover that many (they covered context + 65 whatever the
    grid). Two series equal in their newest 700 measurements and different
    before (inside a 4 x 256-cell window) must each be calibrated on their own
    model outputs, bit-equal to a fresh forecaster's."""
    from chronotick import models as registry
    path = registry.onnx_models()["clock-bolt"]
    n = 1100
    t = 1.7e9 + 64.0 * np.arange(n)
    rng = np.random.default_rng(11)
    a = np.cumsum(rng.normal(size=n)) * 1e-4
    b = a.copy()
    b[:n - 700] += 0.05 + rng.normal(size=n - 700) * 1e-3
    targets, levels = t[-1] + 256.0 * np.array([1.0, 4.0]), [0.1, 0.5, 0.9]
    shared = OnnxForecaster(path, **kw)
    shared.forecast(t, a, targets, levels)
    got = shared.forecast(t, b, targets, levels)
    want = OnnxForecaster(path, **kw).forecast(t, b, targets, levels)
    np.testing.assert_array_equal(got.quantiles, want.quantiles)
    assert not np.array_equal(got.quantiles, shared.forecast(t, a, targets, levels).quantiles)


def test_the_memo_keys_cover_denser_older_polls_inside_the_window():
    """Found by an audit (2026-12-05): the memo keys covered context x step_factor + 65
    measurements, what a window holds at regular polls. With older polls denser than the newest
    (1 s, then 100 s: the grid step is 100 s, the window 25,650 s) a window holds thousands more,
    and two series differing only there shared each other's model outputs: predict() depended on
    what it had been asked before (80% intervals 10x wider). Each prefix's key now spans its
    window's time span (_core.window_spans)."""
    from chronotick import _core
    from chronotick import models as registry
    path = registry.onnx_models()["clock-bolt"]
    t = 1.7e9 + np.concatenate([np.arange(3000.0), 2999.0 + 100.0 * np.arange(1, 200)])
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1e-3, t.size)
    b = a.copy()
    b[:2600] += 0.05 * np.sin(np.arange(2600) / 50)       # older than the newest 321, inside the window
    targets, levels = t[-1] + 100.0 * np.array([1.0, 8.0]), [0.1, 0.5, 0.9]
    shared = OnnxForecaster(path)
    shared.forecast(t, a, targets, levels)
    got = shared.forecast(t, b, targets, levels)
    want = OnnxForecaster(path).forecast(t, b, targets, levels)
    np.testing.assert_array_equal(got.quantiles, want.quantiles)
    # the spans: numpy's count of the measurements from t[i-1] - (context + 1/2) step_i on
    ends = np.array([1, 2, 100, 3000, 3050, 3199])
    spans = _core.window_spans(t, ends, 256, 1.0, 321)
    for i, s in zip(ends.tolist(), spans.tolist()):
        if i < 2:
            assert s == 321
            continue
        step = np.median(np.diff(t[:i])[-64:])
        assert s == max(321, i - int(np.searchsorted(t, t[i - 1] - 256.5 * step, side="left")))
    assert spans[-1] > 2000                                 # the 1-s polls inside the newest window
    # the keys with the spans computed in the same call, and the oldest measurement they reach
    from chronotick.models.onnx import prefix_keys
    assert prefix_keys(t, a, ends, 321, (256, 1.0)) == prefix_keys(t, a, ends, spans)
    assert _core.window_oldest(t, 2, 3199, 256, 1.0, 321) == int(
        (np.arange(2, 3199) - _core.window_spans(t, np.arange(2, 3199), 256, 1.0, 321)).min())
    with pytest.raises(ValueError, match="step_factor must be finite and > 0"):
        _core.window_spans(t, ends, 256, 0.0, 321)


def test_prefix_keys_do_not_move_when_the_oldest_measurements_drop():
    from chronotick.models.onnx import prefix_keys
    t = np.arange(600.0)
    y = np.random.default_rng(1).normal(size=600)
    full = prefix_keys(t, y, [400, 500, 600], 321)
    tail = prefix_keys(t[50:], y[50:], [350, 450, 550], 321)     # 50 oldest dropped: the same prefixes
    assert full == tail
    y2 = y.copy()
    y2[300] += 1e-12                                               # inside the span of prefix 400 and 600
    changed = prefix_keys(t, y2, [400, 500, 600], 321)
    assert changed[0] != full[0] and changed[2] != full[2]
    assert changed[0][:2] == full[0][:2]                           # same newest measurement, other key
    y3 = y.copy()
    y3[10] += 1.0                                                  # older than any of the spans
    assert prefix_keys(t, y3, [400, 500, 600], 321) == full


def test_a_lead_beyond_the_history_is_at_least_the_longest_calibrated_leads_errors_grown(hold_model):
    """40 measurements, a target 40 steps ahead (bucket 32: 7 pairs, fewer than
    calib_min): it borrows lead 16's calibration and, as the classical models
    do (cpp/models/calibration.h), is at least lead 16's absolute conformal
    error quantile q grown as (40 / 16)^a -- the target's own lead, not its
    bucket's 32 (until 2026-12-06) -- a = log2(MAE(16) / MAE(8)) in
    [growth_min, 2]. The hold model's own spread grows linearly: 40/16 q."""
    n, ahead = 40, 40
    t = 1.7e9 + 100.0 * np.arange(n)
    y = np.cumsum(np.random.default_rng(2).normal(size=n)) * 1e-2

    def errors(S):        # the hold model's median of y_j, S steps ahead, is y_{j-S}
        j = np.arange(S + 1, n)
        return np.abs(y[j] - y[j - S])

    e16 = np.sort(errors(16))
    q = e16[math.ceil((e16.size + 1) * 0.8) - 1]
    growth = math.log2(e16.mean() / errors(8).mean())
    r = ahead / 16
    for growth_min, half in [(1.5, q * r ** min(max(growth, 1.5), 2.0)),    # the floor binds: > 2.5 q
                             (0.0, max(q * r ** min(max(growth, 0.0), 2.0), q * ahead / 16))]:
        f = OnnxForecaster(hold_model, step_s=100.0, growth_min=growth_min)
        fc = f.forecast(t, y, [t[-1] + 100.0 * ahead], [0.1, 0.5, 0.9])
        assert fc.mean[0] == pytest.approx(y[-1], abs=1e-6)
        assert "calibrated at a shorter lead" in fc.note and "grown with the lead" in fc.note
        assert fc.quantiles[0, 2] - fc.mean[0] == pytest.approx(half, rel=1e-4)
        assert fc.mean[0] - fc.quantiles[0, 0] == pytest.approx(half, rel=1e-4)
    assert f.forecast(t, y, [t[-1] + 100.0], [0.1, 0.5, 0.9]).note == ""      # lead 1: its own errors
    few = f.forecast(t[:6], y[:6], [t[5] + 100.0], [0.1, 0.5, 0.9])            # 4 pairs < calib_min
    assert "not calibrated at some leads" in few.note
    with pytest.raises(ValueError, match=r"growth_min must be a number in \[0, 2\], got 3"):
        OnnxForecaster(hold_model, growth_min=3)


def test_a_borrowed_floor_grows_with_each_targets_own_lead(hold_model):
    """Every target of a borrowed bucket (here 32: leads 23-45 of a 40-measurement history) gets
    lead 16's error quantile q grown with ITS lead, (L / 16)^a, as the classical models do; with
    the bucket's (32 / 16)^a every one of them had the same floor, then a jump at 46 (an audit,
    2026-12-06). The C++ rule's offsets per target (_core.grown_offsets with an array of ratios)
    are those of one ratio at a time."""
    from chronotick import _core
    n = 40
    t = 1.7e9 + 100.0 * np.arange(n)
    y = np.cumsum(np.random.default_rng(2).normal(size=n)) * 1e-2
    e16 = np.sort(np.abs(y[17:] - y[1:-16]))
    q = e16[math.ceil((e16.size + 1) * 0.8) - 1]
    a = min(max(math.log2(e16.mean() / np.abs(y[9:] - y[1:-8]).mean()), 1.5), 2.0)
    leads = np.arange(23, 46)
    f = OnnxForecaster(hold_model, step_s=100.0)
    fc = f.forecast(t, y, t[-1] + 100.0 * leads, [0.1, 0.5, 0.9])
    assert "calibrated at a shorter lead" in fc.note
    half = fc.quantiles[:, 2] - fc.mean
    np.testing.assert_allclose(half, q * (leads / 16) ** a, rtol=1e-4)
    np.testing.assert_allclose(fc.mean - fc.quantiles[:, 0], half, rtol=1e-4)
    assert np.all(np.diff(half) > 0)
    lv = np.array([0.1, 0.5, 0.9])
    many = _core.grown_offsets(e16, 0.5, leads / 16, lv, 1.5)
    assert many.shape == (leads.size, 3)
    for k, L in enumerate(leads):
        np.testing.assert_array_equal(many[k], _core.grown_offsets(e16, 0.5, L / 16, lv, 1.5))


def test_lead_buckets_of_few_targets_match_the_array_rule():
    from chronotick.models.onnx import _lead_buckets
    h = np.r_[0.2, 0.5, 1.0, 1.41, 1.42, 2.82, 2.83, 3.0, 5.65, 5.66, 45.2, 45.3, 63.9, 64.4,
              np.random.default_rng(0).uniform(0.1, 64.5, 400)]
    many = _lead_buckets(h)                                  # the numpy path (more than 4 targets)
    few = np.concatenate([_lead_buckets(h[i:i + 2]) for i in range(0, h.size, 2)])
    np.testing.assert_array_equal(few, many)
    assert many[:8].tolist() == [1, 1, 1, 1, 2, 2, 4, 4]


@shipped
def test_a_lead_whose_pairs_fall_beyond_the_horizon_borrows_the_next_shorter_lead():
    # 60 polls ahead (lead bucket 64) on a simulated disciplined clock whose
    # polls run late: 64 polls ahead then spans more than the model's 64.5
    # grid steps for most pairs, so lead 64 has too few errors of its own.
    # It borrowed lead 1's, grown 64^1.5-fold or more: a 3.1 s wide 80%
    # interval where the clock's errors are ms (13% of 398 origins on 8 such
    # clocks). Now lead 32 (and 16) are there to borrow from.
    from chronotick import sim
    r = sim.simulate(preset="disciplined", scenario="server_load", duration_s=10 * 3600.0, poll_s=100.0,
                     seed=1002)
    t, y = r.trace.times, r.trace.offsets
    f = OnnxForecaster(SHIPPED)
    o = 171
    fc = f.forecast(t[:o], y[:o], [t[o + 59]], [0.1, 0.5, 0.9])
    lo, mid, hi = fc.quantiles[0]
    assert "calibrated at a shorter lead" in fc.note
    assert 0 < hi - lo < 0.05, (lo, mid, hi)


# ---- detrending (cpp/windowing/detrend.h) ------------------------------------------------------

def _line(n=100, step=100.0, per_step=2e-4, noise=1e-9, seed=0):
    """A free-running clock: a steady frequency offset (per_step s per poll) plus tiny white noise."""
    rng = np.random.default_rng(seed)
    t = 1.7e9 + np.arange(n) * step
    return t, 1e-3 + per_step * np.arange(n) + rng.normal(0, noise, n)


def test_a_line_is_forecast_along_the_line(hold_model):
    # the hold model on the residuals forecasts 0 from the newest cell: the forecast is the line
    t, y = _line()
    h = np.array([1.0, 2.5, 16.0, 64.0])
    targets = t[-1] + h * 100.0
    along = OnnxForecaster(hold_model).forecast(t, y, targets, [0.1, 0.5, 0.9], calibrate=False)
    np.testing.assert_allclose(along.mean, y[-1] + 2e-4 * h, rtol=0, atol=1e-8)
    # the model's own spread around it is kept: 0.1/0.9 at -+0.4 SPREAD h
    np.testing.assert_allclose(along.quantiles[:, 2] - along.mean, 0.4 * SPREAD * h, rtol=1e-5)
    held = OnnxForecaster(hold_model, detrend_r2=None).forecast(t, y, targets, [0.1, 0.5, 0.9], calibrate=False)
    np.testing.assert_allclose(held.mean, y[-1], atol=1e-12)


def test_noise_without_a_line_is_forecast_as_before(hold_model):
    rng = np.random.default_rng(4)
    t = 1.7e9 + np.arange(100) * 100.0
    y = rng.normal(0, 1e-3, 100)
    targets = t[-1] + np.array([100.0, 3200.0])
    a = OnnxForecaster(hold_model).forecast(t, y, targets, [0.1, 0.5, 0.9])
    b = OnnxForecaster(hold_model, detrend_r2=None).forecast(t, y, targets, [0.1, 0.5, 0.9])
    np.testing.assert_array_equal(a.quantiles, b.quantiles)


def test_calibration_pairs_are_detrended_too(hold_model):
    # the past predictions that calibrate the intervals come from the same detrended path: on a line
    # with 1e-6 noise their errors are noise-sized, so the calibrated interval is too (held, the
    # errors are the line's 2e-4 per step and so is the interval)
    t, y = _line(n=150, noise=1e-6, seed=1)
    target = [t[-1] + 100.0]
    along = OnnxForecaster(hold_model, calib_window=40).forecast(t, y, target, [0.1, 0.5, 0.9])
    held = OnnxForecaster(hold_model, calib_window=40, detrend_r2=None).forecast(t, y, target, [0.1, 0.5, 0.9])
    w_along = along.quantiles[0, 2] - along.quantiles[0, 0]
    w_held = held.quantiles[0, 2] - held.quantiles[0, 0]
    assert 1e-7 < w_along < 2e-5 and w_held > 2e-4
    truth = 1e-3 + 2e-4 * 150
    assert along.quantiles[0, 0] - 5e-6 <= truth <= along.quantiles[0, 2] + 5e-6


def test_a_noiseless_line_gives_finite_calibrated_intervals():
    # An exact line leaves the shipped model residuals of float32 rounding only, and its spread
    # about 1e-12 under a trend of 1e-5 per step: put back in float32 the spread rounded to zero
    # and the conformal factors (past error / zero distance) made quantiles of 1e275.
    f = OnnxForecaster(SHIPPED)
    t = 1.7e9 + 64.0 * np.arange(20)
    y = np.linspace(0, 1e-3, 100)[:20]
    targets = t[-1] + 64.0 * np.arange(1, 5)
    fc, _, _, mean, sigma = f.forecast_with_past(t, y, targets, np.array([0.1, 0.5, 0.9]))
    ok = np.isfinite(mean)
    assert ok.any() and np.all(np.isfinite(sigma[ok])) and np.all(sigma[ok] > 0)
    want = y[-1] + (1e-3 / 99) * np.arange(1, 5)
    np.testing.assert_allclose(fc.quantiles, np.repeat(want[:, None], 3, axis=1), rtol=0, atol=1e-9)


def test_detrend_r2_is_checked(hold_model):
    for bad in (-0.1, 1.5, "0.8", True, float("nan")):
        with pytest.raises(ValueError, match="detrend_r2 must be a number in"):
            OnnxForecaster(hold_model, detrend_r2=bad)


def test_calibration_pairs_are_forecast_from_min_history_measurements(hold_model):
    # as the classical models' pairs (cpp/models/leads.h): the earliest pair of a lead is the
    # first whose prefix holds min_history measurements
    f = OnnxForecaster(hold_model)
    assert f.min_history == 8
    assert f._pair_start(1, 20, 1.0) == (1, 8) and f._pairs_at(1, 20, 1.0) == 12
    assert f._pair_start(4, 20, 1.0) == (4, 11) and f._pairs_at(4, 20, 1.0) == 9
    assert OnnxForecaster(hold_model, min_history=2)._pair_start(4, 20, 1.0) == (4, 5)
    assert f._pair_start(1, 500, 1.0) == (1, 436)           # a long history: the newest calib_window
    for bad in (1, 0, 2.5, True, None.__class__):
        with pytest.raises(ValueError, match="min_history must be an integer >= 2"):
            OnnxForecaster(hold_model, min_history=bad)


def test_long_lead_intervals_of_a_free_running_clock_from_an_hour():
    # An hour of minute polls, forecast an hour ahead (holdover): with pairs from prefixes of 2-7
    # measurements (before min_history applied) the shipped model's 80% intervals were ~1400x
    # wider than the classical fusion's on simulated free-running clocks; now about 2x.
    from chronotick import sim
    from chronotick.backtest import core_model, members_model
    r = sim.simulate(preset="tcxo", scenario="steady", duration_s=4 * 3600.0, poll_s=60.0, seed=4002,
                     disciplined=False)
    t, y = r.trace.times, r.true_offset
    bolt, fused = members_model("clock-bolt"), core_model("fused")
    ratios = []
    for o in range(60, t.size - 60, 20):
        _, blo, bhi = bolt(t[o - 60:o], y[o - 60:o], None, t[o - 1] + 3600.0, 0.8)
        _, flo, fhi = fused(t[o - 60:o], y[o - 60:o], None, t[o - 1] + 3600.0, 0.8)
        ratios.append((bhi - blo) / (fhi - flo))
    assert len(ratios) >= 5 and np.median(ratios) < 10


def test_detrend_r2_is_fixed_for_the_forecasters_life(hold_model):
    f = OnnxForecaster(hold_model, detrend_r2=0.5)
    assert f.detrend_r2 == 0.5
    with pytest.raises(AttributeError):
        f.detrend_r2 = None          # the memo holds outputs made with the first setting


def test_detrend_rows_takes_nan_as_off_like_forecast_window():
    from chronotick import _core
    x = np.tile(np.arange(64, dtype=np.float32) * 1e-3, (2, 1))
    before = x.copy()
    np.testing.assert_array_equal(_core.detrend_rows(x, math.nan), [0.0, 0.0])
    np.testing.assert_array_equal(x, before)
    np.testing.assert_allclose(_core.detrend_rows(x, 0.8), [1e-3, 1e-3], rtol=1e-5)
    with pytest.raises(ValueError, match="r2_min must be finite or NaN"):
        _core.detrend_rows(x, math.inf)


def test_detrending_needs_a_significant_slope():
    """Rule D (docs/models.md): a line is taken out only where its slope's t statistic is >= 4.
    On white noise (no trend) in windows of 8 observed cells the robust R^2 alone passed 6.4% of
    them (a line the MAD of whose residuals happened to be small), and clock-bolt then forecast a
    ramp of 14 sigma (median) 64 steps ahead with its interval as wide as the residuals: the 80%
    interval held the truth in 0% of those windows (an audit, 2026-12-05)."""
    from chronotick import _core
    rng = np.random.default_rng(0)
    L = 256
    for nobs, limit in ((8, 0.01), (12, 0.005), (16, 0.002)):
        x = np.full((4000, L), np.nan, np.float32)
        v = rng.normal(size=(4000, nobs))
        x[:, L - nobs:] = v - v[:, -1:]
        assert np.mean(_core.detrend_rows(x, 0.8) != 0) < limit, nobs
    # the audit's window: 8 measurements of 100 us white noise; R^2 0.8 passed, t does not
    y = np.array([107.8, 72.2, 21.1, 28.4, -17.0, 86.8, -113.0, -42.2], np.float32)
    assert _core.detrend_rows(np.concatenate([np.full(248, np.nan, np.float32), y])[None, :], 0.8)[0] == 0
    # a real trend is still taken out, with noise, from 8 cells on
    k = np.arange(8, dtype=np.float32)
    row = np.concatenate([np.full(248, np.nan, np.float32), 5.0 * k + rng.normal(size=8).astype(np.float32)])
    assert _core.detrend_rows(row[None, :].copy(), 0.8)[0] == pytest.approx(5.0, rel=0.2)


def test_clock_bolt_on_short_white_noise_is_not_a_ramp():
    """The audit's case through predict(): 8 measurements of white noise had a -22 us/poll line
    taken out, and clock-bolt's 80% interval 64 polls ahead was [-1566, -1393] us around a truth
    of mean 0 (sd 100 us); auto's [-1048, -833]."""
    import chronotick
    t = 1.7e9 + np.arange(8) * 16.0
    y = np.array([107.8, 72.2, 21.1, 28.4, -17.0, 86.8, -113.0, -42.2]) * 1e-6
    for model in ("clock-bolt", "auto"):
        fc = chronotick.predict(y, t, horizon=64, model=model)
        lo, hi = fc.interval(0.8)
        assert lo[-1] < 0.0 < hi[-1], (model, lo[-1], hi[-1])
        assert abs(fc.mean[-1]) < 3e-4, (model, fc.mean[-1])


def test_calibrated_intervals_of_asymmetric_model_levels_scale_the_distances_they_were_fitted_on(tmp_path):
    """Model levels [0.05, 0.1, 0.5, 0.9]: the conformal factors are fitted on
    the widest central interval the levels have (0.1-0.9), so a requested
    0.05 / 0.95 is that interval's distances scaled (as ConformalScaler.apply
    clamps). The hold model's 0.1/0.9 distances are equal, so its calibrated
    90% interval is symmetric about the median; the 0.05 level's own, wider
    distance had been scaled by the 0.1-0.9 factor (one tail 12% wider)."""
    path = build_model(tmp_path / "asym.onnx", levels=[0.05, 0.1, 0.5, 0.9])
    import json
    json.dump({"quantile_levels": [0.05, 0.1, 0.5, 0.9]}, open(str(path)[:-5] + ".json", "w"))
    t, y = regular(120)
    f = OnnxForecaster(path)
    fc = f.forecast(t, y, [t[-1] + 100.0], [0.05, 0.5, 0.95])
    assert "not calibrated" not in fc.note
    lo, med, hi = fc.quantiles[0]
    assert abs((med - lo) / (hi - med) - 1.0) < 1e-9


def _noisy_level(n=300, seed=1):
    rng = np.random.default_rng(seed)
    return np.arange(n) * 64.0, 1e-3 + rng.normal(0.0, 1e-4, n)


@pytest.mark.parametrize("at", [150, 270, 299])
def test_a_gross_spike_in_the_window_does_not_set_the_models_scale(at):
    # The model scales its window by the window's own std (in the graph): one measurement
    # 1 s off among 100 us of noise made that ~60 ms, the median scattered by ms and the
    # 80% interval 100-140 ms wide. The spike is masked before the run
    # (cpp/windowing/spike_mask.h): the forecast stays what it is without the spike.
    f = OnnxForecaster(SHIPPED)
    t, y = _noisy_level()
    clean = f.forecast(t, y, t[-1] + 64.0 * np.arange(1, 9))
    ys = y.copy()
    ys[at] += 1.0
    fc = f.forecast(t, ys, t[-1] + 64.0 * np.arange(1, 9))
    assert np.all(np.abs(fc.mean - 1e-3) < 3e-4), fc.mean
    width = fc.quantiles[:, -1] - fc.quantiles[:, 0]
    assert np.all(width < 1e-3), width
    if at != 299:   # the same window less one cell: within a tenth of the noise
        assert np.max(np.abs(fc.mean - clean.mean)) < 1e-5, (fc.mean, clean.mean)
    # without the mask the old behaviour (documents why the mask is there)
    raw = OnnxForecaster(SHIPPED, spike_c=None).forecast(t, ys, t[-1] + 64.0 * np.arange(1, 9))
    assert np.max(raw.quantiles[:, -1] - raw.quantiles[:, 0]) > 10 * np.max(width)


def test_a_step_of_two_measurements_is_not_masked():
    # 200 sigma, seen twice: a step, which the model sees as it is (what it makes of two
    # measurements at a new level is its own: clock-bolt, trained mostly on disciplined
    # clocks, forecasts them back towards the window's level)
    t, y = _noisy_level()
    y[-2:] += 0.02
    targets = t[-1] + 64.0 * np.arange(1, 5)
    fc = OnnxForecaster(SHIPPED).forecast(t, y, targets)
    raw = OnnxForecaster(SHIPPED, spike_c=None).forecast(t, y, targets)
    np.testing.assert_array_equal(fc.quantiles, raw.quantiles)
    x, _ = _core_window(t, y, 5.0)
    assert not np.isnan(x[-2:]).any()
    y[-2] -= 0.02           # only the newest moved: masked, the window re-centred on the one before
    x, level = _core_window(t, y, 5.0)
    assert np.isnan(x[-1]) and level == pytest.approx(y[-2], abs=1e-9) and x[-2] == pytest.approx(0.0, abs=1e-9)


def _core_window(t, y, spike_c):
    from chronotick import _core
    return _core.nearest_window(t, y, float(t[-1]), 64.0, 512, spike_c=spike_c)


def test_spike_c_is_checked(hold_model):
    for bad in (0, -1.0, math.nan, math.inf, "5", True):
        with pytest.raises(ValueError, match="spike_c"):
            OnnxForecaster(SHIPPED, spike_c=bad)
    assert OnnxForecaster(SHIPPED).spike_c == 5.0           # "auto": on for Chronos-Bolt exports,
    assert OnnxForecaster(hold_model).spike_c is None       # off for a model that may need the newest cell
    from chronotick import _core
    t, y = _noisy_level(20)
    with pytest.raises(ValueError, match="level and spike_c"):
        _core.nearest_window(t, y, float(t[-1]), 64.0, 32, 0.0, spike_c=5.0)


def test_a_window_emptied_by_a_gap_is_not_forecast_from():
    """Found by an audit (session 23): after a gap longer than clock-bolt's window (256 cells of
    16 s) its window held the one measurement since; one cell was read as an exactly flat window,
    and predict(model="clock-bolt") and the Engine gave zero-width intervals at every level, with
    no note. The model is now used from min_history (8) measured cells of its window on, as the
    classical models from min_history measurements."""
    import chronotick
    rng = np.random.default_rng(23)
    t = np.r_[np.arange(99) * 16.0, 98 * 16.0 + 10_000]
    y = 1e-3 + 2e-6 * t + rng.normal(0, 1e-4, t.size)
    f = OnnxForecaster(SHIPPED)
    assert f.observed_cells(t) == 1
    assert f.observed_cells(t[:-1]) == 99
    assert f.observed_cells(np.r_[t[:-1], t[-2] + 20.0, t[-2] + 21.0]) == 100    # two in one cell: once
    for seed in range(5):      # the cells window() fills, on irregular polls with gaps
        ti = np.cumsum(np.random.default_rng(seed).exponential(16.0, 600) * (1 + 40 * (np.arange(600) % 97 == 0)))
        w = window(ti, np.zeros(ti.size), float(ti[-1]), f._step(ti), f.context)
        assert f.observed_cells(ti) == int(w.mask.sum())
    fc = chronotick.predict(y, t, horizon=4, model="clock-bolt")
    lo, hi = fc.interval(0.8)
    assert np.all(hi - lo > 1e-4) and "clock-bolt" not in fc.weights
    assert "holds 1 measured cell < min_history 8: the classical fusion instead" in fc.note
    auto = chronotick.predict(y, t, horizon=4)
    assert "clock-bolt" not in auto.weights and "clock-bolt left out" in auto.note
    with chronotick.Engine({"short_term": {"models": ["clock-bolt"]}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_short_term()
        assert "clock-bolt left out: its window holds 1 measured cell" in fc.note
        assert np.all(np.diff(fc.interval(0.8), axis=0) > 1e-4) and eng.health()["ok"]
    # from 8 measured cells after the gap on, the model forecasts again, with a spread
    t2 = np.r_[t, t[-1] + 16.0 * np.arange(1, 8)]
    y2 = 1e-3 + 2e-6 * t2 + rng.normal(0, 1e-4, t2.size)
    assert f.observed_cells(t2) == 8
    fc = chronotick.predict(y2, t2, horizon=4, model="clock-bolt")
    lo, hi = fc.interval(0.8)
    assert fc.model == "clock-bolt" and np.all(hi - lo > 0)


@pytest.mark.parametrize("targets, match", [
    ([np.nan], r"target_times\[0\] = nan is not finite"),
    ([], "target_times is empty"),
    ("last+nan", r"target_times\[1\] = nan is not finite"),
    ("2-D", r"target_times must be 1-D, got shape \(1, 1\)"),
])
def test_within_reach_and_with_past_check_targets_as_forecast_does(hold_model, targets, match):
    # Found by an audit (2026-12-04): both computed their reach before any check, so NaN or no
    # targets read as "out of reach" (None) and a NaN among reachable targets as a partial forecast.
    f = OnnxForecaster(hold_model)
    t, y = regular()
    if targets == "last+nan":
        targets = [t[-1] + 100.0, np.nan]
    elif targets == "2-D":
        targets = [[t[-1] + 100.0]]
    for call in (f.forecast, f.forecast_within_reach, f.forecast_with_past):
        with pytest.raises(ValueError, match=match):
            call(t, y, targets)
    for call in (f.forecast_within_reach, f.forecast_with_past):
        with pytest.raises(ValueError, match="at least 2 measurements"):
            call(t[:1], y[:1], [t[0] + 100.0])


def test_a_level_whose_coverage_rounds_to_one_is_named():
    # Found by an audit (2026-12-04): levels below ~1.1e-16 passed the check and the calibration
    # then failed naming "coverages[0] = 1.000000", a value the caller never passed.
    from chronotick.models.calibration import ConformalScaler
    with pytest.raises(ValueError, match=r"levels\[0\] = 1e-17 is too near 0"):
        ConformalScaler(LEVELS).apply(np.zeros((1, len(LEVELS))), [1e-17, 0.5])
    ConformalScaler(LEVELS).apply(np.zeros((1, len(LEVELS))), [1e-9, 0.5])     # small but representable


def test_a_gap_longer_than_the_window_restarts_the_calibration(hold_model):
    # Found by an audit (2026-12-04), fixed under Rule G (docs/models.md): the calibration pairs
    # before such a gap calibrated the forecasts after it, whose windows (16 cells here) hold only
    # the measurements since; on 200 simulated clocks after a 2-day gap clock-bolt's 80% intervals
    # covered 70 / 64.5 / 30.5% 1 / 8 / 32 steps ahead (86 / 82.5 / 89.5% now).
    f = OnnxForecaster(hold_model)
    rng = np.random.default_rng(3)
    t = 1.7e9 + 100.0 * np.arange(130)
    t[100:] += 50 * 100.0                       # a gap of 51 steps > the 16-cell window
    y = np.cumsum(np.where(np.arange(130) < 100, 1e-2, 1e-4) * rng.standard_normal(130))
    assert f._restart(t, 1.0) == 100 and f._restart(t[:100], 1.0) == 0
    targets = t[-1] + 100.0 * np.arange(1, 9)
    full = f.forecast(t, y, targets)
    since = f.forecast(t[100:], y[100:], targets)
    np.testing.assert_array_equal(full.quantiles, since.quantiles)
    # the pairs before the gap (their errors 100x larger) are not used: the intervals are narrow
    assert np.all(full.quantiles[:, -1] - full.quantiles[:, 0] < 2e-3)
    # without the gap every pair is used, as before
    t2 = 1.7e9 + 100.0 * np.arange(130)
    assert f._restart(t2, 1.0) == 0
    assert np.all(f.forecast(t2, y, t2[-1] + 100.0 * np.arange(1, 9)).quantiles[:, -1]
                  - f.forecast(t2, y, t2[-1] + 100.0 * np.arange(1, 9)).quantiles[:, 0] > 0)


def test_fixed_step_memo_keys_follow_each_window_not_the_spacing(hold_model):
    # Found by an audit (2026-12-04): with a fixed step_s every memo key covered
    # context x step_s / (the whole series' median spacing) + 65 measurements, a count that moved
    # with the spacing, so the memo missed and the calibration was run again on most calls
    # (the Engine's long-term model with short_term.step_s set: 96 model rows a forecast, 15 ms).
    from chronotick.models.onnx import prefix_keys
    f = OnnxForecaster(hold_model, step_s=100.0)           # a window of 16 cells of 100 s
    rng = np.random.default_rng(0)
    t = 1.7e9 + np.cumsum(rng.uniform(40, 60, 200))       # ~2 measurements a cell
    y = rng.normal(size=200)
    ends = np.array([150, 199])
    key = prefix_keys(t, y, ends, f._key_spans(t, ends))
    inside = t[ends[0] - 1] - 15.4 * 100.0                  # in the window of prefix 150
    older = t[ends[0] - 1] - 16.6 * 100.0                   # before it
    y2 = y.copy()
    y2[int(np.searchsorted(t, older)) - 1] += 1.0
    assert prefix_keys(t, y2, ends, f._key_spans(t, ends))[0] == key[0]
    y3 = y.copy()
    y3[int(np.searchsorted(t, inside))] += 1.0
    assert prefix_keys(t, y3, ends, f._key_spans(t, ends))[0] != key[0]
    # the same prefix inside a series with another median spacing (denser measurements long
    # before it): the same key
    t4 = np.concatenate([t[0] - 10.0 * np.arange(300, 0, -1), t])
    y4 = np.concatenate([np.zeros(300), y])
    assert prefix_keys(t4, y4, ends + 300, f._key_spans(t4, ends + 300)) == key
    # and the calibration finds its predictions in the memo: one model row per new measurement
    rows, run = [], f._run_bound
    f._run_bound = lambda io, out: (rows.append(out.shape[0]), run(io, out))[1]
    for n in range(120, 140):
        f.forecast(t[:n], y[:n], [t[n - 1] + 100.0])
    assert rows[-5:] == [1] * 5


def test_the_calibration_kept_for_a_history_is_not_shared_across_a_restart(hold_model):
    # Found by a review (2026-12-04): two histories equal in their newest measurements but not
    # in the gap before them (20 s > the 15.5 s window: the calibration restarts; 15 s: it does
    # not) shared one kept calibration; its key now holds the first calibration target too
    T0 = 1.7e9
    rng = np.random.default_rng(1)
    post_t, post_y = T0 + np.arange(68.0), np.cumsum(rng.normal(size=68)) * 1e-3
    older = rng.normal(size=100) * 1e-2

    def series(before):
        return np.r_[T0 - before - np.arange(100)[::-1], post_t], np.r_[older, post_y]
    (ta, ya), (tb, yb) = series(20.0), series(15.0)
    f = OnnxForecaster(hold_model, step_s=1.0)
    assert f._restart(ta, f._grid_ratio(ta)) == 100 and f._restart(tb, f._grid_ratio(tb)) == 0
    target = [T0 + 68.0]
    fresh = OnnxForecaster(hold_model, step_s=1.0).forecast(tb, yb, target).quantiles
    f.forecast(ta, ya, target)
    np.testing.assert_array_equal(f.forecast(tb, yb, target).quantiles, fresh)


def test_prefix_hashes_take_a_numpy_integer_span():
    from chronotick import _core
    t, y, ends = np.arange(10.0), np.zeros(10), np.array([5, 10])
    ref = _core.prefix_hashes(t, y, ends, 3)
    for span in (np.int64(3), np.int32(3), np.array([3, 3]), [3, 3]):
        np.testing.assert_array_equal(_core.prefix_hashes(t, y, ends, span), ref)
    with pytest.raises(TypeError, match="span must be an integer or one per end, got float"):
        _core.prefix_hashes(t, y, ends, 2.5)
    with pytest.raises(ValueError, match="span must be >= 1, got 0"):
        _core.prefix_hashes(t, y, ends, 0)


def test_prefix_keys_are_the_newest_measurement_and_the_fingerprint():
    # _core.prefix_keys (one C++ call since 2026-12-04) gives the tuples the numpy version made
    from chronotick import _core
    from chronotick.models.onnx import prefix_keys
    rng = np.random.default_rng(5)
    t, y = np.cumsum(rng.uniform(1.0, 2.0, 200)), rng.normal(size=200)
    ends = np.array([1, 7, 200, 64])
    for span in (40, np.array([1, 3, 200, 64])):
        h = _core.prefix_hashes(t, y, ends, span)
        want = list(zip(t[ends - 1].tolist(), y[ends - 1].tolist(), h.tolist()))
        assert prefix_keys(t, y, ends, span) == want
        assert prefix_keys(t.tolist(), list(y), ends.tolist(), span) == want
        assert all(type(v) is w for v, w in zip(want[0], (float, float, int)))
    for bad in ([0], [201]):
        with pytest.raises(ValueError, match=r"ends\[0\] = .* is not in \[1, 200\]"):
            prefix_keys(t, y, bad, 3)


def test_a_fixed_step_forecast_takes_lists(hold_model):
    # a list t reached the fixed-step memo key's span unconverted (TypeError; found in review)
    f = OnnxForecaster(hold_model, step_s=100.0)
    t, y = regular()
    ref = OnnxForecaster(hold_model, step_s=100.0).forecast(t, y, [t[-1] + 100.0])
    got = f.forecast(t.tolist(), y.tolist(), [float(t[-1]) + 100.0])
    np.testing.assert_array_equal(got.quantiles, ref.quantiles)
