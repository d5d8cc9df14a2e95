"""Loaders for lab oscillator data: one number per line, fixed spacing tau.

Frequency files (e.g. shared/data/oscillators/ocxo_frequency_1s.txt: a
10 MHz OCXO counted against an H-maser, Hz, 1 s gate):

    y_k = (f_k - f_nominal) / f_nominal           fractional frequency
    x_0 = 0,  x_{k+1} = x_k + y_k * tau           time error of the oscillator (s)

so N frequency readings give N + 1 phase points at t = t0, t0 + tau, ...,
t0 + N tau.

Phase files (e.g. cs5071a_phase_1s.txt.gz: time error x of a Cs 5071A 1PPS
against an H-maser, s) are x_k directly at t = t0 + k tau.

The time error x is the oscillator's clock minus the reference, so as a clock
offset (reference - local) the trace holds offsets = -x. Lines starting with
'#' are comments; in both kinds of file a "first datapoint <unix seconds>"
comment sets t0 (else t0 = 0) and a "data interval <tau> s" comment sets tau
(else 1 s; a tau passed that contradicts it is refused). gzip files are read
transparently.

Numbers must be plain decimal or scientific notation ('2_0e-7', which
Python's float() would take as 2.0e-6, is malformed). A frequency reading of
0 Hz or less (e.g. a counter that missed its gate) is malformed too: it is no
frequency of a running oscillator, and integrating it would put a jump of
tau seconds or more into the time error. So is a reading further than
NOMINAL_TOLERANCE (1e-3, relative) from nominal_hz: a crystal oscillator is
within +-100 ppm of its nominal, so it is a reading of another nominal (a
5 MHz output) or a truncated line.
"""
from __future__ import annotations

import math
import re

import numpy as np

from chronotick.io._common import RowError, check_path, check_seconds, open_text, parse_float
from chronotick.io.trace import Trace

_FIRST = re.compile(r"first datapoint\s+(\S+)", re.IGNORECASE)
# the rest of such a header (shared/data/oscillators/cs5071a_phase_1s.txt.gz), checked against the
# data and the arguments: "# data interval 1.0 s", "# phase data, unit: s", "# 556990 datapoints in total"
# "data interval 1.0 s", "data interval: 10 seconds", "data interval 100 ms"
_INTERVAL = re.compile(r"data interval:?\s*([0-9][0-9.eE+-]*)\s*([^\s,;)\].]*)", re.IGNORECASE)
# the unit of the phase data only ("# phase data, unit: s", "# phase data (unit: ns)"): another
# comment's "unit:" (a counter's reference) is no unit of these readings
_UNIT = re.compile(r"phase\b[^:\n]*?\bunit:\s*[(\[]?\s*([^\s,;)\]]+)", re.IGNORECASE)
_COUNT = re.compile(r"^#\s*([0-9]+)\s+datapoints in total", re.IGNORECASE)
# a phase file's unit (and a data interval's) -> seconds
# a frequency reading further than this (relative) from nominal_hz is no reading of that oscillator:
# crystal oscillators are within +-100 ppm of their nominal (0.5-1.5 x nominal had let a 5 MHz
# output through as a 10 MHz one at y = -0.5: a 0.5 s/s time error; an audit, 2026-12-06)
NOMINAL_TOLERANCE = 1e-3
PHASE_UNITS = {"s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0, "ms": 1e-3, "msec": 1e-3,
               "us": 1e-6, "usec": 1e-6, "µs": 1e-6, "μs": 1e-6, "ns": 1e-9, "nsec": 1e-9, "ps": 1e-12}


def _check_positive(name: str, value) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"{name} must be finite and > 0, got {value!r}")
    return v


def _check_time(name: str, value) -> float:
    """A finite time in seconds (any sign), the bad value named."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number of seconds, got {value!r}") from None
    if isinstance(value, bool) or not math.isfinite(v):
        raise ValueError(f"{name} must be a finite number of seconds, got {value!r}")
    check_seconds(v, name)      # a RowError (ValueError): 1.7e12 is a time in ms
    return v


def _read_column(path: str, strict: bool, positive: str | None = None,
                 nominal: float | None = None, header: dict | None = None
                 ) -> tuple[np.ndarray, int, float | None]:
    """(values, number malformed, t0 from a 'first datapoint' comment or None).
    header: a dict filled with what the comments declare ("interval" s, "unit", "count": data
    points), each with the line that says it ("<key>_line").

    One value per data line, in file order; with strict=False a malformed
    line keeps its slot as NaN (so later readings keep their times).
    positive: a description of the values ("frequency (Hz)") when they must be
    > 0; a value <= 0 is then malformed. nominal: a value further than
    NOMINAL_TOLERANCE (relative) from it is malformed too (with positive's
    description)."""
    texts, linenos = [], []
    t0 = None
    with open_text(path) as f:         # a truncated or corrupt .gz: ValueError naming the file
        lines = f.read().splitlines()
    for lineno, line in enumerate(lines, start=1):
        s = line.strip()
        if not s:
            continue
        if s.startswith("#"):
            m = _FIRST.search(s)
            if m and t0 is None:
                # the whole number: 1.39e9 had been read as 1.39, -100 as no time at all
                t0 = _check_time(f"{path}:{lineno}: 'first datapoint' time", m.group(1))
            if header is not None:
                for key, rx in (("interval", _INTERVAL), ("unit", _UNIT), ("count", _COUNT)):
                    got = rx.search(s)
                    if got and key not in header:
                        header[key], header[key + "_line"] = got.group(1), lineno
                        if key == "interval":
                            header["interval_unit"] = got.group(2) or "s"
            continue
        texts.append(s)
        linenos.append(lineno)
    if not texts:
        raise ValueError(f"{path}: no data lines found (only comments or blank lines)")
    joined = "".join(texts)
    if "_" not in joined and joined.isascii():  # else float() could take what plain notation does not
        try:
            values = np.fromiter(map(float, texts), dtype=np.float64, count=len(texts))  # fast path
            if np.all(np.isfinite(values)) and (positive is None or np.all(values > 0)) and \
                    (nominal is None or np.all(np.abs(values - nominal) <= NOMINAL_TOLERANCE * nominal)):
                return values, 0, t0
        except ValueError:
            pass
    values = np.empty(len(texts))
    bad = 0
    for i, (s, lineno) in enumerate(zip(texts, linenos)):
        try:
            if len(s.split()) != 1:
                raise RowError(f"{path}:{lineno}: expected one number per line, got {s!r}")
            values[i] = parse_float(s, path, lineno, "value")
            if positive is not None and values[i] <= 0:
                raise RowError(f"{path}:{lineno}: {positive} must be > 0, got {s!r}")
            if nominal is not None and not abs(values[i] - nominal) <= NOMINAL_TOLERANCE * nominal:
                raise RowError(f"{path}:{lineno}: {positive} {s!r} is not within {NOMINAL_TOLERANCE:g} "
                               f"(relative) of nominal_hz = {nominal:g} Hz: crystal oscillators are within "
                               f"+-100 ppm of their nominal, so it is no reading of this oscillator (another "
                               f"nominal frequency? pass nominal_hz=; a truncated or corrupt line?)")
        except RowError:
            if strict:
                raise
            values[i] = np.nan
            bad += 1
    if bad == values.size:
        raise ValueError(f"{path}: no valid data lines ({bad} malformed)")
    return values, bad, t0


def load_oscillator_frequency(path, strict: bool = True, nominal_hz: float = 10e6, tau: float | None = None,
                              t0: float | None = None) -> Trace:
    """Frequency readings (Hz) at spacing `tau` (s) -> offsets = -x (s).

    See the module docstring for the math. extra["fractional_frequency"] holds
    y_k aligned with the *end* of its interval (t_{k+1}); its first entry, at
    t0 where no interval has ended yet, is 0 by the x_0 = 0 convention.
    t0 and tau: as for load_oscillator_phase -- default the file's "first
    datapoint" and "data interval" comments, else 0 and 1 s; a tau given that
    contradicts the comment is refused. (Until 2026-12-06 this loader read
    neither comment: a file of 10 s readings was integrated at 1 s, 10x too
    small a time error, its times from 0; an audit.)
    A reading that is not a number, not finite, or further than
    NOMINAL_TOLERANCE (1e-3, relative) from nominal_hz is malformed: crystal
    oscillators are within +-100 ppm of their nominal, and a 5 MHz output
    read at the default 10e6 (0.5-1.5 x nominal were accepted until
    2026-12-06) became a time error of 0.5 s per second; a truncated line,
    "1000" for "10000000.1", a 1 s jump. Pass the oscillator's nominal_hz.
    strict=False: a malformed reading is replaced by the previous interval's
    frequency (the next valid one if it is the first), so the phase stays
    continuous; the count is in trace.skipped["malformed"].
    """
    path = check_path(path)
    nominal_hz = _check_positive("nominal_hz", nominal_hz)
    if tau is not None:
        tau = _check_positive("tau", tau)
    if t0 is not None:
        t0 = _check_time("t0", t0)      # the arguments first, then the file
    header: dict = {}
    f, bad, t_file = _read_column(path, strict, positive="frequency reading (Hz)", nominal=nominal_hz,
                                  header=header)
    tau = _tau(tau, header, path)
    if bad:
        ok = np.isfinite(f)
        idx = np.where(ok, np.arange(f.size), 0)
        np.maximum.accumulate(idx, out=idx)
        first = int(np.argmax(ok))
        idx[:first] = first
        f = f[idx]
    y = (f - nominal_hz) / nominal_hz
    x = np.concatenate(([0.0], np.cumsum(y * tau)))
    times = _start(t0, t_file) + tau * np.arange(x.size)
    return Trace(times=times, offsets=-x, extra={"fractional_frequency": np.concatenate(([0.0], y))},
                 source=f"{path}::oscillator_frequency", skipped={"malformed": bad} if bad else {})


def _unit_scale(unit: str, path: str, lineno: int, what: str) -> float:
    """Seconds per `unit` (PHASE_UNITS, case-insensitive but for the prefixes), else ValueError naming the line."""
    scale = PHASE_UNITS.get(unit, PHASE_UNITS.get(unit.lower()) if unit[:1] in "sS" else None)
    if scale is None:
        raise ValueError(f"{path}:{lineno}: {what} {unit!r} is none of {sorted(set(PHASE_UNITS))}")
    return scale


def _tau(tau: float | None, header: dict, path: str) -> float:
    """The spacing: `tau` as given (checked), else the file's "data interval" comment, else 1 s; a
    tau given that contradicts the comment is refused, naming its line."""
    if "interval" in header:
        try:
            declared = _check_positive("data interval", header["interval"])
        except (TypeError, ValueError):
            raise ValueError(f"{path}:{header['interval_line']}: data interval {header['interval']!r} "
                             f"is not a number > 0") from None
        declared *= _unit_scale(header["interval_unit"], path, header["interval_line"], "unit of the data interval")
        if tau is None:
            tau = declared
        elif not math.isclose(tau, declared, rel_tol=1e-9):
            raise ValueError(f"tau = {tau!r} s, but {path}:{header['interval_line']} declares a data interval "
                             f"of {declared!r} s")
    return 1.0 if tau is None else tau


def _start(t0: float | None, t_file: float | None) -> float:
    """The first reading's time: `t0` as given, else the file's "first datapoint" comment, else 0."""
    return t0 if t0 is not None else (t_file if t_file is not None else 0.0)


def load_oscillator_phase(path, strict: bool = True, tau: float | None = None, t0: float | None = None) -> Trace:
    """Time-error readings x at spacing `tau` (s) -> offsets = -x (s).

    t0: time of the first reading (Unix seconds); default: the file's
    "first datapoint" comment, else 0. tau: default the file's "data interval
    <tau> s" comment, else 1 s; given, it must agree with that comment. The
    readings are in seconds unless a "unit: <u>" comment says otherwise (ms, us,
    ns, ps: converted). A "<N> datapoints in total" comment must match the
    data lines read (a file cut short is an error; not strict, the points
    missing at the end are counted in trace.skipped["missing_at_end"]).
    Until 2026-12-05 only the "first datapoint" comment was read: a file
    declaring 10 s spacing or ns loaded at 1 s or 1e9x too large (an audit).
    strict=False: a malformed reading is dropped and later readings keep
    their own times t0 + k tau (k counts data lines); the count is in
    trace.skipped["malformed"].
    """
    path = check_path(path)
    if tau is not None:
        tau = _check_positive("tau", tau)
    if t0 is not None:
        t0 = _check_time("t0", t0)
    header: dict = {}
    x, bad, t_file = _read_column(path, strict, header=header)
    scale = 1.0
    if "unit" in header:
        unit = header["unit"].rstrip(".")
        scale = _unit_scale(unit, path, header["unit_line"], "unit of the phase data")
    tau = _tau(tau, header, path)
    skipped = {"malformed": bad} if bad else {}
    if "count" in header and int(header["count"]) != x.size:
        n = int(header["count"])
        if strict or x.size > n:
            raise ValueError(f"{path}: {x.size} data lines, but line {header['count_line']} declares {n} "
                             f"datapoints in total (a file cut short, or another file's header?)")
        skipped["missing_at_end"] = n - x.size
    times = _start(t0, t_file) + tau * np.arange(x.size)
    ok = np.isfinite(x)
    return Trace(times=times[ok], offsets=-x[ok] * scale if scale != 1.0 else -x[ok],
                 source=f"{path}::oscillator_phase", skipped=skipped)
