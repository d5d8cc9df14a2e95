"""System metrics as covariates of clock drift, sampled by a background thread.

A crystal's frequency moves with temperature, and temperature follows load;
these readings let a model relate offset changes to what the machine did.

`SystemMetricsCollector(interval_s)` samples psutil every `interval_s` seconds
into the core's ring buffer `_core.CovariateBuffer`, one row per sample:

    cpu_percent          busy share of all CPUs over the last interval, % (0-100)
    cpu_freq_mean_mhz    mean of the per-core current frequencies, MHz
    cpu_freq_max_mhz     max of the per-core current frequencies, MHz
    mem_percent          used memory, % of total
    load_1m              1-minute load average (runnable tasks)
    temp_cpu_c           CPU package temperature, degC (coretemp "Package id",
                         k10temp "Tctl"/"Tdie", else the hottest reading of a
                         known CPU chip)
    temp_max_c           hottest temperature sensor of any kind, degC
    disk_read_bytes_s    disk reads, bytes/s \\
    disk_write_bytes_s   disk writes, bytes/s  | counter deltas divided by the
    net_recv_bytes_s     network in, bytes/s   | real elapsed (monotonic) time
    net_sent_bytes_s     network out, bytes/s /  since the previous sample

Missing data is NaN, never 0: a sensor the platform does not have, the first
sample after start() of every delta-based channel (cpu_percent and the four
rates: there is no previous reading yet), a counter that went backwards, and
every channel of a reader that raised. A raising reader is counted in
stats()["errors"], logged once (logger "chronotick.metrics"), and the thread
keeps sampling. Timestamps are time.time() seconds (Unix).

CPU share is computed from psutil.cpu_times() deltas kept by the collector,
so it does not disturb (and is not disturbed by) other psutil.cpu_percent()
callers in the process.
"""
from __future__ import annotations

import logging
import math
import os
import threading
import time
from typing import Callable, Mapping

import numpy as np
import psutil

from chronotick._validate import is_int, is_real

log = logging.getLogger("chronotick.metrics")

NAN = math.nan

CHANNELS = ("cpu_percent", "cpu_freq_mean_mhz", "cpu_freq_max_mhz", "mem_percent", "load_1m",
            "temp_cpu_c", "temp_max_c", "disk_read_bytes_s", "disk_write_bytes_s",
            "net_recv_bytes_s", "net_sent_bytes_s")

_CPU_CHIPS = ("coretemp", "k10temp", "zenpower", "cpu_thermal", "cpu-thermal", "soc_thermal", "acpitz")
_PACKAGE_LABELS = ("package id", "tctl", "tdie", "cpu")


def _check_interval(interval_s) -> float:
    if isinstance(interval_s, bool) or not isinstance(interval_s, (int, float, np.integer, np.floating)):
        raise TypeError(f"interval_s must be a number of seconds, got {interval_s!r}")
    v = float(interval_s)
    if not math.isfinite(v) or v <= 0:
        raise ValueError(f"interval_s must be finite and > 0 seconds, got {interval_s!r}")
    if v > 1e8:
        # the sampling thread waits interval_s at a time: beyond threading.TIMEOUT_MAX (~9.2e9 s)
        # that wait overflowed and the thread died after its first sample
        raise ValueError(f"interval_s must be at most 1e8 seconds (about 3 years), got {interval_s!r}")
    return v


def _busy_idle(t) -> tuple[float, float]:
    """(total, idle) CPU seconds of psutil.cpu_times(); guest time is already in user on Linux."""
    total = sum(t) - getattr(t, "guest", 0.0) - getattr(t, "guest_nice", 0.0)
    idle = t.idle + getattr(t, "iowait", 0.0)
    return total, idle


def _cpu_temperature(temps: dict) -> float:
    for chip in _CPU_CHIPS:
        readings = temps.get(chip)
        if not readings:
            continue
        for want in _PACKAGE_LABELS:
            for r in readings:
                if r.label and r.label.lower().startswith(want) and r.current is not None:
                    return float(r.current)
        vals = [r.current for r in readings if r.current is not None]
        if vals:
            return float(max(vals))
    return NAN


class SystemMetricsCollector:
    """Background sampler of system metrics into a `_core.CovariateBuffer`.

    interval_s: seconds between samples (finite, > 0).
    capacity: samples kept (the ring buffer overwrites the oldest).
    extra_channels: name -> zero-argument callable returning a float; each is
    one more channel, read after the built-in ones (e.g. a board sensor).

    Use as a context manager, or start()/stop(); start() after stop() resumes
    into the same buffer.

        >>> with SystemMetricsCollector(interval_s=1.0) as m:
        ...     time.sleep(3)
        ...     t, values = m.snapshot()
    """

    def __init__(self, interval_s: float = 1.0, capacity: int = 3600,
                 extra_channels: Mapping[str, Callable[[], float]] | None = None):
        self.interval_s = _check_interval(interval_s)
        if not is_int(capacity) or capacity < 1:
            raise ValueError(f"capacity must be a positive integer (samples), got {capacity!r}")
        extra = dict(extra_channels or {})
        for name, fn in extra.items():
            if not isinstance(name, str) or not name:
                raise TypeError(f"extra_channels keys must be non-empty str, got {name!r}")
            if name in CHANNELS:
                raise ValueError(f"extra channel {name!r} collides with a built-in channel")
            if not callable(fn):
                raise TypeError(f"extra_channels[{name!r}] must be callable, got {type(fn).__name__}")
        self._extra = extra
        self.channels: list[str] = list(CHANNELS) + list(extra)
        self._index = {name: i for i, name in enumerate(self.channels)}

        from chronotick import _core
        if not hasattr(_core, "CovariateBuffer"):
            raise ImportError("chronotick._core has no CovariateBuffer: the compiled extension is older than "
                              "this Python package; rebuild it (pip install . / scripts/dev_build.sh)")
        self._buf = _core.CovariateBuffer(int(capacity), len(self.channels))

        # reader name -> (channels it fills, function(row, now_monotonic))
        self._readers: list[tuple[str, tuple[str, ...], Callable[[np.ndarray, float], None]]] = [
            ("cpu_percent", ("cpu_percent",), self._read_cpu),
            ("cpu_freq", ("cpu_freq_mean_mhz", "cpu_freq_max_mhz"), self._read_freq),
            ("memory", ("mem_percent",), self._read_mem),
            ("load", ("load_1m",), self._read_load),
            ("temperature", ("temp_cpu_c", "temp_max_c"), self._read_temps),
            ("disk_io", ("disk_read_bytes_s", "disk_write_bytes_s"), self._read_disk),
            ("net_io", ("net_recv_bytes_s", "net_sent_bytes_s"), self._read_net),
        ]
        for name, fn in extra.items():
            self._readers.append((name, (name,), self._extra_reader(name, fn)))

        # Two locks: _sampling serialises the readers and their counter state (a sample can take
        # as long as its slowest reader -- a board sensor on a slow bus); _lock guards only the
        # buffer and the counts, so snapshot()/latest()/stats() (the Engine reads the buffer
        # inside a forecast) never wait for a sample in progress.
        self._sampling = threading.Lock()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self._prev: dict[str, tuple] = {}  # reader -> previous counter reading (for deltas)
        self._samples = 0
        self._errors = 0
        self._errors_by: dict[str, int] = {}
        self._logged: set[str] = set()
        self._cpu_s = 0.0
        self._wall_s = 0.0

    # ------------------------------------------------------------------ readers
    def _extra_reader(self, name: str, fn: Callable[[], float]):
        i = self._index[name]

        def read(row: np.ndarray, now: float) -> None:
            # a non-number or a non-finite reading is this reader's error: NaN, counted, logged once
            # (float() had parsed a string, and an inf went into the buffer as data)
            v = fn()
            if not is_real(v):
                raise TypeError(f"extra channel {name!r} returned {type(v).__name__} {v!r}, not a number")
            if not math.isfinite(v):
                raise ValueError(f"extra channel {name!r} returned {v!r}, not a finite number")
            row[i] = float(v)

        return read

    def _read_cpu(self, row: np.ndarray, now: float) -> None:
        total, idle = _busy_idle(psutil.cpu_times())
        prev = self._prev.get("cpu")
        self._prev["cpu"] = (total, idle)
        if prev is not None and total > prev[0]:
            busy = (total - prev[0]) - (idle - prev[1])
            row[self._index["cpu_percent"]] = min(100.0, max(0.0, 100.0 * busy / (total - prev[0])))

    def _read_freq(self, row: np.ndarray, now: float) -> None:
        if not hasattr(psutil, "cpu_freq"):
            return
        freqs = psutil.cpu_freq(percpu=True) or []
        cur = [f.current for f in freqs if f.current and f.current > 0]
        if cur:
            row[self._index["cpu_freq_mean_mhz"]] = float(np.mean(cur))
            row[self._index["cpu_freq_max_mhz"]] = float(np.max(cur))

    def _read_mem(self, row: np.ndarray, now: float) -> None:
        row[self._index["mem_percent"]] = float(psutil.virtual_memory().percent)

    def _read_load(self, row: np.ndarray, now: float) -> None:
        if hasattr(os, "getloadavg"):
            row[self._index["load_1m"]] = float(os.getloadavg()[0])
        elif hasattr(psutil, "getloadavg"):
            row[self._index["load_1m"]] = float(psutil.getloadavg()[0])

    def _read_temps(self, row: np.ndarray, now: float) -> None:
        if not hasattr(psutil, "sensors_temperatures"):
            return
        temps = psutil.sensors_temperatures() or {}
        row[self._index["temp_cpu_c"]] = _cpu_temperature(temps)
        vals = [r.current for rs in temps.values() for r in rs if r.current is not None]
        if vals:
            row[self._index["temp_max_c"]] = float(max(vals))

    def _rates(self, key: str, counters, names: tuple[str, str], fields: tuple[str, str],
               row: np.ndarray, now: float) -> None:
        if counters is None:  # no disks / no NICs on this platform
            return
        cur = tuple(float(getattr(counters, f)) for f in fields)
        prev = self._prev.get(key)
        self._prev[key] = (now, cur)
        if prev is None or now <= prev[0]:
            return
        dt = now - prev[0]
        for name, c, p in zip(names, cur, prev[1]):
            if c >= p:  # a counter that went backwards (reset) gives no rate
                row[self._index[name]] = (c - p) / dt

    # The rates divide by the monotonic time of the counters' own read, not the sample's start:
    # the readers before them (temperatures, frequencies, ...) take a varying time.
    def _read_disk(self, row: np.ndarray, now: float) -> None:
        counters = psutil.disk_io_counters()
        self._rates("disk", counters, ("disk_read_bytes_s", "disk_write_bytes_s"),
                    ("read_bytes", "write_bytes"), row, time.monotonic())

    def _read_net(self, row: np.ndarray, now: float) -> None:
        counters = psutil.net_io_counters()
        self._rates("net", counters, ("net_recv_bytes_s", "net_sent_bytes_s"),
                    ("bytes_recv", "bytes_sent"), row, time.monotonic())

    # ------------------------------------------------------------------ sampling
    def collect_once(self) -> tuple[float, dict[str, float]]:
        """Take one sample now, push it into the buffer and return (t, name -> value).

        The background thread calls this every interval_s; calling it directly
        (e.g. to time one sample) is safe while the thread runs.
        """
        cpu0, wall0 = time.thread_time(), time.perf_counter()
        with self._sampling:
            row = np.full(len(self.channels), NAN)
            now = time.monotonic()
            for name, chans, read in self._readers:
                try:
                    read(row, now)
                except Exception:  # one bad reader must not stop the others or the thread
                    for c in chans:
                        row[self._index[c]] = NAN
                    with self._lock:
                        self._errors += 1
                        self._errors_by[name] = self._errors_by.get(name, 0) + 1
                        first = name not in self._logged
                        self._logged.add(name)
                    if first:
                        log.warning("metrics reader %r failed; its channels %s are NaN (logged once)",
                                    name, list(chans), exc_info=True)
            t = time.time()
            with self._lock:
                self._buf.push(t, row)
                self._samples += 1
                self._cpu_s += time.thread_time() - cpu0
                self._wall_s += time.perf_counter() - wall0
        return t, dict(zip(self.channels, row.tolist()))

    def _run(self, stop: threading.Event) -> None:
        next_at = time.monotonic()
        while not stop.is_set():
            try:
                self.collect_once()
            except Exception:  # e.g. the buffer rejected a row: count, log once, keep going
                with self._lock:
                    self._errors += 1
                    self._errors_by["push"] = self._errors_by.get("push", 0) + 1
                    if "push" not in self._logged:
                        self._logged.add("push")
                        log.warning("metrics sample could not be stored (logged once)", exc_info=True)
            next_at += self.interval_s
            now = time.monotonic()
            if next_at < now:  # fell behind (suspended, overloaded): skip missed ticks
                next_at = now + self.interval_s - ((now - next_at) % self.interval_s)
            stop.wait(next_at - now)

    def start(self) -> "SystemMetricsCollector":
        """Start the sampling thread (no-op if it runs). Delta channels restart at NaN."""
        if self.running:
            return self
        with self._sampling:
            self._prev.clear()
        # each thread its own stop event: a stop() that timed out and a start() at once had shared
        # one, cleared again before the old thread saw it (two threads sampling)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(self._stop,), name="chronotick-metrics", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float | None = None) -> None:
        """Stop the sampling thread and wait for it (no-op if stopped)."""
        th = self._thread
        if th is None:
            return
        self._stop.set()
        th.join(timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def __enter__(self) -> "SystemMetricsCollector":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------------ reading
    def snapshot(self, n: int | None = None) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The newest `n` samples (all kept when None), oldest first:
        (times in Unix seconds, name -> values)."""
        if n is not None and (not is_int(n) or n < 0):
            raise ValueError(f"n must be a non-negative integer or None, got {n!r}")
        with self._lock:
            t, v = self._buf.snapshot(n) if n is not None else self._buf.snapshot()
        t = np.asarray(t, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64).reshape(t.size, len(self.channels))
        return t, {name: v[:, i].copy() for i, name in enumerate(self.channels)}

    def latest(self) -> dict[str, float]:
        """name -> value of the newest sample; {} before the first sample."""
        t, vals = self.snapshot(1)
        if t.size == 0:
            return {}
        return {name: float(a[-1]) for name, a in vals.items()}

    def stats(self) -> dict:
        """samples, errors (total and by reader), overhead_cpu_s / overhead_wall_s
        (totals spent sampling), overhead_cpu_per_sample_s, kept, overwritten, running."""
        with self._lock:
            n = self._samples
            return {
                "samples": n,
                "errors": self._errors,
                "errors_by_reader": dict(self._errors_by),
                "overhead_cpu_s": self._cpu_s,
                "overhead_wall_s": self._wall_s,
                "overhead_cpu_per_sample_s": self._cpu_s / n if n else NAN,
                "kept": len(self._buf),
                "overwritten": int(self._buf.overwritten),
                "running": self.running,
            }
