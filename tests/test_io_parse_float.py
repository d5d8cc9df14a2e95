"""The loaders' number parsing takes float() directly for ASCII text without '_' (io/_common.py
parse_float, parse_floats): these check, on generated texts, that the values and errors are the
same as with the plain-notation pattern checked first for every field (how parse_float worked
before, 2026-12-06)."""
import math
import random

import pytest

from chronotick.io._common import RowError, is_plain_number, parse_float, parse_floats

ALPHABET = "0123456789.eE+-_ \t\x0binfatyINFATYx\x1c\x00" + "\u0663\u00a0\u2007"


def reference(text, finite=True):
    """parse_float as it was: the pattern for every str, then float()."""
    try:
        if not is_plain_number(text):
            raise ValueError(text)
        v = float(text)
    except ValueError:
        return "error"
    if finite and not math.isfinite(v):
        return "not finite"
    return v


def current(text, finite=True):
    try:
        return parse_float(text, "f", 1, "c", finite)
    except RowError as e:
        return "not finite" if "not finite" in str(e) else "error"


def texts(n, seed):
    rng = random.Random(seed)
    words = ["1", "1.5", ".5", "5.", "1e3", "1E-3", "+2", "-0", "inf", "-Infinity", "nan", "+NaN", "1_0",
             "1e", "e3", "..", "0x10", "1.5j", "\u0663", " 7 ", "7\t", "\x0b8\x0b", "\x1c9", "1\x00", "\u00a01",
             "1\u2007", "infinity", "infinit", "1e999", "-1e999", "1__0", "_1", "1.e5", "+.5e-3"]
    out = list(words)
    for _ in range(n):
        k = rng.randint(1, 8)
        if rng.random() < 0.5:
            out.append("".join(rng.choice(words) if rng.random() < 0.3 else rng.choice(ALPHABET) for _ in range(k)))
        else:
            out.append("".join(rng.choice(ALPHABET) for _ in range(k)))
    return out


@pytest.mark.parametrize("finite", [True, False])
def test_parse_float_matches_the_pattern_first_way(finite):
    for text in texts(40000, seed=11 if finite else 12):
        a, b = reference(text, finite), current(text, finite)
        assert (a == b) or (isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b)), \
            (text, a, b)


def test_parse_floats_is_parse_float_per_field():
    rng = random.Random(5)
    pool = texts(3000, seed=13)
    columns = ((0, "a"), (2, "b"), (3, "c"))
    for _ in range(20000):
        fields = [rng.choice(pool) if rng.random() < 0.3 else f"{rng.uniform(-1e3, 1e3):.6e}" for _ in range(4)]
        try:
            want = {n: parse_float(fields[i], "f", 7, n) for i, n in columns}
        except RowError as e:
            with pytest.raises(RowError) as got:
                parse_floats(fields, columns, "f", 7)
            assert str(got.value) == str(e)
        else:
            assert parse_floats(fields, columns, "f", 7) == want


def test_parse_floats_names_the_first_bad_column():
    with pytest.raises(RowError, match=r"f:3: column 'b' is not a number: '1_0'"):
        parse_floats(["1.0", "1_0", "inf"], ((0, "a"), (1, "b"), (2, "c")), "f", 3)
    with pytest.raises(RowError, match=r"f:3: column 'c' is not finite: 'inf'"):
        parse_floats(["1.0", "2", "inf"], ((0, "a"), (1, "b"), (2, "c")), "f", 3)
    assert parse_floats(["1e308", "1e308"], ((0, "a"), (1, "b")), "f", 3) == {"a": 1e308, "b": 1e308}
