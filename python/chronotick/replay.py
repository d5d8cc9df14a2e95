"""Replay a measured or simulated trace through a `Clock` on a simulated time
base, and check the honesty of its bounds (issue 5 §4).

Measurement i arrives at local time t_i; just before it, the clock's
published bound at t_i is compared with the truth there: the measured offset
of a real trace (which carries NTP's own error), or the simulator's true
offset. The clock only ever sees measurements before t_i. Reported next to it:
the ClockBound-style worst-case bound (root distance at the last measurement +
max_drift x elapsed), on the same data.

    python -m chronotick.replay ../shared/data/clock-traces/homelab_9h_2025-10-15.csv
"""
from __future__ import annotations

import argparse

import numpy as np

from chronotick.io.trace import Trace


class _ReplaySource:
    def __init__(self, trace: Trace):
        self.trace, self.i = trace, 0

    def measure(self):
        from chronotick.sources import Measurement
        i = self.i
        self.i += 1
        tr = self.trace
        d = float(tr.delay[i]) if tr.delay is not None else 0.0
        u = float(tr.uncertainty[i]) if tr.uncertainty is not None and np.isfinite(tr.uncertainty[i]) else d / 2
        return Measurement(t=float(tr.times[i]), offset=float(tr.offsets[i]), delay=d, uncertainty=u)


def replay(trace: Trace, truth: np.ndarray | None = None, config: dict | None = None, warmup: int = 20,
           max_drift_ppm: float = 50.0) -> dict:
    """Run `trace` through a Clock; returns coverage of [earliest, latest] at
    each status, the median bound width, and the worst-case bound's width.
    truth: true offsets at the measurement times (default: the measured ones)."""
    from chronotick.clock import SYNCHRONIZED, Clock
    from chronotick.engine import Engine
    truth = trace.offsets if truth is None else np.asarray(truth, float)
    now = [int(trace.times[0] * 1e9)]
    cfg = {"poll_interval_s": float(np.median(np.diff(trace.times))), "warmup_measurements": 1}
    cfg.update(config or {})
    clock = Clock(_ReplaySource(trace), engine=Engine({"engine": {"calib_origins": 128, "history": 512}}),
                  config=cfg, time_ns=lambda: now[0])
    inside, widths, statuses, wc_widths, wc_inside = [], [], [], [], []
    for i in range(len(trace)):
        t_ns = int(round(trace.times[i] * 1e9))
        if i >= warmup:
            b = clock.now_at(t_ns)
            true_ns = t_ns + int(round(truth[i] * 1e9))
            if b.status != 0:
                inside.append(b.earliest_ns <= true_ns <= b.latest_ns)
                widths.append((b.latest_ns - b.earliest_ns) / 1e9)
                statuses.append(int(b.status))
                # ClockBound-style: last measurement +- (root distance + drift * elapsed)
                rd = (trace.delay[i - 1] / 2) if trace.delay is not None else 0.0
                half = rd + max_drift_ppm * 1e-6 * (trace.times[i] - trace.times[i - 1])
                wc_widths.append(2 * half)
                wc_inside.append(abs(truth[i] - trace.offsets[i - 1]) <= half)
        now[0] = t_ns
        clock.poll_once(t_ns)
    inside, widths, statuses = np.array(inside), np.array(widths), np.array(statuses)
    out = {"n": int(inside.size), "coverage": float(inside.mean()) if inside.size else float("nan"),
           "median_width_s": float(np.median(widths)) if widths.size else float("nan"),
           "worst_case_coverage": float(np.mean(wc_inside)) if wc_inside else float("nan"),
           "worst_case_median_width_s": float(np.median(wc_widths)) if wc_widths else float("nan"),
           "confidence": clock.config.confidence, "by_status": {}}
    for s in np.unique(statuses):
        m = statuses == s
        out["by_status"][int(s)] = {"n": int(m.sum()), "coverage": float(inside[m].mean())}
    out["synchronized_share"] = float(np.mean(statuses == SYNCHRONIZED)) if statuses.size else 0.0
    out["health"] = clock.health()["counts"]
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m chronotick.replay", description=__doc__.split("\n")[0])
    ap.add_argument("files", nargs="+")
    args = ap.parse_args(argv)
    from chronotick.io import load
    for f in args.files:
        tr = load(f)
        r = replay(tr)
        print(f"{tr.name}: {r['n']} checks, {r['confidence']:.0%} bound covered {r['coverage']:.1%}, "
              f"median width {r['median_width_s'] * 1e3:.2f} ms; ClockBound-style (50 ppm) covered "
              f"{r['worst_case_coverage']:.1%}, median width {r['worst_case_median_width_s'] * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
