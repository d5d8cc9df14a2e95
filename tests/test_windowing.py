"""_core.make_window through the bindings: against a numpy reference
(np.interp + gap mask + centring, hypothesis), precision on a 1.7e9 s
epoch, bad input."""
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from chronotick import _core


def reference(t, y, end_time, step, context, max_gap, level=None):
    """The same window in plain numpy (float64): values (centred), mask, times, level, scale."""
    used = t <= end_time
    t, y = t[used], y[used]
    if level is None:
        level = y[-1]
    g = end_time - (context - 1 - np.arange(context)) * step
    ok = np.zeros(context, bool)
    v = np.full(context, np.nan)
    if t.size:
        v = np.interp(g, t, y - level)
        j = np.searchsorted(t, g, side="left")  # first t >= g
        jc = np.minimum(j, t.size - 1)
        on = t[jc] == g
        gap = t[jc] - t[np.maximum(j - 1, 0)]
        ok = on | ((g > t[0]) & (g < t[-1]) & (gap <= max_gap))
        v = np.where(ok, v, np.nan)
    scale = float(np.nanstd(v)) if ok.sum() >= 2 else 1.0
    biggest = float(np.nanmax(np.abs(v))) if ok.any() else 0.0
    return v, ok, g, level, (scale if scale > 1e-12 * biggest else 1.0)   # no spread: rounding only


@settings(max_examples=300, deadline=None)
@given(gaps=st.lists(st.floats(0.01, 50.0), min_size=0, max_size=60),
       values=st.lists(st.floats(-1e3, 1e3), min_size=61, max_size=61),
       step=st.floats(0.1, 20.0), context=st.integers(1, 80), max_gap=st.floats(0.5, 100.0),
       end_shift=st.floats(-40.0, 60.0), on_grid=st.booleans(), explicit_level=st.booleans())
def test_matches_numpy_reference(gaps, values, step, context, max_gap, end_shift, on_grid, explicit_level):
    t = 1.7e9 + np.concatenate([[0.0], np.cumsum(gaps)])
    y = np.array(values[: t.size])
    end = t[-1] + end_shift
    if on_grid:  # put measurements exactly on grid points
        end = t[-1]
        t = end - step * np.round((end - t) / step)
        t = np.unique(t)
        y = y[: t.size]
    level = float(values[-1]) if explicit_level else None
    assume(level is not None or np.any(t <= end))
    w = _core.make_window(t, y, end, step, context, max_gap, level)
    ref, ok, g, ref_level, ref_scale = reference(t, y, end, step, context, max_gap, level)
    assert w.values.dtype == np.float32 and w.values.shape == (context,)
    assert w.mask.shape == (context,) and w.times.dtype == np.float64
    assert w.level == ref_level
    np.testing.assert_array_equal(w.times, g)
    np.testing.assert_array_equal(w.mask, ok)
    assert np.all(np.isnan(w.values[~ok]))
    np.testing.assert_allclose(w.values[ok], ref[ok], rtol=2e-7, atol=1e-12 * (1 + np.abs(y).max()))
    assert w.scale == pytest.approx(ref_scale, rel=1e-9, abs=1e-12 * (1 + np.abs(y).max()))


def test_interpolation_gaps_padding_and_no_extrapolation():
    t = np.array([10.0, 11.0, 30.0, 40.0])
    y = np.array([1.0, 2.0, 3.0, 4.0])
    w = _core.make_window(t, y, 35.0, 5.0, 8, max_gap=5.0)
    # grid 0..35: 0, 5 before the data; 10 on a point; 15..25 inside a 19 s gap;
    # 30 on a point; 35 after the last used measurement (t=40 is after end_time)
    np.testing.assert_array_equal(w.times, np.arange(0.0, 36.0, 5.0))
    np.testing.assert_array_equal(w.mask, [0, 0, 1, 0, 0, 0, 1, 0])
    assert w.level == 3.0
    np.testing.assert_array_equal(w.values[[2, 6]], [-2.0, 0.0])
    assert w.scale == 1.0  # std of [-2, 0]
    w = _core.make_window(t, y, 40.0, 2.5, 3)  # no gap limit: 35 interpolates 30..40
    np.testing.assert_array_equal(w.values, [-0.5, -0.25, 0.0])
    assert w.level == 4.0 and w.mask.all()


def test_explicit_level_and_scale():
    t = np.arange(5.0)
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.0])
    w = _core.make_window(t, y, 4.0, 1.0, 5, level=10.0)
    np.testing.assert_array_equal(w.values, y - 10.0)
    assert w.level == 10.0 and w.scale == pytest.approx(np.std(y))
    flat = _core.make_window(t, np.full(5, 7.0), 4.0, 1.0, 5)
    assert flat.scale == 1.0 and np.all(flat.values == 0)
    one = _core.make_window(np.array([3.0]), np.array([2.0]), 5.0, 1.0, 4)
    np.testing.assert_array_equal(one.mask, [False, True, False, False])
    assert one.scale == 1.0


def test_microsecond_offsets_on_an_epoch_keep_precision():
    rng = np.random.default_rng(1)
    t = 1.7e9 + np.cumsum(rng.uniform(30.0, 90.0, 400))
    y = 0.25 + 1e-6 * np.sin(np.arange(400) / 5)  # 250 ms offset with a 1 us wiggle
    w = _core.make_window(t, y, t[-1], 64.0, 256)
    assert w.mask.all()
    # float64 interpolation on the grid, relative to the level (exact within 1e-15 s here)
    want = np.interp(w.times, t, y - y[-1]) + y[-1]
    np.testing.assert_allclose(w.values.astype(np.float64) + w.level, want, rtol=0, atol=1e-12)
    assert 1e-7 < w.scale < 2e-6
    # the naive way (float32 of the raw offsets) loses the wiggle entirely
    assert np.abs(np.interp(w.times, t, y).astype(np.float32).astype(np.float64) - want).max() > 1e-9


@pytest.mark.parametrize("kw, match", [
    (dict(step_s=0.0), "step_s must be finite and > 0"),
    (dict(step_s=float("inf")), "step_s must be finite and > 0"),
    (dict(step_s=float("nan")), "step_s must be finite and > 0"),
    (dict(context=0), "context must be > 0, got 0"),
    (dict(max_gap=-1.0), "max_gap must be > 0"),
    (dict(max_gap=float("nan")), "max_gap must be > 0"),
    (dict(end_time=float("nan")), "end_time must be finite"),
    (dict(end_time=-10.0), "end_time is before the first measurement"),
    (dict(level=float("nan")), "level must be finite"),
    (dict(level=float("inf")), "level must be finite"),
    (dict(t=np.array([0.0, 2.0, 1.0])), r"strictly increasing: t\[2\] <= t\[1\]"),
    (dict(t=np.array([0.0, 1.0, 1.0])), r"strictly increasing: t\[2\] <= t\[1\]"),
    (dict(t=np.array([0.0, np.nan, 2.0])), r"t\[1\] is not finite"),
    (dict(y=np.array([0.0, np.inf, 2.0])), r"y\[1\] is not finite"),
    (dict(y=np.zeros(2)), "t and y differ in length: 3 vs 2"),
    (dict(t=np.zeros((3, 1))), "t must be a 1-D array, got 2-D"),
    (dict(y=np.zeros((3, 1))), "y must be a 1-D array, got 2-D"),
])
def test_bad_input(kw, match):
    args = dict(t=np.array([0.0, 1.0, 2.0]), y=np.zeros(3), end_time=2.0, step_s=1.0, context=4)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        _core.make_window(**args)


def test_bad_types():
    with pytest.raises(TypeError):
        _core.make_window(np.array(["a", "b"]), np.zeros(2), 1.0, 1.0, 2)
    with pytest.raises(TypeError):
        _core.make_window(np.zeros(2), np.zeros(2), 1.0, 1.0, 2.5)


@settings(max_examples=100, deadline=None)
@given(lengths=st.lists(st.integers(1, 40), min_size=0, max_size=6), context=st.integers(1, 50),
       step=st.floats(0.5, 10.0), per_series_end=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_make_windows_matches_make_window(lengths, context, step, per_series_end, seed):
    rng = np.random.default_rng(seed)
    ts = [1.7e9 + np.cumsum(rng.uniform(0.1, 20.0, n)) for n in lengths]
    ys = [rng.normal(0.0, 1e-3, n) for n in lengths]
    ends = [t[-1] - rng.uniform(0.0, 5.0) if per_series_end else 1.7e9 + 400.0 for t in ts]
    ends = [max(e, t[0]) for e, t in zip(ends, ts)]
    end_arg = np.array(ends) if per_series_end else (ends[0] if ends else 0.0)
    if not per_series_end:
        ts = [t[t <= end_arg] if np.any(t <= end_arg) else t[:1] - (t[0] - end_arg) for t in ts]
        ys = [y[: t.size] for t, y in zip(ts, ys)]
    ws = _core.make_windows(ts, ys, end_arg, step, context, 15.0)
    assert len(ws) == len(lengths) and ws.values.shape == (len(lengths), context)
    assert ws.values.dtype == np.float32 and ws.mask.dtype == bool
    for b, (t, y) in enumerate(zip(ts, ys)):
        w = _core.make_window(t, y, ends[b] if per_series_end else end_arg, step, context, 15.0)
        np.testing.assert_array_equal(ws.values[b], w.values)
        np.testing.assert_array_equal(ws.mask[b], w.mask)
        np.testing.assert_array_equal(ws.times[b], w.times)
        assert ws.level[b] == w.level and ws.scale[b] == w.scale


def test_make_windows_levels_and_errors():
    t = np.arange(4.0)
    ws = _core.make_windows([t, t], [t, 2 * t], 3.0, 1.0, 4, level=[np.nan, 1.0])
    np.testing.assert_array_equal(ws.level, [3.0, 1.0])  # NaN = that series' default
    np.testing.assert_array_equal(ws.values[1], 2 * t - 1.0)
    with pytest.raises(ValueError, match=r"series 1: t must be strictly increasing: t\[2\] <= t\[1\]"):
        _core.make_windows([t, np.array([0.0, 1.0, 1.0])], [t, np.zeros(3)], 3.0, 1.0, 4)
    with pytest.raises(ValueError, match="series 0: t and y differ in length: 4 vs 3"):
        _core.make_windows([t], [np.zeros(3)], 3.0, 1.0, 4)
    with pytest.raises(ValueError, match="t and y differ in length: 2 vs 1 series"):
        _core.make_windows([t, t], [t], 3.0, 1.0, 4)
    with pytest.raises(ValueError, match=r"end_time must be a scalar or 1-D with one entry per series \(2\)"):
        _core.make_windows([t, t], [t, t], [3.0, 3.0, 3.0], 1.0, 4)
    with pytest.raises(ValueError, match="step_s must be finite and > 0"):
        _core.make_windows([t], [t], 3.0, -1.0, 4)
    with pytest.raises(ValueError, match="series 0: end_time is before the first measurement"):
        _core.make_windows([t], [t], -1.0, 1.0, 4)
    empty = _core.make_windows([], [], 0.0, 1.0, 3)
    assert empty.values.shape == (0, 3) and empty.level.shape == (0,)
