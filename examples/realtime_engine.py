"""An Engine fed by a measurement thread and the system-metrics collector,
forecasting in a loop and printing health().

The measurement thread replays the shipped real NTP trace (one measurement
every `--interval` seconds instead of every 100 s).

    python examples/realtime_engine.py [--duration 5] [--interval 0.02]
"""
import argparse
import threading
import time

import chronotick
from chronotick.data import homelab_trace


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--duration", type=float, default=5.0)
    ap.add_argument("--interval", type=float, default=0.02, help="seconds between replayed measurements")
    args = ap.parse_args()
    trace = homelab_trace()
    stop = threading.Event()
    with chronotick.Engine({"short_term": {"horizon": 4}, "covariates": {"interval_s": 0.2}},
                           covariates=True) as eng:
        def feed():
            for t, y, d in zip(trace.times, trace.offsets, trace.delay):
                if stop.is_set():
                    return
                eng.observe(t, y, uncertainty=d / 2)
                time.sleep(args.interval)

        feeder = threading.Thread(target=feed, daemon=True)
        feeder.start()
        end = time.monotonic() + args.duration
        while time.monotonic() < end:
            time.sleep(0.5)
            try:
                fc = eng.predict_short_term()
            except ValueError as exc:       # not enough measurements yet
                print("waiting:", exc)
                continue
            lo, hi = fc.interval(0.8)
            print(f"{eng.stats()['buffer']['size']:4d} measurements  next {fc.mean[0] * 1e3:+7.3f} ms "
                  f"[{lo[0] * 1e3:+7.3f}, {hi[0] * 1e3:+7.3f}]  {fc.model}")
        stop.set()
        h = eng.health()
        print("health:", {k: h[k] for k in ("ok", "buffer_fill", "measurements", "metrics")})
        print("latency:", eng.stats()["latency"].get("short_term"))


if __name__ == "__main__":
    main()
