"""Edge cases of the ONNX side: `chronotick export chronos-bolt` (bad
checkpoints, --opset, --tolerance, nothing written on failure), the
OnnxForecaster's arguments (threads, providers, step_s/step_factor), model
cards that contradict their graph, and the model registry with a bad card.

The forecaster tests use a hand-built 'hold' graph (needs `onnx`); the export
tests a randomly initialised Chronos-Bolt (needs the `export` extra, skipped
without it; two real exports, ~30 s each).
"""
from __future__ import annotations

import json
import os
import re
import warnings

import numpy as np
import pytest

import chronotick
from chronotick.errors import ModelError

LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)


def hold_model(path, *, context=16, levels=LEVELS, horizon=64, card=None, input_name="context", offset=0.0,
               architecture="hold (test model)", meta_levels=None, nan_unless_zero=False):
    """quantiles[b, k, h] = context[b, -1] + offset + (levels[k] - 0.5) * 0.01 * (h + 1); card: written
    beside it; input_name: the graph's input (a wrong one makes a mismatched model); architecture:
    into the graph's metadata as `chronotick export` records it (None: none); meta_levels: the
    quantile levels' metadata text (chronotick export's LEVELS_KEY; None: none); nan_unless_zero:
    NaN output wherever the context holds a non-zero value."""
    onnx = pytest.importorskip("onnx")
    from onnx import TensorProto, helper, numpy_helper

    spread = ((np.asarray(levels) - 0.5)[:, None] * 0.01 * np.arange(1, horizon + 1)[None, :]
              + offset).astype(np.float32)
    inits = [numpy_helper.from_array(spread[None], "spread"),
             numpy_helper.from_array(np.array([-1], np.int64), "start"),
             numpy_helper.from_array(np.array([2**62], np.int64), "end"),
             numpy_helper.from_array(np.array([1], np.int64), "axis1")]
    nodes = [helper.make_node("Slice", [input_name, "start", "end", "axis1"], ["last"]),
             helper.make_node("Unsqueeze", ["last", "axis1"], ["last3"]),
             helper.make_node("Add", ["last3", "spread"], ["quantiles" if not nan_unless_zero else "q0"])]
    if nan_unless_zero:     # + sum(sqrt(-|x|)): 0 on zero contexts, NaN on any other
        nodes += [helper.make_node("Abs", [input_name], ["ax"]), helper.make_node("Neg", ["ax"], ["nx"]),
                  helper.make_node("Sqrt", ["nx"], ["sx"]),
                  helper.make_node("ReduceSum", ["sx", "axis1"], ["bad"], keepdims=1),
                  helper.make_node("Unsqueeze", ["bad", "axis1"], ["bad3"]),
                  helper.make_node("Add", ["q0", "bad3"], ["quantiles"])]
    graph = helper.make_graph(
        nodes, "hold", [helper.make_tensor_value_info(input_name, TensorProto.FLOAT, ["B", context])],
        [helper.make_tensor_value_info("quantiles", TensorProto.FLOAT, ["B", len(levels), horizon])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    from chronotick.models.onnx import ARCHITECTURE_KEY, LEVELS_KEY
    props = {ARCHITECTURE_KEY: architecture, LEVELS_KEY: meta_levels}
    helper.set_model_props(model, {k: v for k, v in props.items() if v is not None})
    onnx.save(model, str(path))
    if card is not None:
        with open(os.path.splitext(str(path))[0] + ".json", "w") as f:
            json.dump(card, f)
    return str(path)


@pytest.fixture
def hold(tmp_path):
    return hold_model(tmp_path / "hold.onnx")


# ---- OnnxForecaster arguments ----------------------------------------------------------------

def test_intra_op_threads_is_capped_and_numpy_integers_are_taken(hold):
    from chronotick.models.onnx import OnnxForecaster
    for bad in (2000, 1025, 2**40, -1, True, 2.0):
        with pytest.raises(ValueError, match=rf"intra_op_threads must be an integer in \[0, 1024\].*got {bad!r}"):
            OnnxForecaster(hold, intra_op_threads=bad)
    assert OnnxForecaster(hold, intra_op_threads=np.int64(2)).run(np.zeros((1, 16), np.float32)).shape == (1, 9, 64)


def test_step_s_rejects_bools_and_takes_numpy_reals(hold):
    from chronotick.models.onnx import OnnxForecaster
    for bad in (True, np.bool_(True)):
        with pytest.raises(ValueError, match=r"step_s must be a finite number > 0 or None, got (np\.)?True"):
            OnnxForecaster(hold, step_s=bad)
    f = OnnxForecaster(hold, step_s=np.float32(64))
    assert f.step_s == 64.0 and type(f.step_s) is float
    assert OnnxForecaster(hold, step_s=np.int64(10)).step_s == 10.0
    g = OnnxForecaster(hold, step_factor=np.int64(8))
    assert g.step_factor == 8.0
    t = 1e9 + np.arange(40) * 10.0
    fc = g.forecast(t, np.zeros(40), [t[-1] + 80.0], [0.1, 0.5, 0.9])
    assert np.all(np.isfinite(fc.quantiles))


def test_step_factor_is_bounded(hold):
    from chronotick.models.onnx import OnnxForecaster
    for bad in (1e300, 1e7, 1e-9, np.bool_(True)):
        with pytest.raises(ValueError, match=r"step_factor must be a finite number in \[1e-06, 1e\+06\], got"):
            OnnxForecaster(hold, step_factor=bad)
    assert OnnxForecaster(hold, step_factor=1e6).step_factor == 1e6


def test_providers_string_and_unknown_names_are_refused(hold):
    from chronotick.models.onnx import OnnxForecaster
    with pytest.raises(ValueError, match=r"got the string 'CPUExecutionProvider' \(write \['CPUExecutionProvider'\]\)"):
        OnnxForecaster(hold, providers="CPUExecutionProvider")
    with pytest.raises(ValueError, match=r"unknown onnxruntime provider\(s\) \['CUDAExecutionProvidr'\]"):
        OnnxForecaster(hold, providers=["CUDAExecutionProvidr", "CPUExecutionProvider"])
    with pytest.raises(ValueError, match="providers is empty"):
        OnnxForecaster(hold, providers=[])
    with pytest.raises(ValueError, match="providers entry 3"):
        OnnxForecaster(hold, providers=[3])
    # a mapping: list() of it had kept the names and silently dropped the options (device_id ...)
    with pytest.raises(ValueError, match=r"got a mapping .*write \[\('CPUExecutionProvider', \{\}\)\]"):
        OnnxForecaster(hold, providers={"CPUExecutionProvider": {}})


def test_an_unavailable_provider_falls_back_to_cpu_visibly(hold, monkeypatch):
    import onnxruntime as ort
    from chronotick.models.onnx import OnnxForecaster
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # the default: no fallback, no warning
        f = OnnxForecaster(hold, providers=["CPUExecutionProvider"])
    assert f.providers == ["CPUExecutionProvider"] and f.provider_note == ""
    assert f.requested_providers == ["CPUExecutionProvider"]
    assert OnnxForecaster(hold).requested_providers is None
    # CUDA known to onnxruntime but not available in this build: CPU, said in provider_note and a warning
    monkeypatch.setattr(ort, "get_available_providers", lambda: ["CPUExecutionProvider"])
    with pytest.warns(RuntimeWarning, match="CUDAExecutionProvider .*not available"):
        f = OnnxForecaster(hold, providers=["CUDAExecutionProvider"])
    assert f.providers == ["CPUExecutionProvider"]
    assert f.requested_providers == ["CUDAExecutionProvider"]
    assert "CUDAExecutionProvider" in f.provider_note and "running on CPUExecutionProvider" in f.provider_note
    assert f.run(np.zeros((1, 16), np.float32)).shape == (1, 9, 64)


def test_cuda_runs_without_tf32_unless_given_options():
    # On an H200, TF32 matrix products (onnxruntime's CUDA default) moved clock-bolt's quantiles by
    # up to 0.09 of the series' scale from the CPU's; use_tf32 0 agreed to 5e-5 (docs/gpu.md)
    from chronotick.models.onnx import OnnxForecaster

    class Ort:   # an onnxruntime-gpu build, as far as the resolution asks
        @staticmethod
        def get_all_providers():
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]

        @staticmethod
        def get_available_providers():
            return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    resolve = OnnxForecaster._resolve_providers
    assert resolve(None, Ort) == ([("CUDAExecutionProvider", {"use_tf32": "0"}), "CPUExecutionProvider"], None)
    assert resolve(["CUDAExecutionProvider"], Ort)[0] == [("CUDAExecutionProvider", {"use_tf32": "0"}),
                                                          "CPUExecutionProvider"]
    mine = [("CUDAExecutionProvider", {"device_id": 1}), "CPUExecutionProvider"]
    assert resolve(mine, Ort)[0] == mine                      # given options are the user's, untouched


def test_the_device_path_rebinds_each_input_and_gives_the_host_results(hold):
    # A device provider copies a bound host input when it is bound: the preallocated binding
    # reused as on the CPU ran every forecast on the buffer's first contents (on CUDA: garbage
    # and NaN). The device path rebinds before each run and waits for the outputs; run on the
    # CPU here, it must give the CPU path's results call after call.
    from chronotick.models.onnx import OnnxForecaster
    cpu, dev = OnnxForecaster(hold), OnnxForecaster(hold)
    dev._on_device = True
    rng = np.random.default_rng(3)
    for batch in (1, 1, 3, 1):
        x = rng.normal(size=(batch, 16)).astype(np.float32)
        np.testing.assert_array_equal(dev.run(x), cpu.run(x))


# ---- model cards against their graph ---------------------------------------------------------

@pytest.mark.parametrize("card, match", [
    ({"num_quantiles": 5}, r"graph outputs 9 quantiles, the model card's num_quantiles says 5"),
    ({"num_quantiles": 5, "quantile_levels": list(LEVELS)}, r"num_quantiles says 5"),
    ({"quantile_levels": [0.1, 0.5, 0.9]}, r"graph outputs 9 quantiles, the model card's quantile_levels has 3"),
    ({"context": "16"}, r"model card's context must be a positive integer, got '16'"),
    ({"context": 16.0}, r"model card's context must be a positive integer, got 16\.0"),
    ({"context": 32}, r"the graph's context is 16, the model card says 32"),
    ({"prediction_length": "64"}, r"model card's prediction_length must be a positive integer, got '64'"),
    ({"num_quantiles": True}, r"model card's num_quantiles must be a positive integer, got True"),
    ({"quantile_levels": "0.5"}, r"quantile_levels must be a non-empty list, got '0.5'"),
])
def test_a_card_that_contradicts_its_graph_is_refused_at_load(tmp_path, card, match):
    from chronotick.models.onnx import OnnxForecaster
    path = hold_model(tmp_path / "m.onnx", card=card)
    with pytest.raises(ModelError, match=match):
        OnnxForecaster(path)


def test_a_card_that_agrees_loads(tmp_path):
    from chronotick.models.onnx import OnnxForecaster
    path = hold_model(tmp_path / "m.onnx", card={"context": 16, "prediction_length": 64, "num_quantiles": 9,
                                                 "quantile_levels": list(LEVELS)})
    f = OnnxForecaster(path)
    assert (f.context, f.num_levels, f.horizon) == (16, 9, 64)


def test_a_card_path_that_is_a_directory_is_an_error(tmp_path):
    from chronotick.models.onnx import OnnxForecaster
    path = hold_model(tmp_path / "m.onnx")
    os.mkdir(tmp_path / "m.json")
    with pytest.raises(ModelError, match=r"m\.json is not readable JSON"):
        OnnxForecaster(path)


# ---- the registry ----------------------------------------------------------------------------

def test_one_bad_card_does_not_break_list(tmp_path, registry):
    good = hold_model(tmp_path / "good.onnx", card={"context": 16})
    bad = hold_model(tmp_path / "bad.onnx")
    (tmp_path / "bad.json").write_text("{oops")
    lst = hold_model(tmp_path / "lst.onnx", card=[1, 2])
    deep = hold_model(tmp_path / "deep.onnx")
    # json's decoder: RecursionError (5000 levels parsed on Python 3.12.3 and 3.13: their C stack limit)
    (tmp_path / "deep.json").write_text("[" * 100_000 + "]" * 100_000)
    registry.register("edge-good", good)
    registry.register("edge-bad", bad)
    registry.register("edge-list", lst)
    registry.register("edge-deep", deep)
    entries = {m["name"]: m for m in registry.list()}
    assert entries["edge-good"]["card"] == {"context": 16} and entries["edge-good"]["card_error"] is None
    assert entries["edge-bad"]["card"] is None
    assert str(tmp_path / "bad.json") in entries["edge-bad"]["card_error"]
    assert "JSONDecodeError" in entries["edge-bad"]["card_error"]
    assert entries["edge-list"]["card"] is None and "must hold a JSON object" in entries["edge-list"]["card_error"]
    assert entries["hold"]["card_error"] is None and entries["hold"]["kind"] == "classical"
    # was: list() itself raised RecursionError, and predict() too instead of a ModelError
    assert entries["edge-deep"]["card"] is None and "RecursionError" in entries["edge-deep"]["card_error"]
    with pytest.raises(ModelError, match=r"deep\.json is not readable JSON"):
        chronotick.predict(np.zeros(40), np.arange(40.0), horizon=2, model="edge-deep")


@pytest.mark.parametrize("card, said", [
    ({"context": 32}, "its context is 32 but the graph .* has a context length of 16"),
    ({"prediction_length": 24}, "its prediction_length is 24 but the graph .* has a horizon of 64"),
    ({"num_quantiles": 5}, "its num_quantiles is 5 but the graph .* has a number of quantiles of 9"),
    ({"quantile_levels": [0.1, 0.5, 0.9]}, "its quantile_levels' length is 3 but the graph .* has a number of "
                                           "quantiles of 9"),
])
def test_list_names_a_card_that_contradicts_a_fixed_graph_dimension(tmp_path, registry, card, said):
    # Found by an audit (2026-12-05): list() showed no card_error for these, yet the model
    # could not load
    import re
    from chronotick.models.onnx import OnnxForecaster
    registry.register("edge-dim", hold_model(tmp_path / "dim.onnx", card=card))
    entry = {m["name"]: m for m in registry.list()}["edge-dim"]
    assert entry["card_error"] is not None and re.search(said, entry["card_error"]), entry["card_error"]
    with pytest.raises(ModelError):
        OnnxForecaster(entry["path"])


def test_register_wants_an_existing_onnx_file(tmp_path, registry):
    txt = tmp_path / "readme.txt"
    txt.write_text("hi")
    with pytest.raises(ValueError, match=r"path must name a \.onnx file, got '.*readme\.txt'"):
        registry.register("edge-txt", str(txt))
    with pytest.raises(FileNotFoundError, match="no such ONNX model file"):
        registry.register("edge-missing", str(tmp_path / "missing.onnx"))
    os.mkdir(tmp_path / "dir.onnx")
    with pytest.raises(FileNotFoundError):
        registry.register("edge-dir", str(tmp_path / "dir.onnx"))
    assert not {"edge-txt", "edge-missing", "edge-dir"} & set(registry.names())
    upper = hold_model(tmp_path / "Up.ONNX", card={"context": 16})
    registry.register("edge-upper", upper)
    assert {m["name"]: m for m in registry.list()}["edge-upper"]["card"] == {"context": 16}


# ---- export ----------------------------------------------------------------------------------

def _export_extra():
    for mod in ("torch", "chronos", "onnx", "onnxscript"):
        if os.environ.get("CHRONOTICK_REQUIRE_EXPORT"):
            __import__(mod)
        pytest.importorskip(mod, reason=f"the export extra is not installed ({mod} missing)")


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    _export_extra()
    from chronotick.models.export_bolt import save_random_bolt
    d = tmp_path_factory.mktemp("edge_bolt")
    return save_random_bolt(str(d / "ckpt"), seed=1, context=64, d_model=32, d_ff=64, initializer_factor=0.1)


def _cli(capsys, *argv):
    from chronotick.cli import main
    rc = main(["export", "chronos-bolt", *argv])
    err = [ln for ln in capsys.readouterr().err.splitlines() if ln.startswith("chronotick export:")]
    return rc, err


def test_corrupt_weights_are_a_one_line_error(tmp_path, ckpt, capsys):
    import shutil
    bad = tmp_path / "corrupt"
    bad.mkdir()
    shutil.copy(os.path.join(ckpt, "config.json"), bad / "config.json")
    (bad / "model.safetensors").write_bytes(b"\0" * 8 + b"garbage")
    from chronotick.cli import main
    rc = main(["export", "chronos-bolt", "--checkpoint", str(bad), "--context", "48", "--out",
               str(tmp_path / "x.onnx")])
    err = capsys.readouterr().err
    assert rc == 1 and "Traceback" not in err
    last = err.strip().splitlines()[-1]
    assert last.startswith(f"chronotick export: cannot load checkpoint {bad}: SafetensorError")
    assert not os.path.exists(tmp_path / "x.onnx") and not os.path.exists(tmp_path / "x.json")


def test_missing_local_checkpoints_are_named_at_once(tmp_path, ckpt, capsys, monkeypatch):
    import chronos
    from chronotick.models.export_bolt import resolve_checkpoint

    def no_hub(*a, **k):
        raise AssertionError(f"from_pretrained called with {a!r}: a local path went to the hub")
    monkeypatch.setattr(chronos.BaseChronosPipeline, "from_pretrained", no_hub)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bad").mkdir()
    for arg in ("bad/missing", "./nothere", "../nothere", str(tmp_path / "abs" / "missing"), "a/b/c", "~/nothere-x"):
        rc, err = _cli(capsys, "--checkpoint", arg, "--context", "48", "--out", "o/x.onnx")
        assert rc == 1 and err == [f"chronotick export: no such checkpoint directory: {arg}"], (arg, err)
    (tmp_path / "afile").write_text("x")
    rc, err = _cli(capsys, "--checkpoint", "afile", "--out", "o/x.onnx")
    assert rc == 1 and "afile is a file, not a checkpoint directory" in err[0]
    rc, err = _cli(capsys, "--checkpoint", "bad", "--out", "o/x.onnx")
    assert rc == 1 and err == ["chronotick export: checkpoint directory bad has no config.json"]
    assert not os.path.exists("o/x.onnx")
    # hub ids still go to the hub
    assert resolve_checkpoint("amazon/chronos-bolt-tiny") == "amazon/chronos-bolt-tiny"
    assert resolve_checkpoint("gpt2") == "gpt2"
    assert resolve_checkpoint(ckpt) == ckpt


@pytest.mark.parametrize("bad", ["-1", "0", "nan", "inf", "-inf"])
def test_tolerance_must_be_finite_and_positive(tmp_path, ckpt, capsys, bad):
    from chronotick.models.export_bolt import export_chronos_bolt
    rc, err = _cli(capsys, "--checkpoint", ckpt, "--context", "48", "--out", str(tmp_path / "t.onnx"),
                   f"--tolerance={bad}")
    assert rc == 2 and err == [f"chronotick export: --tolerance must be a finite number > 0, got {float(bad)!r}"]
    with pytest.raises(ValueError, match=r"tolerance must be a finite number > 0, got"):
        export_chronos_bolt(ckpt, str(tmp_path / "t.onnx"), context=48, tolerance=float(bad), log=lambda m: None)
    assert not os.listdir(tmp_path)


def test_opset_is_honoured_or_refused(tmp_path, ckpt, capsys):
    import onnx
    from chronotick.models.export_bolt import export_chronos_bolt
    for bad in ("17", "3", "24"):
        rc, err = _cli(capsys, "--checkpoint", ckpt, "--context", "48", "--out", str(tmp_path / "a.onnx"),
                       "--opset", bad)
        assert rc == 2 and err == [f"chronotick export: --opset must be in [18, 23] (the opsets torch's "
                                   f"exporter writes), got {bad}"]
    with pytest.raises(ValueError, match="opset must be an integer in"):
        export_chronos_bolt(ckpt, str(tmp_path / "a.onnx"), context=48, opset=17, log=lambda m: None)
    assert not os.listdir(tmp_path)
    out = tmp_path / "op18.onnx"
    rc, _ = _cli(capsys, "--checkpoint", ckpt, "--context", "48", "--out", str(out), "--opset", "18",
                 "--no-ort-fusions")
    assert rc == 0
    written = {o.domain: o.version for o in onnx.load(str(out)).opset_import}
    assert written[""] == 18
    assert json.load(open(tmp_path / "op18.json"))["opset"] == 18
    assert sorted(os.listdir(tmp_path)) == ["op18.json", "op18.onnx"]


def test_a_card_that_cannot_be_written_leaves_nothing(tmp_path, ckpt, capsys):
    from chronotick.models.export_bolt import ExportError, export_chronos_bolt
    out = tmp_path / "m.onnx"
    with pytest.raises(ExportError, match="TypeError"):
        export_chronos_bolt(ckpt, str(out), context=48, ort_fusions=False, extra_card={"bad": object()},
                            log=lambda m: None)
    assert os.listdir(tmp_path) == []
    # a card path that is a directory: refused before the export
    os.mkdir(tmp_path / "m.json")
    rc, err = _cli(capsys, "--checkpoint", ckpt, "--context", "48", "--out", str(out))
    assert rc == 1 and err == [f"chronotick export: {tmp_path / 'm.json'} is a directory: the export writes the "
                               f"model and its card as files there"]
    assert os.listdir(tmp_path) == ["m.json"]


# ---- architecture: the model card's, else the graph's metadata ------------------------------

def test_a_model_of_unknown_architecture_loads_with_a_warning(tmp_path):
    # no card and no metadata: a generic quantile model, said so (until 2026-12-04 silently,
    # so a Chronos-Bolt export parted from its card ran without its spike mask and pinning)
    from chronotick.models.onnx import OnnxForecaster
    path = hold_model(tmp_path / "bare.onnx", architecture=None)
    with pytest.warns(RuntimeWarning, match="architecture unknown.*generic quantile model"):
        f = OnnxForecaster(path)
    assert f.architecture == "" and not f.pins_flat and f.spike_c is None
    # a card naming it: no warning
    hold_model(tmp_path / "carded.onnx", architecture=None, card={"architecture": "my own model"})
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        g = OnnxForecaster(str(tmp_path / "carded.onnx"))
    assert g.architecture == "my own model" and not g.pins_flat


def test_a_chronos_bolt_graph_without_its_card_is_still_handled_as_one(tmp_path):
    # `chronotick export` records the architecture in the graph's metadata too: the .onnx
    # alone gets the Chronos-Bolt handling (flat windows pinned, the spike mask on)
    from chronotick.models.onnx import SPIKE_C, OnnxForecaster
    path = hold_model(tmp_path / "bolt.onnx", architecture="ChronosBoltModelForForecasting")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        f = OnnxForecaster(path)
    assert f.pins_flat and f.spike_c == SPIKE_C
    # a card that contradicts the graph's record is not this file's: refused (it had come first,
    # and silently turned the spike mask and the flat-window pinning off; an audit, 2026-12-06)
    hold_model(tmp_path / "other.onnx", architecture="ChronosBoltModelForForecasting",
               card={"architecture": "not bolt"})
    with pytest.raises(ModelError, match=r"other.onnx: its model card says architecture 'not bolt' but the graph "
                                         r"was exported as 'ChronosBoltModelForForecasting' \(its metadata "
                                         r"chronotick.architecture\): the card does not belong to this file"):
        OnnxForecaster(str(tmp_path / "other.onnx"))
    # a card without one, or a graph without one: the other decides, as before
    hold_model(tmp_path / "plain.onnx", card={"architecture": "ChronosBoltModelForForecasting"}, architecture=None)
    assert OnnxForecaster(str(tmp_path / "plain.onnx")).pins_flat


def test_an_engine_model_too_short_for_min_history_is_unhealthy_for_good(tmp_path):
    # Found by an audit (2026-12-05): a model whose window holds fewer cells than
    # engine.min_history was left out of every forecast with a note while health() said ok
    import chronotick
    short = hold_model(tmp_path / "short.onnx", context=4)
    t = 1.7e9 + 64.0 * np.arange(300)
    with chronotick.Engine({"long_term": {"model": short}, "short_term": {"models": ["fused"]}}) as eng:
        eng.observe_many(t, 0.01 + 1e-6 * (t - t[0]) + np.random.default_rng(0).normal(0, 1e-5, t.size))
        fc = eng.predict_long_term()
        assert np.all(np.isfinite(fc.quantiles))
        h = eng.health()
        entry = h["models"]["short (long-term)"]
        assert not h["ok"] and not entry["ok"]
        assert entry["reason"] == ("its window holds 4 cells, fewer than engine.min_history 8 measured ones it "
                                   "needs: it can never forecast")
        assert "short (long-term): its window holds 4 cells" in h["last_error"]
    with chronotick.Engine({"long_term": {"model": short}, "engine": {"min_history": 4}}) as eng:
        assert eng.health()["models"]["short (long-term)"]["ok"]


def test_engine_history_below_the_models_minimum_is_refused():
    # every classical model needs 3 measurements: at 2 the answer was always hold, health() ok
    from chronotick import ConfigError, Engine
    for cfg, key in (({"engine": {"history": 2, "min_history": 2}}, "engine.history"),
                     ({"engine": {"min_history": 2}}, "engine.min_history")):
        with pytest.raises(ConfigError, match=key + r": must be an integer >= 3"):
            Engine(cfg)


def test_the_graph_records_its_levels_and_a_card_that_contradicts_it_is_refused(tmp_path):
    # Found by an audit (2026-12-06): without its card an export of other levels loaded as
    # 0.1 .. 0.9 (mislabelled intervals), and an edited card's levels were taken as they were
    from chronotick.models.onnx import LEVELS_KEY, OnnxForecaster
    other = [0.02, 0.1, 0.2, 0.35, 0.5, 0.65, 0.8, 0.9, 0.98]
    path = hold_model(tmp_path / "m.onnx", architecture=None, meta_levels=json.dumps(other))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")      # no architecture: run as a generic model, with a warning
        assert OnnxForecaster(path).model_levels.tolist() == other            # no card: the graph's record
        hold_model(tmp_path / "m.onnx", architecture=None, meta_levels=json.dumps(other),
                   card={"quantile_levels": other})
        assert OnnxForecaster(path).model_levels.tolist() == other            # the same in both: fine
        hold_model(tmp_path / "m.onnx", architecture=None, meta_levels=json.dumps(other),
                   card={"quantile_levels": LEVELS})
        with pytest.raises(ModelError, match=r"m.onnx: its model card lists quantile levels \[0.1, .*but the "
                                             r"graph was exported with \[0.02, .*the card does not belong"):
            OnnxForecaster(path)
        for bad in ("[0.1, 0.5", '{"a": 1}', '["x"]'):
            hold_model(tmp_path / "m.onnx", architecture=None, meta_levels=bad)
            if os.path.exists(tmp_path / "m.json"):
                os.remove(tmp_path / "m.json")
            with pytest.raises(ModelError, match=f"graph's metadata {LEVELS_KEY} is not a JSON list of numbers"):
                OnnxForecaster(path)


def test_a_card_naming_an_input_or_output_the_graph_lacks_is_refused(tmp_path):
    # Found by an audit (2026-12-06): input.name was read as the graph's only input, output.name
    # left unchecked
    from chronotick.models.onnx import OnnxForecaster
    for key, graph_names in (("input", "['context']"), ("output", "['quantiles']")):
        path = hold_model(tmp_path / "m.onnx", card={key: {"name": "not_it"}})
        with pytest.raises(ModelError, match=rf"m.json: {key}.name is 'not_it' but the graph .*m.onnx has "
                                             rf"{key}s {re.escape(graph_names)}"):
            OnnxForecaster(path)
        hold_model(tmp_path / "m.onnx", card={key: {"name": "context" if key == "input" else "quantiles"}})
        OnnxForecaster(path)


def test_a_model_that_forecasts_only_zero_contexts_is_refused_at_load(tmp_path):
    # Found by an audit (2026-12-06): the load probe ran zero contexts only (Chronos-Bolt's
    # constant-series branch); a graph giving NaN for any other input loaded and failed at its
    # first forecast
    from chronotick.models.onnx import OnnxForecaster
    path = hold_model(tmp_path / "m.onnx", nan_unless_zero=True)
    with pytest.raises(ModelError, match=r"m.onnx: a probe run on a random-walk context failed: model m produced "
                                         r"non-finite quantiles"):
        OnnxForecaster(path)
