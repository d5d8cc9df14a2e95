"""Checks of an output path, made before a long job (a backtest, an export) rather than after it."""
from __future__ import annotations

import os
import tempfile


def output_file_problem(path: str, *, make_dirs: bool = False) -> str | None:
    """What stops a file from being written at `path`, or None.

    Asks the file system rather than os.access (which says yes to root everywhere, /proc
    included): a file is created and removed in the folder, or, with make_dirs (the job
    creates missing folders), in the nearest folder that exists."""
    path = os.fspath(path)
    if os.path.isdir(path):
        return "is a directory; name a file"
    folder = os.path.dirname(os.path.abspath(path))
    existing = folder
    while not os.path.lexists(existing):
        existing = os.path.dirname(existing)
    if not os.path.isdir(existing):
        return f"{existing} is not a directory"
    if existing != folder and not make_dirs:
        return f"output directory does not exist: {folder}"
    try:
        with tempfile.NamedTemporaryFile(dir=existing, prefix=".chronotick-write-check-"):
            pass
    except OSError as exc:
        return f"cannot write a file in {existing}: {exc.strerror or exc}"
    return None
