"""Edge cases of the inputs of predict, the plain CSV loader, the CLI and the
model registry: each is refused with a message naming the bad value, or
handled as documented -- never a wrong result or an unrelated crash."""
import datetime

import numpy as np
import pytest

import chronotick
import chronotick.models as models
from chronotick.cli import main
from chronotick.io import load, load_plain_csv


def series(n=100, step=16.0, t0=0.0):
    rng = np.random.default_rng(0)
    t = t0 + np.arange(n) * step
    return 1e-5 * (t - t0) + 1e-4 * rng.standard_normal(n), t


# ---------------------------------------------------------------- forecast grid

@pytest.mark.parametrize("t0, step_s", [(1.7e9, 1e-8), (0.0, 1e-300)])
def test_step_below_the_timestamps_resolution_is_refused(t0, step_s):
    y, t = series(t0=t0)
    with pytest.raises(ValueError, match=r"step_s = .* too small .*resolution"):
        chronotick.predict(y, t, horizon=3, step_s=step_s, model="hold")


def test_smallest_usable_step_gives_increasing_times():
    y, t = series(t0=1.7e9)
    fc = chronotick.predict(y, t, horizon=3, step_s=1e-6, model="hold")
    assert fc.times[0] > fc.origin and np.all(np.diff(fc.times) > 0)


def test_infinite_horizon_over_step_is_the_absurd_horizon_error():
    y, t = series()
    with pytest.raises(ValueError, match="horizon_s / step_s = .* steps is absurd"):
        chronotick.predict(y, t, horizon_s=1e308, step_s=1e-10)
    with pytest.raises(ValueError, match="horizon_s / step_s = .* steps is absurd"):   # finite: as before
        chronotick.predict(y, t, horizon_s=1e30)


# ---------------------------------------------------------------- datetimes

@pytest.mark.parametrize("days", [["2400-01-01", "2400-01-02", "2400-01-03"],
                                  ["1650-01-01", "1650-01-02", "1650-01-03"]])
def test_datetimes_outside_the_ns_range_do_not_wrap(days):
    ts = np.array(days, dtype="datetime64[D]")
    fc = chronotick.predict([0.001, 0.002, 0.003], ts, horizon=1, model="hold")
    want = (ts[-1] - np.datetime64("1970-01-01")) / np.timedelta64(1, "s")
    assert fc.origin == want


def test_python_datetimes_outside_the_ns_range_do_not_wrap():
    ts = [datetime.datetime(2400, 1, d) for d in (1, 2, 3)]
    fc = chronotick.predict([0.001, 0.002, 0.003], ts, horizon=1, model="hold")
    assert fc.origin == (ts[-1] - datetime.datetime(1970, 1, 1)).total_seconds()


def test_nanosecond_datetimes_keep_their_resolution():
    ts = np.array(["2024-01-01T00:00:00", "2024-01-01T00:00:01", "2024-01-01T00:00:02.000000500"],
                  dtype="datetime64[ns]")
    fc = chronotick.predict([0.001, 0.002, 0.003], ts, horizon=1, model="hold")
    assert fc.origin == pytest.approx(1704067202.0000005, abs=1e-6)


def test_datetime_beyond_any_unit_is_refused_by_name():
    ts = np.array(["-300000-01-01", "2000-01-02", "2000-01-03"], dtype="datetime64[D]")
    with pytest.raises(ValueError, match=r"timestamps\[0\] = -300000-01-01 is out of range"):
        chronotick.predict([0.001, 0.002, 0.003], ts, horizon=1, model="hold")


# ---------------------------------------------------------------- covariates

def test_empty_covariates_are_no_covariates():
    y, t = series()
    plain = chronotick.predict(y, t, horizon=2, model="regression")
    fc = chronotick.predict(y, t, horizon=2, model="regression", covariates={})
    assert fc.model == plain.model and np.array_equal(fc.mean, plain.mean)


def test_regression_with_a_constant_temperature_falls_back_to_the_plain_regression():
    y, t = series()
    plain = chronotick.predict(y, t, horizon=2, model="regression")
    fc = chronotick.predict(y, t, horizon=2, model="regression", covariates={"temperature": np.full(100, 25.0)})
    assert fc.model == "regression" and np.array_equal(fc.mean, plain.mean)
    assert "dropped regression+temp" in fc.note


def test_regression_with_temperature_and_too_little_history_falls_back_to_hold():
    fc = chronotick.predict([0.001, 0.002, 0.003], [0.0, 16.0, 32.0], horizon=2, model="regression",
                            covariates={"temperature": [25.0, 25.5, 26.0]})
    assert fc.model.startswith("hold (fallback:") and "dropped regression+temp" in fc.note
    assert np.all(np.isfinite(fc.mean))
    # "fused" and "auto" say so too (they had dropped the member silently; an audit, 2026-12-06)
    for model in ("fused", "auto"):
        fc = chronotick.predict([0.001, 0.002, 0.003], [0.0, 16.0, 32.0], horizon=2, model=model,
                                covariates={"temperature": [25.0, 25.5, 26.0]})
        assert "dropped regression+temp: 3 measurements < min_history 8" in fc.note, model


# ---------------------------------------------------------------- plain CSV

def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_plain_csv_columns_follow_the_header_names(tmp_path):
    tr = load(write(tmp_path, "d.csv", "t,offset,delay\n0,0.001,0.02\n16,0.0011,0.03\n32,0.0012,0.02\n"))
    assert tr.uncertainty is None
    np.testing.assert_allclose(tr.delay, [0.02, 0.03, 0.02])
    tr = load_plain_csv(write(tmp_path, "du.csv",
                              "t,offset,delay,uncertainty\n0,0.001,0.02,1e-4\n16,0.002,0.03,2e-4\n"))
    np.testing.assert_allclose(tr.delay, [0.02, 0.03])
    np.testing.assert_allclose(tr.uncertainty, [1e-4, 2e-4])
    tr = load_plain_csv(write(tmp_path, "u.csv", "t,offset,unc\n0,0.001,1e-4\n16,0.002,2e-4\n"))   # positional
    np.testing.assert_allclose(tr.uncertainty, [1e-4, 2e-4])
    assert tr.delay is None


@pytest.mark.parametrize("header", ["t,offset,delay", "t,offset,uncertainty,delay"])
def test_plain_csv_negative_delay_is_refused(tmp_path, header):
    cols = header.count(",") - 1
    rows = ["0,0.001" + ",1e-4" * (cols - 1) + ",-0.5", "16,0.002" + ",1e-4" * (cols - 1) + ",0.01",
            "32,0.003" + ",1e-4" * (cols - 1) + ",0.01"]
    p = write(tmp_path, "n.csv", header + "\n" + "\n".join(rows) + "\n")
    with pytest.raises(ValueError, match=r"n.csv:2: delay must be >= 0, got '-0.5'"):
        load_plain_csv(p)
    tr = load_plain_csv(p, strict=False)
    assert len(tr) == 2 and tr.skipped == {"malformed": 1}


# ---------------------------------------------------------------- CLI

@pytest.mark.parametrize("width", ["10", "0", "-5", "3"])
def test_demo_width_too_small_is_refused_by_name(width, capsys):
    # one line with the command's prefix, as every command's bad value (a bare SystemExit
    # message until 2026-12-05)
    assert main(["demo", "--width", width]) == 2           # an option's bad value: 2, as argparse's
    assert capsys.readouterr().err.strip() == f"chronotick demo: --width must be in [20, 1000] columns, got {width}"


def test_asciiplot_width_too_small_is_refused():
    from chronotick.asciiplot import plot
    x = np.arange(5.0)
    with pytest.raises(ValueError, match=r"width must be in \[20, 1000\], got 10"):
        plot([(x, x, ".")], width=10)
    assert max(len(line) for line in plot([(x, x, ".")], width=20).splitlines()) <= 20


def test_backtest_too_short_trace_names_the_file(tmp_path, capsys):
    d = tmp_path / "traces"
    d.mkdir()
    (d / "a.csv").write_text("".join(f"{16 * i},{1e-3 * i}\n" for i in range(30)))
    (d / "b.csv").write_text("0,0.001\n16,0.002\n")
    rc = main(["backtest", str(d), "--models", "hold", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1
    assert f"{d / 'b.csv'}: too short for the backtest: 2 measurements, it needs at least 11" in err
    rc = main(["backtest", str(d / "a.csv"), "--models", "hold", "--horizon", "100", "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 1 and f"{d / 'a.csv'}: too short" in err and "at least 101" in err


def test_run_backtest_too_short_names_the_trace(tmp_path):
    from chronotick.backtest import run_backtest
    tr = load(write(tmp_path, "short.csv", "0,0.001\n16,0.002\n"))
    with pytest.raises(ValueError, match=r"short.csv: too short for the backtest: 2 measurements.*warmup"):
        run_backtest(tr)


# ---------------------------------------------------------------- registry

def test_models_list_covers_every_name():
    listed = [m["name"] for m in models.list()]
    assert sorted(listed) == sorted(models.names())
    assert {m["name"]: m for m in models.list()}["auto"]["kind"] == "fused"


def test_masked_values_are_missing_and_masked_timestamps_refused():
    """Audit finding (session 23): np.asarray dropped a masked array's mask, so a masked +5.0
    was forecast from as a measurement (hold: 5.0, the 95% interval about [-0.15, 10.1])."""
    y = 1e-3 + np.random.default_rng(5).normal(0, 1e-4, 100)
    t = 16.0 * np.arange(100)
    ym = np.ma.masked_array(np.r_[y[:-1], 5.0], mask=[False] * 99 + [True])
    got = chronotick.predict(ym, t, horizon=4, model="hold")
    want = chronotick.predict(np.r_[y[:-1], np.nan], t, horizon=4, model="hold")
    assert np.array_equal(got.quantiles, want.quantiles) and abs(got.mean[0] - 1e-3) < 1e-3
    unmasked = chronotick.predict(np.ma.masked_array(y), t, horizon=2, model="fused")
    assert np.array_equal(unmasked.mean, chronotick.predict(y, t, horizon=2, model="fused").mean)
    tm = np.ma.masked_array(t, mask=np.arange(100) == 50)
    with pytest.raises(ValueError, match=r"timestamps\[50\] is masked"):
        chronotick.predict(y, tm)


@pytest.mark.parametrize("as_list", [False, True])
def test_integer_nanosecond_timestamps_get_a_units_hint(as_list):
    """Audit finding (session 23): distinct int64 nanosecond times collapse in float64 seconds;
    the error showed two equal-looking values and no hint."""
    y = 1e-3 + np.random.default_rng(6).normal(0, 1e-4, 100)
    tn = 1_700_000_000_000_000_000 + 100 * np.arange(100, dtype=np.int64)
    with pytest.raises(ValueError, match=r"strictly increasing.*integers up to 1.7e\+18, beyond 2\^53.*"
                                         r"for nanoseconds pass t / 1e9"):
        chronotick.predict(y, tn.tolist() if as_list else tn)
    # as the hint says (100 ns apart needs a nearer origin too: float64 resolves ~240 ns at 1.7e9 s)
    fc = chronotick.predict(y, (tn - tn[0]) / 1e9, horizon=1, model="hold")
    assert np.isfinite(fc.mean).all()


def test_engine_integer_nanosecond_timestamps_get_the_units_hint():
    """As predict(): the Engine's "not after" / "not increasing" errors for int times beyond 2^53."""
    with chronotick.Engine() as eng:
        eng.observe(1_700_000_000_000_000_000, 0.001)
        with pytest.raises(ValueError, match=r"not after the previous.*integers up to 1.7e\+18, beyond 2\^53"):
            eng.observe(1_700_000_000_000_000_001, 0.001)
        with pytest.raises(ValueError, match=r"strictly increasing.*for nanoseconds pass t / 1e9"):
            eng.observe_many(1_800_000_000_000_000_000 + 100 * np.arange(5, dtype=np.int64), np.zeros(5))
