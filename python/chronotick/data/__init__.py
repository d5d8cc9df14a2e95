"""Data shipped with the package (small, real, with its origin named)."""
from __future__ import annotations

import os

import numpy as np

from chronotick.io.trace import Trace

HERE = os.path.dirname(__file__)
HOMELAB_9H = os.path.join(HERE, "homelab_9h_ntp.csv")


def _read_csv(path: str) -> dict[str, np.ndarray]:
    """Columns by name of a numeric CSV with '#' comment lines before its header."""
    with open(path) as f:
        lines = [line for line in f if line.strip() and not line.startswith("#")]
    header = lines[0].strip().split(",")
    a = np.loadtxt(lines[1:], delimiter=",", ndmin=2)
    return {name: a[:, i] for i, name in enumerate(header)}


def homelab_trace() -> Trace:
    """NTP offsets of a real homelab server over 9.3 h (335 measurements about
    every 100 s), from shared/data/clock-traces/homelab_9h_2025-10-15.csv.
    Times: Unix seconds. Offsets (reference - local) and round-trip delays in
    seconds; extra["prototype_offset"]: the research prototype's prediction at
    each measurement (s), which `chronotick backtest` scores against."""
    c = _read_csv(HOMELAB_9H)
    return Trace(times=c["system_time"], offsets=c["ntp_offset_ms"] * 1e-3, delay=c["ntp_delay_ms"] * 1e-3,
                 extra={"prototype_offset": c["chronotick_offset_ms"] * 1e-3}, source=f"{HOMELAB_9H}::homelab_9h")
