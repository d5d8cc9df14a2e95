"""The `Measurement` every source returns."""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Measurement:
    """One clock offset measurement.

    t: local Unix time (CLOCK_REALTIME, seconds) the measurement refers to --
    for an NTP exchange the midpoint (T1 + T4) / 2.
    offset: reference - local clock, seconds (add it to local time to get
    reference time).
    delay: round-trip delay to the reference, seconds (0.0 when the source
    has none).
    uncertainty: half-width of the interval around `offset` that holds the
    true offset, seconds (for one NTP server its root distance: (root delay +
    delay) / 2 + root dispersion + both clocks' precision + 15 ppm x the round
    trip; for several, the half-width of the survivors' intersection:
    chronotick.sources.ntp).
    server: which reference(s) the value came from.
    """

    t: float
    offset: float
    delay: float
    uncertainty: float
    server: str = ""

    def __post_init__(self):
        for name in ("t", "offset", "delay", "uncertainty"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise TypeError(f"Measurement.{name} must be a number, got {type(v).__name__} {v!r}")
            if not math.isfinite(v):
                raise ValueError(f"Measurement.{name} must be finite, got {v!r}")
        if self.delay < 0:
            raise ValueError(f"Measurement.delay must be >= 0 seconds, got {self.delay!r}")
        if self.uncertainty < 0:
            raise ValueError(f"Measurement.uncertainty must be >= 0 seconds, got {self.uncertainty!r}")
