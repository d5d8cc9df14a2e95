#!/usr/bin/env python3
"""80% coverage, MAE and interval width 1 / 8 / 32 measurements ahead on numpy random-walk-phase
clocks (docs/models.md, "Known miss: random-walk phase clocks"): clock-bolt alone, auto, fused.

    python scripts/random_walk_coverage.py 5100 5160

One clock per seed (numpy's generator, as scripts/gap_calibration_eval.py's, without the gap):
700 measurements 60 s apart (+-3 s jitter) of a drift + a random walk of 2 us per step + 1 us
white noise; five origins per clock (320 .. 640 measurements of history).
"""
import _sources  # beside this file: sys.path[0] when run as a file

_sources.choose()
import sys  # noqa: E402

import numpy as np  # noqa: E402

import chronotick  # noqa: E402
from chronotick.api import onnx_forecaster  # noqa: E402

f = onnx_forecaster("clock-bolt")
leads = np.array([1, 8, 32])
res = {}
lo, hi = int(sys.argv[1]), int(sys.argv[2])
for seed in range(lo, hi):
    r = np.random.default_rng(seed)
    N = 700
    jit = r.uniform(-3, 3, N)
    drift = r.normal(0, 5e-6)
    walk = np.cumsum(r.normal(0, 2e-6, N))
    white = r.normal(0, 1e-6, N)
    tt = np.arange(N) * 60.0 + jit + 1.7e9
    y = 1e-3 + drift * (tt - 1.7e9) / 60 + walk + white
    for n in (320, 400, 480, 560, 640):
        tr, tg = y[n - 1 + leads], tt[n - 1 + leads]
        fc = f.forecast(tt[:n], y[:n], tg, levels=(0.1, 0.5, 0.9))
        out = {"clock-bolt": (fc.quantiles, fc.mean)}
        for m in ("auto", "fused"):
            pa = chronotick.predict(y[:n], tt[:n], horizon=40, model=m, quantile_levels=(0.1, 0.5, 0.9))
            ia = [int(np.argmin(np.abs(pa.times - x))) for x in tg]
            out[m] = (pa.quantiles[ia], pa.quantiles[ia, 1])
        for m, (q, med) in out.items():
            res.setdefault(m, []).append(np.concatenate([(q[:, 0] <= tr) & (tr <= q[:, 2]), np.abs(tr - med), q[:, 2] - q[:, 0]]))
for k, v in sorted(res.items()):
    v = np.array(v)
    print(f"{k:12s} cov {np.round(v[:, :3].mean(0)*100,1).tolist()}  MAE us {np.round(v[:,3:6].mean(0)*1e6,2).tolist()} width us {np.round(np.median(v[:,6:],0)*1e6,2).tolist()}  n={len(v)}")
