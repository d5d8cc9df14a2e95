"""A vectorised pass over a chrony measurements.log: load_chrony_measurements' fast path.

`measurements` returns the Trace that chrony.load_chrony_measurements' row loop would, or None
wherever it meets anything that is not a plain, well-formed log -- text that is not ASCII, '_',
line breaks or whitespace that file iteration and str.split() treat differently, an entry that
is malformed (of any source), a text field wider than any valid one, a kept entry whose time is
not after the previous one or is 1e11 s or more, an unknown source, no entry kept, a gzip file
that does not read. The row loop then runs, so every error message, line number and strict=False
skip / rejoin decision is the row loop's (tests/test_io_fast_chrony.py compares the two on
mutated logs). The pass checks what the row loop checks, on every entry:

  * >= 16 columns (np.loadtxt raises on fewer)
  * date and time: _DATE / _TIME form, a real date, a time of day -- each distinct string once
  * leap status in N + - ?; columns 6-7 six binary digits, column 8 four -- each distinct value
  * nine numbers by numpy's parser (plain notation, inf, nan: with '_' and non-ASCII excluded
    above, what parse_float takes), all finite; delay, peer dispersion, root delay and root
    dispersion >= 0; delay / 2 + peer dispersion finite
  * the source as _pick_source picks it; skipped counts, and their order, as the row loop's.

About 2.4x faster than the row loop on benchmarks/bench_io.py's log (docs/performance.md, session 36).
"""
from __future__ import annotations

from collections import Counter

import numpy as np

from chronotick.io import chrony as C
from chronotick.io._common import MAX_SECONDS, open_text
from chronotick.io.trace import Trace

# line breaks and whitespace that file iteration (newline="") or str.split() read differently from
# np.loadtxt, NUL, and '_' (float('1_0') == 10.0): a text with one of them takes the row loop
_ODD_CHARS = "\x00\r\x0b\x0c\x1c\x1d\x1e\x1f_"
# the text columns are one character wider than any valid value: a value that fills its column is
# invalid (np.loadtxt would cut a longer one silently), and the row loop names it
_WIDTH = {"date": 11, "time": 9, "ip": 64, "leap": 2, "t1": 4, "t2": 4, "abcd": 5}
_NUMBERS = ("stratum", "local_poll", "remote_poll", "score", "offset", "delay", "peer_dispersion",
            "root_delay", "root_dispersion")
_DTYPE = [("date", f"U{_WIDTH['date']}"), ("time", f"U{_WIDTH['time']}"), ("ip", f"U{_WIDTH['ip']}"),
          ("leap", f"U{_WIDTH['leap']}"), ("stratum", "f8"), ("t1", f"U{_WIDTH['t1']}"),
          ("t2", f"U{_WIDTH['t2']}"), ("abcd", f"U{_WIDTH['abcd']}"),
          *((n, "f8") for n in _NUMBERS[1:])]


def _bits(values, n: int) -> bool:
    """Each of the distinct strings `values` is n binary digits."""
    return all(len(x) == n and not set(x) - {"0", "1"} for x in values)


def measurements(path: str, source: str | None, valid_only: bool) -> Trace | None:
    """load_chrony_measurements(path, source=source, valid_only=valid_only) of a plain, well-formed
    log (strict or not: it has no malformed entry), else None. `path`: checked by the caller."""
    try:
        with open_text(path) as f:
            text = f.read()
    except ValueError:
        return None                     # a gzip file that does not read: the row loop's error
    if not text.isascii():
        return None
    if "\r" in text:
        text = text.replace("\r\n", "\n")
    if any(c in text for c in _ODD_CHARS):
        return None
    # the row loop's skipped lines (blank, banner '=', comment '#', header); with the characters
    # above excluded, strip(" \t") is str.strip() and loadtxt's whitespace is str.split()'s
    body = [ln for ln in text.split("\n")
            if (s := ln.strip(" \t")) and s[0] not in "=#" and not s.startswith("Date (UTC)")]
    if not body:
        return None
    try:
        a = np.loadtxt(body, dtype=_DTYPE, usecols=range(16), comments=None, ndmin=1)
    except ValueError:
        return None
    for name, width in _WIDTH.items():
        if np.any(a[name].view((np.uint32, width))[:, -1]):
            return None                 # a value that fills its column
    dates, d_inv = np.unique(a["date"], return_inverse=True)
    times, t_inv = np.unique(a["time"], return_inverse=True)
    dates, times = dates.tolist(), times.tolist()
    if not all(map(C._DATE.match, dates)) or not all(map(C._TIME.match, times)):
        return None
    try:
        day = np.array([C._day_epoch(d) for d in dates], dtype=np.int64)
    except ValueError:
        return None                     # an impossible date
    sod = np.array([C._seconds_of_day(t) for t in times], dtype=np.int64)
    if np.any(sod < 0):
        return None
    t_all = (day[d_inv] + sod[t_inv]).astype(np.float64)
    if not set(np.unique(a["leap"]).tolist()) <= C._LEAP:
        return None
    tests, tests_inv = np.unique(np.char.add(a["t1"], a["t2"]), return_inverse=True)   # f[5] + f[6]
    abcd, abcd_inv = np.unique(a["abcd"], return_inverse=True)
    tests, abcd = tests.tolist(), abcd.tolist()
    if not _bits(tests, 6) or not _bits(abcd, 4):
        return None
    for name in _NUMBERS:
        if not np.all(np.isfinite(a[name])):
            return None
    for name in ("delay", "peer_dispersion", "root_delay", "root_dispersion"):
        if np.any(a[name] < 0):
            return None
    with np.errstate(over="ignore"):
        uncertainty = a["delay"] / 2 + a["peer_dispersion"]
    if not np.all(np.isfinite(uncertainty)):
        return None                     # overflows: the row loop's error
    # the source as _pick_source: the most entries, the first seen of a tie (Counter keeps the order)
    counts = Counter(a["ip"].tolist())
    if source is None:
        src = counts.most_common(1)[0][0]
    elif source not in counts:
        return None                     # the row loop's error
    else:
        src = source
    is_src = a["ip"] == src
    if valid_only:
        failed = (np.array(["0" in x for x in tests])[tests_inv] |
                  np.array(["0" in x for x in abcd])[abcd_inv])
    else:
        failed = np.zeros(len(a), bool)
    idx = np.flatnonzero(is_src & ~failed)
    if idx.size == 0:
        return None                     # the row loop's error
    t = t_all[idx]
    if np.any(np.abs(t) >= MAX_SECONDS):
        return None
    step = np.diff(t)
    if np.any(step < 0):
        return None                     # not after the previous row: the row loop decides
    last = np.append(step != 0, True)   # the last entry of each second is kept
    keep = idx[last]
    # skipped counts, in the order the row loop first counts each
    skipped, first = {}, {}
    if not is_src.all():
        skipped["other_source"], first["other_source"] = int(np.count_nonzero(~is_src)), int(np.argmin(is_src))
    failed_src = is_src & failed
    if failed_src.any():
        skipped["failed_tests"], first["failed_tests"] = int(failed_src.sum()), int(np.argmax(failed_src))
    if not last.all():
        dup = np.flatnonzero(~last)
        skipped["duplicate_time"], first["duplicate_time"] = int(dup.size), int(idx[dup[0] + 1])
    skipped = {k: skipped[k] for k in sorted(skipped, key=first.get)}
    r = a[keep]
    return Trace(times=t_all[keep], offsets=r["offset"].copy(), delay=r["delay"].copy(),
                 uncertainty=uncertainty[keep], extra={n: r[n].copy() for n in C._MEAS_EXTRA},
                 source=f"{path}::chrony_measurements[{src}]", skipped=skipped)
