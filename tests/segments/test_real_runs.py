"""Audiences, later arrivals and run comparison on real pipeline runs of a small demo
company; expected values come from pandas over the same tables (an independent
evaluation), or by brute force."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import permutations
from pathlib import Path

import pytest

from personify import Workspace
from personify.cli import DEMO_LOCALE, demo_sources
from personify.demo import generate_demo_company
from personify.segments.arrivals import assign_arrivals
from personify.segments.compare import compare_runs

pytestmark = pytest.mark.slow
DOCS = Path(__file__).parent.parent.parent / "docs" / "audiences.md"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Workspace, str, str]]:
    """A 400-customer demo company segmented twice, with seeds 42 and 7."""
    root = tmp_path_factory.mktemp("real-runs")
    generate_demo_company(root / "data", customers=400, seed=5)
    ws = Workspace.init(
        root / "ws", sources=demo_sources(str(root / "data" / "sources")), locale=DEMO_LOCALE
    )
    for stage in ("ingest", "identity", "profiles"):
        getattr(ws, stage).run()
    first = ws.segments.run().run_id
    segments = ws.config.segments.model_copy(update={"seed": 7})
    ws.config = ws.config.model_copy(update={"segments": segments})
    second = ws.segments.run().run_id
    assert first != second
    yield ws, first, second
    ws.close()


def _doc_rules() -> list[str]:
    blocks = re.findall(r"```rule\n(.*?)```", DOCS.read_text(), re.S)
    return [line for block in blocks for line in block.splitlines() if line.strip()]


def test_every_rule_in_the_docs_counts_on_the_demo(demo: tuple[Workspace, str, str]) -> None:
    ws, _, _ = demo
    rules = _doc_rules()
    assert len(rules) >= 8
    total = ws.engine.count("profiles")
    for rule in rules:
        c = ws.audiences.count(rule)
        assert c.total == total and 0 <= c.persons <= total, rule


def test_counts_equal_pandas_on_the_same_profiles(demo: tuple[Workspace, str, str]) -> None:
    ws, _, _ = demo
    df = ws.engine.fetch_df("SELECT * FROM profiles")
    cases = {
        "clv > 500 and app_share > 0.5 and churn_risk < 0.3": (df.clv > 500)
        & (df.app_share > 0.5)
        & (df.churn_risk < 0.3),
        'lifecycle_stage in ("active", "new") and not email_unsubscribed': df.lifecycle_stage.isin(
            ["active", "new"]
        )
        & ~(df.email_unsubscribed.fillna(False).astype(bool)),
        "monetary / frequency > 80 or avg_order_value >= 150": (
            df.monetary / df.frequency.where(df.frequency != 0) > 80
        )
        | (df.avg_order_value >= 150),
        "age between 25 and 34": df.age.between(25, 34),
        "main_device is null": df.main_device.isna(),
    }
    for rule, mask in cases.items():
        expected = int(mask.fillna(False).astype(bool).sum())
        assert ws.audiences.count(rule).persons == expected, rule
        assert expected > 0, rule  # the demo has persons of each kind


def test_compare_two_seeds_matches_the_brute_force_best(
    demo: tuple[Workspace, str, str],
) -> None:
    ws, first, second = demo
    c = compare_runs(ws, first, second)
    m = ws.engine.fetch_df("SELECT run_id, person_id, segment_id FROM segment_membership")
    a = m[m.run_id == first].set_index("person_id").segment_id
    b = m[m.run_id == second].set_index("person_id").segment_id
    assert c.basis == "membership" and c.shared_persons == len(a.index.intersection(b.index))

    ids_a, ids_b = sorted(a.unique()), sorted(b.unique())
    members_a = {i: set(a[a == i].index) for i in ids_a}
    members_b = {j: set(b[b == j].index) for j in ids_b}
    table = {
        (i, j): len(members_a[i] & members_b[j]) / len(members_a[i] | members_b[j])
        for i in ids_a
        for j in ids_b
    }

    def jaccard(i: int, j: int) -> float:
        return table[(i, j)]

    for (i, j), value in c.jaccard.items():
        assert value == pytest.approx(jaccard(i, j))
    # The Hungarian total equals the best over every one-to-one pairing.
    small, large = (ids_a, ids_b) if len(ids_a) <= len(ids_b) else (ids_b, ids_a)
    best = max(
        sum(
            jaccard(s, t) if small is ids_a else jaccard(t, s)
            for s, t in zip(small, perm, strict=False)
        )
        for perm in permutations(large, len(small))
    )
    assert sum(c.jaccard[p] for p in c.matching) == pytest.approx(best)
    # Every segment of each run appears in exactly one event's before / after, except a
    # split's parts, which may also be another segment's survivor.
    befores = [i for t in c.transitions for i in t.before]
    assert sorted(befores) == ids_a
    assert set(ids_b) <= {j for t in c.transitions for j in t.after}


def test_a_run_compared_with_itself_persists(demo: tuple[Workspace, str, str]) -> None:
    ws, first, _ = demo
    c = compare_runs(ws, first, first)
    assert {t.event for t in c.transitions} == {"persist"}
    assert all(t.jaccard == 1.0 and t.distance == 0.0 for t in c.transitions)


def test_held_out_members_are_placed_back_in_their_segment(
    demo: tuple[Workspace, str, str],
) -> None:
    ws, _, second = demo
    e = ws.engine
    # A fifth of the run's members, as if they had arrived after it.
    held = e.fetch_df(
        f"""SELECT person_id, segment_id FROM segment_membership WHERE run_id = '{second}'
        ORDER BY {e.sample_key("person_id")} LIMIT (SELECT count(*) // 5 FROM segment_membership
        WHERE run_id = '{second}')"""
    )
    ids = held.person_id.tolist()
    marks = ", ".join("?" for _ in ids)
    e.delete_rows("segment_membership", f"run_id = ? AND person_id IN ({marks})", [second, *ids])
    result = assign_arrivals(ws, second)
    placed = e.fetch_df(
        f"SELECT person_id, segment_id FROM segment_arrivals WHERE run_id = '{second}'"
    )
    got = held.merge(placed, on="person_id", suffixes=("_run", "_placed"))
    assert len(got) == len(held) > 30
    agreement = float((got.segment_id_run == got.segment_id_placed).mean())
    print(f"held out {len(held)}: {agreement:.1%} placed in their own segment; {result}")
    assert agreement >= 0.85
    assert result.arrivals == e.count("profiles") - e.scalar(
        f"SELECT count(*) FROM segment_membership WHERE run_id = '{second}'"
    )


def test_audiences_arrivals_and_compare_send_portable_sql(
    demo: tuple[Workspace, str, str], tmp_path: Path
) -> None:
    from personify.engine._portable import duckdb_only

    ws, first, second = demo
    e = ws.engine
    with e.log_statements() as log:
        ws.audiences.add("app", "app_share > 0.5 and clv between 100 and 900", replace=True)
        ws.audiences.summary('segment in (1, 2) and (lifecycle_stage == "new" or p_alive > 0.5)')
        ws.audiences.export("app", tmp_path / "app.csv")
        ws.audiences.remove("app")
        e.drop_table("segment_assigners")  # so the rule is learned again, inside the log
        assign_arrivals(ws, first)
        compare_runs(ws, first, second)
    checked = [s for s in log if s.origin in ("sql", "create_table", "delete_rows")]
    assert len(checked) > 15
    bad = {
        s.text[:200]: reasons
        for s in checked
        if (reasons := duckdb_only(s.text, fragments=e.fragments, functions=e.macros))
    }
    assert bad == {}
