"""What the matcher holds and returns: indicator references and matches.

An index slot holds one :class:`IndicatorRef` or, when several indicators share a canonical
value, a tuple of them; a 1-tuple per indicator would cost ~56 MB per million indicators for
the rare case. :func:`add_ref` and :func:`each_ref` hide that.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from detection.observables import Observable

__all__ = ["IndicatorRef", "Match", "Refs", "add_ref", "each_ref"]


@dataclass(frozen=True, slots=True)
class IndicatorRef:
    """The slice of an active indicator the matcher needs (the DB row stays in the DB).

    ``value`` should be canonical already (it is, when it comes from intel); the matcher
    normalises it again anyway, so a hand-written ``Evil.Example`` still matches.
    """

    id: int
    type: str
    value: str
    confidence: int
    tags: tuple[str, ...] = ()
    source_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """One indicator matched by one observable of an event; ``field`` is where it was seen."""

    indicator: IndicatorRef
    observable: Observable
    field: str


Refs = IndicatorRef | tuple[IndicatorRef, ...]
K = TypeVar("K")


def add_ref(table: dict[K, Refs], key: K, ref: IndicatorRef) -> None:
    """Put ``ref`` in ``table[key]``, next to any indicator already there."""
    old = table.get(key)
    if old is None:
        table[key] = ref
    elif type(old) is tuple:
        table[key] = (*old, ref)
    else:
        table[key] = (old, ref)  # type: ignore[assignment]


def each_ref(refs: Refs) -> tuple[IndicatorRef, ...]:
    """The indicators in one index slot."""
    return refs if type(refs) is tuple else (refs,)  # type: ignore[return-value]
