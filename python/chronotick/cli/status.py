"""`chronotick status [--path FILE]`: print the state `chronotick serve` publishes.

Exit status: 0 when the clock's bound holds (SYNCHRONIZED or HOLDOVER), 1 when it is UNKNOWN
(no bound: not yet synchronized, or too long without measurements), 3 when there is no clock to
read at FILE (missing, unreadable, not a chronotick clock file) -- a monitoring script can tell
"not synchronized" from "nothing published there"."""
from __future__ import annotations

import sys
import time

EXIT_UNKNOWN = 1
EXIT_NO_CLOCK = 3


def _read(path: str):
    """(client, now's bound, the local time it was taken at (ns), snapshot) of the clock file."""
    from chronotick.shm import Client
    c = Client(path)
    # now() reads the local clock itself: the local time it used is bracketed by these two reads
    # (the midpoint is within a fraction of a microsecond of it; reading the local clock after
    # now() and snapshot() had printed corrections ~10 us short)
    c.now()                     # warm: a first call takes several microseconds more
    before = time.time_ns()
    b = c.now()
    after = time.time_ns()
    return c, b, (before + after) // 2, c.snapshot()


def add_arguments(p) -> None:
    p.add_argument("--path", default="/run/chronotick/clock", help="shared-memory file (default: %(default)s)")
    p.epilog = ("exit status: 0 bound valid (SYNCHRONIZED or HOLDOVER), 1 UNKNOWN, "
                "3 no clock to read at --path (missing, unreadable, not a clock file)")


def run(args) -> int:
    try:
        c, b, local, snap = _read(args.path)
    except (OSError, ValueError) as exc:
        # both codes had been 1: "not synchronized" and "nothing to read" looked the same (an
        # audit, 2026-12-05); a file that opens but reads corrupt is nothing to read too
        from chronotick.cli import traceback_if_asked
        traceback_if_asked()
        print(f"chronotick status: {exc}", file=sys.stderr)
        return EXIT_NO_CLOCK
    code = 0 if b.status else EXIT_UNKNOWN
    try:
        _print(c, b, local, snap)
    except BrokenPipeError:
        # the reader gone (`chronotick status | head -1`): the exit code still says the clock's state
        # (a monitoring script must not read 0, bound valid, for UNKNOWN; a review, 2026-12-06)
        from chronotick.cli import _stdout_closed
        if not _stdout_closed():
            raise
    return code


def _print(c, b, local, snap) -> None:
    status = getattr(b.status, "name", str(b.status))
    print(f"status:     {status}")
    print(f"time:       {b.time_ns / 1e9:.9f} s (correction {(b.time_ns - local) / 1e6:+.3f} ms vs local clock)")
    if b.status:
        # [earliest, latest] around that time: symmetric in steady state, not while a backward
        # correction is slewed in (the time served is then at one end of the interval)
        below, above = (b.time_ns - b.earliest_ns) / 1e6, (b.latest_ns - b.time_ns) / 1e6
        width = f"+-{(below + above) / 2:.3f} ms" if f"{below:.3f}" == f"{above:.3f}" else \
            f"-{below:.3f} / +{above:.3f} ms around that time"
        print(f"bound:      {width} at {snap['confidence']:.0%} confidence")
    print(f"frequency:  {snap['freq'] * 1e6:+.3f} ppm")
    hb = snap["heartbeat_real_ns"]
    # heartbeat 0: the writer created the file but has not published yet (not a time of 1970)
    last = "never published" if hb == 0 else f"last publish {(local - hb) / 1e9:.1f} s ago"
    print(f"writer pid: {c.writer_pid}, {last}")
    sys.stdout.flush()
