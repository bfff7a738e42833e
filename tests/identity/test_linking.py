import pytest

from personify import StageError

CRM = (
    "customer_id,first_name,email,phone,signup_date\n"
    "C1,Ann,ann@x.com,07412 345001,2020-01-01\n"
    "C2,Annie,,+44 7412 345001,2022-01-01\n"  # same phone as C1, other format
    "C3,Bob,bob@x.com,,2021-01-01\n"
    "C4,Dan,dan@x.com,,2021-01-01\n"
)
ORDERS = (
    "order_id,account_id,email,order_ts,total\n"
    "O1,A1,ANN@X.COM ,2024-01-01T10:00:00,10\n"  # links A1 to Ann through the email
    "O2,A1,,2024-01-02T10:00:00,20\n"  # only the account: still Ann
    "O3,A9,zed@x.com,2024-01-03T10:00:00,5\n"  # nobody in CRM
)


def person_of(ws, source: str, record: str) -> str:
    return ws.engine.scalar(
        "SELECT person_id FROM identity_links WHERE source = ? AND record_id = ?", [source, record]
    )


def test_records_are_linked_transitively_across_sources(make_workspace) -> None:
    ws = make_workspace(
        {"crm": ("customers", "crm.csv", CRM), "orders": ("orders", "o.csv", ORDERS)},
        locale={"country": "GB"},
    )
    ws.ingest.run()
    result = ws.identity.run()
    ann = person_of(ws, "crm", "C1")
    assert person_of(ws, "crm", "C2") == ann
    assert person_of(ws, "orders", "O1") == ann
    assert person_of(ws, "orders", "O2") == ann
    assert (
        len(
            {
                ann,
                person_of(ws, "crm", "C3"),
                person_of(ws, "crm", "C4"),
                person_of(ws, "orders", "O3"),
            }
        )
        == 4
    )
    assert result.persons == 4
    golden = ws.engine.fetch_df("SELECT * FROM golden_record WHERE person_id = ?", [ann]).iloc[0]
    # Survivorship: the most recent CRM record's name, the email from whichever record has one.
    assert golden["first_name"] == "Annie"
    assert golden["email"] == "ann@x.com"
    assert golden["n_records"] == 4
    assert golden["sources"] == "crm,orders"


def test_a_shared_hub_identifier_links_nothing(make_workspace) -> None:
    rows = ["customer_id,email,phone"]
    # Thirty people who each gave the shop's own phone number at the till.
    rows += [f"C{i},p{i}@x.com,0161 496 0000" for i in range(30)]
    # No locale.country: a national number cannot be placed and is kept as its digits.
    ws = make_workspace({"crm": ("customers", "crm.csv", "\n".join(rows) + "\n")})
    ws.ingest.run()
    ws.config = ws.config.model_copy(
        update={"identity": ws.config.identity.model_copy(update={"max_cluster_size": 10})}
    )
    result = ws.identity.run()
    assert result.persons == 30
    assert result.hubs == 1
    assert ws.engine.scalar("SELECT id_value FROM identity_graph WHERE is_hub") == "01614960000"


def test_identity_needs_loaded_sources(make_workspace) -> None:
    ws = make_workspace({"p": ("products", "p.csv", "product_id,category\nP1,garden\n")})
    ws.ingest.run()
    with pytest.raises(StageError, match="no loaded source carries identifiers"):
        ws.identity.run()


# A telco: the CRM's customer_id and the web shop's account_id are the same number.
TELCO_CRM = "customer_id,email\n7043,\n7044,\n"
TELCO_ORDERS = (
    "order_id,account_id,order_ts,total\n"
    "O1,7043,2024-01-01T10:00:00,10\n"
    "O2,7044,2024-01-02T10:00:00,20\n"
)


def _telco(make_workspace, **orders):
    files = {
        "crm": ("customers", "crm.csv", TELCO_CRM),
        "orders": ("orders", "o.csv", TELCO_ORDERS),
    }
    ws = make_workspace(files, orders=orders)
    ws.ingest.run()
    return ws


def test_ids_in_one_key_space_link_across_sources(make_workspace) -> None:
    ws = _telco(make_workspace, columns={"account_id": {"key": "customer_id"}})
    result = ws.identity.run()
    assert person_of(ws, "orders", "O1") == person_of(ws, "crm", "7043")
    assert person_of(ws, "orders", "O2") == person_of(ws, "crm", "7044")
    assert person_of(ws, "orders", "O1") != person_of(ws, "orders", "O2")
    assert result.persons == 2
    assert ws.engine.scalar("SELECT rule FROM identity_links WHERE record_id = 'O1'") == (
        "exact:customer_id"
    )


def test_equal_ids_in_different_key_spaces_do_not_link(make_workspace) -> None:
    ws = _telco(make_workspace)
    result = ws.identity.run()
    assert person_of(ws, "orders", "O1") != person_of(ws, "crm", "7043")
    assert result.persons == 4


MEMBERS_CRM = "customer_id,member_no\nC1,M-1\nC2,M-2\n"
MEMBERS_SURVEY = "response_id,membership,open_answer\nR1, M-1 ,great\nR2,M-9,fine\n"
MEMBER_KEY = {"role": "categorical", "key": "member_no"}


def _members(make_workspace):
    files = {
        "crm": ("customers", "crm.csv", MEMBERS_CRM),
        "survey": ("survey_responses", "s.csv", MEMBERS_SURVEY),
    }
    ws = make_workspace(
        files,
        crm={"attributes": {"member_no": MEMBER_KEY}},
        survey={"attributes": {"member": {**MEMBER_KEY, "source": "membership"}}},
    )
    ws.ingest.run()
    return ws


def test_a_custom_key_space_links_attribute_columns(make_workspace) -> None:
    ws = _members(make_workspace)
    result = ws.identity.run()
    assert person_of(ws, "survey", "R1") == person_of(ws, "crm", "C1")
    assert person_of(ws, "survey", "R2") != person_of(ws, "crm", "C2")
    assert result.persons == 3
    rules = dict(ws.engine.sql("SELECT record_id, rule FROM identity_links").fetchall())
    assert rules["R1"] == "exact:member_no"
    assert rules["C1"] == "exact:customer_id,member_no"


def test_identity_keys_choose_the_key_spaces_that_link(make_workspace) -> None:
    ws = _members(make_workspace)
    identity = ws.config.identity
    ws.config = ws.config.model_copy(
        update={"identity": identity.model_copy(update={"keys": ["customer_id", "member_no"]})}
    )
    ws.identity.run()
    assert person_of(ws, "survey", "R1") == person_of(ws, "crm", "C1")
    ws.config = ws.config.model_copy(
        update={"identity": identity.model_copy(update={"keys": ["customer_id", "email"]})}
    )
    ws.identity.run()
    assert person_of(ws, "survey", "R1") != person_of(ws, "crm", "C1")
