"""The persona document's published JSON Schema (src/personify/personas/persona.schema.json).

The schema is written by hand from what a card must hold; the documents the pipeline
writes are validated against it here and in the end-to-end and other-company tests."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import jsonschema
import pytest

SCHEMA = json.loads(
    resources.files("personify.personas").joinpath("persona.schema.json").read_text()
)


def validate(document: dict[str, Any]) -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    jsonschema.Draft202012Validator(SCHEMA).validate(document)


def test_the_schema_ships_with_the_package_and_is_valid_json_schema() -> None:
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["properties"]["schema"]["const"] == "personify.persona/v1"


MINIMAL: dict[str, Any] = {
    "schema": "personify.persona/v1",
    "persona_id": "seg-1-1",
    "segment_run": "seg-1",
    "segment_id": 1,
    "slug": "ana-the-regular",
    "name": "Ana",
    "title": "The Regular",
    "description": "Ana stands for about 60 customers.",
    "tagline": "Looks like the average customer.",
    "negative": False,
    "negative_reasons": [],
    "size": {"customers": 60, "share": 0.5},
    "value": {
        "currency": None,
        "revenue": 0.0,
        "revenue_share": None,
        "avg_revenue": 0.0,
        "avg_orders": None,
        "avg_order_value": None,
        "acquisition_cost": None,
        "rank": 1,
    },
    "demographics": {"age": None},
    "attributes": [],
    "scales": [],
    "traits": [],
    "channels": [],
    "categories": [],
    "acquisition": [],
    "themes": [],
    "quotes": [],
    **{
        f: {"statements": [], "note": "Not in the data"}
        for f in ("goals", "frustrations", "gains", "objections")
    },
    "empathy_map": {
        **{f: {"statements": [], "note": "Not in the data"} for f in ("says", "thinks", "does")},
        "feels": {"statements": [], "note": "Not in the data"},
        "pains": [],
        "gains": [],
    },
    "journey": {"members": 60, "stages": [], "note": "Not in the data"},
    "narrative": {"text": "Ana stands for about 60 customers.", "generated_by": "template"},
    "job": {"titles": [], "families": [], "note": "Not in the data: no job title is recorded"},
    "household": {"marital_status": [], "flags": [], "note": "Not in the data"},
    "location": {"country": None, "cities": [], "note": "Not in the data"},
    "confidence": {
        f: "none"
        for f in (
            "size",
            "demographics",
            "traits",
            "goals",
            "frustrations",
            "gains",
            "objections",
            "empathy_map",
            "journey",
            "job",
            "household",
            "location",
        )
    },
    "evidence": {
        k: "from the data"
        for k in (
            "size",
            "demographics",
            "traits",
            "themes",
            "quotes",
            "value",
            "channels",
            "goals",
            "frustrations",
            "gains",
            "objections",
            "empathy_map",
            "journey",
        )
    },
}

STATEMENT = {
    "text": "Agrees more than others that 'price matters most': 4.2 vs 3.1 on 1-5",
    "basis": "survey",
    "attribute": "scale_price",
    "evidence": "scale_price: 50 members vs 200 others, Welch's t-test",
    "persons": 50,
    "p_value": 0.001,
    "effect": 0.8,
    "confidence": "medium",
}


def test_a_card_with_nothing_but_its_size_is_valid() -> None:
    validate(MINIMAL)  # a workspace without orders, texts or demographics


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("size", "share"), 1.5),
        (("themes",), [{"term": "noise", "score": 0.1, "p_value": 0.2}]),  # not significant
        (("quotes",), [{"text": "x", "source": "reviews", "date": "NaT"}]),
        (("channels",), [{"channel": "desktop", "share": 0.5}]),
        (("schema",), "personify.persona/v2"),
        (("email",), "someone@example.com"),  # no field of its own
        # an empty field must say why; a statement needs its evidence and a tested p-value
        (("goals",), {"statements": [], "note": None}),
        (("goals",), {"statements": [{**STATEMENT, "evidence": ""}], "note": None}),
        (("gains",), {"statements": [{**STATEMENT, "p_value": 0.3}], "note": None}),
        (("objections",), {"statements": [{**STATEMENT, "confidence": "certain"}], "note": None}),
        (("confidence", "goals"), "very high"),
    ],
)
def test_documents_that_break_the_contract_are_rejected(path: tuple[str, ...], value: Any) -> None:
    doc = copy.deepcopy(MINIMAL)
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with pytest.raises(jsonschema.ValidationError):
        validate(doc)


def test_a_field_with_tested_statements_is_valid() -> None:
    doc = copy.deepcopy(MINIMAL)
    doc["goals"] = {"statements": [STATEMENT], "note": None}
    validate(doc)


def test_a_missing_field_is_rejected() -> None:
    doc = copy.deepcopy(MINIMAL)
    del doc["evidence"]
    with pytest.raises(jsonschema.ValidationError, match="evidence"):
        validate(doc)
