"""Forecast a real NTP trace with chronotick.predict, print it, and plot it.

    python examples/basic_predict.py [TRACE.csv] [--cut N] [--horizon H] [--plot out.png]

Default trace: the homelab 9 h trace shipped with the package (NTP offsets of a
real machine, see chronotick/data). Offsets are seconds, reference - local.
"""
import argparse

import numpy as np

import chronotick
from chronotick.io import load


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("trace", nargs="?", help="trace file (default: the shipped homelab trace)")
    ap.add_argument("--cut", type=int, default=200, help="forecast from after this many measurements")
    ap.add_argument("--horizon", type=int, default=12, help="steps (median measurement spacing) ahead")
    ap.add_argument("--plot", help="write a PNG (needs chronotick[plot])")
    args = ap.parse_args()

    if args.trace:
        trace = load(args.trace)
    else:
        from chronotick.data import homelab_trace
        trace = homelab_trace()
    t, y = trace.times[:args.cut], trace.offsets[:args.cut]
    # NTP round-trip delays, where the trace has them, weigh the measurements (uncertainty_from_delay)
    delay = trace.delay[:args.cut] if trace.delay is not None else None
    fc = chronotick.predict(y, t, horizon=args.horizon, delay=delay)
    lo, hi = fc.interval(0.8)
    print(f"model: {fc.model}" + ("; measurements weighed by their round-trip delays" if delay is not None else ""))
    print(f"{'lead (s)':>9} {'mean (ms)':>10} {'80% interval (ms)':>22} {'measured (ms)':>14}")
    for k, tk in enumerate(fc.times):
        j = int(np.argmin(np.abs(trace.times - tk)))          # the measurement nearest the forecast time
        meas = f"{trace.offsets[j] * 1e3:14.3f}" if abs(trace.times[j] - tk) < 30 else " " * 14
        print(f"{tk - t[-1]:9.0f} {fc.mean[k] * 1e3:10.3f} [{lo[k] * 1e3:9.3f}, {hi[k] * 1e3:9.3f}] {meas}")
    if args.plot:
        from chronotick import plot
        plot.plot_forecast(trace.times[:args.cut + args.horizon], trace.offsets[:args.cut + args.horizon], fc,
                           out=args.plot, title=f"{trace.name}: forecast from measurement {args.cut}")
        print(f"plot written to {args.plot}")


if __name__ == "__main__":
    main()
