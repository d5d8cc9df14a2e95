"""Loading clock measurements from files into one `Trace` type.

Units: times in seconds (Unix epoch where the file has it), offsets, delays
and uncertainties in seconds. Sign: offset = reference - local clock.
"""
from __future__ import annotations

from chronotick.io.trace import Trace
from chronotick.io.chronotick_csv import load_chronotick_csv

__all__ = ["Trace", "load_chronotick_csv"]
