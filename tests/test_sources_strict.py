"""Strict input checks of the NTP client, the chrony readers and the oscillator loaders.

Each test pins one rule: RFC 5905 header and time stamp checks of NTP replies,
no duplicate servers, impossible dates / negative bounds / failed chrony tests
in chrony logs, non-positive oscillator frequencies and numbers with
digit-group underscores.
"""
import os
import socket
import struct
import threading
import time

import numpy as np
import pytest
from chronotick.errors import NTPError
from chronotick.io import (load_chrony_measurements, load_chrony_statistics, load_chrony_tracking,
                           load_chronyc_tracking, load_oscillator_frequency, load_oscillator_phase)
from chronotick.io._common import RowError, parse_float
from chronotick.sources import ChronySource, NTPSource
from chronotick.sources import ntp_packet as pk
from chronotick.sources.chrony import parse_tracking
from chronotick.testing.ntp_server import NTPTestServer

NS = 1_000_000_000


# ------------------------------------------------------------------ a raw fake NTP server

class RawServer:
    """UDP server on 127.0.0.1 answering each request with make(request, receive_ns) -> bytes.

    Unlike NTPTestServer it can send any header: raw root delay bits, any time stamp."""

    def __init__(self, make):
        self.make = make
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self._stop = threading.Event()

    def __enter__(self):
        self._t = threading.Thread(target=self._serve, daemon=True)
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(2)
        self.sock.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                data, client = self.sock.recvfrom(2048)
            except (TimeoutError, socket.timeout):
                continue
            except OSError:
                return
            recv_ns = time.time_ns()
            self.sock.sendto(self.make(pk.parse(data), recv_ns), client)


def reply(req, recv_ns, *, li=0, stratum=2, rd=0x0000_0100, rdisp=0x0000_0100, ref=None, rec=None, xmt=None,
          precision=-20):
    """A mode-4 reply to `req`; rd / rdisp are the raw 32-bit fields; ref / rec / xmt raw time stamps."""
    now = time.time_ns()
    t2 = pk.ns_to_ntp(recv_ns) if rec is None else rec
    t3 = pk.ns_to_ntp(now) if xmt is None else xmt
    r = pk.ns_to_ntp(recv_ns - 16 * NS) if ref is None else ref
    return struct.pack("!BBbbII4sQQQQ", (li << 6) | (4 << 3) | 4, stratum, 4, precision, rd, rdisp, b"GPS\0",
                       r, req.transmit_ts, t2, t3)


def measure_raw(make, **kw):
    """(NTPError or Measurement, stats) of one exchange against a RawServer."""
    kw.setdefault("burst", 1)
    kw.setdefault("timeout_s", 0.5)
    with RawServer(make) as srv:
        src = NTPSource([srv.address], **kw)
        try:
            out = src.measure()
        except NTPError as e:
            out = e
        return out, src.stats(), src


def assert_rejected(out, st, reason):
    assert isinstance(out, NTPError), f"accepted: {out}"
    assert reason in str(out)
    assert st["rejected"] == {reason: 1} and st["accepted"] == 0 and st["exchanges"] == 1


# ------------------------------------------------------------------ 1. reference time stamp after transmit

def test_reference_timestamp_after_transmit_is_rejected():
    out, st, _ = measure_raw(lambda q, rn: reply(q, rn, ref=pk.ns_to_ntp(rn + 86400 * NS)))
    assert_rejected(out, st, "reference_after_transmit")


def test_reference_timestamp_just_before_transmit_is_accepted():
    out, st, _ = measure_raw(lambda q, rn: reply(q, rn, ref=pk.ns_to_ntp(rn - NS // 1000)))
    assert not isinstance(out, NTPError), out
    assert st["accepted"] == 1 and st["rejected"] == {}


@pytest.mark.parametrize("kw,reason", [({"li": 3}, "unsynchronised"), ({"stratum": 16}, "stratum")])
def test_zero_reference_timestamp_of_unsynchronised_server_keeps_its_reason(kw, reason):
    out, st, _ = measure_raw(lambda q, rn: reply(q, rn, ref=0, **kw))
    assert_rejected(out, st, reason)


# ------------------------------------------------------------------ 2. zero receive time stamp

def test_zero_receive_timestamp_is_rejected():
    out, st, _ = measure_raw(lambda q, rn: reply(q, rn, rec=0))
    assert_rejected(out, st, "zero_receive")


# ------------------------------------------------------------------ 3. root delay is unsigned

def test_root_delay_is_parsed_unsigned():
    head = bytes([0x24, 2, 6, 0xEC]) + bytes.fromhex("FFFF0000") + bytes.fromhex("00018000") + bytes(40)
    p = pk.parse(head)
    assert p.root_delay == 65535.0 and p.root_dispersion == 1.5
    assert p.root_distance == pytest.approx(65535.0 / 2 + 1.5)
    # the encoder writes unsigned fields and refuses negative ones
    back = pk.parse(pk.encode(p))
    assert back.root_delay == 65535.0
    with pytest.raises(ValueError, match="root_delay"):
        pk.encode(pk.Packet(0, 4, 4, 2, 4, -20, -1.0, 0.0, b"GPS\0", 0, 0, 0, 1))


@pytest.mark.parametrize("rd", [0xFFFF0000, 0xFFFFFFFF, 0x8000_0000])
def test_huge_root_delay_fails_root_distance(rd):
    out, st, _ = measure_raw(lambda q, rn: reply(q, rn, rd=rd))
    assert_rejected(out, st, "root_distance")


# ------------------------------------------------------------------ 4. root distance includes the sample's delay

def test_root_distance_includes_round_trip_delay():
    with NTPTestServer(delay_s=0.3, root_delay=0.001, root_dispersion=0.001) as srv:
        src = NTPSource([srv.address], burst=1, timeout_s=2.0, max_root_distance=0.1)
        with pytest.raises(NTPError, match="root_distance"):
            src.measure()       # advertised root distance 0.0015 s, but the sample's own delay is 0.3 s
        assert src.stats()["rejected"] == {"root_distance": 1}
        ok = NTPSource([srv.address], burst=1, timeout_s=2.0, max_root_distance=0.5)
        m = ok.measure()
    s = ok.last_samples[srv.address]
    assert m.uncertainty == pytest.approx(s.distance)
    assert s.distance == pytest.approx((s.root_delay + s.delay) / 2 + s.root_dispersion + s.dispersion)
    assert 2.0 ** -20 < s.dispersion < 1e-4     # server precision 2^-20 + local precision + PHI * (T4 - T1)


def test_receive_after_transmit_inflates_delay_and_fails_root_distance():
    # T2 three seconds after T3: delay 3 s, offset biased by 1.5 s
    out, st, _ = measure_raw(lambda q, rn: reply(q, rn, rec=pk.ns_to_ntp(rn + 3 * NS)), max_root_distance=1.0)
    assert_rejected(out, st, "root_distance")


def test_server_processing_time_over_4s_is_rejected():
    out, st, _ = measure_raw(lambda q, rn: reply(q, rn, rec=pk.ns_to_ntp(rn + 5 * NS)),
                             max_root_distance=100.0)
    assert_rejected(out, st, "server_interval")


# ------------------------------------------------------------------ 5. duplicate servers

@pytest.mark.parametrize("servers", [
    ["ntp.example.org", "ntp.example.org:123"],
    ["a.example", "b.example", "A.Example."],
    ["[::1]:123", "::1"],
    ["127.0.0.1:4123", "127.0.0.1:4123", "127.0.0.2:4123"],
])
def test_duplicate_servers_are_refused(servers):
    with pytest.raises(ValueError, match="duplicate server"):
        NTPSource(servers)


def test_same_host_other_port_is_another_server():
    assert NTPSource(["127.0.0.1:4123", "127.0.0.1:4124", "127.0.0.1"]).servers == [
        "127.0.0.1:4123", "127.0.0.1:4124", "127.0.0.1"]


# ------------------------------------------------------------------ chrony logs: helpers

TRACK = "{d} 12:00:00 127.0.0.1 2 -0.235 2.474 1.000e-03 N 2 {sd} -1.884e-06 {rd} 2.071e-06 2.726e-05\n"
MEAS = ("{d} 00:00:0{s} 127.0.0.1 N 1 111 111 {abcd} 0 0 0.00 -4.0e-06 {dl} {dp} 0.000e+00 0.000e+00 "
        "7F7F0101 4B K K\n")
STATS = "{d} 00:00:0{s} 127.0.0.1 1.184e-06 1.876e-06 {sd} -7.010e-06 2.381e-03 3.5e-03 3 0 3 0.00\n"


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def track(d="2025-01-01", sd="1.0e-06", rd="7.042e-06"):
    return TRACK.format(d=d, sd=sd, rd=rd)


def meas(s=0, d="2026-11-24", abcd="1111", dl="1.0e-05", dp="2.0e-06"):
    return MEAS.format(d=d, s=s, abcd=abcd, dl=dl, dp=dp)


def stats(s=0, d="2026-11-24", sd="3.0e-07"):
    return STATS.format(d=d, s=s, sd=sd)


# ------------------------------------------------------------------ 6. impossible dates

@pytest.mark.parametrize("date", ["2025-02-30", "2025-03-00", "2025-01-45", "2025-04-31", "2025-13-01"])
def test_chrony_impossible_date_is_malformed(tmp_path, date):
    good = track("2025-01-01").replace("12:00:00", "11:00:00")
    p = write(tmp_path, "tracking.log", good + track(date))
    with pytest.raises(ValueError, match=f"tracking.log:2: invalid date '{date}'"):
        load_chrony_tracking(p)
    tr = load_chrony_tracking(p, strict=False)
    assert len(tr) == 1 and tr.skipped == {"malformed": 1}
    m = write(tmp_path, "measurements.log", meas(0) + meas(1, d=date))
    with pytest.raises(ValueError, match="measurements.log:2: invalid date"):
        load_chrony_measurements(m)
    s = write(tmp_path, "statistics.log", stats(0) + stats(1, d=date))
    with pytest.raises(ValueError, match="statistics.log:2: invalid date"):
        load_chrony_statistics(s)


# ------------------------------------------------------------------ 7. negative bounds in chrony logs

@pytest.mark.parametrize("load,rows,column", [
    (load_chrony_tracking, [track("2025-01-01"), track("2025-01-02", sd="-1.0e-03")], "offset_sd"),
    (load_chrony_tracking, [track("2025-01-01"), track("2025-01-02", rd="-5.0e-01")], "root_delay"),
    (load_chrony_measurements, [meas(0), meas(1, dp="-1e-3")], "peer_dispersion"),
    (load_chrony_measurements, [meas(0), meas(1, dl="-1e-3")], "delay"),
    (load_chrony_statistics, [stats(0), stats(1, sd="-1e-3")], "offset_sd"),
])
def test_chrony_negative_bound_is_malformed(tmp_path, load, rows, column):
    p = write(tmp_path, "x.log", "".join(rows))
    with pytest.raises(ValueError, match=f"x.log:2: column '{column}' must be >= 0, got '-"):
        load(p)
    tr = load(p, strict=False)
    assert len(tr) == 1 and tr.skipped == {"malformed": 1}
    assert np.all(tr.uncertainty >= 0)


CHRONYC = ("7F000001,127.0.0.1,2,1795479157.190571,0.000001234,-0.000000501,0.000001042,-0.231,-0.000,0.040,"
           "0.000012981,0.000021032,1.0,Normal")


@pytest.mark.parametrize("old,new,field", [
    ("0.000012981", "-0.5", "root_delay"),
    ("0.000021032", "-0.5", "root_dispersion"),
])
def test_chronyc_negative_root_values_rejected_by_loader_and_source(tmp_path, old, new, field):
    line = CHRONYC.replace(old, new)
    p = write(tmp_path, "c.csv", CHRONYC.replace("1795479157", "1795479100") + "\n" + line + "\n")
    with pytest.raises(ValueError, match=f"c.csv:2: column '{field}' must be >= 0"):
        load_chronyc_tracking(p)
    assert load_chronyc_tracking(p, strict=False).skipped == {"malformed": 1}
    with pytest.raises(NTPError, match=f"field '{field}' must be >= 0, got '-0.5'"):
        parse_tracking(line)


@pytest.mark.parametrize("leap", ["Bogus", ""])
def test_chronyc_unknown_leap_status_rejected_like_the_loader(tmp_path, leap):
    line = CHRONYC.replace("Normal", leap)
    with pytest.raises(NTPError, match="field 'leap' must be one of"):
        parse_tracking(line)
    with pytest.raises(ValueError, match="unknown leap status"):
        load_chronyc_tracking(write(tmp_path, "c.csv", line + "\n"))


def fake_chronyc(tmp_path, line):
    exe = tmp_path / "chronyc"
    exe.write_text("#!/bin/sh\necho '%s'\n" % line)
    exe.chmod(0o755)
    return str(exe)


def test_chrony_source_names_bad_field_and_does_not_abs_root_delay(tmp_path):
    m = ChronySource(chronyc=fake_chronyc(tmp_path, CHRONYC)).measure()
    assert m.delay == pytest.approx(1.2981e-05) and m.uncertainty == pytest.approx(2.1032e-05 + 1.2981e-05 / 2)
    for old, field in (("0.000012981", "root_delay"), ("0.000021032", "root_dispersion")):
        src = ChronySource(chronyc=fake_chronyc(tmp_path, CHRONYC.replace(old, "-0.5")))
        with pytest.raises(NTPError, match=f"'{field}' must be >= 0"):
            src.measure()
    with pytest.raises(NTPError, match="leap"):
        ChronySource(chronyc=fake_chronyc(tmp_path, CHRONYC.replace("Normal", "Bogus"))).measure()


# ------------------------------------------------------------------ 8. chrony's tests A-D in measurements.log

def test_measurements_failed_abcd_tests_are_skipped(tmp_path):
    p = write(tmp_path, "m.log", meas(0) + meas(1, abcd="0111") + meas(2, abcd="1101") + meas(3))
    tr = load_chrony_measurements(p)
    assert len(tr) == 2 and tr.skipped == {"failed_tests": 2}
    assert len(load_chrony_measurements(p, valid_only=False)) == 4


@pytest.mark.parametrize("abcd", ["XYZW", "111", "11111", "1121"])
def test_measurements_malformed_abcd_column(tmp_path, abcd):
    p = write(tmp_path, "m.log", meas(0) + meas(1, abcd=abcd) + meas(2))
    with pytest.raises(ValueError, match=f"m.log:2: column 8 must be chrony's test bits ABCD like '1111', "
                                         f"got '{abcd}'"):
        load_chrony_measurements(p)
    tr = load_chrony_measurements(p, strict=False)
    assert len(tr) == 2 and tr.skipped == {"malformed": 1}


# ------------------------------------------------------------------ 9. non-positive oscillator frequencies

@pytest.mark.parametrize("reading", ["0", "-10000000.1", "0.0e0"])
def test_nonpositive_frequency_reading_is_malformed(tmp_path, reading):
    p = write(tmp_path, "f.txt", f"10000000.1\n{reading}\n10000000.3\n")
    with pytest.raises(ValueError, match=f"f.txt:2: frequency reading \\(Hz\\) must be > 0, got '{reading}'"):
        load_oscillator_frequency(p)
    tr = load_oscillator_frequency(p, strict=False)
    assert tr.skipped == {"malformed": 1}
    y = np.array([0.1, 0.1, 0.3]) / 10e6      # the bad reading holds the previous frequency
    np.testing.assert_allclose(-tr.offsets, np.concatenate(([0], np.cumsum(y))), rtol=1e-6)


# ------------------------------------------------------------------ 10. digit-group underscores

@pytest.mark.parametrize("text", ["2_0e-7", "1_000", "1e1_0", "\u0661\u0662"])
def test_parse_float_takes_only_plain_notation(text):
    with pytest.raises(RowError, match="is not a number"):
        parse_float(text, "f", 1, "c")
    for ok, v in (("1.5e-3", 1.5e-3), (" -2 ", -2.0), ("+.5", 0.5), ("7.", 7.0)):
        assert parse_float(ok, "f", 1, "c") == v


def test_underscore_numbers_rejected_by_loaders(tmp_path):
    ph = write(tmp_path, "p.txt", "1e-7\n2_0e-7\n3e-7\n")
    with pytest.raises(ValueError, match="p.txt:2: column 'value' is not a number: '2_0e-7'"):
        load_oscillator_phase(ph)
    assert load_oscillator_phase(ph, strict=False).skipped == {"malformed": 1}
    fr = write(tmp_path, "f.txt", "10000000.1\n1_0000000.2\n10000000.3\n")
    with pytest.raises(ValueError, match="f.txt:2: .*not a number: '1_0000000.2'"):
        load_oscillator_frequency(fr)
    tl = write(tmp_path, "t.log", track("2025-01-01", sd="1_0e-06"))
    with pytest.raises(ValueError, match="t.log:1: column 'offset_sd' is not a number"):
        load_chrony_tracking(tl)
    with pytest.raises(NTPError, match="'root_delay' is not a number"):
        parse_tracking(CHRONYC.replace("0.000012981", "0.000_012981"))


def test_chrony_source_reads_a_name_that_is_not_utf8(tmp_path):
    """Audit finding (session 23): a tracking line whose name field held bytes that are not UTF-8
    was a UnicodeDecodeError out of measure(); the numbers do not depend on the name."""
    name = CHRONYC.split(",")[1]
    exe = tmp_path / "chronyc"
    exe.write_bytes(b"#!/bin/sh\nprintf '%s\\n'\n" % CHRONYC.replace(name, "\\377\\376" + name, 1).encode())
    exe.chmod(0o755)
    m = ChronySource(chronyc=str(exe)).measure()
    assert m.delay == pytest.approx(1.2981e-05) and "\ufffd" in m.server
