"""Probe of the ONNX runtime side: the model cache of predict(model=NAME)
after a name is registered again, huge batches run in slices, and the
Engine's long-term model with a history of too few of its coarse cells."""
from __future__ import annotations

import numpy as np
import pytest

from test_onnx_edge_cases import hold_model   # a hand-built 'hold' graph (needs onnx)


def test_a_name_registered_again_predicts_with_the_new_file(tmp_path, registry):
    # Was: predict(model=NAME) kept the forecaster of the file NAME first meant
    # (cached by name): a new file under that name was neither used nor checked.
    import chronotick
    from chronotick.errors import ModelError
    t = np.arange(40) * 10.0
    y = np.zeros(40)
    registry.register("probe-x", hold_model(tmp_path / "a.onnx"))
    a = chronotick.predict(y, t, model="probe-x", horizon=4, quantile_levels=[0.5])
    registry.register("probe-x", hold_model(tmp_path / "b.onnx", offset=1.0))
    b = chronotick.predict(y, t, model="probe-x", horizon=4, quantile_levels=[0.5])
    np.testing.assert_allclose(b.mean - a.mean, 1.0, atol=1e-6)
    registry.register("probe-x", hold_model(tmp_path / "bad.onnx", input_name="ctx"))
    with pytest.raises(ModelError, match="expected one input named 'context'"):
        chronotick.predict(y, t, model="probe-x", horizon=4)


def test_a_huge_batch_runs_in_slices_with_the_same_result(tmp_path):
    # Was: one onnxruntime run per batch however large (the calibration's included:
    # ~65 windows a series): 300 clock-bolt series took 2.2 GB, kept by the session's arena.
    from chronotick.models.onnx import OnnxForecaster
    path = hold_model(tmp_path / "hold.onnx")
    whole, sliced = OnnxForecaster(path), OnnxForecaster(path)
    sliced.RUN_ROWS = 4
    x = np.random.default_rng(0).standard_normal((10, 16)).astype(np.float32)
    assert len(sliced._binding(10)[2]) == 3 and len(whole._binding(10)[2]) == 1
    np.testing.assert_array_equal(sliced.run(x), whole.run(x))
    rng = np.random.default_rng(1)
    series = [(np.arange(60) * 10.0, np.cumsum(rng.standard_normal(60)) * 1e-3) for _ in range(3)]
    targets = [s[0][-1] + 10.0 * np.arange(1, 5) for s in series]
    for a, b in zip(whole.forecast_batch(series, targets), sliced.forecast_batch(series, targets)):
        np.testing.assert_array_equal(a.quantiles, b.quantiles)


def test_a_long_term_model_waits_for_min_history_cells_of_its_grid():
    # Was: left out only below engine.min_history MEASUREMENTS; at step_factor 8 the
    # model then forecast from 1-7 cells with its own uncalibrated quantiles (80%
    # intervals covering 0 of 64 targets of a drifting clock from 8-48 measurements).
    import chronotick
    rng = np.random.default_rng(3)
    t = 100.0 * np.arange(100)
    y = 1e-7 * t + 1e-5 * rng.standard_normal(t.size)
    with chronotick.Engine({"long_term": {"model": "clock-bolt", "step_factor": 8}}) as eng:
        eng.observe_many(t[:40], y[:40])
        fc = eng.predict_long_term()
        assert "clock-bolt (long-term)" not in fc.weights
        assert "clock-bolt (long-term) left out: 40 measurements < engine.min_history 8 cells" in fc.note
        assert eng.health()["models"]["clock-bolt (long-term)"]["ok"]
        # from 64 measurements (8 cells) it had joined with its raw quantiles, those of cell
        # averages (80% intervals covering 12-36% on simulated TCXO clocks; audit 2026-12-04):
        # it joins once its one-step calibration has its calib_min pairs, at 79
        eng.observe_many(t[40:78], y[40:78])
        fc = eng.predict_long_term()
        assert "clock-bolt (long-term)" not in fc.weights
        assert "78 measurements < engine.min_history 8 cells of its grid and its one-step calibration (79" in fc.note
        eng.observe_many(t[78:79], y[78:79])
        fc = eng.predict_long_term()
        assert "clock-bolt (long-term)" in fc.weights and "not calibrated" not in fc.note, fc.note
        eng.observe_many(t[79:], y[79:])
        assert "clock-bolt (long-term)" in eng.predict_long_term().weights
