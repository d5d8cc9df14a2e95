"""chronotick.stats: Allan deviation against Stable32's reference tables
(shared/data/oscillators), the overlapping/modified/time deviations against
their definitions, and bad input."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chronotick import stats
from chronotick.io import load_oscillator_frequency, load_oscillator_phase

OSC = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "oscillators"
needs_data = pytest.mark.skipif(not OSC.is_dir(), reason=f"{OSC} not present")


def stable32_table(name: str):
    """(AF, tau, n, sigma) columns of a Stable32 'Allan' table ('#' lines are comments)."""
    rows = np.loadtxt(OSC / name, comments="#")
    return rows[:, 0].astype(np.int64), rows[:, 1], rows[:, 2].astype(np.int64), rows[:, 5]


@pytest.fixture(scope="module")
def ocxo_y():
    # fractional frequency y = (f - 10 MHz) / 10 MHz, one reading per 1 s gate
    tr = load_oscillator_frequency(OSC / "ocxo_frequency_1s.txt", nominal_hz=10e6, tau=1.0)
    return tr.extra["fractional_frequency"][1:]


@pytest.fixture(scope="module")
def cs_x():
    tr = load_oscillator_phase(OSC / "cs5071a_phase_1s.txt.gz", tau=1.0)
    return -tr.offsets  # offsets = reference - local = -x; the sign does not change ADEV


@needs_data
def test_adev_matches_stable32_ocxo_frequency(ocxo_y):
    af, tau, n, sigma = stable32_table("ocxo_stable32_adev.txt")
    assert ocxo_y.size == 19982  # "Frequency Data Points 1 thru 19982"
    # Stable32's count for frequency data: floor(N/m) averages, one fewer differences
    assert np.array_equal(n, ocxo_y.size // af - 1)
    taus, devs = stats.adev(ocxo_y, rate=1.0, data_type="freq", taus=af * 1.0)
    assert np.array_equal(taus, tau)
    rel = np.abs(devs / sigma - 1.0)
    assert rel.max() < 0.005, f"worst tau {taus[rel.argmax()]}: {devs[rel.argmax()]} vs {sigma[rel.argmax()]}"
    assert taus.size == 261 and rel.max() < 1e-4  # in fact equal to the table's 5 digits


@needs_data
def test_adev_matches_stable32_cs_phase(cs_x):
    af, tau, n, sigma = stable32_table("cs5071a_adev_decade.txt")
    assert cs_x.size == 556990
    # Stable32's count for phase data: floor((N-1)/m) - 1 second differences
    assert np.array_equal(n, (cs_x.size - 1) // af - 1)
    taus, devs = stats.adev(cs_x, rate=1.0, data_type="phase", taus=tau)
    rel = np.abs(devs / sigma - 1.0)
    assert rel.max() < 0.005, f"worst tau {taus[rel.argmax()]}: {devs[rel.argmax()]} vs {sigma[rel.argmax()]}"


def _naive(x, m, kind):
    """Direct definitions with Python loops (NIST SP 1065 eqs. 8, 11, 14)."""
    n = len(x)
    tau = float(m)
    if kind == "adev":
        xd = x[::m]
        terms = [(xd[i + 2] - 2 * xd[i + 1] + xd[i]) ** 2 for i in range(len(xd) - 2)]
        return math.sqrt(sum(terms) / len(terms) / (2 * tau * tau))
    if kind == "oadev":
        terms = [(x[i + 2 * m] - 2 * x[i + m] + x[i]) ** 2 for i in range(n - 2 * m)]
        return math.sqrt(sum(terms) / len(terms) / (2 * tau * tau))
    terms = []
    for j in range(n - 3 * m + 1):
        s = sum(x[i + 2 * m] - 2 * x[i + m] + x[i] for i in range(j, j + m))
        terms.append(s * s)
    mvar = sum(terms) / len(terms) / (2 * m * m * tau * tau)
    return math.sqrt(mvar) if kind == "mdev" else tau * math.sqrt(mvar / 3.0)


@pytest.mark.parametrize("kind", ["adev", "oadev", "mdev", "tdev"])
def test_matches_direct_definition(kind):
    x = np.cumsum(np.random.default_rng(1).standard_normal(300)) * 1e-9
    ms = [1, 2, 3, 7, 20]
    _, devs = getattr(stats, kind)(x, 1.0, "phase", taus=ms)
    assert len(devs) == len(ms)      # (zip had stopped at the shorter)
    for m, d in zip(ms, devs):
        assert d == pytest.approx(_naive(list(x), m, kind), rel=1e-9)


def test_frequency_equals_integrated_phase_and_rate_scales_tau():
    y = np.random.default_rng(2).standard_normal(5000) * 1e-11
    x = np.concatenate(([0.0], np.cumsum(y) * 0.1))  # rate 10 Hz: tau0 = 0.1 s
    for fn in (stats.adev, stats.oadev, stats.mdev, stats.tdev):
        tf, df = fn(y, rate=10.0, data_type="freq")
        tp, dp = fn(x, rate=10.0, data_type="phase")
        assert np.allclose(tf, tp) and np.allclose(df, dp, rtol=1e-9)
        assert tf[0] == pytest.approx(0.1) and np.allclose(tf[1:] / tf[:-1], 2.0)


def test_white_noise_levels():
    rng = np.random.default_rng(3)
    # white FM: sigma_y(tau) = sigma / sqrt(m), overlapping and plain agree
    y = rng.standard_normal(200_000) * 1e-10
    t, a = stats.adev(y, data_type="freq", taus=[1, 10, 100])
    _, o = stats.oadev(y, data_type="freq", taus=[1, 10, 100])
    assert np.allclose(a, 1e-10 / np.sqrt(t), rtol=0.05)
    assert np.allclose(o, 1e-10 / np.sqrt(t), rtol=0.03)
    # white PM: TDEV(tau) = sigma_x / sqrt(m)
    x = rng.standard_normal(200_000) * 1e-9
    t, td = stats.tdev(x, taus=[1, 10, 100])
    assert np.allclose(td, 1e-9 / np.sqrt(t), rtol=0.05)


def test_default_taus_are_octaves_that_fit():
    t, d = stats.adev(np.arange(100.0) ** 2)
    assert list(t) == [1, 2, 4, 8, 16, 32]  # floor(99/32) - 1 = 2 terms; m = 64 has none
    # x = k^2: every second difference is 2 m^2, so sigma^2 = (2 m^2)^2 / (2 m^2) = 2 m^2
    assert np.allclose(d, np.sqrt(2.0) * t)


@pytest.mark.parametrize("fn", [stats.adev, stats.oadev, stats.mdev, stats.tdev])
def test_bad_input(fn):
    ok = np.arange(50.0)
    with pytest.raises(ValueError, match="too short"):
        fn([1.0, 2.0], data_type="phase")
    with pytest.raises(ValueError, match="too short"):
        fn([1.0], data_type="freq")
    for rate in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="rate"):
            fn(ok, rate=rate)
    with pytest.raises(TypeError, match="rate"):
        fn(ok, rate="fast")
    with pytest.raises(ValueError, match="data_type.*'frequency'"):
        fn(ok, data_type="frequency")
    bad = ok.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match=r"data\[7\] is nan"):
        fn(bad)
    with pytest.raises(ValueError, match="one-dimensional"):
        fn(np.ones((5, 5)))
    with pytest.raises(ValueError, match=r"taus\[1\]=1.5 s is not a multiple"):
        fn(ok, taus=[1.0, 1.5])
    with pytest.raises(ValueError, match=r"taus\[0\]=-1.0"):
        fn(ok, taus=[-1.0])
    with pytest.raises(ValueError, match=r"taus\[0\]=0.25 s is shorter"):
        fn(ok, taus=[0.25])
    with pytest.raises(ValueError, match=r"taus\[0\]=40.0 s is too long"):
        fn(ok, taus=[40.0])


@needs_data
def test_cross_check_allantools(ocxo_y, cs_x):
    """Optional: agree with allantools where it is installed (not a dependency)."""
    at = pytest.importorskip("allantools")
    taus = [1.0, 3.0, 10.0, 100.0, 1000.0]
    for mine, theirs in ((stats.adev, at.adev), (stats.oadev, at.oadev), (stats.mdev, at.mdev),
                         (stats.tdev, at.tdev)):
        _, d1 = mine(ocxo_y, 1.0, "freq", taus=taus)
        t2, d2, _, _ = theirs(ocxo_y, rate=1.0, data_type="freq", taus=taus)
        assert np.allclose(t2, taus) and np.allclose(d1, d2, rtol=1e-6)
    _, d1 = stats.adev(cs_x[:100_000], taus=[1.0, 10.0, 100.0])
    _, d2, _, _ = at.adev(cs_x[:100_000], rate=1.0, data_type="phase", taus=[1.0, 10.0, 100.0])
    assert np.allclose(d1, d2, rtol=1e-6)



@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(10, 400), scale=st.floats(1e-12, 1e3),
       offset=st.floats(-10.0, 10.0), slope=st.floats(-1.0, 1.0))
def test_invariant_to_phase_and_frequency_offset_and_scales(seed, n, scale, offset, slope):
    """Second differences cancel x0 + y0 t; every statistic scales with |scale|."""
    z = np.random.default_rng(seed).standard_normal(n)
    x = scale * z
    t = np.arange(n, dtype=np.float64)
    for fn in (stats.adev, stats.oadev, stats.mdev, stats.tdev):
        taus, unit = fn(z)
        _, base = fn(x, taus=taus)
        _, shifted = fn(x + scale * (offset + slope * t), taus=taus)
        assert np.allclose(base, scale * unit, rtol=1e-12, atol=0)
        assert np.allclose(shifted, base, rtol=1e-9, atol=0)


def test_complex_data_strings_and_extreme_rates_are_refused():
    from chronotick import stats
    with pytest.raises(TypeError, match="data must be real, got complex128"):
        stats.adev(np.ones(10) + 1j)             # had returned zeros with a ComplexWarning
    with pytest.raises(TypeError, match="taus must be numbers"):
        stats.adev(np.arange(100.0), taus=["a"])
    for rate in (1e300, 1e-300):
        with pytest.raises(ValueError, match=r"rate must be a finite number in \[1e-12, 1e12\]"):
            stats.adev(np.arange(100.0), rate=rate)
