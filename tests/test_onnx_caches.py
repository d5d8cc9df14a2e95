"""The ONNX forecaster's caches never answer for another input (an audit of 2026-12-05):
each case below gave a different answer after some earlier call than in a fresh process.
The memo keys' coverage of the window is in tests/test_onnx.py (memo tests)."""
import os
import shutil

import numpy as np
import pytest

import chronotick
from chronotick import models as registry
from chronotick.models.onnx import OnnxForecaster

SHIPPED = registry.onnx_models().get("clock-bolt")
pytestmark = pytest.mark.skipif(SHIPPED is None, reason="clock-bolt.onnx is not shipped in this checkout")


def test_a_measurement_at_zero_zero_counts_in_the_memo_keys():
    # timestamps=None starts at t = 0 and offsets relative to the first measurement make
    # y[0] = 0: that point hashed to 0, so the series and the series less it shared every key
    n = 24
    y = np.cumsum(1e-6 + 1e-5 * np.random.default_rng(5).standard_normal(n))
    y -= y[0]
    tail_t, tail_y = np.arange(1.0, n), y[1:]
    fresh = OnnxForecaster(SHIPPED).forecast(tail_t, tail_y, tail_t[-1] + np.arange(1.0, 9.0))
    primed = OnnxForecaster(SHIPPED)
    primed.forecast(np.arange(float(n)), y, [n - 1.0 + 8.0])
    got = primed.forecast(tail_t, tail_y, tail_t[-1] + np.arange(1.0, 9.0))
    np.testing.assert_array_equal(got.quantiles, fresh.quantiles)


def test_the_callers_levels_array_changed_later_changes_no_kept_plan():
    # the plan kept under the levels' value held the caller's own array: changed afterwards, a
    # later forecast at the original levels was labelled with the changed ones
    t = 1000.0 + np.arange(400.0)
    y = 1e-6 * t + 1e-5 * np.random.default_rng(3).standard_normal(400)
    levels = [0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975]
    f = OnnxForecaster(SHIPPED)
    mine = np.array(levels)
    first = f.forecast(t, y, [t[-1] + 8.0], mine)
    mine[1] = 0.06
    again = f.forecast(t, y, [t[-1] + 8.0], np.array(levels))
    np.testing.assert_array_equal(again.levels, levels)
    np.testing.assert_array_equal(again.quantiles, first.quantiles)
    lv = np.array(levels)
    a = chronotick.predict(y, t, horizon=8, model="auto", quantile_levels=lv)
    lv[1] = 0.06
    b = chronotick.predict(y, t, horizon=8, model="auto", quantile_levels=np.array(levels))
    assert "clock-bolt" in b.weights
    np.testing.assert_array_equal(a.quantiles, b.quantiles)


def _scaled_copy(src: str, dst: str, factor: float) -> None:
    """A copy of the .onnx at src (and its card) at dst, its largest weight x factor."""
    import onnx
    from onnx import numpy_helper
    m = onnx.load(src)
    init = max(m.graph.initializer, key=lambda i: int(np.prod(i.dims)))
    init.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(init) * np.float32(factor), init.name))
    onnx.save(m, dst)
    shutil.copy(os.path.splitext(src)[0] + ".json", os.path.splitext(dst)[0] + ".json")



def _series(seed: int):
    """(t, y): 300 measurements 64 s apart, a small drift and noise."""
    t = 1000.0 + 64.0 * np.arange(300)
    return t, 1e-6 * t + 1e-5 * np.random.default_rng(seed).standard_normal(300)

def test_a_registered_models_file_replaced_on_disk_is_loaded_again(tmp_path, registry):
    # model=PATH reloaded a replaced file; model=NAME kept serving the old one
    card = os.path.splitext(SHIPPED)[0] + ".json"
    path = str(tmp_path / "m.onnx")
    shutil.copy(SHIPPED, path)
    shutil.copy(card, str(tmp_path / "m.json"))
    registry.register("cache-m", path)
    t, y = _series(3)
    a = chronotick.predict(y, t, horizon=8, model="cache-m").quantiles
    _scaled_copy(path, str(tmp_path / "new.onnx"), 1.5)     # the largest weight, x 1.5
    os.replace(str(tmp_path / "new.onnx"), path)
    b = chronotick.predict(y, t, horizon=8, model="cache-m").quantiles
    registry.register("cache-m2", path)                 # a name never loaded before: the new file
    fresh = chronotick.predict(y, t, horizon=8, model="cache-m2").quantiles
    assert not np.array_equal(a, b)
    np.testing.assert_array_equal(b, fresh)


@pytest.mark.parametrize("attr", ["step_s", "step_factor", "calib_window", "calib_min", "min_history",
                                  "detrend_r2"])
def test_what_the_caches_are_made_with_is_fixed_for_the_forecasters_life(attr):
    f = OnnxForecaster(SHIPPED)
    with pytest.raises(AttributeError):
        setattr(f, attr, 2)


def test_the_memo_grows_to_what_its_callers_keep_asking_for():
    """Clocks forecast in turn through one forecaster (predict()'s shared one) each need ~128
    past outputs; beyond the memo's capacity every call had re-run them all (FIFO eviction of
    entries still needed: from ~29 clocks on, 144 model rows and 25-58 ms a call instead of 1
    row; an audit, 2026-12-05). A miss on an evicted key doubles the capacity (up to MEMO_LIMIT).
    Here with the capacity started at 256 and 8 clocks (~1024 entries): after the first rounds
    one model row per clock and call, and the same forecasts as a fresh forecaster's."""
    f = OnnxForecaster(SHIPPED)
    f._memo_max = 256
    rng = np.random.default_rng(3)
    clocks = [(np.arange(300) * 16.0 + 1e6, 1e-3 + 1e-5 * rng.standard_normal(300)) for _ in range(8)]
    rows = []
    run = f._run_model
    f._run_model = lambda x, io, out: (rows.append(x.shape[0]), run(x, io, out))
    per_round = []
    for r in range(6):
        rows.clear()
        for t, y in clocks:
            n = 200 + r
            got = f.forecast(t[:n], y[:n], t[n - 1] + 16.0 * np.arange(1, 65))
        per_round.append(sum(rows) / len(clocks))
    assert per_round[-1] == 1.0 and per_round[-2] == 1.0, per_round
    assert 1024 <= f._memo_max <= OnnxForecaster.MEMO_LIMIT
    fresh = OnnxForecaster(SHIPPED).forecast(t[:n], y[:n], t[n - 1] + 16.0 * np.arange(1, 65))
    np.testing.assert_array_equal(got.quantiles, fresh.quantiles)


def test_kept_run_buffers_stay_within_their_byte_budget():
    """The preallocated input/output buffers are kept per batch size; a calibration's batch
    differs from call to call, and eight kept sets of a 40-series forecast_batch held 50 MB,
    growing with the fleet (an audit, 2026-12-05). At most BINDINGS_BYTES are kept in all (the
    newest set always)."""
    f = OnnxForecaster(SHIPPED)
    f.BINDINGS_BYTES = 1 << 20
    x0 = np.zeros((1, f.context), dtype=np.float32)
    for b in (300, 301, 302, 1, 2, 303):
        out = f.run(np.repeat(x0, b, axis=0))
        assert out.shape[0] == b
        sets = list(f._bindings.values())
        held = sum(v[0].nbytes + v[1].nbytes for v in sets)
        assert (held <= f.BINDINGS_BYTES or len(sets) == 1) and len(sets) <= 8
    np.testing.assert_array_equal(f.run(x0), OnnxForecaster(SHIPPED).run(x0))


def test_model_path_through_a_symlink_follows_the_link_when_it_is_retargeted(tmp_path):
    # predict(model=PATH) keeps an absolute path's forecaster without resolving the path again
    # while it reaches the same file (session 33): a link pointed elsewhere is the other model
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    a, b = str(tmp_path / "a" / "m.onnx"), str(tmp_path / "b" / "m.onnx")
    _scaled_copy(SHIPPED, a, 1.0)
    _scaled_copy(SHIPPED, b, 1.5)
    link = str(tmp_path / "current.onnx")
    os.symlink(a, link)
    t, y = _series(5)
    via_a = [chronotick.predict(y, t, horizon=8, model=link).quantiles for _ in range(2)]
    np.testing.assert_array_equal(via_a[0], via_a[1])
    np.testing.assert_array_equal(via_a[0], chronotick.predict(y, t, horizon=8, model=a).quantiles)
    os.symlink(b, str(tmp_path / "next.onnx"))
    os.replace(str(tmp_path / "next.onnx"), link)        # the link now names b
    via_b = chronotick.predict(y, t, horizon=8, model=link).quantiles
    np.testing.assert_array_equal(via_b, chronotick.predict(y, t, horizon=8, model=b).quantiles)
    assert not np.array_equal(via_a[0], via_b)


def test_model_path_whose_card_is_replaced_is_checked_again(tmp_path):
    import json
    from chronotick.errors import ModelError
    path = str(tmp_path / "m.onnx")
    _scaled_copy(SHIPPED, path, 1.0)
    t, y = _series(6)
    for _ in range(2):                       # the second call: the kept forecaster
        chronotick.predict(y, t, horizon=8, model=path)
    card_path = str(tmp_path / "m.json")
    card = json.load(open(card_path))
    card["context"] = int(card["context"]) + 1          # no longer the graph's
    with open(card_path + ".new", "w") as fh:
        json.dump(card, fh)
    os.replace(card_path + ".new", card_path)
    with pytest.raises(ModelError, match="context"):
        chronotick.predict(y, t, horizon=8, model=path)


def test_model_path_through_a_flipped_release_link_reads_the_new_releases_card(tmp_path):
    # a `cp -al` release: v2's model a hard link of v1's (the same file), beside a card with other
    # quantile levels; `cur` flipped from v1 to v2. The path through the link is resolved at every
    # call: the kept forecaster had served v1's card (review of session 33's path cache)
    import json
    (tmp_path / "v1").mkdir()
    (tmp_path / "v2").mkdir()
    _scaled_copy(SHIPPED, str(tmp_path / "v1" / "m.onnx"), 1.0)
    os.link(str(tmp_path / "v1" / "m.onnx"), str(tmp_path / "v2" / "m.onnx"))
    card = json.load(open(str(tmp_path / "v1" / "m.json")))
    card["quantile_levels"] = [0.05, 0.15, 0.3, 0.4, 0.5, 0.6, 0.7, 0.85, 0.95]
    with open(str(tmp_path / "v2" / "m.json"), "w") as fh:
        json.dump(card, fh)
    os.symlink("v1", str(tmp_path / "cur"))
    path = str(tmp_path / "cur" / "m.onnx")
    t, y = _series(7)
    old = [chronotick.predict(y, t, horizon=8, model=path).quantiles for _ in range(2)]
    os.symlink("v2", str(tmp_path / "cur.new"))
    os.replace(str(tmp_path / "cur.new"), str(tmp_path / "cur"))
    new = chronotick.predict(y, t, horizon=8, model=path).quantiles
    np.testing.assert_array_equal(new, chronotick.predict(y, t, horizon=8,
                                                          model=str(tmp_path / "v2" / "m.onnx")).quantiles)
    assert not np.array_equal(old[1], new)


def test_model_path_rewritten_with_the_same_size_and_mtime_is_loaded_again(tmp_path):
    # a new file at the same path, of the same size, its mtime pinned to the old one's (a
    # reproducible build), possibly on the old file's freed inode: the inode's change time tells
    path, other = str(tmp_path / "m.onnx"), str(tmp_path / "other.onnx")
    _scaled_copy(SHIPPED, path, 1.0)
    _scaled_copy(SHIPPED, other, 1.5)
    for p in (path, other):
        os.remove(os.path.splitext(p)[0] + ".json")        # no cards: the graph's own metadata
        os.utime(p, ns=(10 ** 18, 10 ** 18))
    assert os.path.getsize(path) == os.path.getsize(other)
    t, y = _series(8)
    before = [chronotick.predict(y, t, horizon=8, model=path).quantiles for _ in range(2)]
    data = open(other, "rb").read()
    os.remove(path)
    with open(path, "wb") as fh:
        fh.write(data)
    os.utime(path, ns=(10 ** 18, 10 ** 18))
    after = chronotick.predict(y, t, horizon=8, model=path).quantiles
    np.testing.assert_array_equal(after, chronotick.predict(y, t, horizon=8, model=other).quantiles)
    assert not np.array_equal(before[1], after)
