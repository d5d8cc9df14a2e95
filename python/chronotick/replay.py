"""Replay a measured or simulated trace through a `Clock` on a simulated time
base, with outages, and check the honesty of its bounds at every status
(issue 5 §4).

Measurement i arrives at local time t_i. Just before it, the clock's
published bound at t_i is checked against the truth there; then the clock
polls: it receives measurement i, or -- inside an outage -- its source fails
(TimeoutError) and it publishes from what it had (SYNCHRONIZED for 3 polls,
then HOLDOVER, then UNKNOWN after `unknown_after_s`). Withheld measurements
are still checked: that is how HOLDOVER is exercised.

Outages (seeded by `seed`): after the warm-up, gaps of 4..24 polls (uniform)
at random places with at least 10 received measurements between them, until
about 20% of the checked measurements are withheld; on traces long enough
(>= 4 x its length of checks) one further gap of unknown_after_s + 5 polls
reaches UNKNOWN.

Truth criteria:
    true        the simulator's true offset lies in [earliest, latest] (simulated clocks:
                --sim, or a file with the true_offset column `chronotick simulate` writes)
    point       the measured offset lies in [earliest, latest]: includes the
                measurement's own error (NTP noise, spikes)
    consistent  [earliest, latest] intersects the measurement's NTP correctness
                interval m +- u (u = delay/2 [+ root distance]): the bound is
                not falsified by that measurement
Next to it, on the same checks: a ClockBound-style worst-case bound, the last
measurement the clock actually received +- (its delay/2 + max_drift x elapsed).
UNKNOWN makes no claim: only counted.

    python -m chronotick.replay ../shared/data/clock-traces/*.csv --sim disciplined,tcxo --markdown
"""
from __future__ import annotations

import argparse
import math

import numpy as np

from chronotick._validate import is_int, is_real
from chronotick.io.trace import Trace

STATUS_NAMES = {0: "UNKNOWN", 1: "SYNCHRONIZED", 2: "HOLDOVER"}


class _ReplaySource:
    """Measurement i of the trace when `withheld[i]` is false, else a TimeoutError."""

    def __init__(self, trace: Trace, withheld: np.ndarray | None = None, shift_s: float = 0.0):
        self.trace, self.i, self.shift_s = trace, 0, shift_s
        self.withheld = np.zeros(len(trace), bool) if withheld is None else withheld

    def delay_unc(self, i: int) -> tuple[float, float]:
        tr = self.trace
        # a delay the trace does not have (None, or NaN in a row) is 0: none (Measurement.delay)
        d = float(tr.delay[i]) if tr.delay is not None and np.isfinite(tr.delay[i]) else 0.0
        u = float(tr.uncertainty[i]) if tr.uncertainty is not None and np.isfinite(tr.uncertainty[i]) else d / 2
        return d, u

    def measure(self):
        from chronotick.sources import Measurement
        i = self.i
        self.i += 1
        if self.withheld[i]:
            raise TimeoutError(f"replay outage: measurement {i} withheld")
        d, u = self.delay_unc(i)
        tr = self.trace
        return Measurement(t=float(tr.times[i]) + self.shift_s, offset=float(tr.offsets[i]), delay=d, uncertainty=u)


def outages(n: int, warmup: int, unknown_polls: int, seed: int = 0, share: float = 0.2) -> np.ndarray:
    """Withheld-measurement mask (see the module docstring)."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(n, bool)
    checked = n - warmup
    if checked <= 0:
        return mask
    gaps = []
    if checked >= 4 * (unknown_polls + 5):
        gaps.append(unknown_polls + 5)
    budget = int(share * checked)
    while budget >= 4:
        g = int(rng.integers(4, 25))
        g = min(g, budget)
        gaps.append(g)
        budget -= g
    for g in gaps:
        for _ in range(200):                      # a free place with 10 received measurements around it
            s = int(rng.integers(warmup + 10, max(warmup + 11, n - g - 10)))
            lo, hi = max(0, s - 10), min(n, s + g + 10)
            if s + g <= n and not mask[lo:hi].any():
                mask[s:s + g] = True
                break
    return mask


def replay(trace: Trace, truth: np.ndarray | None = None, config: dict | None = None, warmup: int = 20,
           max_drift_ppm: float = 50.0, seed: int = 0, outage_share: float = 0.2) -> dict:
    """Run `trace` through a Clock with seeded outages; returns per status
    (SYNCHRONIZED, HOLDOVER) the number of checks, coverage under each truth
    criterion and the median bound width, for the clock and the
    ClockBound-style bound; UNKNOWN checks are counted. truth: true offsets
    at the measurement times (simulated clocks); without it the criteria
    are 'point' and 'consistent'. outage_share=0: no outages.

    The clock runs on the trace's own time base, moved forward as a whole
    where the trace starts before 0 s (relative times): the Clock's local
    times are positive; nothing measured depends on the origin."""
    from chronotick.clock import Clock
    from chronotick.engine import Engine
    if not is_int(warmup) or warmup < 1:
        # check i compares with the last measurement received before it: there is none before the first
        raise ValueError(f"warmup must be an integer >= 1 (measurements before the first check), got {warmup!r}")
    if not is_int(seed) or seed < 0:
        raise ValueError(f"seed must be an integer >= 0 (the outage placement), got {seed!r}")
    if not is_real(outage_share) or not 0 <= outage_share < 1:
        raise ValueError(f"outage_share must be a number in [0, 1) (0: no outages), got {outage_share!r}")
    if not is_real(max_drift_ppm) or not (math.isfinite(max_drift_ppm) and max_drift_ppm >= 0):
        raise ValueError(f"max_drift_ppm must be a finite number >= 0 (the worst-case bound's drift), "
                         f"got {max_drift_ppm!r}")
    n = len(trace)
    if n < 2:
        raise ValueError(f"{trace.name}: {n} measurement(s), too few to replay (the poll interval is their spacing)")
    if truth is not None:
        truth = np.asarray(truth, dtype=np.float64)
        if truth.shape != (n,):
            raise ValueError(f"truth has shape {truth.shape}, the trace has {n} measurements")
        if not np.isfinite(truth).all():
            i = int(np.flatnonzero(~np.isfinite(truth))[0])
            raise ValueError(f"truth[{i}] = {float(truth[i])!r} is not finite")
    poll = float(np.median(np.diff(trace.times)))
    cfg = {"poll_interval_s": poll, "warmup_measurements": 1}
    cfg.update(config or {})
    shift = max(0.0, -float(trace.times[0]))          # local times >= 0 for the Clock
    now = [int((trace.times[0] + shift) * 1e9)]
    withheld = np.zeros(n, bool)
    src = _ReplaySource(trace, withheld, shift)
    clock = Clock(src, engine=Engine({"engine": {"calib_origins": 128, "history": 512}}),
                  config=cfg, time_ns=lambda: now[0])
    if outage_share > 0:
        withheld[:] = outages(n, warmup, int(np.ceil(clock.config.unknown_after_s / poll)), seed, outage_share)
    criteria = ("true", "point", "consistent") if truth is not None else ("point", "consistent")
    rows = []                     # status, width, ours-inside per criterion, worst-case width, wc inside per criterion
    last = None                   # index of the last measurement the clock received
    rho = max_drift_ppm * 1e-6
    for i in range(n):
        t = float(trace.times[i])
        t_ns = int(round((t + shift) * 1e9))
        if i >= warmup:
            b = clock.now_at(t_ns)
            m = float(trace.offsets[i])
            _, u = src.delay_unc(i)
            lo, hi = (b.earliest_ns - t_ns) / 1e9, (b.latest_ns - t_ns) / 1e9
            wc_u = src.delay_unc(last)[1] + rho * (t - float(trace.times[last]))
            wlo, whi = float(trace.offsets[last]) - wc_u, float(trace.offsets[last]) + wc_u
            ours, wc = [], []
            for c in criteria:
                for (a, z), out in (((lo, hi), ours), ((wlo, whi), wc)):
                    if c == "true":
                        x = float(truth[i])
                        out.append(a <= x <= z)
                    elif c == "point":
                        out.append(a <= m <= z)
                    else:
                        out.append(a <= m + u and m - u <= z)
            rows.append((int(b.status), hi - lo, ours, whi - wlo, wc))
        now[0] = t_ns
        if clock.poll_once(t_ns):
            last = i
    out = {"name": trace.name, "n": len(rows), "criteria": criteria, "confidence": clock.config.confidence,
           "withheld": int(withheld[warmup:].sum()), "max_drift_ppm": float(max_drift_ppm), "by_status": {}}
    for s, name in STATUS_NAMES.items():
        sel = [r for r in rows if r[0] == s]
        if s == 0:
            out["by_status"][name] = {"n": len(sel)}
            continue
        d = {"n": len(sel)}
        if sel:
            ours = np.array([r[2] for r in sel]).mean(axis=0)
            wc = np.array([r[4] for r in sel]).mean(axis=0)
            d.update(coverage={c: float(v) for c, v in zip(criteria, ours)},
                     median_width_s=float(np.median([r[1] for r in sel])),
                     worst_case_coverage={c: float(v) for c, v in zip(criteria, wc)},
                     worst_case_median_width_s=float(np.median([r[3] for r in sel])))
        out["by_status"][name] = d
    out["health"] = clock.health()["counts"]
    return out


def markdown(results: list[dict]) -> str:
    """The table of docs/clock.md."""
    drifts = {r.get("max_drift_ppm", 50.0) for r in results}
    if len(drifts) > 1:
        raise ValueError(f"results of different worst-case drifts in one table: {sorted(drifts)} ppm")
    ppm = f"{drifts.pop() if drifts else 50.0:g} ppm"
    lines = ["| trace | status | checks | ours: true / point / consistent | our median width (ms) | "
             f"{ppm}: true / point / consistent | its median width (ms) | ratio |",
             "|---|---|---:|---:|---:|---:|---:|---:|"]

    def cov(d):
        return " / ".join(f"{d[c]:.1%}" if c in d else "–" for c in ("true", "point", "consistent"))
    for r in results:
        for name in ("SYNCHRONIZED", "HOLDOVER"):
            d = r["by_status"][name]
            if not d["n"]:
                lines.append(f"| {r['name']} | {name} | 0 | | | | | |")
                continue
            w, ww = d["median_width_s"] * 1e3, d["worst_case_median_width_s"] * 1e3
            ratio = f"{w / ww:.2f}" if ww > 0 else "–"     # 0 ppm and no delays: a zero-width bound
            lines.append(f"| {r['name']} | {name} | {d['n']} | {cov(d['coverage'])} | {w:.2f} | "
                         f"{cov(d['worst_case_coverage'])} | {ww:.2f} | {ratio} |")
        lines.append(f"| {r['name']} | UNKNOWN (no claim) | {r['by_status']['UNKNOWN']['n']} | | | | | |")
    return "\n".join(lines)


def sim_cases(presets: list[str], hours: float = 8.0, seed: int = 3):
    """(name, trace, true offset) of simulated clocks (64 s polls, steady scenario)."""
    from chronotick import sim
    for p in presets:
        s = sim.simulate(preset=p, scenario="steady", duration_s=hours * 3600, poll_s=64, seed=seed)
        yield f"sim {p}, {hours:g} h", s.trace, s.true_offset


def main(argv=None) -> int:
    """Command line: bad input (a missing or unreadable file, an unknown preset, a trace too short
    to check) is one line on stderr and exit status 1; no trace at all is a usage error (2).
    CHRONOTICK_TRACEBACK=1 shows the exception itself."""
    import inspect
    import sys

    from chronotick.errors import ChronotickError
    prog = "python -m chronotick.replay"
    ap = argparse.ArgumentParser(prog=prog, description=" ".join(__doc__.split("\n\n")[0].split()))
    ap.add_argument("files", nargs="*", metavar="FILE", help="trace files (any format chronotick.io reads)")
    ap.add_argument("--sim", default="", help="comma-separated chronotick.sim presets to replay too (8 h, seed 3)")
    ap.add_argument("--seed", type=int, default=0, help="outage placement seed, an integer >= 0 (default 0)")
    ap.add_argument("--markdown", action="store_true", help="print the docs/clock.md table")
    args = ap.parse_args(argv)
    presets = [p.strip() for p in args.sim.split(",") if p.strip()]
    if not args.files and not presets:
        ap.error("nothing to replay: give trace files and/or --sim presets")
    if args.seed < 0:
        print(f"{prog}: --seed must be an integer >= 0, got {args.seed}", file=sys.stderr)
        return 1
    warmup = inspect.signature(replay).parameters["warmup"].default
    try:
        from chronotick.io import load
        cases = []
        for f in args.files:
            tr = load(f)
            if len(tr) <= warmup:
                raise ValueError(f"{f}: {len(tr)} measurements, too short to replay: needs at least "
                                 f"{warmup + 1} (a warm-up of {warmup}, then the checks)")
            # a simulated clock written by `chronotick simulate` carries its truth: the `true` criterion
            cases.append((None, tr, tr.extra.get("true_offset")))
        cases += list(sim_cases(presets))
        results = []
        for name, tr, truth in cases:
            results.append(replay(tr, truth=truth, seed=args.seed))
            results[-1]["name"] = name or results[-1]["name"]
    except (ChronotickError, ValueError, OSError) as exc:
        from chronotick.cli import traceback_if_asked
        traceback_if_asked()
        print(f"{prog}: {exc}", file=sys.stderr)
        return 1
    if args.markdown:
        print(markdown(results))
        return 0
    for r in results:
        print(f"{r['name']}: {r['n']} checks ({r['withheld']} withheld), {r['confidence']:.0%} bound")
        for name, d in r["by_status"].items():
            if name == "UNKNOWN" or not d["n"]:
                print(f"  {name}: {d['n']} checks")
                continue
            cov = ", ".join(f"{c} {v:.1%}" for c, v in d["coverage"].items())
            wcov = ", ".join(f"{c} {v:.1%}" for c, v in d["worst_case_coverage"].items())
            print(f"  {name}: {d['n']} checks, covered {cov}; median width {d['median_width_s'] * 1e3:.2f} ms | "
                  f"{r['max_drift_ppm']:g} ppm: {wcov}; {d['worst_case_median_width_s'] * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
