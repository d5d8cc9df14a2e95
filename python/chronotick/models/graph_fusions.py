"""Export-time graph rewrites for onnxruntime: fewer, larger operators.

clock-bolt is small (12 MFLOP a forecast), so onnxruntime's time on it is
mostly per-operator overhead, not arithmetic: the torch.onnx (dynamo) graph
of a T5 model has ~360 nodes, and onnxruntime's own fusions do not match
its patterns. Rewrites, each exact up to float rounding:

- attention: every T5 attention block
      softmax(Q K^T + bias_1 + ... + bias_n) V   (no 1/sqrt(d) scaling in T5)
  with its head split (Reshape/Transpose of Q, K, V) and merge becomes one
  com.microsoft.MultiHeadAttention(Q, K, V, attention_bias = sum of the
  bias terms: the relative position bias and the padding mask), scale 1;
- normalisation: T5's RMS norms (x / sqrt(mean(x^2) + eps) * w), alone and
  after a residual add, become SimplifiedLayerNormalization /
  SkipSimplifiedLayerNormalization (onnxscript's ORT fusion rules);
- clean-up of the input scaling, exact for every input: torch.nan_to_num's
  9 exported nodes become 3 (`simplify_nan_to_num`), Not(Not(x)) becomes x
  (`drop_double_not`);
- then the folds that read the graph's own values on probe inputs
  (graph_folding.py: values that do not change with the input, single-key
  attention, index-list GatherND, NaN identities, common subexpressions).

The result runs on onnxruntime only (com.microsoft operators, CPU and CUDA).
`fuse_for_ort` checks its own output: the rewritten graph must give the
original's outputs on the inputs it is given (relative 1e-4), else the
original is kept and the reason returned. The export's parity check against
PyTorch then runs on whatever graph is kept.
"""
from __future__ import annotations

import numpy as np


def _perm(node) -> list[int] | None:
    if node is None or node.op_type != "Transpose":
        return None
    for a in node.attribute:
        if a.name == "perm":
            return list(a.ints)
    return None


def fuse_attention(model, num_heads: int) -> int:
    """Rewrite `model` (onnx.ModelProto, in place): each matched attention
    block -> one MultiHeadAttention. Returns how many were rewritten. A block
    is matched only in this exact form, every intermediate used once:
        q = Transpose[0,2,1,3](Reshape(Q)), k = Transpose[0,2,3,1](Reshape(K)),
        v = Transpose[0,2,1,3](Reshape(V)),
        out = Reshape(Transpose[0,2,1,3](MatMul(Softmax[-1](Add(..Add(MatMul(q, k), b1).., bn)), v)))
    (any scaling or other operator in between: not matched, left as it is)."""
    from onnx import helper

    g = model.graph
    producer, consumers, graph_outputs = _graph_maps(g)

    def consumer(name):
        """The one node that reads `name` (once), None if it has other readers or is a graph output."""
        found = consumers.get(name, [])
        return found[0] if len(found) == 1 and name not in graph_outputs else None

    def single_user(n) -> bool:
        return consumer(n.output[0]) is not None

    replace, drop = {}, set()
    for sm in [n for n in g.node if n.op_type == "Softmax"]:
        axis = [a.i for a in sm.attribute if a.name == "axis"]
        if axis and axis[0] not in (-1, 3):
            continue
        chain, terms, x = [], [], sm.input[0]
        while producer.get(x) is not None and producer[x].op_type == "Add":
            add = producer[x]
            chain.append(add)
            terms.append(add.input[1])
            x = add.input[0]
        scores = producer.get(x)
        if scores is None or scores.op_type != "MatMul" or not terms:
            continue
        qt, kt = producer.get(scores.input[0]), producer.get(scores.input[1])
        if _perm(qt) != [0, 2, 1, 3] or _perm(kt) != [0, 2, 3, 1]:
            continue
        qr, kr = producer.get(qt.input[0]), producer.get(kt.input[0])
        av = consumer(sm.output[0])
        if (qr is None or kr is None or qr.op_type != "Reshape" or kr.op_type != "Reshape" or av is None
                or av.op_type != "MatMul" or av.input[0] != sm.output[0]):
            continue
        vt = producer.get(av.input[1])
        vr = producer.get(vt.input[0]) if vt is not None else None
        ot = consumer(av.output[0])
        merge = consumer(ot.output[0]) if ot is not None else None
        if (_perm(vt) != [0, 2, 1, 3] or vr is None or vr.op_type != "Reshape" or _perm(ot) != [0, 2, 1, 3]
                or merge is None or merge.op_type != "Reshape"):
            continue
        inner = [qr, kr, vr, qt, kt, vt, scores, *chain, sm, av, ot]
        if not all(single_user(n) for n in inner):
            continue
        name = f"{sm.name or sm.output[0]}_mha"
        nodes, bias = [], terms[-1]          # the chain was walked from the softmax back
        for k, term in enumerate(reversed(terms[:-1])):
            nodes.append(helper.make_node("Add", [bias, term], [f"{name}_bias{k}"], name=f"{name}_bias{k}"))
            bias = f"{name}_bias{k}"
        nodes.append(helper.make_node("MultiHeadAttention", [qr.input[0], kr.input[0], vr.input[0], "", "", bias],
                                      [merge.output[0]], name=name, domain="com.microsoft",
                                      num_heads=int(num_heads), scale=1.0))
        replace[id(merge)] = nodes
        drop.update(id(n) for n in inner)
    if not replace:
        return 0
    _replace_nodes(g, replace, drop)
    drop_unread_initializers(g)       # the dropped reshapes' shapes
    if not any(o.domain == "com.microsoft" for o in model.opset_import):
        model.opset_import.append(helper.make_opsetid("com.microsoft", 1))
    return len(replace)


def _graph_maps(g) -> tuple:
    """(producer of each value, readers of each value, graph output names)."""
    producer = {o: n for n in g.node for o in n.output}
    readers: dict[str, list] = {}
    for n in g.node:
        for i in n.input:
            readers.setdefault(i, []).append(n)
    return producer, readers, {o.name for o in g.output}


def drop_unread_initializers(g) -> None:
    """Remove the initializers no node reads."""
    read = {i for n in g.node for i in n.input}
    for t in [t for t in g.initializer if t.name not in read]:
        g.initializer.remove(t)


def _constants(g) -> dict:
    """name -> numpy array of every initializer and Constant node's value."""
    from onnx import numpy_helper
    found = {t.name: numpy_helper.to_array(t) for t in g.initializer}
    for n in g.node:
        if n.op_type == "Constant":
            for a in n.attribute:
                if a.name == "value":
                    found[n.output[0]] = numpy_helper.to_array(a.t)
    return found


def _replace_nodes(g, replace: dict, drop: set) -> None:
    """Rebuild g.node: node id in `replace` -> its list of new nodes (in its place), ids in `drop` removed."""
    kept = []
    for n in g.node:
        if id(n) in replace:
            kept.extend(replace[id(n)])
        elif id(n) not in drop:
            kept.append(n)
    del g.node[:]
    g.node.extend(kept)


def simplify_nan_to_num(model) -> int:
    """Rewrite `model` in place; returns how many were rewritten.
    torch.nan_to_num(x, nan=c) exports as 9 nodes:
        w1 = Where(IsNaN(x), c, x)
        w2 = Where(And(Less(x, 0), IsInf(x)), -FLT_MAX, w1)
        w3 = Where(And(Greater(x, 0), IsInf(x)), FLT_MAX, w2)
    which equal, for every float32 x, the 3 nodes
        w3 = Where(IsNaN(x), c, Clip(x, -FLT_MAX, FLT_MAX))
    (no finite float32 lies beyond +-FLT_MAX; +-inf clip to them; NaN gives c
    either way). Matched only with the default infinity replacements +-FLT_MAX
    of float32, a zero in both comparisons, and every intermediate read by
    this pattern alone."""
    from onnx import helper, numpy_helper

    g = model.graph
    producer, readers, outputs = _graph_maps(g)
    const = _constants(g)
    big = float(np.finfo(np.float32).max)

    def made_by(name, op):
        n = producer.get(name)
        return n if n is not None and n.op_type == op else None

    def scalar(name):
        v = const.get(name)
        return float(v.reshape(-1)[0]) if v is not None and v.size == 1 and v.dtype == np.float32 else None

    replace, drop = {}, set()
    for w3 in [n for n in g.node if n.op_type == "Where"]:
        a3, w2 = made_by(w3.input[0], "And"), made_by(w3.input[2], "Where")
        a2 = made_by(w2.input[0], "And") if w2 is not None else None
        w1 = made_by(w2.input[2], "Where") if w2 is not None else None
        isnan = made_by(w1.input[0], "IsNaN") if w1 is not None else None
        if a3 is None or a2 is None or isnan is None:
            continue
        x = isnan.input[0]
        gt, inf = made_by(a3.input[0], "Greater"), made_by(a3.input[1], "IsInf")
        lt = made_by(a2.input[0], "Less")
        if gt is None or inf is None or lt is None or a2.input[1] != inf.output[0]:
            continue
        if any(a.name in ("detect_positive", "detect_negative") and a.i != 1 for a in inf.attribute):
            continue    # an IsInf of one sign only: the pattern is not nan_to_num (an audit, 2026-12-06)
        if w1.input[2] != x or gt.input[0] != x or lt.input[0] != x or inf.input[0] != x:
            continue
        if scalar(gt.input[1]) != 0.0 or scalar(lt.input[1]) != 0.0:
            continue
        if scalar(w2.input[1]) != -big or scalar(w3.input[1]) != big:
            continue
        inner = [isnan, w1, lt, gt, a2, a3, w2]
        if any(o in outputs or len(readers.get(o, [])) != 1 for n in inner for o in n.output):
            continue
        if inf.output[0] in outputs or len(readers.get(inf.output[0], [])) != 2:
            continue
        name = w3.name or w3.output[0]
        lo, hi = f"{name}_lo", f"{name}_hi"
        g.initializer.extend([numpy_helper.from_array(np.array(-big, dtype=np.float32), lo),
                              numpy_helper.from_array(np.array(big, dtype=np.float32), hi)])
        replace[id(w3)] = [
            helper.make_node("IsNaN", [x], [f"{name}_isnan"], name=f"{name}_isnan"),
            helper.make_node("Clip", [x, lo, hi], [f"{name}_clip"], name=f"{name}_clip"),
            helper.make_node("Where", [f"{name}_isnan", w1.input[1], f"{name}_clip"], [w3.output[0]],
                             name=f"{name}_nan_to_num")]
        drop.update(id(n) for n in inner + [inf])
    if replace:
        _replace_nodes(g, replace, drop)
        drop_unread_initializers(g)
    return len(replace)


def drop_double_not(model) -> int:
    """Rewrite `model` in place: Not(Not(x)) -> x where the inner Not has no
    other reader and neither output is a graph output; returns how many."""
    g = model.graph
    producer, readers, outputs = _graph_maps(g)
    alias, drop = {}, set()
    for outer in [n for n in g.node if n.op_type == "Not"]:
        inner = producer.get(outer.input[0])
        if (inner is None or inner.op_type != "Not" or id(inner) in drop or outer.output[0] in outputs
                or inner.output[0] in outputs or len(readers.get(inner.output[0], [])) != 1):
            continue
        alias[outer.output[0]] = inner.input[0]
        drop.update((id(inner), id(outer)))
    if not alias:
        return 0
    _replace_nodes(g, {}, drop)
    for n in g.node:
        for k, name in enumerate(n.input):
            while name in alias:
                name = alias[name]
            n.input[k] = name
    return len(alias)


def _fuse_norms(model):
    """(model, {rule: count}) with T5's RMS norms fused by onnxscript's ORT rules."""
    import onnx_ir as ir
    from onnxscript.rewriter.ort_fusions import optimize_for_ort

    fused, stats = optimize_for_ort(ir.from_proto(model))
    keep = ("rms_normalization", "skip_rms_normalization")
    return ir.to_proto(fused), {k: int(v) for k, v in stats.items() if k in keep and v}


def _run(model_bytes: bytes, inputs: dict) -> list:
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(model_bytes, so, providers=["CPUExecutionProvider"]).run(None, inputs)


def fuse_for_ort(model, num_heads: int, inputs: dict, rtol: float = 1e-4) -> tuple:
    """(model, report): `model` (onnx.ModelProto) with the attention, clean-up
    and RMS-norm rewrites, if on `inputs` (name -> array) its outputs equal the original's
    within rtol of each output's largest magnitude; else the original model.
    report: {"nodes": [before, after], "fused": {rule: count}} or, when the
    original is kept, {"kept_original": reason}."""
    import onnx

    before = len(model.graph.node)
    want = _run(model.SerializeToString(), inputs)
    try:
        fused = onnx.ModelProto()
        fused.CopyFrom(model)
        counts = {"attention": fuse_attention(fused, num_heads), "nan_to_num": simplify_nan_to_num(fused),
                  "double_not": drop_double_not(fused)}
        fused, norms = _fuse_norms(fused)
        counts.update(norms)
        from chronotick.models.graph_folding import fold     # it imports this module's helpers
        counts.update(fold(fused, inputs))
        got = _run(fused.SerializeToString(), inputs)
    except Exception as exc:  # noqa: BLE001 - an optimisation: on any failure the plain graph stays
        return model, {"kept_original": f"{type(exc).__name__}: {exc}"}
    for w, x in zip(want, got):
        w = np.asarray(w, dtype=np.float64)
        if x.shape != w.shape or not np.all(np.isfinite(x) == np.isfinite(w)):
            return model, {"kept_original": "the rewritten graph's outputs differ in shape or finiteness"}
        # per batch row, relative to the row's largest magnitude (a 1e6-level row must not hide the others)
        rows = max(1, w.shape[0]) if w.ndim else 1
        d = np.nan_to_num(np.abs(x - w)).reshape(rows, -1).max(axis=1)
        ref = np.maximum(np.nan_to_num(np.abs(w)).reshape(rows, -1).max(axis=1), 1e-30)
        err = float(np.max(d / ref))
        if not err <= rtol:
            return model, {"kept_original": f"the rewritten graph differs by {err:.3g} (relative) > {rtol:g}"}
    return fused, {"nodes": [before, len(fused.graph.node)], "fused": {k: v for k, v in counts.items() if v}}
