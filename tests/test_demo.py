"""`chronotick demo` (README command 1) runs offline on the shipped trace."""
import re
import subprocess
import sys

import numpy as np

from chronotick.data import homelab_trace


def demo(*args):
    return subprocess.run([sys.executable, "-m", "chronotick", "demo", *args], capture_output=True, text=True,
                          timeout=120)


def test_demo_prints_a_plot_and_a_comparison():
    out = demo()
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "hours since start" in text and "offset (ms)" in text and "model: " in text
    assert "hold-last" in text and "median-of-5" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    # the table lists the measurements after the cut (default --cut 200, --horizon 12), in ms
    rows = [line for line in text.splitlines() if re.match(r"\s+\d+\.\d\d h\s+\d+ min", line)]
    assert len(rows) == 12
    tr = homelab_trace()
    measured = [float(r.split("min")[1].split()[0]) for r in rows]
    np.testing.assert_allclose(measured, tr.offsets[200:212] * 1e3, atol=0.006)


def test_demo_options():
    out = demo("--model", "kalman", "--horizon", "30", "--cut", "250")
    assert out.returncode == 0, out.stderr
    assert "model: kalman" in out.stdout and "next 30 measurements" in out.stdout
    assert "(12 of 30 measurements shown)" in out.stdout


def test_demo_bad_arguments_are_clear():
    out = demo("--cut", "5")
    assert out.returncode != 0 and "--cut must be in [10, 334]" in out.stderr
    out = demo("--model", "nope")
    assert out.returncode != 0 and "--model: unknown model 'nope'" in out.stderr and "Traceback" not in out.stderr
