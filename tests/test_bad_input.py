"""Issue 2 §4: each bad input gets ValueError/TypeError naming the argument
and the offending index or value, and leaves the engine's state untouched."""
import numpy as np
import pytest

import chronotick

T = 1.7e9 + 64.0 * np.arange(20)
Y = np.linspace(0, 1e-3, 20)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(values=np.r_[Y[:5], np.inf, Y[6:]]), ValueError, r"values\[5\] = inf is not finite"),
    (dict(values=np.r_[Y[:2], -np.inf, Y[3:]]), ValueError, r"values\[2\] = -inf is not finite"),
    (dict(timestamps=np.r_[T[:4], np.inf, T[5:]]), ValueError, r"timestamps\[4\] = inf is not finite"),
    (dict(timestamps=T.reshape(4, 5)), ValueError, r"timestamps must be 1-D, got shape \(4, 5\)"),
    (dict(timestamps=[str(v) for v in T]), TypeError, r"timestamps must hold real numbers.*timestamps\[0\] = '"),
    (dict(values=[*Y[:3], None, *Y[4:]]), TypeError, r"values must hold real numbers, got dtype object \(values\[3\] = None\)"),
    (dict(values=[*Y[:6], "x", *Y[7:]]), TypeError, r"\(values\[6\] = 'x'\)"),
    (dict(values=np.array([object()] * 20)), TypeError, r"values must hold real numbers, got dtype object \(values\[0\]"),
    (dict(values=[[1.0, 2.0], [3.0]]), TypeError, "ragged nested sequence"),
    (dict(values=np.zeros(20, dtype=bool)), TypeError, "values must hold real numbers, got dtype bool"),
    (dict(values=None), TypeError, "values must be a 1-D sequence of numbers, got None"),
    (dict(values=np.full(20, np.nan)), ValueError, "values are all NaN"),
    (dict(timestamps=np.r_[T[:7], T[5], T[8:]]), ValueError, r"strictly increasing: timestamps\[7\]"),
    (dict(timestamps=np.r_[T[:3], np.nan, T[4:]]), ValueError, r"timestamps\[3\] = nan is not finite"),
    (dict(timestamps=T[:19]), ValueError, "timestamps has 19 entries, values has 20"),
    (dict(horizon=0), ValueError, "horizon must be > 0 steps, got 0"),
    (dict(horizon=-3), ValueError, "horizon must be > 0 steps, got -3"),
    (dict(horizon=10**7), ValueError, "absurd"),
    (dict(horizon=2.5), TypeError, "horizon must be an integer"),
    (dict(horizon="8"), TypeError, "horizon must be an integer number of steps, got str '8'"),
    (dict(horizon=None, horizon_s=1e12, step_s=1.0), ValueError, r"horizon_s / step_s = 1000000000000 steps is absurd"),
    (dict(horizon=None, horizon_s=float("inf")), ValueError, "horizon_s must be finite and > 0, got inf"),
    (dict(step_s=float("nan")), ValueError, "step_s must be finite and > 0, got nan"),
    (dict(horizon_s=-60.0), ValueError, "horizon_s must be finite and > 0"),
    (dict(step_s=0.0), ValueError, "step_s must be finite and > 0"),
    (dict(values=np.zeros((20, 2))), ValueError, r"values must be 1-D, got shape \(20, 2\)"),
    (dict(values=np.array(["a"] * 20)), TypeError, "values must hold real numbers"),
    (dict(values="0.1,0.2"), TypeError, "values must be a 1-D sequence"),
    (dict(uncertainty=np.r_[np.full(4, 1e-3), -1e-3, np.full(15, 1e-3)]), ValueError, r"uncertainty\[4\] = -0.001 is negative"),
    (dict(uncertainty=np.full(19, 1e-3)), ValueError, "uncertainty has 19 entries, values have 20"),
    (dict(uncertainty=np.r_[np.inf, np.full(19, 1e-3)]), ValueError, r"uncertainty\[0\] = inf is not finite"),
    (dict(covariates=[1.0] * 20), TypeError, "covariates must be a dict"),
    (dict(covariates={"pressure": np.ones(20)}), ValueError, "covariates: unknown name 'pressure'"),
    (dict(covariates={"temperature": np.ones(19)}, model="regression"), ValueError,
     r"covariates\['temperature'\] has 19 entries, values has 20"),
    (dict(model="nope"), ValueError, "unknown model 'nope'; valid names: auto, fused, hold, robust, regression, kalman"),
    (dict(model=3), TypeError, "model must be a string"),
    (dict(quantile_levels=(0.1, 1.5)), ValueError, r"quantile_levels\[1\] = 1.5 is not in \(0, 1\)"),
    (dict(quantile_levels=(0.9, 0.1)), ValueError, "strictly increasing"),
    (dict(quantile_levels=()), ValueError, "quantile_levels is empty"),
    (dict(quantile_levels=(0.1, float("nan"))), ValueError, r"quantile_levels\[1\] = nan is not finite"),
])
def test_predict_rejects(kwargs, exc, match):
    args = dict(values=Y, timestamps=T, horizon=4)
    args.update(kwargs)
    values = args.pop("values")
    with pytest.raises(exc, match=match):
        chronotick.predict(values, **args)


def test_empty_values():
    with pytest.raises(ValueError, match="values is empty"):
        chronotick.predict([])


def test_forecast_methods_reject_bad_arguments():
    fc = chronotick.predict(Y, T, horizon=4)
    for level in (0.0, 1.0, -0.5, 1.5, float("nan"), "0.8", True):
        with pytest.raises(ValueError, match="level must be in \\(0, 1\\)"):
            fc.interval(level)
    with pytest.raises(ValueError, match=rf"t = {float(T[-1])!r} is outside the forecast's range \({float(T[-1])!r}, "):
        fc.at(T[-1])
    with pytest.raises(ValueError, match="outside the forecast's range"):
        fc.at(fc.times[-1] + 1.0)
    with pytest.raises(ValueError, match="t must be a finite time in seconds, got nan"):
        fc.at(float("nan"))
    with pytest.raises(ValueError, match="t must be a finite time"):
        fc.at("soon")


@pytest.fixture
def engine():
    with chronotick.Engine({"engine": {"buffer_capacity": 64, "history": 32}}) as eng:
        for t, y in zip(T[:10], Y[:10]):
            eng.observe(t, y, uncertainty=1e-4)
        yield eng


@pytest.mark.parametrize("args, kwargs, exc, match", [
    ((T[10], np.inf), {}, ValueError, "offset must be finite, got inf"),
    ((T[10], np.nan), {}, ValueError, "offset must be finite, got nan"),
    ((np.nan, 0.0), {}, ValueError, "t must be finite, got nan"),
    ((T[5], 0.0), {}, ValueError, "is not after the previous measurement"),
    ((T[9], 0.0), {}, ValueError, "is not after the previous measurement"),
    ((T[10], 0.0), {"uncertainty": -1e-3}, ValueError, r"uncertainty must be > 0 \(or None for unknown\), got -0.001"),
    ((T[10], "x"), {}, TypeError, "offset must be a number"),
    (("x", 0.0), {}, TypeError, "t must be a number"),
    ((T[10], -np.inf), {}, ValueError, "offset must be finite, got -inf"),
    ((np.inf, 0.0), {}, ValueError, "t must be finite, got inf"),
    ((T[10], 0.0), {"uncertainty": np.nan}, ValueError, "uncertainty must be finite, got nan"),
    ((T[10], 0.0), {"uncertainty": "small"}, TypeError, "uncertainty must be a number"),
    ((T[10], np.array([0.0, 1.0])), {}, TypeError, "offset must be a number"),
    ((T[10], 0.0), {"temperature": 20.0}, ValueError, "covariates .* differ"),
])
def test_engine_rejects_and_stays_untouched(engine, args, kwargs, exc, match):
    before = (engine.stats()["counts"]["observations"], len(engine._buf), engine._buf.total_pushed)
    fc_before = engine.predict_short_term().mean
    with pytest.raises(exc, match=match):
        engine.observe(*args, **kwargs)
    after = (engine.stats()["counts"]["observations"], len(engine._buf), engine._buf.total_pushed)
    assert after == before
    np.testing.assert_array_equal(engine.predict_short_term().mean, fc_before)


def test_engine_observe_many_rejects_atomically(engine):
    before = engine._buf.total_pushed
    with pytest.raises(ValueError, match=r"offsets\[2\] = inf is not finite"):
        engine.observe_many(T[10:15], np.r_[0.0, 0.0, np.inf, 0.0, 0.0])
    with pytest.raises(ValueError, match="strictly increasing"):
        engine.observe_many(T[[10, 12, 11]], np.zeros(3))
    with pytest.raises(ValueError, match=r"uncertainty\[0\] = -1.0 is negative"):
        engine.observe_many(T[10:12], np.zeros(2), uncertainty=[-1.0, 0.0])
    with pytest.raises(ValueError, match="offsets has 3 entries, t has 2"):
        engine.observe_many(T[10:12], np.zeros(3))
    with pytest.raises(ValueError, match=r"t\[0\] = .* is not after the previous measurement"):
        engine.observe_many(T[8:12], np.zeros(4))
    with pytest.raises(ValueError, match=r"offsets must be 1-D, got shape \(2, 1\)"):
        engine.observe_many(T[10:12], np.zeros((2, 1)))
    with pytest.raises(TypeError, match=r"t must hold real numbers.*t\[1\] = None"):
        engine.observe_many([T[10], None], np.zeros(2))
    assert engine._buf.total_pushed == before
    assert engine.stats()["counts"]["observations"] == 10


def test_engine_bad_levels(engine):
    with pytest.raises(ValueError, match=r"quantile_levels\[0\] = 0.0 is not in \(0, 1\)"):
        engine.predict_short_term(quantile_levels=(0.0, 0.5))
    assert "predictions_short_term" not in engine.stats()["counts"]


def test_engine_covariate_must_be_finite():
    with chronotick.Engine() as eng:
        eng.observe(T[0], Y[0], temperature=20.0)
        with pytest.raises(ValueError, match="temperature must be finite, got nan"):
            eng.observe(T[1], Y[1], temperature=float("nan"))
        with pytest.raises(ValueError, match=r"covariates \['humidity'\] differ"):
            eng.observe(T[1], Y[1], humidity=0.5)
        assert eng.stats()["counts"]["observations"] == 1 and len(eng._buf) == 1


def test_engine_without_measurements():
    with chronotick.Engine() as eng, pytest.raises(ValueError, match="no measurements observed yet"):
        eng.predict_short_term()


def test_integers_beyond_float_range_are_named():
    # Found by an audit (2026-12-05): a bare OverflowError, or "dtype object" for 2**70
    t = T[:10]
    with pytest.raises(ValueError, match="horizon_s must be finite and > 0, got an integer of 401 digits"):
        chronotick.predict(np.zeros(10), t, horizon_s=10**400)
    with pytest.raises(ValueError, match="step_s must be finite and > 0, got an integer of 401 digits"):
        chronotick.predict(np.zeros(10), t, step_s=10**400)
    with pytest.raises(ValueError, match=r"values\[0\] is an integer of 401 digits, beyond float's range"):
        chronotick.predict([10**400] * 10, t, model="fused")
    fc = chronotick.predict([2**70] * 10, t, model="fused")      # beyond int64, a float all the same
    assert fc.mean[0] == float(2**70)
