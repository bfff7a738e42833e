"""segments.min_orders: who is segmented. 0 means everyone, buyers or not."""

# 80 CRM customers; the first 60 bought (1 to 4 orders, totals varying), 20 never did.
CRM = "customer_id,email\n" + "".join(f"C{i},p{i}@x.com\n" for i in range(80))
ORDERS = "order_id,email,order_ts,total\n" + "".join(
    f"O{i}-{n},p{i}@x.com,2025-0{1 + n}-{1 + i % 28:02d}T10:00:00,{10 + 7 * i + 3 * n}\n"
    for i in range(60)
    for n in range(1 + i % 4)
)
BUYERS = {f"C{i}" for i in range(60)}
NON_BUYERS = {f"C{i}" for i in range(60, 80)}


def _segmented(make_workspace, min_orders: int) -> tuple[set[str], int]:
    """The CRM ids of the persons segmented, and the run's customer count."""
    ws = make_workspace(
        {"crm": ("customers", "crm.csv", CRM), "orders": ("orders", "o.csv", ORDERS)}
    )
    segments = ws.config.segments.model_copy(update={"min_orders": min_orders, "k": 3})
    ws.config = ws.config.model_copy(update={"segments": segments})
    ws.ingest.run()
    ws.identity.run()
    ws.profiles.run()
    result = ws.segments.run()
    rows = ws.engine.sql(
        """SELECT l.record_id, p.frequency, p.monetary, p.avg_order_value
        FROM segment_membership m JOIN profiles p USING (person_id)
        JOIN identity_links l ON l.person_id = m.person_id AND l.source = 'crm'"""
    ).fetchall()
    for record_id, frequency, monetary, avg_order_value in rows:
        if record_id in NON_BUYERS:
            assert (frequency, monetary, avg_order_value) == (0, 0, None)
    return {r[0] for r in rows}, result.customers


def test_min_orders_0_segments_persons_without_purchases(make_workspace) -> None:
    members, customers = _segmented(make_workspace, 0)
    assert customers == 80
    assert members == BUYERS | NON_BUYERS


def test_min_orders_1_segments_buyers_only(make_workspace) -> None:
    members, customers = _segmented(make_workspace, 1)
    assert customers == 60
    assert members == BUYERS
