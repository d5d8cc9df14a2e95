"""Forecast: derived quantiles, interval(), at(), the kept base levels, and
calibration on a real trace."""
import json
from statistics import NormalDist

import numpy as np
import pytest

import chronotick
from chronotick.forecast import Forecast

PHI = NormalDist()


def gaussian_forecast(levels=(0.1, 0.5, 0.9), origin=100.0):
    times = origin + 10.0 * np.arange(1, 5)
    mean = np.array([1.0, 2.0, 3.0, 4.0])
    std = np.array([0.5, 1.0, 1.5, 2.0])
    q = mean[:, None] + np.array([PHI.inv_cdf(p) for p in levels])[None, :] * std[:, None]
    return Forecast(times, mean, q, levels, std, "test", origin=origin)


@pytest.mark.parametrize("level", [0.025, 0.1, 0.2, 0.3, 0.5, 0.7, 0.95, 0.999])
def test_derived_quantiles_are_exact_for_a_gaussian(level):
    fc = gaussian_forecast()
    np.testing.assert_allclose(fc.quantile(level), fc.mean + PHI.inv_cdf(level) * fc.std, rtol=1e-12, atol=1e-12)


def test_intervals_nest_on_a_real_forecast(homelab_9h):
    fc = chronotick.predict(homelab_9h.offsets[:150], homelab_9h.times[:150], horizon=16, model="fused")
    prev_lo, prev_hi = fc.mean, fc.mean
    for level in (0.1, 0.3, 0.5, 0.8, 0.9, 0.95, 0.99):
        lo, hi = fc.interval(level)
        assert np.all(lo <= prev_lo + 1e-15) and np.all(hi >= prev_hi - 1e-15), level
        prev_lo, prev_hi = lo, hi
    assert np.all(prev_lo < fc.mean) and np.all(fc.mean < prev_hi)


def test_base_levels_are_kept_when_others_are_asked(homelab_9h):
    y, t = homelab_9h.offsets[:120], homelab_9h.times[:120]
    base = chronotick.predict(y, t, horizon=6, model="fused")
    wide = chronotick.predict(y, t, horizon=6, model="fused", quantile_levels=(0.05, 0.95))
    np.testing.assert_allclose(wide.quantile_levels, [0.05, 0.95])
    assert wide.quantiles.shape == (6, 2)
    np.testing.assert_allclose(wide.mean, base.mean)
    for a, b in zip(wide.interval(0.8), base.interval(0.8)):   # the core's q10/q90, not interpolated
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-15)
    np.testing.assert_array_equal(base.quantile(0.1), base.quantiles[:, 0])
    np.testing.assert_array_equal(wide.quantile(0.95), wide.quantiles[:, 1])


def test_at_interpolates_between_forecast_times():
    fc = gaussian_forecast()
    lo, hi = fc.interval(0.8)
    for k in range(4):
        np.testing.assert_allclose(fc.at(fc.times[k]), (fc.mean[k], lo[k], hi[k]))
    m, a, b = fc.at(122.5)        # a quarter of the way from step 2 (120 s) to step 3 (130 s)
    assert m == pytest.approx(2.25) and a == pytest.approx(0.75 * lo[1] + 0.25 * lo[2])
    assert b == pytest.approx(0.75 * hi[1] + 0.25 * hi[2])
    m95 = fc.at(122.5, level=0.95)
    assert m95[1] < a and m95[2] > b


def test_at_between_the_origin_and_step_one_uses_step_one():
    fc = gaussian_forecast(origin=100.0)
    assert fc.at(100.5) == fc.at(110.0)
    with pytest.raises(ValueError, match=r"t = 100.0 is outside the forecast's range \(100.0, 140.0\]"):
        fc.at(100.0)
    with pytest.raises(ValueError, match=r"t = 140.5 is outside the forecast's range \(100.0, 140.0\]"):
        fc.at(140.5)
    no_origin = Forecast(fc.times, fc.mean, fc.quantiles, fc.quantile_levels, fc.std, "test")
    with pytest.raises(ValueError, match=r"range \[110.0, 140.0\]"):
        no_origin.at(105.0)


def test_predict_sets_the_origin_to_the_last_kept_measurement():
    t = 64.0 * np.arange(30)
    y = 1e-6 * t
    y[-1] = np.nan                       # missing: dropped, the origin is the one before
    fc = chronotick.predict(y, t, horizon=2, model="regression")
    assert fc.origin == t[-2]
    np.testing.assert_allclose(fc.times, t[-2] + 64.0 * np.arange(1, 3))


def test_single_model_weights_and_dict_round_trip(homelab_9h):
    fc = chronotick.predict(homelab_9h.offsets[:80], homelab_9h.times[:80], horizon=3, model="kalman")
    assert list(fc.weights) == ["kalman"]
    np.testing.assert_array_equal(fc.weights["kalman"], np.ones(3))
    d = json.loads(json.dumps(fc.to_dict()))
    assert d["model"] == "kalman" and d["origin"] == fc.origin
    back = Forecast(d["times"], d["mean"], d["quantiles"], d["quantile_levels"], d["std"], d["model"],
                    origin=d["origin"])
    np.testing.assert_array_equal(back.interval(0.8)[1], fc.interval(0.8)[1])
    assert "kalman" in repr(fc)


def test_std_matches_the_q10_q90_spread(homelab_9h):
    fc = chronotick.predict(homelab_9h.offsets[:100], homelab_9h.times[:100], horizon=8, model="fused")
    lo, hi = fc.interval(0.8)
    np.testing.assert_allclose(fc.std, (hi - lo) / (2 * PHI.inv_cdf(0.9)), rtol=0.05)


def test_eighty_percent_interval_coverage_on_the_shipped_trace(homelab_9h):
    """One-step-ahead rolling origins over the real 9.3 h trace: the 80%
    interval holds 83% of the next measurements (fused, every 3rd cut)."""
    t, y = homelab_9h.times, homelab_9h.offsets
    hits = []
    for c in range(64, t.size - 1, 3):
        fc = chronotick.predict(y[:c], t[:c], horizon=1, step_s=t[c] - t[c - 1], model="fused")
        lo, hi = fc.interval(0.8)
        hits.append(lo[0] <= y[c] <= hi[0])
    assert 0.7 <= np.mean(hits) <= 0.92


def test_a_second_real_trace(ntp_trace_2h):
    fc = chronotick.predict(ntp_trace_2h.offsets, ntp_trace_2h.times, horizon_s=600)
    assert fc.times[-1] >= ntp_trace_2h.times[-1] + 600 - 1e-6
    assert np.all(np.isfinite(fc.quantiles)) and np.all(fc.std > 0)


def test_the_common_intervals_are_calibrated_levels_not_gaussian_extensions():
    # 0.025/0.25/0.75/0.975 are computed with 0.1/0.5/0.9: interval(0.95) and interval(0.5)
    # are the core's calibrated quantiles. Derived from 0.1/0.9 with a Gaussian tail, 98%
    # intervals had covered 92-95% on simulated clocks and 50% ones 55-61%.
    import chronotick
    rng = np.random.default_rng(3)
    t = 1.7e9 + np.arange(300) * 64.0
    y = 1e-3 + np.cumsum(rng.normal(0, 1e-5, 300)) + rng.standard_t(3, 300) * 1e-4
    for model in ("fused", "kalman"):
        fc = chronotick.predict(y, t, horizon=8, model=model)
        ref = chronotick.predict(y, t, horizon=8, model=model, quantile_levels=(0.025, 0.25, 0.75, 0.975))
        assert fc.quantile_levels.tolist() == [0.1, 0.5, 0.9]          # what was asked is what is shown
        np.testing.assert_array_equal(fc.interval(0.95)[0], ref.quantiles[:, 0])
        np.testing.assert_array_equal(fc.interval(0.95)[1], ref.quantiles[:, 3])
        np.testing.assert_array_equal(fc.interval(0.5)[0], ref.quantiles[:, 1])
        np.testing.assert_array_equal(fc.interval(0.5)[1], ref.quantiles[:, 2])


@pytest.mark.parametrize("change, match", [
    ({"quantiles": [[-1.0, 1.0], [np.nan, 0.0]]}, r"quantiles\[1, 0\] = nan is not finite"),
    ({"quantiles": [[1.0, -1.0], [0.0, 0.0]]}, r"quantiles\[0\] must not decrease with the level: -1.0 at level "
                                               r"index 1 < 1.0 at 0"),
    ({"mean": [0.0, np.inf]}, r"mean\[1\] = inf is not finite"),
    ({"std": [1.0, -1.0]}, r"std\[1\] = -1.0 is negative"),
    ({"times": [2.0, 1.0]}, r"times must be strictly increasing: times\[1\] = 1.0 after 2.0"),
])
def test_a_forecast_built_by_hand_is_checked_for_values(change, match):
    """Audit finding (session 23): only levels and shapes were checked, so a NaN or a crossed pair
    came back from interval() as (array([1., nan]), array([-1., 0.]))."""
    args = dict(times=[1.0, 2.0], mean=[0.0, 0.0], quantiles=[[-1.0, 1.0], [-1.0, 1.0]], quantile_levels=[0.1, 0.9],
                std=[1.0, 1.0], model="x")
    args.update(change)
    with pytest.raises(ValueError, match=match):
        Forecast(**args)


def test_derived_quantiles_are_monotone_in_the_level_and_intervals_nested():
    # Found by an audit (2026-12-06): levels between two computed ones were (1 - w) a + w b, not
    # exact where a == b: a constant series' interval(0.5114) had lower 1 ulp above upper, and
    # with extra levels pinned to their neighbours quantile(0.020) > quantile(0.021)
    t = 16.0 * np.arange(100)
    fc = chronotick.predict(np.full(100, 3e-3), t, horizon=4, model="hold")
    for level in (0.3029246231155779, 0.5114472361809045, 0.7646532663316583):
        lo, hi = fc.interval(level)
        assert np.all(lo <= hi), level
    rng = np.random.default_rng(0)
    y = 1e-3 + 2e-6 * np.arange(200) + rng.normal(0, 1e-5, 200) + rng.standard_t(1.5, 200) * 1e-5
    for model in ("kalman", "fused"):
        fc = chronotick.predict(y, 16.0 * np.arange(200), horizon=32, model=model,
                                quantile_levels=(0.01, 0.02, 0.2, 0.8, 0.98, 0.99))
        q = np.array([fc.quantile(float(p)) for p in np.linspace(0.001, 0.999, 999)])
        assert np.all(np.diff(q, axis=0) >= 0), model
        widths = [fc.interval(float(level)) for level in np.linspace(0.01, 0.99, 99)]
        for (lo0, hi0), (lo1, hi1) in zip(widths, widths[1:]):
            assert np.all(lo1 <= lo0) and np.all(hi1 >= hi0), model


def test_a_hand_built_forecast_keeps_its_own_arrays_and_copies_stay_read_only():
    # Found by an audit (2026-12-06): a hand-built Forecast kept views of the caller's arrays (their
    # later changes came through, past its checks), took a NaN origin, and a pickled or deep-copied
    # one had writable arrays (g.mean *= 1e3 mixed ms and s in at())
    import copy
    import pickle

    from chronotick import Forecast
    times, mean = np.array([1.0, 2.0]), np.array([0.0, 0.5])
    q, w = np.array([[-1.0, 0.0, 1.0], [-0.5, 0.5, 1.5]]), np.array([1.0, 1.0])
    fc = Forecast(times, mean, q, [0.1, 0.5, 0.9], [0.78, 0.78], "m", weights={"m": w}, origin=0.0)
    times[0], mean[0], q[0, 2], w[0] = 9.0, 9.0, np.nan, 5.0
    assert fc.times[0] == 1.0 and fc.mean[0] == 0.0 and fc.quantiles[0, 2] == 1.0 and fc.weights["m"][0] == 1.0
    lo, hi = fc.interval(0.8)
    assert lo[0] == -1.0 and hi[0] == 1.0
    for bad in (float("nan"), float("inf"), "0", True, np.array([1.0, 2.0])):
        with pytest.raises(ValueError, match="origin must be a finite time in seconds or None"):
            Forecast([1.0], [0.0], [[-1, 0, 1]], [0.1, 0.5, 0.9], [0.78], "m", origin=bad)
    for good in (np.array(0.5), np.float32(0.5), 0):        # numbers, a 0-d array of one
        assert Forecast([1.0], [0.0], [[-1, 0, 1]], [0.1, 0.5, 0.9], [0.78], "m", origin=good).origin == float(good)
    # quantiles spanning more than the double range: derived levels still between their neighbours
    wide = Forecast([1.0], [0.0], [[-1e308, 0, 1e308]], [0.1, 0.5, 0.9], [1e308], "m", origin=0.0)
    assert -1e308 < wide.quantile(0.3)[0] < 0 < wide.quantile(0.7)[0] < 1e308
    t = 16.0 * np.arange(50)
    made = chronotick.predict(np.sin(t / 300) * 1e-3, t, horizon=4)
    for g in (pickle.loads(pickle.dumps(made)), copy.deepcopy(made), copy.copy(made)):
        for name in ("times", "mean", "quantiles", "std", "quantile_levels"):
            assert not getattr(g, name).flags.writeable, name
            np.testing.assert_array_equal(getattr(g, name), getattr(made, name))
        assert all(not v.flags.writeable for v in g.weights.values())
        with pytest.raises(ValueError, match="read-only"):
            g.mean *= 1e3
        np.testing.assert_array_equal(g.interval(0.8), made.interval(0.8))
        assert g.at(made.times[-1]) == made.at(made.times[-1]) and g.origin == made.origin
