"""export/evaluate_clock_bolt.py --simulated: the held-out simulated clocks that
model choices are made on (docs/models.md), so the real traces stay for the
report. The clocks are reproducible, never the training seeds' generator, and
the script scores the shipped model on them next to the baselines."""
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "export", "evaluate_clock_bolt.py")


def _simulated():
    import importlib.util
    spec = importlib.util.spec_from_file_location("evaluate_clock_bolt", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.simulated


def test_the_simulated_validation_clocks_are_reproducible_and_distinct():
    simulated = _simulated()
    a, b = list(simulated(2)), list(simulated(2))
    assert [t.name for t in a] == ["sim-disciplined-steady-1001", "sim-disciplined-server_load-1002"]
    np.testing.assert_array_equal(a[0].offsets, b[0].offsets)
    assert not np.array_equal(a[0].offsets[:100], a[1].offsets[:100])
    assert a[0].uncertainty is None                       # offsets and times only, as the real traces
    assert 300 <= len(a[0]) <= 370                        # 10 h at a 100 s poll, a few lost


def test_the_script_scores_the_shipped_model_on_simulated_clocks():
    # the script finds chronotick itself: the installed package, or the sources with a developer build
    out = subprocess.run([sys.executable, SCRIPT, "--simulated", "1"], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "sim-disciplined-steady-1001" in out.stdout
    line = next(ln for ln in out.stdout.splitlines() if ln.startswith("MAE / median-5 MAE"))
    assert "median-5 1.0000" in line and "clock-bolt " in line and "fused (classical)" in line
