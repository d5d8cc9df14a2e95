"""export/train_clock_bolt.py, the script that makes the shipped model, run for real at a tiny size.

The same code path as the shipped clock-bolt (simulated data, chronos-forecasting's model class
and quantile loss, validation on real traces, export with its parity check, model card), with a
model of a few thousand parameters and a handful of steps. Checks what the issue asks of the
script: seeded and reproducible (two runs, identical weights; another seed, different ones), a
model card with the training record, validation on real traces only when they are there, and
an ONNX model that loads and forecasts. Needs the `export` extra; skipped without it.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil

import numpy as np
import pytest

from conftest import export_script, require_export_extra  # noqa: E402

require_export_extra()

from chronotick.models.onnx import OnnxForecaster

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TINY = ["--series", "8", "--steps", "4", "--steps-per-epoch", "2", "--batch", "4", "--context", "32",
        "--d-model", "16", "--d-ff", "32", "--layers", "1", "--decoder-layers", "1", "--heads", "2",
        "--threads", "1"]


def _script():
    return export_script("train_clock_bolt")


def _train(tmp, name, data_dir, seed=0, extra=(), env=None):
    """(out, the checkpoint's sha256, the model card) of a tiny run: in this process, or with `env`
    (extra environment) as a program (so --portable can pin torch's and MKL's code paths before torch
    is imported)."""
    out = tmp / f"{name}.onnx"
    ckpt = tmp / f"{name}-ckpt"
    argv = TINY + ["--seed", str(seed), "--data-dir", str(data_dir), "--out", str(out),
                   "--checkpoint-dir", str(ckpt), *extra]
    if env is None:
        assert _script().main(argv) == 0
    else:
        import subprocess
        import sys
        from conftest import child_env
        r = subprocess.run([sys.executable, os.path.join(REPO, "export", "train_clock_bolt.py"), *argv],
                           env=dict(child_env(), **env), capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
    weights = hashlib.sha256((ckpt / "model.safetensors").read_bytes()).hexdigest()
    card = json.loads(out.with_suffix(".json").read_text())
    return out, weights, card


@pytest.fixture(scope="module")
def empty_data(tmp_path_factory):
    d = tmp_path_factory.mktemp("no-traces")
    (d / "clock-traces").mkdir()
    return d


def test_seeded_and_reproducible(tmp_path, empty_data):
    out_a, w_a, card_a = _train(tmp_path, "a", empty_data, seed=0)
    out_b, w_b, card_b = _train(tmp_path, "b", empty_data, seed=0)
    _, w_c, _ = _train(tmp_path, "c", empty_data, seed=1)
    assert w_a == w_b, "the same seed gave different weights"
    assert w_a != w_c, "another seed gave the same weights"
    assert [h["train_loss"] for h in card_a["training"]["history"]] == \
        [h["train_loss"] for h in card_b["training"]["history"]]
    # the ONNX graph computes the same forecasts from the same weights
    x = np.cumsum(np.random.default_rng(3).normal(size=32)).astype(np.float32)[None] * 1e-3
    qa = OnnxForecaster(str(out_a)).run(x)
    qb = OnnxForecaster(str(out_b)).run(x)
    np.testing.assert_array_equal(qa, qb)


def test_portable_weights_do_not_depend_on_the_cpu_code_path(tmp_path, empty_data):
    """Another CPU emulated on this one: torch's kernels and MKL forced onto their AVX2 paths (a
    different rounding from this machine's own choice). With --portable the weights are the same
    bytes either way; without it the forced paths change them (so the first check is not vacuous)."""
    import torch
    avx2 = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "AVX2"}
    _, here, card = _train(tmp_path, "here", empty_data, extra=["--portable"], env={})
    _, there, _ = _train(tmp_path, "there", empty_data, extra=["--portable"], env=avx2)
    assert here == there
    assert card["training"]["portable"] == {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
    if torch.backends.cpu.get_cpu_capability() in ("AVX2", "AVX512"):      # the AVX2 path exists here
        _, plain, card_plain = _train(tmp_path, "plain", empty_data, env=avx2)
        assert plain != here and card_plain["training"]["portable"] is False


def test_portable_refuses_to_run_after_torch_is_imported(tmp_path, empty_data):
    # in this process torch is already imported (its kernels chosen): the flag could not take effect
    with pytest.raises(SystemExit) as e:
        _script().main(TINY + ["--portable", "--data-dir", str(empty_data), "--out", str(tmp_path / "m.onnx")])
    assert e.value.code == 2


def test_model_card_and_forecast(tmp_path, empty_data):
    out, _, card = _train(tmp_path, "m", empty_data)
    tr = card["training"]
    assert tr["steps"] == 4 and tr["series"] == 8 and tr["seed"] == 0
    assert [h["epoch"] for h in tr["history"]] == [1, 2]
    assert all(np.isfinite(h["train_loss"]) and "val_mae_ms" not in h for h in tr["history"])
    assert tr["validation"].startswith("none: no real traces")
    assert card["context"] == 32 and card["prediction_length"] == 64
    assert card["parity"]["max_abs_diff_normalised"] <= card["parity"]["tolerance"]
    assert card["source_checkpoint"] == "trained from scratch by export/train_clock_bolt.py"
    # loads with no network and forecasts a measured series (times in s, offsets in s)
    f = OnnxForecaster(str(out))
    t = 100.0 * np.arange(40)
    y = 1e-3 * np.sin(t / 900.0)
    q = np.asarray(f.forecast(t, y, t[-1] + 100.0 * np.arange(1, 4), levels=(0.1, 0.5, 0.9)).quantiles)
    assert q.shape == (3, 3) and np.all(np.isfinite(q)) and np.all(np.diff(q, axis=-1) >= 0)


def test_validates_on_real_traces_when_present(tmp_path, shared_data):
    d = tmp_path / "data"
    (d / "clock-traces").mkdir(parents=True)
    src = os.path.join(shared_data, "clock-traces", "homelab_2h_2025-10-16.csv")
    shutil.copy(src, d / "clock-traces")
    _, _, card = _train(tmp_path, "v", d)
    for h in card["training"]["history"]:
        v = h["val_mae_ms"]
        assert set(v) == {"model", "hold-last", "median-5"}
        assert all(np.isfinite(x) and x > 0 for x in v.values())
    # the baselines do not depend on the model: the same at every epoch
    assert len({json.dumps([h["val_mae_ms"]["hold-last"], h["val_mae_ms"]["median-5"]])
                for h in card["training"]["history"]}) == 1


@pytest.mark.parametrize("flag,value", [("--steps", "0"), ("--batch", "-1"), ("--pools", "1.5"),
                                        ("--short-p", "-0.1"), ("--lr", "nan"), ("--lr", "0"),
                                        ("--ema", "1.0"), ("--spike-c", "0"), ("--spike-c", "nan")])
def test_bad_arguments_named(tmp_path, capsys, flag, value):
    with pytest.raises(SystemExit) as e:
        _script().main([flag, value, "--out", str(tmp_path / "x.onnx")])
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert flag in err and value in err


def test_ema_ships_the_averaged_weights(tmp_path, empty_data):
    """--ema D: the exported model is the exponential moving average of the weights, not the last ones;
    the same training otherwise (identical loss history), recorded in the card."""
    import torch
    from safetensors.torch import load_file
    _, _, plain = _train(tmp_path, "p", empty_data)
    _, _, avg = _train(tmp_path, "a", empty_data, extra=("--ema", "0.5"))
    assert [h["train_loss"] for h in plain["training"]["history"]] == \
        [h["train_loss"] for h in avg["training"]["history"]]
    assert plain["training"]["ema"] == 0.0 and avg["training"]["ema"] == 0.5
    wp = load_file(str(tmp_path / "p-ckpt" / "model.safetensors"))
    wa = load_file(str(tmp_path / "a-ckpt" / "model.safetensors"))
    assert wp.keys() == wa.keys()
    assert any(not torch.equal(wp[k], wa[k]) for k in wp)


def test_spike_c_masks_the_training_contexts_as_the_runtime_does():
    """--spike-c C: each training context's gross outliers are set to NaN by the runtime's own
    check (cpp/windowing/spike_mask.h), a masked newest cell re-centring context and target on
    the newest kept one; without it the pairs are what they were (same random stream)."""
    mod = _script()
    rng = np.random.default_rng(5)
    data = 1e-3 + rng.normal(0.0, 1e-4, (1, 400))
    data[0, 200] += 1.0                              # a spike somewhere in most contexts
    plain = mod.sample_batch(np.random.default_rng(1), data, 16, 256, 64, 0.0)
    masked = mod.sample_batch(np.random.default_rng(1), data, 16, 256, 64, 0.0, spike_c=5.0)
    spiky = np.nanmax(np.abs(plain[0]), axis=1) > 0.5
    assert spiky.any() and not (np.nanmax(np.abs(masked[0]), axis=1) > 0.5).any()
    # the rest of each context is untouched (these contexts' newest cell is never the spike's)
    same = np.isfinite(masked[0])
    np.testing.assert_array_equal(masked[0][same], plain[0][same])
    assert (np.isnan(masked[0]) & np.isfinite(plain[0])).sum() == spiky.sum()
    # the newest cell a spike: masked, the pair re-centred on the cell before it
    ctx = np.concatenate([np.full(200, np.nan), data[0, :56] - data[0, 55]])
    ctx[-1] += 1.0
    tgt = data[0, 56:120] - data[0, 55]
    c2, t2 = ctx.copy(), tgt.copy()
    mod.mask_spikes_row(c2, t2, 5.0)
    assert np.isnan(c2[-1]) and c2[-2] == 0.0
    np.testing.assert_allclose(t2, tgt - ctx[-2], rtol=0, atol=1e-15)
    c3, t3 = ctx.copy(), tgt.copy()
    mod.mask_spikes_row(c3, t3, None)
    np.testing.assert_array_equal(c3, ctx)
