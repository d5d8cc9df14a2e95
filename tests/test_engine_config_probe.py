"""Engine configuration and covariate paths found wanting by a probe
(session 11): each case had constructed fine and failed later, or silently."""
import threading

import numpy as np
import pytest

import chronotick
from chronotick.errors import ConfigError
from chronotick.models import onnx_models

T = 1.7e9 + np.arange(300) * 64.0
Y = 1e-3 + np.random.default_rng(0).normal(0, 1e-4, 300)


@pytest.mark.parametrize("cfg, match", [
    ({"short_term": {"models": ["fused", "robust"]}}, r"short_term.models\[1\]: 'robust' is already a member of 'fused'"),
    ({"short_term": {"models": ["auto", "kalman"]}}, r"'kalman' is already a member of 'auto'"),
    ({"short_term": {"models": ["regression", "regression"]}}, r"short_term.models\[1\]: 'regression' is listed twice"),
    ({"engine": {"history": 16, "min_history": 100}}, "engine.min_history: 100 exceeds engine.history 16"),
    ({"long_term": {"model": "clock-bolt", "step_factor": 2e6}}, r"long_term.step_factor: must be in \[1e-06, 1e\+06\]"),
    ({"short_term": {"step_s": 1e-300}}, r"short_term.step_s: must be in \[1e-06, 1e\+09\], got 1e-300"),
    ({"short_term": {"step_s": 1e8}, "long_term": {"step_factor": 100}}, "a long-term step beyond 1e9 s"),
    ({"onnx": {"providers": ["BogusProvider"]}}, r"onnx.providers\[0\]: unknown provider 'BogusProvider'"),
    ({"onnx": {"providers": []}}, r"onnx.providers: must be a list of provider names or null \(not empty\), got \[\]"),
    ({"covariates": {"capacity": 10**12}}, "covariates.capacity: must be an integer >= 2 and <= 10000000"),
    ({"covariates": {"interval_s": 1e-9}}, r"covariates.interval_s: must be in \[0.01, 86400\]"),
])
def test_config_refuses_what_would_fail_or_mislead_later(cfg, match):
    with pytest.raises(ConfigError, match=match):
        chronotick.Engine(cfg)


@pytest.mark.skipif("clock-bolt" not in onnx_models(), reason="no shipped model")
def test_the_same_onnx_file_twice_is_refused():
    path = onnx_models()["clock-bolt"]
    with pytest.raises(ConfigError, match="is the same ONNX file as 'clock-bolt' \\(which 'auto' includes\\)"):
        chronotick.Engine({"short_term": {"models": ["auto", path]}})


def test_a_config_file_that_is_not_utf8_is_a_config_error_naming_it(tmp_path):
    p = tmp_path / "engine.yaml"
    p.write_bytes(b"\xff\xfe engine: {}\n")
    with pytest.raises(ConfigError, match="engine.yaml: not UTF-8 text"):
        chronotick.Engine(str(p))


def test_a_long_term_member_of_the_fusion_is_not_fused_twice():
    # weights had summed to 0.79-0.99: robust inside the fusion and again beside it
    with chronotick.Engine({"long_term": {"model": "robust"}, "short_term": {"models": ["fused"]}}) as e:
        e.observe_many(T, Y)
        f = e.predict_fused()
        np.testing.assert_allclose(np.sum(list(f.weights.values()), axis=0), 1.0, atol=1e-12)
        assert f.model.count("robust") == 1


def test_health_after_close_says_the_onnx_models_are_closed():
    e = chronotick.Engine()
    onnx = [m for m, v in e.health()["models"].items() if "providers" in v]
    if "clock-bolt" in chronotick.models.onnx_models():
        assert onnx == ["clock-bolt"]    # (an empty loop had passed)
    e.close()
    h = e.health()["models"]
    for m in onnx:
        assert h[m]["ok"] is False and h[m]["reason"] == "engine closed"


def test_a_temperature_pushed_between_the_two_snapshots_does_not_drop_the_member():
    # observe() pushes the covariate row, then the measurement: a forecast whose two
    # snapshots straddled that found one row more and dropped the temperature
    temp = 20 + np.sin(np.arange(300) / 20.0)
    with chronotick.Engine({"short_term": {"models": ["fused"]}}) as e:
        for i in range(300):
            e.observe(T[i], Y[i], temperature=temp[i])
        e._cov_buf.push(T[-1] + 64.0, np.array([20.0]))      # the next observe() half done
        assert e._snapshot()[3] is not None
        assert "regression+temp" in e.predict_short_term().weights


def test_observe_with_temperature_from_threads_keeps_the_member():
    temp = 20 + np.sin(np.arange(2000) / 20.0)
    t = 1.7e9 + np.arange(2000) * 64.0
    y = 1e-3 + 1e-6 * np.arange(2000) + 1e-5 * temp
    with chronotick.Engine({"short_term": {"models": ["fused"]}, "engine": {"history": 64}}) as e:
        for i in range(100):
            e.observe(t[i], y[i], temperature=temp[i])
        stop = threading.Event()

        def produce():
            for i in range(100, 2000):
                if stop.is_set():
                    return
                e.observe(t[i], y[i], temperature=temp[i])
        th = threading.Thread(target=produce)
        th.start()
        try:
            missing = sum("regression+temp" not in e.predict_short_term().weights for _ in range(200))
        finally:
            stop.set()
            th.join()
    assert missing == 0


def test_a_constant_temperature_drops_the_member_with_a_note():
    with chronotick.Engine({"short_term": {"models": ["fused"]}}) as e:
        for i in range(100):
            e.observe(T[i], Y[i], temperature=25.0)
        fc = e.predict_short_term()
        assert "regression+temp" not in fc.weights and "dropped regression+temp" in fc.note


class _FakeCollector:
    """A metrics collector whose record covers only the newest part of the window."""
    interval_s = 1.0

    def __init__(self, ct, temp):
        self.ct, self.temp = ct, temp

    def snapshot(self):
        return self.ct, {"temp_cpu_c": self.temp}

    def stop(self):
        pass


def test_a_collector_record_shorter_than_the_window_keeps_the_member_on_what_it_covers():
    # the default record (4096 x 1 s = 68 min) is shorter than 512 polls of 64 s: the member
    # had been dropped for good, silently, once the ring wrapped
    with chronotick.Engine({"short_term": {"models": ["fused"]}}) as e:
        e.observe_many(T, Y)
        ct = np.arange(T[-100], T[-1] + 1.0, 1.0)
        e._metrics = _FakeCollector(ct, 40 + np.sin(ct / 600.0))
        temp = e._snapshot()[3]
        assert np.isnan(temp[:200]).all() and np.isfinite(temp[-100:]).all()
        assert "regression+temp" in e.predict_short_term().weights
        # a wall-clock step back in the record: only the newest increasing run is used
        ct2 = np.concatenate([ct[:50], np.arange(ct[50] - 15.0, T[-1] + 1.0, 1.0)])
        e._metrics = _FakeCollector(ct2, 40 + np.sin(ct2 / 600.0))
        temp = e._snapshot()[3]
        np.testing.assert_allclose(temp[-40:], np.interp(T[-40:], ct2[50:], 40 + np.sin(ct2[50:] / 600.0)))
