"""`chronotick serve`: run a Clock and publish it in shared memory.

    chronotick serve --config clock.yaml [--path FILE] [--servers host:port,...]
                     [--duration S] [--metrics-port N [--metrics-addr 127.0.0.1]]

clock.yaml (every key optional):
    servers: ["127.0.0.1:11123"]   # NTP servers (host[:port]; one string: one server); or `chrony: true`
    chrony: false                  # read chronyc instead of `servers` (--servers overrides it)
    burst: 4
    timeout_s: 1.0
    path: /run/chronotick/clock    # the shared-memory file readers open (chronotick.Client, chronotick.h)
    clock: {poll_interval_s: 64, confidence: 0.99, ...}      # chronotick.clock.ClockConfig
    engine: {engine: {buffer_capacity: 4096}, ...}            # chronotick.config
Metrics (Prometheus text format on http://ADDR:N/metrics): see MetricsCollector.
Readers: `chronotick status --path FILE`, chronotick.Client(FILE), or C via include/chronotick.h.
"""
from __future__ import annotations

import math
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
    p.add_argument("--metrics-port", type=int,
                   help="expose Prometheus metrics on this port, 0: any free one (printed); needs prometheus_client")
    p.add_argument("--metrics-addr", default="127.0.0.1",
                   help="address the metrics endpoint binds (default: %(default)s)")


def _load(path):
    from chronotick.errors import ConfigError
    if not path:
        return {}
    import yaml
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such config file: {path}")
    with open(path) as f:
        try:
            cfg = yaml.safe_load(f) or {}
        except yaml.YAMLError as exc:
            # one line: the problem and where (the full message spans several lines)
            where = getattr(exc, "problem_mark", None)
            what = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            at = f" at line {where.line + 1}, column {where.column + 1}" if where is not None else ""
            raise ConfigError(f"{path}: not valid YAML: {what}{at}") from None
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: must be a mapping")
    unknown = sorted(set(cfg) - _KEYS)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key; valid: {', '.join(sorted(_KEYS))}")
    servers = cfg.get("servers")
    if isinstance(servers, str):
        cfg["servers"] = servers = [servers]       # one server, as NTPSource takes it
    if servers is not None:
        if not isinstance(servers, list) or not all(isinstance(x, str) and x.strip() for x in servers):
            raise ConfigError(f"servers: must be a host[:port] string or a list of them, got {servers!r}")
    if "chrony" in cfg and not isinstance(cfg["chrony"], bool):
        raise ConfigError(f"chrony: must be true or false, got {cfg['chrony']!r}")
    if cfg.get("path") is not None and (not isinstance(cfg["path"], str) or not cfg["path"]):
        raise ConfigError(f"path: must be a file path, got {cfg['path']!r}")
    return cfg


def _check_args(args) -> None:
    """Refuse bad command-line values before anything starts (named in the message)."""
    d = args.duration
    if d is not None and not (math.isfinite(d) and d > 0):
        raise ValueError(f"--duration must be a finite number of seconds > 0, got {d!r} "
                         "(omit it to run until SIGINT/SIGTERM)")
    if args.path is not None and not args.path.strip():
        raise ValueError(f"--path must name a file, got {args.path!r} (omit it for the config's path or "
                         f"{DEFAULT_PATH})")
    port = args.metrics_port
    if port is not None and not 0 <= port <= 65535:
        raise ValueError(f"--metrics-port must be in 0..65535 (0: any free port), got {port!r}")
    if args.servers is not None and not [x for x in args.servers.split(",") if x.strip()]:
        raise ValueError(f"--servers: need at least one host[:port], got {args.servers!r}")


def _wait(stop: threading.Event, duration) -> None:
    """stop.wait(duration) for any finite duration (Event.wait overflows past threading.TIMEOUT_MAX)."""
    if duration is None:
        while not stop.wait(3600.0):
            pass
        return
    deadline = time.monotonic() + duration
    while not stop.is_set():
        left = deadline - time.monotonic()
        if left <= 0:
            return
        stop.wait(min(left, 3600.0))


class MetricsCollector:
    """Prometheus collector of a running Clock, read at each scrape:

    chronotick_offset_seconds             correction now (corrected - local clock; reference - local)
    chronotick_bound_seconds              half-width of [earliest, latest] now (NaN when UNKNOWN)
    chronotick_status                     0 UNKNOWN, 1 SYNCHRONIZED, 2 HOLDOVER
    chronotick_last_measurement_age_seconds
    chronotick_measurements_total         measurements taken (counter)
    chronotick_source_errors_total        failed polls (counter)
    chronotick_empty_polls_total          polls that returned no measurement (counter)
    chronotick_forecast_errors_total      failed forecasts (counter)
    chronotick_steps_detected_total       offset steps confirmed (clock.step_confirm measurements agreeing
                                          beyond the step threshold) (counter)
    chronotick_spikes_total               measurements beyond the step threshold not followed by a step (counter)
    chronotick_ntp_exchanges_total        NTP exchanges (counter)
    chronotick_ntp_rejections_total{reason}  NTP replies / exchanges rejected, by reason (counter)
    chronotick_forecast_latency_seconds{quantile="0.5"|"0.99"}  over the newest 1000 forecasts
    """

    def __init__(self, clock, source):
        self.clock, self.source = clock, source

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
        if self.clock is None:       # the server is bound before the clock is made
            return
        b = self.clock.now()
        local = time.time_ns()
        h = self.clock.health()
        counts = h["counts"]
        yield GaugeMetricFamily("chronotick_offset_seconds", "correction now: corrected - local clock",
                                value=(b.time_ns - local) / 1e9)
        yield GaugeMetricFamily("chronotick_bound_seconds", "half-width of [earliest, latest] now (NaN: UNKNOWN)",
                                value=(b.latest_ns - b.earliest_ns) / 2e9 if b.status else float("nan"))
        yield GaugeMetricFamily("chronotick_status", "0 UNKNOWN, 1 SYNCHRONIZED, 2 HOLDOVER", value=int(b.status))
        age = h["last_measurement_age_s"]
        yield GaugeMetricFamily("chronotick_last_measurement_age_seconds", "time since the newest measurement",
                                value=float("nan") if age is None else age)
        for key, doc in (("measurements", "measurements taken"), ("source_errors", "failed polls"),
                         ("empty_polls", "polls that returned no measurement"),
                         ("forecast_errors", "failed forecasts"),
                         ("steps_detected", "offset steps confirmed beyond the step threshold"),
                         ("spikes", "measurements beyond the step threshold not followed by a step")):
            yield CounterMetricFamily(f"chronotick_{key}", doc, value=counts[key])
        stats = self.source.stats() if hasattr(self.source, "stats") else None
        if isinstance(stats, dict) and "rejected" in stats:
            yield CounterMetricFamily("chronotick_ntp_exchanges", "NTP exchanges", value=stats.get("exchanges", 0))
            rej = CounterMetricFamily("chronotick_ntp_rejections", "NTP replies/exchanges rejected, by reason",
                                      labels=["reason"])
            for reason, n in sorted(stats["rejected"].items()):
                rej.add_metric([reason], n)
            yield rej
        lat = GaugeMetricFamily("chronotick_forecast_latency_seconds", "forecast latency over the newest 1000 calls",
                                labels=["quantile"])
        at = self.clock._engine.stats()["latency"].get("at")
        if at:
            lat.add_metric(["0.5"], at["p50_us"] / 1e6)
            lat.add_metric(["0.99"], at["p99_us"] / 1e6)
        yield lat


def start_metrics(port: int, clock, source, addr: str = "127.0.0.1"):
    """Serve the collector's metrics over HTTP on addr:port; returns the HTTP
    server (.shutdown() stops it) with .collector (its clock may be set later:
    nothing is served until it is). A port that cannot be bound is a
    ValueError naming it."""
    try:
        import prometheus_client as prom
    except ImportError:
        raise SystemExit("--metrics-port needs prometheus_client: pip install chronotick[metrics]") from None
    reg = prom.CollectorRegistry()
    coll = MetricsCollector(clock, source)
    reg.register(coll)
    try:
        server = prom.start_http_server(port, addr=addr, registry=reg)
    except OSError as exc:
        raise ValueError(f"--metrics-port {port} on {addr}: {exc.strerror or exc}") from None
    server = server[0] if isinstance(server, tuple) else server
    server.collector = coll
    return server


def run(args) -> int:
    from chronotick.clock import Clock
    from chronotick.engine import Engine
    from chronotick.sources import ChronySource, NTPSource

    _check_args(args)
    cfg = _load(args.config)
    # --servers overrides the config's source (its `servers:` and its `chrony: true`)
    if args.servers:
        servers = [x.strip() for x in args.servers.split(",") if x.strip()]
    elif cfg.get("chrony"):
        servers = None
    else:
        servers = cfg.get("servers")
    if servers:
        source = NTPSource(servers, burst=cfg.get("burst", 4), timeout_s=cfg.get("timeout_s", 1.0))
        source_desc = f"servers: {', '.join(servers)}"
    elif cfg.get("chrony"):
        source = ChronySource()
        source_desc = "source: chronyc"
    else:
        raise SystemExit("no time source: give --servers host[:port],... or `servers:`/`chrony: true` in --config")
    path = args.path if args.path is not None else (cfg.get("path") or DEFAULT_PATH)
    engine = Engine(cfg.get("engine"))
    metrics = None
    if args.metrics_port is not None:
        # bound first: a port in use is refused before anything is published
        metrics = start_metrics(args.metrics_port, None, source, args.metrics_addr)
    try:
        os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        clock = Clock(source, engine=engine, config=cfg.get("clock"), shm_path=path)
    except BaseException:
        if metrics is not None and hasattr(metrics, "shutdown"):
            metrics.shutdown()
        engine.close()
        raise
    if metrics is not None:
        metrics.collector.clock = clock
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    clock.start()
    print(f"chronotick serve: publishing to {path} ({source_desc})", flush=True)
    if metrics is not None:
        print(f"metrics: http://{args.metrics_addr}:{metrics.server_port}/metrics", flush=True)
    _wait(stop, args.duration)
    h = clock.health()
    clock.stop()
    if metrics is not None and hasattr(metrics, "shutdown"):
        metrics.shutdown()
    print(f"stopped: status {h['status']}, {h['counts']['measurements']} measurements, "
          f"{h['counts']['source_errors']} failed polls", flush=True)
    return 0
