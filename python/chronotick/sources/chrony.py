"""chronyd's own estimate as a measurement: `chronyc -c tracking`.

The CSV report has 14 fields: refid, name, stratum, ref_time, system_time,
last_offset, rms_offset, freq_ppm, resid_freq_ppm, skew_ppm, root_delay,
root_dispersion, update_interval, leap status.

Sign: field 5 "System time" is printed by chronyc as "N seconds slow of NTP
time" when positive (client.c, '%O': value > 0 -> "slow"): the system clock
is behind, so the value already is NTP time - system time, i.e.
offset = reference - local = +System time (the same conversion as
chronotick.io.load_chronyc_tracking).

uncertainty = root_dispersion + root_delay / 2, chrony's bound on the error
of its reference time beyond the System time offset (chronyc(1), "Root
dispersion"); delay = root_delay. t is the local time midway through the
chronyc call (the report describes the clock at the moment chronyd answers).

A report is checked as chronotick.io.load_chronyc_tracking checks a line:
reference ID of 8 hex digits, numbers in plain notation and finite, leap status one of chronyc's four,
RMS offset / skew / root delay / root dispersion >= 0; anything else raises
NTPError naming the field.
"""
from __future__ import annotations

import math
import os
import shutil
import subprocess
import time

from chronotick._validate import is_real
from chronotick.errors import NTPError
from chronotick.io._common import is_plain_number
from chronotick.io.chrony import _CHRONYC_LEAP, _CHRONYC_NONNEGATIVE, _HEX8, LOCAL_REFERENCE_ID
from chronotick.sources.measurement import Measurement


def parse_tracking(line: str) -> dict:
    """One `chronyc -c tracking` line -> dict of its fields (floats where numeric); NTPError naming
    the field for a malformed one (see the module docstring)."""
    f = [x.strip() for x in line.strip().split(",")]
    if len(f) != 14:
        raise NTPError(f"chronyc -c tracking: expected 14 comma-separated fields, got {len(f)}: {line.strip()!r}")
    names = ("stratum", "ref_time", "system_time", "last_offset", "rms_offset", "freq_ppm", "resid_freq_ppm",
             "skew_ppm", "root_delay", "root_dispersion", "update_interval")
    if not _HEX8.match(f[0]):
        raise NTPError(f"chronyc -c tracking: field 'ref_id' must be 8 hex digits, got {f[0]!r}")
    if f[13] not in _CHRONYC_LEAP:
        raise NTPError(f"chronyc -c tracking: field 'leap' must be one of {sorted(_CHRONYC_LEAP)}, got {f[13]!r}")
    out: dict = {"ref_id": f[0], "name": f[1], "leap": f[13]}
    for i, n in enumerate(names):
        try:
            if not is_plain_number(f[2 + i]):
                raise ValueError(f[2 + i])
            v = float(f[2 + i])
        except ValueError:
            raise NTPError(f"chronyc -c tracking: field {n!r} is not a number: {f[2 + i]!r}") from None
        if not math.isfinite(v):
            raise NTPError(f"chronyc -c tracking: field {n!r} is not finite: {f[2 + i]!r}")
        if n in _CHRONYC_NONNEGATIVE and v < 0:
            raise NTPError(f"chronyc -c tracking: field {n!r} must be >= 0, got {f[2 + i]!r}")
        out[n] = v
    return out




class ChronySource:
    """Read chronyd's current offset estimate with `chronyc -c tracking`.

    chronyc: the chronyc executable. socket: chronyd's command socket
    (`chronyc -h`: a host name, or a Unix socket path -- a relative path
    that exists or holds a "/" is made absolute, as chronyc takes only
    those); None = chronyc's default.
    timeout_s: how long to wait for chronyc.
    """

    def __init__(self, chronyc: str = "chronyc", socket: str | None = None, timeout_s: float = 5.0):
        # finite: subprocess.run(timeout=inf) raises OverflowError only when measure() runs
        if not is_real(timeout_s) or not math.isfinite(timeout_s) or not timeout_s > 0:   # numpy numbers too
            raise ValueError(f"timeout_s must be a finite number > 0, got {timeout_s!r}")
        self.chronyc = chronyc
        if isinstance(socket, str) and not socket.startswith("/") and (os.sep in socket or os.path.exists(socket)):
            # chronyc -h takes a Unix socket only as an absolute path ("a hostname starting with /"):
            # a relative one was resolved as a host name ("Could not open connection to daemon")
            socket = os.path.abspath(socket)
        self.socket = socket
        self.timeout_s = float(timeout_s)
        self.last_report: dict | None = None

    def _command(self) -> list[str]:
        exe = shutil.which(self.chronyc)
        if exe is None:
            raise NTPError(f"chronyc: executable {self.chronyc!r} not found (install chrony)")
        cmd = [exe, "-c", "-n"]
        if self.socket is not None:
            cmd += ["-h", self.socket]
        return cmd + ["tracking"]

    def measure(self) -> Measurement:
        cmd = self._command()
        t0 = time.time()
        try:
            # errors="replace": a name field that is not UTF-8 (chronyc prints what the server's
            # name resolves to) had been a UnicodeDecodeError; the numbers do not depend on it
            r = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=self.timeout_s,
                               check=False)
        except subprocess.TimeoutExpired:
            raise NTPError(f"chronyc: no answer within {self.timeout_s} s ({' '.join(cmd)})") from None
        t1 = time.time()
        if r.returncode != 0:
            raise NTPError(f"chronyc failed (exit {r.returncode}): {(r.stderr or r.stdout).strip()}")
        lines = [ln for ln in r.stdout.splitlines() if ln.strip()]
        if not lines:
            raise NTPError("chronyc -c tracking printed nothing")
        rep = parse_tracking(lines[-1])
        self.last_report = rep
        if rep["leap"] == "Not synchronised" or rep["ref_id"] == "00000000":
            raise NTPError(f"chronyd is not synchronised (reference ID {rep['ref_id']}, leap {rep['leap']!r})")
        if rep["ref_id"].upper() == LOCAL_REFERENCE_ID:
            # `local stratum N` with no source left: chronyd serves its own clock and reports offset,
            # root delay and dispersion 0 and leap "Normal" -- not a measurement of anything (until
            # 2026-12-05 read as offset 0 +- 0: a Clock SYNCHRONIZED to within microseconds while
            # the machine drifted freely; an audit)
            raise NTPError(f"chronyd is not synchronised to an external source (reference ID {rep['ref_id']}: "
                           f"its own clock, `local` mode)")
        return Measurement(
            t=(t0 + t1) / 2,
            offset=rep["system_time"],
            delay=rep["root_delay"],
            uncertainty=rep["root_dispersion"] + rep["root_delay"] / 2,
            server=f"chronyd:{rep['name'] or rep['ref_id']}",
        )
