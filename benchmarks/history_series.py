"""The synthetic history the ONNX benchmarks time on (bench_onnx.py), shared with
scripts/gpu_check.py so that the GPU report's figures are timed on the same input.
Plain numpy: no pytest here, so the script can import it."""
import numpy as np


def history(n=300, seed=0):
    """A disciplined-clock-like history: ms-level offsets every ~100 s with noise."""
    rng = np.random.default_rng(seed)
    t = 1.76e9 + np.cumsum(rng.uniform(99.9, 100.2, n))
    y = 1e-3 * (np.cumsum(rng.normal(0, 0.2, n)) + rng.normal(0, 2, n))
    return t, y
