#!/usr/bin/env python3
"""Re-export the shipped clock-bolt from its PyTorch checkpoint, keeping the
training record in its model card (train_clock_bolt.py wrote it).

    python export/reexport_clock_bolt.py [--no-ort-fusions]

For a new export path or onnxruntime fusions without re-training (~1 min).
Needs the `export` extra. The export verifies itself against the PyTorch
pipeline as always (chronotick.models.export_bolt).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))

from chronotick.models.export_bolt import export_chronos_bolt  # noqa: E402

OUT = os.path.join(HERE, "..", "python", "chronotick", "models", "data", "clock-bolt.onnx")
CHECKPOINT = os.path.join(HERE, "clock-bolt-checkpoint")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-ort-fusions", action="store_true", help="keep the standard-ONNX graph")
    args = ap.parse_args(argv)
    with open(OUT[:-5] + ".json") as f:
        old = json.load(f)
    keep = {k: old[k] for k in ("source_checkpoint", "training") if k in old}
    card = export_chronos_bolt(CHECKPOINT, OUT, context=int(old["context"]), name=old["name"], extra_card=keep,
                               ort_fusions=not args.no_ort_fusions, log=lambda m: print(m, file=sys.stderr))
    print(json.dumps({k: card[k] for k in ("name", "parameters", "context", "graph", "parity")}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
