"""Ring buffers, side by side with what a Python user would otherwise write.

    PYTHONPATH=python pytest benchmarks/bench_buffers.py --benchmark-only --benchmark-group-by=group

Groups (compare the rows within a group):
- buffer-push: MeasurementBuffer.push of one (t, offset, uncertainty) vs
  collections.deque(maxlen=...).append of a tuple.
- buffer-push-many-1e6: MeasurementBuffer.push_many of 1e6 samples into a
  full 1e6-record ring (goal <= 5 ms) vs keeping three numpy arrays and
  concatenating then trimming to the capacity, vs deque.extend.
- buffer-snapshot-512: the newest 512 records as three arrays: ring snapshot
  vs slicing copies of the numpy arrays vs converting a deque's tail.
"""
from __future__ import annotations

import collections
import itertools

import numpy as np
import pytest

from chronotick import _core

N = 1_000_000
RNG = np.random.default_rng(0)
T = 1.7e9 + np.cumsum(RNG.uniform(0.5, 1.5, N))
Y = RNG.normal(0, 1e-3, N)
U = RNG.uniform(1e-5, 1e-4, N)
# ~100 ns calls: fixed iterations per round, so the timer's own cost is amortised the
# same way for both (pytest-benchmark's calibration sometimes picks 1 iteration).
ROUNDS, ITERATIONS = 1000, 200


@pytest.mark.benchmark(group="buffer-push")
def test_push_ring(benchmark):
    b = _core.MeasurementBuffer(4096)
    benchmark.pedantic(b.push, args=(1.7e9, 1e-3, 1e-4), rounds=ROUNDS, iterations=ITERATIONS, warmup_rounds=10)
    assert len(b) == min(4096, b.total_pushed)


@pytest.mark.benchmark(group="buffer-push")
def test_push_deque_append(benchmark):
    d = collections.deque(maxlen=4096)
    benchmark.pedantic(d.append, args=((1.7e9, 1e-3, 1e-4),), rounds=ROUNDS, iterations=ITERATIONS, warmup_rounds=10)


@pytest.mark.benchmark(group="buffer-push-many-1e6")
def test_push_many_ring(benchmark):
    b = _core.MeasurementBuffer(N)
    b.push_many(T, Y, U)  # steady state: full, every push overwrites
    benchmark(b.push_many, T, Y, U)
    t, y, u = b.snapshot()
    assert np.array_equal(t, T) and np.array_equal(u, U)


class ArrayBuffer:
    """The numpy way: three arrays, concatenate the new samples, keep the newest `capacity`."""

    def __init__(self, capacity):
        self.capacity = capacity
        self.t = self.y = self.u = np.empty(0)

    def push_many(self, t, y, u):
        c = self.capacity
        self.t = np.concatenate([self.t, t])[-c:]
        self.y = np.concatenate([self.y, y])[-c:]
        self.u = np.concatenate([self.u, u])[-c:]


@pytest.mark.benchmark(group="buffer-push-many-1e6")
def test_push_many_numpy_concatenate(benchmark):
    a = ArrayBuffer(N)
    a.push_many(T, Y, U)
    benchmark(a.push_many, T, Y, U)
    assert np.array_equal(a.t, T)


@pytest.mark.benchmark(group="buffer-push-many-1e6")
def test_push_many_deque_extend(benchmark):
    d = collections.deque(maxlen=N)
    benchmark.pedantic(lambda: d.extend(zip(T.tolist(), Y.tolist(), U.tolist())), rounds=3, iterations=1)
    assert len(d) == N


@pytest.mark.benchmark(group="buffer-snapshot-512")
def test_snapshot_ring(benchmark):
    b = _core.MeasurementBuffer(4096)
    b.push_many(T[:4096], Y[:4096], U[:4096])
    t, _, _ = benchmark(b.snapshot, 512)
    assert np.array_equal(t, T[4096 - 512:4096])


@pytest.mark.benchmark(group="buffer-snapshot-512")
def test_snapshot_numpy_slices(benchmark):
    a = ArrayBuffer(4096)
    a.push_many(T[:4096], Y[:4096], U[:4096])
    benchmark(lambda: (a.t[-512:].copy(), a.y[-512:].copy(), a.u[-512:].copy()))


@pytest.mark.benchmark(group="buffer-snapshot-512")
def test_snapshot_deque(benchmark):
    d = collections.deque(zip(T[:4096].tolist(), Y[:4096].tolist(), U[:4096].tolist()), maxlen=4096)

    def snap():
        rows = np.array(list(itertools.islice(d, len(d) - 512, None)))
        return rows[:, 0], rows[:, 1], rows[:, 2]
    t, _, _ = benchmark(snap)
    assert np.array_equal(t, T[4096 - 512:4096])
