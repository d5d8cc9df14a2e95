"""Leakage-free rolling-origin backtest of offset forecasters.

For every target measurement i (after a warm-up), each forecaster sees only
the measurements strictly before t_i — never the target, never anything
later, never its own earlier predictions — and predicts the offset measured
at t_i. Scored against that measurement: absolute error statistics, the
coverage and width of the central interval, and the pinball loss of its two
ends.

A forecaster is a callable ``f(t, y, u, target_t, level) -> (mean, lower, upper)``
with t, y, u the history arrays (u may be None) and `level` the central
interval's nominal coverage. The baselines (hold-last, median of the last 5)
are plain numpy here so they are independent of the code under test.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass, field
from typing import Callable, Iterable

import numpy as np

from chronotick._validate import is_int, is_real
from chronotick.api import uncertainty_from_delay
from chronotick.io.trace import Trace

Forecaster = Callable[[np.ndarray, np.ndarray, "np.ndarray | None", float, float], tuple]

BASELINES = ("hold-last", "median-5")
PROTOTYPE = "prototype (recorded)"     # the trace's recorded prediction of the research prototype


def conformal_bounds(errors: np.ndarray, level: float) -> tuple[float, float]:
    """(lo, hi): the central `level` interval of a new error from n past ones,
    split-conformal: the floor((n + 1) a)-th and ceil((n + 1) (1 - a))-th
    smallest of them (a = (1 - level) / 2), which hold a new exchangeable
    error with probability >= level; NaN where n is too small for that.
    (np.quantile's interpolated a / 1 - a quantiles of 32 errors hold
    ~75% at level 0.8: until 2026-12-05 the baselines' intervals were
    those, scored beside the models' calibrated ones; an audit.)"""
    e = np.sort(np.asarray(errors, dtype=np.float64))
    n = e.size
    a = (1 - level) / 2
    k_lo = int(np.floor((n + 1) * a + 1e-9))
    k_hi = int(np.ceil((n + 1) * (1 - a) - 1e-9))
    if k_lo < 1 or k_hi > n:
        return np.nan, np.nan
    return float(e[k_lo - 1]), float(e[k_hi - 1])


def _errors_needed(level: float) -> int:
    """How many past errors a baseline's interval is made of: 32, or as many as a
    conformal interval at `level` needs (2 / (1 - level) - 1: 39 at 0.95)."""
    return max(32, int(math.ceil(2.0 / (1.0 - level) - 1.0 - 1e-9)))


def hold_last(t, y, u, target_t, level, horizon: int = 1):
    """Last measured value; interval from its own past errors at this lead,
    y[j + horizon] - y[j] (the newest 32, or as many as the level needs;
    conformal_bounds), so it is scored on the same footing. (Until 2026-12-06
    the changes from one measurement to the next at every horizon: the 8-ahead
    table's baseline intervals were of 1-ahead errors; an audit.)"""
    h = _check_horizon(horizon)
    tail = y[-(_errors_needed(level) + h):]
    d = tail[h:] - tail[:-h]
    if d.size < 2:
        return y[-1], np.nan, np.nan
    lo, hi = conformal_bounds(d, level)
    return y[-1], y[-1] + lo, y[-1] + hi


def median_last5(t, y, u, target_t, level, horizon: int = 1):
    """Median of the last 5 measurements; interval from its own past errors at
    this lead: the measurement `horizon` after each of the newest 32 (or as
    many as the level needs) runs of 5 less their median (conformal_bounds;
    until 2026-12-06 always the next measurement's, as hold_last)."""
    h = _check_horizon(horizon)
    m = float(np.median(y[-5:]))
    tail = y[-(_errors_needed(level) + 4 + h):]
    if tail.size < 9 + h:
        return m, np.nan, np.nan
    meds = np.array([np.median(tail[i - 5:i]) for i in range(5, tail.size - h + 1)])
    err = tail[4 + h:] - meds
    lo, hi = conformal_bounds(err, level)
    return m, m + lo, m + hi


def _check_horizon(horizon) -> int:
    """horizon as an int: a positive integer (measurements ahead), else ValueError naming it."""
    if not is_int(horizon) or horizon < 1:
        raise ValueError(f"horizon must be a positive integer (measurements ahead), got {horizon!r}")
    return int(horizon)


def _at_target(forecast) -> Forecaster:
    """A Forecaster from forecast(t, y, u, targets, levels) -> a core
    QuantileForecast: one target, the central interval at `level` (the
    median alone at level 0); NaN where the forecast is not ok."""
    def f(t, y, u, target_t, level):
        a = (1 - level) / 2
        levels = np.array([a, 0.5, 1 - a]) if a < 0.5 else np.array([0.5])
        fc = forecast(t, y, u, np.array([target_t]), levels)
        if not fc.ok:
            return np.nan, np.nan, np.nan
        q = fc.quantiles[0]
        return float(fc.mean[0]), float(q[0]), float(q[-1])

    return f


def core_model(name: str, params=None) -> Forecaster:
    """A classical model (or "fused") of the C++ core, called directly;
    params: a _core.ModelParams (None: the defaults)."""
    from chronotick import _core
    p = params if params is not None else _core.ModelParams()
    if name == "fused":
        return _at_target(lambda t, y, u, tg, lv: _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, u, tg,
                                                                      lv, p).forecast)
    return _at_target(lambda t, y, u, tg, lv: _core.forecast(name, t, y, u, tg, lv, p))


def predict_model(model: str = "auto") -> Forecaster:
    """The public path: chronotick.predict(...) one step of target - t[-1]
    ahead, given the measurements' uncertainty where the trace has one (as
    core_model gives it to the core)."""
    import chronotick

    def f(t, y, u, target_t, level):
        step = float(target_t - t[-1])
        if u is not None:    # a trace's 0 is unknown to the models, as core_model's core takes it
            u = np.where(u > 0, u, np.nan)
        fc = chronotick.predict(y, t, horizon=1, step_s=step, model=model, uncertainty=u,
                                quantile_levels=((1 - level) / 2, 0.5, (1 + level) / 2))
        lo, hi = fc.interval(level)
        return float(fc.mean[0]), float(lo[0]), float(hi[0])

    return f


@dataclass
class ModelResult:
    name: str
    mean: np.ndarray
    lower: np.ndarray
    upper: np.ndarray

    def has_interval(self) -> np.ndarray:
        return np.isfinite(self.lower) & np.isfinite(self.upper) & np.isfinite(self.mean)

    def metrics(self, truth: np.ndarray, level: float, scored: np.ndarray | None = None,
                scored_int: np.ndarray | None = None) -> dict:
        """scored / scored_int: the targets to score the point errors / the intervals on (None:
        all where this model has them; BacktestResult.table passes those every model has)."""
        err = self.mean - truth
        ae = np.abs(err)
        ok = np.isfinite(ae) if scored is None else scored & np.isfinite(ae)
        ae = ae[ok]
        has_int = self.has_interval() if scored_int is None else scored_int & self.has_interval()
        covered = (truth >= self.lower) & (truth <= self.upper)
        a = (1 - level) / 2
        tr, lo, hi = truth[has_int], self.lower[has_int], self.upper[has_int]
        pin_lo = np.maximum(a * (tr - lo), (a - 1) * (tr - lo))
        pin_hi = np.maximum((1 - a) * (tr - hi), -a * (tr - hi))
        return {
            "n": int(ok.sum()),
            "n_int": int(has_int.sum()),
            "mae": float(np.mean(ae)) if ae.size else np.nan,
            "median_ae": float(np.median(ae)) if ae.size else np.nan,
            "p95": float(np.quantile(ae, 0.95)) if ae.size else np.nan,
            "max": float(np.max(ae)) if ae.size else np.nan,
            "coverage": float(np.mean(covered[has_int])) if has_int.any() else np.nan,
            "width": float(np.median(hi - lo)) if has_int.any() else np.nan,
            "pinball": float(np.mean(pin_lo + pin_hi) / 2) if has_int.any() else np.nan,
        }


@dataclass
class BacktestResult:
    trace: str
    level: float
    horizon: int
    times: np.ndarray
    truth: np.ndarray
    results: dict[str, ModelResult] = field(default_factory=dict)
    # what a reader of the table should know about how it was made (rows the loader skipped,
    # origins whose window lacked a delay), printed under it by format()
    notes: list[str] = field(default_factory=list)

    def table(self) -> dict[str, dict]:
        """Every model's point errors scored on the same targets, those every model made a
        prediction for (the recorded prototype's, where the file lacks some, do not narrow the
        others': it is scored on those of them it has); its interval figures on those of them
        where it gave an interval ("n_int": a baseline's conformal interval needs 9 past
        errors, so median-5 has none for its first targets). Until 2026-12-05 each model was
        scored wherever it had a prediction: one abstaining on hard targets would have been
        scored on the easy ones (an audit)."""
        # (a model that predicted nothing at all narrows nothing: it is scored on no target, n 0)
        rs = [r for name, r in self.results.items() if name != PROTOTYPE and np.isfinite(r.mean).any()]
        scored = np.logical_and.reduce([np.isfinite(r.mean) for r in rs]) if rs else None
        return {name: r.metrics(self.truth, self.level, scored, scored) for name, r in self.results.items()}

    def format(self, unit: str = "ms") -> str:
        scales = {"s": 1.0, "ms": 1e3, "us": 1e6}
        if unit not in scales:
            raise ValueError(f"unit must be one of {sorted(scales)}, got {unit!r}")
        scale = scales[unit]
        rows = self.table()
        head = (f"{'model':<22}{'n':>5}{'MAE':>9}{'medAE':>9}{'P95':>9}{'max':>9}"
                f"{'cov' + str(round(self.level * 100)):>7}{'width':>9}{'pinball':>9}")
        ahead = "the next measurement" if self.horizon == 1 else f"{self.horizon} measurements ahead"
        lines = [f"{self.trace}  (errors in {unit}, predicting {ahead})", head]
        def cell(v, width, fmt, suffix=""):      # no interval (the recorded prototype): a dash
            # at least one space before each value, so that wide ones (errors in us) do not run together
            return " " + (f"{format(v, fmt) + suffix:>{width - 1}}" if np.isfinite(v) else f"{'–':>{width - 1}}")
        for name, m in rows.items():
            lines.append(f"{name:<22} {m['n']:>4}{cell(m['mae'] * scale, 9, '.3f')}{cell(m['median_ae'] * scale, 9, '.3f')}"
                         f"{cell(m['p95'] * scale, 9, '.3f')}{cell(m['max'] * scale, 9, '.3f')}"
                         f"{cell(m['coverage'] * 100, 7, '.1f', '%')}"
                         f"{cell(m['width'] * scale, 9, '.3f')}{cell(m['pinball'] * scale, 9, '.4f')}")
        lines.extend(f"note: {n}" for n in self.notes)
        return "\n".join(lines)


def check_length(trace: Trace, *, horizon: int = 1, warmup: int = 10) -> int:
    """The warmup run_backtest uses (max(warmup, horizon)), or ValueError
    naming the trace when it is too short to score any target."""
    if not is_int(warmup) or warmup < 0:
        raise ValueError(f"warmup must be a non-negative integer (the first target's index), got {warmup!r}")
    eff = max(int(warmup), horizon)
    n = len(trace)
    if eff >= n:
        src = trace.source.split("::")[0] if trace.source else "trace"
        raise ValueError(f"{src}: too short for the backtest: {n} measurements, it needs at least {eff + 1} "
                         f"(a warmup of {eff} before the first target: the larger of warmup = {warmup} "
                         f"and horizon = {horizon})")
    return eff


def run_backtest(trace: Trace, forecasters: dict[str, Forecaster] | None = None, *, level: float = 0.8,
                 horizon: int = 1, warmup: int = 10, max_history: int | None = 512,
                 include_baselines: bool = True,
                 include_prototype: bool | None = None, progress: Callable[[int, int], None] | None = None,
                 delay_weights: bool = True) -> BacktestResult:
    """Rolling-origin backtest over `trace`; see the module docstring.

    horizon: predict the measurement `horizon` measurements ahead: forecasters
    see measurements [.., i - horizon] for target i (1 = the next one).
    warmup: the first target is measurement index `warmup`.
    max_history: at most this many newest measurements are passed (None: all).
    delay_weights: where the trace has round-trip delays, the forecasters get
    u = chronotick.uncertainty_from_delay(y, delay) of the measurements they
    see (a noise model fitted on that window alone) rather than the trace's
    uncertainty (for NTP, a bound: delay/2 + dispersion), as the Engine does.
    include_prototype: score the recorded prototype prediction if the trace has one
    (``trace.extra["prototype_offset"]``); it predicted the next measurement, so
    None (the default) scores it at horizon 1 only, and True with a longer
    horizon is an error (it had seen more than the models 8 ahead: its row
    beat every 8-ahead model on max error until 2026-12-05; an audit).
    """
    if not is_real(level) or not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1), got {level!r}")
    n = len(trace)
    _check_horizon(horizon)
    if max_history is not None and (not is_int(max_history) or max_history < 1):
        raise ValueError(f"max_history must be a positive integer (measurements) or None (all), got {max_history!r}")
    warmup = check_length(trace, horizon=horizon, warmup=warmup)
    if include_prototype is None:
        include_prototype = horizon == 1
    elif include_prototype and horizon != 1:
        raise ValueError(f"include_prototype=True with horizon = {horizon}: the recorded prototype predicted the "
                         f"next measurement only (horizon 1)")
    proto = trace.extra.get("prototype_offset") if include_prototype else None
    if proto is not None:
        proto = np.asarray(proto, dtype=np.float64)
        if proto.shape != (n,):        # set after the Trace was made: not checked there
            raise ValueError(f"{trace.name}: extra['prototype_offset'] has shape {proto.shape}, the trace has "
                             f"{n} measurements (it must be aligned with times)")
    use_delay = delay_weights and trace.delay is not None
    # checked here, in the trace's terms, rather than part-way through by a forecaster naming an
    # index of its window (a column may have been set after the Trace was made)
    for col, used in (("delay", use_delay), ("uncertainty", trace.uncertainty is not None)):
        v = getattr(trace, col)
        bad = np.flatnonzero((np.asarray(v) < 0) | np.isinf(v)) if used else ()
        if len(bad):
            i = int(bad[0])
            hint = " or pass delay_weights=False (--no-delay-weights)" if col == "delay" else ""
            raise ValueError(f"{trace.name}: {col}[{i}] = {float(v[i])!r} at t = {float(trace.times[i])!r} "
                             f"must be >= 0 and finite (NaN where a measurement has none); fix the trace{hint}")
    all_f: dict[str, Forecaster] = {}
    if include_baselines:
        # their intervals from their own past errors at this horizon
        all_f["hold-last"] = functools.partial(hold_last, horizon=horizon)
        all_f["median-5"] = functools.partial(median_last5, horizon=horizon)
    all_f.update(forecasters or {})
    idx = np.arange(warmup, n)
    res = BacktestResult(trace=trace.name, level=level, horizon=horizon, times=trace.times[idx], truth=trace.offsets[idx])
    out = {name: np.full((idx.size, 3), np.nan) for name in all_f}
    if trace.skipped:
        res.notes.append(f"the loader skipped rows of the file: {dict(trace.skipped)}")
    chosen = re.search(r"::chrony_(?:measurements|statistics)\[(.+)\]$", trace.source or "")
    if chosen:        # a log of several sources: which one this is (the CLI's --source picks another)
        res.notes.append(f"source {chosen.group(1)} of the log")
    undelayed = 0
    for j, i in enumerate(idx):
        end = i - horizon + 1  # measurements [lo, end) are strictly before the origin's next one
        lo = 0 if max_history is None else max(0, end - max_history)
        t, y = trace.times[lo:end], trace.offsets[lo:end]
        if use_delay and np.all(np.isfinite(trace.delay[lo:end])):
            u = uncertainty_from_delay(y, trace.delay[lo:end])     # as the Engine: delays first
        else:
            undelayed += use_delay
            u = trace.uncertainty[lo:end] if trace.uncertainty is not None else None
            if u is not None and not np.all(np.isfinite(u)):
                u = None
        for name, f in all_f.items():
            # copies: a view of the trace would let a forecaster read later measurements
            # (through .base) or change the trace (truth and later histories) in place
            try:
                got = f(t.copy(), y.copy(), None if u is None else np.array(u, dtype=np.float64),
                        float(trace.times[i]), level)
            except Exception as exc:
                if hasattr(exc, "add_note"):          # Python >= 3.11: where it happened, the exception kept
                    exc.add_note(f"in forecaster {name!r} of the backtest of {trace.name}, target {i} "
                                 f"(t = {float(trace.times[i])!r}, from {end - lo} measurements)")
                raise
            try:
                row = np.asarray(got, dtype=np.float64)
            except (TypeError, ValueError):
                row = None
            if row is not None and row.shape == (3,):
                out[name][j] = row
            else:
                raise ValueError(f"forecaster {name!r} returned {got!r} for target {i} of {trace.name}; "
                                 f"a forecaster returns (mean, lower, upper) numbers (NaN where it has none)") from None
        if progress:
            progress(j + 1, idx.size)
    if undelayed:
        # as the Engine: delay weights only where every measurement of the window has a delay
        # (one NaN delay had turned them off for up to 512 origins, unsaid: an audit, 2026-12-05)
        res.notes.append(f"delay weights off at {undelayed} of {idx.size} origins: a measurement of their "
                         f"window has no delay (NaN); the trace's uncertainty{'' if trace.uncertainty is not None else ' (none)'} "
                         f"weighs them instead")
    for name, a in out.items():
        res.results[name] = ModelResult(name, a[:, 0], a[:, 1], a[:, 2])
    if proto is not None and np.isfinite(proto[idx]).any():
        nan = np.full(idx.size, np.nan)
        res.results[PROTOTYPE] = ModelResult(PROTOTYPE, proto[idx], nan, nan)
    return res


def trace_files(data_dir: str) -> list[str]:
    import glob
    import os
    return sorted(glob.glob(os.path.join(data_dir, "clock-traces", "*.csv")))


def summarize(results: Iterable[BacktestResult]) -> dict[str, dict]:
    """Mean over traces of each metric, per model (over the traces that
    score it: every model of any trace, in order of first appearance)."""
    results = list(results)
    if not results:
        raise ValueError("summarize needs at least one BacktestResult, got none")
    names = list(dict.fromkeys(name for r in results for name in r.results))
    out = {}
    for name in names:
        tabs = [r.table()[name] for r in results if name in r.results]
        out[name] = {k: float(np.mean([t[k] for t in tabs])) for k in tabs[0]}
    return out


SELECTION_VALUES = (8, 12, 16, 24, 32, 64)


def members_model(name: str = "auto", params=None) -> Forecaster:
    """chronotick's own model selection (`predict(model=name)`'s path through
    api.forecast_members): "auto" (the fusion with the shipped TSFM) or an
    ONNX model such as "clock-bolt"; params: the classical models'
    _core.ModelParams (None: the defaults)."""
    from chronotick import api
    return _at_target(lambda t, y, u, tg, lv: api.forecast_members(name, t, y, u, tg, lv, params=params)[0])


@dataclass
class WindowSelection:
    """MAE / median-5 MAE of each model for each value of one ModelParams
    field on each trace, and what choosing that value on the other traces
    gives on each trace held out."""
    param: str
    default: int
    values: tuple
    traces: list
    ratios: dict                # model -> [value, trace]

    def held_out(self, model: str) -> list[tuple[str, int, float]]:
        """(trace, value chosen on the others, the model's ratio on this trace)."""
        r = self.ratios[model]
        out = []
        for b, name in enumerate(self.traces):
            others = [c for c in range(len(self.traces)) if c != b]
            pick = int(np.argmin(r[:, others].mean(axis=1)))
            out.append((name, int(self.values[pick]), float(r[pick, b])))
        return out

    def markdown(self) -> str:
        d = self.values.index(self.default) if self.default in self.values else None
        lines = ["### How much of the lead over median-5 the default window owes to these traces", "",
                 f"The regression window of the classical models (`ModelParams.{self.param}`, default "
                 f"{self.default}) was chosen on these same traces. Below: MAE / median-5 MAE per trace for each "
                 "window, then leave-one-trace-out: each trace scored with the window that is best (mean of "
                 "ratios) on the other traces, chosen per model. The gap between the default's mean and the "
                 "held-out mean is what choosing the window on these traces adds to the tables above.", ""]
        for model, r in self.ratios.items():
            lines += [f"`{model}`:", "",
                      f"| {self.param} | " + " | ".join(self.traces) + " | mean of ratios |",
                      "|---:|" + "---:|" * (len(self.traces) + 1)]
            for a, v in enumerate(self.values):
                mark = " (default)" if a == d else ""
                lines.append(f"| {v}{mark} | " + " | ".join(f"{x:.3f}" for x in r[a]) + f" | {r[a].mean():.3f} |")
            ho = self.held_out(model)
            lines.append("| held out (window chosen on the others) | " +
                         " | ".join(f"{x:.3f} ({v})" for _, v, x in ho) + f" | {np.mean([x for *_, x in ho]):.3f} |")
            lines.append("")
        return "\n".join(lines)


def select_window(traces: list[Trace], param: str = "regression_max", values=SELECTION_VALUES, *,
                  models=("fused", "auto"), level: float = 0.8, horizon: int = 1,
                  delay_weights: bool = True) -> WindowSelection:
    """Backtest `models` ("fused": the classical ensemble; "auto": predict's
    default, with the shipped TSFM) on every trace for each value of `param`
    (a ModelParams field) and keep the ratios to median-5 for
    leave-one-trace-out selection (WindowSelection.held_out). Needs at least
    2 traces and 2 values."""
    from chronotick import _core
    if len(traces) < 2:
        raise ValueError(f"window selection needs at least 2 traces (one held out), got {len(traces)}")
    if not hasattr(_core.ModelParams(), param):
        raise ValueError(f"{param!r} is not a ModelParams field")
    values = tuple(values)
    bad = [v for v in values if not (is_int(v) or (is_real(v) and float(v).is_integer()))]
    if bad:      # int() had truncated 12.7 to 12 without a word
        raise ValueError(f"window selection values must be whole numbers, got {bad[0]!r}")
    values = tuple(int(v) for v in values)
    if len(values) < 2:
        raise ValueError(f"window selection needs at least 2 values to choose from, got {values!r}")
    makers = {"fused": lambda p: core_model("fused", p), "auto": lambda p: members_model("auto", p)}
    for m in models:
        if m not in makers:
            raise ValueError(f"window selection models must be 'fused' or 'auto', got {m!r}")
    ratios = {m: np.full((len(values), len(traces)), np.nan) for m in models}
    for a, v in enumerate(values):
        p = _core.ModelParams()
        setattr(p, param, v)
        forecasters = {m: makers[m](p) for m in models}
        for b, tr in enumerate(traces):
            tab = run_backtest(tr, forecasters, level=level, horizon=horizon, include_prototype=False,
                               delay_weights=delay_weights).table()
            for m in models:
                ratios[m][a, b] = tab[m]["mae"] / tab["median-5"]["mae"]
    return WindowSelection(param, int(getattr(_core.ModelParams(), param)), values, [t.name for t in traces], ratios)
