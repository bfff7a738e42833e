"""k-anonymity on the card: a value held by fewer than personas.k_anonymity members is not
shown anywhere (document, files, exports), while values held by more are.

Sixty customers in two plain groups of thirty (tenure 10 or 50). Group A lives in Aachen;
group B in Bonn, except five in Celle; three of group B are pilots, the rest teachers."""

from __future__ import annotations

import json

from personify.config import SegmentsConfig
from personify.personas import export


def _table() -> str:
    rows = ["customer_id,city,job_title,tenure,score"]
    for i in range(1, 61):
        if i <= 30:
            rows.append(f"T{i},Aachen,Nurse,10,2")
        else:
            city = "Celle" if i > 55 else "Bonn"
            job = "Pilot" if i <= 33 else "Teacher"
            rows.append(f"T{i},{city},{job},50,8")
    return "\n".join(rows) + "\n"


ATTRIBUTES = {
    "attributes": {
        "tenure": {"role": "numeric", "label": "Tenure"},
        "score": {"role": "numeric", "label": "Score"},
    }
}


def test_values_of_fewer_than_k_members_are_not_shown(make_workspace) -> None:
    ws = make_workspace(
        {"crm": ("customers", "crm.csv", _table())},
        crm=ATTRIBUTES,
    )
    assert ws.config.personas.k_anonymity == 50  # the default: too many for this company
    small = ws.config.personas.model_copy(update={"k_anonymity": 10})
    ws.config = ws.config.model_copy(
        update={"segments": SegmentsConfig(k=2, min_orders=0), "personas": small}
    )
    results = ws.run()
    personas = results["personas"].personas
    assert sorted(p["size"]["customers"] for p in personas) == [30, 30]
    texts = [json.dumps(p) for p in personas]
    texts += [f.read_text(encoding="utf-8") for f in (ws.output_dir / "personas").glob("*")]
    texts.append((ws.output_dir / "report.html").read_text(encoding="utf-8"))
    texts += [export.to_csv(ws).decode(), export.to_json(ws).decode()]
    texts.append(export.to_markdown(ws).decode())
    everything = "\n".join(texts)
    assert "Celle" not in everything and "Pilot" not in everything  # 5 and 3 members
    assert "Bonn" in everything and "Teacher" in everything  # 25 and 27 members
    b = next(p for p in personas if any(c["value"] == "Bonn" for c in p["location"]["cities"]))
    assert b["location"]["cities"] == [{"value": "Bonn", "share": 0.8333}]
    assert b["job"]["titles"] == [{"value": "Teacher", "share": 0.9}]
    assert b["job"]["families"] == [{"value": "Teaching professionals", "share": 0.9}]


def test_no_persona_for_a_segment_smaller_than_k(make_workspace) -> None:
    ws = make_workspace(
        {"crm": ("customers", "crm.csv", _table())},
        crm=ATTRIBUTES,
    )
    personas_config = ws.config.personas.model_copy(update={"k_anonymity": 31})
    ws.config = ws.config.model_copy(
        update={"segments": SegmentsConfig(k=2, min_orders=0), "personas": personas_config}
    )
    results = ws.run()
    assert results["personas"].personas == []  # both segments hold 30 customers
    # The result and the report say why: each segment is too small for a persona.
    withheld = results["personas"].withheld
    assert sorted(w["customers"] for w in withheld) == [30, 30]
    assert all(w["k"] == 31 for w in withheld)
    report = (ws.output_dir / "report.html").read_text(encoding="utf-8")
    assert report.count("too small for a persona") == 2
