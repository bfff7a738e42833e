import duckdb
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from personify.identity._normalise import MACROS
from personify.identity._phones import normalise_phone

# A module-level connection, not a fixture: hypothesis keeps fixture values alive
# until interpreter exit, where DuckDB's bindings then report them as leaked.
_CON = duckdb.connect()
for _name, _body in MACROS.items():
    _CON.execute(f"CREATE MACRO {_name}{_body}")


def norm(macro: str, value: str | None) -> str | None:
    return _CON.execute(f"SELECT {macro}(?)", [value]).fetchone()[0]


# UK mobiles in 0740-0744, all allocated: 10 national digits after the 0.
mobile = st.from_regex(r"74[0-4][0-9]{7}", fullmatch=True)


@settings(max_examples=60, deadline=None)
@given(mobile, st.integers(0, 5))
def test_every_way_of_writing_a_uk_number_gives_one_key(digits: str, style: int) -> None:
    renderings = [
        f"0{digits}",
        f"+44 {digits[:4]} {digits[4:]}",
        f"(0{digits[:4]}) {digits[4:7]} {digits[7:]}",
        f"{digits[:4]}-{digits[4:7]}-{digits[7:]}",
        f"0044{digits}",
        f"+44 (0){digits}",
    ]
    assert normalise_phone(renderings[style], "GB") == f"+44{digits}"


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=20), st.sampled_from(["GB", "DE", "US", None]))
def test_phone_normalising_is_idempotent(text: str, region: str | None) -> None:
    once = normalise_phone(text, region)
    assert normalise_phone(once, region) == once
    assert once is None or once.lstrip("+").isdigit()


@settings(max_examples=60, deadline=None)
@given(st.emails())
def test_email_case_and_spaces_do_not_matter(email: str) -> None:
    assert norm("norm_email", f"  {email.upper()} ") == norm("norm_email", email)


def test_not_an_email_is_no_key() -> None:
    assert norm("norm_email", "n/a") is None
    assert norm("norm_email", "@x.com") is None


def test_codes_ignore_case_spaces_and_dashes() -> None:
    assert norm("norm_code", " lc-0012 3456 ") == "LC00123456"
    assert norm("norm_code", "  ") is None


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("Jane.Doe@gmail.com", "janedoe@gmail.com"),
        ("jane.doe+shop@gmail.com", "janedoe@gmail.com"),
        ("jane.doe@googlemail.com", "janedoe@gmail.com"),
        ("sam+news@outlook.com", "sam@outlook.com"),
    ],
)
def test_one_mailbox_one_key(a: str, b: str) -> None:
    assert norm("norm_email", a) == norm("norm_email", b)


def test_dots_matter_outside_gmail() -> None:
    assert norm("norm_email", "jane.doe@outlook.com") != norm("norm_email", "janedoe@outlook.com")
