"""Found by the audits of 2026-12-06 (session 36): chronyc logs in `local` mode, a relative chronyd
socket, `demo | head`, plots of ms/ns times and of a constant truth, the ASCII plot at large values,
and the note of a dropped temperature member. Each test failed on the code before its fix."""
import os
import subprocess
import sys

import numpy as np
import pytest

import chronotick

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
ENV.pop("CHRONOTICK_TRACEBACK", None)


def test_a_chronyc_log_in_local_mode_is_skipped_as_the_live_source_refuses_it(tmp_path):
    # chronyd serving its own clock (reference ID 7F7F0101) had loaded as offset 0 +- 0, and
    # predict(uncertainty=) then refused the zero uncertainty
    from chronotick.io import load_chronyc_tracking
    lines = [f"{1.7e9 + 64 * i:.3f},C0A80001,192.168.0.1,2,{1.7e9 + 64 * i - 10:.3f},0.000{i}12000,0.000004,"
             f"0.00001,-0.368,0.037,0.1,0.015,0.0016,64.0,Normal" for i in range(6)]
    lines += [f"{1.7e9 + 64 * i:.3f},7F7F0101,,10,{1.7e9 + 64 * i:.3f},0.000000000,0.000000000,0.000000000,"
              f"1.837,0.000,0.000,0.0,0.0,0.0,Normal" for i in range(6, 9)]
    p = tmp_path / "tracking.csv"
    p.write_text("\n".join(lines) + "\n")
    tr = load_chronyc_tracking(str(p))
    assert len(tr) == 6 and tr.skipped == {"local_mode": 3}, (len(tr), tr.skipped)
    assert np.all(tr.uncertainty > 0)
    chronotick.predict(tr.offsets, tr.times, uncertainty=tr.uncertainty, horizon=1, model="regression")


def test_a_relative_chronyd_socket_is_made_absolute(tmp_path, monkeypatch):
    # chronyc -h takes a Unix socket only as an absolute path: "chronyd.sock" was a host name
    from chronotick.sources import ChronySource
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chronyd.sock").touch()
    assert ChronySource(socket="chronyd.sock").socket == str(tmp_path / "chronyd.sock")
    assert ChronySource(socket="run/chronyd.sock").socket == str(tmp_path / "run" / "chronyd.sock")
    assert ChronySource(socket="ntp.example.org").socket == "ntp.example.org"      # a host stays a host
    assert ChronySource(socket="/run/chrony/chronyd.sock").socket == "/run/chrony/chronyd.sock"


def test_demo_into_a_pipe_closed_early_is_not_an_error():
    # `chronotick demo | head` had exited 1, "[Errno 32] Broken pipe" (simulate already took it)
    p = subprocess.Popen([sys.executable, "-m", "chronotick", "demo"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.wait(timeout=120)
    assert first.startswith(b"chronotick demo:")
    assert p.returncode == 0 and err == "", (p.returncode, err)


@pytest.mark.parametrize("t0", [1.7e12, 1.7e18], ids=["ms", "ns"])
def test_a_plot_of_times_in_ms_or_ns_says_so(tmp_path, t0):
    # "year 55840 is out of range" (ms) or an OSError "Value too large" (ns) that read as a file's
    pytest.importorskip("matplotlib")
    from chronotick.plot import plot_models
    t = t0 + 64.0 * np.arange(20)
    with pytest.raises(ValueError, match=r"beyond any date as Unix seconds: times are in seconds \(ms or ns\?"):
        plot_models(t, np.zeros(20), {"m": (np.zeros(20), None, None)}, out=str(tmp_path / "p.png"))


@pytest.mark.parametrize("truth", [np.zeros(30), np.full(30, np.nan)], ids=["constant", "all-NaN"])
def test_plot_models_with_a_truth_of_no_span_shows_the_models(tmp_path, monkeypatch, truth):
    # the y-limits came from the truth alone: +-1e-12 s (in ns) and a model 50 us off off the axes
    pytest.importorskip("matplotlib")
    import chronotick.plot as plot
    figs = []
    real_save = plot._save
    monkeypatch.setattr(plot, "_save", lambda fig, out: (figs.append(fig), real_save(fig, out))[1])
    t = 1.7e9 + 64.0 * np.arange(30)
    m = 50e-6 + 10e-6 * np.sin(np.arange(30.0))
    plot.plot_models(t, truth, {"regression": (m, m - 20e-6, m + 20e-6)}, out=str(tmp_path / "p.png"))
    top = figs[0].axes[0]
    lo, hi = top.get_ylim()
    assert "(us)" in top.get_ylabel(), top.get_ylabel()
    assert lo <= m.min() * 1e6 and hi >= m.max() * 1e6, (lo, hi)


def test_the_ascii_plot_draws_large_constant_values_and_tells_its_rows_apart():
    from chronotick.asciiplot import plot
    # +-1 was no widening at 1e17: 0/0 in every cell ("cannot convert float NaN to integer")
    assert "o" in plot([(np.arange(5.0), np.full(5, 1e17), "o")], width=40, height=6)
    assert "o" in plot([(np.array([1.7e18]), np.array([0.001]), "o")], width=40, height=6)
    # 6 significant digits printed 18000 on every labelled row
    text = plot([(np.arange(50.0), 18000.0 + 0.01 * np.sin(np.arange(50.0)), ".")], width=60, height=10)
    labels = [ln[:ln.index("|")].strip() for ln in text.splitlines() if "|" in ln and ln[:ln.index("|")].strip()]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels


def test_a_dropped_temperature_member_says_why_once():
    # "dropped regression+temp: regression+temp: too few measurements or temperatures, or a
    # degenerate fit" for a constant temperature, which the fit knows
    rng = np.random.default_rng(0)
    t = 1.7e9 + 64.0 * np.arange(200)
    y = 1e-6 * (t - t[0]) + 1e-5 * rng.standard_normal(200)
    for model in ("regression", "fused"):
        fc = chronotick.predict(y, t, horizon=2, model=model, covariates={"temperature": np.full(200, 21.5)})
        assert "dropped regression+temp: the temperature is constant over the window" in fc.note, fc.note
        assert "regression+temp: regression+temp" not in fc.note
    with chronotick.Engine({"short_term": {"models": ["fused"]}}) as eng:
        for a, b in zip(t, y):
            eng.observe(float(a), float(b), temperature=21.5)
        fc = eng.predict_short_term()
    assert "dropped regression+temp: the temperature is constant over the window" in fc.note, fc.note


def test_a_dataframe_as_a_source_is_refused_with_a_hint():
    # it iterated over its column names: every poll failed on 't'
    pd = pytest.importorskip("pandas")
    from chronotick.sources import as_source
    df = pd.DataFrame({"t": [1.7e9, 1.7e9 + 64], "offset": [1e-3, 1.1e-3], "uncertainty": [1e-4, 1e-4]})
    with pytest.raises(TypeError, match=r"a DataFrame iterates over its column names; pass its rows"):
        as_source(df)
    src = as_source(df[["t", "offset", "uncertainty"]].itertuples(index=False, name=None))   # as the hint says
    assert src.measure().offset == 1e-3
