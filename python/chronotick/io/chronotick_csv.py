"""Loader for the ChronoTick research CSVs (see shared/data/README.md).

Rows carrying an NTP measurement become the trace: `system_time` (s) is the
measurement time, `ntp_offset_ms` the offset (reference - local), converted to
seconds. `ntp_delay_ms` / `ntp_uncertainty_ms` become delay / uncertainty.
The prototype's own prediction at that row (`chronotick_offset_ms`) is kept in
`extra["prototype_offset"]` (seconds) so its error can be scored.
"""
from __future__ import annotations

import csv
import math
import os

import numpy as np

from chronotick.io.trace import Trace

_MS = 1e-3


def _float(text: str, path: str, lineno: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{path}:{lineno}: column {column!r} is not a number: {text!r}") from None


def load_chronotick_csv(path: str, strict: bool = True) -> Trace:
    """Load one ChronoTick CSV. With strict=False malformed rows are skipped
    and counted in `trace.extra["skipped_rows"]` (a 1-element array)."""
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such trace file: {path}")
    times, offsets, delays, uncs, proto = [], [], [], [], []
    skipped = 0
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if not reader.fieldnames or "ntp_offset_ms" not in reader.fieldnames:
            raise ValueError(f"{path}: not a ChronoTick CSV (no 'ntp_offset_ms' column in header "
                             f"{reader.fieldnames!r})")
        for lineno, row in enumerate(reader, start=2):
            off = (row.get("ntp_offset_ms") or "").strip()
            if not off:
                continue
            try:
                t = _float(row["system_time"], path, lineno, "system_time")
                o = _float(off, path, lineno, "ntp_offset_ms") * _MS
                d = row.get("ntp_delay_ms")
                d = _float(d, path, lineno, "ntp_delay_ms") * _MS if d not in (None, "") else math.nan
                u = row.get("ntp_uncertainty_ms")
                u = _float(u, path, lineno, "ntp_uncertainty_ms") * _MS if u not in (None, "") else math.nan
                p = row.get("chronotick_offset_ms")
                p = _float(p, path, lineno, "chronotick_offset_ms") * _MS if p not in (None, "") else math.nan
                if times and t <= times[-1]:
                    raise ValueError(f"{path}:{lineno}: system_time {t!r} not after previous {times[-1]!r}")
            except ValueError:
                if strict:
                    raise
                skipped += 1
                continue
            times.append(t)
            offsets.append(o)
            delays.append(d)
            uncs.append(u)
            proto.append(p)
    if not times:
        raise ValueError(f"{path}: no NTP measurements found")
    delay = np.array(delays) if not np.all(np.isnan(delays)) else None
    unc = np.array(uncs) if not np.all(np.isnan(uncs)) else None
    return Trace(times=np.array(times), offsets=np.array(offsets), delay=delay, uncertainty=unc,
                 extra={"prototype_offset": np.array(proto), "skipped_rows": np.array([skipped])},
                 source=f"{path}::chronotick_csv")
