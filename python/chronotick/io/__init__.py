"""Loading clock measurements from files into one `Trace` type.

Units: times in seconds (Unix epoch where the file has it), offsets, delays
and uncertainties in seconds. Sign: offset = reference - local clock; each
loader's docstring says how its source's sign was converted.

    >>> from chronotick.io import load
    >>> tr = load("tracking.log")                 # format sniffed
    >>> tr = load("x.csv", format="plain_csv", strict=False)
    >>> tr.times, tr.offsets, tr.skipped

Formats (`FORMATS`): chronotick_csv, chrony_tracking, chrony_measurements,
chrony_statistics, chronyc_tracking, plain_csv, oscillator_frequency,
oscillator_phase.
"""
from __future__ import annotations

import re

from chronotick.io._common import check_path, head_lines
from chronotick.io.chrony import (load_chrony_measurements, load_chrony_statistics, load_chrony_tracking,
                                  load_chronyc_tracking)
from chronotick.io.chronotick_csv import load_chronotick_csv
from chronotick.io.oscillators import _UNIT as _PHASE_UNIT
from chronotick.io.oscillators import PHASE_UNITS
from chronotick.io.oscillators import load_oscillator_frequency, load_oscillator_phase
from chronotick.io.plain_csv import load_plain_csv
from chronotick.io.trace import Trace

FORMATS = {
    "chronotick_csv": load_chronotick_csv,
    "chrony_tracking": load_chrony_tracking,
    "chrony_measurements": load_chrony_measurements,
    "chrony_statistics": load_chrony_statistics,
    "chronyc_tracking": load_chronyc_tracking,
    "plain_csv": load_plain_csv,
    "oscillator_frequency": load_oscillator_frequency,
    "oscillator_phase": load_oscillator_phase,
}

__all__ = ["Trace", "load", "sniff_format", "FORMATS", *sorted(f.__name__ for f in FORMATS.values())]

_CHRONY_ENTRY = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} ")
_CHRONYC = re.compile(r"^(?:[-+\d.eE]+,)?[0-9A-Fa-f]{8},[^,]*,\d+,")
_NUMBER = re.compile(r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$")
_PHASE_DATA = re.compile(r"\bphase data\b", re.IGNORECASE)    # "# phase data, unit: ns"


def _phase_time_unit(line: str) -> bool:
    """Whether a comment gives a phase unit that is a time unit ("phase ..., unit: ns"): "phase-locked
    ..., unit: Hz" or "phase noise ..., unit: dBc/Hz" are not phase data (a review, 2026-12-06)."""
    m = _PHASE_UNIT.search(line)
    if m is None:
        return False
    unit = m.group(1).rstrip(".")
    return unit in PHASE_UNITS or (unit[:1] in "sS" and unit.lower() in PHASE_UNITS)   # the loader's rule


def _chrony_kind(header: str | None, fields: list[str]) -> str | None:
    if header is not None:
        if "Freq ppm" in header:
            return "chrony_tracking"
        if "Peer del" in header or "Score" in header:
            return "chrony_measurements"
        if "Std dev" in header or "Est offset" in header:
            return "chrony_statistics"
    if len(fields) == 14 and fields[7] in ("N", "+", "-", "?"):
        return "chrony_tracking"
    if len(fields) >= 16 and fields[3] in ("N", "+", "-", "?"):
        return "chrony_measurements"
    if len(fields) in (12, 13):
        return "chrony_statistics"
    return None


def sniff_format(path) -> str:
    """Name (a key of FORMATS) of the format of `path`, from its first lines.

    A file of one number per line is oscillator_phase where a '#' comment
    declares phase data or its unit ("# phase data, unit: ns"), else
    oscillator_frequency where the first number is above 1e3 (Hz), else
    oscillator_phase (a time error in s).
    Raises ValueError when it cannot tell; pass `format=` to `load` then.
    """
    path = check_path(path)
    with open(path, "rb") as f:
        start = f.read(512)
    if start[:2] != b"\x1f\x8b" and (start[:2] in (b"\xff\xfe", b"\xfe\xff") or
                                     (len(start) >= 4 and start.count(b"\x00") * 4 >= len(start))):
        # UTF-16 (a PowerShell redirect): read as UTF-8 it had been mojibake in "cannot tell the format"
        raise ValueError(f"{path}: looks like UTF-16 text (NUL bytes between characters); the loaders read "
                         f"UTF-8: convert it (e.g. iconv -f UTF-16 -t UTF-8)")
    lines = [ln for ln in head_lines(path, 64) if ln.strip()]
    header = None
    for ln in lines:
        s = ln.strip()
        if s.startswith("Date (UTC)"):
            header = s
        if _CHRONY_ENTRY.match(s):
            kind = _chrony_kind(header, s.split())
            if kind:
                return kind
            break
    # the header: the first line that is not a '#' comment (the shipped data file has some)
    first = next((ln for ln in lines if not ln.lstrip().startswith("#")), None)
    if first is not None and "ntp_offset_ms" in [x.strip() for x in first.split(",")]:
        return "chronotick_csv"
    data = [ln.strip() for ln in lines if not ln.lstrip().startswith(("#", "="))]
    if not data:
        raise ValueError(f"{path}: cannot tell the format (no data lines among the first 64); pass format=")
    if _CHRONYC.match(data[0]) and len(data[0].split(",")) in (14, 15):
        return "chronyc_tracking"
    # The shape decides; a minority of lines with a bad value (nan, an empty field, a stray byte) does
    # not: the loader then names that line and value, rather than "cannot tell the format".
    single = [s for s in data[:16] if not re.search(r"[,\s]", s)]
    numbers = [s for s in single if _NUMBER.match(s)]
    if len(single) == len(data[:16]) and 2 * len(numbers) >= len(single):
        # one number per line: a comment declaring phase data or its unit (which load_oscillator_phase
        # reads) decides -- a time error in ns is large too, and was sniffed as frequencies (an audit);
        # else a frequency in Hz is large, a time error in s is tiny
        if any(_PHASE_DATA.search(ln) or _phase_time_unit(ln) for ln in lines if ln.lstrip().startswith("#")):
            return "oscillator_phase"
        return "oscillator_frequency" if abs(float(numbers[0])) > 1e3 else "oscillator_phase"
    body = data[1:] if data[0] and not _NUMBER.match(re.split(r"[,\s]+", data[0])[0]) else data
    fields = [re.split(r"\s*,\s*|\s+", s) for s in body[:16]]
    numeric = sum(all(_NUMBER.match(x) for x in f) for f in fields)
    if fields and all(len(f) in (2, 3) for f in fields) and 2 * numeric >= len(fields):
        return "plain_csv"
    # A header naming t, offset first and more columns after (chronotick simulate's output).
    head = [x.strip().lower() for x in re.split(r"\s*,\s*", data[0])]
    if len(head) > 3 and head[:2] == ["t", "offset"] and fields and \
            all(len(f) == len(head) for f in fields) and 2 * numeric >= len(fields):
        return "plain_csv"
    alone = "; it has no other data line" if len(data) == 1 else ""
    raise ValueError(f"{path}: cannot tell the format from its first lines (starts with {data[0][:80]!r}{alone}); "
                     f"pass format= one of {sorted(FORMATS)}")


def load(path, format: str = "auto", strict: bool = True, **options) -> Trace:
    """Load a clock trace from `path` into a `Trace` (seconds; reference - local).

    format: a key of FORMATS, or "auto" to sniff it (see `sniff_format`).
    strict: True raises ValueError at the first malformed row, naming file and
    line; False skips malformed rows, counted in `trace.skipped`.
    options: passed to the format's loader (e.g. source="192.0.2.1" for chrony
    measurements/statistics, nominal_hz / tau for oscillator files).
    """
    if not isinstance(format, str):
        raise TypeError(f"format must be a str, got {type(format).__name__}")
    if format == "auto":
        format = sniff_format(path)
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; expected 'auto' or one of {sorted(FORMATS)}")
    return FORMATS[format](path, strict=strict, **options)
