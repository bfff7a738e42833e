"""The identity stage: stitch source records into persons.

Records that share a normalised identifier (email, phone, loyalty card, web-shop
account, CRM id, anonymous web id) belong to one person; persons are the
connected components of that graph. An identifier shared by too many others
(a shop's till email, a call centre's number) is a hub and links nothing.

Writes:
- ``identity_identifiers``: source, record_id, id_type, id_value (normalised)
- ``identity_graph``: one row per identifier: its person and whether it is a hub
- ``identity_links``: source, record_id -> person_id, match_weight, rule
- ``golden_record``: one row per person (survivorship: latest non-empty value,
  CRM before loyalty sign-ups before checkouts)
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from personify.errors import StageError
from personify.identity._normalise import PHONE, install_macros, normaliser
from personify.identity._phones import phone_mapping
from personify.ingest._readers import quote_ident, quote_literal
from personify.ingest.kinds import KINDS, identifier_keys
from personify.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from personify.workspace import Workspace

log = logging.getLogger(__name__)

MAX_ITERATIONS = 100
# Distinct phone values normalised in Python per round trip: bounds the memory it takes.
PHONE_CHUNK = 100_000
# The rule text records which key spaces linked a record as bits of a BIGINT.
MAX_KEY_SPACES = 62


@dataclass(frozen=True)
class IdentityResult:
    records: int
    identifiers: int
    persons: int
    hubs: int
    iterations: int


# Who provides the golden record's fields: (priority, kind, field -> column, or None for
# every field under its own name, recency column); lower priority wins.
GOLDEN_PROVIDERS: list[tuple[int, str, dict[str, str] | None, str]] = [
    (1, "customers", None, "signup_date"),
    (
        2,
        "loyalty_members",
        {
            "first_name": "first_name",
            "last_name": "last_name",
            "email": "email",
            "phone": "phone",
            "postcode": "postcode",
            "loyalty_card": "card_number",
        },
        "joined_date",
    ),
    (3, "orders", {"email": "email", "postcode": "shipping_postcode"}, "order_ts"),
]


class IdentityResolver:
    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def run(self, *, progress: ProgressFn = no_progress) -> IdentityResult:
        engine = self.workspace.engine
        install_macros(engine)
        selects = self._identifier_selects()
        if not selects:
            raise StageError(
                "no loaded source carries identifiers: load customers, orders or other "
                "person-level sources first (personify ingest)"
            )
        key_spaces = sorted({key for key, _ in selects})
        if len(key_spaces) > MAX_KEY_SPACES:
            raise StageError(
                f"{len(key_spaces)} key spaces are declared; at most {MAX_KEY_SPACES} are "
                "supported (list the ones that link persons under identity.keys)"
            )
        max_degree = self.workspace.config.identity.max_cluster_size
        # The kinds of key that linked a record, as bits of a BIGINT (far cheaper than
        # collecting strings over millions of records), and back to their names.
        key_bit = " ".join(
            f"WHEN {quote_literal(k)} THEN {1 << i}" for i, k in enumerate(key_spaces)
        )
        key_names = ", ".join(
            f"CASE WHEN (key_bits & {1 << i}) <> 0 THEN {quote_literal(k)} END"
            for i, k in enumerate(key_spaces)
        )
        progress("identifiers", 0.05)
        with engine.transaction():
            engine.create_table(
                "_raw_ids",
                f"""SELECT source, record_id, id_type, raw_value
                FROM ({" UNION ALL ".join(select for _, select in selects)})
                WHERE raw_value IS NOT NULL AND record_id IS NOT NULL""",
                temp=True,
            )
            self._normalise(key_spaces, progress)
            engine.create_table(
                "identity_identifiers",
                """SELECT r.source, r.record_id, r.id_type, n.id_value
                FROM _raw_ids r JOIN _norm n USING (id_type, raw_value)
                WHERE n.id_value IS NOT NULL""",
            )
            engine.create_table(
                "_nodes",
                """SELECT id_type, id_value,
                       row_number() OVER (ORDER BY id_type, id_value) AS node_id
                FROM (SELECT DISTINCT id_type, id_value FROM identity_identifiers)""",
                temp=True,
            )
            engine.create_table(
                "_rec",
                """SELECT i.source, i.record_id, n.node_id, n.id_type
                FROM identity_identifiers i JOIN _nodes n USING (id_type, id_value)""",
                temp=True,
            )
            progress("hubs", 0.15)
            # A hub: an identifier seen with more distinct identifiers of one type (emails,
            # phones, cards...) than one household plausibly has.
            engine.create_table(
                "_hubs",
                f"""SELECT DISTINCT node_id FROM (
                  SELECT a.node_id FROM _rec a JOIN _rec b
                    ON a.source = b.source AND a.record_id = b.record_id
                   AND a.node_id <> b.node_id
                  GROUP BY a.node_id, b.id_type
                  HAVING count(DISTINCT b.node_id) > {max_degree})""",
                temp=True,
            )
            engine.create_table(
                "_edges",
                """WITH r AS (
                  SELECT source, record_id, node_id,
                         min(node_id) OVER (PARTITION BY source, record_id) AS m
                  FROM _rec WHERE node_id NOT IN (SELECT node_id FROM _hubs))
                SELECT DISTINCT node_id AS a, m AS b FROM r WHERE node_id <> m
                UNION SELECT DISTINCT m AS a, node_id AS b FROM r WHERE node_id <> m""",
                temp=True,
            )
            iterations = self._connected_components(progress)
            progress("links", 0.8)
            engine.create_table(
                "identity_graph",
                """SELECT n.id_type, n.id_value,
                       'P' || lpad(CAST(l.label AS VARCHAR), 9, '0') AS person_id,
                       n.node_id IN (SELECT node_id FROM _hubs) AS is_hub
                FROM _nodes n JOIN _label l USING (node_id)""",
            )
            engine.create_table(
                "identity_links",
                f"""WITH r AS (
                  SELECT r.source, r.record_id,
                         min(l.label) FILTER (WHERE h.node_id IS NULL) AS label,
                         bit_or(CASE r.id_type {key_bit} END)
                           FILTER (WHERE h.node_id IS NULL) AS key_bits
                  FROM _rec r JOIN _label l USING (node_id)
                  LEFT JOIN _hubs h USING (node_id)
                  GROUP BY r.source, r.record_id)
                SELECT source, record_id,
                       coalesce('P' || lpad(CAST(label AS VARCHAR), 9, '0'),
                                'R' || substr(md5(source || ':' || record_id), 1, 12))
                         AS person_id,
                       1.0 AS match_weight,
                       'exact:' || concat_ws(',', {key_names}) AS rule
                FROM r""",
            )
            progress("golden record", 0.9)
            self._golden_record()
            for t in (
                "_raw_ids",
                "_norm",
                "_phone_raw",
                "_phone_e164",
                "_golden_phone",
                "_nodes",
                "_rec",
                "_hubs",
                "_edges",
                "_label",
            ):
                engine.drop_table(t)
        stats = engine.sql(
            """SELECT (SELECT count(*) FROM identity_links),
                      (SELECT count(*) FROM identity_graph),
                      (SELECT count(*) FROM golden_record),
                      (SELECT count(*) FROM identity_graph WHERE is_hub)"""
        ).fetchone()
        progress("identity", 1.0)
        return IdentityResult(stats[0], stats[1], stats[2], stats[3], iterations)

    def _identifier_selects(self) -> list[tuple[str, str]]:
        """(key space, SELECT of its raw values) for every identifier column of every source."""
        wanted = self.workspace.config.identity.keys  # None: every key space
        selects = []
        for name, spec in self.workspace.loaded_sources().items():
            kind = KINDS[spec.kind]
            if kind.record_id is None:
                continue
            for column, key in identifier_keys(spec):
                if wanted is not None and key not in wanted:
                    continue
                # Only sources with several rows per record need de-duplicating: a
                # DISTINCT over every source is the stage's costliest step at scale.
                distinct = "DISTINCT " if kind.rows_per_record > 1 else ""
                selects.append(
                    (
                        key,
                        f"SELECT {distinct}{quote_literal(name)} AS source, "
                        f"CAST({quote_ident(kind.record_id)} AS VARCHAR) AS record_id, "
                        f"{quote_literal(key)} AS id_type, "
                        f"CAST({quote_ident(column)} AS VARCHAR) AS raw_value "
                        f"FROM {quote_ident('raw_' + name)}",
                    )
                )
        return selects

    def _normalise(self, key_spaces: list[str], progress: ProgressFn) -> None:
        """``_norm``: each distinct (key space, raw value) once with its normalised key.

        One email recurs in many records, and normalising is the costly part at scale.
        Phones go through libphonenumber in Python, in chunks of distinct values.
        """
        engine = self.workspace.engine
        cases = " ".join(
            f"WHEN {quote_literal(k)} THEN {normaliser(k)}(raw_value)"
            for k in key_spaces
            if k != PHONE
        )
        in_sql = f"CASE id_type {cases} END" if cases else "NULL::VARCHAR"
        phones = ""
        self._phone_map(progress)
        if PHONE in key_spaces:
            phones = """UNION ALL SELECT 'phone', r.raw_value, e.id_value
                FROM _phone_raw r JOIN _phone_e164 e USING (compact)"""
        engine.create_table(
            "_norm",
            f"""SELECT id_type, raw_value, {in_sql} AS id_value
            FROM (SELECT DISTINCT id_type, raw_value FROM _raw_ids WHERE id_type <> 'phone')
            {phones}""",
            temp=True,
        )

    def _phone_map(self, progress: ProgressFn) -> None:
        """``_phone_raw`` (raw -> compact form) and ``_phone_e164`` (compact -> E.164 or NULL).

        Of the phones that identify persons and of those the golden record shows (which
        are there even when ``identity.keys`` leaves phones out), each normalised once.
        """
        engine = self.workspace.engine
        region = self.workspace.config.locale.country
        shown = [
            f"SELECT CAST(r.{quote_ident(column)} AS VARCHAR) FROM {quote_ident('raw_' + name)} r"
            for name, column in self._golden_phone_columns()
        ]
        raw = " UNION ALL ".join(["SELECT raw_value FROM _raw_ids WHERE id_type = 'phone'", *shown])
        engine.create_table(
            "_phone_raw",
            f"""SELECT raw_value, phone_compact(raw_value) AS compact
            FROM (SELECT DISTINCT raw_value FROM ({raw}) AS p(raw_value)
                  WHERE raw_value IS NOT NULL)""",
            temp=True,
        )
        # Ordered by the last digits, the forms of one number ("07412345678",
        # "+447412345678", "7412345678") share a chunk, whose validity cache then
        # checks the number once.
        engine.create_table(
            "_phone_todo",
            """SELECT compact, row_number() OVER (ORDER BY right(compact, 8), compact) AS n
            FROM (SELECT DISTINCT compact FROM _phone_raw)""",
            temp=True,
        )
        engine.create_table(
            "_phone_e164",
            "SELECT CAST(NULL AS VARCHAR) AS compact, CAST(NULL AS VARCHAR) AS id_value "
            "WHERE false",
            temp=True,
        )
        total = engine.count("_phone_todo")
        for start in range(0, total, PHONE_CHUNK):
            rows = engine.sql(
                "SELECT compact FROM _phone_todo WHERE n > ? AND n <= ?",
                [start, start + PHONE_CHUNK],
            ).fetchall()
            values = [r[0] for r in rows]
            chunk = pa.table(
                {"compact": values, "id_value": phone_mapping(values, region)},
                schema=pa.schema([("compact", pa.string()), ("id_value", pa.string())]),
            )
            engine.append_arrow("_phone_e164", chunk)
            progress("phones", 0.05 + 0.1 * min(1.0, (start + PHONE_CHUNK) / total))
        engine.drop_table("_phone_todo")

    def _golden_phone_columns(self) -> list[tuple[str, str]]:
        """(source, column) of every loaded phone the golden record may show."""
        loaded = self.workspace.loaded_sources()
        out = []
        for _, kind, cmap, _ in GOLDEN_PROVIDERS:
            column = (cmap or {"phone": "phone"}).get("phone")
            if column is not None:
                out += [(name, column) for name, spec in loaded.items() if spec.kind == kind]
        return out

    def _connected_components(self, progress: ProgressFn) -> int:
        """Label propagation with pointer jumping: each node takes the smallest label
        among itself, its neighbours and its label's label, until nothing changes."""
        engine = self.workspace.engine
        engine.create_table("_label", "SELECT node_id, node_id AS label FROM _nodes", temp=True)
        for iteration in range(1, MAX_ITERATIONS + 1):
            engine.create_table(
                "_label_next",
                """WITH prop AS (
                  SELECT l.node_id, least(l.label, coalesce(min(n.label), l.label)) AS label
                  FROM _label l
                  LEFT JOIN _edges e ON e.a = l.node_id
                  LEFT JOIN _label n ON n.node_id = e.b
                  GROUP BY l.node_id, l.label)
                SELECT p.node_id, least(p.label, j.label) AS label
                FROM prop p JOIN prop j ON j.node_id = p.label""",
                temp=True,
            )
            changed = engine.sql(
                """SELECT count(*) FROM _label_next x JOIN _label l USING (node_id)
                WHERE x.label <> l.label"""
            ).fetchone()[0]
            engine.drop_table("_label")
            engine.rename_table("_label_next", "_label")
            progress("connected components", min(0.75, 0.2 + 0.05 * iteration))
            if changed == 0:
                return iteration
        raise StageError(f"identity graph did not converge in {MAX_ITERATIONS} iterations")

    def _golden_record(self) -> None:
        """One row per person. Per field: the latest non-empty value, CRM records first."""
        engine = self.workspace.engine
        loaded = self.workspace.loaded_sources()
        fields = {
            "customer_id": "VARCHAR",
            "first_name": "VARCHAR",
            "last_name": "VARCHAR",
            "email": "VARCHAR",
            "phone": "VARCHAR",
            "birth_date": "DATE",
            "gender": "VARCHAR",
            "postcode": "VARCHAR",
            "city": "VARCHAR",
            "income_band": "VARCHAR",
            "education": "VARCHAR",
            "marital_status": "VARCHAR",
            "job_title": "VARCHAR",
            "signup_date": "DATE",
            "marketing_consent": "BOOLEAN",
            "loyalty_card": "VARCHAR",
        }
        # The phone as E.164, or nothing: a number that cannot be placed in a country
        # (invalid, or national with no locale.country) is no number to show or call.
        engine.create_table(
            "_golden_phone",
            """SELECT r.raw_value, e.id_value AS phone
            FROM _phone_raw r JOIN _phone_e164 e USING (compact)
            WHERE starts_with(e.id_value, '+')""",
            temp=True,
        )
        parts = []
        for priority, kind, cmap, recency in GOLDEN_PROVIDERS:
            cmap = cmap or {f: f for f in fields}
            for name, spec in loaded.items():
                if spec.kind != kind:
                    continue
                rid = KINDS[kind].record_id
                cols = ", ".join(
                    "p.phone AS phone"
                    if f == "phone" and f in cmap
                    else f"CAST(r.{quote_ident(cmap[f])} AS {t}) AS {f}"
                    if f in cmap
                    else f"NULL::{t} AS {f}"
                    for f, t in fields.items()
                )
                phone = (
                    "LEFT JOIN _golden_phone p "
                    f"ON p.raw_value = CAST(r.{quote_ident(cmap['phone'])} AS VARCHAR)"
                    if "phone" in cmap
                    else ""
                )
                parts.append(
                    f"SELECT l.person_id, {priority} AS _priority, "
                    f"CAST(r.{quote_ident(recency)} AS TIMESTAMP) AS _recency, {cols} "
                    f"FROM {quote_ident('raw_' + name)} r JOIN identity_links l "
                    f"ON l.source = {quote_literal(name)} "
                    f"AND l.record_id = CAST(r.{quote_ident(rid or '')} AS VARCHAR) {phone}"
                )
        pick = ",\n".join(
            f"arg_min({f}, _priority * 1e11 - coalesce({engine.epoch_seconds('_recency')}, 0)) "
            f"FILTER (WHERE {f} IS NOT NULL) AS {f}"
            for f in fields
        )
        union = (
            " UNION ALL ".join(parts)
            if parts
            else (
                "SELECT NULL::VARCHAR AS person_id, 0 AS _priority, NULL::TIMESTAMP AS _recency, "
                + ", ".join(f"NULL::{t} AS {f}" for f, t in fields.items())
                + " WHERE false"
            )
        )
        engine.create_table(
            "golden_record",
            f"""WITH persons AS (
              SELECT person_id, count(*) AS n_records,
                     array_to_string(list_sort(list_distinct(list(source))), ',') AS sources
              FROM identity_links GROUP BY person_id),
            attrs AS (SELECT person_id, {pick} FROM ({union}) GROUP BY person_id)
            SELECT p.person_id, {", ".join("a." + f for f in fields)}, p.n_records, p.sources
            FROM persons p LEFT JOIN attrs a USING (person_id)
            ORDER BY p.person_id""",
        )
