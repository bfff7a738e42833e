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

import datetime as dt
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pyarrow as pa

from personify.errors import StageError
from personify.identity._normalise import PHONE, install_macros, normaliser
from personify.identity._phones import phone_mapping
from personify.identity._probabilistic import DESCRIPTION_COLUMNS, link_descriptions
from personify.ingest._readers import quote_ident, quote_literal
from personify.ingest.kinds import KINDS, identifier_keys
from personify.progress import ProgressFn, no_progress

if TYPE_CHECKING:
    from personify.identity.explain import Explanation
    from personify.workspace import Workspace

log = logging.getLogger(__name__)

MAX_ITERATIONS = 100
# Distinct phone values normalised in Python per round trip: bounds the memory it takes.
PHONE_CHUNK = 100_000
# The rule text records which key spaces linked a record as bits of a BIGINT.
MAX_KEY_SPACES = 62


@dataclass(frozen=True)
class _ModelStats:
    links: int
    rejected: int
    vetoed: int


HISTORY_EMPTY = (
    "SELECT CAST(NULL AS TIMESTAMP) AS created_at, CAST(NULL AS VARCHAR) AS event, "
    "CAST(NULL AS VARCHAR) AS person_id, CAST(NULL AS VARCHAR) AS previous_person_id, "
    "CAST(NULL AS BIGINT) AS records WHERE false"
)

# Who describes a person, and in which columns (field -> canonical column).
DESCRIBERS: dict[str, dict[str, str]] = {
    "customers": {f: f for f in DESCRIPTION_COLUMNS},
    "loyalty_members": {f: f for f in ("first_name", "last_name", "phone", "postcode", "email")},
    "orders": {"postcode": "shipping_postcode", "email": "email"},
}
DESCRIPTION_SCHEMA = pa.schema(
    [("label", pa.int64()), *((f, pa.string()) for f in DESCRIPTION_COLUMNS)]
)


@dataclass(frozen=True)
class IdentityResult:
    records: int
    identifiers: int
    persons: int
    hubs: int
    iterations: int
    model_links: int = 0  # pairs of exact-key persons the model joined
    model_rejected: int = 0  # model links dropped by the size guard
    model_vetoed: int = 0  # candidate links the first-name veto dropped


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
                """SELECT i.source, i.record_id, n.node_id, n.id_type, n.id_value
                FROM identity_identifiers i JOIN _nodes n USING (id_type, id_value)""",
                temp=True,
            )
            progress("hubs", 0.15)
            self._describe()
            # A hub: an identifier seen with more distinct identifiers of one type (emails,
            # phones, cards...) than one household plausibly has (per key space: a device
            # seen with two accounts is shared), or whose records describe several people
            # (first names with other initials, over two edits apart, and no birth date
            # in common: a household's or a placeholder e-mail).
            limits = self.workspace.config.identity.key_limits
            whens = " ".join(
                f"WHEN a.id_type = {quote_literal(k)} AND b.id_type = {quote_literal(o)} "
                f"THEN {int(v)}"
                for k, others in limits.items()
                for o, v in others.items()
            )
            limit = f"CASE {whens} ELSE {max_degree} END" if whens else str(max_degree)
            conflicts = self.workspace.config.identity.conflict_limit
            engine.create_table(
                "_hubs",
                f"""SELECT node_id, min(reason) AS reason FROM (
                  SELECT DISTINCT a.node_id, 'too many identifiers' AS reason
                  FROM _rec a JOIN _rec b
                    ON a.source = b.source AND a.record_id = b.record_id
                   AND a.node_id <> b.node_id
                   -- One value read in two key spaces (an alias's previous_id) is one
                   -- identifier, not a second account seen with the device.
                   AND a.id_value <> b.id_value
                  GROUP BY a.node_id, a.id_type, b.id_type
                  HAVING count(DISTINCT b.node_id) > {limit}
                  UNION ALL
                  SELECT r.node_id, 'conflicting descriptions' AS reason
                  FROM _rec r
                  JOIN _descraw a ON a.source = r.source AND a.record_id = r.record_id
                  JOIN _rec r2 ON r2.node_id = r.node_id
                  JOIN _descraw b ON b.source = r2.source AND b.record_id = r2.record_id
                  WHERE substr(a.first_name, 1, 1) <> substr(b.first_name, 1, 1)
                    AND levenshtein(a.first_name, b.first_name) > 2
                    AND (a.birth_date IS NULL OR b.birth_date IS NULL
                         OR a.birth_date <> b.birth_date)
                  GROUP BY r.node_id
                  HAVING count(DISTINCT a.first_name) > {conflicts}) AS h
                GROUP BY node_id""",
                temp=True,
            )
            # The identifiers each record links through: no hub, except that a key with
            # conflicting descriptions still joins the records that describe nobody
            # (a household's e-mail joins its mailings, not the people).
            engine.create_table(
                "_rec_use",
                """SELECT r.source, r.record_id, r.node_id, r.id_type
                FROM _rec r LEFT JOIN _hubs h USING (node_id)
                LEFT JOIN (SELECT DISTINCT source, record_id FROM _descraw
                           WHERE first_name IS NOT NULL OR birth_date IS NOT NULL) d
                  ON d.source = r.source AND d.record_id = r.record_id
                WHERE h.node_id IS NULL
                   OR (h.reason = 'conflicting descriptions' AND d.source IS NULL)""",
                temp=True,
            )
            engine.create_table(
                "_edges",
                """WITH r AS (
                  SELECT source, record_id, node_id,
                         min(node_id) OVER (PARTITION BY source, record_id) AS m
                  FROM _rec_use)
                SELECT DISTINCT node_id AS a, m AS b FROM r WHERE node_id <> m
                UNION SELECT DISTINCT m AS a, node_id AS b FROM r WHERE node_id <> m""",
                temp=True,
            )
            iterations = self._connected_components(progress)
            engine.create_table(
                "_rec_label",
                f"""SELECT r.source, r.record_id,
                       min(l.label) FILTER (WHERE u.node_id IS NOT NULL) AS label,
                       bit_or(CASE r.id_type {key_bit} END)
                         FILTER (WHERE u.node_id IS NOT NULL) AS key_bits
                FROM _rec r JOIN _label l USING (node_id)
                LEFT JOIN _rec_use u
                  ON u.source = r.source AND u.record_id = r.record_id AND u.node_id = r.node_id
                GROUP BY r.source, r.record_id""",
                temp=True,
            )
            model = self._model_links(progress)
            progress("links", 0.85)
            engine.create_table(
                "_final",
                """SELECT r.source, r.record_id, r.label,
                       'P' || lpad(CAST(coalesce(m.person_label, r.label) AS VARCHAR), 9, '0')
                         AS new_key
                FROM _rec_label r LEFT JOIN _merge m ON m.label = r.label
                WHERE r.label IS NOT NULL""",
                temp=True,
            )
            self._stable_ids()
            engine.create_table(
                "identity_graph",
                """SELECT n.id_type, n.id_value, p.person_id,
                       h.node_id IS NOT NULL AS is_hub, h.reason AS hub_reason
                FROM _nodes n JOIN _label l USING (node_id)
                LEFT JOIN _merge m ON m.label = l.label
                LEFT JOIN _pid p
                  ON p.new_key = 'P' || lpad(CAST(coalesce(m.person_label, l.label) AS VARCHAR),
                                             9, '0')
                LEFT JOIN _hubs h ON h.node_id = n.node_id""",
            )
            engine.create_table(
                "identity_links",
                f"""SELECT r.source, r.record_id,
                       coalesce(p.person_id,
                                'R' || substr(md5(r.source || ':' || r.record_id), 1, 12))
                         AS person_id,
                       coalesce(m.match_weight, CAST(1 AS DOUBLE)) AS match_weight,
                       'E' || lpad(CAST(r.label AS VARCHAR), 9, '0') AS exact_person_id,
                       'exact:' || concat_ws(',', {key_names})
                         || CASE WHEN m.label IS NOT NULL THEN ';model' ELSE '' END AS rule
                FROM _rec_label r LEFT JOIN _merge m ON m.label = r.label
                LEFT JOIN _final f ON f.source = r.source AND f.record_id = r.record_id
                LEFT JOIN _pid p ON p.new_key = f.new_key""",
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
                "_descraw",
                "_rec_label",
                "_rec_use",
                "_final",
                "_pid",
                "_prev",
                "_overlap",
                "_model_edges",
                "_merge",
            ):
                engine.drop_table(t)
        stats = engine.sql(
            """SELECT (SELECT count(*) FROM identity_links),
                      (SELECT count(*) FROM identity_graph),
                      (SELECT count(*) FROM golden_record),
                      (SELECT count(*) FROM identity_graph WHERE is_hub)"""
        ).fetchone()
        progress("identity", 1.0)
        return IdentityResult(
            stats[0],
            stats[1],
            stats[2],
            stats[3],
            iterations,
            model.links,
            model.rejected,
            model.vetoed,
        )

    def explain(self, identifier: str, *, limit: int = 50) -> Explanation:
        """Why records were linked into one person: ``identifier`` is a person id, a
        record id, or ``source:record_id``. See :mod:`personify.identity.explain`."""
        from personify.identity.explain import explain

        return explain(self.workspace, identifier, limit=limit)

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

    def _stable_ids(self) -> None:
        """``_pid`` (component key -> person id): a person keeps the id of the previous
        run's person that most of its records had (each old id to the component holding
        most of its records); other components get new ids above every id used before.
        Records that changed person are appended to ``identity_history``."""
        engine = self.workspace.engine
        previous = engine.has_table("identity_links") and "exact_person_id" in engine.columns(
            "identity_links"
        )
        if not previous:
            engine.create_table(
                "_pid", "SELECT DISTINCT new_key, new_key AS person_id FROM _final", temp=True
            )
            if not engine.has_table("identity_history"):
                engine.create_table("identity_history", HISTORY_EMPTY)
            return
        engine.create_table(
            "_prev",
            """SELECT source, record_id, person_id AS prev_id FROM identity_links
            WHERE substr(person_id, 1, 1) = 'P'""",
            temp=True,
        )
        engine.create_table(
            "_overlap",
            """SELECT f.new_key, p.prev_id, count(*) AS n
            FROM _final f JOIN _prev p ON p.source = f.source AND p.record_id = f.record_id
            GROUP BY f.new_key, p.prev_id""",
            temp=True,
        )
        top = engine.scalar(
            "SELECT coalesce(max(CAST(substr(prev_id, 2) AS BIGINT)), 0) FROM _prev"
        )
        engine.create_table(
            "_pid",
            f"""WITH claim AS (
              SELECT new_key, prev_id, n FROM (
                SELECT new_key, prev_id, n, row_number() OVER (
                  PARTITION BY prev_id ORDER BY n DESC, new_key) AS rk FROM _overlap) AS c
              WHERE rk = 1),
            kept AS (
              SELECT new_key, prev_id FROM (
                SELECT new_key, prev_id, row_number() OVER (
                  PARTITION BY new_key ORDER BY n DESC, prev_id) AS rk FROM claim) AS k
              WHERE rk = 1),
            fresh AS (
              SELECT new_key, row_number() OVER (ORDER BY new_key) AS k
              FROM (SELECT DISTINCT new_key FROM _final) AS f
              WHERE new_key NOT IN (SELECT new_key FROM kept))
            SELECT new_key, prev_id AS person_id FROM kept
            UNION ALL
            SELECT new_key, 'P' || lpad(CAST({int(top)} + k AS VARCHAR), 9, '0') FROM fresh""",
            temp=True,
        )
        now = dt.datetime.now(dt.UTC).replace(tzinfo=None, microsecond=0).isoformat(sep=" ")
        if engine.has_table("identity_history"):
            engine.create_table("_hist_old", "SELECT * FROM identity_history", temp=True)
        else:
            engine.create_table("_hist_old", f"{HISTORY_EMPTY}", temp=True)
        # merged: all of an old person's records are in another person now; split: part.
        engine.create_table(
            "identity_history",
            f"""SELECT * FROM _hist_old
            UNION ALL
            SELECT CAST('{now}' AS TIMESTAMP) AS created_at,
                   CASE WHEN o.prev_id IN (SELECT person_id FROM _pid) THEN 'split'
                        ELSE 'merged' END AS event,
                   p.person_id, o.prev_id AS previous_person_id, o.n AS records
            FROM _overlap o JOIN _pid p ON p.new_key = o.new_key
            WHERE o.prev_id <> p.person_id""",
        )
        engine.drop_table("_hist_old")

    def _describe(self) -> None:
        """``_descraw``: who each person-level record describes (names, birth date, phone,
        postcode, e-mail as written; names lower-cased), for the conflict test and the
        probabilistic linkage."""
        engine = self.workspace.engine
        parts = []
        for name, spec in self.workspace.loaded_sources().items():
            fields = DESCRIBERS.get(spec.kind)
            rid = KINDS[spec.kind].record_id
            if fields is None or rid is None:
                continue
            have = set(engine.columns("raw_" + name))
            distinct = "DISTINCT " if KINDS[spec.kind].rows_per_record > 1 else ""

            def col(field: str, have: set[str] = have, fields: dict[str, str] = fields) -> str:
                column = fields.get(field)
                if column is None or column not in have:
                    return "CAST(NULL AS VARCHAR)"
                value = f"CAST({quote_ident(column)} AS VARCHAR)"
                return f"lower(trim({value}))" if field in ("first_name", "last_name") else value

            parts.append(
                f"SELECT {distinct}{quote_literal(name)} AS source, "
                f"CAST({quote_ident(rid)} AS VARCHAR) AS record_id, "
                + ", ".join(f"{col(f)} AS {f}" for f in DESCRIPTION_COLUMNS)
                + f" FROM {quote_ident('raw_' + name)}"
            )
        empty = (
            "SELECT CAST(NULL AS VARCHAR) AS source, CAST(NULL AS VARCHAR) AS record_id, "
            + ", ".join(f"CAST(NULL AS VARCHAR) AS {f}" for f in DESCRIPTION_COLUMNS)
            + " WHERE false"
        )
        engine.create_table(
            "_descraw",
            f"SELECT * FROM ({' UNION ALL '.join(parts) if parts else empty}) AS d "
            "WHERE record_id IS NOT NULL",
            temp=True,
        )

    def _model_links(self, progress: ProgressFn) -> _ModelStats:
        """``_merge`` (exact-key label -> person label, match weight) from Splink's links
        between exact-key persons, joined strongest first unless the joined component
        would hold more than ``max_cluster_size`` identifiers (the size guard), and
        ``identity_model_links`` (every model link with its evidence and fate)."""
        engine = self.workspace.engine
        identity = self.workspace.config.identity
        cfg = identity.probabilistic
        engine.create_table(
            "_merge",
            "SELECT CAST(NULL AS BIGINT) AS label, CAST(NULL AS BIGINT) AS person_label, "
            "CAST(NULL AS DOUBLE) AS match_weight WHERE false",
            temp=True,
        )
        engine.create_table(
            "identity_model_links",
            "SELECT CAST(NULL AS VARCHAR) AS person_l, CAST(NULL AS VARCHAR) AS person_r, "
            "CAST(NULL AS DOUBLE) AS match_weight, CAST(NULL AS DOUBLE) AS match_probability, "
            "CAST(NULL AS VARCHAR) AS evidence, CAST(NULL AS VARCHAR) AS status WHERE false",
        )
        engine.create_table(
            "_model_edges",
            "SELECT CAST(NULL AS BIGINT) AS label WHERE false",
            temp=True,
        )
        if not cfg.enabled:
            return _ModelStats(0, 0, 0)
        progress("probabilistic linkage", 0.5)
        # An e-mail or phone that is a hub (a placeholder, a household's) is no evidence.
        hub_value = """LEFT JOIN (SELECT n.id_type, n.id_value FROM _nodes n
                         JOIN _hubs h USING (node_id)) {a}
                       ON {a}.id_type = '{t}' AND {a}.id_value = {v}"""
        frame = engine.fetch_df(
            f"""SELECT DISTINCT rl.label, d.first_name, d.last_name, d.birth_date,
                   CASE WHEN hp.id_value IS NULL THEN e.id_value END AS phone,
                   d.postcode, d.city,
                   CASE WHEN he.id_value IS NULL
                        THEN coalesce(n.id_value, lower(trim(d.email))) END AS email
            FROM _descraw d
            JOIN _rec_label rl ON rl.source = d.source AND rl.record_id = d.record_id
            LEFT JOIN _norm n ON n.id_type = 'email' AND n.raw_value = d.email
            LEFT JOIN _phone_raw p ON p.raw_value = d.phone
            LEFT JOIN _phone_e164 e ON e.compact = p.compact
            {hub_value.format(a="he", t="email", v="coalesce(n.id_value, lower(trim(d.email)))")}
            {hub_value.format(a="hp", t="phone", v="e.id_value")}
            WHERE rl.label IS NOT NULL"""
        )
        descriptions = pa.Table.from_pandas(frame, schema=DESCRIPTION_SCHEMA, preserve_index=False)
        found = link_descriptions(
            descriptions,
            cfg,
            threads=2,
            memory_limit=self.workspace.config.engine.memory_limit,
            spark=engine.spark,
        )
        edges = found.edges
        if edges.num_rows == 0:
            return _ModelStats(0, 0, found.vetoed)
        engine.drop_table("_model_edges")
        engine.create_table(
            "_model_edges", "SELECT CAST(NULL AS BIGINT) AS label WHERE false", temp=True
        )
        ends = sorted(
            set(edges.column("label_l").to_pylist()) | set(edges.column("label_r").to_pylist())
        )
        engine.append_arrow("_model_edges", pa.table({"label": pa.array(ends, pa.int64())}))
        size = dict(
            engine.sql(
                """SELECT l.label, count(*) FROM _label l
                JOIN _model_edges e ON e.label = l.label GROUP BY l.label"""
            ).fetchall()
        )
        # Strongest first, each join kept unless the component would outgrow the guard.
        parent: dict[int, int] = {}

        def find(x: int) -> int:
            while parent.get(x, x) != x:
                parent[x] = parent.get(parent[x], parent[x])
                x = parent[x]
            return x

        rows = edges.to_pylist()
        order = sorted(
            range(len(rows)),
            key=lambda i: (-rows[i]["match_weight"], rows[i]["label_l"], rows[i]["label_r"]),
        )
        status = [""] * len(rows)
        best: dict[int, float] = {}
        rejected = 0
        for i in order:
            a, b = rows[i]["label_l"], rows[i]["label_r"]
            ra, rb = find(a), find(b)
            if ra == rb:
                status[i] = "linked (already joined)"
                continue
            if size.get(ra, 1) + size.get(rb, 1) > identity.max_cluster_size:
                status[i] = "rejected: component would exceed max_cluster_size"
                rejected += 1
                continue
            root, other = min(ra, rb), max(ra, rb)
            parent[other] = root
            size[root] = size.get(ra, 1) + size.get(rb, 1)
            status[i] = "linked"
            for x in (a, b):
                best[x] = max(best.get(x, rows[i]["match_weight"]), rows[i]["match_weight"])
        merged = sorted(best)
        engine.append_arrow(
            "_merge",
            pa.table(
                {
                    "label": pa.array(merged, pa.int64()),
                    "person_label": pa.array([find(x) for x in merged], pa.int64()),
                    "match_weight": pa.array([best[x] for x in merged], pa.float64()),
                }
            ),
        )

        def pid(label: int) -> str:  # the exact-key person, as identity_links.exact_person_id
            return f"E{label:09d}"

        engine.append_arrow(
            "identity_model_links",
            pa.table(
                {
                    "person_l": [pid(r["label_l"]) for r in rows],
                    "person_r": [pid(r["label_r"]) for r in rows],
                    "match_weight": pa.array([r["match_weight"] for r in rows], pa.float64()),
                    "match_probability": pa.array(
                        [r["match_probability"] for r in rows], pa.float64()
                    ),
                    "evidence": [r["evidence"] for r in rows],
                    "status": status,
                }
            ),
        )
        if rejected:
            log.warning(
                "identity: %d model links dropped: they would join more than %d identifiers "
                "(see identity_model_links)",
                rejected,
                identity.max_cluster_size,
            )
        linked = sum(1 for s in status if s == "linked")
        return _ModelStats(linked, rejected, found.vetoed)

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
