"""The HTTP API against a real server: shapes, auth, gzip, skew correction, dedupe, bad input."""

from __future__ import annotations

import gzip
import time
from datetime import datetime, timedelta

import httpx
import orjson
import pytest

from personify import Workspace
from personify.events import KeyStore
from tests.events.conftest import EventServer, logged_bytes, stored, wait_for


def _ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_every_endpoint_stores_its_message(server: EventServer) -> None:
    calls = {
        "identify": {"userId": "u1", "traits": {"plan": "pro"}, "messageId": "m-identify"},
        "track": {"userId": "u1", "event": "Signed Up", "messageId": "m-track"},
        "page": {"anonymousId": "a1", "name": "Home", "messageId": "m-page"},
        "screen": {"userId": "u1", "name": "Cart", "messageId": "m-screen"},
        "group": {"userId": "u1", "groupId": "g1", "messageId": "m-group"},
        "alias": {"userId": "u1", "previousId": "a1", "messageId": "m-alias"},
    }
    for kind, body in calls.items():
        r = server.post(f"/v1/{kind}", body)
        assert (r.status_code, r.json()) == (200, {"success": True}), kind
    r = server.post("/v1/import", {"batch": [{"type": "track", "userId": "u2", "event": "E"}]})
    assert r.status_code == 200
    found = wait_for(server.workspace, 7)
    by_id = {m["messageId"]: m for m in found}
    assert len(found) == 7
    for kind, body in calls.items():
        message = by_id[body["messageId"]]
        assert message["type"] == kind
        assert {k: message[k] for k in body} == body
    assert by_id["m-group"]["groupId"] == "g1"
    assert by_id["m-alias"]["previousId"] == "a1"
    imported = next(m for m in found if m.get("userId") == "u2")
    assert imported["messageId"]  # the server gave it one


def test_write_key_in_the_body_and_gzip(server: EventServer) -> None:
    body = {"writeKey": server.key, "userId": "u1", "event": "Gz", "messageId": "gz-1"}
    r = server.post(
        "/v1/track",
        content=gzip.compress(orjson.dumps(body)),
        auth=None,
        headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
    )
    assert r.status_code == 200, r.text
    (message,) = wait_for(server.workspace, 1)
    assert message["event"] == "Gz"
    assert "writeKey" not in message  # the secret is never stored


def test_sent_at_corrects_the_client_clock(server: EventServer) -> None:
    # A client whose clock runs 1 hour fast: it says the event happened 10 s before sending.
    r = server.post(
        "/v1/batch",
        {
            "sentAt": "2031-05-01T13:00:10Z",
            "batch": [
                {
                    "type": "track",
                    "userId": "u",
                    "event": "Late",
                    "messageId": "skew",
                    "timestamp": "2031-05-01T13:00:00Z",
                },
                {"type": "track", "userId": "u", "event": "NoTs", "messageId": "no-ts"},
                {  # RudderStack's SDKs: the client's time as originalTimestamp
                    "type": "track",
                    "userId": "u",
                    "event": "Rudder",
                    "messageId": "rudder",
                    "originalTimestamp": "2031-05-01T13:00:04Z",
                },
            ],
        },
    )
    assert r.status_code == 200
    by_id = {m["messageId"]: m for m in wait_for(server.workspace, 3)}
    rudder = by_id["rudder"]
    assert rudder["originalTimestamp"] == "2031-05-01T13:00:04Z"
    assert _ts(rudder["receivedAt"]) - _ts(rudder["timestamp"]) == timedelta(seconds=6)
    skew = by_id["skew"]
    assert skew["originalTimestamp"] == "2031-05-01T13:00:00Z"
    assert _ts(skew["receivedAt"]) - _ts(skew["timestamp"]) == timedelta(seconds=10)
    assert abs(_ts(skew["receivedAt"]) - datetime.now(_ts(skew["receivedAt"]).tzinfo)) < timedelta(
        minutes=5
    )
    assert by_id["no-ts"]["timestamp"] == by_id["no-ts"]["receivedAt"]


def test_a_repeated_message_id_is_stored_once(server: EventServer) -> None:
    message = {"type": "track", "userId": "u", "event": "Twice", "messageId": "dup-1"}
    assert server.post("/v1/batch", {"batch": [message, message]}).status_code == 200
    wait_for(server.workspace, 1)
    assert server.post("/v1/track", message).status_code == 200  # a client's retry
    assert server.post("/v1/track", {**message, "messageId": "other"}).status_code == 200
    found = wait_for(server.workspace, 2)
    server.stop()  # drains everything into the inbox
    found = stored(server.workspace)
    assert sorted(m["messageId"] for m in found) == ["dup-1", "other"]


def _big(n_bytes: int) -> str:
    return "x" * n_bytes


BAD = [
    ("not json", "/v1/track", b"{nope", {}, 400, "not valid JSON"),
    ("an array", "/v1/track", b"[1, 2]", {}, 400, "JSON object"),
    ("a number", "/v1/batch", b"42", {}, 400, "JSON object"),
    ("no one", "/v1/track", b'{"event": "E"}', {}, 400, "userId or anonymousId"),
    ("userId a number", "/v1/track", b'{"userId": 5, "event": "E"}', {}, 400, "userId"),
    ("track without event", "/v1/track", b'{"userId": "u"}', {}, 400, "event"),
    ("traits not object", "/v1/identify", b'{"userId": "u", "traits": 1}', {}, 400, "traits"),
    ("bad timestamp", "/v1/track", b'{"userId":"u","event":"E","timestamp":"soon"}', {}, 400, ""),
    ("wrong type", "/v1/track", b'{"type":"page","userId":"u","event":"E"}', {}, 400, "type"),
    ("batch item type", "/v1/batch", b'{"batch":[{"type":"nope","userId":"u"}]}', {}, 400, ""),
    ("empty batch", "/v1/batch", b'{"batch": []}', {}, 400, "batch"),
    ("batch not list", "/v1/batch", b'{"batch": {}}', {}, 400, "batch"),
    ("bad gzip", "/v1/track", b"not gzip", {"Content-Encoding": "gzip"}, 400, "gzip"),
    ("truncated gzip", "/v1/track", gzip.compress(b'{"userId":"u"}')[:-6],
     {"Content-Encoding": "gzip"}, 400, "gzip"),
    ("brotli", "/v1/track", b"{}", {"Content-Encoding": "br"}, 415, "Content-Encoding"),
    ("call over 32 KB", "/v1/track",
     orjson.dumps({"userId": "u", "event": "E", "properties": {"t": _big(33 * 1024)}}), {},
     413, "32 KB"),
    ("batch over 500 KB", "/v1/batch",
     orjson.dumps({"batch": [{"type": "track", "userId": "u", "event": _big(900)}] * 600}), {},
     413, "500 KB"),
    ("gzip bomb", "/v1/batch", gzip.compress(b" " * (5 * 2**20)), {"Content-Encoding": "gzip"},
     413, "unzipped"),
    ("message over 32 KB in a batch", "/v1/batch",
     orjson.dumps({"batch": [{"type": "track", "userId": "u", "event": "E",
                              "properties": {"t": _big(40 * 1024)}}]}), {}, 413, "32 KB"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("path", "body", "headers", "status", "says"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_input_gets_a_4xx_and_stores_nothing(
    shared_server: EventServer,
    path: str,
    body: bytes,
    headers: dict[str, str],
    status: int,
    says: str,
) -> None:
    server = shared_server
    before = logged_bytes(server.workspace)
    r = server.post(path, content=body, headers=headers)
    assert r.status_code == status, r.text
    reply = r.json()
    assert reply["success"] is False
    assert says in reply["message"]
    assert reply["code"]
    assert logged_bytes(server.workspace) == before


def test_big_integers_are_kept(shared_server: EventServer) -> None:
    body = b'{"userId":"u","event":"E","properties":{"n":123456789012345678901234567890}}'
    assert shared_server.post("/v1/track", content=body).status_code == 200


def test_authentication(server: EventServer) -> None:
    body = {"userId": "u", "event": "E"}
    assert server.post("/v1/track", body, auth=None).status_code == 401
    assert server.post("/v1/track", body, auth=("pk_nope_secret", "")).status_code == 401
    wrong_secret = server.key.rsplit("_", 1)[0] + "_wrong"
    assert server.post("/v1/track", body, auth=(wrong_secret, "")).status_code == 401
    r = server.post("/v1/track", body, headers={"Authorization": "Bearer x"}, auth=None)
    assert r.status_code == 401
    r = server.post("/v1/track", body, headers={"Authorization": "Basic !!!"}, auth=None)
    assert r.status_code == 401
    assert server.post("/v1/track", {**body, "writeKey": 7}, auth=None).status_code == 401
    assert logged_bytes(server.workspace) == 0
    # Revoked while the server runs: refused from the next request on.
    assert server.post("/v1/track", body).status_code == 200
    store = KeyStore(server.workspace)
    store.revoke(store.list()[0].key_id)
    time.sleep(0.5)  # the server looks at the key file every quarter second
    r = server.post("/v1/track", body)
    assert r.status_code == 401
    assert r.json()["message"] == "unknown or revoked write key"


def test_logs_never_show_personal_values(server: EventServer) -> None:
    secret = "jane.private@example.org"
    ok = {"userId": secret, "traits": {"email": secret}}
    assert server.post("/v1/identify", ok).status_code == 200
    for bad in ({"userId": 7, "traits": {"email": secret}}, {"traits": {"email": secret}}):
        r = server.post("/v1/identify", bad)
        assert r.status_code == 400
        assert secret not in r.text
    assert server.post("/v1/identify", ok, auth=(secret, "")).status_code == 401
    server.stop()
    assert "POST /v1/identify -> 400" in server.log_text() or "400" not in server.log_text()
    assert secret not in server.log_text()
    assert "jane" not in server.log_text()


def test_openapi_describes_the_endpoints(shared_server: EventServer) -> None:
    spec = httpx.get(f"{shared_server.url}/openapi.json").json()
    paths = set(spec["paths"])
    assert {f"/v1/{k}" for k in ("identify", "track", "page", "screen", "group", "alias")} < paths
    assert {"/v1/batch", "/v1/import"} < paths
    assert "Track" in spec["components"]["schemas"]


def test_docs_work_offline(shared_server: EventServer) -> None:
    """/docs is one self-contained page: no script, nothing loaded from anywhere."""
    r = httpx.get(f"{shared_server.url}/docs")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "<script" not in r.text and "src=" not in r.text and "cdn" not in r.text.lower()
    assert "<link" not in r.text and "http" not in r.text  # no remote asset of any kind
    for op in ("POST /v1/identify", "POST /v1/track", "POST /v1/batch"):
        assert op in r.text
    assert 'href="/openapi.json"' in r.text
    assert r.headers["content-security-policy"].startswith("default-src 'none'")
    assert httpx.get(f"{shared_server.url}/redoc").status_code == 404


def test_collected_events_load_into_raw_events(server: EventServer) -> None:
    batch = [
        {"type": "identify", "anonymousId": "anon-1", "userId": "acct-1", "messageId": "i1",
         "traits": {"email": "someone@example.com"}},
        {"type": "track", "userId": "acct-1", "event": "Product Viewed", "messageId": "t1",
         "properties": {"product_id": "SKU-9", "price": 12.5, "category": "books"}},
        {"type": "page", "anonymousId": "anon-1", "messageId": "p1",
         "properties": {"path": "/p/SKU-9"}},
    ]  # fmt: skip
    assert server.post("/v1/batch", {"batch": batch}).status_code == 200
    server.stop()
    with Workspace(server.workspace) as ws:
        ws.ingest.run()
        rows = ws.engine.fetch_df(
            "SELECT message_id, type, user_id, anonymous_id, email, event, product_id, price,"
            " page_path FROM raw_events ORDER BY message_id"
        ).to_dict("records")
    assert [r["message_id"] for r in rows] == ["i1", "p1", "t1"]
    i1, p1, t1 = rows
    assert (i1["type"], i1["user_id"], i1["anonymous_id"], i1["email"]) == (
        "identify", "acct-1", "anon-1", "someone@example.com"
    )  # fmt: skip
    assert (t1["event"], t1["product_id"], t1["price"]) == ("Product Viewed", "SKU-9", 12.5)
    assert p1["page_path"] == "/p/SKU-9"


def test_browsers_may_call_from_any_origin(shared_server: EventServer) -> None:
    """analytics.js posts from the shop's pages: the preflight and the call itself both
    allow any origin (the /v1 calls skip the framework's middleware: see FastPath)."""
    origin = {"Origin": "https://shop.example"}
    preflight = httpx.options(
        f"{shared_server.url}/v1/track",
        headers={**origin, "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type, authorization"},
        timeout=30,
    )  # fmt: skip
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == "*"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    body = {"userId": "u", "event": "Browsed", "messageId": "cors-1"}
    call = shared_server.post("/v1/track", body, headers=origin)
    assert call.status_code == 200 and call.json() == {"success": True}
    assert call.headers["access-control-allow-origin"] == "*"
    refused = shared_server.post("/v1/track", body, headers=origin, auth=("pk_nope", ""))
    assert refused.status_code == 401
    assert refused.headers["access-control-allow-origin"] == "*"  # the page can read why
    plain = shared_server.post("/v1/track", {**body, "messageId": "cors-2"})
    assert "access-control-allow-origin" not in plain.headers
