"""The `Trace` type every loader returns."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trace:
    """Clock offset measurements, oldest first.

    times: seconds, strictly increasing. offsets: seconds (reference - local).
    delay / uncertainty: seconds or None when the source has none.
    covariates: name -> array aligned with `times`.
    extra: other per-measurement columns (e.g. a prototype's own prediction),
    name -> array aligned with `times`.
    source: where the data came from (file path and format).
    skipped: rows a loader left out, by reason (e.g. {"malformed": 2,
    "duplicate_time": 3}); empty when nothing was skipped.
    """

    times: np.ndarray
    offsets: np.ndarray
    delay: np.ndarray | None = None
    uncertainty: np.ndarray | None = None
    covariates: dict[str, np.ndarray] = field(default_factory=dict)
    extra: dict[str, np.ndarray] = field(default_factory=dict)
    source: str = ""
    skipped: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.times = np.asarray(self.times, dtype=np.float64)
        self.offsets = np.asarray(self.offsets, dtype=np.float64)
        n = len(self.times)
        if self.offsets.shape != (n,):
            raise ValueError(f"offsets has shape {self.offsets.shape}, times has {n} entries")
        for name in ("delay", "uncertainty"):
            v = getattr(self, name)
            if v is not None:
                v = np.asarray(v, dtype=np.float64)
                if v.shape != (n,):
                    raise ValueError(f"{name} has shape {v.shape}, times has {n} entries")
                setattr(self, name, v)
        if n > 1:
            bad = np.flatnonzero(~(np.diff(self.times) > 0))
            if bad.size:
                i = int(bad[0]) + 1
                raise ValueError(f"times must be strictly increasing: times[{i}]={self.times[i]!r} "
                                 f"after times[{i-1}]={self.times[i-1]!r} in {self.source or 'trace'}")

    def __len__(self) -> int:
        return len(self.times)

    @property
    def name(self) -> str:
        import os
        return os.path.splitext(os.path.basename(self.source.split("::")[0]))[0] if self.source else "trace"
