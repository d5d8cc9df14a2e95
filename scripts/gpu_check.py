"""The CUDA path, checked on a machine with onnxruntime-gpu and a GPU.

    python scripts/gpu_check.py [--model PATH ...] [--json OUT.json]

(chronotick installed, or PYTHONPATH=python after scripts/dev_build.sh; onnxruntime-gpu in place
of onnxruntime.)

For each model (default: the shipped clock-bolt; add e.g. a bolt-tiny-sized
export with --model), it

1. opens the model with the default providers (None: CUDA when onnxruntime
   lists it, then CPU) and checks that CUDA is the provider in use, with no
   fallback note;
2. runs the export's own verification inputs (NaN gaps, left padding, a
   constant series, a 1e6-level series, ...) on CUDA and on the CPU and
   reports the largest difference in the export's normalised units
   (chronotick.models.export_bolt._scale): the same yardstick as the export's
   1e-3 parity gate;
3. compares OnnxForecaster.forecast (window, model, calibration, intervals:
   what predict(model=...) runs) on CUDA and on the CPU for one history;
4. times the bare batched run and forecast_batch (windows + run + quantiles
   at the targets) for B = 1, 64, 1024 (and 8192 for the bare run) on CUDA
   and on the CPU (1 thread, and all cores), as series per second;
5. runs an Engine whose long-term model is this model on the default
   providers, and reports its health entry.

Exit status 1 when CUDA is not in use or a parity figure exceeds 1e-3: on a
machine without a GPU the script says so and exits 1 (it is a device check,
not a test; the test suite never needs a GPU).
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time

import numpy as np

import chronotick
from chronotick.models import onnx_models
from chronotick.models.export_bolt import _scale, verification_inputs
from chronotick.models.onnx import OnnxForecaster

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir, "benchmarks"))
from history_series import history  # noqa: E402 - the benchmarks' history, timed on the same input

SHIPPED = onnx_models()["clock-bolt"]
CPU = ["CPUExecutionProvider"]
TOLERANCE = 1e-3


def timed(fn, min_s=1.0, max_rounds=2000):
    """Median seconds of one call: warmed twice, then repeated for ~min_s (at least 3 times)."""
    fn()
    fn()
    times = []
    start = time.perf_counter()
    while len(times) < max_rounds and (time.perf_counter() - start < min_s or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def check_model(path: str, cores: int) -> dict:
    rep: dict = {"model": path}
    gpu = OnnxForecaster(path)                               # default providers
    rep["providers"] = gpu.providers
    rep["provider_note"] = gpu.provider_note
    rep["cuda_in_use"] = bool(gpu.providers) and gpu.providers[0] == "CUDAExecutionProvider"
    cpu1 = OnnxForecaster(path, providers=CPU, intra_op_threads=1)
    cpun = OnnxForecaster(path, providers=CPU, intra_op_threads=cores)

    x = verification_inputs(gpu.context, seed=0)
    a, b = gpu.run(x).astype(np.float64), cpu1.run(x).astype(np.float64)
    rep["parity_cuda_vs_cpu_normalised"] = float(np.max(np.abs(a - b) / _scale(x)[:, :, None]))

    t, y = history()
    targets = t[-1] + 100.0 * np.arange(1, 9)
    levels = [0.1, 0.5, 0.9]
    fg, fc = gpu.forecast(t, y, targets, levels), cpu1.forecast(t, y, targets, levels)
    qg, qc = np.asarray(fg.quantiles, float), np.asarray(fc.quantiles, float)
    width = float(np.max(qc[:, -1] - qc[:, 0]))
    rep["forecast_max_diff_s"] = float(np.max(np.abs(qg - qc)))
    rep["forecast_max_diff_over_80pct_width"] = rep["forecast_max_diff_s"] / width

    def row(batch, fn):
        """fn(forecaster) timed on CUDA and on the CPU (1 thread, all cores): {name: figures}."""
        got = {}
        # the default-provider session's timings filed as "cuda" only where CUDA runs it (on a
        # machine without, they were the CPU's under a "cuda" key: an audit, 2026-12-06)
        first = "cuda" if rep["cuda_in_use"] else "default_providers"
        for name, f in ((first, gpu), ("cpu_1_thread", cpu1), (f"cpu_{cores}_threads", cpun)):
            if name.startswith("cpu") and gpu.context > 512 and (batch > 1024 or (batch == 1024 and f is cpu1)):
                continue                                     # minutes; the smaller batches say enough
            s = timed(lambda f=f: fn(f), min_s=0.5 if batch < 1024 else 0.2, max_rounds=200)
            got[name] = {"median_ms": round(1e3 * s, 3), "series_per_s": round(batch / s, 1)}
        return got

    speed: dict = {}
    for batch in (1, 64, 1024, 8192):
        xb = np.tile(x, (batch // x.shape[0] + 1, 1))[:batch]
        speed[f"run B={batch}"] = row(batch, lambda f: f.run(xb))
    for batch in (1, 64, 1024):
        series = [history(300, seed=s) for s in range(batch)]
        tg = [[tt[-1] + 100.0] for tt, _ in series]
        speed[f"forecast_batch B={batch}"] = row(batch, lambda f: f.forecast_batch(series, tg, levels,
                                                                                   calibrate=False))
    rep["speed"] = speed

    eng = chronotick.Engine({"long_term": {"model": path}})
    try:
        eng.observe_many(t, y)
        fl = eng.predict_long_term()
        rep["engine_long_term_finite"] = bool(np.all(np.isfinite(fl.quantiles)))
        rep["engine_long_term_model"] = fl.model
        ff = eng.predict_fused()
        rep["engine_fused_finite"] = bool(np.all(np.isfinite(ff.quantiles)))
        rep["engine_fused_weights"] = {k: round(float(np.mean(v)), 4) for k, v in ff.weights.items()}
        health = eng.health()["models"]
        rep["engine_health"] = {k: {kk: v.get(kk) for kk in ("ok", "providers", "provider_note")}
                                for k, v in health.items() if isinstance(v, dict)}
    finally:
        eng.close()
    return rep


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", action="append", default=[], help="an ONNX model path (repeatable)")
    ap.add_argument("--json", help="write the report here")
    args = ap.parse_args(argv)
    import onnxruntime as ort
    cores = os.cpu_count() or 1
    report = {"onnxruntime": ort.__version__, "available_providers": ort.get_available_providers(),
              "cpu_count": cores, "models": []}
    print(f"onnxruntime {ort.__version__}, providers {ort.get_available_providers()}, {cores} cores", flush=True)
    ok = "CUDAExecutionProvider" in ort.get_available_providers()
    if not ok:
        print(f"CUDAExecutionProvider is not available in this onnxruntime build: the checks run on "
              f"{ort.get_available_providers()} (both sides), and the result is FAILED")
    for path in [SHIPPED] + args.model:
        rep = check_model(path, cores)
        report["models"].append(rep)
        print(json.dumps(rep, indent=1), flush=True)
        ok = ok and rep["cuda_in_use"] and not rep["provider_note"] and \
            rep["parity_cuda_vs_cpu_normalised"] <= TOLERANCE and rep.get("engine_long_term_finite", False)
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=1)
    print("GPU CHECK", "OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
