"""Export-time folds that read the graph's own values: onnxruntime runs the
graph once per probe batch size (1, 2, 3, 5 rows of the verification inputs)
with every intermediate value as an output, and the folds below use what it
saw. Only for graphs whose inputs are fixed in every dimension but the first
(the probes vary only the number of rows).
Each is exact (bit for bit) except the MatMul chain (float rounding) and
single-key attention on non-finite values (below); the
caller (graph_fusions.fuse_for_ort) checks the folded graph's outputs against
the original's and keeps the original on any difference.

Which values depend on the input's values at all (`_value_free`): a value is
"value-free" if it is made from initializers and from Shape() only -- Shape()
of a value whose shape follows from the inputs' shapes (not of NonZero's, say)
-- so it is a function of the batch size alone (the other input dimensions are
fixed in an exported model; checked). The probes then see it at four batch
sizes; a function of the batch size that agrees at all four and not elsewhere
would be folded wrongly (none such in a Chronos-Bolt graph: its value-free
part builds shapes, broadcast constants and index lists). Of those, the ones the input-dependent part reads:

- batch_invariant: equal at every probe batch size -> an initializer; or of
  shape [B, ...] with every row equal, the same row at every batch size ->
  Expand(row, [B, ...]). In Chronos-Bolt: the decoder's start token, its first
  layer's self-attention and the query of its cross-attention (they read only
  that token), the encoder's [REG] token and its mask.
- gather_reshape: GatherND(data, indices) whose value-free indices list every
  element of data in row-major order (`mask[arange(B)[:, None], arange(S)]`,
  11 nodes from transformers' mask utilities) is data reshaped: Unsqueeze.
- single_key_attention: a MultiHeadAttention whose query, key and value are
  MatMul projections of one tensor with one position, with a value-free finite
  attention bias: softmax over one key is exactly 1, so the output is the value
  itself (the Chronos-Bolt decoder's self-attention over its one token). The Q
  and K projections then fall away. Exact where the logit is finite; where the
  tensor is not (or q.k overflows float32, hidden states near 1e19), the
  attention's output was NaN and the value is non-finite or finite: the runtime
  refuses a non-finite forecast, and such hidden states mean a broken model.
- matmul_chain: MatMul(MatMul(x, W1), W2), W1 and W2 constant 2-D, the inner
  read once -> MatMul(x, W1 W2) (W1 W2 formed in float64; float rounding only).
- nan_identities: Equal(x, x) -> Not(IsNaN(x)) (float x); IsNaN((x - m)^2) ->
  IsNaN(x) where m = Where(_, finite, Clip(_, finite, finite)) is always
  finite ((+-inf)^2 is inf, not NaN); Where(IsNaN(v), c, Clip(v, lo, hi)) -> v
  where v holds only 0 and 1 (a Cast of a boolean, through index operators)
  and lo <= 0, 1 <= hi.
- common_subexpressions: nodes of one operator, inputs and attributes (the
  identities above make the scaling's repeated NaN counts identical) -> one.
Nodes left unread are removed.
"""
from __future__ import annotations

import numpy as np

from chronotick.models.graph_fusions import _constants, _graph_maps, drop_unread_initializers

_INDEX_OPS = {"Gather", "Unsqueeze", "Squeeze", "Reshape", "Transpose", "Slice", "Expand", "Identity", "Flatten"}
PROBE_ROWS = (1, 2, 3, 5)

# Operators whose output shape follows from their inputs' shapes alone (elementwise with
# broadcasting, products, joins, normalisations, attention), and those whose output shape also
# depends on the *values* of some inputs (listed by position): those inputs must be value-free
# for the output's shape to be. Any other operator (NonZero, Compress, Unique, Loop, ...) may give
# a shape that depends on the data: Shape() of it is not value-free.
_SHAPE_FROM_SHAPES = {
    "Add", "Sub", "Mul", "Div", "Pow", "Max", "Min", "Mod", "Where", "Equal", "Greater", "Less",
    "GreaterOrEqual", "LessOrEqual", "And", "Or", "Xor", "Not", "IsNaN", "IsInf", "Cast", "CastLike",
    "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Reciprocal", "Abs", "Neg", "Sign", "Floor", "Ceil",
    "Round", "Erf", "Clip", "Softmax", "LogSoftmax", "Identity", "MatMul", "Gemm", "Concat", "Transpose",
    "Gather", "GatherND", "GatherElements", "Flatten", "Shape", "Size", "LayerNormalization",
    "SimplifiedLayerNormalization", "SkipSimplifiedLayerNormalization", "SkipLayerNormalization",
    "MultiHeadAttention", "Constant",
}
_SHAPE_FROM_VALUES = {
    "Reshape": (1,), "Expand": (1,), "Range": (0, 1, 2), "Slice": (1, 2, 3, 4), "Tile": (1,), "Pad": (1,),
    "ConstantOfShape": (0,), "Unsqueeze": (1,), "Squeeze": (1,), "ReduceSum": (1,), "ReduceMean": (1,),
    "ReduceMax": (1,), "ReduceMin": (1,), "ReduceProd": (1,), "ReduceL2": (1,), "Split": (1,), "TopK": (1,),
    "OneHot": (1,), "Resize": (1, 2, 3),
}


def _nondeterministic(n) -> bool:
    """Random* (any domain), dropout-like and sampling operators: never merged or folded."""
    return n.op_type in ("Multinomial", "Bernoulli") or "Dropout" in n.op_type or "Random" in n.op_type


def _batch_only_inputs(g) -> bool:
    """Every graph input (not an initializer) has a known rank and fixed dimensions but the first:
    the probes vary only the number of rows."""
    inits = {t.name for t in g.initializer}
    for i in g.input:
        if i.name in inits:
            continue
        t = i.type.tensor_type
        if not t.HasField("shape") or len(t.shape.dim) == 0:
            return False
        if any(not d.HasField("dim_value") for d in t.shape.dim[1:]):
            return False
    return True


def _value_free(g) -> set:
    """Names of the values made from initializers, Constant nodes and Shape() alone, Shape() of a
    value only where that value's shape follows from the graph inputs' shapes (_SHAPE_FROM_*):
    functions of the batch size alone. An initializer that is also a graph input (a default the
    caller may override) is not constant."""
    fed = {i.name for i in g.input}
    free = {t.name for t in g.initializer if t.name not in fed}
    static = set(free) | {i.name for i in g.input}       # values whose shape follows from the inputs' shapes
    for n in g.node:
        if any(a.type in (5, 10) for a in n.attribute):      # a subgraph (If, Loop, Scan): not followed
            continue
        ins = [i for i in n.input if i]
        known = n.domain in ("", "ai.onnx", "com.microsoft")
        if known and n.op_type in _SHAPE_FROM_SHAPES:
            shaped = all(i in static for i in ins)
        elif known and n.op_type in _SHAPE_FROM_VALUES:
            by_value = _SHAPE_FROM_VALUES[n.op_type]
            shaped = all(i in static for i in ins) and all(
                k >= len(n.input) or not n.input[k] or n.input[k] in free for k in by_value)
        else:
            shaped = False
        if shaped:
            static.update(o for o in n.output if o)
        if n.op_type == "Shape":
            if shaped:
                free.update(o for o in n.output if o)
        elif not _nondeterministic(n) and all(i in free for i in ins):
            free.update(o for o in n.output if o)
    return free


def probe(model, inputs: dict) -> list[dict] | None:
    """Every value of `model` (name -> array) on the first PROBE_ROWS (1, 2, 3, 5) rows of each
    input; None if the inputs have fewer rows or onnxruntime cannot run it so."""
    import onnx
    import onnxruntime as ort

    if any(np.ndim(v) < 1 or len(v) < max(PROBE_ROWS) for v in inputs.values()):
        return None
    m = onnx.ModelProto()
    m.CopyFrom(model)
    have = {o.name for o in m.graph.output}
    for n in m.graph.node:
        for o in n.output:
            if o and o not in have:
                m.graph.output.append(onnx.ValueInfoProto(name=o))
                have.add(o)
    so = ort.SessionOptions()
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL   # every value as written
    try:
        s = ort.InferenceSession(m.SerializeToString(), so, providers=["CPUExecutionProvider"])
        names = [o.name for o in s.get_outputs()]
        runs = []
        for rows in PROBE_ROWS:
            feed = {k: np.ascontiguousarray(v[:rows]) for k, v in inputs.items()}
            got = s.run(None, feed)
            runs.append({**feed, **{k: np.asarray(v) for k, v in zip(names, got)}})
    except Exception:  # noqa: BLE001 - no probe, no folds
        return None
    return runs


def _same(a, b) -> bool:
    """Equal bit for bit, but for NaN payloads (-0.0 is not 0.0; a NaN equals any NaN)."""
    if a.shape != b.shape or a.dtype != b.dtype:
        return False
    if a.dtype.kind != "f":
        return a.tobytes() == b.tobytes()
    na, nb = np.isnan(a), np.isnan(b)
    if not np.array_equal(na, nb):
        return False
    fa, fb = a[~na], b[~nb]
    return np.array_equal(fa, fb) and np.array_equal(np.signbit(fa), np.signbit(fb))


class _Folder:
    """One graph, its probes, and the count of each rewrite applied."""

    def __init__(self, model, runs: list[dict]):
        self.g, self.runs = model.graph, runs
        self.counts: dict[str, int] = {}
        self.inputs = [i.name for i in self.g.input if i.name not in {t.name for t in self.g.initializer}]
        fed = {i.name for i in self.g.input}
        # the original graph's constants (names the folds add are not looked up); an initializer
        # that is also a graph input is the caller's to override, not a constant
        self.const = {k: v for k, v in _constants(self.g).items() if k not in fed}
        self._n = 0
        self._taken: set | None = None

    def name(self, base: str) -> str:
        """A value/node name not yet in the graph."""
        if self._taken is None:
            g = self.g
            self._taken = ({t.name for t in g.initializer} | {i.name for i in g.input} | {o.name for o in g.output}
                           | {x for n in g.node for x in (*n.input, *n.output, n.name)})
        while True:
            self._n += 1
            name = f"fold{self._n}_{base}"
            if name not in self._taken:
                self._taken.add(name)
                return name

    def count(self, rule: str) -> None:
        self.counts[rule] = self.counts.get(rule, 0) + 1

    def init(self, base: str, value) -> str:
        from onnx import numpy_helper
        name = self.name(base)
        self.g.initializer.append(numpy_helper.from_array(np.asarray(value), name))
        return name

    def redirect(self, old: str, new: str) -> None:
        """Readers of `old` read `new` (graph outputs are left as they are)."""
        for n in self.g.node:
            for k, i in enumerate(n.input):
                if i == old:
                    n.input[k] = new

    def seen(self, name: str) -> list | None:
        """The value of `name` at each probe batch size (a constant's: its own), None if unknown."""
        if name in self.const:
            return [self.const[name]] * len(self.runs)
        vals = [r.get(name) for r in self.runs]
        return None if any(v is None for v in vals) else vals

    # -- the folds ---------------------------------------------------------
    def single_key_attention(self, free: set) -> None:
        found = []
        producer = _graph_maps(self.g)[0]
        for n in self.g.node:
            if n.op_type != "MultiHeadAttention" or n.domain != "com.microsoft":
                continue
            ins = list(n.input) + [""] * (8 - len(n.input))
            q, k, v, bias = ins[0], ins[1], ins[2], ins[5]
            if not (q and k and v) or ins[3] or ins[4] or ins[6] or ins[7]:
                continue        # packed, masked, or with a cache: not this form
            if any(o for o in n.output[1:]):
                continue
            # q, k and v projections of one tensor (self-attention): a non-finite input then makes
            # the value non-finite too (the attention's output was NaN)
            src = [producer.get(x) for x in (q, k, v)]
            if any(p is None or p.op_type != "MatMul" for p in src) or len({p.input[0] for p in src}) != 1:
                continue
            vq, vk, vv = self.seen(q), self.seen(k), self.seen(v)
            out = self.seen(n.output[0])
            if vq is None or vk is None or vv is None or out is None:
                continue
            if not all(a.ndim == 3 and a.shape[1] == 1 for a in (*vq, *vk, *vv)):
                continue
            if bias:
                vb = self.seen(bias)
                if bias not in free or vb is None or not all(np.isfinite(b).all() for b in vb):
                    continue
            if not all(_same(o, x) for o, x in zip(out, vv)):
                continue        # onnxruntime's own answer must be the value, bit for bit
            found.append((n.output[0], v))
        for out_name, v in found:
            self.redirect(out_name, v)
            self.count("single_key_attention")

    def gather_reshape(self, free: set) -> None:
        from onnx import helper
        repl = {}
        for n in self.g.node:
            if n.op_type != "GatherND" or n.domain not in ("", "ai.onnx") or n.input[1] not in free:
                continue
            if any(a.name == "batch_dims" and a.i != 0 for a in n.attribute):
                continue
            data, idx, out = self.seen(n.input[0]), self.seen(n.input[1]), self.seen(n.output[0])
            if data is None or idx is None or out is None:
                continue
            axes = None
            for d, i, o in zip(data, idx, out):
                r = d.ndim
                if i.shape[-1] != r or o.size != d.size:
                    break
                every = np.indices(d.shape).reshape(r, -1).T
                if not np.array_equal(i.reshape(-1, r), every):
                    break
                # o's shape is d's with ones inserted: which axes
                ax, j = [], 0
                for a, size in enumerate(o.shape):
                    if j < r and size == d.shape[j]:
                        j += 1
                    elif size == 1:
                        ax.append(a)
                    else:
                        break
                if j != r or len(ax) + r != o.ndim or (axes is not None and ax != axes):
                    break
                axes = ax
            else:
                if axes is None:
                    continue
                repl[n.output[0]] = [helper.make_node(
                    "Unsqueeze", [n.input[0], self.init("axes", np.array(axes, np.int64))], [n.output[0]],
                    name=self.name("unsqueeze"))]
                self.count("gather_reshape")
        self._replace(repl)

    def batch_invariant(self, free: set) -> None:
        """Values the input-dependent nodes (and graph outputs) read that do not change with the input."""
        from onnx import helper
        producer, readers, outputs = _graph_maps(self.g)
        inits = {t.name for t in self.g.initializer}
        frontier = []
        for name in free - inits:
            if name in outputs or any(not all(o in free for o in r.output if o) for r in readers.get(name, [])):
                frontier.append(name)
        batch_dim, shapes, front = None, {}, []       # front: new nodes reading only the input and constants
        for name in sorted(frontier):
            vals = self.seen(name)
            if vals is None:
                continue
            if all(_same(vals[0], v) for v in vals[1:]):
                if name in outputs:
                    continue
                self.redirect(name, self.init(name, vals[0]))
                self.count("batch_invariant")
                continue
            ok = all(v.ndim >= 1 and v.shape[0] == rows and v.shape[1:] == vals[0].shape[1:]
                     for v, rows in zip(vals, PROBE_ROWS))
            row = vals[0][:1]
            if not ok or name in outputs or not all(_same(v, np.ascontiguousarray(np.broadcast_to(row, v.shape)))
                                                    for v in vals):
                continue
            p = producer.get(name)
            if p is not None and p.op_type == "Expand" and p.input[0] in self.const:
                continue            # a constant row expanded already (a graph folded before)
            if batch_dim is None:
                if len(self.inputs) != 1:
                    return
                batch_dim = self.name("batch")
                front.append(helper.make_node("Shape", [self.inputs[0]], [batch_dim], start=0, end=1,
                                                   name=batch_dim))
            shape = shapes.get(row.shape[1:])
            if shape is None:       # [B, ...] once per shape
                shape = shapes[row.shape[1:]] = self.name("shape")
                rest = self.init("rest", np.array(row.shape[1:], np.int64))
                front.append(helper.make_node("Concat", [batch_dim, rest], [shape], axis=0, name=shape))
            folded = self.name(name)
            front.append(helper.make_node("Expand", [self.init(f"{name}_row", np.ascontiguousarray(row)), shape],
                                          [folded], name=folded))
            self.redirect(name, folded)
            self.count("batch_invariant")
        if front:        # they read only the graph input and initializers: first
            nodes = front + list(self.g.node)
            del self.g.node[:]
            self.g.node.extend(nodes)

    def matmul_chain(self) -> None:
        from onnx import helper
        while True:
            const = _constants(self.g)
            producer, readers, outputs = _graph_maps(self.g)
            repl = {}
            for outer in self.g.node:
                if outer.op_type != "MatMul" or outer.input[1] not in const:
                    continue
                inner = producer.get(outer.input[0])
                if inner is None or inner.op_type != "MatMul" or inner.input[1] not in const:
                    continue
                if inner.output[0] in outputs or len(readers.get(inner.output[0], [])) != 1:
                    continue
                w1, w2 = const[inner.input[1]], const[outer.input[1]]
                if w1.ndim != 2 or w2.ndim != 2 or w1.dtype != np.float32 or w2.dtype != np.float32:
                    continue
                with np.errstate(over="ignore"):
                    w = (w1.astype(np.float64) @ w2.astype(np.float64)).astype(np.float32)
                if not np.isfinite(w).all():
                    continue        # beyond float32: left as two products
                repl[outer.output[0]] = [helper.make_node("MatMul", [inner.input[0], self.init("w", w)],
                                                          [outer.output[0]], name=self.name("matmul"))]
                self.count("matmul_chain")
                break           # one at a time: chains may share nodes
            if not repl:
                return
            self._replace(repl)
            self.dead()

    def nan_identities(self) -> None:
        from onnx import helper
        const = _constants(self.g)
        producer, readers, outputs = _graph_maps(self.g)

        def finite_const(name) -> bool:
            v = const.get(name)
            return v is not None and v.dtype.kind == "f" and bool(np.isfinite(v).all())

        def always_finite(name) -> bool:
            # nan_to_num's form: Where(IsNaN(a), finite, Clip(a, finite, finite)) -- Clip keeps a NaN,
            # so the condition must be the NaN test of the Clip's own input
            w = producer.get(name)
            if w is None or w.op_type != "Where" or not finite_const(w.input[1]):
                return False
            c, isnan = producer.get(w.input[2]), producer.get(w.input[0])
            return (c is not None and c.op_type == "Clip" and len(c.input) == 3
                    and finite_const(c.input[1]) and finite_const(c.input[2])
                    and isnan is not None and isnan.op_type == "IsNaN" and isnan.input[0] == c.input[0])

        def same_shapes(a, b) -> bool:
            va, vb = self.seen(a), self.seen(b)
            return va is not None and vb is not None and all(x.shape == y.shape for x, y in zip(va, vb))

        def zero_one(name, depth=0) -> bool:
            p = producer.get(name)
            if p is None or depth > 16:
                return False
            if p.op_type == "Cast":
                vals = self.seen(p.input[0])
                return vals is not None and all(v.dtype == bool for v in vals)
            return p.op_type in _INDEX_OPS and zero_one(p.input[0], depth + 1)

        repl = {}
        for n in self.g.node:
            if n.op_type == "Equal" and n.input[0] == n.input[1]:
                vals = self.seen(n.input[0])
                if vals is None or vals[0].dtype.kind != "f":
                    continue
                isnan = self.name("isnan")
                repl[n.output[0]] = [helper.make_node("IsNaN", [n.input[0]], [isnan], name=isnan),
                                     helper.make_node("Not", [isnan], [n.output[0]], name=self.name("not"))]
                self.count("nan_identities")
        self._replace(repl)
        producer, readers, outputs = _graph_maps(self.g)
        for n in self.g.node:
            if n.op_type != "IsNaN":
                continue
            p = producer.get(n.input[0])
            if p is None or p.op_type != "Pow" or const.get(p.input[1]) is None:
                continue
            e = const[p.input[1]]
            sub = producer.get(p.input[0])
            if e.size != 1 or float(e.reshape(-1)[0]) != 2.0 or sub is None or sub.op_type != "Sub":
                continue
            if always_finite(sub.input[1]) and same_shapes(sub.input[0], n.input[0]):
                n.input[0] = sub.input[0]           # in place: the node list is not rebuilt here
                self.count("nan_identities")
        producer, readers, outputs = _graph_maps(self.g)
        found = []
        for n in self.g.node:
            if n.op_type != "Where" or n.output[0] in outputs:
                continue
            isnan, clip = producer.get(n.input[0]), producer.get(n.input[2])
            if isnan is None or clip is None or isnan.op_type != "IsNaN" or clip.op_type != "Clip":
                continue
            v = isnan.input[0]
            if clip.input[0] != v or len(clip.input) != 3 or not zero_one(v) or not same_shapes(v, n.output[0]):
                continue
            lo, hi = const.get(clip.input[1]), const.get(clip.input[2])
            if lo is None or hi is None or not (float(lo.reshape(-1)[0]) <= 0 and float(hi.reshape(-1)[0]) >= 1):
                continue
            found.append((n.output[0], v))
        for out_name, v in found:
            self.redirect(out_name, v)
            self.count("nan_identities")

    def common_subexpressions(self) -> None:
        outs = {o.name for o in self.g.output}
        for _ in range(len(self.g.node) + 1):      # each round removes a node, or ends
            seen, merged = {}, False
            for n in self.g.node:
                if _nondeterministic(n) or any(a.type in (5, 10) for a in n.attribute):
                    continue
                key = (n.domain, n.op_type, tuple(n.input), tuple(a.SerializeToString() for a in n.attribute))
                first = seen.get(key)
                if first is None:
                    seen[key] = n
                    continue
                if any(o in outs for o in n.output):
                    continue
                if len(n.output) > len(first.output) or any(a and not b for a, b in zip(n.output, first.output)):
                    continue        # an output the kept node does not produce (an optional one left out)
                for a, b in zip(n.output, first.output):
                    if a:
                        self.redirect(a, b)
                self.count("common_subexpressions")
                merged = True
            if not merged:
                return
            self.dead()

    # -- bookkeeping -------------------------------------------------------
    def _replace(self, repl: dict) -> None:
        """Rebuild the node list once: the node whose first output is a key of `repl` -> its new
        nodes (in its place). Node references taken before are stale afterwards."""
        if not repl:
            return
        nodes = []
        for n in self.g.node:
            nodes.extend(repl.get(n.output[0], [n]) if n.output else [n])
        del self.g.node[:]
        self.g.node.extend(nodes)

    def dead(self) -> None:
        """Remove nodes none of whose outputs is read, and unread initializers."""
        outs = {o.name for o in self.g.output}
        while True:
            read = {i for n in self.g.node for i in n.input} | outs
            keep = [n for n in self.g.node if any(o in read for o in n.output if o)]
            if len(keep) == len(self.g.node):
                break
            del self.g.node[:]
            self.g.node.extend(keep)
        drop_unread_initializers(self.g)


def fold(model, inputs: dict) -> dict:
    """Apply the folds to `model` (onnx.ModelProto) in place; {rule: count}. Needs at least 5 rows
    of verification inputs (name -> array); with fewer, or where onnxruntime cannot run the graph
    with its values exposed, nothing is folded."""
    if not _batch_only_inputs(model.graph):
        return {}
    runs = probe(model, inputs)
    if runs is None:
        return {}
    f = _Folder(model, runs)
    free = _value_free(model.graph)
    f.single_key_attention(free)
    f.gather_reshape(free)
    f.batch_invariant(free)
    f.dead()
    f.matmul_chain()
    f.nan_identities()
    f.common_subexpressions()
    f.dead()
    return f.counts
