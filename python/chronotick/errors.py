"""Exceptions raised by chronotick."""


class ChronotickError(Exception):
    """Base class of chronotick's own errors."""


class ConfigError(ChronotickError, ValueError):
    """A configuration key or value is invalid; the message names the key."""


class ModelError(ChronotickError):
    """A model file is missing, corrupt or does not match what chronotick expects."""


class NTPError(ChronotickError):
    """No usable NTP measurement; the message lists each server's rejection reason."""
