"""Engine / config / Clock fixes from the audit of 2026-12-05 (session 30)."""
import gc
import os
import shutil
import threading
import time

import numpy as np
import pytest

import chronotick
from chronotick.sources import Measurement

MODEL = os.path.join(os.path.dirname(chronotick.__file__), "models", "data", "clock-bolt.onnx")


def _series(n=60, seed=0):
    rng = np.random.default_rng(seed)
    t = 1.7e9 + 64.0 * np.arange(n)
    return t, 0.001 + 1e-4 * rng.standard_normal(n)


# -- an uncertainty of 0 --------------------------------------------------------------------

def test_zero_uncertainty_is_refused_with_the_reason():
    # the models weigh by 1/u^2: 0 had been weighed as an unknown u, while 1e-9 took all the weight
    t, y = _series()
    u = np.full(t.size, 2e-3)
    u[7] = 0.0
    with pytest.raises(ValueError, match=r"uncertainty\[7\] = 0.0: an uncertainty must be > 0"):
        chronotick.predict(y, t, model="regression", uncertainty=u)
    with chronotick.Engine() as eng:
        with pytest.raises(ValueError, match=r"uncertainty\[7\] = 0.0"):
            eng.observe_many(t, y, uncertainty=u)
        assert eng.stats()["counts"].get("observations", 0) == 0          # nothing taken
        with pytest.raises(ValueError, match="uncertainty = 0.0: an uncertainty must be > 0"):
            eng.observe(t[0], y[0], uncertainty=0.0)
        eng.observe(t[0], y[0], uncertainty=1e-9)                          # a resolution is fine
    u[7] = np.nan                                                          # unknown: as before
    assert np.isfinite(chronotick.predict(y, t, model="regression", uncertainty=u).mean).all()


def test_clock_source_with_zero_uncertainty_still_feeds_the_engine():
    # a source may report uncertainty 0 (Measurement allows it): the Clock keeps the measurement,
    # its models weigh it as unknown (the engine refuses 0)
    T0 = 1_700_000_000.0
    now = [T0]
    it = iter(0.020 + 1e-6 * np.arange(100))
    eng = chronotick.Engine({"short_term": {"models": ["fused"]}})
    clock = chronotick.Clock(lambda: Measurement(t=now[0], offset=next(it), delay=0.001, uncertainty=0.0),
                             eng, time_ns=lambda: int(now[0] * 1e9))
    try:
        for _ in range(12):
            now[0] += 4.0
            clock.poll_once(int(now[0] * 1e9))
        h = clock.health()
        assert h["measurements"] == 12 and eng.health()["measurements"] == 12, h
        assert h["last_error"] is None or "refused by the engine" not in h["last_error"]
    finally:
        clock.stop()


# -- relative .onnx paths in a config file ---------------------------------------------------

def test_relative_onnx_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    conf = tmp_path / "conf"
    conf.mkdir()
    shutil.copy(MODEL, conf / "mybolt.onnx")
    shutil.copy(MODEL[:-5] + ".json", conf / "mybolt.json")
    (conf / "engine.yaml").write_text("short_term: {models: [fused, mybolt.onnx]}\n"
                                      "long_term: {model: mybolt.onnx}\n")
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)      # a service manager starts the process elsewhere
    cfg = chronotick.config.load_config(str(conf / "engine.yaml"))
    want = os.path.join(str(conf), "mybolt.onnx")
    assert cfg["short_term"]["models"] == ["fused", want] and cfg["long_term"]["model"] == want
    # a dict config is the caller's own: its paths stay relative to the working directory
    with pytest.raises(chronotick.ConfigError, match="mybolt.onnx"):
        chronotick.config.load_config({"long_term": {"model": "mybolt.onnx"}})
    # names and absolute paths as they are
    (conf / "abs.yaml").write_text(f"short_term: {{models: [auto]}}\nlong_term: {{model: {want}}}\n")
    cfg = chronotick.config.load_config(str(conf / "abs.yaml"))
    assert cfg["short_term"]["models"] == ["auto"] and cfg["long_term"]["model"] == want


# -- health() of a failing classical model ---------------------------------------------------

def test_health_reports_a_failing_classical_model():
    rng = np.random.default_rng(0)
    t = np.r_[np.arange(40) * 64.0, 40 * 64.0 + 2 * 86400 + np.arange(2) * 64.0]   # 2 days suspended
    y = 0.001 + 1e-4 * rng.standard_normal(t.size)
    with chronotick.Engine({"short_term": {"models": ["robust"]}}) as eng:
        eng.observe_many(t[:40], y[:40])
        eng.predict_short_term()
        assert eng.health()["ok"] and eng.health()["last_error"] is None
        eng.observe_many(t[40:], y[40:])
        fc = eng.predict_short_term()
        assert fc.model.startswith("hold (fallback: robust")
        h = eng.health()
        assert not h["ok"] and not h["models"]["robust"]["ok"]
        assert "since a gap" in h["models"]["robust"]["reason"] and h["last_error"].startswith("robust: ")
        eng.observe(t[-1] + 64, 0.001)               # 3 measurements since the gap: robust again
        assert eng.predict_short_term().model == "robust"
        assert eng.health()["ok"] and eng.health()["models"]["robust"] == {"ok": True, "reason": ""}


# -- the metrics collector of an engine never closed ------------------------------------------

def test_metrics_thread_stops_when_an_unclosed_engine_is_collected():
    def metric_threads():
        return [th for th in threading.enumerate() if th.name == "chronotick-metrics"]
    before = len(metric_threads())
    eng = chronotick.Engine({"covariates": {"metrics": True, "interval_s": 0.05}})
    assert len(metric_threads()) == before + 1
    del eng
    gc.collect()
    deadline = time.monotonic() + 5
    while len(metric_threads()) > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert len(metric_threads()) == before


# -- a value the ONNX model's float32 input cannot carry --------------------------------------

@pytest.mark.skipif(not os.path.isfile(MODEL), reason="clock-bolt.onnx not shipped")
def test_absurd_offset_leaves_the_onnx_model_out_without_blaming_it():
    # a finite offset beyond float32 (a parse glitch, 1e39) in the window: the model is left out
    # with a note while it is there, not marked unhealthy (it had been, health() blaming the model)
    rng = np.random.default_rng(0)
    with chronotick.Engine() as eng:
        for i in range(100):
            eng.observe(1.7e9 + i * 64.0, 1e39 if i == 50 else 0.001 + 1e-4 * rng.standard_normal())
        fc = eng.predict_short_term()
        assert "clock-bolt" not in fc.weights
        assert "clock-bolt left out: its window cannot be given to the model" in fc.note
        h = eng.health()
        assert h["models"]["clock-bolt"] == {**h["models"]["clock-bolt"], "ok": True, "reason": ""}


# -- the Clock's step detector on a drifting clock --------------------------------------------

def _drifting_clock_run(ppm, poll, n, seed=0, outage=None):
    """A Clock over a free-running local clock `ppm` fast, NTP-like 0.2 ms noise, polled every
    `poll` s for n polls (the source silent over the polls in `outage`); (clock, served errors)."""
    from chronotick import Clock, Engine
    rng = np.random.default_rng(seed)
    T0 = 1_700_000_000.0
    now = [T0]

    def true_offset(t):
        return 0.010 - ppm * 1e-6 * (t - T0)       # reference - local: the local clock runs fast

    state = {"k": 0}

    def source():
        if outage is not None and state["k"] in outage:
            return None
        t = now[0]
        return Measurement(t=t, offset=true_offset(t) + rng.normal(0, 2e-4), delay=0.0004, uncertainty=0.0003)
    clock = Clock(source, Engine({"short_term": {"models": ["fused"]}}), {"poll_interval_s": poll},
                  time_ns=lambda: int(now[0] * 1e9))
    errs = []
    try:
        for k in range(n):
            state["k"] = k
            now[0] += poll
            clock.poll_once(int(now[0] * 1e9))
            b = clock.now_at(int((now[0] + poll / 2) * 1e9))
            ref = (now[0] + poll / 2 + true_offset(now[0] + poll / 2)) * 1e9
            errs.append((b.time_ns - ref) / 1e9)
        return clock, np.array(errs)
    finally:
        clock.stop()


def test_no_false_steps_on_a_50_ppm_clock_at_long_polls():
    # 50 ppm (max_drift_ppm's default) at 1024 s polls: 51 ms of drift a poll. The median of the
    # newest measurements, not carried along the drift, lagged ~3 polls behind: 35 "steps" and
    # 72 "spikes" in 72 h, the served time off by a median 116 ms (an audit, 2026-12-05)
    clock, errs = _drifting_clock_run(50.0, 1024.0, 60)
    h = clock.health()
    assert h["counts"].get("steps_detected", 0) == 0, h["counts"]
    assert np.median(np.abs(errs[20:])) < 5e-3, np.median(np.abs(errs[20:]))


def test_drift_over_an_outage_is_not_a_step():
    # 50 ppm, 64 s polls, the source silent for 52 polls (55 min, HOLDOVER): the 166 ms drifted
    # meanwhile had been confirmed as a reference step and served 17 ms off within a 4.4 ms bound
    clock, errs = _drifting_clock_run(50.0, 64.0, 200, outage=range(100, 152))
    h = clock.health()
    assert h["counts"].get("steps_detected", 0) == 0 and h["step_correction_s"] == 0.0, h["counts"]
    assert np.max(np.abs(errs[160:])) < 5e-3, np.max(np.abs(errs[160:]))


def test_serve_inline_engine_onnx_paths_are_relative_to_the_config_file(tmp_path, monkeypatch):
    # clock.yaml's inline `engine:` mapping: its relative .onnx paths beside clock.yaml, as an
    # engine YAML's are beside that file (a service manager starts serve elsewhere)
    from chronotick.cli.serve import _load
    conf = tmp_path / "etc"
    conf.mkdir()
    (conf / "clock.yaml").write_text("engine: {long_term: {model: mybolt.onnx}}\n")
    elsewhere = tmp_path / "run"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    cfg = _load(str(conf / "clock.yaml"))
    assert cfg["engine"]["long_term"]["model"] == os.path.join(str(conf), "mybolt.onnx")
