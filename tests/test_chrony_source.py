"""NTPSource and ChronySource against real chronyd processes on loopback.

A server chronyd (`local stratum 8`, -x: no clock control) and a client
chronyd synchronised to it; skipped with the reason when chronyd is absent.
"""
import pytest
from chronotick.errors import NTPError
from chronotick.sources import ChronySource, NTPSource
from chronotick.sources.chrony import parse_tracking
from chronotick.testing import chronyd

OK, WHY = chronyd.available()
needs_chronyd = pytest.mark.skipif(not OK, reason=WHY)


@pytest.fixture(scope="module")
def chrony_server():
    with chronyd.Chronyd(local_stratum=8) as c:
        yield c


@pytest.fixture(scope="module")
def chrony_client(chrony_server):
    with chronyd.Chronyd(servers=[chrony_server.address], serve=False) as c:
        c.wait_synchronised()
        yield c


@needs_chronyd
def test_ntp_source_against_chronyd(chrony_server):
    src = NTPSource([chrony_server.address], burst=4, timeout_s=1.0)
    m = src.measure()
    # same host, same clock: the offset is only the exchange's asymmetry
    assert abs(m.offset) < 0.003
    assert 0 <= m.delay < 0.01
    sample = src.last_samples[chrony_server.address]
    assert sample.stratum == 8          # chronyd serves its `local stratum`
    assert m.uncertainty == pytest.approx(sample.distance)
    st = src.stats()
    assert st["exchanges"] == 4 and st["accepted"] == 4 and st["rejected"] == {}


@needs_chronyd
def test_ntp_source_two_chronyds_and_test_server_falseticker(chrony_server, chrony_client):
    from chronotick.testing.ntp_server import NTPTestServer
    with chronyd.Chronyd(local_stratum=9) as second, NTPTestServer(offset_s=2.0) as liar:
        src = NTPSource([chrony_server.address, second.address, liar.address], burst=2)
        m = src.measure()
    assert abs(m.offset) < 0.003
    assert liar.address not in m.server and chrony_server.address in m.server


@needs_chronyd
def test_chrony_source_reads_synchronised_client(chrony_client, chrony_server):
    src = ChronySource(socket=chrony_client.command_socket)
    m = src.measure()
    rep = src.last_report
    assert rep["stratum"] == 9                       # one below its server's stratum 8
    assert rep["name"] == "127.0.0.1"
    assert m.offset == rep["system_time"]            # sign: + System time = reference - local
    assert abs(m.offset) < 0.003
    assert m.uncertainty == pytest.approx(rep["root_dispersion"] + rep["root_delay"] / 2)
    assert m.server == "chronyd:127.0.0.1"


@needs_chronyd
def test_chrony_source_local_reference_is_not_a_measurement(chrony_server):
    # a chronyd serving its own clock (`local stratum 8`, no source) reports reference ID 7F7F0101,
    # offset 0, root delay and dispersion 0, leap Normal: not a measurement (until 2026-12-05
    # read as offset 0 +- 0, a Clock SYNCHRONIZED within microseconds of nothing; an audit)
    with pytest.raises(NTPError, match="7F7F0101: its own clock"):
        ChronySource(socket=chrony_server.command_socket).measure()


def _fake_chronyc(tmp_path, line: str) -> str:
    exe = tmp_path / "chronyc"
    exe.write_text(f"#!/bin/sh\necho '{line}'\n")
    exe.chmod(0o755)
    return str(exe)


def test_chrony_source_local_mode_refused_without_chronyd(tmp_path):
    local = "7F7F0101,,10,1795487558.000000000,0.000000000,0.000000000,0.000000000,1.837,0.000,0.000,0.0,0.0,0.0,Normal"
    with pytest.raises(NTPError, match="not synchronised to an external source"):
        ChronySource(chronyc=_fake_chronyc(tmp_path, local)).measure()
    synced = local.replace("7F7F0101,", "7F000001,127.0.0.1").replace(",0.000000000,0.000000000,0.000000000,",
                                                                     ",0.000015000,0.000004799,0.000004799,", 1)
    m = ChronySource(chronyc=_fake_chronyc(tmp_path, synced)).measure()
    assert m.offset == 1.5e-5 and m.server == "chronyd:127.0.0.1"


def test_chrony_source_takes_numpy_numbers():
    import numpy as np
    assert ChronySource(timeout_s=np.int64(5)).timeout_s == 5.0
    assert ChronySource(timeout_s=np.float32(2.5)).timeout_s == 2.5


@needs_chronyd
def test_chrony_source_no_daemon(tmp_path):
    with pytest.raises(NTPError, match="chronyc failed"):
        ChronySource(socket=str(tmp_path / "nothing.sock"), timeout_s=10).measure()


def test_chrony_source_missing_executable():
    with pytest.raises(NTPError, match="not found"):
        ChronySource(chronyc="/nonexistent/chronyc").measure()


def test_parse_tracking_sign_and_errors():
    # chronyc prints +1.5e-5 as "0.000015 seconds slow of NTP time": local is behind -> offset > 0
    line = ("7F000001,127.0.0.1,2,1795487558.823507230,0.000015000,0.000004799,0.000004799,-0.368,0.037,"
            "10.181,0.000015157,0.000016236,1.0,Normal")
    rep = parse_tracking(line)
    assert rep["system_time"] == 1.5e-5 and rep["leap"] == "Normal" and rep["stratum"] == 2
    with pytest.raises(NTPError, match="14"):
        parse_tracking("a,b,c")
    with pytest.raises(NTPError, match="root_delay"):
        parse_tracking(line.replace("0.000015157", "x"))
    with pytest.raises(ValueError, match="timeout_s"):
        ChronySource(timeout_s=0)
