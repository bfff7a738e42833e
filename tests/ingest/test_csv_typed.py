"""The typed CSV read (a fast path) against the text path it stands in for.

Ingest lets DuckDB's CSV parser type some fields itself (``csv_typed_fields``). That
is only right if every value the parser accepts is one the text path (trim, cast,
offsets) accepts too, with the same value; a value the parser rejects sends the file
down the text path, so rejects may differ. Checked here on generated values, and on
whole loads: a clean file loads the same either way, and a file with a bad row keeps
that row in quarantine as the file writes it.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from personify import Workspace
from personify.config import ColumnSpec, LocaleConfig
from personify.engine import DuckDBEngine
from personify.ingest import loader
from personify.ingest._columns import compile_column, csv_typed_fields

NUMBER_PARTS = ["1", "5", "0", "12", ".", "e", "E", "-", "+", " ", "\t", "_", ",", "inf", "nan"]
number_text = st.one_of(
    st.lists(st.sampled_from(NUMBER_PARTS), min_size=1, max_size=6).map("".join),
    st.floats(allow_nan=False).map(repr),
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00"),
        max_size=8,
    ),
)


@st.composite
def timestamp_text(draw: st.DrawFn) -> str:
    year = draw(st.sampled_from(["2020", "1999", "0001", "10000", "20", "-2020"]))
    month = draw(st.sampled_from(["01", "1", "12", "13", "00"]))
    day = draw(st.sampled_from(["01", "9", "29", "30", "31", "32"]))
    sep = draw(st.sampled_from([" ", "T", "  ", "/"]))
    clock = draw(st.sampled_from(["", "10:00", "10:00:00", "23:59:59.123456", "24:00:00", "1:2:3"]))
    zone = draw(
        st.sampled_from(
            [
                "",
                "Z",
                "z",
                "+02:00",
                "-05",
                "+0530",
                " +0200",
                " UTC",
                " Europe/Berlin",
                "BC",
                " (BC)",
            ]
        )
    )
    pad = draw(st.sampled_from(["", " ", "\t"]))
    date_sep = draw(st.sampled_from(["-", "/", "."]))
    text = f"{year}{date_sep}{month}{date_sep}{day}" + (f"{sep}{clock}" if clock else "") + zone
    return pad + text + draw(st.sampled_from(["", " "]))


def _compare(tmp_path: Path, values: list[str], col_type: str) -> tuple[int, list[Any]]:
    """Rows the typed read accepted, and those where its value differs from the text path's."""
    path = tmp_path / "values.csv"
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f, quoting=csv.QUOTE_MINIMAL)
        writer.writerow(["idx", "x"])
        writer.writerows([i, v] for i, v in enumerate(values))
    spec = ColumnSpec(type=col_type)
    typed_as = csv_typed_fields({"x": spec}, set())["x"]
    engine = DuckDBEngine(tmp_path / f"cmp{len(list(tmp_path.iterdir()))}.duckdb")
    try:

        def value_sql(native: str | None) -> str:
            c = compile_column(
                "x",
                spec,
                "x",
                raw_ref="__r",
                text_ref="__t",
                value_ref="__v",
                native=native,
                personal=False,
                locale=LocaleConfig(),
                today=dt.date.today(),
            )
            return (
                f"SELECT idx, {c.value} AS v FROM (SELECT idx, __r, {c.text} AS __t "
                "FROM (SELECT idx, x AS __r FROM {src}))"
            )

        reader = (
            f"read_csv('{path}', header = true, auto_detect = false, strict_mode = true, "
            "store_rejects = true, quote = '\"', escape = '\"', "
            "columns = {{'idx': 'BIGINT', 'x': '{t}'}})"
        )
        text = dict(engine.sql(value_sql(None).format(src=reader.format(t="VARCHAR"))).fetchall())
        typed = dict(
            engine.sql(
                value_sql(
                    "TIMESTAMP WITH TIME ZONE" if typed_as == "TIMESTAMPTZ" else typed_as
                ).format(src=reader.format(t=typed_as))
            ).fetchall()
        )
    finally:
        engine.close()
    differ = [
        (values[i], v, text.get(i))
        for i, v in typed.items()
        if not (v == text.get(i) or (v != v and text.get(i) != text.get(i)))  # NaN is NaN
    ]
    return len(typed), differ


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(number_text, min_size=20, max_size=60))
@example(
    [
        "1",
        " 1.5 ",
        "\t2",
        "1e5",
        "+5",
        "-0",
        ".5",
        "5.",
        "inf",
        "NaN",
        "1_000",
        "1,5",
        "0x10",
        "１２",
        "1e400",
    ]
)
def test_numbers_the_parser_accepts_read_as_the_text_path_reads_them(
    tmp_path: Path, values: list[str]
) -> None:
    _, differ = _compare(tmp_path, values, "number")
    assert differ == []


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(timestamp_text(), min_size=20, max_size=60))
@example(
    [
        "2020-01-01 10:00:00",
        "2020-01-01 10:00:00+02:00",
        "2020-01-01T10:00:00Z",
        " 2020-01-01",
        "2020-01-01 10:00:00-05",
        "2020-01-01 10:00:00 Europe/Berlin",
        "2020-01-01 10:00:00 UTC",
        "2020-01-01 10:00:00 +0200",
        "2020-01-01BC",
        "2020-01-01 24:00:00",
    ]
)
def test_timestamps_the_parser_accepts_read_as_the_text_path_reads_them(
    tmp_path: Path, values: list[str]
) -> None:
    _, differ = _compare(tmp_path, values, "timestamp")
    assert differ == []


def test_the_examples_are_accepted_by_both_paths(tmp_path: Path) -> None:
    # The comparison above is not vacuous: plain values go through the typed read.
    accepted, differ = _compare(tmp_path, ["1.5", " 2 ", "1e3"], "number")
    assert (accepted, differ) == (3, [])
    accepted, differ = _compare(
        tmp_path, ["2020-01-01 10:00:00+02:00", "2020-01-01T10:00:00Z", "2021-03-04"], "timestamp"
    )
    assert (accepted, differ) == (3, [])


def test_only_numbers_and_unzoned_timestamps_are_typed_by_the_reader() -> None:
    columns = {
        "total": ColumnSpec(type="number"),
        "paid_at": ColumnSpec(type="timestamp"),
        "local_at": ColumnSpec(type="timestamp", timezone="Europe/Berlin"),
        "born": ColumnSpec(type="date"),
        "units": ColumnSpec(type="integer"),
        "euros": ColumnSpec(type="number", decimal=","),
        "mapped": ColumnSpec(type="number", values={"n/a": None}),
        "net": ColumnSpec(type="number", source="amount"),
        "gross": ColumnSpec(type="number", source="amount"),  # one field, two columns
        "fee": ColumnSpec(type="number"),
        "name": ColumnSpec(type="string"),
    }
    assert csv_typed_fields(columns, expr_fields={"fee"}) == {
        "total": "DOUBLE",
        "paid_at": "TIMESTAMPTZ",
    }


# Whole loads ----------------------------------------------------------------------------------
ORDERS = "order_id,account_id,order_ts,channel,total\n" + "".join(
    f"O{i},A{i % 7},2024-0{i % 9 + 1}-1{i % 10} 1{i % 10}:30:00{'+02:00' if i % 3 == 0 else ''},"
    f"{('web', 'app', 'store')[i % 3]},{i * 1.25:.2f}\n"
    for i in range(1, 400)
)


def _load(tmp_path: Path, name: str, text: str) -> Workspace:
    (tmp_path / f"{name}.csv").write_text(text)
    source = {"kind": "orders", "path": str(tmp_path / f"{name}.csv"), "max_bad_fraction": 0.5}
    ws = Workspace.init(tmp_path / name, sources={"orders": source}, overwrite=True)
    ws.ingest.run()
    return ws


def _raw(ws: Workspace) -> list[tuple[Any, ...]]:
    return ws.engine.sql(
        "SELECT * EXCLUDE (_batch_id, _loaded_at, _row_hash, _file) FROM raw_orders ORDER BY _row"
    ).fetchall()


def test_a_clean_file_loads_the_same_typed_or_as_text(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged = []
    real = loader.stage_files

    def spy(*args: Any, **kwargs: Any) -> Any:
        staged.append(real(*args, **kwargs))
        return staged[-1]

    monkeypatch.setattr(loader, "stage_files", spy)
    fast = _load(tmp_path, "fast", ORDERS)
    try:
        assert [s.typed for s in staged] == [True]  # the fast path was taken, and kept
        fast_rows = _raw(fast)
    finally:
        fast.close()
    monkeypatch.setattr(
        "personify.ingest.loader.csv_typed_fields", lambda columns, fields: {}, raising=True
    )
    slow = _load(tmp_path, "slow", ORDERS)
    try:
        assert [s.typed for s in staged] == [True, False]
        assert _raw(slow) == fast_rows
        # Offsets were honoured: O3's 13:30+02:00 is 11:30 UTC.
        ts = slow.engine.scalar("SELECT order_ts FROM raw_orders WHERE order_id = 'O3'")
        assert ts == dt.datetime(2024, 4, 13, 11, 30)
    finally:
        slow.close()
    assert len(fast_rows) == 399


def test_a_bad_row_in_a_typed_file_is_kept_as_the_file_writes_it(tmp_path: Path) -> None:
    text = ORDERS + "O900,A1,2024-01-01 10:00:00,web,-12.50\nO901,A1,2099-01-01,web,3.10\n"
    ws = _load(tmp_path, "bad", text)
    try:
        q = ws.engine.sql(
            'SELECT "row", line, reason, record FROM quarantine ORDER BY "row"'
        ).fetchall()
        assert [(r[0], r[1]) for r in q] == [(400, 401), (401, 402)]
        assert q[0][2] == "total: below the minimum 0.0, got '-12.50'"
        assert json.loads(q[0][3])["total"] == "-12.50"
        assert json.loads(q[1][3])["order_ts"] == "2099-01-01"
        assert ws.engine.count("raw_orders") == 399
    finally:
        ws.close()


def test_a_value_the_parser_cannot_cast_sends_the_file_down_the_text_path(tmp_path: Path) -> None:
    text = ORDERS + "O900,A1,2024-01-01 10:00:00,web,12.5 EUR\n"
    ws = _load(tmp_path, "cast", text)
    try:
        q = ws.engine.sql('SELECT "row", line, reason FROM quarantine').fetchall()
        assert q == [(400, 401, "total: expected a number, got '12.5 EUR'")]
        assert ws.engine.count("raw_orders") == 399
    finally:
        ws.close()
