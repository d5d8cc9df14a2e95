"""The `Trace` type every loader returns."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Trace:
    """Clock offset measurements, oldest first.

    times: seconds, strictly increasing. offsets: seconds (reference - local).
    delay / uncertainty: seconds (>= 0; NaN where a measurement has none), or
    None when the source has none.
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
        where = self.source or "trace"
        self.times = np.asarray(self.times, dtype=np.float64)
        self.offsets = np.asarray(self.offsets, dtype=np.float64)
        if self.times.ndim != 1:
            raise ValueError(f"times must be 1-D, got shape {self.times.shape} in {where}")
        n = len(self.times)
        if self.offsets.shape != (n,):
            raise ValueError(f"offsets has shape {self.offsets.shape}, times has {n} entries")
        # a measurement has a time and a value: the loaders skip rows without them, and a NaN
        # here would silently drop targets (and the windows around them) from a backtest
        for name in ("times", "offsets"):
            v = getattr(self, name)
            bad = np.flatnonzero(~np.isfinite(v))
            if bad.size:
                i = int(bad[0])
                raise ValueError(f"{name}[{i}] = {float(v[i])!r} is not finite in {where}")
        for name in ("delay", "uncertainty"):
            v = getattr(self, name)
            if v is not None:
                v = np.asarray(v, dtype=np.float64)
                if v.shape != (n,):
                    raise ValueError(f"{name} has shape {v.shape}, times has {n} entries")
                bad = np.flatnonzero((v < 0) | np.isinf(v))      # NaN: none for that measurement
                if bad.size:
                    i = int(bad[0])
                    raise ValueError(f"{name}[{i}] = {float(v[i])!r} in {where}: a {name} must be >= 0 "
                                     f"and finite (NaN where a measurement has none)")
                setattr(self, name, v)
        for group in ("covariates", "extra"):
            cols = getattr(self, group)
            for key in list(cols):
                v = np.asarray(cols[key])
                if v.shape != (n,):
                    raise ValueError(f"{group}[{key!r}] has shape {v.shape}, times has {n} entries "
                                     f"(it must be aligned with times)")
                cols[key] = v
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
