"""The shipped ONNX model inside the "auto" fusion: weighted by its recent
error at each lead, fused intervals calibrated with it (cpp/fusion/ensemble.h)."""
import numpy as np
import pytest

import chronotick
from chronotick import _core
from chronotick.api import AUTO_ONNX, onnx_forecaster
from chronotick.models import onnx_models

CPU = ["CPUExecutionProvider"]

pytestmark = pytest.mark.skipif(AUTO_ONNX not in onnx_models(), reason="shipped ONNX model not present")
LEVELS = np.array([0.1, 0.5, 0.9])


def _series(trace, n=120):
    return trace.times[:n].copy(), trace.offsets[:n].copy()


def test_one_step_history_is_what_forecast_said_before_each_measurement(homelab_9h):
    t, y = _series(homelab_9h)
    f = onnx_forecaster(AUTO_ONNX)
    mean, sigma = f.one_step_history(t, y)
    have = np.flatnonzero(np.isfinite(mean))
    assert have.size == f.calib_window and have[-1] == t.size - 1     # the newest calib_window measurements
    assert np.all(sigma[have] > 0) and np.all(np.isnan(sigma[np.isnan(mean)]))
    for j in have[-3:]:
        # made from the measurements before t_j only: the same as forecasting from the prefix
        fc = f.forecast(t[:j], y[:j], np.array([t[j]]), LEVELS)
        assert mean[j] == pytest.approx(fc.mean[0], rel=1e-6, abs=1e-12)


def test_auto_weighs_the_onnx_member_by_its_recent_error(homelab_9h):
    t, y = _series(homelab_9h)
    fc = chronotick.predict(y, t, horizon=1)
    assert set(fc.weights) == {"robust", "regression", "kalman", AUTO_ONNX}
    # the weights are 1/mae^2 of the members' recent one-step errors, normalised
    f = onnx_forecaster(AUTO_ONNX)
    mean, _ = f.one_step_history(t, y)
    fused = _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, None, fc.times, LEVELS)
    maes = {m.model: m.recent_mae[0] for m in fused.members}
    n = 24   # the core's calib_origins: the same measurements for every member
    maes[AUTO_ONNX] = np.mean(np.abs(y[-n:] - mean[-n:]))
    inv = {k: 1 / v ** 2 for k, v in maes.items()}
    for k, w in fc.weights.items():
        assert w[0] == pytest.approx(inv[k] / sum(inv.values()), rel=1e-9)


def test_a_member_with_a_bad_past_gets_little_weight(homelab_9h):
    t, y = _series(homelab_9h)
    targets = np.array([t[-1] + 100.0])
    good = onnx_forecaster(AUTO_ONNX).forecast(t, y, targets, LEVELS)
    mean, sigma = onnx_forecaster(AUTO_ONNX).one_step_history(t, y)
    off = np.where(np.isfinite(mean), mean + 0.05, np.nan)       # 50 ms wrong every time
    fused = _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, None, targets, LEVELS,
                                 extra=[(good, off, sigma)])
    assert fused.member_names[-1] == AUTO_ONNX and fused.weights[-1, 0] < 0.01


def test_past_predictions_are_forecasts_from_the_prefix_at_every_lead(homelab_9h):
    t, y = _series(homelab_9h)
    f = onnx_forecaster(AUTO_ONNX)
    targets = t[-1] + np.array([60.0, 600.0, 1800.0])
    prefix, target = _core.calibration_pairs(t, targets)
    assert prefix.dtype == np.int64 and prefix.size == target.size > 0
    assert np.all((prefix >= 1) & (prefix <= target) & (target < t.size))
    assert np.unique(target - prefix).size > 1                 # more than the one-step lead
    mean, sigma = f.past_predictions(t, y, prefix, target)
    ok = np.isfinite(mean)
    assert ok.mean() > 0.9 and np.all(sigma[ok] > 0)
    for k in np.flatnonzero(ok & (target - prefix >= 4))[-3:]:
        i, j = prefix[k], target[k]
        # made from the measurements [0, i) only: the same as forecasting from the prefix
        fc = f.forecast(t[:i], y[:i], np.array([t[j]]), LEVELS)
        assert mean[k] == pytest.approx(fc.mean[0], rel=1e-6, abs=1e-12)


def test_auto_weighs_the_onnx_member_by_its_error_at_each_lead(homelab_9h):
    t, y = _series(homelab_9h)
    f = onnx_forecaster(AUTO_ONNX)
    targets = t[-1] + np.array([60.0, 1800.0])
    fc = f.forecast(t, y, targets, LEVELS)
    prefix, target, mean, sigma = f.fusion_past(t, y, targets)
    one = target == prefix
    # honest one-step past, 50 ms wrong at every longer lead: weight kept at 1 step, lost at 1800 s
    bad = np.where(one, mean, mean + 0.05)
    fused = _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, None, targets, LEVELS,
                                 extra=[(fc, prefix, target, bad, sigma)])
    honest = _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, None, targets, LEVELS,
                                  extra=[(fc, prefix, target, mean, sigma)])
    assert fused.member_names[-1] == AUTO_ONNX
    assert fused.weights[-1, 0] == pytest.approx(honest.weights[-1, 0], rel=1e-9) and fused.weights[-1, 0] > 0.05
    assert fused.weights[-1, 1] < 0.01 < honest.weights[-1, 1]


@pytest.mark.parametrize("pairs, match", [
    (([1, 2], [1]), "one length"),
    (([0], [3]), r"pair 0 \(prefix 0, target 3\)"),
    (([5], [4]), r"prefix <= target"),
    (([5], [120]), r"< len\(t\) = 120"),
])
def test_bad_past_pairs_are_refused(homelab_9h, pairs, match):
    t, y = _series(homelab_9h)
    targets = np.array([t[-1] + 100.0])
    fc = onnx_forecaster(AUTO_ONNX).forecast(t, y, targets, LEVELS)
    prefix, target = (np.array(a, dtype=np.int64) for a in pairs)
    with pytest.raises(ValueError, match=match):
        _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, None, targets, LEVELS,
                             extra=[(fc, prefix, target, np.zeros(target.size), np.ones(target.size))])
    if prefix.size == target.size:
        with pytest.raises(ValueError, match="prefix"):
            onnx_forecaster(AUTO_ONNX).past_predictions(t, y, prefix, target)


def test_an_extra_member_tuple_of_another_size_is_refused(homelab_9h):
    t, y = _series(homelab_9h)
    targets = np.array([t[-1] + 100.0])
    fc = onnx_forecaster(AUTO_ONNX).forecast(t, y, targets, LEVELS)
    with pytest.raises(ValueError, match="tuple of 2"):
        _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, None, targets, LEVELS, extra=[(fc, None)])


@pytest.mark.parametrize("past_mean, past_sigma, match", [
    (np.zeros(5), np.ones(5), "one entry per measurement"),
    (np.zeros(120), None, "both past_mean and past_sigma"),
    (np.zeros(120), np.zeros(120), r"past_sigma\[0\] = 0"),
])
def test_extra_members_with_bad_pasts_are_refused(homelab_9h, past_mean, past_sigma, match):
    t, y = _series(homelab_9h)
    targets = np.array([t[-1] + 100.0])
    fc = onnx_forecaster(AUTO_ONNX).forecast(t, y, targets, LEVELS)
    with pytest.raises(ValueError, match=match):
        _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, None, targets, LEVELS,
                             extra=[(fc, past_mean, past_sigma)])


def test_extra_member_at_other_targets_is_refused(homelab_9h):
    t, y = _series(homelab_9h)
    fc = onnx_forecaster(AUTO_ONNX).forecast(t, y, np.array([t[-1] + 50.0]), LEVELS)
    with pytest.raises(ValueError, match="other target_times or levels"):
        _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, None, np.array([t[-1] + 100.0]), LEVELS,
                             extra=[(fc, None, None)])


def test_the_long_term_model_runs_on_a_coarser_grid(homelab_9h):
    t, y = _series(homelab_9h, 300)
    cfg = {"short_term": {"models": ["auto"]}, "long_term": {"model": AUTO_ONNX, "horizon": 16, "step_factor": 8}}
    with chronotick.Engine(cfg) as eng:
        for ti, yi in zip(t, y):
            eng.observe(float(ti), float(yi))
        long_name = f"{AUTO_ONNX} (long-term)"
        slot = eng._onnx[long_name].forecaster
        assert slot._step(t) == pytest.approx(8 * _core.window_step(t))
        lt = eng.predict_long_term()
        assert lt.model == long_name and "left out" not in lt.note
        step = 8 * _core.window_step(t)
        np.testing.assert_allclose(lt.times, t[-1] + step * np.arange(1, 17))
        # 16 coarse steps = 128 measurement spacings: beyond the short-term model's 64, within the long
        # one's. The short-term model is fused where it reaches (the first 8 coarse steps), not past that.
        fused = eng.predict_fused()
        reach = eng._onnx[AUTO_ONNX].forecaster.reach(t)
        inside = fused.times <= reach
        assert inside.sum() == 8
        assert long_name in fused.weights and np.all(fused.weights[long_name] > 0)
        assert np.all(fused.weights[AUTO_ONNX][inside] > 0) and np.all(fused.weights[AUTO_ONNX][~inside] == 0)
        assert f"{AUTO_ONNX} left out" not in fused.note
        assert {AUTO_ONNX, long_name} <= set(eng.health()["models"])


@pytest.mark.parametrize("bad", [0, -1.0, float("nan"), True])
def test_step_factor_must_be_positive(bad):
    from chronotick.models.onnx import OnnxForecaster
    with pytest.raises(ValueError, match="step_factor"):
        OnnxForecaster(onnx_models()[AUTO_ONNX], step_factor=bad)


def test_step_s_and_step_factor_together_are_refused():
    from chronotick.models.onnx import OnnxForecaster
    with pytest.raises(ValueError, match=r"step_s or step_factor, not both: step_s=10.0 .* step_factor=8"):
        OnnxForecaster(onnx_models()[AUTO_ONNX], step_s=10.0, step_factor=8)


def test_the_long_term_model_keeps_its_own_name_beside_the_same_short_term_model(homelab_9h):
    # same model short- and long-term, on grids 2x apart: two members, two weights, each under its own name
    t, y = _series(homelab_9h, 150)
    cfg = {"short_term": {"models": ["auto"]}, "long_term": {"model": AUTO_ONNX, "horizon": 8, "step_factor": 2}}
    with chronotick.Engine(cfg) as eng:
        eng.observe_many(t, y)
        long_name = f"{AUTO_ONNX} (long-term)"
        assert eng.predict_long_term().model == long_name
        w = eng.predict_fused().weights
        assert {AUTO_ONNX, long_name} <= set(w) and len(w) == 5, sorted(w)


@pytest.mark.parametrize("step_s", [None, 100.0])
def test_the_same_model_short_and_long_term_on_one_grid_is_refused(step_s):
    # step_factor 1: the long-term slot forecasts what the short-term member does, and predict_fused()
    # had fused both (0.26 + 0.26 of the weight to one model; an audit, 2026-12-06), as two
    # short-term names of one file are refused
    cfg = {"short_term": {"models": ["auto"], "step_s": step_s},
           "long_term": {"model": AUTO_ONNX, "horizon": 8, "step_factor": 1}}
    with pytest.raises(chronotick.ConfigError, match=r"long_term.model: 'clock-bolt' is the same ONNX file as "
                                                     r"short-term 'clock-bolt' \(which 'auto' includes\) and "
                                                     r"long_term.step_factor is 1"):
        chronotick.Engine(cfg)
    cfg["long_term"]["model"] = onnx_models()[AUTO_ONNX]          # the same file by its path
    with pytest.raises(chronotick.ConfigError, match="is the same ONNX file as short-term 'clock-bolt'"):
        chronotick.Engine(cfg)
    cfg["short_term"]["models"] = ["fused"]                       # not on the short-term side: fine
    chronotick.Engine(cfg).close()


def test_the_long_term_grid_follows_a_fixed_short_term_step(homelab_9h):
    t, y = _series(homelab_9h, 300)
    cfg = {"short_term": {"step_s": 120.0}, "long_term": {"model": AUTO_ONNX, "horizon": 64, "step_factor": 8}}
    with chronotick.Engine(cfg) as eng:
        eng.observe_many(t, y)
        lt = eng.predict_long_term()
        # 64 steps of 8 x 120 s: the model's own grid is the same, so all are in its reach
        assert lt.model == f"{AUTO_ONNX} (long-term)" and "left out" not in lt.note
        np.testing.assert_allclose(lt.times, t[-1] + 960.0 * np.arange(1, 65))


def test_auto_says_why_the_onnx_member_is_left_out_of_a_short_history(homelab_9h):
    t, y = _series(homelab_9h, 5)
    fc = chronotick.predict(y, t, horizon=1)
    assert fc.model.startswith("hold (fallback") and f"{AUTO_ONNX} left out: 5 measurements" in fc.note


def test_a_coarse_grid_is_calibrated_at_the_lead_it_forecasts(homelab_9h, monkeypatch):
    # step_factor 8: S coarse steps ahead are 8 S measurements ahead, and that is the lead scored
    from chronotick.models.onnx import OnnxForecaster
    t, y = _series(homelab_9h, 300)
    f = OnnxForecaster(onnx_forecaster(AUTO_ONNX).path, step_factor=8)
    seen = []
    real = f._pair_preds

    def spy(asks):
        seen.extend((int(a[3][0] - a[2][0] + 1)) for a in asks)
        return real(asks)

    monkeypatch.setattr(f, "_pair_preds", spy)
    step = f._step(t)
    fc = f.forecast(t, y, t[-1] + step * np.array([1.0, 4.0]), LEVELS)
    # 1 and 4 coarse steps: 8 and 32 measurements ahead; 2 (16) is lead 4's donor (_donors)
    assert fc.ok and sorted(set(seen)) == [8, 16, 32]


@pytest.mark.parametrize("ahead", [[60.0, 600.0], [60.0, 3600.0 * 4]], ids=["reached", "partly reached"])
def test_forecast_with_past_is_the_two_calls_in_one_run(homelab_9h, monkeypatch, ahead):
    # The fusion's path (api "auto", Engine): the forecast and the past
    # predictions at the calibration pairs, bit-equal to forecast_within_reach
    # + fusion_past, with the calibration built once and the past predictions
    # made in the calibration's batched model run (fresh forecasters: no memo).
    from chronotick.models.onnx import OnnxForecaster
    t, y = _series(homelab_9h, 200)
    targets = t[-1] + np.array(ahead)
    path = onnx_models()[AUTO_ONNX]
    # on the CPU: bit-equal results across batch compositions are the CPU's (docs/gpu.md)
    apart, together = OnnxForecaster(path, providers=CPU), OnnxForecaster(path, providers=CPU)
    runs = {"apart": 0, "together": 0}

    def counting(f, key):
        run = f._run_bound

        def counted(io, out):
            runs[key] += 1
            return run(io, out)
        monkeypatch.setattr(f, "_run_bound", counted)

    counting(apart, "apart")
    counting(together, "together")
    fc1 = apart.forecast_within_reach(t, y, targets, LEVELS)
    past1 = apart.fusion_past(t, y, targets)
    fc2, *past2 = together.forecast_with_past(t, y, targets, LEVELS)
    assert np.array_equal(fc1.mean, fc2.mean, equal_nan=True)
    assert np.array_equal(fc1.quantiles, fc2.quantiles, equal_nan=True)
    assert fc2.ok and np.isfinite(fc2.mean[0]) and np.isnan(fc2.mean[-1]) == (ahead[-1] > 3600.0)
    for a, b in zip(past1, past2):
        assert np.array_equal(a, b, equal_nan=True)
    assert np.isfinite(past2[2]).sum() > 10
    # together: the calibration's pairs with the fusion's (one run) and the forecast;
    # apart, fusion_past needs a third run where the fusion asks for pairs the
    # calibration did not make (here, a lead it has no bucket for)
    assert runs == {"apart": 2 if ahead[-1] < 3600.0 else 3, "together": 2}


def test_forecast_with_past_out_of_reach_gives_nothing(homelab_9h):
    t, y = _series(homelab_9h)
    f = onnx_forecaster(AUTO_ONNX)
    assert f.forecast_with_past(t, y, [t[-1] + 1e6], LEVELS) == (None,) * 5
    assert "reaches" in f.out_of_reach(t, [t[-1] + 1e6])


def test_forecast_with_past_refuses_an_unusable_forecast(homelab_9h, monkeypatch):
    # What forecast_with_past returns goes straight into the core fusion, so a
    # forecast with a non-finite quantile where it reaches is a ModelError
    # there; predict(model="auto") then leaves the member out with a note.
    from chronotick.errors import ModelError
    from chronotick.models.onnx import OnnxForecaster
    t, y = _series(homelab_9h)
    f = OnnxForecaster(onnx_models()[AUTO_ONNX])
    real = f._forecast_batch

    def holed(*args, **kw):
        out = real(*args, **kw)
        fc = out[0]
        q = np.array(fc.quantiles)
        q[0, 0] = np.nan
        return [_core.QuantileForecast(fc.model, fc.times, fc.levels, fc.mean, q)]
    monkeypatch.setattr(f, "_forecast_batch", holed)
    with pytest.raises(ModelError, match="no usable output"):
        f.forecast_with_past(t, y, [t[-1] + 60.0], LEVELS)
    monkeypatch.setattr(chronotick.api, "onnx_forecaster", lambda name: f)
    fc = chronotick.predict(y, t, horizon=1)
    assert AUTO_ONNX not in fc.weights and f"{AUTO_ONNX} left out" in fc.note and "no usable output" in fc.note
    assert np.all(np.isfinite(fc.quantiles))


def test_engine_marks_a_model_with_unusable_output_unhealthy(homelab_9h, monkeypatch):
    # Inside a running Engine the same failure marks the slot unhealthy in
    # health() and the fusion goes on without it: no exception reaches the caller.
    t, y = _series(homelab_9h, 200)
    with chronotick.Engine({"short_term": {"models": ["auto"], "horizon": 1}}) as eng:
        eng.observe_many(t, y)
        f = eng._onnx[AUTO_ONNX].forecaster
        real = f._forecast_batch

        def holed(*args, **kw):
            fc = real(*args, **kw)[0]
            q = np.array(fc.quantiles)
            q[0, -1] = np.inf
            return [_core.QuantileForecast(fc.model, fc.times, fc.levels, fc.mean, q)]
        monkeypatch.setattr(f, "_forecast_batch", holed)
        fc = eng.predict_short_term()
        assert AUTO_ONNX not in fc.weights and np.all(np.isfinite(fc.quantiles))
        h = eng.health()["models"][AUTO_ONNX]
        assert not h["ok"] and "non-finite" in h["reason"]


def test_streaming_forecasts_make_one_model_run_each_and_calibrate_as_a_fresh_forecaster(homelab_9h, monkeypatch):
    # Each forecast's own run is kept as the prediction from that whole history, so a
    # caller forecasting once per new measurement (the Engine, a Clock) finds every past
    # prefix its calibration needs: one model run per forecast, no calibration run, and
    # the same calibration a fresh forecaster computes from scratch.
    from chronotick.models.onnx import OnnxForecaster
    t, y = _series(homelab_9h, 200)
    path = onnx_models()[AUTO_ONNX]
    streaming = OnnxForecaster(path, providers=CPU)     # bit for bit below: the CPU's arithmetic
    rows = []
    run = streaming._run_bound

    def counted(io, out):
        rows.append(out.shape[0])
        return run(io, out)
    monkeypatch.setattr(streaming, "_run_bound", counted)
    for n in range(100, 160):
        fc, *past = streaming.forecast_with_past(t[:n], y[:n], t[n - 1] + np.array([60.0, 600.0]), LEVELS)
    assert rows[-30:] == [1] * 30          # warm: the forecast's own run, nothing else
    fresh = OnnxForecaster(path, providers=CPU)
    want, *want_past = fresh.forecast_with_past(t[:159], y[:159], t[158] + np.array([60.0, 600.0]), LEVELS)
    np.testing.assert_allclose(fc.quantiles, want.quantiles, rtol=1e-5, atol=1e-9)
    for a, b in zip(past, want_past):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-9)
