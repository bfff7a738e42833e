"""Anonymous-to-known stitching end to end: Segment's Python SDK -> server -> identity.

One shopper browses on two devices and under an old account id before and after signing
in; identify (anonymousId, then userId with it) and alias (previousId -> userId) calls
must make one person of every id, and that person's page and track events count in the
profile. A second shopper who never signs in stays apart. The expected groups and counts
below are read off the calls this test makes, not off the pipeline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from segment.analytics import Client

from personify import Workspace
from tests.events.conftest import EventServer, wait_for

SHOPPER = {"anon-laptop", "anon-phone", "user-42", "old-7"}
STRANGER = {"anon-stranger"}


def _send(server: EventServer) -> int:
    errors: list[Any] = []
    client = Client(
        write_key=server.key,
        host=server.url,
        on_error=lambda error, batch: errors.append(error),
        max_retries=2,
    )
    n = 0

    def sent() -> None:
        nonlocal n
        n += 1

    # The laptop, before signing in: two pages, a product view, an anonymous identify.
    for path in ("/", "/c/shoes"):
        client.page(anonymous_id="anon-laptop", name=path, properties={"path": path})
        sent()
    client.track(anonymous_id="anon-laptop", event="Product Viewed", properties={"price": 50})
    sent()
    client.identify(anonymous_id="anon-laptop", traits={"newsletter": True})
    sent()
    # Signing in: identify with the user id and the device's anonymous id.
    client.identify("user-42", {"plan": "gold"}, anonymous_id="anon-laptop")
    sent()
    client.track("user-42", "Order Completed", {"price": 120})
    sent()
    client.track("user-42", "Product Added", {"price": 30})
    sent()
    # The phone browses anonymously; the app then aliases its anonymous id to the user.
    for path in ("/", "/p/1", "/p/2"):
        client.page(anonymous_id="anon-phone", name=path, properties={"path": path})
        sent()
    client.alias("anon-phone", "user-42")
    sent()
    # An account from before a migration, merged into the new one by alias.
    client.track("old-7", "Order Completed", {"price": 80})
    sent()
    client.alias("old-7", "user-42")
    sent()
    # Someone else, never signed in.
    for path in ("/", "/sale"):
        client.page(anonymous_id="anon-stranger", name=path, properties={"path": path})
        sent()
    client.flush()
    client.join()
    assert errors == []
    return n


def test_identify_and_alias_make_one_person_whose_events_count(
    events_workspace: tuple[Path, str],
) -> None:
    path, key = events_workspace
    server = EventServer(path, key).start()
    try:
        n = _send(server)
        assert len(wait_for(path, n)) == n
    finally:
        server.stop()
    with Workspace(path) as ws:
        ws.ingest.run()
        ws.identity.run()
        ws.profiles.run()
        engine = ws.engine
        graph = engine.sql(
            "SELECT id_value, person_id FROM identity_graph "
            "WHERE id_type IN ('anonymous_id', 'account_id')"
        ).fetchall()
        person_of: dict[str, set[str]] = {}
        for value, person in graph:
            person_of.setdefault(value, set()).add(person)
        assert all(len(p) == 1 for p in person_of.values())
        shopper = {next(iter(person_of[i])) for i in SHOPPER}
        stranger = {next(iter(person_of[i])) for i in STRANGER}
        assert len(shopper) == 1 and len(stranger) == 1 and shopper != stranger
        (pid,) = shopper
        counts = dict(
            engine.sql(
                """SELECT e.type, count(*) FROM raw_events e JOIN identity_links l
                ON l.source = 'events' AND l.record_id = e.message_id
                WHERE l.person_id = ? GROUP BY e.type""",
                [pid],
            ).fetchall()
        )
        # Pages: 2 laptop + 3 phone; tracks: 1 laptop + 2 signed in + 1 old account;
        # identify: 2; alias: 2: all 13 of the shopper's calls (web_events counts them all).
        assert counts == {"page": 5, "track": 4, "identify": 2, "alias": 2}
        profile = dict(
            engine.sql(
                "SELECT person_id, web_events FROM profiles WHERE person_id IN (?, ?)",
                [pid, next(iter(stranger))],
            ).fetchall()
        )
        assert profile == {pid: 13, next(iter(stranger)): 2}


def test_previous_id_links_in_both_id_spaces_unless_given_a_key() -> None:
    from personify.config import SourceSpec
    from personify.ingest.kinds import identifier_keys

    plain = SourceSpec.model_validate({"kind": "events", "path": "e.jsonl"})
    assert sorted(identifier_keys(plain)) == [
        ("anonymous_id", "anonymous_id"),
        ("email", "email"),
        ("previous_id", "account_id"),
        ("previous_id", "anonymous_id"),
        ("user_id", "account_id"),
    ]
    keyed = SourceSpec.model_validate(
        {"kind": "events", "path": "e.jsonl", "columns": {"previous_id": {"key": "member_no"}}}
    )
    assert ("previous_id", "member_no") in identifier_keys(keyed)
    assert [k for c, k in identifier_keys(keyed) if c == "previous_id"] == ["member_no"]


def test_a_workspace_loaded_before_previous_id_existed_is_rebuilt(tmp_path: Path) -> None:
    """An upgrade adds the column: the next load rebuilds the table instead of failing."""
    inbox = tmp_path / "ws" / "events" / "inbox"
    inbox.mkdir(parents=True)
    lines = [
        '{"messageId":"m1","type":"alias","userId":"u1","previousId":"a1",'
        '"timestamp":"2026-01-02T03:04:05Z"}',
        '{"messageId":"m2","type":"page","anonymousId":"a1","timestamp":"2026-01-02T03:05:05Z"}',
    ]
    (inbox / "events-000000000001-000000000000.jsonl").write_text("\n".join(lines) + "\n")
    ws = Workspace.init(
        tmp_path / "ws", sources={"events": {"kind": "events", "path": "events/inbox/*.jsonl"}}
    )
    with ws:
        ws.ingest.run()
        ws.engine.sql("ALTER TABLE raw_events DROP COLUMN previous_id")  # as an older version
        (inbox / "events-000000000001-000000000999.jsonl").write_text(
            '{"messageId":"m3","type":"track","event":"x","userId":"u1",'
            '"timestamp":"2026-01-02T03:06:05Z"}\n'
        )
        load = ws.ingest.run().sources[0]
        assert load.mode == "full"
        rows = ws.engine.sql(
            "SELECT message_id, previous_id FROM raw_events ORDER BY message_id"
        ).fetchall()
        assert rows == [("m1", "a1"), ("m2", None), ("m3", None)]
