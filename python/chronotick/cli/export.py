"""`chronotick export chronos-bolt`: a Chronos-Bolt checkpoint to ONNX, verified.

    chronotick export chronos-bolt --checkpoint DIR_OR_HUB_ID --context 512 --out model.onnx

Needs the `export` extra (pip install 'chronotick[export]': torch==2.13.0,
chronos-forecasting, onnx, onnxscript). Writes model.onnx and its model
card model.json (its "opset": the opset written); fails (exit 1, nothing
written) when the checkpoint cannot be loaded or the exported graph differs
from the PyTorch pipeline by more than --tolerance normalised units. A
mistake in the arguments (--context < 8 -- without it 512, or the
checkpoint's own context length where shorter --, --tolerance not finite > 0, --opset
outside 18..23, --out not a .onnx file) is exit 2; an --out that is a
directory or where no file can be written (checked before the checkpoint is
loaded) is exit 1, at once. The files
are made in a hidden folder beside --out and moved into place only when both
are complete and verified; Ctrl-C or SIGTERM removes them, and the folders of exports to the same
--out that were killed (SIGKILL) are removed first (said on stderr). --checkpoint is a local directory when it exists,
starts with / . or ~, has more than one /, or its first part (A of A/B) is a
local directory -- then a missing one is "no such checkpoint directory" at
once -- else a hub id ("amazon/chronos-bolt-tiny").
"""
from __future__ import annotations

import argparse
import math
import os
import signal
import sys

ARCHITECTURES = ("chronos-bolt",)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("architecture", choices=ARCHITECTURES, help="the model family to export")
    p.add_argument("--checkpoint", required=True,
                   help="a local checkpoint directory (config.json + weights), or a hub id (namespace/name) where "
                        "the hub is reachable. Read as a local directory when it exists, starts with / . or ~, "
                        "has more than one /, or its first part is a local directory; a missing one is an error")
    p.add_argument("--out", required=True, help="the .onnx file to write (its model card goes beside it as .json)")
    p.add_argument("--context", type=int, default=None, help="context length L of the input [B, L], in grid steps (measurements on the model's grid; default 512, or the checkpoint's own context length where that is shorter)")
    p.add_argument("--tolerance", type=float, default=1e-3,
                   help="largest allowed ONNX vs PyTorch difference, in units of the series' scale, finite > 0 "
                        "(default 1e-3)")
    p.add_argument("--opset", type=int, default=None,
                   help="ONNX opset, 18..23 (default: the exporter's, 20); the card records the one written")
    p.add_argument("--name", default=None, help="model name in the card (default: the file name)")
    p.add_argument("--no-ort-fusions", action="store_true",
                   help="keep the standard-ONNX graph (default: attention blocks and RMS norms rewritten into "
                        "onnxruntime's fused operators, ~half the nodes, faster; onnxruntime only)")
    p.add_argument("--register", action="store_true",
                   help="print the Python line that registers the exported model with chronotick")


def run(args) -> int:
    from chronotick.cli import UsageError
    from chronotick.models import onnx_file_name
    from chronotick.models.export_bolt import MAX_OPSET, MIN_CONTEXT, MIN_OPSET, ExportError, export_chronos_bolt, terminate_as_exit

    # a bad option value: UsageError, exit 2 with "chronotick export: <message>" (cli/__init__.py)
    if args.context is not None and args.context < MIN_CONTEXT:
        raise UsageError(f"--context must be >= {MIN_CONTEXT} (predict() and the Engine use a model from "
                         f"min_history = {MIN_CONTEXT} measured cells of its window on), got {args.context}")
    if not (math.isfinite(args.tolerance) and args.tolerance > 0):
        raise UsageError(f"--tolerance must be a finite number > 0, got {args.tolerance!r}")
    if args.opset is not None and not MIN_OPSET <= args.opset <= MAX_OPSET:
        raise UsageError(f"--opset must be in [{MIN_OPSET}, {MAX_OPSET}] (the opsets torch's exporter "
                         f"writes), got {args.opset}")
    if not onnx_file_name(args.out):
        raise UsageError(f"--out must name a .onnx file (its card goes beside it as .json), got {args.out}")
    if args.register or args.name is not None:
        # the name the card (and the printed register() line) will carry: one register() takes
        from chronotick.models import check_register_name
        name = args.name if args.name is not None else os.path.splitext(os.path.basename(args.out))[0]
        try:
            check_register_name(name)
        except ValueError as exc:
            what = "--name" if args.name is not None else "the model's name (--out's file name; give --name)"
            raise UsageError(f"{what}: {exc}") from None
    # an --out (or its card's path) that is a directory or cannot be written: export_chronos_bolt
    # refuses it at once
    previous = terminate_as_exit()      # SIGTERM: clean up the temporary files, as Ctrl-C does
    try:
        card = export_chronos_bolt(args.checkpoint, args.out, context=args.context, tolerance=args.tolerance,
                                   opset=args.opset, name=args.name, ort_fusions=not args.no_ort_fusions,
                                   log=lambda m: print(m, file=sys.stderr))
    except (ExportError, ValueError, OSError) as exc:
        msg = " ".join(str(exc).split())      # one line, whatever the library's message looked like
        print(f"chronotick export: {msg}", file=sys.stderr)
        return 1
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    par = card["parity"]["max_abs_diff_normalised"]
    print(f"wrote {args.out} ({card['parameters']:,} parameters, context {card['context']}, horizon "
          f"{card['prediction_length']}, parity {par:.2e}) and its model card")
    if args.register:
        # the absolute path: the line is pasted into code that runs elsewhere
        print(f"chronotick.models.register({card['name']!r}, {os.path.abspath(args.out)!r})")
    return 0
