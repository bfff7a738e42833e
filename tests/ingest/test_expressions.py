"""The expr language: each construct compiled and run on a real DuckDB table.

Expected values are worked out by hand from the rows each test writes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from personify.engine import DuckDBEngine
from personify.ingest._readers import quote_ident
from personify.ingest.expressions import (
    FUNCTIONS,
    MAX_DEPTH,
    ExpressionError,
    compile_expression,
    name_parts,
    referenced_columns,
    register_functions,
)


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBEngine]:
    # One workspace file for the module: each evaluation replaces the table t.
    eng = DuckDBEngine(tmp_path_factory.mktemp("expr") / "expr.duckdb")
    register_functions(eng)
    yield eng
    eng.close()


def resolver(columns: list[str]) -> Any:
    def resolve(name: str) -> str:
        if name not in columns:
            raise KeyError(name)
        return quote_ident(name)

    return resolve


def evaluate(engine: DuckDBEngine, text: str, rows: list[dict[str, str | None]]) -> list[Any]:
    """Values of ``text`` for each row of a table of text columns made from ``rows``."""
    columns = list(rows[0])
    table = pa.table(
        {
            "_row": list(range(len(rows))),
            **{c: pa.array([r[c] for r in rows], pa.string()) for c in columns},
        }
    )
    engine.con.register("rows_in", table)
    engine.sql("CREATE OR REPLACE TABLE t AS SELECT * FROM rows_in")
    engine.con.unregister("rows_in")
    sql = compile_expression(text, resolver(columns), known_columns=columns)
    return [r[0] for r in engine.sql(f"SELECT {sql} FROM t ORDER BY _row").fetchall()]


def one(engine: DuckDBEngine, text: str, **row: str | None) -> Any:
    return evaluate(engine, text, [row or {"unused": None}])[0]


# Literals and columns ------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("'plain'", "plain"),
        ('"double"', "double"),
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r"'a\\b'", "a\\b"),
        (r"'line\nbreak\ttab'", "line\nbreak\ttab"),
        ("'Müller'", "Müller"),
        ("42", 42.0),
        ("2.5", 2.5),
        ("1e3", 1000.0),
        (".5", 0.5),
        ("true", True),
        ("FALSE", False),
        ("null", None),
    ],
)
def test_literals(engine: DuckDBEngine, text: str, expected: Any) -> None:
    assert one(engine, text) == expected


def test_columns_bare_and_backticked_read_trimmed_text_with_blank_as_null(
    engine: DuckDBEngine,
) -> None:
    rows: list[dict[str, str | None]] = [
        {"city": "  Bonn ", "Full Name": "Jane Doe", "a`b": "tick"},
        {"city": "   ", "Full Name": None, "a`b": None},
    ]
    assert evaluate(engine, "city", rows) == ["Bonn", None]
    assert evaluate(engine, "`Full Name`", rows) == ["Jane Doe", None]
    assert evaluate(engine, "`a``b`", rows) == ["tick", None]


# Operators -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("10 - 4 - 3", 3.0),  # left to right: (10 - 4) - 3
        ("12 / 3 / 2", 2.0),
        ("7 / 2", 3.5),  # division is never integer division
        ("-2 * 3", -6.0),
        ("- -4", 4.0),
        ("2 - -1", 3.0),
        ("1 / 0", None),  # dividing by zero gives null
        ("'a' || 'b' || 'c'", "abc"),
        ("'n=' || 1 + 2", "n=3"),  # || is looser than +; a whole number shows without .0
        ("'x' || 2.5", "x2.5"),
        ("1 + 2 == 3", True),
        ("'a' || 'b' == 'ab'", True),
        ("2 != 3", True),
        ("2 < 3", True),
        ("3 <= 3", True),
        ("2 > 3", False),
        ("2 >= 3", False),
        ("'apple' < 'banana'", True),
        ("true or false and false", True),  # and binds tighter: true or (false and false)
        ("(true or false) and false", False),
        ("not 1 == 2", True),  # not applies to the whole comparison
        ("not true or true", True),  # (not true) or true
        ("not (true or true)", False),
        ("1 < 2 AND 2 < 3", True),
    ],
)
def test_operators_and_precedence(engine: DuckDBEngine, text: str, expected: Any) -> None:
    assert one(engine, text) == expected


def test_arithmetic_reads_text_as_numbers(engine: DuckDBEngine) -> None:
    rows: list[dict[str, str | None]] = [
        {"net": "10", "tax": "2.5"},
        {"net": " 3 ", "tax": None},
        {"net": "n/a", "tax": "1"},
    ]
    assert evaluate(engine, "number(net) + number(tax)", rows) == [12.5, None, None]
    assert evaluate(engine, "net * 2", rows) == [20.0, 6.0, None]
    # A comparison with a number compares numbers: "10" > "9" although '10' < '9' as text.
    assert evaluate(engine, "net > 9", rows) == [True, False, None]
    assert evaluate(engine, "net > '9'", rows) == [False, False, True]


# NULL handling -------------------------------------------------------------------------------
def test_null_handling(engine: DuckDBEngine) -> None:
    rows: list[dict[str, str | None]] = [
        {"a": "x", "b": "y"},
        {"a": "x", "b": None},
        {"a": None, "b": None},
    ]
    assert evaluate(engine, "a || '-' || b", rows) == ["x-y", None, None]
    assert evaluate(engine, "concat(a, '-', b)", rows) == ["x-y", "x-", "-"]
    assert evaluate(engine, "coalesce(b, a, 'none')", rows) == ["y", "x", "none"]
    assert evaluate(engine, "b == null", rows) == [False, True, True]
    assert evaluate(engine, "null != b", rows) == [True, False, False]
    # A missing condition takes the else branch.
    assert evaluate(engine, "if(b == 'y', 'yes', 'no')", rows) == ["yes", "no", "no"]
    assert evaluate(engine, "upper(b)", rows) == ["Y", None, None]
    assert evaluate(engine, "first_name(b)", rows) == ["y", None, None]


# Functions -----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("coalesce(null, null, 'third')", "third"),
        ("coalesce(null, 5)", 5.0),
        ("coalesce(null, 5, 'x')", "5"),  # mixed kinds meet as text
        ("concat('a', 1, true)", "a1true"),
        ("lower('ÄBC')", "äbc"),
        ("upper('élan')", "ÉLAN"),
        ("trim('  padded  ')", "padded"),
        ("substr('abcdef', 2, 3)", "bcd"),
        ("substr('abcdef', 4)", "def"),
        ("replace('a-b-c', '-', '/')", "a/b/c"),
        ("split_part('2024-03-15', '-', 2)", "03"),
        ("split_part('a;b', ';', 3)", ""),
        ("number('12.5') * 2", 25.0),
        ("number('1.234,56', ',')", 1234.56),
        ("number('1,234.56', '.')", 1234.56),
        ("number('12 345,5', ',')", 12345.5),
        ("number('abc')", None),
        ("if(1 < 2, 'yes', 'no')", "yes"),
        ("if(1 > 2, 'yes', 0)", "0"),
        ("if(false, 1, 2) + 1", 3.0),
        ("round(2.567, 2)", 2.57),
        ("round(2.5)", 3.0),
        ("round(1234, -2)", 1200.0),
        ("COALESCE(null, 'case-insensitive')", "case-insensitive"),
    ],
)
def test_functions(engine: DuckDBEngine, text: str, expected: Any) -> None:
    assert one(engine, text) == expected


def test_the_documented_examples(engine: DuckDBEngine) -> None:
    rows: list[dict[str, str | None]] = [
        {
            "Full Name": "Dr. Jane Q. Doe",
            "net": "100",
            "tax": "19",
            "email_work": None,
            "email_private": "jane@example.org",
            "town": " Bonn ",
            "country": "de",
            "sex": "w",
        },
        {
            "Full Name": "Doe, John",
            "net": "50.5",
            "tax": "0",
            "email_work": "john@corp.example",
            "email_private": "john@example.org",
            "town": "Lyon",
            "country": "fr",
            "sex": "m",
        },
    ]
    assert evaluate(engine, "first_name(`Full Name`)", rows) == ["Jane", "John"]
    assert evaluate(engine, "last_name(`Full Name`)", rows) == ["Doe", "Doe"]
    assert evaluate(engine, "number(net) + number(tax)", rows) == [119.0, 50.5]
    assert evaluate(engine, "coalesce(email_work, email_private)", rows) == [
        "jane@example.org",
        "john@corp.example",
    ]
    assert evaluate(engine, "trim(town) || ', ' || upper(country)", rows) == [
        "Bonn, DE",
        "Lyon, FR",
    ]
    assert evaluate(engine, "if(sex == 'w', 'female', sex)", rows) == ["female", "m"]


# Name parts ----------------------------------------------------------------------------------
NAMES = [
    # full name, (title, first, middle, last, suffix)
    ("Dr. Jane Q. Doe", ("Dr.", "Jane", "Q.", "Doe", None)),
    ("Doe, Jane", (None, "Jane", None, "Doe", None)),
    ("Müller, Hans", (None, "Hans", None, "Müller", None)),
    ("Guðrún Ólafsdóttir", (None, "Guðrún", None, "Ólafsdóttir", None)),
    ("Madonna", (None, "Madonna", None, None, None)),
    ("John Smith Jr.", (None, "John", None, "Smith", "Jr.")),
    ("Mr. Juan de la Vega III", ("Mr.", "Juan", None, "de la Vega", "III")),
    ("Prof. Dr. Hans-Peter Müller", ("Prof. Dr.", "Hans-Peter", None, "Müller", None)),
    ("van der Berg, Anna", (None, "Anna", None, "van der Berg", None)),
    ("Mary Ann Lee", (None, "Mary", "Ann", "Lee", None)),
]


@pytest.mark.parametrize(("full", "parts"), NAMES)
def test_name_parts(engine: DuckDBEngine, full: str, parts: tuple[str | None, ...]) -> None:
    rows: list[dict[str, str | None]] = [{"name": full}]
    got = tuple(
        evaluate(engine, f"{fn}(name)", rows)[0]
        for fn in ("title", "first_name", "middle_name", "last_name", "suffix")
    )
    assert got == parts


def test_name_parts_on_a_column_of_many_rows_with_repeats(engine: DuckDBEngine) -> None:
    names = [full for full, _ in NAMES] * 500 + [None]  # more rows than one engine chunk
    rows: list[dict[str, str | None]] = [{"name": n} for n in names]
    name_parts.cache_clear()
    got = evaluate(engine, "last_name(name)", rows)
    assert got == [parts[3] for _, parts in NAMES] * 500 + [None]
    # Each distinct name is parsed once, however often it repeats.
    assert name_parts.cache_info().misses == len(NAMES)


def test_registering_functions_twice_is_harmless(engine: DuckDBEngine) -> None:
    register_functions(engine)
    assert one(engine, "first_name('Ada Lovelace')") == "Ada"


# Referenced columns --------------------------------------------------------------------------
def test_referenced_columns_in_order_of_first_use() -> None:
    text = "if(sex == 'w', first_name(`Full Name`), coalesce(sex, `Full Name`, 'x')) || net"
    assert referenced_columns(text) == ["sex", "Full Name", "net"]
    assert referenced_columns("'only' || 'literals'") == []


# Errors --------------------------------------------------------------------------------------
def error_of(text: str, columns: list[str] | None = None) -> ExpressionError:
    cols = columns if columns is not None else ["net", "tax", "Full Name"]
    with pytest.raises(ExpressionError) as info:
        compile_expression(text, resolver(cols), known_columns=cols)
    return info.value


def caret_position(error: ExpressionError) -> int:
    """The 1-based column the caret line points at, under the quoted expression."""
    shown, caret = str(error).splitlines()[-2:]
    assert shown.strip() == error.text.replace("\n", " ").strip()
    return caret.index("^") - 1


def test_unknown_function_names_position_and_suggestion() -> None:
    err = error_of("first_nme(x)")
    assert str(err).startswith(
        "expr \"first_nme(x)\" at 1: unknown function 'first_nme' (did you mean first_name?)"
    )
    assert caret_position(err) == 1


def test_unknown_column_names_position_and_known_columns() -> None:
    err = error_of("number(net) + number(taks)")
    assert err.position == 22
    assert caret_position(err) == 22
    assert "unknown column 'taks' (did you mean tax?)" in err.problem
    assert "(columns: Full Name, net, tax)" in err.problem


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("upper('a', 'b')", 1, "upper() takes 1 argument(s), got 2"),
        ("x + if(true, 1)", 5, "if() takes 3 argument(s), got 2"),
        ("coalesce()", 1, "coalesce() takes at least 1 argument(s), got 0"),
        ("substr(net)", 1, "substr() takes 2 to 3 arguments, got 1"),
        ("(net + 1", 9, "expected ')' to close the '(' at 1, found the end"),
        ("upper(net", 10, "expected ')' to close the call of upper() at 1"),
        ("net + 1)", 8, "unexpected ')' after a whole expression"),
        ("'abc", 1, "unterminated string (no closing ')"),
        ('net || "abc', 8, 'unterminated string (no closing ")'),
        ("`Full Name", 1, "unterminated `column name`"),
        ("net tax", 5, "unexpected 'tax' after a whole expression"),
        ("net + 1 2", 9, "unexpected '2' after a whole expression"),
        ("net = 1", 5, "unexpected character '=' (compare with ==)"),
        ("net +", 6, "expected a value, found the end"),
        ("", 1, "empty expression"),
        ("1 < 2 < 3", 7, "comparisons do not chain"),
        ("if(net, 1, 2)", 4, "expected a condition"),
        ("true + 1", 1, "true/false is not a number"),
        ("net < null", 5, "null cannot be compared with <"),
        ("number(net, ';')", 13, "decimal separator must be '.' or ','"),
        (r"'a\qb'", 3, "unknown escape \\q"),
        ("1.5.2", 4, "unexpected '.2' after a whole expression"),
    ],
)
def test_errors_name_the_position(text: str, position: int, words: str) -> None:
    err = error_of(text)
    assert err.position == position, str(err)
    assert words in err.problem, str(err)
    assert err.problem.startswith(f"expr {text!r}"[:5])
    assert str(err).splitlines()[-1].index("^") - 1 == position


def test_error_on_a_later_line_keeps_the_caret_under_its_character() -> None:
    err = error_of("coalesce(net,\n  nope)")
    assert err.position == 17
    assert caret_position(err) == 17


# Injection and abuse -------------------------------------------------------------------------
def test_sql_in_a_string_literal_is_a_harmless_literal(engine: DuckDBEngine) -> None:
    payload = "'); DROP TABLE t; --"
    text = '"' + payload + '" || net'
    assert evaluate(engine, text, [{"net": "1"}]) == [payload + "1"]
    assert engine.has_table("t")
    assert one(engine, r"'\'); DROP TABLE t; --'") == payload


def test_odd_column_names_go_through_resolve_quoted(engine: DuckDBEngine) -> None:
    name = "we`ird\"; DROP TABLE t; --'"
    text = "upper(`we``ird\"; DROP TABLE t; --'`)"
    assert referenced_columns(text) == [name]
    assert evaluate(engine, text, [{name: "ok"}]) == ["OK"]
    assert engine.has_table("t")


@pytest.mark.parametrize(
    "text",
    [
        "read_csv('/etc/passwd')",
        "system('rm -rf /')",
        "getvariable('x')",
        "net; DROP TABLE t",
        "upper(net) FROM t --",
        "__import__('os')",
    ],
)
def test_anything_but_the_language_is_rejected(text: str) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(text, resolver(["net"]))


def test_deep_nesting_is_refused_with_a_clear_error() -> None:
    for text in (
        "(" * 10_000 + "1" + ")" * 10_000,
        "upper(" * 5_000 + "net" + ")" * 5_000,
        "-" * 10_000 + "1",
        "not " * 10_000 + "true",
        " + ".join(["1"] * (MAX_DEPTH + 5)),
    ):
        err = error_of(text)
        assert "nested too deeply" in err.problem or "longer than" in err.problem


def test_reasonable_nesting_still_compiles(engine: DuckDBEngine) -> None:
    depth = MAX_DEPTH // 2
    assert one(engine, "(" * depth + "1" + ")" * depth) == 1.0
    assert one(engine, " + ".join(["1"] * 20)) == 20.0


# Property: compiles to SQL DuckDB runs, or fails with ExpressionError ------------------------
COLUMNS = ["net", "Full Name", "sex"]
WORDS = [
    *FUNCTIONS,
    "net",
    "`Full Name`",
    "sex",
    "missing",
    "and",
    "or",
    "not",
    "true",
    "false",
    "null",
    "read_csv",
    "'text'",
    "'Dr. Jane Doe'",
    '"it\\"s"',
    "'",
    "`",
    "0",
    "1",
    "2.5",
    "1e308",
    "-",
    "+",
    "*",
    "/",
    "||",
    "==",
    "!=",
    "<",
    "<=",
    ">",
    ">=",
    "(",
    ")",
    ",",
    "=",
    ";",
]


@pytest.fixture(scope="module")
def property_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDBEngine]:
    eng = DuckDBEngine(tmp_path_factory.mktemp("prop") / "p.duckdb")
    register_functions(eng)
    eng.sql(
        """CREATE TABLE t AS SELECT * FROM (VALUES
           ('12.5', 'Dr. Jane Q. Doe', 'w'), (NULL, 'Doe, John', ''), ('x', NULL, 'm'))
           v(net, "Full Name", sex)"""
    )
    yield eng
    eng.close()


LEAVES = st.sampled_from(
    ["net", "`Full Name`", "sex", "'w'", "'1,5'", "''", "0", "3", "2.5", "true", "false", "null"]
)
OPS = ["+", "-", "*", "/", "||", "==", "!=", "<", "<=", ">", ">=", "and", "or"]


def _grow(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    calls = [
        st.lists(inner, min_size=fn.min_args, max_size=fn.max_args or 4).map(
            lambda args, name=name: f"{name}({', '.join(args)})"
        )
        for name, fn in FUNCTIONS.items()
    ]
    return st.one_of(
        st.tuples(inner, st.sampled_from(OPS), inner).map(" ".join),
        inner.map(lambda e: f"-{e}"),
        inner.map(lambda e: f"not {e}"),
        inner.map(lambda e: f"({e})"),
        *calls,
    )


# Well-formed expressions (they may still be ill-typed) reach DuckDB far more often.
WELL_FORMED = st.recursive(LEAVES, _grow, max_leaves=12)


@settings(
    max_examples=400,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    st.one_of(
        WELL_FORMED,
        st.lists(st.sampled_from(WORDS), max_size=14).map(" ".join),
        st.lists(st.sampled_from(WORDS), max_size=14).map("".join),
        st.text(max_size=40),
    )
)
def test_any_input_compiles_to_runnable_sql_or_raises_expression_error(
    property_engine: DuckDBEngine, text: str
) -> None:
    try:
        sql = compile_expression(text, resolver(COLUMNS), known_columns=COLUMNS)
    except ExpressionError as exc:
        assert 1 <= exc.position <= len(text) + 1
        return
    property_engine.sql(f"SELECT {sql} FROM t").fetchall()


# Through the loader ---------------------------------------------------------------------------
def test_a_source_with_derived_columns_loads_them(make_workspace: Any) -> None:
    csv = 'id,Full Name,net,tax,sex\nC1,"Dr. Jane Q. Doe",100,19,w\nC2,"Müller, Hans",50.5,,m\n'
    ws = make_workspace(
        {"crm": ("customers", "crm.csv", csv)},
        crm={
            "columns": {
                "customer_id": {"source": "id"},
                "first_name": {"expr": "first_name(`Full Name`)"},
                "last_name": {"expr": "last_name(`Full Name`)"},
                "gender": {"expr": "if(sex == 'w', 'female', 'male')"},
                # concat of a missing sum is blank text, which the loader reads as missing
                "job_title": {"expr": "concat(number(net) + number(tax))"},
            }
        },
    )
    ws.ingest.run()
    rows = ws.engine.sql(
        "SELECT customer_id, first_name, last_name, gender, job_title FROM raw_crm "
        "ORDER BY customer_id"
    ).fetchall()
    assert rows == [("C1", "Jane", "Doe", "female", "119"), ("C2", "Hans", "Müller", "male", None)]
