"""`chronotick serve`: run a Clock and publish it in shared memory.

    chronotick serve --config clock.yaml [--path FILE] [--servers host:port,...]
                     [--duration S] [--metrics-port N [--metrics-addr 127.0.0.1]]

clock.yaml (every key optional):
    servers: ["127.0.0.1:11123"]   # NTP servers (host[:port]; one string: one server); or `chrony: true`
    chrony: false                  # read chronyc instead of `servers` (--servers overrides it)
    burst: 1                       # requests per server per poll (the least-delay one kept)
    burst_interval_s: 2.0          # between a burst's requests (>= 2 s for public servers)
    timeout_s: 1.0
    min_poll_s: 16                 # the least clock.poll_interval_s against NTP servers (RFC 4330
                                   # section 10, RFC 5905 MINPOLL); lower only for a server of your own
    path: /run/chronotick/clock    # the shared-memory file readers open (chronotick.Client, chronotick.h)
    clock: {poll_interval_s: 64, confidence: 0.99, ...}      # chronotick.clock.ClockConfig
    engine: {engine: {buffer_capacity: 4096}, ...}            # chronotick.config, or a YAML path
                                                              # (relative: to this file's folder)
Metrics (Prometheus text format on http://ADDR:N/metrics): chronotick_offset_seconds,
chronotick_bound_seconds, chronotick_status and chronotick_*_total counters (MetricsCollector).
Readers: `chronotick status --path FILE`, chronotick.Client(FILE), or C via include/chronotick.h.
SIGINT/SIGTERM (from the start of serve's own work) or --duration end it with exit 0, the file
retired (UNKNOWN for its readers), after waiting up to 5 s for a poll in progress (a server's
timeout); a second signal meanwhile exits at once (128 + the signal's number), the file left for
its readers to see the writer gone. --duration ends it with exit 1 where every poll failed (no
measurement at all). A signal in the ~0.2 s before serve's own work, while Python starts and
imports, ends the process the default way (SIGTERM: exit 143), before any file exists. Missing
folders of --path are made. A second serve on the same path refuses ("another process is publishing", exit 1);
if the file is removed under a running serve it is published again (a line on stderr), and if
another live publisher took the path over, serve stops with exit 1 naming it.
"""
from __future__ import annotations

import math
import os
import signal
import sys
import threading
import time

from chronotick.cli import UsageError

DEFAULT_PATH = "/run/chronotick/clock"
_KEYS = {"servers", "chrony", "burst", "burst_interval_s", "timeout_s", "min_poll_s", "path", "clock", "engine"}
MIN_POLL_S = 16.0    # RFC 5905 MINPOLL 4 (RFC 4330 section 10: never more often than every 15 s)


def _epilog() -> str:
    """The YAML keys and the rest of the module docstring, for `chronotick serve --help`
    (whose --config option points there)."""
    doc = __doc__ or ""
    key = "clock.yaml (every key optional):"
    return doc[doc.index(key):] if key in doc else ""


def add_arguments(p) -> None:
    import argparse
    p.formatter_class = argparse.RawDescriptionHelpFormatter    # the epilog's YAML layout as written
    p.epilog = _epilog()
    p.add_argument("--config", help="YAML file (its keys: below)")
    p.add_argument("--path", help=f"shared-memory file (default: config's path or {DEFAULT_PATH})")
    p.add_argument("--servers", help="comma-separated NTP servers host[:port] (overrides the config)")
    p.add_argument("--duration", type=float, help="stop after this many seconds (default: until SIGINT/SIGTERM)")
    p.add_argument("--metrics-port", type=int,
                   help="expose Prometheus metrics on this port, 0: any free one (printed); needs prometheus_client")
    p.add_argument("--metrics-addr", default="127.0.0.1",
                   help="address the metrics endpoint binds (default: %(default)s)")


def _metrics_url(addr: str, port: int) -> str:
    """The scrape URL; an IPv6 address in brackets (RFC 3986), as "http://::1:9100" is no URL."""
    host = f"[{addr}]" if ":" in addr else addr
    return f"http://{host}:{port}/metrics"


def _load(path):
    from chronotick.errors import ConfigError
    if not path:
        return {}
    from chronotick.config import read_yaml
    cfg = read_yaml(path)
    if not isinstance(cfg, dict):
        raise ConfigError(f"{path}: must be a mapping")
    unknown = sorted(set(cfg) - _KEYS)
    if unknown:
        raise ConfigError(f"{unknown[0]}: unknown key; valid: {', '.join(sorted(_KEYS))}")
    eng = cfg.get("engine")
    if isinstance(eng, str) and eng and not os.path.isabs(eng):
        # an engine YAML named by a relative path: beside this config file, not in the current
        # directory (a service manager starts serve elsewhere)
        cfg["engine"] = os.path.join(os.path.dirname(os.path.abspath(path)), eng)
    elif isinstance(eng, dict):
        # its relative .onnx paths likewise (as an engine YAML's are relative to that file)
        from chronotick.config import models_relative_to
        cfg["engine"] = models_relative_to(eng, os.path.dirname(os.path.abspath(path)))
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
        raise UsageError(f"--duration must be a finite number of seconds > 0, got {d!r} "
                         "(omit it to run until SIGINT/SIGTERM)")
    if args.path is not None and not args.path.strip():
        raise UsageError(f"--path must name a file, got {args.path!r} (omit it for the config's path or "
                         f"{DEFAULT_PATH})")
    port = args.metrics_port
    addr = getattr(args, "metrics_addr", None)
    if addr is not None and not addr.strip():
        # '' had been blamed on the port ("--metrics-port 0 on : Name or service not known")
        raise UsageError(f"--metrics-addr must name an address, got {addr!r}")
    if port is not None and not 0 <= port <= 65535:
        raise UsageError(f"--metrics-port must be in 0..65535 (0: any free port), got {port!r}")
    if args.servers is not None and not [x for x in args.servers.split(",") if x.strip()]:
        raise UsageError(f"--servers: need at least one host[:port], got {args.servers!r}")


def _wait(stop: threading.Event, duration, check=None, every: float = 1.0) -> None:
    """stop.wait(duration) for any finite duration (Event.wait overflows past threading.TIMEOUT_MAX),
    calling check() every `every` seconds meanwhile (if given; it may raise to end the wait)."""
    deadline = None if duration is None else time.monotonic() + duration
    while not stop.is_set():
        left = 3600.0 if deadline is None else deadline - time.monotonic()
        if left <= 0:
            return
        if stop.wait(min(left, 3600.0, every if check is not None else 3600.0)):
            return
        if check is not None:
            check()


def _say(msg: str, file=None) -> None:
    """Print one progress line. A stdout/stderr nobody reads any more (a closed pipe: `| head -2`, a
    log collector gone; a hung-up terminal) must not end the server or turn its exit code to 1:
    the line is dropped, and so is all later output to that stream (pointed at /dev/null, so that
    the interpreter's own flush at exit does not fail either)."""
    f = sys.stdout if file is None else file
    try:
        print(msg, file=f, flush=True)
    except (OSError, ValueError):
        try:
            fd = f.fileno()
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, fd)
            os.close(devnull)
        except (OSError, ValueError, AttributeError):
            pass


def _stop_on_signals(stop: threading.Event) -> dict:
    """SIGINT and SIGTERM set `stop`; returns the previous handlers (for _restore_signals). Only the
    main thread can set handlers: elsewhere (serve run from a thread) nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    def handler(signum, frame):
        if stop.is_set():
            # a second signal while the first one's stop waits (up to 5 s for a poll in progress,
            # a server's timeout): exit now, as a second Ctrl-C is meant (it had been ignored). The
            # file is left as it is; its readers see the writer gone (its lock released).
            _say(f"chronotick serve: {signal.Signals(signum).name} again: exiting without waiting", file=sys.stderr)
            os._exit(128 + signum)
        stop.set()

    old = {}
    for sig in (signal.SIGINT, signal.SIGTERM):
        old[sig] = signal.signal(sig, handler)
    return old


def _restore_signals(old: dict) -> None:
    for sig, handler in old.items():
        if handler is not None:          # None: set outside Python; nothing to put back
            signal.signal(sig, handler)


def _file_id(path):
    try:
        st = os.stat(path)
    except OSError:
        return None
    return st.st_dev, st.st_ino


class _PathWatch:
    """Is the file at `path` still the one this process publishes to? It is not once another
    program removed it (readers that open the path then find nothing) or renamed another file onto
    it -- another publisher that started at the same instant (the core's "another process is
    publishing" check and its rename are not atomic together: both then ran, one of them into a
    file nobody could open). check() then publishes a new file there (Clock.stop() and start()),
    which fails with "another process is publishing" while another live publisher holds the path."""

    def __init__(self, clock, path):
        self.clock, self.path = clock, path
        self.republished = 0
        self._ours = self._identify()

    def _identify(self):
        from chronotick.shm import Client
        before = _file_id(self.path)
        try:
            pid = Client(self.path).writer_pid
        except (OSError, ValueError):
            return None
        return before if pid == os.getpid() and _file_id(self.path) == before else None

    def check(self) -> None:
        if self._ours is not None and _file_id(self.path) == self._ours:
            return
        now = _file_id(self.path)
        what = "was removed" if now is None else "was replaced by another file"
        self.clock.stop()
        try:
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
            self.clock.start()
        except RuntimeError:            # the polling thread is still in a slow poll: next time
            return
        except OSError as exc:
            raise OSError(exc.errno, f"{self.path} {what} while serving, and it cannot be published "
                                     f"again: {exc.strerror or exc}") from None
        self._ours = self._identify()
        self.republished += 1
        _say(f"chronotick serve: {self.path} {what}; published it again", file=sys.stderr)


class _ErrorReport:
    """Says on stderr why polls or forecasts fail while serving: a server that does not resolve or
    answer had left `serve` silent until its last line ("0 measurements, 2 failed polls"). check()
    (each second) prints the clock's last_error when the failure count grew and the message is new,
    or every `every` seconds while failures go on; the count so far beside it."""

    def __init__(self, clock, every: float = 600.0):
        self.clock, self.every = clock, every
        self._seen, self._said, self._at = 0, None, -math.inf

    def check(self) -> None:
        h = self.clock.health()
        c = h["counts"]
        failed = c["source_errors"] + c["forecast_errors"]
        if failed <= self._seen or not h["last_error"]:
            return
        self._seen = failed
        now = time.monotonic()
        if h["last_error"] != self._said or now - self._at >= self.every:
            self._said, self._at = h["last_error"], now
            _say(f"chronotick serve: {h['last_error']} ({c['source_errors']} failed polls, "
                 f"{c['forecast_errors']} failed forecasts so far)", file=sys.stderr)


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
    chronotick_local_clock_steps_total    steps of the local clock itself absorbed into the time base (counter)
    chronotick_ntp_exchanges_total        NTP exchanges (counter)
    chronotick_ntp_rejections_total{reason}  NTP replies / exchanges rejected, by reason (counter)
    chronotick_forecast_latency_seconds   a summary: {quantile="0.5"|"0.99"} over the newest 1000
                                          forecasts, _count and _sum over every forecast
    """

    def __init__(self, clock, source):
        self.clock, self.source = clock, source

    # every family collect() may yield, without samples: prometheus_client asks a collector with
    # a describe() which names it serves, so a filtered scrape (/metrics?name[]=...) finds them
    # (without it such a scrape was an empty page: an audit, 2026-12-05)
    _FAMILIES = (("chronotick_offset_seconds", "gauge"), ("chronotick_bound_seconds", "gauge"),
                 ("chronotick_status", "gauge"), ("chronotick_last_measurement_age_seconds", "gauge"),
                 *((f"chronotick_{k}", "counter") for k in (
                     "measurements", "source_errors", "empty_polls", "forecast_errors", "steps_detected",
                     "spikes", "local_clock_steps", "ntp_exchanges", "ntp_rejections")),
                 ("chronotick_forecast_latency_seconds", "summary"))

    def describe(self):
        from prometheus_client.core import Metric
        for name, kind in self._FAMILIES:
            yield Metric(name, "", kind)

    def collect(self):
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
        if self.clock is None:       # the server is bound before the clock is made
            return
        # the bound at the very local time the offset is taken against: now() then time_ns()
        # had read the offset 1-6 us low (an audit, 2026-12-05; status brackets its reads)
        b, local = self.clock._bound_and_local()
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
                         ("spikes", "measurements beyond the step threshold not followed by a step"),
                         ("local_clock_steps", "steps of the local clock itself absorbed into the time base")):
            yield CounterMetricFamily(f"chronotick_{key}", doc, value=counts[key])
        stats = self.source.stats() if hasattr(self.source, "stats") else None
        if isinstance(stats, dict) and "rejected" in stats:
            yield CounterMetricFamily("chronotick_ntp_exchanges", "NTP exchanges", value=stats.get("exchanges", 0))
            rej = CounterMetricFamily("chronotick_ntp_rejections", "NTP replies/exchanges rejected, by reason",
                                      labels=["reason"])
            for reason, n in sorted(stats["rejected"].items()):
                rej.add_metric([reason], n)
            yield rej
        # a summary (a quantile label belongs to that type): quantiles over the newest 1000
        # forecasts, count and sum over all of them
        name = "chronotick_forecast_latency_seconds"
        lat = Metric(name, "forecast latency: quantiles over the newest 1000 forecasts", "summary")
        at = self.clock._engine.stats()["latency"].get("at")
        if at:
            lat.add_sample(name, {"quantile": "0.5"}, at["p50_us"] / 1e6)
            lat.add_sample(name, {"quantile": "0.99"}, at["p99_us"] / 1e6)
            lat.add_sample(name + "_count", {}, at["count"])
            lat.add_sample(name + "_sum", {}, at["sum_s"])
        yield lat


def start_metrics(port: int, clock, source, addr: str = "127.0.0.1"):
    """Serve the collector's metrics over HTTP on addr:port; returns the HTTP
    server (.shutdown() stops it) with .collector (its clock may be set later:
    nothing is served until it is). A port that cannot be bound is a
    ValueError naming it."""
    try:
        import prometheus_client as prom
    except ImportError:
        # an ImportError: chronotick.cli.main's one line with the command's prefix (a bare
        # SystemExit message had none)
        raise ImportError("--metrics-port needs prometheus_client: pip install chronotick[metrics]") from None
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


def _close_metrics(metrics) -> None:
    if metrics is None:
        return
    if hasattr(metrics, "shutdown"):
        metrics.shutdown()
    if hasattr(metrics, "server_close"):
        metrics.server_close()         # shutdown() alone left the port bound (and connections hanging)


def run(args) -> int:
    # SIGINT/SIGTERM stop the server from the very start: during the imports and the set-up below
    # (about 0.3 s) Ctrl-C had ended it with a KeyboardInterrupt traceback and SIGTERM with -15
    stop = threading.Event()
    old_handlers = _stop_on_signals(stop)
    try:
        return _run(args, stop)
    finally:
        _restore_signals(old_handlers)   # in-process callers (main() from Python) get their Ctrl-C back


def _check_min_poll(cfg: dict) -> None:
    """ConfigError where clock.poll_interval_s would poll NTP servers more often than min_poll_s
    (default 16 s: RFC 4330 section 10, a client must never poll a server more often than every
    15 s; RFC 5905's MINPOLL is 16 s). Until 2026-12-06 any interval down to 1 ms was taken (an
    audit: a healthy server got 10 requests in 10 s). The warm-up's first polls (16 at 4 s) are
    not held to it: a start-up burst, as RFC 5905's iburst (8 at 2 s)."""
    from chronotick._validate import is_real
    from chronotick.clock import ClockConfig
    from chronotick.errors import ConfigError
    floor = cfg.get("min_poll_s", MIN_POLL_S)
    if not is_real(floor) or not math.isfinite(floor) or floor < 0:
        raise ConfigError(f"min_poll_s: must be a number of seconds >= 0, got {floor!r}")
    clock = cfg.get("clock") or {}
    poll = clock.get("poll_interval_s", ClockConfig.poll_interval_s) if isinstance(clock, dict) else None
    if is_real(poll) and poll < floor:
        raise ConfigError(f"clock.poll_interval_s: {poll!r} s would poll the NTP servers more often than "
                          f"min_poll_s {floor!r} s (RFC 4330 section 10: never more often than every 15 s; "
                          f"RFC 5905 MINPOLL 16 s); for a server of your own, set min_poll_s lower (0: no floor)")


def _run(args, stop: threading.Event) -> int:
    from chronotick.clock import Clock
    from chronotick.engine import Engine
    from chronotick.errors import ConfigError
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
        _check_min_poll(cfg)
        try:
            source = NTPSource(servers, burst=cfg.get("burst", 1), timeout_s=cfg.get("timeout_s", 1.0),
                               burst_interval_s=cfg.get("burst_interval_s", 2.0))
        except ValueError as exc:
            msg = str(exc)
            if not args.servers or not msg.startswith("servers: "):
                raise
            # the command line's value out of range: exit 2 naming --servers, as --metrics-port
            # (it was exit 1 naming `servers:`, which read as the config file's key)
            raise UsageError(f"--servers: {msg[len('servers: '):]}") from None
        source_desc = f"servers: {', '.join(servers)}"
    elif cfg.get("chrony"):
        source = ChronySource()
        source_desc = "source: chronyc"
    else:
        raise UsageError("no time source: give --servers host[:port],... or `servers:`/`chrony: true` in --config")
    path = args.path if args.path is not None else (cfg.get("path") or DEFAULT_PATH)
    try:
        engine = Engine(cfg.get("engine"))
    except ConfigError as exc:
        # the engine's messages name keys inside the `engine:` section (`bogus: unknown section`
        # read as a top-level key of the config file)
        raise ConfigError(f"engine: {exc}") from None
    except OSError as exc:
        # `engine: FILE` missing or unreadable: said as the key it came from
        raise type(exc)(f"engine: {exc}") from None
    metrics = clock = None
    try:
        if args.metrics_port is not None:
            # bound first: a port in use is refused before anything is published
            metrics = start_metrics(args.metrics_port, None, source, args.metrics_addr)
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.exists(folder) and not os.path.isdir(folder):
            # "[Errno 17] File exists" named neither the option nor the problem
            raise NotADirectoryError(f"--path {path}: {folder} is not a directory")
        os.makedirs(folder, exist_ok=True)     # missing folders are made (as for /run/chronotick)
        clock = Clock(source, engine=engine, config=cfg.get("clock"), shm_path=path)
        if metrics is not None:
            metrics.collector.clock = clock
        watch, errors = _PathWatch(clock, path), _ErrorReport(clock)
        if not stop.is_set():         # (not when a signal came during the set-up)
            clock.start()
            _say(f"chronotick serve: publishing to {path} ({source_desc})")
            if clock.health()["shm"]["adopted"]:
                _say("chronotick serve: carrying on the model the previous publisher left there (readers' "
                     "time_ns does not go back)")
            if metrics is not None:
                _say(f"metrics: {_metrics_url(args.metrics_addr, metrics.server_port)}")
        _wait(stop, args.duration, lambda: (watch.check(), errors.check()))
        h = clock.health()
    finally:
        # whatever ended the run (a signal, --duration, an error): no scrape of a stopped clock, the
        # shared file retired (UNKNOWN for its readers), the polling thread and the engine ended
        _close_metrics(metrics)
        if clock is not None:
            clock.stop()
        # (a polling thread still in a slow poll after stop()'s wait ends on its own: its engine stays)
        if clock is None or not clock.health()["running"]:
            engine.close()
    last = f"; last error: {h['last_error']}" if h["last_error"] else ""
    c = h["counts"]
    _say(f"stopped: status {h['status']}, {c['measurements']} measurements, "
         f"{c['source_errors']} failed polls{last}")
    if not stop.is_set() and c["measurements"] == 0 and c["source_errors"] > 0:
        # --duration ended a run in which every poll failed: a script or CI must not read that as
        # success (exit 0 had hidden a mistyped or unreachable server). A run too short for any poll
        # to end, and a stop by signal (the operator's own), stay 0.
        _say(f"chronotick serve: no measurement in {args.duration:g} s: every poll failed{last}", file=sys.stderr)
        return 1
    return 0
