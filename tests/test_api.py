"""chronotick.predict and Forecast: the names external scripts rely on."""
import numpy as np
import pandas as pd
import pytest

import chronotick


def clock(n=80, seed=0):
    rng = np.random.default_rng(seed)
    t = 1.7e9 + np.cumsum(rng.uniform(64, 128, n))
    return t, 2e-6 * (t - t[0]) + rng.normal(0, 1e-4, n)


def test_predict_returns_a_forecast_with_the_documented_fields():
    t, y = clock()
    fc = chronotick.predict(y, t, horizon=5)
    assert isinstance(fc, chronotick.Forecast)
    assert fc.times.shape == fc.mean.shape == fc.std.shape == (5,)
    assert fc.quantiles.shape == (5, 3)
    np.testing.assert_allclose(fc.quantile_levels, [0.1, 0.5, 0.9])
    assert fc.model.startswith("fused(")
    assert set(fc.weights) >= {"robust", "regression", "kalman"}
    total = sum(np.asarray(w) for w in fc.weights.values())
    np.testing.assert_allclose(total, 1.0)
    step = np.median(np.diff(t[-65:]))
    np.testing.assert_allclose(fc.times, t[-1] + step * np.arange(1, 6))
    lo, hi = fc.interval(0.8)
    assert np.all(lo < fc.mean) and np.all(fc.mean < hi)
    m, a, b = fc.at(t[-1] + 2.5 * step)
    assert a < m < b
    # other levels are served too (interpolated or Gaussian outside the stored ones)
    lo9, hi9 = fc.interval(0.95)
    assert np.all(lo9 < lo) and np.all(hi9 > hi)


def test_units_follow_the_values():
    t, y = clock()
    s = chronotick.predict(y, t, horizon=3, model="regression")
    ms = chronotick.predict(y * 1e3, t, horizon=3, model="regression")
    np.testing.assert_allclose(ms.mean, s.mean * 1e3, rtol=1e-6)


def test_horizon_s_step_s_and_defaults():
    t, y = clock()
    fc = chronotick.predict(y, t, horizon_s=600, step_s=60)
    assert len(fc) == 10 and fc.times[0] == pytest.approx(t[-1] + 60)
    assert len(chronotick.predict(y, t)) == 64
    with pytest.raises(ValueError, match="disagree"):
        chronotick.predict(y, t, horizon=3, horizon_s=600, step_s=60)


def test_without_timestamps_the_series_is_regular():
    fc = chronotick.predict(list(np.sin(np.arange(50) / 5)), horizon=2)
    np.testing.assert_allclose(fc.times, [50.0, 51.0])


def test_accepts_pandas_and_lists_and_drops_nan():
    t, y = clock()
    y2 = y.copy()
    y2[10] = np.nan
    a = chronotick.predict(pd.Series(y2), pd.Series(t), horizon=2, model="robust")
    b = chronotick.predict(list(np.delete(y, 10)), list(np.delete(t, 10)), horizon=2, model="robust")
    np.testing.assert_allclose(a.mean, b.mean)


@pytest.mark.parametrize("model", ["hold", "robust", "regression", "kalman", "fused", "auto"])
def test_every_model_name(model):
    t, y = clock()
    fc = chronotick.predict(y, t, horizon=4, model=model)
    assert np.all(np.isfinite(fc.quantiles))
    # the model asked for forecast it (a silent fallback to hold had passed; a review, 2026-12-06)
    want = {"fused": "fused(robust,regression,kalman)"}.get(model, model)
    if model == "auto":
        want = ("fused(robust,regression,kalman,clock-bolt)" if "clock-bolt" in chronotick.models.onnx_models()
                else "fused(robust,regression,kalman)")
    assert fc.model == want, fc.model


def test_too_little_history_falls_back_to_hold():
    fc = chronotick.predict([0.001, 0.002, 0.0015], [0.0, 64.0, 128.0], horizon=2)
    assert fc.model.startswith("hold (fallback")
    lo, hi = fc.interval(0.8)
    assert np.all(hi - lo > 0)


def test_variations_float32_cannot_hold_leave_the_onnx_model_out():
    # Found by an audit (2026-12-05): offsets of 1e-46 s gave clock-bolt intervals of zero width
    # (or 1e209 wide at 1e-44) without a word
    from chronotick import models
    if "clock-bolt" not in models.onnx_models():
        pytest.skip("clock-bolt.onnx is not shipped in this checkout")
    t = 1.7e9 + 64.0 * np.arange(200)
    y = 1e-46 * (1 + 0.1 * np.random.default_rng(0).standard_normal(200))
    with pytest.raises(ValueError, match="below float32's normal range"):
        chronotick.predict(y, t, model="clock-bolt")
    fc = chronotick.predict(y, t)
    assert "clock-bolt" not in fc.weights and "below float32's normal range" in fc.note
    lo, hi = fc.interval(0.8)
    assert np.all(hi - lo > 1e-48)


def test_hold_from_under_three_measurements_says_what_its_interval_is():
    # Found by an audit (2026-12-05): from two measurements the interval had the same width at
    # every lead; from all-zero values it was ~1e-154 wide without a word
    fc = chronotick.predict([0.001, 0.0012], [0.0, 64.0], horizon=100)
    lo, hi = fc.interval(0.8)
    assert hi[-1] - lo[-1] == pytest.approx(10 * (hi[0] - lo[0]), rel=1e-9)     # sqrt(100 spacings)
    fc = chronotick.predict([0.0], [0.0], horizon=2, step_s=64.0)
    assert "no scale at all" in fc.note and "not an uncertainty" in fc.note


@pytest.mark.parametrize("model", ["kalman", "regression"])
def test_a_single_model_that_cannot_forecast_yet_falls_back_to_hold(model):
    fc = chronotick.predict([0.001, 0.002, 0.0015], [0.0, 64.0, 128.0], horizon=2, model=model)
    assert fc.model.startswith(f"hold (fallback: {model}")
    assert list(fc.weights) == ["hold"]
    lo, hi = fc.interval(0.8)
    assert np.all(np.isfinite(fc.mean)) and np.all(hi - lo > 0)


def test_an_onnx_model_with_one_measurement_falls_back_to_hold():
    from chronotick import models
    if "clock-bolt" not in models.onnx_models():
        pytest.skip("clock-bolt.onnx is not shipped in this checkout")
    fc = chronotick.predict([0.001], horizon=2, model="clock-bolt")
    assert fc.model.startswith("hold (fallback") and list(fc.weights) == ["hold"]
    with pytest.raises(ValueError, match="model clock-bolt forecasts at most 64 steps"):
        chronotick.predict(np.linspace(0, 1e-3, 100), horizon=100, model="clock-bolt")


def test_auto_names_the_shipped_model_it_leaves_out():
    from chronotick import models
    if "clock-bolt" not in models.onnx_models():
        pytest.skip("clock-bolt.onnx is not shipped in this checkout")
    t, y = clock(120)
    near = chronotick.predict(y, t, horizon=8)
    assert "clock-bolt" in near.weights and "clock-bolt left out" not in near.note
    far = chronotick.predict(y, t, horizon=100)            # partly beyond its 64-step horizon
    w = far.weights["clock-bolt"]
    assert np.all(w[:64] > 0) and np.all(w[65:] == 0)       # fused where it reaches, not past that
    assert "clock-bolt left out" not in far.note
    from chronotick.api import forecast_members             # all targets beyond it: left out, and why
    fc, weights, note = forecast_members("auto", t, y, None, t[-1] + 200.0 * np.arange(70, 80), np.array([0.5]))
    assert "clock-bolt" not in weights and fc.model.startswith("fused(")
    assert note.startswith("clock-bolt left out: it reaches") and "the first target is" in note


def test_custom_quantile_levels():
    t, y = clock()
    fc = chronotick.predict(y, t, horizon=2, quantile_levels=(0.05, 0.5, 0.95))
    np.testing.assert_allclose(fc.quantile_levels, [0.05, 0.5, 0.95])
    assert fc.quantiles.shape == (2, 3)


def test_temperature_covariate_uses_the_tempcomp_regression():
    t, y = clock()
    temp = 25 + np.sin(np.arange(t.size) / 10)
    fc = chronotick.predict(y, t, horizon=2, model="regression", covariates={"temperature": temp})
    assert fc.model == "regression+temp"
    fused = chronotick.predict(y, t, horizon=2, model="fused", covariates={"temperature": temp})
    assert "regression+temp" in fused.weights and "kalman" in fused.weights
    np.testing.assert_allclose(sum(fused.weights.values()), 1.0)
    with pytest.raises(ValueError, match="model='regression', 'fused' or 'auto' only"):
        chronotick.predict(y, t, horizon=2, model="kalman", covariates={"temperature": temp})
    bad = temp.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match=r"covariates\['temperature'\]\[7\] = nan"):
        chronotick.predict(y, t, horizon=2, model="regression", covariates={"temperature": bad})
    y_gap = y.copy()
    y_gap[7] = np.nan    # a missing value may have a missing temperature
    chronotick.predict(y_gap, t, horizon=2, model="regression", covariates={"temperature": bad})


def test_datetime_timestamps_are_unix_seconds():
    idx = pd.date_range("2025-10-15 12:00", periods=40, freq="64s")
    berlin = idx.tz_localize("Europe/Berlin")
    y = np.linspace(0, 1e-3, 40)
    ref = chronotick.predict(y, [x.timestamp() for x in idx], horizon=2, model="regression")
    for ts in (idx, pd.Series(idx), idx.values, list(idx.values), list(idx.to_pydatetime())):
        fc = chronotick.predict(y, ts, horizon=2, model="regression")
        np.testing.assert_array_equal(fc.times, ref.times)
        np.testing.assert_array_equal(fc.mean, ref.mean)
    for ts in (berlin, pd.Series(berlin)):      # tz-aware: the same instants, 2 h earlier in UTC
        fc = chronotick.predict(y, ts, horizon=2, model="regression")
        np.testing.assert_allclose(fc.times, ref.times - 7200)
    nat = idx.values.copy()
    nat[3] = np.datetime64("NaT")
    with pytest.raises(ValueError, match=r"timestamps\[3\] = NaT is not a time"):
        chronotick.predict(y, nat)
    # pandas' NaT in a list of Timestamps, naive or tz-aware, and None among datetimes: named too
    # (numpy's "'float' object cannot be interpreted as an integer" had named nothing; an audit,
    # 2026-12-06)
    for ts in (list(idx[:3]) + [pd.NaT] + list(idx[4:]), list(berlin[:3]) + [pd.NaT] + list(berlin[4:]),
               list(idx.to_pydatetime()[:3]) + [None] + list(idx.to_pydatetime()[4:])):
        with pytest.raises(ValueError, match=r"timestamps\[3\] = NaT is not a time"):
            chronotick.predict(y, ts)
