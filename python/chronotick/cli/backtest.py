"""`chronotick backtest FILE... [--models ...] [--horizon K] [--plot out.png] [--json out.json]`

Leakage-free rolling-origin backtest (chronotick.backtest) of forecasters on
measured traces; the baselines hold-last and median-of-last-5 are always
included, and the prototype's recorded prediction where the file has one.
"""
from __future__ import annotations

import json
import os
import sys
import time

import numpy as np


def add_arguments(p) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="trace files (any format chronotick.io reads) or directories of them")
    p.add_argument("--models", default="auto,hold,robust,regression,kalman",
                   help="comma-separated model names (default: %(default)s)")
    p.add_argument("--horizon", type=int, default=1,
                   help="predict this many measurements ahead (default: %(default)s)")
    p.add_argument("--level", type=float, default=0.8, help="central interval level (default: %(default)s)")
    p.add_argument("--unit", choices=("s", "ms", "us"), default="ms", help="unit of the printed errors")
    p.add_argument("--json", metavar="OUT", help="write the metrics as JSON")
    p.add_argument("--markdown", metavar="OUT", help="write the tables as Markdown")
    p.add_argument("--plot", metavar="OUT", help="plot forecasts and errors (PNG; needs chronotick[plot]); "
                   "with several files, one PNG per trace named OUT-<trace>.png")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def _expand(paths: list[str]) -> list[str]:
    out = []
    for p in paths:
        if os.path.isdir(p):
            out.extend(sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith((".csv", ".log", ".txt"))))
        elif os.path.exists(p):
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or directory: {p}")
    if not out:
        raise ValueError(f"no trace files found in {paths}")
    return out


def _load(path: str):
    import chronotick.io as cio
    if hasattr(cio, "load"):
        return cio.load(path)
    return cio.load_chronotick_csv(path)


class _Progress:
    """A one-line progress bar on stderr, only when stderr is a terminal."""

    def __init__(self, label: str, enabled: bool) -> None:
        self.label, self.enabled, self.t0 = label, enabled and sys.stderr.isatty(), time.monotonic()

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled or (done % 10 and done != total):
            return
        width = 30
        fill = int(width * done / total)
        sys.stderr.write(f"\r{self.label[:28]:<28} [{'#' * fill}{'.' * (width - fill)}] {done}/{total} "
                         f"{time.monotonic() - self.t0:5.1f}s")
        if done == total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def markdown(results, unit: str = "ms") -> str:
    from chronotick.backtest import summarize
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
    lines = []
    for r in results:
        ahead = "next measurement" if r.horizon == 1 else f"{r.horizon} measurements ahead"
        lines += [f"### {r.trace} ({len(r.truth)} targets, {ahead})", "",
                  f"| model | MAE ({unit}) | median AE | P95 | max | {int(r.level * 100)}% coverage | width | pinball |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, m in r.table().items():
            cov = "–" if np.isnan(m["coverage"]) else f"{m['coverage'] * 100:.1f}%"
            w = "–" if np.isnan(m["width"]) else f"{m['width'] * scale:.3f}"
            pb = "–" if np.isnan(m["pinball"]) else f"{m['pinball'] * scale:.4f}"
            lines.append(f"| {name} | {m['mae'] * scale:.3f} | {m['median_ae'] * scale:.3f} | "
                         f"{m['p95'] * scale:.3f} | {m['max'] * scale:.3f} | {cov} | {w} | {pb} |")
        lines.append("")
    if len(results) > 1:
        s = summarize(results)
        base = s.get("median-5", {}).get("mae")
        lines += ["### Mean over traces", "", f"| model | MAE ({unit}) | MAE / median-5 | coverage |",
                  "|---|---:|---:|---:|"]
        for name, m in s.items():
            cov = "–" if np.isnan(m["coverage"]) else f"{m['coverage'] * 100:.1f}%"
            ratio = f"{m['mae'] / base:.3f}" if base else "–"
            lines.append(f"| {name} | {m['mae'] * scale:.3f} | {ratio} | {cov} |")
        lines.append("")
    return "\n".join(lines)


def run(args) -> int:
    from chronotick.backtest import predict_model, run_backtest

    import chronotick.models as registry
    names = [m.strip() for m in args.models.split(",") if m.strip()]
    for n in names:
        registry.check_name(n)
    forecasters = {n: predict_model(n) for n in names}
    results = []
    for path in _expand(args.files):
        trace = _load(path)
        r = run_backtest(trace, forecasters, level=args.level, horizon=args.horizon,
                         progress=_Progress(trace.name, not args.no_progress))
        results.append(r)
        print(r.format(args.unit))
        print()
        if args.plot:
            from chronotick import plot
            out = args.plot if len(args.files) == 1 and not os.path.isdir(args.files[0]) else \
                f"{os.path.splitext(args.plot)[0]}-{trace.name}.png"
            plot.plot_backtest(r, out)
            print(f"plot written to {out}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({r.trace: {"horizon": r.horizon, "level": r.level, "metrics": r.table()} for r in results},
                      f, indent=2)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(results, args.unit))
    return 0
