"""Export of a Chronos-Bolt checkpoint to ONNX, end to end.

A randomly initialised Chronos-Bolt model (chronos-forecasting's own class,
built from a T5Config + chronos_config, no download) is saved to a temporary
directory and exported through the real path (`chronotick export
chronos-bolt`), which verifies the ONNX graph against the PyTorch pipeline
itself. Needs the `export` extra; skipped without it.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest

from conftest import require_export_extra  # noqa: E402

require_export_extra()

import torch
from chronotick.cli import main
from chronotick.errors import ModelError
from chronotick.models import export_bolt
from chronotick.models.export_bolt import export_chronos_bolt, load_pipeline, save_random_bolt, verification_inputs
from chronotick.models.onnx import OnnxForecaster

CONTEXT = 48   # not a multiple of the patch size: the exported graph pads like the model does


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("bolt")
    ckpt = save_random_bolt(str(d / "ckpt"), seed=1, context=64, d_model=32, d_ff=64, initializer_factor=0.1)
    out = d / "tiny.onnx"
    rc = main(["export", "chronos-bolt", "--checkpoint", ckpt, "--context", str(CONTEXT), "--out", str(out)])
    assert rc == 0
    return ckpt, str(out)


def test_export_writes_model_and_card(exported):
    ckpt, out = exported
    with open(out[:-5] + ".json") as f:
        card = json.load(f)
    assert card["architecture"] == "ChronosBoltModelForForecasting"
    assert card["context"] == CONTEXT and card["prediction_length"] == 64
    assert card["quantile_levels"] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert card["source_checkpoint"] == ckpt
    assert card["export"]["torch"] == torch.__version__
    assert 0 <= card["parity"]["max_abs_diff_normalised"] <= 1e-3
    # onnxruntime's fused operators by default: every attention block (encoder self, decoder
    # self and cross) one MultiHeadAttention, the RMS norms fused; the parity above is of this graph
    import onnx
    ops = [n.op_type for n in onnx.load(out).graph.node]
    fused = card["graph"]["ort_fusions"]["fused"]
    assert fused["attention"] == 3
    assert "Softmax" not in ops and "ReduceMean" not in ops
    before, after = card["graph"]["ort_fusions"]["nodes"]
    assert after == len(ops) < before
    # then the probe-based folds (models/graph_folding.py): the decoder's self-attention reads
    # only its start token, the same for every input, so it is folded away; the encoder's and the
    # cross-attention stay. The attention mask's index gather is an Unsqueeze, the scaling's NaN
    # counts are merged
    assert ops.count("MultiHeadAttention") == 2 and "GatherND" not in ops
    assert fused["single_key_attention"] == 1 and fused["batch_invariant"] >= 2
    assert fused["gather_reshape"] == 1 and fused["nan_identities"] >= 2 and fused["common_subexpressions"] >= 4


def test_export_without_fusions_is_standard_onnx_with_the_same_outputs(tmp_path, exported):
    import onnx
    import onnxruntime as ort
    ckpt, fused = exported
    out = tmp_path / "plain.onnx"
    assert main(["export", "chronos-bolt", "--checkpoint", ckpt, "--context", str(CONTEXT), "--out", str(out),
                 "--no-ort-fusions"]) == 0
    card = json.load(open(tmp_path / "plain.json"))
    assert card["graph"]["ort_fusions"] is False
    m = onnx.load(out)
    assert {n.domain for n in m.graph.node} <= {"", "ai.onnx"} and "Softmax" in [n.op_type for n in m.graph.node]
    x = verification_inputs(CONTEXT, seed=3)
    a = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"]).run(None, {"context": x})[0]
    b = ort.InferenceSession(fused, providers=["CPUExecutionProvider"]).run(None, {"context": x})[0]
    rel = np.abs(a - b).max(axis=(1, 2)) / np.abs(a).max(axis=(1, 2))
    assert np.all(rel < 1e-5)


def test_fusions_check_themselves_and_keep_the_original_when_wrong(exported, tmp_path, monkeypatch):
    # the wrong head count: the rewritten graph does not run (onnxruntime refuses its attention
    # bias), so fuse_for_ort keeps the original and says why
    import onnx
    from chronotick.models.graph_fusions import fuse_for_ort
    ckpt, _ = exported
    out = tmp_path / "plain.onnx"
    export_chronos_bolt(ckpt, str(out), context=CONTEXT, ort_fusions=False, log=lambda m: None)
    plain = onnx.load(out)
    x = {"context": verification_inputs(CONTEXT)}
    good, report = fuse_for_ort(plain, 2, x)
    assert report["fused"]["attention"] == 3 and len(good.graph.node) < len(plain.graph.node)
    # the input scaling's clean-up matches the exported graph: nan_to_num of the mean, the std and
    # the patch mask; Not(Not(.)) in the two non-NaN counts
    assert report["fused"]["nan_to_num"] == 3 and report["fused"]["double_not"] == 2
    kept, report = fuse_for_ort(plain, 1, x)
    assert kept is plain and "number of heads" in report["kept_original"]
    # a rewritten graph that runs but answers differently is refused too
    import chronotick.models.graph_fusions as gf
    real, calls = gf._run, []

    def off_on_second_call(model_bytes, inputs):
        out = real(model_bytes, inputs)
        calls.append(1)
        return out if len(calls) == 1 else [o * (1 + 1e-3) for o in out]
    monkeypatch.setattr(gf, "_run", off_on_second_call)
    kept, report = fuse_for_ort(plain, 2, x)
    assert kept is plain and "differs by 0.001" in report["kept_original"]


def test_exported_graph_matches_pipeline_with_dynamic_batch(exported):
    import onnxruntime as ort
    ckpt, out = exported
    pipe = load_pipeline(ckpt)
    sess = ort.InferenceSession(out, providers=["CPUExecutionProvider"])
    x = verification_inputs(CONTEXT, seed=5)
    assert np.isnan(x[-1]).all()                          # an all-missing row among them
    for rows in (x[:1], x, np.concatenate([x] * 5)):     # batch 1, 9, 45
        got = sess.run(["quantiles"], {"context": rows})[0]
        with torch.no_grad():
            want = pipe.predict(torch.from_numpy(rows.copy())).numpy()
        assert got.shape == (rows.shape[0], 9, 64)
        assert np.all(np.isfinite(got))
        # normalised by the series' own scale (floored at float32's resolution of its level; 1 where
        # nothing is observed, as the graph's scaling): the export's own unit
        unit = export_bolt._scale(rows)[:, :, None]
        assert np.all(np.isfinite(unit)) and np.max(np.abs(got - want) / unit) <= 1e-3


def test_exported_model_runs_in_the_forecaster(exported):
    _, out = exported
    f = OnnxForecaster(out)
    assert (f.context, f.num_levels, f.horizon) == (CONTEXT, 9, 64)
    t = 1e9 + np.arange(30) * 64.0
    y = np.cumsum(np.random.default_rng(0).normal(size=30)) * 1e-3
    fc = f.forecast(t, y, [t[-1] + 64.0, t[-1] + 640.0], [0.1, 0.5, 0.9])
    assert np.all(np.isfinite(fc.quantiles)) and np.all(np.diff(fc.quantiles, axis=1) >= 0)
    assert f.pins_flat and f.architecture == "ChronosBoltModelForForecasting"


def test_an_export_parted_from_its_card_is_still_chronos_bolt(exported, tmp_path):
    # the architecture is in the graph's metadata as well as in the card: copied alone, the
    # .onnx keeps the Chronos-Bolt handling (spike mask, flat-window pinning), no warning
    import shutil
    import warnings
    _, out = exported
    alone = str(tmp_path / "alone.onnx")
    shutil.copyfile(out, alone)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = OnnxForecaster(alone)
    assert f.card == {} and f.pins_flat and f.spike_c is not None


def test_parity_check_catches_a_wrong_graph(tmp_path, exported):
    from chronotick.models.export_bolt import parity
    ckpt, out = exported
    assert parity(out, load_pipeline(ckpt), verification_inputs(CONTEXT)) <= 1e-3
    # the same graph against another checkpoint's pipeline: far beyond the tolerance
    other = save_random_bolt(str(tmp_path / "other"), seed=7, context=64, d_model=32, d_ff=64)
    assert parity(out, load_pipeline(other), verification_inputs(CONTEXT)) > 1e-2


def test_export_rejects_bad_requests(tmp_path, exported):
    ckpt, _ = exported
    with pytest.raises(ValueError, match="exceeds the model's context_length 64"):
        export_chronos_bolt(ckpt, str(tmp_path / "y.onnx"), context=65, log=lambda m: None)
    with pytest.raises(ValueError, match="must name a .onnx file"):
        export_chronos_bolt(ckpt, str(tmp_path / "y.bin"), context=32, log=lambda m: None)
    assert main(["export", "chronos-bolt", "--checkpoint", str(tmp_path / "missing"), "--out",
                 str(tmp_path / "z.onnx")]) == 1
    assert not os.path.exists(tmp_path / "z.onnx")
    with pytest.raises(ModelError):
        OnnxForecaster(tmp_path / "z.onnx")


def test_the_export_records_its_architecture_and_levels_in_the_graph(exported):
    # beside the card, in the graph's metadata: a loader without the card still knows them, and
    # refuses a card that contradicts them (since 2026-12-06 the levels too; an audit)
    import onnx

    from chronotick.models.onnx import ARCHITECTURE_KEY, LEVELS_KEY
    _, out = exported
    meta = {p.key: p.value for p in onnx.load(out, load_external_data=False).metadata_props}
    card = json.load(open(os.path.splitext(out)[0] + ".json"))
    assert meta[ARCHITECTURE_KEY] == card["architecture"] == "ChronosBoltModelForForecasting"
    assert json.loads(meta[LEVELS_KEY]) == card["quantile_levels"]
