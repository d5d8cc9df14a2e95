"""Probes of the NTP client and the chronyc source with bad inputs.

Each test pins one defect found by probing: server specs that int() or the
list comprehension let through, resolver / socket errors that escaped
measure(), a timeout too large for the socket layer, an ambiguous Marzullo
majority, and a non-finite chronyc timeout.
"""
import socket

import pytest
from chronotick.errors import NTPError
from chronotick.sources import ChronySource, NTPSource
from chronotick.sources import ntp as ntp_module
from chronotick.sources.ntp import Sample, parse_server, select
from chronotick.testing.ntp_server import NTPTestServer

NS = 1_000_000_000


# ------------------------------------------------------------------ server specs

@pytest.mark.parametrize("spec", [123, None])
def test_non_string_server_gets_the_servers_value_error(spec):
    # was AttributeError: 'int' object has no attribute 'strip'
    with pytest.raises(ValueError, match="servers"):
        NTPSource([spec])


def test_empty_brackets_are_not_a_host():
    with pytest.raises(ValueError, match="servers"):
        parse_server("[]")


@pytest.mark.parametrize("spec", ["h:+123", "h: 123", "h:1_23", "h:\u0661\u0662\u0663", "[::1]:+5"])
def test_port_must_be_ascii_digits(spec):
    with pytest.raises(ValueError, match="port must be an integer"):
        parse_server(spec)


# ------------------------------------------------------------------ errors that escaped measure()

def test_unencodable_host_name_is_a_resolve_failure_not_a_crash():
    bad = "a" * 64 + ".example"           # a DNS label of 64 characters: IDNA raises UnicodeError
    with NTPTestServer(offset_s=0.01) as srv:
        src = NTPSource([srv.address, bad], burst=1, timeout_s=0.5)
        m = src.measure()
    assert m.server == srv.address
    assert src.stats()["per_server"][bad] == {"resolve": 1}


def test_socket_creation_failure_is_a_reason_not_a_crash(monkeypatch):
    real = socket.socket

    def no_ipv6(family=socket.AF_INET, *a, **kw):
        if family == socket.AF_INET6:
            raise OSError(97, "Address family not supported by protocol")
        return real(family, *a, **kw)

    with NTPTestServer(offset_s=0.01) as srv:
        monkeypatch.setattr(ntp_module.socket, "socket", no_ipv6)
        src = NTPSource([srv.address, "[::1]:123"], burst=1, timeout_s=0.5)
        m = src.measure()
        with pytest.raises(NTPError, match="socket_error"):
            NTPSource(["[::1]:123"], burst=1, timeout_s=0.5).measure()
    assert m.server == srv.address
    assert src.stats()["per_server"]["[::1]:123"] == {"socket_error": 1}


def test_huge_timeout_does_not_overflow_the_socket_timeout():
    with NTPTestServer(offset_s=0.01) as srv:
        m = NTPSource([srv.address], burst=1, timeout_s=1e300).measure()
    assert m.offset == pytest.approx(0.01, abs=0.005)


# ------------------------------------------------------------------ Marzullo with an ambiguous majority

def _sample(offset, distance):
    t = int(offset * NS)
    return Sample(0, t, t, 0, 0.0, 0.0, 2, distance)   # delay 0: distance is the whole half-width


@pytest.mark.parametrize("order", [(0, 1, 2), (0, 2, 1), (2, 1, 0)])
def test_two_different_largest_groups_are_no_majority(order):
    # wide A overlaps both B (truth near 0) and the falseticker C: {A, B} and {A, C} are both majorities
    # of 3; the sweep used to keep whichever lay lower on the axis (here C, the falseticker).
    s = [("A", _sample(0.0, 1.0)), ("B", _sample(0.0, 0.01)), ("C", _sample(-0.49, 0.01))]
    assert select([s[i] for i in order]) is None


def test_unique_largest_group_still_selected():
    s = [("A", _sample(0.0, 1.0)), ("B", _sample(0.0, 0.01)), ("C", _sample(0.005, 0.01)),
         ("D", _sample(-0.49, 0.01))]
    assert [n for n, _ in select(s)] == ["A", "B", "C"]


def test_ambiguous_majority_raises_from_measure():
    with NTPTestServer(offset_s=0.0, root_dispersion=0.3) as wide, NTPTestServer(offset_s=0.0) as good, \
            NTPTestServer(offset_s=-0.25) as liar:
        src = NTPSource([wide.address, good.address, liar.address], burst=1, timeout_s=0.5)
        with pytest.raises(NTPError, match="no majority"):
            src.measure()


# ------------------------------------------------------------------ chronyc source

def test_chrony_source_timeout_must_be_finite():
    # inf was accepted and raised OverflowError from subprocess.run in measure()
    with pytest.raises(ValueError, match="timeout_s"):
        ChronySource(timeout_s=float("inf"))
