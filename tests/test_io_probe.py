"""Bad input found by probing chronotick.io and `chronotick backtest`: each test failed before its fix.

The rule: a bad file is a clear error naming the bad line / value (for the CLI one line on stderr and
exit 1), never silently wrong or silently dropped."""
from __future__ import annotations

import gzip
import os
import warnings

import numpy as np
import pytest

from chronotick.cli import main
from chronotick.io import load, load_chronotick_csv, load_chronyc_tracking, load_oscillator_phase, load_plain_csv

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "data")


def write(tmp_path, name, data):
    p = tmp_path / name
    if isinstance(data, bytes):
        p.write_bytes(data)
    else:
        p.write_text(data)
    return str(p)


def plain_trace(n=40, t0=1.7e9, step=10.0, scale=1.0, bad=None):
    """A plain CSV text of n rows; row `bad` (0-based) gets the offset 'nan'."""
    rows = [f"{(t0 + step * i) * scale:.3f},{'nan' if i == bad else f'{1e-3 + 1e-5 * i:.6g}'}" for i in range(n)]
    return "t,offset\n" + "\n".join(rows) + "\n"


def one_line_error(err: str) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("chronotick backtest: "), err
    return lines[0]


# -- a bad value among the first lines: the loader names it, not "cannot tell the format" ---------------

@pytest.mark.parametrize("value, reason", [("nan", "not finite: 'nan'"), ("inf", "not finite: 'inf'"),
                                           ("", "not a number: ''")])
def test_sniffing_lets_the_loader_name_a_bad_value_in_the_first_lines(tmp_path, value, reason):
    p = write(tmp_path, "a.csv", f"t,offset\n1,0.1\n2,{value}\n3,0.3\n")
    with pytest.raises(ValueError, match=rf"a\.csv:3: column 'offset' is {reason}"):
        load(p)


def test_sniffing_lets_the_loader_name_a_non_utf8_byte(tmp_path):
    p = write(tmp_path, "a.csv", b"t,offset\n1,0.1\n2,0\xe90.2\n3,0.3\n")
    with pytest.raises(ValueError, match=r"a\.csv:3: column 'offset' is not a number"):
        load(p)


def test_sniffing_a_one_column_file_with_a_nan_reading(tmp_path):
    p = write(tmp_path, "f.txt", "10000000.001\nnan\n10000000.0015\n")
    with pytest.raises(ValueError, match=r"f\.txt:2: column 'value' is not finite"):
        load(p)


def test_sniffing_still_refuses_what_is_no_trace(tmp_path):
    for text in ("a,b,c,d,e\nx,y,z,w,v\n", "hello world\nthis is not a trace\n", "t;offset\n1;0.1\n2;0.2\n"):
        with pytest.raises(ValueError, match="cannot tell the format"):
            load(write(tmp_path, "x.csv", text))
    with pytest.raises(ValueError, match="no other data line"):
        load(write(tmp_path, "h.csv", "t,offset\n"))


def test_backtest_names_a_bad_value_in_the_first_lines(tmp_path, capsys):
    p = write(tmp_path, "early.csv", plain_trace(bad=3))
    assert main(["backtest", "--no-progress", "--models", "hold", p]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "early.csv:5: column 'offset' is not finite: 'nan'" in line


# -- plain CSV: a first data row with a typo is not a header ------------------------------------------

def test_plain_csv_first_row_with_a_bad_time_is_not_taken_for_a_header(tmp_path):
    p = write(tmp_path, "a.csv", "1o,0.1\n2,0.2\n3,0.3\n")
    with pytest.raises(ValueError, match=r"a\.csv:1: column 't' is not a number: '1o'"):
        load(p)
    tr = load_plain_csv(p, strict=False)
    assert tr.skipped == {"malformed": 1} and list(tr.times) == [2.0, 3.0]
    # a real header still is one
    tr = load_plain_csv(write(tmp_path, "b.csv", "time,offset,unc\n1,0.1,0.01\n2,0.2,0.01\n"))
    assert list(tr.uncertainty) == [0.01, 0.01]


# -- time stamps in ms / us / ns where seconds are expected -------------------------------------------

@pytest.mark.parametrize("scale", [1e3, 1e6, 1e9])
def test_plain_csv_times_in_ms_us_ns_are_refused(tmp_path, scale):
    p = write(tmp_path, "ms.csv", plain_trace(n=3, scale=scale))
    with pytest.raises(ValueError, match=r"ms\.csv:2: time .* is not a time in seconds"):
        load(p)
    with pytest.raises(ValueError, match=r"no measurements found \(skipped: \{'malformed': 3\}\)"):
        load_plain_csv(p, strict=False)


def test_plain_csv_epoch_and_relative_seconds_still_load(tmp_path):
    assert len(load(write(tmp_path, "s.csv", plain_trace(n=3)))) == 3
    assert len(load(write(tmp_path, "r.csv", plain_trace(n=3, t0=-5.0)))) == 3


def test_chronotick_csv_system_time_in_ms_is_refused(tmp_path):
    p = write(tmp_path, "c.csv", "system_time,ntp_offset_ms\n1760636131035,1.5\n1760636141035,2.5\n")
    with pytest.raises(ValueError, match=r"c\.csv:2: time .* is not a time in seconds"):
        load_chronotick_csv(p)


def test_chronyc_query_time_in_ms_is_refused(tmp_path):
    lines = open(os.path.join(DATA, "chronyc_tracking.csv")).read().splitlines()
    p = write(tmp_path, "q.csv", "".join(f"{1795487560017 + 4000 * i},{ln}\n" for i, ln in enumerate(lines)))
    with pytest.raises(ValueError, match=r"q\.csv:1: time .* is not a time in seconds"):
        load_chronyc_tracking(p)


def test_oscillator_first_datapoint_in_ms_is_refused(tmp_path):
    p = write(tmp_path, "p.txt", "# first datapoint 1700000000000\n1e-9\n2e-9\n")
    with pytest.raises(ValueError, match="not a time in seconds"):
        load_oscillator_phase(p)
    with pytest.raises(ValueError, match="not a time in seconds"):
        load_oscillator_phase(write(tmp_path, "q.txt", "1e-9\n2e-9\n"), t0=1.7e12)


def test_backtest_refuses_a_trace_in_ms(tmp_path, capsys):
    p = write(tmp_path, "ms.csv", plain_trace(scale=1e3))
    assert main(["backtest", "--no-progress", "--models", "hold", p]) == 1
    assert "ms.csv:2: time 1700000000000.0 is not a time in seconds" in one_line_error(capsys.readouterr().err)


# -- ChronoTick CSV: a short row is malformed (the docstring said so), a doubled column is refused ------

H = "timestamp,system_time,chronotick_offset_ms,chronotick_source,ntp_offset_ms,ntp_delay_ms,ntp_server\n"


def test_chronotick_csv_short_ntp_row_is_malformed(tmp_path):
    p = write(tmp_path, "s.csv", H + "1,100,0.1,cpu,1.5\n3,120,0.2,cpu,2.5,30,x\n")
    with pytest.raises(ValueError, match=r"s\.csv:2: 5 fields, header has 7"):
        load_chronotick_csv(p)
    tr = load_chronotick_csv(p, strict=False)
    assert tr.skipped == {"malformed": 1} and list(tr.times) == [120.0] and np.all(np.isfinite(tr.delay))


def test_chronotick_csv_row_cut_before_its_ntp_offset_is_malformed(tmp_path):
    # cut before ntp_offset_ms, the row had read as one without a measurement and been skipped
    # silently (CLI audit, 2026-12-04)
    p = write(tmp_path, "c.csv", H + "1,100,0.1,cpu\n3,120,0.2,cpu,2.5,30,x\n")
    with pytest.raises(ValueError, match=r"c\.csv:2: 4 fields, header has 7"):
        load_chronotick_csv(p)
    tr = load_chronotick_csv(p, strict=False)
    assert tr.skipped == {"malformed": 1} and list(tr.times) == [120.0]


def test_chronotick_csv_header_with_a_used_column_twice(tmp_path):
    p = write(tmp_path, "d.csv", "system_time,ntp_offset_ms,ntp_offset_ms\n100,1,3\n110,2,4\n")
    with pytest.raises(ValueError, match="header names column 'ntp_offset_ms' more than once"):
        load_chronotick_csv(p)


# -- chronyc -c tracking: lines with and without a query time stamp are not mixed ----------------------

def test_chronyc_lines_with_and_without_query_time_are_not_mixed(tmp_path):
    plain = open(os.path.join(DATA, "chronyc_tracking.csv")).read().splitlines(True)
    stamped = open(os.path.join(DATA, "chronyc_tracking_timestamped.csv")).read().splitlines(True)
    p = write(tmp_path, "m.csv", plain[0] + stamped[1] + "".join(plain[2:]))
    with pytest.raises(ValueError, match=r"m\.csv:2: 15 fields, but the earlier reports have 14"):
        load_chronyc_tracking(p)
    tr = load_chronyc_tracking(p, strict=False)
    assert tr.skipped == {"malformed": 1} and len(tr) == len(plain) - 1


# -- truncated gzip: ValueError naming the file (was EOFError: a traceback from the CLI) --------------

def test_truncated_gzip_is_a_value_error_naming_the_file(tmp_path):
    text = "".join(f"{1.7e9 + i},{1e-3 * (i % 7)}\n" for i in range(5000))
    p = write(tmp_path, "t.csv.gz", gzip.compress(text.encode())[:-40])
    for kw in ({}, {"format": "plain_csv"}):
        with pytest.raises(ValueError, match=r"t\.csv\.gz: truncated or corrupt gzip file"):
            load(p, **kw)
    c = write(tmp_path, "c.csv.gz", gzip.compress((H + "".join(
        f"1,{100 + i},0.1,cpu,1.5,20,x\n" for i in range(5000))).encode())[:-40])
    with pytest.raises(ValueError, match=r"c\.csv\.gz: truncated or corrupt gzip file"):
        load_chronotick_csv(c)


def test_backtest_reports_a_truncated_gzip_in_one_line(tmp_path, capsys):
    text = plain_trace(n=3000)
    p = write(tmp_path, "t.csv.gz", gzip.compress(text.encode())[:-40])
    assert main(["backtest", "--no-progress", "--models", "hold", p]) == 1
    assert "truncated or corrupt gzip file" in one_line_error(capsys.readouterr().err)


# -- backtest: gzip traces in a directory, --format, output paths checked before the run ----------------

def test_backtest_directory_includes_gzip_traces(tmp_path, capsys):
    d = tmp_path / "traces"
    d.mkdir()
    (d / "a.csv.gz").write_bytes(gzip.compress(plain_trace().encode()))
    assert main(["backtest", "--no-progress", "--models", "hold", str(d)]) == 0
    assert "hold-last" in capsys.readouterr().out


def test_backtest_format_option(tmp_path, capsys):
    p = write(tmp_path, "a.csv", plain_trace())
    assert main(["backtest", "--no-progress", "--models", "hold", "--format", "plain_csv", p]) == 0
    capsys.readouterr()
    assert main(["backtest", "--no-progress", "--models", "hold", "--format", "chrony_tracking", p]) == 1
    assert "a.csv:1: expected 14 columns" in one_line_error(capsys.readouterr().err)
    assert main(["backtest", "--no-progress", "--models", "hold", "--format", "nope", p]) == 2
    assert "--format 'nope'" in one_line_error(capsys.readouterr().err)
    # the hint when sniffing fails names the CLI option, not the Python argument
    q = write(tmp_path, "b.csv", "t;offset\n1;0.1\n2;0.2\n")
    assert main(["backtest", "--no-progress", "--models", "hold", q]) == 1
    line = one_line_error(capsys.readouterr().err)
    assert "cannot tell the format" in line and "pass --format" in line


@pytest.mark.parametrize("option", ["--json", "--markdown", "--plot"])
def test_backtest_checks_output_paths_before_running(tmp_path, capsys, option):
    p = write(tmp_path, "a.csv", plain_trace())
    out = str(tmp_path / "missing" / "out.x")
    assert main(["backtest", "--no-progress", "--models", "hold", option, out, p]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""            # refused before the backtest ran, not after
    assert f"{option} {out}: output directory does not exist" in one_line_error(captured.err)


def test_backtest_json_to_a_directory_is_refused_before_running(tmp_path, capsys):
    p = write(tmp_path, "a.csv", plain_trace())
    assert main(["backtest", "--no-progress", "--models", "hold", "--json", str(tmp_path), p]) == 1
    captured = capsys.readouterr()
    assert captured.out == "" and "is a directory" in one_line_error(captured.err)


@pytest.mark.parametrize("header", ["t,offset_ms", "t_ms,offset", "t,offset,uncertainty_us", "t,offset,delay (ns)",
                                    "time,offset[msec]"])
def test_plain_csv_header_naming_another_unit_is_refused(tmp_path, header):
    """A header `t,offset_ms` was read as seconds: 1000x off, silently."""
    p = tmp_path / "u.csv"
    ncols = header.count(",") + 1
    p.write_text(header + "\n" + "".join(",".join([str(100.0 * i)] + ["0.001"] * (ncols - 1)) + "\n"
                                         for i in range(1, 5)))
    with pytest.raises(ValueError, match="names a unit other than seconds"):
        load_plain_csv(str(p))


def test_plain_csv_seconds_header_still_loads(tmp_path):
    p = tmp_path / "s.csv"
    p.write_text("t,offset,uncertainty\n1,0.001,0.0001\n2,0.002,0.0001\n")
    tr = load_plain_csv(str(p))
    assert list(tr.offsets) == [0.001, 0.002]


def test_backtest_names_a_model_that_cannot_forecast_on_one_line(tmp_path, capsys):
    """Finite values near the float64 limit: every model overflows and predict() raises its
    ForecastError, which the CLI prints on one line (was: a RuntimeError's traceback)."""
    t = 1.7e9 + 64.0 * np.arange(60)
    y = 1.7e308 * (-1.0) ** np.arange(60)
    p = write(tmp_path, "huge.csv", "t,offset\n" + "".join(f"{a!r},{b!r}\n" for a, b in zip(t.tolist(), y.tolist())))
    with np.errstate(all="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        assert main(["backtest", "--no-progress", "--format", "plain_csv", "--models", "auto", p]) == 1
    captured = capsys.readouterr()
    assert "model 'auto' failed" in one_line_error(captured.err) and "Traceback" not in captured.err


def test_backtest_refuses_an_output_path_no_file_can_be_made_in(tmp_path, capsys):
    """os.access says yes to root everywhere; /proc takes no new files. Refused before the run
    (was: the whole backtest ran, then its JSON was lost)."""
    p = write(tmp_path, "a.csv", plain_trace())
    assert main(["backtest", "--no-progress", "--models", "hold", "--json", "/proc/chronotick-out.json", p]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert "--json /proc/chronotick-out.json: cannot write a file in /proc" in one_line_error(captured.err)
    f = write(tmp_path, "plain", "x")           # a file where the output's folder should be
    out = os.path.join(f, "out.json")
    assert main(["backtest", "--no-progress", "--models", "hold", "--markdown", out, p]) == 1
    assert f"--markdown {out}: {f} is not a directory" in one_line_error(capsys.readouterr().err)


@pytest.mark.parametrize("header", ["offset,t", "y,time", "value,timestamp", "Offset , T"])
def test_plain_csv_header_naming_the_columns_the_other_way_round_is_refused(tmp_path, header):
    # read as given, the offsets were the times: a backtest had run on them, MAE 64 s (CLI audit,
    # 2026-12-04). The order is fixed (t, offset); a header saying otherwise is refused, named
    p = write(tmp_path, "swapped.csv", header + "\n0.001,100\n0.002,164\n0.003,228\n")
    with pytest.raises(ValueError, match=r"swapped\.csv:1: this format reads column 1 as the time.*put the times first"):
        load_plain_csv(p)
    ok = write(tmp_path, "ok.csv", "time,offset\n100,0.001\n164,0.002\n")
    assert list(load_plain_csv(ok).times) == [100.0, 164.0]
