"""The C++ pieces of the ONNX forecaster's calibration path (session 32, speed):
the memo index (_core.OutputMemo, cpp/windowing/output_memo.h) keys prefixes as
prefix_keys does; lead_buckets (cpp/models/leads.h) equals the numpy formula it
replaced; _rows_within's arithmetic finds the rows the searchsorted version did."""
import math

import numpy as np
import pytest

from chronotick import _core
from chronotick.models.onnx import OnnxForecaster, prefix_keys


def _numpy_buckets(h, horizon):
    """The numpy formula _lead_buckets used until 2026-12-05 (and its Python path for <= 4 leads)."""
    h = np.asarray(h, dtype=np.float64)
    s = (2 ** np.round(np.log2(np.maximum(h, 1.0)))).astype(np.int64)
    small = np.array([min(1 << int(round(math.log2(max(v, 1.0)))), (1 << 62) if horizon is None else horizon)
                      for v in h.tolist()], dtype=np.int64)
    out = s if horizon is None else np.minimum(s, horizon)
    np.testing.assert_array_equal(out, small)
    return out


@pytest.mark.parametrize("horizon", [None, 64, 24, 1])
def test_lead_buckets_equal_the_numpy_formula(horizon):
    rng = np.random.default_rng(5)
    for h in (np.arange(0.0, 3000.0), rng.uniform(-3, 300, 20000), 2 ** rng.uniform(0, 60, 20000),
              np.sqrt(2) * 2.0 ** np.arange(60), np.arange(1, 5000) / 7.0):
        got = _core.lead_buckets(h, (1 << 62) if horizon is None else horizon)
        np.testing.assert_array_equal(got, _numpy_buckets(h, horizon))


def test_lead_buckets_refuse_nan_and_a_bad_cap():
    with pytest.raises(ValueError, match="lead 1 is NaN"):
        _core.lead_buckets(np.array([2.0, np.nan]), 64)
    with pytest.raises(ValueError, match="cap must be >= 1"):
        _core.lead_buckets(np.array([2.0]), 0)


@pytest.mark.parametrize("window", [None, (32, 1.0), (16, 4.0)])
def test_memo_lookup_keys_prefixes_as_prefix_keys(window):
    rng = np.random.default_rng(9)
    n = 300
    t = 1.7e9 + np.cumsum(rng.uniform(50, 70, n))
    y = np.cumsum(rng.normal(size=n)) * 1e-4
    ends = np.arange(1, n + 1)
    keys = prefix_keys(t, y, ends, 40, window)
    memo = _core.OutputMemo(1024, 4096)
    for k in keys[::2]:
        memo.add(*k)
    slots, hashes, missing = memo.lookup(t, y, ends, 40, window)
    assert [int(v) for v in hashes] == [k[2] for k in keys]
    for i, (k, s) in enumerate(zip(keys, slots.tolist())):
        if i + 1 < 2:
            assert s == -1                                   # a prefix of one measurement: no prediction
        elif i % 2 == 0:
            assert s == memo.find(*k) and s >= 0
        else:
            assert s == _core.OutputMemo.MISSING
    assert missing == sum(1 for i in range(1, n) if i % 2 == 1)
    # prefix [0, n - 1) is held (keys[n - 2]); a measurement inside its newest 40 changed: another key
    assert memo.lookup(t, y, np.array([n - 1]), 40, window)[0][0] >= 0
    y2 = y.copy()
    y2[-5] += 1e-9
    assert memo.lookup(t, y2, np.array([n - 1]), 40, window)[0][0] == _core.OutputMemo.MISSING


def test_memo_lookup_with_a_span_per_end_keys_as_prefix_keys():
    """A fixed step_s keys each prefix over its own span (OnnxForecaster._key_spans)."""
    f = OnnxForecaster(__import__("chronotick").models.onnx_models()["clock-bolt"], step_s=256.0)
    rng = np.random.default_rng(3)
    t = 1.7e9 + np.cumsum(rng.uniform(50, 70, 500))
    y = np.cumsum(rng.normal(size=500)) * 1e-4
    ends = np.arange(1, 501)
    keys = f._keys(t, y, ends)
    for k in keys[100::3]:
        f._memo.add(*k)
    slots, hashes, missing = f._lookup(t, y, ends)
    assert [int(v) for v in hashes] == [k[2] for k in keys]
    for i, (k, s) in enumerate(zip(keys, slots.tolist())):
        want = -1 if i + 1 < 2 else (f._memo.find(*k) if i >= 100 and (i - 100) % 3 == 0 else _core.OutputMemo.MISSING)
        assert s == want
    assert missing == sum(1 for i in range(1, 500) if not (i >= 100 and (i - 100) % 3 == 0))


def test_memo_refuses_a_held_key_and_a_bad_capacity():
    memo = _core.OutputMemo(2, 4)
    memo.add(1.0, 2.0, 3)
    with pytest.raises(ValueError, match="held already"):
        memo.add(1.0, 2.0, 3)
    with pytest.raises(ValueError, match="capacity"):
        memo.capacity = 5
    with pytest.raises(ValueError, match="capacity"):
        _core.OutputMemo(0, 4)
    with pytest.raises(ValueError, match="NaN"):      # never found, nor evicted: a lost slot
        memo.add(float("nan"), 0.0, 1)
    memo.add(2.0, 2.0, 2)
    memo.add(3.0, 3.0, 3)                                # evicts (1, 2, 3)
    assert memo.evicted(1.0, 2.0, 3) and len(memo) == 2


def _rows_within_searchsorted(asks, where, pairs):
    """_rows_within as it was until 2026-12-05 (searchsorted)."""
    t, y, prefix, target = pairs
    if prefix.size == 0:
        return None
    for a, ((s, _, _), (ta, ya, pa, ja)) in enumerate(zip(where, asks)):
        if s != 0 or ta is not t or ya is not y or pa.size < prefix.size:
            continue
        rows = np.searchsorted(pa, prefix)
        if rows.max() < pa.size and (pa[rows] == prefix).all() and (ja[rows] == target).all():
            return a, rows
    return None


def test_rows_within_finds_what_searchsorted_found():
    rng = np.random.default_rng(2)
    t, y = np.arange(400.0), np.zeros(400)
    found = 0
    for _ in range(3000):
        asks, where = [], []
        for a in range(int(rng.integers(1, 4))):
            m = int(rng.integers(1, 5))
            j = np.arange(int(rng.integers(m + 5, 200)), 400)
            asks.append((t, y, j - m + 1, j))
            where.append((int(rng.integers(0, 2)) if a else 0, m, None))
        k = int(rng.integers(0, 30))
        m = int(rng.integers(1, 5))
        prefix = np.sort(rng.choice(np.arange(150, 400 - m + 1), size=k, replace=False)).astype(np.int64)
        target = prefix + m - 1 + (rng.random(k) < 0.02).astype(np.int64)
        got = OnnxForecaster._rows_within(asks, where, (t, y, prefix, target))
        want = _rows_within_searchsorted(asks, where, (t, y, prefix, target))
        assert (got is None) == (want is None)
        if got is not None:
            found += 1
            assert got[0] == want[0]
            np.testing.assert_array_equal(got[1], want[1])
    assert 300 < found < 2700      # both outcomes exercised


@pytest.mark.parametrize("horizon", [1, 3, 64, 150])
def test_predict_auto_through_its_private_entry_equals_the_public_one(horizon):
    """predict(model="auto") calls OnnxForecaster._forecast_with_past (its inputs checked by
    predict, the grid step computed once): the same fused forecast as the public
    forecast_with_past fused by hand, from a cold memo and from a warm one."""
    from chronotick import api
    rng = np.random.default_rng(4)
    t = 1.7e9 + np.cumsum(rng.uniform(60, 68, 400))
    y = np.cumsum(rng.normal(size=400)) * 1e-5
    levels = api.with_base_levels(api._check_levels((0.05, 0.5, 0.95)))
    targets, _ = api.target_times(t, horizon, None, None)
    f = api.onnx_forecaster("clock-bolt")
    for cold in (True, False):
        if cold:
            f._memo.clear()
            f._scalers.clear()
        got, weights, note = api.forecast_members("auto", t, y, None, targets, levels)
        if cold:
            f._memo.clear()
            f._scalers.clear()
        member = f.forecast_with_past(t, y, targets, levels)
        want, rejected = api.fuse_with_onnx(t, y, None, targets, levels, _core.ModelParams(), [member])
        assert note == "" and rejected is None and "clock-bolt" in weights
        np.testing.assert_array_equal(got.quantiles, want.forecast.quantiles)
        np.testing.assert_array_equal(got.mean, want.forecast.mean)
        for k, w in zip(want.member_names, want.weights):
            np.testing.assert_array_equal(weights[k], w)


def test_forecasts_from_pandas_series_and_lists_equal_those_from_arrays():
    """The memo key of a forecast's own history is taken from the converted arrays: a pandas
    Series (whose [-1] is a label look-up) had raised KeyError: -1 (review of session 32)."""
    pd = pytest.importorskip("pandas")
    from chronotick import api
    f = api.onnx_forecaster("clock-bolt")
    t = 1.7e9 + np.arange(300) * 16.0
    y = np.cumsum(np.random.default_rng(7).normal(size=300)) * 1e-5
    targets = t[-1] + 16.0 * np.arange(1, 4)
    f._memo.clear()
    want = f.forecast(t, y, targets)
    for tt, yy in ((pd.Series(t), pd.Series(y)), (t.tolist(), y.tolist()), (pd.Series(t, index=t), y)):
        f._memo.clear()
        f._scalers.clear()
        got = f.forecast(tt, yy, targets)
        np.testing.assert_array_equal(got.quantiles, want.quantiles)
        f._memo.clear()
        f._scalers.clear()
        fc, prefix, target, mean, sigma = f.forecast_with_past(tt, yy, targets)
        np.testing.assert_array_equal(fc.quantiles, want.quantiles)


def test_target_times_equal_numpys_grid():
    from chronotick.api import target_times
    t = np.array([1.7e9, 1.7e9 + 64.25, 1.7e9 + 128.5])
    for h in (1, 2, 64):
        got, step = target_times(t, h, None, None)
        np.testing.assert_array_equal(got, t[-1] + step * np.arange(1.0, h + 1.0))
