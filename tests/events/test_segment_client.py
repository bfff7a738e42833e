"""Segment's own Python SDK (segment-analytics-python), pointed at the local server by ``host``."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import pytest
from segment.analytics import Client

from tests.events.conftest import EventServer, wait_for


def _client(server: EventServer, errors: list[Any], **options: Any) -> Client:
    return Client(
        write_key=server.key,
        host=server.url,
        on_error=lambda error, batch: errors.append((error, len(batch))),
        max_retries=2,
        **options,
    )


@pytest.mark.parametrize("gzip", [False, True], ids=["plain", "gzip"])
def test_every_call_arrives_intact_with_its_message_id(server: EventServer, gzip: bool) -> None:
    errors: list[Any] = []
    client = _client(server, errors, gzip=gzip)
    when = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    client.identify("user-1", {"plan": "pro", "age": 41}, message_id="c-identify", timestamp=when)
    client.track(
        "user-1", "Order Completed", {"price": 19.99, "items": ["a", "b"]}, message_id="c-track"
    )
    client.page("user-1", "Docs", "Install", {"path": "/docs"}, message_id="c-page")
    client.screen("user-1", "App", "Cart", message_id="c-screen")
    client.group("user-1", "acme", {"employees": 12}, message_id="c-group")
    client.alias("anon-9", "user-1", message_id="c-alias")
    client.track(anonymous_id="anon-9", event="Visited", message_id="c-anon")
    client.flush()
    client.join()
    assert errors == []
    by_id = {m["messageId"]: m for m in wait_for(server.workspace, 7)}
    assert set(by_id) == {
        "c-identify", "c-track", "c-page", "c-screen", "c-group", "c-alias", "c-anon"
    }  # fmt: skip
    assert by_id["c-identify"]["traits"] == {"plan": "pro", "age": 41}
    assert by_id["c-identify"]["originalTimestamp"].startswith("2026-03-04T05:06:07")
    assert by_id["c-track"]["properties"] == {"price": 19.99, "items": ["a", "b"]}
    assert by_id["c-track"]["event"] == "Order Completed"
    assert (by_id["c-page"]["name"], by_id["c-page"]["category"]) == ("Install", "Docs")
    assert by_id["c-page"]["properties"]["path"] == "/docs"
    assert by_id["c-screen"]["name"] == "Cart"
    assert (by_id["c-group"]["groupId"], by_id["c-group"]["traits"]) == ("acme", {"employees": 12})
    assert (by_id["c-alias"]["previousId"], by_id["c-alias"]["userId"]) == ("anon-9", "user-1")
    assert by_id["c-anon"]["anonymousId"] == "anon-9"
    assert by_id["c-track"]["context"]["library"]["name"] == "analytics-python"
    assert all(m["type"] == k.split("-")[1] for k, m in by_id.items() if k != "c-anon")


def test_batch_flushes_keep_each_users_order(server: EventServer) -> None:
    errors: list[Any] = []
    client = _client(server, errors, upload_size=50)  # many batch calls
    sent: dict[str, list[str]] = {"u-a": [], "u-b": [], "u-c": []}
    for i in range(600):
        user = f"u-{'abc'[i % 3]}"
        mid = f"{user}-{i:04d}"
        sent[user].append(mid)
        client.track(user, "Step", {"i": i}, message_id=mid)
    client.flush()
    client.join()
    assert errors == []
    found = wait_for(server.workspace, 600)
    assert len(found) == 600
    for user, ids in sent.items():
        assert [m["messageId"] for m in found if m["userId"] == user] == ids
    assert {m["properties"]["i"] for m in found} == set(range(600))


def test_a_revoked_key_is_reported_to_the_client(server: EventServer) -> None:
    from personify.events import KeyStore

    store = KeyStore(server.workspace)
    store.revoke(store.list()[0].key_id)
    time.sleep(0.5)  # the server looks at the key file every quarter second
    errors: list[Any] = []
    client = _client(server, errors)
    client.track("user-1", "Nope")
    client.flush()
    client.join()
    assert len(errors) == 1
    assert errors[0][0].status == 401
    assert errors[0][0].code == "unauthorized"
