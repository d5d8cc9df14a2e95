"""An SNTPv4 client (RFC 5905) that measures the local clock's offset.

One exchange, with T1 = our transmit time, T2 = server receive time, T3 =
server transmit time, T4 = our receive time (T1, T4 from CLOCK_REALTIME,
read right around sendto/recvfrom):

    offset theta = ((T2 - T1) + (T3 - T4)) / 2      (reference - local)
    delay  delta = (T4 - T1) - (T3 - T2)

The true offset lies within theta +- lambda (the root distance of the sample,
RFC 5905 root_dist() for a single sample: no jitter term),

    lambda = (root_delay + delta) / 2 + root_dispersion + epsilon,
    epsilon = 2^precision(server) + 2^precision(local) + PHI * (T4 - T1),

PHI = 15e-6 s/s (the frequency tolerance of RFC 5905), which is each
measurement's `uncertainty`. A reply whose lambda exceeds `max_root_distance`
is rejected (RFC 5905 section 11.2.1 and fit(): root distance > MAXDIST), so
the limit covers the sample's own round-trip delay, not only what the server
advertises. (RFC 5905
also floors root_delay + delta at MINDISP = 0.01 s in root_dist(); that floor
is not applied here, as it only matters to its peer selection.)

Per server a burst of `burst` exchanges is sent and the sample of least delay
kept (the one least disturbed by queueing). The servers are queried
concurrently (a thread each) and combined by interval intersection
(Marzullo): the largest set of intervals [theta - lambda, theta + lambda]
that share a common point survives if it is a majority of the servers that
answered and the only set that large; the others are falsetickers. (Two
different largest sets can both be majorities when they share a wide
interval, e.g. [-1, 1], [-0.5, -0.48] and [-0.01, 0.01]: no majority agrees
on one offset, and measure() raises NTPError rather than pick one.) The result is the intersection of the
survivors' intervals -- offset = its midpoint, uncertainty = its half-width --
since the true offset lies in every truechimer's interval. With one server
that is simply theta +- lambda.

Like chrony, the transmit time stamp of a request is random (64 bits) rather
than the local time, so it reveals nothing about the client; the reply's
origin time stamp must equal it. Packets that fail that check, come from
another address/port or cannot be parsed are not replies to us: they are
counted and the exchange keeps waiting until its timeout. Replies that pass it
but are unusable end the exchange with a reason: mode, version, kiss-o'-death
(stratum 0: RATE makes us back off from that server, DENY and RSTR make us
stop querying it), unsynchronised (LI = 3), stratum >= 16, zero origin /
receive / transmit time stamp (ntpd's TEST3, chrony's test 3), reference time
stamp later than the transmit time stamp (RFC 5905 A.5.1.1 packet(): invalid
header values; a zero reference time stamp, "never synchronised", is not
"later" -- such servers send stratum 16 / LI 3, rejected above), negative
delay, server processing time |T3 - T2| over MAX_SERVER_INTERVAL_S (4 s, as
chrony's test A), root distance lambda over `max_root_distance`, and T1 / T4 on
two sides of a step of the local clock (`local_clock_stepped`: T4 - T1 parts
from the CLOCK_MONOTONIC interval read around it by more than 1 ms; a step back
would shorten the delay, so the burst's least-delay choice would prefer it).

Root delay and root dispersion are unsigned (NTP short format, RFC 5905
section 6): 0xFFFF0000 is 65535 s, never -1 s.
"""
from __future__ import annotations

import dataclasses
import ipaddress
import math
import secrets
import socket
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from chronotick._validate import is_int, is_real
from chronotick.errors import NTPError
from chronotick.sources import ntp_packet as pk
from chronotick.sources.measurement import Measurement

NTP_PORT = 123
RATE_BACKOFF_MIN_S = 16.0      # first back-off after a RATE kiss; doubles on each further RATE
RATE_BACKOFF_MAX_S = 1024.0
PHI = 15e-6                    # RFC 5905 frequency tolerance (s/s): dispersion growth
MAX_SERVER_INTERVAL_S = 4.0    # chrony's test A: a server holding a request longer is not sane
LOCAL_STEP_NS = 1_000_000      # T4 - T1 on the local clock parting from CLOCK_MONOTONIC by more: a step

# Reasons that end an exchange (the reply was really for us but is unusable).
FINAL_REASONS = ("mode", "version", "kod_rate", "kod_deny", "kod_rstr", "kod_other", "unsynchronised",
                 "stratum", "zero_origin", "zero_receive", "zero_transmit", "reference_after_transmit",
                 "negative_delay", "server_interval", "root_distance", "local_clock_stepped", "timeout",
                 "socket_error", "resolve")
# Reasons for packets that are not a reply to our request: counted, then we keep waiting.
BOGUS_REASONS = ("wrong_origin", "wrong_source", "truncated", "oversized", "malformed")


def parse_server(spec: str) -> tuple[str, int]:
    """'host', 'host:port', '[v6]:port', '[v6]' or a bare IPv6 address -> (host, port)."""
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError(f"servers: each server must be a non-empty 'host[:port]' string, got {spec!r}")
    s = spec.strip()
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise ValueError(f"servers: unclosed '[' in {spec!r}")
        host, rest = s[1:end], s[end + 1:]
        if rest == "":
            if not host:
                raise ValueError(f"servers: empty host in {spec!r}")
            return host, NTP_PORT
        if not rest.startswith(":"):
            raise ValueError(f"servers: expected ':port' after ']' in {spec!r}")
        port_s = rest[1:]
    elif s.count(":") == 1:
        host, port_s = s.split(":")
    else:                      # a plain host name, IPv4 address, or bare IPv6 address
        return s, NTP_PORT
    # ASCII digits only: int() would also take '+123', ' 123', '1_23' and non-ASCII digits
    if not (port_s.isascii() and port_s.isdigit()):
        raise ValueError(f"servers: port must be an integer in {spec!r}")
    port = int(port_s)
    if not 0 < port < 65536 or not host:
        raise ValueError(f"servers: invalid host or port (1..65535) in {spec!r}")
    return host, port


def _server_key(host: str, port: int) -> tuple[str, int]:
    """What makes two server specs the same server: host names compared case-insensitively
    without a trailing dot, IP addresses in canonical form ('[::1]' = '::1' = '0::1')."""
    h = host.strip().rstrip(".").lower()
    try:
        h = ipaddress.ip_address(h).compressed
    except ValueError:
        pass
    return h, port


@dataclass(frozen=True)
class Sample:
    """One accepted exchange (times in ns of the Unix epoch, CLOCK_REALTIME)."""

    t1: int
    t2: int
    t3: int
    t4: int
    root_delay: float
    root_dispersion: float
    stratum: int
    dispersion: float = 0.0    # epsilon: precisions of both clocks + PHI * (T4 - T1), seconds
    delay_floor: float = -math.inf   # the delay is at least this (a tick inside the precisions: see delay)

    @property
    def offset(self) -> float:
        return ((self.t2 - self.t1) + (self.t3 - self.t4)) / 2e9

    @property
    def delay(self) -> float:
        """delta = (T4 - T1) - (T3 - T2), s; at least delay_floor, which the client sets to the two
        clocks' precisions where delta is negative by no more than those (RFC 5905 A.5.1.1 keeps
        such a sample too, with delay = max(delta, 2^precision))."""
        return max(((self.t4 - self.t1) - (self.t3 - self.t2)) / 1e9, self.delay_floor)

    @property
    def distance(self) -> float:
        """lambda = (root delay + delay) / 2 + root dispersion + dispersion (seconds)."""
        return (self.root_delay + self.delay) / 2 + self.root_dispersion + self.dispersion

    @property
    def midpoint(self) -> float:
        return (self.t1 + self.t4) / 2e9


def _local_precision() -> float:
    """Resolution of the clock T1 and T4 are read from (RFC 5905's system precision), seconds."""
    try:
        r = float(time.get_clock_info("time").resolution)
    except (AttributeError, ValueError, OSError):
        return 1e-6
    return r if math.isfinite(r) and 0 < r < 1 else 1e-6


_LOCAL_PRECISION_S = _local_precision()


class _Rejected(Exception):
    def __init__(self, reason: str, detail: str = ""):
        super().__init__(reason)
        self.reason = reason
        self.detail = detail


def _check_reply(p: pk.Packet, pivot_ns: int) -> None:
    """RFC 5905 sanity checks of a reply whose origin time stamp matched (header values only; the
    checks that need T1..T4 are in NTPSource._exchange). pivot_ns: T1, for the era of time stamps."""
    if p.mode != pk.MODE_SERVER:
        raise _Rejected("mode", f"mode {p.mode}, expected {pk.MODE_SERVER}")
    if p.version not in (3, 4):
        raise _Rejected("version", f"version {p.version}")
    if p.stratum == 0:
        code = p.kiss_code
        reason = {"RATE": "kod_rate", "DENY": "kod_deny", "RSTR": "kod_rstr"}.get(code, "kod_other")
        raise _Rejected(reason, f"kiss-o'-death {code!r}")
    if p.leap == 3:
        raise _Rejected("unsynchronised", "leap indicator 3 (server clock not synchronised)")
    if p.stratum >= 16:
        raise _Rejected("stratum", f"stratum {p.stratum}")
    if p.origin_ts == 0:       # cannot match our (non-zero) transmit time stamp; checked for completeness
        raise _Rejected("zero_origin", "origin time stamp is zero")
    if p.receive_ts == 0:
        raise _Rejected("zero_receive", "receive time stamp is zero")
    if p.transmit_ts == 0:
        raise _Rejected("zero_transmit", "transmit time stamp is zero")
    # RFC 5905 A.5.1.1: p->reftime > r->xmt is an invalid header. Compared after resolving the era
    # (near T1), so a reference time stamp just before the 2036 wrap and a transmit time stamp just
    # after it are ordered correctly; 0 ("never synchronised") is never later, as in the RFC's test.
    if p.reference_ts != 0:
        ref_ns, xmt_ns = pk.ntp_to_ns(p.reference_ts, pivot_ns), pk.ntp_to_ns(p.transmit_ts, pivot_ns)
        if ref_ns > xmt_ns:
            raise _Rejected("reference_after_transmit",
                            f"reference time stamp {(ref_ns - xmt_ns) / 1e9:.9g} s after the transmit time stamp")


class NTPSource:
    """Measure the local clock against NTP servers (SNTPv4 client).

    servers: list of 'host', 'host:port', '[v6]:port' strings.
    burst: exchanges per server per `measure()`; the least-delay sample is
    kept. Default 1: one request per poll, as ntpd and chrony send.
    timeout_s: how long each exchange waits for its reply.
    max_root_distance: replies whose root distance lambda = (root_delay +
    delay) / 2 + root_dispersion + epsilon exceeds this (seconds) are rejected
    (RFC 5905 fit(), MAXDIST).
    burst_interval_s: pause between the exchanges of a burst. Against public
    servers keep it >= 2 s (chrony's and ntpd's iburst spacing): servers that
    rate-limit (ntp.org's `restrict default kod limited`) answer requests
    closer together with a RATE kiss-o'-death, or drop them.

    Kiss-o'-death state is kept per server *address*: a name that resolves
    to several servers (pool.ntp.org) keeps querying the others when one of
    them sends DENY or RSTR (RFC 5905 section 7.4: stop sending to that
    server) or RATE (back off from that server for twice the caller's
    polling interval to it, at least 16 s, doubling on each further RATE
    until a reply without one, up to 1024 s).

    `measure()` returns a `Measurement` (offset = reference - local, seconds)
    or raises `NTPError` listing each server's reason; `stats()` counts
    exchanges and rejections by reason.
    """

    def __init__(self, servers, burst: int = 1, timeout_s: float = 1.0, max_root_distance: float = 1.5,
                 burst_interval_s: float = 0.0):
        if isinstance(servers, str):
            servers = [servers]
        servers = list(servers)
        if not servers:
            raise ValueError("servers: need at least one server, got an empty list")
        parsed = [parse_server(s) for s in servers]   # first: a non-string spec gets its ValueError
        self._servers = [(s.strip(), host, port) for s, (host, port) in zip(servers, parsed)]
        seen: dict[tuple[str, int], str] = {}
        for name, host, port in self._servers:
            key = _server_key(host, port)
            if key in seen:
                # one server listed twice would get two votes in the falseticker selection
                same = "is listed twice" if name == seen[key] else f"is the same server as {seen[key]!r}"
                raise ValueError(f"servers: duplicate server {name!r} ({key[0]} port {key[1]}) {same}; "
                                 f"list each server once")
            seen[key] = name
        # numpy numbers are numbers too (is_int, is_real: chronotick._validate)
        if not is_int(burst) or burst < 1:
            raise ValueError(f"burst must be an integer >= 1, got {burst!r}")
        for name, v in (("timeout_s", timeout_s), ("max_root_distance", max_root_distance)):
            if not is_real(v) or not math.isfinite(v) or v <= 0:
                raise ValueError(f"{name} must be a finite number > 0, got {v!r}")
        if not is_real(burst_interval_s) or not math.isfinite(burst_interval_s) or burst_interval_s < 0:
            raise ValueError(f"burst_interval_s must be a finite number >= 0, got {burst_interval_s!r}")
        self.burst = int(burst)
        self.timeout_s = float(timeout_s)
        self.max_root_distance = float(max_root_distance)
        self.burst_interval_s = float(burst_interval_s)
        self._lock = threading.Lock()
        self._exchanges = 0
        self._accepted = 0
        self._rejected: Counter = Counter()
        self._per_server: dict[str, Counter] = {name: Counter() for name, _, _ in self._servers}
        # kiss-o'-death state per (server name, address) -- a pool name's servers each their own:
        self._backoff: dict[tuple, tuple[float, float]] = {}  # -> (until monotonic, current back-off s)
        self._stopped: dict[tuple, str] = {}                  # -> kiss code (DENY / RSTR)
        self._last_query: dict[tuple, float] = {}             # -> monotonic start of the newest query
        self._address: dict[str, tuple] = {}   # name -> the address its last burst went to (one vote per address)
        self._dead: set[tuple] = set()          # (name, address) whose last burst got no reply at all: tried last
        self.last_samples: dict[str, Sample] = {}            # name -> least-delay sample of the last burst

    @property
    def servers(self) -> list[str]:
        return [name for name, _, _ in self._servers]

    # -- bookkeeping ------------------------------------------------------
    def _count(self, name: str, reason: str) -> None:
        with self._lock:
            self._rejected[reason] += 1
            self._per_server[name][reason] += 1

    def stats(self) -> dict:
        """{'exchanges': n, 'accepted': n, 'rejected': {reason: n}, 'per_server': {server: {reason: n}},
        'backing_off': [servers], 'stopped': {server: kiss code}}. `rejected` counts bogus packets
        (wrong_origin, wrong_source, truncated, oversized, malformed) as well as failed exchanges."""
        with self._lock:
            now = time.monotonic()
            return {
                "exchanges": self._exchanges,
                "accepted": self._accepted,
                "rejected": dict(self._rejected),
                "per_server": {k: dict(v) for k, v in self._per_server.items()},
                "backing_off": sorted({self._label(k) for k, (until, _) in self._backoff.items() if until > now}),
                "stopped": {self._label(k): code for k, code in self._stopped.items()},
            }

    def _label(self, key: tuple) -> str:
        """A kiss-o'-death key (name, address) as stats() shows it: the server's name, with the
        address in parentheses where the name is not that address (a name resolved to it)."""
        name, addr = key
        host = next(h for n, h, _ in self._servers if n == name)
        return name if _server_key(host, 0)[0] == _server_key(addr[0], 0)[0] else f"{name} ({addr[0]})"

    # -- one exchange -----------------------------------------------------
    def _exchange(self, name: str, sock: socket.socket, addr) -> Sample:
        xmt = secrets.randbits(64) or 1
        request = pk.client_request(xmt)
        with self._lock:
            self._exchanges += 1
        deadline = time.monotonic() + self.timeout_s
        try:
            m1 = time.monotonic_ns()
            t1 = time.time_ns()
            sock.sendto(request, addr)
        except OSError as e:
            raise _Rejected("socket_error", f"sendto: {e}") from None
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise _Rejected("timeout", f"no valid reply within {self.timeout_s} s")
            sock.settimeout(min(remaining, 3600.0))   # a huge timeout_s overflows the socket timeout
            try:
                data, src = sock.recvfrom(2048)
                t4 = time.time_ns()
                m4 = time.monotonic_ns()
            except TimeoutError:
                continue
            except OSError as e:       # e.g. ICMP port unreachable on Linux
                raise _Rejected("socket_error", f"recvfrom: {e}") from None
            if tuple(src[:2]) != tuple(addr[:2]):
                self._count(name, "wrong_source")
                continue
            try:
                p = pk.parse(data)
            except pk.PacketError as e:
                self._count(name, e.reason)
                continue
            if p.origin_ts != xmt:
                self._count(name, "wrong_origin")
                continue
            _check_reply(p, t1)
            # T1 and T4 on two sides of a step of the local clock (set by another program): the
            # delay and the offset are off by the step and half of it -- a step back shortens the
            # delay, so the burst's least-delay choice would prefer that sample. CLOCK_MONOTONIC
            # is slewed as CLOCK_REALTIME is but never stepped.
            stepped = (t4 - t1) - (m4 - m1)
            if abs(stepped) > LOCAL_STEP_NS:
                raise _Rejected("local_clock_stepped", f"the local clock was stepped by about {stepped / 1e9:.6g} s "
                                                       f"during the exchange")
            epsilon = 2.0 ** p.precision + _LOCAL_PRECISION_S + PHI * max(0, t4 - t1) / 1e9
            s = Sample(t1, pk.ntp_to_ns(p.receive_ts, t1), pk.ntp_to_ns(p.transmit_ts, t1), t4, p.root_delay,
                       p.root_dispersion, p.stratum, epsilon)
            if s.delay < 0:
                # a clock that ticked between T2 and T3 (or T1 and T4) makes delta negative by up
                # to the two precisions: kept, as RFC 5905's packet() keeps it (until 2026-12-06
                # every such reply was refused: a 2^-6 s server on a LAN; an audit); beyond them,
                # a bogus reply. Its delay is known only to within those precisions and is taken as
                # them (RFC 5905 takes the client's precision, but here the burst keeps its
                # least-delay sample and the delay weighs the measurement: 1 ns had made it win
                # over replies of ms-exact delay; a review, 2026-12-06)
                slack = 2.0 ** p.precision + _LOCAL_PRECISION_S
                if s.delay < -slack:
                    raise _Rejected("negative_delay", f"delay {s.delay:.6g} s, below minus the two clocks' "
                                                      f"precisions ({slack:.3g} s)")
                s = dataclasses.replace(s, delay_floor=slack)
            server_interval = (s.t3 - s.t2) / 1e9
            if abs(server_interval) > MAX_SERVER_INTERVAL_S:
                raise _Rejected("server_interval", f"server processing time T3 - T2 = {server_interval:.6g} s, "
                                                   f"more than {MAX_SERVER_INTERVAL_S} s in magnitude")
            if not s.distance <= self.max_root_distance:
                raise _Rejected("root_distance", f"root distance {s.distance:.6g} s (root delay {s.root_delay:.6g}"
                                                 f" s, delay {s.delay:.6g} s, root dispersion "
                                                 f"{s.root_dispersion:.6g} s) > {self.max_root_distance} s")
            return s

    def _query(self, entry) -> tuple[Sample | None, str]:
        """Burst against one server -> (least-delay sample or None, reason text)."""
        name, host, port = entry
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
        except (OSError, UnicodeError) as e:   # UnicodeError: a name IDNA cannot encode
            self._count(name, "resolve")
            return None, f"resolve: {e}"
        # the first address (in the resolver's order) that has sent no DENY / RSTR and is not
        # in a RATE back-off; a name whose every address has is not queried
        chosen, why, dead = None, [], None
        with self._lock:
            now = time.monotonic()
            for info in infos:
                key = (name, tuple(info[4][:2]))
                if key in self._stopped:
                    why.append(f"stopped querying {key[1][0]} after kiss-o'-death {self._stopped[key]}")
                elif self._backoff.get(key, (0.0, 0.0))[0] > now:
                    left = self._backoff[key][0] - now
                    why.append(f"backing off from {key[1][0]} after kiss-o'-death RATE ({left:.0f} s left)")
                elif key in self._dead:
                    # its last burst got no reply: the next address first (a dual-stack name with a
                    # broken IPv6 path had stayed on it for good; an audit, 2026-12-06), it again
                    # only when every other is unusable too
                    dead = dead or info
                else:
                    chosen = info
                    break
        chosen = chosen or dead
        if chosen is None:
            return None, "; ".join(dict.fromkeys(why))
        family, _, _, _, addr = chosen
        akey = (name, tuple(addr[:2]))
        with self._lock:        # the caller's polling interval to it, for a RATE's back-off
            started = time.monotonic()
            last = self._last_query.get(akey)
            self._last_query[akey] = started
        interval = None if last is None else started - last
        rated = False
        best: Sample | None = None
        reasons: list[str] = []
        try:
            sock = socket.socket(family, socket.SOCK_DGRAM)
        except OSError as e:                   # e.g. IPv6 disabled, out of file descriptors
            self._count(name, "socket_error")
            return None, f"socket_error (socket: {e})"
        with sock:
            for i in range(self.burst):
                if i and self.burst_interval_s:
                    time.sleep(self.burst_interval_s)
                try:
                    s = self._exchange(name, sock, addr)
                except _Rejected as r:
                    self._count(name, r.reason)
                    reasons.append(f"{r.reason} ({r.detail})" if r.detail else r.reason)
                    if r.reason.startswith("kod_"):
                        self._kiss(akey, r.reason, interval)
                        rated = True
                        break
                    continue
                with self._lock:
                    self._accepted += 1
                if best is None or s.delay < best.delay:
                    best = s
        if best is not None and not rated:
            self._rate_cleared(akey)
        with self._lock:
            self._address[name] = akey[1]
            if best is not None or rated or any(not (r.startswith("timeout") or r.startswith("socket_error"))
                                                for r in reasons):
                self._dead.discard(akey)        # it answered (even with a refusal): not a dead path
            else:
                self._dead.add(akey)
        if best is not None:
            with self._lock:
                self.last_samples[name] = best
            return best, ""
        bogus = {k: v for k, v in self._per_server_snapshot(name).items() if k in BOGUS_REASONS}
        text = "; ".join(dict.fromkeys(reasons)) or "no reply"
        if len(infos) > 1:
            text += f" (address {akey[1][0]})"
        if bogus:
            text += " (bogus packets so far: " + ", ".join(f"{k} x{v}" for k, v in sorted(bogus.items())) + ")"
        return None, text

    def _per_server_snapshot(self, name: str) -> dict:
        with self._lock:
            return dict(self._per_server[name])

    def _kiss(self, key: tuple, reason: str, interval: float | None) -> None:
        """A kiss-o'-death from the server at key (name, address): DENY / RSTR stop querying
        it; RATE backs off from it (RFC 5905 section 7.4: reduce the polling rate at once, and
        again on each further RATE) for twice the larger of the last back-off and `interval`,
        the time since the query before this one (the caller's polling interval to it), at
        least RATE_BACKOFF_MIN_S and at most RATE_BACKOFF_MAX_S: the next query waits at least
        two of the caller's polls. The last back-off counts until a query after it gets a reply
        with no RATE (_rate_cleared); replies accepted earlier in the same burst do not clear
        it. (Until 2026-12-05 any accepted reply reset it; until 2026-12-06 a whole back-off
        period without a RATE did, and it started at 16 s whatever the polling: at a 64 s poll
        every RATE came 48 s after a 16 s back-off had ended, so it never slowed the polling;
        an audit.)"""
        with self._lock:
            if reason in ("kod_deny", "kod_rstr"):
                self._stopped[key] = reason[4:].upper()
            elif reason == "kod_rate":
                now = time.monotonic()
                prev = self._backoff.get(key, (0.0, 0.0))[1]
                step = max(RATE_BACKOFF_MIN_S / 2, prev, interval or 0.0) * 2
                step = min(RATE_BACKOFF_MAX_S, step)
                self._backoff[key] = (now + step, step)

    def _rate_cleared(self, key: tuple) -> None:
        """A query to key got a reply without RATE: a later RATE backs off from the polling
        interval again, not from the last back-off."""
        with self._lock:
            if key in self._backoff:
                self._backoff[key] = (self._backoff[key][0], 0.0)

    # -- all servers --------------------------------------------------------
    def measure(self) -> Measurement:
        """Query every server (concurrently), reject falsetickers, combine the survivors."""
        if len(self._servers) == 1:
            results = [self._query(self._servers[0])]
        else:
            with ThreadPoolExecutor(max_workers=len(self._servers)) as ex:
                results = list(ex.map(self._query, self._servers))
        good = [(name, s) for (name, _, _), (s, _) in zip(self._servers, results) if s is not None]
        # one vote per address: two names of one server (localhost and 127.0.0.1, two pool names of
        # one host) had voted twice in the falseticker selection, and a server 1 s off outvoted a
        # good one (an audit, 2026-12-06). Its least-delay sample stands for it, under both names.
        with self._lock:
            addr_of = {name: self._address.get(name) for name, _ in good}
        merged: dict = {}
        for name, s in good:
            a = addr_of.get(name) or name
            if a in merged:
                n0, s0 = merged[a]
                merged[a] = (f"{n0}/{name}", s if s.delay < s0.delay else s0)
            else:
                merged[a] = (name, s)
        good = list(merged.values())
        if not good:
            raise NTPError("no usable NTP reply: " + "; ".join(
                f"{name}: {why}" for (name, _, _), (_, why) in zip(self._servers, results)))
        survivors = select(good)
        if survivors is None:
            raise NTPError("no majority of servers agree (interval intersection failed): " + "; ".join(
                f"{n}: offset {s.offset:+.6f} s +- {s.distance:.6f} s" for n, s in good))
        lo = max(s.offset - s.distance for _, s in survivors)
        hi = min(s.offset + s.distance for _, s in survivors)
        if lo > hi:            # survivors share a point by construction; guard float rounding
            lo = hi = (lo + hi) / 2
        nearest = min(survivors, key=lambda ns: ns[1].distance)[1]
        return Measurement(
            t=sum(s.midpoint for _, s in survivors) / len(survivors),
            offset=(lo + hi) / 2,
            delay=nearest.delay,
            uncertainty=(hi - lo) / 2,
            server=",".join(n for n, _ in survivors),
        )


def select(samples):
    """Marzullo's interval intersection over [offset - lambda, offset + lambda].

    samples: list of (name, Sample). Returns the members of the largest
    group of intervals with a common point, or None when that group is not a
    majority (more than half) of `samples` or is not unique: two different
    largest groups both hold a majority only by sharing a wide interval, and
    which of them are the truechimers cannot be told.
    """
    edges = []
    for i, (_, s) in enumerate(samples):
        edges.append((s.offset - s.distance, 0, i))   # starts sort before ends at the same point
        edges.append((s.offset + s.distance, 1, i))
    edges.sort()
    open_now: set[int] = set()
    best: set[int] = set()
    ties = 0                   # other groups as large as `best` (each appears once, at its last start)
    for _, kind, i in edges:
        if kind == 0:
            open_now.add(i)
            if len(open_now) > len(best):
                best, ties = set(open_now), 0
            elif len(open_now) == len(best):
                ties += 1
        else:
            open_now.discard(i)
    if 2 * len(best) <= len(samples) or ties:
        return None
    return [samples[i] for i in sorted(best)]
