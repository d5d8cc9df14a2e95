"""Measurement weights from NTP round-trip delays (chronotick.uncertainty_from_delay,
cpp/models/delay_noise.h): found where a window's scatter follows the delay,
equal where it does not, and used the same way by predict and the backtest."""
import numpy as np
import pytest

import chronotick
from chronotick import sim
from chronotick.backtest import core_model, run_backtest
from chronotick.io import Trace


def heteroscedastic(n=300, follow=True, seed=5):
    rng = np.random.default_rng(seed)
    d = 0.020 + 0.040 * rng.random(n)                  # seconds
    scale = 0.5e-3 * (1 + (d - 0.020) / 0.010) if follow else np.full(n, 1e-3)
    return d, rng.laplace(0.0, scale)


def test_sigma_grows_with_the_delay_where_the_scatter_does():
    d, y = heteroscedastic()
    u = chronotick.uncertainty_from_delay(y, d)
    assert u.shape == y.shape and np.all(u > 0)
    order = np.argsort(d)
    assert np.all(np.diff(u[order]) >= 0)               # monotone in the delay
    assert u[order[-1]] > 3 * u[order[0]]
    # normal-consistent scale of the least delayed: near the true 0.5 ms * sqrt(2) (Laplace sd)
    assert 0.3e-3 < u[order[0]] < 1.2e-3


def test_equal_sigma_where_the_delay_says_nothing():
    d, y = heteroscedastic(follow=False)
    u = chronotick.uncertainty_from_delay(y, d)
    assert np.all(u == u[0]) and u[0] > 0


def test_the_delays_unit_does_not_matter():
    d, y = heteroscedastic()
    assert np.allclose(chronotick.uncertainty_from_delay(y, d), chronotick.uncertainty_from_delay(y, 1e3 * d),
                       rtol=1e-9, atol=0)


def test_nothing_to_fit_is_none():
    d, y = heteroscedastic(7)
    assert chronotick.uncertainty_from_delay(y, d) is None                     # fewer than 8
    assert chronotick.uncertainty_from_delay(y[:7].tolist() * 3, [0.03] * 21) is None   # equal delays
    assert chronotick.uncertainty_from_delay(np.ones(20), np.linspace(0.02, 0.05, 20)) is None   # no scatter


def test_predict_with_delay_is_predict_with_that_uncertainty():
    d, y = heteroscedastic()
    t = 1.7e9 + 100.0 * np.arange(y.size)
    u = chronotick.uncertainty_from_delay(y, d)
    for model in ("regression", "kalman", "fused"):
        a = chronotick.predict(y, t, horizon=4, model=model, delay=d)
        b = chronotick.predict(y, t, horizon=4, model=model, uncertainty=u)
        c = chronotick.predict(y, t, horizon=4, model=model)
        assert np.array_equal(a.quantiles, b.quantiles)
        assert not np.allclose(a.mean, c.mean, rtol=0, atol=1e-9)       # the weights were used


def test_missing_values_drop_their_delays():
    d, y = heteroscedastic()
    y_gap = y.copy()
    y_gap[[3, 50, 51]] = np.nan
    d_gap = d.copy()
    d_gap[[50, 51]] = np.nan                            # a missing value may have no delay
    keep = np.isfinite(y_gap)
    u = chronotick.uncertainty_from_delay(y_gap, d_gap)
    assert np.array_equal(u, chronotick.uncertainty_from_delay(y[keep], d[keep]))
    t = np.arange(y.size, dtype=float)
    a = chronotick.predict(y_gap, t, horizon=2, model="regression", delay=d_gap)
    b = chronotick.predict(y[keep], t[keep], horizon=2, model="regression", uncertainty=u)
    assert np.array_equal(a.mean, b.mean)
    # passed with all the values, NaN included: the error says why the lengths differ (was: the
    # bare length mismatch, where the docstring said predict(delay=d) equals passing u)
    with pytest.raises(ValueError, match=r"uncertainty has 297 entries, values have 300 \(297 of them measured, "
                                         r"not NaN: uncertainty_from_delay returns one entry per measured value"):
        chronotick.predict(y_gap, t, horizon=2, model="regression", uncertainty=u)


@pytest.mark.parametrize("delay, err, pattern", [
    (np.full(299, 0.03), ValueError, r"delay has 299 entries, values has 300"),
    ("fast", TypeError, r"delay must be a 1-D sequence of numbers"),
    (np.where(np.arange(300) == 7, -0.01, 0.03), ValueError, r"delay\[7\] = -0.01 where values\[7\] is measured"),
    (np.where(np.arange(300) == 2, np.inf, 0.03), ValueError, r"delay\[2\] = inf is not finite"),
])
def test_bad_delays_are_named(delay, err, pattern):
    _, y = heteroscedastic()
    with pytest.raises(err, match=pattern):
        chronotick.uncertainty_from_delay(y, delay)
    with pytest.raises(err, match=pattern):
        chronotick.predict(y, horizon=1, delay=delay)


def test_a_measurement_without_its_delay_turns_the_delay_weights_off_as_in_the_engine():
    # A loaded trace's missing delay cell is NaN (Trace: "NaN where a measurement has none"); the
    # README passes tr.delay to predict(delay=). predict had refused it ("delay[9] = nan ... need a
    # delay >= 0") where the Engine and the backtest take the window without delay weights (an
    # audit, 2026-12-06). Now the same, said in fc.note.
    d, y = heteroscedastic()
    d = np.where(np.arange(y.size) == 9, np.nan, d)
    assert chronotick.uncertainty_from_delay(y, d) is None
    fc = chronotick.predict(y, horizon=8, model="fused", delay=d)
    plain = chronotick.predict(y, horizon=8, model="fused")
    assert np.array_equal(fc.mean, plain.mean) and np.array_equal(fc.quantiles, plain.quantiles)
    assert "delay weights off: delay[9] is NaN (not recorded) where values[9] is measured (1 such)" in fc.note
    with chronotick.Engine({"short_term": {"models": ["fused"]}}) as eng:
        for i, (a, b) in enumerate(zip(y, d)):
            eng.observe(float(i), float(a), delay=None if np.isnan(b) else float(b))
        np.testing.assert_allclose(eng.predict_short_term().quantiles, fc.quantiles, rtol=0, atol=1e-12)
    # a NaN delay where the value is missing too changes nothing (as before)
    y2 = np.where(np.arange(y.size) == 9, np.nan, y)
    both = chronotick.predict(y2, horizon=8, model="fused", delay=d)
    assert "delay weights off" not in both.note


def test_uncertainty_and_delay_together_are_refused():
    d, y = heteroscedastic()
    with pytest.raises(ValueError, match="uncertainty or delay, not both"):
        chronotick.predict(y, horizon=1, uncertainty=np.full(y.size, 1e-3), delay=d)


def test_the_backtest_weighs_by_delay_and_it_helps_on_a_simulated_ntp_clock():
    # chronotick.sim's NTP measurements: error from queueing asymmetry, which
    # also lengthens the delay. The window's own fit finds it; the fused
    # classical forecast of the next measurement gets better than without it.
    r = sim.simulate(preset="disciplined", scenario="steady", duration_s=6 * 3600.0, poll_s=100.0, seed=77)
    tr = r.trace
    tr.uncertainty = None
    with_d = run_backtest(tr, {"fused": core_model("fused")}, include_prototype=False).table()
    without = run_backtest(tr, {"fused": core_model("fused")}, include_prototype=False,
                           delay_weights=False).table()
    no_delay = Trace(times=tr.times, offsets=tr.offsets, source="no delays")
    plain = run_backtest(no_delay, {"fused": core_model("fused")}, include_prototype=False).table()
    assert without["fused"]["mae"] == plain["fused"]["mae"]           # off = as if there were no delays
    assert with_d["fused"]["mae"] < 0.97 * without["fused"]["mae"]
    assert 0.7 <= with_d["fused"]["coverage"] <= 0.9


def test_the_backtest_gives_forecasters_the_delay_uncertainty_of_their_own_window():
    d, y = heteroscedastic(60)
    t = 1.7e9 + 100.0 * np.arange(60)
    tr = Trace(times=t, offsets=y, delay=d, source="spy")
    seen = []

    def spy(tt, yy, u, target_t, level):
        seen.append((yy.size, u))
        return yy[-1], yy[-1] - 1, yy[-1] + 1

    run_backtest(tr, {"spy": spy}, include_baselines=False, include_prototype=False, warmup=5, max_history=30)
    assert [size for size, _ in seen] == [min(k, 30) for k in range(5, 60)]
    assert all(u is None for size, u in seen if size < 8)            # too few to fit
    assert all(u.shape == (size,) for size, u in seen if size >= 8)
    # the last target's window: the 30 measurements 29 .. 58 before it
    assert np.array_equal(seen[-1][1], chronotick.uncertainty_from_delay(y[29:59], d[29:59]))


def test_the_engine_weighs_by_the_delays_of_its_window():
    d, y = heteroscedastic()
    t = 1.7e9 + 100.0 * np.arange(y.size)
    eng = chronotick.Engine({"short_term": {"models": ["regression"], "horizon": 2}})
    ref = chronotick.Engine({"short_term": {"models": ["regression"], "horizon": 2}})
    for k in range(y.size):
        eng.observe(t[k], y[k], delay=d[k])
    ref.observe_many(t, y, uncertainty=chronotick.uncertainty_from_delay(y, d))
    assert eng.stats()["delay_weights"] is None            # no forecast yet
    a, b = eng.predict_short_term(), ref.predict_short_term()
    assert np.array_equal(a.quantiles, b.quantiles)
    fit = eng.stats()["delay_weights"]
    assert fit["weighted"] and fit["k"] > 0 and fit["measurements"] == y.size
    assert ref.stats()["delay_weights"] is None               # given uncertainties, no delays
    many = chronotick.Engine({"short_term": {"models": ["regression"], "horizon": 2}})
    many.observe_many(t, y, delay=d)
    assert np.array_equal(many.predict_short_term().quantiles, a.quantiles)
    # one measurement without a delay: the window is weighed by the uncertainties (none here)
    eng.observe(t[-1] + 100.0, y[-1])
    plain = chronotick.Engine({"short_term": {"models": ["regression"], "horizon": 2}})
    plain.observe_many(np.append(t, t[-1] + 100.0), np.append(y, y[-1]))
    assert np.array_equal(eng.predict_short_term().quantiles, plain.predict_short_term().quantiles)


@pytest.mark.parametrize("call, pattern", [
    (lambda e: e.observe(1.0, 0.0, delay=-0.01), r"delay must be >= 0, got -0.01"),
    (lambda e: e.observe(1.0, 0.0, delay=float("nan")), r"delay"),
    (lambda e: e.observe_many([1.0, 2.0], [0.0, 0.0], delay=[0.01]), r"delay has 1 entries, t has 2"),
    (lambda e: e.observe_many([1.0, 2.0], [0.0, 0.0], delay=[0.01, -1.0]), r"delay\[1\] = -1.0 is negative"),
])
def test_the_engine_refuses_bad_delays_and_keeps_nothing(call, pattern):
    eng = chronotick.Engine({"short_term": {"models": ["regression"]}})
    with pytest.raises(ValueError, match=pattern):
        call(eng)
    assert eng.stats()["buffer"]["total_pushed"] == 0


def test_the_engine_weighs_by_delay_while_measurements_stream_in():
    # a producer thread observes with delays while consumers forecast: each forecast's
    # weights come from the delays of exactly its snapshot's measurements
    import threading
    d, y = heteroscedastic(600)
    t = 1.7e9 + 100.0 * np.arange(y.size)
    eng = chronotick.Engine({"short_term": {"models": ["regression"], "horizon": 1}, "engine": {"history": 128}})
    eng.observe_many(t[:50], y[:50], delay=d[:50])
    errors, seen = [], []

    def produce():
        for i in range(50, y.size):
            eng.observe(t[i], y[i], delay=d[i])

    def consume():
        try:
            for _ in range(40):
                fc = eng.predict_short_term()
                assert np.all(np.isfinite(fc.quantiles))
                seen.append(fc)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=produce)] + [threading.Thread(target=consume) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors and len(seen) == 80
    # once quiet, the forecast is the one from the last 128 measurements weighed by their delays
    ref = chronotick.predict(y[-128:], t[-128:], horizon=1, model="regression", delay=d[-128:])
    assert np.array_equal(eng.predict_short_term().quantiles, ref.quantiles)


def test_the_backtest_prefers_delays_to_a_traces_uncertainty_as_the_engine_does():
    d, y = heteroscedastic(40)
    t = 1.7e9 + 100.0 * np.arange(40)
    bound = d / 2 + 1e-3                       # an NTP trace's uncertainty column: the bound
    tr = Trace(times=t, offsets=y, delay=d, uncertainty=bound, source="both")
    got = {}

    def spy(tt, yy, u, target_t, level):
        got[yy.size] = u
        return yy[-1], yy[-1] - 1, yy[-1] + 1

    for weights in (True, False):
        got.clear()
        run_backtest(tr, {"spy": spy}, include_baselines=False, include_prototype=False, warmup=39,
                     delay_weights=weights)
        want = chronotick.uncertainty_from_delay(y[:39], d[:39]) if weights else bound[:39]
        assert np.array_equal(got[39], want)
