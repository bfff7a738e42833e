"""Scrub personal data out of free text before anyone reads it.

Phone numbers are found by Google's libphonenumber (the ``phonenumbers``
package), which knows every national format. No maintained PyPI library finds
emails, UK postcodes, card numbers and names in sign-offs without downloading a
language model, so those few patterns are written here. Where a pattern alone
would take ordinary words for names ("I'm Good!"), a word counts as a name only
if it is a given name in Faker's person lists (some 20,000 over its locales; Faker
is a dependency already) and not a word of VADER's sentiment lexicon or a stop word
("Hope", "Joy" and "Love" are names there too).
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
import re

import phonenumbers

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
# Long digit runs: card, loyalty, order or account numbers.
LONG_NUMBER = re.compile(r"\b(?:[A-Z]{1,3}[- ]?)?\d(?:[ /-]?\d){8,}\b")
CARD = re.compile(r"\b[A-Z]{1,3}[- ]?\d{6,}\b")
# UK national insurance numbers (AB 12 34 56 C) and US social security numbers (123-45-6789).
NI_NUMBER = re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b")
SSN = re.compile(r"\b\d{3}-\d{2}-\d{4}\b")
_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?|januar|februar|märz|mai|"
    r"juni|juli|oktober|dezember"
)
_DATE = (
    rf"(?:\d{{1,2}}[./-]\d{{1,2}}[./-]\d{{2,4}}|\d{{4}}-\d{{1,2}}-\d{{1,2}}|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\.?\s+(?i:{_MONTHS})\.?,?\s+\d{{4}}|"
    rf"(?i:{_MONTHS})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)
# A date said to be a birth date, and any numeric date of a year a customer is born in
# (before 2006): an order or delivery date of this century stays.
BIRTH_DATE = re.compile(
    rf"(?i:\b(?:date\s+of\s+birth|birth\s*date|birthday|born(?:\s+on)?|d\.?o\.?b\.?|"
    rf"geburtsdatum|geboren(?:\s+am)?|geb\.))(\s*(?::|is|was|-)?\s*){_DATE}"
)
OLD_DATE = re.compile(r"\b\d{1,2}[./-]\d{1,2}[./-](?:18|19|200[0-5])\d{0,1}\d?\b")
# Street addresses: "221B Baker Street", "12 Church Lane", "Hauptstraße 5", "rue de la Paix 3".
_STREET_TYPES = (
    r"street|st|road|rd|lane|ln|avenue|ave|close|drive|dr|way|court|ct|place|pl|crescent|"
    r"terrace|gardens|grove|hill|square|sq|row|mews|parade|walk|boulevard|blvd"
)
ADDRESS = re.compile(
    rf"\b\d{{1,4}}[A-Za-z]?,?\s+(?:[A-Z][a-z'-]+\s+){{1,3}}(?i:{_STREET_TYPES})\b\.?"
    rf"|\b[A-ZÄÖÜ][a-zäöüß-]{{2,}}(?:straße|strasse|str\.|weg|allee|platz|gasse|ring|damm)"
    rf"\s+\d{{1,4}}[a-z]?\b"
)
DATE_LIKE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
# A capitalised word in any Latin script (Müller, Łukasz, Ólafsdóttir, O'Brien).
_LOWER = r"[a-zß-öø-ÿā-ž']"
_WORD = rf"(?:Mc|Mac|O'|D')?[A-ZÀ-ÖØ-ÞĀ-Ž]{_LOWER}+(?:-[A-ZÀ-ÖØ-ÞĀ-Ž]?{_LOWER}+)*"
NAME = rf"{_WORD}(?:\s+{_WORD})?"
# Keywords match in any case, names only when capitalised (so "I am happy" stays).
# Sign-offs and introductions in the languages companies most often write to us in.
_SIGN_OFFS = (
    r"(?:kind\s+)?regards|thanks|thank\s+you|cheers|best|sincerely|yours(?:\s+truly)?|"
    r"thak\s+you|thankyou|thanx|thnx|thx|thnks|"  # typed in a hurry
    r"many\s+thanks|ta|"
    r"(?:viele|liebe|beste|herzliche|freundliche)\s+gr(?:ü|ue)(?:ß|ss)e|"
    r"mit\s+freundlichen\s+gr(?:ü|ue)(?:ß|ss)en|gr(?:ü|ue)(?:ß|ss)e|gru(?:ß|ss)|lg|mfg|"
    r"(?:vielen\s+)?dank|danke|"
    r"cordialement|merci|bien\s+(?:à\s+vous|cordialement)|"
    r"saludos|un\s+saludo|gracias|atentamente|"
    r"groeten|met\s+vriendelijke\s+groet|distinti\s+saluti|cordiali\s+saluti|grazie"
)
# After a sign-off a name may be written in capitals ("Regards, JANE Williams").
_SIGNED = rf"(?:{_WORD}|[A-Z]{{2,}})(?:\s+(?:{_WORD}|[A-Z]{{2,}}))?"
SIGN_OFF = re.compile(rf"\b((?i:{_SIGN_OFFS}))([,!.]?\s*-?\s*){_SIGNED}\s*$")
_INTROS = (
    r"my name is|this is|i am|i'm|mein name ist|ich bin|ich hei(?:ß|ss)e|je m'appelle|"
    r"je suis|me llamo|mi nombre es|soy|mi chiamo|ik ben|mijn naam is"
)
# Introductions that always name someone; the others ("I'm ...", "this is ...") only
# when a given name follows.
_NAMING = (
    r"my name is|mein name ist|ich hei(?:ß|ss)e|je m'appelle|me llamo|mi nombre es|"
    r"mi chiamo|mijn naam is"
)
INTRO = re.compile(rf"\b((?i:{_INTROS}))(\s+)({NAME})")
NAMING = re.compile(rf"\b(?i:{_NAMING})\s*$")
# A signature after dashes at the end ("---Coos Bay Sandra"): up to three words.
DASH_NAME = re.compile(rf"(\s[-–—]+\s*)({_WORD}(?:\s+{_WORD}){{0,2}})\s*$")
# A sign-off written in lower case ("thanks, julie"): a given name only.
LOWER_SIGN_OFF = re.compile(rf"\b((?i:{_SIGN_OFFS}))([,!.]?\s*-?\s*)([a-z]{{2,}})\s*$")
# A bare name closing the text after a sentence ("... Will buy again. Bob").
TRAILING_NAME = re.compile(rf"([.!?]\s+|\n\s*)({_WORD}(?:\s+{_WORD})?)\s*$")
FROM_PLACE = re.compile(rf"\b({_WORD})\s+from\s+({_WORD}(?:\s+{_WORD})?)")
# "... Thanks. Calvin from Glasgow", "Raagini Porter Raagini from London" closing a text.
_PLACE = rf"{_WORD}(?:\s+(?:[a-z]{{1,4}}\s+)?{_WORD}){{0,3}}"  # Newcastle upon Tyne
END_FROM_PLACE = re.compile(rf"((?:{_WORD}\s+){{0,3}})({_WORD})\s+from\s+({_PLACE})\s*[.!]?\s*$")
# Signatures typed in lower case at the very end: "... patrick morgan", "mary from bath".
LOWER_TAIL = re.compile(r"(\s)([a-z]{2,})(\s+from)?\s+([a-z'-]{2,})\s*$")


def scrub_text(text: str, *, region: str = "GB") -> str:
    """Replace emails, phones, URLs, postcodes, long numbers and names in sign-offs."""
    if not text:
        return text
    out = EMAIL.sub("[email]", text)
    out = URL.sub("[link]", out)
    out = NI_NUMBER.sub("[number]", out)
    out = SSN.sub("[number]", out)
    out = BIRTH_DATE.sub(
        lambda m: m.group(0)[: m.start(1) - m.start(0)] + m.group(1) + "[date]", out
    )
    out = OLD_DATE.sub("[date]", out)
    out = ADDRESS.sub("[address]", out)
    out = CARD.sub("[number]", out)
    # Replace from the end so earlier offsets stay valid.
    # POSSIBLE, not VALID: reserved ranges (07700 900xxx) and typos are still someone's number.
    matcher = phonenumbers.PhoneNumberMatcher(out, region, leniency=phonenumbers.Leniency.POSSIBLE)
    for match in reversed(list(matcher)):
        digits = sum(ch.isdigit() for ch in match.raw_string)
        if digits < 10 or DATE_LIKE.match(match.raw_string.strip()):
            continue
        out = out[: match.start] + "[phone]" + out[match.end :]
    out = LONG_NUMBER.sub("[number]", out)
    out = UK_POSTCODE.sub("[postcode]", out)
    out = SIGN_OFF.sub(lambda m: f"{m.group(1)}{m.group(2)}[name]", out)
    out = INTRO.sub(_intro, out)
    out = DASH_NAME.sub(_dash_name, out)
    out = LOWER_SIGN_OFF.sub(_lower_sign_off, out)
    out = TRAILING_NAME.sub(
        lambda m: f"{m.group(1)}[name]" if _names_someone(m.group(2)) else m.group(0), out
    )
    out = END_FROM_PLACE.sub(_end_from_place, out)
    out = FROM_PLACE.sub(_from_place, out)
    out = LOWER_TAIL.sub(_lower_tail, out)
    return out


def _lower_sign_off(m: re.Match[str]) -> str:
    # "thanks, julie" and a mistyped "thanks, timthy": after a sign-off closing the text,
    # any word that is not an ordinary one ("thanks, again") is taken for a name.
    word = m.group(3)
    if is_given_name(word) or (m.group(2).strip() and word not in _ordinary_words()):
        return f"{m.group(1)}{m.group(2)}[name]"
    return m.group(0)


def _lower_tail(m: re.Match[str]) -> str:
    if not is_given_name(m.group(2)) or m.group(4) in _ordinary_words():
        return m.group(0)
    if m.group(3):  # "mary from bath"
        return f"{m.group(1)}[name] from [place]"
    # "patrick morgan", not "a long time" or "candy snacks": the second word a surname too.
    return f"{m.group(1)}[name]" if m.group(4) in _person_names("last_names") else m.group(0)


def _end_from_place(m: re.Match[str]) -> str:
    """A name from a place closing the text after a sentence is a signature; so are the
    names before it. A word that is no given name (a typo: "Brgid") counts when it is not
    an ordinary word; "I bought Green Tea from Yogi Tea" stays (no sentence ends before)."""
    before = m.string[: m.start()].rstrip()
    if before and before[-1] not in ".,!?;:-–—":
        return m.group(0)
    word = m.group(2)
    if not is_given_name(word) and word.lower() in _ordinary_words():
        return m.group(0)
    words = m.group(1).split()
    names = _person_names("first_names", "first_names_male", "first_names_female", "last_names")
    keep = len(words)
    while (
        keep
        and words[keep - 1].lower() in names
        and words[keep - 1].lower() not in _ordinary_words()
    ):
        keep -= 1
    lead = " ".join(words[:keep])
    return (lead + " " if lead else "") + "[name] from [place]"


def _from_place(m: re.Match[str]) -> str:
    # "Oliver from Ipswich", not "Green Tea from Yogi Tea": the name starts its phrase
    # (the text, or after punctuation).
    before = m.string[: m.start()].split()
    starts = not before or before[-1][-1:] in ".,!?;:" or not before[-1][:1].isupper()
    if is_given_name(m.group(1)) and starts:
        return "[name] from [place]"
    return m.group(0)


def _intro(m: re.Match[str]) -> str:
    named = NAMING.search(m.group(1)) is not None
    first = m.group(3).split()[0]
    if named or is_given_name(first):
        return f"{m.group(1)}{m.group(2)}[name]"
    # "I'm Good!": not a name; a second capitalised word may still be one.
    return m.group(0)


def _dash_name(m: re.Match[str]) -> str:
    words = m.group(2).split()
    if any(is_given_name(w) for w in words) or len(words) == 1:
        return f"{m.group(1)}[name]"
    return m.group(0)


def _names_someone(words: str) -> bool:
    parts = words.split()
    if is_given_name(parts[0]) and (len(parts) == 1 or parts[1][0].isupper()):
        return True
    # "... Looking forward to hearing from you. Onver Clarke": a mistyped first name before
    # a surname closing the text.
    return (
        len(parts) == 2
        and parts[1].lower() in _person_names("last_names")
        and not any(p.lower() in _ordinary_words() for p in parts)
    )


def is_given_name(word: str) -> bool:
    """Whether ``word`` is a given name and not an ordinary word (case ignored)."""
    w = word.strip("'").lower()
    return w in _given_names() and w not in _ordinary_words()


def _given_names() -> frozenset[str]:
    return _person_names("first_names", "first_names_male", "first_names_female")


@functools.lru_cache(maxsize=4)
def _person_names(*attrs: str) -> frozenset[str]:
    """Lower-cased names of Faker's person providers, over all its locales."""
    import faker.providers.person as person

    names: set[str] = set()
    for module in pkgutil.iter_modules(person.__path__):
        provider = importlib.import_module(f"{person.__name__}.{module.name}").Provider
        for attr in attrs:
            values = provider.__dict__.get(attr, getattr(provider, attr, None))
            if isinstance(values, dict):
                values = list(values)
            if isinstance(values, list | tuple | set):
                names.update(v.lower() for v in values if isinstance(v, str) and v.isalpha())
    return frozenset(names)


@functools.lru_cache(maxsize=1)
def _ordinary_words() -> frozenset[str]:
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return frozenset(SentimentIntensityAnalyzer().lexicon) | ENGLISH_STOP_WORDS
