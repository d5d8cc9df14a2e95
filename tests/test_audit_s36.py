"""Found by the audits of 2026-12-06 (session 36): chronyc logs in `local` mode, a relative chronyd
socket, `demo | head`, plots of ms/ns times and of a constant truth, the ASCII plot at large values,
and the note of a dropped temperature member. Each test failed on the code before its fix."""
import os
import subprocess
import sys

import numpy as np
import pytest

import chronotick

from conftest import child_env

# the chronotick this process imported (the working tree's dev build, or the installed package: a
# fresh clone's python/ holds no compiled core)
ENV = child_env()
ENV.pop("CHRONOTICK_TRACEBACK", None)


def test_a_chronyc_log_in_local_mode_is_skipped_as_the_live_source_refuses_it(tmp_path):
    # chronyd serving its own clock (reference ID 7F7F0101) had loaded as offset 0 +- 0, and
    # predict(uncertainty=) then refused the zero uncertainty
    from chronotick.io import load_chronyc_tracking
    lines = [f"{1.7e9 + 64 * i:.3f},C0A80001,192.168.0.1,2,{1.7e9 + 64 * i - 10:.3f},0.000{i}12000,0.000004,"
             f"0.00001,-0.368,0.037,0.1,0.015,0.0016,64.0,Normal" for i in range(6)]
    lines += [f"{1.7e9 + 64 * i:.3f},7F7F0101,,10,{1.7e9 + 64 * i:.3f},0.000000000,0.000000000,0.000000000,"
              f"1.837,0.000,0.000,0.0,0.0,0.0,Normal" for i in range(6, 9)]
    p = tmp_path / "tracking.csv"
    p.write_text("\n".join(lines) + "\n")
    tr = load_chronyc_tracking(str(p))
    assert len(tr) == 6 and tr.skipped == {"local_mode": 3}, (len(tr), tr.skipped)
    assert np.all(tr.uncertainty > 0)
    chronotick.predict(tr.offsets, tr.times, uncertainty=tr.uncertainty, horizon=1, model="regression")


def test_a_relative_chronyd_socket_is_made_absolute(tmp_path, monkeypatch):
    # chronyc -h takes a Unix socket only as an absolute path: "chronyd.sock" was a host name
    from chronotick.sources import ChronySource
    monkeypatch.chdir(tmp_path)
    (tmp_path / "chronyd.sock").touch()
    assert ChronySource(socket="chronyd.sock").socket == str(tmp_path / "chronyd.sock")
    assert ChronySource(socket="run/chronyd.sock").socket == str(tmp_path / "run" / "chronyd.sock")
    assert ChronySource(socket="ntp.example.org").socket == "ntp.example.org"      # a host stays a host
    assert ChronySource(socket="/run/chrony/chronyd.sock").socket == "/run/chrony/chronyd.sock"


def test_demo_into_a_pipe_closed_early_is_not_an_error():
    # `chronotick demo | head` had exited 1, "[Errno 32] Broken pipe" (simulate already took it)
    p = subprocess.Popen([sys.executable, "-m", "chronotick", "demo"], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV)
    first = p.stdout.readline()
    p.stdout.close()
    err = p.stderr.read().decode()
    p.wait(timeout=120)
    assert first.startswith(b"chronotick demo:")
    assert p.returncode == 0 and err == "", (p.returncode, err)


@pytest.mark.parametrize("t0", [1.7e12, 1.7e18], ids=["ms", "ns"])
def test_a_plot_of_times_in_ms_or_ns_says_so(tmp_path, t0):
    # "year 55840 is out of range" (ms) or an OSError "Value too large" (ns) that read as a file's
    pytest.importorskip("matplotlib")
    from chronotick.plot import plot_models
    t = t0 + 64.0 * np.arange(20)
    with pytest.raises(ValueError, match=r"beyond any date as Unix seconds: times are in seconds \(ms or ns\?"):
        plot_models(t, np.zeros(20), {"m": (np.zeros(20), None, None)}, out=str(tmp_path / "p.png"))


@pytest.mark.parametrize("truth", [np.zeros(30), np.full(30, np.nan)], ids=["constant", "all-NaN"])
def test_plot_models_with_a_truth_of_no_span_shows_the_models(tmp_path, monkeypatch, truth):
    # the y-limits came from the truth alone: +-1e-12 s (in ns) and a model 50 us off off the axes
    pytest.importorskip("matplotlib")
    import chronotick.plot as plot
    figs = []
    real_save = plot._save
    monkeypatch.setattr(plot, "_save", lambda fig, out: (figs.append(fig), real_save(fig, out))[1])
    t = 1.7e9 + 64.0 * np.arange(30)
    m = 50e-6 + 10e-6 * np.sin(np.arange(30.0))
    plot.plot_models(t, truth, {"regression": (m, m - 20e-6, m + 20e-6)}, out=str(tmp_path / "p.png"))
    top = figs[0].axes[0]
    lo, hi = top.get_ylim()
    assert "(us)" in top.get_ylabel(), top.get_ylabel()
    assert lo <= m.min() * 1e6 and hi >= m.max() * 1e6, (lo, hi)


def test_the_ascii_plot_draws_large_constant_values_and_tells_its_rows_apart():
    from chronotick.asciiplot import plot
    # +-1 was no widening at 1e17: 0/0 in every cell ("cannot convert float NaN to integer")
    assert "o" in plot([(np.arange(5.0), np.full(5, 1e17), "o")], width=40, height=6)
    assert "o" in plot([(np.array([1.7e18]), np.array([0.001]), "o")], width=40, height=6)
    # 6 significant digits printed 18000 on every labelled row
    text = plot([(np.arange(50.0), 18000.0 + 0.01 * np.sin(np.arange(50.0)), ".")], width=60, height=10)
    labels = [ln[:ln.index("|")].strip() for ln in text.splitlines() if "|" in ln and ln[:ln.index("|")].strip()]
    assert len(labels) >= 3 and len(set(labels)) == len(labels), labels


def test_a_dropped_temperature_member_says_why_once():
    # "dropped regression+temp: regression+temp: too few measurements or temperatures, or a
    # degenerate fit" for a constant temperature, which the fit knows
    rng = np.random.default_rng(0)
    t = 1.7e9 + 64.0 * np.arange(200)
    y = 1e-6 * (t - t[0]) + 1e-5 * rng.standard_normal(200)
    for model in ("regression", "fused"):
        fc = chronotick.predict(y, t, horizon=2, model=model, covariates={"temperature": np.full(200, 21.5)})
        assert "dropped regression+temp: the temperature is constant over the window" in fc.note, fc.note
        assert "regression+temp: regression+temp" not in fc.note
    with chronotick.Engine({"short_term": {"models": ["fused"]}}) as eng:
        for a, b in zip(t, y):
            eng.observe(float(a), float(b), temperature=21.5)
        fc = eng.predict_short_term()
    assert "dropped regression+temp: the temperature is constant over the window" in fc.note, fc.note


def test_a_dataframe_as_a_source_is_refused_with_a_hint():
    # it iterated over its column names: every poll failed on 't'
    pd = pytest.importorskip("pandas")
    from chronotick.sources import as_source
    df = pd.DataFrame({"t": [1.7e9, 1.7e9 + 64], "offset": [1e-3, 1.1e-3], "uncertainty": [1e-4, 1e-4]})
    with pytest.raises(TypeError, match=r"a DataFrame iterates over its column names; pass its rows"):
        as_source(df)
    src = as_source(df[["t", "offset", "uncertainty"]].itertuples(index=False, name=None))   # as the hint says
    assert src.measure().offset == 1e-3


# ---- the Engine's configuration (an audit, 2026-12-06) ----------------------------------------

@pytest.mark.parametrize("cap, factor, need", [(64, 8, 79), (4096, 600, 5407)])
def test_a_long_term_model_that_can_never_forecast_is_unhealthy(cap, factor, need):
    # it was left out of every forecast with a note while health() said ok
    if "clock-bolt" not in chronotick.models.onnx_models():
        pytest.skip("clock-bolt not shipped in this checkout")
    with chronotick.Engine({"engine": {"buffer_capacity": cap, "history": min(cap, 512)},
                            "long_term": {"model": "clock-bolt", "step_factor": factor}}) as eng:
        h = eng.health()
    slot = h["models"]["clock-bolt (long-term)"]
    assert not h["ok"] and not slot["ok"]
    assert slot["reason"] == (f"needs {need} measurements at step_factor {factor}, engine.buffer_capacity "
                              f"holds {cap}: it can never forecast"), slot


def test_a_key_given_twice_in_a_config_file_is_refused(tmp_path, capsys):
    from chronotick.cli import main
    from chronotick.config import load_config
    from chronotick.errors import ConfigError
    p = tmp_path / "e.yaml"
    # the second section had replaced the first, and the error quoted history 512, not the file's 100
    p.write_text("engine: {history: 100}\nengine: {buffer_capacity: 200}\n")
    with pytest.raises(ConfigError, match=rf"{p}: 'engine' appears twice in one mapping \(lines 1 and 2\)"):
        load_config(str(p))
    p.write_text("engine:\n  history: 100\n  history: 300\n")          # had been 300 without a word
    with pytest.raises(ConfigError, match=r"'history' appears twice in one mapping \(lines 2 and 3\)"):
        load_config(str(p))
    c = tmp_path / "clock.yaml"                                        # serve's own file too
    c.write_text("servers: ['127.0.0.1:9']\nmin_poll_s: 0\nmin_poll_s: 16\n")
    assert main(["serve", "--config", str(c), "--path", str(tmp_path / "clock"), "--duration", "1"]) == 1
    assert f"chronotick serve: {c}: 'min_poll_s' appears twice in one mapping (lines 2 and 3)" in capsys.readouterr().err


def test_config_values_the_engine_could_not_use_are_named():
    from chronotick.config import load_config
    from chronotick.errors import ConfigError
    # observe(self=...) is "multiple values for argument 'self'": the engine could observe nothing
    with pytest.raises(ConfigError, match=r"covariates.names\[0\]: 'self' is an argument of observe\(\) itself"):
        load_config({"covariates": {"names": ["self"]}})
    # a bare OverflowError from math.isfinite, naming no key
    for key, section in (("step_s", "short_term"), ("step_factor", "long_term"), ("interval_s", "covariates")):
        with pytest.raises(ConfigError, match=rf"{section}.{key}: must be a finite number, got an integer beyond "
                                              r"float64 \(401 digits\)"):
            load_config({section: {key: 10**400}})


def test_a_home_relative_model_path_in_a_config_file_is_the_users_home(tmp_path, monkeypatch):
    # expanduser decided it was absolute, nothing expanded it, and the file was "missing"
    import shutil
    from chronotick.config import load_config
    from chronotick.models import _DATA_DIR as MODEL_DIR
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    src = os.path.join(MODEL_DIR, "clock-bolt.onnx")
    if not os.path.isfile(src):
        pytest.skip("clock-bolt not shipped in this checkout")
    shutil.copy(src, home / "m.onnx")
    shutil.copy(os.path.join(MODEL_DIR, "clock-bolt.json"), home / "m.json")
    p = tmp_path / "cfg" / "e.yaml"
    p.parent.mkdir()
    p.write_text("short_term: {models: [fused, ~/m.onnx]}\n")
    assert load_config(str(p))["short_term"]["models"] == ["fused", str(home / "m.onnx")]


def test_two_producers_observing_at_once_lose_nothing():
    # test_engine's concurrency test serialised its producers itself: the Engine's own producer
    # lock was never exercised (an audit, 2026-12-06). Times from one shared counter, so the two
    # threads race on order: a time not after the newest is refused by name, every accepted one kept.
    import itertools
    import threading
    import time
    eng = chronotick.Engine({"engine": {"buffer_capacity": 100_000, "history": 100},
                             "short_term": {"models": ["hold"]}})
    ctr, lock = itertools.count(1), threading.Lock()
    accepted, other = [], []
    stop = time.monotonic() + 1.5

    def produce():
        while time.monotonic() < stop:
            with lock:
                t = float(next(ctr))
            try:
                if t % 7 == 0:
                    eng.observe_many([t], [1e-3], delay=[0.01])
                else:
                    eng.observe(t, 1e-3, delay=0.01)
                accepted.append(t)
            except ValueError as exc:
                if "is not after" not in str(exc):
                    other.append(repr(exc))
    threads = [threading.Thread(target=produce) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    try:
        s = eng.stats()
        t, _, _ = eng._buf.snapshot()
        assert other == [] and len(accepted) > 1000
        assert s["counts"]["observations"] == s["buffer"]["total_pushed"] == len(accepted)
        assert s["buffer"]["size"] + s["buffer"]["overwritten"] == len(accepted) == t.size + s["buffer"]["overwritten"]
        assert np.all(np.diff(t) > 0) and np.array_equal(t, np.sort(accepted)[-t.size:])
    finally:
        eng.close()


# ---- the ONNX runtime's edges (an audit, 2026-12-06) --------------------------------------------

def _onnx_forecaster(**kw):
    from chronotick.models.onnx import OnnxForecaster
    path = chronotick.models.onnx_models().get("clock-bolt")
    if path is None:
        pytest.skip("clock-bolt not shipped in this checkout")
    return OnnxForecaster(path, **kw)


def test_a_provider_pair_given_as_a_list_reaches_onnxruntime_as_a_tuple(capfd):
    # onnxruntime takes no list pair: it printed an error banner on stdout and retried on the CPU
    # alone, the options lost, provider_note ''
    f = _onnx_forecaster(providers=[["CPUExecutionProvider", {"arena_extend_strategy": "kSameAsRequested"}]])
    assert f.providers == ["CPUExecutionProvider"] and f.provider_note == ""
    assert "EP Error" not in capfd.readouterr().out


def test_onnx_levels_and_names_and_pair_indices_are_checked_by_name():
    f = _onnx_forecaster()
    t = 1.7e9 + 64.0 * np.arange(100)
    y = 1e-3 + 1e-5 * np.random.default_rng(0).standard_normal(100)
    # an unhashable level had failed in the cache lookup ("unhashable type"); '0.5' had been parsed
    for bad, shown in (([np.array(0.1), np.array(0.5)], "levels[0] = array(0.1)"), ([[0.1], [0.5]], "levels[0] = [0.1]"),
                       ([0.1, "0.5"], "levels[1] = '0.5'")):
        with pytest.raises(ValueError, match=rf"levels must hold real numbers, got {__import__('re').escape(shown)}"):
            f.forecast(t, y, [t[-1] + 64.0], bad)
    from chronotick.models.onnx import OnnxForecaster
    for name in (5, "", "  "):         # 5 had failed at the first forecast, '' became the stem silently
        with pytest.raises(ValueError, match=r"name must be a non-empty string or None"):
            OnnxForecaster(f.path, name=name)
    # 5.7 had been truncated to 5; NaN "cannot convert float NaN to integer"
    for bad in ([5.7], [np.nan]):
        with pytest.raises(ValueError, match=r"prefix must hold measurement indices \(integers\), got prefix\[0\]"):
            f.past_predictions(t, y, bad, [60])
    a = f.past_predictions(t, y, [5.0], [60])
    b = f.past_predictions(t, y, [5], [60])
    assert np.array_equal(np.asarray(a[0]), np.asarray(b[0]), equal_nan=True)


def test_nan_to_num_of_one_signed_isinf_is_not_rewritten():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    from onnx import TensorProto as TP, helper as h, numpy_helper as nh
    from chronotick.models.graph_fusions import simplify_nan_to_num
    big = float(np.finfo(np.float32).max)

    def graph(detect_positive):
        inits = [nh.from_array(np.array(v, np.float32), n) for n, v in (("zero", 0.0), ("c", 0.0), ("neg", -big),
                                                                       ("pos", big))]
        nodes = [h.make_node("IsNaN", ["x"], ["isnan"]), h.make_node("Where", ["isnan", "c", "x"], ["w1"]),
                 h.make_node("IsInf", ["x"], ["inf"], detect_positive=detect_positive),
                 h.make_node("Less", ["x", "zero"], ["lt"]), h.make_node("And", ["lt", "inf"], ["a2"]),
                 h.make_node("Where", ["a2", "neg", "w1"], ["w2"]),
                 h.make_node("Greater", ["x", "zero"], ["gt"]), h.make_node("And", ["gt", "inf"], ["a3"]),
                 h.make_node("Where", ["a3", "pos", "w2"], ["y"])]
        g = h.make_graph(nodes, "g", [h.make_tensor_value_info("x", TP.FLOAT, [None, 4])],
                         [h.make_tensor_value_info("y", TP.FLOAT, [None, 4])], inits)
        return h.make_model(g, opset_imports=[h.make_opsetid("", 20)])
    x = np.array([[np.nan, np.inf, -np.inf, 1.5]], np.float32)

    def run(m):
        return ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"x": x})[0]
    for dp in (1, 0):
        m = graph(dp)
        before = run(m)
        simplify_nan_to_num(m)
        assert np.array_equal(before, run(m)), dp     # detect_positive=0: +inf had become 3.4e38


def test_a_registered_model_whose_file_is_gone_is_listed_with_the_error(tmp_path):
    import shutil
    from chronotick import models as registry
    from chronotick.models import _DATA_DIR, check_name, register
    src = os.path.join(_DATA_DIR, "clock-bolt.onnx")
    if not os.path.isfile(src):
        pytest.skip("clock-bolt not shipped in this checkout")
    p = tmp_path / "mine.onnx"
    shutil.copy(src, p)
    register("mine-s36", str(p))
    try:
        os.remove(p)
        (entry,) = [m for m in chronotick.models.list() if m["name"] == "mine-s36"]
        assert entry["card_error"] == f"no such ONNX model file: {p}", entry
    finally:
        registry._registered.pop("mine-s36", None)      # (no public unregister)
    with pytest.raises(TypeError, match=r"model must be a string"):     # numpy's "truth value ... ambiguous"
        check_name(np.array(["a", "b"]))


# ---- from the review of the day's changes (2026-12-06) ------------------------------------------

def test_yaml_merge_keys_still_load_and_may_be_overridden(tmp_path):
    # the duplicate-key loader had refused every `<<` ("could not determine a constructor")
    from chronotick.config import load_config
    from chronotick.errors import ConfigError
    p = tmp_path / "e.yaml"
    p.write_text("engine:\n  <<: {buffer_capacity: 2048, history: 256}\n  history: 128\n")
    e = load_config(str(p))["engine"]
    assert e["buffer_capacity"] == 2048 and e["history"] == 128
    p.write_text("engine:\n  <<: {buffer_capacity: 2048}\n  history: 100\n  history: 200\n")
    with pytest.raises(ConfigError, match=r"'history' appears twice in one mapping \(lines 3 and 4\)"):
        load_config(str(p))
    # 10**308 fits a float64: refused by the key's range, not as "beyond float64" (a review)
    with pytest.raises(ConfigError, match=r"short_term.step_s: must be in \[1e-06, 1e\+09\]"):
        load_config({"short_term": {"step_s": 10**308}})


def test_a_fifo_at_the_path_does_not_hang_a_publisher_that_may_not_write_it():
    # the read-only retry had opened a FIFO without O_NONBLOCK: the publisher waited for a writer
    # for good, holding the folder's lock
    import shutil
    import tempfile
    import time
    from chronotick import _core
    d = tempfile.mkdtemp(prefix="ct-fifo-")
    os.chmod(d, 0o777)
    path = os.path.join(d, "clock")
    os.mkfifo(path, 0o444)
    os.chmod(path, 0o444)
    try:
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            try:
                os.close(r)
                if os.geteuid() == 0:
                    os.setgid(65534)
                    os.setuid(65534)
                try:
                    _core.ClockPublisher(path)
                    said = "created"
                except Exception as exc:       # noqa: BLE001
                    said = str(exc)
                os.write(w, said.encode())
            finally:
                os._exit(0)
        os.close(w)
        t0 = time.monotonic()
        while time.monotonic() - t0 < 10:
            done, _ = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            with open(path, "w"):               # let it go, then fail
                pass
            os.waitpid(pid, 0)
            pytest.fail("the publisher hung on the FIFO")
        with os.fdopen(r, "rb") as f:
            said = f.read().decode()
        assert "not a regular file" in said or "not a chronotick clock file" in said, said
    finally:
        shutil.rmtree(d)


def test_the_temperature_member_says_an_overflow_is_one():
    t = 1.7e9 + 64.0 * np.arange(100)
    y = 1e-3 + 1e-6 * np.arange(100)
    temp = np.linspace(0.0, 1.7e308, 100)      # its integral overflows (alternating +-1e308 integrates to 0)
    fc = chronotick.predict(y, t, horizon=1, model="regression", covariates={"temperature": temp})
    assert "dropped regression+temp: a fit that is not finite (values or temperatures too large)" in fc.note, fc.note


def test_a_clock_file_name_that_is_not_utf8_is_taken_as_bytes(tmp_path):
    from chronotick.shm import Client
    p = os.fsencode(str(tmp_path)) + b"/clk_\xff"
    c = chronotick.Clock(lambda: None, shm_path=p)      # a TypeError from the core before
    try:
        assert Client(p).now().status.name == "UNKNOWN"
    finally:
        c.stop()


def test_status_into_a_closed_pipe_keeps_its_exit_code(tmp_path):
    # the reader gone, status had exited 0 ("bound valid") for an UNKNOWN clock
    from chronotick import _core
    path = str(tmp_path / "clock")
    pub = _core.ClockPublisher(path)           # a clock file, never published: UNKNOWN
    try:
        for unbuffered in ("1", ""):
            env = dict(ENV, PYTHONUNBUFFERED=unbuffered) if unbuffered else {k: v for k, v in ENV.items()
                                                                             if k != "PYTHONUNBUFFERED"}
            p = subprocess.Popen([sys.executable, "-m", "chronotick", "status", "--path", path],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
            p.stdout.close()                   # gone before anything is written
            err = p.stderr.read().decode()
            assert p.wait(timeout=60) == 1, (unbuffered, p.returncode, err)
            assert "Exception ignored" not in err and "Broken pipe" not in err, err
            assert "needs the compiled extension" not in err and err == "", err     # not 1 for another reason
        # the control: read to the end, the same status says UNKNOWN with the same code
        r = subprocess.run([sys.executable, "-m", "chronotick", "status", "--path", path], capture_output=True,
                           text=True, env=ENV, timeout=60)
        assert r.returncode == 1 and "status:     UNKNOWN" in r.stdout, (r.returncode, r.stdout, r.stderr)
    finally:
        pub.close()


def test_a_frequency_file_whose_comment_mentions_phase_is_still_a_frequency_file(tmp_path):
    from chronotick.io import sniff_format
    p = tmp_path / "f.txt"
    for comment in ("# OCXO disciplined by a phase-locked GPSDO, counter unit: Hz",
                    "# see the phase noise plot, unit: dBc/Hz"):
        p.write_text(comment + "\n" + "".join(f"{10e6 + 1e-3 * i:.6f}\n" for i in range(20)))
        assert sniff_format(str(p)) == "oscillator_frequency", comment       # was oscillator_phase
    p.write_text("# phase, unit: ns\n" + "".join(f"{2000.0 + i}\n" for i in range(20)))
    assert sniff_format(str(p)) == "oscillator_phase"


def test_simulate_names_a_too_coarse_dt_by_its_option(capsys):
    from chronotick.cli import main
    assert main(["simulate", "--dt", "721", "--poll-s", "1442", "--hours", "24", "--out", "-"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("chronotick simulate: --dt 721 is too coarse for preset 'tcxo': ") and \
        "= 0.100139 expected events per step" in err and err.endswith("use --dt <= 720"), err


def test_the_ascii_plot_names_values_it_cannot_pad():
    from chronotick.asciiplot import plot
    with pytest.raises(ValueError, match=r"span more than a float64 can hold"):
        plot([(np.arange(3.0), np.array([1.7e308, -1e308, 0.0]), "o")], width=40, height=6)
