"""Time-series foundation models (Chronos-Bolt exported to ONNX) run by onnxruntime.

The model reads a regular grid of `context` offsets (float32, NaN = missing)
and returns K quantiles (Chronos-Bolt: levels 0.1 .. 0.9) for each of the
next H grid steps (H = 64): input `context` [B, L], output `quantiles`
[B, K, H]. Its own scaling (NaN-aware mean/std) is inside the graph.

Forecasting irregular measurements (t_i, y_i), times in seconds, offsets in
the caller's unit (seconds: offset = reference - local clock):

1. Window: the measurements are binned onto the grid
   g_k = t_n - (L - 1 - k) * step,  k = 0 .. L-1 (each measurement to its
   nearest grid time, the mean where several fall in one cell, NaN where
   none), centred on the newest value (float32 keeps its precision). At run
   time this is C++ (_core.forecast_window: cpp/windowing/nearest_window.h,
   with the input checks in the same pass); `window` below is the numpy
   reference the shipped model was trained on (the two are bit-equal:
   tests/test_onnx_window_parity.py). step: the median spacing of the
   newest 65 measurements unless set. For Chronos-Bolt exports a cell
   further than spike_c (5) sigma from the cells before it and from the
   one after it is then marked missing (cpp/windowing/spike_mask.h; where
   that is the newest cell, the window is centred on the newest kept one):
   the in-graph scaling would take one gross NTP outlier as the series'
   scale. The model was trained without this mask (Rule O2, docs/models.md).
2. Where a robust line explains the window (R^2 > detrend_r2, default
   0.8), take it out (anchored at the newest cell), run the model on the
   residuals and add the line back on its output, in float64 with the
   centring level (cpp/windowing/detrend.h: in _core.forecast_window's pass,
   _core.detrend_rows for the calibration's batches; the slope goes to
   _core.grid_quantiles); else run it on the window as it is. A window
   the model sees with zero spread (all observed cells equal) is forecast as
   that constant with zero-width quantiles (Chronos-Bolt exports: its scaling
   floors a zero spread at 1e-5, whatever the data's scale; _pin_flat).
3. A target time t maps to h = (t - t_n) / step grid steps ahead; the
   quantiles are linearly interpolated between whole steps (h < 1 uses step
   1, H < h <= H + 1/2 step H, so a caller whose grid step differs slightly
   is not refused at the last step); the detrending's line is added back at
   h itself (until 2026-12-06 at the step read: a target a millisecond ahead
   was forecast a whole step's drift ahead). Targets further than H + 1/2 steps are
   refused (ValueError naming the limit): the model is not rolled forward on
   its own forecasts. Interpolation, uncentring and the mapping to the
   requested levels are C++ too (_core.grid_quantiles; uncalibrated, straight
   into the QuantileForecast and its checks in the same call: _core.grid_forecast).
4. Intervals are calibrated online (calibration.ConformalScaler) from the
   model's errors at the target's lead: a target h grid steps ahead falls in
   the bucket S = 2^round(log2 h) (1, 2, 4, .. 64; at most the model's
   horizon H, so a 24-step model's last steps are bucket 24), calibrated by the model's
   predictions m = S r measurements ahead (r = grid step / median spacing: 1
   unless the grid is coarser) of each of the newest `calib_window`
   measurements y_j, made from the measurements before y_{j-m+1} only, at
   least min_history (8) of them (a
   bucket with fewer than calib_min of them -- the lead reaches beyond the
   history -- borrows the longest shorter lead D's that has them, and its
   interval is at least D's absolute error quantile grown as (max(h, 1) / D)^a
   -- the target's own lead, not its bucket's S -- a
   from D/2 to D in [growth_min, 2], as the classical models do; the
   forecast's note says so, as it says when a lead has no calibration at
   all and the model's own quantiles stand). Each prefix's model output is remembered under its newest
   measurement and a fingerprint of the measurements within its window's
   time span, at least the newest context x step_factor + 65 (prefix_keys,
   _key_spans),
   and a calibrated forecast remembers its own run, so an
   engine that calls `forecast` once per new measurement makes one model
   run per call and none for the calibration.

The returned forecast's `mean` is the model's median (as in the
chronos-forecasting pipeline).
"""
from __future__ import annotations

import json
import math
import os
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from chronotick import _core
from chronotick._validate import is_int, is_real
from chronotick.errors import ModelError, ModelFileNotFoundError
from chronotick.models.calibration import ConformalScaler, _check_levels

DEFAULT_LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
_TEN_NINETY = np.array([0.1, 0.9])     # the levels a past prediction's sigma is read from (_past)
_TEN_NINETY.flags.writeable = False
# A calibrated quantile's distance from the median is scaled by this before the median is added:
# an end meant to lie exactly on a past error lands on it, not a float step inside (the rounding
# of score x distance); the core's own kOutward (cpp/models/calibration.h). Raw quantiles are left.
_OUTWARD = _core.CALIBRATED_OUTWARD
INPUT_NAME = "context"
OUTPUT_NAME = "quantiles"
# a window whose robust line explains more than this share of its spread is forecast
# along the line (cpp/windowing/detrend.h; chosen on simulated clocks, docs/models.md)
DETREND_R2 = 0.8
# a window cell further than this many sigmas from its neighbours (and not the start of a
# step) is marked missing before the run (cpp/windowing/spike_mask.h; Rule O, docs/models.md)
SPIKE_C = 5.0
# The graph metadata key (ONNX metadata_props) under which `chronotick export` records the
# architecture (since 2026-12-04), so that an export separated from its model card is still
# recognised as Chronos-Bolt (its spike mask and flat-window pinning); a card whose `architecture`
# says otherwise is refused at load (until 2026-12-06 it came first).
ARCHITECTURE_KEY = "chronotick.architecture"
# ... and the quantile levels (JSON list; since 2026-12-06), for a loader without the card and to
# refuse a card that contradicts the graph
LEVELS_KEY = "chronotick.quantile_levels"


@dataclass
class Window:
    """A regular grid of `context` cells ending at end_time (s).
    values: float32, measurement minus `level` (NaN = no measurement);
    times: grid times (s); mask: True where a measurement fell."""

    values: np.ndarray
    mask: np.ndarray
    times: np.ndarray
    level: float
    step_s: float


def window(t: np.ndarray, y: np.ndarray, end_time: float, step_s: float, context: int,
           level: float | None = None) -> Window:
    """Bin measurements (t_i, y_i) onto the grid end_time - (context-1-k) step_s.

    Measurement i goes to cell k = context - 1 + floor((t_i - end_time) / step_s + 1/2)
    (cell k covers [g_k - step_s/2, g_k + step_s/2));
    cells before 0 are dropped (older than the window); a cell with several
    measurements holds their mean, a cell with none is NaN. `level` (default:
    the newest measurement) is subtracted so float32 keeps the resolution of
    the differences. t must be increasing and end at or before end_time + step_s/2.
    """
    idx = np.floor((t - end_time) / step_s + 0.5).astype(np.int64) + (context - 1)
    if idx.size and idx[-1] > context - 1:
        raise ValueError(f"measurement at t={float(t[-1])!r} lies after the window's end_time {end_time!r}")
    lv = float(y[-1]) if level is None else float(level)
    keep = idx >= 0
    idx = idx[keep]
    sums = np.bincount(idx, weights=y[keep] - lv, minlength=context)
    counts = np.bincount(idx, minlength=context)
    mask = counts > 0
    values = np.full(context, np.nan, dtype=np.float32)
    values[mask] = (sums[mask] / counts[mask]).astype(np.float32)
    times = end_time - step_s * np.arange(context - 1, -1, -1, dtype=np.float64)
    return Window(values=values, mask=mask, times=times, level=lv, step_s=float(step_s))


def _as_1d(a, name: str) -> np.ndarray:
    arr = np.asarray(a, dtype=np.float64)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {arr.shape}")
    if not np.isfinite(arr).all():
        i = int(np.flatnonzero(~np.isfinite(arr))[0])
        raise ValueError(f"{name}[{i}] = {float(arr[i])!r} is not finite")
    return arr


class _RunFailed(ModelError):
    """onnxruntime raised in a model run (not a non-finite output): running the same session
    again at once would only fail again (the Engine does not retry it within the call)."""


def _check_targets(target_times) -> np.ndarray:
    """target_times as a float64 1-D array, non-empty and finite (the messages `forecast`'s
    C++ check gives)."""
    targets = _as_1d(target_times, "target_times")
    if targets.size == 0:
        raise ValueError("target_times is empty")
    return targets


def _check_series(t, y) -> tuple[np.ndarray, np.ndarray]:
    if (type(t) is np.ndarray and type(y) is np.ndarray and t.size >= 2
            and _core.scan_series(t, y) == 0):
        return t, y       # the common case in one C++ pass: 1-D float64, finite, t increasing
    t = _as_1d(t, "t")
    y = _as_1d(y, "y")
    if t.size != y.size:
        raise ValueError(f"t and y differ in length: {t.size} vs {y.size}")
    if t.size < 2:
        raise ValueError(f"at least 2 measurements are needed, got {t.size}")
    if not (t[1:] > t[:-1]).all():
        i = int(np.flatnonzero(~(t[1:] > t[:-1]))[0]) + 1
        raise ValueError(f"t must be strictly increasing: t[{i}] = {float(t[i])!r} after t[{i - 1}] = {float(t[i - 1])!r}")
    return t, y


def _fused_norms(path: str) -> bytes | None:
    """The graph with T5's RMS norms fused (onnxruntime.transformers.optimizer,
    model_type t5, ONNX-level passes only), serialised; None if that fails."""
    import logging
    try:
        from onnxruntime.transformers import optimizer
        quiet = logging.getLogger("onnxruntime.transformers")
        was = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            om = optimizer.optimize_model(path, model_type="t5", num_heads=0, hidden_size=0, opt_level=0)
        finally:
            quiet.setLevel(was)
        return om.model.SerializeToString()
    except Exception as exc:  # noqa: BLE001 - an optional speed-up; the plain graph is used, with a warning
        import warnings
        warnings.warn(f"fuse_norms: onnxruntime's transformer optimizer failed on {path} "
                      f"({type(exc).__name__}: {exc}); using the graph as it is", RuntimeWarning, stacklevel=3)
        return None


def _lead_buckets(h: np.ndarray, horizon: int | None = None) -> np.ndarray:
    """Lead bucket of each target h (grid steps ahead): S = 2^round(log2 max(h, 1)), 1 .. 64
    (round half to even, as np.round), at most `horizon` (the model's; None: no cap).
    A model whose horizon is not a power of two (24 steps) has its last steps in the
    bucket of its horizon: 2^round(log2 23) = 32 lay beyond its reach, had no pairs and
    borrowed the 16-step errors, grown (a 64-step model's buckets are unchanged)."""
    # one C++ call (cpp/models/leads.h, onnx_lead_buckets; six numpy calls until 2026-12-05)
    return _core.lead_buckets(h, (1 << 62) if horizon is None else int(horizon))


def _pin_flat(x: np.ndarray, out: np.ndarray) -> None:
    """Each row of `out` [B, K, H] whose window x [B, L] (as the model saw it: centred,
    detrended) has zero spread -- its observed cells all equal -- set to that value at
    every level and step: a constant forecast with zero-width quantiles.

    Chronos-Bolt's scaling divides by the window's spread (the standard deviation about
    its mean) and falls back to 1e-5 where it is 0, so on a flat window its output noise
    is on the 1e-5 scale whatever the data's: a constant 1e-8 s series was forecast
    ~2e-7 off 64 steps ahead (shipped clock-bolt). Any non-zero spread, however small
    (1e-12 on PTP-scale data), is the model's own scale and is left to it; its output
    tends to the constant as the spread tends to 0, which is what this gives at 0.
    Only for Chronos-Bolt exports (OnnxForecaster.pins_flat: the card's architecture).
    In C++ (cpp/windowing/pin_flat.h): one call, where numpy's four cost ~12 us right after
    a model run (cold caches)."""
    _core.pin_flat_rows(x, out)


def _fusion_pairs(t: np.ndarray, target_times, params) -> tuple[np.ndarray, np.ndarray]:
    """(prefix, target): the pairs the core's fusion calibrates with (params None: ModelParams())."""
    return _core.calibration_pairs(t, np.asarray(target_times, dtype=np.float64),
                                   _core.ModelParams() if params is None else params)


def _tail_offset(n: int, fused_tail) -> int:
    """Index of the first of the newest `fused_tail` of n measurements (0 for None): where the
    fusion's series starts in a longer one (forecast_with_past, fusion_past)."""
    if fused_tail is None:
        return 0
    if not (is_int(fused_tail) and 1 <= fused_tail <= n):
        raise ValueError(f"fused_tail must be an integer in [1, len(t) = {n}], got {fused_tail!r}")
    return n - int(fused_tail)


def prefix_keys(t: np.ndarray, y: np.ndarray, ends, span, window=None) -> list:
    """Memo key of each prefix [0, i), i in `ends` (1 <= i <= len(t)): its
    newest measurement (t[i-1], y[i-1]) and a 64-bit fingerprint of its
    newest `span` measurements (_core.prefix_hashes,
    cpp/windowing/prefix_hash.h). Dropping the oldest measurements (a
    bounded history) leaves a key as it is; a prefix of another series, or
    of this one with a measurement in that span changed, gets another key.
    Two series equal in their last `span` measurements get the same key.
    window (context, step_factor): each prefix's span is its window's
    (_core.window_spans), at least `span`."""
    return _core.prefix_keys(t, y, np.asarray(ends, dtype=np.int64), span, window)   # one C++ call (was 5 numpy ones)


def _same_levels(a, b) -> bool:
    """Whether two quantile level lists are the same (a card's JSON numbers, the metadata's floats)."""
    try:
        return len(a) == len(b) and all(float(x) == float(y) for x, y in zip(a, b))
    except (TypeError, ValueError):
        return False


def usable(fc) -> bool:
    """fc is ok and its quantiles are finite at every target it reaches (a
    partial forecast is NaN, mean included, past its reach)."""
    if not fc.ok:
        return False
    q = fc.quantiles
    return bool(np.isfinite(q).all() or np.isfinite(q[np.isfinite(fc.mean)]).all())


class OnnxForecaster:
    """One exported quantile model, one onnxruntime session (made once, reused).

    path: the .onnx file; its model card `<same name>.json` (written by
    `chronotick export`) gives the quantile levels, context and horizon.
    providers: onnxruntime execution providers in order of preference
    (default: CUDA when onnxruntime-gpu sees a GPU, else CPU).
    intra_op_threads: threads of one model run. step_s: grid step (s); None
    = step_factor x the median spacing of the newest measurements at each
    call (giving both is an error). step_factor > 1 runs the model on a coarser grid (several
    measurements averaged per cell): 64 steps then reach step_factor times
    further -- how the Engine's long-term model is run (its calibration at
    S coarse steps ahead then scores its predictions S x step_factor
    measurements ahead).
    calib_window: how many of the newest measurements calibrate the
    intervals (0: raw model quantiles). calib_min: fewer errors than this:
    raw quantiles. min_history: a calibration pair's forecast is made from at
    least this many measurements (default ModelParams().min_history, 8, as the
    classical models' pairs). fuse_norms: before the session is made, let
    onnxruntime's transformer optimizer fuse T5's RMS norms (Pow/ReduceMean/
    Sqrt/Div/Mul chains) into SimplifiedLayerNormalization nodes, in memory
    (the file is not changed): ~10% less model time for clock-bolt, outputs
    within 1e-5 relative, ~0.6 s more at load; if the optimizer fails or is
    missing (it needs sympy), the graph is used as it is, with a
    RuntimeWarning (`fused` says which). detrend_r2: where a robust line
    through a window's observed cells explains more than this share of its
    spread (R^2 = 1 - (MAD(residuals) / MAD(window))^2), the model forecasts
    the residuals and the line is added back to its output
    (cpp/windowing/detrend.h): the shipped model otherwise pulls a steady
    trend back towards the window's mean. None: the model sees the window
    as it is. Past predictions for the calibration are made the same way.
    spike_c: a window cell that disagrees by more than spike_c sigma (sigma: the robust spread
    of the differences of consecutive cells) with the cells before it and with the cell after
    it is marked missing before the run (cpp/windowing/spike_mask.h): the model's in-graph
    scaling would otherwise take one gross NTP outlier as the series' scale. None: no mask.
    "auto" (default): SPIKE_C for Chronos-Bolt exports (the card's architecture: they read NaN
    as missing and scale in the graph), None for other models, which may need the newest cell.

    Raises ModelError when the file is missing, not a loadable ONNX model, or
    does not have the input `context` [B, L] / output `quantiles` [B, K, H].
    Thread-safe: calls on one instance are serialised by a lock (one session,
    one set of preallocated buffers); use one instance per thread for parallel
    runs.
    """

    def __init__(self, path, providers=None, intra_op_threads: int = 1, *, step_s: float | None = None,
                 step_factor: float = 1.0, calib_window: int = 64, calib_min: int = 8, name: str | None = None,
                 fuse_norms: bool = False, growth_min: float | None = None,
                 detrend_r2: float | None = DETREND_R2, min_history: int | None = None,
                 spike_c: float | str | None = "auto"):
        import onnxruntime as ort

        path = os.fspath(path)
        if not os.path.isfile(path):
            raise ModelFileNotFoundError(f"ONNX model file not found: {path}")
        if not is_int(intra_op_threads) or not 0 <= intra_op_threads <= self.MAX_INTRA_OP_THREADS:
            raise ValueError(f"intra_op_threads must be an integer in [0, {self.MAX_INTRA_OP_THREADS}] "
                             f"(0: onnxruntime's default), got {intra_op_threads!r}")
        intra_op_threads = int(intra_op_threads)
        if step_s is not None and not (is_real(step_s) and math.isfinite(step_s) and step_s > 0):
            raise ValueError(f"step_s must be a finite number > 0 or None, got {step_s!r}")
        if not (is_real(step_factor) and math.isfinite(step_factor)
                and self.STEP_FACTOR_RANGE[0] <= step_factor <= self.STEP_FACTOR_RANGE[1]):
            raise ValueError(f"step_factor must be a finite number in [{self.STEP_FACTOR_RANGE[0]:g}, "
                             f"{self.STEP_FACTOR_RANGE[1]:g}], got {step_factor!r}")
        if step_s is not None and step_factor != 1:
            raise ValueError(f"give step_s or step_factor, not both: step_s={step_s!r} fixes the grid step, "
                             f"step_factor={step_factor!r} would scale the median spacing")
        if not is_int(calib_window) or calib_window < 0:
            raise ValueError(f"calib_window must be an integer >= 0, got {calib_window!r}")
        if not is_int(calib_min) or calib_min < 1:
            raise ValueError(f"calib_min must be an integer >= 1, got {calib_min!r}")
        calib_window, calib_min = int(calib_window), int(calib_min)
        if detrend_r2 is not None and (not is_real(detrend_r2) or not 0 <= detrend_r2 <= 1):
            raise ValueError(f"detrend_r2 must be a number in [0, 1] or None (no detrending), got {detrend_r2!r}")
        if not (spike_c is None or (isinstance(spike_c, str) and spike_c == "auto")
                or (is_real(spike_c) and math.isfinite(spike_c) and spike_c > 0)):
            raise ValueError(f"spike_c must be a finite number > 0, 'auto' or None (no outlier mask), "
                             f"got {spike_c!r}")
        if min_history is None:
            min_history = _core.ModelParams().min_history
        if not is_int(min_history) or min_history < 2:
            raise ValueError(f"min_history must be an integer >= 2, got {min_history!r}")
        min_history = int(min_history)
        if growth_min is None:
            growth_min = _core.ModelParams().growth_min
        if not (is_real(growth_min) and 0 <= growth_min <= 2):
            raise ValueError(f"growth_min must be a number in [0, 2], got {growth_min!r}")
        if name is not None and (not isinstance(name, str) or not name.strip()):
            # name=5 had loaded and failed at the first forecast; '' became the file's stem silently
            raise ValueError(f"name must be a non-empty string or None (the file's stem), got {name!r}")
        providers, wanted = self._resolve_providers(providers, ort)
        self.path = path
        self.name = name or os.path.splitext(os.path.basename(path))[0]
        self.card = self._read_card(path)
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = intra_op_threads
        opts.inter_op_num_threads = 1
        opts.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        opts.log_severity_level = 3
        model = _fused_norms(path) if fuse_norms else None
        self.fused = model is not None
        try:
            self.session = ort.InferenceSession(model if model is not None else path, sess_options=opts,
                                                providers=list(providers))
        except Exception as exc:  # onnxruntime raises its own exception types for corrupt files
            raise ModelError(f"cannot load ONNX model {path}: {exc}") from exc
        self.providers = self.session.get_providers()     # the providers in use, in onnxruntime's order
        # a device provider (CUDA) copies a bound host input to the device when it is bound, not
        # when the session runs, and copies the outputs back asynchronously: each run rebinds
        # the input and waits for the outputs (else it reads the buffers' old or unset contents)
        self._on_device = any(p != "CPUExecutionProvider" for p in self.providers)
        self.requested_providers = wanted                # the names asked for (None: the default)
        self.provider_note = self._provider_note(wanted, providers, self.providers, ort)
        if self.provider_note:
            import warnings
            warnings.warn(f"{path}: {self.provider_note}", RuntimeWarning, stacklevel=2)
        self.context, self.num_levels, self.horizon = self._check_signature()
        meta = self.session.get_modelmeta().custom_metadata_map
        meta_levels = self._meta_levels(path, meta)
        levels = self.card.get("quantile_levels", meta_levels if meta_levels is not None else
                               DEFAULT_LEVELS if self.num_levels == 9 else None)
        if meta_levels is not None and "quantile_levels" in self.card and not _same_levels(levels, meta_levels):
            raise ModelError(f"{path}: its model card lists quantile levels {levels!r} but the graph was exported "
                             f"with {meta_levels!r} (its metadata {LEVELS_KEY}): the card does not belong to "
                             f"this file")
        if levels is None or len(levels) != self.num_levels:
            if levels is None:
                raise ModelError(f"{path}: the model outputs {self.num_levels} quantiles and neither a model card "
                                 f"nor the graph's metadata lists their levels (only 9 outputs default to "
                                 f"0.1 .. 0.9)")
            where = "its card lists" if "quantile_levels" in self.card else "the graph's metadata lists"
            raise ModelError(f"{path}: the model outputs {self.num_levels} quantiles but {where} "
                             f"levels {levels!r}")
        try:
            self.model_levels = _check_levels(levels, "quantile_levels")
            self._scaler = ConformalScaler(self.model_levels, window=max(1, calib_window), min_errors=calib_min)
            self._raw_scaler = ConformalScaler(self.model_levels, min_errors=1 << 30)
        except ValueError as exc:
            raise ModelError(f"{path}: bad quantile levels in the model card: {exc}") from exc
        # fixed for the forecaster's life (read-only properties below): the memo keys, the kept
        # calibrations and the key spans are made with them (changing step_factor after a
        # forecast had left the memo answering with the old grid's outputs; audit, 2026-12-05)
        self._step_s = float(step_s) if step_s is not None else None
        self._step_factor = float(step_factor)
        self._calib_window = calib_window
        self._calib_min = calib_min
        self.growth_min = float(growth_min)
        self._detrend_r2 = None if detrend_r2 is None else float(detrend_r2)
        self._min_history = min_history
        # Chronos-Bolt's in-graph scaling floors a zero spread at 1e-5: its forecasts
        # from exactly flat windows are made the constant (_pin_flat); another architecture's
        # output on such a window is its own (the card's `architecture`, written by the export)
        card_arch, meta_arch = self.card.get("architecture"), meta.get(ARCHITECTURE_KEY)
        if card_arch and meta_arch and str(card_arch) != meta_arch:
            # the card's had won: a Chronos-Bolt export whose card said otherwise ran without its
            # spike mask and flat-window pinning (an audit, 2026-12-06)
            raise ModelError(f"{path}: its model card says architecture {card_arch!r} but the graph was exported "
                             f"as {meta_arch!r} (its metadata {ARCHITECTURE_KEY}): the card does not belong to "
                             f"this file")
        self.architecture = str(card_arch or meta_arch or "")
        self.pins_flat = "ChronosBolt" in self.architecture
        if not self.architecture:
            import warnings
            # until 2026-12-04 silently: a Chronos-Bolt export without its card ran without
            # the spike mask and the flat-window pinning its forecasts need
            warnings.warn(f"{path}: architecture unknown (no `architecture` in a model card beside it, none in "
                          f"the graph's metadata): run as a generic quantile model, without the Chronos-Bolt "
                          f"handling (spike mask, flat-window pinning); keep the card `chronotick export` "
                          f"wrote beside the .onnx, or give the card an `architecture`", RuntimeWarning,
                          stacklevel=2)
        if isinstance(spike_c, str):
            spike_c = SPIKE_C if self.pins_flat else None
        self.spike_c = None if spike_c is None else float(spike_c)
        self._spike_arg = math.nan if spike_c is None else float(spike_c)
        self._lock = threading.RLock()
        self._bindings: dict[tuple, tuple] = {}
        # prefix outputs (_pair_preds): key -> slot of _memo_q (float32 [K, H]) and _memo_meta
        # (grid step, level, slope); arrays grown by doubling up to _memo_max slots. The index is
        # C++ (cpp/windowing/output_memo.h: its lookup computes the keys and finds them in one
        # call; a Python OrderedDict of key tuples until 2026-12-05, ~40 us a forecast). It
        # remembers the keys it evicted while below MEMO_LIMIT: a miss on one means the memo is
        # smaller than what its callers keep asking for (one predict() per clock of a fleet:
        # ~144 prefixes each, so from ~29 clocks on every call re-ran all its calibration
        # windows, 25-58 ms instead of ~1; an audit, 2026-12-05), and _memo_max doubles, up to
        # MEMO_LIMIT
        self._memo = _core.OutputMemo(4096, self.MEMO_LIMIT)
        self._memo_q = np.empty((0, self.num_levels, self.horizon), dtype=np.float32)
        self._memo_meta = np.empty((0, 3))
        # measurements a memo key covers at least: the window's span in measurements (context
        # cells of step_factor spacings) plus the 65 its grid step is the median spacing of; more
        # where more fall inside a window (older polls denser than the newest); with a fixed
        # step_s, per prefix (_key_spans)
        self._key_span = int(math.ceil(self.context * self.step_factor)) + 65
        # per-lead calibrations, keyed by the data they were made from (see _lead_scalers)
        self._scalers: OrderedDict = OrderedDict()
        self._scalers_max = 256
        self._levels_cache: dict[tuple, tuple] = {}   # validated `levels` lists and their plans, by value
        # batches of two and of one: a model that ignores the batch dimension (always one output
        # row) would pass a batch-1 probe and fail at its first calibration, which runs many rows
        # at once; one that always gives two rows passed the batch-2 probe and failed at its first
        # forecast (an audit, 2026-12-05)
        for b in (2, 1):
            try:
                out = self.run(np.zeros((b, self.context), dtype=np.float32))
            except ModelError as exc:
                raise ModelError(f"{path}: a probe run on a batch of {b} zero contexts failed: {exc}") from exc
            if out.shape != (b, self.num_levels, self.horizon) or not np.all(np.isfinite(out)):
                raise ModelError(f"{path}: a probe run on a batch of {b} zero contexts gave shape {out.shape} "
                                 f"(finite: {bool(np.all(np.isfinite(out)))}), expected ({b}, {self.num_levels}, "
                                 f"{self.horizon}) finite")
        # and a series that moves: zero contexts take Chronos-Bolt's constant-series branch only, and a
        # graph giving NaN for every other input had loaded, to fail at its first forecast (an
        # audit, 2026-12-06)
        walk = (np.cumsum(np.random.default_rng(0).standard_normal(self.context)) * 1e-3)[None, :]
        try:
            self.run(walk.astype(np.float32))     # ModelError on a non-finite output
        except ModelError as exc:
            raise ModelError(f"{path}: a probe run on a random-walk context failed: {exc}") from exc

    @property
    def step_s(self) -> float | None:
        """The fixed grid step (s), None: step_factor x the median spacing (constructor argument)."""
        return self._step_s

    @property
    def step_factor(self) -> float:
        """Grid step / median measurement spacing where step_s is None (constructor argument)."""
        return self._step_factor

    @property
    def calib_window(self) -> int:
        """Calibration targets per lead (constructor argument)."""
        return self._calib_window

    @property
    def calib_min(self) -> int:
        """Past errors a lead needs to be calibrated on its own (constructor argument)."""
        return self._calib_min

    @property
    def min_history(self) -> int:
        """Measurements (grid cells) a calibration prefix needs (constructor argument)."""
        return self._min_history

    @property
    def detrend_r2(self) -> float | None:
        """The detrending gate (constructor argument; fixed for the forecaster's
        life: its memo of past predictions holds outputs made with it)."""
        return self._detrend_r2

    @property
    def _r2_arg(self) -> float:
        """detrend_r2 as the C++ windowing takes it (NaN: no detrending)."""
        return math.nan if self._detrend_r2 is None else self._detrend_r2

    # ---- loading -----------------------------------------------------------------------------
    # CUDA's options where none are given: TF32 matrix products (onnxruntime's default on Ampere
    # and newer) moved clock-bolt's quantiles by up to 0.09 of the series' scale from the CPU's
    # on an H200 (0.006 one window at a time); with use_tf32 0 they agree to 5e-5, the export's
    # parity yardstick (scripts/gpu_check.py, docs/gpu.md). These models are too small for
    # TF32 to buy speed.
    CUDA_OPTIONS = {"use_tf32": "0"}
    # the constructor's bounds: onnxruntime threads of one run (as the Engine's onnx.intra_op_threads;
    # thousands would each be an OS thread), and the coarse-grid factor (1e300 overflowed the window)
    MAX_INTRA_OP_THREADS = 1024
    RUN_ROWS = 1024        # windows per onnxruntime run (_binding)
    # the memo of past model outputs starts at 4096 entries and doubles while callers ask again
    # for outputs it evicted (_grow_memo), up to this many: ~150 MB for clock-bolt (9 x 64 float32
    # each), the calibration windows of ~450 clocks forecast in turn through one forecaster
    # (predict()'s shared one); beyond, each call re-runs its calibration windows (docs/performance.md)
    MEMO_LIMIT = 65536
    BINDINGS_BYTES = 64 << 20   # preallocated run buffers kept in all (_binding; the newest set always)
    STEP_FACTOR_RANGE = (1e-6, 1e6)

    @staticmethod
    def _resolve_providers(providers, ort) -> tuple[list, list | None]:
        """(the providers to ask onnxruntime for, the names requested or None).
        providers: None (CUDA when onnxruntime-gpu lists it, then CPU), or a
        list of onnxruntime provider names / (name, options dict) pairs in
        order of preference. CUDA named without options (or by default) runs
        with CUDA_OPTIONS: full float32 matrix products, no TF32. A string, an
        empty list or a name onnxruntime does not know
        (onnxruntime.get_all_providers()) is a ValueError. Names
        known but not available in this onnxruntime build
        (get_available_providers()) are dropped, CPU is added last when
        missing: the fallback is recorded in `provider_note` and warned about."""
        known, avail = ort.get_all_providers(), ort.get_available_providers()
        if providers is None:
            cuda = [("CUDAExecutionProvider", dict(OnnxForecaster.CUDA_OPTIONS))]
            return (cuda if "CUDAExecutionProvider" in avail else []) + ["CPUExecutionProvider"], None
        if isinstance(providers, (str, bytes)):
            raise ValueError(f"providers must be a list of onnxruntime provider names, got the string "
                             f"{providers!r} (write [{providers!r}])")
        if isinstance(providers, Mapping):       # list() of it would keep the names, drop the options
            raise ValueError(f"providers must be a list of onnxruntime provider names or (name, options dict) "
                             f"pairs, got a mapping {providers!r} (write {list(providers.items())!r})")
        try:
            entries = list(providers)
        except TypeError:
            raise ValueError(f"providers must be a list of onnxruntime provider names or None, got "
                             f"{type(providers).__name__} {providers!r}") from None
        if not entries:
            raise ValueError("providers is empty: give at least one onnxruntime provider name, or None for the "
                             "default (CUDA when available, else CPU)")
        names = []
        for e in entries:
            if isinstance(e, str):
                names.append(e)
            elif (isinstance(e, (tuple, list)) and len(e) == 2 and isinstance(e[0], str)
                  and isinstance(e[1], dict)):
                names.append(e[0])
            else:
                raise ValueError(f"providers entry {e!r} is not a provider name (or a (name, options dict) pair)")
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown onnxruntime provider(s) {unknown!r}; onnxruntime knows: {', '.join(known)}")
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"providers names {dup!r} more than once: {names!r}")
        # a (name, options) pair as a tuple: onnxruntime takes no list there (a list pair had made it
        # print an error banner and retry on the CPU alone, its options lost; an audit, 2026-12-06)
        use = [(e, dict(OnnxForecaster.CUDA_OPTIONS)) if e == "CUDAExecutionProvider" else
               e if isinstance(e, str) else (e[0], dict(e[1]))
               for e, n in zip(entries, names) if n in avail]
        if "CPUExecutionProvider" not in [e if isinstance(e, str) else e[0] for e in use]:
            use.append("CPUExecutionProvider")
        return use, names

    @staticmethod
    def _provider_note(wanted, asked, in_use, ort) -> str:
        """'' when every provider asked for runs, else what fell back to what."""
        names = wanted if wanted is not None else [e if isinstance(e, str) else e[0] for e in asked]
        missing = [n for n in names if n not in in_use]
        if not missing:
            return ""
        avail = ort.get_available_providers()
        why = [f"{n} (not available in this onnxruntime build; available: {', '.join(avail)})" if n not in avail
               else f"{n} (onnxruntime could not start it)" for n in missing]
        return f"requested provider(s) {'; '.join(why)} not used: running on {', '.join(in_use)}"

    @staticmethod
    def _meta_levels(path: str, meta: dict):
        """The quantile levels `chronotick export` recorded in the graph's metadata (LEVELS_KEY),
        None where it has none; ModelError where they are not a JSON list of numbers."""
        text = meta.get(LEVELS_KEY)
        if text is None:
            return None
        try:
            levels = json.loads(text)
        except ValueError:
            levels = None
        if not isinstance(levels, list) or not all(isinstance(q, (int, float)) and not isinstance(q, bool)
                                                   for q in levels):
            raise ModelError(f"{path}: the graph's metadata {LEVELS_KEY} is not a JSON list of numbers: {text[:80]!r}")
        return [float(q) for q in levels]

    @staticmethod
    def _read_card(path: str) -> dict:
        """The model card beside `path` (chronotick.models.read_card); {} when
        there is none, a ModelError naming it when it cannot be read."""
        from chronotick.models import read_card
        card, error = read_card(path)
        if error:
            raise ModelError(error)
        return card or {}

    def _check_signature(self) -> tuple[int, int, int]:
        """(context L, quantiles K, horizon H) of the graph's input `context`
        [B, L] and output `quantiles` [B, K, H]; a dimension the graph leaves
        dynamic comes from the model card. Any card entry the graph contradicts
        (context, prediction_length, num_quantiles, the length of
        quantile_levels), or one of the wrong type, is a ModelError showing
        both values."""
        ins, outs = self.session.get_inputs(), self.session.get_outputs()
        if len(ins) != 1 or ins[0].name != INPUT_NAME:
            raise ModelError(f"{self.path}: expected one input named {INPUT_NAME!r}, got "
                             f"{[(i.name, i.shape) for i in ins]}")
        if ins[0].type != "tensor(float)" or len(ins[0].shape) != 2:
            raise ModelError(f"{self.path}: input {INPUT_NAME!r} must be float32 [batch, context], got "
                             f"{ins[0].type} {ins[0].shape}")
        out = [o for o in outs if o.name == OUTPUT_NAME]
        if not out:
            raise ModelError(f"{self.path}: no output named {OUTPUT_NAME!r}; outputs: {[o.name for o in outs]}")
        o = out[0]
        if o.type != "tensor(float)" or len(o.shape) != 3:
            raise ModelError(f"{self.path}: output {OUTPUT_NAME!r} must be float32 [batch, quantiles, horizon], "
                             f"got {o.type} {o.shape}")
        card = self.card

        def card_int(key: str):
            """The card's positive integer `key`, None when absent."""
            if key not in card:
                return None
            v = card[key]
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ModelError(f"{self.path}: the model card's {key} must be a positive integer, got {v!r}")
            return v

        def graph_dim(v):
            return v if isinstance(v, int) and not isinstance(v, bool) and v >= 1 else None

        card_L, card_H, card_K = card_int("context"), card_int("prediction_length"), card_int("num_quantiles")
        card_levels = None
        if "quantile_levels" in card:
            card_levels = card["quantile_levels"]
            if not isinstance(card_levels, list) or not card_levels:
                raise ModelError(f"{self.path}: the model card's quantile_levels must be a non-empty list, got "
                                 f"{card_levels!r}")

        L = graph_dim(ins[0].shape[1])
        if L is None:
            if card_L is None:
                raise ModelError(f"{self.path}: the context length is dynamic and the model card gives none")
            L = card_L
        elif card_L is not None and card_L != L:
            raise ModelError(f"{self.path}: the graph's context is {L!r}, the model card says {card_L!r}")
        K, H = graph_dim(o.shape[1]), graph_dim(o.shape[2])
        if K is None:
            if card_K is not None and card_levels is not None and card_K != len(card_levels):
                raise ModelError(f"{self.path}: the model card's num_quantiles is {card_K!r} but its "
                                 f"quantile_levels has {len(card_levels)}: {card_levels!r}")
            K = card_K if card_K is not None else len(card_levels if card_levels is not None else DEFAULT_LEVELS)
        else:
            if card_K is not None and card_K != K:
                raise ModelError(f"{self.path}: the graph outputs {K!r} quantiles, the model card's num_quantiles "
                                 f"says {card_K!r}")
            if card_levels is not None and len(card_levels) != K:
                raise ModelError(f"{self.path}: the graph outputs {K!r} quantiles, the model card's "
                                 f"quantile_levels has {len(card_levels)}: {card_levels!r}")
        if H is None:
            if card_H is None:
                raise ModelError(f"{self.path}: output {OUTPUT_NAME!r} has dynamic shape {o.shape} and the model "
                                 f"card gives no prediction_length")
            H = card_H
        elif card_H is not None and card_H != H:
            raise ModelError(f"{self.path}: the graph's horizon is {H!r}, the model card says {card_H!r}")
        return int(L), int(K), int(H)

    # ---- raw runs ----------------------------------------------------------------------------
    def _binding(self, batch: int, calib: bool = False):
        """Preallocated input/output buffers of one batch size, bound to the session
        (a separate set for the calibration runs, which happen inside a forecast).
        The bindings cover RUN_ROWS rows each: onnxruntime's memory for one run
        grows with its batch (~0.1 MB a window for clock-bolt) and its arena keeps
        the peak for the session's life, so a huge batch runs in slices."""
        b = self._bindings.get((batch, calib))
        if b is None:
            x = np.empty((batch, self.context), dtype=np.float32)
            out = np.empty((batch, self.num_levels, self.horizon), dtype=np.float32)
            io = []       # one binding per RUN_ROWS rows (views of x and out): _run_bound runs them in turn
            for s in range(0, batch, self.RUN_ROWS):
                e = min(batch, s + self.RUN_ROWS)
                part = self.session.io_binding()
                part.bind_input(INPUT_NAME, "cpu", 0, np.float32, [e - s, self.context], x[s:e].ctypes.data)
                part.bind_output(OUTPUT_NAME, "cpu", 0, np.float32, [e - s, self.num_levels, self.horizon],
                                 out[s:e].ctypes.data)
                io.append((part, x[s:e]))
            b = (x, out, io)
            # keep the preallocated buffers of a few batch sizes, at most BINDINGS_BYTES in all, the
            # newest set always (a calibration's batch differs from call to call: eight kept sets
            # of a 40-series forecast_batch held 50 MB and grew with the fleet; an audit)
            self._bindings[(batch, calib)] = b
            held = sum(v[0].nbytes + v[1].nbytes for v in self._bindings.values())
            while len(self._bindings) > 1 and (len(self._bindings) > 8 or held > self.BINDINGS_BYTES):
                old = self._bindings.pop(next(iter(self._bindings)))
                held -= old[0].nbytes + old[1].nbytes
        return b

    def run(self, context: np.ndarray) -> np.ndarray:
        """The bare model: context float32 [B, L] (NaN = missing) -> quantiles
        [B, K, H] (a new array). Raises ModelError on a non-finite output."""
        context = np.asarray(context, dtype=np.float32)
        if context.ndim != 2 or context.shape[1] != self.context or context.shape[0] < 1:
            raise ValueError(f"context must have shape (batch >= 1, {self.context}), got {context.shape}")
        with self._lock:
            x, out, io = self._binding(context.shape[0])
            x[...] = context
            self._run_bound(io, out)
            res = out.copy()
        if not np.all(np.isfinite(res)):
            rows = np.flatnonzero(~np.all(np.isfinite(res), axis=(1, 2)))
            raise ModelError(f"model {self.name} produced non-finite quantiles for batch row(s) "
                             f"{rows[:5].tolist()}")
        return res

    # ---- forecasting -------------------------------------------------------------------------
    # The window and the post-processing are C++ (_core.forecast_window, _core.grid_quantiles /
    # grid_forecast: cpp/windowing/nearest_window.h, grid_quantiles.h, fusion/forecast_checks.h),
    # the same binning as `window` above (tests/test_onnx_window_parity.py proves them equal);
    # Python only sequences the calls.

    def _step(self, t: np.ndarray) -> float:
        if self.step_s is not None:
            return self.step_s
        return self.step_factor * _core.window_step(np.asarray(t, dtype=np.float64))

    def _grid_ratio(self, t: np.ndarray) -> float:
        """Grid step / median measurement spacing (how many measurements one grid step spans)."""
        if self.step_s is None and self.step_factor == 1.0:
            return 1.0          # the grid is the median spacing itself
        t = np.asarray(t, dtype=np.float64)
        return self._step(t) / _core.window_step(t) if t.size >= 2 else 1.0

    def _key_spans(self, t: np.ndarray, ends):
        """How many measurements the memo key of each prefix [0, i), i in `ends`, is made of
        (prefix_keys' span). The grid step the median spacing (step_s None): per prefix, its
        measurements within (context + 1/2) steps of its newest (_core.window_spans,
        cpp/windowing/nearest_window.h), at least _key_span, a window's span in measurements at
        regular polls (context x step_factor spacings) plus the 65 its grid step is the median
        spacing of; on a coarse grid that is step_factor x context (until 2026-12-02 the keys
        covered context + 65 measurements whatever the grid, so two series agreeing in those but
        not further back inside the window -- 2048 measurements at step_factor 8 -- shared each
        other's model outputs; until 2026-12-05 always _key_span, so with older polls denser
        than the newest -- 1 s polls, then 100 s -- a window held thousands more measurements
        than its key, and two series differing only there shared outputs: predict() depended on
        what it had been asked before, intervals 10x wider, found by an audit). A fixed step_s: per prefix, its
        measurements within (context + 1/2) steps of its newest, all its window can hold,
        however the spacing moves (until 2026-12-04 one count for all, context x step_s / the
        series' median spacing + 65, moved with the median spacing and every key with it: at
        a step 8 polls wide, 2048 or 2049 as the polls jittered, so the memo missed and the
        calibration's prefixes were run again, 15 ms a forecast at the median, 92 ms at p90)."""
        t = np.asarray(t, dtype=np.float64)    # the caller's own t may be a list (forecast's memo key)
        ends = np.asarray(ends, dtype=np.int64)
        if self.step_s is None:
            return _core.window_spans(t, ends, self.context, self.step_factor, self._key_span)
        return ends - np.searchsorted(t, t[ends - 1] - (self.context + 0.5) * self.step_s, side="left")

    @property
    def _memo_max(self) -> int:
        """How many model outputs the memo holds at most now (doubled by _grow_memo)."""
        return self._memo.capacity

    @_memo_max.setter
    def _memo_max(self, value: int) -> None:
        self._memo.capacity = value

    def _keys(self, t, y, ends) -> list:
        """The memo keys of the prefixes [0, i), i in `ends` (prefix_keys over _key_spans); with
        the grid step the median spacing, the spans computed in the same C++ call. The
        definition the memo's own look-up (_lookup, in C++) is tested against."""
        if self.step_s is None:
            return prefix_keys(t, y, ends, self._key_span, (self.context, self.step_factor))
        return prefix_keys(t, y, ends, self._key_spans(t, ends))

    def _lookup(self, t, y, ends) -> tuple:
        """The memo's (slots, hashes, missing) of the prefixes [0, i), i in `ends`, keyed as
        _keys keys them (_core.OutputMemo.lookup: slot -1 for i < 2, OutputMemo.MISSING where
        not held; the keys' fingerprints; how many are not held)."""
        ends = np.asarray(ends, dtype=np.int64)
        if self.step_s is None:
            return self._memo.lookup(t, y, ends, self._key_span, (self.context, self.step_factor))
        return self._memo.lookup(t, y, ends, self._key_spans(t, ends))

    def _scaler_span(self, t: np.ndarray, m: int, j: np.ndarray) -> int:
        """How many of the newest measurements a lead's calibration depends on: its targets j
        (m ahead) and the measurements each prefix's memo key is made of (_key_spans)."""
        if j.size == 0:
            return self.calib_window + m + self._key_span
        # the prefixes' ends j - m + 1 (j consecutive: _pair_targets), those of >= 2 measurements
        # (shorter prefixes make no prediction: _pair_preds)
        lo, first, last = int(j[0]), max(2, int(j[0]) - m + 1), int(j[-1]) - m + 2
        if first >= last:
            return t.size - lo
        if self.step_s is None:                 # one C++ call (cpp/windowing/nearest_window.h)
            return t.size - min(lo, _core.window_oldest(t, first, last, self.context, self.step_factor,
                                                         self._key_span))
        ends = np.arange(first, last)
        return t.size - min(lo, int((ends - self._key_spans(t, ends)).min()))

    def observed_cells(self, t) -> int:
        """How many cells of the window the model would see from measurements at times t hold a
        measurement (several in one cell count once): after a gap longer than the window (context x
        grid step) only the measurements since it. A window of few cells tells the model almost
        nothing of the noise -- one cell is "flat", its quantiles pinned to zero width -- so predict()
        and the Engine use the model only from min_history cells on, as the classical models."""
        t = np.asarray(t, dtype=np.float64)
        if t.size < 2:
            return int(t.size)
        return self._observed_cells(t, self._step(t))

    def _observed_cells(self, t: np.ndarray, step: float) -> int:
        """observed_cells of float64 times t (at least 2) at grid step `step` (self._step(t))."""
        return _core.count_cells(t, step, self.context)    # cpp/windowing/nearest_window.h

    def _window(self, t, y, step) -> Window:
        t = np.asarray(t, dtype=np.float64)
        values, level = _core.nearest_window(t, np.asarray(y, dtype=np.float64), float(t[-1]), step, self.context,
                                             spike_c=self._spike_arg)
        times = float(t[-1]) - step * np.arange(self.context - 1, -1, -1, dtype=np.float64)
        return Window(values=values, mask=~np.isnan(values), times=times, level=level, step_s=float(step))

    def _pair_preds(self, asks: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> list[np.ndarray]:
        """For each (t, y, prefix, target): raw quantiles [len(prefix), K], the
        model's prediction of y[target[k]] made from the measurements
        [0, prefix[k]) only, as `forecast` would have made it then (grid step
        included, crossed quantiles reordered); NaN beyond the horizon or from
        fewer than 2 measurements. The memo keeps each prefix's whole model
        output (all K levels, all H steps, its grid step and level) under
        prefix_keys (its newest measurement and a fingerprint of the newest
        measurements its window is made of, _key_spans), so one run answers every
        later target of that prefix; `forecast` stores its own run there too,
        so an engine calling once per new measurement finds every past prefix
        it needs and makes no calibration run at all. The prefixes the memo
        lacks are made in one batched run, of all series; the memo is filled
        after every answer is read, so no slot in use is overwritten."""
        if not asks:
            return []
        memo, missing_slot = self._memo, _core.OutputMemo.MISSING
        slots_of, need = [], {}     # need: memo key -> (row of this call's run, series, prefix)
        for s, (t, y, prefix, _) in enumerate(asks):
            # per pair: memo slot >= 0, -2 - (row of this call's run), or -1 (< 2 measurements);
            # looked up in one C++ call (most are found: a forecast per new measurement finds all)
            slots, hashes, missing = self._lookup(t, y, prefix)
            if missing:
                for k in np.flatnonzero(slots == missing_slot).tolist():
                    i = int(prefix[k])
                    key = (float(t[i - 1]), float(y[i - 1]), int(hashes[k]))
                    if memo.evicted(*key):
                        self._grow_memo()
                    got = need.get(key)
                    if got is None:
                        got = need[key] = (len(need), s, i)
                    slots[k] = -2 - got[0]
            slots_of.append(slots)
        fresh_q = fresh_meta = None
        if need:
            # the windows go straight into a preallocated input of their own (not the one
            # the caller's forecast is using)
            x, out, io = self._binding(len(need), calib=True)
            fresh_meta = np.empty((len(need), 3))
            for m, s, i in need.values():
                t, y = asks[s][0], asks[s][1]
                st = self._step(t[:i])
                _, level = _core.nearest_window(t[:i], y[:i], float(t[i - 1]), st, self.context, None, x[m],
                                                self._spike_arg)
                fresh_meta[m, :2] = st, level
            fresh_meta[:, 2] = _core.detrend_rows(x, self._r2_arg)   # put back in read_ahead, in float64
            self._run_model(x, io, out)
            if self.pins_flat:
                _pin_flat(x, out)                                      # as forecast does
            if not np.all(np.isfinite(out)):
                bad = np.flatnonzero(~np.all(np.isfinite(out), axis=(1, 2)))
                raise ModelError(f"model {self.name} produced non-finite quantiles for batch row(s) "
                                 f"{bad[:5].tolist()}")
            fresh_q = out
        # each prefix's output read at its target (crossed quantiles reordered, NaN beyond
        # reach), as forecast does: cpp/windowing/grid_quantiles.h, read_ahead
        results = [_core.read_ahead(self._memo_q, self._memo_meta, fresh_q, fresh_meta, slots,
                                    t[target] - t[prefix - 1])
                   for (t, _, prefix, target), slots in zip(asks, slots_of)]
        if need:
            self._remember([(k, fresh_q[m], fresh_meta[m]) for k, (m, _, _) in need.items()])
        return results

    def _grow_memo(self) -> None:
        """Double the memo's capacity (up to MEMO_LIMIT entries, ~2.3 kB each for clock-bolt):
        a key it had evicted is asked for again."""
        self._memo.grow()

    def _remember(self, entries) -> None:
        """(key, output [K, H], (step, level, slope)) into the memo, keys it
        holds already left as they are; beyond _memo_max slots the oldest
        entry's slot is reused."""
        memo = self._memo
        for key, q, meta in entries:
            if memo.find(*key) >= 0:
                continue
            j = memo.add(*key)      # beyond _memo_max: the oldest key's slot (output_memo.h)
            if j >= self._memo_q.shape[0]:
                cap = min(self._memo_max, max(64, 2 * self._memo_q.shape[0]))
                self._memo_q = np.concatenate(
                    [self._memo_q, np.empty((cap - j,) + self._memo_q.shape[1:], dtype=np.float32)])
                self._memo_meta = np.concatenate([self._memo_meta, np.empty((cap - j, 3))])
            self._memo_q[j] = q
            self._memo_meta[j] = meta

    def past_predictions(self, t, y, prefix, target) -> tuple[np.ndarray, np.ndarray]:
        """The model's past predictions at pairs (prefix[k], target[k]): the
        median of its forecast of y[target[k]] from the measurements
        [0, prefix[k]) only, and the sigma implied by its 10%/90% quantiles
        ((q90 - q10) / 2.563) calibrated with the CURRENT calibration at that
        lead (target - prefix + 1 measurements ahead; the scale the current
        forecast uses there). NaN where it made none (beyond
        its horizon, fewer than 2 measurements). With
        chronotick._core.calibration_pairs these let the core weigh the model
        by its recent error at every lead and calibrate the fused intervals
        with it included (forecast_fused's `extra`)."""
        with self._lock:
            t, y = _check_series(t, y)
            prefix, target, lead = self._pairs(t, prefix, target)
            return self._past(t, y, prefix, target, lead)

    def _pairs(self, t, prefix, target) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Validated (prefix, target) as int64 and their lead buckets (grid steps)."""
        def indices(v, what):
            a = np.asarray(v)
            if a.dtype.kind not in "iu" and not (a.dtype.kind == "f" and np.all(np.isfinite(a)) and
                                                 np.array_equal(a, np.round(a))):
                # 5.7 had been truncated to 5, NaN "cannot convert float NaN to integer"
                bad = a.reshape(-1)
                k = next((i for i, x in enumerate(bad) if not (is_real(x) and float(x).is_integer())), 0)
                raise ValueError(f"{what} must hold measurement indices (integers), got {what}[{k}] = "
                                 f"{bad[k]!r}" if bad.size else f"{what} must hold integers, got dtype {a.dtype}")
            return a.astype(np.int64).reshape(-1)
        prefix, target = indices(prefix, "prefix"), indices(target, "target")
        if prefix.size != target.size:
            raise ValueError(f"prefix and target differ in length: {prefix.size} vs {target.size}")
        bad = (prefix < 1) | (target < prefix) | (target >= t.size)
        if bad.any():
            k = int(np.flatnonzero(bad)[0])
            raise ValueError(f"pair {k} (prefix {prefix[k]}, target {target[k]}) must have "
                             f"1 <= prefix <= target < len(t) = {t.size}")
        return prefix, target, self._pair_leads(t, prefix, target)

    def _pair_leads(self, t, prefix: np.ndarray, target: np.ndarray) -> np.ndarray:
        """The lead buckets (grid steps) of valid int64 pairs (_pairs; the core's own
        calibration_pairs as they come)."""
        r = self._grid_ratio(t)
        return _lead_buckets(target - (prefix - 1) if r == 1.0 else (target - prefix + 1) / r, self.horizon)

    def _past(self, t, y, prefix, target, lead, scalers: dict | None = None, q: np.ndarray | None = None):
        """past_predictions' (mean, sigma); `scalers` (lead bucket ->
        ConformalScaler, _lead_scalers) and `q` (the raw pair predictions)
        when the caller has them already (forecast_with_past: both or
        neither)."""
        if scalers is None or q is None:      # the scalers' and the pairs' predictions in one run
            leads = set(lead.tolist())
            scalers, q = self._lead_scalers([(t, y)], [leads], ((t, y, prefix, target), leads))[1]
        mean, sigma = np.full(prefix.size, np.nan), np.full(prefix.size, np.nan)
        ok = np.isfinite(q).all(axis=1)
        raw = self._scaler.fresh()            # uncalibrated: raw quantiles
        # One vectorised mapping of every row (ConformalScaler._apply's, row by row the same
        # arithmetic) where each lead's scaler has one factor pair for all its rows; a scaler
        # with flat past predictions (factors per row) or asymmetric model levels (another
        # plan when calibrated) maps its rows itself. Until 2026-12-04 every lead went through
        # _apply, ~0.1 ms a forecast in small numpy calls.
        plan = raw._plan(_TEN_NINETY)
        lo, hi, w, w1, f_raw, coverage = plan
        factors = np.empty((prefix.size, 2))
        mi = raw.median_index
        fast = ok.copy()
        all_ok = bool(ok.all())
        found = set((lead if all_ok else lead[ok]).tolist())
        one = all_ok and len(found) == 1        # the usual case (one lead, every row predicted): no masks
        for s in found:
            sel = slice(None) if one else ok & (lead == s)
            cs = scalers.get(s) or raw
            if not cs.calibrated:
                factors[sel] = f_raw
            elif cs._has_flat() or cs._clamp != (cs.model_levels[0], cs.model_levels[-1]):
                fast[sel] = False
                cq = cs._apply(q[sel], _TEN_NINETY)
                mean[sel] = q[sel, mi]
                sigma[sel] = (cq[:, 1] - cq[:, 0]) / 2.563
            else:
                factors[sel] = cs._factors(coverage)
        # The fast rows in C++ (cpp/windowing/grid_quantiles.h, past_mean_sigma: the same
        # arithmetic as _map_levels on the sorted rows, bit for bit). Quantiles that coincide (a
        # flat window, below float32's resolution at the level) claim sigma 0: every row's sigma
        # is floored at the values' resolution there, as the core's models do (robust_stats.h).
        _core.past_mean_sigma(np.ascontiguousarray(q, dtype=np.float64), fast, mi, lo, hi, w, w1, factors, mean,
                              sigma)
        return mean, sigma

    def forecast(self, t, y, target_times, levels=DEFAULT_LEVELS, calibrate: bool = True):
        """Quantile forecast of the measurement at each target time.

        t: measurement times (s), strictly increasing, at least 2.
        y: measured offsets (any unit; the forecast is in the same unit).
        target_times: absolute times (s), at or after t[-1] and at most
        horizon * step_s ahead. levels: quantile levels in (0, 1), strictly
        increasing. calibrate: rescale intervals from the model's own recent
        errors at each target's lead (see the module docstring).
        Returns chronotick._core.QuantileForecast (mean = the median).
        """
        with self._lock:
            return self._forecast_batch(((t, y),), (target_times,), levels, calibrate)[0]

    def reach(self, t) -> float:
        """The latest target time `forecast` accepts from measurements at
        times t (s): t[-1] + horizon steps (the last half step excepted, as
        a float margin)."""
        t = np.asarray(t, dtype=np.float64)
        return self._reach(t, self._step(t))

    def _reach(self, t: np.ndarray, step: float) -> float:
        """reach of float64 times t at grid step `step` (self._step(t))."""
        return float(t[-1]) + (self.horizon + 0.5 - 1e-6) * step

    def out_of_reach(self, t, target_times) -> str:
        """Why `forecast_within_reach` gives None: how far it reaches, how far the first target is."""
        return (f"it reaches {self.reach(t) - float(t[-1]):.0f} s ahead, the first target is "
                f"{float(np.min(target_times)) - float(t[-1]):.0f} s ahead")

    def forecast_within_reach(self, t, y, target_times, levels=DEFAULT_LEVELS):
        """`forecast` at the targets it reaches (`reach`), NaN at the later
        ones (a QuantileForecast made with partial=True: the core fuses it
        where it is finite); None when it reaches none of them (`out_of_reach` says why)."""
        # checked first: NaN or no targets had read as "out of reach" (None), a NaN among
        # reachable ones as a partial forecast, one measurement as "median_spacing needs ..."
        t, _ = _check_series(t, y)
        targets = _check_targets(target_times)
        inside = targets <= self.reach(t)
        if not inside.any():
            return None
        if inside.all():
            return self.forecast(t, y, targets, levels)
        return self._partial(self.forecast(t, y, targets[inside], levels), targets, inside)

    @staticmethod
    def _partial(part, targets: np.ndarray, inside: np.ndarray):
        """`part` (a forecast at targets[inside]) spread over all targets, NaN elsewhere."""
        mean = np.full(targets.size, np.nan)
        q = np.full((targets.size, part.levels.size), np.nan)
        mean[inside], q[inside] = part.mean, part.quantiles
        return _core.QuantileForecast(part.model, targets, part.levels, mean, q, partial=True)

    def forecast_with_past(self, t, y, target_times, levels=DEFAULT_LEVELS, params=None,
                           fused_tail: int | None = None) -> tuple:
        """`forecast_within_reach` and `fusion_past` in one call, as the
        fusion wants them: (forecast, prefix, target, past_mean, past_sigma),
        the same values the two give separately, but the calibration is
        built once and the past predictions the memo lacks are made in the
        same batched model run as the calibration's. When it reaches none of
        the targets: (None, None, None, None, None) (`out_of_reach` says why).
        The forecast is `usable` (finite wherever it reaches), else ModelError:
        what it returns can go straight into the core fusion's `extra`.
        fused_tail: the fusion sees only the newest fused_tail measurements of
        (t, y) (a model given a longer history than the classical models: the
        Engine's long-term model); the pairs are then the fusion's on that
        tail, prefix and target returned in its indices, each past prediction
        made from all of (t, y) before its prefix's end (as any pair's)."""
        tc, yc = _check_series(t, y)          # checked first, as in forecast_within_reach
        return self._forecast_with_past(tc, yc, _check_targets(target_times), levels, params, fused_tail,
                                        (t, y))

    def _forecast_with_past(self, tc, yc, targets, levels, params, fused_tail, series=None, step=None) -> tuple:
        """forecast_with_past of checked (tc, yc) (_check_series) and targets (_check_targets).
        series: the (t, y) the caller gave, windowed as given (default (tc, yc)); step: self._step(tc)
        where the caller has it (predict: computed once for observed_cells and the reach)."""
        reach = self._reach(tc, self._step(tc) if step is None else step)
        if targets.max() <= reach:
            inside = None                      # every target reached (the usual case): no masks
        else:
            inside = targets <= reach
            if not inside.any():
                return None, None, None, None, None
        with self._lock:
            off = _tail_offset(tc.size, fused_tail)
            p, g = _fusion_pairs(tc[off:], targets, params)     # valid pairs (the core's), int64
            prefix, target = (p, g) if off == 0 else (p + off, g + off)
            lead = self._pair_leads(tc, prefix, target)
            past = {"pairs": (prefix, target, lead)}
            fc = self._forecast_batch((series or (tc, yc),), (targets if inside is None else targets[inside],),
                                      levels, True, past)[0]
            mean, sigma = self._past(tc, yc, prefix, target, lead, past.get("scalers"), past.get("q"))
        if inside is not None:
            fc = self._partial(fc, targets, inside)
        if not usable(fc):
            raise ModelError(f"model {self.name} gave no usable output ({fc.note})")
        return (fc, p, g, mean, sigma) if off == 0 else (fc, prefix - off, target - off, mean, sigma)

    def forecast_batch(self, series, target_times, levels=DEFAULT_LEVELS, calibrate: bool = True) -> list:
        """`forecast` for many series in one batched model run.
        series: sequence of (t, y); target_times: one sequence per series."""
        with self._lock:
            return self._forecast_batch(series, target_times, levels, calibrate)

    def _plan(self, levels):
        """(levels array, interpolation plan into the model levels), cached by value."""
        if isinstance(levels, (list, tuple)):
            key = tuple(levels)
            try:
                hash(key)
            except TypeError:      # 0-d arrays or lists inside: checked (and named) uncached
                key = None
        elif isinstance(levels, np.ndarray) and levels.ndim == 1:
            key = (levels.dtype.str, levels.tobytes())
        else:
            key = None
        plan = self._levels_cache.get(key) if key is not None else None
        if plan is None:
            # a copy, read-only: the plan is kept under the levels' value, and _check_levels may
            # return the caller's own array, which the caller may change later (found by an
            # audit, 2026-12-05: a kept plan then labelled 0.1/0.9 quantiles as 0.05/0.95)
            arr = np.array(_check_levels(levels, "levels"))
            arr.flags.writeable = False
            plan = (arr,) + self._raw_scaler._plan(arr)     # lo, hi, w, w1, f_raw, coverage
            if key is not None and len(self._levels_cache) < 64:
                self._levels_cache[key] = plan
        return plan

    def _run_model(self, x, io, out) -> None:
        """_run_bound of the windows x, a Chronos-Bolt export's rows kept inside float32's range
        for its in-graph scaling: a row whose largest |cell| is below 2^-64 or from 2^56 on is
        run multiplied by a power of two and its output scaled back (cpp/windowing/pow2_scale.h;
        until 2026-12-04 a 1e-25-scale series was forecast 1e24 times its spread off, a
        1e18-scale one refused as non-finite). Other models' outputs need not scale with their
        input (a spread in absolute units): run as they are."""
        exps = _core.pow2_rescale_rows(x) if self.pins_flat else None
        try:
            self._run_bound(io, out)
        finally:
            if exps is not None:
                _core.pow2_unscale_rows(x, out, exps)

    def _run_bound(self, io, out) -> None:
        """One batched run of the rows bound by `io` (_binding's list) into `out`."""
        try:
            for b, x in io:
                if self._on_device:
                    b.bind_input(INPUT_NAME, "cpu", 0, np.float32, list(x.shape), x.ctypes.data)
                self.session.run_with_iobinding(b)
                if self._on_device:
                    b.synchronize_outputs()
        except Exception as exc:
            raise _RunFailed(f"model {self.name}: onnxruntime run failed: {exc}") from exc

    def _forecast_batch(self, series, target_times, levels, calibrate: bool, past: dict | None = None) -> list:
        """past (forecast_with_past): {"pairs": (prefix, target, lead)} of
        series 0, whose raw predictions are made with the calibration's; on
        return it holds "scalers" (the lead scalers of those pairs) and "q"
        (the raw predictions) when the forecast was calibrated."""
        levels, lo, hi, w, w1, f_raw, coverage = self._plan(levels)
        if len(series) != len(target_times):
            raise ValueError(f"series and target_times differ in length: {len(series)} vs {len(target_times)}")
        n = len(series)
        if n == 0:
            raise ValueError("series is empty")
        x, out, io = self._binding(n)
        step = math.nan if self.step_s is None else self.step_s
        coarse = self.step_s is None and self.step_factor != 1.0
        prep = []
        for i, ((t, y), tt) in enumerate(zip(series, target_times)):
            try:
                try:
                    st = self._step(t) if coarse else step
                    prep.append(_core.forecast_window(x[i], t, y, tt, st, self.horizon, self.name,
                                                      self._r2_arg, self._spike_arg))
                except TypeError:      # not convertible to float arrays: name the argument as numpy does
                    _check_series(t, y)
                    _as_1d(tt, "target_times")
                    raise
            except ValueError as exc:
                raise ValueError(f"series {i}: {exc}" if n > 1 else str(exc)) from None
        if calibrate and self.calib_window > 0:
            leads = [_lead_buckets(p[2], self.horizon) for p in prep]
            data = [(np.asarray(t, dtype=np.float64), np.asarray(y, dtype=np.float64)) for (t, y) in series]
            wanted = [set(b.tolist()) for b in leads]
            extra = None
            if past is not None:
                prefix, target, lead = past["pairs"]
                extra = ((data[0][0], data[0][1], prefix, target), set(lead.tolist()))
            scalers, got = self._lead_scalers(data, wanted, extra)
            if got is not None:
                past["scalers"], past["q"] = got
        else:
            scalers = None
        self._run_model(x, io, out)
        if self.pins_flat:
            _pin_flat(x, out)
        if scalers is not None:
            # calibrating: each row is also the prediction of the measurements to come from
            # this whole history, kept for the calibration of later forecasts (_pair_preds)
            # unless kept already (a row's sum is finite only if all of it is)
            keep = []
            for i, ((t, y), (level, st, _, slope)) in enumerate(zip(data, prep)):    # float64 arrays
                _, h, missing = self._lookup(t, y, [t.size])
                if missing and math.isfinite(out[i].sum()):
                    keep.append(((float(t[-1]), float(y[-1]), int(h[0])), out[i], (st, level, slope)))
            self._remember(keep)
        res, bad = [], []
        median_index = self._raw_scaler.median_index
        for i, (level, _, h, slope) in enumerate(prep):
            if scalers is None:       # raw quantiles: one factor for every target, one call
                fc = _core.grid_forecast(self.name, target_times[i], levels, out[i], h, level, median_index,
                                         lo, hi, w, w1, f_raw, slope)
                if fc is None:
                    bad.append(i)
                else:
                    res.append(fc)
                continue
            med, qs = np.empty(h.size), np.empty((h.size, levels.size))
            borrowed = raw = False
            for lead in sorted(set(leads[i].tolist())):      # per lead bucket: its own calibration
                sel = leads[i] == lead
                cs = scalers[i].get(lead)
                raw = raw or cs is None
                borrowed = borrowed or (cs is not None and cs.lead is not None and cs.lead < lead)
                f = cs._factors(coverage) if cs is not None else f_raw
                plan = (lo, hi, w, w1)
                if cs is not None and cs.calibrated:
                    f = f * _OUTWARD      # calibrated ends rounded outward
                    # levels clamped to the central interval the factors are computed on (the same
                    # plan where the model's levels are symmetric; with asymmetric ones the outer
                    # level had been scaled by the inner interval's factor: ConformalScaler.apply)
                    plan = self._raw_scaler._calibrated_plan(levels, plan)
                if cs is not None and cs.calibrated and cs._has_flat():
                    r = self._per_target(out[i], h[sel], level, median_index, plan, coverage, cs, slope,
                                         (lo, hi, w, w1, f_raw))
                    if r is not None:
                        r, uncal = r
                        raw = raw or uncal
                else:
                    r = _core.grid_quantiles(out[i], h[sel], level, median_index, *plan, f, slope)
                if r is None:
                    break
                med[sel], qs[sel] = r[0], self._grow(r[0], r[1], levels, lead, h[sel], scalers[i])
            else:
                note = "; ".join(n for n, on in (
                    ("intervals at some leads calibrated at a shorter lead (too little history), at least "
                     "that lead's errors grown with the lead", borrowed),
                    ("intervals not calibrated at some leads (too few past errors), the model's own "
                     "quantiles used", raw)) if on)
                res.append(_core.QuantileForecast(self.name, target_times[i], levels, med, qs, False, note))
                continue
            bad.append(i)
        if bad:
            raise ModelError(f"model {self.name} produced non-finite quantiles for batch row(s) {bad[:5]}")
        return res

    def _per_target(self, q: np.ndarray, h: np.ndarray, level: float, median_index: int, plan, coverage,
                    cs: ConformalScaler, slope: float, raw_plan):
        """grid_quantiles' ((median, quantiles), whether a target was left raw) of the model
        output q [K, H] at steps h, each target with its own conformal factors: cs holds past
        predictions from flat windows, scored against this forecast's raw distances at that
        step (ConformalScaler._factors_for); a target with too few scores left gets the
        model's own quantiles (raw_plan: lo, hi, w, w1, f_raw). None where grid_quantiles is."""
        H = self.horizon
        med, qs = np.empty(h.size), np.empty((h.size, coverage.size))
        uncal = False
        for k, hk in enumerate(h.tolist()):
            hc = min(max(hk, 1.0), float(H))           # the step grid_quantiles / read_ahead read
            lo = min(int(hc), max(H - 1, 1))
            up = min(lo, H - 1)
            w = hc - lo
            raw = np.sort(q[:, lo - 1].astype(np.float64) * (1.0 - w) + q[:, up].astype(np.float64) * w)
            f = cs._factors_for(coverage, raw - raw[median_index])
            if f is None:
                uncal = True
                r = _core.grid_quantiles(q, h[k:k + 1], level, median_index, *raw_plan, slope)
            else:      # calibrated: the ends rounded outward (_OUTWARD)
                r = _core.grid_quantiles(q, h[k:k + 1], level, median_index, *plan, f * _OUTWARD, slope)
            if r is None:
                return None
            med[k], qs[k] = r[0][0], r[1][0]
        return (med, qs), uncal

    def _lead_scalers(self, data: list[tuple[np.ndarray, np.ndarray]], wanted: list[set], extra=None) -> tuple:
        """Per series (t, y) and lead bucket S (grid steps) in wanted[s]: a
        ConformalScaler of the model's predictions m = max(1, round(S r))
        measurements ahead (r = grid step / median spacing: 1 on the
        measurement-spaced grid, step_factor on a coarse one) of the newest
        calib_window measurements y_j, each from the measurements
        [0, j - m + 1) only (_pair_preds, one batched run for all); with
        fewer than calib_min of them the longest shorter lead's that has
        them; None when none has (raw quantiles).
        Returns (the per-series dicts, for_extra). extra: ((t, y, prefix,
        target), leads) of series 0, whose pairs are predicted in the same
        run; for_extra is then (the dict for `leads`, from the same scalers;
        the raw predictions of the pairs [len(prefix), K]), else None.

        A lead's scaler depends only on the newest _scaler_span(t, m, j)
        measurements (its targets and the measurements that make each
        prefix's memo key, prefix_keys) and on n; it is kept under
        exactly those bytes, so forecasting again from unchanged measurements
        skips the memo look-ups and the scores."""
        asks, where = [], []
        base = [dict() for _ in data]
        leads_of = [set(w) | {1} for w in wanted]
        if extra is not None:
            leads_of[0] = leads_of[0] | extra[1]
        ratios = [self._grid_ratio(t) for t, _ in data]
        firsts = [self._restart(t, r) for (t, _), r in zip(data, ratios)]
        for s, ((t, _), r) in enumerate(zip(data, ratios)):
            leads_of[s] |= self._donors(leads_of[s], t.size, r, firsts[s])
        for s, ((t, y), leads) in enumerate(zip(data, leads_of)):
            r = ratios[s]
            for lead in sorted(leads):
                m, j = self._pair_targets(lead, t.size, r, firsts[s])
                k = min(t.size, self._scaler_span(t, m, j))
                # j[0] too: after a gap (_restart) or with a fixed step_s it may depend on
                # measurements older than the newest k (the gap's start, the spacings of r)
                key = (lead, m, t.size, int(j[0]) if j.size else -1, t[-k:].tobytes(), y[-k:].tobytes())
                cs = self._scalers.get(key)
                if cs is not None:
                    base[s][lead] = cs
                    continue
                asks.append((t, y, j - m + 1, j))
                where.append((s, lead, key))
        extra_rows = self._rows_within(asks, where, extra[0]) if extra is not None else None
        preds = self._pair_preds(asks + ([extra[0]] if extra is not None and extra_rows is None else []))
        if extra_rows is not None:      # the extra pairs are some of an ask's: its rows, not looked up again
            preds.append(preds[extra_rows[0]][extra_rows[1]])
        for (s, lead, key), (t, y, _, j), q in zip(where, asks, preds):
            cs = self._scaler.fresh()
            cs.lead = lead
            ok = np.isfinite(q).all(axis=1)
            if ok.any():     # y finite (_check_series), q sorted per row (_pair_preds): no re-checks
                cs._fill(y[j[ok]], q[ok])
            base[s][lead] = self._scalers[key] = cs
        while len(self._scalers) > self._scalers_max:
            self._scalers.popitem(last=False)
        out = [self._fallback(b, leads) for b, leads in zip(base, leads_of)]
        return out, (None if extra is None else (self._fallback(base[0], extra[1] | {1}), preds[-1]))

    @staticmethod
    def _rows_within(asks, where, pairs):
        """(a, rows) where every pair of `pairs` (t, y, prefix, target) is one of ask a's (of
        series 0, the same t and y arrays) at `rows`, else None: forecast_with_past's fusion
        pairs at lead 1 are the newest of the lead-1 calibration's, whose predictions
        _pair_preds makes anyway (the same memo entries, read at the same times)."""
        t, y, prefix, target = pairs
        if prefix.size == 0:
            return None
        lo = hi = None
        for a, ((s, _, _), (ta, ya, pa, ja)) in enumerate(zip(where, asks)):
            if s != 0 or ta is not t or ya is not y or pa.size < prefix.size:
                continue
            # pa consecutive and ja = pa + m - 1 (_pair_targets' j, its prefixes j - m + 1): the
            # pair (i, target) is row i - pa[0] where pa[0] <= i <= pa[-1] and target - i = m - 1
            p0, p1 = int(pa[0]), int(pa[-1])
            if p1 - p0 != pa.size - 1:
                continue
            if lo is None:
                lo, hi = int(prefix.min()), int(prefix.max())
            if p0 <= lo and hi <= p1 and ((target - prefix) == int(ja[0]) - p0).all():
                return a, prefix - p0
        return None

    def _pair_start(self, lead: int, n: int, r: float, first: int = 0) -> tuple[int, int]:
        """(m, start): lead bucket `lead` is m measurements ahead (r: grid
        step / median spacing); its calibration targets are the newest
        calib_window measurements j in [start, n) with a prefix [0, j - m + 1)
        of at least min_history measurements (as the classical models' pairs:
        cpp/models/leads.h). From fewer the model forecasts worse than from
        the history it is asked about, so such pairs overstate its errors: an
        hour of minute polls forecast an hour ahead on simulated free-running
        clocks got 80% intervals 1400x wider than the classical fusion's from
        pairs of 2-7 measurements (2 until 2026-12-02), 2.1x from 8.
        On a grid coarser than the polls (r > 1: the long-term model) the
        minimum is min_history grid cells, r x min_history measurements: the
        model (and its detrending) sees cells, and a prefix of 8 measurements
        at step_factor 8 is one cell (80% intervals 1.3 s wide where the
        median was 0.3 ms off, on a clean drift, until 2026-12-02).
        first (_restart): the prefixes count from there -- after a gap longer than
        the window the calibration starts again, as the live forecast's window
        holds only the measurements since."""
        m = max(1, int(round(lead * r)))
        need = self.min_history if r <= 1 else int(math.ceil(self.min_history * r))
        return m, max(first + m + need - 1, n - self.calib_window)

    def _pair_targets(self, lead: int, n: int, r: float, first: int = 0) -> tuple[int, np.ndarray]:
        """(m, j): m and the calibration targets of _pair_start."""
        m, start = self._pair_start(lead, n, r, first)
        return m, np.arange(start, n)

    def _pairs_at(self, lead: int, n: int, r: float, first: int = 0) -> int:
        """How many calibration pairs lead bucket `lead` has in n measurements."""
        return max(0, n - self._pair_start(lead, n, r, first)[1])

    def _restart(self, t: np.ndarray, r: float) -> int:
        """Index of the first measurement after the newest gap longer than the model's window
        ((context - 1/2) grid steps at the current step: no window after it sees a measurement
        before it), 0 if none. Only the newest measurements a calibration pair can use are
        looked at (calib_window + the longest lead + min_history grid cells): an older gap
        never moves _pair_start. Until 2026-12-04 the pairs before such a gap calibrated the
        forecasts after it, whose windows hold only the few measurements since: clock-bolt's 80%
        intervals covered 70 / 64.5 / 30.5% 1 / 8 / 32 steps ahead on 200 simulated clocks after
        a 2-day gap, 86 / 82.5 / 89.5% now (Rule G, docs/models.md)."""
        n = t.size
        r1 = max(r, 1.0)
        look = self.calib_window + int(math.ceil(self.horizon * r1)) + int(math.ceil(self.min_history * r1)) + 2
        if min(n, look) < 2:
            return 0
        return _core.after_last_gap(t, look, (self.context - 0.5) * self._step(t))

    def _donors(self, leads: set, n: int, r: float, first: int = 0) -> set:
        """For each lead above 1: the longest shorter power-of-two lead D with
        calib_min pairs, and D/2 if it has them too. A lead whose own errors
        turn out too few (it reaches beyond the history, or its pairs beyond
        the model's horizon: 64 measurements ahead spans more than 64.5 grid
        steps where the polls run late) borrows D's errors grown from D's at
        the rate they grew from D/2 to D (_fallback, _grow). Counting pairs
        alone missed the second case: such a lead-64 bucket fell back to lead
        1, grown 64^1.5-fold or more (80% intervals 60 polls ahead on 8
        simulated disciplined clocks, 398 origins: widest 3.1 s where the
        median is 6.7 ms; now 28 ms).
        """
        out = set()
        for lead in leads:
            if lead < 2:
                continue
            d = 1 << max(0, (int(lead) - 1).bit_length() - 1)      # the largest power of two < lead
            while d >= 1 and self._pairs_at(d, n, r, first) < self.calib_min:
                d >>= 1
            if d >= 1:
                out.add(d)
                if d >= 2 and self._pairs_at(d // 2, n, r, first) >= self.calib_min:
                    out.add(d // 2)
        return out

    def _grow(self, med: np.ndarray, qs: np.ndarray, levels: np.ndarray, lead: int, h: np.ndarray,
              scalers: dict) -> np.ndarray:
        """Quantiles qs [T, L] around med [T] of targets in lead bucket `lead`,
        h [T] grid steps ahead, whose calibration is a shorter lead D's: each
        end at least D's absolute conformal error quantile grown as
        (max(h, 1) / D)^a -- the target's own lead, not its bucket's (with the
        bucket's every lead of it got one floor, then a jump at the next:
        an audit, 2026-12-06) -- a = log2(MAE(D) / MAE(D/2)) kept in
        [growth_min, 2] (growth_min when D/2 has no errors), rounded outward
        (_OUTWARD): the classical models' rule (cpp/models/calibration.h).
        The model's own quantiles may grow far too slowly with the lead: a
        60-point history asked 60 steps ahead covered 50% of 80% on the Cs
        clock without it (docs/holdover.md)."""
        cs = scalers.get(lead)
        if cs is None or cs.lead is None or cs.lead >= lead or not cs.calibrated:
            return qs
        d = cs.lead
        half = scalers.get(d // 2) if d >= 2 else None
        mae_half = (np.abs(half._y - half._q[:, half.median_index]).mean()
                    if half is not None and half.lead == d // 2 and half.calibrated else 0.0)
        # L / D > sqrt(2) for a borrowed bucket; the floor of 1 only guards grown_offsets' check
        ratio = np.maximum(np.maximum(h, 1.0) / d, 1.0)
        floor = np.abs(_core.grown_offsets(np.abs(cs._y - cs._q[:, cs.median_index]), mae_half, ratio,
                                           levels, self.growth_min))      # [T, L], 0 at the median
        side = np.sign(levels - 0.5)
        dist = np.maximum(side * (qs - med[:, None]), floor * _OUTWARD)
        return np.maximum.accumulate(med[:, None] + side * dist, axis=1)

    @staticmethod
    def _fallback(base: dict, leads: set) -> dict:
        """lead -> the scaler of that lead if calibrated, else of the longest
        shorter lead in `leads` that is, else None."""
        d, best = {}, None
        for lead in sorted(leads):
            if base[lead].calibrated:
                best = base[lead]
            d[lead] = best
        return d

    def fusion_past(self, t, y, target_times, params=None, fused_tail: int | None = None) -> tuple:
        """(prefix, target, past_mean, past_sigma): past_predictions at the
        pairs chronotick._core.calibration_pairs lists for a fused forecast
        at target_times from (t, y) with `params` (a _core.ModelParams, the
        one the fusion uses; default ModelParams()) -- the tail of an `extra`
        entry of chronotick._core.forecast_fused. fused_tail: as
        forecast_with_past's."""
        t = np.asarray(t, dtype=np.float64)
        off = _tail_offset(t.size, fused_tail)
        prefix, target = _fusion_pairs(t[off:], target_times, params)
        mean, sigma = self.past_predictions(t, y, prefix + off, target + off)
        return prefix, target, mean, sigma

    def one_step_history(self, t, y) -> tuple[np.ndarray, np.ndarray]:
        """The model's past one-step-ahead predictions of the measurements
        themselves: for each of the newest calib_window measurements y_j, the
        median of the prediction made from the measurements before t_j only
        (the grid step too), and the sigma implied by its 10%/90% quantiles
        ((q90 - q10) / 2.563) calibrated with the CURRENT calibration (the
        one-step errors of the whole window, y_j's own and later ones
        included -- the scale the current forecast uses, as the core scales
        its members' past forecasts; not the calibration `forecast` had at
        t_j). Returns (mean, sigma), each of size len(y), NaN where no
        prediction was made (the oldest measurements, or a target beyond the
        horizon). Memoised: after `forecast` on the same history it costs no
        model run. These let a fusion weigh the model by its recent accuracy
        (chronotick._core.forecast_fused's `extra`)."""
        t, y = _check_series(t, y)
        n = t.size
        j = np.arange(max(2, n - self.calib_window), n)
        mean, sigma = np.full(n, np.nan), np.full(n, np.nan)
        mean[j], sigma[j] = self.past_predictions(t, y, j, j)
        return mean, sigma
