"""Cost of one SystemMetricsCollector sample, side by side with bare psutil calls.

Budget: at the default 1 Hz, one sample may cost at most 1% of one core,
i.e. 10 ms of CPU per sample. `extra_info["share_of_one_core_at_1hz"]`
records the measured mean wall time per sample divided by 1 s (wall time
over-estimates CPU time, so this is an upper bound). Compare with
`bench_bare_cpu_percent`, the one psutil call a user would otherwise make,
and the per-reader psutil calls to see where the time goes.

    PYTHONPATH=python pytest benchmarks/bench_metrics.py --benchmark-only
"""
from __future__ import annotations

import os

import psutil
import pytest

from chronotick import _core

pytestmark = pytest.mark.skipif(not hasattr(_core, "CovariateBuffer"), reason="_core.CovariateBuffer not built yet")


def test_bench_collector_sample(benchmark):
    from chronotick.metrics import SystemMetricsCollector
    m = SystemMetricsCollector(interval_s=1.0, capacity=4096)
    m.collect_once()  # prime the delta channels so every timed sample does the full work
    benchmark(m.collect_once)
    benchmark.extra_info["cpu_s_per_sample"] = m.stats()["overhead_cpu_per_sample_s"]
    if benchmark.stats is not None:  # None under --benchmark-disable (CI smoke run)
        mean = benchmark.stats.stats.mean
        benchmark.extra_info["mean_s_per_sample"] = mean
        benchmark.extra_info["share_of_one_core_at_1hz"] = mean / 1.0


def test_bench_bare_cpu_percent(benchmark):
    psutil.cpu_percent(interval=None)
    benchmark(psutil.cpu_percent, interval=None)


CALLS = {
    "cpu_times": psutil.cpu_times,
    "cpu_freq_percpu": lambda: psutil.cpu_freq(percpu=True),
    "virtual_memory": psutil.virtual_memory,
    "getloadavg": os.getloadavg,
    "sensors_temperatures": getattr(psutil, "sensors_temperatures", lambda: {}),
    "disk_io_counters": psutil.disk_io_counters,
    "net_io_counters": psutil.net_io_counters,
}


@pytest.mark.parametrize("name", sorted(CALLS))
def test_bench_psutil_reader(benchmark, name):
    benchmark(CALLS[name])
