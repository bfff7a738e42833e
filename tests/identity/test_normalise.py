from collections.abc import Iterator

import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personify.identity._normalise import MACROS


@pytest.fixture(scope="module")
def con() -> Iterator[duckdb.DuckDBPyConnection]:
    c = duckdb.connect()
    for name, body in MACROS.items():
        c.execute(f"CREATE MACRO {name}{body}")
    yield c
    c.close()


def norm(con: duckdb.DuckDBPyConnection, macro: str, value: str | None) -> str | None:
    return con.execute(f"SELECT {macro}(?)", [value]).fetchone()[0]


mobile = st.from_regex(r"7[0-9]{9}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(mobile, st.integers(0, 4))
def test_every_way_of_writing_a_uk_number_gives_one_key(con, digits: str, style: int) -> None:
    renderings = [
        f"0{digits}",
        f"+44 {digits[:4]} {digits[4:]}",
        f"(0{digits[:4]}) {digits[4:7]} {digits[7:]}",
        f"{digits[:4]}-{digits[4:7]}-{digits[7:]}",
        f"0044{digits}",
    ]
    assert norm(con, "norm_phone", renderings[style]) == f"0{digits}"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=20))
def test_phone_normalising_is_idempotent(con, text: str) -> None:
    once = norm(con, "norm_phone", text)
    assert norm(con, "norm_phone", once) == once
    assert once is None or once.isdigit()


@settings(max_examples=60, deadline=None)
@given(st.emails())
def test_email_case_and_spaces_do_not_matter(con, email: str) -> None:
    assert norm(con, "norm_email", f"  {email.upper()} ") == norm(con, "norm_email", email)


def test_not_an_email_is_no_key(con) -> None:
    assert norm(con, "norm_email", "n/a") is None
    assert norm(con, "norm_email", "@x.com") is None


def test_codes_ignore_case_spaces_and_dashes(con) -> None:
    assert norm(con, "norm_code", " lc-0012 3456 ") == "LC00123456"
    assert norm(con, "norm_code", "  ") is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Jane.Doe@gmail.com", "janedoe@gmail.com"),
        ("jane.doe+shop@gmail.com", "janedoe@gmail.com"),
        ("jane.doe@googlemail.com", "janedoe@gmail.com"),
        ("sam+news@outlook.com", "sam@outlook.com"),
    ],
)
def test_one_mailbox_one_key(con, a: str, b: str) -> None:
    assert norm(con, "norm_email", a) == norm(con, "norm_email", b)


def test_dots_matter_outside_gmail(con) -> None:
    assert norm(con, "norm_email", "jane.doe@outlook.com") != norm(
        con, "norm_email", "janedoe@outlook.com"
    )
