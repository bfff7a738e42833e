"""Probabilistic linkage after the exact keys: what it joins, and the wrong merges it must
not make (placeholder e-mails, a household's e-mail, a shared device, twins).

Every expectation follows from how the fixture was built: the typo'd loyalty sign-up is
Katherine's by construction; the twins, the Carters and the placeholder users are
different people by construction.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from personify import ConfigError, Workspace
from personify.cli import DEMO_LOCALE, app, demo_sources
from personify.config import ProbabilisticConfig, parse_config
from personify.demo import generate_demo_company


def _cases() -> dict[str, tuple[str, str, str]]:
    """The hand-made cases, as sources of their own beside the demo company's."""
    crm = [
        "customer_id,first_name,last_name,email,phone,birth_date,postcode,signup_date",
        # Katherine, and (below) her loyalty sign-up: no key in common.
        "K1,Katherine,Ashworth,kate.ashworth@example.org,07412 345901,1981-07-14,"
        "LS6 2AB,2020-01-01",
        # Twins at one address: same surname, birth date, postcode; own phones and e-mails.
        "T1,Oliver,Brennan,oliver.brennan@example.net,07412 345902,1990-05-05,ZZ1 1AA,2020-01-01",
        "T2,Harry,Brennan,harry.brennan@example.net,07412 345903,1990-05-05,ZZ1 1AA,2020-01-01",
        # A household's e-mail: two people, different names and birth dates.
        "H1,James,Carter,carters@example.net,07412 345904,1970-01-01,YY2 2BB,2020-01-01",
        "H2,Sarah,Carter,carters@example.net,07412 345905,1972-03-04,YY2 2BB,2020-01-01",
        # Alice and Bob share a tablet (below).
        "S1,Alice,Moreau,alice.moreau@example.net,07412 345906,1985-02-02,XX3 3CC,2020-01-01",
        "S2,Bob,Lindqvist,bob.l@example.net,07412 345907,1960-06-06,WW4 4DD,2020-01-01",
    ]
    # Five people who gave a placeholder e-mail at the till.
    names = [("Ava", "Okafor"), ("Ben", "Kowalski"), ("Cara", "Nguyen"), ("Dev", "Patel")]
    names.append(("Erin", "Walsh"))
    crm += [
        f"Z{i},{first},{last},test@test.com,,{1950 + 7 * i}-0{i + 1}-1{i},VV{i} 5EE,2020-01-01"
        for i, (first, last) in enumerate(names)
    ]
    cards = [
        "card_number,first_name,last_name,email,phone,postcode,joined_date",
        "LK,Katherine,Ashwrth,kate.ashwroth@example.org,,LS6 2AB,2022-01-01",
    ]
    orders = [
        "order_id,account_id,email,order_ts,total",
        "OH1,,carters@example.net,2024-01-01T10:00:00,10",
        "OS1,A1,alice.moreau@example.net,2024-01-02T10:00:00,20",
        "OS2,A2,bob.l@example.net,2024-01-03T10:00:00,30",
    ]
    events = [
        {
            "type": "identify",
            "messageId": f"E{i}",
            "anonymousId": "tablet",
            "userId": account,
            "timestamp": f"2024-02-0{i}T10:00:00",
        }
        for i, account in ((1, "A1"), (2, "A2"))
    ]
    return {
        "crm_cases": ("customers", "crm.csv", "\n".join(crm) + "\n"),
        "cards_cases": ("loyalty_members", "cards.csv", "\n".join(cards) + "\n"),
        "orders_cases": ("orders", "orders.csv", "\n".join(orders) + "\n"),
        "events_cases": ("events", "events.jsonl", "".join(json.dumps(e) + "\n" for e in events)),
    }


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("demo")
    generate_demo_company(root, customers=300, seed=5)
    return root / "sources"


def _workspace(tmp_path: Path, demo_dir: Path, **identity: Any) -> Workspace:
    """The 300-customer demo company (the model's data) plus the hand-made cases."""
    sources: dict[str, Any] = demo_sources(str(demo_dir))
    for name, (kind, filename, content) in _cases().items():
        (tmp_path / filename).write_text(content, encoding="utf-8")
        sources[name] = {"kind": kind, "path": str(tmp_path / filename)}
    ws = Workspace.init(tmp_path / "ws", sources=sources, locale=DEMO_LOCALE)
    ws.ingest.run()
    if identity:
        ws.config = ws.config.model_copy(
            update={"identity": ws.config.identity.model_copy(update=identity)}
        )
    return ws


def person_of(ws, source: str, record: str) -> str:
    return ws.engine.scalar(
        "SELECT person_id FROM identity_links WHERE source = ? AND record_id = ?", [source, record]
    )


def test_the_model_links_what_no_key_links_and_makes_no_wrong_merge(tmp_path, demo_dir) -> None:
    ws = _workspace(tmp_path, demo_dir)
    result = ws.identity.run()
    # Katherine's loyalty sign-up shares no key with her CRM record: the model links it,
    # with its evidence.
    kate = person_of(ws, "crm_cases", "K1")
    assert person_of(ws, "cards_cases", "LK") == kate
    assert ws.engine.scalar("SELECT rule FROM identity_links WHERE record_id = 'LK'") == (
        "exact:email,loyalty_card;model"
    )
    exact = ws.engine.scalar("SELECT exact_person_id FROM identity_links WHERE record_id = 'K1'")
    link = ws.engine.fetch_df(
        "SELECT * FROM identity_model_links WHERE ? IN (person_l, person_r)", [exact]
    ).iloc[0]
    assert link["status"] == "linked"
    assert link["match_probability"] >= 0.99
    evidence = json.loads(link["evidence"])
    assert evidence["first_name"] == "exact"
    assert evidence["postcode"] == "exact"
    assert result.model_links >= 1
    # Explained: the records, the key spaces, the model link with its evidence.
    why = ws.identity.explain("cards_cases:LK")
    assert why.person_id == kate
    assert why.sources == {"cards_cases": 1, "crm_cases": 1}
    assert {r["record_id"]: r["rule"] for r in why.links} == {
        "K1": "exact:customer_id,email,phone;model",
        "LK": "exact:email,loyalty_card;model",
    }
    assert [(m["status"], m["evidence"]["first_name"]) for m in why.model_links] == [
        ("linked", "exact")
    ]
    assert ws.identity.explain(kate).person_id == kate
    # Twins at one address: different first names never merge on model evidence alone.
    assert person_of(ws, "crm_cases", "T1") != person_of(ws, "crm_cases", "T2")
    # The household's e-mail links neither Carter to the other, nor its order to either.
    james, sarah = person_of(ws, "crm_cases", "H1"), person_of(ws, "crm_cases", "H2")
    assert james != sarah
    assert person_of(ws, "orders_cases", "OH1") not in (james, sarah)
    # The placeholder e-mail links nobody, and both shared e-mails are reported.
    assert len({person_of(ws, "crm_cases", f"Z{i}") for i in range(5)}) == 5
    reported = dict(
        ws.engine.sql(
            "SELECT id_value, hub_reason FROM identity_graph WHERE is_hub AND id_type = 'email'"
            " AND id_value IN ('carters@example.net', 'test@test.com')"
        ).fetchall()
    )
    assert reported == {
        "carters@example.net": "conflicting descriptions",
        "test@test.com": "conflicting descriptions",
    }
    # A tablet two accounts log in on links neither account to the other.
    assert person_of(ws, "crm_cases", "S1") == person_of(ws, "orders_cases", "OS1")
    assert person_of(ws, "crm_cases", "S2") == person_of(ws, "orders_cases", "OS2")
    assert person_of(ws, "crm_cases", "S1") != person_of(ws, "crm_cases", "S2")
    assert (
        ws.engine.scalar("SELECT hub_reason FROM identity_graph WHERE id_value = 'tablet'")
        == "too many identifiers"
    )


def test_identity_explain_on_the_command_line_masks_identifiers(tmp_path, demo_dir) -> None:
    ws = _workspace(tmp_path, demo_dir)
    ws.identity.run()
    ws.close()
    result = CliRunner().invoke(app, ["identity", "explain", "K1", "-w", str(tmp_path / "ws")])
    assert result.exit_code == 0, result.output
    assert "2 records from cards_cases (1), crm_cases (1)" in result.output
    assert "ka" + "*" * 11 + "@example.org" in result.output  # kate.ashworth: 13 letters
    assert "kate.ashworth" not in result.output
    assert "linked" in result.output
    missing = CliRunner().invoke(app, ["identity", "explain", "nobody", "-w", str(tmp_path / "ws")])
    assert missing.exit_code == 1
    assert "no person or record 'nobody'" in missing.output


def test_the_size_guard_drops_a_model_link_that_would_outgrow_max_cluster_size(
    tmp_path, demo_dir
) -> None:
    # Katherine's CRM record has 3 identifiers (customer id, e-mail, phone) and her
    # sign-up 2 (card, e-mail): joined they would be 5, over a limit of 4.
    ws = _workspace(tmp_path, demo_dir, max_cluster_size=4)
    result = ws.identity.run()
    kate = person_of(ws, "crm_cases", "K1")
    assert person_of(ws, "cards_cases", "LK") != kate
    exact = ws.engine.scalar("SELECT exact_person_id FROM identity_links WHERE record_id = 'K1'")
    status = ws.engine.scalar(
        "SELECT status FROM identity_model_links WHERE ? IN (person_l, person_r)", [exact]
    )
    assert status == "rejected: component would exceed max_cluster_size"
    assert result.model_rejected >= 1


def test_without_the_model_only_exact_keys_link(tmp_path, demo_dir) -> None:
    ws = _workspace(tmp_path, demo_dir)
    identity = ws.config.identity
    ws.config = ws.config.model_copy(
        update={
            "identity": identity.model_copy(
                update={"probabilistic": ProbabilisticConfig(enabled=False)}
            )
        }
    )
    result = ws.identity.run()
    assert person_of(ws, "cards_cases", "LK") != person_of(ws, "crm_cases", "K1")
    assert result.model_links == 0
    assert ws.engine.count("identity_model_links") == 0


@pytest.mark.parametrize(
    ("probabilistic", "message"),
    [
        ({"threshold": 1.5}, "identity.probabilistic.threshold"),
        ({"blocking": [["surname"]]}, "unknown blocking field 'surname'"),
        ({"comparisons": ["shoe_size"]}, "identity.probabilistic.comparisons"),
    ],
)
def test_probabilistic_settings_are_validated(probabilistic, message) -> None:
    with pytest.raises(ConfigError, match=message):
        parse_config({"sources": {}, "identity": {"probabilistic": probabilistic}})


def _persons(ws) -> dict[tuple[str, str], str]:
    rows = ws.engine.sql("SELECT source, record_id, person_id FROM identity_links").fetchall()
    return {(src, rec): pid for src, rec, pid in rows}


def _set_model(ws, enabled: bool) -> None:
    identity = ws.config.identity.model_copy(
        update={"probabilistic": ProbabilisticConfig(enabled=enabled)}
    )
    ws.config = ws.config.model_copy(update={"identity": identity})


def test_person_ids_are_stable_and_merges_and_splits_are_recorded(tmp_path, demo_dir) -> None:
    ws = _workspace(tmp_path, demo_dir)
    _set_model(ws, False)
    ws.identity.run()
    first = _persons(ws)
    ws.identity.run()  # the same input again: the same ids, nothing in the history
    assert _persons(ws) == first
    assert ws.engine.count("identity_history") == 0
    kate, card = first[("crm_cases", "K1")], first[("cards_cases", "LK")]
    assert kate != card
    # The model joins Katherine's two persons: one record each, so the smaller id stays.
    _set_model(ws, True)
    ws.identity.run()
    merged = _persons(ws)
    assert merged[("crm_cases", "K1")] == merged[("cards_cases", "LK")] == min(kate, card)
    history = ws.engine.sql(
        "SELECT event, person_id, previous_person_id, records FROM identity_history"
    ).fetchall()
    assert ("merged", min(kate, card), max(kate, card), 1) in history
    # Every person the model did not touch keeps its id.
    untouched = {k for k, v in merged.items() if "model" not in _rule(ws, k)}
    assert all(merged[k] == first[k] for k in untouched)
    # Without the model again: the card splits off under a new id above all used before.
    _set_model(ws, False)
    ws.identity.run()
    split = _persons(ws)
    assert split[("crm_cases", "K1")] == min(kate, card)
    assert split[("cards_cases", "LK")] > max(v for v in first.values() if v.startswith("P"))
    assert ("split", split[("cards_cases", "LK")], min(kate, card), 1) in ws.engine.sql(
        "SELECT event, person_id, previous_person_id, records FROM identity_history"
    ).fetchall()


def _rule(ws, key: tuple[str, str]) -> str:
    return ws.engine.scalar(
        "SELECT rule FROM identity_links WHERE source = ? AND record_id = ?", list(key)
    )
