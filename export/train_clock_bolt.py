#!/usr/bin/env python3
"""Train clock-bolt: a small Chronos-Bolt model for clock offsets, from scratch.

    nice python export/train_clock_bolt.py --out python/chronotick/models/data/clock-bolt.onnx

Needs the `export` extra (torch==2.13.0, chronos-forecasting, onnx,
onnxscript). Seeded and reproducible on the same machine and library
versions (CPU, --threads fixed).

Model: chronos-forecasting's own ChronosBoltModelForForecasting (T5 encoder,
one-token decoder, quantile head), built small from a T5Config (default
d_model 96, d_ff 256, 3 encoder + 2 decoder layers, 4 heads: 0.77 M
parameters), context 256 grid steps, horizon 64, quantiles 0.1 .. 0.9,
trained with the model's own quantile loss (its `forward(target=...)`).

Data (synthetic only, chronotick.sim): clocks from the simulator's presets
and from sim.random_params (cheap XO to OCXO, VMs with migrations), free
running or disciplined by an NTP-like servo, measured by an NTP-like client
(delay noise, asymmetry, route changes, spikes, losses) every poll_s
seconds (16 s .. 1024 s, mostly fixed polling). Each trace's measured
offsets are binned onto a regular grid of its median poll spacing exactly as
the runtime does (chronotick.models.onnx.window: NaN where a poll was lost).
Training pairs are (256 grid steps, the next 64) cut at random points whose
newest cell is observed, centred on that newest value, with the history
randomly shortened (left-padded with NaN, at least 3 observed) and the
sign randomly flipped; 70% of the targets keep only their first 1-8 steps
(the loss is masked beyond: the near steps matter most here); targets are clipped to +-20 instance-scale units of
their context (the loss stays the model's own, in those units). --ramps P
adds a steady frequency offset to a fraction P of the pairs (tried, not
used for the shipped model: docs/models.md, "Steady trends"; the runtime detrends
instead). --pools P measures a fraction P of the clocks through a server pool
(2-10 servers, each with its own extra delay and asymmetry, as pool.ntp.org
answers; drawn after everything else, so --pools 0 gives the same data).
--shifts P moves the newest 3-64 context cells and the target of a
fraction P of the pairs by a level shift (5-500 x the step-to-step noise;
tried by Rule LS, not used for the shipped model: docs/models.md). --spike-c C masks each training
context's gross outliers as the runtime
does (cpp/windowing/spike_mask.h, C robust sigmas; the runtime's is 5).
--ema D keeps an exponential moving average of the weights (decay D per
step), validates and ships it (tried, not used for the shipped model:
docs/models.md, "The shipped model").

Validation each epoch (never trained on): the real NTP traces in
shared/data/clock-traces. For every measurement after the 10th, the model
sees only the earlier ones, windowed as at run time, and its median at the
measurement's time is scored: mean absolute error against hold-last and the
median of the last 5. The final model is kept whatever the validation says
(no selection on the real data).
"""
from __future__ import annotations

import argparse
import glob
import importlib.util
import json
import math
import os
import sys
import tempfile
import time

import numpy as np

HERE = os.path.dirname(os.path.realpath(__file__))   # (a symlinked script: its real folder)
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import _sources  # noqa: E402  scripts/_sources.py: the sources (with a developer build) or the installed package
_sources.choose()

from chronotick import _core, sim
from chronotick.models import onnx_file_name
from chronotick.models.onnx import window

# --portable: what pins the arithmetic to the same code path on every x86-64 CPU. torch's own
# (ATen) kernels dispatch on the CPU's vector extensions (AVX-512 / AVX2 / none), MKL's matrix
# products too; each rounds differently. Measured 2026-12-03 on one machine (AVX-512), 30 steps of a
# d_model-64 model: the checkpoint's bytes differ between the three ATen capabilities and between
# MKL_CBWR=COMPATIBLE and AVX2/AVX512, and are the same with these two pinned whatever else is set.
PORTABLE_ENV = {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}

POLLS = np.array([16, 32, 64, 100, 120, 128, 256, 512, 1024], dtype=float)
POLL_P = np.array([0.05, 0.07, 0.18, 0.2, 0.15, 0.15, 0.1, 0.05, 0.05])
PRESETS = ("xo", "tcxo", "ocxo", "vm")
CLIP = 20.0
SCENARIOS = ("steady", "server_load", "thermal_cycle", "network_spike", "server_load+thermal_cycle",
             "server_load+network_spike")


def simulate_grid(rng: np.random.Generator, length: int, seed: int, transients: bool = False,
                  pools: float = 0.0) -> np.ndarray:
    """One synthetic trace's measured offsets (s) on a regular grid of `length` cells (NaN = lost poll)."""
    poll = float(rng.choice(POLLS, p=POLL_P))
    cp, mp = sim.random_params(rng)
    r = rng.random()
    if r < 0.45:
        preset, clock_params, disciplined = "disciplined", None, True
    elif r < 0.8:
        preset, clock_params, disciplined = "xo", cp, bool(rng.random() < 0.5)
    else:
        preset, clock_params, disciplined = str(rng.choice(PRESETS)), None, bool(rng.random() < 0.3)
    mode = "adaptive" if rng.random() < 0.1 else "fixed"
    extra = {}
    if transients and disciplined and rng.random() < 0.5:
        # start 0.1-50 ms off: the servo's convergence transient, a level that moves by
        # milliseconds within minutes (as after a restart or a change of server)
        extra["initial_offset_s"] = float(rng.choice([-1.0, 1.0]) * math.exp(rng.uniform(math.log(1e-4),
                                                                                         math.log(0.05))))
    scenario = str(rng.choice(SCENARIOS))
    if pools > 0 and rng.random() < pools:
        # a server pool (pool.ntp.org): 2-10 servers, each with its own extra delay (up to
        # 0.1-3 x the path's minimum) and its own asymmetry (rms 0.05-0.5 x the minimum).
        # Drawn after everything else, so without --pools the data is what it was.
        extra["servers"] = int(rng.integers(2, 11))
        extra["server_delay_spread_s"] = mp.min_delay_s * math.exp(rng.uniform(math.log(0.1), math.log(3.0)))
        extra["server_asymmetry_s"] = mp.min_delay_s * math.exp(rng.uniform(math.log(0.05), math.log(0.5)))
    res = sim.simulate(preset=preset, scenario=scenario, duration_s=(length + 8) * poll,
                       poll_s=poll, seed=seed, disciplined=disciplined, dt=max(1.0, poll / 16),
                       clock_params=clock_params, measurement_params=mp, poll_mode=mode, **extra)
    t, y = res.trace.times, res.trace.offsets
    step = float(np.median(np.diff(t)))
    w = window(t, y, float(t[-1]), step, length, level=0.0)
    return w.values.astype(np.float64)


def make_data(n_series: int, length: int, seed: int, progress, transients: bool = False,
              pools: float = 0.0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    seeds = rng.integers(0, 2**31 - 1, n_series)
    out = np.empty((n_series, length))
    for i in progress(range(n_series), "simulating"):
        out[i] = simulate_grid(np.random.default_rng(seeds[i]), length, int(seeds[i]), transients, pools)
    return out


def mask_spikes_row(ctx_row: np.ndarray, tgt_row: np.ndarray, spike_c: float | None) -> None:
    """In place: the context's gross outliers set to NaN as the runtime does
    (cpp/windowing/spike_mask.h, judged on the float32 cells the model reads); where
    the newest cell is one, context and target re-centred on the newest kept cell."""
    if spike_c is None:
        return
    cells = ctx_row.astype(np.float32)[None, :]
    if not _core.mask_spike_rows(cells, spike_c)[0]:
        return
    ctx_row[np.isnan(cells[0])] = np.nan
    if np.isnan(ctx_row[-1]):
        kept = np.flatnonzero(np.isfinite(ctx_row))
        if kept.size:
            shift = ctx_row[kept[-1]]
            ctx_row -= shift
            tgt_row -= shift


def step_noise(cells: np.ndarray) -> float:
    """The typical step-to-step change of a context's observed cells (1.4826 x the median absolute
    difference; 1e-6 where there are fewer than 3 or they do not change): what --ramps and
    --shifts scale their slope and size by."""
    d = np.diff(cells[np.isfinite(cells)])
    noise = float(np.median(np.abs(d))) * 1.4826 if d.size >= 2 else 0.0
    return noise if noise > 0 else 1e-6


def sample_batch(rng: np.random.Generator, data: np.ndarray, batch: int, context: int, horizon: int,
                 short_p: float = 0.7, ramp_p: float = 0.0, spike_c: float | None = None, shift_p: float = 0.0):
    """(context [B, context], target [B, horizon]) float32 pairs, see the module docstring."""
    n, length = data.shape
    ctx = np.full((batch, context), np.nan)
    tgt = np.full((batch, horizon), np.nan)
    k = 0
    while k < batch:
        s = rng.integers(n)
        c = int(rng.integers(8, length - 1))          # the newest context cell is c - 1
        row = data[s]
        if not np.isfinite(row[c - 1]):
            continue
        keep = context
        if rng.random() < 0.5:                        # short histories, as real traces start
            keep = int(math.exp(rng.uniform(math.log(4), math.log(context))))
        lo = max(0, c - keep)
        if rng.random() < ramp_p:
            # a steady frequency offset on top: the clock's own noise plus a ramp of slope r times
            # the typical step-to-step change (r log-uniform in [0.03, 30]), continued into the target
            noise = step_noise(row[lo:c])
            slope = rng.choice([-1.0, 1.0]) * noise * math.exp(rng.uniform(math.log(0.03), math.log(30.0)))
            row = row + slope * (np.arange(row.size) - (c - 1))
        if shift_p > 0 and rng.random() < shift_p:
            # a level shift (a change of server or of the path's asymmetry): the newest m context
            # cells (m log-uniform in [3, 64], the newest at least 3 so that it is no spike, fewer
            # than the history holds) and the target moved by s, log-uniform in [5, 500] times the
            # typical step-to-step change, either sign. (No draws without --shifts: the data of
            # every other recipe are as they were.)
            noise = step_noise(row[lo:c])
            m = int(round(math.exp(rng.uniform(math.log(3), math.log(64)))))
            s = rng.choice([-1.0, 1.0]) * noise * math.exp(rng.uniform(math.log(5.0), math.log(500.0)))
            if m < c - lo:
                row = row.copy()
                row[c - m:] += s
        level = row[c - 1]
        sign = -1.0 if rng.random() < 0.5 else 1.0
        ctx[k, context - (c - lo):] = sign * (row[lo:c] - level)
        fut = row[c:c + horizon]
        tgt[k, :fut.size] = sign * (fut - level)
        mask_spikes_row(ctx[k], tgt[k], spike_c)
        obs = ctx[k][np.isfinite(ctx[k])]
        if obs.size >= 3:
            # targets beyond +-CLIP instance-scale units of the context are clipped there: a short,
            # nearly constant history (scale ~ 0) would otherwise give losses of 1e3+ that drown the rest
            loc = obs.mean()
            scale = max(obs.std(), 1e-5)
            tgt[k] = np.clip(tgt[k], loc - CLIP * scale, loc + CLIP * scale)
        if rng.random() < short_p:                    # weight the near steps (the next NTP point is step 1)
            tgt[k, int(rng.integers(1, 9)):] = np.nan
        if np.isfinite(tgt[k]).any() and obs.size >= 3:
            k += 1
        else:
            ctx[k] = np.nan
            tgt[k] = np.nan
    return ctx.astype(np.float32), tgt.astype(np.float32)


def real_traces(data_dir: str):
    from chronotick.io import load_chronotick_csv
    return [load_chronotick_csv(f) for f in sorted(glob.glob(os.path.join(data_dir, "clock-traces", "*.csv")))]


def validation_windows(traces, context: int, warmup: int = 10, spike_c: float | None = None):
    """Per trace: windows of the history before each measurement i >= warmup,
    the fractional step h of measurement i, the window level, the truth and
    the two baselines (hold-last, median of the last 5)."""
    out = []
    for tr in traces:
        t, y = tr.times, tr.offsets
        wins, hs, levels, truth, hold, med5 = [], [], [], [], [], []
        for i in range(warmup, len(t)):
            step = float(np.median(np.diff(t[max(0, i - 65):i])))
            # the runtime's window (bit-equal to `window` without the mask: test_onnx_window_parity.py)
            values, level = _core.nearest_window(t[:i], y[:i], float(t[i - 1]), step, context,
                                                 spike_c=math.nan if spike_c is None else spike_c)
            wins.append(values)
            hs.append((t[i] - t[i - 1]) / step)
            levels.append(level)
            truth.append(y[i])
            hold.append(y[i - 1])
            med5.append(np.median(y[max(0, i - 5):i]))
        out.append(dict(name=tr.name, x=np.stack(wins), h=np.array(hs), level=np.array(levels),
                        truth=np.array(truth), hold=np.array(hold), med5=np.array(med5)))
    return out


def median_at(q: np.ndarray, h: np.ndarray, median_index: int) -> np.ndarray:
    """The median quantile q[B, K, H] at fractional step h (step 1 = column 0)."""
    H = q.shape[-1]
    hc = np.clip(h, 1.0, float(H))
    lo = np.clip(np.floor(hc).astype(int), 1, H - 1)
    w = hc - lo
    rows = np.arange(q.shape[0])
    return q[rows, median_index, lo - 1] * (1 - w) + q[rows, median_index, lo] * w


def validate(model, val, median_index: int) -> dict:
    import torch
    res = {}
    with torch.no_grad():
        for v in val:
            q = model(context=torch.from_numpy(v["x"])).quantile_preds.numpy().astype(np.float64)
            pred = median_at(q, v["h"], median_index) + v["level"]
            res[v["name"]] = {"model": float(np.mean(np.abs(pred - v["truth"]))),
                              "hold-last": float(np.mean(np.abs(v["hold"] - v["truth"]))),
                              "median-5": float(np.mean(np.abs(v["med5"] - v["truth"])))}
    return res


def set_weights(model, tensors) -> None:
    """Copy `tensors` (one per parameter, in model.parameters() order) into the model."""
    import torch
    with torch.no_grad():
        for p, a in zip(model.parameters(), tensors):
            p.copy_(a)


class averaged:
    """Within the block, the model holds the averaged weights `ema` (None: as it is)."""

    def __init__(self, model, ema):
        self.model, self.ema = model, ema

    def __enter__(self):
        if self.ema is not None:
            self.saved = [p.detach().clone() for p in self.model.parameters()]
            set_weights(self.model, self.ema)
        return self.model

    def __exit__(self, *exc):
        if self.ema is not None:
            set_weights(self.model, self.saved)
        return False


def progress_factory():
    try:
        from tqdm import tqdm

        def bar(it, desc, total=None):
            return tqdm(it, desc=desc, total=total, mininterval=2.0, file=sys.stderr)
    except ImportError:
        def bar(it, desc, total=None):
            items = list(it)
            for i, x in enumerate(items):
                if i % max(1, len(items) // 20) == 0:
                    print(f"{desc}: {i}/{len(items)}", file=sys.stderr, flush=True)
                yield x
    return bar


def main(argv=None) -> int:
    # the defaults shown in --help (it listed --seed SEED, --steps STEPS ... without them)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "python", "chronotick", "models", "data",
                                                   "clock-bolt.onnx"),
                    help="the .onnx to write (its model card beside it). The default REPLACES the shipped "
                         "model, which only --portable --ema 0.998 --spike-c 5 (all else the defaults) remakes "
                         "(export/README.md): give another path to compare")
    ap.add_argument("--checkpoint-dir", default=None, help="where the PyTorch checkpoint goes (None: <tmp>/chronotick-<name>-checkpoint/)")
    ap.add_argument("--data-dir", default=os.path.join(HERE, "..", "..", "shared", "data"),
                    help="the shared data (its clock-traces/ validate each epoch; never trained on)")
    ap.add_argument("--seed", type=int, default=0, help="seed of the simulated data and of training")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (the weights depend on it, except with --portable: the shipped model's recipe gave the same bytes at 1 and 2 threads)")
    ap.add_argument("--series", type=int, default=3000, help="simulated clock series to train on")
    ap.add_argument("--steps", type=int, default=4000, help="optimizer steps")
    ap.add_argument("--steps-per-epoch", type=int, default=250, help="steps between validations")
    ap.add_argument("--batch", type=int, default=128, help="training pairs per step")
    ap.add_argument("--lr", type=float, default=1e-3, help="AdamW learning rate")
    ap.add_argument("--short-p", type=float, default=0.7,
                    help="fraction of training targets cut to their first 1-8 steps")
    ap.add_argument("--context", type=int, default=256, help="context length (grid steps)")
    ap.add_argument("--d-model", type=int, default=96, help="T5 d_model")
    ap.add_argument("--d-ff", type=int, default=256, help="T5 d_ff")
    ap.add_argument("--layers", type=int, default=3, help="encoder layers")
    ap.add_argument("--decoder-layers", type=int, default=2, help="decoder layers")
    ap.add_argument("--heads", type=int, default=4, help="attention heads")
    ap.add_argument("--transients", action="store_true",
                    help="start half the disciplined clocks 0.1-50 ms off (servo convergence transients)")
    ap.add_argument("--ramps", type=float, default=0.0,
                    help="fraction of training pairs with a steady frequency offset added (a ramp of slope "
                         "0.03-30 x the step-to-step noise): free-running clocks in holdover")
    ap.add_argument("--shifts", type=float, default=0.0,
                    help="fraction of training pairs with a level shift: the newest 3-64 context cells and the "
                         "target moved by 5-500 x the step-to-step noise (a change of server or path)")
    ap.add_argument("--pools", type=float, default=0.0,
                    help="fraction of the simulated clocks measured through a server pool (2-10 servers, each "
                         "with its own delay and asymmetry: chronotick.sim's servers=...)")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="keep an exponential moving average of the weights with this decay per step (0: "
                         "off) and ship it: the average validates each epoch and is exported")
    ap.add_argument("--spike-c", type=float, default=None,
                    help="mask the training contexts' gross outliers as the runtime does (cells further than this "
                         "many robust sigmas from their neighbours; the runtime's is 5; None: none)")
    ap.add_argument("--no-export", action="store_true", help="train and save the checkpoint only")
    ap.add_argument("--portable", action="store_true",
                    help="the same weights on any x86-64 CPU (for the same thread count and library versions): "
                         "pins torch's own kernels to their portable build (ATEN_CPU_CAPABILITY=default) and "
                         "MKL to its reproducible code path (MKL_CBWR=COMPATIBLE), somewhat slower; must be set "
                         "before torch is imported, so the script must run as a program")
    args = ap.parse_args(argv)
    # every argument checked before torch is imported and anything is simulated or trained
    for flag in ("pools", "ramps", "short_p", "shifts"):
        if not 0.0 <= getattr(args, flag) <= 1.0:
            ap.error(f"--{flag.replace('_', '-')} must be a fraction in [0, 1], got {getattr(args, flag)!r}")
    if not 0.0 <= args.ema < 1.0:
        ap.error(f"--ema must be a decay in [0, 1), got {args.ema!r}")
    if args.spike_c is not None and not (math.isfinite(args.spike_c) and args.spike_c > 0):
        ap.error(f"--spike-c must be a finite number > 0, got {args.spike_c!r}")
    for flag in ("series", "steps", "steps_per_epoch", "batch", "context", "d_model", "d_ff", "layers",
                 "decoder_layers", "heads", "threads"):
        if getattr(args, flag) < 1:
            ap.error(f"--{flag.replace('_', '-')} must be at least 1, got {getattr(args, flag)!r}")
    if args.context < 4:        # sample_batch keeps histories of 4 .. context cells
        ap.error(f"--context must be at least 4, got {args.context!r}")
    from chronotick.models.export_bolt import MIN_CONTEXT as floor   # no torch at import: checked before training
    if args.context < floor and not args.no_export:
        ap.error(f"--context must be at least {floor} to export (predict() and the Engine use a model from "
                 f"min_history = {floor} measured cells of its window on), got {args.context!r}; or pass --no-export")
    if not 0 <= args.seed < 2**63:     # numpy's and torch's generators (a traceback after training had begun)
        ap.error(f"--seed must be an integer in [0, 2**63), got {args.seed!r}")
    if args.heads > args.d_model:
        ap.error(f"--heads must be at most --d-model (each head has d_model // heads >= 1 dimensions), got "
                 f"--heads {args.heads} with --d-model {args.d_model}")
    if not (math.isfinite(args.lr) and args.lr > 0):
        ap.error(f"--lr must be a positive number, got {args.lr!r}")
    if not args.no_export:
        if not onnx_file_name(args.out):
            ap.error(f"--out must name a .onnx file (its model card goes beside it as .json), got {args.out}")
        for p in (args.out, os.path.splitext(args.out)[0] + ".json"):
            if os.path.isdir(p):
                ap.error(f"--out: {p} is a directory; the model and its card are written as files")
    if args.checkpoint_dir is not None and os.path.exists(args.checkpoint_dir) \
            and not os.path.isdir(args.checkpoint_dir):
        ap.error(f"--checkpoint-dir {args.checkpoint_dir} is a file, not a directory")

    # the export extra, looked for without importing torch (--portable must act before its import)
    wanted = ("torch", "chronos") + (() if args.no_export else ("onnx", "onnxscript"))
    missing = [m for m in wanted if importlib.util.find_spec(m) is None]
    if missing:
        print(f"train_clock_bolt: needs {', '.join(missing)}, from the export extra: pip install "
              f"\"torch==2.13.0\" && pip install \".[export]\" (export/README.md)", file=sys.stderr)
        return 1

    if args.portable:
        if "torch" in sys.modules and any(os.environ.get(k) != v for k, v in PORTABLE_ENV.items()):
            ap.error("--portable: torch is already imported in this process, so its kernels and MKL's cannot be "
                     "pinned any more; run export/train_clock_bolt.py as a program")
        os.environ.update(PORTABLE_ENV)       # read by torch's and MKL's start-up, at the import below

    import torch
    from chronos.chronos_bolt import ChronosBoltModelForForecasting
    from chronotick.models.export_bolt import ExportError, export_chronos_bolt, random_bolt_config

    if args.portable and torch.backends.cpu.get_cpu_capability() != "DEFAULT":
        print(f"train_clock_bolt: --portable: torch runs its {torch.backends.cpu.get_cpu_capability()} kernels "
              f"(ATEN_CPU_CAPABILITY was not honoured)", file=sys.stderr)
        return 1
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    bar = progress_factory()
    horizon = 64
    t_start = time.time()
    length = args.context + horizon + 64
    data = make_data(args.series, length, args.seed, bar, args.transients, args.pools)
    print(f"{args.series} synthetic series of {length} grid cells, "
          f"{np.isfinite(data).mean() * 100:.1f}% observed ({time.time() - t_start:.0f} s)", file=sys.stderr)

    traces = real_traces(args.data_dir)
    val = validation_windows(traces, args.context, spike_c=args.spike_c)
    if traces:
        print(f"validation: {len(traces)} real traces, {sum(len(v['truth']) for v in val)} next-NTP-point "
              f"targets", file=sys.stderr)
    else:
        print(f"validation skipped: no real traces in {os.path.join(args.data_dir, 'clock-traces')} "
              f"(--data-dir); training does not use them", file=sys.stderr)

    config = random_bolt_config(context=args.context, prediction_length=horizon, d_model=args.d_model,
                                d_ff=args.d_ff, num_layers=args.layers, num_decoder_layers=args.decoder_layers,
                                num_heads=args.heads)
    model = ChronosBoltModelForForecasting(config)
    n_params = sum(p.numel() for p in model.parameters())
    median_index = model.chronos_config.quantiles.index(0.5)
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    warm = max(1, args.steps // 20)
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warm) * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, s / args.steps)))))
    rng = np.random.default_rng(args.seed + 1)
    ema = [p.detach().clone() for p in model.parameters()] if args.ema > 0 else None
    history = []
    print(f"model: {n_params / 1e6:.2f} M parameters; {args.steps} steps of batch {args.batch}", file=sys.stderr)
    step = 0
    epochs = math.ceil(args.steps / args.steps_per_epoch)
    for epoch in range(1, epochs + 1):
        model.train()
        losses = []
        n = min(args.steps_per_epoch, args.steps - step)
        for _ in bar(range(n), f"epoch {epoch}/{epochs}"):
            ctx, tgt = sample_batch(rng, data, args.batch, args.context, horizon, args.short_p, args.ramps,
                                    args.spike_c, args.shifts)
            loss = model(context=torch.from_numpy(ctx), target=torch.from_numpy(tgt)).loss
            opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            if ema is not None:
                with torch.no_grad():     # averaged weights: a <- d a + (1 - d) w after every step
                    torch._foreach_lerp_(ema, list(model.parameters()), 1.0 - args.ema)
            sched.step()
            losses.append(float(loss.detach()))
            step += 1
        model.eval()
        entry = {"epoch": epoch, "step": step, "train_loss": float(np.mean(losses))}
        if val:
            with averaged(model, ema):
                v = validate(model, val, median_index)
            mean = {k: float(np.mean([r[k] for r in v.values()])) for k in ("model", "hold-last", "median-5")}
            entry["val_mae_ms"] = {k: x * 1e3 for k, x in mean.items()}
            shown = (f"; validation MAE at the next NTP point (mean over traces): model {mean['model'] * 1e3:.3f} ms, "
                     f"hold-last {mean['hold-last'] * 1e3:.3f} ms, median-5 {mean['median-5'] * 1e3:.3f} ms")
        else:
            shown = ""
        history.append(entry)
        if not math.isfinite(entry["train_loss"]):
            print(f"epoch {epoch}: the training loss is {entry['train_loss']}: diverged", file=sys.stderr)
            return 1
        print(f"epoch {epoch}: train loss {np.mean(losses):.4f}{shown}  [{time.time() - t_start:.0f} s]",
              file=sys.stderr)
    train_s = time.time() - t_start

    out = os.path.abspath(args.out)
    ckpt = args.checkpoint_dir or os.path.join(tempfile.gettempdir(), "chronotick-" +
                                               os.path.splitext(os.path.basename(out))[0] + "-checkpoint")
    if ema is not None:           # what ships is the averaged model
        set_weights(model, ema)
    model.save_pretrained(ckpt)
    print(f"checkpoint saved to {ckpt}", file=sys.stderr)
    if args.no_export:
        return 0
    training = {
        "data": "synthetic only: chronotick.sim (presets, random_params; free-running and NTP-disciplined; "
                "NTP-like measurement noise with spikes and losses; polls 16-1024 s)",
        "series": args.series, "steps": args.steps, "short_p": args.short_p, "transients": args.transients,
        "ramps": args.ramps, "pools": args.pools, "ema": args.ema, "spike_c": args.spike_c,
        **({"shifts": args.shifts} if args.shifts else {}),
        "batch": args.batch, "lr": args.lr, "seed": args.seed,
        "threads": args.threads, "wall_s": round(train_s, 1), "torch": torch.__version__,
        "portable": dict(PORTABLE_ENV) if args.portable else False,
        "validation": ("real NTP traces (shared/data/clock-traces), next-NTP-point MAE of the median; "
                       "monitoring only, the final model is kept") if val else
                      f"none: no real traces in {os.path.join(args.data_dir, 'clock-traces')}",
        "history": history,
    }
    try:
        card = export_chronos_bolt(ckpt, out, context=args.context, name=os.path.splitext(os.path.basename(out))[0],
                                   extra_card={"source_checkpoint": "trained from scratch by export/train_clock_bolt.py",
                                               "training": training},
                                   log=lambda m: print(m, file=sys.stderr))
    except (ExportError, ValueError, OSError) as exc:
        print(f"train_clock_bolt: export failed ({' '.join(str(exc).split())}); the trained checkpoint is in "
              f"{ckpt} (export it with `chronotick export chronos-bolt --checkpoint {ckpt}`)", file=sys.stderr)
        return 1
    print(json.dumps({k: card[k] for k in ("name", "parameters", "context", "prediction_length", "parity")},
                     indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
