"""TLP markings inside imported files: a row is stored at the stricter of its own and the import."""

import io
import json

import pytest

from intel.imports import import_stream
from intel.models import TLP, Indicator
from intel.parsers.tlp import strictest, tlp_from_marking_refs, tlp_from_tags
from tests.factories import make_source

pytestmark = pytest.mark.django_db

RED_V2 = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
GREEN_V1 = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"


def stix_bundle(*indicators: tuple[str, list[str]]) -> bytes:
    objects = [
        {
            "type": "indicator",
            "spec_version": "2.1",
            "id": f"indicator--0000000{n}-0000-4000-8000-000000000000",
            "pattern": f"[domain-name:value = '{value}']",
            "pattern_type": "stix",
            "object_marking_refs": refs,
        }
        for n, (value, refs) in enumerate(indicators)
    ]
    return json.dumps({"type": "bundle", "id": "bundle--1", "objects": objects}).encode()


def test_markings_map_to_tdp_levels() -> None:
    assert tlp_from_tags(["osint", "TLP:RED"]) == "RED"
    assert tlp_from_tags(["tlp:white", "tlp:amber"]) == "AMBER"
    assert tlp_from_tags(["phishing"]) is None
    assert tlp_from_marking_refs([GREEN_V1, RED_V2]) == "RED"
    assert tlp_from_marking_refs("not a list") is None
    assert strictest(["GREEN", None, "AMBER+STRICT"]) == "AMBER+STRICT"


def test_a_stix_indicator_marked_red_is_stored_red_whatever_the_import_says() -> None:
    data = stix_bundle(("red-marked.example", [RED_V2]), ("green-marked.example", [GREEN_V1]))
    import_stream(
        io.BytesIO(data), source=make_source("stix"), options={"tlp": "GREEN"}, filename="b.json"
    )
    assert Indicator.objects.get(value="red-marked.example").tlp == TLP.RED
    assert Indicator.objects.get(value="green-marked.example").tlp == TLP.GREEN


def test_a_looser_marking_never_lowers_the_imports_tlp() -> None:
    data = stix_bundle(("green-marked.example", [GREEN_V1]))
    import_stream(
        io.BytesIO(data), source=make_source("stix"), options={"tlp": "AMBER"}, filename="b.json"
    )
    assert Indicator.objects.get(value="green-marked.example").tlp == TLP.AMBER


def test_a_misp_event_tagged_tlp_red_is_stored_red() -> None:
    event = {
        "Event": {
            "info": "restricted report",
            "Tag": [{"name": "tlp:red"}],
            "Attribute": [{"type": "domain", "value": "misp-red.example", "to_ids": True}],
        }
    }
    import_stream(
        io.BytesIO(json.dumps(event).encode()),
        source=make_source("misp"),
        options={"tlp": "GREEN", "format": "misp"},
        filename="e.json",
    )
    assert Indicator.objects.get(value="misp-red.example").tlp == TLP.RED


def test_red_from_a_file_is_hidden_from_analysts_who_are_not_cleared(analyst_client) -> None:
    data = stix_bundle(("red-marked.example", [RED_V2]))
    import_stream(
        io.BytesIO(data), source=make_source("stix"), options={"tlp": "GREEN"}, filename="b.json"
    )
    assert "red-marked.example" not in analyst_client.get("/intel/indicators/").content.decode()
