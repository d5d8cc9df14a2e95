"""Loading a chrony measurements.log (`log measurements`), next to numpy reading the same
file's offsets (np.loadtxt: no validation, no source selection, no test bits, no times).

    pytest benchmarks/bench_io.py --benchmark-only

A year of one source at 64 s polls is ~490 000 entries; the rows here are 20 000 entries
of two sources (one log banner per 50 lines, as chrony writes them) and report entries per
second in extra_info.
"""
from __future__ import annotations

import datetime

import numpy as np
import pytest

import chronotick

BANNER = ("=" * 120 + "\n   Date (UTC) Time     IP Address   L St 123 567 ABCD  LP RP Score    Offset  Peer del. "
          "Peer disp.  Root del. Root disp. Refid     MNTX RXTX\n" + "=" * 120 + "\n")
ENTRIES = 20000


@pytest.fixture(scope="module")
def measurements_log(tmp_path_factory):
    rng = np.random.default_rng(0)
    t0 = datetime.datetime(2025, 1, 1)
    path = tmp_path_factory.mktemp("chrony") / "measurements.log"
    with open(path, "w") as f:
        for i in range(ENTRIES):
            if i % 50 == 0:
                f.write(BANNER)
            ts = (t0 + datetime.timedelta(seconds=32 * i)).strftime("%Y-%m-%d %H:%M:%S")
            ip = "192.168.1.1" if i % 2 else "10.0.0.1"
            f.write(f"{ts} {ip:15s} N  2 111 111 1111   6  6 0.00 {rng.normal(0, 1e-3):.6e}  "
                    f"{abs(rng.normal(2e-3, 2e-4)):.6e}  1.234e-05  1.000e-02  2.000e-03 C0A80101  4B D K\n")
    return str(path)


def _rate(benchmark, n):
    stats = getattr(benchmark, "stats", None)
    if stats is not None:
        benchmark.extra_info["entries_per_s"] = round(n / stats.stats.median)


@pytest.mark.benchmark(group="load chrony measurements.log")
def test_load_chrony_measurements(benchmark, measurements_log):
    tr = benchmark(chronotick.load, measurements_log)
    assert tr.offsets.size == ENTRIES // 2 and np.all(np.isfinite(tr.offsets))
    _rate(benchmark, ENTRIES)


@pytest.mark.benchmark(group="load chrony measurements.log")
def test_numpy_loadtxt_offsets(benchmark, measurements_log):
    """What a user without the loader might write: the offset column, every source mixed."""
    y = benchmark(np.loadtxt, measurements_log, usecols=(11,), comments=("=", "   Date"))
    assert y.size == ENTRIES
    _rate(benchmark, ENTRIES)
