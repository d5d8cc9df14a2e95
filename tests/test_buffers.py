"""Ring buffers (_core.MeasurementBuffer, _core.CovariateBuffer) through the
bindings: unit tests, bad input, a deque reference under random operation
sequences (hypothesis), and a producer thread racing snapshots."""
import collections
import threading

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chronotick import _core


def test_push_snapshot_and_counters():
    b = _core.MeasurementBuffer(4)
    assert len(b) == 0 and b.capacity == 4 and b.overwritten == 0 and b.total_pushed == 0
    b.push(1.0, 0.5)
    b.push(2.0, 0.25, 0.001)
    t, y, u = b.snapshot()
    assert t.dtype == y.dtype == u.dtype == np.float64
    np.testing.assert_array_equal(t, [1.0, 2.0])
    np.testing.assert_array_equal(y, [0.5, 0.25])
    assert np.isnan(u[0]) and u[1] == 0.001  # uncertainty defaults to NaN (unknown)
    assert len(b) == 2 and b.overwritten == 0 and b.total_pushed == 2
    t1, _, _ = b.snapshot(1)
    np.testing.assert_array_equal(t1, [2.0])
    assert all(a.size == 0 for a in b.snapshot(0))
    np.testing.assert_array_equal(b.snapshot(100)[0], [1.0, 2.0])


def test_wraps_and_counts_overwritten():
    b = _core.MeasurementBuffer(3)
    for i in range(7):
        b.push(float(i), 10.0 * i, 0.1 * i)
    t, y, u = b.snapshot()
    np.testing.assert_array_equal(t, [4, 5, 6])
    np.testing.assert_array_equal(y, [40, 50, 60])
    np.testing.assert_allclose(u, [0.4, 0.5, 0.6])
    assert len(b) == 3 and b.overwritten == 4 and b.total_pushed == 7


def test_bulk_push_larger_than_capacity_keeps_newest():
    b = _core.MeasurementBuffer(1000)
    b.push(-1.0, 0.0)
    t = np.arange(1_000_000, dtype=float)
    b.push_many(t, 2 * t, -t)
    tt, yy, uu = b.snapshot()
    np.testing.assert_array_equal(tt, t[-1000:])
    np.testing.assert_array_equal(yy, 2 * t[-1000:])
    np.testing.assert_array_equal(uu, -t[-1000:])
    assert b.overwritten == 1_000_001 - 1000 and b.total_pushed == 1_000_001


def test_push_many_accepts_lists_and_other_dtypes():
    b = _core.MeasurementBuffer(8)
    b.push_many([1, 2, 3], np.array([1, 2, 3], dtype=np.float32))
    t, y, u = b.snapshot()
    np.testing.assert_array_equal(t, [1, 2, 3])
    np.testing.assert_array_equal(y, [1, 2, 3])
    assert np.isnan(u).all()
    b.push_many(np.arange(10.0)[::2], np.zeros(5))  # non-contiguous input
    np.testing.assert_array_equal(b.snapshot(5)[0], [0, 2, 4, 6, 8])
    b.push_many(np.array([]), np.array([]))
    assert b.total_pushed == 8


def test_clear_keeps_counting():
    b = _core.MeasurementBuffer(2)
    b.push_many(np.arange(5.0), np.zeros(5))
    b.clear()
    assert len(b) == 0 and b.total_pushed == 5 and b.overwritten == 3
    assert b.snapshot()[0].size == 0
    b.push(9.0, 1.0)
    np.testing.assert_array_equal(b.snapshot()[0], [9.0])


def test_covariate_buffer():
    b = _core.CovariateBuffer(3, 2)
    assert b.channels == 2 and b.capacity == 3
    t, v = b.snapshot()
    assert t.shape == (0,) and v.shape == (0, 2)
    b.push(1.0, np.array([10.0, 20.0]))
    b.push_many(np.array([2.0, 3.0, 4.0]), np.array([[1, 2], [3, 4], [5, 6]], dtype=float))
    t, v = b.snapshot(2)
    np.testing.assert_array_equal(t, [3.0, 4.0])
    np.testing.assert_array_equal(v, [[3, 4], [5, 6]])
    assert v.shape == (2, 2) and v.dtype == np.float64 and v.flags.c_contiguous
    assert len(b) == 3 and b.overwritten == 1 and b.total_pushed == 4
    # A Fortran-ordered values array is read by element, not by memory order.
    b.push_many(np.array([5.0, 6.0]), np.asfortranarray([[7.0, 8.0], [9.0, 10.0]]))
    np.testing.assert_array_equal(b.snapshot()[1], [[5, 6], [7, 8], [9, 10]])
    b.clear()
    assert len(b) == 0 and b.total_pushed == 6 and b.overwritten == 3


@pytest.mark.parametrize("call, exc, match", [
    (lambda: _core.MeasurementBuffer(0), ValueError, "capacity must be a positive integer, got 0"),
    (lambda: _core.MeasurementBuffer(-3), ValueError, "capacity must be a positive integer, got -3"),
    (lambda: _core.MeasurementBuffer(2.5), TypeError, None),
    (lambda: _core.CovariateBuffer(4, 0), ValueError, "channels must be a positive integer, got 0"),
    (lambda: _core.MeasurementBuffer(4).push_many(np.zeros(3), np.zeros(2)), ValueError,
     "offset has length 2, t has length 3"),
    (lambda: _core.MeasurementBuffer(4).push_many(np.zeros(3), np.zeros(3), np.zeros(4)), ValueError,
     "uncertainty has length 4, t has length 3"),
    (lambda: _core.MeasurementBuffer(4).push_many(np.zeros((3, 1)), np.zeros(3)), ValueError,
     "t must be a 1-D array, got 2-D"),
    (lambda: _core.MeasurementBuffer(4).push_many(np.zeros(3), np.zeros((3, 1))), ValueError,
     "offset must be a 1-D array"),
    (lambda: _core.MeasurementBuffer(4).push_many(np.zeros(3), np.zeros(3), np.zeros((3, 1))), ValueError,
     "uncertainty must be a 1-D array"),
    (lambda: _core.MeasurementBuffer(4).push_many(np.array(["a", "b"]), np.zeros(2)), TypeError, None),
    (lambda: _core.MeasurementBuffer(4).push("now", 1.0), TypeError, None),
    (lambda: _core.MeasurementBuffer(4).snapshot(-1), ValueError, "n must be >= 0"),
    (lambda: _core.CovariateBuffer(4, 2).push(0.0, np.zeros(3)), ValueError,
     "values has 3 entries, the buffer has 2 channels"),
    (lambda: _core.CovariateBuffer(4, 2).push(0.0, np.zeros((1, 2))), ValueError, "values must be a 1-D array"),
    (lambda: _core.CovariateBuffer(4, 2).push_many(np.zeros(3), np.zeros((3, 1))), ValueError,
     r"values must have shape \(len\(t\), channels\) = \(3, 2\), got \(3, 1\)"),
    (lambda: _core.CovariateBuffer(4, 2).push_many(np.zeros(3), np.zeros(6)), ValueError,
     r"values must have shape \(len\(t\), channels\)"),
    (lambda: _core.CovariateBuffer(4, 2).push_many(np.zeros((3, 2)), np.zeros((3, 2))), ValueError,
     "t must be a 1-D array"),
])
def test_bad_input(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_bad_input_leaves_the_buffer_unchanged():
    b = _core.MeasurementBuffer(4)
    b.push(1.0, 1.0)
    with pytest.raises(ValueError):
        b.push_many(np.zeros(3), np.zeros(2))
    assert b.total_pushed == 1 and len(b) == 1


# --- random operation sequences against collections.deque(maxlen=capacity) ---

values = st.floats(allow_nan=True, allow_infinity=True)  # the buffer stores any double as given
ops = st.lists(st.one_of(
    st.tuples(st.just("push"), st.tuples(values, values)),
    st.tuples(st.just("many"), st.lists(st.tuples(values, values), max_size=30)),
    st.tuples(st.just("snap"), st.one_of(st.none(), st.integers(0, 30))),
    st.tuples(st.just("clear"), st.none()),
), max_size=50)


def same(a, b):
    return np.array_equal(np.asarray(a, dtype=float), np.asarray(b, dtype=float), equal_nan=True)


@settings(max_examples=300, deadline=None)
@given(capacity=st.integers(1, 12), ops=ops)
def test_measurement_buffer_matches_a_deque(capacity, ops):
    b = _core.MeasurementBuffer(capacity)
    ref = collections.deque(maxlen=capacity)
    pushed = lost = 0
    for op, arg in ops:
        if op == "push":
            b.push(float(pushed), *arg)
            rows = [(float(pushed), *arg)]
        elif op == "many":
            t = np.arange(pushed, pushed + len(arg), dtype=float)
            y = np.array([a[0] for a in arg], dtype=float)
            u = np.array([a[1] for a in arg], dtype=float)
            b.push_many(t, y, u)
            rows = list(zip(t.tolist(), y.tolist(), u.tolist()))
        elif op == "clear":
            b.clear()
            ref.clear()
            continue
        else:
            t, y, u = b.snapshot(arg)
            want = list(ref)[-arg:] if arg else ([] if arg == 0 else list(ref))
            assert same(t, [r[0] for r in want]) and same(y, [r[1] for r in want]) and same(u, [r[2] for r in want])
            continue
        lost += max(0, len(ref) + len(rows) - capacity)
        ref.extend(rows)
        pushed += len(rows)
    assert len(b) == len(ref) and b.total_pushed == pushed and b.overwritten == lost


@settings(max_examples=150, deadline=None)
@given(capacity=st.integers(1, 10), channels=st.integers(1, 4),
       batches=st.lists(st.integers(0, 25), max_size=12), snaps=st.lists(st.integers(0, 12), min_size=12, max_size=12))
def test_covariate_buffer_matches_a_deque(capacity, channels, batches, snaps):
    b = _core.CovariateBuffer(capacity, channels)
    ref = collections.deque(maxlen=capacity)
    rng = np.random.default_rng(len(batches))
    pushed = 0
    for n, k in zip(batches, snaps):
        t = np.arange(pushed, pushed + n, dtype=float)
        v = rng.normal(size=(n, channels))
        if n == 1:
            b.push(t[0], v[0])
        else:
            b.push_many(t, v)
        ref.extend(zip(t.tolist(), v.tolist()))
        pushed += n
        st_, sv = b.snapshot(k)
        want = list(ref)[-k:] if k else []
        assert st_.tolist() == [r[0] for r in want]
        assert sv.shape == (len(want), channels) and sv.tolist() == [r[1] for r in want]
    assert len(b) == len(ref) and b.total_pushed == pushed and b.overwritten == pushed - len(ref)


def test_snapshots_race_a_producer_thread():
    """push_many and snapshot both release the GIL: a real producer/consumer
    race. Records (t, 2t, -t): every snapshot must be consecutive and untorn."""
    b = _core.MeasurementBuffer(4096)
    batch = 1000
    rounds = 2000
    done = threading.Event()

    def produce():
        for r in range(rounds):
            t = np.arange(r * batch, (r + 1) * batch, dtype=float)
            b.push_many(t, 2 * t, -t)
        done.set()

    th = threading.Thread(target=produce)
    th.start()
    snaps = 0
    newest = -1.0
    while not done.is_set() or snaps == 0:
        t, y, u = b.snapshot(3000)
        snaps += 1
        if t.size:
            assert np.array_equal(y, 2 * t) and np.array_equal(u, -t), "torn record"
            assert np.all(np.diff(t) == 1.0), "not consecutive"
            assert t[-1] >= newest, "older than the previous snapshot"
            newest = t[-1]
    th.join()
    assert snaps > 1 and b.total_pushed == batch * rounds
    np.testing.assert_array_equal(b.snapshot()[0], np.arange(batch * rounds - 4096, batch * rounds, dtype=float))


def test_push_arguments():
    """push is a raw fast-call method: check its argument handling."""
    b = _core.MeasurementBuffer(8)
    b.push(t=1.0, offset=2.0)
    b.push(3, 4, uncertainty=5)  # ints convert
    b.push(6.0, offset=np.float32(7.0), uncertainty=np.float64(8.0))
    t, y, u = b.snapshot()
    np.testing.assert_array_equal(t, [1, 3, 6])
    np.testing.assert_array_equal(y, [2, 4, 7])
    assert np.isnan(u[0]) and u[1] == 5 and u[2] == 8

    class Sub(_core.MeasurementBuffer):
        pass
    s = Sub(2)
    s.push(1.0, 2.0)
    assert s.total_pushed == 1
    for call, match in [
        (lambda: b.push(), "missing required argument 't'"),
        (lambda: b.push(1.0), "missing required argument 'offset'"),
        (lambda: b.push("x", 1.0), "t must be a real number, got str"),
        (lambda: b.push(1.0, None), "offset must be a real number, got NoneType"),
        (lambda: b.push(1.0, 2.0, "u"), "uncertainty must be a real number"),
        (lambda: b.push(1.0, 2.0, foo=3.0), "unexpected keyword argument 'foo'"),
        (lambda: b.push(1.0, 2.0, 3.0, 4.0), "at most 3 arguments"),
        (lambda: b.push(1.0, 2.0, t=3.0), "multiple values for argument 't'"),
    ]:
        with pytest.raises(TypeError, match=match):
            call()
    assert b.total_pushed == 3
