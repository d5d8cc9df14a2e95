"""chronotick: predictive, bounded clock correction, in-process.

Units: seconds in, seconds out unless stated. Sign convention:
offset = reference - local clock (add the offset to local time to get
reference time).

    >>> import chronotick
    >>> fc = chronotick.predict(offsets, timestamps, horizon=8)
    >>> fc.mean, fc.interval(0.8)

Names are imported lazily so that `import chronotick` stays cheap.
"""
from __future__ import annotations

import importlib

__version__ = "0.1.0"

# public name -> module that defines it
_LAZY = {
    "predict": "chronotick.api",
    "uncertainty_from_delay": "chronotick.api",
    "Forecast": "chronotick.forecast",
    "Engine": "chronotick.engine",
    "Trace": "chronotick.io",
    "ChronotickError": "chronotick.errors",
    "ConfigError": "chronotick.errors",
    "ModelError": "chronotick.errors",
    "ForecastError": "chronotick.errors",
    "NTPError": "chronotick.errors",
    "SystemMetricsCollector": "chronotick.metrics",
    "NTPSource": "chronotick.sources",
    "ChronySource": "chronotick.sources",
    "Measurement": "chronotick.sources",
    "Clock": "chronotick.clock",
    "TimeBound": "chronotick.clock",
    "Client": "chronotick.shm",
    "Status": "chronotick.shm",
    "load": "chronotick.io",
}
_SUBMODULES = {"io", "sim", "stats", "models", "backtest", "metrics", "sources", "clock", "shm", "plot", "replay",
               "holdover", "config"}

__all__ = sorted(_LAZY) + ["__version__"]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        mod = importlib.import_module(f"chronotick.{name}")
        globals()[name] = mod
        return mod
    raise AttributeError(f"module 'chronotick' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY) | _SUBMODULES)
