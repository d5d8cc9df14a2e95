"""Data shipped with the package (small, real, with its origin named)."""
from __future__ import annotations

import os

import numpy as np

from chronotick.io.trace import Trace

HERE = os.path.dirname(__file__)
HOMELAB_9H = os.path.join(HERE, "homelab_9h_ntp.csv")


def homelab_trace() -> Trace:
    """NTP offsets of a real homelab server over 9.3 h (335 measurements about
    every 100 s), from shared/data/clock-traces/homelab_9h_2025-10-15.csv.
    Offsets and delays in seconds; extra["prototype_offset"]: the research
    prototype's prediction at each measurement (s)."""
    a = np.loadtxt(HOMELAB_9H, delimiter=",", comments="#", skiprows=5)
    return Trace(times=a[:, 0], offsets=a[:, 1] * 1e-3, delay=a[:, 2] * 1e-3,
                 extra={"prototype_offset": a[:, 3] * 1e-3}, source=f"{HOMELAB_9H}::homelab_9h")
