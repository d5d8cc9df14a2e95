"""Any callable or iterator of (t, offset, uncertainty) as a measurement source."""
from __future__ import annotations

from types import GeneratorType

from chronotick.sources.measurement import Measurement


def _measurement(value, what: str) -> Measurement | None:
    if value is None or isinstance(value, Measurement):   # None: no measurement this time (an empty poll)
        return value
    if isinstance(value, GeneratorType):
        # a generator function given as the source: each call made a new generator, which
        # unpacking would run (up to 4 items) -- never a measurement
        raise TypeError(f"{what} must give (t, offset, uncertainty) or a Measurement, got a generator "
                        f"{value!r:.200}: for a generator function pass the generator (fn()), not the function")
    try:
        t, offset, uncertainty = value
    except (TypeError, ValueError):
        raise TypeError(f"{what} must give (t, offset, uncertainty) or a Measurement, got {value!r}") from None
    return Measurement(t=t, offset=offset, delay=0.0, uncertainty=uncertainty, server=what)


class CallableSource:
    """`.measure()` calls `fn()`, which returns (t, offset, uncertainty) in seconds
    (t: local Unix time; offset: reference - local), a Measurement, or None when
    it has no measurement this time (as a source's measure() may)."""

    def __init__(self, fn, name: str | None = None):
        self._fn = fn
        self.name = name or getattr(fn, "__name__", type(fn).__name__)

    def measure(self) -> Measurement | None:
        return _measurement(self._fn(), self.name)


class IteratorSource:
    """`.measure()` takes the next item of an iterator of (t, offset, uncertainty),
    Measurements or None (no measurement this time); raises StopIteration when it
    is exhausted."""

    def __init__(self, iterable, name: str | None = None):
        self._it = iter(iterable)
        self.name = name or type(iterable).__name__

    def measure(self) -> Measurement | None:
        return _measurement(next(self._it), self.name)


def as_source(obj):
    """Adapt `obj` to an object with `.measure() -> Measurement`.

    Objects that already have a callable `measure` (NTPSource, ChronySource,
    ...) are returned as they are; a callable becomes a CallableSource; an
    iterable (generator, list of tuples, ...) an IteratorSource.
    """
    if callable(getattr(obj, "measure", None)):
        return obj
    if callable(obj):
        return CallableSource(obj)
    try:
        iter(obj)
    except TypeError:
        raise TypeError(f"source must have .measure(), be callable or iterable, got {type(obj).__name__}") \
            from None
    if isinstance(obj, (str, bytes)):
        raise TypeError(f"source must have .measure(), be callable or iterable of tuples, got a "
                        f"{type(obj).__name__} {obj!r} (for an NTP server use NTPSource([{obj!r}]))")
    if type(obj).__name__ == "DataFrame" and hasattr(obj, "itertuples"):
        # a DataFrame iterates over its column names: each poll had failed on 't' (an audit, 2026-12-06)
        raise TypeError("source: a DataFrame iterates over its column names; pass its rows, e.g. "
                        "df[['t', 'offset', 'uncertainty']].itertuples(index=False, name=None)")
    return IteratorSource(obj)
