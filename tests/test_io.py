"""Loaders of chronotick.io: real files (shared data, chrony fixtures) and bad input."""
from __future__ import annotations

import calendar
import gzip
import os

import numpy as np
import pytest

from chronotick.io import (FORMATS, Trace, load, load_chrony_measurements, load_chrony_statistics,
                           load_chrony_tracking, load_chronotick_csv, load_chronyc_tracking,
                           load_oscillator_frequency, load_oscillator_phase, load_plain_csv, sniff_format)

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")
SHARED = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "data"))
if not os.path.isdir(SHARED):
    SHARED = "/work/shared/data"
needs_shared = pytest.mark.skipif(not os.path.isdir(SHARED), reason="shared/data not present beside the repo")


def utc(s: str) -> float:
    d, t = s.split()
    return float(calendar.timegm(tuple(int(x) for x in d.split("-")) + tuple(int(x) for x in t.split(":"))))


def write(tmp_path, name, text, gz=False):
    p = tmp_path / name
    if gz:
        with gzip.open(p, "wt") as f:
            f.write(text)
    else:
        p.write_text(text)
    return str(p)


# ---------------------------------------------------------------- ChronoTick CSVs

TRACES = {  # file -> NTP rows (shared/data/README.md)
    "homelab_9h_2025-10-15.csv": 335,
    "homelab_11h_2025-10-16.csv": 414,
    "homelab_2h_2025-10-16.csv": 79,
    "homelab_3h_2025-10-22.csv": 111,
}


@needs_shared
@pytest.mark.parametrize("name,n", sorted(TRACES.items()))
def test_chronotick_csv_real_traces(name, n):
    path = os.path.join(SHARED, "clock-traces", name)
    tr = load_chronotick_csv(path)
    assert len(tr) == n and sniff_format(path) == "chronotick_csv"
    assert np.all(np.diff(tr.times) > 90)  # NTP every 100-120 s
    assert tr.times[0] > 1.7e9  # Unix seconds
    # milliseconds were converted to seconds: offsets of a disciplined clock are ms, not s
    assert np.all(np.abs(tr.offsets) < 0.1)
    # hold-last baseline of the README (~2-3.3 ms MAE) reproduces: units and order are right
    hold = np.mean(np.abs(np.diff(tr.offsets)))
    assert 1.5e-3 < hold < 3.5e-3
    proto = tr.extra["prototype_offset"]
    assert proto.shape == tr.times.shape
    if "11h" in name:  # the diverged prototype run (README: 453 ms)
        assert np.nanmean(np.abs(proto - tr.offsets)) > 0.3
    # no file has a usable uncertainty: the 3h file's ntp_uncertainty_ms is a 0 placeholder on every row
    assert tr.uncertainty is None
    if "3h" in name:
        assert tr.delay is None
    else:
        assert tr.delay is not None and np.all(tr.delay > 0)
    assert tr.skipped == {}


CT_HEADER = "system_time,chronotick_offset_ms,chronotick_source,ntp_offset_ms,ntp_delay_ms\n"


def test_chronotick_csv_values_units_and_error_rows(tmp_path):
    p = write(tmp_path, "t.csv", CT_HEADER + "100.0,1.0,cpu,2.5,40\n110.0,1.2,cpu,,\n120.0,0.0,error,-1.5,30\n")
    tr = load_chronotick_csv(p)
    np.testing.assert_allclose(tr.times, [100.0, 120.0])
    np.testing.assert_allclose(tr.offsets, [2.5e-3, -1.5e-3])
    np.testing.assert_allclose(tr.delay, [0.040, 0.030])
    np.testing.assert_allclose(tr.extra["prototype_offset"][0], 1e-3)
    assert np.isnan(tr.extra["prototype_offset"][1])  # start-up "error" row has no prediction
    # gzip works the same
    pz = write(tmp_path, "t.csv.gz", CT_HEADER + "100.0,1.0,cpu,2.5,40\n", gz=True)
    assert load(pz).offsets[0] == pytest.approx(2.5e-3)


@pytest.mark.parametrize("row,why", [
    ("110.0,1.0,cpu,abc,40", "ntp_offset_ms"),
    ("110.0,1.0,cpu,nan,40", "not finite"),
    ("oops,1.0,cpu,2.0,40", "system_time"),
    ("100.0,1.0,cpu,2.0,40", "not after"),
    ("110.0,1.0,cpu,2.0,40,7,8", "fields"),
    ("110.0,1.0,cpu,2.0,-4", "negative"),
])
def test_chronotick_csv_malformed_rows(tmp_path, row, why):
    p = write(tmp_path, "bad.csv", CT_HEADER + "100.0,1.0,cpu,2.5,40\n" + row + "\n120.0,1.0,cpu,3.0,40\n")
    with pytest.raises(ValueError, match=f"bad.csv:3: .*{why}"):
        load_chronotick_csv(p)
    tr = load_chronotick_csv(p, strict=False)
    assert len(tr) == 2 and tr.skipped == {"malformed": 1}


@pytest.mark.parametrize("blank", ["   ", "\t", " \t ", ""])
def test_chronotick_csv_whitespace_only_line_is_blank(tmp_path, blank):
    # An audit (2026-12-06): a line of spaces was a malformed row of one field (strict: ValueError);
    # the other loaders skip it as blank. Later lines keep their numbers.
    p = write(tmp_path, "ws.csv", CT_HEADER + "100.0,1.0,cpu,2.5,40\n" + blank + "\r\n110.0,1.0,cpu,2.6,40\n")
    tr = load_chronotick_csv(p)
    np.testing.assert_allclose(tr.offsets, [2.5e-3, 2.6e-3])
    assert tr.skipped == {}
    p = write(tmp_path, "ws.csv", CT_HEADER + "100.0,1.0,cpu,2.5,40\n" + blank + "\n110.0,1.0,cpu,x,40\n")
    with pytest.raises(ValueError, match=r"ws\.csv:4: column 'ntp_offset_ms' is not a number: 'x'"):
        load_chronotick_csv(p)


def test_chronotick_csv_wrong_header_and_no_rows(tmp_path):
    with pytest.raises(ValueError, match="not a ChronoTick CSV.*ntp_offset_ms"):
        load_chronotick_csv(write(tmp_path, "x.csv", "a,b\n1,2\n"))
    with pytest.raises(ValueError, match="no NTP measurements"):
        load_chronotick_csv(write(tmp_path, "y.csv", CT_HEADER + "100.0,1.0,cpu,,\n"))


# ---------------------------------------------------------------- missing / empty files

@pytest.mark.parametrize("fmt", sorted(FORMATS) + ["auto"])
def test_missing_empty_and_directory(tmp_path, fmt):
    with pytest.raises(FileNotFoundError, match="no such file"):
        load(str(tmp_path / "nope.log"), format=fmt)
    with pytest.raises(ValueError, match="file is empty"):
        load(write(tmp_path, "empty.log", ""), format=fmt)
    with pytest.raises(IsADirectoryError):
        load(str(tmp_path), format=fmt)


def test_load_bad_arguments(tmp_path):
    p = write(tmp_path, "a.csv", "0,1\n1,2\n")
    with pytest.raises(ValueError, match="unknown format 'csv'"):
        load(p, format="csv")
    with pytest.raises(TypeError, match="path must be"):
        load(12)
    with pytest.raises(ValueError, match="cannot tell the format"):
        load(write(tmp_path, "prose.txt", "hello world\nthis is not a trace\n"))


# ---------------------------------------------------------------- chrony logs (real fixtures)

def test_chrony_tracking_real_log():
    path = os.path.join(DATA, "chrony_tracking.log")
    assert sniff_format(path) == "chrony_tracking"
    tr = load(path)
    assert tr.skipped == {"unsynchronised": 1}  # the start-up entry with leap '?'
    assert len(tr) == 62  # 63 entries, 1 unsynchronised, banners and headers skipped
    # "2026-11-24 02:32:38 127.0.0.1 2 -3.739 51.697 -6.456e-07 N 2 8.083e-07 -1.875e-06 6.505e-06 ..."
    i = int(np.flatnonzero(tr.times == utc("2026-11-24 02:32:38"))[0])
    assert tr.offsets[i] == pytest.approx(+6.456e-07)  # chrony: positive = fast -> ours negated
    assert tr.uncertainty[i] == pytest.approx(8.083e-07)
    assert tr.delay[i] == pytest.approx(6.505e-06)
    assert tr.extra["freq_ppm"][i] == pytest.approx(-3.739)
    assert tr.extra["remaining_correction"][i] == pytest.approx(-1.875e-06)
    assert np.all(np.diff(tr.times) > 0)


def test_chrony_log_gzipped_and_bom(tmp_path):
    text = open(os.path.join(DATA, "chrony_tracking.log")).read()
    p = write(tmp_path, "tracking.log.gz", text, gz=True)
    assert sniff_format(p) == "chrony_tracking"
    np.testing.assert_array_equal(load(p).offsets, load(os.path.join(DATA, "chrony_tracking.log")).offsets)
    # a CSV saved by a spreadsheet program starts with a UTF-8 byte order mark
    q = tmp_path / "bom.csv"
    q.write_bytes("\ufeff".encode() + (CT_HEADER + "100.0,1.0,cpu,2.5,40\n").encode())
    assert load(str(q)).offsets[0] == pytest.approx(2.5e-3)


def test_chrony_measurements_real_log():
    path = os.path.join(DATA, "chrony_measurements.log")
    assert sniff_format(path) == "chrony_measurements"
    a = load_chrony_measurements(path, source="127.0.0.1")
    b = load_chrony_measurements(path, source="127.0.0.2")
    assert a.source.endswith("[127.0.0.1]") and b.source.endswith("[127.0.0.2]")
    entries = [ln.split() for ln in open(path) if ln.startswith("2026-")]
    # rows that failed chrony's tests A-D (column 8 not 1111; chrony's good_packet) are skipped:
    # the log holds four (1101, test C) among its entries
    failed = [f for f in entries if "0" in f[5] + f[6] + f[7]]
    assert len(failed) == 4
    assert a.skipped["failed_tests"] + b.skipped["failed_tests"] == len(failed)
    assert len(a) + len(b) + a.skipped["duplicate_time"] + b.skipped["duplicate_time"] + len(failed) == len(entries)
    assert a.skipped["other_source"] == sum(f[2] == "127.0.0.2" for f in entries)
    # the iburst put several entries in one second: the last one of the second is kept
    # "2026-11-24 02:32:37 127.0.0.1 N 1 111 111 1111 0 0 0.00 -1.685e-06 7.~" is the last .1 entry at :37
    i = int(np.flatnonzero(a.times == utc("2026-11-24 02:32:37"))[0])
    assert a.offsets[i] == pytest.approx(-1.685e-06)  # theta: same sign as ours
    assert np.all(a.uncertainty == pytest.approx(a.delay / 2 + a.extra["peer_dispersion"]))
    assert np.all(a.delay > 0)
    assert load(path).source == load_chrony_measurements(path).source  # default: most entries
    with pytest.raises(ValueError, match="source '192.0.2.1' not in the log"):
        load_chrony_measurements(path, source="192.0.2.1")


def test_chrony_statistics_real_log():
    path = os.path.join(DATA, "chrony_statistics.log")
    assert sniff_format(path) == "chrony_statistics"
    tr = load_chrony_statistics(path, source="127.0.0.1")
    lines = [ln.split() for ln in open(path) if ln.startswith("2026") and " 127.0.0.1 " in ln]
    last_per_second = {}
    for f in lines:
        last_per_second[utc(f[0] + " " + f[1])] = f
    assert len(tr) == len(last_per_second)
    for t, off, sd, f in zip(tr.times, tr.offsets, tr.uncertainty, [last_per_second[k] for k in sorted(last_per_second)]):
        assert t == utc(f[0] + " " + f[1])
        assert off == pytest.approx(-float(f[4]))  # "Est offset": positive = local fast
        assert sd == pytest.approx(float(f[5]))
    assert "asymmetry" in tr.extra


def test_chrony_log_malformed_entries(tmp_path):
    text = open(os.path.join(DATA, "chrony_tracking.log")).read().splitlines()
    bad = list(text)
    bad[5] = bad[5][:40]  # truncated entry
    bad[8] = bad[8].replace(" N ", " Q ")  # unknown leap status
    p = write(tmp_path, "tracking.log", "\n".join(bad) + "\n")
    with pytest.raises(ValueError, match=r"tracking.log:6: expected 14 columns"):
        load_chrony_tracking(p)
    tr = load_chrony_tracking(p, strict=False)
    assert tr.skipped["malformed"] == 2 and len(tr) == 60
    # time going backwards (e.g. two logs concatenated in the wrong order)
    entries = [ln for ln in text if ln.startswith("2026")]
    p2 = write(tmp_path, "back.log", "\n".join(entries[10:20] + entries[2:5]) + "\n")
    with pytest.raises(ValueError, match="back.log:11: time .* is not after"):
        load_chrony_tracking(p2)
    assert load_chrony_tracking(p2, strict=False).skipped == {"malformed": 3}


def test_chrony_rawmeasurements_failed_tests(tmp_path):
    base = [ln for ln in open(os.path.join(DATA, "chrony_measurements.log"))
            if " 127.0.0.1 " in ln and " 111 111 1111 " in ln][-3:]      # rows that passed every test
    failed = base[1].replace(" 111 111 ", " 111 101 ")
    p = write(tmp_path, "measurements.log", "".join([base[0], failed, base[2]]))
    assert len(load_chrony_measurements(p)) == 2
    assert load_chrony_measurements(p).skipped == {"failed_tests": 1}
    assert len(load_chrony_measurements(p, valid_only=False)) == 3


def test_an_uncertainty_that_overflows_is_that_entrys_error(tmp_path):
    # An audit (2026-12-06): delay / 2 + dispersion of two finite values near the double range is
    # inf; Trace refused it without file:line and strict=False lost the whole load, not the entry
    good = [ln for ln in open(os.path.join(DATA, "chrony_measurements.log")) if " 127.0.0.1 " in ln and
            " 111 111 1111 " in ln][-3:]
    f = good[1].split()
    f[12] = f[13] = "1.7e+308"
    p = write(tmp_path, "m.log", good[0] + " ".join(f) + "\n" + good[2])
    with pytest.raises(ValueError, match=r"m\.log:2: uncertainty = peer delay / 2 \+ peer dispersion overflows: "
                                         r"'1\.7e\+308' / 2 \+ '1\.7e\+308'"):
        load_chrony_measurements(p)
    tr = load_chrony_measurements(p, strict=False)
    assert len(tr) == 2 and tr.skipped == {"malformed": 1}
    # chronyc -c tracking's root dispersion + root delay / 2, the same
    line = "7F000001,127.0.0.1,2,{t},-1e-6,0.0,0.0,0.0,0.0,0.0,{d},{d},64.0,Normal\n"
    q = write(tmp_path, "c.csv", line.format(t=100.5, d="0.001") + line.format(t=164.5, d="1.7e308") +
              line.format(t=228.5, d="0.001"))
    with pytest.raises(ValueError, match=r"c\.csv:2: uncertainty = root delay / 2 \+ root dispersion overflows"):
        load_chronyc_tracking(q)
    tr = load_chronyc_tracking(q, strict=False)
    assert len(tr) == 2 and tr.skipped == {"malformed": 1}


# ---------------------------------------------------------------- chronyc -c tracking

def test_chronyc_tracking_sign_matches_chronyc_text():
    # One query of chronyc 4.3, CSV and text taken back to back:
    #   System time : 0.000002726 seconds fast of NTP time
    #   Last offset : -0.000000152 seconds
    #   Frequency   : 0.031 ppm fast
    # "fast" = local clock ahead of NTP time, so reference - local < 0.
    csv_line = ("7F000001,127.0.0.1,2,1795487858.097529603,-0.000002726,-0.000000152,0.000000445,0.031,"
                "-0.001,0.043,0.000007481,0.000002396,1.0,Normal\n")
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        p = os.path.join(d, "tracking.csv")
        open(p, "w").write(csv_line)
        assert sniff_format(p) == "chronyc_tracking"
        tr = load(p)
    assert tr.offsets[0] == pytest.approx(-2.726e-06)  # 2.726 us fast -> negative offset
    assert tr.extra["last_offset"][0] == pytest.approx(+1.52e-07)  # chrony: positive = ahead -> negated
    assert tr.extra["freq_ppm"][0] == pytest.approx(0.031)
    assert tr.times[0] == pytest.approx(1795487858.097529603)
    assert tr.uncertainty[0] == pytest.approx(2.396e-06 + 7.481e-06 / 2)


def test_chronyc_tracking_real_files():
    plain = load(os.path.join(DATA, "chronyc_tracking.csv"))
    stamped = load(os.path.join(DATA, "chronyc_tracking_timestamped.csv"))
    assert len(plain) == len(stamped) == 12
    np.testing.assert_array_equal(plain.offsets, stamped.offsets)
    np.testing.assert_array_equal(plain.times, plain.extra["ref_time"])  # no query time: ref time
    assert np.all(stamped.times > stamped.extra["ref_time"])  # queried after the update


def test_chronyc_tracking_duplicates_unsync_and_bad(tmp_path):
    line = "7F000001,127.0.0.1,2,{t},{o},0.0,0.0,0.0,0.0,0.0,0.001,0.0005,64.0,{leap}\n"
    text = (line.format(t=100.5, o=-1e-6, leap="Normal") + line.format(t=100.5, o=-2e-6, leap="Normal")
            + line.format(t=164.5, o=3e-6, leap="Not synchronised") + line.format(t=170.0, o=4e-6, leap="Normal"))
    tr = load_chronyc_tracking(write(tmp_path, "c.csv", text))
    np.testing.assert_allclose(tr.offsets, [-2e-6, 4e-6])  # same update polled twice: last kept
    assert tr.skipped == {"duplicate_time": 1, "unsynchronised": 1}
    p = write(tmp_path, "bad.csv", text + "7F000001,127.0.0.1,2,180.0,xyz\n")
    with pytest.raises(ValueError, match="bad.csv:5: expected 14 fields"):
        load_chronyc_tracking(p)
    assert load_chronyc_tracking(p, strict=False).skipped["malformed"] == 1


# ---------------------------------------------------------------- plain CSV

@pytest.mark.parametrize("text,unc", [
    ("t,offset\n0,0.001\n1,0.002\n2,0.0015\n", False),
    ("# comment\n0,0.001,1e-4\n1,0.002,1e-4\n2,0.0015,2e-4\n", True),
    ("0 0.001\n1 0.002\n2 0.0015\n", False),
])
def test_plain_csv(tmp_path, text, unc):
    p = write(tmp_path, "p.csv", text)
    assert sniff_format(p) == "plain_csv"
    tr = load(p)
    np.testing.assert_allclose(tr.times, [0, 1, 2])
    np.testing.assert_allclose(tr.offsets, [0.001, 0.002, 0.0015])
    assert (tr.uncertainty is not None) == unc
    assert isinstance(tr, Trace)


@pytest.mark.parametrize("row,why", [
    ("3,abc,0", "'offset' is not a number"),
    ("3,0.1,-1", "uncertainty must be >= 0"),
    ("3,0.1", "expected 3 columns"),
    ("1,0.1,0", "not after"),
    ("3,inf,0", "not finite"),
    ("3,0.1,", "'uncertainty' is not a number"),
])
def test_plain_csv_malformed(tmp_path, row, why):
    p = write(tmp_path, "p.csv", f"t,offset,unc\n0,0.1,0\n2,0.2,0\n{row}\n4,0.3,0\n")
    with pytest.raises(ValueError, match=f"p.csv:4: .*{why}"):
        load_plain_csv(p)
    tr = load_plain_csv(p, strict=False)
    assert len(tr) == 3 and tr.skipped == {"malformed": 1}


def test_plain_csv_header_only(tmp_path):
    with pytest.raises(ValueError, match="no measurements found"):
        load_plain_csv(write(tmp_path, "h.csv", "t,offset\n"))


def test_plain_csv_header_not_utf8_is_refused(tmp_path):
    # An audit (2026-12-06): "offset (µs)" saved as cp1252 / Latin-1 (Excel's CSV on Windows) was
    # decoded with its 'µ' as U+FFFD, no unit was seen, and microseconds were read as seconds
    text = "t (s),offset (\u00b5s)\n0,12.5\n64,13.1\n"
    p = tmp_path / "us.csv"
    p.write_bytes(text.encode("latin-1"))
    assert sniff_format(str(p)) == "plain_csv"
    with pytest.raises(ValueError, match=r"us\.csv:1: column 'offset \(\ufffds\)' is not UTF-8 text .*cp1252"):
        load(str(p))
    p.write_bytes(text.encode("utf-8"))      # the same header in UTF-8: refused for its unit, as before
    with pytest.raises(ValueError, match=r"us\.csv:1: column 'offset \(\u00b5s\)' \(offset\) names a unit"):
        load(str(p))


# ---------------------------------------------------------------- oscillators

@needs_shared
def test_ocxo_frequency_real():
    path = os.path.join(SHARED, "oscillators", "ocxo_frequency_1s.txt")
    assert sniff_format(path) == "oscillator_frequency"
    tr = load(path)
    f = np.loadtxt(path)  # the file: 19982 readings in Hz
    assert len(tr) == f.size + 1
    y = (f - 10e6) / 10e6
    np.testing.assert_allclose(tr.extra["fractional_frequency"][1:], y)
    np.testing.assert_allclose(-tr.offsets, np.concatenate(([0], np.cumsum(y))), rtol=0, atol=1e-15)
    np.testing.assert_allclose(np.diff(tr.times), 1.0)
    # Stable32's Allan deviation at tau = 1 s of this file is 7.6106e-11 (ocxo_stable32_adev.txt)
    x = -tr.offsets
    adev1 = np.sqrt(0.5 * np.mean(np.diff(x, 2) ** 2))
    assert adev1 == pytest.approx(7.6106e-11, rel=1e-3)


@needs_shared
def test_cs_phase_real():
    path = os.path.join(SHARED, "oscillators", "cs5071a_phase_1s.txt.gz")
    assert sniff_format(path) == "oscillator_phase"
    tr = load(path)
    assert len(tr) == 556990  # "556990 datapoints in total"
    assert tr.times[0] == 1391174210.0 and tr.times[-1] == 1391731199.0  # first / last datapoint comments
    # Stable32 summary of the file: max 8.174899e-07, min 7.642786e-07 (time error; offsets are -x)
    assert -tr.offsets.min() == pytest.approx(8.174899e-07, rel=1e-6)
    assert -tr.offsets.max() == pytest.approx(7.642786e-07, rel=1e-6)


@pytest.mark.parametrize("first", [2000.0, 8.0e6])
def test_phase_file_in_ns_is_sniffed_by_its_comment(tmp_path, first):
    # An audit (2026-12-06): numbers above 1e3 made it a frequency file whatever its comments said:
    # refused with a message about Hz, or (5-15 ms of time error in ns) integrated as 10 MHz readings
    p = tmp_path / "phase_ns.txt"
    p.write_text("# TIC: GPSDO 1PPS vs reference\n# phase data, unit: ns\n# data interval 1.0 s\n" +
                 "".join(f"{first + 10 * k:.3f}\n" for k in range(20)))
    assert sniff_format(str(p)) == "oscillator_phase"
    tr = load(str(p))
    np.testing.assert_allclose(tr.offsets, -(first + 10 * np.arange(20)) * 1e-9)
    p.write_text("# phase data (unit: us)\n" + "".join(f"{first + k}\n" for k in range(5)))
    assert sniff_format(str(p)) == "oscillator_phase"
    p.write_text("# counter reference unit: 10MHz\n" + "".join(f"{10e6 + 0.1 * k}\n" for k in range(5)))
    assert sniff_format(str(p)) == "oscillator_frequency"     # no phase declared: the numbers decide


def test_oscillator_malformed_and_params(tmp_path):
    p = write(tmp_path, "f.txt", "# freq\n10000000.1\n10000000.2\nbad\n10000000.3\n")
    with pytest.raises(ValueError, match="f.txt:4: column 'value' is not a number: 'bad'"):
        load_oscillator_frequency(p)
    tr = load_oscillator_frequency(p, strict=False)
    assert tr.skipped == {"malformed": 1} and len(tr) == 5
    y = np.array([0.1, 0.2, 0.2, 0.3]) / 10e6  # the bad reading holds the previous frequency
    np.testing.assert_allclose(-tr.offsets, np.concatenate(([0], np.cumsum(y))), rtol=1e-6)
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="tau must be finite and > 0"):
            load_oscillator_frequency(p, strict=False, tau=bad)
    with pytest.raises(ValueError, match="nominal_hz must be finite and > 0"):
        load_oscillator_frequency(p, strict=False, nominal_hz=0)
    ph = write(tmp_path, "x.txt", "1e-9\n2e-9\n1 2\n4e-9\n")
    with pytest.raises(ValueError, match="x.txt:3: expected one number per line"):
        load_oscillator_phase(ph)
    tr = load_oscillator_phase(ph, strict=False, tau=2.0, t0=10.0)
    np.testing.assert_allclose(tr.times, [10.0, 12.0, 16.0])  # the bad slot keeps its time
    np.testing.assert_allclose(tr.offsets, [-1e-9, -2e-9, -4e-9])
    with pytest.raises(ValueError, match="no data lines"):
        load_oscillator_phase(write(tmp_path, "c.txt", "# only a comment\n"))


def test_oscillator_first_datapoint_comment_read_whole_and_t0_checked(tmp_path):
    # "1.39e9" had been read as 1.39 and "-100" as no time (t0 = 0), silently
    p = tmp_path / "phase.txt"
    p.write_text("# first datapoint 1.39e9 2014-01-31\n1e-9\n2e-9\n")
    assert load_oscillator_phase(str(p)).times[0] == 1.39e9
    p.write_text("# first datapoint -100\n1e-9\n2e-9\n")
    assert load_oscillator_phase(str(p)).times[0] == -100.0
    p.write_text("# first datapoint soon\n1e-9\n2e-9\n")
    with pytest.raises(ValueError, match=r"phase.txt:1: 'first datapoint' time must be a number of seconds, got 'soon'"):
        load_oscillator_phase(str(p))
    p.write_text("1e-9\n2e-9\n")
    for bad in (float("nan"), "abc", float("inf")):
        with pytest.raises(ValueError, match="t0 must be a"):
            load_oscillator_phase(str(p), t0=bad)
        with pytest.raises(ValueError, match="t0 must be a"):
            load_oscillator_frequency(str(p), t0=bad)


def test_a_truncated_gzip_is_a_value_error_naming_the_file(tmp_path):
    import gzip
    p = tmp_path / "phase.txt.gz"
    data = "".join(f"{v:.12e}\n" for v in np.random.default_rng(0).standard_normal(5000)).encode()
    p.write_bytes(gzip.compress(data)[:20000])
    with pytest.raises(ValueError, match="phase.txt.gz: truncated or corrupt gzip"):
        load_oscillator_phase(str(p))


def test_a_frequency_reading_far_from_the_nominal_is_malformed(tmp_path):
    # Found by an audit (2026-12-05): a truncated last line ("1000" for "10000000.1") was taken
    # as a reading and put a ~1 s jump into the time error
    from chronotick.io import load
    p = tmp_path / "f.txt"
    p.write_text("10000000.1\n10000000.2\n10000000.3\n1000\n")
    with pytest.raises(ValueError, match=r"f\.txt:4: frequency reading \(Hz\) '1000' is not within 0\.001 "
                                         r"\(relative\) of nominal_hz = 1e\+07 Hz"):
        load(str(p), format="oscillator_frequency")
    tr = load(str(p), format="oscillator_frequency", strict=False)
    assert tr.skipped == {"malformed": 1} and abs(tr.offsets[-1]) < 1e-7


def test_a_5mhz_oscillator_is_refused_at_the_default_nominal(tmp_path):
    # An audit (2026-12-06): 0.5-1.5 x nominal_hz let a 5 MHz output through the default 10e6 as
    # y = -0.5, a time error of 0.5 s per second; a crystal oscillator is within +-100 ppm of its own
    p = tmp_path / "f5.txt"
    p.write_text("".join(f"{5e6 + 0.02 + 1e-3 * k:.9f}\n" for k in range(10)))
    with pytest.raises(ValueError, match=r"f5\.txt:1: frequency reading \(Hz\) '5000000\.020000000' is not "
                                         r"within 0\.001 \(relative\) of nominal_hz = 1e\+07 Hz"):
        load(str(p))
    with pytest.raises(ValueError, match="no valid data lines"):
        load(str(p), strict=False)
    tr = load(str(p), nominal_hz=5e6)
    assert abs(tr.offsets[-1]) < 1e-7 and tr.skipped == {}
    for v in (10e6 * (1 + 1.01e-3), 10e6 * (1 - 1.01e-3)):     # just outside the tolerance, either side
        p.write_text(f"10000000.1\n{v!r}\n")
        with pytest.raises(ValueError, match=r"f5\.txt:2: .*not within 0\.001"):
            load(str(p), format="oscillator_frequency")
    p.write_text(f"{10e6 * (1 + 0.99e-3)!r}\n{10e6 * (1 - 0.99e-3)!r}\n")   # inside: read
    assert len(load(str(p), format="oscillator_frequency")) == 3


def test_frequency_file_comments_set_tau_and_t0(tmp_path):
    # An audit (2026-12-06): the frequency loader read neither comment (the phase loader reads both):
    # 10 s readings were integrated at 1 s (a 10x too small time error), their times from 0
    p = tmp_path / "f10.txt"
    p.write_text("# 10 MHz OCXO vs H-maser, counter gate 10 s\n# first datapoint 1391174210\n"
                 "# data interval 10.0 s\n" + "10000000.05\n" * 360)
    tr = load(str(p))
    assert tr.times[0] == 1391174210.0 and tr.times[-1] - tr.times[0] == 3600.0
    np.testing.assert_allclose(np.diff(tr.times), 10.0)
    assert tr.offsets[-1] == pytest.approx(-5e-9 * 3600, rel=1e-6)
    tr = load_oscillator_frequency(str(p), tau=10.0, t0=0.0)       # given, agreeing: as given
    assert tr.times[0] == 0.0 and tr.offsets[-1] == pytest.approx(-5e-9 * 3600, rel=1e-6)
    with pytest.raises(ValueError, match=r"tau = 1\.0 s, but .*f10\.txt:3 declares a data interval of 10\.0 s"):
        load_oscillator_frequency(str(p), tau=1.0)
    p.write_text("# data interval: 100 ms\n10000000.1\n10000000.1\n")
    np.testing.assert_allclose(load(str(p)).times, [0.0, 0.1, 0.2])
    p.write_text("# data interval 0 s\n10000000.1\n")
    with pytest.raises(ValueError, match=r"f10\.txt:1: data interval .0. is not a number > 0"):
        load(str(p))
