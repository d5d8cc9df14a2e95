"""Exceptions raised by chronotick."""


class ChronotickError(Exception):
    """Base class of chronotick's own errors."""


class ConfigError(ChronotickError, ValueError):
    """A configuration key or value is invalid; the message names the key."""


class ModelError(ChronotickError):
    """A model file is missing, corrupt or does not match what chronotick expects."""


class ModelFileNotFoundError(ModelError, FileNotFoundError):
    """A model file that is not there: both a ModelError (as OnnxForecaster raised it) and a
    FileNotFoundError (as predict(model=PATH) and the registry raised it), so either except
    clause catches it wherever it comes from (they had differed: an audit, 2026-12-05)."""


class ForecastError(ChronotickError, RuntimeError):
    """No forecast could be made from these measurements: the model asked for (and, for a
    classical model, its hold fallback) failed; the message names the model and why. A
    RuntimeError too, as predict() raised before it had its own class."""


class NTPError(ChronotickError):
    """No usable NTP measurement; the message lists each server's rejection reason."""
