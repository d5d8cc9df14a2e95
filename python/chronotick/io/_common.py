"""What every loader shares: opening a file (plain or gzip) with clear errors,
strict-or-skip handling of bad rows, and assembling rows into a `Trace`.

A loader reads rows in file order. A row that cannot be parsed raises
`ValueError("<path>:<line>: <reason>")` when strict, or is skipped and counted
under "malformed" when not. Rows whose time is not after the previous kept
row are treated the same way (the trace must be strictly increasing), and so
are rows whose time is 1e11 or more in magnitude (after the year 5000: a time
stamp in ms, us or ns by mistake; times are seconds).
"""
from __future__ import annotations

import bisect
import gzip
import math
import os
import re
import zlib
from typing import Iterator

import numpy as np

from chronotick.io.trace import Trace


class RowError(ValueError):
    """One malformed row; the message already carries path and line number."""


def check_path(path) -> str:
    """`path` as a str, or FileNotFoundError / IsADirectoryError / ValueError (empty)."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike, got {type(path).__name__}")
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no such file: {path}")
    if os.path.isdir(path):
        raise IsADirectoryError(f"expected a file, got a directory: {path}")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path}: file is empty")
    return path


_GZIP_ERRORS = (EOFError, zlib.error, gzip.BadGzipFile)   # what gzip raises on truncated / corrupt data


class _GzipText:
    """A gzip text stream whose truncated / corrupt data raises ValueError naming the file: gzip
    raises EOFError or zlib.error there, which are neither ValueError nor OSError, so callers (and
    the CLIs) would show a traceback."""

    def __init__(self, path: str):
        self.path = path
        self.f = gzip.open(path, "rt", encoding="utf-8-sig", errors="replace", newline="")

    def _corrupt(self, exc: BaseException) -> ValueError:
        return ValueError(f"{self.path}: truncated or corrupt gzip file ({exc})")

    def __iter__(self):
        return self

    def __next__(self) -> str:
        try:
            return next(self.f)
        except _GZIP_ERRORS as exc:
            raise self._corrupt(exc) from None

    def read(self, *args) -> str:
        try:
            return self.f.read(*args)
        except _GZIP_ERRORS as exc:
            raise self._corrupt(exc) from None

    def close(self) -> None:
        self.f.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_text(path: str):
    """Text stream of `path`, transparently gunzipping `.gz` files (a truncated or corrupt one:
    ValueError naming the file)."""
    with open(path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if gz:
        return _GzipText(path)
    return open(path, "r", encoding="utf-8-sig", errors="replace", newline="")


def numbered_lines(path: str) -> Iterator[tuple[int, str]]:
    """(1-based line number, line without its newline) for each line of `path`."""
    with open_text(path) as f:
        for lineno, line in enumerate(f, start=1):
            yield lineno, line.rstrip("\r\n")


def head_lines(path: str, n: int = 64) -> list[str]:
    """The first `n` lines of `path` (for format sniffing)."""
    out = []
    for _, line in numbered_lines(path):
        out.append(line)
        if len(out) >= n:
            break
    return out


# Plain decimal or scientific notation (ASCII digits only), or inf / nan (rejected below unless
# finite=False). float() alone also takes digit-group underscores ('2_0e-7') and non-ASCII digits.
_NUMBER = re.compile(r"[+-]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|[+-]?(?:inf|infinity|nan)",
                     re.IGNORECASE)


def is_plain_number(text: str) -> bool:
    """True when `text` (surrounding whitespace aside) is plain decimal / scientific notation or
    inf / nan -- what parse_float accepts before its finiteness check."""
    return _NUMBER.fullmatch(text.strip()) is not None


def parse_float(text, path: str, lineno: int, column: str, finite: bool = True) -> float:
    """float(text) or RowError naming file, line, column and the bad text. Only plain decimal or
    scientific notation is a number: digit-group underscores ('2_0e-7'), which float() accepts,
    and non-ASCII digits are not."""
    if text is None:
        raise RowError(f"{path}:{lineno}: column {column!r} is missing")
    try:
        # An ASCII text without '_' is a number to float() exactly when it is plain notation or
        # inf / nan (both strip the same whitespace): the pattern is only needed for the others
        # (tests/test_io_parse_float.py compares the two on generated texts).
        if isinstance(text, str) and not (text.isascii() and "_" not in text) and not is_plain_number(text):
            raise ValueError(text)
        v = float(text)
    except ValueError:
        raise RowError(f"{path}:{lineno}: column {column!r} is not a number: {text!r}") from None
    if finite and not math.isfinite(v):
        raise RowError(f"{path}:{lineno}: column {column!r} is not finite: {text!r}")
    return v


def parse_floats(fields: list, columns, path: str, lineno: int) -> dict:
    """{name: parse_float(fields[i], path, lineno, name)} for (i, name) in columns: the same
    values and the same RowError, one float() per field where the fields are ASCII without '_'
    and every value is finite (a log's every entry), parse_float per field otherwise."""
    joined = "".join(fields)
    if joined.isascii() and "_" not in joined:
        try:
            v = {n: float(fields[i]) for i, n in columns}
        except ValueError:
            pass
        else:
            if all(map(math.isfinite, v.values())):
                return v
    return {n: parse_float(fields[i], path, lineno, n) for i, n in columns}


# Larger times in seconds are after the year 5000: a time stamp in milliseconds (or us, ns) by mistake
# (1e11 ms is 1973-03-03). No trace of a clock has them, epoch-based or relative.
MAX_SECONDS = 1e11


def check_seconds(t: float, what: str) -> None:
    """RowError when |t| >= MAX_SECONDS: a time in ms, us or ns where seconds are expected."""
    if abs(t) >= MAX_SECONDS:
        raise RowError(f"{what} {t!r} is not a time in seconds (after the year 5000): milliseconds, "
                       f"microseconds or nanoseconds by mistake? times must be seconds")


class RowCollector:
    """Accumulates parsed rows; enforces strictly increasing time.

    add(lineno, t, values) appends one row (values: name -> float).
    bad(err) handles a RowError: raise when strict, count otherwise.
    With `keep_last_on_equal_time`, a row with the same time as the previous
    kept one replaces it (counted as "duplicate_time"): chrony's logs have a
    resolution of 1 s, so several updates can share a time stamp.

    Not strict, a row whose time is not after the previous kept row's is
    skipped -- unless it begins a run of rows, increasing among themselves,
    longer than the kept rows it would have to follow: then those kept rows
    are the wrong ones (a time with a corrupt digit, years ahead), skipped
    instead, and the run kept. Each row goes either way, so the fewer are
    skipped (a corrupt row 11 of 1000 had made all 989 after it "not after"
    it: an audit, 2026-12-05).
    """

    def __init__(self, path: str, strict: bool, names: list[str], keep_last_on_equal_time: bool = False):
        self.path = path
        self.strict = bool(strict)
        self.times: list[float] = []
        self.lines: list[int] = []
        self.cols: dict[str, list[float]] = {name: [] for name in names}
        self.skipped: dict[str, int] = {}
        self.keep_last = keep_last_on_equal_time
        self._run: list[tuple[int, float, dict]] = []   # rows skipped since the last kept one (not strict)

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def bad(self, err: RowError) -> None:
        if self.strict:
            raise err
        self.skip("malformed")

    def add(self, lineno: int, t: float, values: dict[str, float]) -> None:
        try:
            check_seconds(t, f"{self.path}:{lineno}: time")
        except RowError as e:
            self.bad(e)
            return
        if self.times and t <= self.times[-1]:
            if t == self.times[-1] and self.keep_last:
                self.skip("duplicate_time")
                self._pop()
            else:
                self.bad(RowError(f"{self.path}:{lineno}: time {t!r} is not after the previous row's "
                                  f"{self.times[-1]!r} (line {self.lines[-1]}); a trace must be strictly increasing"))
                self._rejoin(lineno, t, values)
                return
        if self._run:
            self._run.clear()
        self._append(lineno, t, values)

    def _rejoin(self, lineno: int, t: float, values: dict[str, float]) -> None:
        """(Not strict) a skipped row: the run of skipped rows it continues (or starts), kept in
        place of the newest kept rows at or after the run's first time where it is longer."""
        run = self._run
        if run and t == run[-1][1] and self.keep_last:
            # the later of two rows of one time replaces the earlier, as among kept rows (a chrony
            # log's 1 s stamps): a duplicate, not a second malformed row, and the run goes on (it
            # had restarted, so two corrupt rows before a log's repeated stamps lost all after them)
            run[-1] = (lineno, t, values)
            self.skipped["malformed"] -= 1
            self.skip("duplicate_time")
        else:
            if run and t <= run[-1][1]:
                run.clear()
            run.append((lineno, t, values))
        first = self._run[0][1]
        drop = len(self.times) - bisect.bisect_left(self.times, first)      # kept rows are increasing
        if drop >= len(self._run):
            return
        for _ in range(drop):
            self._pop()
        self.skipped["malformed"] += drop - len(self._run)
        if self.skipped["malformed"] == 0:
            del self.skipped["malformed"]
        for row in self._run:
            self._append(*row)
        self._run.clear()

    def _pop(self) -> None:
        """The newest kept row taken back."""
        self.times.pop()
        self.lines.pop()
        for col in self.cols.values():
            col.pop()

    def _append(self, lineno: int, t: float, values: dict[str, float]) -> None:
        self.times.append(t)
        self.lines.append(lineno)
        for name, col in self.cols.items():
            col.append(values[name])

    def column(self, name: str) -> np.ndarray:
        return np.asarray(self.cols[name], dtype=np.float64)

    def trace(self, offsets: str, source: str, delay: str | None = None, uncertainty: str | None = None,
              extra: list[str] | tuple[str, ...] = (), what: str = "measurements") -> Trace:
        if not self.times:
            detail = f" (skipped: {self.skipped})" if self.skipped else ""
            raise ValueError(f"{self.path}: no {what} found{detail}")
        return Trace(times=np.asarray(self.times, dtype=np.float64),
                     offsets=self.column(offsets),
                     delay=self.column(delay) if delay else None,
                     uncertainty=self.column(uncertainty) if uncertainty else None,
                     extra={name: self.column(name) for name in extra},
                     source=source, skipped=dict(self.skipped))
