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
import signal
import sys

HERE = os.path.dirname(os.path.realpath(__file__))   # (a symlinked script: its real folder)
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import _sources  # noqa: E402  scripts/_sources.py: the sources (with a developer build) or the installed package
_sources.choose()

from chronotick.models.export_bolt import ExportError, export_chronos_bolt, terminate_as_exit  # noqa: E402

OUT = os.path.join(HERE, "..", "python", "chronotick", "models", "data", "clock-bolt.onnx")
CHECKPOINT = os.path.join(HERE, "clock-bolt-checkpoint")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--no-ort-fusions", action="store_true", help="keep the standard-ONNX graph")
    ap.add_argument("--checkpoint", default=CHECKPOINT, help="the PyTorch checkpoint (default: %(default)s)")
    ap.add_argument("--out", default=OUT, help="the model to replace; its card (.json beside it) gives the context, "
                                               "name and training record (default: the shipped clock-bolt)")
    args = ap.parse_args(argv)
    card_path = os.path.splitext(args.out)[0] + ".json"
    try:
        with open(card_path) as f:
            old = json.load(f)
        if not isinstance(old, dict) or not isinstance(old.get("context"), int) or not old.get("name"):
            raise ValueError(f"model card {card_path} has no integer context and name")
    except (OSError, ValueError) as exc:
        print(f"reexport_clock_bolt.py: cannot read the model card of {args.out}: "
              f"{' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    keep = {k: old[k] for k in ("source_checkpoint", "training") if k in old}
    previous = terminate_as_exit()
    try:
        card = export_chronos_bolt(args.checkpoint, args.out, context=int(old["context"]), name=old["name"],
                                   extra_card=keep, ort_fusions=not args.no_ort_fusions,
                                   log=lambda m: print(m, file=sys.stderr))
    except (ExportError, ValueError, OSError) as exc:
        print(f"reexport_clock_bolt.py: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print(json.dumps({k: card[k] for k in ("name", "parameters", "context", "graph", "parity")}, indent=2))
    return 0

if __name__ == "__main__":
    sys.exit(main())
