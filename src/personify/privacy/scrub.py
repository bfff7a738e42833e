"""Scrub personal data out of free text before anyone reads it.

Phone numbers are found by Google's libphonenumber (the ``phonenumbers``
package), which knows every national format. No maintained PyPI library finds
emails, UK postcodes, card numbers and names in sign-offs without downloading a
language model, so those few patterns are written here.
"""

from __future__ import annotations

import re

import phonenumbers

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
URL = re.compile(r"\b(?:https?://|www\.)\S+", re.IGNORECASE)
UK_POSTCODE = re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b", re.IGNORECASE)
# Long digit runs: card, loyalty, order or account numbers.
LONG_NUMBER = re.compile(r"\b(?:[A-Z]{1,3}[- ]?)?\d(?:[ /-]?\d){8,}\b")
CARD = re.compile(r"\b[A-Z]{1,3}[- ]?\d{6,}\b")
DATE_LIKE = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}$|^\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4}$")
# A capitalised word in any Latin script (Müller, Łukasz, Ólafsdóttir, O'Brien).
_LOWER = r"[a-zß-öø-ÿā-ž']"
_WORD = rf"(?:Mc|Mac|O'|D')?[A-ZÀ-ÖØ-ÞĀ-Ž]{_LOWER}+(?:-[A-ZÀ-ÖØ-ÞĀ-Ž]?{_LOWER}+)*"
NAME = rf"{_WORD}(?:\s+{_WORD})?"
# Keywords match in any case, names only when capitalised (so "I am happy" stays).
# Sign-offs and introductions in the languages companies most often write to us in.
_SIGN_OFFS = (
    r"(?:kind\s+)?regards|thanks|thank\s+you|cheers|best|sincerely|yours(?:\s+truly)?|"
    r"many\s+thanks|ta|"
    r"(?:viele|liebe|beste|herzliche|freundliche)\s+gr(?:ü|ue)(?:ß|ss)e|"
    r"mit\s+freundlichen\s+gr(?:ü|ue)(?:ß|ss)en|gr(?:ü|ue)(?:ß|ss)e|gru(?:ß|ss)|lg|mfg|"
    r"(?:vielen\s+)?dank|danke|"
    r"cordialement|merci|bien\s+(?:à\s+vous|cordialement)|"
    r"saludos|un\s+saludo|gracias|atentamente|"
    r"groeten|met\s+vriendelijke\s+groet|distinti\s+saluti|cordiali\s+saluti|grazie"
)
SIGN_OFF = re.compile(rf"\b((?i:{_SIGN_OFFS}))([,!.]?\s*-?\s*){NAME}\s*$")
_INTROS = (
    r"my name is|this is|i am|i'm|mein name ist|ich bin|ich hei(?:ß|ss)e|je m'appelle|"
    r"je suis|me llamo|mi nombre es|soy|mi chiamo|ik ben|mijn naam is"
)
INTRO = re.compile(rf"\b((?i:{_INTROS}))(\s+){NAME}")
DASH_NAME = re.compile(rf"(\s[-–—]\s*){NAME}\s*$")


def scrub_text(text: str, *, region: str = "GB") -> str:
    """Replace emails, phones, URLs, postcodes, long numbers and names in sign-offs."""
    if not text:
        return text
    out = EMAIL.sub("[email]", text)
    out = URL.sub("[link]", out)
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
    out = INTRO.sub(lambda m: f"{m.group(1)}{m.group(2)}[name]", out)
    out = DASH_NAME.sub(lambda m: f"{m.group(1)}[name]", out)
    return out
