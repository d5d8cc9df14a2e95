"""Export a Chronos-Bolt checkpoint to ONNX and prove the export right.

Needs the `export` extra (torch, chronos-forecasting, onnx, onnxscript);
chronotick itself never imports torch at run time.

The graph: input `context` float32 [B, L] (NaN = missing, left-padded with
NaN when shorter), output `quantiles` float32 [B, K, H] in the input's
units. Everything Chronos-Bolt does is inside: the NaN-aware instance
scaling loc = nanmean(x), scale = sqrt(nanmean((x - loc)^2)) (1e-5 when 0,
1 when all missing), patching with the observed-mask channel, the T5
encoder, the one-token decoder, the quantile head and the unscaling
q * scale + loc. B is dynamic, L is fixed at export (`context`).

Verification: the exported graph (onnxruntime, CPU) and the
chronos-forecasting pipeline (`ChronosBoltPipeline.predict`, PyTorch) are
run on the same inputs - random walks, NaN gaps, left padding, a constant
series, a series at the 1e6 level, an all-but-one-missing series - and the
largest difference in normalised units, max |q_onnx - q_torch| / scale,
must be at most `tolerance` (1e-3), else ExportError. scale is the row's
instance scale, floored at 1024 float32 ulps of its level (see _scale).
"""
from __future__ import annotations

import datetime
import json
import math
import os
import platform
import re
import shutil
import signal
import stat
import tempfile
import threading
import warnings

import numpy as np

from chronotick import _core
from chronotick._validate import is_int
from chronotick.models import card_path_of, onnx_file_name

try:
    import fcntl
except ImportError:      # Windows: no lock, and no clean-up of killed exports' folders
    fcntl = None

QUANTILE_OUTPUT = "quantiles"
CONTEXT_INPUT = "context"
ARCHITECTURE = "ChronosBoltModelForForecasting"   # the card's architecture and the graph's metadata (_record_architecture)


class ExportError(RuntimeError):
    """The export failed or its output does not match the PyTorch model."""


# the opsets torch's dynamo exporter writes directly: its operator library is opset 18; below that it
# tries a version conversion that fails on Chronos-Bolt (torch 2.13 then kept 18 and said so only in a
# logged traceback); above 23 it has no implementations
MIN_OPSET, MAX_OPSET = 18, 23
# the shortest context worth exporting: the runtime's default min_history (ModelParams, cpp/models/params.h)
MIN_CONTEXT = _core.ModelParams().min_history

# held (flock) in an export's work folder while it runs: a folder whose lock no one holds is a dead export's
WORK_LOCK = "export.lock"

# a hub id: "name" or "namespace/name", each part letters, digits, "-", "_", "." (huggingface_hub's rule)
_HUB_ID = re.compile(r"^(?:[A-Za-z0-9][A-Za-z0-9._-]*/)?[A-Za-z0-9][A-Za-z0-9._-]*$")


def _one_line(exc: BaseException) -> str:
    """`Type: first line of the message`, at most 300 characters: for one-line CLI errors."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    msg = f"{type(exc).__name__}: {lines[0] if lines else ''}".rstrip(": ")
    return msg if len(msg) <= 300 else msg[:297] + "..."


def foreign_json(path: str) -> str:
    """Why the existing file `path` is not a model card the export may replace ("" if it is one,
    or there is none): a card is a JSON object with a `context` field (the one field of its own
    the runtime compares with every graph; a checkpoint's config.json has none)."""
    if not os.path.lexists(path):
        return ""
    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except (OSError, ValueError) as exc:
        return f"not readable as JSON: {type(exc).__name__}"
    if not isinstance(data, dict):
        return f"a JSON {type(data).__name__}, not an object"
    return "" if "context" in data else "no context field"


def check_export_args(tolerance, opset) -> None:
    """ValueError naming the bad value: tolerance must be a finite number > 0,
    opset None or an integer in [MIN_OPSET, MAX_OPSET]."""
    if (isinstance(tolerance, bool) or not isinstance(tolerance, (int, float, np.integer, np.floating))
            or not math.isfinite(tolerance) or not tolerance > 0):
        raise ValueError(f"tolerance must be a finite number > 0, got {tolerance!r}")
    if opset is not None and (isinstance(opset, bool) or not isinstance(opset, (int, np.integer))
                              or not MIN_OPSET <= opset <= MAX_OPSET):
        raise ValueError(f"opset must be an integer in [{MIN_OPSET}, {MAX_OPSET}] (the opsets torch's exporter "
                         f"writes), got {opset!r}")


def resolve_checkpoint(checkpoint) -> str:
    """The checkpoint as from_pretrained takes it: a local directory, or a hub id.

    The rule: `checkpoint` is a local path when it exists, or when it cannot
    be a hub id -- it starts with "/", "." or "~", holds a backslash or more
    than one "/", or is "A/B" where A is an existing local directory (so
    "ckpts/missing" is a missing local checkpoint, not a repository of a
    user "ckpts"). A local path must be a directory holding config.json
    with a JSON object, else ExportError ("no such checkpoint directory:
    PATH", ...), at once.
    Anything else ("amazon/chronos-bolt-tiny", "gpt2") is a hub id."""
    if not isinstance(checkpoint, (str, os.PathLike)):
        raise ValueError(f"checkpoint must be a directory or a hub id, got {type(checkpoint).__name__} "
                         f"{checkpoint!r}")
    text = os.fspath(checkpoint)
    if not text or not text.strip():
        raise ValueError(f"checkpoint must be a directory or a hub id, got {text!r}")
    local = os.path.expanduser(text)
    looks_local = (os.path.exists(local) or text.startswith(("/", ".", "~")) or "\\" in text
                   or os.sep in text and os.sep != "/" or not _HUB_ID.match(text)
                   or ("/" in text and os.path.isdir(text.split("/", 1)[0])))
    if not looks_local:
        return text
    if not os.path.exists(local):
        raise ExportError(f"no such checkpoint directory: {text}")
    if not os.path.isdir(local):
        raise ExportError(f"checkpoint {text} is a file, not a checkpoint directory (config.json + weights)")
    config = os.path.join(local, "config.json")
    if not os.path.isfile(config):
        raise ExportError(f"checkpoint directory {text} has no config.json")
    try:
        with open(config, encoding="utf-8") as f:
            cfg = json.load(f)
    except (OSError, ValueError) as exc:     # JSONDecodeError and UnicodeDecodeError are ValueErrors
        raise ExportError(f"checkpoint {text}: config.json is not readable JSON ({_one_line(exc)})") from exc
    if not isinstance(cfg, dict):
        raise ExportError(f"checkpoint {text}: config.json must hold a JSON object (a model configuration), "
                          f"got {type(cfg).__name__}")
    return local


def _require():
    missing = []
    for mod in ("torch", "chronos", "onnx", "onnxscript"):
        try:
            __import__(mod)
        except ImportError:
            missing.append(mod)
    if missing:
        raise ExportError(f"exporting needs {', '.join(missing)}: pip install 'chronotick[export]' "
                          f"(torch is pinned to 2.13.0)")


def load_pipeline(checkpoint: str):
    """ChronosBoltPipeline from a local directory (or a hub id where the hub
    is reachable; see resolve_checkpoint for which is which), float32, CPU.
    Raises ExportError when it cannot be loaded (missing directory, corrupt
    weights, weights that do not cover the model config.json describes, not a
    Chronos-Bolt model, a hub id while the hub is unreachable and the model
    is not in the local cache: at once, no retries)."""
    _require()
    import torch
    from chronos import BaseChronosPipeline, ChronosBoltPipeline

    source = resolve_checkpoint(checkpoint)
    hub = {} if os.path.isdir(source) else _hub_kwargs(source)
    try:
        try:
            pipe = BaseChronosPipeline.from_pretrained(source, device_map="cpu", dtype=torch.float32, **hub)
        except TypeError:  # older transformers: torch_dtype
            pipe = BaseChronosPipeline.from_pretrained(source, device_map="cpu", torch_dtype=torch.float32, **hub)
    except Exception as exc:  # noqa: BLE001 - transformers/safetensors/hub raise many types; one clear error
        raise ExportError(f"cannot load checkpoint {checkpoint}: {_one_line(exc)}") from exc
    if not isinstance(pipe, ChronosBoltPipeline):
        raise ExportError(f"{checkpoint} is a {type(pipe).__name__}, not a Chronos-Bolt model "
                          f"(ChronosBoltModelForForecasting)")
    _check_weights(type(pipe.model), source, hub, checkpoint)
    pipe.model.eval()
    return pipe


def _check_weights(cls, source, hub, checkpoint) -> None:
    """ExportError when the checkpoint's weights do not cover the model its config describes:
    transformers then initialises the missing or mismatched parameters at random with a
    warning (the patch embeddings silently), the pipeline carries the same random values, and the
    parity check cannot see it."""
    import torch

    class Strict(cls):      # chronos-forecasting lets the patch embeddings be missing (T5 initialisation)
        _keys_to_ignore_on_load_missing = None

    try:
        _, info = Strict.from_pretrained(source, device_map="cpu", dtype=torch.float32, output_loading_info=True, **hub)
    except Exception as exc:  # noqa: BLE001 - it loaded a moment ago; report as a load failure
        raise ExportError(f"cannot load checkpoint {checkpoint}: {_one_line(exc)}") from exc
    bad = sorted({str(k if isinstance(k, str) else k[0]) for key in ("missing_keys", "mismatched_keys")
                  for k in info.get(key) or ()})
    if bad:
        raise ExportError(f"checkpoint {checkpoint}'s weights do not match its config.json: {len(bad)} parameters "
                          f"missing or of another shape ({', '.join(bad[:3])}{', ...' if len(bad) > 3 else ''})")
    # weights the config has no place for (e.g. a config.json edited to fewer layers than were
    # trained): transformers drops them with a warning, and the export had written the cut-down
    # model -- its parity against the same cut-down pipeline fine (an audit, 2026-12-06)
    extra = sorted({str(k) for k in info.get("unexpected_keys") or ()})
    if extra:
        raise ExportError(f"checkpoint {checkpoint}'s weights do not match its config.json: {len(extra)} parameters "
                          f"the config has no place for ({', '.join(extra[:3])}{', ...' if len(extra) > 3 else ''}; "
                          f"e.g. more layers than num_layers / num_decoder_layers say)")


def _hub_reachable(timeout: float = 5.0) -> bool:
    """Whether a TCP connection to the hub endpoint (HF_ENDPOINT) opens within `timeout` s.
    True when a proxy is configured (the connection would go through it) or the check cannot be made."""
    import socket
    from urllib.parse import urlsplit

    from huggingface_hub import constants

    if any(os.environ.get(k) for k in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "all_proxy")):
        return True
    url = urlsplit(constants.ENDPOINT)
    if not url.hostname:
        return True
    try:
        socket.create_connection((url.hostname, url.port or (443 if url.scheme == "https" else 80)),
                                 timeout=timeout).close()
    except OSError:
        return False
    return True


def _hub_kwargs(hub_id: str) -> dict:
    """from_pretrained's extra arguments for a hub id: none when the hub is reachable,
    local_files_only when it is not but the local cache has the model; else ExportError at once
    (huggingface_hub would retry for ~30 s, logging each try, before failing)."""
    from huggingface_hub import constants, try_to_load_from_cache

    if constants.HF_HUB_OFFLINE:
        return {"local_files_only": True}
    if _hub_reachable():
        return {}
    if isinstance(try_to_load_from_cache(hub_id, "config.json"), str):
        return {"local_files_only": True}
    raise ExportError(f"cannot load checkpoint {hub_id}: the hub ({constants.ENDPOINT}) is not reachable and "
                      f"{hub_id} is not in the local cache; download it where the hub is reachable, or pass "
                      f"a local checkpoint directory")


def _eager(model) -> None:
    """Plain (eager) attention: the SDPA/flash paths do not export."""
    if hasattr(model, "set_attn_implementation"):
        model.set_attn_implementation("eager")
    else:
        model.config._attn_implementation = "eager"


def verification_inputs(context: int, seed: int = 0) -> np.ndarray:
    """The inputs the export is checked on, float32 [9, context]."""
    rng = np.random.default_rng(seed)
    rows = []
    rw = np.cumsum(rng.normal(size=context)) * 1e-3
    rows.append(rw)                                            # random walk (ms-scale offsets, s)
    gaps = rw + rng.normal(size=context) * 2e-4
    gaps[rng.random(context) < 0.2] = np.nan                   # NaN gaps
    rows.append(gaps)
    pad = np.full(context, np.nan)
    n = min(context, max(2, context // 5))
    pad[-n:] = np.cumsum(rng.normal(size=n))                   # left padding: only the newest n observed
    rows.append(pad)
    rows.append(np.full(context, 3.25))                        # constant series
    rows.append(1e6 + np.cumsum(rng.normal(size=context)) * 1000)  # 1e6 level
    drift = 1e-5 * np.arange(context) + rng.normal(size=context) * 1e-6
    rows.append(drift)                                         # drifting free-running clock
    one = np.full(context, np.nan)
    one[-1] = -0.5                                             # a single observation
    rows.append(one)
    spikes = rw.copy()
    spikes[rng.integers(0, context, max(1, context // 20))] += 0.05
    rows.append(spikes)                                        # outliers
    # nothing observed: the in-graph scaling's all-missing branch (a graph that scaled it by 2
    # instead of 1 had passed the check; an audit, 2026-12-06)
    rows.append(np.full(context, np.nan))
    return np.stack(rows).astype(np.float32)


def _scale(x: np.ndarray) -> np.ndarray:
    """The unit of the parity figure per row: Chronos-Bolt's instance scale,
    but not finer than 1024 float32 ulps of the series' level (2^-13 |loc|),
    so that rounding the output q * scale + loc by one ulp counts as 1e-3:
    a constant series has scale 1e-5, below float32's resolution of its
    level (3.25 +- 2.4e-7), whatever the runtime."""
    x = x.astype(np.float64)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)     # "Mean of empty slice": an all-missing row
        loc = np.nan_to_num(np.nanmean(x, axis=-1, keepdims=True), nan=0.0)
        scale = np.nan_to_num(np.sqrt(np.nanmean((x - loc) ** 2, axis=-1, keepdims=True)), nan=1.0)
    scale = np.where(scale == 0, 1e-5, scale)
    return np.maximum(scale, 2.0 ** -13 * np.abs(loc))


def parity(onnx_path: str, pipe, inputs: np.ndarray) -> float:
    """max |q_onnx - q_pipeline| / scale over all rows, quantiles and steps."""
    import onnxruntime as ort
    import torch

    sess = ort.InferenceSession(onnx_path, providers=["CPUExecutionProvider"])
    got = sess.run([QUANTILE_OUTPUT], {CONTEXT_INPUT: inputs})[0]
    with torch.no_grad():
        want = pipe.predict(torch.from_numpy(inputs.copy()), prediction_length=pipe.model_prediction_length).numpy()
    if got.shape != want.shape:
        raise ExportError(f"ONNX output has shape {got.shape}, the pipeline's is {want.shape}")
    if not np.all(np.isfinite(got)):
        raise ExportError("the ONNX model produced non-finite quantiles on the verification inputs")
    return float(np.max(np.abs(got.astype(np.float64) - want) / _scale(inputs)[:, :, None]))


def _record_architecture(path: str, architecture: str, levels) -> None:
    """The architecture and the quantile levels into the graph's metadata (OnnxForecaster's
    ARCHITECTURE_KEY, LEVELS_KEY): a loader finds them there where the model card beside the
    file is missing, and refuses a card that contradicts them (until 2026-12-06 only the
    architecture was there: a cardless export of other levels loaded as 0.1 .. 0.9; an audit)."""
    import onnx
    from chronotick.models.onnx import ARCHITECTURE_KEY, LEVELS_KEY
    proto = onnx.load(path, load_external_data=False)
    onnx.helper.set_model_props(proto, {**{p.key: p.value for p in proto.metadata_props},
                                        ARCHITECTURE_KEY: architecture,
                                        LEVELS_KEY: json.dumps([float(q) for q in levels])})
    onnx.save(proto, path)


DEFAULT_CONTEXT = 512     # the context an export takes unless told (or the checkpoint's, where shorter)


def export_chronos_bolt(checkpoint: str, out: str, context: int | None = None, *, tolerance: float = 1e-3,
                        opset: int | None = None, name: str | None = None, extra_card: dict | None = None,
                        ort_fusions: bool = True, log=print) -> dict:
    """Export `checkpoint` (a ChronosBoltModelForForecasting directory or hub
    id) to `out` (.onnx), verify it, write the model card `out` with .json.
    ort_fusions: rewrite the attention blocks and RMS norms into
    onnxruntime's fused operators (chronotick.models.graph_fusions: ~half
    the nodes, the same outputs up to rounding; the file then runs on
    onnxruntime only); False keeps the standard-ONNX graph. The parity check
    runs on the graph that is written.
    context: the input length L in grid steps; None (the default, as the CLI
    without --context): DEFAULT_CONTEXT, or the checkpoint's own
    context_length where that is shorter.
    checkpoint: see resolve_checkpoint for when it is a local directory and
    when a hub id. tolerance: a finite number > 0. opset: None (the
    exporter's default, 20) or MIN_OPSET..MAX_OPSET; the card's "opset" is
    the one the written graph imports.
    Returns the card. Raises ValueError on a bad argument (before anything
    is loaded), ExportError when the checkpoint cannot be loaded, the export
    fails, the parity exceeds `tolerance` or chronotick's runtime would
    refuse the result (e.g. quantile levels without 0.5: checked before the
    export): nothing is written then. The model and its card are made in a
    hidden folder beside `out` (.<out>.*.export-tmp, removed at the end, also
    on Ctrl-C; a SIGTERM too where the caller installed terminate_as_exit, as
    the CLI does) and moved to `out` and its .json only when both are
    complete and verified; the card records a local checkpoint as its
    absolute path. Such folders of exports to the same `out` that were killed
    (SIGKILL) are removed first (remove_dead_work_folders; logged)."""
    if context is not None and (not is_int(context) or context < 1):
        raise ValueError(f"context must be a positive integer, got {context!r}")
    context = None if context is None else int(context)            # a numpy integer too
    if context is not None and context < MIN_CONTEXT:
        raise ValueError(f"context must be at least {MIN_CONTEXT}, got {context}: predict() and the Engine use "
                         f"a model from min_history = {MIN_CONTEXT} measured cells of its window on, so a "
                         f"shorter window is never used")
    if not onnx_file_name(out):
        raise ValueError(f"out must name a .onnx file, got {out!r}")
    check_export_args(tolerance, opset)
    out = os.fspath(out)
    card_path = card_path_of(out)
    for p in (out, card_path):
        if os.path.isdir(p):
            raise ValueError(f"{p} is a directory: the export writes the model and its card as files there")
    foreign = foreign_json(card_path)
    if foreign:
        # e.g. --out CHECKPOINT/config.onnx: the checkpoint's own config.json had been replaced by the card
        raise ValueError(f"{card_path} exists and is not a model card ({foreign}); the export writes the card "
                         f"of {out} there: choose another out")
    from chronotick._paths import output_file_problem
    problem = output_file_problem(out, make_dirs=True)      # before torch and the weights are loaded
    if problem:
        raise ValueError(f"cannot write {out}: {problem}")
    resolve_checkpoint(checkpoint)      # a missing local directory: at once, before torch is imported
    _require()
    import chronos
    import onnx
    import onnxruntime
    import torch
    import transformers

    pipe = load_pipeline(checkpoint)
    model = pipe.model
    cc = model.chronos_config
    if context is None:       # DEFAULT_CONTEXT, or the model's own where shorter (clock-bolt's 256)
        context = min(DEFAULT_CONTEXT, int(cc.context_length))
        if context < MIN_CONTEXT:
            raise ValueError(f"the model's context_length {cc.context_length} is below {MIN_CONTEXT}: predict() "
                             f"and the Engine use a model from min_history = {MIN_CONTEXT} measured cells on")
    if context > cc.context_length:
        raise ValueError(f"context {context} exceeds the model's context_length {cc.context_length}")
    _check_usable(cc, checkpoint)
    _eager(model)
    source = resolve_checkpoint(checkpoint)
    if os.path.isdir(source):       # a local directory: where it is, not as typed ("ckpt" reads as a hub id)
        source = os.path.abspath(source)

    class Quantiles(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, context):
            return self.m(context=context).quantile_preds

    wrapper = Quantiles(model).eval()
    example = torch.from_numpy(verification_inputs(context)[:2].copy())
    batch = torch.export.Dim("batch", min=1, max=65536)
    out_dir = os.path.dirname(os.path.abspath(out))
    # SIGINT/SIGTERM wait from here until the clean-up below covers the work folder: one arriving
    # between its creation and the `try` had left it behind (a SIGTERM sent as the folder
    # appeared, tests/test_export_tools_probe.py, failed once in a loaded suite)
    unblock = _hold_signals()
    try:
        made = _missing_dirs(out_dir)
        os.makedirs(out_dir, exist_ok=True)
        # the graph and its card are made in a hidden folder beside `out` (the same file system, so the
        # moves are renames), as <stem>.onnx + <stem>.json there: an export that is killed leaves no
        # unverified `.onnx` in the output folder (where a scan of *.onnx, as of models/data/, would find
        # it); it holds WORK_LOCK while the export runs, so a later export can remove it if this one is killed
        remove_dead_work_folders(out, log)
        work, lock_fd = _make_work_folder(out_dir, os.path.basename(out))
    except BaseException:
        unblock()
        raise
    tmp = os.path.join(work, os.path.basename(out))
    tmp_card = os.path.join(work, os.path.basename(card_path))
    done = False
    try:
        unblock()        # a signal held meanwhile is raised here, inside the clean-up's reach
        log(f"exporting {checkpoint} (context {context}, horizon {cc.prediction_length}) with torch "
            f"{torch.__version__}")
        # np.errstate: the exporter's constant folding evaluates log(0) of masked cells with numpy's
        # reference operators, which warned "divide by zero" -- not an error of the export
        with torch.no_grad(), np.errstate(all="ignore"):
            prog = torch.onnx.export(wrapper, (example,), dynamo=True, input_names=[CONTEXT_INPUT],
                                     output_names=[QUANTILE_OUTPUT], dynamic_shapes={"context": {0: batch}},
                                     opset_version=opset, external_data=False, verbose=False)
        with np.errstate(all="ignore"):
            prog.optimize()
        prog.save(tmp, external_data=False)
        onnx.checker.check_model(tmp)
        written = _default_opset(onnx.load(tmp, load_external_data=False))
        if opset is not None and written != opset:
            raise ExportError(f"opset {opset} was requested but torch {torch.__version__} wrote opset {written} "
                              f"(its conversion failed); use an opset in [{MIN_OPSET}, {MAX_OPSET}] its exporter "
                              f"supports for this model, or leave it unset")
        inputs = verification_inputs(context)
        graph = {"ort_fusions": False, "runs_on": "any ONNX runtime (standard operators)"}
        if ort_fusions:
            from chronotick.models.graph_fusions import fuse_for_ort
            with np.errstate(all="ignore"):
                proto, report = fuse_for_ort(onnx.load(tmp), int(model.config.num_heads), {CONTEXT_INPUT: inputs})
            if "kept_original" in report:
                log(f"onnxruntime fusions not applied: {report['kept_original']}")
            else:
                onnx.save(proto, tmp)
                graph = {"ort_fusions": report, "runs_on": "onnxruntime (com.microsoft fused operators)"}
                log(f"onnxruntime fusions: {report['nodes'][0]} -> {report['nodes'][1]} nodes ({report['fused']})")
        _record_architecture(tmp, ARCHITECTURE, cc.quantiles)
        err = parity(tmp, pipe, inputs)
        log(f"parity vs ChronosBoltPipeline.predict: max |diff| / scale = {err:.3g} (tolerance {tolerance:g})")
        if not err <= tolerance:
            raise ExportError(f"exported model differs from the PyTorch pipeline by {err:.3g} normalised units "
                              f"(> {tolerance:g})")
        written = _default_opset(onnx.load(tmp, load_external_data=False))
        card = _card(model, cc, source, out, name, context, graph, err, tolerance, inputs, written,
                     {"torch": torch.__version__, "transformers": transformers.__version__,
                      "chronos_forecasting": getattr(chronos, "__version__", "unknown"), "onnx": onnx.__version__,
                      "onnxruntime": onnxruntime.__version__, "python": platform.python_version()})
        card.update(extra_card or {})
        _check_card(card, tmp, card_path)
        with open(tmp_card, "w") as f:
            json.dump(card, f, indent=2, allow_nan=False)
            f.write("\n")
        _check_loads(tmp)
        _swap(tmp, out, tmp_card, card_path, work)
        done = True
    except ExportError:
        raise
    except Exception as exc:
        raise ExportError(f"export of {checkpoint} failed: {_one_line(exc)}") from exc
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if lock_fd is not None:      # after the removal: until then the folder is a live export's
            os.close(lock_fd)
        if not done:                 # folders made for `out` by an export that wrote nothing
            for d in made:
                try:
                    os.rmdir(d)
                except OSError:
                    break
    return card


def _work_name(base: str) -> re.Pattern:
    """The names of the work folders of exports to a file named `base`: tempfile.mkdtemp's
    .<base>.XXXXXXXX.export-tmp, X one of [a-z0-9_]."""
    return re.compile(re.escape("." + base + ".") + r"[a-z0-9_]{8}" + re.escape(".export-tmp"))


def _same_file(path: str, fd: int) -> bool:
    """Whether `path` (not followed) is still the file open as `fd`."""
    try:
        st = os.stat(path, follow_symlinks=False)
    except FileNotFoundError:
        return False
    fst = os.fstat(fd)
    return (st.st_dev, st.st_ino) == (fst.st_dev, fst.st_ino)


def _make_work_folder(out_dir: str, base: str) -> tuple[str, int | None]:
    """A new work folder for an export to out_dir/base, and the descriptor holding its WORK_LOCK
    (None without fcntl, or where the file system has no locks). A folder another export's
    remove_dead_work_folders took before its lock was held is given up for a new one."""
    for _ in range(5):
        work = tempfile.mkdtemp(prefix="." + base + ".", suffix=".export-tmp", dir=out_dir)
        if fcntl is None:
            return work, None
        lock = os.path.join(work, WORK_LOCK)
        try:
            fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        except FileNotFoundError:       # removed meanwhile
            continue
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:         # being removed
            os.close(fd)
            continue
        except OSError:                 # no locks here (ENOLCK): work unlocked, as before
            os.close(fd)
            return work, None
        if _same_file(lock, fd):
            return work, fd
        os.close(fd)
    raise ExportError(f"cannot make a work folder in {out_dir}: each new one was removed at once")


def remove_dead_work_folders(out: str, log=print) -> list[str]:
    """Remove the work folders (.<out>.*.export-tmp beside `out`) of exports to `out` that were killed
    before their clean-up (SIGKILL, a crash); returns those removed, each logged. A candidate is a
    directory (not a symlink) of exactly that name pattern owned by this user, and it is removed only
    when no process holds its WORK_LOCK (a live export holds it from the folder's creation to its
    removal; a folder without one, of an older chronotick, counts as dead). One that cannot be removed
    is logged as a warning, never an error. Nothing is done without fcntl (Windows)."""
    if fcntl is None:
        return []
    out_dir = os.path.dirname(os.path.abspath(out))
    pattern = _work_name(os.path.basename(out))
    try:
        names = sorted(n for n in os.listdir(out_dir) if pattern.fullmatch(n))
    except OSError:
        return []
    removed = []
    for name in names:
        path = os.path.join(out_dir, name)
        try:
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.getuid() or not _remove_if_dead(path):
                continue
        except FileNotFoundError:       # removed meanwhile
            continue
        except OSError as exc:
            log(f"warning: cannot remove {path}, the work folder of a killed export: {_one_line(exc)}")
            continue
        removed.append(path)
        log(f"removed {path}, the work folder of a killed export")
    return removed


def _remove_if_dead(path: str) -> bool:
    """Remove the work folder `path` when no one holds its WORK_LOCK (taking it meanwhile, and
    removing the lock last, so that a new export never takes a folder half removed)."""
    lock = os.path.join(path, WORK_LOCK)
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:         # its export is running
            return False
        if not _same_file(lock, fd):    # removed or replaced meanwhile
            return False
        for name in os.listdir(path):
            if name == WORK_LOCK:
                continue
            p = os.path.join(path, name)
            if stat.S_ISDIR(os.lstat(p).st_mode):
                shutil.rmtree(p)
            else:
                os.remove(p)
        os.remove(lock)
        os.rmdir(path)
        return True
    finally:
        os.close(fd)


def _missing_dirs(path: str) -> list[str]:
    """The folders of `path` that do not exist yet, deepest first."""
    made = []
    while path and not os.path.exists(path):
        made.append(path)
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return made


def _check_usable(cc, checkpoint) -> None:
    """ExportError, before the export, when chronotick could not use the model: its quantile
    levels must be strictly increasing in (0, 1) and hold 0.5 (the runtime's median and
    calibration; chronotick.models.calibration.ConformalScaler)."""
    from chronotick.models.calibration import ConformalScaler
    try:
        ConformalScaler([float(q) for q in cc.quantiles])
    except (ValueError, TypeError) as exc:
        raise ExportError(f"{checkpoint}: chronotick cannot use a model with quantile levels "
                          f"{list(cc.quantiles)!r}: {exc}") from exc


def _check_loads(onnx_path: str) -> None:
    """ExportError when chronotick's runtime (OnnxForecaster) refuses the model and card at onnx_path."""
    from chronotick.errors import ModelError
    from chronotick.models.onnx import OnnxForecaster
    try:
        OnnxForecaster(onnx_path)
    except (ModelError, ValueError) as exc:
        raise ExportError(f"chronotick would refuse the exported model: {_one_line(exc)}") from exc


def _hold_signals():
    """Hold SIGINT and SIGTERM (main thread): their Python handlers are replaced by one that only
    notes them; the returned function (once) puts the handlers back and hands the first noted
    signal to its own handler (SIG_DFL: raised again; SIG_IGN: dropped). Not pthread_sigmask: a
    signal sent to the process is taken by any thread that does not block it (torch's,
    onnxruntime's), and Python then ran its handler in the main thread anyway."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    noted: list[int] = []
    sigs = (signal.SIGINT, signal.SIGTERM)
    previous = {s: signal.signal(s, lambda signum, frame: noted.append(signum)) for s in sigs}
    state = {"held": True}

    def release():
        if not state["held"]:
            return
        state["held"] = False
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)
        if noted:
            h = previous[noted[0]]
            if callable(h):
                h(noted[0], None)
            elif h == signal.SIG_DFL or h is None:
                signal.raise_signal(noted[0])
    return release


def _swap(tmp: str, out: str, tmp_card: str, card_path: str, work: str) -> None:
    """Move the complete model and card into place: the card first, then the model. If the model
    cannot be moved, the old card is put back (or the new one removed where there was none), so the
    old pair stays a pair. SIGINT and SIGTERM wait until both moves are done (main thread)."""
    old_card = None
    if os.path.isfile(card_path):
        shutil.copy2(card_path, os.path.join(work, "previous-card"))
        old_card = os.path.join(work, "previous-card")
    release = _hold_signals()
    try:
        os.replace(tmp_card, card_path)
        try:
            os.replace(tmp, out)
        except BaseException:
            if old_card is not None:
                os.replace(old_card, card_path)
            else:
                os.remove(card_path)
            raise
    finally:
        release()


def terminate_as_exit():
    """In the main thread: SIGTERM raises SystemExit(143) from then on (Python's default is to die at
    once, skipping the export's clean-up of its temporary files). Returns the previous handler (None
    where nothing was changed), for signal.signal(SIGTERM, previous)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise SystemExit(128 + signum)
    return signal.signal(signal.SIGTERM, handler)


def _default_opset(proto) -> int | None:
    """The default-domain (ai.onnx) opset a model imports."""
    for o in proto.opset_import:
        if o.domain in ("", "ai.onnx"):
            return int(o.version)
    return None


def _check_card(card: dict, onnx_path: str, card_path: str) -> None:
    """ExportError when the card to be written (extra_card included) contradicts the graph
    at onnx_path: its context / prediction_length / num_quantiles / quantile_levels, or its
    input.shape / output.shape / patch_size (chronotick.models.card_vs_graph) -- the file
    would be refused at load."""
    from chronotick.models import card_vs_graph, graph_signature
    sig = graph_signature(onnx_path)
    problem = card_vs_graph(onnx_path, card, card_path)
    if problem is None and sig is not None:
        dims_in = sig["inputs"].get(CONTEXT_INPUT) or [None, None]
        dims_out = sig["outputs"].get(QUANTILE_OUTPUT) or [None, None, None]
        levels = card.get("quantile_levels")
        for field, value, graph in (("context", card.get("context"), dims_in[-1]),
                                    ("num_quantiles", card.get("num_quantiles"), dims_out[1]),
                                    ("quantile_levels", len(levels) if isinstance(levels, list) else levels,
                                     dims_out[1]),
                                    ("prediction_length", card.get("prediction_length"), dims_out[-1])):
            if isinstance(graph, int) and value != graph:
                problem = (f"model card {card_path}: {field} is {card.get(field)!r} but the exported graph's "
                           f"is {graph}")
                break
    if problem is not None:
        raise ExportError(f"the model card disagrees with the exported graph (extra_card?): {problem}")


def _card(model, cc, checkpoint, out, name, context, graph, err, tolerance, inputs, opset, versions) -> dict:
    """The model card of an export."""
    cfg = model.config
    n_params = int(sum(p.numel() for p in model.parameters()))
    return {
        "name": name or os.path.splitext(os.path.basename(out))[0],
        "architecture": ARCHITECTURE,
        "source_checkpoint": str(checkpoint),
        "context": context,
        "prediction_length": int(cc.prediction_length),
        "quantile_levels": [float(q) for q in cc.quantiles],
        "num_quantiles": len(cc.quantiles),
        "patch_size": int(cc.input_patch_size),
        "model_context_length": int(cc.context_length),
        "d_model": int(cfg.d_model), "d_ff": int(cfg.d_ff), "num_layers": int(cfg.num_layers),
        "num_decoder_layers": int(cfg.num_decoder_layers), "num_heads": int(cfg.num_heads),
        "parameters": n_params,
        "input": {"name": CONTEXT_INPUT, "dtype": "float32", "shape": ["batch", context],
                  "missing": "NaN", "scaling": "inside the graph (NaN-aware mean/std)"},
        "output": {"name": QUANTILE_OUTPUT, "dtype": "float32",
                   "shape": ["batch", len(cc.quantiles), int(cc.prediction_length)]},
        "opset": opset,           # the default-domain opset the written graph imports
        "graph": graph,
        "parity": {"max_abs_diff_normalised": err, "tolerance": tolerance,
                   "reference": "chronos.ChronosBoltPipeline.predict", "inputs": int(inputs.shape[0])},
        "export": {**versions,
                   "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")},
    }


def random_bolt_config(context: int = 64, prediction_length: int = 64, d_model: int = 32, d_ff: int = 64,
                       num_layers: int = 1, num_decoder_layers: int = 1, num_heads: int = 2, patch: int = 16,
                       use_reg_token: bool = True, initializer_factor: float = 1.0):
    """A T5Config with a chronos_config for a small Chronos-Bolt model (no download)."""
    _require()
    from transformers import T5Config

    return T5Config(
        d_model=d_model, d_kv=d_model // num_heads, d_ff=d_ff, num_layers=num_layers,
        num_decoder_layers=num_decoder_layers, num_heads=num_heads, dropout_rate=0.0,
        feed_forward_proj="relu", dense_act_fn="relu", is_gated_act=False, vocab_size=2,
        decoder_start_token_id=0, pad_token_id=0, eos_token_id=1, tie_word_embeddings=True,
        initializer_factor=initializer_factor, relative_attention_num_buckets=32, relative_attention_max_distance=128,
        architectures=[ARCHITECTURE],
        chronos_pipeline_class="ChronosBoltPipeline",
        chronos_config={"context_length": context, "prediction_length": prediction_length,
                        "input_patch_size": patch, "input_patch_stride": patch,
                        "quantiles": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
                        "use_reg_token": use_reg_token},
    )


def save_random_bolt(directory: str, seed: int = 0, **config) -> str:
    """Save a randomly initialised Chronos-Bolt model (see random_bolt_config) to `directory`."""
    import torch
    from chronos.chronos_bolt import ChronosBoltModelForForecasting

    torch.manual_seed(seed)
    model = ChronosBoltModelForForecasting(random_bolt_config(**config))
    model.save_pretrained(directory)
    return directory
