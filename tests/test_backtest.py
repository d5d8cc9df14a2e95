"""The leakage-free backtest, and the accuracy floor on real NTP traces
(issue 2 §5): the fused default's MAE <= median-of-last-5, and its 80%
intervals cover 75-85%."""
import os

import numpy as np
import pytest

from chronotick.backtest import core_model, predict_model, run_backtest, summarize
from chronotick.io import Trace, load_chronotick_csv

DATA = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "data", "clock-traces")
TRACE_9H = os.path.join(DATA, "homelab_9h_2025-10-15.csv")
needs_data = pytest.mark.skipif(not os.path.isdir(DATA), reason=f"real traces not found at {DATA}")


def synthetic(n=60):
    t = 1.7e9 + 100.0 * np.arange(n)
    return Trace(times=t, offsets=1e-3 * np.sin(np.arange(n) / 7.0), source="synthetic")


def test_forecasters_see_only_measurements_strictly_before_the_target():
    tr = synthetic()
    seen = []

    def spy(t, y, u, target_t, level):
        assert np.all(t < target_t)
        seen.append((len(t), target_t))
        return y[-1], y[-1] - 1, y[-1] + 1

    run_backtest(tr, {"spy": spy}, warmup=5)
    assert seen[0] == (5, tr.times[5])
    assert all(n == i + 5 for i, (n, _) in enumerate(seen))


def test_horizon_moves_the_origin_back():
    tr = synthetic()
    seen = []

    def spy(t, y, u, target_t, level):
        seen.append((t[-1], target_t))
        return y[-1], np.nan, np.nan

    run_backtest(tr, {"spy": spy}, horizon=3, warmup=5)
    assert seen                      # (an empty loop had passed)
    for last, target in seen:
        assert target - last == pytest.approx(300.0)


def test_metrics_are_correct_on_a_known_case():
    tr = synthetic(20)

    def const(t, y, u, target_t, level):
        return 0.0, -0.5e-3, 0.5e-3

    r = run_backtest(tr, {"zero": const}, warmup=10, include_baselines=False)
    m = r.table()["zero"]
    truth = tr.offsets[10:]
    assert m["mae"] == pytest.approx(np.mean(np.abs(truth)))
    assert m["max"] == pytest.approx(np.max(np.abs(truth)))
    assert m["coverage"] == pytest.approx(np.mean(np.abs(truth) <= 0.5e-3))
    assert m["width"] == pytest.approx(1e-3)


def test_baseline_intervals_cover_their_level_on_exchangeable_errors():
    # split-conformal order statistics of n past errors hold a new one with probability >= level
    # (np.quantile's interpolated quantiles of 32 errors held ~75% at 0.8; an audit, 2026-12-05)
    from chronotick.backtest import conformal_bounds
    rng = np.random.default_rng(1)
    for level, n in ((0.5, 32), (0.8, 32), (0.95, 39)):      # 0.95 needs 39 (_errors_needed)
        hits = []
        for _ in range(20000):
            e = rng.standard_normal(n + 1)
            lo, hi = conformal_bounds(e[:n], level)
            hits.append(lo <= e[32] <= hi)
        assert level <= np.mean(hits) <= level + 0.06, (level, np.mean(hits))
    assert all(np.isnan(conformal_bounds(np.arange(8.0), 0.8)))      # too few errors: no interval
    assert conformal_bounds(np.arange(9.0), 0.8) == (0.0, 8.0)
    assert all(np.isnan(conformal_bounds(np.arange(32.0), 0.95)))
    from chronotick.backtest import hold_last
    y = np.cumsum(rng.standard_normal(100))
    assert np.isfinite(hold_last(None, y, None, 0.0, 0.95)[1])    # takes the 39 errors 0.95 needs


def test_the_baselines_intervals_are_of_their_own_errors_at_the_lead():
    # Found by an audit (2026-12-06): 8 ahead, hold-last's and median-5's intervals were still made of
    # their errors one measurement ahead. Now of y[j + h] - (their forecast from the measurements up
    # to j), the newest 32; at h = 1 the same bits as before.
    from chronotick.backtest import conformal_bounds, hold_last, median_last5
    rng = np.random.default_rng(6)
    y = np.cumsum(rng.standard_normal(120))
    for h in (1, 3, 8):
        e = y[-32:] - y[-32 - h:-h]
        lo, hi = conformal_bounds(e, 0.8)
        assert hold_last(None, y, None, 0.0, 0.8, horizon=h) == (y[-1], y[-1] + lo, y[-1] + hi)
        meds = np.array([np.median(y[j - 4:j + 1]) for j in range(y.size - 32 - h, y.size - h)])
        lo, hi = conformal_bounds(y[-32:] - meds, 0.8)
        m = float(np.median(y[-5:]))
        assert median_last5(None, y, None, 0.0, 0.8, horizon=h) == (m, m + lo, m + hi)
    d = np.diff(y[-33:])           # h = 1: the step-to-step changes, as before
    assert hold_last(None, y, None, 0.0, 0.8)[1:] == (y[-1] + conformal_bounds(d, 0.8)[0],
                                                      y[-1] + conformal_bounds(d, 0.8)[1])
    # too little history for 9 errors at the lead: no interval, the point forecast still given
    assert np.isnan(hold_last(None, y[:9], None, 0.0, 0.8, horizon=2)[1]) and \
        np.isfinite(hold_last(None, y[:11], None, 0.0, 0.8, horizon=2)[1])
    assert np.isnan(median_last5(None, y[:17], None, 0.0, 0.8, horizon=5)[1])
    assert np.isfinite(median_last5(None, y[:18], None, 0.0, 0.8, horizon=5)[1])
    for bad in (0, 1.5, True, -2):
        with pytest.raises(ValueError, match=r"horizon must be a positive integer \(measurements ahead\), got "):
            hold_last(None, y, None, 0.0, 0.8, horizon=bad)


def test_every_model_is_scored_on_the_same_targets():
    # a forecaster abstaining on hard targets is not scored on the easy ones alone: every model's
    # point errors are on the targets all predicted, interval figures on those where it gave one
    tr = synthetic(60)

    def picky(t, y, u, target_t, level):
        return (np.nan, np.nan, np.nan) if abs(y[-1]) > 5e-4 else (y[-1], y[-1] - 1, y[-1] + 1)

    def noint(t, y, u, target_t, level):
        return y[-1], np.nan, np.nan

    tab = run_backtest(tr, {"picky": picky, "noint": noint}, warmup=10).table()
    ns = {name: m["n"] for name, m in tab.items()}
    assert len(set(ns.values())) == 1 and 0 < ns["picky"] < 50, ns
    assert tab["noint"]["n_int"] == 0 and np.isnan(tab["noint"]["coverage"])
    assert tab["picky"]["n_int"] == ns["picky"]
    assert tab["hold-last"]["mae"] != run_backtest(tr, warmup=10).table()["hold-last"]["mae"]
    # one that predicts nothing at all narrows nothing: n 0 for it, the others as without it
    tab = run_backtest(tr, {"never": lambda *a: (np.nan, np.nan, np.nan)}, warmup=10).table()
    assert tab["never"]["n"] == 0 and tab["hold-last"]["n"] == 50


def test_prototype_is_scored_next_measurement_only():
    tr = synthetic(40)
    tr.extra["prototype_offset"] = tr.offsets + 1e-4
    assert "prototype (recorded)" in run_backtest(tr).results
    assert "prototype (recorded)" not in run_backtest(tr, horizon=8).results   # the default: horizon 1 only
    with pytest.raises(ValueError, match="include_prototype=True with horizon = 8"):
        run_backtest(tr, horizon=8, include_prototype=True)


@pytest.mark.parametrize("model", ["regression", "fused"])
def test_the_public_path_is_given_the_uncertainty_the_core_path_gets(model):
    # predict_model passes the trace's per-measurement uncertainty on, as
    # core_model does: both paths give the same forecasts with or without it.
    rng = np.random.default_rng(3)
    n = 80
    t = 1.7e9 + 64.0 * np.arange(n)
    u = rng.uniform(1e-4, 5e-3, n)
    y = 2e-6 * (t - t[0]) + rng.normal(0, 1, n) * u
    with_u = Trace(times=t, offsets=y, uncertainty=u, source="weighted")
    without = Trace(times=t, offsets=y, source="unweighted")
    res = {}
    for tr in (with_u, without):
        r = run_backtest(tr, {"predict": predict_model(model), "core": core_model(model)}, warmup=40,
                         include_baselines=False)
        assert np.allclose(r.results["predict"].mean, r.results["core"].mean, rtol=0, atol=1e-12)
        res[tr.source] = r.results["predict"].mean
    assert not np.allclose(res["weighted"], res["unweighted"], rtol=0, atol=1e-9)   # u was used


def test_bad_arguments():
    tr = synthetic(20)
    with pytest.raises(ValueError, match="level"):
        run_backtest(tr, level=1.5)
    with pytest.raises(ValueError, match="warmup"):
        run_backtest(tr, warmup=20)
    with pytest.raises(ValueError, match="horizon"):
        run_backtest(tr, horizon=0)
    with pytest.raises(ValueError, match="horizon must be a positive integer .* got True"):
        run_backtest(tr, horizon=True)        # a bool is not a count of measurements
    with pytest.raises(ValueError, match="max_history must be .* got False"):
        run_backtest(tr, max_history=False)


@needs_data
@pytest.mark.parametrize("name, forecaster", [("auto", predict_model("auto")), ("fused", core_model("fused"))])
def test_default_beats_median_of_5_with_calibrated_intervals_on_a_real_trace(name, forecaster):
    """Through the public path (chronotick.predict, model="auto") and the
    core's classical fusion directly."""
    tr = load_chronotick_csv(TRACE_9H)
    r = run_backtest(tr, {name: forecaster})
    tab = r.table()
    print(r.format())
    assert tab[name]["n"] == len(tr) - 10
    assert tab[name]["mae"] <= tab["median-5"]["mae"]
    assert tab[name]["max"] <= tab["hold-last"]["max"]
    assert 0.75 <= tab[name]["coverage"] <= 0.85
    assert tab[name]["mae"] < tab["prototype (recorded)"]["mae"]


def _cli(argv):
    from chronotick.cli import main
    return main(["backtest", "--no-progress", *argv])


def test_cli_backtests_an_exported_model_given_by_path(tmp_path, capsys, monkeypatch):
    # "any exported model" (issue 4 §4): a .onnx with its model card, by path,
    # named after the file or NAME=PATH; scored next to the baselines.
    import json
    import shutil

    import chronotick.api
    import chronotick.models
    from chronotick.models import onnx_models
    monkeypatch.setattr(chronotick.models, "_registered", dict(chronotick.models._registered))  # this test's only
    monkeypatch.setattr(chronotick.api, "_onnx_cache", dict(chronotick.api._onnx_cache))
    if "clock-bolt" not in onnx_models():
        pytest.skip("clock-bolt.onnx is not shipped in this checkout")
    src = onnx_models()["clock-bolt"]
    shutil.copy(src, tmp_path / "mine.onnx")
    shutil.copy(src[:-5] + ".json", tmp_path / "mine.json")
    trace = synthetic(40)
    csv = tmp_path / "trace.csv"
    np.savetxt(csv, np.c_[trace.times, trace.offsets], delimiter=",", header="time,offset", comments="")
    out = tmp_path / "m.json"
    assert _cli(["--models", f"hold,{tmp_path / 'mine.onnx'},other={tmp_path / 'mine.onnx'}",
                 "--json", str(out), str(csv)]) == 0
    metrics = next(iter(json.load(open(out)).values()))["metrics"]
    assert {"hold-last", "median-5", "hold", "mine", "other"} <= set(metrics)
    assert metrics["mine"]["n"] == 30 and metrics["mine"]["mae"] == metrics["other"]["mae"] > 0
    # refused before any trace is read, with the reason, not a traceback
    capsys.readouterr()
    assert _cli(["--models", str(tmp_path / "missing.onnx"), str(csv)]) == 1
    assert "no such ONNX model file" in capsys.readouterr().err
    (tmp_path / "bad.onnx").write_bytes(b"not a model")
    assert _cli(["--models", f"bad={tmp_path / 'bad.onnx'}", str(csv)]) == 1
    assert "bad.onnx" in capsys.readouterr().err
    # a bad --models value: exit 2 (as argparse's refusals; a missing or bad file is 1)
    assert _cli(["--models", f"clock-bolt={tmp_path / 'mine.onnx'}", str(csv)]) == 2
    assert "is taken by" in capsys.readouterr().err
    assert _cli(["--models", "nope", str(csv)]) == 2
    assert "unknown model 'nope'" in capsys.readouterr().err
    assert _cli(["--models", "hold,hold", str(csv)]) == 2
    assert "twice" in capsys.readouterr().err
    assert _cli(["--models", "hold", str(tmp_path / "none.csv")]) == 1
    assert "no such file" in capsys.readouterr().err


def test_format_shows_a_dash_where_a_row_has_no_interval():
    tr = synthetic(40)
    tr.extra["prototype_offset"] = tr.offsets + 1e-4      # a recorded prediction: a point, no interval
    text = run_backtest(tr, {}).format()
    row = [line for line in text.splitlines() if line.startswith("prototype (recorded)")][0]
    assert "nan" not in text and row.split()[-3:] == ["–", "–", "–"]
    assert row.split()[3] == "0.100"     # MAE 0.1 ms


def test_cli_bad_input_is_one_line_not_a_traceback(tmp_path, capsys, monkeypatch):
    # every subcommand: a bad value or a missing file is `chronotick CMD: message`, exit 2 for
    # an option's bad value (as argparse's own refusals), 1 for a file that is not there (status: 3,
    # no clock to read)
    trace = synthetic(40)
    csv = tmp_path / "trace.csv"
    np.savetxt(csv, np.c_[trace.times, trace.offsets], delimiter=",", header="time,offset", comments="")
    from chronotick.cli import main
    for argv, pattern, rc in [
            (["backtest", "--horizon", "0", str(csv)], "--horizon must be an integer >= 1", 2),
            (["backtest", "--level", "1.5", str(csv)], "--level must be a fraction in (0, 1)", 2),
            (["status", "--path", str(tmp_path / "none")], "none", 3),
            (["serve", "--config", str(tmp_path / "none.yaml")], "no such config file", 1)]:
        capsys.readouterr()
        assert main(argv) == rc
        err = capsys.readouterr().err
        assert err.startswith(f"chronotick {argv[0]}: ") and pattern in err and "Traceback" not in err
    monkeypatch.setenv("CHRONOTICK_TRACEBACK", "1")       # for debugging: the exception's traceback too,
    capsys.readouterr()                                    # the exit code and the line as without (2026-12-06)
    assert main(["backtest", "--level", "1.5", str(csv)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):") and "UsageError: --level must be a fraction in" in err
    assert err.strip().splitlines()[-1].startswith("chronotick backtest: --level must be a fraction in (0, 1)")


def test_window_selection_holds_each_trace_out_of_its_own_choice():
    """Leave-one-trace-out: each trace is scored with the value that is best
    on the *other* traces, never with its own best (hand-made ratios)."""
    from chronotick.backtest import WindowSelection
    r = np.array([[0.90, 1.00, 1.00],     # value 8: best on trace a alone
                  [0.98, 0.95, 0.95],     # value 16: best on b and c
                  [0.99, 0.97, 0.97]])
    sel = WindowSelection("regression_max", 16, (8, 16, 32), ["a", "b", "c"], {"fused": r})
    # a held out: 16 is best on b, c; b held out: 8 is best on a, c (0.95 < 0.965); c likewise
    assert sel.held_out("fused") == [("a", 16, 0.98), ("b", 8, 1.00), ("c", 8, 1.00)]
    md = sel.markdown()
    assert "| 16 (default) | 0.980 | 0.950 | 0.950 | 0.960 |" in md
    assert "| held out (window chosen on the others) | 0.980 (16) | 1.000 (8) | 1.000 (8) | 0.993 |" in md


def test_window_selection_backtests_every_value_on_every_trace():
    from chronotick import _core
    from chronotick.backtest import select_window
    a, b = synthetic(40), synthetic(50)
    b.offsets = b.offsets + 1e-4 * np.random.default_rng(0).standard_normal(50)
    sel = select_window([a, b], values=(8, 16), models=("fused",))
    assert sel.default == _core.ModelParams().regression_max and sel.traces == [a.name, b.name]
    assert sel.ratios["fused"].shape == (2, 2) and np.all(np.isfinite(sel.ratios["fused"]))
    # each cell is the fused backtest with that window
    p = _core.ModelParams()
    p.regression_max = 8
    tab = run_backtest(b, {"fused": core_model("fused", p)}, include_prototype=False).table()
    assert sel.ratios["fused"][0, 1] == tab["fused"]["mae"] / tab["median-5"]["mae"]


@pytest.mark.parametrize("kwargs, pattern", [
    ({"traces": 1}, "at least 2 traces"),
    ({"param": "no_such"}, "'no_such' is not a ModelParams field"),
    ({"values": (16,)}, "at least 2 values"),
    ({"models": ("hold",)}, "must be 'fused' or 'auto', got 'hold'"),
])
def test_window_selection_bad_arguments(kwargs, pattern):
    from chronotick.backtest import select_window
    traces = [synthetic(30)] * kwargs.pop("traces", 2)
    with pytest.raises(ValueError, match=pattern):
        select_window(traces, **kwargs)


def test_cli_window_selection_needs_two_traces(tmp_path, capsys):
    trace = synthetic(40)
    csv = tmp_path / "trace.csv"
    np.savetxt(csv, np.c_[trace.times, trace.offsets], delimiter=",", header="time,offset", comments="")
    assert _cli(["--window-selection", str(csv)]) == 2
    assert "--window-selection needs at least 2 traces (one held out), got 1" in capsys.readouterr().err
