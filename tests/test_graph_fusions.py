"""The export's clean-up rewrites (chronotick.models.graph_fusions) on
hand-built graphs: exact on every float32 input, including NaN and +-inf,
and left alone where their conditions do not hold. (The attention and
RMS-norm rewrites are tested on a real export: tests/test_export.py.)"""
from __future__ import annotations

import numpy as np
import pytest

onnx = pytest.importorskip("onnx", reason="onnx not installed (test extra)")
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from chronotick.models.graph_fusions import drop_double_not, simplify_nan_to_num  # noqa: E402

BIG = float(np.finfo(np.float32).max)
X = np.array([np.nan, np.inf, -np.inf, BIG, -BIG, 0.0, -0.0, 1e-45, 3.5, -2.25, 1e38], dtype=np.float32)


def _scalar(name, value):
    return numpy_helper.from_array(np.array(value, dtype=np.float32), name)


def nan_to_num_model(nan=1.0, posinf=BIG, neginf=-BIG, extra_output=None):
    """torch.nan_to_num(x, nan, posinf, neginf) as torch.onnx (dynamo) exports it: 9 nodes."""
    nodes = [
        helper.make_node("IsNaN", ["x"], ["isnan"]),
        helper.make_node("Where", ["isnan", "nan", "x"], ["w1"]),
        helper.make_node("Less", ["x", "zero"], ["lt"]),
        helper.make_node("IsInf", ["x"], ["inf"]),
        helper.make_node("And", ["lt", "inf"], ["neginf_mask"]),
        helper.make_node("Where", ["neginf_mask", "neginf", "w1"], ["w2"]),
        helper.make_node("Greater", ["x", "zero"], ["gt"]),
        helper.make_node("And", ["gt", "inf"], ["posinf_mask"]),
        helper.make_node("Where", ["posinf_mask", "posinf", "w2"], ["y"]),
        helper.make_node("Neg", ["x"], ["other"]),          # another reader of x
    ]
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None]),
               helper.make_tensor_value_info("other", TensorProto.FLOAT, [None])]
    if extra_output:
        outputs.append(helper.make_tensor_value_info(extra_output, TensorProto.FLOAT, [None]))
    graph = helper.make_graph(nodes, "n2n", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [None])], outputs,
                              [_scalar("nan", nan), _scalar("zero", 0.0), _scalar("posinf", posinf),
                               _scalar("neginf", neginf)])
    # IR version 8, opset 17's: onnx.helper writes its own newest (14 with onnx 1.23), which
    # onnxruntime 1.31 refuses
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def run(model, x=X):
    s = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    return s.run(None, {"x": x})


def test_nan_to_num_becomes_three_nodes_with_bit_equal_outputs():
    m = nan_to_num_model()
    want = run(m)
    assert simplify_nan_to_num(m) == 1
    assert [n.op_type for n in m.graph.node] == ["IsNaN", "Clip", "Where", "Neg"]
    got = run(m)
    for w, g in zip(want, got):
        assert w.tobytes() == g.tobytes()
    np.testing.assert_array_equal(got[0], np.nan_to_num(X, nan=1.0))   # and it is numpy's nan_to_num
    assert {t.name for t in m.graph.initializer} >= {"nan"} and "posinf" not in {t.name for t in m.graph.initializer}


def test_nan_to_num_left_alone_when_not_exact():
    # a finite replacement for +inf below FLT_MAX: Clip would also cut finite values above it
    m = nan_to_num_model(posinf=1e30)
    assert simplify_nan_to_num(m) == 0 and len(m.graph.node) == 10
    np.testing.assert_array_equal(run(m)[0], np.nan_to_num(X, nan=1.0, posinf=1e30, neginf=-BIG))   # 1e38 stays
    # an intermediate read elsewhere (a graph output) must survive
    m = nan_to_num_model(extra_output="w1")
    assert simplify_nan_to_num(m) == 0 and len(m.graph.node) == 10


def not_model(depth, inner_output=False):
    nodes, prev = [], "b"
    for k in range(depth):
        nodes.append(helper.make_node("Not", [prev], [f"n{k}"]))
        prev = f"n{k}"
    nodes.append(helper.make_node("Cast", [prev], ["y"], to=TensorProto.FLOAT))
    outputs = [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None])]
    if inner_output:
        outputs.append(helper.make_tensor_value_info("n0", TensorProto.BOOL, [None]))
    graph = helper.make_graph(nodes, "not", [helper.make_tensor_value_info("b", TensorProto.BOOL, [None])], outputs)
    # IR version 8, opset 17's: onnx.helper writes its own newest (14 with onnx 1.23), which
    # onnxruntime 1.31 refuses
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


@pytest.mark.parametrize("depth, dropped, left", [(2, 1, 0), (3, 1, 1), (4, 2, 0)])
def test_double_not_dropped(depth, dropped, left):
    b = np.array([True, False, True])
    m = not_model(depth)
    want = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"b": b})
    assert drop_double_not(m) == dropped
    assert [n.op_type for n in m.graph.node].count("Not") == left
    got = ort.InferenceSession(m.SerializeToString(), providers=["CPUExecutionProvider"]).run(None, {"b": b})
    np.testing.assert_array_equal(got[0], want[0])


def test_double_not_kept_when_the_inner_not_is_read_elsewhere():
    m = not_model(2, inner_output=True)
    assert drop_double_not(m) == 0 and len(m.graph.node) == 3
