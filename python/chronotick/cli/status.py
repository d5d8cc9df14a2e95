"""`chronotick status [--path FILE]`: print the state `chronotick serve` publishes."""
from __future__ import annotations

import time


def add_arguments(p) -> None:
    p.add_argument("--path", default="/run/chronotick/clock", help="shared-memory file (default: %(default)s)")


def run(args) -> int:
    from chronotick.shm import Client
    c = Client(args.path)
    b = c.now()
    snap = c.snapshot()
    local = time.time_ns()
    status = getattr(b.status, "name", str(b.status))
    print(f"status:     {status}")
    print(f"time:       {b.time_ns / 1e9:.9f} s (correction {(b.time_ns - local) / 1e6:+.3f} ms vs local clock)")
    if b.status:
        print(f"bound:      +-{(b.latest_ns - b.earliest_ns) / 2e6:.3f} ms at {snap['confidence']:.0%} confidence")
    print(f"frequency:  {snap['freq'] * 1e6:+.3f} ppm")
    hb = snap["heartbeat_real_ns"]
    # heartbeat 0: the writer created the file but has not published yet (not a time of 1970)
    last = "never published" if hb == 0 else f"last publish {(local - hb) / 1e9:.1f} s ago"
    print(f"writer pid: {c.writer_pid}, {last}")
    return 0 if b.status else 1
