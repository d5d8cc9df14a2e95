"""`chronotick demo`: forecast a real NTP trace shipped with the package.

Cuts the trace at a measurement, forecasts ahead with chronotick.predict
(model "auto" unless --model), draws measurements, forecast and its 80%
interval in the terminal, and compares the forecast with what was measured
after the cut -- next to the baselines hold-last and median-of-last-5.
"""
from __future__ import annotations

import time

import numpy as np


def add_arguments(p) -> None:
    p.add_argument("--model", default="auto", help="model name or path of an exported .onnx (default: %(default)s)")
    p.add_argument("--horizon", type=int, default=12,
                   help="measurements ahead to forecast, at most those after the cut (default: %(default)s)")
    p.add_argument("--cut", type=int, default=200,
                   help="forecast from after this many measurements (default: %(default)s)")
    p.add_argument("--width", type=int, default=80,
                   help="plot width in columns, 20 to 1000 (default: %(default)s)")


def run(args) -> int:
    import chronotick
    from chronotick.asciiplot import MAX_WIDTH, MIN_WIDTH, plot
    from chronotick.cli import UsageError
    from chronotick.data import homelab_trace

    tr = homelab_trace()
    n = len(tr)
    if not 10 <= args.cut <= n - 1:
        raise UsageError(f"--cut must be in [10, {n - 1}] for this {n}-measurement trace, got {args.cut}")
    if args.horizon < 1:
        raise UsageError(f"--horizon must be >= 1, got {args.horizon}")
    if not MIN_WIDTH <= args.width <= MAX_WIDTH:
        raise UsageError(f"--width must be in [{MIN_WIDTH}, {MAX_WIDTH}] columns, got {args.width}")
    try:
        if chronotick.models.model_path(args.model) is None:     # a .onnx path is a model too, as in predict
            chronotick.models.check_name(args.model)
    except ValueError as exc:         # not a model name: a bad option value (a missing file is exit 1)
        raise UsageError(f"--model: {exc}") from None
    except FileNotFoundError as exc:
        raise FileNotFoundError(f"--model: {exc}") from None
    t, y = tr.times[:args.cut], tr.offsets[:args.cut]
    after = slice(args.cut, min(n, args.cut + args.horizon))
    ta, ya = tr.times[after], tr.offsets[after]
    t0 = time.perf_counter()
    delay = tr.delay[:args.cut] if tr.delay is not None else None   # NTP round trips weigh the measurements
    fc = chronotick.predict(y, t, horizon_s=float(ta[-1] - t[-1]), step_s=float(np.median(np.diff(t))),
                            model=args.model, delay=delay)
    ms = (time.perf_counter() - t0) * 1e3
    lo, hi = fc.interval(0.8)
    hours = lambda x: (np.asarray(x) - tr.times[0]) / 3600.0  # noqa: E731
    show = slice(max(0, args.cut - 60), args.cut)
    print(f"chronotick demo: {tr.name}: NTP offsets of a real server, ref - local")
    print(plot([(hours(tr.times[show]), tr.offsets[show] * 1e3, "."), (hours(ta), ya * 1e3, "+"),
                (hours(fc.times), fc.mean * 1e3, "o")],
               bands=[(hours(fc.times), lo * 1e3, hi * 1e3, ":")], width=args.width,
               y_label="offset (ms)  . measured  + measured after the cut  o forecast  : 80% interval",
               x_label="hours since start"))
    mean, lo_a, hi_a = (np.array(v) for v in zip(*(fc.at(x) for x in ta)))
    err = np.abs(mean - ya)
    hold = np.abs(y[-1] - ya)
    med5 = np.abs(np.median(y[-5:]) - ya)
    hit = (ya >= lo_a) & (ya <= hi_a)
    inside = np.mean(hit)
    print(f"\nmodel: {fc.model}\n({ms:.1f} ms; {len(y)} measurements in, {len(ta)} ahead"
          f"{', weighed by their round-trip delays' if delay is not None else ''})")
    if len(ta) < args.horizon:     # said, not silently shortened (an audit, 2026-12-05)
        print(f"(--horizon {args.horizon}: only {len(ta)} measurements follow the cut, so {len(ta)} ahead)")
    print("\nforecast vs measured after the cut (offsets in ms):")
    print(f"{'time':>8} {'ahead':>10} {'measured':>8}   {'forecast':>8}   {'80% interval':^16} {'error':>7}")
    rows = np.unique(np.linspace(0, len(ta) - 1, min(len(ta), 12)).round().astype(int))
    for i in rows:
        print(f"  {hours(ta[i]):6.2f} h {(ta[i] - t[-1]) / 60:6.0f} min {ya[i] * 1e3:8.2f}   {mean[i] * 1e3:8.2f}   "
              f"[{lo_a[i] * 1e3:6.2f}, {hi_a[i] * 1e3:6.2f}] {(mean[i] - ya[i]) * 1e3:+7.2f}"
              f"{'' if hit[i] else '  outside'}")
    if rows.size < len(ta):
        print(f"  ({rows.size} of {len(ta)} measurements shown)")
    print(f"mean absolute error over the next {len(ta)} measurements:")
    print(f"  forecast {err.mean() * 1e3:.2f} ms, hold-last {hold.mean() * 1e3:.2f} ms, "
          f"median-of-5 {med5.mean() * 1e3:.2f} ms")
    # equal baseline figures read as a bug: a constant level between the middle two measured values
    # has as many measurements above it as below, so every such level has the same mean absolute
    # error (the forecast varies from step to step: not it)
    srt = np.sort(ya)
    if srt.size % 2 == 0 and srt.size >= 2:
        a, b = srt[srt.size // 2 - 1], srt[srt.size // 2]
        if all(a <= level <= b for level in (y[-1], np.median(y[-5:]))):
            print(f"  (hold-last and median-of-5 alike by construction: any constant level\n"
                  f"   between the middle two measured values, {a * 1e3:.2f} and {b * 1e3:.2f} ms, scores this)")
    print(f"measurements inside the 80% interval: {inside * 100:.0f}%")
    print("(one cut of one trace; `chronotick backtest` scores every cut of every trace)")
    return 0
