"""The audience rule language: what each rule selects on a hand-made profile table (the
expected persons worked out by hand from the rows below), the errors and where they point,
and attempts to inject SQL through values and names."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlglot
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlglot import exp

from personify.engine import DuckDBEngine
from personify.engine._portable import duckdb_only
from personify.segments._rules import (
    Attribute,
    RuleError,
    attributes_from_types,
    compile_rule,
)

COLUMNS = [
    ("person_id", "VARCHAR"),
    ("clv", "DOUBLE"),
    ("preferred_channel", "VARCHAR"),
    ("churn_risk", "DOUBLE"),
    ("email_unsubscribed", "BOOLEAN"),
    ("first_purchase", "DATE"),
    ("frequency", "BIGINT"),
    ("city", "VARCHAR"),
    ("tags", "VARCHAR[]"),
]
D = dt.date
ROWS = [
    ("P1", 800.0, "app", 0.1, False, D(2024, 3, 1), 5, "London"),
    ("P2", 600.0, "app", 0.5, True, D(2023, 12, 31), 3, "O'Brien's"),
    ("P3", 450.0, "web", 0.2, None, D(2024, 1, 1), 2, "x'; DROP TABLE profiles; --"),
    ("P4", None, "app", None, False, None, 0, "[bold red]alert[/]"),
    ("P5", 1200.0, "store", 0.05, False, D(2022, 6, 15), 12, "Zürich"),
    ("P6", 50.0, None, 0.9, True, D(2024, 11, 30), 1, None),
    ("P7", 501.0, "App", 0.29, False, D(2024, 2, 29), 4, "東京"),
    ("P8", 700.0, "app", 0.3, False, D(2024, 5, 5), 6, 'a"b\\c'),
]
ALL = {r[0] for r in ROWS}
ATTRS = attributes_from_types(COLUMNS)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine(tmp_path_factory.mktemp("rules") / "t.duckdb")
    cols = ", ".join(f'"{n}" {t}' for n, t in COLUMNS)
    eng.sql(f"CREATE TABLE profiles ({cols})")
    for r in ROWS:
        eng.sql("INSERT INTO profiles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ['a'])", list(r))
    yield eng
    eng.close()


def selected(engine: DuckDBEngine, rule: str) -> set[str]:
    c = compile_rule(rule, ATTRS)
    rows = engine.sql(f"SELECT person_id FROM profiles WHERE {c.sql}", list(c.params)).fetchall()
    return {r[0] for r in rows}


CASES = [
    # the example: clv > 500 (P1 P2 P5 P7 P8), "app" exactly (P1 P2 P8), < 0.3 (P1)
    ('clv > 500 and preferred_channel == "app" and churn_risk < 0.3', {"P1"}),
    ("clv >= 500", {"P1", "P2", "P5", "P7", "P8"}),
    ("clv < 500", {"P3", "P6"}),  # P4's clv is missing: false either way
    ("not (clv >= 500)", {"P3", "P4", "P6"}),  # ... and not makes it true
    ('preferred_channel != "app"', {"P3", "P5", "P7"}),  # "App" is not "app"; P6 missing
    ('preferred_channel in ("app", "web")', {"P1", "P2", "P3", "P4", "P8"}),
    ('preferred_channel not in ("app", "web")', {"P5", "P6", "P7"}),
    ('lower(preferred_channel) == "app"', {"P1", "P2", "P4", "P7", "P8"}),
    ("clv between 500 and 700", {"P2", "P7", "P8"}),
    ("clv not between 500 and 700", {"P1", "P3", "P4", "P5", "P6"}),
    ("churn_risk is null", {"P4"}),
    ("churn_risk == null", {"P4"}),
    ("churn_risk is not null", ALL - {"P4"}),
    ("email_unsubscribed", {"P2", "P6"}),
    ("not email_unsubscribed", ALL - {"P2", "P6"}),  # P3's is missing
    ("email_unsubscribed == false", {"P1", "P4", "P5", "P7", "P8"}),
    ('first_purchase >= "2024-01-01"', {"P1", "P3", "P6", "P7", "P8"}),
    ('first_purchase < "2024-01-01"', {"P2", "P5"}),
    ('first_purchase between "2024-02-29" and "2024-03-01"', {"P1", "P7"}),
    ("frequency * 100 > clv", {"P6"}),
    ("clv / frequency > 150", {"P1", "P2", "P3"}),  # P4: 0 purchases, no quotient
    ("clv > 500 or churn_risk > 0.8", {"P1", "P2", "P5", "P6", "P7", "P8"}),
    ("-clv < -1000", {"P5"}),
    ("CLV > 1000 AND Frequency > 10", {"P5"}),  # names and keywords in any case
    ("round(clv) == 501 or abs(clv - 1000) < 250", {"P1", "P5", "P7"}),  # 200, 200, 501
    ("coalesce(churn_risk, 1) > 0.8", {"P4", "P6"}),
    ("length(city) > 10", {"P3", "P4"}),
    ('starts_with(city, "Z")', {"P5"}),
    ('contains(city, "\'")', {"P2", "P3"}),
    ("1 == 1", ALL),
    ("null == null", ALL),  # x == null is x is null, and null is null
    ("(clv > 1000) or (clv < 100 and churn_risk > 0.5)", {"P5", "P6"}),
]


@pytest.mark.parametrize(("rule", "expected"), CASES)
def test_a_rule_selects_the_persons_worked_out_by_hand(
    engine: DuckDBEngine, rule: str, expected: set[str]
) -> None:
    assert selected(engine, rule) == expected


# Values that look like SQL, markup or escapes match themselves and nothing else.
LITERAL_VALUES = [
    ('city == "x\'; DROP TABLE profiles; --"', {"P3"}),
    ("city == \"O'Brien's\"", {"P2"}),
    ("city == 'O\\'Brien\\'s'", {"P2"}),
    ('city == "[bold red]alert[/]"', {"P4"}),
    ('city == "Zürich"', {"P5"}),
    ('city == "東京"', {"P7"}),
    ('city == "a\\"b\\\\c"', {"P8"}),
    ('contains(city, "%")', set()),  # not a LIKE wildcard
    ('contains(city, "_")', set()),
    ("city == \"' OR '1'='1\"", set()),
    ('city == "\\" OR 1=1 --"', set()),
    ('city == "London\\u0000"', "error"),  # \u is no escape here
    ('city == "London\x00"', set()),
    ('city == "London\u202e"', set()),
    ('city == "\'; SELECT * FROM golden_record; --"', set()),
    ('city == "$1" or city == "?"', set()),
]


@pytest.mark.parametrize(("rule", "expected"), LITERAL_VALUES)
def test_sql_in_values_matches_literally(
    engine: DuckDBEngine, rule: str, expected: set[str] | str
) -> None:
    if expected == "error":
        with pytest.raises(RuleError, match="unknown escape"):
            compile_rule(rule, ATTRS)
        return
    assert selected(engine, rule) == expected
    assert engine.count("profiles") == len(ROWS)


# SQL in names, comments, statement ends, markup, look-alike characters: refused.
REFUSED = [
    ("clv > 1; DROP TABLE profiles", 8, "unexpected character ';'"),
    ("clv > 1 -- and nothing", 12, "expected a value, found 'and'"),
    ("clv > 1 /* comment */", 10, "expected a value, found '*'"),
    ("clv > 1) OR (1 = 1", 16, "unexpected character '='"),  # tokens are read first
    ("clv > 1) OR (1 == 1", 8, "unexpected ')'"),
    ('`clv" > 0 OR "1` > 0', 1, "unknown attribute"),
    ("`profiles; DROP TABLE profiles` == 1", 1, "unknown attribute"),
    ("profiles.clv > 1", 9, "unexpected character '.'"),
    ('clv > 1 or city == "a" || "b"', 24, "not part of the rule language"),
    ("city == “app”", 9, "unexpected character '“'"),
    ("clv > ０", 7, "not a usable number"),
    ("сlv > 1", 1, "did you mean clv?"),  # a Cyrillic с
    ("clv > 1e999", 7, "not a usable number"),
    ("clv > 0x10", 8, "unexpected 'x' after the number"),
    ('__import__("os").system("ls") == 0', 17, "unexpected character '.'"),
    ('__import__("os") == 0', 1, "unknown function '__import__'"),
    ('eval("1") == 1', 1, "unknown function 'eval'"),
    ('first_name(city) == "a"', 1, "unknown function 'first_name'"),
    ("? > 0", 1, "unexpected character '?'"),
    ("clv > :value", 7, "unexpected character ':'"),
    ("[bold]clv[/] > 1", 1, "unexpected character '['"),
    ("clv > 1\n; DROP TABLE profiles", 9, "unexpected character ';'"),
    ("tags == 'a'", 1, "VARCHAR[] attribute, which rules cannot read"),
]


@pytest.mark.parametrize(("rule", "position", "reason"), REFUSED)
def test_injection_attempts_are_refused_at_their_position(
    engine: DuckDBEngine, rule: str, position: int, reason: str
) -> None:
    with pytest.raises(RuleError) as info:
        compile_rule(rule, ATTRS)
    assert info.value.position == position and reason in info.value.reason
    assert engine.count("profiles") == len(ROWS)


ERRORS = [
    ("cvl > 5", 1, "unknown attribute 'cvl' (did you mean clv?)"),
    ("frequncy > 5", 1, "did you mean frequency?"),
    ('clv > "500"', 7, "cannot compare 'clv' (a number) with \"500\" (text): write the number"),
    ("preferred_channel == 3", 22, "(a number): write text in quotes"),
    ('preferred_channel > "a"', 19, "text can only be compared with == or !="),
    ("email_unsubscribed > true", 20, "true/false can only be compared with == or !="),
    ("clv", 1, "expected a condition, but 'clv' (a number) is not one"),
    ("clv = 500", 5, "compare with =="),
    ("clv > 500 && clv < 600", 11, "use and"),
    ('first_purchase > "2024-02-30"', 18, "is no calendar date"),
    ('first_purchase > "yesterday"', 18, 'a date is written "YYYY-MM-DD"'),
    ("first_purchase > 2024", 18, "a date is written"),
    ("clv in (1, city)", 12, "a list holds values"),
    ('clv in (1, "2")', 12, "cannot compare 'clv' (a number) with \"2\" (text)"),
    ("email_unsubscribed in (true)", 20, "not in a list"),
    ("clv between 1 or 2", 15, "expected 'and'"),
    ('city between "a" and "b"', 6, "between applies to numbers and dates"),
    ("clv is 3", 8, "expected null after 'is'"),
    ("(clv > 1", 9, "expected ')' to close the '(' at 1"),
    ("clv > 1 and", 12, "expected a value, found the end"),
    ('lower(clv) == "a"', 7, "lower() applies to text"),
    ("round(clv, 1.5) > 1", 12, "whole number from 0 to 10"),
    ("round(clv, 2, 3) > 1", 1, "round() takes 1 to 2 argument(s), got 3"),
    ('coalesce(clv, "a") == 1', 1, "coalesce() takes values of one type"),
    ("1 < clv < 5", 9, "comparisons do not chain"),
    ("clv - city > 1", 7, "- applies to numbers, but 'city' (text) is not one"),
    ("null > 1", 6, "null cannot be compared with >"),
    ("in > 3", 1, "expected a value, found 'in'"),
    ("clv > 1 clv < 2", 9, "'clv' after a whole condition: join"),
    ('city == "a" "b"', 13, "a string after a whole condition"),
    ("", 1, "empty rule"),
    ("   ", 1, "empty rule"),
    ("(" * 50 + "clv > 1" + ")" * 50, 41, "nested too deeply"),
    ("clv > 1" + " and clv > 1" * 400, 4001, "longer than 4000 characters"),
    ('city == "abc', 9, "unterminated string"),
]


@pytest.mark.parametrize(("rule", "position", "reason"), ERRORS)
def test_errors_say_what_is_wrong_and_where(rule: str, position: int, reason: str) -> None:
    with pytest.raises(RuleError) as info:
        compile_rule(rule, ATTRS)
    err = info.value
    assert (err.position, reason in err.reason) == (position, True), err.reason
    # The message shows the rule with a caret under the position.
    lines = str(err).splitlines()
    if "\n" not in rule and len(rule) < 60:
        assert lines[-1].index("^") - 2 == position - 1
    assert err.as_dict() == {"rule": rule, "position": position, "reason": err.reason}


def test_rule_errors_are_value_errors_and_the_rule_is_text() -> None:
    assert issubclass(RuleError, ValueError)
    with pytest.raises(TypeError):
        compile_rule(123, ATTRS)  # type: ignore[arg-type]


def test_a_declared_attribute_is_reached_by_its_declared_name(engine: DuckDBEngine) -> None:
    attrs = {**ATTRS, "channel": ATTRS["preferred_channel"]}
    c = compile_rule('channel == "web"', attrs)
    assert c.attributes == ("preferred_channel",)
    rows = engine.sql(f"SELECT person_id FROM profiles WHERE {c.sql}", list(c.params)).fetchall()
    assert rows == [("P3",)]


def test_a_column_whose_name_holds_quotes_is_quoted(tmp_path: Path) -> None:
    eng = DuckDBEngine(tmp_path / "q.duckdb")
    eng.sql('CREATE TABLE profiles (person_id VARCHAR, "we""ird; --" DOUBLE)')
    eng.sql("INSERT INTO profiles VALUES ('A', 1), ('B', 2)")
    attrs = attributes_from_types(eng.column_types("profiles"))
    c = compile_rule('`we"ird; --` > 1', attrs)
    query = f"SELECT person_id FROM profiles WHERE {c.sql}"
    assert eng.sql(query, list(c.params)).fetchall() == [("B",)]
    eng.close()


RULES_FOR_SQL = [rule for rule, _ in CASES] + [rule for rule, _ in LITERAL_VALUES[:7]]


def test_compiled_sql_has_no_values_and_only_known_columns() -> None:
    for rule in RULES_FOR_SQL:
        c = compile_rule(rule, ATTRS)
        tree = sqlglot.parse_one(f"SELECT 1 FROM profiles WHERE {c.sql}", read="duckdb")
        assert not [lit for lit in tree.find_all(exp.Literal) if lit.is_string], rule
        assert {col.name for col in tree.find_all(exp.Column)} <= set(ATTRS), rule
        assert len(list(tree.find_all(exp.Placeholder))) == len(c.params), rule


def test_compiled_rules_are_portable_sql() -> None:
    for rule in RULES_FOR_SQL:
        c = compile_rule(rule, ATTRS)
        assert duckdb_only(f"SELECT count(*) FROM profiles WHERE {c.sql}") == [], rule


# Property tests -----------------------------------------------------------------------------
def _rule_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@settings(max_examples=60, deadline=None)
@given(value=st.text(max_size=30), other=st.text(max_size=30))
def test_any_text_value_matches_exactly_itself(value: str, other: str) -> None:
    eng = _value_engine()
    eng.sql("DELETE FROM v")
    eng.sql("INSERT INTO v VALUES ('a', ?), ('b', ?)", [value, other])
    attrs = {"city": Attribute("city", "text", "VARCHAR")}
    c = compile_rule(f"city == {_rule_string(value)}", attrs)
    got = {r[0] for r in eng.sql(f"SELECT id FROM v WHERE {c.sql}", list(c.params)).fetchall()}
    assert got == {"a"} | ({"b"} if other == value else set())


_VALUES: list[DuckDBEngine] = []


def _value_engine() -> DuckDBEngine:
    # One in-memory database for every example (hypothesis reruns the function, so no
    # function-scoped fixture).
    if not _VALUES:
        eng = DuckDBEngine(Path(":memory:"))
        eng.sql("CREATE TABLE v (id VARCHAR, city VARCHAR)")
        _VALUES.append(eng)
    return _VALUES[0]


ALPHABET = st.sampled_from(
    [
        *"abc clv city 0123456789.,()<>=!\"'`\\;-*/+|&:?$[]%_\n",
        *("and", "or", "not", "in", "is", "null", "between", "true", "DROP", "--", "/*", "“"),
    ]
)


@settings(max_examples=300, deadline=None)
@given(parts=st.lists(ALPHABET, max_size=25))
def test_any_text_compiles_to_checked_sql_or_raises_a_rule_error(parts: list[str]) -> None:
    text = "".join(parts)
    attrs = {
        "clv": Attribute("clv", "number", "DOUBLE"),
        "city": Attribute("city", "text", "VARCHAR"),
    }
    try:
        c = compile_rule(text, attrs)
    except RuleError as err:
        assert 1 <= err.position <= len(text) + 1
        return
    tree = sqlglot.parse_one(f"SELECT 1 FROM t WHERE {c.sql}", read="duckdb")
    assert not [lit for lit in tree.find_all(exp.Literal) if lit.is_string]
    assert {col.name for col in tree.find_all(exp.Column)} <= {"clv", "city"}


@pytest.mark.slow
def test_rules_select_the_same_persons_on_spark(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from personify.engine._spark import SparkEngine

    types = {"VARCHAR": pa.string(), "DOUBLE": pa.float64(), "BOOLEAN": pa.bool_()}
    types |= {"DATE": pa.date32(), "BIGINT": pa.int64()}
    schema = pa.schema([(n, types[t]) for n, t in COLUMNS if t in types])
    table = pa.Table.from_pylist([dict(zip(schema.names, r, strict=True)) for r in ROWS], schema)
    pq.write_table(table, tmp_path / "profiles.parquet")
    spark = SparkEngine(tmp_path / "tables", master="local[2]")
    try:
        spark.load_parquet("profiles", str(tmp_path / "profiles.parquet"))
        attrs = attributes_from_types(spark.column_types("profiles"))
        for rule, expected in [*CASES, *LITERAL_VALUES]:
            if expected == "error":
                continue
            c = compile_rule(rule, attrs)
            query = f"SELECT person_id FROM profiles WHERE {c.sql}"
            got = {r[0] for r in spark.sql(query, list(c.params)).fetchall()}
            assert got == expected, rule
    finally:
        spark.close()


def test_every_function_and_audiences_command_is_in_the_docs() -> None:
    from personify._cli_audiences import audiences_app
    from personify.segments._rules import FUNCTIONS

    text = (Path(__file__).parent.parent.parent / "docs" / "audiences.md").read_text()
    for name in FUNCTIONS:
        assert f"`{name}(" in text, name
    for command in audiences_app.registered_commands:
        name = command.name or command.callback.__name__
        assert f"personify audiences {name}" in text, name
