"""`chronotick demo` (README command 1) runs offline on the shipped trace."""
import subprocess
import sys


def test_demo_prints_a_plot_and_a_comparison():
    out = subprocess.run([sys.executable, "-m", "chronotick", "demo"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    text = out.stdout
    assert "hours since start" in text and "model: " in text
    assert "hold-last" in text and "median-of-5" in text
    assert max(len(line) for line in text.splitlines()) <= 80


def test_demo_bad_arguments_are_clear():
    out = subprocess.run([sys.executable, "-m", "chronotick", "demo", "--cut", "5"], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode != 0 and "--cut must be in [10, 334]" in out.stderr
