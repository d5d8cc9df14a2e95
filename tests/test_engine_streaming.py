"""The Engine as streaming users drive it (probed 2026-12-02): asked for a
forecast from its first measurement on, with a long-term model, and after a
transient failure of an ONNX model."""
import numpy as np
import pytest

import chronotick
from chronotick.api import AUTO_ONNX
from chronotick.models import onnx_models

pytestmark = pytest.mark.skipif(AUTO_ONNX not in onnx_models(), reason="shipped ONNX model not present")

T0 = 1.7e9


def _series(n, poll=64.0):
    rng = np.random.default_rng(7)
    t = T0 + poll * np.arange(n)
    return t, 2e-6 * (t - T0) + 1e-4 * rng.standard_normal(n)


def test_a_forecast_from_one_measurement_does_not_cost_the_onnx_model():
    # Was: clock-bolt failed ("median_spacing needs at least 2 times") and stayed
    # unhealthy for the engine's lifetime; every later forecast went without it.
    t, y = _series(40)
    eng = chronotick.Engine()
    try:
        eng.observe(t[0], y[0])
        fc = eng.predict_short_term()
        assert "clock-bolt left out" in fc.note and "min_history" in fc.note
        assert eng.health()["models"]["clock-bolt"]["ok"]
        eng.observe_many(t[1:], y[1:])
        fc = eng.predict_short_term()
        assert "clock-bolt" in fc.model
        ref = chronotick.predict(y, t, horizon=eng.config["short_term"]["horizon"])
        np.testing.assert_allclose(fc.quantiles, ref.quantiles, rtol=0, atol=1e-12)
    finally:
        eng.close()


def test_an_onnx_model_that_failed_while_running_is_tried_again(monkeypatch):
    t, y = _series(60)
    eng = chronotick.Engine()
    try:
        eng.observe_many(t, y)
        slot = eng._onnx["clock-bolt"]
        real = slot.forecaster.forecast_with_past
        calls = {"n": 0}

        def flaky(*a, **k):
            calls["n"] += 1
            if calls["n"] == 1:
                raise MemoryError("transient")
            return real(*a, **k)
        monkeypatch.setattr(slot.forecaster, "forecast_with_past", flaky)
        monkeypatch.setattr(slot.forecaster, "forecast_within_reach", lambda *a, **k: (_ for _ in ()).throw(
            MemoryError("transient")))
        fc = eng.predict_short_term()
        assert "clock-bolt" not in fc.model
        h = eng.health()["models"]["clock-bolt"]
        assert not h["ok"] and "MemoryError" in h["reason"]
        assert "clock-bolt" not in eng.predict_short_term().model       # left out for RETRY_S
        monkeypatch.setattr(type(slot), "RETRY_S", 0.0)
        fc = eng.predict_short_term()
        assert "clock-bolt" in fc.model
        h = eng.health()["models"]["clock-bolt"]
        assert h["ok"] and h["reason"] == "" and h["providers"] == ["CPUExecutionProvider"]
    finally:
        eng.close()


def test_long_term_auto_and_the_long_term_name():
    # long_term.model "auto" was accepted but left the shipped model out; a single
    # long-term member's weights were keyed by the short-term name.
    t, y = _series(300)
    for model, want in (("auto", {"fused", "clock-bolt (long-term)"}), ("clock-bolt", {"clock-bolt (long-term)"})):
        eng = chronotick.Engine({"long_term": {"model": model, "step_factor": 4, "horizon": 16}})
        try:
            eng.observe_many(t, y)
            fc = eng.predict_long_term()
            assert np.all(np.isfinite(fc.quantiles))
            names = set(fc.weights)
            if model == "auto":
                assert "clock-bolt (long-term)" in fc.model and "robust" in names
            else:
                assert names == want, names
        finally:
            eng.close()


def test_a_provider_fallback_shows_in_health():
    import onnxruntime as ort
    if "CUDAExecutionProvider" in ort.get_available_providers():
        pytest.skip("CUDA is available here: nothing falls back")
    with pytest.warns(RuntimeWarning):
        eng = chronotick.Engine({"onnx": {"providers": ["CUDAExecutionProvider", "CPUExecutionProvider"]}})
    try:
        h = eng.health()["models"]["clock-bolt"]
        assert h["ok"] and h["providers"] == ["CPUExecutionProvider"]
        assert "CUDAExecutionProvider" in h["provider_note"] and "not used" in h["provider_note"]
    finally:
        eng.close()


def test_long_term_intervals_on_the_coarse_grid_stay_sensible():
    # The calibration pairs' minimum history was 8 measurements, one cell at step_factor 8:
    # the 80% intervals 24000-33000 s ahead of a clean drift were 1.3 s wide, the median 0.3 ms off.
    rng = np.random.default_rng(11)
    t = T0 + 64.0 * np.arange(300)
    y = 1e-5 * (t - T0) + 1e-5 * rng.standard_normal(t.size)
    eng = chronotick.Engine({"short_term": {"models": ["fused"]}, "long_term": {"model": "clock-bolt"}})
    try:
        eng.observe_many(t, y)
        fc = eng.predict_long_term()
        lo, hi = fc.interval(0.8)
        truth = 1e-5 * (np.asarray(fc.times) - T0)
        assert np.max(hi - lo) < 0.05
        assert np.mean((lo <= truth) & (truth <= hi)) > 0.5
    finally:
        eng.close()


def test_short_term_models_default_to_the_cpu_and_the_long_term_one_to_cuda_where_present():
    # One short-term forecast is launch-bound on a GPU (clock-bolt: 1.2-1.9 ms on an H200's
    # CUDA, 0.4-0.6 ms on one CPU core; docs/gpu.md): onnx.providers null asks for the CPU
    # there, and for the default (CUDA where present, else CPU) for the long-term model
    from chronotick.api import onnx_forecaster
    eng = chronotick.Engine({"long_term": {"model": "clock-bolt"}})
    try:
        assert eng._onnx["clock-bolt"].forecaster.requested_providers == ["CPUExecutionProvider"]
        assert eng._onnx["clock-bolt (long-term)"].forecaster.requested_providers is None
    finally:
        eng.close()
    eng = chronotick.Engine({"long_term": {"model": "clock-bolt"},
                             "onnx": {"providers": ["CPUExecutionProvider"]}})
    try:   # named explicitly: both
        assert eng._onnx["clock-bolt (long-term)"].forecaster.requested_providers == ["CPUExecutionProvider"]
    finally:
        eng.close()
    assert onnx_forecaster("clock-bolt").requested_providers == ["CPUExecutionProvider"]   # predict()'s


def test_a_retried_model_is_healthy_only_once_a_run_succeeds(monkeypatch):
    # Found by an audit (2026-12-04): once RETRY_S had passed the slot was marked healthy
    # before it ran; a call that did not run it (targets out of its reach) left it shown
    # healthy, with its old failure as the reason, while it still gave NaN.
    t, y = _series(300)
    with chronotick.Engine({"short_term": {"models": ["clock-bolt", "kalman"]}}) as eng:
        eng.observe_many(t, y)
        slot = eng._onnx["clock-bolt"]
        broken = {"on": True}
        real = slot.forecaster._run_bound

        def run(io, out):
            real(io, out)
            if broken["on"]:
                out[...] = np.nan
        monkeypatch.setattr(slot.forecaster, "_run_bound", run)
        slot.forecaster._memo.clear()
        slot.forecaster._scalers.clear()
        assert "clock-bolt" not in eng.predict_short_term().weights
        assert not eng.health()["models"]["clock-bolt"]["ok"]
        monkeypatch.setattr(type(slot), "RETRY_S", 0.0)
        # a call that does not reach the model (every forecast time beyond its 64 steps): still unhealthy
        fc = eng.forecast_at(t[-1] + 64.0 * np.arange(100, 103))
        assert "clock-bolt" not in fc.weights and "clock-bolt left out" in fc.note
        h = eng.health()["models"]["clock-bolt"]
        assert not h["ok"] and "non-finite" in h["reason"]
        # a run that fails again: still unhealthy
        assert "clock-bolt" not in eng.predict_short_term().weights
        assert not eng.health()["models"]["clock-bolt"]["ok"]
        # a run that succeeds: healthy, the reason cleared
        broken["on"] = False
        assert "clock-bolt" in eng.predict_short_term().weights
        h = eng.health()["models"]["clock-bolt"]
        assert h["ok"] and h["reason"] == ""


def test_a_failing_model_is_run_once_per_call(monkeypatch):
    # Found by an audit (2026-12-04): when the combined forecast-and-past call failed in the
    # model's run (onnxruntime raised), the same model was run again apart, doubling every
    # failing call's time. (A non-finite output is still tried apart: it may be one window's.)
    t, y = _series(300)
    with chronotick.Engine() as eng:
        eng.observe_many(t, y)
        slot = eng._onnx["clock-bolt"]
        runs = []

        def run(binding):
            runs.append(1)
            raise RuntimeError("device lost")            # onnxruntime raising in the run
        monkeypatch.setattr(slot.forecaster.session, "run_with_iobinding", run)
        slot.forecaster._memo.clear()
        slot.forecaster._scalers.clear()
        fc = eng.predict_fused()
        assert np.all(np.isfinite(fc.quantiles)) and "clock-bolt" not in fc.weights
        assert len(runs) == 1
        assert "device lost" in eng.health()["models"]["clock-bolt"]["reason"]


@pytest.mark.parametrize("short", [["clock-bolt"], ["clock-bolt", "kalman"]])
def test_predict_fused_uses_a_short_term_model_where_it_reaches(short):
    # Found by an audit (2026-12-04): without "fused"/"auto" among short_term.models, a short-term
    # ONNX model was asked for every time of the long-term grid, did not reach the last ones and
    # was left out of predict_fused() everywhere.
    t, y = _series(600)
    with chronotick.Engine({"short_term": {"models": short}, "long_term": {"model": "clock-bolt"}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_fused()
        assert np.all(np.isfinite(fc.quantiles)) and np.all(np.diff(fc.quantiles, axis=1) >= 0)
        w = fc.weights["clock-bolt"]
        reach = fc.times - t[-1] <= 64.5 * 64.0
        assert reach.any() and not reach.all()
        assert np.all(w[reach] > 0) and np.all(np.nan_to_num(w[~reach]) == 0)
        assert np.all(fc.weights["clock-bolt (long-term)"] > 0)
        assert "clock-bolt left out" not in (fc.note or "")


def test_a_model_that_reaches_only_the_first_times_does_not_stand_alone():
    # short_term.models [clock-bolt] alone, asked beyond its 64 steps: left out with a note, the
    # classical fusion stands in (a forecast that were NaN beyond its reach is no forecast)
    t, y = _series(300)
    with chronotick.Engine({"short_term": {"models": ["clock-bolt"], "horizon": 80}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_short_term()
        assert np.all(np.isfinite(fc.quantiles)) and "clock-bolt" not in fc.weights
        assert "clock-bolt left out: it forecasts at most the first 64 of the 80 forecast times" in fc.note
        h = eng.health()
        assert h["ok"] and h["models"]["clock-bolt"]["reason"].startswith(
            "its horizon of 64 steps is short of short_term.horizon 80 and no other short_term model")
    for cfg in ({"short_term": {"models": ["clock-bolt", "kalman"], "horizon": 80}},   # kalman reaches
                {"short_term": {"models": ["clock-bolt"], "horizon": 80, "step_s": 64.0}},  # the data decide
                {"short_term": {"models": ["clock-bolt"], "horizon": 64}}):
        with chronotick.Engine(cfg) as eng:
            assert eng.health()["models"]["clock-bolt"]["reason"] == "", cfg
