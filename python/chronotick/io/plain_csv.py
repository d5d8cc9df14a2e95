"""Loader for plain CSV traces: `t, offset[, uncertainty]`, seconds.

Columns: time (s), offset (s, reference - local), and an optional
uncertainty (s, >= 0). An optional header line (first line whose first field
is not a number, and whose other fields are not all numbers: "1o,0.1" is a
malformed data row) names the columns; lines starting with '#' are comments.
Fields are separated by commas; a line without commas is split on
whitespace. The first two columns are time and offset whatever their names,
except that a name stating another unit (offset_ms, t[us], delay (ns)) is refused
(every value is read as seconds), and so is a header naming them the other way
round (column 1 `offset`, `y`, `value`..., or column 2 `t`, `time`, `timestamp`...).
The file is read as UTF-8: a header with a byte UTF-8 cannot decode (a cp1252
'µ') is refused, as its unit cannot be read.
Columns after them follow the header's names (case-insensitive, a trailing
unit of seconds aside: `delay_s`, `delay (s)`): `delay` (or `rtt`,
`round_trip`, `ntp_delay`) is the trace's round-trip delay (s, >= 0),
`uncertainty` the uncertainty, any other name an array in `trace.extra` --
except that the third column is the uncertainty under any other name (e.g.
`unc`) when no column is named `uncertainty` (but not `root_delay` or
`root_dispersion`: a server's is no uncertainty of the measurement); of
several delay-named columns, `delay` (else the first) is the delay, the
others go to `trace.extra`.
Without a header the third column is the uncertainty, and more columns are
an error.
"""
from __future__ import annotations

import re

from chronotick.io._common import RowCollector, RowError, check_path, is_plain_number, numbered_lines, parse_float
from chronotick.io.trace import Trace


# a column name that states a unit other than seconds: offset_ms, t[us], delay (ns), offset.msec,
# offset/ms, offset_msecs, offset_millisecs, offset_milli, offsetMs (camelCase: _unit_of splits it)
_UNIT = re.compile(r"(?i)(?:^|[_\s.(\[/-])(ms|msecs?|millis?(?:ec(?:ond)?s?)?|us|usecs?|[µμ]s|[µμ]secs?|"
                   r"micros?(?:ec(?:ond)?s?)?|ns|nsecs?|nanos?(?:ec(?:ond)?s?)?)[)\]]?$")
# a trailing unit of seconds, and the names of a round-trip delay column (delay_s, "delay (s)", rtt)
_SECONDS = re.compile(r"(?i)[_\s.(\[/-]+(?:s|secs?|seconds?)[)\]]?$")
# a server's root delay / dispersion (NTP): no uncertainty of the measurement, kept in extra
_ROOT_NAMES = {"root_delay", "rootdelay", "root_dispersion", "rootdispersion", "root_disp", "rootdisp"}
_DELAY_NAMES = {"delay", "rtt", "round_trip", "roundtrip", "round_trip_delay", "round_trip_time",
                "ntp_delay", "rtt_delay", "delay_rtt"}


def _states_other_unit(name: str) -> bool:
    """Whether a column name states a unit other than seconds (camelCase split first:
    offsetMs had read as seconds, 1000x off; an audit, 2026-12-05)."""
    return any(_UNIT.search(n) for n in (name, re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)))


def _base(name: str) -> str:
    """A column name without a trailing unit of seconds, lower case, spaces as _."""
    return re.sub(r"[\s-]+", "_", _SECONDS.sub("", name.strip())).lower()


# names that say a column is the other one of the pair (t, offset): a header naming column 1
# one of _OFFSET_NAMES or column 2 one of _TIME_NAMES has them swapped
_TIME_NAMES = {"t", "time", "times", "timestamp", "timestamps", "system_time", "unix_time", "epoch"}
_OFFSET_NAMES = {"offset", "offsets", "y", "value", "values", "ntp_offset", "clock_offset", "phase",
                 "time_error"}


def _fields(line: str) -> list[str]:
    return [x.strip() for x in line.split(",")] if "," in line else line.split()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _roles(header: list[str] | None) -> list[str]:
    """The name each column after t, offset is stored under: "uncertainty",
    "delay", or (a column of trace.extra) its header name."""
    if header is None:
        return ["uncertainty"]
    base = [_base(h) for h in header[2:]]
    # the delay: a column named delay (as before), else the first named as one (delay_s, rtt,
    # round_trip...: a round-trip delay, not a standard uncertainty -- it had been the uncertainty,
    # and the backtest's delay weights off; an audit, 2026-12-05); other delay-named columns extra
    delay = base.index("delay") if "delay" in base else next(
        (i for i, b in enumerate(base) if b in _DELAY_NAMES), None)
    roles = []
    for i, (name, b) in enumerate(zip(header[2:], base)):
        if b == "uncertainty":
            roles.append("uncertainty")
        elif i == delay:
            roles.append("delay")
        elif i == 0 and "uncertainty" not in base and b not in _DELAY_NAMES and b not in _ROOT_NAMES:
            roles.append("uncertainty")   # the third column, positionally (not a delay, nor a root delay)
        else:
            roles.append(name)
    return roles


def load_plain_csv(path, strict: bool = True) -> Trace:
    """Load `t, offset[, uncertainty]` rows (seconds) into a Trace.

    All data rows must have the same number of columns (2 or 3, or as many
    as the header names); times must be strictly increasing; values finite;
    uncertainty and delay non-negative. See the module docstring for which
    column is which.
    """
    path = check_path(path)
    header: list[str] | None = None
    ncols = None
    seen_data = False
    rows = None
    for lineno, line in numbered_lines(path):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        f = _fields(s)
        # a header: only the first non-comment line may be one, and it names its columns -- a line whose
        # other fields are all numbers is a data row with a bad time (it is parsed below, which names it)
        if not seen_data and not _is_number(f[0]) and not (len(f) > 1 and all(map(is_plain_number, f[1:]))):
            seen_data = True
            # the loaders read UTF-8, an undecodable byte as U+FFFD: a cp1252 / Latin-1 "offset (µs)"
            # had lost its 'µ', no unit was seen and microseconds were read as seconds
            for name in f:
                if "\ufffd" in name:
                    raise ValueError(f"{path}:{lineno}: column {name!r} is not UTF-8 text (a byte that UTF-8 "
                                     f"cannot decode, shown as U+FFFD; a cp1252 / Latin-1 '\u00b5'?): its unit "
                                     f"cannot be read; save the file as UTF-8")
            roles = _roles(f)
            if len(f) < 2 or (len(f) > 3 and len(f) != len(set(f))) or len({"offset", *roles}) != len(roles) + 1:
                raise ValueError(f"{path}:{lineno}: header must name t, offset[, uncertainty][, more named "
                                 f"columns, each once], got {len(f)}: {s!r}")
            # values are seconds: a header that names another unit for t, offset, uncertainty or delay
            # would otherwise be read 1000x off without a word
            for name, role in zip(f, ["t", "offset", *roles]):
                if role in ("t", "offset", "uncertainty", "delay") and _states_other_unit(name):
                    raise ValueError(f"{path}:{lineno}: column {name!r} ({role}) names a unit other than "
                                     f"seconds; this format reads seconds: convert the values (or load the "
                                     f"file with numpy and pass seconds to chronotick)")
            # the order is fixed (t, offset): a header that names them the other way round is a file
            # written in another order, read as given it is silently wrong (time as offset: a
            # backtest of such a file had run, MAE 64 s; CLI audit, 2026-12-04)
            first, second = f[0].strip().lower(), f[1].strip().lower()
            if first in _OFFSET_NAMES or second in _TIME_NAMES:
                raise ValueError(f"{path}:{lineno}: this format reads column 1 as the time and column 2 as "
                                 f"the offset, but the header names them {f[0]!r}, {f[1]!r}: put the times "
                                 f"first")
            header, ncols = f, len(f)
            continue
        seen_data = True
        if rows is None:
            roles = _roles(header)
            rows = RowCollector(path, strict, ["offset", *roles])
        try:
            if (ncols is None and len(f) not in (2, 3)) or (ncols is not None and len(f) != ncols):
                want = ncols or "2 or 3"
                raise RowError(f"{path}:{lineno}: expected {want} columns (t, offset[, uncertainty]"
                               f"{', ...' if ncols and ncols > 3 else ''}), got {len(f)}")
            t = parse_float(f[0], path, lineno, "t")
            o = parse_float(f[1], path, lineno, "offset")
            values = {"offset": o}
            if len(f) == 2:
                values["uncertainty"] = 0.0
            for role, text in zip(roles, f[2:]):
                v = values[role] = parse_float(text, path, lineno, role)
                if role in ("uncertainty", "delay") and v < 0:
                    raise RowError(f"{path}:{lineno}: {role} must be >= 0, got {text!r}")
        except RowError as e:
            rows.bad(e)
            continue
        ncols = len(f)
        rows.add(lineno, t, values)
    if rows is None:
        raise ValueError(f"{path}: no measurements found")
    cols = roles[:ncols - 2] if ncols else []
    extra = [n for n in cols if n not in ("uncertainty", "delay")]
    return rows.trace("offset", f"{path}::plain_csv", uncertainty="uncertainty" if "uncertainty" in cols else None,
                      delay="delay" if "delay" in cols else None, extra=extra)
