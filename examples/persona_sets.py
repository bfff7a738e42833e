"""Write the persona sets of the CDNOW and Telco examples into docs/examples/<name>/.

    .venv/bin/python examples/persona_sets.py            # cdnow, telco and demo
    .venv/bin/python examples/persona_sets.py telco      # one

Each example runs end to end in a scratch copy of its workspace (examples/<name>/ is left
as it is); then its personas are exported as a reader gets them: personas.pdf (one A4 page
each, printed from personas.html), one PNG card per persona, personas.csv and personas.json,
and a README.md that says
what the data could not support (every field whose card says "Not in the data") and the
reader-plausibility checks the cards pass.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DOCS = HERE.parent / "docs" / "examples"
sys.path.insert(0, str(HERE))
FIELDS = ("goals", "frustrations", "gains", "objections")
DEMO_WORDS = ("Home Investor", "Bargain Hunter", "Loyal Spender", "Trial Shopper")


def plausibility(docs: list[dict[str, Any]], currency: str) -> list[tuple[str, bool, str]]:
    """Checks a reader would make of a persona set, each (what, passed, detail)."""
    from personify.formatting import number_format

    symbol = number_format(currency, "en")(1234, "currency").replace("1,234", "")
    names = [d["name"] for d in docs]
    checks = [
        ("every persona has its own name", len(set(names)) == len(names), ", ".join(names)),
        (
            "no title borrows the demo company's words",
            not any(w in d["title"] for d in docs for w in DEMO_WORDS),
            "; ".join(d["title"] for d in docs),
        ),
        (
            f"money is shown in {currency}",
            all(d["value"]["currency"] == currency for d in docs),
            f"symbol {symbol.strip() or currency}",
        ),
        (
            "every statement carries evidence and a test",
            all(
                s["evidence"] and s["confidence"]
                for d in docs
                for f in FIELDS
                for s in d[f]["statements"]
            ),
            f"{sum(len(d[f]['statements']) for d in docs for f in FIELDS)} statements",
        ),
        (
            "an empty field says why instead of being filled",
            all(d[f]["statements"] or d[f]["note"] for d in docs for f in FIELDS),
            f"{sum(not d[f]['statements'] for d in docs for f in FIELDS)} empty fields",
        ),
        (
            "customer shares add up to the whole",
            abs(sum(d["size"]["share"] for d in docs) - 1) < 0.01,
            f"{sum(d['size']['customers'] for d in docs):,} customers",
        ),
    ]
    genders = {g["value"] for d in docs for g in (d["demographics"].get("gender") or [])[:1]}
    if genders:
        checks.append(
            (
                "names are not all of one gender when the customers are mixed",
                len(docs) < 2 or len({_gender_of(d["name"]) for d in docs}) > 1,
                ", ".join(f"{d['name']} ({_gender_of(d['name'])})" for d in docs),
            )
        )
    return checks


def _gender_of(name: str) -> str:
    from personify.personas.naming import FIRST_NAMES

    for (gender, _), names in FIRST_NAMES.items():
        if name in names:
            return gender
    return "?"


def unsupported(docs: list[dict[str, Any]]) -> dict[str, set[str]]:
    """Field -> the notes the cards show for it (what the data could not support)."""
    out: dict[str, set[str]] = {}
    for d in docs:
        for f in FIELDS:
            if d[f]["note"]:
                out.setdefault(f, set()).add(d[f]["note"])
        for f in ("says", "thinks", "does", "feels"):
            note = d["empathy_map"][f]["note"]
            if note:
                out.setdefault(f"empathy map: {f}", set()).add(note)
        for f in ("job", "household", "location"):
            if d[f]["note"]:
                out.setdefault(f, set()).add(d[f]["note"])
        if d["demographics"]["age"] is None:
            out.setdefault("age", set()).add("Not in the data: no birth dates")
        for s in d["journey"]["stages"]:
            if s["note"]:
                out.setdefault(f"journey: {s['stage']}", set()).add(s["note"])
    return out


def write_set(name: str, target: Path | None = None) -> Path:
    import prepare

    from personify import Workspace
    from personify.personas import export

    target = target or DOCS / name
    with tempfile.TemporaryDirectory(prefix=f"personas-{name}-") as tmp:
        folder = Path(tmp) / name
        if name == "demo":  # the demo company, 3,000 customers (docs/demo-data.md)
            from personify.cli import DEMO_LOCALE, demo_sources
            from personify.demo import generate_demo_company

            generate_demo_company(Path(tmp) / "data", customers=3000, seed=11)
            sources = demo_sources(str(Path(tmp) / "data" / "sources"))
            Workspace.init(folder, sources=sources, locale=DEMO_LOCALE).close()
        else:
            folder.mkdir()
            shutil.copyfile(HERE / name / "personify.yaml", folder / "personify.yaml")
            prepare.prepare(name, folder)
        with Workspace(folder) as ws:
            start = time.perf_counter()
            ws.run()
            seconds = time.perf_counter() - start
            docs = export.load_personas(ws)
            if target.exists():
                shutil.rmtree(target)
            (target / "cards").mkdir(parents=True)
            (target / "personas.pdf").write_bytes(export.to_pdf(ws))
            (target / "personas.html").write_bytes(export.to_html(ws))
            (target / "personas.csv").write_bytes(export.to_csv(ws))
            (target / "personas.json").write_bytes(export.to_json(ws))
            for d in docs:
                png = export.to_png(ws, d["persona_id"], dpi=80)
                (target / "cards" / f"{d['slug']}.png").write_bytes(png)
            currency = ws.config.locale.currency or ""
    (target / "README.md").write_text(_readme(name, docs, currency, seconds), encoding="utf-8")
    return target


def _readme(name: str, docs: list[dict[str, Any]], currency: str, seconds: float) -> str:
    from personify.formatting import number_format
    from personify.personas.render import md_escape as e  # card text comes from data

    money = number_format(currency, "en")
    lines = [
        f"# Persona set: {name}",
        "",
        "Generated by `examples/persona_sets.py` from "
        + (
            "the demo company (3,000 customers, seed 11) "
            if name == "demo"
            else f"`examples/{name}/personify.yaml` "
        )
        + f"(whole pipeline {seconds:.0f} s on the machine that wrote it). Files: "
        "[personas.pdf](personas.pdf) (one A4 page per persona, printed by headless Chromium "
        "from [personas.html](personas.html), the self-contained HTML cards), `cards/*.png`, "
        "[personas.csv](personas.csv), [personas.json](personas.json) "
        "(schema `personify.persona/v1`, set `personify.persona-set/v1`).",
        "",
        "| persona | customers | share | share of revenue | avg revenue | card |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for d in docs:
        lines.append(
            f"| {e(d['name'])}, {e(d['title'])}{' (negative)' if d['negative'] else ''} "
            f"| {d['size']['customers']:,} | {money(d['size']['share'], 'percent')} "
            f"| {money(d['value']['revenue_share'], 'percent')} "
            f"| {money(d['value']['avg_revenue'], 'currency')} "
            f"| [png](cards/{d['slug']}.png) |"
        )
    lines += ["", "## What each card says it knows", ""]
    for d in docs:
        lines.append(f"**{e(d['name'])}, {e(d['title'])}** — {e(d['tagline'])}")
        for f in FIELDS:
            statements = d[f]["statements"]
            shown = "; ".join(f"{e(s['text'])} ({s['confidence']})" for s in statements[:3])
            lines.append(f"- {f}: {shown or d[f]['note']}")
        does = d["empathy_map"]["does"]
        shown = "; ".join(f"{e(s['text'])} ({s['confidence']})" for s in does["statements"][:3])
        lines.append(f"- does (empathy map): {shown or does['note']}")
        lines.append("")
    lines += ["## What the data could not support", ""]
    for field, notes in sorted(unsupported(docs).items()):
        lines.append(f"- **{field}**: {'; '.join(sorted(notes))}")
    lines += [
        "",
        "The cards show each of these as a note in place of the field (never a filler).",
        "",
        "## Reader-plausibility checks",
        "",
        "| check | passed | detail |",
        "|---|---|---|",
    ]
    for what, passed, detail in plausibility(docs, currency):
        lines.append(f"| {what} | {'yes' if passed else 'NO'} | {e(detail)} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    for example in sys.argv[1:] or ["cdnow", "telco", "demo"]:
        print(write_set(example))
