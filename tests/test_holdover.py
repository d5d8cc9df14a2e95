"""Holdover on the lab oscillators (chronotick.holdover, docs/holdover.md):
leakage-free origins, the baselines, and the fused default with the shipped
TSFM on the real OCXO record (shared/data/oscillators/ocxo_frequency_1s.txt)."""
import os

import numpy as np
import pytest

from chronotick import holdover
from chronotick.api import AUTO_ONNX
from chronotick.io import Trace
from chronotick.models import onnx_models


def test_decimate_takes_block_means_at_block_centres():
    t = np.arange(10.0)
    y = t * 2
    tm, ym = holdover.decimate(t, y, 4.0)
    assert np.allclose(tm, [1.5, 5.5, 8.5]) and np.allclose(ym, [3.0, 11.0, 17.0])


def test_poll_takes_the_last_sample_of_each_block():
    t = np.arange(10.0)
    tm, ym = holdover.poll(t, t * 2, 4.0)
    assert tm.tolist() == [3.0, 7.0, 9.0] and ym.tolist() == [6.0, 14.0, 18.0]
    assert holdover.poll(t[:0], t[:0], 4.0)[0].size == 0


def test_unknown_sampling_is_refused():
    t = np.arange(0.0, 3 * 3600.0, 10.0)
    with pytest.raises(ValueError, match="sampling must be 'poll' or 'mean', got 'median'"):
        holdover.run_holdover(Trace(times=t, offsets=0 * t, source="flat"), sampling="median")


def test_forecasters_see_only_the_hour_before_the_origin(monkeypatch):
    t = np.arange(0.0, 4 * 3600.0, 10.0)
    tr = Trace(times=t, offsets=1e-9 * t, source="ramp")
    seen = []

    def spy(th, yh, target, level):
        seen.append((th[0], th[-1], target))
        return yh[-1], np.nan, np.nan

    monkeypatch.setattr(holdover, "_hold", spy)
    res = holdover.run_holdover(tr, leads=(60.0, 600.0), models=("fused",), every_s=1800.0)
    assert len(seen) == 2 * res.truth[60.0].size
    for first, last, target in seen:
        origin = target - (60.0 if (target - last) < 600.0 else 600.0)
        assert last < origin and first >= origin - 3600.0
    tab = res.table()
    assert tab[("hold", 600.0)]["mae"] > tab[("fused", 600.0)]["mae"]     # a ramp: hold lags, the fusion follows
    assert tab[("fused", 600.0)]["mae"] < 1e-12


def test_targets_are_samples_of_the_record_and_gaps_are_not_scored():
    # An interpolation between two samples halves their white noise: the truth was
    # smoother than any measurement, flattering every error (until 2026-12-02).
    rng = np.random.default_rng(3)
    t = np.arange(0.0, 3 * 3600.0, 1.0)
    t = np.delete(t, np.s_[9000:9700])                 # a 700-s gap in the record
    y = rng.standard_normal(t.size)
    res = holdover.run_holdover(Trace(times=t, offsets=y, source="white"), leads=(60.0, 600.0),
                                models=("fused",), every_s=97.3)
    for lead in (60.0, 600.0):
        truth = res.truth[lead]
        scored = np.isfinite(truth)
        assert np.all(np.isin(truth[scored], y))              # every target a measured sample
        assert 0.9 < np.std(truth[scored]) < 1.1              # with the record's own noise
        assert (~scored).any()                                 # some targets fall in the gap ...
        assert res.table()[("hold", lead)]["n"] == scored.sum()   # ... and are not scored
        assert np.all(np.isnan(res.preds[("hold", lead)][~scored]))


def test_too_short_a_record_is_refused():
    t = np.arange(0.0, 3600.0, 10.0)
    with pytest.raises(ValueError, match="too short"):
        holdover.run_holdover(Trace(times=t, offsets=0 * t, source="short"))


def _record(shared_data, which):
    from chronotick.io import load_oscillator_frequency, load_oscillator_phase
    d = os.path.join(shared_data, "oscillators")
    if which == "ocxo":
        return load_oscillator_frequency(os.path.join(d, "ocxo_frequency_1s.txt"))
    return load_oscillator_phase(os.path.join(d, "cs5071a_phase_1s.txt.gz"))


@pytest.mark.skipif(AUTO_ONNX not in onnx_models(), reason="shipped ONNX model not present")
@pytest.mark.parametrize("which", ["ocxo", "cs"])
def test_auto_on_real_oscillators_follows_the_fusion_and_keeps_its_coverage(shared_data, which):
    # "auto" weighs the shipped TSFM by its past error at each lead, so it is
    # no more than 10% worse than the classical fusion, and its
    # intervals, calibrated on past fused forecasts with the TSFM included,
    # cover at least as the fusion's do, less 10 points (before, the TSFM
    # joined the long-lead forecasts without a past there: auto covered 53%
    # at 600 s on the Cs, fusion 73%). Over-covering is what the spaced
    # calibration pairs (ModelParams.calib_spread, 2026-12-02) do at these
    # long leads: on the Cs 600 s auto covers 90% of 60 origins, fused 80%
    # (docs/holdover.md); the upper side is not asserted here.
    res = holdover.run_holdover(_record(shared_data, which), leads=(600.0, 3600.0),
                                models=("fused", AUTO_ONNX, "auto"))
    tab = res.table()
    assert res.truth[600.0].size >= 50
    for lead in (600.0, 3600.0):
        auto, fused = tab[("auto", lead)], tab[("fused", lead)]
        assert auto["n"] == fused["n"] and np.isfinite(auto["mae"])
        assert auto["mae"] <= 1.1 * fused["mae"]
        assert auto["coverage"] >= fused["coverage"] - 0.1
        if which == "ocxo":
            # the OCXO's steady frequency offset: the TSFM alone forecasts along the line its
            # window shows (detrend_r2; it pulled back towards the window's mean before: 2.2 us
            # off at 600 s where the fusion is 3 ns), within 3x of the fusion
            assert tab[(AUTO_ONNX, lead)]["mae"] < 3 * fused["mae"]


def test_one_minute_intervals_cover_on_the_cs_clock(shared_data):
    # Input polled once a minute and target a single 1-s sample carry the same
    # white noise, so the intervals calibrated on past errors include it: the
    # 80% intervals 60 s ahead cover 70-95% of 60 origins. (With minute means
    # as input they covered 60-68%: the noise of the target was never seen.)
    models = ("regression", "kalman", "fused") + (("auto",) if AUTO_ONNX in onnx_models() else ())
    res = holdover.run_holdover(_record(shared_data, "cs"), leads=(60.0,), models=models)
    tab = res.table()
    for m in models:
        assert tab[(m, 60.0)]["n"] >= 50
        assert 0.70 <= tab[(m, 60.0)]["coverage"] <= 0.95, (m, tab[(m, 60.0)])


@pytest.mark.parametrize("kw, match", [
    (dict(leads=(-600.0, 60.0)), r"leads\[0\] must be finite and > 0, got -600"),
    (dict(leads=()), "leads must not be empty"),
    (dict(leads=(float("nan"),)), r"leads\[0\] must be finite"),
    (dict(every_s=float("nan")), "every_s must be finite"),
    (dict(every_s=0), "every_s must be finite and > 0, got 0"),
    (dict(every_s=-5), "every_s must be finite and > 0"),
    (dict(history_s=float("nan")), "history_s must be finite"),
    (dict(history_s=30.0), r"history_s \(30.0\) must be at least twice decimate_s"),
    # one poll in the history: every origin had come back unscored (n = 0), without a word
    (dict(history_s=60.0), r"history_s \(60.0\) must be at least twice decimate_s \(60.0\)"),
    # the same table twice
    (dict(leads=(60.0, 60.0)), r"leads must not repeat a lead, got \(60.0, 60.0\)"),
    (dict(decimate_s=float("inf")), "decimate_s must be finite"),
    (dict(models=("nope",)), "unknown model 'nope'"),
])
def test_run_holdover_names_a_bad_argument(kw, match):
    # each had run (a negative lead scored a sample inside the history) or failed with
    # IndexError / LinAlgError / "arange: cannot compute length"
    t = np.arange(0.0, 9000.0, 1.0)
    tr = Trace(times=t, offsets=1e-9 * t)
    with pytest.raises(ValueError, match=match):
        holdover.run_holdover(tr, **{"models": ("regression",), **kw})


def test_run_holdover_names_a_bad_argument_of_the_wrong_kind():
    t = np.arange(0.0, 9000.0, 1.0)
    tr = Trace(times=t, offsets=1e-9 * t)
    # a string of models was read letter by letter ("unknown model 'a'")
    with pytest.raises(TypeError, match=r"models must be a sequence of model names, got the string 'auto'"):
        holdover.run_holdover(tr, models="auto")
    # '<' between int and str named nothing
    for bad in ("0.8", None):
        with pytest.raises(TypeError, match=r"level must be a number in \(0, 1\)"):
            holdover.run_holdover(tr, models=("regression",), level=bad)


@pytest.mark.parametrize("n", [0, 1])
def test_run_holdover_refuses_a_trace_of_fewer_than_two_samples(n):
    # 0 samples had raised IndexError (index -1 is out of bounds)
    tr = Trace(times=np.arange(float(n)), offsets=np.zeros(n), source="tiny.csv")
    with pytest.raises(ValueError, match=rf"trace .tiny. has {n} sample\(s\): holdover needs at least 2"):
        holdover.run_holdover(tr, models=("regression",))


def test_mean_sampling_measures_elapsed_from_the_last_raw_sample():
    # the last block's mean includes sample o - 1; elapsed ran from the block's centre
    # (o - 30.5 s), which widened the worst-case bound by ~29.5 s of drift
    t = np.arange(0.0, 9000.0, 1.0)
    tr = Trace(times=t, offsets=1e-9 * t)
    for sampling in ("poll", "mean"):
        res = holdover.run_holdover(tr, models=("regression",), leads=(60.0,), every_s=600.0, sampling=sampling)
        e = res.elapsed[60.0][np.isfinite(res.elapsed[60.0])]
        assert e.size > 0 and np.all(e == 61.0), (sampling, e)
        assert res.bound_width(60.0, 1.0) == pytest.approx(2 * 1e-6 * 61.0)
