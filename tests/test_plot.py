"""chronotick.plot writes readable PNGs from real traces and a real backtest."""
from __future__ import annotations

import os

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from chronotick import plot  # noqa: E402
from chronotick.io import load_plain_csv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TRACE = os.path.join(HERE, "data", "chrony_tracking.log")
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/data"

PNG = b"\x89PNG\r\n\x1a\n"


def _png_pixels(path):
    """(width, height, distinct colours) of a PNG, read back with matplotlib."""
    import matplotlib.image as mpimg
    img = mpimg.imread(path)
    return img.shape[1], img.shape[0], len(np.unique(img.reshape(-1, img.shape[-1]), axis=0))


def _trace():
    from chronotick.io import load
    return load(TRACE)


def test_plot_forecast_from_trace(tmp_path):
    tr = _trace()
    n = len(tr) - 10
    fm = np.full(10, np.median(tr.offsets[n - 5:n]))
    out = plot.plot_forecast(tr.times[:n], tr.offsets[:n], forecast=(tr.times[n:], fm, fm - 1e-6, fm + 1e-6),
                             truth=tr.offsets[n:], out=str(tmp_path / "f.png"), title="chrony tracking")
    data = open(out, "rb").read()
    assert data.startswith(PNG) and len(data) > 20_000
    w, h, colours = _png_pixels(out)
    assert (w, h) == (1210, 770) and colours > 50  # drawn, not a blank canvas


def test_plot_forecast_trace_object_and_no_forecast(tmp_path):
    out = plot.plot_forecast(_trace(), out=str(tmp_path / "t.png"))
    assert open(out, "rb").read().startswith(PNG)
    # forecast times that coincide with measurements take the truth from them
    tr = _trace()
    out2 = plot.plot_forecast(tr, forecast={"times": tr.times[-5:], "mean": tr.offsets[-5:] + 1e-7},
                              out=str(tmp_path / "t2.png"))
    assert os.path.getsize(out2) > 20_000


def test_plot_forecast_with_predict_forecast_object(tmp_path):
    import chronotick
    tr = _trace()
    n = len(tr) - 8
    fc = chronotick.predict(tr.offsets[:n], tr.times[:n], horizon_s=tr.times[-1] - tr.times[n - 1], step_s=0.5,
                            model="regression")
    out = plot.plot_forecast(tr.times[:n], tr.offsets[:n], forecast=fc, truth=(tr.times[n:], tr.offsets[n:]),
                             out=str(tmp_path / "fc.png"), level=0.8)
    assert os.path.getsize(out) > 20_000
    with pytest.raises(ValueError, match="no truth time lies inside the forecast span"):
        plot.plot_forecast(tr.times[:n], tr.offsets[:n], forecast=fc, truth=(tr.times[:3], tr.offsets[:3]),
                           out=str(tmp_path / "x.png"))


def test_plot_forecast_bad_input(tmp_path):
    t = np.arange(5.0)
    with pytest.raises(ValueError, match="offsets has 4 entries, expected 5"):
        plot.plot_forecast(t, np.zeros(4), out=str(tmp_path / "x.png"))
    with pytest.raises(TypeError, match="offsets is required"):
        plot.plot_forecast(t, out=str(tmp_path / "x.png"))
    with pytest.raises(TypeError, match="truth needs a forecast"):
        plot.plot_forecast(t, np.zeros(5), truth=np.zeros(5), out=str(tmp_path / "x.png"))
    with pytest.raises(ValueError, match="forecast mean has 2 entries, expected 3"):
        plot.plot_forecast(t, np.zeros(5), forecast=(np.arange(3.0), np.zeros(2)), out=str(tmp_path / "x.png"))
    with pytest.raises(FileNotFoundError, match="output directory does not exist"):
        plot.plot_forecast(t, np.zeros(5), out=str(tmp_path / "nodir" / "x.png"))


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="shared/data not present beside the repo")
def test_plot_backtest_real(tmp_path):
    from chronotick.backtest import run_backtest
    from chronotick.io import load
    tr = load(os.path.join(SHARED, "clock-traces", "homelab_2h_2025-10-16.csv"))
    r = run_backtest(tr, level=0.8)
    out = plot.plot_backtest(r, str(tmp_path / "bt.png"))
    assert open(out, "rb").read().startswith(PNG) and os.path.getsize(out) > 30_000
    with pytest.raises(ValueError, match="models \\['nope'\\] not in the result"):
        plot.plot_backtest(r, str(tmp_path / "bt2.png"), models=["nope"])
    with pytest.raises(TypeError, match="must be a BacktestResult"):
        plot.plot_backtest(object(), str(tmp_path / "bt3.png"))


def test_plot_models_arrays(tmp_path):
    tr = load_plain_csv(_write(tmp_path))
    truth = tr.offsets
    models = {"a": (truth + 1e-4, truth - 1e-3, truth + 1e-3), "b": (truth * 0.9, None, None)}
    out = plot.plot_models(tr.times, truth, models, out=str(tmp_path / "m.png"), level=0.9)
    assert os.path.getsize(out) > 20_000
    with pytest.raises(ValueError, match="must be \\(mean, lower, upper\\)"):
        plot.plot_models(tr.times, truth, {"a": truth}, out=str(tmp_path / "m2.png"))
    for bad in (0, True, 2.5):          # a bool is not a count of targets
        with pytest.raises(ValueError, match="window must be a positive integer"):
            plot.plot_models(tr.times, truth, models, out=str(tmp_path / "m3.png"), window=bad)


def _write(tmp_path):
    rng = np.random.default_rng(1)
    t = np.arange(200) * 64.0
    y = 1e-4 * np.sin(t / 3000) + 2e-5 * rng.standard_normal(t.size)
    p = tmp_path / "p.csv"
    p.write_text("".join(f"{a},{b}\n" for a, b in zip(t, y)))
    return str(p)


def test_missing_matplotlib_message(monkeypatch):
    import builtins
    real = builtins.__import__

    def fake(name, *a, **k):
        if name.startswith("matplotlib"):
            raise ImportError("No module named 'matplotlib'")
        return real(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", fake)
    with pytest.raises(ImportError, match=r"pip install chronotick\[plot\]"):
        plot.plot_forecast(np.arange(3.0), np.zeros(3), out="unused.png")


def test_a_one_step_forecast_is_drawn_and_an_inf_truth_is_skipped(tmp_path, monkeypatch):
    import chronotick
    figs = []
    real_save = plot._save
    monkeypatch.setattr(plot, "_save", lambda fig, out: figs.append(fig) or real_save(fig, out))
    t = 1.7e9 + np.arange(60) * 64.0
    y = 1e-3 * np.sin(np.arange(60) / 5.0)
    fc = chronotick.predict(y, t, horizon=1, model="regression")
    plot.plot_forecast(t, y, fc, out=str(tmp_path / "one.png"))
    ax = figs[0].axes[0]
    mean_line = [ln for ln in ax.get_lines() if ln.get_label() == "forecast mean"][0]
    assert mean_line.get_marker() == "o"          # a "-" line of one point drew nothing
    assert (tmp_path / "one.png").stat().st_size > 0
    truth = np.where(np.arange(60) == 10, np.inf, y)
    plot.plot_models(t, truth, {"a": (y, None, None)}, out=str(tmp_path / "m.png"))   # had raised on inf limits
    assert (tmp_path / "m.png").stat().st_size > 0


def test_asciiplot_refuses_mismatched_lengths_and_bad_markers_and_widens_its_labels():
    from chronotick import asciiplot
    x = np.arange(50.0)
    with pytest.raises(ValueError, match=r"series\[0\]: its arrays differ in length \(50, 4\)"):
        asciiplot.plot([(x, np.sin(x)[:4], "*")])
    with pytest.raises(ValueError, match="marker must be one character, got 'ab'"):
        asciiplot.plot([(x, x, "ab")])
    with pytest.raises(ValueError, match="nothing to plot"):
        asciiplot.plot([])
    with pytest.raises(ValueError, match="span more than a float64"):
        asciiplot.plot([(x, np.where(x > 10, 1e308, -1e308), "*")])
    out = asciiplot.plot([(x, -20000 + np.sin(x), "*")], width=40, height=7).splitlines()
    assert len({line.index("|") for line in out if "|" in line}) == 1       # one label column
    assert all(len(line) <= 40 for line in out)
