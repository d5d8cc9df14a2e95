"""Which chronotick the offline scripts here import: the sources beside them where they carry a
developer build (scripts/dev_build.sh) or nothing is installed; else the installed package
(`pip install .`: a fresh clone's sources have no compiled core)."""
import glob
import importlib.util
import os
import sys

SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python")


def choose() -> None:
    if glob.glob(os.path.join(SRC, "chronotick", "_core*")) or importlib.util.find_spec("chronotick") is None:
        sys.path.insert(0, SRC)
