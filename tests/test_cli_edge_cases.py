"""Edge cases of the command line and its readers: a bad value or file is a one-line error naming it
and a non-zero exit (never a traceback, a hang, a silent success or invalid output).

shm.Client on a FIFO / with a NUL in the path, `chronotick status` before the first publish,
`chronotick serve`'s argument and config checks and its source choice, `chronotick backtest --json`
with non-finite metrics, `python -m chronotick.replay`'s errors, the shipped data file (leading
'#' comment lines) and Forecast.interval at a level within rounding of 1."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

_core = pytest.importorskip("chronotick._core")

from chronotick.cli import main  # noqa: E402

# Child processes import the same chronotick as this one (the working tree or an installed wheel).
_PKG_PARENT = str(Path(sys.modules["chronotick"].__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=_PKG_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
ENV.pop("CHRONOTICK_TRACEBACK", None)
needs_clock = pytest.mark.skipif(not hasattr(_core, "ClockPublisher"),
                                 reason="chronotick._core built without the clock bindings")


def _run(args, timeout=60):
    """A child `python ARGS`; a hang fails the test at `timeout` instead of hanging it."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=timeout, env=ENV)


def _one_line_error(err: str, prefix: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(prefix) and "Traceback" not in err, err
    return lines[0]


# -- 1, 2: shm.Client refuses what is not a clock file path, without hanging ----------------------

@needs_clock
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")
def test_client_and_status_refuse_a_fifo_instead_of_hanging(tmp_path):
    fifo = str(tmp_path / "fifo")
    os.mkfifo(fifo)
    r = _run(["-c", f"import chronotick; chronotick.Client({fifo!r})"], timeout=30)
    assert r.returncode != 0 and "ValueError" in r.stderr and "not a regular file" in r.stderr
    r = _run(["-m", "chronotick", "status", "--path", fifo], timeout=30)
    assert r.returncode == 3              # no clock to read there (1: UNKNOWN)
    assert fifo in _one_line_error(r.stderr, "chronotick status: ")
    from chronotick.shm import Client
    with pytest.raises(ValueError, match="not a regular file"):      # a directory neither
        Client(str(tmp_path))


@needs_clock
def test_client_refuses_a_path_with_a_null_byte(tmp_path):
    from chronotick.shm import Client
    path = str(tmp_path / "clock")
    with _core.ClockPublisher(path):
        assert Client(path).now() is not None
        with pytest.raises(ValueError, match="null byte"):          # not silently `path` itself
            Client(path + "\0garbage")


# -- 3: status before the first publish ------------------------------------------------------------

@needs_clock
def test_status_says_never_published_before_the_first_publish(tmp_path, capsys):
    path = str(tmp_path / "clock")
    with _core.ClockPublisher(path):
        assert main(["status", "--path", path]) == 1                 # UNKNOWN
    out = capsys.readouterr().out
    assert "never published" in out and "s ago" not in out


# -- 4: serve's arguments and config ---------------------------------------------------------------

@pytest.mark.parametrize("extra, bad", [
    (["--duration", "inf"], "inf"),
    (["--duration", "-1"], "-1"),
    (["--duration", "nan"], "nan"),
    (["--metrics-port", "70000"], "70000"),
    (["--metrics-port", "-1"], "-1"),
])
def test_serve_refuses_bad_arguments_before_starting(tmp_path, capsys, extra, bad):
    clock = tmp_path / "clock"
    argv = ["serve", "--servers", "127.0.0.1:9", "--path", str(clock), *extra]
    if "--duration" not in extra:
        argv += ["--duration", "0.2"]
    assert main(argv) == 2                # an option's bad value, as argparse's refusals
    line = _one_line_error(capsys.readouterr().err, "chronotick serve: ")
    assert extra[0] in line and f"got {bad}" in line
    assert not clock.exists()                                       # refused before anything started


@pytest.mark.parametrize("text, pattern", [
    ("servers: 5\n", "servers: must be a host[:port] string or a list of them, got 5"),
    ("servers: [5]\n", "got [5]"),
    ("chrony: yes please\n", "chrony: must be true or false, got 'yes please'"),
    (": : :\n", "not valid YAML"),
    ('servers: ["a:1"\n', "not valid YAML"),
])
def test_serve_refuses_a_bad_config_in_one_line(tmp_path, capsys, text, pattern):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    assert main(["serve", "--config", str(cfg), "--path", str(tmp_path / "clock"), "--duration", "0.2"]) == 1
    line = _one_line_error(capsys.readouterr().err, "chronotick serve: ")
    assert pattern in line


# -- 5, 6: serve's source: --servers overrides `chrony: true`; a string is one server -------------

class _Built(Exception):
    pass


@pytest.fixture
def built_source(monkeypatch):
    """Which source class serve builds, with which arguments (it stops right there)."""
    import chronotick.sources as sources
    seen = []

    def fake(name):
        def build(*args, **kwargs):
            seen.append((name, args))
            raise _Built
        return build
    monkeypatch.setattr(sources, "ChronySource", fake("ChronySource"))
    monkeypatch.setattr(sources, "NTPSource", fake("NTPSource"))
    return seen


@pytest.mark.parametrize("config, argv, expected", [
    ('servers: ["127.0.0.1:9"]\nchrony: true\n', ["--servers", "127.0.0.1:9"], ("NTPSource", (["127.0.0.1:9"],))),
    ("chrony: true\n", ["--servers", "127.0.0.1:9,127.0.0.1:10"],
     ("NTPSource", (["127.0.0.1:9", "127.0.0.1:10"],))),
    ('servers: "127.0.0.1:9"\n', [], ("NTPSource", (["127.0.0.1:9"],))),
    ("chrony: true\n", [], ("ChronySource", ())),
])
def test_serve_builds_the_source_it_is_asked_for(tmp_path, built_source, config, argv, expected):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(config)
    with pytest.raises(_Built):
        main(["serve", "--config", str(cfg), "--path", str(tmp_path / "clock"), *argv])
    assert built_source == [expected]


@pytest.mark.parametrize("config, argv, says", [
    ("chrony: true\n", ["--servers", "127.0.0.1:9"], "(servers: 127.0.0.1:9)"),
    ('servers: "127.0.0.1:9"\n', [], "(servers: 127.0.0.1:9)"),
    ('servers: ["127.0.0.1:9"]\nchrony: true\n', [], "(source: chronyc)"),
])
def test_serve_names_the_source_it_uses(tmp_path, config, argv, says):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(config)
    r = _run(["-m", "chronotick", "serve", "--config", str(cfg), "--path", str(tmp_path / "clock"),
              "--duration", "0.2", *argv])
    # exit 1 where every poll of the run failed (since 2026-12-06: chronyc without a daemon here
    # fails at once), else 0
    assert r.returncode == 0 or (r.returncode == 1 and "every poll failed" in r.stderr), (r.returncode, r.stderr)
    assert says in r.stdout.splitlines()[0], r.stdout


# -- 7: backtest --json is valid JSON --------------------------------------------------------------

def _homelab_without_comments(tmp_path) -> str:
    from chronotick.data import HOMELAB_9H
    out = tmp_path / "homelab.csv"
    with open(HOMELAB_9H) as f:
        out.write_text("".join(line for line in f if not line.startswith("#")))
    return str(out)


def test_backtest_json_writes_null_not_nan(tmp_path, capsys):
    csv = _homelab_without_comments(tmp_path)     # its recorded prototype prediction has no interval
    out = tmp_path / "m.json"
    assert main(["backtest", "--no-progress", csv, "--models", "hold", "--json", str(out)]) == 0

    def refuse(token):
        raise AssertionError(f"invalid JSON token {token}")
    data = json.loads(out.read_text(), parse_constant=refuse)
    proto = data["homelab"]["metrics"]["prototype (recorded)"]
    assert proto["coverage"] is None and proto["width"] is None and proto["mae"] > 0


def test_backtest_refuses_an_output_that_is_an_input_or_another_output(tmp_path, capsys):
    # `backtest trace.csv --json trace.csv` had replaced the trace with its results; `--json o
    # --markdown o` kept one of the two (CLI audit, 2026-12-04): refused before the run
    csv = _homelab_without_comments(tmp_path)
    before = Path(csv).read_text()
    for extra in (["--json", csv], ["--markdown", csv], ["--plot", csv],
                  ["--json", str(tmp_path / "o"), "--markdown", str(tmp_path / "o")]):
        assert main(["backtest", "--no-progress", csv, "--models", "hold", *extra]) != 0
        err = capsys.readouterr().err
        # (--plot on the .csv is refused first as no .png name: refused either way)
        assert any(m in err for m in ("is one of the input traces", "give each its own file", "PNG image")), err
    assert Path(csv).read_text() == before and not (tmp_path / "o").exists()


def test_backtest_refuses_an_empty_output_path_and_a_plot_not_named_png(tmp_path, capsys):
    # --json "" had been taken and nothing written; --plot out.pdf had held PNG data (CLI audit)
    csv = _homelab_without_comments(tmp_path)
    for extra, msg in ((["--json", ""], "--json: the path is empty"), (["--plot", " "], "--plot: the path is empty"),
                       (["--plot", str(tmp_path / "out.pdf")], "the plot is written as a PNG image")):
        assert main(["backtest", "--no-progress", csv, "--models", "hold", *extra]) != 0
        assert msg in capsys.readouterr().err
    assert not (tmp_path / "out.pdf").exists()


def test_json_safe_replaces_every_non_finite_number():
    from chronotick.cli.backtest import _json_safe
    x = {"a": [np.float64("nan"), float("inf"), -np.inf, np.int64(3), 1.5], "b": np.array([np.nan, 2.0])}
    assert _json_safe(x) == {"a": [None, None, None, 3, 1.5], "b": [None, 2.0]}
    json.dumps(_json_safe(x), allow_nan=False)


# -- 8: python -m chronotick.replay ----------------------------------------------------------------

def test_replay_without_arguments_is_a_usage_error(capsys):
    from chronotick.replay import main as replay_main
    with pytest.raises(SystemExit) as e:
        replay_main([])
    assert e.value.code == 2 and "nothing to replay" in capsys.readouterr().err


def test_replay_bad_input_is_one_line(tmp_path, capsys, monkeypatch):
    from chronotick.replay import main as replay_main
    monkeypatch.delenv("CHRONOTICK_TRACEBACK", raising=False)
    short = tmp_path / "short.csv"
    short.write_text("t,offset\n" + "".join(f"{64.0 * i},{1e-4 * i}\n" for i in range(6)))
    for argv, pattern in [([str(tmp_path / "missing.csv")], "no such file"),
                          ([str(tmp_path)], "directory"),
                          (["--sim", "nope"], "unknown preset 'nope'"),
                          ([str(short)], f"{short}: 6 measurements, too short to replay: needs at least 21")]:
        assert replay_main(argv) == 1, argv
        line = _one_line_error(capsys.readouterr().err, "python -m chronotick.replay: ")
        assert pattern in line


def test_replay_as_a_module_exits_non_zero(tmp_path):
    r = _run(["-m", "chronotick.replay", str(tmp_path / "missing.csv")])
    assert r.returncode == 1 and "Traceback" not in r.stderr and "no such file" in r.stderr


# -- 9: the shipped data file (leading '#' comment lines) ------------------------------------------

def test_shipped_data_file_loads_as_chronotick_csv(tmp_path):
    import chronotick.io as cio
    from chronotick.data import HOMELAB_9H, homelab_trace
    assert cio.sniff_format(HOMELAB_9H) == "chronotick_csv"
    ref = homelab_trace()
    for tr in (cio.load(HOMELAB_9H), cio.load(HOMELAB_9H, format="chronotick_csv")):
        assert len(tr) == len(ref) == 335
        np.testing.assert_array_equal(tr.times, ref.times)
        np.testing.assert_allclose(tr.offsets, ref.offsets)
        np.testing.assert_allclose(tr.delay, ref.delay)
        np.testing.assert_allclose(tr.extra["prototype_offset"], ref.extra["prototype_offset"])
    # line numbers in errors still count the comment lines
    bad = tmp_path / "bad.csv"
    with open(HOMELAB_9H) as f:
        head = f.readlines()[:8]
    bad.write_text("".join(head) + "1760560833.9,abc,1,1\n")
    with pytest.raises(ValueError, match=r"bad\.csv:9: column 'ntp_offset_ms' is not a number"):
        cio.load(bad)


def test_backtest_of_the_shipped_data_file(capsys):
    from chronotick.data import HOMELAB_9H
    assert main(["backtest", "--no-progress", HOMELAB_9H, "--models", "hold"]) == 0
    assert "homelab_9h_ntp" in capsys.readouterr().out


def test_backtest_names_an_unreadable_file_once(tmp_path, capsys):
    odd = tmp_path / "odd.csv"
    odd.write_text("a,b,c,d,e\nx,y,z,w,v\n")
    assert main(["backtest", "--no-progress", str(odd), "--models", "hold"]) == 1
    line = _one_line_error(capsys.readouterr().err, "chronotick backtest: ")
    assert line.count(str(odd)) == 1 and "cannot tell the format" in line


# -- 10: Forecast.interval at a level within rounding of 1 -----------------------------------------

def test_interval_names_a_level_too_close_to_one():
    import chronotick
    rng = np.random.default_rng(0)
    fc = chronotick.predict(rng.normal(0, 1e-3, 40), np.arange(40.0) * 16, horizon=2)
    with pytest.raises(ValueError, match=r"level 0\.9999999999999999 is too close to 1"):
        fc.interval(0.9999999999999999)
    lo, hi = fc.interval(1 - 1e-15)                 # the closest accepted: finite, ordered
    assert np.all(np.isfinite(lo)) and np.all(lo < hi)


def test_the_core_refuses_a_path_with_a_null_byte(tmp_path):
    # The C calls would cut the path at the NUL and open another file.
    from chronotick import _core
    for cls in (_core.ClockPublisher, _core.ClockReader):
        with pytest.raises(ValueError, match="embedded null byte"):
            cls(str(tmp_path / "clock") + "\0other")


def test_serve_refuses_an_empty_path(tmp_path, capsys, monkeypatch):
    # '' had meant the default /run/chronotick/clock (created there, rc 0)
    monkeypatch.chdir(tmp_path)
    assert main(["serve", "--servers", "127.0.0.1:9", "--path", "", "--duration", "0.2"]) == 2
    line = _one_line_error(capsys.readouterr().err, "chronotick serve: ")
    assert "--path must name a file, got ''" in line


def test_serve_with_its_metrics_port_in_use_names_it_and_publishes_nothing(tmp_path, capsys):
    pytest.importorskip("prometheus_client")
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    port = s.getsockname()[1]
    clock = tmp_path / "clock"
    try:
        assert main(["serve", "--servers", "127.0.0.1:9", "--path", str(clock), "--metrics-port", str(port),
                     "--duration", "0.2"]) == 1
    finally:
        s.close()
    line = _one_line_error(capsys.readouterr().err, "chronotick serve: ")
    assert f"--metrics-port {port} on 127.0.0.1:" in line
    assert not clock.exists()          # the clock file had been created (and left UNKNOWN) before the bind


# ---- found by an audit of the CLI (2026-12-05) ------------------------------------------------

def _trace_csv(path, n=40, seed=0):
    rng = np.random.default_rng(seed)
    t = 1.7e9 + 64.0 * np.arange(n)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("timestamp,offset\n" + "".join(f"{a:.17g},{b:.17g}\n" for a, b in zip(t, rng.normal(0, 1e-3, n))))
    return str(path)


def test_backtest_refuses_two_traces_of_one_name(tmp_path, capsys):
    # results are keyed by the file name: the second had overwritten the first in the JSON
    a, b = _trace_csv(tmp_path / "A" / "x.csv"), _trace_csv(tmp_path / "B" / "x.csv", seed=1)
    out = tmp_path / "r.json"
    assert main(["backtest", "--no-progress", a, b, "--format", "plain_csv", "--models", "hold",
                 "--json", str(out)]) == 1
    line = _one_line_error(capsys.readouterr().err, "chronotick backtest:")
    assert "are both named 'x'" in line and not out.exists()


def test_backtest_plot_without_matplotlib_is_one_line_before_any_work(tmp_path, capsys, monkeypatch):
    import chronotick.plot as plot

    def missing():
        raise ImportError("chronotick.plot needs matplotlib: pip install chronotick[plot]")
    monkeypatch.setattr(plot, "_matplotlib", missing)
    a = _trace_csv(tmp_path / "a.csv")
    assert main(["backtest", "--no-progress", a, "--format", "plain_csv", "--models", "hold",
                 "--plot", str(tmp_path / "p.png")]) == 1
    captured = capsys.readouterr()
    _one_line_error(captured.err, "chronotick backtest: chronotick.plot needs matplotlib")
    assert "MAE" not in captured.out          # no trace was run


def test_a_load_error_shows_its_traceback_when_asked(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    r = subprocess.run([sys.executable, "-m", "chronotick", "backtest", "--no-progress", str(empty)],
                       capture_output=True, text=True, timeout=60, env=dict(ENV, CHRONOTICK_TRACEBACK="1"))
    assert r.returncode != 0 and "Traceback" in r.stderr


def test_ctrl_c_is_one_line(monkeypatch, capsys):
    import chronotick.cli.demo as demo

    def interrupted(args):
        raise KeyboardInterrupt
    monkeypatch.setattr(demo, "run", interrupted)
    assert main(["demo"]) == 130
    assert _one_line_error(capsys.readouterr().err, "chronotick demo:") == "chronotick demo: interrupted"


# ---- found by audits of the CLI and the docs (2026-12-06) ------------------------------------------

def test_backtest_checks_each_traces_plot_file_before_running(tmp_path, capsys):
    # with several traces --plot is a stem; a folder named like one trace's plot had been found only
    # after every backtest ran, and the --json was lost
    a, b = _trace_csv(tmp_path / "a.csv"), _trace_csv(tmp_path / "b.csv", seed=1)
    (tmp_path / "P").mkdir()
    (tmp_path / "P" / "out-b.png").mkdir()
    out = tmp_path / "r.json"
    assert main(["backtest", "--no-progress", a, b, "--format", "plain_csv", "--models", "hold",
                 "--plot", str(tmp_path / "P" / "out.png"), "--json", str(out)]) == 1
    captured = capsys.readouterr()
    line = _one_line_error(captured.err, "chronotick backtest: --plot ")
    assert "out-b.png" in line, line
    assert "MAE" not in captured.out and not (tmp_path / "P" / "out-a.png").exists()   # nothing run


def test_simulate_names_a_dt_longer_than_the_run_by_its_option(capsys):
    assert main(["simulate", "--hours", "0.01", "--dt", "100", "--out", "-"]) == 2
    line = _one_line_error(capsys.readouterr().err, "chronotick simulate: ")
    assert line == "chronotick simulate: --dt must be at most --hours in seconds (36), got 100.0", line


@pytest.mark.parametrize("key", ["stale_after_s", "holdover_after_s"])
def test_a_clock_duration_given_as_a_string_is_a_config_error(key):
    # YAML reads `1e3` (no dot) as a string: '>' between str and float had raised a bare TypeError
    from chronotick.clock import ClockConfig
    from chronotick.errors import ConfigError
    for v in ("10", "1e3"):
        with pytest.raises(ConfigError, match=rf"clock.{key}: must be a positive number, got '{v}'"):
            ClockConfig.from_dict({key: v})


@pytest.mark.parametrize("argv, code, line", [
    (["simulate", "--preset", "nosuch", "--out", "-"], 2, "chronotick simulate: unknown preset 'nosuch'"),
    (["status", "--path", "/nonexistent/clock"], 3, "chronotick status: "),
    (["backtest", "--no-progress", "/nonexistent.csv"], 1, "chronotick backtest: "),
])
def test_chronotick_traceback_keeps_the_exit_code_and_the_line(argv, code, line):
    # CHRONOTICK_TRACEBACK=1 had re-raised: every failure exited 1 (status with no clock read as
    # UNKNOWN) and the one-line message was not printed
    r = subprocess.run([sys.executable, "-m", "chronotick", *argv], capture_output=True, text=True, timeout=60,
                       env=dict(ENV, CHRONOTICK_TRACEBACK="1"))
    assert r.returncode == code, (r.returncode, r.stderr)
    assert r.stderr.startswith("Traceback (most recent call last):"), r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith(line), r.stderr


def test_an_unknown_option_after_a_command_shows_that_commands_usage(capsys):
    # the top level's usage ("chronotick [-h] COMMAND ...") had named neither the command nor its options
    with pytest.raises(SystemExit) as e:
        main(["serve", "--poll-interval", "0"])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("usage: chronotick serve ") and \
        err.strip().endswith("chronotick serve: error: unrecognized arguments: --poll-interval 0"), err
    with pytest.raises(SystemExit) as e:
        main(["--bogus"])
    assert e.value.code == 2 and "chronotick: error: unrecognized arguments: --bogus" in capsys.readouterr().err


def test_forecast_at_caps_the_number_of_times_as_predict_caps_its_horizon():
    import chronotick
    with chronotick.Engine({"short_term": {"models": ["hold"]}}) as eng:
        for i in range(5):
            eng.observe(1.7e9 + 64.0 * i, 1e-3)
        with pytest.raises(ValueError, match=r"times has 1000001 entries: at most 1000000 forecast times per call"):
            eng.forecast_at(1.7e9 + 1e3 + np.arange(1_000_001, dtype=float))


def test_a_clock_takes_its_shared_file_path_as_bytes_as_the_client_does(tmp_path):
    import chronotick
    from chronotick.shm import Client
    p = tmp_path / "clock"
    c = chronotick.Clock(lambda: None, shm_path=os.fsencode(str(p)))      # a ValueError before
    try:
        assert Client(os.fsencode(str(p))).now().status.name == "UNKNOWN"
    finally:
        c.stop()
