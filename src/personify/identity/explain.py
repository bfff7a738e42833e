"""Why records were linked into one person (``personify identity explain``).

For a person (or the person of a record): its records with the rule that linked each
(which key spaces, and whether a model link joined its exact-key person), the
identifiers it holds (hubs flagged with why they link nothing), every model link
touching its exact-key persons with the comparison levels and match weight, rejected
ones included with the reason, and its sources. Values are returned as stored; the CLI
masks personal ones unless asked to reveal them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from personify.errors import StageError

if TYPE_CHECKING:
    from personify.workspace import Workspace


@dataclass(frozen=True)
class Explanation:
    person_id: str
    records: int
    sources: dict[str, int]  # source -> records
    links: list[dict[str, Any]]  # source, record_id, rule, match_weight, exact_person_id
    identifiers: list[dict[str, Any]]  # id_type, id_value, is_hub, hub_reason
    model_links: list[dict[str, Any]] = field(default_factory=list)
    # person_l, person_r, match_weight, match_probability, evidence (dict), status


def explain(ws: Workspace, identifier: str, *, limit: int = 50) -> Explanation:
    engine = ws.engine
    engine.require("identity_links", "identity_graph")
    person = _person(ws, identifier)
    n = engine.scalar("SELECT count(*) FROM identity_links WHERE person_id = ?", [person])
    sources = dict(
        engine.sql(
            "SELECT source, count(*) FROM identity_links WHERE person_id = ? "
            "GROUP BY source ORDER BY source",
            [person],
        ).fetchall()
    )
    links = engine.fetch_df(
        f"""SELECT source, record_id, rule, match_weight, exact_person_id FROM identity_links
        WHERE person_id = ? ORDER BY source, record_id LIMIT {int(limit)}""",
        [person],
    ).to_dict("records")
    identifiers = engine.fetch_df(
        """SELECT id_type, id_value, is_hub, hub_reason FROM identity_graph
        WHERE person_id = ? ORDER BY id_type, id_value""",
        [person],
    ).to_dict("records")
    # Hubs the person's records carry belong to no person of theirs: list them too.
    hubs = engine.fetch_df(
        """SELECT DISTINCT g.id_type, g.id_value, g.is_hub, g.hub_reason
        FROM identity_links l
        JOIN identity_identifiers i ON i.source = l.source AND i.record_id = l.record_id
        JOIN identity_graph g ON g.id_type = i.id_type AND g.id_value = i.id_value
        WHERE l.person_id = ? AND g.is_hub AND g.person_id <> l.person_id
        ORDER BY 1, 2""",
        [person],
    ).to_dict("records")
    model: list[dict[str, Any]] = []
    if engine.has_table("identity_model_links"):
        model = engine.fetch_df(
            """SELECT m.* FROM identity_model_links m
            WHERE m.person_l IN (SELECT exact_person_id FROM identity_links WHERE person_id = ?)
               OR m.person_r IN (SELECT exact_person_id FROM identity_links WHERE person_id = ?)
            ORDER BY m.match_weight DESC, m.person_l, m.person_r""",
            [person, person],
        ).to_dict("records")
        for m in model:
            m["evidence"] = json.loads(m["evidence"]) if m["evidence"] else {}
    return Explanation(person, int(n), sources, links, identifiers + hubs, model)


def _person(ws: Workspace, identifier: str) -> str:
    engine = ws.engine
    found = engine.scalar(
        "SELECT min(person_id) FROM identity_links WHERE person_id = ?", [identifier]
    )
    if found is not None:
        return str(found)
    source, sep, record = identifier.partition(":")
    if sep:
        found = engine.scalar(
            "SELECT min(person_id) FROM identity_links WHERE source = ? AND record_id = ?",
            [source, record],
        )
        if found is not None:
            return str(found)
    rows = engine.sql(
        "SELECT DISTINCT source, person_id FROM identity_links WHERE record_id = ?", [identifier]
    ).fetchall()
    if len(rows) == 1:
        return str(rows[0][1])
    if len(rows) > 1:
        raise StageError(
            f"record id {identifier!r} is in {len(rows)} sources "
            f"({', '.join(sorted(r[0] for r in rows))}): write SOURCE:RECORD_ID"
        )
    raise StageError(f"no person or record {identifier!r} in identity_links")
