"""regression+temp (chrony tempcomp-style, fitted from data) cuts error on a
simulated thermal cycle versus the same regression without the covariate."""
import numpy as np
import pytest

from chronotick import _core, sim

LEVELS = np.array([0.1, 0.5, 0.9])


def errors(seed, ahead=15, every=3):
    r = sim.simulate(preset="tcxo", scenario="thermal_cycle", duration_s=12 * 3600, poll_s=64, seed=seed)
    tr, temp = r.trace, r.trace.covariates["temperature_c"]
    plain, comp = [], []
    for i in range(200, len(tr) - ahead, every):
        target, truth = np.array([tr.times[i + ahead]]), r.true_offset[i + ahead]
        a = _core.forecast("regression", tr.times[:i + 1], tr.offsets[:i + 1], None, target, LEVELS)
        b = _core.forecast_tempcomp(tr.times[:i + 1], tr.offsets[:i + 1], None, temp[:i + 1], target, LEVELS)
        assert a.ok and b.ok, (a.note, b.note)
        plain.append(abs(a.mean[0] - truth))
        comp.append(abs(b.mean[0] - truth))
    return np.mean(plain), np.mean(comp)


def test_temperature_term_cuts_error_on_a_thermal_cycle():
    results = [errors(seed) for seed in (1, 2, 3)]
    plain = np.mean([p for p, _ in results])
    comp = np.mean([c for _, c in results])
    print(f"15 polls ahead: regression {plain * 1e6:.0f} us, regression+temp {comp * 1e6:.0f} us "
          f"({(1 - comp / plain) * 100:.0f}% less)")
    assert comp < 0.92 * plain


def test_temperature_must_match_and_be_finite():
    t = 1.7e9 + 64.0 * np.arange(20)
    with pytest.raises(ValueError, match="temperature and t differ in length"):
        _core.forecast_tempcomp(t, np.zeros(20), None, np.zeros(19), t[-1:] + 64, LEVELS)
    temp = np.zeros(20)
    temp[3] = np.nan
    with pytest.raises(ValueError, match=r"temperature\[3\] is not finite"):
        _core.forecast_tempcomp(t, np.zeros(20), None, temp, t[-1:] + 64, LEVELS)


def test_an_exactly_constant_temperature_is_no_covariate_at_any_value():
    """A constant temperature cannot be fitted (its term is the regression's own slope). At most
    values the fit was refused, but the summed mean of equal readings need not be the value
    (400 readings of 120.62030941363909: each T - T0 35 ulps), and at 9 of 2007 values the fit
    went ahead on rounding noise with an 80% interval 570 ms wide 15 polls ahead (an audit,
    2026-12-05; on this series 162.32252151851296 was fitted, a 5.6 ms wide interval). Now max T - min T within a few ulps means constant, at any value."""
    r = sim.simulate(preset="tcxo", scenario="thermal_cycle", duration_s=8 * 3600, poll_s=64.0, seed=10440)
    t, y = r.trace.times[:400], r.trace.offsets[:400]
    tg = t[-1] + 64.0 * np.array([1.0, 15.0])
    for v in (162.32252151851296, 120.62030941363909, 218.0064761112862, 25.0, 298.15, -30.519):
        fc = _core.forecast_tempcomp(t, y, None, np.full(t.size, v), tg, LEVELS)
        assert not fc.ok, v
    temp = np.full(t.size, 120.62030941363909)
    temp[::7] += 0.5                                        # a temperature that moves is fitted
    assert _core.forecast_tempcomp(t, y, None, temp, tg, LEVELS).ok


def test_delay_noise_names_the_bad_array_and_value():
    with pytest.raises(ValueError, match=r"delay_noise: d\[1\] = -2e-09 is not a finite delay >= 0"):
        _core.delay_noise(np.zeros(3), np.array([1.0, -2e-9, 2.0]))      # its digits, not -0.000000
    with pytest.raises(ValueError, match=r"delay_noise: y\[2\] = (nan|inf) is not finite"):
        _core.delay_noise(np.array([0.0, 0.0, np.nan]), np.ones(3))
