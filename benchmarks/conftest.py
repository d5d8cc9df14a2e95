"""The benchmarks measure one thread of work ("on one core"): numpy's BLAS pool (OpenBLAS; no
timed path of either side uses it) is held to one thread before numpy is imported. Its idle
worker threads otherwise spin beside the timed thread: with the process pinned to one core
(`taskset -c 0`), predict(model="auto") measured 1.53 ms median with OpenBLAS's default pool and
0.99 ms with one thread (2026-12-04). The PyTorch side's threads are torch.set_num_threads(1)'s
(bench_onnx.py), not changed here. A value already set in the environment is kept."""
import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
if "numpy" in sys.modules:     # too late for its BLAS pool: say so rather than measure it silently
    import warnings
    warnings.warn("numpy was imported before benchmarks/conftest.py: its BLAS thread pool keeps its "
                  "default size (set OPENBLAS_NUM_THREADS=1 in the environment)", RuntimeWarning)
