"""Probe of exported Chronos-Bolt models other than the shipped clock-bolt.

Every real user exports their own checkpoint (`chronotick export chronos-bolt`)
and uses it; these tests export two small randomly initialised Bolts whose
shapes differ from clock-bolt (context 64 / horizon 16 / patches of 16, and
context 96 / horizon 32 / patches of 8 / d_model 64) and drive them through
predict(), the Engine and the backtest. Needs the `export` extra; skipped
without it.
"""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

from conftest import require_export_extra  # noqa: E402

require_export_extra()

import chronotick
from chronotick.models.export_bolt import export_chronos_bolt, save_random_bolt
from chronotick.models.onnx import OnnxForecaster

SPECS = {
    # name: (checkpoint config, export context)
    "small": (dict(context=64, prediction_length=16, d_model=32, d_ff=64, patch=16), 64),
    "wide": (dict(context=96, prediction_length=32, d_model=64, d_ff=64, patch=8, num_heads=4), 96),
}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    """name -> path of its exported .onnx (card beside it), each in its own folder as model.onnx:
    two users' exports that share a file name."""
    root = tmp_path_factory.mktemp("bolts")
    out = {}
    for name, (cfg, context) in SPECS.items():
        ckpt = save_random_bolt(str(root / f"{name}-ckpt"), seed=1, initializer_factor=0.1, **cfg)
        path = root / name / "model.onnx"
        export_chronos_bolt(ckpt, str(path), context=context, log=lambda m: None)
        out[name] = str(path)
    return out


def _series(n=200, step=64.0, seed=0):
    rng = np.random.default_rng(seed)
    t = 1.7e9 + step * np.arange(n) + rng.uniform(-2, 2, n)
    y = np.cumsum(rng.normal(size=n)) * 1e-4
    return t, y


def test_the_exports_have_the_shapes_asked_for(exported):
    small, wide = OnnxForecaster(exported["small"]), OnnxForecaster(exported["wide"])
    assert (small.context, small.num_levels, small.horizon) == (64, 9, 16)
    assert (wide.context, wide.num_levels, wide.horizon) == (96, 9, 32)


def test_predict_names_a_registered_model_by_its_registered_name(exported, registry):
    # Was: fc.model and the weights were named after the file ("model"), not the name the
    # model was registered under ("mine"), so two exports both saved as model.onnx could not
    # be told apart in a forecast
    registry.register("mine", exported["small"])
    t, y = _series()
    fc = chronotick.predict(y, t, horizon=4, model="mine")
    assert fc.model == "mine" and list(fc.weights) == ["mine"]
    assert np.all(np.isfinite(fc.quantiles)) and fc.mean.shape == (4,)
    with pytest.raises(ValueError, match=r"model mine forecasts at most 16 steps"):
        chronotick.predict(y, t, horizon=17, model="mine")


def test_predict_beyond_a_short_model_says_which_horizon_fits(exported, registry):
    # Was: predict(model=NAME)'s default horizon (64 steps) with a model exported with
    # prediction_length 16 failed with "target_times[16] = ... is 1088 s ahead": an argument the
    # caller never passed, and no word of the horizon that would do
    registry.register("short-bolt", exported["small"])
    t, y = _series()
    with pytest.raises(ValueError, match=r"model short-bolt forecasts at most 16 steps .* 64 forecast times "
                                         r".* pass horizon <= 16 \(or horizon_s <= 10"):
        chronotick.predict(y, t, model="short-bolt")
    with pytest.raises(ValueError, match=r"pass horizon <= 8 "):
        chronotick.predict(y, t, model="short-bolt", step_s=128.0, horizon=9)
    assert chronotick.predict(y, t, model="short-bolt", horizon=16).mean.shape == (16,)
    assert chronotick.predict(y, t, model="short-bolt", step_s=128.0, horizon=8).mean.shape == (8,)


def test_two_models_sharing_a_file_name_are_two_members_of_the_fusion(exported, registry):
    # Was: both forecasters were named "model" (their files' stem): the fusion listed
    # "fused(robust,regression,kalman,model,model)" and the weights dict kept one of the two,
    # so the weights no longer summed to 1 and health() named members the weights did not
    registry.register("small-bolt", exported["small"])
    registry.register("wide-bolt", exported["wide"])
    t, y = _series(300)
    for models, names in ((["fused", "small-bolt", "wide-bolt"], ("small-bolt", "wide-bolt")),
                          (["small-bolt", "wide-bolt"], ("small-bolt", "wide-bolt")),
                          (["fused", exported["small"], exported["wide"]], (exported["small"], exported["wide"]))):
        with chronotick.Engine({"short_term": {"models": models, "horizon": 8}}) as eng:
            eng.observe_many(t, y)
            for fc in (eng.predict_short_term(), eng.predict_fused()):
                assert set(names) <= set(fc.weights), (models, list(fc.weights), fc.model)
                total = sum(np.asarray(w) for w in fc.weights.values())
                np.testing.assert_allclose(total, 1.0, atol=1e-9)
            h = eng.health()
            assert h["ok"] and set(names) <= set(h["models"])


def test_a_path_named_like_a_classical_model_is_not_merged_with_it(exported, tmp_path):
    # a user's export saved as kalman.onnx beside the classical kalman: two members, not one
    path = tmp_path / "kalman.onnx"
    shutil.copy(exported["small"], path)
    shutil.copy(exported["small"][:-5] + ".json", tmp_path / "kalman.json")
    t, y = _series(300)
    with chronotick.Engine({"short_term": {"models": ["fused", str(path)]}}) as eng:
        eng.observe_many(t, y)
        fc = eng.predict_short_term()
        assert {"kalman", str(path)} <= set(fc.weights), list(fc.weights)
        np.testing.assert_allclose(sum(np.asarray(w) for w in fc.weights.values()), 1.0, atol=1e-9)


def test_a_model_file_replaced_and_registered_again_is_loaded_again(exported, tmp_path, registry):
    # Was: predict(model=NAME) kept the forecaster (session, horizon, memo) of the file first
    # loaded from that path: a re-export to the same path, registered again, was neither
    # checked nor used (here: still refused beyond the old model's 16 steps)
    path = tmp_path / "mine.onnx"

    def put(name):
        for ext in (".onnx", ".json"):
            shutil.copy(exported[name][:-5] + ext, str(path)[:-5] + ext + ".tmp")
            os.replace(str(path)[:-5] + ext + ".tmp", str(path)[:-5] + ext)
    t, y = _series()
    put("small")
    registry.register("mine", str(path))
    a = chronotick.predict(y, t, horizon=4, model="mine")
    put("wide")
    registry.register("mine", str(path))
    b = chronotick.predict(y, t, horizon=20, model="mine")     # the new model reaches 32 steps
    assert b.mean.shape == (20,) and np.all(np.isfinite(b.quantiles))
    fresh = OnnxForecaster(str(path), name="mine").forecast(t, y, b.times[:4], [0.1, 0.5, 0.9])
    c = chronotick.predict(y, t, horizon=4, model="mine")
    np.testing.assert_allclose(c.mean, fresh.mean, rtol=1e-12, atol=0)
    assert not np.allclose(a.mean, c.mean)
    assert json.load(open(str(path)[:-5] + ".json"))["prediction_length"] == 32


def test_backtest_refuses_a_horizon_beyond_an_exported_model_at_once(exported, registry, shared_data, capsys):
    # Was: the run started and failed at its first target with "target_times[0] = ... is 2003 s
    # ahead" (later: advice about step_s / horizon_s, which the backtest sets itself), not naming
    # --horizon
    from chronotick.cli import main
    trace = os.path.join(shared_data, "clock-traces", "homelab_2h_2025-10-16.csv")
    models = f"mine={exported['small']}"
    assert main(["backtest", trace, "--models", models, "--horizon", "20", "--no-progress"]) == 2   # a bad option value
    err = capsys.readouterr().err
    assert "--horizon 20: model mine forecasts at most 16 steps" in err and "--horizon <= 16" in err
    assert main(["backtest", trace, "--models", models, "--horizon", "4", "--no-progress"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith("mine "))
    assert "nan" not in row.lower()
