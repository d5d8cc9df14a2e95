"""Serve corrected time from one process and read it from another.

Starts a loopback NTP test server (the project's own, answering 30 ms ahead
of this machine), runs `chronotick serve` against it publishing to a
shared-memory file, and reads now() with chronotick.Client from this
process, as any other program (or C code via include/chronotick.h) would.

    python examples/clock_service.py [--duration 5]
"""
import argparse
import os
import subprocess
import sys
import tempfile
import time

import chronotick
from chronotick.testing.ntp_server import NTPTestServer


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=5.0, help="seconds to serve (default: %(default)s)")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, NTPTestServer(offset_s=0.030, delay_s=0.002) as ntp:
        path = os.path.join(tmp, "clock")
        cfg = os.path.join(tmp, "clock.yaml")
        with open(cfg, "w") as f:
            # a test server of our own, polled fast: min_poll_s 0 lifts the RFC 4330 floor (16 s)
            f.write(f"servers: ['{ntp.address}']\nburst: 1\nmin_poll_s: 0\n"
                    "clock: {warmup_poll_interval_s: 0.1, poll_interval_s: 0.25}\n")
        server = subprocess.Popen([sys.executable, "-m", "chronotick", "serve", "--config", cfg, "--path", path,
                                   "--duration", str(args.duration)])
        try:
            deadline = time.monotonic() + args.duration
            while not os.path.exists(path) and time.monotonic() < deadline:
                time.sleep(0.05)
            client = chronotick.Client(path)
            while time.monotonic() < deadline - 0.5:
                b = client.now()
                corr = (b.time_ns - time.time_ns()) / 1e6
                half = (b.latest_ns - b.earliest_ns) / 2e6 if b.status else float("inf")
                print(f"{b.status.name:<13} correction {corr:+8.3f} ms  bound +-{half:7.3f} ms")
                time.sleep(0.5)
        finally:
            server.wait(timeout=args.duration + 10)
    if server.returncode:
        raise SystemExit(server.returncode)


if __name__ == "__main__":
    main()
