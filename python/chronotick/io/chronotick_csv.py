"""Loader for the ChronoTick research CSVs (see shared/data/README.md).

Rows carrying an NTP measurement become the trace: `system_time` (s) is the
measurement time, `ntp_offset_ms` the offset (reference - local), converted to
seconds. `ntp_delay_ms` / `ntp_uncertainty_ms` become delay / uncertainty.
The prototype's own prediction at that row (`chronotick_offset_ms`) is kept in
`extra["prototype_offset"]` (seconds) so its error can be scored; it is NaN
where the prototype had none (an empty cell, or `chronotick_source` = "error",
the prototype's start-up rows).
"""
from __future__ import annotations

import csv
import itertools
import math

import numpy as np

from chronotick.io._common import RowCollector, RowError, check_path, open_text, parse_float
from chronotick.io.trace import Trace

_MS = 1e-3
_REQUIRED = ("system_time", "ntp_offset_ms")
_USED = (*_REQUIRED, "ntp_delay_ms", "ntp_uncertainty_ms", "chronotick_offset_ms", "chronotick_source")


def _optional_ms(row: dict, name: str, path: str, lineno: int) -> float:
    text = row.get(name)
    if text is None or not text.strip():
        return math.nan
    return parse_float(text, path, lineno, name) * _MS


def load_chronotick_csv(path, strict: bool = True) -> Trace:
    """Load one ChronoTick CSV (plain or gzip); '#' comment lines before its header are skipped,
    and blank (or whitespace-only) lines anywhere.

    strict=True: a malformed NTP row (unparsable or non-finite number, short
    or long row, time not after the previous one) raises ValueError naming file and
    line. strict=False: such rows are skipped and counted in
    `trace.skipped["malformed"]`. Rows without an NTP offset are not
    measurements and are not counted.
    A header naming a column this loader reads more than once is a ValueError.
    delay / uncertainty are None when the file has no such column; a row of
    a file that has the column but leaves it empty gets NaN there. An
    uncertainty column that is 0 on every NTP row (homelab_3h: the prototype
    wrote 0 as a placeholder) carries no information and becomes None: a zero
    uncertainty would claim a perfect internet NTP measurement.
    """
    path = check_path(path)
    rows = RowCollector(path, strict, ["offset", "delay", "uncertainty", "prototype"])
    with open_text(path) as f:
        # Leading '#' comment lines (and blank lines) before the header are skipped, as in the
        # file shipped in chronotick/data; line numbers in messages still count them.
        lines = iter(f)
        before = 0
        for line in lines:
            if line.strip() and not line.lstrip().startswith("#"):
                lines = itertools.chain([line], lines)
                break
            before += 1
        # a line of only whitespace is blank, as in the other loaders (csv reads it as a row of one
        # field: a malformed row); csv skips an empty line and still counts it in line_num
        reader = csv.DictReader(line if line.strip() else "\n" for line in lines)
        # names with the spaces around them dropped: "timestamp, system_time, ..." is sniffed as
        # this format (the sniffer strips them) and had then been refused for "no 'system_time'"
        fields = reader.fieldnames = [name.strip() for name in reader.fieldnames or []]
        missing = [c for c in _REQUIRED if c not in fields]
        twice = sorted({c for c in fields if fields.count(c) > 1} & set(_USED))
        if twice:
            raise ValueError(f"{path}: header names column {twice[0]!r} more than once")
        if missing:
            raise ValueError(f"{path}: not a ChronoTick CSV (no {' / '.join(map(repr, missing))} column in "
                             f"header {fields!r})")
        for row in reader:
            lineno = reader.line_num + before
            try:
                # checked first: a row cut short before its NTP offset had read as a row without
                # a measurement and been skipped silently (CLI audit, 2026-12-04)
                if None in row:
                    raise RowError(f"{path}:{lineno}: {len(fields) + len(row[None])} fields, header has "
                                   f"{len(fields)}")
                if None in row.values():     # csv.DictReader's filler for the cells a short row lacks
                    n = sum(v is not None for v in row.values())
                    raise RowError(f"{path}:{lineno}: {n} fields, header has {len(fields)}")
            except RowError as e:
                rows.bad(e)
                continue
            off = row.get("ntp_offset_ms")
            if off is None or not off.strip():
                continue
            try:
                t = parse_float(row["system_time"], path, lineno, "system_time")
                o = parse_float(off, path, lineno, "ntp_offset_ms") * _MS
                d = _optional_ms(row, "ntp_delay_ms", path, lineno)
                u = _optional_ms(row, "ntp_uncertainty_ms", path, lineno)
                if (not math.isnan(d) and d < 0) or (not math.isnan(u) and u < 0):
                    raise RowError(f"{path}:{lineno}: negative delay or uncertainty "
                                   f"({row.get('ntp_delay_ms')!r}, {row.get('ntp_uncertainty_ms')!r})")
                p = _optional_ms(row, "chronotick_offset_ms", path, lineno)
                if (row.get("chronotick_source") or "").strip() == "error":
                    p = math.nan
            except RowError as e:
                rows.bad(e)
                continue
            rows.add(lineno, t, {"offset": o, "delay": d, "uncertainty": u, "prototype": p})
    trace = rows.trace("offset", f"{path}::chronotick_csv",
                       delay="delay" if "ntp_delay_ms" in fields else None,
                       uncertainty="uncertainty" if "ntp_uncertainty_ms" in fields else None,
                       what="NTP measurements")
    trace.extra["prototype_offset"] = rows.column("prototype")
    if trace.uncertainty is not None and np.all(trace.uncertainty == 0):
        trace.uncertainty = None
    return trace
