"""Engine configuration: defaults, YAML/dict, and an error naming the key for
every bad value."""
import pytest

import chronotick
from chronotick.config import DEFAULTS, load_config
from chronotick.errors import ConfigError


def test_defaults_and_merge():
    cfg = load_config(None)
    assert cfg == DEFAULTS and cfg is not DEFAULTS
    cfg = load_config({"short_term": {"horizon": 3}})
    assert cfg["short_term"]["horizon"] == 3 and cfg["short_term"]["models"] == ["auto"]
    assert DEFAULTS["short_term"]["horizon"] == 8          # defaults are not modified


def test_yaml_file(tmp_path):
    p = tmp_path / "engine.yaml"
    p.write_text("""
engine:
  buffer_capacity: 256
  history: 128
short_term:
  models: [hold, kalman]
  step_s: 64
long_term:
  horizon: 10
  step_factor: 4
onnx:
  providers: [CPUExecutionProvider]
  intra_op_threads: 2
  detrend_r2: null
covariates:
  names: [temperature]
""")
    cfg = load_config(str(p))
    assert cfg["engine"]["buffer_capacity"] == 256 and cfg["short_term"]["models"] == ["hold", "kalman"]
    assert cfg["onnx"]["providers"] == ["CPUExecutionProvider"] and cfg["covariates"]["names"] == ["temperature"]
    assert cfg["onnx"]["detrend_r2"] is None
    with chronotick.Engine(p) as eng:                       # a pathlib.Path works too
        assert eng.config == cfg
    (tmp_path / "empty.yaml").write_text("")
    assert load_config(str(tmp_path / "empty.yaml")) == DEFAULTS


@pytest.mark.parametrize("cfg, match", [
    ({"engine": {"buffer_capacity": -3}}, r"^engine.buffer_capacity: must be an integer >= 2 and <= 10000000, got -3$"),
    ({"engine": {"buffer_capacity": 2.5}}, "engine.buffer_capacity: must be an integer"),
    ({"engine": {"buffer_capacity": True}}, "engine.buffer_capacity: must be an integer"),
    ({"engine": {"history": 1}}, "engine.history: must be an integer >= 3"),
    ({"engine": {"history": 5000}}, "engine.history: 5000 exceeds engine.buffer_capacity 4096"),
    ({"engine": {"min_history": 0}}, "engine.min_history: must be an integer >= 3"),
    ({"engine": {"calib_origins": "many"}}, "engine.calib_origins: must be an integer"),
    ({"engine": {"calib_spread": -1}}, r"^engine.calib_spread: must be an integer >= 0 and <= 1024, got -1$"),
    ({"engine": {"kalman_live_pairs": 1}}, r"^engine.kalman_live_pairs: must be true or false, got 1$"),
    ({"engine": {"kalman_live_pairs": "yes"}}, "engine.kalman_live_pairs: must be true or false, got 'yes'"),
    ({"engine": {"capacity": 5}}, "engine.capacity: unknown key; valid: buffer_capacity, history"),
    ({"short_term": {"models": []}}, "short_term.models: must be a non-empty list"),
    ({"short_term": {"models": "fused"}}, "short_term.models: must be a non-empty list"),
    ({"short_term": {"models": ["fused", "prophet"]}}, r"short_term.models\[1\]: unknown model 'prophet'; valid: auto"),
    ({"short_term": {"models": ["/no/such/model.onnx"]}}, r"short_term.models\[0\]: no such ONNX file"),
    ({"short_term": {"horizon": 0}}, "short_term.horizon: must be an integer >= 1"),
    ({"short_term": {"horizon": 10**7}}, "short_term.horizon: must be an integer >= 1 and <= 1000000"),
    ({"short_term": {"step_s": -1}}, "short_term.step_s: must be a positive number or null, got -1"),
    ({"short_term": {"step_s": float("inf")}}, "short_term.step_s: must be a positive number"),
    ({"long_term": {"model": 3}}, "long_term.model: must be a model name or .onnx path"),
    ({"long_term": {"model": "nope"}}, "long_term.model: 'nope' is neither a model name nor an existing file"),
    ({"long_term": {"step_factor": 0}}, "long_term.step_factor: must be a positive number, got 0"),
    ({"long_term": {"horizon": -1}}, "long_term.horizon: must be an integer >= 1"),
    ({"onnx": {"providers": "CPUExecutionProvider"}}, "onnx.providers: must be a list of provider names or null"),
    ({"onnx": {"providers": [1]}}, "onnx.providers: must be a list"),
    # the forecaster refuses a name twice; accepted here, every ONNX model of the Engine was unhealthy
    ({"onnx": {"providers": ["CPUExecutionProvider", "CPUExecutionProvider"]}},
     r"onnx.providers\[1\]: 'CPUExecutionProvider' is listed twice"),
    ({"onnx": {"intra_op_threads": 0}}, "onnx.intra_op_threads: must be an integer >= 1"),
    ({"onnx": {"detrend_r2": 1.2}}, r"^onnx.detrend_r2: must be a number in \[0, 1\] or null, got 1.2$"),
    ({"onnx": {"detrend_r2": "high"}}, "onnx.detrend_r2: must be a number in"),
    ({"covariates": {"metrics": "yes"}}, "covariates.metrics: must be true or false, got 'yes'"),
    ({"covariates": {"interval_s": 0}}, "covariates.interval_s: must be a positive number"),
    ({"covariates": {"capacity": 1}}, "covariates.capacity: must be an integer >= 2"),
    ({"covariates": {"names": "temperature"}}, "covariates.names: must be a list of names or null"),
    ({"covariates": {"names": ["temp erature"]}}, r"covariates.names\[0\]: must be a Python identifier"),
    ({"covariates": {"names": ["temperature", "offset"]}}, r"covariates.names\[1\]: 'offset' is an argument"),
    ({"covariates": {"names": ["a", "a"]}}, "covariates.names: duplicate names"),
    ({"bogus": {}}, "bogus: unknown section; valid: engine, short_term, long_term, onnx, covariates"),
    ({"engine": [1, 2]}, "engine: must be a mapping, got list"),
])
def test_bad_values_name_the_key(cfg, match):
    with pytest.raises(ConfigError, match=match):
        load_config(cfg)
    with pytest.raises(ValueError):           # ConfigError is a ValueError too
        chronotick.Engine(cfg)


def test_bad_sources(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such config file"):
        load_config(str(tmp_path / "missing.yaml"))
    p = tmp_path / "bad.yaml"
    p.write_text("engine: [1, 2\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(str(p))
    p.write_text("- just\n- a list\n")
    with pytest.raises(ConfigError, match="config must be a mapping of sections, got list"):
        load_config(str(p))
    with pytest.raises(ConfigError, match="config must be None, a dict or a YAML path, got int"):
        load_config(42)


def test_an_onnx_path_is_a_valid_model(tmp_path):
    p = tmp_path / "m.onnx"
    p.write_bytes(b"not really onnx")
    cfg = load_config({"long_term": {"model": str(p)}, "short_term": {"models": ["fused", str(p)]}})
    assert cfg["long_term"]["model"] == str(p)
    # any case of the extension, as predict(model=PATH) and models.register take it (the
    # config had refused M.ONNX as an unknown model name)
    q = tmp_path / "M.ONNX"
    q.write_bytes(b"not really onnx")
    cfg = load_config({"long_term": {"model": str(q)}, "short_term": {"models": ["fused", str(q)]}})
    assert cfg["short_term"]["models"] == ["fused", str(q)]
    with pytest.raises(ConfigError, match="no such ONNX file"):
        load_config({"short_term": {"models": [str(tmp_path / "gone.Onnx")]}})


def test_fused_members_match_the_core():
    from chronotick import _core
    from chronotick import models as registry
    assert tuple(_core.DEFAULT_ENSEMBLE) == registry.FUSED_MEMBERS


def test_kalman_live_pairs_reaches_the_models():
    # engine.kalman_live_pairs sets ModelParams.kalman_live_pairs (the Kalman member's calibration)
    import numpy as np
    t = np.arange(300) * 64.0
    y = 1e-3 * np.cumsum(np.cumsum(np.random.default_rng(4).normal(0, 0.01, 300))) + \
        np.random.default_rng(5).normal(0, 3e-5, 300)
    out = {}
    for live in (False, True):
        with chronotick.Engine({"engine": {"kalman_live_pairs": live},
                                "short_term": {"models": ["kalman"], "horizon": 64}}) as eng:
            assert eng._params.kalman_live_pairs is live
            eng.observe_many(t, y)
            out[live] = eng.predict_short_term()
    assert DEFAULTS["engine"]["kalman_live_pairs"] is False
    assert not np.array_equal(out[False].quantiles, out[True].quantiles)


def test_numpy_numbers_are_taken_as_the_python_ones():
    # Found by an audit (2026-12-05): np.int64(8) for a horizon was "must be an integer >= 1"
    import numpy as np
    cfg = load_config({"short_term": {"horizon": np.int64(8), "step_s": np.float32(64.0)},
                       "engine": {"buffer_capacity": np.int32(1000), "kalman_live_pairs": np.bool_(True)},
                       "long_term": {"step_factor": np.int64(4)}})
    assert cfg["short_term"]["horizon"] == 8 and type(cfg["short_term"]["horizon"]) is int
    assert cfg["short_term"]["step_s"] == 64.0 and type(cfg["short_term"]["step_s"]) is float
    assert type(cfg["engine"]["buffer_capacity"]) is int and cfg["engine"]["kalman_live_pairs"] is True
    with pytest.raises(ConfigError, match=r"short_term.horizon: must be an integer >= 1 .*got 0"):
        load_config({"short_term": {"horizon": np.int64(0)}})


def test_a_number_yaml_reads_as_text_is_named_so(tmp_path):
    p = tmp_path / "c.yaml"
    p.write_text("long_term:\n  step_factor: 1e1\n")
    with pytest.raises(ConfigError, match=r"long_term.step_factor: must be a positive number, got '1e1' "
                                          r"\(a string: YAML reads an exponent without a dot"):
        load_config(str(p))
