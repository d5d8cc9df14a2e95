"""`Engine`: streaming forecasts of a clock's offset, from several threads.

Measurements go into a lock-free ring buffer (C++); forecasts read a
snapshot of the newest `engine.history` of them (an ONNX long-term model:
as many as its window and calibration span, within engine.buffer_capacity). The engine forecasts from
MEASUREMENTS ONLY: its own forecasts are never written back.

    with chronotick.Engine({"short_term": {"horizon": 8}}) as eng:
        eng.observe(t, offset, uncertainty=0.002)      # producer thread(s); or delay=0.031 (NTP)
        fc = eng.predict_fused()                       # consumer thread(s)
        eng.health(), eng.stats()

Threads: any number of threads may observe and forecast; producers are
serialised by one lock and consumers by another, so the single-producer/
single-consumer ring sees one of each. A forecast also holds the producers'
lock while it copies its snapshot (microseconds), so the measurements, their
delays and their covariates come from the same moment. A failing model (corrupt ONNX file,
NaN output, exception) is marked unhealthy in `health()` and left out of the
fusion: a forecast call raises only for the caller's own mistakes (bad
arguments, no measurements yet). A model that failed to load stays out for the
engine's lifetime (the file is read once, at construction: fixing, replacing or
deleting it later changes nothing; make a new Engine). One that failed while
running is tried again after _ModelSlot.RETRY_S (60 s) and shown healthy again
only once a run succeeds.

Units: seconds for times; offsets in the unit observed (seconds by
convention, offset = reference - local).
"""
from __future__ import annotations

import collections
import copy
import math
import os
import threading
import time

import numpy as np

from chronotick import _core
from chronotick import models as registry
from chronotick._validate import int_times_hint
from chronotick._validate import quantile_levels as _check_levels
from chronotick.api import (AUTO_ONNX, SHORT_TERM_PROVIDERS, _median_spacing, classical_forecast, dropped_note,
                            fuse_with_onnx, load_onnx, pinned_levels, with_base_levels)
from chronotick.config import load_config
from chronotick.errors import ConfigError, ForecastError
from chronotick.forecast import Forecast
from chronotick.models.onnx import _RunFailed


def _finite(name, v) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a number, got {type(v).__name__} {v!r}")
    try:
        v = float(v)
    except OverflowError:      # an int beyond float64 (float() would not name the argument)
        raise ValueError(f"{name} must be finite, got {v!r} (beyond float64)") from None
    if not math.isfinite(v):
        raise ValueError(f"{name} must be finite, got {v!r}")
    return v


def _rows_of(bt: np.ndarray, t: np.ndarray) -> slice | None:
    """The rows of a side buffer (delays, covariates; times bt) that belong to
    the measurements at times t, or None where some have none. Its rows are
    pushed just before their measurement, so a snapshot taken after the
    measurements' may hold a few newer ones: they are found by the newest
    measurement time."""
    end = int(np.searchsorted(bt, t[-1], side="right"))
    return slice(end - t.size, end) if end >= t.size and np.array_equal(bt[end - t.size:end], t) else None


def _name_clashes(names: list[str]) -> set[str]:
    """The ONNX entries of short_term.models (registered names or .onnx
    paths) that are paths whose file stem is also another member's name (a
    classical model's, a registered model's, another path's stem): these are
    named by their whole path in the forecasts."""
    def stem(p):
        return os.path.splitext(os.path.basename(p))[0]
    registered = [n for n in names if n in registry.onnx_models()]
    paths = [n for n in names if n not in registry.onnx_models()]
    taken = set(registry.CLASSICAL) | {registry.FUSED, registry.AUTO, "regression+temp"} | set(registered)
    stems = collections.Counter(stem(p) for p in paths)
    return {p for p in paths if stem(p) in taken or stems[stem(p)] > 1}


class _ModelSlot:
    """One ONNX model the engine runs, with its health. A model that failed
    to load stays unhealthy; one that failed while running is left out for
    RETRY_S seconds, then tried again (a transient fault does not cost it
    for the engine's lifetime; health() shows the failure meanwhile)."""

    RETRY_S = 60.0

    def __init__(self, name: str, path: str, providers, threads: int, step_factor: float = 1.0,
                 own_name: bool = False, step_s: float | None = None, detrend_r2: float | None = None,
                 min_history: int = 1):
        # own_name: the forecasts are named `name` (the long-term slot, "NAME (long-term)"),
        # else the model's file name, as elsewhere
        self.name, self.path = name, path
        self.ok, self.reason, self.forecaster, self.skipped = True, "", None, ""
        self.reach_note = ""    # ok, but out of reach of its forecast kind's horizon (Engine._note_reach)
        self.failed_at = 0.0      # time.monotonic() of the newest failure while running
        self.never = False        # loaded, but can never forecast here: unhealthy for good
        try:
            from chronotick.models.onnx import OnnxForecaster
            self.forecaster = load_onnx(path, lambda: OnnxForecaster(
                path, providers=providers, intra_op_threads=threads, step_factor=step_factor, step_s=step_s,
                name=name if own_name else None, detrend_r2=detrend_r2))[0]
        except Exception as exc:  # corrupt, missing or mismatched file: unhealthy, not fatal
            self.ok, self.reason = False, f"load failed: {type(exc).__name__}: {exc}"
            return
        context = self.forecaster.context
        if context < min_history:
            # it is used from min_history measured cells of its window on, which holds `context`
            # (found by an audit, 2026-12-05: such a model was left out of every forecast with a
            # note while health() called it ok)
            self.ok, self.never = False, True
            self.reason = (f"its window holds {context} cells, fewer than engine.min_history {min_history} "
                           f"measured ones it needs: it can never forecast")

    def forecast(self, t, y, targets, levels, partial: bool = False):
        """Its forecast, or None (unhealthy, or the targets out of its reach:
        then `skipped` says why). partial: NaN at the targets beyond its
        reach (OnnxForecaster.forecast_within_reach; the core fusion uses it
        where it reaches), None only when it reaches none."""
        self.skipped = ""
        if not self._usable():
            return None
        try:
            if partial:
                fc = self.forecaster.forecast_within_reach(t, y, targets, levels)
                if fc is None:
                    return self._out_of_reach(t, targets)
            else:
                fc = self.forecaster.forecast(t, y, targets, levels)
        except ValueError as exc:   # e.g. targets beyond its horizon: not a fault of the model
            if "horizon" in str(exc) or "ahead" in str(exc):
                self.skipped = f"{self.name} left out: {exc}"
                return None
            if "float32" in str(exc):
                # the window holds a value the model's float32 input cannot carry (a finite but
                # absurd offset, 1e39): the data's fault, not the model's -- left out while it is
                # in the window, not marked unhealthy (until 2026-12-05 it was, health() blaming
                # the model for hours; an audit)
                self.skipped = f"{self.name} left out: its window cannot be given to the model ({exc})"
                return None
            return self._fail(exc)
        except Exception as exc:
            return self._fail(exc)
        return self._checked(fc)

    def _checked(self, fc):
        """fc if usable (finite wherever it reaches), else the slot fails: None."""
        from chronotick.models.onnx import usable
        if not usable(fc):
            return self._fail(RuntimeError(f"non-finite output ({fc.note})"))
        self.ok, self.reason = True, ""     # healthy (again, after a retry): it ran and its output is usable
        return fc

    def _usable(self) -> bool:
        """Whether to run it now: healthy, or failed while running RETRY_S ago or longer (a
        retry). A retry leaves it unhealthy in health() until a run succeeds (it had been
        shown healthy before the run, and stayed so, old reason and all, where the call did
        not run it: targets out of its reach)."""
        if self.ok:
            return True
        # a load failure (or a model too short to be used): for good; a running failure: not
        # yet, or a retry
        return self.forecaster is not None and not self.never and time.monotonic() - self.failed_at >= self.RETRY_S

    def history_needed(self, t, min_history: int) -> int:
        """Measurements it needs before it forecasts: min_history cells of its
        grid -- min_history x (grid step / median spacing) on a coarser grid
        (the long-term model: fewer cells leave its window nearly empty) --
        else min_history. On a coarser grid also enough for its one-step
        calibration (calib_min pairs: 79 measurements at step_factor 8): its
        own quantiles there are of cell averages, not of measurements (until
        2026-12-04 it joined at 64, and from 64 to 78 measurements its raw
        80% intervals covered 12-36% on simulated TCXO clocks; audit)."""
        f = self.forecaster
        if f is None or t.size < 2:
            return min_history
        try:
            r = f._grid_ratio(t)
        except Exception:  # noqa: BLE001 - the forecast itself reports what is wrong
            return min_history
        if not math.isfinite(r):
            return min_history
        cells = max(min_history, int(math.ceil(min_history * r - 1e-9)))
        if r <= 1 or f.calib_window <= 0:
            return cells
        m, start = f._pair_start(1, 0, r)          # with no history: the first target's index
        return max(cells, start + f.calib_min)

    def observed_cells(self, t) -> int:
        """Cells of its window holding a measurement (OnnxForecaster.observed_cells); a large
        number where there is no forecaster (the forecast itself then says why)."""
        if self.forecaster is None:
            return 1 << 30
        try:
            return self.forecaster.observed_cells(t)
        except Exception:  # noqa: BLE001 - the forecast itself reports what is wrong
            return 1 << 30

    def _out_of_reach(self, t, targets):
        self.skipped = f"{self.name} left out: {self.forecaster.out_of_reach(t, targets)}"
        return None

    def forecast_with_past(self, t, y, targets, levels, params, fused_tail=None) -> tuple:
        """(forecast, past) for the fusion: `forecast(..., partial=True)` and
        `past(...)` from one call of OnnxForecaster.forecast_with_past (one
        calibration, one batched run). Should that call fail, the two are
        tried apart, so a failure of the past alone costs only the past --
        except where onnxruntime raised in the run: the session would only
        raise again (a second run as long as the first, on every failing call)."""
        self.skipped = ""
        if not self._usable():
            return None, (None, None)
        try:
            fc, *past = self.forecaster.forecast_with_past(t, y, targets, levels, params, fused_tail)
        except _RunFailed as exc:
            return self._fail(exc), (None, None)
        except Exception:  # noqa: BLE001 - retried apart below, where each failure is classified
            fc = self.forecast(t, y, targets, levels, partial=True)
            return fc, (self.past(t, y, targets, params, fused_tail) if fc is not None else (None, None))
        if fc is None:
            return self._out_of_reach(t, targets), (None, None)
        self.ok, self.reason = True, ""     # healthy (again, after a retry)
        return fc, tuple(past)              # usable: forecast_with_past raises otherwise

    def past(self, t, y, targets, params, fused_tail=None) -> tuple:
        """(prefix, target, past_mean, past_sigma): its past predictions at the
        fusion's calibration pairs (OnnxForecaster.fusion_past), or
        (None, None) if they cannot be had (then the fusion weighs it by its
        sigma only)."""
        try:
            return self.forecaster.fusion_past(t, y, targets, params, fused_tail)
        except Exception:  # noqa: BLE001 - the forecast itself succeeded; this is optional
            return None, None

    def _fail(self, exc):
        self.ok, self.reason = False, f"{type(exc).__name__}: {exc}"
        self.failed_at = time.monotonic()
        return None


class Engine:
    """See the module docstring. config: None, a dict, or a YAML path
    (chronotick.config documents the keys). covariates=True starts a
    chronotick.SystemMetricsCollector for the engine's lifetime."""

    def __init__(self, config=None, *, covariates: bool = False):
        self._cfg = cfg = copy.deepcopy(load_config(config))   # private: changes after construction are not checked
        e = cfg["engine"]
        self._buf = _core.MeasurementBuffer(e["buffer_capacity"])
        self._delay_buf = _core.MeasurementBuffer(e["buffer_capacity"])   # (t, round-trip delay) where given
        self._delay_fit: dict | None = None       # the newest forecast's delay noise fit (stats())
        self._params = _core.ModelParams()
        self._params.min_history = e["min_history"]
        self._params.calib_origins = e["calib_origins"]
        self._params.calib_spread = e["calib_spread"]
        self._params.kalman_live_pairs = e["kalman_live_pairs"]
        self._produce = threading.Lock()
        self._consume = threading.Lock()
        self._last_t: float | None = None
        self._cov_names: tuple[str, ...] | None = None
        self._cov_buf = None
        self._counts = collections.Counter()
        self._stats_lock = threading.Lock()   # counts/latencies: written by producers and consumers, read by stats()
        self._latency = {k: collections.deque(maxlen=1000) for k in ("short_term", "long_term", "fused", "at")}
        self._latency_total = {k: [0, 0.0] for k in self._latency}   # every call: count, seconds
        self._last_error: str | None = None
        # a classical model named in the config -> why its newest forecast failed (it fell back to
        # hold); gone once it forecasts again (health(); until 2026-12-05 such a model read ok)
        self._classical_failing: dict[str, str] = {}
        self._closed = False
        o = cfg["onnx"]
        self._onnx: dict[str, _ModelSlot] = {}
        # "auto" = the classical fusion plus the shipped ONNX model when present
        self._short_names: list[str] = []
        for name in cfg["short_term"]["models"]:
            if name == "auto":
                extra = ["fused"] + ([AUTO_ONNX] if AUTO_ONNX in registry.onnx_models() else [])
                self._short_names += [m for m in extra if m not in self._short_names]
            elif name not in self._short_names:
                self._short_names.append(name)
        files: dict[str, str] = {}
        onnx_short = [n for n in self._short_names if n in registry.onnx_models() or registry.onnx_file_name(n)]
        clashes = _name_clashes(onnx_short)
        for name in onnx_short:
            path = registry.onnx_models().get(name, name)
            same = files.setdefault(os.path.realpath(path), name)
            if same != name:
                # one model fused twice, its weight doubled
                raise ConfigError(f"short_term.models: {name!r} is the same ONNX file as {same!r}"
                                  + (" (which 'auto' includes)" if same == AUTO_ONNX else ""))
            # a registered model's forecasts are named as it was registered; a path's after its
            # file, or after the whole path where that name is another member's too (two exports
            # both saved as model.onnx, or a kalman.onnx beside the classical kalman had been fused
            # under one name: the weights dict kept one of them)
            self._add_slot(name, path, o, own_name=name in registry.onnx_models() or name in clashes)
        # The long-term model: its own session, run on a grid step_factor times coarser
        # (64 steps reach that much further), under its own name so it can sit
        # beside the same model used short-term.
        lt = cfg["long_term"]
        # the long-term model's names in the forecasts ("auto": the classical fusion plus
        # the shipped model on the long-term grid, as "auto" means everywhere else)
        self._long_names: list[str] = [] if not lt["model"] else [lt["model"]]
        self._long_slot: str | None = None      # the long-term ONNX model's slot name
        self._long_history = e["history"]       # measurements it sees (below)
        self._long_fixed = False                # its grid step fixed (short_term.step_s): sized per snapshot
        onnx_long = lt["model"]
        if lt["model"] == "auto":
            onnx_long = AUTO_ONNX if AUTO_ONNX in registry.onnx_models() else None
            self._long_names = ["fused"]
        if onnx_long and (onnx_long in registry.onnx_models() or registry.onnx_file_name(onnx_long)):
            base = onnx_long if onnx_long in registry.onnx_models() else os.path.splitext(os.path.basename(onnx_long))[0]
            long_name = f"{base} (long-term)"
            long_path = registry.onnx_models().get(onnx_long, onnx_long)
            same = files.get(os.path.realpath(long_path))
            if same is not None and lt["step_factor"] == 1:
                # on the short-term grid the long-term slot makes the short-term member's forecasts
                # again: predict_fused() had fused both, one model's weight doubled (an audit,
                # 2026-12-06; two short-term names of one file were refused already, above)
                raise ConfigError(f"long_term.model: {lt['model']!r} is the same ONNX file as short-term "
                                  f"{same!r}" + (" (which 'auto' includes)" if same == AUTO_ONNX else "")
                                  + " and long_term.step_factor is 1, so it forecasts on the same grid: its "
                                    "weight would count twice in predict_fused(); use a step_factor other "
                                    "than 1, or leave it out of one side")
            self._long_names = [n for n in self._long_names if n != onnx_long] + [long_name]
            # on the long-term grid: step_factor x (short_term.step_s, or the median spacing)
            fixed = cfg["short_term"]["step_s"]
            self._add_slot(long_name, long_path, o,
                           step_factor=lt["step_factor"] if fixed is None else 1.0, own_name=True,
                           step_s=None if fixed is None else float(fixed) * lt["step_factor"], long_term=True)
            f = self._onnx[long_name].forecaster
            if f is not None:
                # the long-term model sees the measurements its window spans (context cells of
                # step_factor spacings), its calibration pairs' prefixes included, up to the
                # buffer: with engine.history alone (512) it saw 64 of its 256 cells at step_factor
                # 8, and every new measurement changed every calibration prefix (the oldest one
                # left the window): ~170 model rows, ~40 ms per forecast
                self._long_slot = long_name
                self._long_history = self._long_span(lt["step_factor"])
                self._long_fixed = fixed is not None
                slot = self._onnx[long_name]
                cap = e["buffer_capacity"]
                # on a grid of step_factor spacings it joins after history_needed measurements (its
                # window's min_history cells and its one-step calibration): more than the buffer
                # holds, it can never forecast (an audit, 2026-12-06: left out of every forecast with
                # a note while health() called it ok). (With a fixed step_s the ratio depends on the
                # measurements' spacing: said by each forecast's note instead.)
                # (a regular grid of unit spacing: its ratio is step_factor whatever its length;
                # 66 points, the 65 spacings the grid step is the median of)
                need = slot.history_needed(np.arange(66.0), e["min_history"]) if fixed is None else 0
                if need > cap:
                    slot.ok, slot.never = False, True
                    slot.reason = (f"needs {need} measurements at step_factor {lt['step_factor']:g}, "
                                   f"engine.buffer_capacity holds {cap}: it can never forecast")
        self._note_reach(cfg)
        self._onnx_names = list(self._onnx)       # health() after close() still lists them
        names = cfg["covariates"]["names"]
        if names is not None:
            self._cov_names = tuple(sorted(names))
            if names:
                self._cov_buf = _core.CovariateBuffer(e["buffer_capacity"], len(names))
        self._metrics = None
        if covariates or cfg["covariates"]["metrics"]:
            from chronotick.metrics import SystemMetricsCollector
            c = cfg["covariates"]
            self._metrics = SystemMetricsCollector(interval_s=c["interval_s"], capacity=c["capacity"]).start()
            # stopped when the engine is closed -- or collected unclosed: its sampling thread
            # had run on for the rest of the process (an audit, 2026-12-05)
            import weakref
            weakref.finalize(self, self._metrics.stop)

    # -- producers ------------------------------------------------------------
    def observe(self, t, offset, uncertainty=None, delay=None, **covariates) -> None:
        """One measurement: time t (s, strictly after the previous one),
        offset, optional standard uncertainty (> 0, same unit; None:
        unknown -- a NaN is refused here as a likely mistake, while
        observe_many's arrays mark unknown entries with NaN; 0 is refused:
        the models weigh by 1/u^2, so give an exact reference's
        resolution, e.g. 1e-9 s), optional
        round-trip delay (>= 0, any unit: an NTP exchange's), optional
        covariates by name (floats; the names are fixed by config
        `covariates.names` or else by the first call; `temperature` (deg C)
        adds a temperature-compensated regression to the fusion).
        Where every measurement of a forecast's window has a delay, the
        models weigh them by `chronotick.uncertainty_from_delay` of that
        window (the delays' noise model fitted on it) instead of by the
        uncertainties. A rejected call (ValueError/TypeError) changes nothing."""
        self._check_open()
        raw_t, t = t, _finite("t", t)
        offset = _finite("offset", offset)
        u = math.nan
        if uncertainty is not None:
            u = _finite("uncertainty", uncertainty)
            # one rule in both messages: > 0, or None (the refusals had said ">= 0" and "or NaN",
            # while 0 and NaN are both refused here; an audit, 2026-12-05)
            if u < 0:
                raise ValueError(f"uncertainty must be > 0 (or None for unknown), got {u!r}")
            if u == 0:
                from chronotick._validate import ZERO_UNCERTAINTY
                raise ValueError(f"uncertainty = 0.0: {ZERO_UNCERTAINTY}, or None for unknown")
        d = None
        if delay is not None:
            d = _finite("delay", delay)
            if d < 0:
                raise ValueError(f"delay must be >= 0, got {d!r}")
        cov = {k: _finite(k, v) for k, v in covariates.items()}
        with self._produce:
            self._check_open()
            if self._last_t is not None and not t > self._last_t:
                raise ValueError(f"t = {t!r} is not after the previous measurement's t = {self._last_t!r}"
                                 f"{int_times_hint(raw_t)}")
            self._check_cov_names(cov)
            if self._cov_buf is not None:
                self._cov_buf.push(t, np.array([cov[k] for k in self._cov_names]))
            if d is not None:
                self._delay_buf.push(t, d, math.nan)
            self._buf.push(t, offset, u)
            self._last_t = t
            with self._stats_lock:
                self._counts["observations"] += 1

    def observe_many(self, t, offsets, uncertainty=None, delay=None) -> None:
        """Many measurements at once (arrays; the rules of observe, except that
        a NaN entry of `uncertainty` means unknown for that measurement)."""
        from chronotick._validate import as_1d_float, check_timestamps, uncertainty as check_u
        self._check_open()
        raw_t, t = t, as_1d_float(t, "t")
        try:
            check_timestamps(t, "t")
        except ValueError as exc:
            raise ValueError(f"{exc}{int_times_hint(raw_t)}") from None
        y = as_1d_float(offsets, "offsets")
        if y.size != t.size:
            raise ValueError(f"offsets has {y.size} entries, t has {t.size}")
        u = check_u(uncertainty, t.size)
        d = None if delay is None else as_1d_float(delay, "delay")
        if d is not None:
            if d.size != t.size:
                raise ValueError(f"delay has {d.size} entries, t has {t.size}")
            neg = np.flatnonzero(d < 0)
            if neg.size:
                raise ValueError(f"delay[{int(neg[0])}] = {float(d[neg[0]])!r} is negative")
        with self._produce:
            self._check_open()
            if self._cov_names:
                raise ValueError(f"observe_many carries no covariates, but this engine records {self._cov_names}")
            if t.size and self._last_t is not None and not t[0] > self._last_t:
                raise ValueError(f"t[0] = {t[0]!r} is not after the previous measurement's t = {self._last_t!r}"
                                 f"{int_times_hint(raw_t)}")
            if t.size:
                if d is not None:
                    self._delay_buf.push_many(t, d, None)
                self._buf.push_many(t, y, u)
                self._last_t = float(t[-1])
                with self._stats_lock:
                    self._counts["observations"] += int(t.size)

    def _check_cov_names(self, cov: dict) -> None:
        names = tuple(sorted(cov))
        if self._cov_names is None and self._counts["observations"] == 0:
            if names:
                self._cov_names = names
                self._cov_buf = _core.CovariateBuffer(self._cfg["engine"]["buffer_capacity"], len(names))
            else:
                self._cov_names = ()
        elif names != (self._cov_names or ()):
            raise ValueError(f"covariates {list(names)} differ from the engine's {list(self._cov_names or ())} "
                             "(fixed by config covariates.names or the first observation)")

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("this Engine is closed")

    @property
    def config(self) -> dict:
        """The validated configuration in use (a copy: editing it changes
        nothing -- the engine's models, buffers and grids were made from it;
        make a new Engine for another configuration. Editing it had changed
        short_term.horizon/step_s unchecked and left the other keys ignored)."""
        return copy.deepcopy(self._cfg)

    def _long_span(self, ratio: float) -> int:
        """Measurements the long-term model sees where one step of its grid spans `ratio` of
        them: its window (context cells), its calibration pairs' prefixes and their targets
        (horizon cells) and the 65 its grid step is measured on, at least engine.history, at
        most the buffer."""
        f = self._onnx[self._long_slot].forecaster
        e = self._cfg["engine"]
        # in floats: a finite ratio can still make the products infinite (timestamps 1e-306 s
        # apart with step_s 1), where math.ceil raised OverflowError in every forecast's snapshot
        window, ahead = f.context * ratio, f.horizon * ratio
        if not window + ahead < e["buffer_capacity"]:      # also NaN and inf
            return e["buffer_capacity"]
        span = math.ceil(window) + 65 + f.calib_window + math.ceil(ahead)
        return max(e["history"], min(e["buffer_capacity"], span))

    # -- consumers ------------------------------------------------------------
    def _snapshot(self):
        n = self._cfg["engine"]["history"]
        # The three buffers copied with no producer between them (the caller holds
        # _consume; lock order _consume -> _produce, as close()): an observe_many of
        # more than 64 measurements with delays, pushed between the measurements'
        # snapshot and the delays', had left that forecast without its delay weights.
        with self._produce:
            cov = self._cov_buf is not None and "temperature" in self._cov_names
            tl, yl, u = self._buf.snapshot(self._long_history)   # the long-term model's (>= n)
            if self._long_fixed and tl.size == self._long_history and tl.size >= 2:
                # a fixed short_term.step_s: how many measurements the long-term grid's step
                # spans is known only from their spacing (sized as if the polls were step_s
                # apart, with 16 s polls and step_s 64 it saw 85 of its 256 cells; until
                # 2026-12-04, session 27)
                need = self._long_span(self._onnx[self._long_slot].forecaster._grid_ratio(tl))
                if need > tl.size:
                    tl, yl, u = self._buf.snapshot(need)
            ct, cv = self._cov_buf.snapshot(n + 64) if cov else (None, None)
            dt, d, _ = self._delay_buf.snapshot(n + 64)
        if tl.size == 0:
            raise ValueError("no measurements observed yet")
        t, y, u = tl[-n:], yl[-n:], u[-n:]
        temp = None
        if cov:
            rows = _rows_of(ct, t)
            if rows is not None:
                temp = cv[rows, self._cov_names.index("temperature")]
        elif self._metrics is not None:
            temp = self._collector_temperature(t)
        u = np.where(np.isfinite(u), u, 0.0) if np.isfinite(u).any() else None
        rows = _rows_of(dt, t)
        if rows is not None:   # every one has its delay
            # uncertainty_from_delay without its checks: observe() checked every value and delay
            u_d, k, _, x_typ = _core.delay_noise(y, d[rows])
            with self._stats_lock:
                self._delay_fit = {"k": float(k), "x_typ": float(x_typ), "weighted": bool(k > 0),
                                   "measurements": int(t.size)}
            if u_d is not None:
                u = u_d
        elif self._delay_fit is not None:
            # this forecast weighs by no delays: stats() must not show an older window's fit
            with self._stats_lock:
                self._delay_fit = None
        return t, y, u, temp, (tl, yl)

    def _note_reach(self, cfg: dict) -> None:
        """Each ONNX slot's `reach_note`, shown as its reason in health() while it is ok: where a
        forecast kind's models are ONNX models only and none reaches its configured horizon, that
        kind's forecasts fall back to the classical fusion with a note every time -- by design
        (out of reach is not a fault, and predict_fused() still fuses the model where it
        reaches), but health() had said nothing of it (an audit, 2026-12-06). Judged where the
        model's grid is the forecast's: the long-term grid always, the short-term one where
        short_term.step_s is not fixed (the model then steps at the median measurement spacing,
        as the grid does; a fixed step against the spacing depends on the data)."""
        def short_of(names, horizon, kind):
            slots = [self._onnx.get(n) for n in names]
            if not names or any(s is None for s in slots):
                return                 # a classical member reaches every step
            loaded = [s for s in slots if s.forecaster is not None]
            if any(s.forecaster.horizon >= horizon for s in loaded):
                return
            for s in loaded:
                s.reach_note = (f"its horizon of {s.forecaster.horizon} steps is short of {kind}.horizon "
                                f"{horizon} and no other {kind} model reaches further: predict_{kind}() "
                                f"falls back to the classical fusion")
        st, lt = cfg["short_term"], cfg["long_term"]
        if st["step_s"] is None:
            short_of(self._short_names, st["horizon"], "short_term")
        short_of(self._long_term_names, lt["horizon"], "long_term")

    def _add_slot(self, name: str, path: str, o: dict, step_factor: float = 1.0, own_name: bool = False,
                  step_s: float | None = None, long_term: bool = False) -> None:
        # onnx.providers null: the short-term models where predict() runs them (the CPU,
        # api.SHORT_TERM_PROVIDERS), the long-term model on CUDA where present (docs/gpu.md)
        providers = o["providers"]
        if providers is None and not long_term:
            providers = SHORT_TERM_PROVIDERS
        self._onnx[name] = _ModelSlot(name, path, providers, o["intra_op_threads"], step_factor, own_name,
                                      step_s, o["detrend_r2"], self._cfg["engine"]["min_history"])
        if not self._onnx[name].ok:
            self._last_error = f"{name}: {self._onnx[name].reason}"

    def _collector_temperature(self, t: np.ndarray):
        """The system collector's CPU temperature aligned to the measurement
        times (linear interpolation), NaN at the older ones its record no
        longer covers (its ring holds capacity x interval_s: 68 min by
        default, often less than the measurement window), or None where it
        covers not even the newest (no sensors: always None). Only the
        newest run of increasing sample times is used (a wall-clock step
        back would make the interpolation meaningless)."""
        ct, vals = self._metrics.snapshot()
        temp = vals.get("temp_cpu_c")
        if temp is None or ct.size < 2:
            return None
        back = np.flatnonzero(np.diff(ct) <= 0)
        if back.size:
            ct, temp = ct[back[-1] + 1:], temp[back[-1] + 1:]
        ok = np.isfinite(temp)
        if ok.sum() < 2 or t[-1] > ct[ok][-1] + 2 * self._metrics.interval_s or t[-1] < ct[ok][0]:
            return None
        return np.where(t >= ct[ok][0], np.interp(t, ct[ok], temp[ok]), np.nan)

    def _step(self, t) -> float:
        s = self._cfg["short_term"]["step_s"]
        return float(s) if s is not None else _median_spacing(t)

    def _members(self, names, t, y, u, temp, targets, levels, long=None):
        """(members, notes, fused): the quantile forecasts of the named
        members at `targets`, notes on members left out, and -- when the
        classical ensemble ("fused") is among the names -- the core's fusion
        of it with every other member (ONNX models with their past predictions
        at every lead, so their weight follows their recent error and the fused
        intervals are calibrated with them; see cpp/fusion/ensemble.h); then
        members is empty. Failed members are left out; where none can
        forecast, a fallback (see below)."""
        out, notes, ext = [], [], []
        partial = {}        # id of a member forecast that does not reach every target -> its name
        with_fused = any(name in ("fused", "auto") for name in names)
        for name in names:
            if name in registry.CLASSICAL:
                fc = _core.forecast(name, t, y, u, targets, levels, self._params)
                if fc.ok or t.size < self._params.min_history:   # too little history: health() says so
                    self._classical_failing.pop(name, None)
                elif self._classical_failing.get(name) != fc.note:
                    self._classical_failing[name] = fc.note
                    self._last_error = f"{name}: {fc.note}"
                out.append(fc)
            elif name in self._onnx:
                slot = self._onnx[name]
                # the long-term model: its own longer history (long: (t, y) ending with t, y)
                ts, ys = long if long is not None and name == self._long_slot else (t, y)
                mh = self._params.min_history
                need = slot.history_needed(ts, mh)
                if ts.size < need:
                    # as predict(): too little history for the model (it needs a spacing and
                    # pairs to calibrate on; on a coarse grid, min_history cells); left out
                    # this time, not failed
                    if slot.ok:
                        notes.append(f"{name} left out: {ts.size} measurements < engine.min_history {mh}"
                                     + ("" if need == mh else f" cells of its grid and its one-step "
                                                              f"calibration ({need} measurements)"))
                    else:
                        notes.append(f"{name} left out: unhealthy ({slot.reason})")
                    continue
                cells = slot.observed_cells(ts)
                if cells < mh:
                    # a gap longer than its window: as predict(), left out until min_history cells
                    # of its window hold measurements again (one cell read as "flat": zero width)
                    notes.append(f"{name} left out: its window holds {cells} measured "
                                 f"cell{'s' if cells != 1 else ''} < engine.min_history {mh}")
                    continue
                if with_fused:
                    fc, past = slot.forecast_with_past(ts, ys, targets, levels, self._params,
                                                       None if ts is t else t.size)
                else:
                    # NaN at the targets beyond its reach: fused where it reaches, as in the core
                    # fusion (a short-term model on predict_fused()'s long-term grid had been
                    # left out at every target because it did not reach the last ones)
                    fc = slot.forecast(ts, ys, targets, levels, partial=True)
                    if fc is not None and not np.isfinite(fc.mean).all():
                        partial[id(fc)] = name
                if fc is None:
                    notes.append(slot.skipped or f"{name} left out: unhealthy ({slot.reason})")
                elif with_fused:
                    ext.append((fc, *past))
                else:
                    out.append(fc)
        if temp is not None:
            # the newest measurements with a temperature (the collector's record may not reach
            # back over the whole window)
            unknown = np.flatnonzero(~np.isfinite(temp))
            k = int(unknown[-1]) + 1 if unknown.size else 0
            if t.size - k < self._params.min_history:
                notes.append(f"dropped regression+temp: temperature known at {t.size - k} measurements "
                             f"< min_history {self._params.min_history}")
            else:
                tc = _core.forecast_tempcomp(t[k:], y[k:], None if u is None else u[k:], temp[k:], targets,
                                             levels, self._params)
                if tc.ok:
                    out.append(tc)
                else:     # e.g. a constant temperature: as predict(), the member is dropped with a note
                    notes.append(dropped_note("regression+temp", tc.note))
        if with_fused:
            f, rejected = fuse_with_onnx(t, y, u, targets, levels, self._params, ext,
                                         [(m, None, None) for m in out if m.ok])
            if rejected is not None:
                left = ", ".join(e[0].model for e in ext)
                notes.append(f"{left} left out: the fusion rejected its output ({rejected})")
                self._last_error = f"fusion: {rejected}"
            return [], notes, f
        usable = [m for m in out if m.ok]
        if partial and not any(id(m) not in partial for m in usable):
            # no member reaches every target: those reaching only the first ones cannot
            # stand alone (the forecast would be NaN beyond them)
            for m in usable:
                name, k = partial[id(m)], int(np.count_nonzero(np.isfinite(m.mean)))
                notes.append(f"{name} left out: it forecasts at most the first {k} of the {targets.size} "
                             f"forecast times (up to {float(targets[k - 1] - t[-1]):.6g} s ahead; the last is "
                             f"{float(targets[-1] - t[-1]):.6g} s ahead), and no other model reaches the rest")
            usable = []
        if usable:
            # a classical member that cannot forecast from this window is left out of the
            # fusion with a note, as the core's fusion says "dropped <model>: ..." (it had
            # been dropped silently: the forecast said nothing of it)
            notes[:0] = [dropped_note(m.model, m.note) for m in out if not m.ok]
            return usable, notes, None
        # Nothing could forecast. A failed classical model: the core's hold
        # fallback (wide interval; .model says why). Only ONNX models, all
        # unhealthy or out of reach: the classical fusion (health() says why).
        failed = [m for m in out if m.model in registry.CLASSICAL]
        if failed:
            notes[:0] = [dropped_note(m.model, m.note) for m in failed[1:]]
            return [classical_forecast(failed[0].model, t, y, u, targets, levels, self._params)], notes, None
        f = _core.forecast_fused(list(_core.DEFAULT_ENSEMBLE), t, y, u, targets, levels, self._params)
        return [], notes, f

    def _forecast(self, kind: str, names, grid, levels) -> Forecast:
        """Forecast by the models `names` at the times grid(t) (t: the
        snapshot's measurement times), all from ONE snapshot."""
        self._check_open()
        want = _check_levels(levels)
        levels = with_base_levels(want)
        t0 = time.perf_counter()
        with self._consume:
            self._check_open()
            t, y, u, temp, long = self._snapshot()
            targets = grid(t)

            def run(lv):
                """(QuantileForecast, weights, notes) of the members at levels lv."""
                members, notes, fused = self._members(names, t, y, u, temp, targets, lv, long)
                for name, slot in self._onnx.items():
                    if not slot.ok and f"{name}: {slot.reason}" != self._last_error:
                        self._last_error = f"{name}: {slot.reason}"
                if fused is None and len(members) > 1:
                    fused = _core.fuse(members)
                if fused is None:
                    only = members[0]     # weights keyed by the member's name ("hold", not its fallback story)
                    if not only.ok:
                        # every model failed and so did the hold fallback (e.g. values near the float64
                        # limit): as predict() -- not a Forecast of NaN, nor a reshape error
                        self._last_error = "every model failed: " + "; ".join([only.note, *notes])
                        raise ForecastError(self._last_error)
                    onnx_names = {s.forecaster.name for s in self._onnx.values() if s.forecaster is not None}
                    # an ONNX model's name may hold spaces ("my model.onnx"); a fallback's is "hold (fallback: ...)"
                    key = (only.model if only.model in self._onnx or only.model in onnx_names
                           else only.model.split(" ")[0])
                    return only, {key: np.ones(targets.size)}, notes
                if not fused.forecast.ok:
                    self._last_error = f"every model failed: {fused.forecast.note}"
                    raise ForecastError(self._last_error)
                return fused.forecast, dict(zip(fused.member_names, fused.weights)), notes
            # levels beyond the base set: the base levels as asked alone (api.pinned_levels)
            core, weights, notes = pinned_levels(run, levels)
            fc = Forecast.from_core(core, weights, levels=want, origin=float(t[-1]))
            if notes:
                fc.note = "; ".join(x for x in (fc.note, *notes) if x)
            with self._stats_lock:
                self._counts[f"predictions_{kind}"] += 1
                took = time.perf_counter() - t0
                self._latency[kind].append(took)
                total = self._latency_total[kind]
                total[0] += 1
                total[1] += took
        return fc

    def forecast_at(self, times, quantile_levels=(0.1, 0.5, 0.9)) -> Forecast:
        """The short-term models' fused forecast at absolute times (s),
        strictly increasing and after the newest measurement; at most
        MAX_HORIZON (1,000,000) of them, as predict()'s horizon."""
        from chronotick._validate import MAX_HORIZON, as_1d_float, check_timestamps
        times = check_timestamps(as_1d_float(times, "times"), "times")
        if times.size == 0:
            raise ValueError("times is empty")
        if times.size > MAX_HORIZON:
            # predict() caps its horizon so; 2e6 times here had run 10 s and allocated accordingly
            raise ValueError(f"times has {times.size} entries: at most {MAX_HORIZON} forecast times per call")

        def grid(t):
            if not times[0] > t[-1]:
                raise ValueError(f"times[0] = {float(times[0])!r} is not after the newest measurement {float(t[-1])!r}")
            return times
        return self._forecast("at", self._short_names, grid, quantile_levels)

    @staticmethod
    def _grid(t, step: float, h: int, what: str) -> np.ndarray:
        """h forecast times `step` apart after t[-1]; a ValueError (as predict()'s)
        where the step is below the resolution of float64 times this large (the
        grid had collapsed onto the origin, or repeated times, silently)."""
        targets = t[-1] + step * np.arange(1, h + 1)
        if not (targets[0] > t[-1] and (h == 1 or (targets[1:] > targets[:-1]).all())):
            raise ValueError(f"{what} = {step!r} s is too small for timestamps near {float(t[-1])!r}: their "
                             f"resolution there is {float(np.spacing(abs(targets[-1]))):.3g} s, so the forecast "
                             f"times would not increase; use a larger short_term.step_s (or timestamps "
                             f"relative to a nearer origin)")
        return targets

    def _short_grid(self, t):
        what = ("short_term.step_s" if self._cfg["short_term"]["step_s"] is not None
                else "the median measurement spacing (the default short_term.step_s)")
        return self._grid(t, self._step(t), self._cfg["short_term"]["horizon"], what)

    def predict_short_term(self, quantile_levels=(0.1, 0.5, 0.9)) -> Forecast:
        """Short-term models on the measurement-spaced grid (step
        `short_term.step_s`, default the median measurement spacing),
        `short_term.horizon` steps after the newest measurement. Raises
        chronotick.ForecastError (a RuntimeError) only where every model, the
        hold fallback included, failed (e.g. values near the float64 limit)."""
        return self._forecast("short_term", self._short_names, self._short_grid, quantile_levels)

    def _long_grid(self, t):
        lt = self._cfg["long_term"]
        step = self._step(t) * lt["step_factor"]
        return self._grid(t, step, lt["horizon"], "the long-term step (long_term.step_factor x the short-term step)")

    @property
    def _long_term_names(self) -> list[str]:
        """The long-term model's names: long_term.model's, or the classical fusion where it is null."""
        return self._long_names or ["fused"]

    def predict_long_term(self, quantile_levels=(0.1, 0.5, 0.9)) -> Forecast:
        """The long-term model (or the classical fusion) on a coarser grid:
        `long_term.horizon` steps of step_factor x the short-term step."""
        return self._forecast("long_term", self._long_term_names, self._long_grid, quantile_levels)

    def predict_fused(self, quantile_levels=(0.1, 0.5, 0.9)) -> Forecast:
        """Short- and long-term models fused (weights 1/recent MAE^2, else 1/sigma^2) on the long-term grid
        (the long-term model: long_term.model, or the classical fusion where it is null; a member of
        the classical fusion named on either side is fused once)."""
        names = list(self._short_names)
        # the long-term model: as predict_long_term(), the classical fusion where none is configured
        names += [n for n in self._long_term_names if n not in names]
        if "fused" in names:
            # a member of the classical fusion is not fused twice, whichever side named it (a
            # short-term "kalman" beside a long-term "fused"/"auto" had been: its weight doubled,
            # the weights summing to less than 1)
            names = [n for n in names if n not in registry.FUSED_MEMBERS]
        return self._forecast("fused", names, self._long_grid, quantile_levels)

    # -- state ------------------------------------------------------------------
    def health(self) -> dict:
        """ok (every model healthy), models: name -> {ok, reason} (a classical
        model's reason says when too little history makes it fall back to
        hold; a classical model named in the config whose newest forecast
        failed -- e.g. robust with too few measurements since a long gap --
        is not ok until it forecasts again; an ONNX model that failed to load stays unhealthy for good, one
        that failed while running is retried after 60 s and is ok again once
        a run succeeds, and one that is ok names it where its horizon is short of its forecast
        kind's and no other model of that kind reaches further (that kind's forecasts then fall
        back to the classical fusion); an ONNX model's entry also has providers, those its session
        runs on, and provider_note, what a requested provider fell back from,
        e.g. CUDA requested where it is not available), buffer_fill (0..1), measurements held, last_error (the
        latest model failure or None), metrics collector state. models is keyed by the config's
        entries: an ONNX model given as a .onnx path is keyed by that path, while its forecasts
        name it by the file's stem (fc.model, fc.weights); the long-term model as "NAME (long-term)"."""
        n = len(self._buf)
        short = self._cfg["engine"]["min_history"]
        classical_reason = (f"{n} measurements < engine.min_history {short}: forecasts fall back to hold"
                            if n < short else "")
        # the classical models, short- and long-term (long_term.model null: the classical fusion)
        models = {m: {"ok": True, "reason": classical_reason}
                  for m in (*self._short_names, *self._long_term_names) if m not in self._onnx_names}
        for m, why in list(self._classical_failing.items()):
            if m in models and not classical_reason:
                models[m] = {"ok": False, "reason": f"its newest forecast failed ({why}): it fell back to hold"}
        for m in self._onnx_names:
            sl = self._onnx.get(m)
            if sl is None:             # closed: the session is released
                models[m] = {"ok": False, "reason": "engine closed", "providers": [], "provider_note": ""}
                continue
            f = sl.forecaster   # None: the load failed
            # the providers its session runs on, and what a requested provider fell back from
            models[m] = {"ok": sl.ok, "reason": sl.reason or (sl.reach_note if sl.ok else ""),
                         "providers": list(f.providers) if f else [],
                         "provider_note": f.provider_note if f else ""}
        fill = n / self._buf.capacity
        return {"ok": all(m["ok"] for m in models.values()), "models": models, "buffer_fill": fill,
                "measurements": n, "last_error": self._last_error, "closed": self._closed,
                "metrics": None if self._metrics is None else {"running": self._metrics.running}}

    def stats(self) -> dict:
        """counts (observations, predictions_<kind>), latency per forecast
        kind over the newest 1000 calls (n, p50_us, p99_us, max_us; and over
        every call since the start: count, sum_s), buffer
        (size, capacity, fill, overwritten, total_pushed), models_loaded,
        covariates, metrics collector stats, delay_weights (the newest
        forecast's fit of the delays' noise model, docs of
        chronotick.uncertainty_from_delay: k (0 = equal weights), x_typ (the
        unit of excess one-way delay, delays' unit), weighted, measurements;
        None while the newest forecast's window lacked a delay for some
        measurement, and before the first forecast).
        Safe from any thread; one consistent reading (counts.observations ==
        buffer.total_pushed == size + overwritten, fill == size / capacity,
        each predictions_<kind> == latency[kind].count), taken while no
        measurement is being pushed."""
        # One reading: no measurement is pushed while the counts and the buffer's counters are
        # read (lock order _produce -> _stats_lock, as observe()), and the prediction counts and
        # latencies are copied together. Read apart, a reading under a running producer could
        # say size 19 with fill 20/64, or 16 observations with 19 pushed.
        with self._produce:
            size, pushed, overwritten = len(self._buf), self._buf.total_pushed, self._buf.overwritten
            with self._stats_lock:
                counts = dict(self._counts)
                delay_fit = None if self._delay_fit is None else dict(self._delay_fit)
                samples = {k: list(d) for k, d in self._latency.items() if d}
                totals = {k: tuple(v) for k, v in self._latency_total.items()}
        lat = {}
        for k, a in samples.items():
            a = np.array(a) * 1e6
            lat[k] = {"n": int(a.size), "p50_us": float(np.percentile(a, 50)),
                      "p99_us": float(np.percentile(a, 99)), "max_us": float(a.max()),
                      "count": totals[k][0], "sum_s": totals[k][1]}
        cap = self._buf.capacity
        return {"counts": counts, "latency": lat, "buffer": {
                    "size": size, "capacity": cap, "fill": size / cap,
                    "overwritten": overwritten, "total_pushed": pushed},
                "models_loaded": [n for n, s in list(self._onnx.items()) if s.forecaster is not None],
                "covariates": list(self._cov_names or ()),
                "metrics": None if self._metrics is None else self._metrics.stats(),
                "delay_weights": delay_fit}

    def close(self) -> None:
        """Stop the metrics collector and release the model sessions."""
        # no forecast is using a session while they go (lock order _consume -> _produce, as a
        # forecast's snapshot)
        with self._consume, self._produce:
            if self._metrics is not None:
                self._metrics.stop()
            self._closed = True
            self._onnx.clear()

    def __enter__(self) -> "Engine":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
