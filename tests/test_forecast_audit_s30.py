"""Forecast / predict fixes from the audit of 2026-12-05 (session 30)."""
import numpy as np
import pytest

import chronotick
from chronotick import Forecast


def _fc(**kw):
    rng = np.random.default_rng(0)
    t = 1.7e9 + 64.0 * np.arange(80)
    y = 0.001 + 1e-4 * rng.standard_normal(80)
    return chronotick.predict(y, t, horizon=4, model="fused", **kw)


def test_forecast_arrays_are_read_only_and_answers_stay_in_one_unit():
    # interval()/quantile() read the computed levels, at() the mean: an in-place unit conversion
    # of the public arrays had mixed milliseconds and seconds in one answer
    fc = _fc()
    for name in ("times", "mean", "quantiles", "std"):
        with pytest.raises(ValueError, match="read-only"):
            getattr(fc, name)[0] = 1.0
    with pytest.raises(ValueError, match="read-only"):
        next(iter(fc.weights.values()))[0] = 2.0
    ms = np.array(fc.mean) * 1e3                    # a copy converts
    assert ms[0] == fc.mean[0] * 1e3
    # a caller's own arrays stay the caller's to change
    mean = np.array(fc.mean)
    mine = Forecast(fc.times, mean, fc.quantiles, fc.quantile_levels, fc.std, fc.model)
    mean[0] = 5.0
    assert mean[0] == 5.0 and not mine.mean.flags.writeable


def test_weights_are_float_arrays_after_a_round_trip_and_checked():
    fc = _fc()
    back = Forecast(**fc.to_dict())
    for k, w in back.weights.items():
        assert isinstance(w, np.ndarray) and w.dtype == np.float64 and w.shape == fc.times.shape
        np.testing.assert_array_equal(w, fc.weights[k])
    total = sum(back.weights.values())
    np.testing.assert_allclose(total, 1.0)
    d = fc.to_dict()
    d["weights"] = {"kalman": [1.0, 2.0]}
    with pytest.raises(ValueError, match=r"weights\['kalman'\] must be 4 finite numbers"):
        Forecast(**d)


@pytest.mark.parametrize("kw, name", [({"step_s": np.timedelta64(60, "s")}, "step_s"),
                                      ({"horizon_s": np.timedelta64(300, "s")}, "horizon_s"),
                                      ({"horizon": np.timedelta64(5, "ns")}, "horizon")])
def test_numpy_time_types_are_refused_by_name(kw, name):
    # np.timedelta64 counts as an integer to `numbers`: 5 ns had been taken as 5 steps, 60 s was a
    # TypeError naming no argument
    rng = np.random.default_rng(0)
    t = 1.7e9 + 64.0 * np.arange(40)
    y = 1e-4 * rng.standard_normal(40)
    kw = dict(kw)
    if name != "horizon":
        kw.setdefault("horizon", None)
    with pytest.raises(TypeError, match=rf"^{name} must be .* got numpy timedelta64"):
        chronotick.predict(y, t, model="fused", **{k: v for k, v in kw.items() if v is not None})
