#!/usr/bin/env python3
"""Rule G's evaluation (docs/models.md, "A gap longer than the window"): 80% coverage and MAE
1 / 8 / 32 measurements ahead after a gap longer than the ONNX model's window.

    python scripts/gap_calibration_eval.py 5000 5200 out.json     # Rule G's seeds

One clock per seed (numpy's generator, not chronotick.sim): 300 measurements 60 s apart
(+-3 s jitter) of a drift + random walk + white noise, a 2-day gap, then 12-44 more. Forecasts
from the full history ("full") and from the measurements since the gap ("post"), and the same
clocks without the gap ("nogap"): clock-bolt alone (OnnxForecaster.forecast), auto and, since
Rule KG (session 34), the Kalman member alone (predict). Prints per set the coverage and MAE at each lead; out.json keeps them and every
forecast's quantiles (to compare two runs bit for bit).
"""
import json
import sys

import _sources  # beside this file: sys.path[0] when run as a file

_sources.choose()
import numpy as np  # noqa: E402

import chronotick  # noqa: E402
from chronotick.api import onnx_forecaster  # noqa: E402

seeds = range(int(sys.argv[1]), int(sys.argv[2]))
out_json = sys.argv[3]
f = onnx_forecaster("clock-bolt")
leads = np.array([1, 8, 32])
res = {}
raw = {}
for seed in seeds:
    r = np.random.default_rng(seed)
    n1, n2 = 300, int(r.integers(12, 45))
    N = n1 + n2 + 40
    jit = r.uniform(-3, 3, N)
    drift = r.normal(0, 5e-6)
    walk = np.cumsum(r.normal(0, 2e-6, N))
    white = r.normal(0, 1e-6, N)
    for kind in ("gap", "nogap"):
        tt = np.arange(N) * 60.0 + jit + 1.7e9
        if kind == "gap":
            tt[n1:] += 2 * 86400
        y = 1e-3 + drift * (tt - 1.7e9) / 60 + walk + white
        n = n1 + n2
        tr = y[n - 1 + leads]
        tg = tt[n - 1 + leads]
        for hist in (("full", 0), ("post", n1)) if kind == "gap" else (("full", 0),):
            h0 = hist[1]
            fc = f.forecast(tt[h0:n], y[h0:n], tg, levels=(0.1, 0.5, 0.9))
            pa = chronotick.predict(y[h0:n], tt[h0:n], horizon=40, model="auto", quantile_levels=(0.1, 0.5, 0.9))
            pk = chronotick.predict(y[h0:n], tt[h0:n], horizon=40, model="kalman", quantile_levels=(0.1, 0.5, 0.9))
            ia = [int(np.argmin(np.abs(pa.times - x))) for x in tg]
            ik = [int(np.argmin(np.abs(pk.times - x))) for x in tg]
            for name, q, med in (("clock-bolt", fc.quantiles, fc.mean), ("auto", pa.quantiles[ia], pa.quantiles[ia, 1]),
                                 ("kalman", pk.quantiles[ik], pk.quantiles[ik, 1])):
                key = f"{kind}/{hist[0]}/{name}"
                res.setdefault(key, []).append(np.concatenate([(q[:, 0] <= tr) & (tr <= q[:, 2]), np.abs(tr - med)]))
                raw.setdefault(key, []).append(np.concatenate([q.ravel(), med]).tolist())
summary = {}
for k, v in res.items():
    v = np.array(v)
    summary[k] = dict(coverage=np.round(v[:, :3].mean(0) * 100, 1).tolist(), mae=v[:, 3:].mean(0).tolist())
    print(f"{k:24s} coverage 1/8/32: {summary[k]['coverage']}  MAE: {np.round(np.array(summary[k]['mae'])*1e6, 3).tolist()} us")
json.dump(dict(summary=summary, raw=raw), open(out_json, "w"))
