"""The examples run (short durations), as a user would start them."""
import os
import subprocess
import sys

import pytest

EX = os.path.join(os.path.dirname(__file__), "..", "examples")


@pytest.mark.parametrize("script, args, expect", [
    ("basic_predict.py", ["--horizon", "4"], "80% interval"),
    ("realtime_engine.py", ["--duration", "2"], "health:"),
    ("clock_service.py", ["--duration", "4"], "SYNCHRONIZED"),
])
def test_example_runs(script, args, expect):
    out = subprocess.run([sys.executable, os.path.join(EX, script), *args], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert expect in out.stdout
