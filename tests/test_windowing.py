"""make_window through the bindings, against a numpy reference."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chronotick import _core


def reference(t, y, end_time, step, context, max_gap):
    """np.interp on the grid, NaN outside the data and across long gaps."""
    m = t <= end_time
    t, y = t[m], y[m]
    level = y[-1]
    g = end_time - (context - 1 - np.arange(context)) * step
    v = np.interp(g, t, y)
    j = np.searchsorted(t, g, side="left")            # first t >= g
    on = (j < t.size) & (t[np.minimum(j, t.size - 1)] == g)
    gap = np.where((j > 0) & (j < t.size), t[np.minimum(j, t.size - 1)] - t[np.maximum(j - 1, 0)], np.inf)
    ok = on | ((g > t[0]) & (g < t[-1]) & (gap <= max_gap))
    return np.where(ok, v - level, np.nan), ok, level


@settings(max_examples=200, deadline=None)
@given(gaps=st.lists(st.floats(0.5, 50.0), min_size=1, max_size=40),
       values=st.lists(st.floats(-1e3, 1e3), min_size=41, max_size=41),
       step=st.floats(0.5, 20.0), context=st.integers(1, 64), max_gap=st.floats(1.0, 100.0),
       end_back=st.floats(0.0, 30.0))
def test_matches_numpy_reference(gaps, values, step, context, max_gap, end_back):
    t = 1.7e9 + np.concatenate([[0.0], np.cumsum(gaps)])
    y = np.array(values[: t.size])
    end = t[-1] - end_back
    if end < t[0]:
        end = t[0]
    w = _core.make_window(t, y, end, step, context, max_gap)
    ref, ok, level = reference(t, y, end, step, context, max_gap)
    assert w.level == level
    np.testing.assert_array_equal(w.mask, ok)
    np.testing.assert_allclose(w.values[ok], ref[ok], rtol=1e-6, atol=1e-3)
    assert np.all(np.isnan(w.values[~ok]))
    assert w.values.dtype == np.float32


def test_microsecond_offsets_on_an_epoch_keep_precision():
    t = 1.7e9 + 64.0 * np.arange(200)
    y = 0.25 + 1e-6 * np.sin(np.arange(200) / 5)
    w = _core.make_window(t, y, t[-1], 64.0, 200)
    np.testing.assert_allclose(w.values.astype(np.float64) + w.level, y, rtol=0, atol=1e-12)


@pytest.mark.parametrize("kw, match", [
    (dict(step_s=0.0), "step_s must be finite and > 0"),
    (dict(context=0), "context must be > 0"),
    (dict(max_gap=-1.0), "max_gap must be > 0"),
    (dict(t=np.array([0.0, 2.0, 1.0]), y=np.zeros(3)), "strictly increasing at index 2"),
    (dict(y=np.zeros(2)), "differ in length"),
    (dict(end_time=-10.0), "no measurement at or before end_time"),
])
def test_bad_input(kw, match):
    args = dict(t=np.array([0.0, 1.0, 2.0]), y=np.zeros(3), end_time=2.0, step_s=1.0, context=4)
    args.update(kw)
    with pytest.raises(ValueError, match=match):
        _core.make_window(**args)
