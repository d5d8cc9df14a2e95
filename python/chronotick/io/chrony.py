"""Loaders for chrony's statistics logs and `chronyc -c tracking` output.

Formats are chrony's own (chrony.conf(5), directive `log`; written by
reference.c, ntp_core.c and sourcestats.c). Each log line starts with the date
and time in UTC at 1 s resolution ("2017-08-22 13:22:36"); the files carry
banner lines of '=' and a column header, repeated every `logbanner` lines,
which are skipped. An impossible date (2025-02-30) is a malformed entry, not
shifted to another day. Columns that are standard deviations, dispersions,
delays, skews or error bounds must be >= 0; an entry with a negative one is
malformed (strict: ValueError naming file:line; else counted under
trace.skipped["malformed"]). Because of the 1 s resolution several entries can share a
time stamp (an iburst, several sources updating within one second): the last
one of each second is kept and the rest counted in
`trace.skipped["duplicate_time"]`.

Sign conversions to chronotick's offset = reference - local clock (seconds):

  tracking.log     col 7 "Offset": positive = local clock fast of UTC
                   -> offset = -Offset
  measurements.log col 12 "Offset" (theta of RFC 5905): positive = local
                   clock slow of the source -> offset = +Offset
  statistics.log   col 5 "Est offset": positive = local clock fast
                   -> offset = -Est offset
  chronyc -c tracking, field 5 "System time": chronyc prints a positive
                   value as "seconds slow of NTP time" (client.c, print_report
                   '%O': dbl > 0 -> "slow"), i.e. the value is already
                   NTP time - system time -> offset = +System time.
                   Field 6 "Last offset": positive = local time was ahead
                   of the sources -> extra["last_offset"] = -Last offset.
"""
from __future__ import annotations

import calendar
import datetime
import functools
import math
import re
from collections import Counter

from chronotick.io._common import RowCollector, RowError, check_path, numbered_lines, parse_float, parse_floats
from chronotick.io.trace import Trace

_LEAP = {"N", "+", "-", "?"}
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME = re.compile(r"^\d{2}:\d{2}:\d{2}$")


@functools.lru_cache(maxsize=4096)
def _day_epoch(date: str) -> int:
    y, m, d = (int(x) for x in date.split("-"))
    datetime.date(y, m, d)     # ValueError for an impossible date; calendar.timegm would shift it
    return calendar.timegm((y, m, d, 0, 0, 0))


@functools.lru_cache(maxsize=90000)
def _seconds_of_day(time: str) -> int:
    """Seconds since midnight of "HH:MM:SS" whose form _TIME has checked; -1 where it is no
    time of day. Cached: a log has at most 86401 of them."""
    h, mi, s = (int(x) for x in time.split(":"))
    # :60 only as a leap second, the last of a UTC day (02:32:60 had read as 02:33:00)
    if h > 23 or mi > 59 or s > 60 or (s == 60 and (h, mi) != (23, 59)):
        return -1
    return 3600 * h + 60 * mi + s


def _utc(date: str, time: str, path: str, lineno: int) -> float:
    """Unix seconds of chrony's "YYYY-MM-DD HH:MM:SS" (UTC)."""
    if not _DATE.match(date) or not _TIME.match(time):
        raise RowError(f"{path}:{lineno}: expected 'YYYY-MM-DD HH:MM:SS', got {date + ' ' + time!r}")
    try:
        base = _day_epoch(date)
    except ValueError:
        raise RowError(f"{path}:{lineno}: invalid date {date!r}") from None
    sod = _seconds_of_day(time)
    if sod < 0:
        raise RowError(f"{path}:{lineno}: invalid time {time!r}")
    return float(base + sod)


def _check_nonnegative(v: dict, names, fields: list, index: dict, path: str, lineno: int) -> None:
    """RowError when one of `names` (std devs, dispersions, delays, bounds) is negative; the
    error quotes the entry's text of it, fields[index[name]]."""
    for n in names:
        if v[n] < 0:
            raise RowError(f"{path}:{lineno}: column {n!r} must be >= 0, got {fields[index[n]]!r}")


def _error_bound(delay: float, dispersion: float, delay_name: str, dispersion_name: str,
                 delay_text: str, dispersion_text: str, path: str, lineno: int) -> float:
    """delay / 2 + dispersion, or RowError where it overflows (both near the double range): the
    entry's own error -- an inf had stopped the whole load in Trace's check, strict or not."""
    u = delay / 2 + dispersion
    if not math.isfinite(u):
        raise RowError(f"{path}:{lineno}: uncertainty = {delay_name} / 2 + {dispersion_name} overflows: "
                       f"{delay_text!r} / 2 + {dispersion_text!r}")
    return u


def _data_rows(path: str):
    """(lineno, fields) for each entry line; banner ('=') and header lines skipped."""
    for lineno, line in numbered_lines(path):
        s = line.strip()
        if not s or s.startswith("=") or s.startswith("Date (UTC)") or s.startswith("#"):
            continue
        yield lineno, s.split()


def _sources(path: str, ip_col: int) -> Counter:
    """Entries per source (column ip_col) of the lines that begin with a date (banner, header
    and comment lines do not); only the columns up to ip_col are split off."""
    c: Counter = Counter()
    for _, line in numbered_lines(path):
        f = line.split(None, ip_col + 1)
        if len(f) > ip_col and _DATE.match(f[0]):
            c[f[ip_col]] += 1
    return c


def _pick_source(path: str, source: str | None) -> str:
    """`source`, or the source with the most entries (first seen wins ties)."""
    counts = _sources(path, 2)
    if not counts:
        raise ValueError(f"{path}: no chrony log entries found")
    if source is None:
        return counts.most_common(1)[0][0]
    if source not in counts:
        raise ValueError(f"{path}: source {source!r} not in the log; it has {sorted(counts)}")
    return source


# tracking.log: date time ip stratum freq_ppm skew_ppm offset leap combined
#               offset_sd remaining_corr root_delay root_disp max_error
_TRACKING_EXTRA = ("stratum", "freq_ppm", "skew_ppm", "combined_sources", "remaining_correction",
                   "root_dispersion", "max_error")
_TRACKING_COLUMNS = tuple((3 + i, n) for i, n in enumerate(
    ("stratum", "freq_ppm", "skew_ppm", "offset", None, "combined_sources", "offset_sd",
     "remaining_correction", "root_delay", "root_dispersion", "max_error")) if n)
_TRACKING_INDEX = {n: i for i, n in _TRACKING_COLUMNS}


def load_chrony_tracking(path, strict: bool = True) -> Trace:
    """chrony's tracking.log: one entry per clock update.

    times: Unix seconds (UTC, 1 s resolution). offsets: -Offset (column 7),
    so reference - local. uncertainty: "Offset sd" (column 10). delay: "Root
    delay" (column 12). extra (seconds unless named): stratum, freq_ppm
    (positive = local clock fast), skew_ppm, combined_sources,
    remaining_correction (chrony's sign: positive = system clock slow of UTC,
    i.e. the same direction as our offsets), root_dispersion, max_error.
    Entries with leap status '?' (not synchronised: no offset estimate) are
    skipped and counted in trace.skipped["unsynchronised"].
    Expects the 14-column layout of current chrony (4.x), as in the example of chrony.conf(5).
    """
    path = check_path(path)
    rows = RowCollector(path, strict, ["offset", "offset_sd", "root_delay", *_TRACKING_EXTRA],
                        keep_last_on_equal_time=True)
    for lineno, f in _data_rows(path):
        try:
            if len(f) != 14:
                raise RowError(f"{path}:{lineno}: expected 14 columns of a tracking.log entry, got {len(f)}")
            t = _utc(f[0], f[1], path, lineno)
            leap = f[7]
            if leap not in _LEAP:
                raise RowError(f"{path}:{lineno}: column 8 (leap status) must be one of N + - ?, got {leap!r}")
            v = parse_floats(f, _TRACKING_COLUMNS, path, lineno)
            _check_nonnegative(v, ("skew_ppm", "offset_sd", "root_delay", "root_dispersion", "max_error"),
                               f, _TRACKING_INDEX, path, lineno)
        except RowError as e:
            rows.bad(e)
            continue
        if leap == "?":
            rows.skip("unsynchronised")
            continue
        v["offset"] = -v["offset"]
        rows.add(lineno, t, v)
    return rows.trace("offset", f"{path}::chrony_tracking", delay="root_delay", uncertainty="offset_sd",
                      extra=_TRACKING_EXTRA, what="synchronised tracking entries")


# measurements.log: date time ip leap stratum t123 t567 tABCD local_poll
#   remote_poll score offset peer_delay peer_disp root_delay root_disp refid
#   mode tx_src rx_src
_MEAS_EXTRA = ("stratum", "local_poll", "remote_poll", "score", "peer_dispersion", "root_delay",
               "root_dispersion")
_MEAS_COLUMNS = ((4, "stratum"), (8, "local_poll"), (9, "remote_poll"), (10, "score"), (11, "offset"),
                 (12, "delay"), (13, "peer_dispersion"), (14, "root_delay"), (15, "root_dispersion"))
_MEAS_INDEX = {n: i for i, n in _MEAS_COLUMNS}


def load_chrony_measurements(path, strict: bool = True, source: str | None = None,
                             valid_only: bool = True) -> Trace:
    """chrony's measurements.log (`log measurements` or `log rawmeasurements`).

    One source per trace: `source` is the IP address (column 3); by default the
    source with the most entries. times: Unix seconds (UTC, 1 s resolution).
    offsets: +Offset (column 12, theta: positive = local clock slow), i.e.
    reference - local. delay: peer delay (column 13, round trip).
    uncertainty: the RFC 5905 error bound of one measurement, delay / 2 +
    peer dispersion. extra: stratum, local_poll, remote_poll (log2 s), score,
    peer_dispersion, root_delay, root_dispersion.
    valid_only: skip entries that failed any test, counted as "failed_tests":
    columns 6-7 (RFC 5905 tests 1-3 and 5-7) or column 8 (chrony's tests
    A-D: maximum delay / sane server processing time, delay ratio, delay
    deviation ratio, no synchronisation loop). chrony uses a measurement only
    when all of them pass (ntp_core.c: good_packet = testA && testB && testC
    && testD, on top of the tests 1-7 of a "synced" packet). A
    `log measurements` log holds every packet that passed tests 1-3 and 5-7,
    so it can hold entries that failed A-D; a `log rawmeasurements` log holds
    every packet, so also entries that failed 1-3 / 5-7. Columns 6-8 must be
    3, 3 and 4 binary digits (else the entry is malformed).
    Peer delay, peer dispersion, root delay and root dispersion must be >= 0.
    Entries of other sources are counted as "other_source".
    """
    path = check_path(path)
    # a plain, well-formed log in one vectorised pass (~2.4x faster); anything else, and every error,
    # is the row loop's (_fast_chrony imports this module, hence here)
    from chronotick.io import _fast_chrony
    fast = _fast_chrony.measurements(path, source, valid_only)
    if fast is not None:
        return fast
    return _measurement_rows(path, strict, source, valid_only)


def _measurement_rows(path: str, strict: bool, source: str | None, valid_only: bool) -> Trace:
    """load_chrony_measurements row by row, `path` checked: every check, error and skip decision."""
    src = _pick_source(path, source)
    rows = RowCollector(path, strict, ["offset", "delay", "uncertainty", *_MEAS_EXTRA],
                        keep_last_on_equal_time=True)
    for lineno, f in _data_rows(path):
        try:
            if len(f) < 16:
                raise RowError(f"{path}:{lineno}: expected at least 16 columns of a measurements.log entry, "
                               f"got {len(f)}")
            t = _utc(f[0], f[1], path, lineno)
            if f[3] not in _LEAP:
                raise RowError(f"{path}:{lineno}: column 4 (leap status) must be one of N + - ?, got {f[3]!r}")
            tests = f[5] + f[6]
            if len(tests) != 6 or set(tests) - {"0", "1"}:
                raise RowError(f"{path}:{lineno}: columns 6-7 must be RFC 5905 test bits like '111', "
                               f"got {f[5]!r} {f[6]!r}")
            abcd = f[7]
            if len(abcd) != 4 or set(abcd) - {"0", "1"}:
                raise RowError(f"{path}:{lineno}: column 8 must be chrony's test bits ABCD like '1111', "
                               f"got {abcd!r}")
            v = parse_floats(f, _MEAS_COLUMNS, path, lineno)
            _check_nonnegative(v, ("delay", "peer_dispersion", "root_delay", "root_dispersion"),
                               f, _MEAS_INDEX, path, lineno)
            v["uncertainty"] = _error_bound(v["delay"], v["peer_dispersion"], "peer delay", "peer dispersion",
                                            f[12], f[13], path, lineno)
        except RowError as e:
            rows.bad(e)
            continue
        if f[2] != src:
            rows.skip("other_source")
            continue
        if valid_only and "0" in tests + abcd:
            rows.skip("failed_tests")
            continue
        rows.add(lineno, t, v)
    return rows.trace("offset", f"{path}::chrony_measurements[{src}]", delay="delay", uncertainty="uncertainty",
                      extra=_MEAS_EXTRA, what=f"measurements of {src}")


# statistics.log: date time ip std_dev est_offset offset_sd diff_freq est_skew
#   stress n_samples start_index n_runs [asymmetry]
_STATS_EXTRA = ("std_dev", "diff_freq", "est_skew", "stress", "n_samples", "start_index", "n_runs")


def load_chrony_statistics(path, strict: bool = True, source: str | None = None) -> Trace:
    """chrony's statistics.log: one entry per regression update of a source.

    One source per trace (`source` = IP address, default: the most frequent).
    times: Unix seconds (UTC, 1 s resolution). offsets: -"Est offset"
    (column 5, positive = local clock fast), i.e. reference - local.
    uncertainty: "Offset sd" (column 6). extra: std_dev (s), diff_freq and
    est_skew (s/s, diff_freq positive = local clock gaining), stress,
    n_samples, start_index, n_runs, and asymmetry when the log has it.
    Std dev, Offset sd and Est skew must be >= 0.
    """
    path = check_path(path)
    src = _pick_source(path, source)
    names = {3: "std_dev", 4: "offset", 5: "offset_sd", 6: "diff_freq", 7: "est_skew", 8: "stress",
             9: "n_samples", 10: "start_index", 11: "n_runs", 12: "asymmetry"}
    index = {n: i for i, n in names.items()}
    columns = {k: tuple((i, n) for i, n in names.items() if i < k) for k in (12, 13)}   # by entry width
    rows = RowCollector(path, strict, list(names.values()), keep_last_on_equal_time=True)
    ncols = None
    for lineno, f in _data_rows(path):
        try:
            if len(f) not in (12, 13) or (ncols is not None and len(f) != ncols):
                want = ncols or "12 or 13"
                raise RowError(f"{path}:{lineno}: expected {want} columns of a statistics.log entry, got {len(f)}")
            t = _utc(f[0], f[1], path, lineno)
            v = parse_floats(f, columns[len(f)], path, lineno)
            _check_nonnegative(v, ("std_dev", "offset_sd", "est_skew"), f, index, path, lineno)
            v.setdefault("asymmetry", 0.0)
        except RowError as e:
            rows.bad(e)
            continue
        ncols = len(f)
        if f[2] != src:
            rows.skip("other_source")
            continue
        v["offset"] = -v["offset"]
        rows.add(lineno, t, v)
    extra = _STATS_EXTRA + (("asymmetry",) if ncols == 13 else ())
    return rows.trace("offset", f"{path}::chrony_statistics[{src}]", uncertainty="offset_sd", extra=extra,
                      what=f"statistics entries of {src}")


# chronyc -c tracking: refid,name,stratum,ref_time,system_time,last_offset,
#   rms_offset,freq_ppm,resid_freq_ppm,skew_ppm,root_delay,root_dispersion,
#   update_interval,leap   (optionally preceded by a query time stamp)
_CHRONYC_LEAP = {"Normal", "Insert second", "Delete second", "Not synchronised"}
_CHRONYC_EXTRA = ("ref_time", "stratum", "last_offset", "rms_offset", "freq_ppm", "residual_freq_ppm",
                  "skew_ppm", "root_delay", "root_dispersion", "update_interval")
# fields that chronyc prints as magnitudes / bounds (shared with sources.chrony.parse_tracking)
_CHRONYC_NONNEGATIVE = ("rms_offset", "skew_ppm", "root_delay", "root_dispersion")
_HEX8 = re.compile(r"^[0-9A-Fa-f]{8}$")
# chronyd's reference ID when it serves its own clock (`local` directive; reference.c
# LOCAL_REFERENCE_ID, 127.127.1.1 as ntpd's LOCAL driver)
LOCAL_REFERENCE_ID = "7F7F0101"


def load_chronyc_tracking(path, strict: bool = True) -> Trace:
    """Lines of `chronyc -c tracking` output (one report per line, appended).

    chronyc's CSV has no query time. A line may carry one as an extra first
    field (e.g. `printf '%s,' "$(date +%s.%N)"; chronyc -c tracking`); then
    that is the row's time. Otherwise the row's time is "Ref time" (the last
    clock update) and repeated reports of the same update keep the last one
    (counted as "duplicate_time"). All lines must be of one kind (a line of
    the other kind is malformed).
    offsets: "System time" as is -- chronyc prints a positive value as "slow
    of NTP time", so it already is NTP time - system time = reference - local.
    uncertainty: root_dispersion + root_delay / 2 (chronyc(1): the bound on
    the clock error beyond |system time offset|). extra (seconds unless
    named): ref_time, stratum, last_offset (converted: -"Last offset", so
    reference - local), rms_offset, freq_ppm (positive = system clock fast),
    residual_freq_ppm, skew_ppm, root_delay, root_dispersion, update_interval.
    Reports with leap status "Not synchronised" are counted as "unsynchronised".
    RMS offset, skew, root delay and root dispersion must be >= 0.
    """
    path = check_path(path)
    rows = RowCollector(path, strict, ["offset", "uncertainty", *_CHRONYC_EXTRA], keep_last_on_equal_time=True)
    names = ("stratum", "ref_time", "offset", "last_offset", "rms_offset", "freq_ppm", "residual_freq_ppm",
             "skew_ppm", "root_delay", "root_dispersion", "update_interval")
    index = {n: 2 + i for i, n in enumerate(names)}
    columns = tuple((i, n) for n, i in index.items())
    width = None      # 14 or 15, fixed by the first well-formed line: one time base for the whole trace
    for lineno, line in numbered_lines(path):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        f = [x.strip() for x in line.split(",")]
        try:
            if len(f) not in (14, 15):
                raise RowError(f"{path}:{lineno}: expected 14 fields of `chronyc -c tracking` (15 with a leading "
                               f"time stamp), got {len(f)}")
            if width is not None and len(f) != width:
                raise RowError(f"{path}:{lineno}: {len(f)} fields, but the earlier reports have {width}: lines "
                               f"with and without a leading query time stamp cannot be mixed (their times "
                               f"would be query times and Ref times in one trace)")
            qt = parse_float(f[0], path, lineno, "query_time") if len(f) == 15 else None
            g = f[1:] if len(f) == 15 else f
            if not _HEX8.match(g[0]):
                raise RowError(f"{path}:{lineno}: reference ID must be 8 hex digits, got {g[0]!r}")
            if g[13] not in _CHRONYC_LEAP:
                raise RowError(f"{path}:{lineno}: unknown leap status {g[13]!r}")
            v = parse_floats(g, columns, path, lineno)
            _check_nonnegative(v, _CHRONYC_NONNEGATIVE, g, index, path, lineno)
            v["uncertainty"] = _error_bound(v["root_delay"], v["root_dispersion"], "root delay", "root dispersion",
                                            g[index["root_delay"]], g[index["root_dispersion"]], path, lineno)
        except RowError as e:
            rows.bad(e)
            continue
        width = len(f)
        if g[13] == "Not synchronised":
            rows.skip("unsynchronised")
            continue
        if g[0].upper() == LOCAL_REFERENCE_ID:
            # chronyd serving its own clock (`local`): offset, root delay and dispersion 0 -- not a
            # measurement of anything, as ChronySource refuses it live (it had loaded as 0 +- 0,
            # and predict then refused the zero uncertainty; an audit, 2026-12-06)
            rows.skip("local_mode")
            continue
        v["last_offset"] = -v["last_offset"]
        rows.add(lineno, qt if qt is not None else v["ref_time"], v)
    return rows.trace("offset", f"{path}::chronyc_tracking", uncertainty="uncertainty", extra=_CHRONYC_EXTRA,
                      what="synchronised tracking reports")
