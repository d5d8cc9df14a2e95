"""Probe of the tools around the clock: `python -m chronotick.replay` / replay(), the system metrics
collector and the `status` and `simulate` commands. Each test failed before its fix:

- status printed the correction ~10 us short (local clock read after now() and snapshot()), and the
  bound as +- half its width around the time served, which is wrong while a backward correction is
  slewed in (the interval is then all on one side of that time: the reference lay outside the
  printed one);
- simulate truncated an existing --out file and left it half-written when the write failed; its
  docstring listed the covariate columns in another order than it writes them; --hours inf was
  refused as 'duration_s'; a reader closing the pipe (`--out - | head`) was an error (rc 1);
- replay() took a NaN/negative max_drift_ppm (silent NaN or negative widths and 0% coverage), a
  NaN or out-of-range outage_share (silently no outages), a truth of the wrong length (IndexError
  deep inside), a negative seed (numpy's message, not naming it); a trace starting before 0 s
  failed on an internal check; a NaN delay in a row made the measurement unusable; the markdown
  table divided by a zero worst-case width; files written by `chronotick simulate` were replayed
  without their true_offset column (no `true` criterion);
- the metrics collector held its buffer lock while its readers ran, so snapshot() (read by the
  Engine inside a forecast) waited for a slow sensor; its byte rates divided by the time since
  the previous sample's start rather than since the previous counter read;
- scripts/long_term_history.py and fusion_weight_power.py parsed sys.argv by hand: no --help, and a
  malformed seed range was a traceback.
"""
from __future__ import annotations

import contextlib
import io
import math
import os
import re
import subprocess
import sys
import threading
import time

import numpy as np
import pytest

_core = pytest.importorskip("chronotick._core")

from chronotick.cli import main  # noqa: E402
from chronotick.io.trace import Trace  # noqa: E402

from test_cli_edge_cases import ENV, needs_clock  # noqa: E402  (child processes' environment, the clock bindings)
needs_buffer = pytest.mark.skipif(not hasattr(_core, "CovariateBuffer"),
                                  reason="_core.CovariateBuffer not built yet")


def _status(path) -> tuple[int, str]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["status", "--path", str(path)])
    return rc, out.getvalue()


# -- chronotick status --------------------------------------------------------------------------

@needs_clock
def test_status_prints_the_published_correction_to_the_microsecond(tmp_path):
    path = tmp_path / "clock"
    with _core.ClockPublisher(str(path)) as pub:
        pub.publish(time.time_ns(), 40_000_000, 0.0, 2_000_000, 0.0, 1, 0.99)   # +40 ms, steady
        got = []
        for _ in range(5):
            rc, out = _status(path)
            assert rc == 0, out
            got.append(float(re.search(r"correction ([+-]\d+\.\d+) ms", out).group(1)))
    # printed to the us: +40.000 (it read +39.985..+39.993)
    assert abs(float(np.median(got)) - 40.0) <= 0.001, got


@needs_clock
def test_status_bound_is_the_published_interval_while_a_correction_is_slewed(tmp_path):
    path = tmp_path / "clock"
    with _core.ClockPublisher(str(path)) as pub:
        now = time.time_ns()
        pub.publish(now, 40_000_000, 0.0, 2_000_000, 0.0, 1, 0.99)
        pub.publish(now, -40_000_000, 0.0, 2_000_000, 0.0, 1, 0.99)  # backward: slewed in, time stays +40 ms
        rc, out = _status(path)
    assert rc == 0, out
    corr = float(re.search(r"correction ([+-]\d+\.\d+) ms", out).group(1))
    m = re.search(r"bound:\s+-(\d+\.\d+) / \+(\d+\.\d+) ms around that time at 99% confidence", out)
    assert m, out                                    # it printed '+-41.000 ms': [-1, +81] ms vs local
    lo, hi = corr - float(m.group(1)), corr + float(m.group(2))
    # the published interval vs the local clock: [-42, +40] ms; the reference (-40 ms +- 2) inside
    assert abs(lo - (-42.0)) < 0.01 and abs(hi - 40.0) < 0.01 and abs(corr - 40.0) < 0.01, out
    assert lo <= -40.0 <= hi


@needs_clock
def test_status_steady_bound_keeps_its_plus_minus_form(tmp_path):
    path = tmp_path / "clock"
    with _core.ClockPublisher(str(path)) as pub:
        pub.publish(time.time_ns(), 5_000_000, 0.0, 3_000_000, 0.0, 2, 0.95)
        rc, out = _status(path)
    assert rc == 0 and "status:     HOLDOVER" in out and "bound:      +-3.000 ms at 95% confidence" in out, out


# -- chronotick simulate ------------------------------------------------------------------------

def test_simulate_failed_write_leaves_the_existing_file_untouched(tmp_path, monkeypatch, capsys):
    out = tmp_path / "sim.csv"
    out.write_text("previous run\n")
    real = np.savetxt

    def disk_full(f, *args, **kwargs):
        f.write("t,offset,uncer")                     # part of the file, then the disk is full
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(np, "savetxt", disk_full)
    assert main(["simulate", "--hours", "0.5", "--out", str(out)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out) in err[0] and "No space left on device" in err[0], err
    assert out.read_text() == "previous run\n"        # was truncated to the partial write
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sim.csv"]      # no temporary left behind
    monkeypatch.setattr(np, "savetxt", real)
    # a symlink: its target is written (the link kept), with the target's permissions
    target = tmp_path / "target.csv"
    target.write_text("old\n")
    os.chmod(target, 0o640)
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert main(["simulate", "--hours", "0.5", "--out", str(link)]) == 0
    assert link.is_symlink() and target.read_text().startswith("t,offset,")
    assert (target.stat().st_mode & 0o777) == 0o640


def test_simulate_docstring_names_the_columns_it_writes(capsys):
    import chronotick.cli.simulate as simulate
    assert main(["simulate", "--hours", "0.2", "--out", "-"]) == 0
    header = capsys.readouterr().out.splitlines()[0]
    documented = [line.strip() for line in simulate.__doc__.splitlines() if line.strip().startswith("t,offset,")]
    assert documented == [header], (documented, header)


@pytest.mark.parametrize("opt", ["--hours", "--dt", "--poll-s"])
def test_simulate_infinite_values_are_named_by_their_option(opt, tmp_path, capsys):
    argv = ["simulate", "--out", str(tmp_path / "x.csv"), opt, "inf"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err == f"chronotick simulate: {opt} must be > 0 and finite, got inf", err
    assert not (tmp_path / "x.csv").exists()


def test_simulate_to_a_pipe_closed_early_is_not_an_error():
    p = subprocess.Popen([sys.executable, "-m", "chronotick", "simulate", "--hours", "48", "--out", "-"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=ENV)
    first = p.stdout.readline()
    p.stdout.close()                                   # as `| head -1` does
    err = p.stderr.read().decode()
    p.wait(timeout=60)
    assert first.startswith(b"t,offset,uncertainty,delay,true_offset")
    assert p.returncode == 0 and err == "", (p.returncode, err)   # was rc 1, '[Errno 32] Broken pipe'


# -- replay ---------------------------------------------------------------------------------------

def _trace(n=80, t0=1.7e9, delay=0.02, seed=1):
    rng = np.random.default_rng(seed)
    t = t0 + 64.0 * np.arange(n)
    y = 1e-3 + rng.normal(0, 1e-4, n)
    return Trace(t, y, delay=None if delay is None else np.full(n, delay), source="probe.csv")


@pytest.mark.parametrize("kwargs, pattern", [
    ({"max_drift_ppm": float("nan")}, "max_drift_ppm must be a finite number >= 0"),
    ({"max_drift_ppm": -50.0}, "max_drift_ppm must be a finite number >= 0"),
    ({"outage_share": float("nan")}, r"outage_share must be a number in \[0, 1\)"),
    ({"outage_share": -0.1}, r"outage_share must be a number in \[0, 1\)"),
    ({"outage_share": 1.5}, r"outage_share must be a number in \[0, 1\)"),
    ({"seed": -1}, "seed must be an integer >= 0"),
    ({"seed": 1.5}, "seed must be an integer >= 0"),
    ({"truth": np.zeros(10)}, r"truth has shape \(10,\), the trace has 80 measurements"),
    ({"truth": np.full(80, np.nan)}, r"truth\[0\] = nan is not finite"),
])
def test_replay_refuses_bad_arguments_by_name(kwargs, pattern):
    from chronotick.replay import replay
    with pytest.raises(ValueError, match=pattern):
        replay(_trace(), **kwargs)


def test_replay_refuses_a_one_measurement_trace_by_name():
    from chronotick.replay import replay
    with pytest.raises(ValueError, match="probe: 1 measurement"):
        replay(_trace(n=1))


def test_replay_cli_names_a_negative_seed(capsys):
    from chronotick.replay import main as replay_main
    assert replay_main(["--sim", "tcxo", "--seed", "-1"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["python -m chronotick.replay: --seed must be an integer >= 0, got -1"], err


def test_replay_of_a_trace_on_relative_times_before_zero():
    from chronotick.replay import replay
    a = replay(_trace(t0=-3000.0))                      # failed: 'now_ns must be in (0, 2**62]'
    b = replay(_trace(t0=0.0))                          # the same trace, 3000 s later
    assert a["by_status"] == b["by_status"] and a["n"] == b["n"] == 60


def test_replay_nan_delay_in_a_row_is_no_delay():
    from chronotick.replay import replay
    tr = _trace()
    tr.delay[40] = np.nan
    ref = _trace()
    ref.delay[40] = 0.0
    a, b = replay(tr, outage_share=0), replay(ref, outage_share=0)
    assert a["health"]["source_errors"] == 0, a["health"]      # the measurement was refused
    assert a["by_status"] == b["by_status"]


def test_replay_markdown_with_a_zero_width_worst_case_bound():
    from chronotick.replay import markdown, replay
    r = replay(_trace(delay=None), max_drift_ppm=0)        # no delays, 0 ppm: the worst-case column is 0 wide
    table = markdown([r])                                  # ZeroDivisionError
    assert "| probe | SYNCHRONIZED |" in table and table.splitlines()[2].endswith("| 0.00 | – |")
    assert "| 0 ppm: true / point / consistent |" in table.splitlines()[0]


def test_replay_names_the_drift_its_worst_case_bound_was_built_with():
    # built at 1 ppm, the table and the CLI's text had headed it "50 ppm"
    from chronotick.replay import markdown, replay
    r1, r50 = replay(_trace(), max_drift_ppm=1.0), replay(_trace())
    assert r1["max_drift_ppm"] == 1.0 and r50["max_drift_ppm"] == 50.0
    head = markdown([r1]).splitlines()[0]
    assert "| 1 ppm: true / point / consistent |" in head and "50 ppm" not in head
    assert "| 50 ppm: true / point / consistent |" in markdown([r50]).splitlines()[0]
    w1 = r1["by_status"]["SYNCHRONIZED"]["worst_case_median_width_s"]
    w50 = r50["by_status"]["SYNCHRONIZED"]["worst_case_median_width_s"]
    assert w1 < w50
    with pytest.raises(ValueError, match=r"different worst-case drifts in one table: \[1.0, 50.0\] ppm"):
        markdown([r1, r50])


def test_replay_uses_the_true_offset_of_a_simulated_csv(tmp_path, capsys):
    from chronotick.replay import main as replay_main
    out = tmp_path / "sim.csv"
    assert main(["simulate", "--hours", "3", "--out", str(out)]) == 0
    capsys.readouterr()
    assert replay_main([str(out)]) == 0
    text = capsys.readouterr().out
    assert re.search(r"SYNCHRONIZED: \d+ checks, covered true \d+\.\d%, point", text), text


# -- metrics collector ----------------------------------------------------------------------------

@needs_buffer
def test_snapshot_does_not_wait_for_a_slow_sample():
    from chronotick.metrics import SystemMetricsCollector
    inside, release = threading.Event(), threading.Event()

    def slow_sensor():
        inside.set()
        release.wait(5)
        return 1.0
    m = SystemMetricsCollector(interval_s=1.0, extra_channels={"board_c": slow_sensor})
    release.set()
    m.collect_once()                                   # one sample in the buffer
    release.clear()
    inside.clear()
    th = threading.Thread(target=m.collect_once)
    th.start()
    try:
        assert inside.wait(5)
        t0 = time.perf_counter()
        t, v = m.snapshot()
        lat = m.latest()
        st = m.stats()
        waited = time.perf_counter() - t0
    finally:
        release.set()
        th.join(5)
    assert waited < 0.5, waited                       # it waited for the sensor (here: up to 5 s)
    assert t.size == 1 and lat["board_c"] == 1.0 and st["samples"] == 1
    assert m.stats()["samples"] == 2


@needs_buffer
def test_rates_divide_by_the_time_between_the_counter_reads(monkeypatch):
    import psutil

    from chronotick.metrics import SystemMetricsCollector
    rate = 1e6                                          # bytes/s, as the fake counters grow

    class Net:
        def __init__(self):
            now = time.monotonic()
            self.bytes_recv = self.bytes_sent = rate * now

    calls = {"n": 0}

    def temps():
        calls["n"] += 1
        if calls["n"] == 2:
            time.sleep(0.3)                             # a slow sensor read before the counters
        return {}
    monkeypatch.setattr(psutil, "net_io_counters", Net)
    monkeypatch.setattr(psutil, "sensors_temperatures", temps, raising=False)
    m = SystemMetricsCollector(interval_s=1.0)
    m.collect_once()
    time.sleep(0.1)
    _, v = m.collect_once()
    # it read 4x the rate: 0.4 s of counts over the 0.1 s between the samples' starts
    assert math.isclose(v["net_recv_bytes_s"], rate, rel_tol=0.05), v["net_recv_bytes_s"]
    assert math.isclose(v["net_sent_bytes_s"], rate, rel_tol=0.05), v["net_sent_bytes_s"]


def test_a_stop_that_timed_out_then_a_start_leaves_one_sampling_thread():
    """stop(timeout) returning while a slow sample runs, then start() at once:
    the old thread must still see its stop (the two had shared one event,
    cleared again by start(), so both sampled on). The old failure needed the
    old thread to pass its check after start() cleared the event: this test
    does not force that interleaving (it passed on the old code too); it
    guards the invariant."""
    from chronotick.metrics import SystemMetricsCollector
    gate = threading.Event()

    def slow_sensor():
        gate.wait(2.0)
        return 1.0
    m = SystemMetricsCollector(interval_s=0.05, extra_channels={"board_c": slow_sensor})
    m.start()
    time.sleep(0.1)                     # the first sample is inside slow_sensor
    old = m._thread
    m.stop(timeout=0.01)                # returns while the old thread still samples
    assert old.is_alive()
    m.start()
    gate.set()
    old.join(2.0)
    try:
        assert not old.is_alive()       # it saw its own stop event
        assert m.running and sum(th.name == "chronotick-metrics" and th.is_alive()
                                 for th in threading.enumerate()) == 1
    finally:
        m.stop(timeout=2.0)


_SCRIPTS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "scripts")


@pytest.mark.parametrize("script, args, bad", [
    ("long_term_history.py", ["9201-", "9301-9304"], "9201-"),
    ("long_term_history.py", ["9201-9204", "x"], "x"),
    ("long_term_history.py", ["9204-9201", "9301-9304"], "9204-9201"),
    ("fusion_weight_power.py", ["x:1-2"], "x:1-2"),
    ("fusion_weight_power.py", ["d:2001-2008,f:2101"], "f:2101"),
    ("quantized_intervals.py", ["bogus"], "bogus"),
    ("member_errors.py", ["d:1-2,q:3-4"], "q:3-4"),
    ("member_errors.py", ["d:1-1", "--compare", "/nonexistent.json"], "/nonexistent.json"),
    ("noncausal_floor.py", ["/nonexistent-folder"], "/nonexistent-folder"),
])
def test_offline_scripts_have_help_and_name_a_bad_argument(script, args, bad):
    """scripts/long_term_history.py and fusion_weight_power.py parsed sys.argv by hand: no --help,
    a malformed range was a traceback (ValueError) after the imports. (quantized_intervals.py: an
    unknown model named before any clock is simulated.)"""
    path = os.path.join(_SCRIPTS, script)
    ok = subprocess.run([sys.executable, path, "--help"], env=ENV, capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0 and "usage:" in ok.stdout
    r = subprocess.run([sys.executable, path, *args], env=ENV, capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and repr(bad) in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_noncausal_floor_leaves_the_target_out():
    """scripts/noncausal_floor.py: on a noise-free line a two-sided line fit through the neighbours
    is exact while median-of-5 lags the drift; a target's own value never enters its estimate (a
    spike at one target is its whole error there)."""
    sys.path.insert(0, _SCRIPTS)
    try:
        import noncausal_floor as nf
    finally:
        sys.path.remove(_SCRIPTS)
    t = np.arange(200, dtype=float) * 64.0
    m5, r = nf.ratios(t, 1e-3 * t)
    assert m5 == pytest.approx(3 * 64e-3) and r["line ±8"] == pytest.approx(0, abs=1e-9)
    y = np.zeros(200)
    y[100] = 5.0
    m5, r = nf.ratios(t, y)
    # median-5 misses the spike (5.0) and nothing else; the neighbours' median misses it alone too
    assert m5 == pytest.approx(5.0 / 190) and r["median ±4"] == pytest.approx(1.0)


def test_metrics_interval_beyond_what_a_wait_takes_is_refused():
    """Audit finding (session 23): SystemMetricsCollector(1e10) started, sampled once, and its
    thread died on an OverflowError of the wait (threading.TIMEOUT_MAX ~9.2e9 s)."""
    from chronotick.metrics import SystemMetricsCollector
    with pytest.raises(ValueError, match=r"interval_s must be at most 1e8 seconds"):
        SystemMetricsCollector(interval_s=1e10)
