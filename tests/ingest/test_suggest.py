"""``personify sources suggest``: entries guessed for exports with their own column names.

Each expected entry below was worked out by hand from the file the test writes; every
suggestion is also read back the way ``personify check`` reads personify.yaml.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from typer.testing import CliRunner

from personify import Workspace
from personify.cli import app
from personify.config import CONFIG_FILE, Config, LocaleConfig, parse_config, read_yaml
from personify.ingest.suggest import SourceSuggestion, suggest_source, to_yaml


def _parsed(suggestion: SourceSuggestion) -> Config:
    """The YAML text pasted under 'sources:' and validated as personify check does."""
    data = read_yaml("version: 1\nsources:\n" + to_yaml(suggestion))
    assert data["sources"] == {suggestion.name: suggestion.entry}
    return parse_config(data)


def _workspace(tmp_path: Path, suggestion: SourceSuggestion) -> Workspace:
    (tmp_path / CONFIG_FILE).write_text(
        "version: 1\nsources:\n" + to_yaml(suggestion), encoding="utf-8"
    )
    return Workspace(tmp_path)


# The smoke test's small shop: an orders export in US dollars, nothing else.
ORDERS = (
    "Order Number,Customer No,Order Date,Order Total (USD)\n"
    "SO-000001,10000,2024-01-03,19.99\n"
    "SO-000002,10001,2024-02-10,250.00\n"
    "SO-000003,10000,2024-03-15,12.50\n"
)


def test_orders_export_with_its_own_names_in_usd_loads_as_suggested(tmp_path: Path) -> None:
    path = tmp_path / "orders_export.csv"
    path.write_text(ORDERS, encoding="utf-8")
    s = suggest_source(path, relative_to=tmp_path)
    assert s.name == "orders_export"
    assert s.entry == {
        "kind": "orders",
        "path": "orders_export.csv",
        "columns": {
            "order_id": {"source": "Order Number"},
            "account_id": {"source": "Customer No"},
            "order_ts": {"source": "Order Date"},
            "total": {"source": "Order Total (USD)", "currency": "USD"},
        },
    }
    assert s.missing == []
    config = _parsed(s)
    assert config.sources["orders_export"].columns["total"].currency == "USD"
    with _workspace(tmp_path, s) as ws:
        result = ws.ingest.run()
        assert result.sources[0].rows_loaded == 3
        assert result.sources[0].rows_quarantined == 0
        rows = ws.engine.sql(
            "SELECT order_id, account_id, order_ts, total FROM raw_orders_export ORDER BY _row"
        ).fetchall()
    assert rows[1] == ("SO-000002", "10001", dt.datetime(2024, 2, 10), 250.0)
    assert sum(r[3] for r in rows) == pytest.approx(19.99 + 250.00 + 12.50)


GERMAN_CRM = (
    "Kundennummer;Vorname;Nachname;Geburtsdatum;Geschlecht;E-Mail;Telefon\n"
    "K-1001;Anna;Müller;31.12.1980;w;anna.mueller@example.de;+49 30 1234567\n"
    "K-1002;Bernd;Schmidt;05.03.1975;m;b.schmidt@example.de;+49 89 7654321\n"
    "K-1003;Chris;Weber;17.08.1992;d;chris.weber@example.org;+49 40 5550123\n"
)


def test_german_crm_export_maps_names_dates_gender_and_contacts(tmp_path: Path) -> None:
    path = tmp_path / "kunden.csv"
    path.write_text(GERMAN_CRM, encoding="utf-8")
    s = suggest_source(path, name="crm", relative_to=tmp_path)
    assert s.entry["kind"] == "customers"
    assert s.entry["columns"] == {
        "customer_id": {"source": "Kundennummer"},
        "first_name": {"source": "Vorname"},
        "last_name": {"source": "Nachname"},
        "email": {"source": "E-Mail"},
        "phone": {"source": "Telefon"},
        "birth_date": {"source": "Geburtsdatum", "format": "%d.%m.%Y"},
        "gender": {"source": "Geschlecht", "values": {"d": "other", "m": "male", "w": "female"}},
    }
    assert "attributes" not in s.entry
    _parsed(s)
    with _workspace(tmp_path, s) as ws:
        result = ws.ingest.run()
        assert result.sources[0].rows_quarantined == 0
        rows = ws.engine.sql(
            "SELECT customer_id, birth_date, gender FROM raw_crm ORDER BY _row"
        ).fetchall()
    assert rows == [
        ("K-1001", dt.date(1980, 12, 31), "female"),
        ("K-1002", dt.date(1975, 3, 5), "male"),
        ("K-1003", dt.date(1992, 8, 17), "other"),
    ]


def test_one_name_column_becomes_first_and_last_name_expressions(tmp_path: Path) -> None:
    path = tmp_path / "kunden.csv"
    path.write_text(
        "Kunden-Nr.,Name,E-Mail-Adresse,Newsletter\n"
        "1001,Anna Müller,anna@example.de,ja\n"
        "1002,Bernd Schmidt,bernd@example.de,nein\n",
        encoding="utf-8",
    )
    s = suggest_source(path)
    assert s.entry["kind"] == "customers"
    assert s.entry["columns"] == {
        "customer_id": {"source": "Kunden-Nr."},
        "first_name": {"expr": "first_name(`Name`)"},
        "last_name": {"expr": "last_name(`Name`)"},
        "email": {"source": "E-Mail-Adresse"},
        "marketing_consent": {"source": "Newsletter", "values": {"ja": True, "nein": False}},
    }
    _parsed(s)


TELCO = (
    "customerID,gender,SeniorCitizen,tenure,Contract,MonthlyCharges,Churn\n"
    "7590-VHVEG,Female,0,1,Month-to-month,29.85,No\n"
    "5575-GNVDE,Male,0,34,One year,56.95,No\n"
    "3668-QPYBK,Male,0,2,Month-to-month,53.85,Yes\n"
    "7795-CFOCW,Male,0,45,One year,42.30,No\n"
    "9237-HQITU,Female,0,2,Month-to-month,70.70,Yes\n"
    "9305-CDSKC,Female,1,8,Month-to-month,99.65,Yes\n"
    "7892-POOKP,Female,1,28,Two year,104.80,Yes\n"
    "6388-TABGU,Male,0,62,One year,56.15,No\n"
)


def test_telco_table_is_customer_attributes_with_a_role_per_column(tmp_path: Path) -> None:
    path = tmp_path / "telco.csv"
    path.write_text(TELCO, encoding="utf-8")
    s = suggest_source(path)
    assert s.entry["kind"] == "customer_attributes"
    assert s.entry["columns"] == {"customer_id": {"source": "customerID"}}
    assert s.entry["attributes"] == {
        "gender": {"role": "categorical", "label": "Gender"},
        "senior_citizen": {
            "source": "SeniorCitizen",
            "role": "boolean",
            "label": "Senior Citizen",
            "values": {"1": True, "0": False},
        },
        "tenure": {"role": "numeric", "label": "Tenure"},
        "contract": {"source": "Contract", "role": "categorical", "label": "Contract"},
        "monthly_charges": {
            "source": "MonthlyCharges",
            "role": "numeric",
            "label": "Monthly Charges",
        },
        "churn": {
            "source": "Churn",
            "role": "boolean",
            "label": "Churn",
            "values": {"Yes": True, "No": False},
        },
    }
    config = _parsed(s)
    assert config.sources["telco"].attributes["churn"].values == {"Yes": True, "No": False}


SURVEY = (
    "Response ID,Submitted At,Email,How satisfied are you? (1-5),"
    "How likely are you to recommend us? (0-10),Comment\n"
    "R1,2024-03-01 10:15:00,a@example.com,4,9,The delivery was quick and the staff friendly.\n"
    "R2,2024-03-02 11:00:00,b@example.com,2,3,My parcel arrived late and the box was damaged.\n"
    "R3,2024-03-02 12:30:00,c@example.com,5,10,\n"
    "R4,2024-03-03 09:45:00,d@example.com,3,7,Prices went up but the quality is still fine.\n"
)


def test_survey_questions_become_scales_and_the_comment_its_open_answer(tmp_path: Path) -> None:
    path = tmp_path / "survey.csv"
    path.write_text(SURVEY, encoding="utf-8")
    s = suggest_source(path)
    assert s.entry["kind"] == "survey_responses"
    assert s.entry["columns"] == {
        "response_id": {"source": "Response ID"},
        "email": {"source": "Email"},
        "submitted_ts": {"source": "Submitted At"},
        "open_answer": {"source": "Comment"},
    }
    # Answers seen: 2-5 and 3-10; the ranges come from '(1-5)' and '(0-10)' in the names.
    assert s.entry["scales"] == {
        "how_satisfied_are_you": {
            "source": "How satisfied are you? (1-5)",
            "label": "How satisfied are you?",
            "range": [1, 5],
        },
        "how_likely_are_you_to_recommend_us": {
            "source": "How likely are you to recommend us? (0-10)",
            "label": "How likely are you to recommend us?",
            "range": [0, 10],
        },
    }
    config = _parsed(s)
    assert config.sources["survey"].scales["how_satisfied_are_you"].range == (1, 5)


def test_survey_without_ranges_in_names_and_a_second_text_column(tmp_path: Path) -> None:
    path = tmp_path / "nps.csv"
    path.write_text(
        "response_id,q_service,q_nps,feedback,what_to_improve\n"
        "1,2,0,Fine overall really,Opening hours on Sundays would help a lot\n"
        "2,4,8,Friendly people here,Nothing much to say about it at the moment\n"
        "3,3,6,Too slow at the till,More staff at the checkout in the evenings\n",
        encoding="utf-8",
    )
    s = suggest_source(path, name="nps")
    assert s.entry["kind"] == "survey_responses"
    assert s.entry["columns"] == {"open_answer": {"source": "feedback"}}
    # Seen 2-4 (a five-point scale from 1) and 0-8 (from 0, up to 10).
    assert s.entry["scales"] == {
        "q_service": {"label": "Q service", "range": [1, 5]},
        "q_nps": {"label": "Q nps", "range": [0, 10]},
    }
    assert s.entry["answers"] == {"what_to_improve": {"label": "What to improve"}}
    _parsed(s)


def test_day_or_month_first_follows_the_locale_and_says_it_guessed(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text(
        "order_no,cust_id,created_at,amount\n"
        "A1,C1,03/04/2024 10:15,1234.50\n"
        "A2,C2,05/06/2024 11:00,99.00\n",
        encoding="utf-8",
    )
    guessed = suggest_source(path)
    us = suggest_source(path, locale=LocaleConfig(country="US"))
    assert guessed.entry["columns"]["order_ts"] == {
        "source": "created_at",
        "format": "%d/%m/%Y %H:%M",
    }
    assert us.entry["columns"]["order_ts"]["format"] == "%m/%d/%Y %H:%M"
    assert any("%m/%d/%Y %H:%M" in n and "day first" in n for n in guessed.notes)
    _parsed(guessed)
    with _workspace(tmp_path, us) as ws:
        ws.ingest.run()
        rows = ws.engine.sql("SELECT order_ts FROM raw_sales ORDER BY _row").fetchall()
    assert rows == [(dt.datetime(2024, 3, 4, 10, 15),), (dt.datetime(2024, 5, 6, 11, 0),)]


def test_money_signs_in_values_are_dropped_by_an_expression(tmp_path: Path) -> None:
    path = tmp_path / "sales.csv"
    path.write_text(
        'order_no,cust_id,created_at,amount\nA1,C1,2024-03-04,"$1,234.50"\nA2,C2,2024-03-05,$99.00\n',
        encoding="utf-8",
    )
    s = suggest_source(path)
    # '$1,234.50': the sign dropped, the comma read as a thousands separator.
    assert s.entry["columns"]["total"] == {
        "expr": 'replace(`amount`, "$", "")',
        "decimal": ".",
        "currency": "USD",
    }
    assert any("'$' taken as USD" in n for n in s.notes)
    _parsed(s)


def test_decimal_comma_identifiers_by_values_and_personal_columns_left_out(
    tmp_path: Path,
) -> None:
    path = tmp_path / "bestellungen.csv"
    path.write_text(
        "Bestellnummer;Datum;Betrag (€);Kontakt;Vorname;Gutschein\n"
        "B-1;2024-05-01;1.234,56;kim@example.com;Kim;SOMMER\n"
        "B-2;2024-05-02;99,90;lou@example.com;Lou;\n",
        encoding="utf-8",
    )
    s = suggest_source(path)
    assert s.entry["kind"] == "orders"
    assert s.entry["columns"] == {
        "order_id": {"source": "Bestellnummer"},
        "email": {"source": "Kontakt"},  # found by its values
        "order_ts": {"source": "Datum"},
        "discount_code": {"source": "Gutschein"},
        "total": {"source": "Betrag (€)", "decimal": ",", "currency": "EUR"},
    }
    # A first name has no place in an orders source, and must not become an attribute.
    assert "attributes" not in s.entry
    assert any("'Vorname' (personal data)" in n for n in s.notes)
    assert not any("Kim" in n or "kim@" in n for n in s.notes)
    _parsed(s)


def test_kind_can_be_forced_and_a_missing_required_column_is_flagged(tmp_path: Path) -> None:
    path = tmp_path / "contacts.csv"
    path.write_text("email,city\nx@example.com,Lyon\ny@example.com,Porto\n", encoding="utf-8")
    s = suggest_source(path, kind="customers")
    assert s.entry["kind"] == "customers"
    assert s.missing == ["customer_id"]
    text = to_yaml(s)
    assert "# customer_id: {source: ...}" in text
    _parsed(s)


def test_cli_prints_plain_yaml_even_when_names_look_like_markup(tmp_path: Path) -> None:
    path = tmp_path / "crm.csv"
    path.write_text("customer_id,[bold]Segment[/bold]\nC1,A\nC2,B\nC3,A\nC4,A\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["sources", "suggest", str(path), "--name", "crm"])
    assert result.exit_code == 0, result.output
    data = read_yaml("sources:\n" + result.stdout)
    entry = data["sources"]["crm"]
    assert entry["attributes"]["bold_segment_bold"]["source"] == "[bold]Segment[/bold]"
    assert "[bold]Segment[/bold]" in result.stdout
    parse_config(data)


def test_cli_reports_an_unreadable_file_without_a_traceback(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["sources", "suggest", str(tmp_path / "nope.csv")])
    assert result.exit_code == 1
    assert "file not found" in result.output
    assert "Traceback" not in result.output


def test_json_lines_events_read_by_dotted_paths_skipping_a_broken_line(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_text(
        '{"messageId":"m1","type":"track","userId":"u1","timestamp":"2024-03-01T10:00:00Z",'
        '"event":"Order Completed","properties":{"revenue":"19.90"},"context":{"channel":"web"}}\n'
        "{broken\n"
        '{"messageId":"m2","type":"identify","userId":"u1","timestamp":"2024-03-01T10:05:00Z",'
        '"traits":{"email":"x@example.com"},"properties":{"revenue":"5"}}\n',
        encoding="utf-8",
    )
    s = suggest_source(path)
    assert s.sample_rows == 2
    assert s.entry["kind"] == "events"
    # messageId, userId, traits.email, context.channel: the kind's own paths, nothing to map.
    assert "columns" not in s.entry
    assert s.entry["attributes"] == {
        "properties_revenue": {
            "source": "properties.revenue",
            "role": "numeric",
            "label": "Revenue",
        }
    }
    _parsed(s)


def test_parquet_types_need_no_formats_and_products_get_no_attributes(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = tmp_path / "catalogue.parquet"
    table = {
        "sku": ["A", "B", "C"],
        "Product Name": ["Mug", "Tea", "Pot"],
        "Kategorie": ["Home", "Food", "Home"],
        "Preis": [9.5, 3.25, 25.0],
        "launched": [dt.date(2020, 1, 1)] * 3,
    }
    pq.write_table(pa.table(table), path)
    s = suggest_source(path)
    assert s.entry == {
        "kind": "products",
        "path": str(path),
        "columns": {
            "product_id": {"source": "sku"},
            "product_name": {"source": "Product Name"},
            "category": {"source": "Kategorie"},
            "price": {"source": "Preis"},
        },
    }
    assert any("'launched'" in n and "raw_catalogue" in n for n in s.notes)
    _parsed(s)


def test_latin1_export_gets_its_encoding_and_an_address_is_no_attribute(tmp_path: Path) -> None:
    path = tmp_path / "kunden.csv"
    path.write_bytes(
        "Kundennummer;Straße;Geschlecht\n1;Hauptstraße 1;m\n2;Weg 2;w\n".encode("latin-1")
    )
    s = suggest_source(path)
    assert s.entry["csv"] == {"encoding": "latin-1"}
    assert s.entry["columns"] == {
        "customer_id": {"source": "Kundennummer"},
        "gender": {"source": "Geschlecht", "values": {"m": "male", "w": "female"}},
    }
    assert "attributes" not in s.entry
    assert any("'Straße' (personal data)" in n for n in s.notes)
    _parsed(s)
