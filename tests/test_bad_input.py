"""Issue 2 §4: each bad input gets ValueError/TypeError naming the argument
and the offending index or value, and leaves the engine's state untouched."""
import numpy as np
import pytest

import chronotick

T = 1.7e9 + 64.0 * np.arange(20)
Y = np.linspace(0, 1e-3, 20)


@pytest.mark.parametrize("kwargs, exc, match", [
    (dict(values=np.r_[Y[:5], np.inf, Y[6:]]), ValueError, r"values\[5\] = inf is not finite"),
    (dict(values=np.full(20, np.nan)), ValueError, "values are all NaN"),
    (dict(timestamps=np.r_[T[:7], T[5], T[8:]]), ValueError, r"strictly increasing: timestamps\[7\]"),
    (dict(timestamps=np.r_[T[:3], np.nan, T[4:]]), ValueError, r"timestamps\[3\] = nan is not finite"),
    (dict(timestamps=T[:19]), ValueError, "timestamps has 19 entries, values has 20"),
    (dict(horizon=0), ValueError, "horizon must be > 0 steps, got 0"),
    (dict(horizon=-3), ValueError, "horizon must be > 0 steps, got -3"),
    (dict(horizon=10**7), ValueError, "absurd"),
    (dict(horizon=2.5), TypeError, "horizon must be an integer"),
    (dict(horizon_s=-60.0), ValueError, "horizon_s must be finite and > 0"),
    (dict(step_s=0.0), ValueError, "step_s must be finite and > 0"),
    (dict(values=np.zeros((20, 2))), ValueError, r"values must be 1-D, got shape \(20, 2\)"),
    (dict(values=np.array(["a"] * 20)), TypeError, "values must hold real numbers"),
    (dict(values="0.1,0.2"), TypeError, "values must be a 1-D sequence"),
    (dict(uncertainty=np.r_[np.full(4, 1e-3), -1e-3, np.full(15, 1e-3)]), ValueError, r"uncertainty\[4\] = -0.001 is negative"),
    (dict(model="nope"), ValueError, "unknown model 'nope'; valid names: auto, fused, hold, robust, regression, kalman"),
    (dict(model=3), TypeError, "model must be a string"),
    (dict(quantile_levels=(0.1, 1.5)), ValueError, r"quantile_levels\[1\] = 1.5 is not in \(0, 1\)"),
    (dict(quantile_levels=(0.9, 0.1)), ValueError, "strictly increasing"),
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
    ((T[10], 0.0), {"uncertainty": -1e-3}, ValueError, "uncertainty must be >= 0, got -0.001"),
    ((T[10], "x"), {}, TypeError, "offset must be a number"),
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
    assert engine._buf.total_pushed == before


def test_engine_bad_levels(engine):
    with pytest.raises(ValueError, match=r"quantile_levels\[0\] = 0.0 is not in \(0, 1\)"):
        engine.predict_short_term(quantile_levels=(0.0, 0.5))


def test_engine_without_measurements():
    with chronotick.Engine() as eng, pytest.raises(ValueError, match="no measurements observed yet"):
        eng.predict_short_term()
