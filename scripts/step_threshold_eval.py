"""Rule W (docs/clock.md, session 21): the Clock's step threshold at most K robust
sigmas of recent jumps (clock.step_threshold_sigmas = K) against the fixed 128 ms
alone (K = 0), replayed through a Clock with the classical fusion, as
tests/test_clock_steps.py does: 12 h at 64 s.

  steps:    a step of the measured and the true offset at 6 h (tcxo, steady);
            the median bound width before it, in the 2 h after it and from then
            to the end, and the true coverage from the measurement after it on
  no steps: simulated clocks of four kinds (steady); steps and spikes counted,
            median width and true coverage
  real:     the four real traces through chronotick.replay (outages seeded 0):
            steps counted, coverage of the measured value and median width per
            status

    PYTHONPATH=python python scripts/step_threshold_eval.py [--k 10] [--json out.json]

The rules' runs (docs/clock.md; K = 0 is the fixed 128 ms threshold alone):
  Rule W: the defaults (--ks 0,10, steps +50 / -30 ms on seeds 10301-10303)
  Rule X: --parts steps --ks 0 --steps=-0.2,0.5 --seeds 10321-10326
  Rule Y: --parts spikes --ks 0 --seeds 10333-10338 (one spike at 6 h, +300 and -150 ms)
  Rule Z: --ks 0,10 --seeds 10339-10344 --spikes=0.05,-0.1 --steady-seeds 10345-10348
          --parts steps,spikes,steady,real
Rules X and Y compared two versions of the code (PYTHONPATH); --no-key runs code from
before clock.step_threshold_sigmas existed (K = 0 only, the key left out).
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import sys

import numpy as np

import chronotick

HERE = os.path.dirname(os.path.abspath(__file__))
TRACES = os.path.join(HERE, "..", "..", "shared", "data", "clock-traces")
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from clock_helpers import replay_bounds, simulated   # noqa: E402  (the clock tests' replay, shared)


def replay(offsets, truth, times, delay, config):
    """replay_bounds with the clock's health() in place of the clock."""
    clock, width, inside = replay_bounds(offsets, truth, times, delay, config)
    return clock.health(), width, inside


def step_case(seed, step, config):
    t, y, z, d = simulated("tcxo", seed)
    k = int(np.searchsorted(t, t[0] + 6 * 3600))
    y, z = y.copy(), z.copy()
    y[k:] += step
    z[k:] += step
    h, width, inside = replay(y, z, t, d, config)
    soon = (t >= t[k]) & (t < t[k] + 7200)
    return {"seed": seed, "step": step, "steps_detected": h["counts"]["steps_detected"],
            "spikes": h["counts"]["spikes"], "step_correction_s": h["step_correction_s"],
            "before": float(np.nanmedian(width[20:k])), "after_2h": float(np.median(width[soon])),
            "rest": float(np.median(width[t >= t[k] + 7200])), "cover_after": float(inside[k + 1:].mean()),
            "cover_30min": float(inside[k + 1:][t[k + 1:] < t[k] + 1800].mean())}


def spike_case(seed, spike, config):
    t, y, z, d = simulated("tcxo", seed)
    k = int(np.searchsorted(t, t[0] + 6 * 3600))
    y = y.copy()
    y[k] += spike                     # one reply off; the truth is not
    h, width, inside = replay(y, z, t, d, config)
    return {"seed": seed, "spike": spike, "steps_detected": h["counts"]["steps_detected"],
            "spikes": h["counts"]["spikes"], "before": float(np.nanmedian(width[20:k])),
            "rest": float(np.median(width[t >= t[k] + 1800])), "cover_after": float(inside[k + 1:].mean()),
            "delay_quantile": float(np.mean(d <= d[k]))}


def steady_case(preset, seed, config):
    t, y, z, d = simulated(preset, seed)
    h, width, inside = replay(y, z, t, d, config)
    w = width[20:]
    return {"preset": preset, "seed": seed, "steps_detected": h["counts"]["steps_detected"],
            "spikes": h["counts"]["spikes"], "width": float(np.median(w)),
            "cover": float(inside[20:].mean()), "widened": float(np.mean(w > 1.5 * np.median(w)))}


def real_case(path, config):
    from chronotick.replay import replay as clock_replay
    r = clock_replay(chronotick.load(path), config=config)
    out = {"trace": os.path.basename(path), "steps_detected": r["health"]["steps_detected"],
           "spikes": r["health"]["spikes"]}
    for status in ("SYNCHRONIZED", "HOLDOVER"):
        d = r["by_status"][status]
        if d.get("n"):
            out[status] = {"point": d["coverage"]["point"], "width": d["median_width_s"], "n": d["n"]}
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--k", type=float, default=10.0, help="step_threshold_sigmas of the candidate (default 10)")
    ap.add_argument("--json", help="write every figure here")
    ap.add_argument("--parts", default="steps,steady,real")
    ap.add_argument("--ks", help="comma-separated K to run instead of 0 and --k")
    ap.add_argument("--no-key", action="store_true",
                    help="leave clock.step_threshold_sigmas out of the config (code from before it; K = 0 only)")
    ap.add_argument("--steps", default="0.05,-0.03", help="step sizes (s), comma-separated")
    ap.add_argument("--seeds", default="10301-10303", help="TCXO seeds of the steps and spikes parts, A-B")
    ap.add_argument("--spikes", default="0.3,-0.15", help="spike sizes (s), comma-separated")
    ap.add_argument("--steady-seeds", default="10311-10314", help="seeds of tcxo, ocxo, vm, xo (steady), A-B")
    a = ap.parse_args()
    parts = a.parts.split(",")
    steps = [float(v) for v in a.steps.split(",")]
    first, last = (int(v) for v in a.seeds.split("-"))
    spikes = [float(v) for v in a.spikes.split(",")]
    s0, s1 = (int(v) for v in a.steady_seeds.split("-"))
    if s1 - s0 != 3:
        ap.error("--steady-seeds: four seeds, one each for tcxo, ocxo, vm, xo")
    ks = [float(v) for v in a.ks.split(",")] if a.ks else [0.0, a.k]
    res = {}
    for k in ks:
        name = "fixed" if k == 0 else f"K={k:g}"
        if a.no_key and k:
            ap.error("--no-key runs only K = 0 (code without the key has no other)")
        cfg = {} if a.no_key else {"step_threshold_sigmas": k}
        r = res[name] = {}
        if "steps" in parts:
            r["steps"] = [step_case(seed, step, cfg) for seed in range(first, last + 1) for step in steps]
            for c in r["steps"]:
                print(name, "step", c["seed"], c["step"], "steps", c["steps_detected"], "spikes", c["spikes"],
                      "width before / 2h / rest %.1f / %.1f / %.1f ms" % (1e3 * c["before"], 1e3 * c["after_2h"],
                                                                         1e3 * c["rest"]),
                      "cover after %.3f, 30 min %.3f" % (c["cover_after"], c["cover_30min"]), flush=True)
        if "spikes" in parts:
            r["spikes"] = [spike_case(seed, v, cfg) for seed in range(first, last + 1) for v in spikes]
            for c in r["spikes"]:
                print(name, "spike", c["seed"], c["spike"], "steps", c["steps_detected"], "spikes", c["spikes"],
                      "width before / from 30 min on %.1f / %.1f ms" % (1e3 * c["before"], 1e3 * c["rest"]),
                      "cover after %.4f" % c["cover_after"],
                      "(its round trip at quantile %.2f of the run's)" % c["delay_quantile"], flush=True)
        if "steady" in parts:
            r["steady"] = [steady_case(p, s0 + i, cfg) for i, p in enumerate(("tcxo", "ocxo", "vm", "xo"))]
            for c in r["steady"]:
                print(name, "steady", c["preset"], c["seed"], "steps", c["steps_detected"], "spikes", c["spikes"],
                      "width %.2f ms cover %.4f widened %.4f" % (1e3 * c["width"], c["cover"], c["widened"]),
                      flush=True)
        if "real" in parts:
            r["real"] = [real_case(p, cfg) for p in sorted(glob.glob(os.path.join(TRACES, "*.csv")))]
            for c in r["real"]:
                print(name, "real", c["trace"], "steps", c["steps_detected"], "spikes", c["spikes"],
                      {s: "%.4f / %.2f ms" % (c[s]["point"], 1e3 * c[s]["width"]) for s in ("SYNCHRONIZED", "HOLDOVER")
                       if s in c}, flush=True)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1)


if __name__ == "__main__":
    main()
