"""Loader for plain CSV traces: `t, offset[, uncertainty]`, seconds.

Columns are positional: time (s), offset (s, reference - local), and an
optional uncertainty (s, >= 0). An optional header line (first line whose
first field is not a number) is skipped; lines starting with '#' are
comments. Fields are separated by commas; a line without commas is split on
whitespace. Columns after the third need a header naming them (e.g. what
`chronotick simulate` writes): `delay` becomes the trace's delay (s), any
other name an array in `trace.extra`; without a header they are an error.
"""
from __future__ import annotations

from chronotick.io._common import RowCollector, RowError, check_path, numbered_lines, parse_float
from chronotick.io.trace import Trace


def _fields(line: str) -> list[str]:
    return [x.strip() for x in line.split(",")] if "," in line else line.split()


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def load_plain_csv(path, strict: bool = True) -> Trace:
    """Load `t, offset[, uncertainty]` rows (seconds) into a Trace.

    All data rows must have the same number of columns (2 or 3); times must
    be strictly increasing; values finite; uncertainty non-negative.
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
        if not seen_data and not _is_number(f[0]):
            seen_data = True  # a header: only the first non-comment line may be one
            if len(f) < 2 or (len(f) > 3 and len(f) != len(set(f))):
                raise ValueError(f"{path}:{lineno}: header must name t, offset[, uncertainty][, more named "
                                 f"columns], got {len(f)}: {s!r}")
            header, ncols = f, len(f)
            continue
        seen_data = True
        if rows is None:
            extra = header[3:] if header and len(header) > 3 else []
            rows = RowCollector(path, strict, ["offset", "uncertainty", *extra])
        try:
            if (ncols is None and len(f) not in (2, 3)) or (ncols is not None and len(f) != ncols):
                want = ncols or "2 or 3"
                raise RowError(f"{path}:{lineno}: expected {want} columns (t, offset[, uncertainty]"
                               f"{', ...' if ncols and ncols > 3 else ''}), got {len(f)}")
            t = parse_float(f[0], path, lineno, "t")
            o = parse_float(f[1], path, lineno, "offset")
            u = parse_float(f[2], path, lineno, "uncertainty") if len(f) >= 3 else 0.0
            if u < 0:
                raise RowError(f"{path}:{lineno}: uncertainty must be >= 0, got {f[2]!r}")
            values = {"offset": o, "uncertainty": u}
            for name, text in zip(header[3:] if header else [], f[3:]):
                values[name] = parse_float(text, path, lineno, name)
        except RowError as e:
            rows.bad(e)
            continue
        ncols = len(f)
        rows.add(lineno, t, values)
    if rows is None:
        raise ValueError(f"{path}: no measurements found")
    extra = [n for n in (header[3:] if header else []) if n != "delay"]
    return rows.trace("offset", f"{path}::plain_csv", uncertainty="uncertainty" if ncols and ncols >= 3 else None,
                      delay="delay" if header and "delay" in header[3:] else None, extra=extra)
