"""The Engine: config, streaming forecasts, threads, health and stats."""
import threading

import numpy as np
import pytest

import chronotick
from chronotick.errors import ConfigError


def series(n=300, seed=1):
    rng = np.random.default_rng(seed)
    t = 1.7e9 + 64.0 * np.arange(n)
    return t, 1e-6 * (t - t[0]) + rng.normal(0, 2e-4, n)


def test_forecasts_from_a_stream():
    t, y = series()
    with chronotick.Engine({"short_term": {"horizon": 4}, "long_term": {"horizon": 16, "step_factor": 4}}) as eng:
        eng.observe_many(t[:200], y[:200])
        st = eng.predict_short_term()
        assert len(st) == 4 and st.times[0] == pytest.approx(t[199] + 64)
        lt = eng.predict_long_term()
        assert len(lt) == 16 and lt.times[0] == pytest.approx(t[199] + 256)
        fu = eng.predict_fused()
        assert np.all(np.isfinite(fu.quantiles))
        at = eng.forecast_at([t[199] + 30, t[199] + 300], (0.005, 0.5, 0.995))
        assert at.quantiles.shape == (2, 3)
        s = eng.stats()
        assert s["counts"]["observations"] == 200
        assert s["buffer"]["size"] == 200 and s["buffer"]["overwritten"] == 0
        assert s["latency"]["short_term"]["n"] == 1
        assert eng.health()["ok"]


def test_buffer_overwrites_oldest_and_counts():
    t, y = series(100)
    with chronotick.Engine({"engine": {"buffer_capacity": 50, "history": 40}}) as eng:
        eng.observe_many(t, y)
        s = eng.stats()["buffer"]
        assert s["size"] == 50 and s["overwritten"] == 50 and s["total_pushed"] == 100


def test_concurrent_observers_and_forecasters():
    t, y = series(400)
    eng = chronotick.Engine({"engine": {"buffer_capacity": 512}})
    eng.observe_many(t[:20], y[:20])
    errors = []
    lock = threading.Lock()
    nxt = [20]

    def producer():
        while True:
            with lock:          # measurement order is the caller's business
                i = nxt[0]
                if i >= t.size:
                    return
                eng.observe(t[i], y[i])
                nxt[0] += 1

    def consumer():
        try:
            for _ in range(30):
                fc = eng.predict_short_term()
                assert np.all(np.isfinite(fc.mean))
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=producer) for _ in range(2)] + [threading.Thread(target=consumer) for _ in range(2)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors
    assert eng.stats()["counts"]["observations"] == 400


def test_config_from_yaml_and_errors(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("engine:\n  buffer_capacity: 128\n  history: 64\nshort_term:\n  horizon: 3\n")
    eng = chronotick.Engine(str(p))
    assert eng.config["engine"]["buffer_capacity"] == 128
    bad = [({"engine": {"buffer_capacity": -3}}, "engine.buffer_capacity: must be an integer >= 2 and <= 10000000, got -3"),
           ({"engine": {"nope": 1}}, "engine.nope: unknown key"),
           ({"bogus": {}}, "bogus: unknown section"),
           ({"short_term": {"models": ["nope"]}}, r"short_term.models\[0\]: unknown model 'nope'"),
           ({"short_term": {"step_s": 0}}, "short_term.step_s: must be a positive number"),
           ({"engine": {"history": 9000}}, "engine.history: 9000 exceeds"),
           ({"long_term": {"model": "/no/such.onnx"}}, "long_term.model")]
    for cfg, match in bad:
        with pytest.raises(ConfigError, match=match):
            chronotick.Engine(cfg)
    p.write_text("engine: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        chronotick.Engine(str(p))


def test_a_corrupt_onnx_model_is_unhealthy_not_fatal(tmp_path):
    from chronotick import models
    bad = tmp_path / "broken.onnx"
    bad.write_bytes(b"this is not an onnx file")
    models.register("broken", str(bad))
    try:
        t, y = series(60)
        with chronotick.Engine({"short_term": {"models": ["fused", "broken"]}}) as eng:
            eng.observe_many(t, y)
            fc = eng.predict_short_term()            # the application sees no exception
            assert np.all(np.isfinite(fc.mean))
            h = eng.health()
            assert not h["ok"] and not h["models"]["broken"]["ok"]
            assert "load failed" in h["models"]["broken"]["reason"]
    finally:
        models._registered.pop("broken", None)


def test_temperature_covariate_joins_the_fusion():
    t, y = series(80)
    with chronotick.Engine() as eng:
        for i in range(80):
            eng.observe(t[i], y[i], temperature=25.0 + np.sin(i / 7))
        fc = eng.predict_short_term()
        assert "regression+temp" in fc.weights
        assert eng.stats()["covariates"] == ["temperature"]


def test_metrics_collector_runs_with_the_engine():
    with chronotick.Engine({"covariates": {"interval_s": 0.05}}, covariates=True) as eng:
        import time
        time.sleep(0.3)
        assert eng.health()["metrics"]["running"]
        assert eng.stats()["metrics"]["samples"] >= 2
