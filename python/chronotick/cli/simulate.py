"""`chronotick simulate`: simulate a clock and its NTP-like measurements and
write them as a plain CSV with a header:

    t,offset,uncertainty,delay,true_offset,cpu_load,net_congestion,temperature_c

t: seconds since the start; offset: measured reference - local (s);
uncertainty: NTP bound delay/2 + root dispersion (s); delay: round trip (s);
true_offset: the simulated truth (s); then the covariates at those times,
in name order. The first three columns are the plain `t, offset[, uncertainty]`
layout. The file appears complete or not at all (written beside it, then
renamed over it): a failed run leaves an existing file as it was.
"""
from __future__ import annotations

import argparse
import errno
import math
import os
import sys
import tempfile

import numpy as np


def add_arguments(p: argparse.ArgumentParser) -> None:
    from chronotick.sim import PRESETS, SCENARIOS
    p.add_argument("--preset", default="tcxo", help=f"clock preset: {', '.join(sorted(PRESETS))} (default tcxo)")
    p.add_argument("--scenario", default="steady",
                   help=f"environment: {', '.join(sorted(SCENARIOS))}, combinable with '+' (default steady)")
    p.add_argument("--hours", type=float, default=6.0, help="duration in hours (default 6)")
    p.add_argument("--out", required=True, help="output CSV path ('-' for stdout)")
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument("--poll-s", type=float, default=None, help="poll interval in seconds (default 64)")
    p.add_argument("--poll-mode", choices=("fixed", "adaptive"), default=None,
                   help="fixed interval or ntpd-like adaptive 2^n s (default fixed)")
    p.add_argument("--disciplined", action="store_true",
                   help="keep the clock near the reference with an NTP-like servo "
                        "(always on for --preset disciplined)")
    p.add_argument("--dt", type=float, default=1.0, help="simulation step in seconds (default 1)")
    p.add_argument("--servers", type=int, default=None,
                   help="a server pool: each poll asks one of N servers at random (default 1)")
    p.add_argument("--server-delay-spread-s", type=float, default=None,
                   help="each pool server's extra round-trip delay ~ U(0, this) seconds (default 0)")
    p.add_argument("--server-asymmetry-s", type=float, default=None,
                   help="rms of each pool server's own path asymmetry, seconds (default 0)")


def _refuse_first(checks) -> None:
    """UsageError (exit 2, the command's one-line message) for the first (option, ok, what, value) not ok."""
    from chronotick.cli import UsageError
    for name, ok, what, v in checks:
        if not ok:
            raise UsageError(f"{name} {what}, got {v!r}")


def run(args: argparse.Namespace) -> int:
    from chronotick import sim
    from chronotick.sim.params import MAX_SERVERS
    from chronotick.sim.run import MAX_SAMPLES
    _refuse_first([(name, v is None or (math.isfinite(v) and v > 0), "must be > 0 and finite", v)  # nan, inf too
                   for name, v in (("--hours", args.hours), ("--dt", args.dt), ("--poll-s", args.poll_s))])
    # the options by their own names (the simulator's messages name its parameters:
    # "MeasurementParams.server_delay_spread_s must be >= 0"; an audit, 2026-12-05)
    steps = args.hours * 3600.0 / args.dt
    _refuse_first([
        ("--out", args.out.strip() != "", "must name a file ('-' for stdout)", args.out),
        ("--seed", args.seed >= 0, "must be >= 0", args.seed),
        ("--servers", args.servers is None or 1 <= args.servers <= MAX_SERVERS,
         f"must be an integer in [1, {MAX_SERVERS}]", args.servers),
        *((name, v is None or (math.isfinite(v) and v >= 0), "must be >= 0 and finite (seconds)", v)
          for name, v in (("--server-delay-spread-s", args.server_delay_spread_s),
                          ("--server-asymmetry-s", args.server_asymmetry_s))),
        ("--dt", args.dt <= args.hours * 3600.0, f"must be at most --hours in seconds ({args.hours * 3600.0:g})",
         args.dt),
        ("--hours", steps + 1 <= MAX_SAMPLES, f"/ --dt must make at most {MAX_SAMPLES:,} simulation steps "
         f"({args.hours:g} h of {args.dt:g} s steps are {steps:.3g}; about 200 MB per million)", args.hours)])
    overrides = {}
    if args.poll_mode is not None:
        overrides["poll_mode"] = args.poll_mode
    for name in ("servers", "server_delay_spread_s", "server_asymmetry_s"):
        if getattr(args, name) is not None:
            overrides[name] = getattr(args, name)
    try:
        r = sim.simulate(preset=args.preset, scenario=args.scenario, duration_s=args.hours * 3600.0,
                         poll_s=args.poll_s, seed=args.seed, disciplined=True if args.disciplined else None,
                         dt=args.dt, **overrides)
    except sim.run.CoarseGridError as e:
        # the grid too coarse for the preset's event rates: said by the option the user can change
        # (the message named dt and rates the command line does not set; a review, 2026-12-06)
        from chronotick.cli import UsageError
        raise UsageError(f"--dt {args.dt:g} is too coarse for preset {args.preset!r}: {e.rate_text}, more "
                         f"than {sim.run.MAX_EVENTS_PER_STEP}; use --dt <= {e.max_dt:.6g}") from None
    except (ValueError, TypeError) as e:      # a preset, scenario or value the simulator refuses
        from chronotick.cli import UsageError
        raise UsageError(str(e)) from None
    tr = r.trace
    names = sorted(tr.covariates)
    cols = [tr.times, tr.offsets, tr.uncertainty, tr.delay, r.true_offset] + [tr.covariates[k] for k in names]
    header = ",".join(["t", "offset", "uncertainty", "delay", "true_offset"] + names)
    data = np.column_stack(cols)
    if args.out == "-":
        try:
            np.savetxt(sys.stdout, data, fmt="%.12g", delimiter=",", header=header, comments="")
            sys.stdout.flush()
        except BrokenPipeError:
            # the reader stopped early (`| head`): not an error of ours; keep the interpreter's
            # final flush from failing on the closed pipe too
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    _write_atomic(args.out, data, header)
    print(f"wrote {len(tr)} measurements over {args.hours:g} h ({r.params.preset}, {r.params.scenario}, "
          f"seed {r.params.seed}{', disciplined' if r.params.disciplined else ''}) to {args.out}",
          file=sys.stderr)
    return 0


def _write_atomic(path: str, data: np.ndarray, header: str) -> None:
    """Write the CSV to a temporary file in the same folder and rename it over
    `path`: never a half-written file, an existing one untouched on failure.
    A path that is a device or a FIFO (/dev/stdout) is written in place. A
    failure is an OSError naming `path`."""
    def save(f):
        np.savetxt(f, data, fmt="%.12g", delimiter=",", header=header, comments="")

    try:
        if os.path.isdir(path):
            raise IsADirectoryError(errno.EISDIR, "is a directory")
        if os.path.exists(path) and not os.path.isfile(path):
            # a device or a FIFO, asked by its own name: /dev/stdout into a pipe resolves to
            # "pipe:[N]", no path at all (realpath had made that "No such file or directory")
            with open(path, "w", encoding="ascii") as f:
                save(f)
            return
        real = os.path.realpath(path)      # a symlink's target is written, the link kept
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(real) + ".", suffix=".tmp",
                                   dir=os.path.dirname(real))
        try:
            with os.fdopen(fd, "w", encoding="ascii") as f:
                save(f)
            if os.path.exists(real):
                mode = os.stat(real).st_mode & 0o7777
            else:
                umask = os.umask(0)
                os.umask(umask)
                mode = 0o666 & ~umask
            os.chmod(tmp, mode)            # mkstemp makes it 0600; keep what open() would have given
            os.replace(tmp, real)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError as exc:
        raise OSError(f"cannot write --out {path}: {exc.strerror or exc}") from exc
