"""The forecasters chronotick knows, by name.

Classical models (always available, no files): hold, robust, regression,
kalman, and "fused" (their fusion, weighted by recent error). ONNX models (time-series
foundation models) are found as `<name>.onnx` + `<name>.json` (model card) in
this package's `data/` folder, or registered at run time with `register()`.
"""
from __future__ import annotations

import builtins
import os

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


def register(name: str, path: str) -> None:
    """Make an exported ONNX model available as `model=name`. path: an
    existing `.onnx` file (its model card, if any, is the `.json` beside it);
    its content is checked when the model is loaded. Registering a name
    again (even with the same path: a re-export replaces the file) makes
    `predict(model=name)` load the file again. Forecasts of the model are
    named `name`."""
    if not isinstance(name, str) or not name:
        raise ValueError(f"name must be a non-empty string, got {name!r}")
    if name in CLASSICAL or name in (FUSED, AUTO):
        raise ValueError(f"name {name!r} is reserved for a built-in model")
    try:
        path = os.fspath(path)
    except TypeError:
        raise TypeError(f"path must be a path to a .onnx file, got {type(path).__name__} {path!r}") from None
    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if os.path.splitext(path)[1].lower() != ".onnx":
        raise ValueError(f"path must name a .onnx file, got {path!r}")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such ONNX model file: {path}")
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


def read_card(onnx_path: str) -> tuple[dict | None, str | None]:
    """(card, error) of the model card beside an ONNX file (the same name with
    .json): the card, None when there is none; or None and what is wrong with
    it (a directory, not UTF-8, not JSON, not a JSON object), naming the file.
    list() reports the error; OnnxForecaster raises it as a ModelError."""
    import json
    card_path = os.path.splitext(onnx_path)[0] + ".json"
    if not os.path.lexists(card_path):
        return None, None
    try:
        with open(card_path, encoding="utf-8") as f:
            card = json.load(f)
    except (OSError, ValueError) as exc:       # JSONDecodeError and UnicodeDecodeError are ValueErrors
        return None, f"model card {card_path} is not readable JSON: {type(exc).__name__}: {exc}"
    if not isinstance(card, dict):
        return None, f"model card {card_path} must hold a JSON object, got {type(card).__name__}"
    return card, None


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
        card, error = read_card(path)
        out.append({"name": name, "kind": "onnx", "path": path, "card": card, "card_error": error})
    return out


def check_name(model: str) -> str:
    """Return `model` if valid, else raise ValueError listing the valid names."""
    if model in (AUTO, FUSED) or model in CLASSICAL:
        return model
    valid = names()
    if not isinstance(model, str):
        raise TypeError(f"model must be a string, one of {valid}; got {type(model).__name__} {model!r}")
    if model not in valid:
        raise ValueError(f"unknown model {model!r}; valid names: {', '.join(valid)}")
    return model
