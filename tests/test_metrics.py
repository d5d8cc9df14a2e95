"""SystemMetricsCollector: a real collector on this machine, restarts, failing readers, bad input."""
from __future__ import annotations

import logging
import math
import time

import numpy as np
import psutil
import pytest

from chronotick import _core
from chronotick.metrics import CHANNELS, SystemMetricsCollector

needs_buffer = pytest.mark.skipif(not hasattr(_core, "CovariateBuffer"),
                                  reason="_core.CovariateBuffer not built yet")

RATES = ("disk_read_bytes_s", "disk_write_bytes_s", "net_recv_bytes_s", "net_sent_bytes_s")


@pytest.mark.parametrize("bad", [0, 0.0, -1.0, float("nan"), float("inf"), -float("inf")])
def test_bad_interval_is_value_error(bad):
    with pytest.raises(ValueError, match="interval_s must be finite and > 0"):
        SystemMetricsCollector(interval_s=bad)


@pytest.mark.parametrize("bad", ["1", None, True, [1.0]])
def test_non_number_interval_is_type_error(bad):
    with pytest.raises(TypeError, match="interval_s must be a number"):
        SystemMetricsCollector(interval_s=bad)


def test_bad_capacity_and_extra_channels():
    with pytest.raises(ValueError, match="capacity must be a positive integer"):
        SystemMetricsCollector(capacity=0)
    with pytest.raises(ValueError, match="collides with a built-in channel"):
        SystemMetricsCollector(extra_channels={"cpu_percent": lambda: 1.0})
    with pytest.raises(TypeError, match="must be callable"):
        SystemMetricsCollector(extra_channels={"x": 3.0})


def _sensors_present() -> bool:
    return bool(getattr(psutil, "sensors_temperatures", lambda: {})())


@needs_buffer
def test_real_collector_runs_and_values_make_sense():
    before = time.time()
    with SystemMetricsCollector(interval_s=0.05) as m:
        assert m.running
        time.sleep(2.5)
    after = time.time()
    assert not m.running
    st = m.stats()
    assert 20 <= st["samples"] <= 60 and st["errors"] == 0, st
    t, v = m.snapshot()
    assert t.size == st["samples"] and list(v) == list(CHANNELS) == m.channels
    assert before <= t[0] and t[-1] <= after and np.all(np.diff(t) > 0)  # time.time() seconds
    # the delta channels have no previous reading on the first sample
    for name in ("cpu_percent",) + RATES:
        assert math.isnan(v[name][0]), name
    cpu = v["cpu_percent"][1:]
    assert np.all(np.isfinite(cpu)) and np.all((cpu >= 0) & (cpu <= 100))
    assert np.all(np.isfinite(v["mem_percent"])) and np.all((v["mem_percent"] > 0) & (v["mem_percent"] <= 100))
    assert np.all(np.isfinite(v["load_1m"])) and np.all(v["load_1m"] >= 0)
    for name in RATES:
        r = v[name][1:]
        assert np.all(r[np.isfinite(r)] >= 0), name
    if psutil.net_io_counters() is not None:
        assert np.all(np.isfinite(v["net_recv_bytes_s"][1:]))
    if _sensors_present():
        assert np.isfinite(v["temp_max_c"]).all()
    else:  # no sensors on this machine: NaN, never 0
        assert np.isnan(v["temp_cpu_c"]).all() and np.isnan(v["temp_max_c"]).all()
    freqs = psutil.cpu_freq(percpu=True) if hasattr(psutil, "cpu_freq") else None
    if freqs and any(f.current > 0 for f in freqs):
        assert np.all(v["cpu_freq_max_mhz"] >= v["cpu_freq_mean_mhz"]) and np.all(v["cpu_freq_mean_mhz"] > 0)
    else:
        assert np.isnan(v["cpu_freq_mean_mhz"]).all()
    lat = m.latest()
    assert set(lat) == set(CHANNELS) and lat["mem_percent"] == v["mem_percent"][-1]
    assert st["overhead_cpu_s"] > 0 and st["overhead_wall_s"] > 0  # the cost itself: benchmarks/bench_metrics.py


@needs_buffer
def test_rates_follow_real_network_traffic():
    """Send 2 MB over loopback between two samples: the network rate sees it."""
    import socket
    import threading
    m = SystemMetricsCollector(interval_s=1.0)
    t_first = time.monotonic()
    m.collect_once()
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    got = []

    def sink():
        c, _ = srv.accept()
        n = 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            n += len(b)
        got.append(n)
        c.close()

    th = threading.Thread(target=sink)
    th.start()
    cl = socket.create_connection(srv.getsockname())
    cl.sendall(b"x" * 2_000_000)
    cl.close()
    th.join()
    srv.close()
    _, v = m.collect_once()
    elapsed = time.monotonic() - t_first  # >= the time between the two samples
    assert got == [2_000_000]
    # loopback traffic is counted on 'lo' (in psutil's total): at least the payload over the interval
    assert v["net_sent_bytes_s"] >= 2_000_000 / elapsed
    assert v["net_recv_bytes_s"] >= 2_000_000 / elapsed


@needs_buffer
def test_restart_after_stop():
    m = SystemMetricsCollector(interval_s=0.05)
    m.start()
    time.sleep(0.5)
    m.stop()
    n1 = m.stats()["samples"]
    time.sleep(0.3)
    assert m.stats()["samples"] == n1 and not m.running  # stopped means stopped
    m.start()
    m.start()  # already running: no second thread
    time.sleep(0.5)
    m.stop()
    n2 = m.stats()["samples"]
    assert n2 > n1 + 3
    t, v = m.snapshot()
    assert t.size == n2
    # the first sample after the restart has no previous counter reading again
    assert math.isnan(v["net_recv_bytes_s"][n1]) and math.isnan(v["cpu_percent"][n1])
    assert np.isfinite(v["cpu_percent"][n1 + 1])


@needs_buffer
def test_failing_reader_is_counted_logged_once_and_thread_survives(caplog):
    calls = {"n": 0}

    def boom():
        calls["n"] += 1
        raise OSError("sensor unplugged")

    caplog.set_level(logging.WARNING, logger="chronotick.metrics")
    m = SystemMetricsCollector(interval_s=0.05, extra_channels={"board_temp_c": boom, "const": lambda: 42.0})
    assert m.channels[-2:] == ["board_temp_c", "const"]
    with m:
        time.sleep(0.8)
        assert m.running  # still alive after many failures
    st = m.stats()
    assert st["samples"] >= 8 and st["errors"] == st["samples"] == calls["n"]
    assert st["errors_by_reader"] == {"board_temp_c": st["samples"]}
    _, v = m.snapshot()
    assert np.isnan(v["board_temp_c"]).all() and np.all(v["const"] == 42.0)
    assert np.isfinite(v["mem_percent"]).all()  # the other readers kept working
    recs = [r for r in caplog.records if r.name == "chronotick.metrics"]
    assert len(recs) == 1 and "board_temp_c" in recs[0].getMessage()


@needs_buffer
def test_an_extra_channel_that_returns_a_non_number_or_non_finite_is_its_error(caplog):
    # an inf went into the buffer as data, and a string was parsed by float()
    caplog.set_level(logging.WARNING, logger="chronotick.metrics")
    m = SystemMetricsCollector(interval_s=1.0, extra_channels={
        "inf_c": lambda: float("inf"), "str_c": lambda: "12.5", "nan_c": lambda: np.nan,
        "np_c": lambda: np.float32(3.5), "int_c": lambda: 7})
    for _ in range(3):
        m.collect_once()
    _, v = m.snapshot()
    for bad in ("inf_c", "str_c", "nan_c"):
        assert np.isnan(v[bad]).all(), (bad, v[bad])
    assert np.all(v["np_c"] == 3.5) and np.all(v["int_c"] == 7.0)
    assert m.stats()["errors_by_reader"] == {"inf_c": 3, "str_c": 3, "nan_c": 3}
    msgs = " ".join(r.getMessage() for r in caplog.records if r.name == "chronotick.metrics")
    assert "inf_c" in msgs and "str_c" in msgs and "nan_c" in msgs


@needs_buffer
def test_snapshot_latest_and_capacity():
    m = SystemMetricsCollector(interval_s=1.0, capacity=5)
    assert m.latest() == {}
    t, v = m.snapshot()
    assert t.size == 0 and all(a.size == 0 for a in v.values())
    for _ in range(8):
        m.collect_once()
    st = m.stats()
    assert st["kept"] == 5 and st["overwritten"] == 3 and st["samples"] == 8
    t3, v3 = m.snapshot(3)
    t_all, _ = m.snapshot()
    assert t3.size == 3 and np.array_equal(t3, t_all[-3:])
    with pytest.raises(ValueError, match="n must be a non-negative integer"):
        m.snapshot(-1)
