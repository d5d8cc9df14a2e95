"""`chronotick serve --metrics-port`: Prometheus metrics of a running clock,
scraped over HTTP from a real `chronotick serve` process polling the
project's loopback NTP test server (which also sends spoofed replies), and
`chronotick status` reading the same served state (issue 5 §6)."""
import os
import re
import subprocess
import sys
import time
import urllib.request

import pytest

import chronotick

prom_parser = pytest.importorskip("prometheus_client.parser")

from chronotick.testing.ntp_server import NTPTestServer, Reply  # noqa: E402

ROOT = os.path.join(os.path.dirname(__file__), "..")


def scrape(url: str) -> dict:
    """{(name, labels as a sorted tuple): value} of every sample."""
    with urllib.request.urlopen(url, timeout=5) as r:
        text = r.read().decode()
    out = {}
    for fam in prom_parser.text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_serve_exposes_offset_bound_status_rejections_and_latency(tmp_path):
    cfg = tmp_path / "clock.yaml"
    cfg.write_text("burst: 1\ntimeout_s: 0.3\nmin_poll_s: 0\n"       # our own test server: no RFC floor
                   "clock: {poll_interval_s: 0.1, warmup_poll_interval_s: 0.1, min_measurements: 3}\n")
    path = tmp_path / "clock"
    # the child imports the same chronotick as this process (the working tree or an installed wheel)
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(chronotick.__file__)))
    env = dict(os.environ, PYTHONPATH=pkg_parent + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with NTPTestServer(offset_s=0.040, delay_s=0.002) as ntp:
        # spoofed packets first (each followed by the real reply), then normal service
        ntp.queue(Reply("wrong_origin", then_ok=True), Reply("wrong_port", then_ok=True), Reply("mode3"))
        proc = subprocess.Popen([sys.executable, "-m", "chronotick", "serve", "--config", str(cfg), "--path", str(path),
                                 "--servers", ntp.address, "--duration", "60", "--metrics-port", "0"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        try:
            url = None
            lines = []
            deadline = time.monotonic() + 30
            while url is None and time.monotonic() < deadline:
                line = proc.stdout.readline()
                if not line:
                    break
                lines.append(line)
                m = re.search(r"metrics: (http://\S+)", line)
                url = m.group(1) if m else None
            assert url, "".join(lines)
            deadline = time.monotonic() + 30
            while True:
                s = scrape(url)
                if s.get(("chronotick_status", ())) == 1 or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert s[("chronotick_status", ())] == 1, s                 # SYNCHRONIZED
            assert abs(s[("chronotick_offset_seconds", ())] - 0.040) < 0.02, s
            assert 0 < s[("chronotick_bound_seconds", ())] < 1.0, s
            assert s[("chronotick_measurements_total", ())] >= 3, s
            assert s[("chronotick_local_clock_steps_total", ())] == 0, s        # the local clock was not set
            assert s[("chronotick_ntp_exchanges_total", ())] >= s[("chronotick_measurements_total", ())], s
            for reason in ("wrong_origin", "wrong_source", "mode"):
                assert s.get(("chronotick_ntp_rejections_total", (("reason", reason),))) == 1, (reason, s)
            p50 = s[("chronotick_forecast_latency_seconds", (("quantile", "0.5"),))]
            p99 = s[("chronotick_forecast_latency_seconds", (("quantile", "0.99"),))]
            assert 0 < p50 <= p99 < 5.0, s
            # a summary: its count and sum over every forecast beside the quantiles
            n_lat = s[("chronotick_forecast_latency_seconds_count", ())]
            assert n_lat >= 1 and 0 < s[("chronotick_forecast_latency_seconds_sum", ())] < 5.0 * n_lat, s
            with urllib.request.urlopen(url, timeout=5) as r:
                assert "# TYPE chronotick_forecast_latency_seconds summary" in r.read().decode()
            assert s[("chronotick_source_errors_total", ())] >= 1, s       # the mode-3 poll failed
            # a second scrape sees the counters move on (values are read at each scrape)
            n0 = s[("chronotick_measurements_total", ())]
            deadline = time.monotonic() + 10
            while scrape(url)[("chronotick_measurements_total", ())] <= n0 and time.monotonic() < deadline:
                time.sleep(0.1)
            assert scrape(url)[("chronotick_measurements_total", ())] > n0
            # `chronotick status` reads the same served state from shared memory
            st = subprocess.run([sys.executable, "-m", "chronotick", "status", "--path", str(path)],
                                capture_output=True, text=True, env=env, timeout=30)
            assert st.returncode == 0 and "status:     SYNCHRONIZED" in st.stdout, st.stdout + st.stderr
            assert re.search(r"correction \+(3|4|5)\d\.\d+ ms", st.stdout), st.stdout
        finally:
            proc.terminate()
            out, _ = proc.communicate(timeout=20)
    assert proc.returncode == 0, out
    assert "stopped: status SYNCHRONIZED" in out, out
