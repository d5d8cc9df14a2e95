"""Read chronotick's corrected time from the shared-memory clock file, in any process.

    >>> from chronotick.shm import Client
    >>> c = Client("/dev/shm/chronotick")
    >>> tb = c.now()          # TimeBound(earliest_ns, latest_ns, time_ns, status)
    >>> c.now_ns()            # corrected time, int ns since the Unix epoch

A chronotick server publishes its clock model into the file
(`chronotick._core.ClockPublisher`); `Client` maps it read-only and computes
corrected time from one CLOCK_REALTIME read, lock-free (a seqlock; see
include/chronotick.h for the layout and the math, which C/C++ programs can
use directly).

TimeBound: times in ns of the Unix epoch (UTC, like time.time_ns()).
time_ns = local + offset + freq * (local - ref), never going backwards
across the server's corrections (backward ones are slewed); the true time
lies in [earliest_ns, latest_ns] at the published confidence. status is
SYNCHRONIZED, HOLDOVER (the server has lost its references and predicts;
published when due, not at the server's next poll) or
UNKNOWN -- nothing published yet, the writer was stopped (Clock.stop(),
`chronotick serve` ending: at once, as the publishing process's own clock),
it has gone silent (no heartbeat within its stale limit) or its process is
gone; then earliest_ns /
latest_ns are -2**63 / 2**63 - 1 (unbounded) and time_ns is the last
model's extrapolation (the local clock if there never was one).

Not handled: the file truncated under an open Client by another program.
The publisher never does that (it writes a new file -- O_EXCL, never
through a link planted at its name -- and renames it over the old one,
which open readers follow while they read UNKNOWN); a reader of a file cut short
after it was mapped faults with SIGBUS, as any reader of a mapped file would.
The file is mode 0644, so only its owner (the publishing user) or root can
truncate it. Checking the size on every read would put a system call on the hot path.
Across a publisher restart time_ns does not go back: the new publisher takes
over the model the old one left in the file (ClockPublisher.adopted), its file
reads UNKNOWN with time_ns along that model until its first publish, and the
first model is slewed in from it (and written, marked UNKNOWN, into the old file
too, so a Client that follows only later reads the same time_ns on either). That model is adopted only when it was written
on this boot no more than an hour ago and the local clock has not been stepped
since (CLOCK_REALTIME and CLOCK_MONOTONIC advanced alike, within 1 ms); else the
new file reads the local clock until its first publish and time_ns can go back
by the old model's offset.
"""
from __future__ import annotations

import os
from enum import IntEnum

try:
    from chronotick import _core
except ImportError as e:    # pragma: no cover - only without the built extension
    raise ImportError(f"chronotick.shm needs the compiled extension chronotick._core ({e}); "
                      f"install chronotick with pip or build it with scripts/dev_build.sh") from e

__all__ = ["UNBOUNDED_EARLIEST", "UNBOUNDED_LATEST", "Client", "Status", "TimeBound"]

UNBOUNDED_EARLIEST = -(2 ** 63)
UNBOUNDED_LATEST = 2 ** 63 - 1


class Status(IntEnum):
    UNKNOWN = 0
    SYNCHRONIZED = 1
    HOLDOVER = 2


_core._set_clock_status_objects((Status.UNKNOWN, Status.SYNCHRONIZED, Status.HOLDOVER))

# TimeBound(earliest_ns, latest_ns, time_ns, status): a named tuple built in C
# (a struct sequence) so that now() stays cheap; status is a Status member.
TimeBound = _core.TimeBound


class Client:
    """Read-only view of the clock file at `path`.

    `path`: a str, bytes or os.PathLike. Raises TypeError for anything else,
    FileNotFoundError / OSError when the file cannot be opened, and ValueError
    when the path is empty or holds a null byte, is not a regular file (a FIFO,
    a directory, a device), is not a chronotick clock file (wrong magic, too
    small), was written with another major layout version (e.g. by a newer
    chronotick), or is corrupt (its published data fails the checksum, or its
    writer pid is not > 0).
    """

    def __init__(self, path):
        path = os.fsdecode(os.fspath(path))
        if not path:
            raise ValueError(f"path must be a non-empty file path, got {path!r}")
        # (a NUL in the path and a file that is not a regular one -- a FIFO, a
        # directory -- are refused by the core's reader: ValueError). The core gets
        # the name's bytes, so a name that is not UTF-8 opens too; its messages
        # decode file names as os.fsdecode does.
        self._reader = _core.ClockReader(os.fsencode(path))
        self.path = path
        # The hot path: the C++ methods themselves, no Python frame in between.
        self.now = self._reader.now
        self.now_ns = self._reader.now_ns

    def now(self) -> TimeBound:  # replaced per instance by the C++ method (same result)
        """TimeBound(earliest_ns, latest_ns, time_ns, status) now."""
        return self._reader.now()

    def now_ns(self) -> int:  # replaced per instance by the C++ method (same result)
        """Corrected time now, int ns since the Unix epoch."""
        return self._reader.now_ns()

    def snapshot(self) -> dict:
        """Every published field from one consistent read (for diagnostics)."""
        return self._reader.snapshot()

    @property
    def writer_pid(self) -> int:
        return self._reader.writer_pid

    def __repr__(self) -> str:
        return f"Client({self.path!r})"
