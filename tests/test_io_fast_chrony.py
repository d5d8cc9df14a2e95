"""load_chrony_measurements' vectorised fast path (io/_fast_chrony.py) against its row loop.

The fast path must return exactly the row loop's Trace (values, source, skipped counts and their
order) or give way to it; errors are always the row loop's. A differential fuzz on mutated copies
of the real fixture checks both (an audit's, 2026-12-06, where it ran 3000 comparisons).
"""
from __future__ import annotations

import gzip
import os
import random

import numpy as np
import pytest

from chronotick.io import _fast_chrony, chrony, load, load_chrony_measurements

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")
FIXTURE = os.path.join(DATA, "chrony_measurements.log")
OPTIONS = ({}, {"strict": False}, {"valid_only": False}, {"source": "127.0.0.2"},
           {"source": "127.0.0.9", "strict": False})


def outcome(fn, path, **kw):
    try:
        tr = fn(path, **kw)
    except Exception as e:          # the type and message must match too
        return ("E", type(e).__name__, str(e))
    return ("T", tr.times.tolist(), tr.offsets.tolist(), tr.delay.tolist(), tr.uncertainty.tolist(),
            {k: v.tolist() for k, v in tr.extra.items()}, tr.source, repr(tr.skipped))


def rows(path, strict=True, source=None, valid_only=True):
    """The row loop alone."""
    return chrony._measurement_rows(path, strict, source, valid_only)


@pytest.mark.parametrize("kw", OPTIONS[:4])
def test_fast_path_is_taken_on_the_real_log_and_matches_the_row_loop(kw):
    fast = _fast_chrony.measurements(FIXTURE, kw.get("source"), kw.get("valid_only", True))
    assert fast is not None
    assert outcome(load_chrony_measurements, FIXTURE, **kw) == outcome(rows, FIXTURE, **kw)
    assert fast.skipped == rows(FIXTURE, **kw).skipped and "other_source" in fast.skipped


def test_a_tie_of_sources_goes_to_the_first_seen(tmp_path):
    entries = [ln for ln in open(FIXTURE) if ln.startswith("2026-")]
    two, one = [ln for ln in entries if " 127.0.0.2 " in ln], [ln for ln in entries if " 127.0.0.1 " in ln]
    p = tmp_path / "tie.log"
    p.write_text(two[-2] + one[-2] + two[-1] + one[-1])
    assert entries[0].split()[2] == "127.0.0.2"
    fast = _fast_chrony.measurements(str(p), None, False)
    assert fast is not None and fast.source.endswith("[127.0.0.2]")
    assert outcome(load_chrony_measurements, str(p), valid_only=False) == outcome(rows, str(p), valid_only=False)
    p.write_text(one[-2] + two[-2] + one[-1] + two[-1])
    assert _fast_chrony.measurements(str(p), None, False).source.endswith("[127.0.0.1]")


def test_fast_path_is_taken_gzipped_and_through_load(tmp_path, monkeypatch):
    p = tmp_path / "measurements.log.gz"
    p.write_bytes(gzip.compress(open(FIXTURE, "rb").read()))
    assert _fast_chrony.measurements(str(p), None, True) is not None
    assert outcome(load, str(p)) == outcome(rows, str(p))
    taken = []
    real = _fast_chrony.measurements
    monkeypatch.setattr(_fast_chrony, "measurements", lambda *a: taken.append(real(*a)) or taken[-1])
    load(FIXTURE)
    assert taken and taken[0] is not None


def test_a_truncated_gzip_gets_the_row_loops_error(tmp_path):
    p = tmp_path / "measurements.log.gz"
    p.write_bytes(gzip.compress(open(FIXTURE, "rb").read() * 20)[:3000])
    assert _fast_chrony.measurements(str(p), None, True) is None
    with pytest.raises(ValueError, match="truncated or corrupt gzip"):
        load_chrony_measurements(str(p))


ODD = ["nan", "inf", "-1e-3", "1e400", "1.7e308", "1_0", "\u0663", "", "x", "0x1", "1.5e", "2025-02-30",
       "24:00:00", "23:59:60", "12:60:00", "?", "NN", "1111", "11", "1101", "0000", "111", "-0.0", "1e308",
       "+.5", "5.", "127.0.0.3", "2026-11-24\x00", "1.0\x00", "\t", " ", "9999-12-31", "1969-12-31",
       "00:00:00", "Date (UTC)", "#", "=", "2026-11-24", "x" * 70]


def mutate(rng, lines):
    lines = list(lines)
    for _ in range(rng.choice([0, 1, 1, 2, 3])):
        i = rng.randrange(len(lines))
        op = rng.randrange(10)
        f = lines[i].split()
        if op == 0 and f:
            f[rng.randrange(len(f))] = rng.choice(ODD)
            lines[i] = " ".join(f)
        elif op == 1:
            lines.insert(i, lines[rng.randrange(len(lines))])          # a duplicate / out of order
        elif op == 2:
            del lines[i]
        elif op == 3:
            lines[i] = lines[i][:rng.randrange(len(lines[i]) + 1)]     # truncated
        elif op == 4:
            lines.insert(i, rng.choice(["# comment", "", "   ", "====", "  Date (UTC) x", " # c", "Date(UTC)"]))
        elif op == 5:
            lines[i] = "  " + lines[i] + "  "
        elif op == 6 and f:
            lines[i] = "\t".join(f)
        elif op == 7:
            a, b = rng.randrange(len(lines)), rng.randrange(len(lines))
            lines[a], lines[b] = lines[b], lines[a]
        elif op == 8 and len(f) > 2:
            f[2] = rng.choice(["127.0.0.1", "127.0.0.2", "127.0.0.3"])
            lines[i] = " ".join(f)
        elif op == 9 and len(f) > 16:
            del f[rng.randrange(16, len(f))]                           # ragged trailing columns
            lines[i] = " ".join(f)
    return lines


def test_fast_path_matches_the_row_loop_on_mutated_logs(tmp_path):
    rng = random.Random(36)
    base = open(FIXTURE).read().splitlines()
    compared = taken = 0
    for it in range(80):
        lines = mutate(rng, base[:rng.choice([6, 20, 60, len(base)])])
        sep = rng.choice(["\n", "\n", "\r\n"])
        text = sep.join(lines) + rng.choice([sep, ""])
        if rng.random() < 0.1:
            text = "\ufeff" + text
        if not text.strip("\ufeff"):
            continue
        p = str(tmp_path / f"m{it}.log")
        with open(p, "w", newline="") as f:
            f.write(text)
        for kw in OPTIONS:
            taken += _fast_chrony.measurements(p, kw.get("source"), kw.get("valid_only", True)) is not None
            assert outcome(load_chrony_measurements, p, **kw) == outcome(rows, p, **kw), (text, kw)
            compared += 1
    assert compared >= 300 and compared / 5 < taken < compared     # both paths exercised
