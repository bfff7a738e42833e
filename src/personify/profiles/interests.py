"""Interests: the product categories a person buys and browses.

Each purchased item counts PURCHASE_WEIGHT signals for its category, each product view,
search or page visit with a category (the event's ``category``, else its product's) one.
``interests`` lists up to MAX_INTERESTS categories that hold at least MIN_SHARE of the
person's signals, strongest first (ties by name); ``interest_unbought`` is the category
the person browses most and has never bought, a natural next offer. A person with fewer
than MIN_SIGNALS signals has no interests: one glance is not an interest.
"""

from __future__ import annotations

from dataclasses import dataclass

PURCHASE_WEIGHT = 3  # buying says more than looking
MIN_SHARE = 0.15
MAX_INTERESTS = 3
MIN_SIGNALS = 3
MIN_BROWSES = 2  # views of a never-bought category before it is an unbought interest

COLUMNS = ("interests", "interest_unbought")


@dataclass(frozen=True)
class InterestQueries:
    ctes: dict[str, str]  # name -> body, in order
    columns: list[str]  # select items on the profile


def interest_queries(
    items: str | None, events: str | None, products: str | None
) -> InterestQueries:
    """CTEs over ``items`` (person_id, category, ...: what was bought) and ``events``
    (person_id, category, product_id: events of the web and the app)."""
    signals = []
    if items:
        signals.append(
            f"SELECT person_id, category, {PURCHASE_WEIGHT} AS w, 1 AS bought FROM ({items}) i "
            "WHERE category IS NOT NULL"
        )
    if events:
        if products:
            category = "coalesce(e.category, p.category)"
            join = f"LEFT JOIN ({products}) p ON p.product_id = e.product_id"
        else:
            category, join = "e.category", ""
        signals.append(
            f"SELECT e.person_id, {category} AS category, 1 AS w, 0 AS bought "
            f"FROM ({events}) e {join} WHERE {category} IS NOT NULL"
        )
    if not signals:
        return InterestQueries({}, [f"CAST(NULL AS VARCHAR) AS {c}" for c in COLUMNS])
    union = " UNION ALL ".join(signals)
    ranked_names = ", ".join(
        f"max(CASE WHEN k = {i} THEN category END)" for i in range(1, MAX_INTERESTS + 1)
    )
    ctes = {
        "interest_scores": f"""
            SELECT person_id, lower(trim(category)) AS category, sum(w) AS score,
                   max(bought) AS bought, sum(CASE WHEN bought = 0 THEN 1 ELSE 0 END) AS browses
            FROM ({union}) s WHERE trim(category) <> ''
            GROUP BY person_id, lower(trim(category))""",
        "interest_ranked": """
            SELECT person_id, category, score, bought, browses,
                   score / sum(score) OVER (PARTITION BY person_id) AS share,
                   sum(score) OVER (PARTITION BY person_id) AS total,
                   row_number() OVER (PARTITION BY person_id ORDER BY score DESC, category) AS k
            FROM interest_scores""",
        "interest": f"""
            SELECT person_id, concat_ws(', ', {ranked_names}) AS interests
            FROM interest_ranked
            WHERE share >= {MIN_SHARE} AND total >= {MIN_SIGNALS}
            GROUP BY person_id""",
        "interest_new": f"""
            SELECT person_id, category AS interest_unbought FROM (
                SELECT person_id, category, row_number() OVER (
                    PARTITION BY person_id ORDER BY browses DESC, category) AS j
                FROM interest_scores WHERE bought = 0 AND browses >= {MIN_BROWSES}) u
            WHERE j = 1""",
    }
    return InterestQueries(ctes, [])
