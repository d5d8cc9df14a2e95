"""The code users copy from README.md and docs/*.md runs and does what its comments say.

The README's Python blocks are read from the file itself and executed (with the glue a reader
supplies: a trace file, a measurement, an NTP server), so the docs cannot drift from the API
unnoticed; docs/sim.md's and docs/models.md's examples too, and every `chronotick ...` command
line of the README is parsed by the CLI's own parsers (flags spelled as the CLI spells them).
No network: the Clock example's NTP servers are local test servers.
"""
from __future__ import annotations

import argparse
import importlib
import os
import re
import shlex
import shutil
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

import chronotick
from chronotick.cli import SUBCOMMANDS, main

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
SHIPPED_TRACE = Path(chronotick.__file__).parent / "data" / "homelab_9h_ntp.csv"


def fenced(path: Path, lang: str) -> list[str]:
    """The ```lang blocks of a Markdown file, in order."""
    return re.findall(rf"^```{lang}\n(.*?)^```", path.read_text(), flags=re.S | re.M)


def indented_after(path: Path, first_line: str) -> str:
    """The indented (4-space) code block of a Markdown file that starts with `first_line`."""
    lines = path.read_text().split("\n")
    start = next(i for i, line in enumerate(lines) if line.strip() == first_line and line.startswith("    "))
    end = start
    while end < len(lines) and (lines[end].startswith("    ") or
                                (not lines[end].strip() and end + 1 < len(lines) and lines[end + 1].startswith("    "))):
        end += 1
    return textwrap.dedent("\n".join(lines[start:end]))


def readme_python() -> list[str]:
    blocks = fenced(README, "python")
    assert len(blocks) == 3, "README.md: expected the Use, Streaming and Clock examples"
    return blocks


@pytest.fixture
def in_tmp(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_readme_use_example(in_tmp):
    shutil.copy(SHIPPED_TRACE, in_tmp / "trace.csv")       # the example loads "trace.csv"
    code = readme_python()[0]
    *body, last = code.rstrip("\n").split("\n")
    assert "delay=delays" in last
    ns: dict = {}
    exec(compile("\n".join(body), "README.md (Use)", "exec"), ns)
    fc = ns["fc"]
    assert isinstance(fc, chronotick.Forecast)
    assert len(fc.mean) == 8 and fc.quantiles.shape == (8, 3)                 # horizon=8
    assert fc.quantile_levels.tolist() == [0.1, 0.5, 0.9]
    assert fc.std.shape == (8,) and isinstance(fc.weights, dict)
    assert fc.model.startswith("fused(") and "clock-bolt" in fc.model           # model="auto": the fused ensemble
    assert set(fc.weights) >= {"robust", "regression", "kalman", "clock-bolt"}
    lo, hi = fc.interval(0.8)
    assert lo.shape == hi.shape == (8,) and np.all(lo <= fc.mean) and np.all(fc.mean <= hi)
    assert all(isinstance(v, float) for v in (ns["mean"], ns["lo"], ns["hi"]))
    assert ns["lo"] <= ns["mean"] <= ns["hi"]
    ahead = ns["ahead"]                                                          # horizon_s=300
    m, a, b = ahead.at(float(ns["timestamps"][-1]) + 300)
    assert ahead.times[-1] >= ns["timestamps"][-1] + 300 and a <= m <= b
    # seconds in, seconds out: forecasts of a ms-scale NTP offset are ms-scale numbers in seconds
    assert np.all(np.abs(fc.mean) < 0.1)
    exec(compile(last, "README.md (Use, last line)", "exec"), ns)
    assert isinstance(ns["fc"], chronotick.Forecast) and len(ns["fc"].mean) == 64   # the default horizon


def test_readme_streaming_example():
    tr = chronotick.load(SHIPPED_TRACE)
    ns = {"chronotick": chronotick, "t": float(tr.times[-1]), "offset": float(tr.offsets[-1])}
    exec(compile(readme_python()[1], "README.md (Streaming)", "exec"), ns)
    assert isinstance(ns["fc"], chronotick.Forecast)
    eng = ns["eng"]
    with pytest.raises(RuntimeError, match="this Engine is closed"):          # the with block closed it
        eng.observe(ns["t"] + 1, 0.0)
    # the comment's alternative: delay=round_trip_s
    with chronotick.Engine({"engine": {"buffer_capacity": 4096}}) as e2:
        e2.observe(ns["t"], ns["offset"], delay=0.02)
        assert e2.health()["ok"] and e2.stats()["buffer"]["capacity"] == 4096


def test_readme_clock_example():
    from chronotick.testing.ntp_server import NTPTestServer
    code = readme_python()[2]
    servers = '["pool.ntp.org", "time.cloudflare.com"]'
    assert servers in code
    with NTPTestServer(offset_s=0.005) as s1, NTPTestServer(offset_s=0.005) as s2:
        code = code.replace(servers, repr([s1.address, s2.address]))
        ns = {"chronotick": chronotick, "t_ns": time.time_ns()}
        exec(compile(code, "README.md (Clock)", "exec"), ns)
    b = ns["b"]
    assert isinstance(b, chronotick.TimeBound)
    earliest, latest, t, status = b                                          # TimeBound(earliest_ns, latest_ns,
    assert (b.earliest_ns, b.latest_ns, b.time_ns, b.status) == (earliest, latest, t, status)   # time_ns, status)
    assert status in (chronotick.Status.UNKNOWN, chronotick.Status.SYNCHRONIZED)
    assert ns["clock"].health()["running"] is False                           # `with` stopped it


def test_readme_shell_commands_parse():
    """Every `chronotick SUB ...` line of the README's shell blocks parses with that subcommand's
    own parser (the flags exist with that spelling)."""
    lines = [line.split("  #")[0].strip() for block in fenced(README, "bash") for line in block.split("\n")]
    cmds = [shlex.split(line)[1:] for line in lines if line.startswith("chronotick ") and "..." not in line]
    inline = re.findall(r"`chronotick (backtest [^`]+)`", README.read_text())
    cmds += [shlex.split(c) for c in inline]
    assert {c[0] for c in cmds} >= {"serve", "status", "backtest", "simulate", "export"}
    for argv in cmds:
        mod = importlib.import_module(SUBCOMMANDS[argv[0]][0])
        p = argparse.ArgumentParser(prog=f"chronotick {argv[0]}", exit_on_error=False)
        mod.add_arguments(p)
        p.parse_args(argv[1:])


def test_docs_simulate_command_line_parses():
    text = (DOCS / "sim.md").read_text()
    m = re.search(r"python -m chronotick (simulate .*?)\n\n", text, flags=re.S)
    argv = shlex.split(re.sub(r"[\[\]\\]", " ", m.group(1)).replace(" N ", " 3 ").replace(" S ", " 64 "))
    p = argparse.ArgumentParser(exit_on_error=False)
    importlib.import_module("chronotick.cli.simulate").add_arguments(p)
    a = p.parse_args(argv[1:])
    assert (a.preset, a.scenario, a.hours, a.servers) == ("tcxo", "thermal_cycle", 6.0, 8)


def test_sim_md_example():
    code = fenced(DOCS / "sim.md", "python")[0]
    ns: dict = {}
    exec(compile(code, "docs/sim.md", "exec"), ns)
    r = ns["r"]
    assert r.params.disciplined and r.params.scenario == "network_spike"
    assert isinstance(r.trace, chronotick.Trace) and "true_offset" in r.trace.extra


def test_sim_md_first_example_claims():
    from chronotick import sim
    r = sim.simulate(preset="tcxo", scenario="server_load+thermal_cycle", duration_s=6 * 3600, poll_s=64.0, seed=0)
    tr = r.trace
    assert tr.delay is not None and tr.uncertainty is not None
    assert set(tr.covariates) == {"temperature_c", "cpu_load", "net_congestion"}
    np.testing.assert_array_equal(tr.extra["true_offset"], r.true_offset)
    assert r.t.shape == r.x.shape == r.y.shape and set(r.covariates) == set(tr.covariates)
    # sign: offsets are reference - local = -x
    np.testing.assert_allclose(r.true_offset, -np.interp(tr.times, r.t, r.x), atol=1e-12)
    assert type(r.params).__name__ == "SimParams" and r.params.preset == "tcxo"


def test_models_md_example(in_tmp):
    import chronotick.models as models
    tr = chronotick.load(SHIPPED_TRACE)
    os.makedirs("exports")
    shipped = models.onnx_models()["clock-bolt"]
    shutil.copy(shipped, "exports/my-bolt.onnx")
    shutil.copy(shipped[:-len(".onnx")] + ".json", "exports/my-bolt.json")
    code = indented_after(DOCS / "models.md", "import chronotick")
    code = code.replace("models.list()", "listed = models.list()", 1)
    ns = {"t": tr.times, "y": tr.offsets}
    exec(compile(code, "docs/models.md", "exec"), ns)
    assert ns["fc"].model == "my-bolt"
    listed = ns["listed"]
    assert listed[0]["name"] == "auto" and listed[0]["kind"] == "fused"
    bolt = next(e for e in listed if e["name"] == "clock-bolt")
    assert bolt["kind"] == "onnx" and bolt["path"] == shipped and isinstance(bolt["card"], dict)
    q = ns["f"].forecast(tr.times, tr.offsets, target_times=[tr.times[-1] + 100], levels=[0.1, 0.5, 0.9])
    assert q.quantiles.shape == (1, 3)
    assert q.mean[0] == q.quantiles[0, 1]                       # mean is the median


def test_serve_help_shows_the_config_keys(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["serve", "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "clock.yaml (every key optional):" in out and "servers:" in out and "engine:" in out
    assert "see `chronotick serve --help`" not in out      # --config's help pointed at itself


@pytest.mark.parametrize("module", ["chronotick.replay", "chronotick.holdover"])
def test_module_help_description_is_a_whole_sentence(module, capsys):
    mod = importlib.import_module(module)
    with pytest.raises(SystemExit):
        mod.main(["--help"])
    out = capsys.readouterr().out
    first = " ".join(mod.__doc__.split("\n\n")[0].split())
    assert first.endswith(".") and first in " ".join(out.split())


def test_backtest_table_columns_stay_apart():
    """`chronotick backtest --unit us`: errors of several ms are 9+ characters in us; they ran
    together with the next column ("4044.76211793.506")."""
    from chronotick.backtest import run_backtest
    from chronotick.io import Trace
    tr = chronotick.load(SHIPPED_TRACE)
    big = Trace(times=tr.times[:40], offsets=tr.offsets[:40] * 100.0)
    res = run_backtest(big, {}, include_prototype=False)
    for unit in ("ms", "us"):
        rows = res.format(unit).split("\n")[2:]
        assert rows and all(len(r.split()) == 9 for r in rows), res.format(unit)
    # the usual (ms) layout is unchanged: the name column, then n right-aligned to column 27
    ms = res.format("ms").split("\n")
    assert ms[1].startswith(f"{'model':<22}{'n':>5}") and ms[2][22:27].strip().isdigit()
