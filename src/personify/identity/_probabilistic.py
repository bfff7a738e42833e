"""Probabilistic linkage (Fellegi-Sunter, by Splink) of persons the exact keys left apart.

Input: one row per distinct *description* (first and last name, birth date, phone,
postcode, e-mail) per exact-key person, not one per record: a person with forty
orders from one address is one description, so the pair count and the EM fit do not
depend on how often someone shops. The descriptions are prepared in a private
in-memory DuckDB connection on an Arrow table the engine hands over; Splink runs on
its DuckDB backend there, or on a Spark workspace on its Spark backend in the
engine's session (engine/_splink.py), whose links above the threshold come back to
the connection for the veto. The parity test shows both give the same links.

Output: one row per pair of exact-key persons the model links (the strongest pair of
their descriptions), with its match weight, probability and the comparison levels
(the evidence), after the first-name veto: two different first names never merge on
model evidence alone (twins at one address share everything else).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from personify.config import MATCH_FIELDS, ProbabilisticConfig

log = logging.getLogger(__name__)

# The description columns the engine provides (all text; birth_date as YYYY-MM-DD).
DESCRIPTION_COLUMNS = (
    "first_name",
    "last_name",
    "birth_date",
    "phone",
    "postcode",
    "city",
    "email",
)
# The columns compared, after preparation.
ALL_FIELDS = (*(f for f in MATCH_FIELDS if f != "email_name"), "email_letters")

EDGE_SCHEMA = pa.schema(
    [
        ("label_l", pa.int64()),
        ("label_r", pa.int64()),
        ("match_weight", pa.float64()),
        ("match_probability", pa.float64()),
        ("evidence", pa.string()),
    ]
)

# Descriptions normalised for comparison: names to lower-case letters, postcodes to
# upper case without spaces (outward code = all but the last three characters),
# e-mail split into local part and domain (compared apart: synthetic and real local
# parts alike are often built from the name, so the local part is evidence of its own).
_PREPARE = """
CREATE TABLE descriptions AS
WITH d AS (
  SELECT label,
    nullif(regexp_replace(lower(strip_accents(first_name)), '[^a-z]', '', 'g'), '') AS first_name,
    nullif(regexp_replace(lower(strip_accents(last_name)), '[^a-z]', '', 'g'), '') AS last_name,
    nullif(trim(birth_date), '') AS birth_date,
    nullif(regexp_replace(phone, '[^0-9+]', '', 'g'), '') AS phone,
    nullif(regexp_replace(upper(postcode), '[^A-Z0-9]', '', 'g'), '') AS postcode,
    nullif(regexp_replace(lower(strip_accents(city)), '[^a-z]', '', 'g'), '') AS city,
    nullif(split_part(lower(trim(email)), '@', 1), '') AS email_local,
    nullif(split_part(lower(trim(email)), '@', 2), '') AS email_domain
  FROM input)
SELECT *, nullif(regexp_replace(email_local, '[^a-z]', '', 'g'), '') AS email_letters
FROM (SELECT row_number() OVER (ORDER BY label, first_name, last_name, birth_date, phone,
                                   postcode, city, email_local, email_domain) AS unique_id, *
FROM (SELECT DISTINCT * FROM d)
WHERE (first_name IS NOT NULL)::INT + (last_name IS NOT NULL)::INT + (birth_date IS NOT NULL)::INT
  + (phone IS NOT NULL)::INT + (postcode IS NOT NULL)::INT + (email_local IS NOT NULL)::INT >= 2)
"""


def _null(col: str) -> dict[str, Any]:
    return {
        "sql_condition": f'"{col}_l" IS NULL OR "{col}_r" IS NULL',
        "label_for_charts": "null",
        "is_null_level": True,
    }


def _level(sql: str, label: str, **extra: Any) -> dict[str, Any]:
    return {"sql_condition": sql, "label_for_charts": label, **extra}


def _else() -> dict[str, Any]:
    return {"sql_condition": "ELSE", "label_for_charts": "else"}


def _name(col: str, *, initials: bool) -> dict[str, Any]:
    levels = [
        _null(col),
        _level(
            f'"{col}_l" = "{col}_r"',
            "exact",
            tf_adjustment_column=col,
            tf_adjustment_weight=1.0,
        ),
        _level(f'jaro_winkler_similarity("{col}_l", "{col}_r") >= 0.92', "jaro-winkler >= 0.92"),
    ]
    if initials:
        levels.append(
            _level(
                f'(length("{col}_l") = 1 OR length("{col}_r") = 1) '
                f'AND substr("{col}_l", 1, 1) = substr("{col}_r", 1, 1)',
                "initial",
            )
        )
    other = "last_name" if col == "first_name" else "first_name"
    levels += [
        _level(
            f'jaro_winkler_similarity("{col}_l", "{other}_r") >= 0.92 '
            f'OR jaro_winkler_similarity("{other}_l", "{col}_r") >= 0.92',
            "swapped with the other name",
        ),
        _level(f'jaro_winkler_similarity("{col}_l", "{col}_r") >= 0.8', "jaro-winkler >= 0.8"),
        _else(),
    ]
    return {"output_column_name": col, "comparison_levels": levels}


def _comparison(field: str) -> dict[str, Any]:
    if field in ("first_name", "last_name"):
        return _name(field, initials=field == "first_name")
    c = field
    if field == "birth_date":
        levels = [
            _null(c),
            _level(f'"{c}_l" = "{c}_r"', "exact"),
            _level(
                f'substr("{c}_l", 1, 4) = substr("{c}_r", 1, 4) '
                f'AND substr("{c}_l", 6, 2) = substr("{c}_r", 9, 2) '
                f'AND substr("{c}_l", 9, 2) = substr("{c}_r", 6, 2)',
                "day and month swapped",
            ),
            _level(f'damerau_levenshtein("{c}_l", "{c}_r") <= 1', "one edit"),
            _else(),
        ]
    elif field == "city":
        levels = [
            _null(c),
            _level(f'"{c}_l" = "{c}_r"', "exact", tf_adjustment_column=c, tf_adjustment_weight=1.0),
            _level(f'jaro_winkler_similarity("{c}_l", "{c}_r") >= 0.9', "jaro-winkler >= 0.9"),
            _else(),
        ]
    elif field in ("phone", "email_local"):
        levels = [
            _null(c),
            _level(f'"{c}_l" = "{c}_r"', "exact"),
            _level(f'damerau_levenshtein("{c}_l", "{c}_r") <= 1', "one edit"),
            _level(f'jaro_winkler_similarity("{c}_l", "{c}_r") >= 0.9', "jaro-winkler >= 0.9"),
            _else(),
        ]
    elif field == "postcode":
        levels = [
            _null(c),
            _level(f'"{c}_l" = "{c}_r"', "exact"),
            _level(
                f'length("{c}_l") > 3 AND length("{c}_r") > 3 AND '
                f'left("{c}_l", length("{c}_l") - 3) = left("{c}_r", length("{c}_r") - 3)',
                "same outward code",
            ),
            _else(),
        ]
    elif field == "email_name":
        # The name in the e-mail, where only one side has a name (a guest order's
        # e-mail against a CRM record): elsewhere the names and e-mails speak already.
        def has(a: str, b: str) -> str:
            return (
                f'"first_name_{a}" IS NULL AND "last_name_{a}" IS NULL '
                f'AND "email_letters_{a}" IS NOT NULL AND length("last_name_{b}") >= 3'
            )

        def holds(a: str, b: str, *names: str) -> str:
            return " AND ".join(f'contains("email_letters_{a}", "{n}_{b}")' for n in names)

        levels = [
            {
                "sql_condition": f"NOT (({has('l', 'r')}) OR ({has('r', 'l')}))",
                "label_for_charts": "null",
                "is_null_level": True,
            },
            _level(
                f"({holds('l', 'r', 'first_name', 'last_name')}) "
                f"OR ({holds('r', 'l', 'first_name', 'last_name')})",
                "holds the whole name",
            ),
            _level(
                f"({holds('l', 'r', 'last_name')}) OR ({holds('r', 'l', 'last_name')})",
                "holds the last name",
            ),
            _else(),
        ]
        return {"output_column_name": "email_name", "comparison_levels": levels}
    else:  # email_domain
        levels = [
            _null(c),
            _level(f'"{c}_l" = "{c}_r"', "exact"),
            _level(f'damerau_levenshtein("{c}_l", "{c}_r") <= 1', "one edit"),
            _else(),
        ]
    return {"output_column_name": c, "comparison_levels": levels}


def _rule_sql(rule: list[str]) -> str:
    parts = []
    for item in rule:
        name, _, n = item.partition(":")
        if n:
            parts.append(f"substr(l.{name}, 1, {n}) = substr(r.{name}, 1, {n})")
        else:
            parts.append(f"l.{name} = r.{name}")
    return " AND ".join(parts)


@dataclass(frozen=True)
class ModelLinks:
    edges: pa.Table  # EDGE_SCHEMA
    descriptions: int
    candidate_pairs: int
    vetoed: int


def link_descriptions(
    descriptions: pa.Table,
    config: ProbabilisticConfig,
    *,
    threads: int = 2,
    memory_limit: str = "2GB",
    exclude_same_label: bool = True,
    spark: Any = None,
) -> ModelLinks:
    """Pairs of labels (exact-key persons) the model links, strongest description pair each.

    ``descriptions`` has ``label`` (BIGINT) and DESCRIPTION_COLUMNS. With
    ``exclude_same_label`` pairs inside one label are not compared (the exact keys
    already joined them); a plain dedupe passes a distinct label per row. With
    ``spark`` (a SparkSession: the Spark engine's) Splink runs on its Spark backend
    there (engine/_splink.py); the descriptions are prepared, and the predicted links
    vetoed, in the private DuckDB connection on both backends.
    """
    import splink.comparison_library  # noqa: F401  (Splink's DuckDB functions load with it)
    from splink import DuckDBAPI, Linker, SettingsCreator

    con = duckdb.connect(":memory:")
    on_spark = None
    try:
        con.execute(f"SET threads = {int(threads)}").fetchall()
        con.execute(f"SET memory_limit = '{memory_limit}'").fetchall()
        con.register("input", descriptions)
        con.execute(_PREPARE).fetchall()
        con.unregister("input")
        n = con.execute("SELECT count(*) FROM descriptions").fetchall()[0][0]
        empty = ModelLinks(EDGE_SCHEMA.empty_table(), n, 0, 0)
        if n < config.min_descriptions:
            log.info("identity: %d descriptions, too few to fit a linkage model", n)
            return empty
        fields = [f for f in config.comparisons]
        same = " AND l.label <> r.label" if exclude_same_label else ""
        # And first and last names swapped, whatever the blocking rules.
        swapped = "l.first_name = r.last_name AND l.last_name = r.first_name"
        rules: list[Any] = [
            {"blocking_rule": sql + same}
            for sql in (*(_rule_sql(r) for r in config.blocking), swapped)
        ]
        comparisons: list[Any] = [_comparison(f) for f in fields]
        if spark is not None:
            from personify.engine._splink import SplinkOnSpark, spark_comparisons

            on_spark = SplinkOnSpark(spark.newSession())
            comparisons = spark_comparisons(comparisons)
        settings = SettingsCreator(
            link_type="dedupe_only",
            unique_id_column_name="unique_id",
            comparisons=comparisons,
            blocking_rules_to_generate_predictions=rules,
            additional_columns_to_retain=["label", *(f for f in ALL_FIELDS if f not in fields)],
            retain_intermediate_calculation_columns=True,
            retain_matching_columns=True,
        )
        if on_spark is not None:
            table = con.execute("SELECT * FROM descriptions ORDER BY unique_id").to_arrow_table()
            df = on_spark.register(table, "descriptions", "descriptions_in")
        else:
            df = DuckDBAPI(con).register("descriptions", dataset_display_name="descriptions_in")
        linker = Linker(df, settings, log_level=logging.ERROR)
        # The prior: pairs that agree on a whole name and the birth date or the e-mail,
        # assumed to find 60% of the true pairs.
        deterministic: list[Any] = [
            "l.first_name = r.first_name AND l.last_name = r.last_name "
            "AND l.birth_date = r.birth_date",
            "l.email_local = r.email_local AND l.email_domain = r.email_domain",
            "l.phone = r.phone",
        ]
        linker.training.estimate_probability_two_random_records_match(deterministic, recall=0.6)
        settings_obj = linker._settings_obj
        prior = settings_obj._probability_two_random_records_match
        if not 0 < prior < 1:  # no pair agreed on those rules: one match per description
            settings_obj._probability_two_random_records_match = min(0.5, 1.0 / n)
        linker.training.estimate_u_using_random_sampling(
            max_pairs=float(config.u_pairs), seed=config.seed, num_chunks=1
        )
        # m by EM on two blockings, so every comparison is estimated in one of them.
        for rule in (
            "l.first_name = r.first_name AND l.last_name = r.last_name",
            "l.birth_date = r.birth_date",
        ):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    rule,
                    max_pairs=float(config.em_pairs),
                    fix_probability_two_random_records_match=True,
                )
            except Exception as exc:  # too few pairs under this blocking to fit
                log.info("EM under %s skipped: %s", rule, exc)
        predictions = linker.inference.predict(threshold_match_probability=config.threshold)
        name = predictions.physical_name
        if on_spark is not None:  # the links above the threshold, back for the veto
            con.register(name, predictions.as_spark_dataframe().toArrow())
        total = con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
        present = {r[0] for r in con.execute(f"DESCRIBE {name}").fetchall()}
        # Splink leaves out a comparison it has no parameters for (tiny inputs).
        scored = [f for f in fields if f"gamma_{f}" in present]
        gamma = [f"gamma_{f}" for f in scored]
        # The veto: both first names known and not alike (Jaro-Winkler >= 0.92 or one
        # edit apart), not one the other's initial nor swapped with the last name, unless
        # a personal number (the phone) or the whole e-mail agrees.
        veto = (
            """first_name_l IS NOT NULL AND first_name_r IS NOT NULL
               AND first_name_l <> first_name_r
               AND jaro_winkler_similarity(first_name_l, first_name_r) < 0.92
               AND damerau_levenshtein(first_name_l, first_name_r) > 1
               AND NOT ((length(first_name_l) = 1 OR length(first_name_r) = 1)
                        AND substr(first_name_l, 1, 1) = substr(first_name_r, 1, 1))
               AND NOT coalesce(
                 jaro_winkler_similarity(first_name_l, last_name_r) >= 0.92
                 OR jaro_winkler_similarity(last_name_l, first_name_r) >= 0.92, false)
               AND NOT coalesce(phone_l = phone_r, false)
               AND NOT coalesce(email_local_l = email_local_r
                                AND email_domain_l = email_domain_r, false)"""
            if config.first_name_veto and "first_name_l" in present
            else "false"
        )
        if config.corroborate:
            # Names and e-mails built from names say the same thing twice: a link needs
            # some agreement on who or where: the birth date (or it with day and month
            # swapped), the phone (within one edit) or the whole postcode.
            veto = f"""({veto}) OR NOT (
                coalesce(birth_date_l = birth_date_r
                         OR (substr(birth_date_l, 1, 4) = substr(birth_date_r, 1, 4)
                             AND substr(birth_date_l, 6, 2) = substr(birth_date_r, 9, 2)
                             AND substr(birth_date_l, 9, 2) = substr(birth_date_r, 6, 2)),
                         false)
                OR coalesce(damerau_levenshtein(phone_l, phone_r) <= 1, false)
                OR coalesce(postcode_l = postcode_r, false))"""
        vetoed = con.execute(f"SELECT count(*) FROM {name} WHERE {veto}").fetchall()[0][0]
        rows = con.execute(
            f"""SELECT least(label_l, label_r) AS a, greatest(label_l, label_r) AS b,
                   match_weight, match_probability{"".join(", " + g for g in gamma)}
            FROM {name} WHERE NOT ({veto}) AND label_l <> label_r
            QUALIFY row_number() OVER (PARTITION BY least(label_l, label_r),
                                       greatest(label_l, label_r)
                                       ORDER BY match_weight DESC, unique_id_l, unique_id_r) = 1
            ORDER BY a, b"""
        ).fetchall()
        # The evidence: the level each comparison fell in (by its label) for the pair.
        labels = {
            f: {
                len(c["comparison_levels"]) - 2 - i: lv["label_for_charts"]
                for i, lv in enumerate(c["comparison_levels"][1:])
            }
            for f, c in ((f, _comparison(f)) for f in scored)
        }
        edges = pa.table(
            {
                "label_l": [r[0] for r in rows],
                "label_r": [r[1] for r in rows],
                "match_weight": [round(float(r[2]), 6) for r in rows],
                "match_probability": [round(float(r[3]), 9) for r in rows],
                "evidence": [
                    json.dumps(
                        {f: labels[f].get(g, "null") for f, g in zip(scored, r[4:], strict=True)},
                        sort_keys=True,
                    )
                    for r in rows
                ],
            },
            schema=EDGE_SCHEMA,
        )
        return ModelLinks(edges, n, int(total), int(vetoed))
    finally:
        if on_spark is not None:
            on_spark.close()
        con.close()
