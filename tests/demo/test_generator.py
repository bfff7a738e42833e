"""The demo company generator: contract, determinism, noise, latent types, text."""

from __future__ import annotations

import filecmp
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from personify.demo import LATENT_TYPES, DemoSummary, generate_demo_company

N = 2000

# The contract of docs/demo-data.md, written out independently of the generator's schemas.
CONTRACT: dict[str, list[str]] = {
    "crm_customers.csv": [
        "customer_id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "birth_date",
        "gender",
        "postcode",
        "city",
        "income_band",
        "education",
        "marital_status",
        "job_title",
        "signup_date",
        "marketing_consent",
        "loyalty_card",
    ],
    "loyalty_members.csv": [
        "card_number",
        "first_name",
        "last_name",
        "email",
        "phone",
        "postcode",
        "joined_date",
    ],
    "products.csv": ["product_id", "product_name", "category", "price", "unit_cost"],
    "orders.parquet": [
        "order_id",
        "account_id",
        "email",
        "order_ts",
        "channel",
        "shipping_postcode",
        "discount_code",
        "subtotal",
        "discount",
        "total",
        "status",
    ],
    "order_lines.parquet": [
        "order_id",
        "line_no",
        "product_id",
        "quantity",
        "unit_price",
        "line_discount",
        "returned",
    ],
    "pos_receipts.parquet": [
        "receipt_id",
        "line_no",
        "store_id",
        "loyalty_card",
        "receipt_ts",
        "product_id",
        "quantity",
        "unit_price",
        "discount",
    ],
    "email_campaigns.csv": ["campaign_id", "name", "theme", "sent_date"],
    "email_events.csv": ["event_id", "campaign_id", "email", "event_type", "event_ts"],
    "marketing_spend.csv": ["month", "channel", "campaign_id", "spend"],
    "first_touch.csv": ["customer_id", "campaign_id", "channel", "touch_ts"],
    "support_tickets.csv": [
        "ticket_id",
        "email",
        "created_ts",
        "channel",
        "topic",
        "subject",
        "body",
        "satisfaction",
    ],
    "reviews.csv": [
        "review_id",
        "account_id",
        "product_id",
        "rating",
        "title",
        "body",
        "created_ts",
    ],
    "survey_responses.csv": [
        "response_id",
        "email",
        "submitted_ts",
        "q_price_conscious",
        "q_quality_first",
        "q_sustainability",
        "q_tech_savvy",
        "q_brand_loyal",
        "q_convenience",
        "q_trend_seeker",
        "q_prefers_store",
        "open_answer",
    ],
}
ID_COLUMNS = {
    "crm_customers": ("crm_customers.csv", "customer_id"),
    "loyalty_members": ("loyalty_members.csv", "card_number"),
    "orders": ("orders.parquet", "order_id"),
    "email_events": ("email_events.csv", "event_id"),
    "support_tickets": ("support_tickets.csv", "ticket_id"),
    "reviews": ("reviews.csv", "review_id"),
    "survey_responses": ("survey_responses.csv", "response_id"),
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DemoSummary]:
    out = tmp_path_factory.mktemp("demo")
    return out, generate_demo_company(out, customers=N, seed=11)


def read(root: Path, name: str) -> pd.DataFrame:
    path = root / "sources" / name
    if name.endswith(".parquet"):
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def events(root: Path) -> list[dict]:
    with open(root / "sources" / "events.jsonl", encoding="utf-8") as f:
        return [json.loads(line) for line in f]


def truth(root: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return (
        pd.read_parquet(root / "truth" / "persons.parquet"),
        pd.read_parquet(root / "truth" / "records.parquet"),
    )


def owner(records: pd.DataFrame, source: str) -> dict[str, str]:
    r = records[records.source == source]
    return dict(zip(r.record_id, r.person_id, strict=True))


def typed(root: Path) -> pd.Series:
    persons, _ = truth(root)
    return persons.set_index("person_id")["type"]


def test_files_and_columns_follow_the_contract(demo: tuple[Path, DemoSummary]) -> None:
    root, summary = demo
    for name, columns in CONTRACT.items():
        path = root / "sources" / name
        got = (
            pq.read_schema(path).names
            if name.endswith(".parquet")
            else list(pd.read_csv(path, nrows=0).columns)
        )
        assert got == columns, name
        assert summary.rows[name] > 0, name
    assert summary.customers == N and summary.seed == 11
    messages = events(root)
    assert len(messages) == summary.rows["events.jsonl"] > 0
    allowed = {
        "type",
        "messageId",
        "anonymousId",
        "userId",
        "timestamp",
        "event",
        "traits",
        "properties",
        "context",
    }
    assert all(set(m) <= allowed for m in messages)
    assert {m["type"] for m in messages} == {"identify", "page", "track"}
    assert list(pq.read_schema(root / "truth" / "persons.parquet").names) == [
        "person_id",
        "type_id",
        "type",
    ]
    assert list(pq.read_schema(root / "truth" / "records.parquet").names) == [
        "source",
        "record_id",
        "person_id",
    ]


def test_event_messages_omit_absent_keys(demo: tuple[Path, DemoSummary]) -> None:
    messages = events(demo[0])
    track = [m for m in messages if m["type"] == "track"]
    page = [m for m in messages if m["type"] == "page"]
    identify = [m for m in messages if m["type"] == "identify"]
    assert track and page and identify
    assert not any("traits" in m for m in track + page)
    assert all("event" in m and "properties" in m for m in track)
    assert any("userId" not in m for m in page), "anonymous page views have no userId"
    assert all("userId" in m and "email" in m["traits"] for m in identify)
    assert {m["context"]["channel"] for m in messages} == {"web", "mobile"}


def test_truth_covers_every_record_once(demo: tuple[Path, DemoSummary]) -> None:
    root, _ = demo
    persons, records = truth(root)
    assert persons.person_id.is_unique and len(persons) == N
    assert set(persons.type) == {t.name for t in LATENT_TYPES}
    assert not records.duplicated(["source", "record_id"]).any()
    assert set(records.person_id) <= set(persons.person_id)
    by_source = records.groupby("source").record_id.apply(set)
    for source, (name, col) in ID_COLUMNS.items():
        ids = read(root, name)[col]
        assert ids.is_unique, source
        assert set(ids) == by_source[source], source
    pos = read(root, "pos_receipts.parquet")
    assert set(pos.receipt_id[pos.loyalty_card.notna()]) == by_source["pos_receipts"]
    assert set(pos.receipt_id[pos.loyalty_card.isna()]).isdisjoint(by_source["pos_receipts"])
    assert {m["messageId"] for m in events(root)} == by_source["events"]
    used = (
        set(read(root, "orders.parquet").account_id.dropna())
        | set(read(root, "reviews.csv").account_id)
        | {m["userId"] for m in events(root) if "userId" in m}
    )
    assert used == by_source["shop_accounts"]


def test_same_seed_same_bytes_other_seed_differs(tmp_path: Path) -> None:
    a = generate_demo_company(tmp_path / "a", customers=300, seed=5)
    b = generate_demo_company(tmp_path / "b", customers=300, seed=5)
    c = generate_demo_company(tmp_path / "c", customers=300, seed=6)
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.*"))
    assert len(files) == len(CONTRACT) + 3  # + events.jsonl and two truth files
    for f in files:
        assert filecmp.cmp(tmp_path / "a" / f, tmp_path / "b" / f, shallow=False), f
    assert a.rows == b.rows
    assert not filecmp.cmp(tmp_path / "a" / files[0], tmp_path / "c" / files[0], shallow=False)
    assert (tmp_path / "a/sources/crm_customers.csv").read_bytes() != (
        tmp_path / "c/sources/crm_customers.csv"
    ).read_bytes()
    assert c.rows != a.rows


def test_sources_are_noisy_like_real_ones(demo: tuple[Path, DemoSummary]) -> None:
    root, _ = demo
    _, records = truth(root)
    crm = read(root, "crm_customers.csv")
    crm["person_id"] = crm.customer_id.map(owner(records, "crm_customers"))
    orders = read(root, "orders.parquet")
    orders["person_id"] = orders.order_id.map(owner(records, "orders"))
    crm_email = crm.drop_duplicates("person_id").set_index("person_id").email
    other = orders.email != orders.person_id.map(crm_email)
    assert 0.02 < other[orders.person_id.isin(crm_email.index)].mean() < 0.5
    # several phone styles, domain typos, normalisable case/space variants
    styles = crm.phone.dropna().str.replace(r"\d", "9", regex=True).value_counts()
    assert len(styles) >= 5 and styles.iloc[0] < 0.6 * styles.sum()
    assert crm.email.str.contains(
        r"@(?:gmial\.com|gmail\.co|hotmial|outlok|yahooo)", regex=True
    ).any()
    assert (crm.email != crm.email.str.strip().str.lower()).any()
    # missing fields
    for col in ("phone", "birth_date", "gender"):
        assert 0.03 < crm[col].isna().mean() < 0.4, col
    # the same person twice in the CRM, and two persons sharing one household email
    assert crm.person_id.duplicated().any()
    shared = crm.groupby("email").person_id.nunique()
    assert (shared > 1).any()
    # moved: loyalty postcode differs from the CRM postcode for some persons
    loyalty = read(root, "loyalty_members.csv")
    loyalty["person_id"] = loyalty.card_number.map(owner(records, "loyalty_members"))
    both = loyalty.merge(crm.drop_duplicates("person_id"), on="person_id", suffixes=("_l", ""))

    def norm(s: pd.Series) -> pd.Series:
        return s.str.upper().str.replace(" ", "")

    assert (norm(both.postcode_l) != norm(both.postcode)).mean() > 0.02
    ship = orders.merge(crm.drop_duplicates("person_id"), on="person_id", suffixes=("", "_c"))
    assert (norm(ship.shipping_postcode) != norm(ship.postcode)).mean() > 0.03
    # persons only in some sources
    in_crm = set(crm.person_id)
    assert set(loyalty.person_id) - in_crm, "store-only customers with a card but no CRM"
    accounts = records[records.source == "shop_accounts"]
    assert set(accounts.person_id) - in_crm, "web-shop accounts without a CRM record"


def test_latent_types_differ_in_the_data(demo: tuple[Path, DemoSummary]) -> None:
    root, _ = demo
    types = typed(root)
    _, records = truth(root)
    crm = read(root, "crm_customers.csv")
    crm["type"] = crm.customer_id.map(owner(records, "crm_customers")).map(types)
    age = (pd.Timestamp("2026-01-01") - pd.to_datetime(crm.birth_date)).dt.days / 365.25
    mean_age = age.groupby(crm.type).mean()
    assert mean_age["store_loyalists"] > mean_age["young_digital"] + 25
    orders = read(root, "orders.parquet")
    orders["type"] = orders.order_id.map(owner(records, "orders")).map(types)
    app = (orders.channel == "app").groupby(orders.type).mean()
    assert app["young_digital"] > 2 * app.drop("young_digital").max()
    coded = orders.discount_code.notna().groupby(orders.type).mean()
    assert coded["one_time_bargain_hunters"] > 0.6 > 0.2 > coded["affluent_professionals"]
    aov = orders.total.groupby(orders.type).mean()
    assert aov["affluent_professionals"] > 2 * aov["young_digital"]
    pos = read(root, "pos_receipts.parquet").drop_duplicates("receipt_id")
    store = pos.receipt_id.map(owner(records, "pos_receipts")).map(types).value_counts()
    assert store.idxmax() == "store_loyalists"
    # but no single column separates them: ages of neighbouring types overlap
    assert age[crm.type == "value_families"].max() > age[crm.type == "affluent_professionals"].min()


def test_kmeans_on_standard_features_recovers_types(demo: tuple[Path, DemoSummary]) -> None:
    sklearn = pytest.importorskip("sklearn")
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score
    from sklearn.preprocessing import StandardScaler

    assert sklearn
    root, _ = demo
    _, records = truth(root)
    lines = read(root, "order_lines.parquet").merge(read(root, "orders.parquet"), on="order_id")
    lines["person_id"] = lines.order_id.map(owner(records, "orders"))
    lines["coded"] = lines.discount_code.notna()
    pos = read(root, "pos_receipts.parquet")
    pos["person_id"] = pos.receipt_id.map(owner(records, "pos_receipts"))
    pos = pos.dropna(subset=["person_id"]).assign(
        channel="store", coded=pos.discount > 0, returned=False
    )
    cats = read(root, "products.csv").set_index("product_id").category
    tx = pd.concat(
        [lines.rename(columns={"order_id": "tid"}), pos.rename(columns={"receipt_id": "tid"})],
        ignore_index=True,
    )
    tx["amount"] = tx.unit_price * tx.quantity
    tx["category"] = tx.product_id.map(cats)
    tx["returned"] = tx.returned.astype(float)
    tx["coded"] = tx.coded.astype(float)
    g = tx.groupby("person_id")
    x = pd.DataFrame(
        {
            "freq": np.log1p(g.tid.nunique()),
            "spend": np.log1p(g.amount.sum()),
            "coded": g.coded.mean(),
            "returned": g.returned.mean(),
        }
    )
    x["aov"] = x.spend - x.freq
    x = x.join(pd.crosstab(tx.drop_duplicates("tid").person_id, tx.channel, normalize="index"))
    x = x.join(pd.crosstab(tx.person_id, tx.category, normalize="index"))
    crm = read(root, "crm_customers.csv")
    crm["person_id"] = crm.customer_id.map(owner(records, "crm_customers"))
    crm = crm.drop_duplicates("person_id").set_index("person_id")
    x["age"] = (pd.Timestamp("2026-01-01") - pd.to_datetime(crm.birth_date)).dt.days
    x = x.fillna(x.median())
    labels = KMeans(5, n_init=10, random_state=0).fit_predict(StandardScaler().fit_transform(x))
    ari = adjusted_rand_score(x.index.map(typed(root)), labels)
    print(f"ARI {ari:.3f}")
    assert 0.3 < ari < 0.9


def test_text_is_varied_and_contains_pii_to_scrub(demo: tuple[Path, DemoSummary]) -> None:
    root, _ = demo
    _, records = truth(root)
    tickets = read(root, "support_tickets.csv")
    assert tickets.body.nunique() > 0.95 * len(tickets)
    assert tickets.topic.nunique() >= 8
    assert not tickets.body.str.contains("\n").any()
    assert not tickets.body.str.contains("{", regex=False).any(), "unfilled placeholder"
    phone = tickets.body.str.contains(
        r"(?:\+44|\(?0)7\d{3}\)?[ -]?\d{3} ?\d{3}|7\d{3}-\d{3}", regex=True
    )
    assert 0.03 < phone.mean() < 0.5
    assert tickets.body.str.contains(r"[\w.]+@[\w.]+\.\w+", regex=True).mean() > 0.03
    crm = read(root, "crm_customers.csv")
    first = crm.assign(person_id=crm.customer_id.map(owner(records, "crm_customers")))
    first = first.drop_duplicates("person_id").set_index("person_id").first_name
    tickets["first"] = tickets.ticket_id.map(owner(records, "support_tickets")).map(first)
    signed = [
        bool(f) and isinstance(f, str) and re.search(rf"\b{re.escape(f)}$", b) is not None
        for f, b in zip(tickets["first"], tickets.body, strict=True)
    ]
    assert np.mean(signed) > 0.1, "some tickets end with 'Regards, <first name>'"
    reviews = read(root, "reviews.csv")
    assert reviews.rating.astype(int).between(1, 5).all() and reviews.body.nunique() > 100
    answers = read(root, "survey_responses.csv").open_answer.dropna()
    assert answers.nunique() > 0.3 * len(answers)


def test_marketing_spend_makes_acquisition_cost_computable(
    demo: tuple[Path, DemoSummary],
) -> None:
    root, _ = demo
    spend = read(root, "marketing_spend.csv").astype({"spend": float})
    touch = read(root, "first_touch.csv")
    assert set(touch.customer_id) <= set(read(root, "crm_customers.csv").customer_id)
    cac = spend.groupby("channel").spend.sum() / touch.groupby("channel").size()
    assert cac["paid_search"] > cac["paid_social"] > cac["organic_search"]
    assert cac["affiliate"] > 2 * cac["paid_social"]
    assert cac["store"] == cac["direct"] == 0
    assert sorted(spend.month.unique())[0] == "2023-01" and spend.month.nunique() == 36


def test_values_are_in_range(demo: tuple[Path, DemoSummary]) -> None:
    root, _ = demo
    orders = read(root, "orders.parquet")
    lo, hi = pd.Timestamp("2023-01-01"), pd.Timestamp("2026-01-01")
    assert orders.order_ts.between(lo, hi, inclusive="left").all()
    assert np.allclose(orders.total, orders.subtotal - orders.discount, atol=0.011)
    assert (orders.total.round(2) == orders.total).all() and (orders.total >= 0).all()
    for name, col in (("email_events.csv", "event_ts"), ("support_tickets.csv", "created_ts")):
        ts = pd.to_datetime(read(root, name)[col], format="%Y-%m-%dT%H:%M:%S")
        assert ts.between(lo, hi, inclusive="left").all(), name
    products = read(root, "products.csv").astype({"price": float})
    assert 300 <= len(products) <= 600 and products.product_id.is_unique
    median = products.groupby("category").price.median()
    assert median["furniture"] > 3 * median["tech_accessories"]


def test_rejects_bad_arguments_and_non_empty_dirs(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="customers"):
        generate_demo_company(tmp_path / "x", customers=99)
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("x")
    with pytest.raises(ValueError, match="not empty"):
        generate_demo_company(tmp_path / "full", customers=100)
    steps: list[tuple[str, float]] = []
    summary = generate_demo_company(
        tmp_path / "full", customers=100, overwrite=True, progress=lambda s, f: steps.append((s, f))
    )
    assert (tmp_path / "full" / "keep.txt").exists()
    assert summary.rows["crm_customers.csv"] > 0
    fractions = [f for s, f in steps if s == "customers"]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert steps[-1][1] == 1.0
