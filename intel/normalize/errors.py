"""The one exception of :mod:`intel.normalize`: a value that is not a valid indicator."""

from __future__ import annotations


class NormalizationError(ValueError):
    """A value that cannot be turned into a canonical indicator.

    ``reason`` is a short human-readable sentence fragment suitable for an import report,
    e.g. ``"not a valid IPv4 address"``. ``value`` and ``type_`` (filled in by
    :func:`normalize`; ``type_`` is the detected type when none was given, or None when
    nothing could be detected) say what was being normalised; ``str(error)`` is the reason.
    """

    def __init__(self, reason: str, *, value: str | None = None, type_: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.value = value
        self.type_ = type_

    def __reduce__(self) -> tuple[type[NormalizationError], tuple[str], dict[str, object]]:
        """Keep ``value``/``type_`` across pickling (RQ jobs pickle exceptions)."""
        return (type(self), (self.reason,), dict(self.__dict__))
