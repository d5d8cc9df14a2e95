"""The raw fast methods (ClockState/ClockReader now() and now_ns(), MeasurementBuffer.push())
on Python subclasses: a subclass of two bound classes with the clock not first had its first
base's object read as the clock (a segfault), and a subclass made by __new__ without __init__
had push() run on unconstructed memory (SIGFPE). Found by a static analysis, 2026-12-06. Each
case runs in a child process, so that a crash fails the test rather than the test run."""
import subprocess
import sys

import pytest

import chronotick  # noqa: F401  (child_env finds the chronotick this run imports)
from conftest import child_env

CASES = {
    "clock_second_base": """
class X(_core.MeasurementBuffer, _core.ClockState):
    def __init__(self):
        _core.MeasurementBuffer.__init__(self, 4); _core.ClockState.__init__(self)
x = X()
assert x.now().status == 0 and x.now_ns() > 0
x.push(1.0, 2.0)
assert _core.MeasurementBuffer.snapshot(x)[0][0] == 1.0 and x.total_pushed == 1
""",
    "clock_first_base": """
class W(_core.ClockState, _core.MeasurementBuffer):
    def __init__(self):
        _core.ClockState.__init__(self); _core.MeasurementBuffer.__init__(self, 4)
w = W()
assert w.now().status == 0
w.push(1.0, 2.0)
assert _core.MeasurementBuffer.snapshot(w)[0][0] == 1.0 and w.total_pushed == 1
""",
    "uninitialised": """
class Y(_core.ClockState): pass
class Z(_core.MeasurementBuffer): pass
class X(_core.MeasurementBuffer, _core.ClockState): pass
for obj, call, what in ((Y.__new__(Y), "now", "uninitialised clock object"),
                        (_core.ClockState.__new__(_core.ClockState), "now_ns", "uninitialised clock object"),
                        (X.__new__(X), "now", "uninitialised clock object"),
                        (Z.__new__(Z), "push", "not initialised"),
                        (X.__new__(X), "push", "not initialised")):
    try:
        getattr(obj, call)(*((1.0, 2.0) if call == "push" else ()))
    except TypeError as e:
        assert what in str(e), e
    else:
        raise AssertionError(f"{call} on an uninitialised object did not raise")
""",
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_fast_methods_on_subclasses(case):
    code = "from chronotick import _core\n" + CASES[case] + "print('ok')\n"
    r = subprocess.run([sys.executable, "-X", "faulthandler", "-c", code], capture_output=True, text=True,
                       timeout=60, env=child_env())
    assert r.returncode == 0 and r.stdout.strip() == "ok", (r.returncode, r.stdout, r.stderr[-2000:])
