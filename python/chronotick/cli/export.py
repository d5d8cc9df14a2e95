"""`chronotick export chronos-bolt`: a Chronos-Bolt checkpoint to ONNX, verified.

    chronotick export chronos-bolt --checkpoint DIR_OR_HUB_ID --context 512 --out model.onnx

Needs the `export` extra (pip install 'chronotick[export]': torch==2.13.0,
chronos-forecasting, onnx, onnxscript). Writes model.onnx and its model
card model.json; fails (exit 1, nothing written) when the exported graph
differs from the PyTorch pipeline by more than --tolerance normalised units.
"""
from __future__ import annotations

import argparse
import sys

ARCHITECTURES = ("chronos-bolt",)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("architecture", choices=ARCHITECTURES, help="the model family to export")
    p.add_argument("--checkpoint", required=True,
                   help="a local checkpoint directory (config.json + weights), or a hub id where the hub is reachable")
    p.add_argument("--out", required=True, help="the .onnx file to write (its model card goes beside it as .json)")
    p.add_argument("--context", type=int, default=512, help="context length L of the input [B, L] (default 512)")
    p.add_argument("--tolerance", type=float, default=1e-3,
                   help="largest allowed ONNX vs PyTorch difference, in units of the series' scale (default 1e-3)")
    p.add_argument("--opset", type=int, default=None, help="ONNX opset (default: the exporter's)")
    p.add_argument("--name", default=None, help="model name in the card (default: the file name)")
    p.add_argument("--no-ort-fusions", action="store_true",
                   help="keep the standard-ONNX graph (default: attention blocks and RMS norms rewritten into "
                        "onnxruntime's fused operators, ~half the nodes, faster; onnxruntime only)")
    p.add_argument("--register", action="store_true",
                   help="print the Python line that registers the exported model with chronotick")


def run(args) -> int:
    from chronotick.models.export_bolt import ExportError, export_chronos_bolt

    if args.context < 1:
        print(f"chronotick export: --context must be >= 1, got {args.context}", file=sys.stderr)
        return 2
    try:
        card = export_chronos_bolt(args.checkpoint, args.out, context=args.context, tolerance=args.tolerance,
                                   opset=args.opset, name=args.name, ort_fusions=not args.no_ort_fusions,
                                   log=lambda m: print(m, file=sys.stderr))
    except (ExportError, ValueError, OSError) as exc:
        print(f"chronotick export: {exc}", file=sys.stderr)
        return 1
    par = card["parity"]["max_abs_diff_normalised"]
    print(f"wrote {args.out} ({card['parameters']:,} parameters, context {card['context']}, horizon "
          f"{card['prediction_length']}, parity {par:.2e}) and its model card")
    if args.register:
        print(f"chronotick.models.register({card['name']!r}, {args.out!r})")
    return 0
