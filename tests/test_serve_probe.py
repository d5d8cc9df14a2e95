"""`chronotick serve` as a long-lived process: what ends it and how, what it leaves behind.

A stdout nobody reads any more (`| head -2`) had turned a SIGTERM into exit 1 ("Broken pipe"); a
signal during its set-up had ended it with a KeyboardInterrupt traceback (SIGINT) or -15 (SIGTERM);
run in-process it left its signal handlers and its metrics port behind; the engine's config errors
did not say they were in `engine:`; a clock file removed or taken over under a running serve left it
publishing into a file nobody could open."""
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

_core = pytest.importorskip("chronotick._core")
if not hasattr(_core, "ClockPublisher"):
    pytest.skip("chronotick._core built without the clock bindings", allow_module_level=True)

from chronotick.cli import main  # noqa: E402
from chronotick.shm import Client, Status  # noqa: E402
from chronotick.testing.ntp_server import NTPTestServer  # noqa: E402

_PKG_PARENT = str(Path(sys.modules["chronotick"].__file__).resolve().parents[1])
ENV = dict(os.environ, PYTHONPATH=_PKG_PARENT + os.pathsep + os.environ.get("PYTHONPATH", ""))
ENV.pop("CHRONOTICK_TRACEBACK", None)
FAST = ("burst: 1\ntimeout_s: 0.3\nmin_poll_s: 0\n"   # a test server of our own: no RFC floor
        "clock: {poll_interval_s: 0.2, warmup_poll_interval_s: 0.1, min_measurements: 3}\n")


@pytest.fixture
def ntp():
    with NTPTestServer(offset_s=0.040, delay_s=0.002) as srv:
        yield srv


def _serve(tmp_path, ntp, *extra, **popen):
    cfg = tmp_path / "clock.yaml"
    cfg.write_text(FAST)
    kw = dict(stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    kw.update(popen)
    return subprocess.Popen([sys.executable, "-m", "chronotick", "serve", "--config", str(cfg), "--path",
                             str(tmp_path / "clock"), "--servers", ntp.address, *extra], **kw)


def _until_synchronized(path, timeout=15.0) -> Client:
    deadline = time.monotonic() + timeout
    c = None
    while time.monotonic() < deadline:
        try:
            c = c or Client(path)
            if c.now().status is Status.SYNCHRONIZED:
                return c
        except (OSError, ValueError):
            pass
        time.sleep(0.05)
    raise AssertionError(f"{path} not SYNCHRONIZED within {timeout} s")


def _reap(proc):
    if proc.poll() is None:
        proc.kill()
    proc.communicate(timeout=10)


def test_sigterm_after_the_stdout_reader_went_away_exits_0_and_retires_the_file(tmp_path, ntp):
    # `chronotick serve ... | head -2`: the "stopped:" line hit a closed pipe, exit 1 "Broken pipe"
    r, w = os.pipe()
    proc = _serve(tmp_path, ntp, "--metrics-port", "0", stdout=w)
    os.close(w)
    try:
        with os.fdopen(r) as out:
            assert "publishing to" in out.readline()
            assert "metrics: http://" in out.readline()
        c = _until_synchronized(tmp_path / "clock")
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=15)
        assert proc.returncode == 0, err
        assert "Broken pipe" not in err and "Traceback" not in err, err
        assert c.now().status is Status.UNKNOWN
    finally:
        _reap(proc)


CHILD = textwrap.dedent("""
    import os, signal, sys
    import chronotick.engine
    sig = getattr(signal, sys.argv[1])
    Engine = chronotick.engine.Engine

    class SignalledDuringSetUp(Engine):          # the operator's Ctrl-C / SIGTERM during serve's set-up
        def __init__(self, *a, **k):
            os.kill(os.getpid(), sig)
            super().__init__(*a, **k)

    chronotick.engine.Engine = SignalledDuringSetUp
    from chronotick.cli import main
    sys.exit(main(sys.argv[2:]))
""")


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_a_signal_during_the_set_up_ends_serve_cleanly(tmp_path, sig):
    # was: SIGINT a KeyboardInterrupt traceback (rc 1 / -2), SIGTERM rc -15
    child = tmp_path / "child.py"
    child.write_text(CHILD)
    path = tmp_path / "clock"
    r = subprocess.run([sys.executable, str(child), sig, "serve", "--servers", "127.0.0.1:9", "--path", str(path)],
                       capture_output=True, text=True, env=ENV, timeout=30)
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr and "KeyboardInterrupt" not in r.stderr, r.stderr
    assert "stopped: status UNKNOWN" in r.stdout, r.stdout
    if path.exists():                      # created, then retired: never SYNCHRONIZED for its readers
        assert Client(path).now().status is Status.UNKNOWN


def test_in_process_serve_gives_back_the_signal_handlers_and_the_metrics_port(tmp_path, capsys):
    pytest.importorskip("prometheus_client")
    before = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    assert main(["serve", "--servers", "127.0.0.1:9", "--path", str(tmp_path / "clock"), "--duration", "0.3",
                 "--metrics-port", str(port)]) == 0
    # the handlers had stayed a lambda setting a dead event: Ctrl-C no longer interrupted the caller
    assert {s: signal.getsignal(s) for s in before} == before
    # the metrics server had been shut down but not closed: its port stayed bound
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
    finally:
        s.close()


@pytest.mark.parametrize("text, says", [
    ("engine: {bogus: 1}\n", "engine: bogus: unknown section"),
    ("engine: 5\n", "engine: config must be"),
])
def test_engine_config_errors_name_the_engine_section(tmp_path, capsys, text, says):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    assert main(["serve", "--config", str(cfg), "--servers", "127.0.0.1:9", "--path", str(tmp_path / "clock"),
                 "--duration", "0.2"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"chronotick serve: {says}"), err


def test_a_removed_clock_file_is_published_again(tmp_path, ntp):
    # was: serve went on publishing into the removed file; new readers found nothing for ever
    proc = _serve(tmp_path, ntp, "--duration", "15")
    path = tmp_path / "clock"
    try:
        _until_synchronized(path)
        os.unlink(path)
        c = _until_synchronized(path, timeout=5)
        assert c.writer_pid == proc.pid
        assert proc.poll() is None
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=15)
    assert proc.returncode == 0, err
    assert "was removed; published it again" in err, err


def test_a_serve_whose_file_another_publisher_took_over_exits_1_naming_it(tmp_path, ntp):
    # Two publishers starting at the same instant can both pass the core's "another process is
    # publishing" check and both rename their file onto the path: the first went on publishing
    # into a file nobody could open (exit 0, metrics saying SYNCHRONIZED). Here the other one
    # takes the path over by hand.
    proc = _serve(tmp_path, ntp, "--duration", "15")
    path = tmp_path / "clock"
    try:
        _until_synchronized(path)
        other = _core.ClockPublisher(str(tmp_path / "other"))
        os.rename(tmp_path / "other", path)         # a live publisher now holds the path
        try:
            out, err = proc.communicate(timeout=10)
        finally:
            other.close()
    finally:
        _reap(proc)
    assert proc.returncode == 1, (out, err)
    assert "Traceback" not in err, err
    assert re.search(r"clock was replaced by another file while serving.*another process is publishing", err), err


def test_an_engine_yaml_named_by_a_relative_path_is_read_beside_the_config(tmp_path, capsys, monkeypatch):
    """`engine: engine.yaml` was opened from the current directory, so a serve started by a
    service manager elsewhere failed (or read another file)."""
    conf = tmp_path / "etc"
    conf.mkdir()
    (conf / "engine.yaml").write_text("engine: {bogus_key: 1}\n")      # a bad key: proves which file was read
    (conf / "clock.yaml").write_text("engine: engine.yaml\n")
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert main(["serve", "--config", str(conf / "clock.yaml"), "--servers", "127.0.0.1:9",
                 "--path", str(tmp_path / "clock"), "--duration", "0.2"]) == 1
    err = capsys.readouterr().err
    assert "bogus_key" in err and "no such config file" not in err, err


def test_a_config_file_that_is_not_utf8_is_named(tmp_path, capsys):
    """Audit finding (session 23): the error was the codec's message alone, without the file."""
    cfg = tmp_path / "c.yaml"
    cfg.write_bytes(b"poll_interval_s: 64\n\xff\xfe\n")
    assert main(["serve", "--config", str(cfg), "--servers", "127.0.0.1:9", "--path", str(tmp_path / "clock"),
                 "--duration", "0.2"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"chronotick serve: {cfg}: not UTF-8 text"), err


def test_the_metrics_url_brackets_an_ipv6_address():
    from chronotick.cli.serve import _metrics_url
    assert _metrics_url("::1", 9100) == "http://[::1]:9100/metrics"
    assert _metrics_url("127.0.0.1", 9100) == "http://127.0.0.1:9100/metrics"


def test_why_polls_fail_is_said_while_serving_and_at_the_end(tmp_path, capsys):
    # was: nothing until the last line, "stopped: status UNKNOWN, 0 measurements, 4 failed polls"
    # (a server that does not answer or resolve: the reason only in Clock.health())
    cfg = tmp_path / "clock.yaml"
    cfg.write_text(FAST)
    # every poll failed: exit 1 since 2026-12-06 (an audit: exit 0 hid an unreachable server from
    # scripts and CI), with the reason on stderr
    assert main(["serve", "--config", str(cfg), "--servers", "127.0.0.1:9", "--path", str(tmp_path / "clock"),
                 "--duration", "2.5"]) == 1
    out, err = capsys.readouterr()
    assert err.strip().splitlines()[-1].startswith("chronotick serve: no measurement in 2.5 s: every poll failed; "
                                                    "last error: NTPError"), err
    said = [ln for ln in err.splitlines()[:-1] if "no usable NTP reply" in ln]
    assert said and "127.0.0.1:9" in said[0] and "failed polls" in said[0], err
    assert len(said) == len(set(said)) == 1, err           # the same reason once, not each second
    last = out.strip().splitlines()[-1]
    assert last.startswith("stopped: status UNKNOWN, 0 measurements, ") and "; last error: NTPError" in last, out


@pytest.mark.parametrize("extra,message", [
    ("clock: {poll_interval_s: 1}\n",
     "clock.poll_interval_s: 1 s would poll the NTP servers more often than min_poll_s 16.0 s (RFC 4330 section 10"),
    ("min_poll_s: 30\nclock: {poll_interval_s: 20}\n", "clock.poll_interval_s: 20 s would poll the NTP servers "
                                                          "more often than min_poll_s 30 s"),
    ("min_poll_s: -1\n", "min_poll_s: must be a number of seconds >= 0, got -1"),
    ("min_poll_s: .inf\n", "min_poll_s: must be a number of seconds >= 0, got inf"),
])
def test_serve_refuses_to_poll_ntp_servers_faster_than_the_rfc_allows(tmp_path, extra, message):
    # Found by an audit (2026-12-06): clock.poll_interval_s down to 1 ms was taken, a healthy
    # server got 10 requests in 10 s (RFC 4330 section 10: never more often than every 15 s)
    cfg = tmp_path / "clock.yaml"
    cfg.write_text("servers: ['127.0.0.1:9']\n" + extra)
    r = subprocess.run([sys.executable, "-m", "chronotick", "serve", "--config", str(cfg), "--path",
                        str(tmp_path / "clock"), "--duration", "0.1"], env=ENV, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 1 and message in r.stderr, (r.returncode, r.stderr)
    assert not (tmp_path / "clock").exists()


def test_serve_names_a_bad_servers_option_as_a_usage_error(tmp_path, capsys):
    # an audit (2026-12-06): exit 1 naming `servers:` (read as the config file's key); an option's
    # value out of range is exit 2 naming the option, as --metrics-port 70000
    assert main(["serve", "--servers", "127.0.0.1:99999", "--path", str(tmp_path / "clock"), "--duration", "1"]) == 2
    err = capsys.readouterr().err
    assert "chronotick serve: --servers: invalid host or port (1..65535) in '127.0.0.1:99999'" in err, err
    assert not (tmp_path / "clock").exists()


@pytest.mark.parametrize("text", ["[]\n", "0\n", "false\n"])
def test_serve_refuses_a_config_that_is_no_mapping_even_an_empty_one(tmp_path, capsys, text):
    # `yaml.safe_load(f) or {}` had taken [], 0 and false as an empty config
    cfg = tmp_path / "c.yaml"
    cfg.write_text(text)
    assert main(["serve", "--config", str(cfg), "--path", str(tmp_path / "clock"), "--duration", "1"]) == 1
    assert f"chronotick serve: {cfg}: must be a mapping" in capsys.readouterr().err


def test_serve_reads_a_config_from_a_pipe(tmp_path):
    # --config <(...) or /dev/stdin had been "no such config file"
    r = subprocess.run([sys.executable, "-m", "chronotick", "serve", "--config", "/dev/stdin", "--path",
                        str(tmp_path / "clock"), "--duration", "0.1"], env=ENV, capture_output=True, text=True,
                       input="bogus_key: 1\n", timeout=60)
    assert r.returncode == 1 and "bogus_key: unknown key" in r.stderr, (r.returncode, r.stderr)


def test_serve_names_a_path_whose_folder_is_a_file(tmp_path, capsys):
    (tmp_path / "notadir").write_text("x")
    path = tmp_path / "notadir" / "clock"
    assert main(["serve", "--servers", "127.0.0.1:9", "--path", str(path), "--duration", "1"]) == 1
    err = capsys.readouterr().err
    assert f"--path {path}: {tmp_path / 'notadir'} is not a directory" in err, err     # was "[Errno 17] File exists"


def test_serve_names_the_engine_key_of_a_missing_engine_file(tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("servers: ['127.0.0.1:9']\nengine: missing.yaml\n")
    assert main(["serve", "--config", str(cfg), "--path", str(tmp_path / "clock"), "--duration", "1"]) == 1
    err = capsys.readouterr().err
    assert f"chronotick serve: engine: no such config file: {tmp_path / 'missing.yaml'}" in err, err


def test_a_second_signal_exits_serve_at_once(tmp_path):
    # an audit (2026-12-06): a second Ctrl-C during the first one's stop (which waits up to 5 s for
    # a poll in progress) was ignored
    import signal
    import time
    from chronotick.testing.ntp_server import NTPTestServer
    with NTPTestServer() as srv:
        srv.queue(*["drop"] * 20)                # no reply: each poll waits for its 6 s timeout
        cfg = tmp_path / "c.yaml"
        cfg.write_text(f"servers: ['127.0.0.1:{srv.port}']\nmin_poll_s: 0\ntimeout_s: 6\n")
        p = subprocess.Popen([sys.executable, "-m", "chronotick", "serve", "--config", str(cfg), "--path",
                              str(tmp_path / "clock")], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True)
        assert "publishing to" in p.stdout.readline()
        time.sleep(0.5)                          # the first poll waits for the server
        p.send_signal(signal.SIGINT)
        time.sleep(0.3)
        t0 = time.monotonic()
        p.send_signal(signal.SIGINT)
        rc = p.wait(timeout=30)
        took = time.monotonic() - t0
        err = p.stderr.read()
    assert rc == 128 + signal.SIGINT and took < 2.0, (rc, took, err)
    assert "SIGINT again: exiting without waiting" in err, err
