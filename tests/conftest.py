"""Shared fixtures: the real data beside the repository, and small real traces.

`shared_data`: path of ../shared/data relative to the repository root (the
layout CI uses), else /work/shared/data; tests that need it skip with the
reason when neither exists. `homelab_9h`: the 335 NTP measurements of
shared/data/clock-traces/homelab_9h_2025-10-15.csv as shipped inside the
package (chronotick.data; always present). `ntp_trace_2h`: the 79 NTP
measurements of homelab_2h_2025-10-16.csv (needs shared_data). `registry`:
chronotick.models, with what a test registers forgotten after it. `world`: a simulated local
clock in place of CLOCK_REALTIME / CLOCK_BOOTTIME for a Clock (tests/clock_helpers.py).
"""
from __future__ import annotations

import os

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_CANDIDATES = (os.path.normpath(os.path.join(REPO, "..", "shared", "data")), "/work/shared/data")


def shared_data_dir() -> str | None:
    """The shared real-data folder, or None when it is not beside the repo."""
    for path in _CANDIDATES:
        if os.path.isdir(os.path.join(path, "clock-traces")):
            return path
    return None


@pytest.fixture(scope="session")
def shared_data() -> str:
    path = shared_data_dir()
    if path is None:
        pytest.skip(f"real data not found: none of {', '.join(_CANDIDATES)} holds clock-traces/ "
                    "(clone the repository beside shared/data)")
    return path


@pytest.fixture(scope="session")
def homelab_9h():
    """chronotick.io.Trace: times (Unix s), offsets (s, reference - local), delay (s)."""
    from chronotick.data import homelab_trace
    return homelab_trace()


@pytest.fixture(scope="session")
def ntp_trace_2h(shared_data):
    """chronotick.io.Trace of the NTP rows of homelab_2h_2025-10-16.csv (79 measurements)."""
    import chronotick
    return chronotick.load(os.path.join(shared_data, "clock-traces", "homelab_2h_2025-10-16.csv"))


@pytest.fixture
def registry():
    """chronotick.models, with the names a test registers (and the forecasters predict() cached
    for them) forgotten after it."""
    from chronotick import api, models
    before, cached = dict(models._registered), set(api._onnx_cache)
    yield models
    models._registered.clear()
    models._registered.update(before)
    for name in set(api._onnx_cache) - cached:
        api._onnx_cache.pop(name)


def require_export_extra() -> None:
    """Skip the calling test module unless the export extra (torch, chronos-forecasting, onnx,
    onnxscript) is installed; with CHRONOTICK_REQUIRE_EXPORT set (CI installs the extra) a
    missing one is an ImportError, since a skip would hide a failure."""
    for mod in ("torch", "chronos", "onnx", "onnxscript"):
        if os.environ.get("CHRONOTICK_REQUIRE_EXPORT"):
            __import__(mod)
        pytest.importorskip(mod, reason=f"the export extra is not installed ({mod} missing): "
                                        f"pip install 'chronotick[export]'")


def child_env() -> dict:
    """The environment for a child Python that must import the same chronotick as this one (the
    working tree with its developer build, or the installed package: a fresh clone's sources have
    no compiled core, so PYTHONPATH=<repo>/python would break an installed run)."""
    import sys
    from pathlib import Path
    parent = str(Path(sys.modules["chronotick"].__file__).resolve().parents[1])
    return dict(os.environ, PYTHONPATH=parent + os.pathsep + os.environ.get("PYTHONPATH", ""))


def skip_on_system_clock_set(seen: bool) -> None:
    """Skip, rather than fail, a test whose timing premise was broken by another program setting
    the system clock while it ran: a real ClockSetWatch wait returned 1, or a Clock counted
    `clock_set_wakes` (a set wakes it to poll at once, by design). Some VM hosts step the guest's
    clock now and then; on 2026-12-04 four such tests failed together once, and passed alone."""
    if seen:
        pytest.skip("the system clock was set by another program while the test ran")


@pytest.fixture
def world(monkeypatch):
    """A simulated local clock (tests/clock_helpers.World) that a Clock reads in place of
    CLOCK_REALTIME / CLOCK_BOOTTIME."""
    import chronotick.clock as clockmod
    from clock_helpers import World
    w = World()
    monkeypatch.setattr(clockmod, "_local_pair", w.pair)
    return w


def export_script(name: str):
    """The script export/<name>.py loaded as a module (each call a fresh one)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location(name, os.path.join(REPO, "export", f"{name}.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod
