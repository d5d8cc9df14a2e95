"""Numerical robustness of predict() on inputs real users have: Unix-epoch
timestamps, PTP-scale (ns) and large constant offsets, clean lines, steps
(probed 2026-12-02; each test below failed before its fix unless it says
it guards behaviour found correct)."""
import numpy as np
import pytest

import chronotick

EPOCH = 1.76e9
CLASSICAL = ["hold", "robust", "regression", "kalman", "fused"]


def _width80(fc):
    lo, hi = fc.interval(0.8)
    assert np.all(lo <= fc.mean) and np.all(fc.mean <= hi)
    return hi - lo


@pytest.mark.parametrize("model", [*CLASSICAL, "auto"])
@pytest.mark.parametrize("before, after, where", [(0.0, 1e-3, 20), (5e-9, 6e-9, 100), (0.0, 1e-9, 5)])
def test_a_clean_step_gives_intervals_on_the_scale_of_the_step(model, before, after, where):
    # A noiseless step (a clock stepped by another program, PTP offsets in whole ns):
    # the models' past forecasts from the flat stretch before it had a sigma at the
    # float64 resolution floor (1.5e-154 for zeros), so the standardised error of
    # the step was ~1e150 and the 80% interval 1e+148 s wide (hold, fused: 9e132;
    # a 1 ns step at 5 ns: 4.5e5 s). Past errors whose sigma was only that floor
    # now count unstandardised: the interval is on the scale of the step. (auto: the
    # fused past forecasts mixed those floor sigmas with clock-bolt's, 12 s wide
    # after the first fix; their sigmas are now calibrated as the live forecast's.)
    n = 300
    t = EPOCH + np.arange(n) * 1.0
    y = np.where(np.arange(n) < n - where, before, after)
    step = after - before
    for h in (1, 8, 64):
        fc = chronotick.predict(y, t, horizon=h, model=model)
        assert np.all(np.isfinite(fc.quantiles))
        assert np.max(_width80(fc)) <= 100 * step, (h, np.max(_width80(fc)))


@pytest.mark.parametrize("model", ["regression", "kalman", "fused", "auto"])
@pytest.mark.parametrize("spacing", [(1e-3, 1e-3), (1.0, 1.0), (16.0, 1024.0)])
def test_a_25ppm_line_at_epoch_times_is_extrapolated(model, spacing):
    # guards behaviour found correct: no precision lost to large epoch times
    rng = np.random.default_rng(0)
    t = EPOCH + np.cumsum(rng.uniform(*spacing, 200))
    y = 1e-3 + 25e-6 * (t - t[-1])
    fc = chronotick.predict(y, t, horizon=64, model=model)
    ref = 1e-3 + 25e-6 * (fc.times - t[-1])
    assert np.max(np.abs(fc.mean - ref)) <= 1e-9 * np.max(np.abs(ref))


@pytest.mark.parametrize("model", CLASSICAL)
def test_shifting_the_timestamps_by_the_epoch_changes_nothing(model):
    # guards behaviour found correct (times on a 1/256 s grid: exact in both origins)
    rng = np.random.default_rng(1)
    rel = np.cumsum(np.round(rng.uniform(16, 1024, 300) * 256) / 256)
    y = 1e-8 + 1e-9 * rng.standard_normal(300)
    a = chronotick.predict(y, rel, horizon=64, model=model)
    b = chronotick.predict(y, EPOCH + rel, horizon=64, model=model)
    np.testing.assert_allclose(b.quantiles, a.quantiles, rtol=1e-9, atol=1e-20)


def test_float32_epoch_timestamps_are_refused_naming_the_precision():
    # float32 holds Unix times to 128 s: 16 s polls collapse onto equal times and the
    # error said only "timestamps[1] = 1760000000.0 after timestamps[0] = 1760000000.0"
    # (the values the user never wrote). It now names the dtype and its resolution.
    t = (EPOCH + np.arange(50) * 16.0).astype(np.float32)
    with pytest.raises(ValueError, match=r"float32.*128"):
        chronotick.predict(np.full(50, 1e-3), t, horizon=4, model="fused")
