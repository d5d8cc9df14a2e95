#!/usr/bin/env python3
"""Each of `auto`'s members and the fused `auto` itself on simulated clocks: MAE / median-of-5
(and largest error / median-of-5's largest), and auto's calibrated 80% coverage, 1, 8 and 32
polls ahead. Written for Rule S (docs/models.md, session 18), to judge a change of one member
by the member and by what the fusion makes of it.

    python scripts/member_errors.py d:8501-8508,f:8601-8608 --json after.json --compare before.json

Clocks as in scripts/fusion_weight_power.py (d:A-B disciplined, f:A-B free-running; 10 h at a
100 s poll, one seed each). At every target the members see only the (at most 512)
measurements before the origin (no delay weights). Figures are means over the clocks of a kind.
"""
import argparse
import json

import numpy as np

import _sources  # beside this file: sys.path[0] when run as a file

_sources.choose()
from chronotick import _core, api  # noqa: E402

import fusion_weight_power as fwp  # noqa: E402

LEADS = (1, 8, 32)


def main(spec, out, before):
    p = _core.ModelParams()
    levels = np.array(api._BASE_LEVELS)
    i10, i90 = list(levels).index(0.1), list(levels).index(0.9)
    bolt = api.onnx_forecaster("clock-bolt")
    res = {}
    for kind, tr in fwp.traces(spec):
        t_all, y_all = tr.times, tr.offsets
        for h in LEADS:
            err, cov = {}, []
            for i, y, fused in fwp.auto_at_targets(t_all, y_all, h, bolt, levels, p):
                truth = y_all[i]
                err.setdefault("median-5", []).append(abs(np.median(y[-5:]) - truth))
                err.setdefault("auto", []).append(abs(fused.forecast.mean[0] - truth))
                q = np.asarray(fused.forecast.quantiles)[0]
                cov.append(q[i10] <= truth <= q[i90])
                for name, m in zip(fused.member_names, fused.members):
                    err.setdefault(name, []).append(abs(m.mean[0] - truth))
            for k, v in err.items():
                res.setdefault(f"{kind} {h} {k}", []).append(np.mean(v) / np.mean(err["median-5"]))
                res.setdefault(f"{kind} {h} {k} max", []).append(np.max(v) / np.max(err["median-5"]))
            res.setdefault(f"{kind} {h} cov80", []).append(np.mean(cov))
    res = {k: float(np.mean(v)) for k, v in res.items()}
    before = before or {}
    for k in sorted(res):
        line = f"{k:32s} {res[k]:.4f}"
        if k in before and before[k] != 0:
            line += f"   before {before[k]:.4f} ({100 * (res[k] / before[k] - 1):+.2f}%)"
        print(line)
    if out:
        with open(out, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description="auto's members and auto on simulated clocks (docs/models.md, Rule S).")
    ap.add_argument("clocks", type=fwp.clock_spec, help="comma-separated d:A-B (disciplined) and f:A-B "
                                                         "(free-running) seed ranges")
    ap.add_argument("--json", help="write the figures here")
    ap.add_argument("--compare", help="a --json file of an earlier run: print the change beside each figure")
    a = ap.parse_args()
    before = None
    if a.compare:   # read before any clock is simulated
        try:
            with open(a.compare) as f:
                before = json.load(f)
        except (OSError, ValueError) as exc:
            ap.error(f"--compare {a.compare!r}: {exc}")
    main(a.clocks, a.json, before)
