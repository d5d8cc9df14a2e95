"""Plots of measured offsets, forecasts with interval bands, and their errors.

Needs matplotlib (`pip install chronotick[plot]`), imported only when a plot
is drawn. Figures are rendered with the Agg canvas directly (no pyplot, no
change to the process's matplotlib backend) and written as PNG.

Inputs are plain arrays: times in seconds (Unix or relative), offsets in
seconds (reference - local). Axes are shown relative to the first time, in
s/min/h, and offsets in ms or us, whichever reads best.
"""
from __future__ import annotations

import datetime as _dt
import os

import numpy as np

from chronotick._validate import is_int

_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#e377c2", "#17becf")


def _matplotlib():
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError as e:
        raise ImportError("chronotick.plot needs matplotlib: pip install chronotick[plot]") from e
    return Figure, FigureCanvasAgg


def _array(name: str, a, n: int | None = None) -> np.ndarray:
    try:
        v = np.asarray(a, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of numbers, got {type(a).__name__}") from None
    if v.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {v.shape}")
    if n is not None and v.size != n:
        raise ValueError(f"{name} has {v.size} entries, expected {n}")
    return v


def _times(name: str, a, n: int | None = None) -> np.ndarray:
    """_array, every entry finite: the time axis is drawn relative to the first time, so a
    NaN there had made every point NaN and the plot silently blank (an audit, 2026-12-05)."""
    v = _array(name, a, n)
    bad = np.flatnonzero(~np.isfinite(v))
    if bad.size:
        i = int(bad[0])
        raise ValueError(f"{name}[{i}] = {float(v[i])!r}: times must be finite")
    return v


def _time_axis(t0: float, span: float) -> tuple[float, str]:
    """(divisor, label) for times relative to t0."""
    unit, div = ("h", 3600.0) if span > 3 * 3600 else ("min", 60.0) if span > 3 * 60 else ("s", 1.0)
    if t0 > 1e9:  # Unix time: say when
        try:
            when = _dt.datetime.fromtimestamp(t0, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
        except (ValueError, OverflowError, OSError):
            # ms or ns since the epoch: "year 55840 is out of range", or an OSError that read as a
            # file's (an audit, 2026-12-06)
            raise ValueError(f"times start at {t0!r}, beyond any date as Unix seconds: times are in seconds "
                             f"(ms or ns? divide by 1e3 or 1e9)") from None
        return div, f"time since {when} ({unit})"
    return div, f"time ({unit})"


def _value_unit(*arrays) -> tuple[float, str]:
    vals = np.concatenate([np.abs(a[np.isfinite(a)]) for a in arrays if a is not None and a.size] or [np.zeros(1)])
    big = float(np.quantile(vals, 0.95)) if vals.size else 0.0
    if big >= 1.0:
        return 1.0, "s"
    if big >= 1e-3:
        return 1e3, "ms"
    if big >= 1e-6:
        return 1e6, "us"
    return 1e9, "ns"


def _forecast_arrays(forecast, level: float = 0.8) -> tuple[np.ndarray, np.ndarray, np.ndarray | None,
                                                            np.ndarray | None]:
    """(times, mean, lower, upper) from a mapping, a tuple, or an object with
    `times` and `mean` (and `lower`/`upper`, or `interval(level)`)."""
    if isinstance(forecast, dict):
        get = forecast.get
    elif isinstance(forecast, (tuple, list)):
        if len(forecast) not in (2, 4):
            raise ValueError(f"forecast tuple must be (times, mean) or (times, mean, lower, upper), "
                             f"got {len(forecast)} items")
        keys = ("times", "mean", "lower", "upper")
        d = dict(zip(keys, forecast))
        get = d.get
    else:
        def get(k):
            return getattr(forecast, k, None)
    times, mean = get("times"), get("mean")
    if times is None or mean is None:
        raise TypeError("forecast must give 'times' and 'mean' (mapping, tuple or object attributes)")
    t = _times("forecast times", times)
    m = _array("forecast mean", mean, t.size)
    lo, hi = get("lower"), get("upper")
    if lo is None and hi is None and hasattr(forecast, "interval"):
        lo, hi = forecast.interval(level)
    lo = _array("forecast lower", lo, t.size) if lo is not None else None
    hi = _array("forecast upper", hi, t.size) if hi is not None else None
    return t, m, lo, hi


def _new_figure(title: str | None):
    Figure, Canvas = _matplotlib()
    fig = Figure(figsize=(11, 7), dpi=110, layout="constrained")
    Canvas(fig)
    top, bottom = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 2]})
    if title:
        fig.suptitle(title)
    return fig, top, bottom


def _save(fig, out) -> str:
    out = os.fspath(out)
    d = os.path.dirname(out)
    if d and not os.path.isdir(d):
        raise FileNotFoundError(f"output directory does not exist: {d}")
    fig.savefig(out, format="png")
    return out


def plot_forecast(trace_or_times, offsets=None, forecast=None, truth=None, out="out.png", title=None,
                  level: float = 0.8) -> str:
    """Measured offsets, a forecast with its interval band, and its error. Returns `out`.

    trace_or_times: a `chronotick.io.Trace` (then `offsets` must be None) or
    measurement times (s). offsets: measured offsets (s).
    forecast: (times, mean[, lower, upper]) as a tuple, a mapping with those
    keys, or an object with those attributes; a `chronotick.Forecast` (which
    has `interval(level)` instead) is drawn with its central `level` interval.
    truth: what was measured later, either an array aligned with the forecast
    times, or a pair (times, offsets) at any times inside the forecast span
    (the forecast is linearly interpolated there), or None to use the
    measurements that fall exactly on forecast times. The error panel shows
    forecast mean - truth, with the interval drawn around 0 as
    [mean - upper, mean - lower], so a miss is a point outside the band.
    """
    if hasattr(trace_or_times, "times") and hasattr(trace_or_times, "offsets"):
        if offsets is not None:
            raise TypeError("pass either a Trace or (times, offsets), not both")
        t = _times("trace times", trace_or_times.times)
        y = _array("trace offsets", trace_or_times.offsets, t.size)
        title = title or getattr(trace_or_times, "name", None)
    else:
        if offsets is None:
            raise TypeError("offsets is required when the first argument is an array of times")
        t = _times("times", trace_or_times)
        y = _array("offsets", offsets, t.size)
    if t.size == 0:
        raise ValueError("no measurements to plot (times is empty)")
    if forecast is None and truth is not None:
        raise TypeError("truth needs a forecast to compare with")
    ft = fm = flo = fhi = None
    if forecast is not None:
        ft, fm, flo, fhi = _forecast_arrays(forecast, level)
        if ft.size == 0:
            raise ValueError("forecast has no steps")
        # error panel: times et, truth ey, forecast em / elo / ehi at those times
        if isinstance(truth, tuple) and len(truth) == 2:
            et = _times("truth times", truth[0])
            ey = _array("truth offsets", truth[1], et.size)
            inside = (et >= ft[0]) & (et <= ft[-1])
            if not inside.any():
                raise ValueError(f"no truth time lies inside the forecast span [{ft[0]!r}, {ft[-1]!r}]")
            et, ey = et[inside], ey[inside]

            def at(a):
                return np.interp(et, ft, a) if a is not None else None
            em, elo, ehi = at(fm), at(flo), at(fhi)
        else:
            et, em, elo, ehi = ft, fm, flo, fhi
            if truth is not None:
                ey = _array("truth", truth, ft.size)
            else:
                idx = np.minimum(np.searchsorted(t, ft), t.size - 1)
                ey = np.where(t[idx] == ft, y[idx], np.nan)

    t0 = float(t[0])
    span = float(max(t[-1], ft[-1] if ft is not None else t[-1]) - t0)
    tdiv, tlabel = _time_axis(t0, span)
    ydiv, yunit = _value_unit(y, fm)
    fig, top, bottom = _new_figure(title)

    top.plot((t - t0) / tdiv, y * ydiv, ".", ms=4, color="0.25", label="measured offset")
    if ft is not None:
        x = (ft - t0) / tdiv
        one = x.size == 1       # a one-step forecast: a line and a band of one point draw nothing
        if flo is not None and fhi is not None:
            ilabel = f"{level:.0%} interval" if not isinstance(forecast, (dict, tuple, list)) else "interval"
            if one:
                top.errorbar(x, fm * ydiv, yerr=[(fm - flo) * ydiv, (fhi - fm) * ydiv], fmt="none",
                             ecolor=_COLORS[0], elinewidth=6, alpha=0.35, label=ilabel)
            else:
                top.fill_between(x, flo * ydiv, fhi * ydiv, color=_COLORS[0], alpha=0.25, lw=0, label=ilabel)
        top.plot(x, fm * ydiv, "o" if one else "-", color=_COLORS[0], lw=1.5, ms=5, label="forecast mean")
        ex = (et - t0) / tdiv
        if truth is not None:
            top.plot(ex, ey * ydiv, "o", ms=4, mfc="none", color=_COLORS[1], label="measured later")
        err = em - ey
        if elo is not None and ehi is not None:
            bottom.fill_between(ex, (em - ehi) * ydiv, (em - elo) * ydiv, color=_COLORS[0], alpha=0.2, lw=0,
                                label="interval (around mean)")
        ok = np.isfinite(err)
        mae = float(np.mean(np.abs(err[ok]))) if ok.any() else float("nan")
        bottom.plot(ex, err * ydiv, ".-", ms=3, lw=0.8, color=_COLORS[1],
                    label=f"forecast - measured (MAE {mae * ydiv:.3g} {yunit})")
        bottom.axhline(0, color="0.5", lw=0.8)
        bottom.legend(loc="upper left", fontsize=8)
    else:
        bottom.text(0.5, 0.5, "no forecast given", ha="center", va="center", transform=bottom.transAxes)
    top.set_ylabel(f"offset, reference - local ({yunit})")
    top.legend(loc="upper left", fontsize=8)
    top.grid(alpha=0.3)
    bottom.set_ylabel(f"error ({yunit})")
    bottom.set_xlabel(tlabel)
    bottom.grid(alpha=0.3)
    return _save(fig, out)


def _rolling_mean(a: np.ndarray, w: int) -> np.ndarray:
    """Trailing mean over the last `w` finite values (NaN until one is seen)."""
    ok = np.isfinite(a)
    c = np.concatenate(([0.0], np.cumsum(np.where(ok, a, 0.0))))
    k = np.concatenate(([0], np.cumsum(ok)))
    i = np.arange(1, a.size + 1)
    lo = np.maximum(i - w, 0)
    cnt = k[i] - k[lo]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt > 0, (c[i] - c[lo]) / np.maximum(cnt, 1), np.nan)


def plot_models(times, truth, models: dict, out="out.png", title=None, level=None, bands=2,
                band_models=None, faint=(), window=15) -> str:
    """Per-model forecasts against measured truth, and each model's error over time.

    times, truth: target times (s) and the offsets measured there (s).
    models: name -> (mean, lower, upper) arrays aligned with `times` (lower /
    upper may be None or all-NaN when a model has no interval).
    Interval bands are drawn for `band_models` (default: the first `bands`
    models that have one; more become unreadable). Models named in `faint`
    (e.g. baselines) are drawn thin and translucent. The lower panel shows
    each model's trailing mean absolute error over `window` targets, on a
    log scale (a diverging model and a good one fit on one axis).
    Returns `out`.
    """
    t = _times("times", times)
    y = _array("truth", truth, t.size)
    if t.size == 0:
        raise ValueError("nothing to plot: times is empty")
    if not isinstance(models, dict) or not models:
        raise ValueError("models must be a non-empty dict name -> (mean, lower, upper)")
    arrs = {}
    for name, v in models.items():
        if not isinstance(v, (tuple, list)) or len(v) != 3:
            raise ValueError(f"models[{name!r}] must be (mean, lower, upper), got {type(v).__name__}")
        m = _array(f"models[{name!r}] mean", v[0], t.size)
        lo = _array(f"models[{name!r}] lower", v[1], t.size) if v[1] is not None else None
        hi = _array(f"models[{name!r}] upper", v[2], t.size) if v[2] is not None else None
        arrs[name] = (m, lo, hi)

    t0 = float(t[0])
    tdiv, tlabel = _time_axis(t0, float(t[-1] - t0))
    fin = y[np.isfinite(y)]     # an inf in truth is skipped, as _value_unit does (it made the limits inf)
    lo_y, hi_y = np.quantile(fin, [0.01, 0.99]) if fin.size else (np.nan, np.nan)
    ydiv, yunit = _value_unit(y)
    if not hi_y > lo_y:
        # a constant (or all-NaN) truth spans nothing: the unit and limits from the truth and the
        # models' means together (a +-1e-12 s panel in ns had drawn every model off the axes; an
        # audit, 2026-12-06)
        means = [m[np.isfinite(m)] for m, _, _ in arrs.values()]
        ydiv, yunit = _value_unit(fin, *means)
        both = np.concatenate([fin] + means)
        if both.size:
            lo_y, hi_y = float(both.min()), float(both.max())
        if not hi_y > lo_y:
            c = lo_y if np.isfinite(lo_y) else 0.0
            half = max(abs(c) * 0.1, 1.0 / ydiv)
            lo_y, hi_y = c - half, c + half
    fig, top, bottom = _new_figure(title)
    x = (t - t0) / tdiv
    top.plot(x, y * ydiv, ".", ms=4, color="0.25", label="measured", zorder=3)
    pad = 0.5 * (hi_y - lo_y) + 1e-12
    def has_band(v):
        return v[1] is not None and v[2] is not None and np.isfinite(v[1]).any() and np.isfinite(v[2]).any()

    if band_models is None:
        band_models = [n for n, v in arrs.items() if has_band(v)][:max(0, int(bands))]
    if not is_int(window) or window < 1:
        raise ValueError(f"window must be a positive integer (targets), got {window!r}")
    lvl = f" {level:.0%}" if level is not None else ""
    for k, (name, (m, lo, hi)) in enumerate(arrs.items()):
        c = _COLORS[k % len(_COLORS)]
        err = m - y
        ok = np.isfinite(err)
        mae = float(np.mean(np.abs(err[ok]))) if ok.any() else float("nan")
        if name in band_models and has_band((m, lo, hi)):
            top.fill_between(x, lo * ydiv, hi * ydiv, color=c, alpha=0.18, lw=0, label=f"{name}{lvl} interval")
        weak = name in faint
        top.plot(x, m * ydiv, "-", color=c, lw=0.7 if weak else 1.3, alpha=0.55 if weak else 1.0,
                 label=f"{name} (MAE {mae * ydiv:.3g} {yunit})")
        bottom.plot(x, _rolling_mean(np.abs(err), int(window)) * ydiv, "-", color=c,
                    lw=0.9 if weak else 1.5, alpha=0.6 if weak else 1.0, label=name)
    # keep the diverging model (or a spike) from flattening everything else
    top.set_ylim((lo_y - pad) * ydiv, (hi_y + pad) * ydiv)
    top.set_ylabel(f"offset, reference - local ({yunit})")
    top.legend(loc="upper left", fontsize=8, ncol=2)
    top.grid(alpha=0.3)
    # log scale where there is a positive error to show (all-zero errors: linear, no warning)
    positive = any(np.any(np.asarray(ln.get_ydata(), float) > 0) for ln in bottom.get_lines())
    bottom.set_yscale("log" if positive else "linear")
    bottom.set_ylabel(f"MAE, last {int(window)} targets ({yunit}{', log' if positive else ''})")
    bottom.legend(loc="upper left", fontsize=8, ncol=3)
    bottom.set_xlabel(tlabel)
    bottom.grid(alpha=0.3, which="both")
    return _save(fig, out)


def plot_backtest(result, out="backtest.png", title=None, models=None, bands=2) -> str:
    """Plot a `chronotick.backtest.BacktestResult`: per-target truth and each
    model's mean / interval, then each model's absolute error. `models`
    restricts and orders the models drawn (default: all). Returns `out`."""
    for attr in ("times", "truth", "results"):
        if not hasattr(result, attr):
            raise TypeError(f"result must be a BacktestResult (no attribute {attr!r}), got {type(result).__name__}")
    names = list(models) if models is not None else list(result.results)
    unknown = [n for n in names if n not in result.results]
    if unknown:
        raise ValueError(f"models {unknown} not in the result; it has {list(result.results)}")
    arrs = {n: (result.results[n].mean, result.results[n].lower, result.results[n].upper) for n in names}
    faint = [n for n in names if n in _BASELINES]
    # bands for the models under test first, baselines only if nothing else has one
    order = [n for n in names if n not in faint] + faint
    band_models = [n for n in order if _finite_band(arrs[n])][:max(0, int(bands))]
    horizon = getattr(result, "horizon", 1)
    ahead = "next measurement" if horizon == 1 else f"{horizon} measurements ahead"
    title = title or f"{getattr(result, 'trace', 'backtest')}: predicting the {ahead}"
    return plot_models(result.times, result.truth, arrs, out=out, title=title, level=getattr(result, "level", None),
                       band_models=band_models, faint=faint)


_BASELINES = ("hold-last", "median-5", "prototype (recorded)")


def _finite_band(v) -> bool:
    lo, hi = v[1], v[2]
    return lo is not None and hi is not None and bool(np.isfinite(lo).any()) and bool(np.isfinite(hi).any())
