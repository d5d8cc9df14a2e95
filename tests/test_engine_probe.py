"""The streaming Engine probed as a demanding user drives it (session 13):
every case had given a wrong or silent result, or an exception that did not
say what was wrong."""
import shutil
import threading

import numpy as np
import pytest

import chronotick
from chronotick.api import AUTO_ONNX
from chronotick.models import onnx_models

T0 = 1.7e9


def _series(n, poll=64.0, seed=5):
    rng = np.random.default_rng(seed)
    t = T0 + poll * np.arange(n)
    return t, 1e-6 * (t - T0) + 1e-4 * rng.standard_normal(n)


def _weight_sum(fc):
    return np.sum(np.array(list(fc.weights.values())), axis=0)


@pytest.mark.parametrize("long_model", ["fused"] + (["auto"] if AUTO_ONNX in onnx_models() else []))
def test_a_short_term_member_of_the_long_term_fusion_is_not_fused_twice(long_model):
    # Was: fused(robust,regression,kalman,kalman) -- kalman's weight doubled, the weights
    # (keyed by name) summing to 0.57-0.98
    t, y = _series(200)
    with chronotick.Engine({"short_term": {"models": ["kalman"]}, "long_term": {"model": long_model}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_fused()
        assert fc.model.count("kalman") == 1, fc.model
        np.testing.assert_allclose(_weight_sum(fc), 1.0, atol=1e-12)


def test_predict_fused_without_a_long_term_model_fuses_the_classical_fusion():
    # long_term.model null means the classical fusion (config docs; predict_long_term uses it);
    # predict_fused had left it out: with short_term [hold] it was hold alone on the long grid
    t, y = _series(200)
    with chronotick.Engine({"short_term": {"models": ["hold"]}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_fused()
        assert {"robust", "regression", "kalman", "hold"} <= set(fc.weights)
        np.testing.assert_allclose(_weight_sum(fc), 1.0, atol=1e-12)
        np.testing.assert_array_equal(fc.times, eng.predict_long_term().times)


@pytest.mark.parametrize("models, match", [
    (["hold"], "every model failed: non-finite output"),      # was: a Forecast of NaN, silently
    (["kalman"], "every model failed: kalman: could not estimate"),   # was: "cannot reshape array of size 0"
    (["kalman", "robust"], "dropped robust: no finite spread"),
])
def test_every_model_failing_is_a_runtime_error_naming_why(models, match):
    t = T0 + 64.0 * np.arange(60)
    y = 1.7e308 * (-1.0) ** np.arange(60)       # finite, but every model overflows on it
    with chronotick.Engine({"short_term": {"models": models}}) as eng:
        with np.errstate(all="ignore"):
            eng.observe_many(t, y)
        with pytest.raises(chronotick.ForecastError, match=match):
            eng.predict_short_term()
        assert eng.health()["last_error"].startswith("every model failed")
    with pytest.raises(chronotick.ForecastError):      # as predict() does
        chronotick.predict(y, t, horizon=8, model=models[0])
    # chronotick's own error (the CLI prints it on one line), and still the RuntimeError it was
    assert issubclass(chronotick.ForecastError, RuntimeError)
    assert issubclass(chronotick.ForecastError, chronotick.ChronotickError)


def test_a_classical_member_that_cannot_forecast_is_dropped_with_a_note():
    # Was: kalman dropped from the engine's own fusion without a word (the core's fusion says
    # "dropped kalman: ..."; predict(model="fused") on the same data does)
    t = T0 + 64.0 * np.arange(60)
    y = 1e300 * (-1.0) ** np.arange(60)
    with chronotick.Engine({"short_term": {"models": ["kalman", "robust"]}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_short_term()
        assert list(fc.weights) == ["robust"]
        assert "dropped kalman: could not estimate the measurement noise" in fc.note


def test_a_forecast_step_below_the_timestamps_resolution_is_refused():
    # Was: forecast times all equal to the newest measurement's (t near 1e12 s has a resolution
    # of 1.2e-4 s), returned as a forecast; predict() refuses the same step with this message
    t = 1e12 + 64.0 * np.arange(50)
    y = 1e-3 * np.random.default_rng(0).standard_normal(50)
    with chronotick.Engine({"short_term": {"models": ["fused"], "step_s": 1e-6}}) as eng:
        eng.observe_many(t, y)
        with pytest.raises(ValueError, match=r"short_term.step_s = 1e-06 s is too small for timestamps near 1000000003136.0"):
            eng.predict_short_term()
    with chronotick.Engine({"short_term": {"models": ["fused"]}, "long_term": {"step_factor": 1e-6}}) as eng:
        eng.observe_many(t, y)
        assert np.all(np.diff(eng.predict_short_term().times) == 64.0)
        for f in (eng.predict_long_term, eng.predict_fused):
            with pytest.raises(ValueError, match=r"the long-term step \(long_term.step_factor x the short-term step\) "
                                                 r"= 6.4e-05 s is too small"):
                f()
        assert eng.health()["ok"] and eng.health()["last_error"] is None


class _PausingBuffer:
    """A real delay buffer whose push_many stops between pushing the delays and
    the measurements' push (where a consumer's snapshot can fall), for at most
    `hold` seconds."""

    def __init__(self, real, hold=0.3):
        self.real, self.hold = real, hold
        self.paused, self.release = threading.Event(), threading.Event()

    def push_many(self, *a):
        self.real.push_many(*a)
        self.paused.set()
        self.release.wait(self.hold)

    def __getattr__(self, name):
        return getattr(self.real, name)


def test_delays_of_a_burst_observed_during_a_forecast_are_not_lost():
    # Was: an observe_many of more than 64 measurements with delays, pushed between a forecast's
    # snapshot of the measurements and of their delays, left that forecast without its delay
    # weights (2 of 181 forecasts while bursts of 300 streamed in)
    rng = np.random.default_rng(3)
    n = 200
    t = T0 + 64.0 * np.arange(n)
    d = 0.02 + rng.exponential(0.01, n)
    y = 1e-6 * (t - T0) + (d - 0.02) * 0.5 + 1e-5 * rng.standard_normal(n)
    with chronotick.Engine({"engine": {"buffer_capacity": 1024, "history": 64},
                            "short_term": {"models": ["fused"]}}) as eng:
        eng.observe_many(t[:100], y[:100], delay=d[:100])
        pausing = eng._delay_buf = _PausingBuffer(eng._delay_buf)
        th = threading.Thread(target=eng.observe_many, args=(t[100:], y[100:]), kwargs={"delay": d[100:]})
        th.start()
        try:
            assert pausing.paused.wait(5)
            fc = eng.predict_short_term()
        finally:
            pausing.release.set()
            th.join()
        k = int(np.searchsorted(t, fc.origin)) + 1          # the measurements it forecast from
        w = slice(k - 64, k)
        ref = chronotick.predict(y[w], t[w], horizon=8, model="fused", delay=d[w])
        plain = chronotick.predict(y[w], t[w], horizon=8, model="fused")
        assert not np.allclose(ref.quantiles, plain.quantiles, rtol=0, atol=1e-12)   # the delays matter here
        np.testing.assert_allclose(fc.quantiles, ref.quantiles, rtol=0, atol=1e-12)
        assert eng.stats()["delay_weights"]["measurements"] == 64


@pytest.mark.parametrize("value", [10 ** 400, -(10 ** 400)], ids=["1e400", "-1e400"])
def test_observe_names_an_integer_beyond_float64(value):
    # Was: OverflowError "int too large to convert to float", naming no argument
    with chronotick.Engine({"short_term": {"models": ["fused"]}}) as eng:
        with pytest.raises(ValueError, match="offset must be finite"):
            eng.observe(T0, value)
        with pytest.raises(ValueError, match="t must be finite"):
            eng.observe(value, 0.0)
        eng.observe(T0, 0.0)
        assert eng.stats()["counts"]["observations"] == 1


@pytest.mark.skipif(AUTO_ONNX not in onnx_models(), reason="shipped ONNX model not present")
def test_a_lone_onnx_member_with_a_space_in_its_name_keeps_its_whole_name(tmp_path):
    # Was: weights keyed "my" for the model "my model.onnx" (the name cut at its first space,
    # as meant for "hold (fallback: ...)")
    src = onnx_models()[AUTO_ONNX]
    path = tmp_path / "my model.onnx"
    shutil.copy(src, path)
    card = src[:-len(".onnx")] + ".json"
    shutil.copy(card, tmp_path / "my model.json")
    t, y = _series(100)
    with chronotick.Engine({"short_term": {"models": [str(path)]}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_short_term()
        assert fc.model == "my model" and list(fc.weights) == ["my model"], (fc.model, list(fc.weights))


def test_health_lists_a_classical_long_term_model():
    # Was: health()["models"] listed the short-term models and the ONNX ones only; a long-term
    # "kalman" (or the classical fusion, long_term.model null) was missing
    with chronotick.Engine({"short_term": {"models": ["hold"]}, "long_term": {"model": "kalman"}}) as eng:
        eng.observe_many(*_series(3))
        h = eng.health()["models"]
        assert set(h) == {"hold", "kalman"}
        assert "3 measurements < engine.min_history 8" in h["kalman"]["reason"]
    with chronotick.Engine({"short_term": {"models": ["hold"]}}) as eng:
        assert set(eng.health()["models"]) == {"hold", "fused"}


def test_stats_delay_weights_follow_the_newest_forecast():
    # Was: once a window had been weighted by its delays, stats() kept showing that fit
    # ("weighted": True) after measurements without a delay had ended the weighting
    rng = np.random.default_rng(3)
    t = T0 + 64.0 * np.arange(100)
    d = 0.02 + rng.exponential(0.01, 100)
    y = 1e-6 * (t - T0) + (d - 0.02) * 0.5 + 1e-5 * rng.standard_normal(100)
    with chronotick.Engine({"short_term": {"models": ["fused"]}}) as eng:
        eng.observe_many(t[:99], y[:99], delay=d[:99])
        eng.predict_short_term()
        assert eng.stats()["delay_weights"]["measurements"] == 99
        eng.observe(t[99], y[99])                    # no delay: the window is weighed without
        fc = eng.predict_short_term()
        np.testing.assert_allclose(fc.quantiles, chronotick.predict(y, t, horizon=8, model="fused").quantiles,
                                   rtol=0, atol=1e-12)
        assert eng.stats()["delay_weights"] is None


def test_editing_engine_config_after_construction_changes_nothing():
    """eng.config is a copy: editing it (short_term.horizon had taken effect
    unchecked, other keys were silently ignored) leaves the engine as made."""
    from chronotick.engine import Engine
    eng = Engine({"short_term": {"models": ["fused"], "horizon": 4}})
    t = 1.7e9 + 64.0 * np.arange(20)
    eng.observe_many(t, np.random.default_rng(1).normal(size=20) * 1e-3)
    eng.config["short_term"]["horizon"] = -3
    eng.config["short_term"]["step_s"] = 1e-30
    assert eng.predict_short_term().times.size == 4
    assert eng.config["short_term"]["horizon"] == 4


def _drifting(n, seed=5):
    rng = np.random.default_rng(seed)
    t = 1.7e9 + 64.0 * np.arange(n) + rng.uniform(-1, 1, n)
    y = np.cumsum(rng.normal(size=n)) * 2e-5 + 3e-6 * (t - t[0]) / 64.0
    return t, y


def test_the_long_term_model_sees_the_history_its_window_spans():
    """At step_factor 8 clock-bolt's 256 cells span 2048 measurements; fed
    engine.history (512) alone it saw 64 of them. It now gets the newest
    measurements its window and calibration pairs span (within the buffer):
    its forecast equals a standalone forecaster's from those, not from 512."""
    from chronotick.engine import Engine
    from chronotick.models import onnx_models
    from chronotick.models.onnx import OnnxForecaster
    t, y = _drifting(1500)
    eng = Engine({"long_term": {"model": "clock-bolt", "step_factor": 8}})
    eng.observe_many(t, y)
    n_long = eng._long_history
    assert n_long > 1500 and n_long <= eng.config["engine"]["buffer_capacity"]
    fc = eng.predict_long_term()
    assert "clock-bolt (long-term)" in fc.weights
    ref = OnnxForecaster(onnx_models()["clock-bolt"], step_factor=8.0)
    np.testing.assert_array_equal(fc.mean, ref.forecast(t, y, fc.times).mean)
    assert not np.array_equal(fc.mean, ref.forecast(t[-512:], y[-512:], fc.times).mean)
    fused = eng.predict_fused()       # fused with the classical models on the 512 newest
    assert np.all(np.isfinite(fused.mean)) and "clock-bolt (long-term)" in fused.weights
    eng.close()


def test_the_long_term_model_sees_its_whole_window_with_a_fixed_short_term_step():
    """short_term.step_s 64 with 16 s polls: the long-term grid's step (512 s) spans 32
    measurements, not 8. Sized as if the polls were step_s apart it saw 85 of its 256 cells
    (until 2026-12-04); it now gets the measurements its window spans, as a standalone
    forecaster on the same grid from the whole history."""
    from chronotick.engine import Engine
    from chronotick.models import onnx_models
    from chronotick.models.onnx import OnnxForecaster
    rng = np.random.default_rng(7)
    n = 9000
    t = 1.7e9 + 16.0 * np.arange(n) + rng.uniform(-0.5, 0.5, n)
    y = np.cumsum(rng.normal(size=n)) * 5e-6 + 2e-5 * (t - t[0])
    eng = Engine({"engine": {"buffer_capacity": 16384}, "short_term": {"step_s": 64},
                  "long_term": {"model": "clock-bolt", "step_factor": 8}})
    eng.observe_many(t, y)
    f = eng._onnx[eng._long_slot].forecaster
    tl = eng._snapshot()[4][0]
    assert f.observed_cells(tl) == f.context
    assert f.observed_cells(t[-eng._long_history:]) < f.context     # what it had seen
    fc = eng.predict_long_term()
    ref = OnnxForecaster(onnx_models()["clock-bolt"], step_s=512.0)
    np.testing.assert_array_equal(fc.mean, ref.forecast(t, y, fc.times).mean)
    eng.close()


def test_a_fixed_step_far_coarser_than_the_polls_does_not_break_the_snapshot():
    """Polls 1e-306 s apart with step_s 1: the long-term grid step spans ~1e307 measurements,
    context x that overflowed to inf and math.ceil raised OverflowError in every forecast's
    snapshot, short-term ones included (audit, 2026-12-04); now the whole buffer is taken."""
    from chronotick.engine import Engine
    n = 3000                   # more than the long-term history sized at construction (2689)
    t = np.arange(n) * 1e-306
    y = np.random.default_rng(0).normal(size=n) * 1e-6
    eng = Engine({"engine": {"buffer_capacity": 4096}, "short_term": {"step_s": 1.0},
                  "long_term": {"model": "clock-bolt", "step_factor": 8}})
    eng.observe_many(t, y)
    for call in (eng.predict_short_term, eng.predict_long_term, eng.predict_fused):
        assert np.isfinite(call().mean).all()
    eng.close()


def test_fused_tail_gives_the_tails_pairs_and_past_predictions_from_the_whole_history():
    from chronotick import _core
    from chronotick.models import onnx_models
    from chronotick.models.onnx import OnnxForecaster, _fusion_pairs
    t, y = _drifting(700)
    f = OnnxForecaster(onnx_models()["clock-bolt"], step_factor=2.0)
    p = _core.ModelParams()
    targets = t[-1] + 128.0 * np.arange(1, 9)
    fc, prefix, target, mean, sigma = f.forecast_with_past(t, y, targets, params=p, fused_tail=300)
    want_p, want_t = _fusion_pairs(t[-300:], targets, p)
    np.testing.assert_array_equal(prefix, want_p)
    np.testing.assert_array_equal(target, want_t)
    m2, s2 = f.past_predictions(t, y, prefix + 400, target + 400)
    np.testing.assert_array_equal(mean, m2)
    np.testing.assert_array_equal(sigma, s2)
    np.testing.assert_array_equal(fc.mean, f.forecast(t, y, targets).mean)
    fp = f.fusion_past(t, y, targets, p, fused_tail=300)
    for a, b in zip(fp, (prefix, target, mean, sigma)):
        np.testing.assert_array_equal(a, b)
    for bad in (0, 701, 2.5, True):
        with pytest.raises(ValueError, match="fused_tail must be an integer"):
            f.forecast_with_past(t, y, targets, params=p, fused_tail=bad)
