"""Third-party data appended by postcode (longest prefix) and e-mail domain (exact),
on a tiny company whose expected values were looked up by hand."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from personify.config import parse_config
from personify.errors import ConfigError

CRM = (
    "customers",
    "crm.csv",
    "customer_id,email,postcode\n"
    "C1,ann@Acme.de,10115\n"  # Berlin: '101' beats '10'
    "C2,bob@gmail.com,10999\n"  # only '10' matches
    "C3,cy@acme.de, sw1a-1aa \n"  # spaces, hyphen and case do not matter: 'SW1A'
    "C4,dan@nowhere.org,99999\n",  # no key matches
)
AREAS = (
    "reference",
    "areas.csv",
    "key,median_income,urban\n10,38000,true\n101,41000,true\nSW1A,60000,true\nsw1a,64000,true\n",
)
FIRMS = (
    "reference",
    "firms.csv",
    "key,industry,employees\nacme.de,Manufacturing,5000\ngmail.com,,\n",
)
OPTIONS = {
    "areas": {
        "append": {"on": "postcode", "match": "prefix", "provenance": "Census 2021"},
        "attributes": {
            "median_income": {"role": "numeric", "label": "Median household income"},
            "urban": {"role": "boolean"},
        },
    },
    "firms": {
        "append": {"on": "email_domain"},
        "attributes": {
            "industry": {"role": "categorical", "label": "Industry"},
            "employees": {"role": "numeric"},
        },
    },
}


@pytest.fixture
def built(make_workspace, caplog):
    ws = make_workspace({"crm": CRM, "areas": AREAS, "firms": FIRMS}, **OPTIONS)
    ws.ingest.run()
    ws.identity.run()
    with caplog.at_level(logging.WARNING):
        result = ws.profiles.run()
    rows = ws.engine.fetch_df(
        "SELECT p.*, g.customer_id FROM profiles p JOIN golden_record g USING (person_id)"
    ).set_index("customer_id")
    return ws, result, rows, caplog.text


def test_postcodes_take_the_longest_matching_district(built) -> None:
    _, _, rows, _ = built
    assert rows.loc["C1", "ref_median_income"] == pytest.approx(41000)
    assert rows.loc["C2", "ref_median_income"] == pytest.approx(38000)
    assert bool(rows.loc["C2", "ref_urban"]) is True
    # 'SW1A' and 'sw1a' are one key once normalised: averaged, with a warning
    assert rows.loc["C3", "ref_median_income"] == pytest.approx(62000)
    assert pd.isna(rows.loc["C4", "ref_median_income"])


def test_a_key_listed_twice_is_reported(built) -> None:
    *_, log = built
    assert "reference source 'areas': 1 key(s) listed more than once" in log


def test_e_mail_domains_match_exactly_in_any_case(built) -> None:
    _, _, rows, _ = built
    assert rows.loc["C1", "ref_industry"] == "Manufacturing"
    assert rows.loc["C3", "ref_employees"] == pytest.approx(5000)
    assert pd.isna(rows.loc["C2", "ref_industry"])  # gmail.com has no values
    assert pd.isna(rows.loc["C4", "ref_industry"])


def test_appended_values_are_marked_with_their_provenance(built) -> None:
    from personify.profiles.features import Catalogue

    ws, result, _, _ = built
    feature = Catalogue(ws.config).describe("ref_median_income")
    assert feature.appended_from == "Census 2021"
    assert feature.label == "Median household income (Census 2021, by the postcode)"
    assert "not something the customer said" in feature.meaning
    assert Catalogue(ws.config).describe("ref_industry").appended_from == "firms"
    assert "attr_median_income" not in result.columns  # never a declared customer attribute


def test_a_reference_source_needs_append_and_attributes() -> None:
    base = {"kind": "reference", "path": "areas.csv"}
    with pytest.raises(ConfigError, match="needs 'append"):
        parse_config({"sources": {"areas": {**base, "attributes": {"x": {"role": "numeric"}}}}})
    with pytest.raises(ConfigError, match="needs 'attributes"):
        parse_config({"sources": {"areas": {**base, "append": {"on": "postcode"}}}})
    with pytest.raises(ConfigError, match="'append' is for sources of kind reference"):
        parse_config(
            {"sources": {"crm": {"kind": "customers", "path": "c.csv", "append": {"on": "city"}}}}
        )
