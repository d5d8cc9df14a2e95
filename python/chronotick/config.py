"""Engine configuration: YAML file, dict, or None (defaults), validated.

Unknown keys and bad values are errors (`chronotick.ConfigError`) that name
the key, e.g. ``engine.buffer_capacity: must be an integer >= 2 and <= 10000000, got -3``.
In a YAML file, relative .onnx paths (short_term.models, long_term.model) are
relative to the file's folder.

    engine:
      buffer_capacity: 4096     # measurements held (ring buffer; oldest overwritten)
      history: 512              # newest measurements the models see (an ONNX long-term model: what its window spans, within buffer_capacity)
      min_history: 8            # below this the forecast falls back to hold (at least 3, as history)
      calib_origins: 24         # past errors per lead that calibrate the intervals
      calib_spread: 8           # lead S's errors from origins ceil(S / 8) apart (0: consecutive)
      kalman_live_pairs: false  # true: the Kalman member's past forecasts made as its live one (long-lead intervals keep their coverage; ~2-3x the classical forecast's time)
    short_term:
      models: [auto]            # chronotick.models.names() or .onnx paths ("auto": fused + the shipped clock-bolt); weights 1/recent MAE^2
      horizon: 8                # steps on the measurement-spaced grid
      step_s: null              # null: median measurement spacing
    long_term:
      model: null               # an ONNX model name or path; null: the classical fusion
      horizon: 64
      step_factor: 8            # long-term step = step_factor * short-term step
    onnx:
      providers: null           # e.g. [CUDAExecutionProvider, CPUExecutionProvider]; null: CPU short-term, CUDA if present long-term
      intra_op_threads: 1
      detrend_r2: 0.8           # forecast along a robust line where it explains > this share of the window; null: off
    covariates:
      names: null               # covariate names observe() takes, e.g. [temperature]; null: the first observe()'s
      metrics: false            # collect system metrics (chronotick.metrics) while the engine runs
      interval_s: 1.0
      capacity: 4096
"""
from __future__ import annotations

import copy
import functools
import math
import os
from typing import Any

import numpy as np

from chronotick.errors import ConfigError

DEFAULTS: dict[str, dict[str, Any]] = {
    "engine": {"buffer_capacity": 4096, "history": 512, "min_history": 8, "calib_origins": 24, "calib_spread": 8,
               "kalman_live_pairs": False},
    "short_term": {"models": ["auto"], "horizon": 8, "step_s": None},
    "long_term": {"model": None, "horizon": 64, "step_factor": 8},
    "onnx": {"providers": None, "intra_op_threads": 1, "detrend_r2": 0.8},
    "covariates": {"names": None, "metrics": False, "interval_s": 1.0, "capacity": 4096},
}


def _plain(v):
    """numpy numbers (np.int64(8), np.float32(64.0), np.bool_) as the Python ones they stand for,
    inside lists too: the checks below and the engine take Python values."""
    if isinstance(v, list):
        return [_plain(x) for x in v]
    return v.item() if isinstance(v, np.generic) else v


def _text_number(v) -> str:
    """A hint where a number came as text: YAML 1.1 (PyYAML) reads 1e1 as a string."""
    if isinstance(v, str):
        try:
            float(v)
        except ValueError:
            return ""
        return " (a string: YAML reads an exponent without a dot, e.g. 1e1, as text; write 10 or 1.0e+1)"
    return ""


def _pos_int(key, v, lo=1, hi=None):
    if isinstance(v, bool) or not isinstance(v, int) or v < lo or (hi is not None and v > hi):
        rng = f"an integer >= {lo}" + (f" and <= {hi}" if hi is not None else "")
        raise ConfigError(f"{key}: must be {rng}, got {v!r}{_text_number(v)}")


def _pos_num(key, v, allow_none=False, lo=None, hi=None):
    if v is None and allow_none:
        return
    if isinstance(v, int) and not isinstance(v, bool):
        try:
            float(v)
        except OverflowError:
            # math.isfinite raised a bare OverflowError naming no key (an audit, 2026-12-06)
            raise ConfigError(f"{key}: must be a finite number, got an integer beyond float64 "
                              f"({len(str(abs(v)))} digits)") from None
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0:
        raise ConfigError(f"{key}: must be a positive number{' or null' if allow_none else ''}, "
                          f"got {v!r}{_text_number(v)}")
    if (lo is not None and v < lo) or (hi is not None and v > hi):
        raise ConfigError(f"{key}: must be in [{lo:g}, {hi:g}], got {v!r}")


def _validate(cfg: dict) -> None:
    e = cfg["engine"]
    _pos_int("engine.buffer_capacity", e["buffer_capacity"], 2, 10_000_000)
    # 3: the fewest measurements the classical models fit (robust's median of spacings and
    # residuals; at 2 every model failed and the answer was hold, health() saying ok)
    _pos_int("engine.history", e["history"], 3, 100_000)
    _pos_int("engine.min_history", e["min_history"], 3)
    _pos_int("engine.calib_origins", e["calib_origins"], 1, 10_000)
    _pos_int("engine.calib_spread", e["calib_spread"], 0, 1024)
    if not isinstance(e["kalman_live_pairs"], bool):
        raise ConfigError(f"engine.kalman_live_pairs: must be true or false, got {e['kalman_live_pairs']!r}")
    if e["history"] > e["buffer_capacity"]:
        raise ConfigError(f"engine.history: {e['history']} exceeds engine.buffer_capacity {e['buffer_capacity']}")
    if e["min_history"] > e["history"]:
        # every forecast would fall back to hold: the models never see min_history measurements
        raise ConfigError(f"engine.min_history: {e['min_history']} exceeds engine.history {e['history']}")
    s = cfg["short_term"]
    if not isinstance(s["models"], list) or not s["models"] or not all(isinstance(m, str) for m in s["models"]):
        raise ConfigError(f"short_term.models: must be a non-empty list of model names, got {s['models']!r}")
    from chronotick import models as registry
    fused_in = {"fused", "auto"} & set(s["models"])
    for i, name in enumerate(s["models"]):
        if name in s["models"][:i]:
            raise ConfigError(f"short_term.models[{i}]: {name!r} is listed twice")
        if fused_in and name in registry.FUSED_MEMBERS:
            # it would be fused twice (once inside the ensemble), its weight doubled
            raise ConfigError(f"short_term.models[{i}]: {name!r} is already a member of "
                              f"{sorted(fused_in)[0]!r} (the classical fusion of {', '.join(registry.FUSED_MEMBERS)})")
        if name not in registry.names() and registry.onnx_file_name(name):    # as predict(model=PATH)
            if not os.path.isfile(name):
                raise ConfigError(f"short_term.models[{i}]: no such ONNX file {name!r}")
        elif name not in registry.names():
            raise ConfigError(f"short_term.models[{i}]: unknown model {name!r}; valid: {', '.join(registry.names())} "
                              "or a path to a .onnx file")
    _pos_int("short_term.horizon", s["horizon"], 1, 1_000_000)
    _pos_num("short_term.step_s", s["step_s"], allow_none=True, lo=1e-6, hi=1e9)
    lt = cfg["long_term"]
    if lt["model"] is not None:
        if not isinstance(lt["model"], str):
            raise ConfigError(f"long_term.model: must be a model name or .onnx path, got {lt['model']!r}")
        if lt["model"] not in registry.names() and not os.path.isfile(lt["model"]):
            raise ConfigError(f"long_term.model: {lt['model']!r} is neither a model name nor an existing file")
        if lt["model"] not in registry.names() and not registry.onnx_file_name(lt["model"]):
            # as short_term.models: a path is an .onnx file (the engine loads no other)
            raise ConfigError(f"long_term.model: {lt['model']!r} is a file but not a .onnx file")
    _pos_int("long_term.horizon", lt["horizon"], 1, 1_000_000)
    _pos_num("long_term.step_factor", lt["step_factor"], lo=1e-6, hi=1e6)   # OnnxForecaster's range
    if s["step_s"] is not None and not s["step_s"] * lt["step_factor"] <= 1e9:
        raise ConfigError(f"long_term.step_factor: {lt['step_factor']!r} x short_term.step_s {s['step_s']!r} "
                          f"is a long-term step beyond 1e9 s")
    o = cfg["onnx"]
    if o["providers"] is not None:
        if not isinstance(o["providers"], list) or not o["providers"] or \
                not all(isinstance(p, str) for p in o["providers"]):
            raise ConfigError(f"onnx.providers: must be a list of provider names or null (not empty), "
                              f"got {o['providers']!r}")
        import onnxruntime as ort
        known = ort.get_all_providers()
        for i, p in enumerate(o["providers"]):
            if p not in known:
                raise ConfigError(f"onnx.providers[{i}]: unknown provider {p!r}; onnxruntime knows "
                                  f"{', '.join(known)}")
            if p in o["providers"][:i]:    # the forecaster refuses it; at load, inside an Engine,
                # that had left every ONNX model unhealthy for the Engine's life (an audit)
                raise ConfigError(f"onnx.providers[{i}]: {p!r} is listed twice: {o['providers']!r}")
    _pos_int("onnx.intra_op_threads", o["intra_op_threads"], 1, 1024)
    d = o["detrend_r2"]
    if d is not None and (isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d <= 1):
        raise ConfigError(f"onnx.detrend_r2: must be a number in [0, 1] or null, got {d!r}")
    c = cfg["covariates"]
    names = c["names"]
    if names is not None:
        if not isinstance(names, list):
            raise ConfigError(f"covariates.names: must be a list of names or null, got {names!r}")
        for i, n in enumerate(names):
            if not isinstance(n, str) or not n.isidentifier():
                raise ConfigError(f"covariates.names[{i}]: must be a Python identifier (a keyword of observe()), "
                                  f"got {n!r}")
            if n in ("self", "t", "offset", "uncertainty", "delay"):
                # ('self' too: observe(self=...) is "multiple values for argument 'self'", and the
                # engine could observe nothing; an audit, 2026-12-06)
                raise ConfigError(f"covariates.names[{i}]: {n!r} is an argument of observe() itself")
        if len(set(names)) != len(names):
            raise ConfigError(f"covariates.names: duplicate names in {names!r}")
    if not isinstance(c["metrics"], bool):
        raise ConfigError(f"covariates.metrics: must be true or false, got {c['metrics']!r}")
    _pos_num("covariates.interval_s", c["interval_s"], lo=0.01, hi=86400.0)   # 1 ns had used a whole core
    _pos_int("covariates.capacity", c["capacity"], 2, 10_000_000)


def models_relative_to(user: dict, folder: str) -> dict:
    """A config file's relative .onnx paths (short_term.models, long_term.model) taken relative
    to the file's folder, as `serve` takes its engine file relative to clock.yaml: a service
    manager starts the process elsewhere (until 2026-12-05 they were relative to the working
    directory; an audit); `~/...` is the user's home. Names of registered models, absolute
    paths and other values as they are; the user's dict is not changed."""
    from chronotick import models as registry

    def fix(name):
        if isinstance(name, str) and name not in registry.names() and registry.onnx_file_name(name):
            home = os.path.expanduser(name)
            # `~/m.onnx` in a file is the user's home, as a shell reads it (it was kept unexpanded
            # and refused as missing; an audit, 2026-12-06); other relative paths: to the file's folder
            return home if os.path.isabs(home) else os.path.join(folder, name)
        return name
    out = dict(user)
    st, lt = out.get("short_term"), out.get("long_term")
    if isinstance(st, dict) and isinstance(st.get("models"), list):
        out["short_term"] = {**st, "models": [fix(m) for m in st["models"]]}
    if isinstance(lt, dict) and "model" in lt:
        out["long_term"] = {**lt, "model": fix(lt["model"])}
    return out


@functools.cache
def _unique_key_loader():
    """yaml.SafeLoader refusing a key given twice in one mapping (made at first use: yaml is
    imported only for files)."""
    import yaml

    class Loader(yaml.SafeLoader):
        """The later key had replaced the earlier silently, and an error then quoted a value the
        file did not hold (an audit, 2026-12-06)."""

        def construct_mapping(self, node, deep=False):
            seen = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue    # `<<: *base` merges (its keys may be overridden here): SafeLoader's own
                key = self.construct_object(key_node, deep=deep)
                try:
                    if key in seen:
                        raise ConfigError(f"{key!r} appears twice in one mapping (lines {seen[key] + 1} and "
                                          f"{key_node.start_mark.line + 1})")
                    seen[key] = key_node.start_mark.line
                except TypeError:      # an unhashable key: SafeLoader's own error follows
                    pass
            return super().construct_mapping(node, deep=deep)
    return Loader


def read_yaml(path: str):
    """The parsed content of the YAML file at `path` ({} for an empty file), for the Engine's
    config and serve's clock.yaml alike: IsADirectoryError / FileNotFoundError naming it (a pipe,
    <(...) or /dev/stdin, is read as a file), a ConfigError naming it for text that is not UTF-8,
    not YAML (one line: the problem and where), or a key given twice in one mapping."""
    import yaml
    if os.path.isdir(path):            # "no such config file" had misled (an audit, 2026-12-05)
        raise IsADirectoryError(f"config file {path} is a directory")
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such config file: {path}")
    with open(path, encoding="utf-8") as f:
        try:
            out = yaml.load(f, Loader=_unique_key_loader())
        except ConfigError as exc:
            raise ConfigError(f"{path}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise ConfigError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        except yaml.YAMLError as exc:
            # one line: the problem and where (the full message spans several lines)
            where = getattr(exc, "problem_mark", None)
            what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
            raise ConfigError(f"{path}: not valid YAML: {what}{at}") from None
    return {} if out is None else out      # `[]`, `0`, `false` are the callers' to refuse (were taken as {})


def load_config(config=None) -> dict:
    """The validated configuration (defaults merged) from None, a dict, or a
    path to a YAML file."""
    if config is None:
        user = {}
    elif isinstance(config, (str, os.PathLike)):
        user = read_yaml(os.fspath(config))
    elif isinstance(config, dict):
        user = config
    else:
        raise ConfigError(f"config must be None, a dict or a YAML path, got {type(config).__name__}")
    if not isinstance(user, dict):
        raise ConfigError(f"config must be a mapping of sections, got {type(user).__name__}")
    if isinstance(config, (str, os.PathLike)):
        user = models_relative_to(user, os.path.dirname(os.path.abspath(os.fspath(config))))
    cfg = copy.deepcopy(DEFAULTS)
    for section, values in user.items():
        if section not in DEFAULTS:
            raise ConfigError(f"{section}: unknown section; valid: {', '.join(DEFAULTS)}")
        if not isinstance(values, dict):
            raise ConfigError(f"{section}: must be a mapping, got {type(values).__name__}")
        for key, v in values.items():
            if key not in DEFAULTS[section]:
                raise ConfigError(f"{section}.{key}: unknown key; valid: {', '.join(DEFAULTS[section])}")
            cfg[section][key] = _plain(v)
    _validate(cfg)
    return cfg
