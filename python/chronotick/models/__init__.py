"""The forecasters chronotick knows, by name.

Classical models (always available, no files): hold, robust, regression,
kalman, and "fused" (their fusion, weighted by recent error). ONNX models (time-series
foundation models) are found as `<name>.onnx` + `<name>.json` (model card) in
this package's `data/` folder, or registered at run time with `register()`.
"""
from __future__ import annotations

import builtins
import os
import stat

from chronotick.errors import ModelFileNotFoundError

CLASSICAL = ("hold", "robust", "regression", "kalman")
FUSED = "fused"
AUTO = "auto"
FUSED_MEMBERS = ("robust", "regression", "kalman")   # the classical ensemble (_core.DEFAULT_ENSEMBLE)

_DATA_DIR = os.path.join(os.path.dirname(__file__), "data")
_registered: dict[str, str] = {}   # name -> path of a .onnx file
# name -> how many times it was registered: a forecaster loaded for an older registration
# (chronotick.api.onnx_forecaster's cache) is loaded again, the file may have been replaced
_generation: dict[str, int] = {}
_shipped: dict[str, str] | None = None  # scanned once: package data does not change at run time


def onnx_file_name(path) -> bool:
    """Whether `path` (str, bytes or os.PathLike) names a .onnx file as `register` takes one: a
    file name with a stem and the extension .onnx, any case (".onnx" alone is a stem)."""
    try:
        path = os.fsdecode(os.fspath(path))
    except TypeError:
        return False
    return os.path.splitext(path)[1].lower() == ".onnx"


def check_register_name(name) -> None:
    """ValueError unless `name` is one register() takes: a non-empty string without white space
    at either end, not a built-in model's (the classical ones, fused, auto). `chronotick export
    --register` checks its name with it before exporting (it had printed a register() line that
    register() refused; an audit, 2026-12-05)."""
    if not isinstance(name, str) or not name.strip():
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if name != name.strip():
        # "kalman " would be listed beside "kalman" and read as it in notes and weights
        raise ValueError(f"name must not begin or end with white space, got {name!r}")
    if name in CLASSICAL or name in (FUSED, AUTO):
        raise ValueError(f"name {name!r} is reserved for a built-in model")


def register(name: str, path: str) -> None:
    """Make an exported ONNX model available as `model=name`. path: an
    existing `.onnx` file (its model card, if any, is the `.json` beside it);
    its content is checked when the model is loaded. Registering a name
    again (even with the same path: a re-export replaces the file) makes
    `predict(model=name)` load the file again. Forecasts of the model are
    named `name`. The name of a shipped model (clock-bolt) may be registered
    too: the file then takes the shipped model's place wherever the name is
    used, `model="auto"` included (a RuntimeWarning says so)."""
    check_register_name(name)
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a path to a .onnx file, got {type(path).__name__} {path!r}") from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not onnx_file_name(path):
        raise ValueError(f"path must name a .onnx file, got {path!r}")
    if not os.path.isfile(path):
        raise ModelFileNotFoundError(f"no such ONNX model file: {path}")
    shipped = onnx_models().get(name) if name not in _registered else None
    if shipped is not None and os.path.abspath(path) != shipped:
        import warnings
        warnings.warn(f"register({name!r}, {path!r}) replaces the shipped model {name} ({shipped}) for "
                      f"model={name!r} and model='auto'", RuntimeWarning, stacklevel=2)
    _registered[name] = os.path.abspath(path)
    _generation[name] = _generation.get(name, 0) + 1


def generation(name: str) -> int:
    """How many times `name` was registered (0: a shipped model, or never)."""
    return _generation.get(name, 0)


def onnx_models() -> dict[str, str]:
    """name -> path of every ONNX model available (shipped, then registered)."""
    global _shipped
    if _shipped is None:
        found = {}
        if os.path.isdir(_DATA_DIR):
            for fn in sorted(os.listdir(_DATA_DIR)):
                if fn.endswith(".onnx"):
                    found[fn[:-5]] = os.path.join(_DATA_DIR, fn)
        _shipped = found
    return {**_shipped, **_registered}


def names() -> builtins.list[str]:
    """Every valid `model=` value."""
    return [AUTO, FUSED, *CLASSICAL, *onnx_models()]


def card_path_of(onnx_path: str) -> str:
    """The model card beside an ONNX file: the same name with .json."""
    return os.path.splitext(onnx_path)[0] + ".json"


def read_card(onnx_path: str) -> tuple[dict | None, str | None]:
    """(card, error) of the model card beside an ONNX file (the same name with
    .json): the card, None when there is none; or None and what is wrong with
    it (a directory, not UTF-8, not JSON, not a JSON object), naming the file.
    list() reports the error; OnnxForecaster raises it as a ModelError."""
    import json
    card_path = card_path_of(onnx_path)
    if not os.path.lexists(card_path):
        return None, None
    try:
        with open(card_path, encoding="utf-8") as f:
            card = json.load(f)
    except (OSError, ValueError, RecursionError) as exc:
        # JSONDecodeError and UnicodeDecodeError are ValueErrors; arrays nested thousands deep
        # are a RecursionError of json's decoder
        return None, f"model card {card_path} is not readable JSON: {type(exc).__name__}: {exc}"
    if not isinstance(card, dict):
        return None, f"model card {card_path} must hold a JSON object, got {type(card).__name__}"
    error = card_vs_graph(onnx_path, card, card_path)
    if error:
        return None, error
    return card, None


# ---- the model card's shapes against the graph ------------------------------------------------
# The card's top-level context / prediction_length / num_quantiles / quantile_levels are
# compared with the session's input and output by OnnxForecaster (onnx.py). Its `input.shape`,
# `output.shape` and `patch_size` are checked here, against the graph read straight from the
# file (a few protobuf fields: no onnx package, no session), so that list() reports them too.

def _varint(buf, i: int) -> tuple[int, int]:
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7
        if shift > 63:
            raise ValueError("varint too long")


def _fields(buf, start: int, end: int):
    """(field number, wire type, value) of one protobuf message in buf[start:end]; value: an
    int (varint, fixed), or (start, end) of a length-delimited field."""
    i = start
    while i < end:
        key, i = _varint(buf, i)
        field, wt = key >> 3, key & 7
        if wt == 0:
            v, i = _varint(buf, i)
        elif wt == 1:
            v, i = int.from_bytes(buf[i:i + 8], "little"), i + 8
        elif wt == 2:
            n, i = _varint(buf, i)
            v, i = (i, i + n), i + n
        elif wt == 5:
            v, i = int.from_bytes(buf[i:i + 4], "little"), i + 4
        else:
            raise ValueError(f"unsupported protobuf wire type {wt}")
        if i > end:
            raise ValueError("truncated protobuf message")
        yield field, wt, v


def _int64(v: int) -> int:
    return v - (1 << 64) if v >= 1 << 63 else v


def _value_info(buf, s: int, e: int) -> tuple[str, list | None]:
    """(name, dims) of an ONNX ValueInfoProto: dims as ints (fixed), strings (named dynamic)
    or None (unknown); None when it gives no tensor shape."""
    name, dims = "", None
    for f, wt, v in _fields(buf, s, e):
        if f == 1 and wt == 2:
            name = bytes(buf[v[0]:v[1]]).decode("utf-8", "replace")
        elif f == 2 and wt == 2:                          # TypeProto
            for f2, wt2, v2 in _fields(buf, *v):
                if f2 != 1 or wt2 != 2:                   # tensor_type
                    continue
                for f3, wt3, v3 in _fields(buf, *v2):
                    if f3 != 2 or wt3 != 2:               # shape
                        continue
                    dims = []
                    for f4, wt4, v4 in _fields(buf, *v3):
                        if f4 != 1 or wt4 != 2:           # dim
                            continue
                        d = None
                        for f5, wt5, v5 in _fields(buf, *v4):
                            if f5 == 1 and wt5 == 0:
                                d = _int64(v5)
                            elif f5 == 2 and wt5 == 2:
                                d = bytes(buf[v5[0]:v5[1]]).decode("utf-8", "replace")
                        dims.append(d)
    return name, dims


def graph_signature(onnx_path: str) -> dict | None:
    """What the ONNX file's graph declares, read from its protobuf without loading it:
    {"inputs": {name: dims}, "outputs": {name: dims}, "patch_size": int | None}; dims as
    _value_info gives them. patch_size: half the input width of the first MatMul that takes
    a Concat and a 2-D initializer (Chronos-Bolt's input patch embedding, whose input is a
    patch and its observed mask side by side), None where there is none. None when the file
    cannot be read as an ONNX model (the loader reports that)."""
    import mmap
    try:
        with open(onnx_path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            graph = next((v for f, wt, v in _fields(buf, 0, len(buf)) if f == 7 and wt == 2), None)
            if graph is None:
                return None
            inputs, outputs, inits, nodes = {}, {}, {}, []
            for f, wt, v in _fields(buf, *graph):
                if wt != 2:
                    continue
                if f in (11, 12):
                    name, dims = _value_info(buf, *v)
                    (inputs if f == 11 else outputs)[name] = dims
                elif f == 5:                                  # TensorProto: dims, name
                    name, dims = "", []
                    for f2, wt2, v2 in _fields(buf, *v):
                        if f2 == 1 and wt2 == 0:
                            dims.append(_int64(v2))
                        elif f2 == 1 and wt2 == 2:            # packed
                            j = v2[0]
                            while j < v2[1]:
                                d, j = _varint(buf, j)
                                dims.append(_int64(d))
                        elif f2 == 8 and wt2 == 2:
                            name = bytes(buf[v2[0]:v2[1]]).decode("utf-8", "replace")
                    inits[name] = dims
                elif f == 1:                                  # NodeProto: input, output, op_type
                    node = {"input": [], "output": [], "op": ""}
                    for f2, wt2, v2 in _fields(buf, *v):
                        if wt2 == 2 and f2 in (1, 2, 4):
                            text = bytes(buf[v2[0]:v2[1]]).decode("utf-8", "replace")
                            if f2 == 4:
                                node["op"] = text
                            else:
                                node["input" if f2 == 1 else "output"].append(text)
                    nodes.append(node)
    except (OSError, ValueError, IndexError, OverflowError):
        return None
    for name in inits:            # IR < 4 lists the initializers among the inputs
        inputs.pop(name, None)
    producer = {o: n["op"] for n in nodes for o in n["output"]}
    patch = None
    for n in nodes:
        if n["op"] == "MatMul" and len(n["input"]) == 2 and len(inits.get(n["input"][1], ())) == 2:
            width = inits[n["input"][1]][0]
            if producer.get(n["input"][0]) == "Concat" and width >= 2 and width % 2 == 0:
                patch = width // 2
            break
    return {"inputs": inputs, "outputs": outputs, "patch_size": patch}


def _is_pos_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and v >= 1


def card_fields_error(card: dict) -> str | None:
    """What the loader (OnnxForecaster) refuses in the card's own fields, as "its FIELD ..."
    (the caller names the file), or None: context, prediction_length and num_quantiles, where
    given, positive integers; quantile_levels, where given, a non-empty list of levels in (0, 1),
    strictly increasing, holding 0.5. list() had shown no card_error for such a card while the
    loader refused it (an audit, 2026-12-05)."""
    for key in ("context", "prediction_length", "num_quantiles"):
        if key in card and not _is_pos_int(card[key]):
            return f"its {key} must be a positive integer, got {card[key]!r}"
    if "quantile_levels" in card:
        levels = card["quantile_levels"]
        if not isinstance(levels, builtins.list) or not levels:
            return f"its quantile_levels must be a non-empty list, got {levels!r}"
        from chronotick.models.calibration import _check_levels
        try:
            lv = _check_levels(levels, "quantile_levels")
        except (ValueError, TypeError) as exc:
            return f"its {exc}"
        if not (lv == 0.5).any():
            return f"its quantile_levels must contain 0.5 (the median), got {levels!r}"
    return None


def _card_num_quantiles(card: dict):
    """The card's num_quantiles, else the length of its quantile_levels (a non-empty list), else None."""
    levels = card.get("quantile_levels")
    return card.get("num_quantiles", len(levels) if isinstance(levels, builtins.list) and levels else None)


def card_vs_graph(onnx_path: str, card: dict, card_path: str | None = None) -> str | None:
    """What is wrong with the card's `input.name` / `output.name` (a name the graph lacks),
    `input.shape`, `output.shape` and `patch_size` (a
    message naming the card's file, the field and both values), or None. Each is compared
    with the graph where the graph fixes it (input `context` [batch, L], output `quantiles`
    [batch, K, H]; patch_size with a Chronos-Bolt card: the width of the graph's input patch
    embedding), else with the card's own context / num_quantiles (or the length of
    quantile_levels) / prediction_length, the values the loader uses where the graph leaves a
    dimension dynamic. A dimension the card names by a string (e.g. "batch") is not compared.
    Missing entries are not checked."""
    card_path = card_path or card_path_of(onnx_path)
    where = f"model card {card_path}"
    sig = None

    def graph():
        nonlocal sig
        if sig is None:
            sig = graph_signature(onnx_path) or {"inputs": {}, "outputs": {}, "patch_size": None}
        return sig

    card_K = _card_num_quantiles(card)
    top = {"input": {1: ("context", card.get("context"))},
           "output": {1: ("num_quantiles", card_K), 2: ("prediction_length", card.get("prediction_length"))}}
    for key, default_name, rank in (("input", "context", 2), ("output", "quantiles", 3)):
        if key not in card:
            continue
        spec = card[key]
        if not isinstance(spec, dict):
            return f"{where}: {key} must be a JSON object, got {spec!r}"
        name = spec.get("name", default_name)
        side = graph()["inputs" if key == "input" else "outputs"]
        dims = side.get(name) if isinstance(name, str) else None
        if dims is None and "name" in spec and side:
            # a name the graph does not have: the card is not this file's (it had been read as the
            # graph's only input, and an output's shape left unchecked; an audit, 2026-12-06)
            return (f"{where}: {key}.name is {name!r} but the graph {onnx_path} has "
                    f"{'inputs' if key == 'input' else 'outputs'} {sorted(side)!r}")
        if "shape" not in spec:
            continue
        shape = spec["shape"]
        if not isinstance(shape, builtins.list) or not all(
                isinstance(d, str) or _is_pos_int(d) for d in shape):
            return (f"{where}: {key}.shape must be a list of positive integers and dimension names, "
                    f"got {shape!r}")
        if dims is None and len(side) == 1 and key == "input":
            name, dims = next(iter(side.items()))
        if len(shape) != rank:
            what = f"the graph {onnx_path} has {key} {name!r} of shape {dims!r}" if dims is not None else \
                f"the {key} {default_name!r} has {rank} dimensions"
            return f"{where}: {key}.shape is {shape!r} ({len(shape)} dimensions) but {what}"
        if dims is not None and len(dims) != rank:
            return (f"{where}: {key}.shape is {shape!r} but the graph {onnx_path} has {key} {name!r} "
                    f"of shape {dims!r}")
        for axis, c in enumerate(shape):
            if isinstance(c, str):
                continue
            g = dims[axis] if dims is not None else None
            if isinstance(g, int) and g >= 1:
                if c != g:
                    return (f"{where}: {key}.shape is {shape!r} but the graph {onnx_path} has {key} "
                            f"{name!r} of shape {dims!r} (dimension {axis}: the card says {c}, the graph {g})")
            elif axis in top[key]:
                field, v = top[key][axis]
                if _is_pos_int(v) and c != v:
                    return (f"{where}: {key}.shape is {shape!r} but its {field} is {v!r} (dimension {axis}; "
                            f"the graph leaves it dynamic)")
    if "patch_size" in card:
        p = card["patch_size"]
        if not _is_pos_int(p):
            return f"{where}: patch_size must be a positive integer, got {p!r}"
        if "ChronosBolt" in str(card.get("architecture", "")):
            g = graph()["patch_size"]
            if g is not None and g != p:
                return (f"{where}: patch_size is {p!r} but the graph {onnx_path} patches by {g} (its input "
                        f"patch embedding takes {2 * g} values: a patch and its observed mask)")
    return None


def card_dims_vs_graph(onnx_path: str, card: dict, card_path: str | None = None) -> str | None:
    """Where the graph fixes them, what contradicts them among the card's own context,
    num_quantiles (or the length of quantile_levels) and prediction_length (a message naming
    the card's file, the field and both values), or None. The loader refuses such a model
    with its own message (OnnxForecaster._check_signature); list() had shown no card_error."""
    where = f"model card {card_path or os.path.splitext(onnx_path)[0] + '.json'}"
    sig = graph_signature(onnx_path)
    if sig is None:
        return None                   # unreadable: the loader says so
    card_K = _card_num_quantiles(card)
    ins, outs = sig["inputs"], sig["outputs"]
    in_dims = ins.get("context", next(iter(ins.values())) if len(ins) == 1 else None)
    out_dims = outs.get("quantiles", next(iter(outs.values())) if len(outs) == 1 else None)
    for field, v, dims, axis, what in (("context", card.get("context"), in_dims, 1, "context length"),
                                       ("num_quantiles", card_K, out_dims, 1, "number of quantiles"),
                                       ("prediction_length", card.get("prediction_length"), out_dims, 2, "horizon")):
        g = dims[axis] if isinstance(dims, (builtins.list, tuple)) and len(dims) > axis else None
        if _is_pos_int(v) and isinstance(g, int) and g >= 1 and v != g:
            named = field if field != "num_quantiles" or "num_quantiles" in card else "quantile_levels' length"
            return f"{where}: its {named} is {v!r} but the graph {onnx_path} has a {what} of {g}"
    return None


def list() -> builtins.list[dict]:  # noqa: A001 - the issue names this API `chronotick.models.list()`
    """One dict per available model (every name of `names()`): name, kind
    ("classical" | "fused" | "onnx"), path, card, card_error. "auto" is of
    kind "fused": the classical fusion, joined by the shipped ONNX model
    where present. card: the ONNX model's card (`<name>.json` beside it), None
    when it has none or it cannot be read; card_error: None, or what is wrong
    with the card, naming its file (one bad card does not hide the others)."""
    out = [{"name": AUTO, "kind": "fused", "path": None, "card": None, "card_error": None}]
    out += [{"name": n, "kind": "classical", "path": None, "card": None, "card_error": None} for n in CLASSICAL]
    out.append({"name": FUSED, "kind": "fused", "path": None, "card": None, "card_error": None})
    for name, path in onnx_models().items():
        if not os.path.isfile(path):
            # a registered file deleted since: listed as usable had predict() then failed on it
            out.append({"name": name, "kind": "onnx", "path": path, "card": None,
                        "card_error": f"no such ONNX model file: {path}"})
            continue
        card, error = read_card(path)
        if error is None and card is not None:
            bad = card_fields_error(card)
            error = (f"model card {os.path.splitext(path)[0] + '.json'}: {bad}" if bad is not None
                     else card_dims_vs_graph(path, card))
        out.append({"name": name, "kind": "onnx", "path": path, "card": card, "card_error": error})
    return out


def model_path(model) -> str | None:
    """The path `model` names when it is given as a file rather than a name: an
    os.PathLike, or a string that is no model name (names()) and ends with .onnx or holds
    a directory separator; None for a name (valid or not: check_name judges it). The path
    must be an existing .onnx file: else FileNotFoundError / ValueError naming it. Its
    content is checked when it is loaded (a ModelError naming it)."""
    if isinstance(model, os.PathLike):
        model = os.fspath(model)
        if isinstance(model, bytes):
            model = os.fsdecode(model)
    elif not isinstance(model, str) or model in (AUTO, FUSED) or model in CLASSICAL or model in onnx_models():
        return None
    elif not (model.lower().endswith(".onnx") or os.sep in model or (os.altsep and os.altsep in model)):
        return None
    try:       # one stat for os.path.isdir and os.path.isfile (predict calls this every time)
        mode = os.stat(model).st_mode
    except (OSError, ValueError):
        mode = 0
    if stat.S_ISDIR(mode):
        raise ValueError(f"model path {model!r} is a directory, not a .onnx file")
    if not onnx_file_name(model):
        raise ValueError(f"model path {model!r} must name a .onnx file (an exported model; its card is "
                         f"the .json beside it)")
    if not stat.S_ISREG(mode):
        raise ModelFileNotFoundError(f"no such ONNX model file: {model}")
    return model


def check_name(model: str) -> str:
    """Return `model` if valid, else raise ValueError listing the valid names."""
    if isinstance(model, str) and (model in (AUTO, FUSED) or model in CLASSICAL):
        return model
    valid = names()
    if not isinstance(model, str):      # (first: an array's `in` had raised numpy's "truth value ... ambiguous")
        raise TypeError(f"model must be a string, one of {valid}; got {type(model).__name__} {model!r}")
    if model not in valid:
        raise ValueError(f"unknown model {model!r}; valid names: {', '.join(valid)}")
    return model
