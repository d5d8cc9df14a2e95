"""`chronotick serve`: run a Clock and publish it in shared memory.

    chronotick serve --config clock.yaml [--path FILE] [--servers host:port,...]
                     [--duration S] [--metrics-port N]

clock.yaml (every key optional):
    servers: ["127.0.0.1:11123"]   # NTP servers (host[:port]); or `chrony: true` to read chronyc
    chrony: false
    burst: 4
    timeout_s: 1.0
    path: /run/chronotick/clock    # the shared-memory file readers open (chronotick.Client, chronotick.h)
    clock: {poll_interval_s: 64, confidence: 0.99, ...}      # chronotick.clock.ClockConfig
    engine: {engine: {buffer_capacity: 4096}, ...}            # chronotick.config
Readers: `chronotick status --path FILE`, chronotick.Client(FILE), or C via include/chronotick.h.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import time

DEFAULT_PATH = "/run/chronotick/clock"
_KEYS = {"servers", "chrony", "burst", "timeout_s", "path", "clock", "engine"}


def add_arguments(p) -> None:
    p.add_argument("--config", help="YAML file (see `chronotick serve --help`)")
    p.add_argument("--path", help=f"shared-memory file (default: config's path or {DEFAULT_PATH})")
    p.add_argument("--servers", help="comma-separated NTP servers host[:port] (overrides the config)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: until SIGINT/SIGTERM)")
    p.add_argument("--metrics-port", type=int, help="expose Prometheus metrics on this port (needs prometheus_client)")


def _load(path):
    from chronotick.errors import ConfigError
    if not path:
        return {}
    import yaml
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such config file: {path}")
    with open(path) as f:
        cfg = yaml.safe_load(f) or {}
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: must be a mapping")
    unknown = sorted(set(cfg) - _KEYS)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key; valid: {', '.join(sorted(_KEYS))}")
    return cfg


def _metrics(port: int, clock, source):
    try:
        import prometheus_client as prom
    except ImportError:
        raise SystemExit("--metrics-port needs prometheus_client: pip install chronotick[metrics]") from None
    reg = prom.CollectorRegistry()
    g = {name: prom.Gauge(f"chronotick_{name}", doc, registry=reg) for name, doc in [
        ("offset_seconds", "correction applied to the local clock (reference - local)"),
        ("bound_seconds", "half-width of the bound now"),
        ("status", "0 UNKNOWN, 1 SYNCHRONIZED, 2 HOLDOVER"),
        ("measurements_total", "measurements taken"),
        ("source_errors_total", "failed polls"),
        ("forecast_latency_p50_seconds", "median forecast latency")]}
    rej = prom.Gauge("chronotick_ntp_rejections", "NTP replies rejected, by reason", ["reason"], registry=reg)

    def update():
        b = clock.now()
        g["offset_seconds"].set((b.time_ns - time.time_ns()) / 1e9)
        g["bound_seconds"].set((b.latest_ns - b.earliest_ns) / 2e9 if b.status else float("nan"))
        g["status"].set(int(b.status))
        h = clock.health()
        g["measurements_total"].set(h["counts"]["measurements"])
        g["source_errors_total"].set(h["counts"]["source_errors"])
        lat = clock._engine.stats()["latency"].get("at")
        if lat:
            g["forecast_latency_p50_seconds"].set(lat["p50_us"] / 1e6)
        stats = source.stats() if hasattr(source, "stats") else {}
        for reason, n in (stats.get("rejections") or {}).items():
            rej.labels(reason=reason).set(n)

    class Collector:
        def collect(self):
            update()
            return []
    reg.register(Collector())
    prom.start_http_server(port, addr="127.0.0.1", registry=reg)


def run(args) -> int:
    from chronotick.clock import Clock
    from chronotick.engine import Engine
    from chronotick.sources import ChronySource, NTPSource

    cfg = _load(args.config)
    servers = args.servers.split(",") if args.servers else cfg.get("servers")
    if cfg.get("chrony"):
        source = ChronySource()
    elif servers:
        source = NTPSource(servers, burst=cfg.get("burst", 4), timeout_s=cfg.get("timeout_s", 1.0))
    else:
        raise SystemExit("no time source: give --servers host[:port],... or `servers:`/`chrony: true` in --config")
    path = args.path or cfg.get("path") or DEFAULT_PATH
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    clock = Clock(source, engine=Engine(cfg.get("engine")), config=cfg.get("clock"), shm_path=path)
    if args.metrics_port:
        _metrics(args.metrics_port, clock, source)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    clock.start()
    print(f"chronotick serve: publishing to {path} (servers: {', '.join(servers or ['chrony'])})", flush=True)
    stop.wait(args.duration)
    h = clock.health()
    clock.stop()
    print(f"stopped: status {h['status']}, {h['counts']['measurements']} measurements, "
          f"{h['counts']['source_errors']} failed polls", flush=True)
    return 0
