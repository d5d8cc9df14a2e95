"""The README's accuracy figures are the regenerated tables' (docs/backtest.md,
docs/backtest-8-ahead.md): the tables are written by scripts/regenerate_tables.sh, the README
by hand, and an audit (2026-12-05) found the README's figures two regenerations behind."""
import os
import re

ROOT = os.path.join(os.path.dirname(__file__), "..")


def _read(name):
    with open(os.path.join(ROOT, name), encoding="utf-8") as f:
        return f.read()


def _mean_row(doc: str, model: str) -> list[str]:
    """The cells of `model`'s row in the "Mean over traces" table."""
    part = doc.split("### Mean over traces", 1)[1]
    row = next(line for line in part.splitlines() if line.startswith(f"| {model} |"))
    return [c.strip() for c in row.strip("|").split("|")]


def _pct_below(ratio: str) -> str:
    return f"{abs(1 - float(ratio)) * 100:.1f}%"


def test_readme_next_measurement_figures_are_the_tables():
    readme, doc = _read("README.md"), _read("docs/backtest.md")
    _, _, ratio, mean_ratio, _, rng, _ = _mean_row(doc, "auto")
    assert float(ratio) < 1 and float(mean_ratio) < 1
    want = (f"`auto` {_pct_below(ratio)} below median-of-5 on the mean MAE "
            f"({_pct_below(mean_ratio)} on the mean of per-trace ratios)")
    assert want in readme, want
    assert f"cover {rng} per trace" in readme, rng
    held = re.search(r"\| held out \(window chosen on the others\) \|[^\n]*\| ([0-9.]+) \|",
                     doc.split("`auto`:", 1)[1]).group(1)
    assert f"`auto` is {_pct_below(held)}\n    below median-of-5 on the mean of ratios" in readme, held


def test_readme_eight_ahead_figures_are_the_tables():
    readme, doc = _read("README.md"), _read("docs/backtest-8-ahead.md")
    _, _, ratio, mean_ratio, _, _, _ = _mean_row(doc, "auto")
    side = "above" if float(ratio) > 1 else "below"
    side_mean = "above" if float(mean_ratio) > 1 else "below"
    # the second side named only where it differs from the first
    also = "" if side_mean == side else f" {side_mean}"
    want = (f"`auto` {_pct_below(ratio)} {side} median-of-5 on the mean MAE, {_pct_below(mean_ratio)}{also} on the "
            f"mean of per-trace ratios")
    assert want in readme, want


def _bound_table(doc: str) -> list[str]:
    lines = doc.splitlines()
    i = next(k for k, line in enumerate(lines) if line.startswith("| trace | status | checks |"))
    j = i
    while j < len(lines) and lines[j].startswith("|"):
        j += 1
    return lines[i:j]


def test_clock_doc_bound_table_is_the_replay_table():
    # docs/clock.md shows docs/replay.md's table (which scripts/regenerate_tables.sh rewrites); an
    # audit (2026-12-05) found the copy six rows stale, and the README's 0.55 with it
    table = _bound_table(_read("docs/replay.md"))
    assert _bound_table(_read("docs/clock.md")) == table
    # the ratio column of the real traces that record delays (homelab_3h does not)
    ratios = [float(row.strip("|").split("|")[-1]) for row in table
              if row.startswith("| homelab") and "homelab_3h" not in row and "UNKNOWN" not in row]
    want = f"| {min(ratios):.2f}–{max(ratios):.2f}× its width on the three real traces with delays |"
    assert want in _read("README.md"), want
    # and over all four real traces, homelab_3h too (a doc audit, 2026-12-06, found the README's
    # "0.09-0.91x" of an older table)
    every = [float(row.strip("|").split("|")[-1]) for row in table
             if row.startswith("| homelab") and "UNKNOWN" not in row]
    want = f"Width: {min(every):.2f}–{max(every):.2f}× a 50 ppm\n    worst-case bound over all four traces"
    assert want in _read("README.md"), want


SHIPPED_RECIPE = "python export/train_clock_bolt.py --portable --ema 0.998 --spike-c 5"


def test_the_shipped_models_card_records_the_recipe_the_docs_name():
    # README, export/README.md and docs/models.md say the shipped clock-bolt is what this command
    # gives byte for byte (Rule Q, session 33): its card's training record must be that recipe
    # (the script's other options at their defaults), so that a model shipped from another recipe
    # cannot keep the claim
    import json
    card = json.loads(_read("python/chronotick/models/data/clock-bolt.json"))
    tr = card["training"]
    assert tr["portable"] == {"ATEN_CPU_CAPABILITY": "default", "MKL_CBWR": "COMPATIBLE"}
    assert (tr["ema"], tr["spike_c"], tr["seed"], tr["steps"], tr["series"], tr["batch"], tr["lr"],
            tr["short_p"], tr["transients"], tr["ramps"], tr["pools"]) == \
        (0.998, 5.0, 0, 4000, 3000, 128, 0.001, 0.7, False, 0.0, 0.0)
    assert (card["d_model"], card["d_ff"], card["num_layers"], card["num_decoder_layers"], card["num_heads"],
            card["context"]) == (96, 256, 3, 2, 4, 256)
    assert tr["wall_s"] <= 30 * 60          # the issue's <= 30 min on 2 cores
    flat = lambda s: " ".join(s.split())    # noqa: E731 - the docs wrap lines
    for doc in ("README.md", "export/README.md", "docs/models.md"):
        assert SHIPPED_RECIPE in flat(_read(doc)), doc
