"""The export's probe-based folds (chronotick.models.graph_folding) on
hand-built graphs: each gives the original's outputs bit for bit (the MatMul
chain: to float rounding) at batch sizes it was not probed at, on inputs with
NaN and +-inf, and leaves alone what does not meet its conditions. (On a real
export: tests/test_export.py; the shipped clock-bolt: tests/test_onnx.py.)"""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx not installed (test extra)")
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from chronotick.models.graph_folding import fold  # noqa: E402

BIG = float(np.finfo(np.float32).max)


def _init(name, value, dtype=np.float32):
    return numpy_helper.from_array(np.asarray(value, dtype=dtype), name)


def _model(nodes, inits, outputs, width=4, ms=False, shape=None):
    shape = [None, width] if shape is None else list(shape)
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
                              [onnx.ValueInfoProto(name=o) for o in outputs],
                              inits)
    ops = [helper.make_opsetid("", 17)] + ([helper.make_opsetid("com.microsoft", 1)] if ms else [])
    return helper.make_model(graph, opset_imports=ops, ir_version=8)


def _run(model, x):
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"]).run(None, {"x": x})


def _inputs(rows=8, width=4, seed=0):
    x = np.random.default_rng(seed).normal(size=(rows, width)).astype(np.float32)
    x[1, 2] = np.nan
    return x


def _check_equal(before, after, width=4, exact=True, infs=True):
    rng = np.random.default_rng(9)
    for rows in (1, 3, 7, 11):                         # 3, 7, 11 rows: never probed
        x = rng.normal(size=(rows, width)).astype(np.float32) * 10.0 ** rng.uniform(-3, 3)
        x[rng.random(x.shape) < 0.2] = np.nan
        if rows > 2 and infs:
            x[2, 0], x[2, 1] = np.inf, -np.inf
        for a, b in zip(_run(before, x), _run(after, x)):
            if exact:
                assert a.dtype == b.dtype and a.shape == b.shape
                np.testing.assert_array_equal(a, b)
            else:
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=0)


def _folded(model, rows=8, width=4):
    done = onnx.ModelProto()
    done.CopyFrom(model)
    return done, fold(done, {"x": _inputs(rows, width)})


def _batch_token_model():
    """A start token broadcast over the batch (Shape -> Expand -> Gather), put through a
    constant layer and appended to each row: only the appended part is value-free."""
    nodes = [
        helper.make_node("Shape", ["x"], ["b"], start=0, end=1),
        helper.make_node("Concat", ["b", "one"], ["bshape"], axis=0),
        helper.make_node("Expand", ["zero_id", "bshape"], ["ids"]),             # [B, 1] of 0
        helper.make_node("Gather", ["table", "ids"], ["tok"]),                   # [B, 1, 3]
        helper.make_node("Squeeze", ["tok", "one"], ["tok2"]),                   # [B, 3]
        helper.make_node("MatMul", ["tok2", "w"], ["h"]),                        # [B, 3]
        helper.make_node("Relu", ["h"], ["h2"]),
        helper.make_node("Concat", ["x", "h2"], ["y"], axis=1),                  # [B, 7]
        # value-free but different per row: arange(B) as a float column, added to x
        helper.make_node("Squeeze", ["b"], ["bs"]),
        helper.make_node("Range", ["zero_i", "bs", "one_i"], ["ar"]),
        helper.make_node("Cast", ["ar"], ["arf"], to=TensorProto.FLOAT),
        helper.make_node("Unsqueeze", ["arf", "one"], ["col"]),
        helper.make_node("Add", ["x", "col"], ["z"]),
    ]
    inits = [_init("one", [1], np.int64), _init("zero_id", 0, np.int64), _init("zero_i", 0, np.int64),
             _init("one_i", 1, np.int64), _init("table", np.arange(6.0).reshape(2, 3) - 2.5),
             _init("w", np.array([[1.0, -2.0, 0.5], [0.25, 1.0, -1.0], [3.0, 0.0, 1.0]]))]
    return _model(nodes, inits, ["y", "z"])


def test_values_that_do_not_change_with_the_input_become_one_expanded_row():
    m = _batch_token_model()
    done, counts = _folded(m)
    assert counts.get("batch_invariant") == 1
    ops = [n.op_type for n in done.graph.node]
    assert "Gather" not in ops and "MatMul" not in ops and "Relu" not in ops
    assert "Range" in ops                     # arange(B) differs per row: left as it is
    _check_equal(m, done)


def test_nothing_is_folded_from_fewer_than_five_probe_rows():
    m = _batch_token_model()
    done, counts = _folded(m, rows=4)
    assert counts == {} and done == m


def _mask_gather_model(cols=None):
    """transformers' mask[arange(B)[:, None, None, None], arange(S)[None, None, None, :]]:
    a GatherND of value-free indices listing every element in order."""
    cols = np.arange(4) if cols is None else np.asarray(cols)
    nodes = [
        helper.make_node("IsNaN", ["x"], ["nan"]),
        helper.make_node("Not", ["nan"], ["mask"]),                              # [B, 4] bool
        helper.make_node("Shape", ["x"], ["b"], start=0, end=1),
        helper.make_node("Squeeze", ["b"], ["bs"]),
        helper.make_node("Range", ["zero_i", "bs", "one_i"], ["ar"]),
        helper.make_node("Unsqueeze", ["ar", "axes123"], ["bi"]),                # [B, 1, 1, 1]
        helper.make_node("Max", ["bi", "cols"], ["both"]),
        helper.make_node("Shape", ["both"], ["full"]),
        helper.make_node("Expand", ["bi", "full"], ["bi_e"]),
        helper.make_node("Expand", ["cols", "full"], ["ci_e"]),
        helper.make_node("Unsqueeze", ["bi_e", "last"], ["bi_u"]),
        helper.make_node("Unsqueeze", ["ci_e", "last"], ["ci_u"]),
        helper.make_node("Concat", ["bi_u", "ci_u"], ["idx"], axis=-1),
        helper.make_node("GatherND", ["mask", "idx"], ["y"]),                    # [B, 1, 1, 4]
    ]
    inits = [_init("zero_i", 0, np.int64), _init("one_i", 1, np.int64), _init("axes123", [1, 2, 3], np.int64),
             _init("last", [-1], np.int64), _init("cols", cols.reshape(1, 1, 1, -1), np.int64)]
    return _model(nodes, inits, ["y"])


def test_a_gather_of_every_element_in_order_is_an_unsqueeze():
    m = _mask_gather_model()
    done, counts = _folded(m)
    assert counts.get("gather_reshape") == 1
    assert [n.op_type for n in done.graph.node] == ["IsNaN", "Not", "Unsqueeze"]
    _check_equal(m, done)


def test_a_gather_in_another_order_is_left_alone():
    m = _mask_gather_model(cols=[1, 0, 2, 3])
    done, counts = _folded(m)
    assert "gather_reshape" not in counts and "GatherND" in [n.op_type for n in done.graph.node]
    _check_equal(m, done)


def _attention_model(key_len=1, bias=0.25):
    """A MultiHeadAttention over key_len positions made from x: q, k, v projections of
    x reshaped to [B, key_len, 4 / key_len ...]; with one key the output is v itself."""
    d = 4
    nodes = [
        helper.make_node("Reshape", ["x", "shape"], ["x3"]),                    # [B, 1, 4] or [B, 2, 2]
        helper.make_node("MatMul", ["x3", "wq"], ["q"]),
        helper.make_node("MatMul", ["x3", "wk"], ["k"]),
        helper.make_node("MatMul", ["x3", "wv"], ["v"]),
        helper.make_node("MultiHeadAttention", ["q", "k", "v", "", "", "bias"], ["att"], domain="com.microsoft",
                         num_heads=2, scale=1.0),
        helper.make_node("MatMul", ["att", "wo"], ["y"]),
    ]
    w = d // key_len
    rng = np.random.default_rng(4)
    inits = [_init("shape", [0, key_len, w], np.int64)] + [_init(n, rng.normal(size=(w, w))) for n in
                                                            ("wq", "wk", "wv", "wo")]
    inits.append(_init("bias", np.full((1, 2, key_len, key_len), bias)))
    return _model(nodes, inits, ["y"], ms=True)


def test_attention_over_one_key_is_its_value_and_the_projections_merge():
    m = _attention_model()
    done, counts = _folded(m)
    assert counts.get("single_key_attention") == 1 and counts.get("matmul_chain") == 1
    assert [n.op_type for n in done.graph.node] == ["Reshape", "MatMul"]
    # x Wv Wo as x (Wv Wo): float rounding. An infinite x: the attention's logit is NaN and so
    # its output; the value alone is +-inf or NaN (non-finite either way)
    _check_equal(m, done, exact=False, infs=False)
    x = np.array([[np.inf, 1.0, 2.0, 3.0]], np.float32)
    assert not np.isfinite(_run(m, x)[0]).any() and not np.isfinite(_run(done, x)[0]).all()


def test_attention_over_two_keys_or_an_infinite_bias_is_left_alone():
    for m in (_attention_model(key_len=2), _attention_model(bias=-np.inf)):
        done, counts = _folded(m)
        assert "single_key_attention" not in counts
        assert "MultiHeadAttention" in [n.op_type for n in done.graph.node]
        _check_equal(m, done)


def _scaling_model():
    """Chronos-Bolt's NaN-aware scaling as exported: the non-NaN count twice (Equal(x, x) and
    Equal((x - mean)^2, ...)), nan_to_num'd mean and spread, and a 0/1 mask nan_to_num'd."""
    nodes = [
        helper.make_node("IsNaN", ["x"], ["isnan"]),
        helper.make_node("Not", ["isnan"], ["obs"]),
        helper.make_node("Cast", ["obs"], ["obs_f"], to=TensorProto.FLOAT),
        helper.make_node("Equal", ["x", "x"], ["eq"]),
        helper.make_node("Cast", ["eq"], ["eq_i"], to=TensorProto.INT64),
        helper.make_node("ReduceSum", ["eq_i", "last"], ["n"]),
        helper.make_node("Where", ["isnan", "zero", "x"], ["x0"]),
        helper.make_node("ReduceSum", ["x0", "last"], ["s"]),
        helper.make_node("Cast", ["n"], ["n_f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["s", "n_f"], ["mean"]),
        helper.make_node("IsNaN", ["mean"], ["mean_nan"]),
        helper.make_node("Clip", ["mean", "lo", "hi"], ["mean_c"]),
        helper.make_node("Where", ["mean_nan", "zero", "mean_c"], ["m"]),
        helper.make_node("Sub", ["x", "m"], ["d"]),
        helper.make_node("Pow", ["d", "two"], ["d2"]),
        helper.make_node("Equal", ["d2", "d2"], ["eq2"]),
        helper.make_node("Cast", ["eq2"], ["eq2_i"], to=TensorProto.INT64),
        helper.make_node("ReduceSum", ["eq2_i", "last"], ["n2"]),
        helper.make_node("IsNaN", ["d2"], ["d2_nan"]),
        helper.make_node("Where", ["d2_nan", "zero", "d2"], ["d20"]),
        helper.make_node("ReduceSum", ["d20", "last"], ["ss"]),
        helper.make_node("Cast", ["n2"], ["n2_f"], to=TensorProto.FLOAT),
        helper.make_node("Div", ["ss", "n2_f"], ["var"]),
        helper.make_node("Gather", ["obs_f", "perm"], ["obs_g"], axis=1),
        helper.make_node("IsNaN", ["obs_g"], ["obs_nan"]),
        helper.make_node("Clip", ["obs_g", "lo", "hi"], ["obs_c"]),
        helper.make_node("Where", ["obs_nan", "zero", "obs_c"], ["mask0"]),
        helper.make_node("Mul", ["mask0", "two"], ["mask"]),
        # the same nan_to_num of a value that is not 0/1: left alone
        helper.make_node("IsNaN", ["x"], ["x_nan"]),
        helper.make_node("Clip", ["x", "lo", "hi"], ["x_c"]),
        helper.make_node("Where", ["x_nan", "zero", "x_c"], ["x_n2n"]),
    ]
    inits = [_init("last", [-1], np.int64), _init("zero", 0.0), _init("two", 2.0), _init("lo", -BIG),
             _init("hi", BIG), _init("perm", [3, 1, 2, 0], np.int64)]
    return _model(nodes, inits, ["m", "var", "mask", "x_n2n"])


def test_the_scalings_nan_counts_merge_and_a_0_1_masks_nan_to_num_goes():
    m = _scaling_model()
    done, counts = _folded(m)
    assert counts.get("nan_identities", 0) >= 4 and counts.get("common_subexpressions", 0) >= 4
    ops = [n.op_type for n in done.graph.node]
    assert "Equal" not in ops
    assert ops.count("ReduceSum") == 3          # one count, the sum, the sum of squares
    assert ops.count("Clip") == 2                # the mean's and x's own; the mask's went
    _check_equal(m, done)


def test_an_infinite_centre_keeps_its_own_nan_test():
    # (x - m)^2 with m not provably finite (no Clip): its NaN test stays its own
    nodes = [helper.make_node("ReduceMax", ["x"], ["m"], axes=[-1]),
             helper.make_node("Sub", ["x", "m"], ["d"]),
             helper.make_node("Pow", ["d", "two"], ["d2"]),
             helper.make_node("IsNaN", ["d2"], ["y"]),
             helper.make_node("IsNaN", ["x"], ["z"])]
    m = _model(nodes, [_init("last", [-1], np.int64), _init("two", 2.0)], ["y", "z"])
    done, counts = _folded(m)
    assert "nan_identities" not in counts and len(done.graph.node) == 5
    _check_equal(m, done)


def test_the_shipped_clock_bolt_is_folded():
    import json
    import os
    data = os.path.join(os.path.dirname(__file__), "..", "python", "chronotick", "models", "data")
    with open(os.path.join(data, "clock-bolt.json")) as f:
        graph = json.load(f)["graph"]["ort_fusions"]
    ops = [n.op_type for n in onnx.load(os.path.join(data, "clock-bolt.onnx")).graph.node]
    assert graph["nodes"][1] == len(ops)
    # 3 encoder self-attentions and 2 cross-attentions; the 2 decoder self-attentions over the
    # one decoder token are gone (the first layer's folded with its constant input)
    assert ops.count("MultiHeadAttention") == 5 and "GatherND" not in ops and "Equal" in ops
    for rule in ("single_key_attention", "batch_invariant", "gather_reshape", "matmul_chain", "nan_identities",
                 "common_subexpressions"):
        assert graph["fused"][rule] >= 1, rule


# ---- what a helper's audit of the folds found (2026-12-04): each was folded and shipped wrong ----

def _folds_nothing_wrong(nodes, inits, outputs, x_probe, x_bad, shape=(None, 4)):
    """fold() on NaN-free probe rows, then the original and the folded graph on x_bad."""
    m = _model(nodes, inits, outputs, shape=shape)
    done = onnx.ModelProto()
    done.CopyFrom(m)
    counts = fold(done, {"x": x_probe})
    for a, b in zip(_run(m, x_bad), _run(done, x_bad)):
        np.testing.assert_array_equal(a, b)
    return counts


def test_a_centre_clipped_under_another_condition_keeps_its_nan_test():
    # m = Where(mean > 1e6, 0, Clip(mean)): Clip keeps a NaN, so m is NaN where the mean is
    nodes = [helper.make_node("ReduceSum", ["x", "last"], ["s"], keepdims=1),
             helper.make_node("Div", ["s", "four"], ["mean"]),
             helper.make_node("Greater", ["mean", "thr"], ["c"]),
             helper.make_node("Clip", ["mean", "lo", "hi"], ["mc"]),
             helper.make_node("Where", ["c", "zero", "mc"], ["m"]),
             helper.make_node("Sub", ["x", "m"], ["d"]),
             helper.make_node("Pow", ["d", "two"], ["d2"]),
             helper.make_node("IsNaN", ["d2"], ["bad"]),
             helper.make_node("Cast", ["bad"], ["y"], to=TensorProto.FLOAT)]
    inits = [_init("last", [-1], np.int64), _init("four", 4.0), _init("thr", 1e6), _init("zero", 0.0),
             _init("two", 2.0), _init("lo", -BIG), _init("hi", BIG)]
    probe_rows = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    counts = _folds_nothing_wrong(nodes, inits, ["y"], probe_rows, np.array([[1, np.nan, 2, 3]], np.float32))
    assert "nan_identities" not in counts


def test_the_shape_of_a_value_whose_shape_depends_on_the_data_is_not_folded():
    nodes = [helper.make_node("IsNaN", ["x"], ["nan"]),
             helper.make_node("NonZero", ["nan"], ["nz"]),           # [2, number of NaNs]
             helper.make_node("Shape", ["nz"], ["s"]),
             helper.make_node("Gather", ["s", "one"], ["k"]),
             helper.make_node("Cast", ["k"], ["kf"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["x", "kf"], ["y"])]
    probe_rows = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    counts = _folds_nothing_wrong(nodes, [_init("one", 1, np.int64)], ["y"], probe_rows,
                                  np.array([[np.nan, np.nan, 0, 0]], np.float32))
    assert "batch_invariant" not in counts


def test_a_graph_with_another_dynamic_dimension_is_not_folded():
    nodes = [helper.make_node("Shape", ["x"], ["s"], start=1, end=2),
             helper.make_node("Cast", ["s"], ["sf"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["x", "sf"], ["y"])]
    counts = _folds_nothing_wrong(nodes, [], ["y"], np.zeros((8, 4), np.float32), np.zeros((1, 6), np.float32),
                                  shape=("batch", "seq"))
    assert counts == {}


def test_a_function_of_the_batch_size_is_probed_at_three_rows_too():
    # B % 3 == 0: equal at 1, 2 and 5 rows (and the 8 the export verifies on)
    nodes = [helper.make_node("Shape", ["x"], ["b"], start=0, end=1),
             helper.make_node("Mod", ["b", "three"], ["r"]),
             helper.make_node("Equal", ["r", "zero"], ["e"]),
             helper.make_node("Cast", ["e"], ["ef"], to=TensorProto.FLOAT),
             helper.make_node("Add", ["x", "ef"], ["y"])]
    counts = _folds_nothing_wrong(nodes, [_init("three", [3], np.int64), _init("zero", [0], np.int64)], ["y"],
                                  np.zeros((8, 4), np.float32), np.zeros((3, 4), np.float32))
    assert "batch_invariant" not in counts


def test_two_equal_nodes_are_not_merged_where_the_kept_one_lacks_an_output():
    nodes = [helper.make_node("LayerNormalization", ["x", "sc", "bi"], ["y1", "", "inv1"], axis=-1),
             helper.make_node("LayerNormalization", ["x", "sc", "bi"], ["y2", "m2"], axis=-1),
             helper.make_node("Add", ["y2", "m2"], ["z"]),
             helper.make_node("Add", ["z", "inv1"], ["y"])]
    x = np.random.default_rng(0).normal(size=(8, 4)).astype(np.float32)
    counts = _folds_nothing_wrong(nodes, [_init("sc", np.ones(4)), _init("bi", np.zeros(4))], ["y"], x, x[:3])
    assert "common_subexpressions" not in counts


def test_refolding_a_folded_graph_changes_nothing():
    m = _batch_token_model()
    done, counts = _folded(m)
    again, counts2 = _folded(done)
    assert counts["batch_invariant"] == 1 and counts2 == {} and len(again.graph.node) == len(done.graph.node)
