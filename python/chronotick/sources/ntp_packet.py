"""NTP packet layout and time stamps (RFC 5905 section 7.3).

The 48-byte header, big-endian:

    LI(2) VN(3) Mode(3) | Stratum | Poll | Precision (int8)
    Root Delay       (unsigned 16.16 seconds: NTP short format, RFC 5905 sections 6 and 7.3)
    Root Dispersion  (unsigned 16.16 seconds, likewise)
    Reference ID     (4 bytes; for stratum 0 the ASCII "kiss code")
    Reference, Origin, Receive, Transmit time stamps (64-bit: 32.32 seconds since 1900)

After the header an NTPv4 packet may carry extension fields (RFC 7822: type
16 bit, length 16 bit counting the whole field, length a multiple of 4 and at
least 16) and then a MAC (key ID + digest: 20 or 24 bytes, or a 4-byte
crypto-NAK). `parse` checks that the bytes after the header are exactly that
and otherwise rejects the packet as malformed.

Time stamps here are integers in nanoseconds of the Unix epoch; NTP's era
ambiguity (the 32-bit seconds wrap in 2036) is resolved by taking the era that
puts the time stamp nearest a pivot (the local time of the exchange).
"""
from __future__ import annotations

import math
import struct
from dataclasses import dataclass

HEADER_LEN = 48
MAX_PACKET_LEN = 1024          # anything longer is not a reply we asked for
NTP_UNIX_DELTA = 2208988800    # seconds from 1900-01-01 to 1970-01-01
_ERA = 1 << 32

MODE_CLIENT = 3
MODE_SERVER = 4

_HEADER = struct.Struct("!BBbbII4sQQQQ")   # root delay and dispersion: unsigned 16.16


class PacketError(ValueError):
    """The bytes are not a well-formed NTP packet; `reason` is a short key."""

    def __init__(self, reason: str, detail: str):
        super().__init__(f"{reason}: {detail}")
        self.reason = reason


@dataclass(frozen=True)
class Packet:
    """A decoded NTP header. Time stamps are raw 64-bit NTP values (int);
    root_delay and root_dispersion are in seconds (unsigned: 0 .. 65536 - 2^-16)."""

    leap: int
    version: int
    mode: int
    stratum: int
    poll: int
    precision: int
    root_delay: float
    root_dispersion: float
    ref_id: bytes
    reference_ts: int
    origin_ts: int
    receive_ts: int
    transmit_ts: int

    @property
    def kiss_code(self) -> str:
        """The reference ID as ASCII (meaningful when stratum is 0)."""
        return self.ref_id.decode("ascii", "replace").rstrip("\x00")

    @property
    def root_distance(self) -> float:
        """root_delay / 2 + root_dispersion, seconds."""
        return self.root_delay / 2.0 + self.root_dispersion


def encode(p: Packet) -> bytes:
    """The 48-byte header of `p`. Root delay and root dispersion are unsigned
    16.16 fields: a negative or non-finite value raises ValueError, one of
    65536 s or more is stored as the largest value (65535.99998 s)."""
    first = ((p.leap & 3) << 6) | ((p.version & 7) << 3) | (p.mode & 7)
    short = []
    for name, v in (("root_delay", p.root_delay), ("root_dispersion", p.root_dispersion)):
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be finite and >= 0 (NTP short format is unsigned), got {v!r}")
        short.append(min((1 << 32) - 1, int(round(v * 65536.0))))
    rd, rdisp = short
    return _HEADER.pack(first, p.stratum & 0xFF, p.poll, p.precision, rd, rdisp, p.ref_id[:4].ljust(4, b"\0"),
                        p.reference_ts, p.origin_ts, p.receive_ts, p.transmit_ts)


def client_request(transmit_ts: int, version: int = 4) -> bytes:
    """A mode-3 request whose transmit time stamp is `transmit_ts` (raw 64-bit)."""
    return encode(Packet(0, version, MODE_CLIENT, 0, 0, 0, 0.0, 0.0, b"\0\0\0\0", 0, 0, 0, transmit_ts))


def _check_trailer(data: bytes) -> None:
    """Extension fields then an optional MAC, per RFC 7822 section 7.5."""
    i, n = HEADER_LEN, len(data)
    while i < n:
        rest = n - i
        if rest in (4, 20, 24):        # crypto-NAK or MAC (key ID + MD5/SHA1 digest): must be last
            return
        if rest < 16:
            raise PacketError("malformed", f"{rest} trailing bytes after offset {i} are neither an extension "
                                           f"field nor a MAC")
        ftype, flen = struct.unpack_from("!HH", data, i)
        if flen < 16 or flen % 4 or flen > rest:
            raise PacketError("malformed", f"extension field type 0x{ftype:04x} at offset {i} has invalid "
                                           f"length {flen} ({rest} bytes left)")
        i += flen


def parse(data: bytes) -> Packet:
    """Decode a received datagram; raises PacketError("truncated" | "oversized" | "malformed")."""
    if len(data) < HEADER_LEN:
        raise PacketError("truncated", f"{len(data)} bytes, an NTP header has {HEADER_LEN}")
    if len(data) > MAX_PACKET_LEN:
        raise PacketError("oversized", f"{len(data)} bytes, more than {MAX_PACKET_LEN}")
    first, stratum, poll, precision, rd, rdisp, ref_id, ref, org, rec, xmt = _HEADER.unpack_from(data)
    if len(data) > HEADER_LEN:
        _check_trailer(data)
    return Packet(first >> 6, (first >> 3) & 7, first & 7, stratum, poll, precision, rd / 65536.0,
                  rdisp / 65536.0, ref_id, ref, org, rec, xmt)


def ns_to_ntp(unix_ns: int) -> int:
    """Unix nanoseconds -> raw 64-bit NTP time stamp (32.32 seconds since 1900, mod 2^32 s)."""
    sec, frac_ns = divmod(int(unix_ns), 1_000_000_000)
    frac = (frac_ns << 32) // 1_000_000_000
    return (((sec + NTP_UNIX_DELTA) % _ERA) << 32) | frac


def ntp_to_ns(ts: int, pivot_ns: int) -> int:
    """Raw 64-bit NTP time stamp -> Unix nanoseconds, in the era nearest `pivot_ns`."""
    sec = ts >> 32
    frac_ns = ((ts & 0xFFFFFFFF) * 1_000_000_000 + (1 << 31)) >> 32
    unix_sec = sec - NTP_UNIX_DELTA
    pivot_sec = pivot_ns // 1_000_000_000
    unix_sec += _ERA * round((pivot_sec - unix_sec) / _ERA)
    return unix_sec * 1_000_000_000 + frac_ns
