"""Edge cases of `chronotick export chronos-bolt` (chronotick.models.export_bolt).

Tiny random Chronos-Bolt checkpoints, no download. Needs the `export` extra;
skipped without it (CHRONOTICK_REQUIRE_EXPORT: fail instead, as in test_export.py).
"""
from __future__ import annotations

import json
import os
import shutil
import time

import numpy as np
import pytest

from conftest import require_export_extra  # noqa: E402

require_export_extra()

from chronotick.cli import main
from chronotick.models.export_bolt import (ExportError, export_chronos_bolt, load_pipeline, save_random_bolt,
                                           verification_inputs)


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    d = tmp_path_factory.mktemp("bolt_probe")
    return save_random_bolt(str(d / "ckpt"), seed=1, context=64, d_model=32, d_ff=64, initializer_factor=0.1)


def test_unreachable_hub_id_fails_at_once_in_one_line(tmp_path, monkeypatch, capsys):
    # no hub and not cached: one clear line, not huggingface_hub's ~30 s of logged retries
    from huggingface_hub import constants
    monkeypatch.setattr(constants, "ENDPOINT", "http://127.0.0.1:9")     # nothing listens there
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)
    t = time.monotonic()
    rc = main(["export", "chronos-bolt", "--checkpoint", "nobody-xyz/chronos-bolt-none", "--context", "32",
               "--out", str(tmp_path / "m.onnx")])
    took = time.monotonic() - t
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 1 and took < 15, took
    assert err[-1].startswith("chronotick export: cannot load checkpoint nobody-xyz/chronos-bolt-none")
    assert not os.listdir(tmp_path) or os.listdir(tmp_path) == ["cache"]


def test_weights_that_do_not_match_the_config_are_refused(ckpt, tmp_path):
    # transformers initialises missing parameters at random (the patch embeddings without a
    # word): the pipeline would carry the same random values and the parity check pass
    from safetensors.torch import load_file, save_file
    more = tmp_path / "more_layers"
    shutil.copytree(ckpt, more)
    cfg = json.load(open(more / "config.json"))
    cfg["num_layers"] = 2
    json.dump(cfg, open(more / "config.json", "w"))
    with pytest.raises(ExportError, match="do not match its config.json"):
        load_pipeline(str(more))
    no_head = tmp_path / "no_head"
    shutil.copytree(ckpt, no_head)
    sd = load_file(str(no_head / "model.safetensors"))
    save_file({k: v for k, v in sd.items() if not k.startswith("output_patch_embedding.")},
              str(no_head / "model.safetensors"), metadata={"format": "pt"})
    with pytest.raises(ExportError, match="output_patch_embedding"):
        load_pipeline(str(no_head))
    load_pipeline(ckpt)     # a complete checkpoint loads
    # weights the config has no place for: a config.json edited to fewer layers than were trained.
    # transformers drops them with a warning, and the export had written the cut-down model, its
    # parity against the same cut-down pipeline fine (an audit, 2026-12-06)
    two = save_random_bolt(str(tmp_path / "two_layers"), seed=1, context=64, d_model=32, d_ff=64, num_layers=2,
                           num_decoder_layers=2)
    cfg = json.load(open(os.path.join(two, "config.json")))
    cfg["num_layers"] = 1
    json.dump(cfg, open(os.path.join(two, "config.json"), "w"))
    with pytest.raises(ExportError, match=r"do not match its config.json: \d+ parameters the config has no place "
                                          r"for \(encoder.block.1.*more layers than num_layers"):
        load_pipeline(two)
    with pytest.raises(ExportError, match="the config has no place for"):
        export_chronos_bolt(two, str(tmp_path / "cut.onnx"), context=64, log=lambda m: None)
    assert not os.path.exists(tmp_path / "cut.onnx")


def test_verification_inputs_for_the_shortest_contexts():
    for context in (1, 2, 3):
        x = verification_inputs(context)
        assert x.shape == (9, context) and x.dtype == np.float32
        assert np.isnan(x[-1]).all()         # nothing observed: the scaling's all-missing branch
        assert np.isfinite(x[2, -1])      # the left-padded row keeps its newest observation


def test_a_wrong_graph_is_refused_and_nothing_is_left_behind(ckpt, tmp_path, monkeypatch):
    import onnx
    from onnx import helper, numpy_helper

    import chronotick.models.graph_fusions as gf

    def off_by_one_percent(model, num_heads, inputs, rtol=1e-4):
        m = onnx.ModelProto()
        m.CopyFrom(model)
        out = m.graph.output[0].name
        for n in m.graph.node:
            n.output[:] = [o + "_raw" if o == out else o for o in n.output]
        m.graph.initializer.append(numpy_helper.from_array(np.array(1.01, dtype=np.float32), "k101"))
        m.graph.node.append(helper.make_node("Mul", [out + "_raw", "k101"], [out]))
        return m, {"nodes": [1, 1], "fused": {}}
    monkeypatch.setattr(gf, "fuse_for_ort", off_by_one_percent)
    out = tmp_path / "m.onnx"
    out.write_bytes(b"old model")
    with pytest.raises(ExportError, match="differs from the PyTorch pipeline"):
        export_chronos_bolt(ckpt, str(out), context=20, log=lambda m: None)
    assert sorted(os.listdir(tmp_path)) == ["m.onnx"] and out.read_bytes() == b"old model"
