"""Cost of reading corrected time, side by side with reading the system clock.

Goals: `_core.ClockState.now_ns()` and `shm.Client.now_ns()` within 2.5x of
`time.time_ns()` (what a Python user would otherwise call); from C,
`ct_reader_now_ns()` of include/chronotick.h within 2x of
`clock_gettime(CLOCK_REALTIME)`. Each benchmark records
`extra_info["ratio_vs_time_ns"]` (its min time over a `time.time_ns` min
measured in the same test with timeit), and the C benchmark records the C
program's own ratio.

    PYTHONPATH=python pytest benchmarks/bench_clock.py --benchmark-only
"""
from __future__ import annotations

import shutil
import subprocess
import time
import timeit
from pathlib import Path

import pytest
from chronotick import _core

pytestmark = pytest.mark.skipif(not hasattr(_core, "ClockState"), reason="_core.ClockState not built yet")

ROOT = Path(__file__).resolve().parents[1]


def _publish(target):
    target.publish(time.time_ns(), 1_500_000, 3e-6, 20_000, 100.0, _core.CLOCK_SYNCHRONIZED)


def _per_call_ns(fn, number=200_000) -> float:
    return min(timeit.repeat(fn, number=number, repeat=5)) / number * 1e9


def _bench(benchmark, fn):
    # Fixed, large batches for every function so timer overhead is amortised the same way for all.
    benchmark.pedantic(fn, iterations=20_000, rounds=30, warmup_rounds=2)


def _record_ratio(benchmark, fn):
    base = _per_call_ns(time.time_ns)
    own = _per_call_ns(fn)
    benchmark.extra_info["time_ns_ns_per_call"] = round(base, 2)
    benchmark.extra_info["ns_per_call"] = round(own, 2)
    benchmark.extra_info["ratio_vs_time_ns"] = round(own / base, 3)


def test_bench_time_time_ns(benchmark):
    _bench(benchmark, time.time_ns)


def test_bench_clock_state_now_ns(benchmark):
    st = _core.ClockState()
    _publish(st)
    _bench(benchmark, st.now_ns)
    _record_ratio(benchmark, st.now_ns)


def test_bench_clock_state_now(benchmark):
    st = _core.ClockState()
    _publish(st)
    _bench(benchmark, st.now)
    _record_ratio(benchmark, st.now)


def test_bench_clock_now_ns(benchmark):
    """chronotick.Clock.now_ns() as an application calls it: on CLOCK_REALTIME
    it is the ClockState read bound on the instance (no Python frame since
    2026-12-02; before, a Python method called it)."""
    from chronotick.clock import Clock
    c = Clock(lambda: None)
    _publish(c._state)
    _bench(benchmark, c.now_ns)
    _record_ratio(benchmark, c.now_ns)


@pytest.fixture
def published(tmp_path):
    path = str(tmp_path / "clock")
    with _core.ClockPublisher(path) as pub:
        _publish(pub)
        yield path


def test_bench_client_now_ns(benchmark, published):
    from chronotick.shm import Client
    c = Client(published)
    _bench(benchmark, c.now_ns)
    _record_ratio(benchmark, c.now_ns)


def test_bench_client_now(benchmark, published):
    from chronotick.shm import Client
    c = Client(published)
    _bench(benchmark, c.now)
    _record_ratio(benchmark, c.now)


CC = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")


@pytest.mark.skipif(CC is None, reason="no C compiler (cc/gcc/clang) to build benchmarks/clock_read_bench.c")
def test_bench_c_reader_vs_clock_gettime(benchmark, published, tmp_path):
    exe = tmp_path / "clock_read_bench"
    subprocess.run([CC, "-O2", "-std=c99", "-D_POSIX_C_SOURCE=200809L", f"-I{ROOT / 'include'}",
                    str(ROOT / "benchmarks" / "clock_read_bench.c"), "-o", str(exe)], check=True)
    iterations = "200000" if benchmark.disabled else "5000000"

    def run():
        return subprocess.run([str(exe), published, iterations], capture_output=True, text=True, check=True).stdout

    out = benchmark.pedantic(run, rounds=1, iterations=1)
    fields = dict(line.split(None, 1) for line in out.splitlines())
    assert fields["now"].split()[0] == str(_core.CLOCK_SYNCHRONIZED)
    benchmark.extra_info["clock_gettime_ns"] = float(fields["clock_gettime_ns"])
    benchmark.extra_info["ct_reader_now_ns_ns"] = float(fields["ct_reader_now_ns"])
    benchmark.extra_info["ratio_vs_clock_gettime"] = float(fields["ratio"])
    print(f"\nC: clock_gettime {fields['clock_gettime_ns']} ns, ct_reader_now_ns {fields['ct_reader_now_ns']} ns, "
          f"ratio {fields['ratio']}")
