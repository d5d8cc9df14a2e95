"""Probe of chronotick.sim and chronotick.holdover (2026-12-02): the holdover
baselines and worst-case bound recomputed by hand with numpy, records with a
gap longer than the history, and simulator invariants not covered elsewhere."""
from __future__ import annotations

import numpy as np
import pytest

from chronotick import holdover, sim, stats
from chronotick.io import Trace


def _ramp_record(seed=1, hours=4.0):
    rng = np.random.default_rng(seed)
    t = np.arange(0.0, hours * 3600.0, 1.0)
    y = 1e-8 * t + 1e-13 * t ** 2 + 1e-9 * rng.standard_normal(t.size)
    return t, y


def test_baselines_and_worst_case_bound_recomputed_by_hand():
    t, y = _ramp_record()
    res = holdover.run_holdover(Trace(times=t, offsets=y, source="ramp"), leads=(60.0, 600.0),
                                models=(), every_s=600.0)
    origins = np.arange(t[0] + 3600.0, t[-1] - 600.0, 600.0)
    assert res.truth[60.0].size == origins.size
    for lead in (60.0, 600.0):
        for j, o in enumerate(origins):
            m = (t >= o - 3600.0) & (t < o)                       # the hour before o, never o itself
            th, yh = t[m], y[m]
            last = np.r_[np.flatnonzero(np.diff(np.floor((th - th[0]) / 60.0))), th.size - 1]
            tp, yp = th[last], yh[last]                           # one sample per minute, the last
            assert tp.size == 60 and tp[-1] == o - 1.0
            target = o + lead
            assert res.truth[lead][j] == y[int(target)]
            assert res.preds[("hold", lead)][j, 0] == yp[-1]
            a, b = np.polyfit(tp, yp, 1)
            assert res.preds[("line (last hour)", lead)][j, 0] == pytest.approx(a * target + b, abs=1e-15)
            assert res.elapsed[lead][j] == lead + 1.0             # last sync at o - 1 s
        # bound at last sync (0) + max_drift x elapsed, both ways: elapsed is lead + 1 s here
        for d in holdover.MAX_DRIFTS_PPM:
            assert res.bound_width(lead, d) == pytest.approx(2 * d * 1e-6 * (lead + 1.0), rel=1e-12)
    md = res.markdown()
    assert "1 ppm: 122000 ns, 50 ppm: 6100000 ns" in md          # was 120000 / 6000000 (lead alone)
    assert "1 ppm: 1202000 ns, 50 ppm: 60100000 ns" in md


@pytest.mark.parametrize("gap", [4000.0, 3590.0])
@pytest.mark.parametrize("sampling", ["poll", "mean"])
def test_an_origin_whose_hour_lies_in_a_gap_is_not_scored(gap, sampling):
    # A gap longer than the history left an origin with no input (IndexError) or one sample
    # (LinAlgError from the line fit): such origins are now left unscored.
    rng = np.random.default_rng(2)
    t = np.r_[np.arange(0.0, 3 * 3600.0, 1.0), np.arange(3 * 3600.0 + gap, 9 * 3600.0, 1.0)]
    y = 1e-9 * rng.standard_normal(t.size)
    res = holdover.run_holdover(Trace(times=t, offsets=y, source="gap"), leads=(60.0,),
                                models=("regression",), every_s=60.0, sampling=sampling)
    truth = res.truth[60.0]
    scored = np.isfinite(truth)
    assert (~scored).any() and scored.sum() > 300
    tab = res.table()
    for model in ("hold", "line (last hour)", "regression"):
        p = res.preds[(model, 60.0)]
        assert np.all(np.isnan(p[~scored, 0])) and np.all(np.isfinite(p[scored, 0]))
        assert tab[(model, 60.0)]["n"] == scored.sum() and np.isfinite(tab[(model, 60.0)]["mae"])


def test_true_offset_is_minus_x_on_every_path_and_fine_grids():
    for kw in (dict(preset="disciplined", poll_mode="adaptive"), dict(preset="xo", poll_mode="adaptive"),
               dict(preset="disciplined", dt=0.5, poll_s=16.0, initial_offset_s=0.5),
               dict(preset="vm", migration_per_day=50.0)):
        r = sim.simulate(duration_s=20000, seed=3, **kw)
        k = np.rint(r.trace.times / r.params.dt).astype(int)
        assert np.array_equal(r.true_offset, -r.x[k]), kw
        assert np.all(np.abs(r.trace.offsets - r.true_offset) <= r.trace.delay / 2 + 1e-15)


@pytest.mark.parametrize("dt", [0.25, 10.0])
def test_adev_matches_theory_off_the_one_second_grid(dt):
    cp = sim.ClockParams(h_wpm=1e-16, h_wfm=2e-18, h_rwfm=1e-24)
    taus = np.array([1.0, 10.0, 100.0]) * dt
    var = [stats.oadev(sim.simulate(clock_params=cp, duration_s=50000 * dt, dt=dt, seed=s).x, 1.0 / dt,
                       "phase", taus=taus)[1] ** 2 for s in range(4)]
    ratio = np.sqrt(np.mean(var, axis=0)) / sim.theory_adev(cp, taus, dt=dt)
    assert np.all(np.abs(ratio - 1) < 0.1), ratio


def test_spike_and_loss_rates_follow_congestion():
    # no queueing or asymmetry: delay = min_delay + spike exactly, error = +-spike / 2
    r = sim.simulate(preset="ocxo", scenario="network_spike", duration_s=5e5, poll_s=16, seed=2,
                     queue_mean_s=0.0, asymmetry_jitter_s=0.0, spike_prob=0.02, congestion_spike_prob=0.3,
                     loss_prob=0.05)
    tr = r.trace
    spiky = tr.delay > 0.015 + 1e-12
    expected = np.mean(0.02 + 0.3 * tr.covariates["net_congestion"])
    assert spiky.mean() == pytest.approx(expected, rel=0.15)
    assert 1 - len(tr) / (5e5 / 16 + 1) == pytest.approx(0.05, abs=0.01)
    assert np.allclose(np.abs(tr.offsets - r.true_offset), (tr.delay - 0.015) / 2, atol=1e-15)


def test_a_lead_with_no_scored_origin_gives_an_empty_row_not_an_error():
    # every target falls in the record's gap or past its end: table() raised IndexError
    # (np.quantile of no errors); now n = 0 and the markdown shows dashes
    t = np.r_[np.arange(0.0, 3650.0, 1.0), np.arange(9000.0, 9030.0, 1.0)]
    res = holdover.run_holdover(Trace(times=t, offsets=0.0 * t, source="gappy"), leads=(60.0,), models=())
    assert not np.isfinite(res.truth[60.0]).any()
    row = res.table()[("hold", 60.0)]
    assert row["n"] == 0 and np.isnan(row["mae"]) and np.isnan(row["p95"]) and np.isnan(row["max"])
    assert "| hold | 0 | – | – | – | – | – |" in res.markdown()


@pytest.mark.parametrize("kw", [dict(duration_s=1e300, dt=1e-10), dict(duration_s=1e300)])
def test_an_astronomical_grid_is_a_named_error(kw):
    # duration_s / dt = inf had raised OverflowError (floor of inf); 1e300 printed a 300-digit count
    with pytest.raises(ValueError, match=r"duration_s / dt = .* gives (inf|1e\+300) samples, more than 2e\+07"):
        sim.simulate(**kw)


@pytest.mark.parametrize("extra", [dict(), dict(preset="disciplined"), dict(poll_mode="adaptive")])
def test_a_poll_interval_longer_than_any_int64_gives_the_one_poll_at_t0(extra):
    # poll_s = 1e300 (longer than the run) had raised IndexError (a step past int64 made
    # numpy's arange a float array); a poll interval longer than the run polls once, at t = 0
    r = sim.simulate(duration_s=100.0, poll_s=1e300, seed=0, loss_prob=0.0, **extra)
    assert r.trace.times.tolist() == [0.0] and r.true_offset[0] == -r.x[0]
    same = sim.simulate(duration_s=100.0, poll_s=1e6, seed=0, loss_prob=0.0, **extra)
    assert np.array_equal(r.x, same.x) and np.array_equal(r.trace.offsets, same.trace.offsets)
