"""Splink's Spark backend on the Spark engine's session (engine/_splink.py).

The similarity jar ships in the splink wheel and is on the session's spark.jars; its
functions must give the published Jaro-Winkler values (Winkler 1990, as quoted in the
literature: MARTHA/MARHTA 0.961, DWAYNE/DUANE 0.840, DIXON/DICKSONX 0.813) and edit
distances worked by hand. A comparison written in DuckDB's dialect must compare
columns on Spark, not string constants. And the linkage of a small planted set of
descriptions must give the same links on Splink's DuckDB and Spark backends.
"""

from __future__ import annotations

import random
from typing import Any

import pyarrow as pa
import pytest

from personify.config import ProbabilisticConfig
from personify.engine._spark import spark_session
from personify.engine._splink import SplinkOnSpark, spark_sql
from personify.identity._probabilistic import DESCRIPTION_COLUMNS, link_descriptions

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def session() -> Any:
    return spark_session("local[2]").newSession()


def test_the_jar_loads_and_gives_the_published_values(session: Any) -> None:
    splink = SplinkOnSpark(session)
    try:
        row = session.sql(
            """SELECT jaro_winkler('martha', 'marhta'), jaro_winkler('dwayne', 'duane'),
                      jaro_winkler('dixon', 'dicksonx'),
                      damerau_levenshtein('abcd', 'acbd'),
                      damerau_levenshtein('kitten', 'sitting')"""
        ).collect()[0]
    finally:
        splink.close()
    assert [round(v, 3) for v in row[:3]] == [0.961, 0.840, 0.813]
    assert list(row[3:]) == [1.0, 3.0]  # one transposition; k->s, e->i, +g


def test_a_duckdb_condition_compares_columns_on_spark(session: Any) -> None:
    session.createDataFrame(
        [("anna", "anna"), ("anna", "hanna")], "first_name_l string, first_name_r string"
    ).createOrReplaceTempView("pairs")
    condition = '"first_name_l" = "first_name_r"'
    translated = spark_sql(condition)
    got = [r[0] for r in session.sql(f"SELECT {translated} FROM pairs").collect()]
    assert got == [True, False]
    # Read as Spark SQL the same text compares two string constants: never equal.
    raw = [r[0] for r in session.sql(f"SELECT {condition} FROM pairs").collect()]
    assert raw == [False, False]
    assert "jaro_winkler(" in spark_sql('jaro_winkler_similarity("a_l", "a_r") >= 0.9').lower()


def _planted() -> tuple[pa.Table, set[tuple[int, int]]]:
    """120 people, 40 of them twice (the copy a label of its own, a typo in the last
    name): the 40 pairs are the true links."""
    rng = random.Random(3)
    first = ["anna", "jonas", "lena", "paul", "marie", "felix", "emma", "lukas", "mia", "ben"]
    letters = "abcdefghiklmnoprstuvwz"
    rows, truth = [], set()
    for i in range(120):
        last = "".join(rng.choice(letters) for _ in range(7))
        row = {
            "label": i,
            "first_name": rng.choice(first),
            "last_name": last,
            "birth_date": f"19{rng.randint(50, 99)}-{rng.randint(1, 12):02d}-"
            f"{rng.randint(1, 28):02d}",
            "phone": f"+4917{rng.randint(10_000_000, 99_999_999)}",
            "postcode": f"{rng.randint(10_000, 99_999)}",
            "city": rng.choice(["berlin", "hamburg", "koeln", "bremen"]),
            "email": f"{last}{i}@example.org",
        }
        rows.append(row)
        if i < 40:
            copy = dict(row, label=1000 + i, last_name=last[:3] + last[4] + last[3] + last[5:])
            copy["email"] = None
            rows.append(copy)
            truth.add((i, 1000 + i))
    columns = {c: [r[c] for r in rows] for c in ("label", *DESCRIPTION_COLUMNS)}
    schema = pa.schema([("label", pa.int64()), *((c, pa.string()) for c in DESCRIPTION_COLUMNS)])
    return pa.table(columns, schema=schema), truth


def test_the_same_links_on_the_duckdb_and_the_spark_backend(session: Any) -> None:
    table, truth = _planted()
    config = ProbabilisticConfig(min_descriptions=20, u_pairs=100_000, em_pairs=100_000)
    duck = link_descriptions(table, config)
    spark = link_descriptions(table, config, spark=spark_session("local[2]"))
    pairs = {
        name: set(
            zip(
                r.edges.column("label_l").to_pylist(),
                r.edges.column("label_r").to_pylist(),
                strict=True,
            )
        )
        for name, r in (("duck", duck), ("spark", spark))
    }
    assert pairs["duck"] == pairs["spark"] == truth
    assert spark.candidate_pairs == duck.candidate_pairs
    weights = zip(
        duck.edges.column("match_weight").to_pylist(),
        spark.edges.column("match_weight").to_pylist(),
        strict=True,
    )
    assert all(abs(a - b) <= 1e-6 * max(1.0, abs(a)) for a, b in weights)
    assert duck.edges.column("evidence").to_pylist() == spark.edges.column("evidence").to_pylist()
