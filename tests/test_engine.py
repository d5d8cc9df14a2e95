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


def test_calib_spread_reaches_the_long_term_calibration():
    # engine.calib_spread spaces the calibration pairs of long leads
    # (ModelParams.calib_spread): 0 (consecutive) gives other long-term intervals
    # than the default 8, and 8 is the default
    t, y = series()
    out = {}
    for key, cfg in (("default", {}), ("8", {"calib_spread": 8}), ("0", {"calib_spread": 0})):
        with chronotick.Engine({"engine": cfg, "short_term": {"models": ["fused"]},
                                "long_term": {"horizon": 16, "step_factor": 4}}) as eng:
            eng.observe_many(t[:300], y[:300])
            out[key] = eng.predict_long_term().quantiles
    assert np.array_equal(out["default"], out["8"])
    assert not np.allclose(out["0"], out["8"])


@pytest.mark.skipif("clock-bolt" not in chronotick.models.onnx_models(), reason="shipped ONNX model not present")
def test_onnx_detrend_r2_reaches_every_onnx_slot():
    for cfg, want in (({}, 0.8), ({"detrend_r2": None}, None), ({"detrend_r2": 0.5}, 0.5)):
        with chronotick.Engine({"onnx": cfg, "long_term": {"model": "clock-bolt"}}) as eng:
            slots = list(eng._onnx.values())
            assert len(slots) == 2 and all(s.ok and s.forecaster.detrend_r2 == want for s in slots)


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
            assert h["last_error"].startswith("broken: load failed")
            assert "broken" not in fc.weights and "broken" not in eng.stats()["models_loaded"]
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


def test_auto_adds_the_shipped_onnx_model_to_the_short_term_fusion():
    from chronotick import models
    from chronotick.api import AUTO_ONNX
    if AUTO_ONNX not in models.onnx_models():
        pytest.skip(f"{AUTO_ONNX}.onnx is not shipped in this checkout")
    t, y = series(300)
    with chronotick.Engine({"short_term": {"models": ["auto"], "horizon": 8}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_short_term()
        assert set(fc.weights) == {"robust", "regression", "kalman", AUTO_ONNX}
        np.testing.assert_allclose(sum(fc.weights.values()), 1.0)
        assert AUTO_ONNX in eng.stats()["models_loaded"] and eng.health()["models"][AUTO_ONNX]["ok"]
        # the same measurements through predict(model="auto") give the same fusion
        ref = chronotick.predict(y, t, horizon=8, model="auto")
        np.testing.assert_allclose(fc.mean, ref.mean, rtol=1e-9, atol=1e-12)


def test_short_term_grid_and_forecast_at_follow_the_newest_measurement():
    t, y = series(50)
    with chronotick.Engine({"short_term": {"horizon": 3, "step_s": 30.0}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_short_term()
        np.testing.assert_allclose(fc.times, t[-1] + 30.0 * np.arange(1, 4))
        assert fc.origin == t[-1]
        with pytest.raises(ValueError, match="is not after the newest measurement"):
            eng.forecast_at([t[-1], t[-1] + 10])
        with pytest.raises(ValueError, match=r"times must be strictly increasing: times\[1\]"):
            eng.forecast_at([t[-1] + 20, t[-1] + 10])
        assert eng.stats()["counts"].get("predictions_at", 0) == 0


def test_too_little_history_is_reported_not_raised():
    with chronotick.Engine({"engine": {"min_history": 8}}) as eng:
        eng.observe_many([0.0, 64.0, 128.0], [1e-3, 1.1e-3, 1.2e-3])
        fc = eng.predict_short_term()
        assert fc.model.startswith("hold (fallback")
        reason = eng.health()["models"]["fused"]["reason"]
        assert "3 measurements < engine.min_history 8" in reason


def test_covariate_names_fixed_by_config():
    t, y = series(30)
    with chronotick.Engine({"covariates": {"names": ["temperature"]}}) as eng:
        with pytest.raises(ValueError, match=r"covariates \[\] differ from the engine's \['temperature'\]"):
            eng.observe(t[0], y[0])
        eng.observe(t[0], y[0], temperature=21.5)
        assert eng.stats()["counts"]["observations"] == 1
        with pytest.raises(ValueError, match="observe_many carries no covariates"):
            eng.observe_many(t[1:3], y[1:3])


def test_a_closed_engine_refuses_work_but_reports_state():
    t, y = series(20)
    eng = chronotick.Engine()
    eng.observe_many(t, y)
    eng.close()
    with pytest.raises(RuntimeError, match="closed"):
        eng.observe(t[-1] + 64, 0.0)
    with pytest.raises(RuntimeError, match="closed"):
        eng.predict_short_term()
    assert eng.health()["closed"] and eng.stats()["counts"]["observations"] == 20


def test_forecasts_never_feed_back_into_the_buffer():
    t, y = series(40)
    with chronotick.Engine() as eng:
        eng.observe_many(t, y)
        before = eng._buf.snapshot()
        first = eng.predict_short_term().mean
        for _ in range(3):
            eng.predict_fused()
            eng.predict_long_term()
        after = eng._buf.snapshot()
        for a, b in zip(before, after):
            np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(eng.predict_short_term().mean, first)


@pytest.mark.parametrize("names, model", [(["kalman"], "hold (fallback: kalman"),
                                          (["kalman", "regression"], "hold (fallback: kalman"),
                                          (["kalman", "robust"], "robust")])
def test_models_that_cannot_forecast_yet_fall_back(names, model):
    with chronotick.Engine({"short_term": {"models": names, "horizon": 2}}) as eng:
        eng.observe_many([0.0, 64.0, 128.0], [1e-3, 2e-3, 1.5e-3])
        fc = eng.predict_short_term()
        assert fc.model.startswith(model)
        assert list(fc.weights) == [model.split(" ")[0]]
        lo, hi = fc.interval(0.8)
        assert np.all(np.isfinite(fc.mean)) and np.all(hi > lo)


def test_stats_and_health_while_observing_and_forecasting():
    """stats()/health() from a third thread while a producer and two
    consumers run: no 'mutated during iteration', consistent counts."""
    t, y = series(600)
    errors = []
    with chronotick.Engine({"engine": {"buffer_capacity": 256, "history": 64}}) as eng:
        eng.observe_many(t[:20], y[:20])
        done = threading.Event()

        def guard(fn):
            def run():
                try:
                    fn()
                except Exception as exc:  # pragma: no cover - reported below
                    errors.append(exc)
            return run

        def produce():
            for i in range(20, t.size):
                eng.observe(t[i], y[i])

        def consume():
            for _ in range(15):
                eng.predict_short_term()
                eng.forecast_at([t[-1] + 1e6])

        def watch():
            while not done.is_set():
                assert eng.stats()["buffer"]["size"] <= 256
                eng.health()

        workers = [threading.Thread(target=guard(f)) for f in (produce, consume, consume)]
        watcher = threading.Thread(target=guard(watch))
        for th in workers + [watcher]:
            th.start()
        for th in workers:
            th.join()
        done.set()
        watcher.join()
        assert not errors, errors
        s = eng.stats()
        assert s["counts"]["observations"] == 600 and s["buffer"]["overwritten"] == 600 - 256
        assert s["counts"]["predictions_short_term"] == s["latency"]["short_term"]["n"] == 30
        assert s["counts"]["predictions_at"] == 30


def test_a_long_term_onnx_model_out_of_reach_is_left_out_with_a_note():
    from chronotick import models
    from chronotick.api import AUTO_ONNX
    if AUTO_ONNX not in models.onnx_models():
        pytest.skip(f"{AUTO_ONNX}.onnx is not shipped in this checkout")
    t, y = series(300)
    long_name = f"{AUTO_ONNX} (long-term)"
    # the long-term model runs on its own grid of step_factor x the spacing: 80 of its steps are too far
    with chronotick.Engine({"long_term": {"model": AUTO_ONNX, "horizon": 80}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_long_term()
        assert set(fc.weights) == {"robust", "regression", "kalman"}
        assert f"{long_name} left out" in fc.note and "forecasts at most" in fc.note
        assert eng.health()["models"][long_name]["ok"]        # out of reach is not a fault
        # but health() says so (an audit, 2026-12-06: it had said nothing)
        assert eng.health()["models"][long_name]["reason"] == (
            "its horizon of 64 steps is short of long_term.horizon 80 and no other long_term model "
            "reaches further: predict_long_term() falls back to the classical fusion")
    with chronotick.Engine({"long_term": {"model": AUTO_ONNX}}) as eng:   # 64 steps of 8 x 64 s: in reach
        eng.observe_many(t, y)
        assert eng.health()["models"][long_name] == {**eng.health()["models"][long_name], "ok": True, "reason": ""}
        assert eng.predict_long_term().model == long_name
        assert long_name in eng.predict_fused().weights
