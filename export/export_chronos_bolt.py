#!/usr/bin/env python3
"""Export a Chronos-Bolt checkpoint to ONNX (script form of `chronotick export chronos-bolt`).

    python export/export_chronos_bolt.py --checkpoint DIR_OR_HUB_ID --context 512 --out model.onnx

The implementation is chronotick.models.export_bolt (so the installed
`chronotick export` command has it too); needs the `export` extra.
"""
import os
import sys

HERE = os.path.dirname(os.path.realpath(__file__))   # (a symlinked script: its real folder)
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
import _sources  # noqa: E402  scripts/_sources.py: the sources (with a developer build) or the installed package
_sources.choose()

from chronotick.cli import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["export", "chronos-bolt", *sys.argv[1:]]))
