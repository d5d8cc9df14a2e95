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
