"""Measurement sources: each has `.measure() -> Measurement`.

    NTPSource(["pool.ntp.org", "127.0.0.1:11123"])   SNTPv4 client (ntp.py)
    ChronySource()                                     `chronyc -c tracking` (chrony.py)
    as_source(fn_or_iterator)                          (t, offset, uncertainty) tuples (callable.py)

Sign: offset = reference - local clock, seconds.
"""
from chronotick.sources.callable import CallableSource, IteratorSource, as_source
from chronotick.sources.chrony import ChronySource
from chronotick.sources.measurement import Measurement
from chronotick.sources.ntp import NTPSource

__all__ = ["CallableSource", "ChronySource", "IteratorSource", "Measurement", "NTPSource", "as_source"]
