"""A programmable NTP server on loopback, for tests.

    with NTPTestServer(offset_s=0.020, delay_s=0.004) as srv:
        srv.queue("kod_rate", "ok", "wrong_origin")   # next three requests
        NTPSource([srv.address]).measure()

It is a real UDP server (127.0.0.1, ephemeral port) answering in a thread. By
default each request gets a correct mode-4 reply whose time stamps make the
client measure `offset_s` (server clock = local clock + offset_s) and a path
delay of `delay_s`: the server holds the request for delay_s and reports
T2 = T3 = receive time + offset_s + delay_s / 2, i.e. as if the path took
delay_s / 2 each way and the server answered at once. Then
theta = ((T2 - T1) + (T3 - T4)) / 2 = offset_s (up to the real loopback
latency) and delta = (T4 - T1) - (T3 - T2) = delay_s + loopback latency.

`queue(*cases)` makes the next requests get a case each (then default ones):

    ok              the default reply (optionally queue(Reply("ok", offset_s=..., delay_s=...)))
    wrong_origin    origin time stamp not the client's transmit time stamp
    mode3           mode 3 instead of 4
    version2        version 2
    li3             leap indicator 3 (unsynchronised)
    kod_rate / kod_deny / kod_rstr   stratum 0 with kiss code RATE / DENY / RSTR
    stratum16       stratum 16
    zero_transmit   transmit time stamp 0
    root_distance   root delay 4 s, root dispersion 2 s
    negative_delay  T3 one second after T2: the server claims to have held the request longer
                    than the whole round trip, so delta < 0
    tick_delay      a server of 2^-6 s (15.6 ms) precision whose clock ticked between T2 and T3:
                    T3 5 ms after T2, delta about -5 ms, within the precision (accepted, its delay
                    taken as the two precisions; RFC 5905 A.5.1.1 keeps it too)
    truncated       only the first 40 bytes
    oversized       1500 bytes: a header then garbage
    malformed_ext   a header then 18 bytes that are no extension field or MAC
    extension       a valid reply followed by an extension field and a 20-byte MAC (accepted)
    wrong_port      a valid reply sent from another UDP port
    drop            no reply

`Reply(case, then_ok=True)` sends the faulty packet and then a correct reply,
to check that a client ignores bogus packets and still takes the real one.
"""
from __future__ import annotations

import os
import socket
import struct
import threading
import time
from collections import deque
from dataclasses import dataclass

from chronotick.sources import ntp_packet as pk

CASES = ("ok", "wrong_origin", "mode3", "version2", "li3", "kod_rate", "kod_deny", "kod_rstr", "stratum16",
         "zero_transmit", "root_distance", "negative_delay", "tick_delay", "truncated", "oversized", "malformed_ext", "extension",
         "wrong_port", "drop")


@dataclass(frozen=True)
class Reply:
    """What to answer one request with; None = the server's default."""

    case: str = "ok"
    offset_s: float | None = None
    delay_s: float | None = None
    then_ok: bool = False      # after the faulty packet also send a correct reply (spoofing resilience)

    def __post_init__(self):
        if self.case not in CASES:
            raise ValueError(f"case must be one of {CASES}, got {self.case!r}")


class NTPTestServer:
    """UDP NTP server on 127.0.0.1 with programmed offsets, delays and faults.

    offset_s: server time - local time (what a client should measure), seconds.
    delay_s: round-trip delay the client should measure (besides loopback), seconds.
    stratum, root_delay, root_dispersion: what replies advertise.
    """

    def __init__(self, offset_s: float = 0.0, delay_s: float = 0.0, stratum: int = 2,
                 root_delay: float = 0.001, root_dispersion: float = 0.001, host: str = "127.0.0.1"):
        self.offset_s = float(offset_s)
        self.delay_s = float(delay_s)
        self.stratum = int(stratum)
        self.root_delay = float(root_delay)
        self.root_dispersion = float(root_dispersion)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self._sock = socket.socket(family, socket.SOCK_DGRAM)
        self._sock.bind((host, 0))
        self._other = socket.socket(family, socket.SOCK_DGRAM)   # for "wrong_port"
        self._other.bind((host, 0))
        self.host, self.port = self._sock.getsockname()[:2]
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.requests = 0
        self.served: list[str] = []     # the case used for each request, in order
        self.received_ns: list[int] = []  # local receive time of each request

    @property
    def address(self) -> str:
        """'127.0.0.1:port' ('[::1]:port' for IPv6), as NTPSource takes it."""
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    def queue(self, *cases) -> None:
        """Answer the next requests with these cases (str or Reply), in order."""
        items = [c if isinstance(c, Reply) else Reply(c) for c in cases]
        with self._lock:
            self._queue.extend(items)

    def start(self) -> NTPTestServer:
        self._sock.settimeout(0.05)
        self._thread = threading.Thread(target=self._serve, name=f"ntp-test-server:{self.port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2.0)
        self._sock.close()
        self._other.close()

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # -- serving ------------------------------------------------------------
    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                data, client = self._sock.recvfrom(2048)
            except TimeoutError:
                continue
            except OSError:
                return
            recv_ns = time.time_ns()
            with self._lock:
                reply = self._queue.popleft() if self._queue else Reply()
                self.requests += 1
                self.served.append(reply.case)
                self.received_ns.append(recv_ns)
            try:
                self._answer(data, client, recv_ns, reply)
            except OSError:
                if self._stop.is_set():
                    return

    def _answer(self, data: bytes, client, recv_ns: int, r: Reply) -> None:
        if len(data) < pk.HEADER_LEN or r.case == "drop":
            return
        req = pk.parse(data[:pk.HEADER_LEN])
        offset = self.offset_s if r.offset_s is None else r.offset_s
        delay = self.delay_s if r.delay_s is None else r.delay_s
        if delay > 0:
            time.sleep(max(0.0, recv_ns / 1e9 + delay - time.time()))
        stamp = pk.ns_to_ntp(recv_ns + int(round((offset + delay / 2) * 1e9)))
        fields = dict(leap=0, version=4, mode=pk.MODE_SERVER, stratum=self.stratum, poll=4, precision=-20,
                      root_delay=self.root_delay, root_dispersion=self.root_dispersion, ref_id=b"LOCL",
                      reference_ts=stamp - (16 << 32), origin_ts=req.transmit_ts, receive_ts=stamp,
                      transmit_ts=stamp)
        c = r.case
        if c == "wrong_origin":
            fields["origin_ts"] = req.transmit_ts ^ 0x5A5A5A5A
        elif c == "mode3":
            fields["mode"] = 3
        elif c == "version2":
            fields["version"] = 2
        elif c == "li3":
            fields["leap"] = 3
        elif c.startswith("kod_"):
            fields.update(leap=3, stratum=0, ref_id=c[4:].upper().encode())
        elif c == "stratum16":
            fields["stratum"] = 16
        elif c == "zero_transmit":
            fields["transmit_ts"] = 0
        elif c == "root_distance":
            fields.update(root_delay=4.0, root_dispersion=2.0)
        elif c == "negative_delay":
            fields["transmit_ts"] = stamp + (1 << 32)
        elif c == "tick_delay":
            fields.update(transmit_ts=stamp + int(0.005 * (1 << 32)), precision=-6)
        out = pk.encode(pk.Packet(**fields))
        if c == "truncated":
            out = out[:40]
        elif c == "oversized":
            out = out + os.urandom(1500 - len(out))
        elif c == "malformed_ext":
            out = out + b"\x00\x02\x00\x40" + bytes(14)      # claims 64 bytes, only 18 follow
        elif c == "extension":
            value = b"chronotick-test!"                      # 16 bytes: field length 20
            out = out + struct.pack("!HH", 0x0104, 4 + len(value)) + value + struct.pack("!I", 7) + bytes(16)
        sender = self._other if c == "wrong_port" else self._sock
        sender.sendto(out, client)
        if r.then_ok and c != "ok":
            fields.update(leap=0, version=4, mode=pk.MODE_SERVER, stratum=self.stratum, ref_id=b"LOCL",
                          root_delay=self.root_delay, root_dispersion=self.root_dispersion,
                          origin_ts=req.transmit_ts, transmit_ts=stamp)
            self._sock.sendto(pk.encode(pk.Packet(**fields)), client)
