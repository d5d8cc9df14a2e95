"""Guards of the export and the registry found by an audit (2026-12-04): checked before anything
is loaded, so no torch is needed here."""
import json
import os
import shutil
import warnings

import pytest

from chronotick import api
from chronotick.cli import main
from chronotick.errors import ModelError
from chronotick.models.export_bolt import export_chronos_bolt, foreign_json


def test_the_export_does_not_replace_a_json_that_is_not_a_model_card(tmp_path):
    # --out CHECKPOINT/config.onnx had replaced the checkpoint's own config.json with the card,
    # destroying the checkpoint
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "t5", "d_model": 64}))
    before = config.read_bytes()
    with pytest.raises(ValueError, match=r"config\.json exists and is not a model card \(no context "
                                         r"field\).*choose another out"):
        export_chronos_bolt(str(tmp_path), str(tmp_path / "config.onnx"), context=64)
    assert config.read_bytes() == before and not (tmp_path / "config.onnx").exists()
    assert main(["export", "chronos-bolt", "--checkpoint", str(tmp_path), "--context", "64",
                 "--out", str(tmp_path / "config.onnx")]) == 1
    assert config.read_bytes() == before
    # an earlier export's card may be replaced; so may a missing one
    card = tmp_path / "m.json"
    card.write_text(json.dumps({"context": 64}))
    assert foreign_json(str(card)) == "" and foreign_json(str(tmp_path / "none.json")) == ""
    (tmp_path / "list.json").write_text("[1, 2]")
    assert foreign_json(str(tmp_path / "list.json")) == "a JSON list, not an object"
    (tmp_path / "junk.json").write_text("{not json")
    assert foreign_json(str(tmp_path / "junk.json")).startswith("not readable as JSON")


@pytest.mark.parametrize("out", [".onnx", "dir/.onnx"])
def test_an_out_with_no_file_stem_is_refused(tmp_path, out, capsys):
    # it wrote ".onnx" and ".onnx.json", a pair register() and predict(model=PATH) then refused
    path = str(tmp_path / out)
    with pytest.raises(ValueError, match="out must name a .onnx file"):
        export_chronos_bolt(str(tmp_path), path, context=64)
    assert main(["export", "chronos-bolt", "--checkpoint", str(tmp_path), "--context", "64", "--out", path]) == 2
    assert "--out must name a .onnx file" in capsys.readouterr().err


@pytest.mark.parametrize("name", [" ", "\t", "kalman ", " clock"])
def test_register_refuses_blank_and_padded_names(registry, tmp_path, name):
    model = tmp_path / "m.onnx"
    model.write_bytes(b"x")
    with pytest.raises(ValueError, match="name must"):
        registry.register(name, str(model))
    assert name not in registry.names()


def test_registering_the_shipped_name_warns_that_it_replaces_it(registry, tmp_path):
    shipped = registry.onnx_models().get(api.AUTO_ONNX)
    if shipped is None:
        pytest.skip("no shipped model in this checkout")
    copy = tmp_path / "other.onnx"
    shutil.copy(shipped, copy)
    generation = dict(registry._generation)
    try:
        with pytest.warns(RuntimeWarning, match=f"replaces the shipped model {api.AUTO_ONNX}.*model='auto'"):
            registry.register(api.AUTO_ONNX, str(copy))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            registry.register(api.AUTO_ONNX, str(copy))        # registered already: no second warning
    finally:
        registry._generation.clear()
        registry._generation.update(generation)


def test_a_load_that_fails_while_the_files_are_replaced_is_made_again(tmp_path):
    # a re-export replaces the card, then the model: a load in between read one export's card
    # with the other's graph and failed (predict(model=PATH) raised once)
    model, card = tmp_path / "m.onnx", tmp_path / "m.json"
    model.write_bytes(b"a")
    card.write_text("{}")
    calls = []

    def swapped_meanwhile():
        calls.append(1)
        if len(calls) == 1:
            os.replace(str(tmp_path / "m.onnx"), str(tmp_path / "old.onnx"))
            model.write_bytes(b"b")                  # the new export lands while this load runs
            raise ModelError("the graph's context is 50, the model card says 64")
        return "loaded"
    got, ident = api.load_onnx(str(model), swapped_meanwhile)
    assert got == "loaded" and len(calls) == 2 and ident == api._pair_identity(str(model))

    calls.clear()

    def broken():
        calls.append(1)
        raise ModelError("broken for good")
    with pytest.raises(ModelError, match="broken for good"):
        api.load_onnx(str(model), broken)
    assert len(calls) == 1                           # nothing changed: not tried again


def test_a_model_file_named_like_another_model_is_named_by_its_path(tmp_path):
    # Found by an audit (2026-12-04): predict(model=".../kalman.onnx") named its forecasts
    # "kalman", as the classical model's; the Engine already named such a file by its path
    import numpy as np
    import chronotick
    shipped = chronotick.models.onnx_models().get(api.AUTO_ONNX)
    if shipped is None:
        pytest.skip("no shipped model in this checkout")
    t = 1.7e9 + 64.0 * np.arange(120)
    y = 1e-4 * np.cumsum(np.random.default_rng(0).normal(size=120))
    for stem, want in (("kalman", None), (api.AUTO_ONNX, None), ("mine", "mine")):
        path = tmp_path / f"{stem}.onnx"
        shutil.copy(shipped, path)
        shutil.copy(shipped[:-5] + ".json", tmp_path / f"{stem}.json")
        fc = chronotick.predict(y, t, horizon=2, model=str(path))
        assert fc.model == (want or str(path)) and set(fc.weights) == {want or str(path)}
    assert chronotick.predict(y, t, horizon=2, model=shipped).model == api.AUTO_ONNX   # the shipped file itself


def test_a_context_too_short_to_be_used_is_refused(tmp_path, capsys):
    # Found by an audit (2026-12-05): --context 1 exported "successfully" a model predict() and
    # the Engine never use (they need min_history = 8 measured cells of its window)
    import numpy as np
    out = str(tmp_path / "m.onnx")
    with pytest.raises(ValueError, match=r"context must be at least 8, got 7: predict\(\) and the Engine"):
        export_chronos_bolt(str(tmp_path), out, context=7)
    assert main(["export", "chronos-bolt", "--checkpoint", str(tmp_path), "--context", "1", "--out", out]) == 2
    assert "--context must be >= 8" in capsys.readouterr().err
    # a numpy integer is an integer (it was "context must be a positive integer, got np.int64(64)"):
    # here it gets as far as the checkpoint
    with pytest.raises(Exception) as e:
        export_chronos_bolt(str(tmp_path / "none"), out, context=np.int64(64))
    assert "context must be" not in str(e.value)
    assert not os.path.exists(out)


@pytest.mark.parametrize("args, what", [
    (["--out", "{d}/kalman.onnx", "--register"], "--out's file name"),
    (["--out", "{d}/m.onnx", "--name", "fused"], "--name: name 'fused' is reserved"),
    (["--out", "{d}/m.onnx", "--name", "my model ", "--register"], "--name: name must not begin or end"),
])
def test_export_refuses_a_name_register_would_refuse_before_exporting(tmp_path, capsys, args, what):
    # `--register` had exported (exit 0) and printed a register() line that register() refused
    args = [a.format(d=tmp_path) for a in args]
    assert main(["export", "chronos-bolt", "--checkpoint", str(tmp_path), "--context", "64", *args]) == 2
    err = capsys.readouterr().err
    assert what in err, err
    assert not list(tmp_path.glob("*.onnx"))


@pytest.mark.parametrize("field, value, says", [
    ("context", 256.0, "its context must be a positive integer, got 256.0"),
    ("prediction_length", True, "its prediction_length must be a positive integer"),
    ("quantile_levels", [0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1], "quantile_levels"),
    ("quantile_levels", [0.1, 0.2, 0.3, 0.4, 0.45, 0.6, 0.7, 0.8, 0.9], "must contain 0.5"),
])
def test_list_reports_the_card_fields_the_loader_refuses(registry, tmp_path, field, value, says):
    # list() had shown card_error None for a card the loader refuses (an audit, 2026-12-05)
    from chronotick.models.onnx import OnnxForecaster
    shipped = registry.onnx_models().get(api.AUTO_ONNX)
    if shipped is None:
        pytest.skip("clock-bolt not shipped")
    onnx = tmp_path / "bad.onnx"
    shutil.copy(shipped, onnx)
    card = json.load(open(os.path.splitext(shipped)[0] + ".json"))
    card[field] = value
    (tmp_path / "bad.json").write_text(json.dumps(card))
    registry.register("bad-card", str(onnx))
    entry = next(e for e in registry.list() if e["name"] == "bad-card")
    assert entry["card_error"] is not None and says in entry["card_error"], entry["card_error"]
    assert str(tmp_path / "bad.json") in entry["card_error"]
    with pytest.raises(ModelError):
        OnnxForecaster(str(onnx))
