"""Probe of the ONNX runtime side: the model cache of predict(model=NAME)
after a name is registered again, huge batches run in slices, and the
Engine's long-term model with a history of too few of its coarse cells."""
from __future__ import annotations

import numpy as np
import pytest

LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def hold_model(path, *, context=16, horizon=64, input_name="context", offset=0.0):
    """quantiles[b, k, h] = context[b, -1] + offset + (levels[k] - 0.5) * 0.01 * (h + 1)."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    spread = ((np.asarray(LEVELS) - 0.5)[:, None] * 0.01 * np.arange(1, horizon + 1)[None, :] + offset)
    inits = [numpy_helper.from_array(spread[None].astype(np.float32), "spread"),
             numpy_helper.from_array(np.array([-1], np.int64), "start"),
             numpy_helper.from_array(np.array([2**62], np.int64), "end"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    nodes = [helper.make_node("Slice", [input_name, "start", "end", "axis1"], ["last"]),
             helper.make_node("Unsqueeze", ["last", "axis1"], ["last3"]),
             helper.make_node("Add", ["last3", "spread"], ["quantiles"])]
    graph = helper.make_graph(
        nodes, "hold", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["B", context])],
        [helper.make_tensor_value_info("quantiles", TensorProto.FLOAT, ["B", len(LEVELS), horizon])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture
def registry():
    from chronotick import api, models
    before = dict(models._registered)
    yield models
    models._registered.clear()
    models._registered.update(before)
    for name in [n for n in api._onnx_cache if n.startswith("probe-")]:
        api._onnx_cache.pop(name)


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
        eng.observe_many(t[40:], y[40:])
        assert "clock-bolt (long-term)" in eng.predict_long_term().weights
