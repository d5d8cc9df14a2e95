"""The `Measurement` every source returns."""
from __future__ import annotations

import math
import numbers
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
            # any real number, numpy's too (a row of a float32 or int64 array was refused
            # as "not a number"); not a bool. Stored as a Python float.
            if isinstance(v, bool) or not isinstance(v, numbers.Real):
                raise TypeError(f"Measurement.{name} must be a number, got {type(v).__name__} {v!r}")
            try:
                f = float(v)
            except OverflowError:       # an int beyond any float
                f = math.inf
            if not math.isfinite(f):
                raise ValueError(f"Measurement.{name} must be finite, got {v!r}")
            object.__setattr__(self, name, f)
        if self.delay < 0:
            raise ValueError(f"Measurement.delay must be >= 0 seconds, got {self.delay!r}")
        if self.uncertainty < 0:
            raise ValueError(f"Measurement.uncertainty must be >= 0 seconds, got {self.uncertainty!r}")
