"""Probe of the backtest API, the public ConformalScaler and the Trace type:
metrics recomputed by hand, leakage through the arrays a forecaster is
given, misaligned or non-finite trace columns, and the scaler's shapes and
level handling."""
import math
from statistics import NormalDist

import numpy as np
import pytest

from chronotick.backtest import BacktestResult, ModelResult, run_backtest, summarize
from chronotick.io import Trace
from chronotick.models.calibration import ConformalScaler

LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]


def synthetic(n=60, **kw):
    t = 1.7e9 + 100.0 * np.arange(n)
    return Trace(times=t, offsets=1e-3 * np.sin(np.arange(n) / 7.0), source="synthetic", **kw)


# ---- metrics, recomputed independently ----------------------------------------------------------

def test_metrics_match_a_hand_computation_with_missing_forecasts_and_endpoints():
    truth = np.array([0.0, 1.0, 2.0, 3.0, 4.0, 5.0])
    mean = np.array([0.5, np.nan, 2.0, 1.0, 4.5, 5.0])
    lower = np.array([0.0, 0.0, 2.5, 0.0, np.nan, 5.0])     # target 0 on the lower end, 5 on both
    upper = np.array([1.0, 2.0, 3.0, 2.0, 5.0, 5.0])
    m = ModelResult("x", mean, lower, upper).metrics(truth, 0.8)
    ae = np.array([0.5, 0.0, 2.0, 0.5, 0.0])                # targets 0, 2, 3, 4, 5 (1 has no mean)
    assert m["n"] == 5
    assert m["mae"] == pytest.approx(ae.mean())
    assert m["median_ae"] == pytest.approx(0.5)
    assert m["max"] == pytest.approx(2.0)
    assert m["p95"] == pytest.approx(np.quantile(ae, 0.95))
    # intervals: targets 0, 2, 3, 5 (1 has no mean, 4 no lower end); endpoints count as covered
    assert m["coverage"] == pytest.approx(np.mean([True, False, False, True]))
    assert m["width"] == pytest.approx(np.median([1.0, 0.5, 2.0, 0.0]))
    a = 0.1

    def pin(tau, y, q):
        return tau * (y - q) if y >= q else (1 - tau) * (q - y)
    rows = [(0.0, 0.0, 1.0), (2.0, 2.5, 3.0), (3.0, 0.0, 2.0), (5.0, 5.0, 5.0)]
    expect = np.mean([(pin(a, y, lo) + pin(1 - a, y, hi)) / 2 for y, lo, hi in rows])
    assert m["pinball"] == pytest.approx(expect)


def test_summary_is_the_mean_over_traces_of_each_metric():
    a = BacktestResult("a", 0.8, 1, np.arange(2.0), np.array([0.0, 0.0]))
    a.results["m"] = ModelResult("m", np.array([1.0, 3.0]), np.array([-1.0, -1.0]), np.array([1.0, 1.0]))
    b = BacktestResult("b", 0.8, 1, np.arange(3.0), np.array([0.0, 0.0, 0.0]))
    b.results["m"] = ModelResult("m", np.array([1.0, 1.0, 1.0]), np.array([-2.0] * 3), np.array([2.0] * 3))
    s = summarize([a, b])["m"]
    assert s["mae"] == pytest.approx((2.0 + 1.0) / 2)            # mean of the per-trace MAEs
    assert s["coverage"] == pytest.approx((1.0 + 1.0) / 2)
    assert s["width"] == pytest.approx((2.0 + 4.0) / 2)
    assert s["n"] == pytest.approx(2.5)


def test_summary_keeps_a_model_that_only_later_traces_score():
    # the recorded prototype exists in some files only: it was dropped from the summary
    # whenever the first trace lacked it
    plain = run_backtest(synthetic(30), {})
    tr = synthetic(40)
    tr.extra["prototype_offset"] = tr.offsets + 1e-4
    with_proto = run_backtest(tr, {})
    s = summarize([plain, with_proto])
    assert "prototype (recorded)" in s
    assert s["prototype (recorded)"]["mae"] == pytest.approx(1e-4)
    assert s["median-5"]["mae"] == pytest.approx(np.mean([plain.table()["median-5"]["mae"],
                                                          with_proto.table()["median-5"]["mae"]]))
    with pytest.raises(ValueError, match="at least one"):
        summarize([])


# ---- leakage through the arrays handed to a forecaster ------------------------------------------

def test_a_forecaster_cannot_reach_later_measurements_through_its_arrays():
    tr = synthetic()
    shared = []

    def spy(t, y, u, target_t, level):
        shared.append(np.shares_memory(y, tr.offsets) or np.shares_memory(t, tr.times))
        base = y.base if y.base is not None else y       # a view's base holds the whole trace
        assert base.size == y.size, "the history's buffer reaches beyond the history"
        return y[-1], np.nan, np.nan

    run_backtest(tr, {"spy": spy}, include_baselines=False)
    assert shared and not any(shared)


def test_a_forecaster_changing_its_input_changes_neither_the_truth_nor_the_others():
    tr = synthetic()
    before = tr.offsets.copy()

    def centring(t, y, u, target_t, level):     # centres its input in place
        y -= y.mean()
        t -= t[0]
        return 0.0, np.nan, np.nan

    ref = run_backtest(synthetic(), {}).table()
    r = run_backtest(tr, {"centring": centring})
    np.testing.assert_array_equal(tr.offsets, before)
    np.testing.assert_array_equal(r.truth, before[10:])
    assert r.table()["median-5"] == ref["median-5"]
    assert r.table()["hold-last"] == ref["hold-last"]


# ---- arguments and trace columns ----------------------------------------------------------------

@pytest.mark.parametrize("kwargs, pattern", [
    ({"warmup": 10.0}, r"warmup must be a non-negative integer .* got 10\.0"),
    ({"warmup": -5}, r"warmup must be a non-negative integer .* got -5"),
    ({"warmup": True}, r"warmup must be a non-negative integer .* got True"),
    ({"level": "0.8"}, r"level must be in \(0, 1\), got '0.8'"),
])
def test_bad_arguments_are_named(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        run_backtest(synthetic(), {}, **kwargs)


def test_warmup_zero_is_the_documented_max_of_warmup_and_horizon():
    assert run_backtest(synthetic(), {}, warmup=0).table()["median-5"]["n"] == 59
    assert run_backtest(synthetic(), {}, warmup=0, horizon=3).truth.size == 57


@pytest.mark.parametrize("size", [40, 80])
def test_a_misaligned_recorded_prediction_is_refused_not_sliced(size):
    tr = synthetic()
    tr.extra["prototype_offset"] = np.zeros(size)       # set after the Trace was made
    with pytest.raises(ValueError, match=rf"prototype_offset'\] has shape \({size},\), the trace has 60"):
        run_backtest(tr, {})
    run_backtest(tr, {}, include_prototype=False)         # not used: not checked


def test_a_negative_delay_is_named_in_trace_terms_before_any_forecast():
    d = np.full(200, 0.01)
    tr = synthetic(200, delay=d)
    tr.delay[150] = -0.002            # set after the Trace was made (the Trace refuses it)
    calls = []

    def spy(t, y, u, target_t, level):
        calls.append(1)
        return y[-1], np.nan, np.nan

    # it used to fail part-way, naming the index inside the forecaster's window (delay[19])
    with pytest.raises(ValueError, match=r"delay\[150\] = -0\.002 at t = .* must be >= 0 .* delay_weights=False"):
        run_backtest(tr, {"spy": spy}, max_history=20)
    assert not calls
    assert run_backtest(tr, {"spy": spy}, max_history=20, delay_weights=False).table()["spy"]["n"] == 190
    tr.uncertainty = np.full(200, 1e-3)
    tr.uncertainty[120] = -1e-3
    with pytest.raises(ValueError, match=r"uncertainty\[120\] = -0\.001 at t = .* must be >= 0"):
        run_backtest(tr, {"spy": spy}, max_history=20, delay_weights=False)


def test_format_refuses_an_unknown_unit_and_dashes_a_model_that_never_forecast():
    r = run_backtest(synthetic(30), {"never": lambda t, y, u, tt, lv: (np.nan, np.nan, np.nan)})
    text = r.format("us")
    assert "nan" not in text
    row = [line for line in text.splitlines() if line.startswith("never")][0]
    assert row.split()[1:] == ["0"] + ["–"] * 7
    with pytest.raises(ValueError, match="unit must be one of .* got 'ns'"):
        r.format("ns")


@pytest.mark.parametrize("kwargs, pattern", [
    (dict(times=[0.0, 1.0, np.inf], offsets=[0.0, 0.0, 0.0]), r"times\[2\] = inf is not finite"),
    (dict(times=[0.0, 1.0, 2.0], offsets=[0.0, np.nan, 0.0]), r"offsets\[1\] = nan is not finite"),
    (dict(times=np.arange(3.0)[:, None], offsets=[0.0, 0.0, 0.0]), r"times must be 1-D, got shape \(3, 1\)"),
    (dict(times=[0.0, 1.0], offsets=[0.0, 0.0], extra={"p": [1.0]}), r"extra\['p'\] has shape \(1,\)"),
    (dict(times=[0.0, 1.0], offsets=[0.0, 0.0], delay=[0.01, -0.01]), r"delay\[1\] = -0.01 in probe.csv: .* >= 0"),
    (dict(times=[0.0, 1.0], offsets=[0.0, 0.0], uncertainty=[np.inf, 0.0]), r"uncertainty\[0\] = inf in probe.csv"),
    (dict(times=[0.0, 1.0], offsets=[0.0, 0.0], covariates={"temp": np.zeros(3)}),
     r"covariates\['temp'\] has shape \(3,\)"),
])
def test_trace_refuses_non_finite_and_misaligned_columns(kwargs, pattern):
    with pytest.raises(ValueError, match=pattern):
        Trace(source="probe.csv", **kwargs)


def test_trace_keeps_nan_delays_and_aligned_columns():
    tr = Trace(times=[0.0, 1.0], offsets=[0.0, 1e-3], delay=[np.nan, 0.01], extra={"p": [0.0, 1.0]},
               covariates={"temp": (20.0, 21.0)})
    assert isinstance(tr.extra["p"], np.ndarray) and isinstance(tr.covariates["temp"], np.ndarray)
    assert np.isnan(tr.delay[0])


# ---- ConformalScaler ----------------------------------------------------------------------------

def test_scaler_refuses_quantiles_laid_out_one_row_per_level():
    cs = ConformalScaler([0.1, 0.5, 0.9], min_errors=1)
    q_by_level = np.array([[-1.0, -2.0], [0.0, 0.0], [1.0, 2.0]])     # [K, n], not [n, K]
    with pytest.raises(ValueError, match=r"q must have shape \(2, 3\).* got shape \(3, 2\)"):
        cs.add([0.0, 1.0], q_by_level)
    with pytest.raises(ValueError, match=r"got shape \(6,\)"):
        cs.add([0.0, 1.0], q_by_level.ravel())
    assert len(cs) == 0
    cs.add([0.0, 1.0], q_by_level.T)                   # the documented layouts still work
    cs.add(0.5, [-1.0, 0.0, 1.0])
    cs.add([], [])
    assert len(cs) == 3
    with pytest.raises(ValueError, match=r"y must be a number or a 1-D sequence, got shape \(1, 2\)"):
        cs.add([[0.0, 1.0]], q_by_level.T)


@pytest.mark.parametrize("calibrated", [False, True])
def test_scaler_apply_refuses_non_finite_raw_quantiles(calibrated):
    cs = ConformalScaler([0.1, 0.5, 0.9], min_errors=1)
    if calibrated:
        cs.add(0.5, [-1.0, 0.0, 1.0])
    # a NaN used to be sorted last and shift the median: finite, wrong numbers
    with pytest.raises(ValueError, match=r"q_raw has non-finite values: \[-1.0, nan, 1.0\]"):
        cs.apply([-1.0, np.nan, 1.0], [0.1, 0.5, 0.9])
    with pytest.raises(ValueError, match=r"q_raw\[1, 0\] has non-finite"):
        cs.apply(np.array([[[-1.0, 0.0, 1.0]], [[np.inf, 0.0, 1.0]]]), [0.5])


def test_scaler_accepts_numpy_integer_settings():
    cs = ConformalScaler(LEVELS, window=np.int64(5), min_errors=np.int32(2))
    assert cs.window == 5 and cs.min_errors == 2 and type(cs.window) is int
    with pytest.raises(ValueError, match="window must be an integer >= 1, got 2.0"):
        ConformalScaler(LEVELS, window=2.0)


ASYM = [0.05, 0.1, 0.5, 0.9]        # levels not symmetric about the median: c_max = 0.8


def test_scaler_applies_its_factor_to_the_distances_it_was_computed_on():
    """s(0.9) is computed from the 0.1 / 0.9 distances (c' = min(0.9, 2*0.9-1,
    1-2*0.05) = 0.8); the calibrated 0.05 quantile must be m - s(0.9) (m - q(0.1)),
    not m - s(0.9) (m - q(0.05))."""
    rng = np.random.default_rng(4)
    cs = ConformalScaler(ASYM, window=100, min_errors=5)
    q = np.array([-3.0, -1.0, 0.0, 1.0])               # q(0.05) three times as far as q(0.1)
    for y in rng.normal(0, 2, 40):
        cs.add(y, q)
    s = cs.factors([0.9, 0.8])
    out = cs.apply(q, [0.05, 0.1, 0.5, 0.9, 0.95])
    np.testing.assert_allclose(out, [-s[0], -s[1], 0.0, s[1], s[0]])
    raw = ConformalScaler(ASYM).apply(q, [0.05, 0.1, 0.5, 0.9])
    np.testing.assert_array_equal(raw, q)              # uncalibrated: the model's own quantiles


def test_scaler_with_asymmetric_levels_covers_as_stated():
    rng = np.random.default_rng(0)
    z = np.array([NormalDist().inv_cdf(lv) for lv in ASYM])
    n = 6000
    m = rng.normal(size=n)
    y = m + 3.0 * rng.normal(size=n)                   # the model is 3x overconfident
    q = m[:, None] + z[None, :]
    cs = ConformalScaler(ASYM, window=3000, min_errors=10)
    cs.add(y[:3000], q[:3000])
    out = cs.apply(q[3000:], [0.05, 0.5, 0.95])
    yt = y[3000:]
    below, above = np.mean(yt < out[:, 0]), np.mean(yt > out[:, 2])
    assert 0.88 <= 1 - below - above <= 0.92            # it covered 92.9% (below: 2.1%, above: 5.1%)
    assert abs(below - above) < 0.015


def test_symmetric_levels_give_the_same_numbers_as_the_factor_rule():
    rng = np.random.default_rng(7)
    cs = ConformalScaler(LEVELS, window=50, min_errors=5)
    z = np.array([NormalDist().inv_cdf(lv) for lv in LEVELS])
    ys = rng.normal(size=50) * 2
    cs.add(ys, np.tile(z, (50, 1)))
    out = cs.apply(z, [0.025, 0.1, 0.5, 0.9, 0.975])
    s95, s80 = cs.factors([0.95, 0.8])
    np.testing.assert_allclose(out, [s95 * z[0], s80 * z[0], 0.0, s80 * z[-1], s95 * z[-1]])
    k = math.ceil(51 * 0.8)
    assert s80 == pytest.approx(np.sort(np.abs(ys) / z[-1])[k - 1])


@pytest.mark.parametrize("returned", [None, (0.0, 1.0), ("a", 0.0, 0.0)])
def test_a_forecaster_returning_the_wrong_thing_is_named_not_scored_as_nan(returned):
    # None used to broadcast into (NaN, NaN, NaN) at every target: a model scored as never forecasting
    with pytest.raises(ValueError, match=r"forecaster 'mine' returned .* for target 10 of synthetic; "
                                         r"a forecaster returns \(mean, lower, upper\)"):
        run_backtest(synthetic(), {"mine": lambda t, y, u, tt, lv: returned})
    r = run_backtest(synthetic(), {"arr": lambda t, y, u, tt, lv: np.array([y[-1], np.nan, np.nan])})
    assert r.table()["arr"]["n"] == 50


def _two_traces(tmp_path):
    """Two chronotick-CSV traces: the first records the prototype's prediction, the second not."""
    rng = np.random.default_rng(3)
    paths = []
    for k, proto in enumerate((True, False)):
        n = 80
        t = 1.7e9 + 64.0 * np.arange(n)
        ntp = np.cumsum(rng.normal(size=n)) * (0.2 + 2.0 * k)     # ms; the second trace 10x noisier
        rows = ["system_time,chronotick_offset_ms,chronotick_source,ntp_offset_ms,ntp_delay_ms"]
        for i in range(n):
            p = f"{ntp[i - 1] if i else 0.0:.6f}" if proto else ""
            rows.append(f"{t[i]:.3f},{p},{'cpu' if proto else ''},{ntp[i]:.6f},{30 + i % 7}")
        f = tmp_path / f"trace{k}.csv"
        f.write_text("\n".join(rows) + "\n")
        paths.append(str(f))
    return paths


def _mean_table(md):
    rows = md.split("### Mean over traces")[1].splitlines()
    return {r.split("|")[1].strip(): [c.strip() for c in r.split("|")[2:-1]] for r in rows if r.startswith("| ")
            and not r.startswith("| model")}


def test_mean_table_ratio_of_a_model_on_some_traces_uses_the_same_traces(tmp_path):
    """`MAE / median-5` of a model scored on some traces only (the recorded
    prototype) divided its mean over those by median-5's over all traces."""
    from chronotick.cli import main
    from chronotick.backtest import run_backtest
    from chronotick.io import load
    paths = _two_traces(tmp_path)
    md_path = tmp_path / "bt.md"
    assert main(["backtest", "--no-progress", "--models", "hold", "--markdown", str(md_path), *paths]) == 0
    table = _mean_table(md_path.read_text())
    r0 = run_backtest(load(paths[0]), {})
    proto, med = r0.table()["prototype (recorded)"]["mae"], r0.table()["median-5"]["mae"]
    assert table["prototype (recorded)"][1] == f"{proto / med:.3f}"
    assert table["prototype (recorded)"][2] == f"{proto / med:.3f}"      # mean of ratios: one trace


def test_the_recorded_prototype_is_not_scored_beside_forecasts_several_measurements_ahead(tmp_path):
    from chronotick.cli import main
    paths = _two_traces(tmp_path)
    md8, md1 = tmp_path / "bt8.md", tmp_path / "bt1.md"
    assert main(["backtest", "--no-progress", "--models", "hold", "--horizon", "8", "--markdown", str(md8),
                 *paths]) == 0
    assert main(["backtest", "--no-progress", "--models", "hold", "--markdown", str(md1), *paths]) == 0
    assert "| prototype (recorded) |" not in md8.read_text()
    assert "left out here" in md8.read_text()
    assert "| prototype (recorded) |" in md1.read_text()


def test_window_selection_refuses_fractional_values_instead_of_truncating():
    from chronotick.backtest import select_window
    from chronotick.io import Trace
    t = 1.7e9 + 64.0 * np.arange(40)
    tr = [Trace(times=t, offsets=np.sin(np.arange(40) / (5.0 + k)) * 1e-3, source=f"s{k}") for k in range(2)]
    with pytest.raises(ValueError, match="whole numbers, got 12.7"):
        select_window(tr, values=(8, 12.7))
