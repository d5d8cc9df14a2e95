"""Ring buffers through the bindings, against a plain Python reference."""
import collections

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chronotick import _core


def test_push_snapshot_and_counters():
    b = _core.MeasurementBuffer(4)
    b.push(1.0, 0.5)
    b.push(2.0, 0.25, 0.001)
    t, y, u = b.snapshot()
    np.testing.assert_array_equal(t, [1.0, 2.0])
    np.testing.assert_array_equal(y, [0.5, 0.25])
    assert np.isnan(u[0]) and u[1] == 0.001
    assert len(b) == 2 and b.capacity == 4 and b.overwritten == 0 and b.total_pushed == 2


def test_bulk_push_larger_than_capacity_keeps_newest():
    b = _core.MeasurementBuffer(1000)
    t = np.arange(1_000_000, dtype=float)
    b.push_many(t, 2 * t)
    tt, yy, _ = b.snapshot()
    np.testing.assert_array_equal(tt, t[-1000:])
    np.testing.assert_array_equal(yy, 2 * t[-1000:])
    assert b.overwritten == 999_000 and b.total_pushed == 1_000_000


def test_covariate_buffer():
    b = _core.CovariateBuffer(3, 2)
    b.push(1.0, np.array([10.0, 20.0]))
    b.push_many(np.array([2.0, 3.0, 4.0]), np.array([[1, 2], [3, 4], [5, 6]], dtype=float))
    t, v = b.snapshot(2)
    np.testing.assert_array_equal(t, [3.0, 4.0])
    np.testing.assert_array_equal(v, [[3, 4], [5, 6]])
    assert b.channels == 2 and b.overwritten == 1


@pytest.mark.parametrize("call, match", [
    (lambda: _core.MeasurementBuffer(0), "capacity must be a positive integer"),
    (lambda: _core.MeasurementBuffer(4).push_many(np.zeros(3), np.zeros(2)), "differ in length"),
    (lambda: _core.MeasurementBuffer(4).push_many(np.zeros((3, 1)), np.zeros(3)), "t must be 1-D"),
    (lambda: _core.CovariateBuffer(4, 2).push(0.0, np.zeros(3)), "2 channels"),
    (lambda: _core.CovariateBuffer(4, 2).push_many(np.zeros(3), np.zeros((3, 1))), r"shape \(len\(t\), channels\)"),
    (lambda: _core.MeasurementBuffer(4).snapshot(-1), "n must be >= 0"),
])
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


ops = st.lists(st.one_of(
    st.tuples(st.just("push"), st.floats(-1e9, 1e9)),
    st.tuples(st.just("many"), st.lists(st.floats(-1e9, 1e9), max_size=20)),
    st.tuples(st.just("snap"), st.integers(0, 30)),
    st.tuples(st.just("clear"), st.none()),
), max_size=60)


@settings(max_examples=200, deadline=None)
@given(capacity=st.integers(1, 12), ops=ops)
def test_matches_a_deque_reference(capacity, ops):
    b = _core.MeasurementBuffer(capacity)
    ref = collections.deque(maxlen=capacity)
    pushed = 0
    for op, arg in ops:
        if op == "push":
            b.push(float(pushed), arg)
            ref.append((float(pushed), arg))
            pushed += 1
        elif op == "many":
            t = np.arange(pushed, pushed + len(arg), dtype=float)
            b.push_many(t, np.array(arg, dtype=float))
            ref.extend(zip(t.tolist(), arg))
            pushed += len(arg)
        elif op == "clear":
            b.clear()
            ref.clear()
        else:
            t, y, _ = b.snapshot(arg)
            want = list(ref)[-arg:] if arg else []
            assert list(zip(t.tolist(), y.tolist())) == want
    assert len(b) == len(ref) and b.total_pushed == pushed
