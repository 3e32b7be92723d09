"""The enricher plug-in interface and its registry.

An enricher says which indicator types it `applies_to`, how long its answers stay fresh
(`ttl_seconds`), optionally how many calls a minute its provider allows (`rate_per_minute`,
shared across workers through Redis), and `enrich(type_, value) -> dict`. Raising
`TemporaryFailure` asks for a retry with backoff; any other exception is stored as the result's
error. Built-in enrichers register themselves with `@register`; admin-configured HTTP enrichers
come from the database (`automation.models.HttpEnricher`) through `enrichers_for`.
"""

from __future__ import annotations

from typing import Any, ClassVar


class TemporaryFailure(Exception):
    """The provider could not answer now (timeout, 5xx, rate limit): try again later."""


class Enricher:
    """Base class of enrichers; subclasses set the class attributes and implement `enrich`."""

    name: ClassVar[str] = ""
    applies_to: ClassVar[frozenset[str]] = frozenset()
    ttl_seconds: ClassVar[int] = 86400
    rate_per_minute: ClassVar[int | None] = None
    # True when `enrich_many` answers a batch cheaper than one `enrich` call per indicator.
    batchable: ClassVar[bool] = False

    def enrich(self, type_: str, value: str) -> dict[str, Any]:
        """Facts about the indicator ``type_``/``value`` as a JSON-able dict."""
        raise NotImplementedError

    def enrich_many(self, indicators: list[Any]) -> dict[int, dict[str, Any] | Exception]:
        """{indicator id: its facts, or the exception `enrich` raised} for stored indicators."""
        answers: dict[int, dict[str, Any] | Exception] = {}
        for indicator in indicators:
            try:
                answers[indicator.pk] = self.enrich(indicator.type, indicator.value)
            except Exception as exc:
                answers[indicator.pk] = exc
        return answers


_registry: dict[str, Enricher] = {}


def register(cls: type[Enricher]) -> type[Enricher]:
    """Class decorator: add one instance of ``cls`` to the registry under its name."""
    if not cls.name:
        raise ValueError(f"{cls.__name__} has no name")
    _registry[cls.name] = cls()
    return cls


def builtin_enrichers() -> list[Enricher]:
    """The registered (code) enrichers."""
    return list(_registry.values())
