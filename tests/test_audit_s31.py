"""Found by audits of the simulator, the plots and the command line (2026-12-05, session 31):
each test fails on the code before its fix."""
import os
import urllib.request
import warnings

import numpy as np
import pytest

from chronotick import sim
from chronotick.cli import main

# -- the command line: exit status 2 for an option's bad value, 1 for a failure at run time ---------


def _one_line(err: str, prefix: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix) and "Traceback" not in err, err
    return lines[0]


@pytest.mark.parametrize("argv, says", [
    (["demo", "--width", "300000000"], "--width must be in [20, 1000] columns, got 300000000"),
    (["demo", "--width", "10"], "--width must be in [20, 1000] columns, got 10"),
    (["demo", "--horizon", "0"], "--horizon must be >= 1, got 0"),
    (["demo", "--cut", "5"], "--cut must be in [10, "),
    (["demo", "--model", "nosuch"], "--model: "),
    (["backtest", "x.csv", "--horizon", "0"], "--horizon must be an integer >= 1 (measurements ahead), got 0"),
    (["backtest", "x.csv", "--level", "80"], "--level must be a fraction in (0, 1) (0.8 for an 80% interval), got 80.0"),
    (["backtest", "x.csv", "--level", "nan"], "--level must be a fraction in (0, 1)"),
    (["backtest", "x.csv", "--models", "nosuch"], "--models: "),
    (["backtest", "x.csv", "--models", "hold,hold"], "--models names 'hold' twice"),
    (["backtest", "x.csv", "--format", "nosuch"], "--format 'nosuch'"),
    (["serve", "--servers", "127.0.0.1:9", "--duration", "-1"], "--duration must be a finite number of seconds > 0"),
    (["serve", "--servers", "127.0.0.1:9", "--metrics-addr", " ", "--metrics-port", "0"],
     "--metrics-addr must name an address, got ' '"),
    (["serve", "--path", "PATH"], "no time source: give --servers"),
])
def test_a_bad_option_value_exits_2_in_every_command(argv, says, capsys, tmp_path):
    # argparse's own refusals (a non-number) had been 2 and the commands' range checks 1 in demo,
    # backtest and serve (2 in simulate and export)
    argv = [str(tmp_path / "clock") if a == "PATH" else a for a in argv]
    if "serve" in argv and "--path" not in argv:
        argv += ["--path", str(tmp_path / "clock")]
    assert main(argv) == 2
    assert says in _one_line(capsys.readouterr().err, f"chronotick {argv[0]}: ")
    assert not (tmp_path / "clock").exists()


def test_a_failure_at_run_time_still_exits_1(capsys, tmp_path):
    assert main(["backtest", "--no-progress", str(tmp_path / "missing.csv"), "--models", "hold"]) == 1
    assert "missing.csv" in _one_line(capsys.readouterr().err, "chronotick backtest: ")


def test_serve_names_a_config_that_is_a_directory(capsys, tmp_path):
    # "no such config file" had been said of a directory that exists
    assert main(["serve", "--config", str(tmp_path), "--path", str(tmp_path / "clock"), "--duration", "0.2"]) == 1
    assert f"config file {tmp_path} is a directory" in _one_line(capsys.readouterr().err, "chronotick serve: ")
    from chronotick.engine import Engine
    with pytest.raises(IsADirectoryError, match="is a directory"):
        Engine(str(tmp_path))


def test_demo_says_when_fewer_measurements_follow_the_cut_than_the_horizon(capsys):
    assert main(["demo", "--horizon", "100000", "--width", "40"]) == 0
    out = capsys.readouterr().out
    assert "--horizon 100000: only " in out and "measurements follow the cut" in out


def test_status_tells_unknown_from_nothing_to_read(capsys, tmp_path):
    from chronotick import _core
    from chronotick.cli.status import EXIT_NO_CLOCK, EXIT_UNKNOWN
    assert (EXIT_UNKNOWN, EXIT_NO_CLOCK) == (1, 3)
    assert main(["status", "--path", str(tmp_path / "missing")]) == EXIT_NO_CLOCK
    assert "missing" in _one_line(capsys.readouterr().err, "chronotick status: ")
    (tmp_path / "junk").write_bytes(b"x" * 4096)
    assert main(["status", "--path", str(tmp_path / "junk")]) == EXIT_NO_CLOCK
    capsys.readouterr()
    if hasattr(_core, "ClockPublisher"):
        path = str(tmp_path / "clock")
        with _core.ClockPublisher(path):
            assert main(["status", "--path", path]) == EXIT_UNKNOWN


# -- the terminal and PNG plots ------------------------------------------------------------------

def test_asciiplot_refuses_a_size_it_cannot_draw():
    from chronotick.asciiplot import MAX_HEIGHT, MAX_WIDTH, plot
    x = np.arange(5.0)
    with pytest.raises(ValueError, match=r"width must be in \[20, 1000\], got 300000000"):
        plot([(x, x, ".")], width=300_000_000)      # had tried to allocate ~43 GB
    with pytest.raises(ValueError, match=r"height must be in \[3, 1000\], got 1001"):
        plot([(x, x, ".")], height=1001)
    assert len(plot([(x, x, ".")], width=MAX_WIDTH, height=MAX_HEIGHT).splitlines()) >= MAX_HEIGHT


@pytest.mark.parametrize("where", ["times", "forecast", "models"])
def test_a_plot_refuses_a_non_finite_time_by_index(where, tmp_path):
    pytest.importorskip("matplotlib")
    from chronotick import plot
    t = np.arange(10.0) * 64
    y = np.linspace(0, 1e-3, 10)
    bad = t.copy()
    bad[0] = np.nan                         # every x had become NaN: a blank plot, no error
    with pytest.raises(ValueError, match=r"\[0\] = nan: times must be finite"):
        if where == "times":
            plot.plot_forecast(bad, y, out=str(tmp_path / "a.png"))
        elif where == "forecast":
            plot.plot_forecast(t, y, forecast=(bad + 640, y), out=str(tmp_path / "a.png"))
        else:
            plot.plot_models(bad, y, {"m": (y, None, None)}, out=str(tmp_path / "a.png"))
    assert not (tmp_path / "a.png").exists()


# -- serve's Prometheus collector ----------------------------------------------------------------

class _Source:
    def __call__(self):
        return None


def _clock(now_ns):
    from chronotick.clock import Clock
    return Clock(_Source(), time_ns=lambda: now_ns)


def test_the_offset_metric_is_taken_at_the_local_time_of_its_bound():
    pytest.importorskip("prometheus_client")
    from chronotick.cli.serve import MetricsCollector
    clock = _clock(1_700_000_000_123_456_789)
    try:
        fams = {f.name: f for f in MetricsCollector(clock, _Source()).collect()}
    finally:
        clock._engine.close()
    # UNKNOWN: the time served is the local clock's own, a correction of exactly 0 (now() and a
    # second read of the clock had reported the time between them, 1-6 us, as a correction)
    assert fams["chronotick_status"].samples[0].value == 0
    assert fams["chronotick_offset_seconds"].samples[0].value == 0.0


def test_a_filtered_scrape_serves_the_families_asked_for():
    pytest.importorskip("prometheus_client")
    from chronotick.cli.serve import start_metrics
    clock = _clock(1_700_000_000_000_000_000)
    server = start_metrics(0, clock, _Source())
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        for name in ("chronotick_status", "chronotick_offset_seconds", "chronotick_measurements_total"):
            with urllib.request.urlopen(f"{url}?name[]={name}", timeout=5) as r:
                body = r.read().decode()
            assert f"\n{name} " in "\n" + body, (name, body)      # had been an empty page
        with urllib.request.urlopen(url, timeout=5) as r:
            assert "chronotick_bound_seconds" in r.read().decode()
    finally:
        server.shutdown()
        server.server_close()
        clock._engine.close()


# -- the simulator ------------------------------------------------------------------------------

def test_theory_adev_refuses_a_tau_below_the_grid_step():
    cp = sim.ClockParams(h_fpm=1e-18)
    with pytest.raises(ValueError, match=r"taus must be >= dt = 1.0 s .* got 0.01"):
        sim.theory_adev(cp, [0.01, 1.0])        # had been [nan, ...] with a RuntimeWarning
    assert np.all(np.isfinite(sim.theory_adev(cp, [1.0, 10.0])))


def test_a_poll_interval_off_the_grid_is_said():
    with pytest.warns(RuntimeWarning, match="poll_s 64.0 is not a multiple of dt 10.0: .* every 60 s"):
        r = sim.simulate(duration_s=3600, dt=10, poll_s=64)
    d = np.diff(r.trace.times)
    assert d.min() == 60.0 and np.all(d % 60.0 == 0)      # (a lost exchange leaves 120 s)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        sim.simulate(duration_s=3600, dt=1, poll_s=64)           # on the grid: silent
        sim.simulate(duration_s=3600, dt=0.1, poll_s=0.3)        # float steps, on the grid


def test_a_run_with_its_own_parameters_is_not_labelled_as_the_preset():
    cp, mp = sim.random_params(np.random.default_rng(3))
    r = sim.simulate(duration_s=3600, clock_params=cp, measurement_params=mp, seed=1)
    assert "custom clock_params" in r.trace.source and "custom measurement_params" in r.trace.source
    assert "custom" not in sim.simulate(duration_s=3600, seed=1).trace.source


def test_runs_of_other_lengths_are_documented_as_independent():
    # the draws are made in blocks as long as the run: the docs say so (they had implied the
    # opposite), and this is what they say
    a = sim.simulate(duration_s=86400, seed=2).trace
    b = sim.simulate(duration_s=86400 + 64, seed=2).trace
    n = min(len(a), len(b))
    assert not np.array_equal(a.delay[:n], b.delay[:n])
    doc = open(os.path.join(os.path.dirname(__file__), "..", "docs", "sim.md")).read()
    assert "does not share its start with it" in doc


# -- the trace loaders and the backtest's use of them (an audit of chronotick.io) ------------------

DATA = os.path.join(os.path.dirname(__file__), "data")


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_one_corrupt_time_loses_one_row_not_every_later_one(tmp_path):
    from chronotick.io import load
    rows = [(1760560000 + 10 * i, 1e-3 * np.sin(i / 50)) for i in range(1000)]
    rows[10] = (2760560100, rows[10][1])             # one digit flipped: 31 years ahead
    p = _write(tmp_path / "jump.csv", "t,offset\n" + "".join(f"{t},{o:.6e}\n" for t, o in rows))
    tr = load(p, strict=False)
    # had kept 11 rows (the corrupt one last) and called the 989 after it malformed
    assert len(tr) == 999 and tr.skipped == {"malformed": 1} and tr.times[-1] == rows[-1][0]
    assert 2760560100 not in tr.times
    with pytest.raises(ValueError, match=r"jump.csv:13: time 1760560110.0 is not after"):
        load(p)                                       # strict: the first row out of order, as before
    # a row that is itself out of order is still the one dropped (the greedy choice where it is
    # as good): 100, 200, 300, 250, 400 keeps 300
    q = _write(tmp_path / "back.csv", "t,offset\n100,0\n200,0\n300,0\n250,0\n400,0\n")
    tr = load(q, strict=False)
    assert list(tr.times) == [100.0, 200.0, 300.0, 400.0] and tr.skipped == {"malformed": 1}


def test_chrony_second_60_only_as_a_leap_second(tmp_path):
    from chronotick.io import load
    text = open(os.path.join(DATA, "chrony_tracking.log")).read()
    assert "02:32:40" in text
    p = _write(tmp_path / "tracking.log", text.replace("02:32:40", "02:32:60", 1))
    with pytest.raises(ValueError, match=r"tracking.log:\d+: invalid time '02:32:60'"):
        load(p)                                       # had read as 02:33:00, out of order
    n = len(load(os.path.join(DATA, "chrony_tracking.log"), strict=False))
    assert len(load(p, strict=False)) == n - 1      # (the 19 entries after it had been dropped)


def test_the_backtest_says_where_delay_weights_were_off_and_what_the_loader_skipped(tmp_path):
    from chronotick.backtest import run_backtest
    from chronotick.io.trace import Trace
    rng = np.random.default_rng(0)
    n = 60
    d = 0.02 + rng.exponential(0.005, n)
    d[30] = np.nan                                    # one exchange without a delay
    tr = Trace(times=64.0 * np.arange(n), offsets=rng.normal(0, 1e-3, n), delay=d, skipped={"malformed": 2})
    r = run_backtest(tr, {}, level=0.8)
    text = r.format()
    assert "note: the loader skipped rows of the file: {'malformed': 2}" in text
    # windows holding measurement 30 (origins 31 .. 59 of 10 .. 59) weigh without delays: said
    assert "note: delay weights off at 29 of 50 origins" in text


def test_a_phase_file_header_is_read_whole(tmp_path):
    from chronotick.io import load_oscillator_phase
    head = "# first datapoint 1391174210\n# 4 datapoints in total\n# phase data, unit: {u}\n# data interval {i} s\n"
    data = "7.6e-07\n7.8e-07\n7.9e-07\n8.0e-07\n"
    tr = load_oscillator_phase(_write(tmp_path / "a.txt", head.format(u="s", i="10.0") + data))
    assert list(np.diff(tr.times)) == [10.0] * 3 and tr.times[0] == 1391174210      # had been 1 s apart
    tr = load_oscillator_phase(_write(tmp_path / "b.txt", head.format(u="ns", i="1.0") + data))
    np.testing.assert_allclose(tr.offsets, -np.array([7.6e-16, 7.8e-16, 7.9e-16, 8.0e-16]))   # had been 1e9x
    with pytest.raises(ValueError, match=r"tau = 2.0 s, but .*c.txt:4 declares a data interval of 1.0 s"):
        load_oscillator_phase(_write(tmp_path / "c.txt", head.format(u="s", i="1.0") + data), tau=2.0)
    with pytest.raises(ValueError, match=r"unit of the phase data 'furlongs' is none of"):
        load_oscillator_phase(_write(tmp_path / "d.txt", head.format(u="furlongs", i="1.0") + data))
    cut = _write(tmp_path / "e.txt", head.format(u="s", i="1.0") + data[:-8])
    with pytest.raises(ValueError, match=r"e.txt: 3 data lines, but line 2 declares 4 datapoints"):
        load_oscillator_phase(cut)                    # a file cut short had loaded without a word
    assert load_oscillator_phase(cut, strict=False).skipped == {"missing_at_end": 1}


@pytest.mark.parametrize("name", ["offsetMs", "offsetMS", "offset_msecs", "offset_usecs", "offset_nsecs",
                                  "offset_millisecs", "offset/ms", "offset_milli", "offset_µsec", "offset [mS]"])
def test_plain_csv_refuses_an_offset_in_another_unit_however_spelled(tmp_path, name):
    from chronotick.io import load_plain_csv
    p = _write(tmp_path / "u.csv", f"t,{name}\n1,1.5\n2,2.5\n3,3.5\n")
    with pytest.raises(ValueError, match="names a unit other than seconds"):
        load_plain_csv(p)                             # had loaded 1.5 ms as 1.5 s


@pytest.mark.parametrize("name, delay, unc", [
    ("delay_s", True, False), ("delay (s)", True, False), ("rtt", True, False), ("round_trip", True, False),
    ("ntp_delay", True, False), ("root_delay", False, False), ("unc", False, True), ("uncertainty_s", False, True),
])
def test_plain_csv_reads_a_delay_column_as_the_delay(tmp_path, name, delay, unc):
    from chronotick.io import load_plain_csv
    tr = load_plain_csv(_write(tmp_path / "d.csv", f"t,offset,{name}\n1,0.001,0.02\n2,0.002,0.021\n"))
    assert (tr.delay is not None) == delay and (tr.uncertainty is not None) == unc
    if not (delay or unc):
        assert list(tr.extra[name]) == [0.02, 0.021]   # a server's root delay: kept, as itself


def test_chronotick_csv_header_with_spaces_loads(tmp_path):
    from chronotick.io import load
    rows = "".join(f"{1.76e9 + 64 * i}, {1.76e9 + 64 * i}, {0.1 * i}, 20.0\n" for i in range(12))
    p = _write(tmp_path / "s.csv", "timestamp, system_time, ntp_offset_ms, ntp_delay_ms\n" + rows)
    tr = load(p)                                      # sniffed as chronotick_csv, then refused
    assert len(tr) == 12 and tr.offsets[1] == pytest.approx(1e-4)


def test_a_utf16_file_is_named_as_such(tmp_path):
    from chronotick.io import load
    p = tmp_path / "w.csv"
    p.write_bytes("t,offset\n1,0.1\n2,0.2\n".encode("utf-16"))
    with pytest.raises(ValueError, match="looks like UTF-16 text"):
        load(str(p))


def test_backtest_scores_the_source_asked_for_and_says_which(tmp_path, capsys):
    log = os.path.join(DATA, "chrony_measurements.log")
    from chronotick.io import load
    default = load(log).source
    src = default.rsplit("[", 1)[1].rstrip("]")
    assert main(["backtest", "--no-progress", "--models", "hold", log]) == 0
    assert f"note: source {src} of the log" in capsys.readouterr().out
    other = "127.0.0.2" if src != "127.0.0.2" else "127.0.0.1"
    assert main(["backtest", "--no-progress", "--models", "hold", "--source", other, log]) == 0
    assert f"note: source {other} of the log" in capsys.readouterr().out
    assert main(["backtest", "--no-progress", "--models", "hold", "--source", "10.9.9.9", log]) == 1
    assert "source '10.9.9.9' not in the log" in capsys.readouterr().err
    csv = _write(tmp_path / "p.csv", "t,offset\n" + "".join(f"{i},{0.001 * i}\n" for i in range(40)))
    assert main(["backtest", "--no-progress", "--models", "hold", "--source", "x", csv]) == 2
    assert "--source x: only a chrony measurements or statistics log" in capsys.readouterr().err


# -- the windowing's input check, now four measurements at a time (cpp/windowing/window.cpp) ------

@pytest.mark.parametrize("n", [2, 3, 5, 13, 2000])
def test_make_window_still_refuses_every_bad_measurement_wherever_it_is(n):
    from chronotick import _core
    t0 = 1.7e9 + 64.0 * np.arange(n)
    y0 = 1e-3 * np.sin(np.arange(n) / 7.0)
    _core.make_window(t0, y0, t0[-1], 64.0, 16)
    for i in sorted({0, 1, n // 2, n - 2, n - 1} - {-1}):
        for what, bad in (("y", np.nan), ("y", np.inf), ("y", -np.inf), ("t", np.nan), ("t", "dup")):
            t, y = t0.copy(), y0.copy()
            if what == "y":
                y[i] = bad
            elif bad == "dup":
                if i == 0:
                    continue
                t[i] = t[i - 1]
            else:
                t[i] = bad
            with pytest.raises(ValueError, match=rf"{what}\[{i}\] is not finite|t\[{i}\] <= t\[{i - 1}\]|"
                                                 rf"t\[{i}\] is not finite"):
                _core.make_window(t, y, t0[-1], 64.0, 16)


# -- found by the review of the session's diff ----------------------------------------------------

def test_the_run_repair_also_works_on_a_log_with_repeated_stamps(tmp_path):
    # chrony logs: keep_last_on_equal_time; a repeated stamp had restarted the run, so two corrupt
    # rows before such a log's pairs lost every row after them, and a duplicate counted as malformed
    from chronotick.io._common import RowCollector
    rows = RowCollector("x", strict=False, names=["v"], keep_last_on_equal_time=True)
    times = [100.0 + i for i in range(10)] + [9e9, 9e9 + 1]            # two corrupt times ahead
    times += [t for k in range(110, 160) for t in (float(k), float(k))]   # then every stamp twice
    for i, t in enumerate(times):
        rows.add(i + 1, t, {"v": float(i)})
    tr = rows.trace("v", "x")
    assert list(tr.times) == [100.0 + i for i in range(10)] + [float(k) for k in range(110, 160)]
    assert tr.skipped == {"malformed": 2, "duplicate_time": 50}
    assert tr.offsets[-1] == float(len(times) - 1)                       # the later of each pair kept


@pytest.mark.parametrize("line, scale", [("# phase data, unit: seconds", 1.0), ("# phase data (unit: s)", 1.0),
                                         ("# phase data, unit: μs", 1e-6), ("# phase data, unit: µs", 1e-6),
                                         ("# counter reference unit: 10MHz\n# phase data, unit: ns", 1e-9),
                                         ("# time error x [unit: s]", 1.0)])
def test_a_phase_files_unit_is_read_from_its_phase_data_line(tmp_path, line, scale):
    from chronotick.io import load_oscillator_phase
    tr = load_oscillator_phase(_write(tmp_path / "u.txt", f"{line}\n1e-9\n2e-9\n"))
    np.testing.assert_allclose(tr.offsets, [-1e-9 * scale, -2e-9 * scale])


@pytest.mark.parametrize("line, spacing", [("# data interval: 10 seconds", 10.0), ("# data interval 100 ms", 0.1),
                                           ("# data interval 10s", 10.0), ("# data interval unknown", 1.0)])
def test_a_phase_files_data_interval_in_other_spellings(tmp_path, line, spacing):
    from chronotick.io import load_oscillator_phase
    tr = load_oscillator_phase(_write(tmp_path / "i.txt", f"{line}\n1e-9\n2e-9\n"))
    assert tr.times[1] - tr.times[0] == pytest.approx(spacing)      # 10 seconds / 100 ms had been 1 s
    with pytest.raises(ValueError, match="unit of the data interval 'furlongs'"):
        load_oscillator_phase(_write(tmp_path / "f.txt", "# data interval 5 furlongs\n1e-9\n2e-9\n"))


@pytest.mark.parametrize("header, delay, extra", [("t,offset,delay,rtt", "delay", ["rtt"]),
                                                  ("t,offset,rtt,delay", "delay", ["rtt"]),
                                                  ("t,offset,delay,delay_s", "delay", ["delay_s"]),
                                                  ("t,offset,rtt,round_trip", "rtt", ["round_trip"])])
def test_plain_csv_takes_one_delay_column_and_keeps_the_others(tmp_path, header, delay, extra):
    from chronotick.io import load_plain_csv
    cols = header.split(",")
    p = _write(tmp_path / "d.csv", header + "\n1,0.001,0.02,0.03\n2,0.002,0.021,0.031\n")
    tr = load_plain_csv(p)                   # "header must name ... each once" before
    assert list(tr.delay) == ([0.02, 0.021] if cols.index(delay) == 2 else [0.03, 0.031])
    assert sorted(tr.extra) == extra and tr.uncertainty is None


def test_plain_csv_root_mean_square_error_is_still_the_positional_uncertainty(tmp_path):
    from chronotick.io import load_plain_csv
    tr = load_plain_csv(_write(tmp_path / "r.csv", "t,offset,root_mean_square_error\n1,0.001,0.02\n2,0,0.02\n"))
    assert list(tr.uncertainty) == [0.02, 0.02]


def test_demo_with_a_missing_model_file_exits_1_as_backtest(capsys, tmp_path):
    missing = str(tmp_path / "nope.onnx")
    assert main(["demo", "--model", missing]) == 1          # a file not there: run time (it was 2)
    assert "no such ONNX model file" in _one_line(capsys.readouterr().err, "chronotick demo: --model: ")
    assert main(["backtest", "--no-progress", str(tmp_path / "x.csv"), "--models", missing]) == 1
    capsys.readouterr()


# -- found by an AddressSanitizer / UBSan audit of the bindings (2026-12-05) ----------------------

def test_a_target_far_beyond_the_measurement_spacing_keeps_its_interval_growing():
    # the lead bucket 2^round(log2 steps) had shifted by >= 64 (undefined; on x86 a wrapped, small
    # bucket whose 80% interval was 1e9 times narrower than the nearer target's)
    import chronotick
    rng = np.random.default_rng(1)
    t = np.arange(64) * 1e-12
    y = np.cumsum(rng.normal(size=64)) * 1e-9
    for step_s in (1e6, 1e7, 1e8):
        fc = chronotick.predict(y, t, horizon=2, step_s=step_s, model="regression")
        lo, hi = fc.interval(0.8)
        width = np.asarray(hi) - np.asarray(lo)
        assert np.all(np.isfinite(width)) and width[1] >= width[0], (step_s, width)


def test_the_core_refuses_a_level_whose_quantile_is_infinite():
    from chronotick import _core
    t = np.arange(20.0)
    with pytest.raises(ValueError, match=r"levels\[0\] = 1e-20 is beyond \[1e-6, 1 - 1e-6\]"):
        _core.forecast("hold", t, np.zeros(20), None, t[-1] + np.arange(1.0, 3.0), np.array([1e-20, 0.5]),
                       _core.ModelParams())              # had read ok with -inf quantiles


def test_internal_helpers_refuse_what_had_been_undefined():
    from chronotick import _core
    q = np.sort(np.random.default_rng(0).normal(size=(3, 4)).astype(np.float32), axis=0)
    lo, hi, w, f = np.array([0, 1]), np.array([1, 2]), np.array([0.5, 0.5]), np.ones(2)
    with pytest.raises(ValueError, match=r"h\[0\] is not finite"):
        _core.grid_quantiles(q, np.array([np.nan]), 0.0, 1, lo, hi, w, 1 - w, f)
    row = _core.read_ahead(q[None], np.array([[0.0, 0.0, 0.0]]), None, None, np.array([0]), np.array([0.0]))
    assert np.all(np.isnan(row))                          # 0/0 steps ahead: no step to read
    x, out = np.ones((1, 4), np.float32), np.ones((1, 2, 2), np.float32)
    with pytest.raises(ValueError, match=r"exps\[0\] = -2147483648 is no exponent"):
        _core.pow2_unscale_rows(x, out, np.array([-2**31], np.int32))
    with pytest.raises(ValueError, match="growth_min must be in"):
        _core.grown_offsets(np.array([1.0, 2.0]), 1.0, 2.0, np.array([0.1, 0.9]), np.nan)
    with pytest.raises(ValueError, match="levels must be strictly increasing in"):
        _core.grown_offsets(np.array([1.0, 2.0]), 1.0, 2.0, np.array([np.nan, 0.5]), 0.5)
    t = np.arange(10.0)
    with pytest.raises(TypeError, match=r"window must be \(context: int, step_factor: float\), got \(3, 'x'\)"):
        _core.prefix_keys(t, t, np.array([5]), 4, (3, "x"))


def test_make_window_refuses_an_infinite_grid_span_before_allocating():
    import resource
    from chronotick import _core
    t = np.arange(10.0)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(ValueError, match=r"grid span \(context - 1\) x step_s = inf is not finite"):
        _core.make_window(t, t, 9.0, 1e308, 2**31 - 1)         # had allocated ~28 GB first
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 1_000_000   # (KiB) under 1 GB
