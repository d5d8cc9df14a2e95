"""Probes of chronotick.predict and Forecast as a demanding user would call
them: the forecast grid asked for in seconds, levels asked for close
together, a forecast serialised and read back, absurd timestamps, and
timezone-aware datetimes (each case here failed before its fix)."""
import datetime
import json
import types
import warnings

import numpy as np
import pandas as pd
import pytest

import chronotick
from chronotick.forecast import Forecast


def clock(n=80, seed=0, t0=1.7e9):
    rng = np.random.default_rng(seed)
    t = t0 + np.cumsum(rng.uniform(64, 128, n))
    return 2e-6 * (t - t[0]) + rng.normal(0, 1e-4, n), t


# ---------------------------------------------------------------- horizon_s

def test_horizon_s_shorter_than_a_step_is_one_step():
    # horizon_s / step_s below 1e-9 rounded down to 0 steps: "horizon_s / step_s must be
    # > 0 steps, got 0" (while horizon_s = 1e-3 gave 1 step), and horizon=1 "disagreed"
    y, t = clock()
    for hs in (1e-12, 6e-9, 1e-3):
        fc = chronotick.predict(y, t, horizon_s=hs, model="fused")
        assert len(fc) == 1 and fc.times[0] > fc.origin + hs
    fc = chronotick.predict(y, t, horizon=1, horizon_s=1e-12, model="fused")
    assert len(fc) == 1


@pytest.mark.parametrize("hs, step", [(0.9, 0.3), (1.8, 0.06), (0.9, 0.03)])
def test_the_forecast_reaches_horizon_s(hs, step):
    # timestamps relative to now (the newest at 0): 0.3 * 3 = 0.8999999999999999, so the
    # forecast ended short of the 0.9 s asked for and fc.at(origin + horizon_s) raised
    # "outside the forecast's range"
    t = -16.0 * np.arange(40)[::-1]
    y = 1e-4 * np.sin(np.arange(40.0))
    fc = chronotick.predict(y, t, horizon_s=hs, step_s=step, model="fused")
    assert len(fc) == round(hs / step)
    assert fc.times[-1] >= fc.origin + hs
    np.testing.assert_allclose(np.diff(fc.times), step, rtol=1e-9)
    m, lo, hi = fc.at(fc.origin + hs)
    assert lo <= m <= hi and m == fc.mean[-1]


def test_forecast_times_beyond_the_largest_float_are_refused_by_name():
    # times near 1.8e308: the grid overflowed to inf; one step was refused as
    # "target_times[0] is not finite" (an internal name), three as a step "too small"
    # for a resolution of "nan s"
    t = 1.79e308 - 1e306 * np.arange(10)[::-1]
    y = 1e-4 * np.sin(np.arange(10.0))
    for h in (1, 3):
        with pytest.raises(ValueError, match=r"forecast times overflow: the last timestamp 1\.79e\+308"):
            chronotick.predict(y, t, horizon=h, model="hold")
    with pytest.raises(ValueError, match=r"forecast times overflow.*step_s = 1e\+306"):
        chronotick.predict(y, t, horizon_s=1e306, step_s=1e306, model="hold")


# ---------------------------------------------------------------- levels

def test_levels_closer_than_1e_12_keep_their_own_columns():
    # Both rounded to 12 digits: 0.3 was shown as 0.3 + 1e-13 (levels no longer
    # increasing, the column of another level under its name)
    y, t = clock()
    lv = (0.3, 0.3 + 1e-13, 0.7)
    fc = chronotick.predict(y, t, horizon=3, model="fused", quantile_levels=lv)
    assert fc.quantile_levels.tolist() == list(lv)
    ref = chronotick.predict(y, t, horizon=3, model="fused", quantile_levels=(0.3, 0.7))
    np.testing.assert_array_equal(fc.quantiles[:, 0], ref.quantiles[:, 0])
    np.testing.assert_array_equal(fc.quantiles[:, 2], ref.quantiles[:, 1])
    for i, level in enumerate(lv):   # each level's own column, not the first within 1e-12
        np.testing.assert_array_equal(fc.quantile(level), fc.quantiles[:, i])


# ---------------------------------------------------------------- to_dict

@pytest.mark.parametrize("model", ["fused", "auto", "kalman"])
def test_to_dict_round_trip_keeps_the_calibrated_intervals(model):
    # The base levels kept privately were not serialised: read back, interval(0.5)
    # and interval(0.95) were Gaussian derivations of q10/q90, not the calibrated ones
    y, t = clock(200)
    fc = chronotick.predict(y, t, horizon=6, model=model)
    d = json.loads(json.dumps(fc.to_dict()))
    back = Forecast(**d)
    for level in (0.5, 0.8, 0.95, 0.99, 0.6):
        for a, b in zip(back.interval(level), fc.interval(level)):
            np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(back.quantiles, fc.quantiles)
    assert back.quantile_levels.tolist() == [0.1, 0.5, 0.9]
    x = fc.origin + 0.5 * (fc.times[2] - fc.origin)
    assert back.at(x, 0.95) == fc.at(x, 0.95)
    with pytest.raises(ValueError, match="together"):
        Forecast(d["times"], d["mean"], d["quantiles"], d["quantile_levels"], d["std"], d["model"],
                 all_quantile_levels=d["all_quantile_levels"])


# ---------------------------------------------------------------- inputs

def test_tz_aware_python_datetimes_need_no_numpy_warning():
    # A list of tz-aware datetime.datetime: right instants, but numpy's conversion
    # warned once per item ("no explicit representation of timezones")
    base = datetime.datetime(2025, 10, 15, 12, 0, 0)
    naive = [base + datetime.timedelta(seconds=64 * i) for i in range(20)]
    y = 1e-4 * np.sin(np.arange(20.0))
    ref = chronotick.predict(y, [d.replace(tzinfo=datetime.timezone.utc).timestamp() for d in naive],
                             horizon=2, model="regression")
    plus2 = datetime.timezone(datetime.timedelta(hours=2))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for ts, shift in (([d.replace(tzinfo=datetime.timezone.utc) for d in naive], 0.0),
                          ([d.replace(tzinfo=plus2) for d in naive], -7200.0),
                          ([pd.Timestamp(d, tz=plus2) for d in naive], -7200.0)):
            fc = chronotick.predict(y, ts, horizon=2, model="regression")
            np.testing.assert_array_equal(fc.times, ref.times + shift)
            np.testing.assert_array_equal(fc.mean, ref.mean)


def test_object_arrays_of_datetimes_are_times():
    # pandas keeps tz-aware datetimes with mixed UTC offsets (a DST change) as objects:
    # they were refused ("timestamps must hold real numbers, got dtype object")
    cet, cest = datetime.timezone(datetime.timedelta(hours=1)), datetime.timezone(datetime.timedelta(hours=2))
    utc = [datetime.datetime(2025, 10, 26, 0, 0, tzinfo=datetime.timezone.utc)
           + datetime.timedelta(seconds=600 * i) for i in range(20)]
    local = [d.astimezone(cest if i < 6 else cet) for i, d in enumerate(utc)]   # the clocks go back at 01:00 UTC
    y = 1e-4 * np.sin(np.arange(20.0))
    ref = chronotick.predict(y, [d.timestamp() for d in utc], horizon=2, model="regression")
    series = pd.Series(local)
    assert series.dtype == object
    for ts in (series, np.array(local, dtype=object)):
        fc = chronotick.predict(y, ts, horizon=2, model="regression")
        np.testing.assert_array_equal(fc.times, ref.times)
        np.testing.assert_array_equal(fc.mean, ref.mean)


def test_covariates_may_be_any_mapping():
    y, t = clock()
    temp = 25 + np.sin(np.arange(t.size) / 10)
    ref = chronotick.predict(y, t, horizon=2, model="regression", covariates={"temperature": temp})
    fc = chronotick.predict(y, t, horizon=2, model="regression",
                            covariates=types.MappingProxyType({"temperature": temp}))
    assert fc.model == "regression+temp"
    np.testing.assert_array_equal(fc.mean, ref.mean)
    plain = chronotick.predict(y, t, horizon=2, model="regression", covariates=types.MappingProxyType({}))
    assert plain.model == "regression"


def test_a_numpy_float_horizon_is_taken_as_a_python_float_is():
    import chronotick
    y = np.random.default_rng(0).normal(size=50) * 1e-3
    for h in (8.0, np.float32(8.0), np.float64(8.0)):
        assert chronotick.predict(y, horizon=h, model="fused").times.size == 8
    for h in (np.float64(8.5), np.float32("inf"), float("nan")):
        with pytest.raises(TypeError, match="horizon must be an integer number of steps"):
            chronotick.predict(y, horizon=h, model="fused")


@pytest.mark.parametrize("change, match", [
    ({"quantile_levels": [0.9, 0.5, 0.1]}, "strictly increasing"),
    ({"quantile_levels": [0.0, 0.5, 0.9]}, r"quantile_levels\[0\] = 0.0 is not in \(0, 1\)"),
    ({"quantiles": [[1.0, 2.0, 3.0]]}, r"quantiles must have shape \(4, 3\)"),
    ({"mean": [1.0]}, r"mean must have one value per time \(4\)"),
    ({"all_quantile_levels": [0.5, 0.1]}, "all_quantile_levels must be strictly increasing"),
])
def test_a_forecast_built_by_hand_checks_its_levels_and_shapes(change, match):
    """quantile()/interval() read the levels in order: unsorted levels had
    given silently wrong columns, a level of 0 a StatisticsError."""
    import chronotick
    from chronotick.forecast import Forecast
    d = chronotick.predict(np.random.default_rng(0).normal(size=50) * 1e-3, horizon=4, model="fused").to_dict()
    back = Forecast(**d)
    np.testing.assert_array_equal(back.quantiles, np.asarray(d["quantiles"]))
    d.update(change)
    with pytest.raises(ValueError, match=match):
        Forecast(**d)
