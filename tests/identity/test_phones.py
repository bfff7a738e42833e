"""Phones to E.164 for any country. Expected keys were worked out by hand from each
country's number plan: drop the national prefix 0 (not in the US), add +country code."""

import pytest

from personify.identity import linking
from personify.identity._phones import normalise_phone

UK_MOBILE = "+447412345678"
BERLIN = "+49301234567"
GOOGLE_US = "+16502530000"
PARIS = "+33142685300"


@pytest.mark.parametrize(
    ("region", "written", "e164"),
    [
        ("GB", "07412 345678", UK_MOBILE),
        ("GB", "07412345678", UK_MOBILE),
        ("GB", "(07412) 345 678", UK_MOBILE),
        ("GB", "07412-345-678", UK_MOBILE),
        ("GB", "7412-345-678", UK_MOBILE),  # national prefix left out
        ("GB", "+44 7412 345678", UK_MOBILE),
        ("GB", "+44 (0) 7412 345678", UK_MOBILE),
        ("GB", "0044 7412 345678", UK_MOBILE),
        ("GB", "020 7183 8750", "+442071838750"),
        ("DE", "030 1234567", BERLIN),
        ("DE", "(030) 123-4567", BERLIN),
        ("DE", "030/1234567", BERLIN),
        ("DE", "+49 30 1234567", BERLIN),
        ("DE", "+49 (0)30 1234567", BERLIN),
        ("DE", "0049 30 1234567", BERLIN),
        ("DE", "0151 23456789", "+4915123456789"),
        ("US", "(650) 253-0000", GOOGLE_US),
        ("US", "650-253-0000", GOOGLE_US),
        ("US", "650.253.0000", GOOGLE_US),
        ("US", "1 650 253 0000", GOOGLE_US),
        ("US", "+1 650 253 0000", GOOGLE_US),
        ("US", "011 1 650 253 0000", GOOGLE_US),  # the US international prefix
        ("US", "001 650 253 0000", GOOGLE_US),
        ("FR", "01 42 68 53 00", PARIS),
        ("FR", "01.42.68.53.00", PARIS),
        ("FR", "01-42-68-53-00", PARIS),
        ("FR", "+33 1 42 68 53 00", PARIS),
        ("FR", "+33 (0)1 42 68 53 00", PARIS),
        ("FR", "0033 1 42 68 53 00", PARIS),
        ("FR", "06 12 34 56 78", "+33612345678"),
    ],
)
def test_every_way_of_writing_a_number_gives_its_e164(region, written, e164) -> None:
    assert normalise_phone(written, region) == e164


@pytest.mark.parametrize(
    ("region", "written", "e164"),
    [
        ("GB", "+49 30 1234567", BERLIN),  # a German customer of a British company
        ("GB", "0049 30 1234567", BERLIN),
        ("DE", "+44 7412 345678", UK_MOBILE),
        ("FR", "+1 (650) 253-0000", GOOGLE_US),
        (None, "+49 30 1234567", BERLIN),
        (None, "0049 30 1234567", BERLIN),
        (None, "+33 1 42 68 53 00", PARIS),
    ],
)
def test_international_numbers_need_no_region(region, written, e164) -> None:
    assert normalise_phone(written, region) == e164


def test_without_a_region_a_national_number_is_its_digits() -> None:
    assert normalise_phone("030 123-4567", None) == "0301234567"
    assert normalise_phone("(030) 1234567", None) == "0301234567"
    assert normalise_phone("12-34", None) is None


@pytest.mark.parametrize(
    ("region", "written"),
    [
        ("GB", "+44 7700 900123"),  # Ofcom's drama range: never a subscriber's number
        ("GB", "030 1234567"),  # a German national number is no UK number
        ("DE", "0151 2345"),  # too short
        ("US", "(650) 253-000"),
        ("GB", "not given"),
        ("GB", "+999 1234 5678"),  # no such country code
        ("GB", "   "),
    ],
)
def test_invalid_numbers_give_no_key(region, written) -> None:
    assert normalise_phone(written, region) is None


CRM = (
    "customer_id,email,phone\n"
    "C1,,030 1234567\n"
    "C2,,+44 7700 900123\n"  # invalid: must link nothing
    "C3,,0151 23456789\n"
)
LOYALTY = (
    "card_number,email,phone\n"
    "L1,,+49 30 1234567\n"  # C1's number, written internationally
    "L2,,+44 7700 900123\n"
    "L3,,+49 151 2345 6789\n"
    "L4,,0049 (30) 123-4567\n"  # C1's number again
)


PHONE_KEYS = "SELECT id_value FROM identity_graph WHERE id_type = 'phone'"


def _person(ws, source: str, record: str) -> str:
    return ws.engine.scalar(
        "SELECT person_id FROM identity_links WHERE source = ? AND record_id = ?", [source, record]
    )


@pytest.mark.parametrize("chunk", [linking.PHONE_CHUNK, 2])
def test_a_german_company_links_national_and_international_numbers(
    make_workspace, monkeypatch, chunk
) -> None:
    monkeypatch.setattr(linking, "PHONE_CHUNK", chunk)  # 2: several round trips
    files = {
        "crm": ("customers", "crm.csv", CRM),
        "cards": ("loyalty_members", "cards.csv", LOYALTY),
    }
    ws = make_workspace(files, locale={"country": "DE", "currency": "EUR"})
    ws.ingest.run()
    result = ws.identity.run()
    assert _person(ws, "crm", "C1") == _person(ws, "cards", "L1") == _person(ws, "cards", "L4")
    assert _person(ws, "crm", "C3") == _person(ws, "cards", "L3")
    assert _person(ws, "crm", "C2") != _person(ws, "cards", "L2")
    assert result.persons == 4
    phones = {r[0] for r in ws.engine.sql(PHONE_KEYS).fetchall()}
    assert phones == {BERLIN, "+4915123456789"}
    # A card record is keyed by its card number and, here, its phone.
    assert ws.engine.scalar("SELECT rule FROM identity_links WHERE record_id = 'L1'") == (
        "exact:loyalty_card,phone"
    )


def test_without_a_country_only_international_numbers_match_each_other(make_workspace) -> None:
    files = {
        "crm": ("customers", "crm.csv", CRM),
        "cards": ("loyalty_members", "cards.csv", LOYALTY),
    }
    ws = make_workspace(files)
    ws.ingest.run()
    ws.identity.run()
    assert _person(ws, "crm", "C1") != _person(ws, "cards", "L1")
    keys = {r[0] for r in ws.engine.sql(PHONE_KEYS).fetchall()}
    assert keys == {"0301234567", BERLIN, "015123456789", "+4915123456789"}


GOLDEN_CRM = (
    "customer_id,email,phone,signup_date\n"
    "C1,ann@x.de,030 1234567,2020-01-01\n"
    "C2,bob@x.de,+44 7700 900123,2020-01-01\n"  # possible, so loaded, but no valid number
    "C3,cem@x.de,,2020-01-01\n"  # the phone comes from the loyalty sign-up
    "C4,dora@x.de,+41 44 668 18 00,2020-01-01\n"  # Zurich, written internationally
    "C5,eve@x.de,0151 2345 6789,2020-01-01\n"
)
GOLDEN_CARDS = (
    "card_number,email,phone,joined_date\n"
    "L3,cem@x.de,0151 98765432,2021-01-01\n"
    "L5,eve@x.de,+44 7700 900123,2023-01-01\n"  # eve's latest phone is no valid number
)


def _golden_phones(ws) -> dict[str, str | None]:
    rows = ws.engine.sql(
        "SELECT customer_id, phone FROM golden_record WHERE customer_id IS NOT NULL"
    ).fetchall()
    return dict(rows)


@pytest.mark.parametrize("keys", [None, ["customer_id", "email", "loyalty_card"]])
def test_the_golden_record_carries_the_e164_phone_or_none(make_workspace, keys) -> None:
    files = {
        "crm": ("customers", "crm.csv", GOLDEN_CRM),
        "cards": ("loyalty_members", "cards.csv", GOLDEN_CARDS),
    }
    ws = make_workspace(files, locale={"country": "DE"})
    if keys is not None:  # phones not used for linking: the golden record still shows them
        ws.config = ws.config.model_copy(
            update={"identity": ws.config.identity.model_copy(update={"keys": keys})}
        )
    ws.ingest.run()
    ws.identity.run()
    # Worked out from the number plans: DE drops the national 0 and takes +49; CH is +41.
    assert _golden_phones(ws) == {
        "C1": BERLIN,
        "C2": None,  # not the text as written
        "C3": "+4915198765432",
        "C4": "+41446681800",
        # CRM before loyalty: its valid number wins over the card's invalid one.
        "C5": "+4915123456789",
    }


def test_without_a_country_the_golden_record_shows_only_international_phones(
    make_workspace,
) -> None:
    crm = (
        "customer_id,email,phone\n"
        "C1,,030 1234567\n"  # which country's 030? none can be told
        "C2,,+49 30 1234567\n"
        "C3,,0033 1 42 68 53 00\n"
    )
    ws = make_workspace({"crm": ("customers", "crm.csv", crm)})
    ws.ingest.run()
    ws.identity.run()
    assert _golden_phones(ws) == {"C1": None, "C2": BERLIN, "C3": PARIS}
