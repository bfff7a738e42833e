"""Propose a ``personify.yaml`` source entry for a data file: a starting point to edit.

``personify sources suggest FILE`` reads a sample of the file (never all of it),
scores every kind by how many of its canonical columns the file's column names
match (normalised, then looked up in the synonym table below), maps each matched
column, reads types and formats from the values (decimal comma, date formats,
yes/no flags, gender codes, currency in a name) and declares the columns no kind
column takes as attributes (or, for a survey, as scales and answers).

All of it is a heuristic. The suggestion carries notes saying why each choice was
made and what is ambiguous, and ``to_yaml`` writes them as comments.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from personify.config import SUFFIX_FORMATS, LocaleConfig
from personify.ingest._sample import Profile, Sample, profile, read_sample
from personify.ingest.kinds import KINDS, PERSONAL_COLUMNS, SourceKindSpec

# -- the synonym table ------------------------------------------------------------------------
# A heuristic, kept small: English plus a few common German, French and Spanish words.
# Each line: the canonical columns a name can fill (the first one the kind has wins)
# ':' the names, written as a person would; they are normalised like file names are.
# <full_name> fills first_name and last_name through expressions; <record_id> is the
# kind's record id; <personal>: personal data no kind has a column for (never an attribute).
_SYNONYM_TABLE = """
customer_id account_id user_id : customer | customer id | customer number | customer ref | \
  client | client id | client number | cust id | cust number | kundennummer | kunden id | kunde | \
  numero client | id client | cliente | id cliente | numero cliente | numero de cliente
account_id user_id customer_id : account | account number | user | member id | kontonummer
email : email address | mail | e mail adresse | courriel | correo | correo electronico
phone : phone number | telephone | tel | mobile | mobile number | cell | telefon | \
  telefonnummer | handy | mobil | portable | telefono | movil
first_name : firstname | given name | forename | vorname | prenom | nombre
last_name : lastname | surname | family name | nachname | familienname | nom | nom de famille | \
  apellido | apellidos
name <full_name> product_name : name
<full_name> : full name | customer name | client name | contact name | kundenname | \
  nom complet | nombre completo
birth_date : date of birth | dob | birthday | birthdate | geburtsdatum | geburtstag | \
  date de naissance | fecha de nacimiento
gender : sex | geschlecht | sexe | genre | sexo | genero
postcode shipping_postcode : post code | postal code | zip | zip code | plz | \
  postleitzahl | code postal | codigo postal
shipping_postcode : shipping zip | shipping postal code | delivery postcode | lieferadresse plz
city : town | stadt | ort | wohnort | ville | ciudad
signup_date joined_date : sign up date | registration date | registered | registered at | \
  member since | join date | anmeldedatum | registrierungsdatum | date d inscription
order_ts receipt_ts timestamp event_ts created_ts submitted_ts touch_ts sent_date signup_date \
  joined_date : date | datum | fecha | time | created at | created | creation date | erstellt am | \
  zeitstempel
order_ts : order date | order time | ordered at | order timestamp | purchase date | \
  bestelldatum | date de commande | fecha de pedido | fecha pedido
receipt_ts : receipt date | receipt time | transaction date | transaction time | belegdatum
submitted_ts : submitted at | submitted | submission date | response date | completed at | \
  end date
order_id : order | order number | order ref | order reference | bestellnummer | bestellung | \
  auftragsnummer | numero de commande | commande | numero pedido | pedido
total spend : total | order total | amount | grand total | total amount | order amount | \
  order value | revenue | betrag | gesamtbetrag | summe | montant | montant total | importe
subtotal : sub total | net amount | zwischensumme | nettobetrag
discount line_discount : discount amount | rabatt | remise | descuento
discount_code : coupon | coupon code | promo code | voucher | voucher code | gutschein | \
  gutscheincode | code promo
status : order status | state | bestellstatus | statut | estado
channel : sales channel | source | kanal | canal
product_id : product | product number | sku | item id | article id | artikelnummer | \
  produkt id | ref produit | referencia
product_name : item name | item | artikel | artikelname | produktname | produit | producto
category : product category | kategorie | categorie | categoria
price unit_price : unit price | item price | preis | einzelpreis | prix | precio
quantity : qty | units | menge | anzahl | quantite | cantidad
line_no : line | line number | position
returned : is returned | return | retoure | retourniert
loyalty_card card_number : loyalty card | loyalty card number | card | card number | \
  member card | kundenkarte | carte fidelite | tarjeta
store_id : store | shop | shop id | filiale | branch | magasin | tienda
receipt_id : receipt | receipt number | transaction id | bon | bonnummer | beleg | belegnummer
marketing_consent : consent | opt in | optin | newsletter | accepts marketing | einwilligung
income_band : income | einkommen | revenu | ingresos
marital_status : familienstand | etat civil | estado civil
job_title : job | occupation | profession | beruf | metier
rating satisfaction : stars | score | bewertung | sterne
title subject : headline | betreff | titel | sujet | asunto
body : text | message | description | review text | nachricht
open_answer body : open answer | answer | comment | comments | feedback | remarks | \
  kommentar | anmerkungen | bemerkung | commentaire | comentario | comentarios
ticket_id : ticket | ticket number | case id | case number
response_id : response | respondent id | submission id | antwort id
event_type type : action | activity
campaign_id : campaign | kampagne
spend : cost | costs | budget | kosten | ausgaben
month : monat | mois | mes | period
<record_id> : id | ref | reference | number | key
<personal> : address | street | street address | strasse | adresse | anschrift | direccion | \
  calle | house number | hausnummer | iban | ip address | passport | ssn
"""
# Names matched also at the end of a longer name ('Customer E-Mail', 'Billing Postcode').
_SUFFIX_TARGETS = frozenset(
    {"email", "phone", "postcode", "shipping_postcode", "city", "birth_date", "gender"}
)
_FULL_NAME, _RECORD_ID, _PERSONAL = "<full_name>", "<record_id>", "<personal>"

# Tokens written several ways.
_ABBREVIATIONS = {"no": "number", "nr": "number", "num": "number", "nbr": "number"}
_CURRENCY_CODES = frozenset(
    {"usd", "eur", "gbp", "chf", "jpy", "cny", "cad", "aud", "nzd", "sek", "nok", "dkk"}
    | {"pln", "czk", "huf", "inr", "brl", "mxn", "zar", "sgd", "hkd", "krw"}
)
_CURRENCY_SIGNS = {"€": "EUR", "£": "GBP", "¥": "JPY", "₹": "INR", "$": "USD"}
_MONEY_COLUMNS = frozenset({"total", "subtotal", "discount", "price", "unit_price", "spend"})
_MONEY_WORDS = frozenset(
    {"amount", "charge", "charges", "price", "cost", "costs", "revenue", "spend", "total"}
    | {"value", "fee", "fees", "betrag", "preis", "kosten", "montant", "prix", "importe"}
    | {"precio"}
)

_MALE = ["m", "male", "man", "mann", "maennlich", "mannlich", "masculin", "homme", "h", "hombre"]
_FEMALE = ["f", "female", "woman", "w", "weiblich", "frau", "femme", "feminin", "mujer", "fem"]
_OTHER = ["d", "divers", "diverse", "other", "x", "nonbinary", "non-binary", "nb", "autre", "otro"]
GENDER_WORDS: dict[str, str | None] = {
    **dict.fromkeys([*_MALE, "masculino", "herr"], "male"),
    **dict.fromkeys([*_FEMALE, "femenino"], "female"),
    **dict.fromkeys(_OTHER, "other"),
    **dict.fromkeys(["u", "unknown", "n/a", "keine angabe", "prefer not to say"], None),
}
# Countries writing dates month first (3/4/2024 is March 4th).
_MONTH_FIRST_COUNTRIES = frozenset({"US", "PH", "FM", "MH", "PW"})


def normalised(name: str) -> str:
    """A column name reduced for matching: 'Order No.' and 'order_number' -> 'ordernumber'."""
    return "".join(_tokens(name))


def _tokens(name: str) -> list[str]:
    text = unicodedata.normalize("NFKD", name.replace("ß", "ss").replace("#", " number "))
    text = "".join(c for c in text if not unicodedata.combining(c))
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)  # camelCase, customerID
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)  # HTMLPage
    words = re.findall(r"[a-z0-9]+", text.lower())
    words = [_ABBREVIATIONS.get(w, w) for w in words if w not in _CURRENCY_CODES]
    while words and words[-1] in ("in", "en"):  # 'Betrag in EUR'
        words.pop()
    return [w.replace("nummer", "number") for w in words]


def _synonyms() -> dict[str, tuple[str, ...]]:
    table: dict[str, tuple[str, ...]] = {}
    for line in _SYNONYM_TABLE.strip().splitlines():
        targets, phrases = line.split(":")
        for phrase in phrases.split("|"):
            key = normalised(phrase)
            if key in table:
                raise ValueError(f"synonym table: '{phrase.strip()}' is listed twice")
            table[key] = tuple(targets.split())
    return table


SYNONYMS = _synonyms()


# -- the suggestion ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SourceSuggestion:
    """A proposed source entry and why: ``entry`` is valid for :class:`SourceSpec`."""

    name: str
    entry: dict[str, Any]
    notes: list[str]
    comments: dict[str, str] = field(default_factory=dict)  # 'columns.total' -> short comment
    scores: dict[str, float] = field(default_factory=dict)  # kind -> score, best first
    missing: list[str] = field(default_factory=list)  # required columns no file column fills
    file: str = ""
    sample_rows: int = 0


@dataclass(frozen=True)
class _Match:
    field: str
    how: str  # 'default', 'name', 'synonym', 'suffix', 'full name', 'values'


def suggest_source(
    path: Path,
    *,
    name: str | None = None,
    sample_rows: int = 5000,
    kind: str | None = None,
    locale: LocaleConfig | None = None,
    relative_to: Path | None = None,
) -> SourceSuggestion:
    """Propose a source entry for the data file at ``path`` from its first ``sample_rows`` rows.

    ``kind`` forces the kind instead of guessing it; ``locale`` settles day-first versus
    month-first dates; ``relative_to`` (a workspace folder) makes the entry's path relative.
    """
    path = Path(path)
    suffix_format = SUFFIX_FORMATS.get(path.suffix.lower())
    fmt = suffix_format or "csv"
    sample = read_sample(path, fmt, rows=sample_rows)
    profiles = {f: profile(sample.values[f], date_hint=_date_hint(f)) for f in sample.fields}
    notes: list[str] = []
    if sample.rows == 0:
        notes.append("the file has no data rows: types and formats could not be read from values")

    # a reference table is any table with a key: only chosen when asked for
    guessable = {k: spec for k, spec in KINDS.items() if k != "reference" or kind == k}
    matches = {k: _match_names(spec, sample.fields) for k, spec in guessable.items()}
    scores = {k: _score(KINDS[k], m, sample.fields, profiles) for k, m in matches.items()}
    ranked = dict(sorted(scores.items(), key=lambda kv: (-kv[1], kv[0] == "customer_attributes")))
    if kind is None:
        chosen = _choose_kind(ranked, matches, sample.fields, notes)
    else:
        if kind not in KINDS:
            from personify.errors import SourceError

            raise SourceError(f"unknown kind '{kind}'; the kinds are: {', '.join(KINDS)}")
        chosen = kind
        notes.append(f"kind {kind} as asked (the best guess was {next(iter(ranked))})")
    spec = KINDS[chosen]
    match = dict(matches[chosen])
    _match_values(spec, match, sample.fields, profiles)

    source_name = name or _identifier(path.stem, fallback="source")
    shown = _shown_path(path, relative_to)
    builder = _EntryBuilder(spec, source_name, profiles, sample, locale, notes)
    entry: dict[str, Any] = {"kind": chosen, "path": shown}
    if suffix_format is None:
        entry["format"] = "csv"
        notes.append(f"'{path.suffix or 'no suffix'}' is not a known file type: read as CSV")
    if sample.csv:
        entry["csv"] = dict(sample.csv)
        notes.append("the file is not UTF-8: read as latin-1 (check the accents in the output)")
    columns = builder.columns(match)
    extras = builder.extras([f for f in sample.fields if f not in builder.used])
    if columns:
        entry["columns"] = columns
    for section in ("attributes", "scales", "answers"):
        if extras[section]:
            entry[section] = extras[section]
    missing = [
        c for c, cs in spec.columns.items() if cs.required and c not in match and c not in columns
    ]
    for col in missing:
        notes.append(
            f"no column looks like {col} (required by {chosen}): map the file's column with "
            f"'{col}: {{source: ...}}', else every row is rejected"
        )
    if builder.as_is:
        builder.comments["as_is"] = "found under their own names: " + ", ".join(builder.as_is)
    matched = [c for c in spec.columns if c in match]
    builder.comments["kind"] = (
        f"matched {len(matched)} of its columns: {', '.join(matched)}" if matched else "a guess"
    )
    return SourceSuggestion(
        name=source_name,
        entry=entry,
        notes=notes,
        comments=builder.comments,
        scores=ranked,
        missing=missing,
        file=path.name,
        sample_rows=sample.rows,
    )


def _shown_path(path: Path, relative_to: Path | None) -> str:
    if relative_to is not None:
        try:
            return path.resolve().relative_to(Path(relative_to).resolve()).as_posix()
        except ValueError:
            return str(path.resolve())
    return str(path)


def _identifier(text: str, *, fallback: str) -> str:
    words = _tokens(text) if text else []
    ident = "_".join(words)[:40].strip("_")
    if not ident:
        return fallback
    return ident if ident[0].isalpha() else f"{fallback}_{ident}"


def _date_hint(name: str) -> bool:
    words = set(_tokens(name))
    return bool(words & {"date", "datum", "fecha", "dob", "day", "time", "ts", "at", "birthday"})


# -- guessing the kind ------------------------------------------------------------------------
def _match_names(kind: SourceKindSpec, fields: list[str]) -> dict[str, _Match]:
    """Canonical column -> the file column that fills it, by name only (best match first)."""
    found: dict[str, _Match] = {}
    taken: set[str] = set()

    def take(column: str, f: str, how: str) -> None:
        found[column] = _Match(f, how)
        taken.add(f)

    for col, cs in kind.columns.items():  # the kind's own path: 'messageId', 'traits.email'
        if cs.source and cs.source in fields:
            take(col, cs.source, "default")
    by_key = {normalised(c): c for c in kind.columns}
    for f in fields:
        same = by_key.get(normalised(f))
        if f not in taken and same and same not in found:
            take(same, f, "name")
    for how in ("synonym", "suffix"):
        for f in fields:
            if f in taken:
                continue
            words = _tokens(f)
            keys = (
                [normalised(f)]
                if how == "synonym"
                else ["".join(words[i:]) for i in range(1, len(words))]
            )
            for key in keys:
                targets = SYNONYMS.get(key, ())
                if how == "suffix":
                    targets = tuple(t for t in targets if t in _SUFFIX_TARGETS)
                target = _first_free(kind, targets, found)
                if target == _FULL_NAME:
                    take("first_name", f, "full name")
                    take("last_name", f, "full name")
                    break
                if target:
                    take(target, f, how)
                    break
    return found


def _first_free(kind: SourceKindSpec, targets: tuple[str, ...], found: dict[str, _Match]) -> str:
    for t in targets:
        if t == _RECORD_ID:
            t = kind.record_id or ""
        if t == _FULL_NAME:
            if {"first_name", "last_name"} <= set(kind.columns) - set(found):
                return t
        elif t in kind.columns and t not in found:
            return t
    return ""


def _score(
    kind: SourceKindSpec, match: dict[str, _Match], fields: list[str], profiles: dict[str, Profile]
) -> float:
    """3 for the record id, 2 per required column, 1 per other; -2 per required one missing."""
    score = 0.0
    for col, cs in kind.columns.items():
        if col in match:
            score += 3 if col == kind.record_id else 2 if cs.required else 1
        elif cs.required:
            score -= 2
    if kind.name == "survey_responses":  # questions on a scale are what a survey is made of
        used = {m.field for m in match.values()}
        score += sum(1 for f in fields if f not in used and _scale_range(f, profiles[f]))
    return score


def _choose_kind(
    ranked: dict[str, float],
    matches: dict[str, dict[str, _Match]],
    fields: list[str],
    notes: list[str],
) -> str:
    best, runner_up = list(ranked)[:2]
    if best == "customers" and "customer_id" in matches["customer_attributes"]:
        # A customer table that is mostly other facts (contract, tenure, charges) is an
        # attribute table: the customers kind would take only a column or two of it.
        own = set(KINDS["customers"].columns) - set(KINDS["customer_attributes"].columns)
        descriptive = [c for c in matches["customers"] if c in own]
        left = len(fields) - len({m.field for m in matches["customers"].values()})
        if left > len(descriptive):
            notes.append(
                f"kind customer_attributes: {left} of {len(fields)} columns are no customers "
                f"column (only {', '.join(descriptive) or 'none'} would be); use kind customers "
                "if names, contact details and demographics matter more"
            )
            return "customer_attributes"
    notes.append(
        f"kind {best}: score {ranked[best]:g} (next: {runner_up} {ranked[runner_up]:g}); "
        "the score counts the kind's columns found, the record id and required ones most"
    )
    if ranked[best] <= 0:
        notes.append("no kind fits well: check the kind and map its required columns by hand")
    return best


def _match_values(
    kind: SourceKindSpec, match: dict[str, _Match], fields: list[str], profiles: dict[str, Profile]
) -> None:
    """E-mail addresses and phone numbers found by their values, for the kind's empty slots."""
    used = {m.field for m in match.values()}
    for f in fields:
        p = profiles[f]
        for col, found in (("email", p.email), ("phone", p.phone)):
            if found and f not in used and col in kind.columns and col not in match:
                match[col] = _Match(f, "values")
                used.add(f)


def _scale_range(name: str, p: Profile) -> tuple[int, int] | None:
    """A question answered on a small whole-number scale: its range (1-5, 0-10), else None."""
    bounds = p.low_high
    if not p.integer or bounds is None or p.boolean is not None:
        return None
    low, high = bounds
    if low < 0 or high > 10 or high - low < 2:
        return None
    declared = re.search(r"(\d+)\s*[-–]\s*(\d+)", name)  # 'Satisfaction (1-5)'
    if declared:
        lo, hi = int(declared.group(1)), int(declared.group(2))
        if lo <= low and high <= hi and lo < hi:
            return lo, hi
    # The widest answer seen may fall short of the scale's top: round up to a usual one.
    top = next(t for t in (5, 7, 10) if high <= t)
    return (0 if low == 0 else 1), top


# -- building the entry -----------------------------------------------------------------------
class _EntryBuilder:
    def __init__(
        self,
        kind: SourceKindSpec,
        source: str,
        profiles: dict[str, Profile],
        sample: Sample,
        locale: LocaleConfig | None,
        notes: list[str],
    ) -> None:
        self.kind = kind
        self.source = source
        self.profiles = profiles
        self.sample = sample
        self.locale = locale
        self.notes = notes
        self.comments: dict[str, str] = {}
        self.used: set[str] = set()
        self.as_is: list[str] = []  # kind columns the file has under their own names

    def columns(self, match: dict[str, _Match]) -> dict[str, dict[str, Any]]:
        out: dict[str, dict[str, Any]] = {}
        for col, cs in self.kind.columns.items():
            m = match.get(col)
            if m is None:
                continue
            self.used.add(m.field)
            spec: dict[str, Any] = {}
            why: list[str] = []
            if m.how == "full name":
                part = col.removesuffix("_name")
                spec["expr"] = f"{part}_name({_backticked(m.field)})"
                why.append(f"from the full name in '{_clean(m.field)}'")
            elif m.field != col and m.field != cs.source:
                spec["source"] = m.field
            if m.how == "values":
                what = "e-mail addresses" if col == "email" else "phone numbers"
                why.append(f"its values look like {what}")
            elif m.how == "suffix":
                why.append("by the end of its name")
            why += self._typed(f"columns.{col}", col, cs.type or "string", m.field, spec)
            if not spec and not why:  # found under its own name: nothing to say
                self.as_is.append(col)
                continue
            out[col] = _origin_first(spec)
            if why:
                self.comments[f"columns.{col}"] = "; ".join(why)
        return out

    def extras(self, fields: list[str]) -> dict[str, dict[str, dict[str, Any]]]:
        """The columns no kind column takes: attributes, or a survey's scales and answers."""
        out: dict[str, dict[str, dict[str, Any]]] = {"attributes": {}, "scales": {}, "answers": {}}
        taken = set(self.kind.columns)
        survey = self.kind.name == "survey_responses"
        skipped: list[str] = []
        if not self.kind.identifiers:  # products, campaigns, ...: no person to describe
            if fields:
                self.notes.append(
                    f"columns kept as they are in raw_{self.source} (a {self.kind.name} source "
                    f"has no person attributes): {', '.join(repr(_clean(f)) for f in fields)}"
                )
            return out
        for f in fields:
            p = self.profiles[f]
            if self._personal(f, p):
                skipped.append(f"'{_clean(f)}' (personal data)")
                continue
            if self._identifier_like(f, p):
                skipped.append(f"'{_clean(f)}' (an identifier)")
                continue
            if p.count == 0:
                skipped.append(f"'{_clean(f)}' (empty in the sample)")
                continue
            key = _unique(_identifier(_without_range(f), fallback="q"), taken)
            taken.add(key)
            label = _label(f)
            spec: dict[str, Any] = {} if key == f else {"source": f}
            scale = _scale_range(f, p) if survey else None
            if scale:
                spec.update(label=label, range=list(scale))
                out["scales"][key] = spec
                self.comments[f"scales.{key}"] = f"whole numbers {_span(p)} seen"
                continue
            if survey and _long_text(p):
                spec["label"] = label
                out["answers"][key] = spec
                self.comments[f"answers.{key}"] = "free text"
                continue
            role, why = self._role(f, p, spec, f"attributes.{key}")
            out["attributes"][key] = _origin_first({"role": role, "label": label, **spec})
            self.comments[f"attributes.{key}"] = why
        if skipped:
            self.notes.append(
                f"left out, kept as they are in raw_{self.source}: {', '.join(skipped)}"
            )
        if out["attributes"] and self.kind.name not in ("customers", "customer_attributes"):
            self.notes.append(
                f"attributes of a source of kind {self.kind.name} are combined per person: "
                "drop those that describe a record rather than a person"
            )
        return out

    def _role(self, f: str, p: Profile, spec: dict[str, Any], key: str) -> tuple[str, str]:
        if p.boolean is not None:
            self._typed(key, f, "boolean", f, spec)
            return "boolean", "two values: yes/no"
        if p.number:
            why = self._typed(key, f, "number", f, spec)
            return "numeric", "; ".join(["numbers", *why])
        if p.is_date:
            why = self._typed(key, f, "date", f, spec)
            return "date", "; ".join(["dates", *why])
        if _long_text(p):
            return "text", "free text"
        few = len(p.distinct) <= max(2, min(50, p.count // 2))
        if not few:
            self.notes.append(
                f"'{_clean(f)}': {len(p.distinct)} different values in {p.count} rows, taken as "
                "categorical: make it role text (or leave it out) if it is free text or a code"
            )
        return "categorical", f"{len(p.distinct)} different values"

    def _personal(self, f: str, p: Profile) -> bool:
        if p.email or p.phone:
            return True
        targets = SYNONYMS.get(normalised(f), ()) or (
            (normalised(f),) if f in PERSONAL_COLUMNS else ()
        )
        return any(t in PERSONAL_COLUMNS or t in (_FULL_NAME, _PERSONAL) for t in targets)

    def _identifier_like(self, f: str, p: Profile) -> bool:
        if p.count < 2 or len(p.distinct) < 0.95 * p.count or p.boolean is not None:
            return False
        words = set(_tokens(f))
        if p.number:  # numbers are values (tenure, charges) unless named as a key
            return bool(words & {"id", "number", "code", "key", "ref"})
        return not p.is_date and not _long_text(p) and p.spaces < 0.1

    # -- types and formats ---------------------------------------------------------------------
    def _typed(self, key: str, col: str, col_type: str, f: str, spec: dict[str, Any]) -> list[str]:
        """Add what reading ``f`` as ``col_type`` needs to ``spec``; return the reasons."""
        p = self.profiles[f]
        native = self.sample.native.get(f)
        if native == col_type or (native == "integer" and col_type == "number"):
            return []
        if native in ("date", "timestamp") and col_type in ("date", "timestamp"):
            return []
        if p.count == 0:
            return []
        if col_type in ("number", "integer"):
            return self._number(key, col, col_type, f, p, spec)
        if col_type == "boolean":
            return self._boolean(key, f, p, spec)
        if col_type in ("date", "timestamp"):
            return self._date(key, f, p, spec)
        if col == "gender":
            return self._gender(key, p, spec)
        return []

    def _number(
        self, key: str, col: str, col_type: str, f: str, p: Profile, spec: dict[str, Any]
    ) -> list[str]:
        why = []
        if not p.number:
            self.notes.append(
                f"{key}: '{_clean(f)}' holds values that are not numbers: those rows will be "
                "rejected; clean them with an expr (number(), replace())"
            )
            return ["not all numbers"]
        if col_type == "integer" and not p.integer:
            self.notes.append(f"{key}: {col} takes whole numbers, '{_clean(f)}' has fractions")
        if p.decimal:
            spec["decimal"] = p.decimal
            why.append("decimal comma" if p.decimal == "," else "thousands commas")
        if p.decimal_ambiguous:
            self.notes.append(
                f"{key}: every value reads with a decimal point or a decimal comma (like "
                "'1.234'): taken as a decimal point; add decimal: ',' if it is a comma"
            )
        currency = _currency(f)
        if p.money_sign:
            spec.pop("source", None)
            spec["expr"] = f'replace({_backticked(f)}, {json.dumps(p.money_sign)}, "")'
            why.append(f"'{p.money_sign}' written in the values, dropped")
            currency = currency or _currency_of_sign(p.money_sign)
        money = col in _MONEY_COLUMNS or bool(set(_tokens(f)) & _MONEY_WORDS)
        if currency and (money or not key.startswith("columns.")):
            spec["currency"] = currency
            why.append(f"currency {currency} from the {'values' if p.money_sign else 'name'}")
            if "$" in f or p.money_sign == "$":
                self.notes.append(f"{key}: '$' taken as USD; change the currency if not US dollars")
        return why

    def _boolean(self, key: str, f: str, p: Profile, spec: dict[str, Any]) -> list[str]:
        if p.boolean is None:
            self.notes.append(
                f"{key}: '{_clean(f)}' has more than yes/no values; map them with values:"
            )
            return ["not two values"]
        if all(v.lower() in ("true", "false") for v in p.boolean):
            return []
        spec["values"] = dict(sorted(p.boolean.items(), key=lambda kv: not kv[1]))
        return ["values mapped to true/false"]

    def _date(self, key: str, f: str, p: Profile, spec: dict[str, Any]) -> list[str]:
        why = []
        if p.iso_date or p.iso_timestamp:
            return []  # the loader reads ISO dates and timestamps as they are
        if p.date_formats:
            fmt, note = _pick_format(p.date_formats, self.locale)
            spec["format"] = fmt
            why.append(f"all sampled values parse as {fmt}")
            if note:
                self.notes.append(f"{key}: {note}")
        else:
            self.notes.append(
                f"{key}: '{_clean(f)}' is not in a date format tried: add format: "
                "(a strptime pattern such as '%d/%m/%Y')"
            )
            return ["format not recognised"]
        if p.has_time and not any("%z" in x for x in p.date_formats):
            self.notes.append(
                f"{key}: times without a zone are read as UTC; add timezone: (e.g. "
                "'Europe/Berlin') if they are local times"
            )
        return why

    def _gender(self, key: str, p: Profile, spec: dict[str, Any]) -> list[str]:
        mapped = {v: GENDER_WORDS.get(v.lower().strip(), "?") for v in p.distinct}
        unknown = sorted(v for v, g in mapped.items() if g == "?")
        if unknown:
            shown = ", ".join(repr(_clean(v)) for v in unknown[:5])
            self.notes.append(f"{key}: gender values not recognised, kept as they are: {shown}")
        values = {v: g for v, g in sorted(mapped.items()) if g != "?"}
        if all(v == g for v, g in values.items()):
            return []
        spec["values"] = values
        return ["values mapped to male/female/other"]


def _pick_format(formats: list[str], locale: LocaleConfig | None) -> tuple[str, str | None]:
    """The format to use among those that parse every value, and a note when that was a guess."""
    day_first = [f for f in formats if "%d" in f and "%m" in f and f.index("%d") < f.index("%m")]
    month_first = [f for f in formats if "%d" in f and "%m" in f and f.index("%m") < f.index("%d")]
    if not (day_first and month_first):
        return formats[0], None
    country = locale.country if locale else None
    if country:
        pick = month_first[0] if country in _MONTH_FIRST_COUNTRIES else day_first[0]
        return pick, (
            f"no day above 12 in the sample, so {day_first[0]} and {month_first[0]} both fit: "
            f"{pick} chosen for locale country {country}"
        )
    return day_first[0], (
        f"no day above 12 in the sample, so {day_first[0]} and {month_first[0]} both fit: "
        f"day first chosen (no locale.country); use {month_first[0]} for US-style dates"
    )


def _currency(name: str) -> str | None:
    for word in re.findall(r"[A-Za-z]+", name):
        if word.lower() in _CURRENCY_CODES and (
            word.isupper() or len(re.findall(r"[A-Za-z]+", name)) > 1
        ):
            return word.upper()
    for sign, code in _CURRENCY_SIGNS.items():
        if sign in name:
            return code
    return None


def _currency_of_sign(sign: str) -> str | None:
    return _CURRENCY_SIGNS.get(sign) or (sign if re.fullmatch(r"[A-Z]{3}", sign) else None)


def _origin_first(spec: dict[str, Any]) -> dict[str, Any]:
    """Where the value comes from first: it is what a reader checks first."""
    origin: dict[str, Any] = {k: spec[k] for k in ("source", "expr") if k in spec}
    return {**origin, **{k: v for k, v in spec.items() if k not in origin}}


def _long_text(p: Profile) -> bool:
    return p.mean_length >= 30 or (p.spaces >= 0.5 and p.mean_length >= 15)


def _span(p: Profile) -> str:
    low, high = p.low_high or (0, 0)
    return f"{low:g}-{high:g}"


def _without_range(name: str) -> str:
    return re.sub(r"\(\s*\d+\s*[-–]\s*\d+\s*\)", " ", name)


def _label(name: str) -> str:
    parts = [p for p in name.split(".") if p]
    if len(parts) > 1 and " " not in name:  # a JSON path: 'properties.revenue'
        name = parts[-1]
    text = re.sub(r"[_]+", " ", _without_range(name))
    text = re.sub(r"([a-z])([A-Z])", r"\1 \2", text)
    text = re.sub(r"\s+", " ", text).strip()
    if text.islower() or text.isupper():
        text = text.capitalize()
    return text or name


def _unique(key: str, taken: set[str]) -> str:
    if key not in taken:
        return key
    n = 2
    while f"{key}_{n}" in taken:
        n += 1
    return f"{key}_{n}"


def _backticked(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _clean(text: str) -> str:
    """A file's text made safe for one comment line (no line breaks, no control characters)."""
    return "".join(c if c.isprintable() else " " for c in text)[:60]


# -- YAML -------------------------------------------------------------------------------------
def to_yaml(suggestion: SourceSuggestion) -> str:
    """The entry as YAML text to paste under ``sources:`` (indented two spaces), with comments."""
    s = suggestion
    out = [
        f"# Suggested from {_clean(s.file)} ({s.sample_rows} rows sampled). A heuristic: check "
        "each line.",
        "# Paste under 'sources:' in personify.yaml.",
        f"  {s.name}:",
    ]
    for key in ("kind", "path", "format"):
        if key in s.entry:
            out.append(_line(4, key, s.entry[key], s.comments.get(key)))
    if "csv" in s.entry:
        out.append(_line(4, "csv", s.entry["csv"], None))
    if "as_is" in s.comments:
        out.append(f"    # {_clean_note(s.comments['as_is'])}")
    placeholders = [
        f"      # {c}: {{source: ...}}   # required: no column found" for c in s.missing
    ]
    for section in ("columns", "attributes", "scales", "answers"):
        items = s.entry.get(section)
        if not items:
            if section == "columns" and placeholders:
                out.append("    # columns:")
                out += placeholders
            continue
        out.append(f"    {section}:")
        for col, spec in items.items():
            out.append(_line(6, col, spec, s.comments.get(f"{section}.{col}")))
        if section == "columns":
            out += placeholders
    if s.notes:
        out.append("# Notes:")
        out += [f"#  - {_clean_note(n)}" for n in s.notes]
    return "\n".join(out) + "\n"


def _line(indent: int, key: str, value: Any, comment: str | None) -> str:
    text = f"{' ' * indent}{_scalar_key(key)}: {_flow(value)}"
    return f"{text}  # {_clean_note(comment)}" if comment else text


def _scalar_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else json.dumps(key)


def _flow(value: Any) -> str:
    if isinstance(value, dict) and not value:
        return "{}"
    text = yaml.safe_dump(
        value, default_flow_style=True, sort_keys=False, allow_unicode=True, width=1_000_000
    ).strip()
    text = text.removesuffix("\n...").removesuffix("...").strip()
    if "\n" in text:  # a name with a line break: JSON is YAML too, and stays on one line
        text = json.dumps(value)
    return text


def _clean_note(text: str | None) -> str:
    return "".join(c if c.isprintable() else " " for c in (text or ""))
