"""The file readers, on real files written here; expected values worked out by hand."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openpyxl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from personify import SourceError, Workspace
from personify.config import SourceSpec
from personify.engine import DuckDBEngine
from personify.ingest._readers import Staged, resolve_paths, stage_files


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[DuckDBEngine]:
    e = DuckDBEngine(tmp_path / "stage.duckdb")
    yield e
    e.close()


def spec(path: str, **options: Any) -> SourceSpec:
    return SourceSpec.model_validate({"kind": "reviews", "path": path, **options})


def stage(engine: DuckDBEngine, tmp_path: Path, path: str, **options: Any) -> Staged:
    s = spec(path, **options)
    return stage_files(engine, s, resolve_paths(tmp_path, s), "t")


def rows(engine: DuckDBEngine, staged: Staged, *cols: str) -> list[tuple[Any, ...]]:
    select = ", ".join(f'"{c}"' for c in cols)
    return engine.sql(f"SELECT {select} FROM {staged.table} ORDER BY _file, _row").fetchall()


def rejects(engine: DuckDBEngine, staged: Staged) -> list[tuple[Any, ...]]:
    assert staged.rejects
    return engine.sql(
        f"SELECT file, line, reason, text FROM {staged.rejects} ORDER BY file, line"
    ).fetchall()


# Paths ----------------------------------------------------------------------------------------
def test_resolve_paths_expands_a_glob_sorted_and_names_what_is_missing(tmp_path: Path) -> None:
    for name in ("b.csv", "a.csv", "c.txt"):
        (tmp_path / name).write_text("x\n1\n")
    assert resolve_paths(tmp_path, spec("*.csv")) == [tmp_path / "a.csv", tmp_path / "b.csv"]
    assert resolve_paths(tmp_path, spec("b.csv")) == [tmp_path / "b.csv"]
    with pytest.raises(SourceError, match=r"no file matches .*\*\.parquet"):
        resolve_paths(tmp_path, spec("*.parquet"))
    with pytest.raises(SourceError, match=r"file not found: .*gone\.csv"):
        resolve_paths(tmp_path, spec("gone.csv"))


# CSV: the broken quotes that used to fail the whole file ---------------------------------------
REVIEWS = (
    '"review_id","rating","body"\n'  # line 1
    '"R1","5","fine, really"\n'  # 2
    '"R2","4","he said "great" and left"\n'  # 3: stray quotes inside a quoted field
    '"R3","3","two\nlines, valid"\n'  # 4-5: embedded line break, one record
    '"R4","2","x","extra"\n'  # 6: too many fields
    '"R5","1"\n'  # 7: too few
    '"R6","5","ok"\n'  # 8
    '"R7","4","never closed\n'  # 9: missing closing quote at the end of the file
)


def test_broken_lines_are_rejected_with_their_lines_and_the_rest_loads(
    engine: DuckDBEngine, tmp_path: Path
) -> None:
    (tmp_path / "reviews.csv").write_text(REVIEWS)
    staged = stage(engine, tmp_path, "reviews.csv")
    assert staged.fields == ["review_id", "rating", "body"]
    assert rows(engine, staged, "review_id", "body", "_row", "_line") == [
        ("R1", "fine, really", 1, 2),
        ("R3", "two\nlines, valid", 2, 4),
        ("R6", "ok", 3, 8),
    ]
    got = rejects(engine, staged)
    assert [(f, line) for f, line, _, _ in got] == [
        ("reviews.csv", 3),
        ("reviews.csv", 6),
        ("reviews.csv", 7),
        ("reviews.csv", 9),
    ]
    assert got[0][2].startswith("UNQUOTED VALUE")
    assert got[1][2].startswith("TOO MANY COLUMNS")
    assert got[2][2].startswith("MISSING COLUMNS")
    assert got[3][2].startswith("UNQUOTED VALUE")
    assert got[1][3] == '"R4","2","x","extra"'


def test_an_open_quote_mid_file_does_not_swallow_the_records_after_it(
    engine: DuckDBEngine, tmp_path: Path
) -> None:
    # An unquoted export where one value starts with a quote that never closes:
    # a parser takes every later line into that value. 2,000 records after it.
    lines = ["id,name,note"] + [f"R{i},N{i},ok" for i in range(1, 2501)]
    lines[10] = 'R10,N10,"broken here'  # line 11
    (tmp_path / "big.csv").write_text("\n".join(lines) + "\n")
    staged = stage(engine, tmp_path, "big.csv")
    assert engine.count(staged.table) == 2499
    got = rejects(engine, staged)
    assert [(line, text) for _, line, _, text in got] == [(11, 'R10,N10,"broken here')]
    assert rows(engine, staged, "id", "_line")[9:11] == [("R11", 12), ("R12", 13)]
    assert rows(engine, staged, "id", "_line")[-1] == ("R2500", 2501)


def test_blank_lines_and_line_breaks_in_values_keep_line_numbers_exact(
    engine: DuckDBEngine, tmp_path: Path
) -> None:
    text = 'id,note\nA,one\n\nB,"x\ny"\n\n\nC,"p\n\nq"\nD,a,b\nE,end\n'
    # lines: 1 header, 2 A, 3 blank, 4-5 B, 6-7 blank, 8-10 C (a blank inside it), 11 D, 12 E
    (tmp_path / "gaps.csv").write_text(text)
    staged = stage(engine, tmp_path, "gaps.csv")
    assert rows(engine, staged, "id", "_row", "_line") == [
        ("A", 1, 2),
        ("B", 2, 4),
        ("C", 3, 8),
        ("E", 4, 12),
    ]
    assert [line for _, line, _, _ in rejects(engine, staged)] == [11]


# CSV: dialects, encodings, header, skip ------------------------------------------------------
def test_semicolons_with_decimal_commas_stay_text(engine: DuckDBEngine, tmp_path: Path) -> None:
    (tmp_path / "fr.csv").write_text('id;montant;ville\n1;12,50;"Lyon; centre"\n2;3,0;Paris\n')
    staged = stage(engine, tmp_path, "fr.csv")
    assert staged.fields == ["id", "montant", "ville"]
    assert rows(engine, staged, "id", "montant", "ville") == [
        ("1", "12,50", "Lyon; centre"),
        ("2", "3,0", "Paris"),
    ]


def test_declared_delimiter_quote_and_escape(engine: DuckDBEngine, tmp_path: Path) -> None:
    (tmp_path / "pipes.txt").write_text("id|say\n1|'it''s'\n2|'a|b'\n")
    staged = stage(engine, tmp_path, "pipes.txt", csv={"delimiter": "|", "quote": "'"})
    assert rows(engine, staged, "id", "say") == [("1", "it's"), ("2", "a|b")]
    (tmp_path / "esc.csv").write_text('id,say\n1,"he said \\"hi\\""\n')
    staged = stage(engine, tmp_path, "esc.csv", csv={"escape": "\\"})
    assert rows(engine, staged, "say") == [('he said "hi"',)]


def test_tab_separated_is_detected(engine: DuckDBEngine, tmp_path: Path) -> None:
    (tmp_path / "t.tsv").write_text("a\tb\n1\t2,5\n")
    assert rows(engine, stage(engine, tmp_path, "t.tsv"), "a", "b") == [("1", "2,5")]


def test_utf8_bom_is_not_part_of_the_first_name(engine: DuckDBEngine, tmp_path: Path) -> None:
    (tmp_path / "bom.csv").write_bytes("\ufeffreview_id,title\nR1,Zoë\n".encode())
    staged = stage(engine, tmp_path, "bom.csv")
    assert staged.fields == ["review_id", "title"]
    assert rows(engine, staged, "review_id", "title", "_line") == [("R1", "Zoë", 2)]


@pytest.mark.parametrize(
    ("encoding", "declared"),
    [("latin-1", "latin-1"), ("utf-16", "utf-16"), ("cp1252", "cp1252")],
)
def test_declared_encodings(
    engine: DuckDBEngine, tmp_path: Path, encoding: str, declared: str
) -> None:
    text = "id,name,price\n1,Müller,5 €\n" if encoding == "cp1252" else "id,name\n1,Müller\n"
    (tmp_path / "enc.csv").write_bytes(text.encode(encoding))
    staged = stage(engine, tmp_path, "enc.csv", csv={"encoding": declared})
    assert rows(engine, staged, "name")[0] == ("Müller",)
    if encoding == "cp1252":
        assert (tmp_path / "enc.csv").read_bytes().count(b"\x80") == 1  # € is one byte there
        assert rows(engine, staged, "price") == [("5 €",)]


def test_undeclared_non_utf8_file_is_a_clear_error(engine: DuckDBEngine, tmp_path: Path) -> None:
    (tmp_path / "l1.csv").write_bytes("id,name\n1,Müller\n".encode("latin-1"))
    with pytest.raises(SourceError, match=r"l1\.csv: line 2 is not valid utf-8; set csv.encoding"):
        stage(engine, tmp_path, "l1.csv")
    with pytest.raises(SourceError, match="unknown encoding 'klingon'"):
        stage(engine, tmp_path, "l1.csv", csv={"encoding": "klingon"})


def test_headerless_file_names_fields_column1_to_n(engine: DuckDBEngine, tmp_path: Path) -> None:
    (tmp_path / "nohead.csv").write_text("R1,5,good\nR2,4,fine\n")
    staged = stage(engine, tmp_path, "nohead.csv", csv={"header": False})
    assert staged.fields == ["column1", "column2", "column3"]
    assert rows(engine, staged, "column1", "column3", "_line") == [
        ("R1", "good", 1),
        ("R2", "fine", 2),
    ]


def test_skip_rows_before_the_header(engine: DuckDBEngine, tmp_path: Path) -> None:
    (tmp_path / "s.csv").write_text("Export of 2024-05-01\n(c) Shop\nid,total\nO1,5\nO2\nO3,7\n")
    staged = stage(engine, tmp_path, "s.csv", csv={"skip_rows": 2})
    assert staged.fields == ["id", "total"]
    assert rows(engine, staged, "id", "total", "_line") == [("O1", "5", 4), ("O3", "7", 6)]
    assert [line for _, line, _, _ in rejects(engine, staged)] == [5]


def test_duplicate_and_empty_header_names_are_made_unique(
    engine: DuckDBEngine, tmp_path: Path
) -> None:
    (tmp_path / "d.csv").write_text("id,id,,_row\n1,2,3,4\n")
    staged = stage(engine, tmp_path, "d.csv")
    assert staged.fields == ["id", "id_1", "column3", "_row_1"]
    assert rows(engine, staged, "id_1", "_row_1", "_row") == [("2", "4", 1)]


# Several files ---------------------------------------------------------------------------------
def test_a_glob_of_csv_files_with_differing_columns(engine: DuckDBEngine, tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "2024-01.csv").write_text("review_id,rating\nR1,5\nR2,4\n")
    (exports / "2024-02.csv").write_text("review_id;rating;title\nR3;3;Meh\nR4;x;y;z\n")
    (exports / "2024-03.csv").write_text("title,review_id\nGreat,R5\n")
    staged = stage(engine, tmp_path, "exports/2024-*.csv")
    assert staged.files == ["2024-01.csv", "2024-02.csv", "2024-03.csv"]
    assert staged.fields == ["review_id", "rating", "title"]
    assert rows(engine, staged, "_file", "_row", "_line", "review_id", "rating", "title") == [
        ("2024-01.csv", 1, 2, "R1", "5", None),
        ("2024-01.csv", 2, 3, "R2", "4", None),
        ("2024-02.csv", 1, 2, "R3", "3", "Meh"),
        ("2024-03.csv", 1, 2, "R5", None, "Great"),
    ]
    assert [(f, line) for f, line, _, _ in rejects(engine, staged)] == [("2024-02.csv", 3)]


def test_a_glob_of_parquet_files(engine: DuckDBEngine, tmp_path: Path) -> None:
    pq.write_table(pa.table({"id": ["A", "B"], "n": [1, 2]}), tmp_path / "p1.parquet")
    pq.write_table(pa.table({"id": ["C"], "flag": [True]}), tmp_path / "p2.parquet")
    staged = stage(engine, tmp_path, "p*.parquet")
    assert sorted(staged.fields) == ["flag", "id", "n"]
    assert rows(engine, staged, "_file", "_row", "id", "n", "flag") == [
        ("p1.parquet", 1, "A", 1, None),
        ("p1.parquet", 2, "B", 2, None),
        ("p2.parquet", 1, "C", None, True),
    ]


def test_a_glob_of_json_lines_files(engine: DuckDBEngine, tmp_path: Path) -> None:
    (tmp_path / "e1.jsonl").write_text('{"id": 1}\n\n{"id": 2}\n')
    (tmp_path / "e2.jsonl").write_text('{"id": 3}\n{broken\n')
    staged = stage(engine, tmp_path, "e*.jsonl")
    assert staged.json and staged.fields == []
    got = rows(engine, staged, "_file", "_row", "_line", "_json")
    assert [(f, r, line, json.loads(j)["id"]) for f, r, line, j in got] == [
        ("e1.jsonl", 1, 1, 1),
        ("e1.jsonl", 2, 3, 2),
        ("e2.jsonl", 1, 1, 3),
    ]
    assert [(f, line) for f, line, _, _ in rejects(engine, staged)] == [("e2.jsonl", 2)]


# JSON documents --------------------------------------------------------------------------------
def test_json_array_of_objects_and_a_single_object(engine: DuckDBEngine, tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text('[{"id": "A", "x": {"y": 1}}, 7, {"id": "B"}]')
    (tmp_path / "b.json").write_text('{\n  "id": "C"\n}\n')
    staged = stage(engine, tmp_path, "*.json")
    got = rows(engine, staged, "_file", "_row", "_json")
    assert [(f, r, json.loads(j)["id"]) for f, r, j in got] == [
        ("a.json", 1, "A"),
        ("a.json", 2, "B"),
        ("b.json", 1, "C"),
    ]
    assert json.loads(got[0][2])["x"] == {"y": 1}
    assert [(f, reason, text) for f, _, reason, text in rejects(engine, staged)] == [
        ("a.json", "element 2 is not a JSON object", "7")
    ]


def test_malformed_json_file_is_named(engine: DuckDBEngine, tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('[{"id": "A"}, {"id": ')
    with pytest.raises(SourceError, match=r"bad\.json: not valid JSON"):
        stage(engine, tmp_path, "bad.json")


# Excel -----------------------------------------------------------------------------------------
def write_xlsx(path: Path, sheets: dict[str, list[list[Any]]]) -> None:
    book = openpyxl.Workbook()
    book.remove(book.active)
    for title, data in sheets.items():
        ws = book.create_sheet(title)
        for row in data:
            ws.append(row)
    book.save(path)


def test_xlsx_values_come_as_csv_like_text(engine: DuckDBEngine, tmp_path: Path) -> None:
    write_xlsx(
        tmp_path / "crm.xlsx",
        {
            "Customers": [
                ["customer_id", "signup", "last_seen", "orders", "spend", "vip"],
                ["C1", dt.date(2024, 3, 5), dt.datetime(2024, 3, 5, 14, 30, 0), 12, 19.5, True],
                [],  # an empty row: no record, but it keeps its row number
                ["C2", None, None, 3, 7.25, False],
            ],
            "Other": [["a"], ["b"]],
        },
    )
    staged = stage(engine, tmp_path, "crm.xlsx")
    assert staged.fields == ["customer_id", "signup", "last_seen", "orders", "spend", "vip"]
    assert rows(engine, staged, "customer_id", "signup", "last_seen", "orders", "spend", "vip") == [
        ("C1", "2024-03-05", "2024-03-05 14:30:00", "12", "19.5", "true"),
        ("C2", None, None, "3", "7.25", "false"),
    ]
    assert rows(engine, staged, "_row", "_line") == [(1, 2), (2, 4)]
    other = stage(engine, tmp_path, "crm.xlsx", sheet="Other")
    assert other.fields == ["a"] and rows(engine, other, "a") == [("b",)]
    with pytest.raises(SourceError, match=r"no sheet named 'Nope'"):
        stage(engine, tmp_path, "crm.xlsx", sheet="Nope")


def test_xlsx_row_wider_than_its_header_is_rejected(engine: DuckDBEngine, tmp_path: Path) -> None:
    write_xlsx(tmp_path / "w.xlsx", {"S": [["id", "n"], ["A", 1], ["B", 2, "stray"], ["C"]]})
    staged = stage(engine, tmp_path, "w.xlsx")
    assert rows(engine, staged, "id", "n", "_line") == [("A", "1", 2), ("C", None, 4)]
    got = rejects(engine, staged)
    assert [(line, text) for _, line, _, text in got] == [(3, "B\t2\tstray")]


# Through the loader ----------------------------------------------------------------------------
def test_quarantine_names_the_file_of_each_bad_row(tmp_path: Path) -> None:
    (tmp_path / "r1.csv").write_text("review_id,rating\nR1,5\nR2,five\n")
    (tmp_path / "r2.csv").write_text("review_id,rating\nR3,4\nR4,3,extra\nR5,1\n")
    source = {"kind": "reviews", "path": str(tmp_path / "r*.csv"), "max_bad_fraction": 0.9}
    ws = Workspace.init(tmp_path / "ws", sources={"reviews": source}, overwrite=True)
    try:
        result = ws.ingest.run()
        assert result.sources[0].rows_loaded == 3
        q = ws.engine.fetch_df("SELECT file, line, reason FROM quarantine ORDER BY file, line")
        assert q["file"].tolist() == ["r1.csv", "r2.csv"]
        assert q["line"].tolist() == [3, 3]
        assert q["reason"][0] == "rating: expected a whole number, got 'five'"
        assert q["reason"][1].startswith("TOO MANY COLUMNS")
        assert result.sources[0].examples[0].startswith("r1.csv row 2 (line 3): rating")
        loaded = ws.engine.fetch_df("SELECT _file, _row, review_id FROM raw_reviews ORDER BY 1, 2")
        assert loaded.values.tolist() == [
            ["r1.csv", 1, "R1"],
            ["r2.csv", 1, "R3"],
            ["r2.csv", 2, "R5"],
        ]
    finally:
        ws.close()


def test_rows_of_a_large_file_read_in_parallel_keep_their_file_positions(tmp_path: Path) -> None:
    # 300,000 records span three of DuckDB's row groups, read by several threads: every
    # row must still carry its own position, and a bad row its own row and line.
    n, bad = 300_000, {1, 150_001, 299_999}
    with open(tmp_path / "big.csv", "w") as f:
        f.write("review_id,rating\n")
        for i in range(1, n + 1):
            f.write(f"R{i},{'x' if i in bad else i % 5 + 1}\n")
    source = {"kind": "reviews", "path": str(tmp_path / "big.csv")}
    ws = Workspace.init(tmp_path / "ws", sources={"reviews": source}, overwrite=True)
    try:
        ws.engine.sql("SET threads = 4")
        result = ws.ingest.run()
        assert result.sources[0].rows_loaded == n - len(bad)
        q = ws.engine.sql('SELECT "row", line FROM quarantine ORDER BY "row"').fetchall()
        assert q == [(i, i + 1) for i in sorted(bad)]
        misplaced = ws.engine.scalar(
            "SELECT count(*) FROM raw_reviews WHERE _row <> CAST(substr(review_id, 2) AS BIGINT)"
        )
        assert misplaced == 0
    finally:
        ws.close()
