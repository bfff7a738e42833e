"""A column's mapping: types kept from the kind, formats, value maps, units and every check."""

import datetime as dt
from pathlib import Path

import pytest

from personify import ConfigError, SourceError, Workspace
from personify.config import load_config


def _load(make_workspace, kind: str, text: str, **source) -> Workspace:
    ws = make_workspace({"src": (kind, "src.csv", text)}, src={"max_bad_fraction": 1.0, **source})
    ws.ingest.run()
    return ws


def _reasons(ws: Workspace) -> list[str]:
    return [r[0] for r in ws.engine.sql('SELECT reason FROM quarantine ORDER BY "row"').fetchall()]


def test_a_column_mapped_by_source_only_keeps_the_kinds_type_and_required_flag(
    make_workspace,
) -> None:
    ws = _load(
        make_workspace,
        "orders",
        "Order Number,Order Date,Order Total\nA1,2024-03-01,12.50\nA2,2024-03-02,\n",
        columns={
            "order_id": {"source": "Order Number"},
            "order_ts": {"source": "Order Date"},
            "total": {"source": "Order Total"},
        },
    )
    types = dict(
        ws.engine.sql("SELECT column_name, column_type FROM (DESCRIBE raw_src)").fetchall()
    )
    assert types["total"] == "DOUBLE" and types["order_ts"] == "TIMESTAMP"
    assert ws.engine.scalar("SELECT total FROM raw_src") == 12.5
    # total is required by the kind: the row without it is rejected, not loaded as NULL.
    assert _reasons(ws) == ["total: required value is missing"]


def test_day_first_dates_with_a_declared_format(make_workspace) -> None:
    ws = _load(
        make_workspace,
        "customers",
        "customer_id,birth_date\nC1,31/12/1980\nC2,12/31/1980\n",
        columns={"birth_date": {"format": "%d/%m/%Y"}},
    )
    assert ws.engine.scalar("SELECT birth_date FROM raw_src") == dt.date(1980, 12, 31)
    # The message names the expected format (birth dates are personal: the value stays out).
    assert _reasons(ws) == [
        "birth_date: expected a date written as %d/%m/%Y (value kept in quarantine)"
    ]


def test_time_zones_and_written_offsets_become_utc(make_workspace) -> None:
    ws = _load(
        make_workspace,
        "orders",
        "order_id,order_ts,total\n"
        "A1,2024-07-01 12:00:00,1\n"  # Berlin summer time: UTC+2
        "A2,2024-01-15 12:00:00,1\n"  # winter: UTC+1
        "A3,2024-07-01T12:00:00+05:30,1\n",  # its own offset wins over the zone
        columns={"order_ts": {"timezone": "Europe/Berlin"}},
    )
    got = [r[0] for r in ws.engine.sql("SELECT order_ts FROM raw_src ORDER BY _row").fetchall()]
    assert got == [
        dt.datetime(2024, 7, 1, 10, 0),
        dt.datetime(2024, 1, 15, 11, 0),
        dt.datetime(2024, 7, 1, 6, 30),
    ]


def test_decimal_comma_value_map_and_currency_conversion(make_workspace, tmp_path: Path) -> None:
    (tmp_path / "src.csv").write_text(
        "Nr;Datum;Betrag;Kanal;Storno\n"
        "A1;2024-01-01;1.234,50;Online;Nein\n"
        "A2;2024-01-02;9,99;Filiale;Ja\n",
        encoding="utf-8",
    )
    # Written as YAML on purpose: `Ja`/`Nein`/`Yes` keys must stay text, not YAML 1.1 booleans.
    ws_dir = tmp_path / "ws"
    ws_dir.mkdir()
    (ws_dir / "personify.yaml").write_text(
        f"""
locale: {{currency: GBP, exchange_rates: {{EUR: 0.85}}}}
sources:
  src:
    kind: orders
    path: {tmp_path / "src.csv"}
    columns:
      order_id: {{source: Nr}}
      order_ts: {{source: Datum}}
      total: {{source: Betrag, decimal: ",", currency: EUR}}
      channel: {{source: Kanal, values: {{Online: web, Filiale: store}}}}
      status: {{source: Storno, values: {{Ja: cancelled, Nein: completed}}}}
""",
        encoding="utf-8",
    )
    with Workspace(ws_dir) as ws:
        ws.ingest.run()
        rows = ws.engine.sql("SELECT total, channel, status FROM raw_src ORDER BY _row").fetchall()
    assert rows[0] == (pytest.approx(1234.5 * 0.85), "web", "completed")
    assert rows[1] == (pytest.approx(9.99 * 0.85), "store", "cancelled")


def test_yes_and_no_stay_text_in_value_maps(tmp_path: Path) -> None:
    (tmp_path / "personify.yaml").write_text(
        "sources:\n  t:\n    kind: customer_attributes\n    path: t.csv\n"
        "    attributes:\n      churn: {role: boolean, values: {Yes: true, No: false}}\n"
    )
    config = load_config(tmp_path / "personify.yaml")
    assert config.sources["t"].attributes["churn"].values == {"Yes": True, "No": False}


def test_a_money_column_in_another_currency_needs_a_rate(make_workspace) -> None:
    ws = make_workspace(
        {"src": ("orders", "src.csv", "order_id,order_ts,total\nA1,2024-01-01,5\n")},
        src={"columns": {"total": {"currency": "USD"}}},
    )
    ws.config = ws.config.model_copy(
        update={"locale": ws.config.locale.model_copy(update={"currency": "EUR"})}
    )
    with pytest.raises(SourceError, match=r"add locale.exchange_rates.USD"):
        ws.ingest.run()


def test_ranges_enumerations_and_whole_numbers(make_workspace) -> None:
    ws = _load(
        make_workspace,
        "order_lines",
        "order_id,product_id,quantity,unit_price\n"
        "O1,P1,2,5\n"
        "O1,P2,12.7,5\n"  # an integer column does not round 12.7 to 13
        "O2,P1,-1,5\n"
        "O3,XX,1,5\n",
        columns={
            "quantity": {"min": 1, "max": 100},
            "product_id": {"allowed": ["P1", "P2"]},
        },
    )
    assert ws.engine.count("raw_src") == 1
    assert _reasons(ws) == [
        "quantity: expected a whole number, got '12.7'",
        "quantity: below the minimum 1.0, got '-1'",
        "product_id: not one of the allowed values (P1, P2), got 'XX'",
    ]


def test_dates_in_the_future_or_before_1900_are_rejected(make_workspace) -> None:
    future = (dt.date.today() + dt.timedelta(days=30)).isoformat()
    ws = _load(
        make_workspace,
        "orders",
        f"order_id,order_ts,total\nA1,2024-01-01,5\nA2,{future},5\nA3,1899-12-31,5\n",
    )
    assert [r[0] for r in ws.engine.sql("SELECT order_id FROM raw_src").fetchall()] == ["A1"]
    reasons = _reasons(ws)
    assert reasons[0].startswith("order_ts: above the maximum ")
    assert reasons[1] == "order_ts: below the minimum 1900-01-01, got '1899-12-31'"


def test_malformed_emails_and_phones_are_rejected_without_echoing_them(make_workspace) -> None:
    ws = _load(
        make_workspace,
        "customers",
        "customer_id,email,phone\n"
        "C1,jane.doe@example.com,+44 7700 900123\n"
        "C2,jane.doe@@example,\n"
        "C3,,call me\n"
        "C4,,+1 212 55\n",
    )
    assert ws.engine.count("raw_src") == 1
    assert _reasons(ws) == [
        "email: not an e-mail address (value kept in quarantine)",
        "phone: not a phone number (value kept in quarantine)",
        "phone: not a phone number (value kept in quarantine)",
    ]


def test_duplicate_record_ids_keep_the_first_and_quarantine_the_rest(make_workspace) -> None:
    ws = _load(
        make_workspace, "customers", "customer_id,city\nC1,Leeds\nC2,York\nC1,Hull\nC1,Bath\n"
    )
    cities = ws.engine.sql("SELECT city FROM raw_src ORDER BY _row").fetchall()
    assert [c[0] for c in cities] == ["Leeds", "York"]
    assert _reasons(ws) == ["customer_id: duplicate record id (first at row 1)"] * 2


def test_custom_attributes_and_scales_are_typed_and_range_checked(make_workspace) -> None:
    ws = _load(
        make_workspace,
        "survey_responses",
        "id,mail,Price?,NPS,Plan\nR1,a@x.com,4,9,Gold\nR2,b@x.com,6,10,Basic\n",
        columns={"response_id": {"source": "id"}, "email": {"source": "mail"}},
        scales={
            "q_price": {"source": "Price?", "range": [1, 5], "label": "Price matters"},
            "q_nps": {"source": "NPS", "range": [0, 10]},
        },
        attributes={"plan": {"source": "Plan", "role": "categorical"}},
    )
    assert ws.engine.sql("SELECT q_price, q_nps, plan FROM raw_src").fetchall() == [
        (4.0, 9.0, "Gold")
    ]
    assert _reasons(ws) == ["q_price: above the maximum 5.0, got '6'"]


def test_misspelt_source_column_gets_a_suggestion(make_workspace) -> None:
    ws = make_workspace(
        {"src": ("orders", "src.csv", "order_id,order_ts,grand_total\nA1,2024-01-01,5\n")},
        src={"columns": {"total": {"source": "grand_totl"}}},
    )
    with pytest.raises(SourceError, match=r"no column 'grand_totl' \(did you mean 'grand_total'"):
        ws.ingest.run()


def test_config_problems_need_no_file_to_be_found(tmp_path: Path) -> None:
    (tmp_path / "personify.yaml").write_text(
        "sources:\n  a:\n    kind: orders\n    path: a.csv\n"
        "    columns:\n      amount: {source: x}\n"
        "  a:\n    kind: orders\n    path: b.csv\n"
    )
    with pytest.raises(ConfigError, match=r"the key 'a' appears twice \(first on line 2\)"):
        load_config(tmp_path / "personify.yaml")
    (tmp_path / "personify.yaml").write_text(
        "sources:\n  a:\n    kind: orders\n    path: a.csv\n"
        "    columns:\n      amount: {source: x}\n"
    )
    with pytest.raises(ConfigError, match=r"sources.a.columns.amount: the orders kind has no"):
        load_config(tmp_path / "personify.yaml")


def test_order_channels_outside_the_vocabulary_need_a_value_map(make_workspace) -> None:
    text = "order_id,order_ts,total,channel\nA1,2024-01-01,5,desktop\nA2,2024-01-02,-3,web\n"
    ws = _load(make_workspace, "orders", text)
    assert _reasons(ws) == [
        "channel: not one of the allowed values (web, app, store), got 'desktop'",
        "total: below the minimum 0.0, got '-3'",
    ]
    mapped = _load(
        make_workspace,
        "orders",
        text.replace("-3", "3"),
        columns={"channel": {"values": {"desktop": "web", "mobile": "app"}}},
    )
    assert mapped.engine.sql("SELECT channel FROM raw_src ORDER BY _row").fetchall() == [
        ("web",),
        ("web",),
    ]


def test_a_second_column_of_the_same_name_is_named_not_merged(make_workspace, caplog) -> None:
    text = "customer_id,email,city,email\nC1,a@x.com,Leeds,b@x.com\n"
    ws = _load(make_workspace, "customers", text)
    assert ws.engine.sql("SELECT email, email_1 FROM raw_src").fetchall() == [
        ("a@x.com", "b@x.com")
    ]
    assert "header column 4 is named 'email' like an earlier one" in caplog.text
