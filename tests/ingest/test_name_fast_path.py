"""Plain names split without nameparser must split exactly as nameparser splits them."""

import functools

import nameparser
from faker import Faker
from hypothesis import example, given, settings
from hypothesis import strategies as st

from personify.ingest.expressions import _plain_name, _special_words, name_parts

LOCALES = ["en_GB", "en_US", "de_DE", "es_ES", "fr_FR", "it_IT", "nl_NL", "pl_PL", "pt_BR"]
LOCALES += ["tr_TR", "vi_VN", "hu_HU", "sv_SE", "cs_CZ", "ro_RO", "id_ID", "en_IN"]


@functools.cache
def _words() -> list[str]:
    """Real given names and surnames of many countries, and every special word nameparser
    knows (titles, particles, suffixes), capitalised and not: the cases that matter."""
    found: set[str] = set()
    for locale in LOCALES:
        fake = Faker(locale)
        fake.seed_instance(7)
        for _ in range(60):
            found.update(fake.first_name().split())
            found.update(fake.last_name().split())
    for w in sorted(_special_words())[:400]:
        found.update((w, w.capitalize(), w.upper(), w + "."))
    return sorted(found)


def _by_nameparser(full: str) -> tuple[str | None, ...]:
    n = nameparser.parse(full)
    return tuple(p or None for p in (n.title, n.given, n.middle, n.family, n.suffix))


names = st.lists(
    st.one_of(
        st.sampled_from(_words()),
        st.text(alphabet="abcdéøßABÇ-'’.", min_size=1, max_size=8),
    ),
    min_size=1,
    max_size=4,
).map(" ".join)


@settings(max_examples=800, deadline=None)
@given(names)
@example("John Smith")
@example("Mary-Jane O'Neil")
@example("Anna Maria Smith")
def test_plain_names_split_as_nameparser_splits_them(full: str) -> None:
    plain = _plain_name(full)
    if plain is not None:
        assert plain == _by_nameparser(full), full


def test_the_fast_path_takes_plain_names_and_leaves_the_rest() -> None:
    assert _plain_name("José García") == (None, "José", None, "García", None)
    assert _plain_name("Ann Mary Lee") == (None, "Ann", "Mary", "Lee", None)
    # Titles, particles, suffixes, initials, "Last, First", one word, four: nameparser.
    for full in ("Dr Smith", "Jean-Claude Van Damme", "John Smith Jr", "J. Smith", "Smith, John"):
        assert _plain_name(full) is None, full
    assert _plain_name("Cher") is None and _plain_name("A B C D") is None
    name_parts.cache_clear()
    assert name_parts("Sir Elton John") == ("Sir", "Elton", None, "John", None)
