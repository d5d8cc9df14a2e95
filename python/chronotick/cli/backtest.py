"""`chronotick backtest FILE... [--format F] [--models ...] [--horizon K] [--plot out.png] [--json out.json]`

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

from chronotick._validate import is_int
from chronotick.cli import UsageError


def add_arguments(p) -> None:
    p.add_argument("files", nargs="+", metavar="FILE",
                   help="trace files (any format chronotick.io reads) or directories of them")
    p.add_argument("--format", default="auto", metavar="FORMAT",
                   help="the files' format: auto (sniffed from their first lines; default) or one of "
                        "chronotick.io.FORMATS (chronotick_csv, chrony_tracking, chrony_measurements, "
                        "chrony_statistics, chronyc_tracking, plain_csv, oscillator_frequency, oscillator_phase)")
    p.add_argument("--models", default="auto,hold,robust,regression,kalman",
                   help="comma-separated model names (default: %(default)s); an exported model "
                        "too, as PATH.onnx (named after the file) or NAME=PATH.onnx, its model card "
                        "beside it (what `chronotick export` writes)")
    p.add_argument("--horizon", type=int, default=1,
                   help="predict this many measurements ahead (default: %(default)s)")
    p.add_argument("--level", type=float, default=0.8,
                   help="central interval level, a fraction in (0, 1) (default: %(default)s)")
    p.add_argument("--unit", choices=("s", "ms", "us"), default="ms",
                   help="unit of the printed errors (default: %(default)s)")
    p.add_argument("--json", metavar="OUT", help="write the metrics as JSON")
    p.add_argument("--markdown", metavar="OUT", help="write the tables as Markdown")
    p.add_argument("--plot", metavar="OUT", help="plot forecasts and errors (PNG; needs chronotick[plot]); "
                   "with several files, one PNG per trace named OUT-<trace>.png")
    p.add_argument("--window-selection", action="store_true",
                   help="also show how much the default regression window of the classical models owes to "
                        "these traces: leave-one-trace-out choice among 8..64 for fused and auto "
                        "(needs at least 2 traces)")
    p.add_argument("--no-delay-weights", action="store_true",
                   help="ignore the traces' round-trip delays (by default, where a trace has delays, the models "
                        "weigh each measurement by chronotick.uncertainty_from_delay rather than by the trace's "
                        "uncertainty, "
                        "and `auto` is also shown without them as `auto (no delays)`, the same as `auto` on a "
                        "trace without delays)")
    p.add_argument("--source", metavar="IP",
                   help="the source to score in a chrony measurements or statistics log, which hold several "
                        "(default: the one with the most entries, named under the table)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


# the loaders read gzip transparently, so a directory's trace.csv.gz is a trace as trace.csv is
TRACE_SUFFIXES = tuple(e + z for e in (".csv", ".log", ".txt") for z in ("", ".gz"))


def _expand(paths: list[str]) -> list[str]:
    out = []
    for p in paths:
        if os.path.isdir(p):
            out.extend(sorted(os.path.join(p, f) for f in os.listdir(p) if f.endswith(TRACE_SUFFIXES)
                              and not os.path.isdir(os.path.join(p, f))))
        elif os.path.exists(p):
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or directory: {p}")
    if not out:
        raise ValueError(f"no trace files found in {paths}")
    return out


# the formats that hold several sources' measurements, one of them loaded (--source)
MULTI_SOURCE = ("chrony_measurements", "chrony_statistics")


def _load(path: str, format: str = "auto", source: str | None = None):
    import chronotick.io as cio
    if source is None:
        return cio.load(path, format=format)
    kind = cio.sniff_format(path) if format == "auto" else format
    if kind not in MULTI_SOURCE:
        raise UsageError(f"--source {source}: only a chrony measurements or statistics log holds several "
                         f"sources; {path} is {kind}")
    return cio.load(path, format=kind, source=source)


def _check_output(option: str, path: str | None, is_file: bool = True) -> None:
    """ValueError naming `option` when `path` cannot be written as a file: checked before the
    backtest runs, so a typo in an output path does not throw away a long run's results.
    is_file=False: `path` is a stem (--plot with several traces writes OUT-<trace>.png beside it)."""
    if path is None:
        return
    from chronotick._paths import output_file_problem
    problem = output_file_problem(path) if is_file else output_file_problem(
        os.path.join(os.path.dirname(os.path.abspath(path)), "plot.png"))
    if problem:
        raise ValueError(f"{option} {path}: {problem}")


def _one_plot(args) -> bool:
    """Whether --plot names the plot file itself (one trace file), not a stem for OUT-<trace>.png."""
    return len(args.files) == 1 and not os.path.isdir(args.files[0])


def _check_outputs_apart(args, files: list[str]) -> None:
    """ValueError when an output file (--json, --markdown, --plot with one trace) is one of the
    input traces or another output: `backtest trace.csv --json trace.csv` had replaced the trace
    with its own results, `--json o --markdown o` kept only the Markdown (CLI audit, 2026-12-04)."""
    outs = [(f"--{o}", getattr(args, o)) for o in ("json", "markdown") if getattr(args, o)]
    if args.plot and _one_plot(args):
        outs.append(("--plot", args.plot))
    inputs = {os.path.realpath(f): f for f in files}
    seen: dict[str, str] = {}
    for option, path in outs:
        real = os.path.realpath(path)
        if real in inputs:
            raise ValueError(f"{option} {path} is one of the input traces ({inputs[real]}); it would be overwritten")
        if real in seen:
            raise ValueError(f"{option} {path} is also {seen[real]}'s output; give each its own file")
        seen[real] = option


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


def markdown(results, unit: str = "ms", selection=None) -> str:
    from chronotick.backtest import summarize
    scale = {"s": 1.0, "ms": 1e3, "us": 1e6}[unit]
    horizon = results[0].horizon if results else 1
    sees = ("only the measurements strictly before it (at most 512)" if horizon == 1 else
            f"only the measurements at least {horizon} before it (at most 512; a forecast {horizon} "
            "measurements ahead)")
    title = "# Backtest on real NTP traces" + ("" if horizon == 1 else f", {horizon} measurements ahead")
    lines = [title, "",
             "Generated by `chronotick backtest` (python/chronotick/backtest.py). Leakage-free rolling origin: "
             f"for every measurement after the first {max(10, horizon)}, each forecaster sees {sees} "
             "and predicts its offset; errors are against that measured offset. "
             "`hold-last` and `median-5` are plain-numpy baselines; "
             + ("`prototype (recorded)` is the research prototype's own prediction stored in the trace. "
                if horizon == 1 else
                "the research prototype's recorded prediction is left out here: it was made for each measurement "
                f"from everything before it, not {horizon} ahead (docs/backtest.md scores it). ")
             + "`auto` is `chronotick.predict(model=\"auto\")`; "
             "`fused` the classical ensemble alone; `clock-bolt` the shipped ONNX model alone (where its "
             "window holds fewer than 8 measurements, as for the first origins 8 ahead, the classical fusion "
             "stands in, as the classical models fall back to hold). Where a trace "
             "records round-trip delays (all but homelab_3h), the models weigh each measurement by "
             "`chronotick.uncertainty_from_delay` of the window they see (a noise model fitted on that window "
             "alone; `--no-delay-weights` turns it off); `auto (no delays)` is `auto` without them. Coverage is of "
             "the central interval at the stated level; width is its median; pinball is the mean pinball loss "
             "of its two ends. Every model's point errors are scored on the same targets (those every model "
             "predicted); its interval figures on those where it gave an interval, their number beside the "
             "coverage where fewer (the baselines' intervals are split-conformal quantiles of their own 32 newest "
             "errors at the table's lead, which need 9 of them).", ""]
    for r in results:
        ahead = "next measurement" if r.horizon == 1 else f"{r.horizon} measurements ahead"
        lines += [f"### {r.trace} ({len(r.truth)} targets, {ahead})", "",
                  f"| model | MAE ({unit}) | median AE | P95 | max | {round(r.level * 100)}% coverage | width | pinball |",
                  "|---|---:|---:|---:|---:|---:|---:|---:|"]
        for name, m in r.table().items():
            cov = "–" if np.isnan(m["coverage"]) else f"{m['coverage'] * 100:.1f}%"
            if not np.isnan(m["coverage"]) and m["n_int"] < m["n"]:
                cov += f" ({m['n_int']})"          # its intervals on fewer targets: how many
            w = "–" if np.isnan(m["width"]) else f"{m['width'] * scale:.3f}"
            pb = "–" if np.isnan(m["pinball"]) else f"{m['pinball'] * scale:.4f}"
            lines.append(f"| {name} | {m['mae'] * scale:.3f} | {m['median_ae'] * scale:.3f} | "
                         f"{m['p95'] * scale:.3f} | {m['max'] * scale:.3f} | {cov} | {w} | {pb} |")
        lines.append("")
    if len(results) > 1:
        s = summarize(results)
        base = s.get("median-5", {}).get("mae")
        lines += ["### Mean over traces", "",
                  "`MAE / median-5` divides the mean of the per-trace MAEs by median-5's (traces with larger "
                  "errors weigh more); `mean of ratios` averages the per-trace ratios (each trace counts the "
                  "same). `coverage` is the mean over traces, with the per-trace range beside it; "
                  "`max ≤ hold-last` counts the traces whose largest error is at most hold-last's.", "",
                  f"| model | MAE ({unit}) | MAE / median-5 | mean of ratios | coverage | range | max ≤ hold-last |",
                  "|---|---:|---:|---:|---:|---:|---:|"]
        for name, m in s.items():
            cov = "–" if np.isnan(m["coverage"]) else f"{m['coverage'] * 100:.1f}%"
            tabs = [(r.table()[name], r.table().get("median-5"), r.table().get("hold-last"))
                    for r in results if name in r.results]
            if len(tabs) < len(results):
                # a model on some traces only (a recorded prototype): median-5's mean over the same
                # traces (over all of them it had divided two means of different traces)
                b = [bm["mae"] for _, bm, _ in tabs if bm]
                ratio = f"{m['mae'] / np.mean(b):.3f}" if len(b) == len(tabs) and np.mean(b) else "–"
            else:
                ratio = f"{m['mae'] / base:.3f}" if base else "–"
            per = [a["mae"] / b["mae"] for a, b, _ in tabs if b]
            mean_ratio = f"{np.mean(per):.3f}" if per else "–"
            covs = [a["coverage"] for a, _, _ in tabs if not np.isnan(a["coverage"])]
            rng = f"{min(covs) * 100:.1f}–{max(covs) * 100:.1f}%" if covs else "–"
            maxok = [a["max"] <= h["max"] for a, _, h in tabs if h]
            mx = f"{sum(maxok)} of {len(maxok)}" if maxok else "–"
            lines.append(f"| {name} | {m['mae'] * scale:.3f} | {ratio} | {mean_ratio} | {cov} | {rng} | {mx} |")
        lines.append("")
    if selection is not None:
        lines.append(selection.markdown())
    return "\n".join(lines)


def _json_safe(x):
    """x with every non-finite number replaced by None (JSON null): JSON has no NaN or Infinity,
    and json.dump would otherwise write the bare tokens NaN / Infinity, which are not JSON."""
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return _json_safe(x.tolist())
    if isinstance(x, (bool, np.bool_)):
        return bool(x)
    if isinstance(x, (int, np.integer)):
        return int(x)
    if isinstance(x, (float, np.floating)):
        return float(x) if np.isfinite(x) else None
    return x


def model_names(spec: str) -> list[str]:
    """The model names of a --models value. Entries that name an exported
    model file (PATH.onnx, or NAME=PATH.onnx) are registered under NAME (the
    file's stem by default) and loaded once here, so a missing, corrupt or
    mismatched file is refused before any trace is read."""
    import chronotick.models as registry
    from chronotick.api import onnx_forecaster
    names = []
    for entry in (m.strip() for m in spec.split(",")):
        if not entry:
            continue
        if "=" in entry or registry.onnx_file_name(entry):
            name, _, path = entry.rpartition("=") if "=" in entry else ("", "", entry)
            name = name.strip() or os.path.splitext(os.path.basename(path))[0]
            path = path.strip()
            if not registry.onnx_file_name(path):
                raise UsageError(f"--models entry {entry!r}: NAME=PATH must name a .onnx file")
            taken = registry.onnx_models().get(name)
            if taken is not None and os.path.abspath(path) != taken:
                raise UsageError(f"--models entry {entry!r}: the name {name!r} is taken by {taken}; "
                                 f"give it another (NAME=PATH.onnx)")
            registry.register(name, path)
            onnx_forecaster(name)
            entry = name
        try:
            registry.check_name(entry)
        except ValueError as exc:
            raise UsageError(f"--models: {exc}") from None
        if entry in names:
            raise UsageError(f"--models names {entry!r} twice")
        names.append(entry)
    if not names:
        raise UsageError(f"--models names no model: {spec!r}")
    return names


def _check_reach(names: list[str], horizon: int) -> None:
    """ValueError naming --horizon when an ONNX model among `names` forecasts fewer grid steps
    (its exported prediction_length; one step is about one measurement's spacing) than
    --horizon measurements ahead: before any trace is read, rather than at the first target
    with a message about step_s and horizon_s, which the backtest sets itself."""
    import chronotick.models as registry
    from chronotick.api import onnx_forecaster
    for name in names:
        if name in registry.onnx_models():
            f = onnx_forecaster(name)
            if horizon > f.horizon:
                raise UsageError(f"--horizon {horizon}: model {name} forecasts at most {f.horizon} steps "
                                 f"(about {f.horizon} measurements) ahead, its exported prediction_length; "
                                 f"use --horizon <= {f.horizon} or leave {name} out of --models")


def run(args) -> int:
    from chronotick.backtest import check_length, predict_model, run_backtest, select_window

    import chronotick.io as cio
    if not is_int(args.horizon) or args.horizon < 1:
        raise UsageError(f"--horizon must be an integer >= 1 (measurements ahead), got {args.horizon!r}")
    if not (isinstance(args.level, float) and 0.0 < args.level < 1.0):     # also nan
        raise UsageError(f"--level must be a fraction in (0, 1) (0.8 for an 80% interval), got {args.level!r}")
    fmt = getattr(args, "format", "auto")
    if fmt != "auto" and fmt not in cio.FORMATS:
        raise UsageError(f"--format {fmt!r}: expected auto or one of {sorted(cio.FORMATS)}")
    for option in ("json", "markdown", "plot"):
        value = getattr(args, option)
        if value is not None and not value.strip():
            # an empty path had been taken and nothing written (CLI audit, 2026-12-04)
            raise UsageError(f"--{option}: the path is empty")
    for option in ("json", "markdown"):
        _check_output(f"--{option}", getattr(args, option))
    if args.plot:
        _check_output("--plot", args.plot, is_file=False)   # with several traces, OUT-<trace>.png beside it
        if _one_plot(args) and os.path.splitext(args.plot)[1].lower() != ".png":
            # the plot is a PNG image whatever the name (out.pdf had held PNG data)
            raise UsageError(f"--plot {args.plot}: the plot is written as a PNG image; name a .png file")
        from chronotick import plot
        plot._matplotlib()   # its ImportError now, not after the first trace's backtest (audit, 2026-12-05)
    names = model_names(args.models)   # a bad name, model file or path: chronotick.cli.main reports it
    _check_reach(names, args.horizon)
    files = _expand(args.files)
    _check_outputs_apart(args, files)
    if args.window_selection and len(files) < 2:
        raise UsageError(f"--window-selection needs at least 2 traces (one held out), got {len(files)}")
    forecasters = {n: predict_model(n) for n in names}
    if "auto" in forecasters and not args.no_delay_weights:
        auto = forecasters["auto"]
        forecasters["auto (no delays)"] = lambda t, y, u, target_t, level: auto(t, y, None, target_t, level)
    # Every file is loaded and checked first: a bad or too-short one stops the run, named,
    # before any backtest (not after the others' output, nor skipped).
    # Raised, not printed here: chronotick.cli.main prints the one line (and the traceback
    # behind it with CHRONOTICK_TRACEBACK=1, which these had ignored).
    traces = []
    for path in files:
        try:
            trace = _load(path, fmt, getattr(args, "source", None))
        except UsageError:
            raise
        except (ValueError, OSError) as exc:
            msg = str(exc) if path in str(exc) else f"{path}: {exc}"   # name the file once
            msg = msg.replace("pass format= one of", "pass --format, one of")   # the CLI's spelling
            raise ValueError(msg) from exc
        try:
            check_length(trace, horizon=args.horizon)
        except ValueError as exc:
            raise ValueError(str(exc) if path in str(exc) else f"{path}: {exc}") from exc
        traces.append(trace)
    # results are keyed by the trace's name (its file name without the extension) in the JSON,
    # the Markdown and the plots' names: two files of one name had overwritten each other
    seen: dict = {}
    for path, trace in zip(files, traces):
        if trace.name in seen:
            raise ValueError(f"{seen[trace.name]} and {path} are both named {trace.name!r} (their file names): "
                             f"the results are keyed by it; rename or copy one")
        seen[trace.name] = path
    if args.plot and not _one_plot(args):
        # each trace's own plot file, now that the names are known: a bad one (a folder of that
        # name) had been found only after every backtest ran, and lost the --json/--markdown
        for trace in traces:
            _check_output("--plot", f"{os.path.splitext(args.plot)[0]}-{trace.name}.png")
    results = []
    for trace in traces:
        # the recorded prototype prediction only one measurement ahead: it was made for each
        # measurement from everything before it, not `horizon` ahead (it had been scored beside
        # 8-ahead forecasts, its max error counted against theirs)
        r = run_backtest(trace, forecasters, level=args.level, horizon=args.horizon,
                         delay_weights=not args.no_delay_weights, include_prototype=args.horizon == 1,
                         progress=_Progress(trace.name, not args.no_progress))
        results.append(r)
        print(r.format(args.unit))
        print()
        if args.plot:
            from chronotick import plot
            out = args.plot if _one_plot(args) else \
                f"{os.path.splitext(args.plot)[0]}-{trace.name}.png"
            plot.plot_backtest(r, out)
            print(f"plot written to {out}")
    selection = None
    if args.window_selection:
        selection = select_window(traces, level=args.level, horizon=args.horizon,
                                  delay_weights=not args.no_delay_weights)
        print(selection.markdown())
    if args.json:
        out = {r.trace: {"horizon": r.horizon, "level": r.level, "metrics": r.table()} for r in results}
        if selection is not None:
            out["window_selection"] = {
                "param": selection.param, "default": selection.default, "values": list(selection.values),
                "traces": selection.traces,
                "mae_over_median5": {m: r.tolist() for m, r in selection.ratios.items()},
                "held_out": {m: [{"trace": n, "chosen": v, "ratio": x} for n, v, x in selection.held_out(m)]
                             for m in selection.ratios}}
        with open(args.json, "w") as f:
            json.dump(_json_safe(out), f, indent=2, allow_nan=False)   # NaN (no interval, ...) -> null
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(markdown(results, args.unit, selection))
    return 0
