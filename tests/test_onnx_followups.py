"""Follow-ups on the ONNX forecaster (chronotick.models.onnx):

- an exactly flat window (after the centring and the detrending) is forecast as its
  constant with zero-width raw quantiles: Chronos-Bolt's scaling floors a zero spread
  at |mean| + 1e-5, so a constant 1e-8 s series had been forecast ~2e-7 off 64 steps
  ahead; near-flat windows (a 1e-12 spread) keep the model's own output. A flat past
  prediction that missed is scored against the width of the forecast it calibrates
  (its |e| / 0 score had made 80% intervals ~1e293 wide after a step);
- a model whose horizon is not a power of two (24 steps) calibrates its last steps at
  its own horizon, not at a lead bucket (32) beyond its reach;
- one forecaster (and predict()'s shared one) called from several threads at once
  gives bit-for-bit the results of the same calls made one after another.
"""
from __future__ import annotations

import json
import os
import threading

import numpy as np
import pytest

import chronotick
from chronotick.models.calibration import ConformalScaler
from chronotick.models.onnx import OnnxForecaster, _lead_buckets

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHIPPED = os.path.join(REPO, "python", "chronotick", "models", "data", "clock-bolt.onnx")
shipped = pytest.mark.skipif(not os.path.isfile(SHIPPED), reason="clock-bolt.onnx not shipped in this checkout")

LEVELS = (0.025, 0.1, 0.5, 0.9, 0.975)


def _grid(n=300, step=64.0):
    return 1.7e9 + step * np.arange(n)


# ---- exactly flat windows ----------------------------------------------------------------------

def test_pin_flat_rows_pins_flat_windows_only_and_refuses_a_copy():
    from chronotick import _core
    nan = np.nan
    x = np.array([[0.5, 0.5, 0.5, 0.5],
                  [nan, -2.0, nan, -2.0],          # flat where observed
                  [0.0, 0.0, 1e-12, 0.0],          # a tiny spread: the model's own
                  [nan, nan, nan, nan]], np.float32)
    out = np.full((4, 3, 2), 7.0, np.float32)
    assert _core.pin_flat_rows(x, out) == 2
    np.testing.assert_array_equal(out[0], 0.5)
    np.testing.assert_array_equal(out[1], -2.0)
    np.testing.assert_array_equal(out[2:], 7.0)
    with pytest.raises(ValueError, match=r"float32.*got shapes \(4, 4\) and \(3, 3, 2\)"):
        _core.pin_flat_rows(x, np.zeros((3, 3, 2), np.float32))      # rows differ
    with pytest.raises(TypeError):        # float64: a converted copy would take the writes unseen
        _core.pin_flat_rows(x, np.zeros((4, 3, 2)))


@shipped
@pytest.mark.parametrize("level", [1e-8, 1e3, 0.0, -2.5e-3])
def test_a_constant_series_is_forecast_as_that_constant(level):
    # Was: 1e-8 + ~6e-8 one step ahead and ~2e-7 64 steps ahead (raw: +2.7e-6, 5.7e-6 wide),
    # the model's output noise on its 1e-5 scale floor; the same ~2e-7 off at 1e3
    f = OnnxForecaster(SHIPPED)
    t = _grid()
    y = np.full(t.size, level)
    assert f.pins_flat            # a Chronos-Bolt export (its card); another architecture is left as it is
    targets = t[-1] + 64.0 * np.arange(1, 65)
    for cal in (True, False):
        fc = f.forecast(t, y, targets, LEVELS, calibrate=cal)
        np.testing.assert_array_equal(fc.mean, level)
        np.testing.assert_array_equal(fc.quantiles, level)
    # forecast_batch agrees, next to an ordinary series in the same run
    rng = np.random.default_rng(1)
    y2 = np.cumsum(rng.normal(size=t.size)) * 1e-5
    # (on the CPU: bit-equal results across batch compositions are the CPU's, docs/gpu.md)
    fresh = OnnxForecaster(SHIPPED, providers=["CPUExecutionProvider"])
    a, b = fresh.forecast_batch([(t, y2), (t, y)], [targets, targets], LEVELS)
    np.testing.assert_array_equal(b.quantiles, level)
    alone = OnnxForecaster(SHIPPED, providers=["CPUExecutionProvider"]).forecast(t, y2, targets, LEVELS)
    np.testing.assert_array_equal(a.quantiles, alone.quantiles)
    # the calibration's past predictions (memo, _pair_preds / _at_each) are the constant too
    mean, sigma = OnnxForecaster(SHIPPED).past_predictions(t, y, np.arange(200, 290), np.arange(200, 290) + 7)
    np.testing.assert_array_equal(mean, level)
    assert np.all(sigma <= 4 * np.spacing(abs(level)) + 1e-150)


@shipped
def test_a_flat_stretch_of_a_gappy_series_with_one_reading_repeated_is_the_constant():
    # missing cells (NaN) do not count as spread; a series flat after detrending-free centring
    f = OnnxForecaster(SHIPPED)
    rng = np.random.default_rng(3)
    t = np.sort(rng.choice(np.arange(600), 250, replace=False)).astype(float) * 64.0 + 1.7e9
    y = np.full(t.size, 7e-9)
    fc = f.forecast(t, y, t[-1] + 64.0 * np.arange(1, 9), LEVELS)
    np.testing.assert_array_equal(fc.quantiles, 7e-9)


@shipped
def test_a_near_flat_ptp_scale_window_keeps_the_models_own_scale():
    # spread 1e-12 (PTP-scale data): the model's scaling uses that spread, no 1e-5 floor;
    # its forecast stays within a few spreads of the level and has a non-zero width
    f = OnnxForecaster(SHIPPED)
    t = _grid()
    y = 1e-3 + np.random.default_rng(0).normal(size=t.size) * 1e-12
    fc = f.forecast(t, y, t[-1] + 64.0 * np.arange(1, 65), LEVELS, calibrate=False)
    width = fc.quantiles[:, -1] - fc.quantiles[:, 0]
    assert np.all(width > 0) and np.all(width < 1e-10)
    assert np.all(np.abs(fc.mean - 1e-3) < 1e-11)


@shipped
@pytest.mark.parametrize("after", [20, 40])
def test_a_step_after_a_flat_stretch_gets_intervals_of_the_steps_size(after):
    # Was (once flat windows forecast zero-width quantiles): the past predictions made from
    # the flat stretch missed the step with a zero width, scored |e| / 1e-300, and the 80%
    # intervals 16-64 steps ahead were ~1e293 wide
    f = OnnxForecaster(SHIPPED)
    t = _grid()
    y = np.full(t.size, 2e-6)
    y[t.size - after:] += 1e-3
    fc = f.forecast(t, y, t[-1] + 64.0 * np.array([1, 8, 16, 32, 64]), (0.1, 0.5, 0.9))
    w80 = fc.quantiles[:, 2] - fc.quantiles[:, 0]
    assert np.all(np.isfinite(w80)) and np.all(w80 < 0.05), w80
    fcw, _, _, mean, sigma = OnnxForecaster(SHIPPED).forecast_with_past(t, y, t[-1] + 64.0 * np.array([1, 8, 64]),
                                                                         (0.1, 0.5, 0.9))
    assert np.nanmax(sigma) < 0.05


def test_conformal_scaler_scores_a_flat_miss_against_the_forecast_it_calibrates():
    levels = np.array([0.1, 0.5, 0.9])
    cs = ConformalScaler(levels, min_errors=4)
    rng = np.random.default_rng(0)
    m = rng.normal(size=20)
    cs.add(m + rng.normal(size=20), np.c_[m - 1.0, m, m + 1.0])      # ordinary: width 2
    cs.add([5.0] * 6, np.tile([0.0, 0.0, 0.0], (6, 1)))               # flat predictions that missed by 5
    q = np.array([[-2.0, 0.0, 2.0]])
    out = cs.apply(q, [0.1, 0.5, 0.9])
    assert np.all(np.isfinite(out)) and out[0, 2] < 100, out         # was ~1e300
    # the misses count as 5 / 2 = 2.5 of this forecast's distance: the same as
    # predictions that had this forecast's width
    ref = ConformalScaler(levels, min_errors=4)
    ref.add(cs._y[:20], cs._q[:20])
    ref.add([5.0] * 6, np.tile([-2.0, 0.0, 2.0], (6, 1)))
    np.testing.assert_allclose(out, ref.apply(q, [0.1, 0.5, 0.9]), rtol=0, atol=0)


# ---- a horizon that is not a power of two --------------------------------------------------------

@pytest.fixture(scope="module")
def bolt24(tmp_path_factory):
    """A small random Chronos-Bolt exported with prediction_length 24 (context 64)."""
    for mod in ("torch", "chronos", "onnx", "onnxscript"):
        pytest.importorskip(mod, reason=f"the export extra is not installed ({mod} missing)")
    from chronotick.models.export_bolt import export_chronos_bolt, save_random_bolt
    root = tmp_path_factory.mktemp("bolt24")
    ckpt = save_random_bolt(str(root / "ckpt"), seed=2, initializer_factor=0.1, context=64, prediction_length=24,
                            d_model=32, d_ff=64, patch=16)
    path = root / "bolt24.onnx"
    export_chronos_bolt(ckpt, str(path), context=64, log=lambda m: None)
    return str(path)


def test_lead_buckets_stop_at_the_models_horizon(bolt24):
    assert _lead_buckets(np.array([23.0, 24.0, 24.4]), 24).tolist() == [24, 24, 24]
    assert _lead_buckets(np.arange(1.0, 25.0), 24).max() == 24
    h = np.r_[np.arange(0.5, 65.0, 0.25)]
    np.testing.assert_array_equal(_lead_buckets(h, 64), _lead_buckets(h))    # 64 steps: as before


def test_a_24_step_model_calibrates_its_last_steps_at_its_own_horizon(bolt24):
    # Was: targets 23-24 steps ahead fell in lead bucket 32, beyond the model's reach: no
    # pairs there, so they borrowed the 16-step errors grown 2^a-fold, and the note said
    # "too little history" from a 400-measurement history
    f = OnnxForecaster(bolt24)
    assert f.horizon == 24
    rng = np.random.default_rng(5)
    t = _grid(400, 64.0) + rng.uniform(-1, 1, 400)
    y = np.cumsum(rng.normal(size=400)) * 1e-4
    targets = t[-1] + 64.0 * np.arange(1, 25)
    fc = f.forecast(t, y, targets, (0.1, 0.5, 0.9))
    assert fc.note == "", fc.note
    assert np.all(np.isfinite(fc.quantiles))
    # the last steps are calibrated by the model's own predictions 24 measurements ahead
    data = [(np.asarray(t), np.asarray(y))]
    scalers, _ = f._lead_scalers(data, [{24}])
    cs = scalers[0][24]
    assert cs is not None and cs.lead == 24 and cs.calibrated
    # the same numbers as a fresh forecaster's, one target at a time
    g = OnnxForecaster(bolt24)
    for k in (0, 15, 22, 23):
        one = g.forecast(t, y, targets[k:k + 1], (0.1, 0.5, 0.9))
        np.testing.assert_array_equal(one.quantiles[0], fc.quantiles[k])
    # a short history still says so
    short = f.forecast(t[:30], y[:30], t[29] + 64.0 * np.arange(1, 25), (0.1, 0.5, 0.9))
    assert "too little history" in short.note


# ---- threads ---------------------------------------------------------------------------------------

def _thread_call(f, kind, t, y, H):
    tg = t[-1] + 64.0 * np.arange(1, H + 1)
    if kind == 0:
        fc = f.forecast(t, y, tg, (0.1, 0.5, 0.9))
        return np.c_[fc.mean, fc.quantiles]
    if kind == 1:
        k = 1 + t.size % 3
        ser = [(t, y), (t[:-5], y[:-5]), (t[:-9], y[:-9])][:k]
        fcs = f.forecast_batch(ser, [tg[tg <= t[-10] + 60 * 64.0]] * k)
        return np.concatenate([np.c_[c.mean, c.quantiles] for c in fcs])
    if kind == 2:
        fc, _, _, m, s = f.forecast_with_past(t, y, tg, (0.1, 0.5, 0.9))
        return np.concatenate([np.c_[fc.mean, fc.quantiles].ravel(), m, s])
    fc = chronotick.predict(y, t, horizon=H, model="clock-bolt")     # predict()'s shared forecaster
    return np.c_[fc.mean, fc.quantiles]


@shipped
def test_one_forecaster_from_eight_threads_gives_the_serial_results():
    # onnxruntime's run releases the GIL while the forecaster keeps preallocated bound buffers
    # and its memo: calls on one instance (and predict()'s cached one) from 8 threads at once,
    # with different series, batch sizes, horizons, flat series among them, must give exactly
    # what the same calls give one after another
    rng = np.random.default_rng(0)
    jobs = []
    for k in range(16):
        n = int(rng.integers(20, 400))
        t = 1.7e9 + 64.0 * np.arange(n) + rng.uniform(-3, 3, n)
        y = np.cumsum(rng.normal(size=n)) * 1e-5 * (k + 1)
        if k % 5 == 0:
            y[:] = 1e-8 * k
        jobs.append((k % 4, t, y, (1, 8, 64)[k % 3]))
    serial = OnnxForecaster(SHIPPED)
    want = [_thread_call(serial, *j) for j in jobs]
    for _ in range(2):
        shared = OnnxForecaster(SHIPPED)
        got, errors = [None] * len(jobs), []
        barrier = threading.Barrier(8)

        def worker(w):
            barrier.wait()
            for i in range(w, len(jobs), 8):
                try:
                    got[i] = _thread_call(shared, *jobs[i])
                except Exception as exc:  # noqa: BLE001 - reported below
                    errors.append(repr(exc))

        threads = [threading.Thread(target=worker, args=(w,)) for w in range(8)]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        assert not errors
        for i, (a, b) in enumerate(zip(got, want)):
            assert a is not None and np.array_equal(a, b, equal_nan=True), f"job {i} differs"


def test_conformal_scaler_leaves_flat_exact_hits_out_of_a_spread_forecast():
    # Rule Z5 (docs/models.md): a flat prediction that hit exactly scores 0 / 0; counted as 0 it
    # scaled the spread of the forecast being calibrated to nothing
    levels = np.array([0.1, 0.5, 0.9])
    rng = np.random.default_rng(1)
    m = rng.normal(size=20)
    ordinary = (m + rng.normal(size=20), np.c_[m - 1.0, m, m + 1.0])
    cs = ConformalScaler(levels, min_errors=4)
    cs.add(*ordinary)
    cs.add([0.0] * 40, np.zeros((40, 3)))                       # 40 exact hits by flat predictions
    ref = ConformalScaler(levels, min_errors=4)
    ref.add(*ordinary)
    q = np.array([[-2.0, 0.0, 2.0]])
    np.testing.assert_array_equal(cs.apply(q, [0.1, 0.5, 0.9]), ref.apply(q, [0.1, 0.5, 0.9]))
    assert np.all(np.diff(cs.apply(q, [0.1, 0.5, 0.9])) > 0)
    # a flat forecast stays flat; too few other scores: the raw quantiles
    np.testing.assert_array_equal(cs.apply(np.zeros((1, 3)), [0.1, 0.5, 0.9]), np.zeros((1, 3)))
    few = ConformalScaler(levels, min_errors=4)
    few.add([1.0, 2.0], np.array([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]]))
    few.add([0.0] * 10, np.zeros((10, 3)))
    raw = ConformalScaler(levels, min_errors=1 << 30)
    np.testing.assert_array_equal(few.apply(q, [0.1, 0.5, 0.9]), raw.apply(q, [0.1, 0.5, 0.9]))


@pytest.mark.parametrize("stepped", [1, 3])
def test_after_a_flat_record_and_a_step_no_interval_is_zero_wide(stepped):
    # 300 measurements at one value, the last `stepped` of them 1 ms higher: clock-bolt alone
    # had stated a zero-width 80% interval (its calibration: 63 flat exact hits), and auto, when
    # its member had a spread, would have too (the fused calibration saw only exact zeros)
    t = 1.7e9 + 64.0 * np.arange(300)
    y = np.zeros(300)
    y[-stepped:] = 1e-3
    cb = chronotick.predict(y, t, horizon=2, model="clock-bolt")
    lo, hi = cb.interval(0.8)
    assert np.all(hi - lo > 0) and "model's own quantiles used" in cb.note
    for model in ("auto", "fused"):
        fc = chronotick.predict(y, t, horizon=2, model=model)
        lo, hi = fc.interval(0.8)
        assert np.all(hi - lo > 1e-4), (model, hi - lo)


def _past_reference(f, t, y, prefix, target, lead):
    """past_predictions' (mean, sigma) as _past computed them until 2026-12-04: each lead's
    rows through ConformalScaler._apply (the per-row rule the vectorised path must equal)."""
    leads = set(lead.tolist())
    scalers, q = f._lead_scalers([(t, y)], [leads], ((t, y, prefix, target), leads))[1]
    mean, sigma = np.full(prefix.size, np.nan), np.full(prefix.size, np.nan)
    ok = np.all(np.isfinite(q), axis=1)
    raw = f._scaler.fresh()
    for s in np.unique(lead[ok]):
        sel = ok & (lead == s)
        cs = scalers.get(int(s)) or raw
        cq = cs._apply(q[sel], np.array([0.1, 0.9]))
        mean[sel] = q[sel, cs.median_index]
        sigma[sel] = (cq[:, 1] - cq[:, 0]) / 2.563
    # sigma floored at 4 spacings of doubles at |mean|, at least sqrt(DBL_MIN) (the C++
    # past_mean_sigma's floor, cpp/windowing/grid_quantiles.h)
    resolution = np.maximum(4 * np.spacing(np.abs(mean)), np.sqrt(np.finfo(float).tiny))
    return mean, np.where(np.isfinite(mean), np.maximum(sigma, resolution), sigma)


def _flat_then_noise(n=300):
    t = _grid(n)
    y = np.zeros(n)
    y[-60:] = np.random.default_rng(7).normal(0, 1e-4, 60)   # flat past predictions, then spread
    return t, y


@pytest.mark.parametrize("case", ["noisy", "flat-then-noise", "short", "asymmetric-levels"])
def test_past_predictions_vectorised_equal_the_per_lead_mapping(case, tmp_path):
    # _past maps every pair's quantiles in one numpy pass where each lead's scaler has one
    # factor pair (2026-12-04, for speed); it must give the per-lead _apply results bit for
    # bit, including leads without calibration (raw factors), scalers with flat past
    # predictions (per-row factors) and asymmetric model levels (another plan).
    if case == "asymmetric-levels":
        from test_onnx import build_model
        path = build_model(tmp_path / "asym.onnx", levels=[0.05, 0.1, 0.5, 0.9])
        json.dump({"quantile_levels": [0.05, 0.1, 0.5, 0.9]}, open(str(path)[:-5] + ".json", "w"))
        f = OnnxForecaster(path)
    else:
        f = OnnxForecaster(SHIPPED)
    rng = np.random.default_rng(3)
    if case == "flat-then-noise":
        t, y = _flat_then_noise()
    else:
        n = 30 if case == "short" else 300
        t = 1.7e9 + np.cumsum(rng.uniform(60.0, 70.0, n))
        y = 1e-3 * np.cumsum(rng.normal(0, 0.1, n)) + rng.normal(0, 1e-4, n)
    n = t.size
    prefix = np.concatenate([np.arange(2, n - 1, 3), np.arange(max(2, n - 70), n - 1)])
    target = np.minimum(prefix + rng.integers(0, 70, prefix.size), n - 1)
    p, g, lead = f._pairs(t, prefix, target)
    want = _past_reference(f, t, y, p, g, lead)
    got = f.past_predictions(t, y, prefix, target)
    assert np.isfinite(got[0]).sum() > 5
    for w, g_ in zip(want, got):
        np.testing.assert_array_equal(g_, w)


def test_conformal_factors_are_kept_until_the_errors_change():
    cs = ConformalScaler([0.1, 0.5, 0.9], window=64, min_errors=3)
    q = np.array([[-1.0, 0.0, 1.0]] * 4)
    cs.add([0.5, -0.5, 2.0, 0.1], q)
    cov = np.array([0.8])
    first = cs._factors(cov)
    assert cs._factors(cov) is first and not first.flags.writeable
    mine = cs.factors([0.8])
    mine[0] = -1.0                          # the caller's copy: the kept one is untouched
    assert cs.factors([0.8])[0] == first[0] != -1.0
    cs.add([5.0], [[-1.0, 0.0, 1.0]])       # a new error: factors computed again
    assert cs._factors(cov) is not first and cs._factors(cov)[0] > first[0]


@shipped
@pytest.mark.parametrize("scale", [1e-25, 1e-30, 1e20, 1e25])
def test_clock_bolt_forecasts_any_float32_scale_as_its_own(scale):
    # Chronos-Bolt scales its window in float32: at 1e-25 the squares underflowed and the
    # forecast came back ~1e24 spreads off; from ~1e18 they overflowed (ModelError). Rows
    # outside [2^-64, 2^56) now run scaled by a power of two (cpp/windowing/pow2_scale.h):
    # the forecast is the unit-scale one, scaled -- raw and calibrated alike.
    f = OnnxForecaster(SHIPPED)
    rng = np.random.default_rng(0)
    t = 1.7e9 + np.arange(300) * 64.0
    base = np.cumsum(rng.normal(size=300))
    targets = t[-1] + 64.0 * np.arange(1, 9)
    for calibrate in (False, True):
        unit = f.forecast(t, base, targets, calibrate=calibrate)
        fc = f.forecast(t, scale * base, targets, calibrate=calibrate)
        np.testing.assert_allclose(fc.quantiles / scale, unit.quantiles, rtol=1e-3, atol=1e-3)  # float32 rounding
    # the bare model is left bare
    x = np.full((1, f.context), np.nan, np.float32)
    x[0, -50:] = (1e-25 * base[-50:]).astype(np.float32)
    assert np.all(np.abs(f.run(x)) < 1e-3)      # its own 1e-5 floor: not the series' scale
    # predict() through the same path; the fusion now gets a usable member too
    fc = chronotick.predict(scale * base, t, horizon=4, model="clock-bolt")
    assert np.all(np.abs(fc.mean / scale - base[-1]) < 10)


def test_check_series_fast_path_takes_and_refuses_what_the_checks_do():
    # _check_series answers the common case (1-D float64 arrays, finite, t increasing) with
    # one C++ scan since 2026-12-04; every other input goes through the named checks
    from chronotick.models import onnx as O
    t = np.arange(6, dtype=np.float64) * 2.0
    y = np.linspace(0.0, 1.0, 6)
    ok = [(t, y), (t.tolist(), y.tolist()), (t.astype(np.int64), y), (t.astype(np.float32), y),
          (np.arange(12.0)[::2], y), (t.astype(">f8"), y)]
    for a, b in ok:
        ct, cy = O._check_series(a, b)
        assert ct.dtype == np.float64 and cy.dtype == np.float64
        np.testing.assert_array_equal(ct, np.asarray(a, dtype=np.float64))
        np.testing.assert_array_equal(cy, np.asarray(b, dtype=np.float64))
    bad = [((t[:1], y[:1]), "at least 2 measurements"), ((t, y[:5]), "differ in length"),
           ((t[::-1].copy(), y), "strictly increasing"), ((np.r_[t[:3], t[2], t[4:]], y), "strictly increasing"),
           ((t, np.r_[y[:5], np.nan]), r"y\[5\] = nan is not finite"),
           ((np.r_[t[:5], np.inf], y), r"t\[5\] = inf is not finite"),
           ((t.reshape(2, 3), y.reshape(2, 3)), "t must be 1-D")]
    for (a, b), msg in bad:
        with pytest.raises(ValueError, match=msg):
            O._check_series(a, b)


# ---- leads shorter than one grid step ------------------------------------------------------------

@shipped
def test_a_target_inside_the_first_step_is_on_the_line_at_its_own_time():
    # Found by an audit (2026-12-06): the detrending's line was added back at the step read (step 1
    # for any h < 1), so under a 25 ppm drift a target 1 ms after the newest measurement was
    # forecast a whole 64 s step's drift (1.6 ms) ahead; the Clock publishes its offset from such a
    # lead, and its 99% bound held the truth in 49-83% of the first seconds after each poll
    f = OnnxForecaster(SHIPPED)
    t = _grid(300)
    rng = np.random.default_rng(3)
    y = 0.01 + 25e-6 * (t - t[0]) + rng.normal(0, 2e-6, t.size)
    line = np.polyfit(t - t[-1], y, 1)
    for ahead in (1e-3, 16.0, 32.0, 48.0, 64.0):
        fc = f.forecast(t, y, [t[-1] + ahead], LEVELS, calibrate=False)
        want = np.polyval(line, ahead)
        assert abs(fc.mean[0] - want) < 5e-6, (ahead, fc.mean[0] - want)       # a step's drift is 1.6e-3
    # in between, the forecasts move with the line: one drift's worth per second
    at = [f.forecast(t, y, [t[-1] + a], LEVELS, calibrate=False).mean[0] for a in (1e-3, 32.0)]
    assert np.isclose((at[1] - at[0]) / (32.0 - 1e-3), 25e-6, rtol=0.05)
    # the calibration's past predictions are read the same way (read_ahead): calibrated forecasts too
    fc = f.forecast(t, y, [t[-1] + 1e-3], LEVELS)
    assert abs(fc.mean[0] - np.polyval(line, 1e-3)) < 5e-6
    q = np.asarray(fc.quantiles)[0]
    assert q[0] < np.polyval(line, 1e-3) < q[-1]
