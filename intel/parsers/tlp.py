"""TLP markings carried inside intel files: MISP `tlp:*` tags and STIX marking references.

A row's own marking travels in `fields["tlp"]`; ingestion stores the stricter of it and the
import's TLP, so intel its publisher marked TLP:RED never lands below RED.
"""

from collections.abc import Iterable

# Least to most restrictive, as TDP stores them.
ORDER = ("CLEAR", "GREEN", "AMBER", "AMBER+STRICT", "RED")
_TAGS = {
    "tlp:white": "CLEAR",
    "tlp:clear": "CLEAR",
    "tlp:green": "GREEN",
    "tlp:amber": "AMBER",
    "tlp:amber+strict": "AMBER+STRICT",
    "tlp:red": "RED",
}
# The published TLP marking-definition ids: TLP 1.0 (STIX 2.1 spec) and TLP 2.0 (OASIS).
STIX_MARKINGS = {
    "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9": "CLEAR",
    "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da": "GREEN",
    "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82": "AMBER",
    "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed": "RED",
    "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487": "CLEAR",
    "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb": "GREEN",
    "marking-definition--55d920b1-5db8-4a96-9bcb-d4ed6a8d4c2e": "AMBER",
    "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003": "AMBER+STRICT",
    "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1": "RED",
}


def strictest(levels: Iterable[str | None]) -> str | None:
    """The most restrictive of the given TLP levels (None when there is none)."""
    known = [level for level in levels if level in ORDER]
    return max(known, key=ORDER.index) if known else None


def tlp_from_tags(tags: Iterable[str]) -> str | None:
    """The strictest `tlp:*` tag (MISP style, case-insensitive), or None."""
    return strictest(_TAGS.get(str(tag).strip().lower()) for tag in tags)


def tlp_from_marking_refs(refs: object) -> str | None:
    """The strictest TLP among a STIX object's `object_marking_refs`, or None."""
    if not isinstance(refs, list):
        return None
    return strictest(STIX_MARKINGS.get(str(ref)) for ref in refs)
