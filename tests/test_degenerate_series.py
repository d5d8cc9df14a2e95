"""Series without noise, with absurd magnitudes, and extreme quantile levels:
the forecasts stay finite and honest, and nothing raises where a model merely
cannot help (probed 2026-12-02; every case here failed before its fix)."""
import numpy as np
import pytest

import chronotick
from chronotick import _core

T = np.arange(100) * 16.0


@pytest.mark.parametrize("model", ["fused", "regression", "kalman", "auto"])
def test_an_exact_line_is_extrapolated(model):
    # Zero residuals are the best case of a fit, not a failure (was: regression and
    # kalman dropped, fused = the median of the last 9, flat below the last value).
    fc = chronotick.predict(0.5 * np.arange(100), T, horizon=3, model=model)
    np.testing.assert_allclose(fc.mean, [50.0, 50.5, 51.0], rtol=0, atol=1e-9)
    lo, hi = fc.interval(0.8)
    assert np.all(lo <= fc.mean + 1e-9) and np.all(fc.mean - 1e-9 <= hi)


@pytest.mark.parametrize("c", [0.0, 1e-3, -2.5, 1e6])
@pytest.mark.parametrize("model", ["fused", "auto"])
def test_a_constant_series_forecasts_the_constant(c, model):
    # Was: every classical member failed; fused fell back to hold with a width of
    # |c| (1e6 -> [-3e5, 2.3e6]); auto was clock-bolt alone, drifting off c with an
    # interval that excluded it.
    fc = chronotick.predict(np.full(100, c), 1.7e9 + T, horizon=3, model=model)
    assert "regression" in fc.model and "hold (fallback" not in fc.model
    lo, hi = fc.interval(0.8)
    assert np.all(lo <= c) and np.all(c <= hi)
    assert np.all(hi - lo <= 1e-12 * max(1.0, abs(c)))     # shifting a series does not widen it


def test_a_nearly_flat_series_does_not_raise():
    # 1 ms offset, 1 ps/s drift, 1 s polls: clock-bolt's quantiles coincide in
    # float32, its past sigma was 0, and the core's check raised out of predict
    # and the Engine (a Clock stopped publishing).
    t = 1.7e9 + np.arange(60.0)
    y = 1e-3 + 1e-12 * (t - t[0])
    fc = chronotick.predict(y, t, horizon=3)
    assert np.all(np.isfinite(fc.mean)) and np.all(np.abs(fc.mean - 1e-3) < 1e-9)
    eng = chronotick.Engine()
    try:
        eng.observe_many(t, y)
        f = eng.predict_short_term()
        assert np.all(np.isfinite(f.mean))
        assert np.all(np.isfinite(eng.forecast_at([t[-1] + 1.0]).mean))
    finally:
        eng.close()


@pytest.mark.parametrize("scale", [1e155, 1e300, 1e-300])
@pytest.mark.parametrize("model", ["fused", "regression", "kalman", "robust", "auto"])
def test_huge_or_tiny_values_give_finite_forecasts(scale, model):
    # 1e155 * sin: squares overflow. Was: a segfault in the fusion (0/0 weights
    # indexing a failed member), NaN means from regression/kalman.
    k = np.arange(1, 21.0)
    fc = chronotick.predict(scale * np.sin(k), k, horizon=4, model=model)
    assert np.all(np.isfinite(fc.mean)) and np.all(np.isfinite(fc.quantiles))


@pytest.mark.parametrize("u0", [1e-200, 1e200])
@pytest.mark.parametrize("model", ["regression", "fused", "auto"])
def test_uncertainties_weigh_relative_to_each_other(u0, model):
    # 1/u^2 under- or overflowed (NaN forecasts at u >= 1.4e154); the weights are
    # relative, so scaling every u by one factor changes nothing.
    t = np.arange(40.0)
    y = 1e-3 * np.sin(t)
    u = 1e-4 * (1 + t % 3)
    ref = chronotick.predict(y, t, horizon=2, uncertainty=u, model="regression")
    fc = chronotick.predict(y, t, horizon=2, uncertainty=u / 1e-4 * u0, model=model)
    assert np.all(np.isfinite(fc.mean)) and np.all(np.isfinite(fc.quantiles))
    if model == "regression":
        np.testing.assert_allclose(fc.mean, ref.mean, rtol=1e-9)


def test_wider_coverage_than_the_history_resolves_still_widens():
    # 24 past errors resolve central coverage up to 24/25 = 96%; beyond it the
    # interval was clamped at the largest error, so 99.8% was as wide as 98%.
    rng = np.random.default_rng(5)
    t = np.arange(200) * 16.0
    y = 1e-4 * rng.standard_normal(200)
    levels = (0.001, 0.01, 0.1, 0.5, 0.9, 0.99, 0.999)
    for model in ["fused", "regression", "kalman"]:
        q = chronotick.predict(y, t, horizon=1, model=model, quantile_levels=levels).quantiles[0]
        assert np.all(np.diff(q) > 0), (model, q)
        assert q[-1] - q[0] > 1.1 * (q[-2] - q[1])


def test_extreme_levels_are_rejected_up_front():
    # 1e-17: central coverage 1 - 2e-17 rounds to 1; was an internal
    # "coverages[0] = 1.000000" error, and inside an Engine it marked clock-bolt
    # unhealthy for good.
    t = np.arange(60) * 16.0
    y = 1e-4 * np.sin(t)
    with pytest.raises(ValueError, match=r"quantile_levels\[0\] = 1e-17 is too far in the tail"):
        chronotick.predict(y, t, horizon=2, quantile_levels=(1e-17, 0.5))
    eng = chronotick.Engine()
    try:
        eng.observe_many(t, y)
        with pytest.raises(ValueError, match="too far in the tail"):
            eng.predict_short_term((0.5, 1 - 1e-9))
        assert all(m["ok"] for m in eng.health()["models"].values())
    finally:
        eng.close()


def test_a_level_next_to_a_base_level_changes_nothing():
    # 0.1 + 1e-13 counted as 0.1 when deciding whether to add the base levels,
    # but not in the core: the interval shrank by 41%.
    rng = np.random.default_rng(1)
    t = np.arange(120) * 16.0
    y = 1e-4 * rng.standard_normal(120)
    a = chronotick.predict(y, t, horizon=2, model="fused")
    b = chronotick.predict(y, t, horizon=2, model="fused", quantile_levels=(0.1 + 1e-13, 0.5, 0.9))
    np.testing.assert_allclose(b.interval(0.8), a.interval(0.8), rtol=1e-6)
    np.testing.assert_allclose(b.std, a.std, rtol=1e-6)


def test_engine_leaves_out_an_onnx_member_the_fusion_rejects(monkeypatch):
    # Whatever the core refuses of an ONNX member's output, the application
    # thread gets the classical fusion with a note, not the exception.
    t = 1.7e9 + np.arange(80) * 16.0
    y = 1e-4 * np.sin(np.arange(80.0))
    eng = chronotick.Engine()
    try:
        eng.observe_many(t, y)
        slot = eng._onnx["clock-bolt"]
        real = slot.forecaster.forecast_with_past

        def broken(*a, **k):
            fc, prefix, target, mean, sigma = real(*a, **k)
            return fc, prefix, target, mean, np.zeros_like(sigma)      # the core rejects sigma 0
        monkeypatch.setattr(slot.forecaster, "forecast_with_past", broken)
        with pytest.raises(ValueError):   # the core does reject it
            _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, None, t[-1:] + 16.0,
                                 np.array([0.1, 0.5, 0.9]), _core.ModelParams(),
                                 extra=[broken(t, y, t[-1:] + 16.0, np.array([0.1, 0.5, 0.9]), _core.ModelParams())])
        fc = eng.predict_short_term()
        assert np.all(np.isfinite(fc.mean))
        assert "clock-bolt" not in fc.model and "fusion rejected" in fc.note
        assert eng.health()["last_error"].startswith("fusion:")
    finally:
        eng.close()


def test_config_refuses_what_the_engine_would_ignore(tmp_path):
    from chronotick.errors import ConfigError
    f = tmp_path / "cb.model"           # a real ONNX file, but not named .onnx: never loaded, silently
    f.write_bytes(b"\x08\x07")
    with pytest.raises(ConfigError, match="is a file but not a .onnx file"):
        chronotick.Engine({"long_term": {"model": str(f)}})
    # "delay" is observe()'s own argument: as a covariate name every observe() failed
    with pytest.raises(ConfigError, match=r"covariates.names\[0\]: 'delay' is an argument of observe"):
        chronotick.Engine({"covariates": {"names": ["delay"]}})


def test_one_measurement_never_gives_a_zero_width_interval():
    # Nothing says how far the next may be: the offset's own size is the only scale
    # (the resolution floor of a constant series must not apply to one or two values).
    for y in ([0.004], [0.004, 0.004], [-2e-3]):
        fc = chronotick.predict(y, 1.7e9 + 16.0 * np.arange(len(y)), horizon=2)
        lo, hi = fc.interval(0.8)
        assert np.all(hi - lo > 0.5 * abs(y[-1])), (y, lo, hi)


def test_predict_leaves_out_an_onnx_member_the_fusion_rejects(monkeypatch):
    # predict(model="auto") as the Engine: a core rejection of the optional
    # member gives the classical fusion with a note, not the exception.
    from chronotick import api
    t = 1.7e9 + np.arange(80) * 16.0
    y = 1e-4 * np.sin(np.arange(80.0))
    f = api.onnx_forecaster("clock-bolt")
    real = f._forecast_with_past      # predict's entry (forecast_with_past less its input checks)

    def broken(*a, **k):
        fc, prefix, target, mean, sigma = real(*a, **k)
        return fc, prefix, target, mean, np.zeros_like(sigma)      # the core rejects sigma 0
    monkeypatch.setattr(f, "_forecast_with_past", broken)
    fc = chronotick.predict(y, t, horizon=2)
    assert np.all(np.isfinite(fc.mean))
    assert "clock-bolt" not in fc.weights and "fusion rejected" in fc.note
    ref = chronotick.predict(y, t, horizon=2, model="fused")
    np.testing.assert_array_equal(fc.mean, ref.mean)
    temp = 20 + np.cos(np.arange(80.0) / 7)
    fc = chronotick.predict(y, t, horizon=2, covariates={"temperature": temp})
    assert "clock-bolt" not in fc.weights and "fusion rejected" in fc.note


def _step_after_flat(after):
    y = np.concatenate([np.full(200, 1e-4), np.full(after, 9e-4)])
    return y, np.arange(y.size) * 16.0


@pytest.mark.parametrize("model", ["fused", "auto"])
@pytest.mark.parametrize("after", range(1, 9))
def test_a_step_after_an_exactly_flat_record_keeps_every_member_and_a_width(model, after):
    # 200 measurements at exactly 0.1 ms, then `after` at 0.9 ms. Was: robust and kalman
    # (zero-width central intervals) dropped as "non-finite output" -- their q10, read by
    # interpolating at 0.1 itself, came out 5e-20 above q90 -- and the fused 80% interval
    # zero wide for the first 4 (0.2-0.6 ms from the new level).
    y, t = _step_after_flat(after)
    fc = chronotick.predict(y, t, horizon=8, model=model)
    assert "non-finite output" not in fc.note
    assert all(m in fc.model for m in ("robust", "regression", "kalman")), fc.model
    lo, hi = fc.interval(0.8)
    assert np.all(hi - lo > 0), (after, hi - lo)


@pytest.mark.parametrize("after", [1, 2, 3, 4])
def test_members_that_each_claim_certainty_but_disagree_are_all_inside_the_interval(after):
    # After 1-4 measurements at the new level every classical member still states a
    # zero-width 80% interval, at medians 0.1-1.0 ms apart: at most one can be right, and
    # the fused interval holds all of them (fusion.h contain_certain_members).
    y, t = _step_after_flat(after)
    members = [chronotick.predict(y, t, horizon=8, model=m) for m in ("robust", "regression", "kalman")]
    for m in members:
        lo, hi = m.interval(0.8)
        assert np.all(hi == lo), (m.model, hi - lo)
    medians = np.array([m.quantile(0.5) for m in members])
    assert np.all(np.ptp(medians, axis=0) > 1e-4)
    fc = chronotick.predict(y, t, horizon=8, model="fused")
    lo, hi = fc.interval(0.8)
    assert np.all(lo <= medians.min(axis=0)) and np.all(hi >= medians.max(axis=0))
    assert "members stating no spread disagree" in fc.note


def test_regression_intervals_scale_with_the_values():
    # Found by an audit (2026-12-05): an exact drift with 20% of the points noisy gave the
    # regression 95% intervals ~1e6 times too wide at 1e-3 (a robust scale of rounding errors)
    rng = np.random.default_rng(118)
    t = np.arange(200.0)
    y = 0.25 * t + np.where(rng.random(200) < 0.2, rng.standard_normal(200), 0.0)
    ref = None
    for s in (1.0, 1e-3, 1e-6, 1e-9):
        for model in ("regression", "fused"):
            lo, hi = chronotick.predict(y * s, t, model=model, horizon=16).interval(0.8)
            w = (hi - lo) / s
            if s == 1.0:
                ref = {} if ref is None else ref
                ref[model] = w
            np.testing.assert_allclose(w, ref[model], rtol=1e-6)


def test_hold_on_a_drift_then_noise_keeps_a_useful_interval():
    # an exact drift (every step equal: no MAD), noise from 20 measurements before the origin:
    # the range of all values had stood in for hold's spread, and 80% intervals covered 0.4%
    rng = np.random.default_rng(41)
    hits = []
    for _ in range(100):
        t = np.arange(216.0)
        y = 0.5 * t
        y[180:] += rng.standard_normal(36)
        lo, hi = chronotick.predict(y[:200], t[:200], model="hold", horizon=16).interval(0.8)
        hits.append(np.mean((y[200:] >= lo) & (y[200:] <= hi)))
    assert np.mean(hits) > 0.5


def test_kalman_after_flat_polls_states_the_noise_the_newest_show():
    """6 equal values, then 6 of unit noise: kalman's sigma came from the noise levels of the flat
    measurements before its earliest calibration prefix (their resolution, ~1e-17), its 99%
    interval was 5e-16 wide at every step, and in the fusion (1/sigma^2 until errors are known) it
    took all the weight: predict(model="fused") and "auto" stated the same ~0 wide interval while
    the other members' medians lay 0.4 away (an audit, 2026-12-05)."""
    t = np.arange(12.0)
    y = np.array([0, 0, 0, 0, 0, 0, 0.1146, -0.2016, -1.4315, 0.5215, -0.2633, -1.2789])
    lv = (0.005, 0.5, 0.995)
    for model in ("kalman", "fused", "auto"):
        fc = chronotick.predict(y, t, horizon=8, model=model, quantile_levels=lv)
        width = fc.quantiles[:, 2] - fc.quantiles[:, 0]
        assert np.all(width > 0.3), (model, width)


def test_a_member_stating_no_spread_does_not_shrink_the_fused_interval_off_the_others():
    """_core.fuse: a member with no spread takes all the 1/sigma^2 weight; the fused interval had
    been that member's alone ([0, 0] with another member at 100 +- 1, no note). It now holds the
    other usable members' medians, and the note says so (fusion.h, contain_certain_members)."""
    from statistics import NormalDist

    from chronotick import _core
    lv = np.array([0.025, 0.1, 0.5, 0.9, 0.975])
    z = np.array([NormalDist().inv_cdf(p) for p in lv])
    times = np.array([1.0])

    def member(name, mu, sd):
        return _core.QuantileForecast(name, times, lv, np.array([mu]), (mu + sd * z)[None, :])

    for other in (member("b", 100.0, 1.0), member("b", 0.5, 1e-3)):
        out = _core.fuse([member("a", 0.0, 0.0), other])
        assert out.weights[:, 0].tolist() == [1.0, 0.0]
        q = out.forecast.quantiles[0]
        assert q[0] <= 0.0 and q[-1] >= other.mean[0], q
        assert q[2] == 0.0                    # the median stays the certain member's
        assert "stated no spread where members disagree" in out.forecast.note


def test_robust_does_not_take_its_median_across_a_long_gap():
    """Rule R: 300 measurements of a 1 ppm clock (2 ms noise, 64 s polls), a 2-day gap, one poll
    since: robust's median of its 9 newest took 8 from before the gap (19 ms against a level of
    192 ms), held 10% of the fused weight, and the fused 80% interval [173, 180] ms held neither
    the truth nor the newest measurement (an audit, 2026-12-05). Robust now uses only the
    measurements since such a gap and fails with fewer than 3 (predict falls back to hold)."""
    rng = np.random.default_rng(7)
    t = np.concatenate([np.arange(300) * 64.0, 299 * 64.0 + 2 * 86400.0 + np.arange(1) * 64.0])
    y = 1e-6 * t + 2e-3 * rng.standard_normal(t.size)
    truth = 1e-6 * (t[-1] + 64.0)
    fr = chronotick.predict(y, t, horizon=1, model="robust")
    assert "since a gap of 172800" in fr.model + fr.note and fr.mean[0] == y[-1]
    for model in ("fused", "auto"):
        fc = chronotick.predict(y, t, horizon=1, model=model)
        lo, hi = fc.interval(0.8)
        assert lo[0] <= truth <= hi[0], (model, lo[0], truth, hi[0])
    # three polls since: robust's median of those three
    t3 = np.concatenate([t, t[-1] + 64.0 * np.arange(1, 3)])
    y3 = np.concatenate([y, 1e-6 * t3[-2:] + 2e-3 * rng.standard_normal(2)])
    assert chronotick.predict(y3, t3, horizon=1, model="robust").mean[0] == np.median(y3[-3:])


def test_a_change_of_poll_interval_is_no_gap_for_robust():
    """Rule R's gap is a spacing longer than 9 median spacings *and* 9 times the span of the
    window's measurements before it: a Clock's 16 warm-up polls at 4 s, then 64 s polls, had
    made robust fail at the first three 64 s polls ("since a gap of 64 s"; a review)."""
    rng = np.random.default_rng(1)
    for after in (1, 2, 3):
        t = np.concatenate([np.arange(16) * 4.0, 60.0 + 64.0 * np.arange(1, after + 1)])
        y = 1e-4 * rng.standard_normal(t.size)
        fc = chronotick.predict(y, t, horizon=1, model="robust")
        assert fc.model == "robust" and "gap" not in fc.note, (after, fc.model, fc.note)
        assert "robust" in chronotick.predict(y, t, horizon=1, model="fused").model
