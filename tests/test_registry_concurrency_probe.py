"""Probe of the model registry's edges and of concurrent use.

1. Model cards whose `input.shape`, `output.shape` or `patch_size` contradict the graph
   (a small exported Chronos-Bolt with its card edited): a load error naming the card's
   file, the field and both values.
2. `chronotick.predict(model=PATH.onnx)`: a path to an exported model, as the Engine's
   config and `chronotick backtest --models` take.
3. Concurrency: predict() from several threads on different series against serial calls
   (bit for bit), and one Engine fed by one thread while three others forecast and read
   health()/stats(), with timeouts against deadlocks.

Parts 1 and 2 export a small random Bolt (needs the `export` extra; skipped without it).
"""
from __future__ import annotations

import concurrent.futures as cf
import importlib.util
import json
import os
import pathlib
import shutil
import threading
import time

import numpy as np
import pytest

import chronotick
from chronotick.errors import ModelError

HAVE_EXPORT = all(importlib.util.find_spec(m) is not None
                  for m in ("torch", "chronos", "onnx", "onnxscript"))
needs_export = pytest.mark.skipif(not HAVE_EXPORT, reason="the export extra is not installed")


def _series(n=200, step=64.0, seed=0):
    rng = np.random.default_rng(seed)
    t = 1.7e9 + step * np.arange(n) + rng.uniform(-2, 2, n)
    y = np.cumsum(rng.normal(size=n)) * 1e-4 + 2e-7 * step * np.arange(n) * (seed % 3)
    return t, y


@pytest.fixture(scope="module")
def small_bolt(tmp_path_factory):
    """A small random Bolt (context 64, horizon 16, patches of 8), exported without the ORT
    fusions (the plain graph; the shipped clock-bolt is the fused one)."""
    from chronotick.models.export_bolt import export_chronos_bolt, save_random_bolt
    root = tmp_path_factory.mktemp("probe-bolt")
    ckpt = save_random_bolt(str(root / "ckpt"), seed=1, initializer_factor=0.1, context=64,
                            prediction_length=16, d_model=32, d_ff=64, patch=8)
    path = root / "export" / "small.onnx"
    export_chronos_bolt(ckpt, str(path), context=64, ort_fusions=False, log=lambda m: None)
    return {"onnx": str(path), "ckpt": ckpt}


def _copy_with_card(src: str, dst_dir, edit) -> str:
    """A copy of the model at src in dst_dir with its card edited by edit(card)."""
    os.makedirs(dst_dir, exist_ok=True)
    dst = os.path.join(str(dst_dir), "edited.onnx")
    shutil.copyfile(src, dst)
    card = json.load(open(os.path.splitext(src)[0] + ".json"))
    edit(card)
    with open(os.path.splitext(dst)[0] + ".json", "w") as f:
        json.dump(card, f)
    return dst


# ---- 1. the model card's shapes and patch size -----------------------------------------------

@needs_export
def test_the_graph_signature_is_read_from_the_file(small_bolt):
    import chronotick.models as registry
    sig = registry.graph_signature(small_bolt["onnx"])
    assert sig["inputs"] == {"context": ["batch", 64]}
    assert sig["outputs"] == {"quantiles": ["batch", 9, 16]}
    assert sig["patch_size"] == 8
    shipped = registry.graph_signature(registry.onnx_models()["clock-bolt"])     # the fused graph
    assert shipped == {"inputs": {"context": ["batch", 256]}, "outputs": {"quantiles": ["batch", 9, 64]},
                       "patch_size": 16}


@needs_export
@pytest.mark.parametrize("edit, match", [
    (lambda c: c["input"].update(shape=["batch", 128]),
     r"input\.shape is \['batch', 128\] but the graph .*edited\.onnx has input 'context' of shape "
     r"\['batch', 64\] \(dimension 1: the card says 128, the graph 64\)"),
    (lambda c: c["output"].update(shape=["batch", 9, 32]),
     r"output\.shape is \['batch', 9, 32\] .*dimension 2: the card says 32, the graph 16"),
    (lambda c: c["output"].update(shape=["batch", 5, 16]),
     r"output\.shape is \['batch', 5, 16\] .*dimension 1: the card says 5, the graph 9"),
    (lambda c: c["output"].update(shape=["batch", 16]),
     r"output\.shape is \['batch', 16\] \(2 dimensions\) but the graph .* \['batch', 9, 16\]"),
    (lambda c: c["input"].update(shape="batch x 64"), r"input\.shape must be a list .* got 'batch x 64'"),
    (lambda c: c["input"].update(shape=["batch", 64.0]), r"input\.shape must be a list .* got \['batch', 64\.0\]"),
    (lambda c: c.update(input=[64]), r"input must be a JSON object, got \[64\]"),
    (lambda c: c.update(patch_size=16),
     r"patch_size is 16 but the graph .*edited\.onnx patches by 8"),
    (lambda c: c.update(patch_size="8"), r"patch_size must be a positive integer, got '8'"),
    (lambda c: c.update(patch_size=0), r"patch_size must be a positive integer, got 0"),
])
def test_a_card_contradicting_the_graph_is_a_load_error(small_bolt, tmp_path, edit, match):
    # Was: only the card's top-level context / prediction_length / quantile levels were compared
    # with the graph; input.shape, output.shape and patch_size could say anything
    from chronotick.models.onnx import OnnxForecaster
    path = _copy_with_card(small_bolt["onnx"], tmp_path / "m", edit)
    card_path = os.path.splitext(path)[0] + ".json"
    with pytest.raises(ModelError, match=match) as info:
        OnnxForecaster(path)
    assert f"model card {card_path}" in str(info.value)
    import chronotick.models as registry
    card, error = registry.read_card(path)          # list() reports it too
    assert card is None and f"model card {card_path}" in error


@needs_export
def test_consistent_cards_still_load(small_bolt, tmp_path):
    from chronotick.models.onnx import OnnxForecaster
    assert OnnxForecaster(small_bolt["onnx"]).horizon == 16
    # named dimensions, and a card without the fields, are not compared
    path = _copy_with_card(small_bolt["onnx"], tmp_path / "a",
                           lambda c: (c["input"].update(shape=["b", "ctx"]), c.pop("patch_size"), c.pop("output")))
    assert OnnxForecaster(path).context == 64


@needs_export
def test_the_engine_marks_a_model_with_a_contradicting_card_unhealthy(small_bolt, tmp_path):
    path = _copy_with_card(small_bolt["onnx"], tmp_path / "e", lambda c: c.update(patch_size=4))
    with chronotick.Engine({"short_term": {"models": ["fused", path]}}) as eng:
        h = eng.health()["models"][path]
        assert not h["ok"] and "patch_size is 4" in h["reason"] and "patches by 8" in h["reason"]


@needs_export
def test_the_export_refuses_an_extra_card_that_contradicts_the_graph(small_bolt, tmp_path):
    from chronotick.models.export_bolt import ExportError
    from chronotick.models.export_bolt import export_chronos_bolt
    out = tmp_path / "x" / "bad.onnx"
    with pytest.raises(ExportError, match=r"patch_size is 16 but the graph .* patches by 8"):
        export_chronos_bolt(small_bolt["ckpt"], str(out), context=64, ort_fusions=False,
                            extra_card={"patch_size": 16}, log=lambda m: None)
    assert not os.path.exists(out) and not os.path.exists(tmp_path / "x" / "bad.json")


# ---- 2. predict(model=PATH.onnx) -------------------------------------------------------------

def _shipped_copy(dst_dir, stem="my-bolt") -> str:
    """The shipped clock-bolt (and its card) copied to dst_dir/<stem>.onnx."""
    import chronotick.models as registry
    src = registry.onnx_models()["clock-bolt"]
    os.makedirs(dst_dir, exist_ok=True)
    dst = os.path.join(str(dst_dir), f"{stem}.onnx")
    shutil.copyfile(src, dst)
    shutil.copyfile(os.path.splitext(src)[0] + ".json", os.path.splitext(dst)[0] + ".json")
    return dst


def test_predict_takes_a_path_to_an_onnx_file(tmp_path):
    # Was: ValueError "unknown model '/.../my-bolt.onnx'", while the Engine's config and
    # `chronotick backtest --models` take paths
    path = _shipped_copy(tmp_path)
    t, y = _series()
    ref = chronotick.predict(y, t, horizon=8, model="clock-bolt")
    for model in (path, pathlib.Path(path)):
        fc = chronotick.predict(y, t, horizon=8, model=model)
        assert fc.model == "my-bolt" and list(fc.weights) == ["my-bolt"]     # named after the file's stem
        np.testing.assert_array_equal(fc.quantiles, ref.quantiles)
        np.testing.assert_array_equal(fc.mean, ref.mean)
    # a relative path, and the same file through a symlink, share the loaded model
    link = tmp_path / "link.onnx"
    os.symlink(path, link)
    os.symlink(os.path.splitext(path)[0] + ".json", tmp_path / "link.json")
    fc = chronotick.predict(y, t, horizon=8, model=str(link))
    assert fc.model == "link"
    np.testing.assert_array_equal(fc.quantiles, ref.quantiles)
    # beyond its horizon: the error of a registered model, naming the model
    with pytest.raises(ValueError, match=r"model my-bolt \(.*my-bolt\.onnx\) forecasts at most 64 steps"):
        chronotick.predict(y, t, horizon=65, model=path)


@needs_export
def test_predict_reloads_a_replaced_file(tmp_path, small_bolt):
    path = _shipped_copy(tmp_path, "swap")
    t, y = _series()
    assert chronotick.predict(y, t, horizon=8, model=path).quantiles.shape == (8, 3)
    # replaced by another export (a 16-step model): loaded again, not the cached clock-bolt
    for ext in (".onnx", ".json"):
        tmp = os.path.join(str(tmp_path), "new" + ext)
        shutil.copyfile(os.path.splitext(small_bolt["onnx"])[0] + ext, tmp)
        os.replace(tmp, os.path.splitext(path)[0] + ext)
    with pytest.raises(ValueError, match=r"model swap \(.*swap\.onnx\) forecasts at most 16 steps"):
        chronotick.predict(y, t, horizon=17, model=path)
    from chronotick.models.onnx import OnnxForecaster
    ref = OnnxForecaster(small_bolt["onnx"], name="swap").forecast(t, y, t[-1] + 64.0 * np.arange(1, 9),
                                                                   [0.025, 0.1, 0.25, 0.5, 0.75, 0.9, 0.975])
    fc = chronotick.predict(y, t, horizon=8, model=path, step_s=64.0)
    assert fc.model == "swap"
    np.testing.assert_array_equal(fc.mean, ref.mean)


def test_predict_refuses_bad_model_paths_naming_them(tmp_path):
    t, y = _series()
    missing = str(tmp_path / "nope.onnx")
    with pytest.raises(FileNotFoundError, match=f"no such ONNX model file: {missing}"):
        chronotick.predict(y, t, model=missing)
    junk = tmp_path / "junk.onnx"
    junk.write_text("not a model\n")
    with pytest.raises(ModelError, match=f"cannot load ONNX model {junk}"):
        chronotick.predict(y, t, model=str(junk))
    notes = tmp_path / "notes.txt"
    notes.write_text("hello\n")
    with pytest.raises(ValueError, match=f"model path {str(notes)!r} must name a .onnx file"):
        chronotick.predict(y, t, model=str(notes))
    folder = tmp_path / "dir.onnx"
    folder.mkdir()
    with pytest.raises(ValueError, match=f"model path {str(folder)!r} is a directory"):
        chronotick.predict(y, t, model=str(folder))
    with pytest.raises(ValueError, match=r"unknown model 'nope'; valid names: auto"):
        chronotick.predict(y, t, model="nope")
    with pytest.raises(TypeError, match=r"model must be a string"):
        chronotick.predict(y, t, model=3)


# ---- 3. concurrency --------------------------------------------------------------------------

def _same(a, b) -> bool:
    return (a.model == b.model and np.array_equal(a.mean, b.mean, equal_nan=True)
            and np.array_equal(a.quantiles, b.quantiles, equal_nan=True)
            and list(a.weights) == list(b.weights)
            and all(np.array_equal(a.weights[k], b.weights[k]) for k in a.weights))


@pytest.mark.parametrize("cold", [True, False])
def test_predict_from_threads_matches_serial_calls(tmp_path, monkeypatch, cold):
    from chronotick import api
    path = _shipped_copy(tmp_path, "threaded")
    series = [_series(n=150 + 10 * i, seed=i) for i in range(8)]
    jobs = [(m, i) for m in ("auto", "clock-bolt", "fused", path) for i in range(8)]
    serial = {(m, i): chronotick.predict(series[i][1], series[i][0], horizon=8, model=m) for m, i in jobs}
    if cold:     # every thread finds no model loaded: the loads race
        monkeypatch.setattr(api, "_onnx_cache", {})
    with cf.ThreadPoolExecutor(8) as ex:
        futs = {ex.submit(chronotick.predict, series[i][1], series[i][0], horizon=8, model=m): (m, i)
                for m, i in jobs * 2}
        done, pending = cf.wait(futs, timeout=60)
        assert not pending, "predict() from 8 threads did not finish in 60 s"
    for fut in done:
        key = futs[fut]
        assert _same(fut.result(), serial[key]), key
    if cold:     # one forecaster per model, shared by the threads
        assert len([k for k in api._onnx_cache if k == "clock-bolt" or isinstance(k, tuple)]) == 2


def test_one_engine_fed_while_three_threads_read_it():
    n = 320
    rng = np.random.default_rng(7)
    t = 1.7e9 + 64.0 * np.arange(n) + rng.uniform(-2, 2, n)
    y = np.cumsum(rng.normal(size=n)) * 1e-4 + 3e-7 * 64.0 * np.arange(n)
    delay = 0.01 + 0.001 * (np.arange(n) % 7)
    # on the CPU: the comparison below is bit for bit, the CPU's batch-independent arithmetic
    # (the long-term model's default is CUDA where present: ~1e-8 apart by batch, docs/gpu.md)
    cfg = {"short_term": {"models": ["auto"], "horizon": 8},
           "long_term": {"model": "clock-bolt", "step_factor": 2, "horizon": 16},
           "onnx": {"providers": ["CPUExecutionProvider"]}}
    eng = chronotick.Engine(cfg)
    errors, got, polls = [], {"short_term": [], "fused": []}, [0]
    fed = threading.Event()

    def producer():
        try:
            for i in range(n):
                eng.observe(float(t[i]), float(y[i]), delay=float(delay[i]))
                time.sleep(0.002)
        except Exception as exc:  # noqa: BLE001
            errors.append(("observe", repr(exc)))
        finally:
            fed.set()

    def consumer(kind):
        while not fed.is_set():
            try:
                if kind == "short_term":
                    got[kind].append(eng.predict_short_term())
                elif kind == "fused":
                    got[kind].append(eng.predict_fused())
                else:
                    h, s = eng.health(), eng.stats()
                    assert h["ok"], h
                    c = s["counts"]
                    assert 0 <= c.get("observations", 0) <= n and s["buffer"]["total_pushed"] <= n
                    polls[0] += 1
            except ValueError as exc:
                if "no measurements observed yet" not in str(exc):
                    errors.append((kind, repr(exc)))
            except Exception as exc:  # noqa: BLE001
                errors.append((kind, repr(exc)))

    threads = [threading.Thread(target=producer, daemon=True)]
    threads += [threading.Thread(target=consumer, args=(k,), daemon=True) for k in ("short_term", "fused", "state")]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads), "deadlock: a thread still runs after 60 s"
    assert not errors, errors[:3]
    assert got["short_term"] and got["fused"] and polls[0]
    s = eng.stats()
    assert s["counts"]["observations"] == n and s["buffer"]["total_pushed"] == n
    for kind in ("short_term", "fused"):
        assert s["counts"][f"predictions_{kind}"] == len(got[kind])
        assert s["latency"][kind]["count"] == len(got[kind])
    # each forecast equals a serial engine's fed the same measurements (sampled)
    every = sorted({(kind, i) for kind in got for i in range(0, len(got[kind]), max(1, len(got[kind]) // 6))})
    for kind, i in every:
        fc = got[kind][i]
        k = int(np.searchsorted(t, fc.origin, side="right"))
        with chronotick.Engine(cfg) as ref:
            for j in range(k):
                ref.observe(float(t[j]), float(y[j]), delay=float(delay[j]))
            r = ref.predict_short_term() if kind == "short_term" else ref.predict_fused()
        assert _same(fc, r), (kind, k)
    eng.close()


def test_stats_is_one_consistent_reading_while_measurements_arrive():
    # Was: stats() read the buffer's size, fill, overwritten and total_pushed one after another
    # and the observation count apart from them, while a producer pushed: a reading could say
    # size 37 and fill 38/64, or 1000 observations and 999 pushed
    eng = chronotick.Engine({"engine": {"buffer_capacity": 64, "history": 32, "min_history": 8}})
    n, bad, seen = 4000, [], [0]
    done, reading = threading.Event(), threading.Event()

    def producer():
        try:
            # from the reader's first reading on, and handing the GIL over at each step: on a
            # loaded machine the producer had finished before the reader ran once (CI, 0 readings)
            reading.wait(30)
            for i in range(0, n, 4):
                if i % 8:
                    eng.observe(float(i), 1e-3)
                else:
                    eng.observe_many(np.arange(i, i + 4, dtype=float)[1:], np.full(3, 1e-3))
                time.sleep(0)
        finally:
            done.set()

    def reader():
        while not done.is_set():
            reading.set()
            s = eng.stats()
            b, c = s["buffer"], s["counts"].get("observations", 0)
            seen[0] += 1
            if not (b["fill"] == b["size"] / b["capacity"] and b["size"] + b["overwritten"] == b["total_pushed"]
                    and c == b["total_pushed"]):
                bad.append((c, b))
            h = eng.health()
            if h["buffer_fill"] != h["measurements"] / 64:
                bad.append(h)

    threads = [threading.Thread(target=producer, daemon=True), threading.Thread(target=reader, daemon=True)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(60)
    assert not any(th.is_alive() for th in threads), "deadlock"
    assert seen[0] > 10 and not bad, (len(bad), seen[0], bad[:2])
    s = eng.stats()
    assert s["counts"]["observations"] == s["buffer"]["total_pushed"] == n // 2
    eng.close()
