"""Logging in, sessions, roles, CSRF, the login rate limit and API tokens."""

from __future__ import annotations

import json
from collections.abc import Callable

from fastapi.testclient import TestClient

from personify.web import create_site
from personify.web.users import UserStore
from tests.web.conftest import PASSWORDS, Demo


def _error(response, status: int) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"status", "code", "message", "details"}
    assert body["error"]["status"] == status
    return body["error"]


def test_pages_send_strangers_to_the_login_and_the_api_answers_401(site: TestClient) -> None:
    page = site.get("/personas/anything?x=1", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2Fpersonas%2Fanything%3Fx%3D1"
    assert _error(site.get("/api/v1/personas"), 401)["code"] == "unauthorized"


def test_password_is_stored_as_an_argon2id_hash_only(demo: Demo) -> None:
    text = (demo.workspace / "web" / "users.json").read_text()
    assert "$argon2id$" in text
    for _role, password in PASSWORDS.values():
        assert password not in text
    assert (demo.workspace / "web" / "users.json").stat().st_mode & 0o077 == 0


def test_session_cookie_is_httponly_and_lax_and_secure_over_https(demo: Demo) -> None:
    app = create_site(demo.workspace)
    for base, secure in (("http://testserver", False), ("https://testserver", True)):
        with TestClient(app, base_url=base) as client:
            client.get("/login")
            answer = client.post(
                "/login",
                data={
                    "username": "vic",
                    "password": PASSWORDS["vic"][1],
                    "csrf": client.cookies.get("personify_login"),
                },
                follow_redirects=False,
            )
            assert answer.status_code == 303
            cookie = next(
                v for k, v in answer.headers.multi_items() if k == "set-cookie" and "session" in v
            )
            attributes = [a.strip().lower() for a in cookie.split(";")]
            assert "httponly" in attributes
            assert "samesite=lax" in attributes
            assert ("secure" in attributes) is secure


def test_login_form_needs_its_csrf_token(site: TestClient) -> None:
    site.get("/login")
    answer = site.post(
        "/login",
        data={"username": "vic", "password": PASSWORDS["vic"][1], "csrf": "forged"},
        follow_redirects=False,
    )
    assert answer.status_code == 403
    assert "personify_session" not in answer.headers.get("set-cookie", "")


def test_a_form_from_another_site_is_refused(as_user: Callable[[str], TestClient]) -> None:
    admin = as_user("ada")
    page = admin.get("/admin/users")
    csrf = page.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    form = {"csrf": csrf, "action": "token", "name": "x"}
    assert (
        admin.post(
            "/admin/users", data=form, headers={"origin": "https://evil.example"}
        ).status_code
        == 403
    )
    assert admin.post("/admin/users", data={**form, "csrf": "wrong"}).status_code == 403
    ok = admin.post("/admin/users", data=form, headers={"origin": "http://testserver"})
    assert ok.status_code == 200
    assert "pt_" in ok.text


def test_logout_needs_the_session_token_and_ends_the_session(
    as_user: Callable[[str], TestClient],
) -> None:
    client = as_user("vic")
    assert client.post("/logout", data={"csrf": "nope"}).status_code == 403
    csrf = client.get("/").text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    out = client.post("/logout", data={"csrf": csrf}, follow_redirects=False)
    assert out.status_code == 303
    assert client.get("/", follow_redirects=False).status_code == 303  # logged out


def test_wrong_passwords_are_rate_limited_per_account(demo: Demo) -> None:
    with TestClient(create_site(demo.workspace)) as client:
        client.get("/login")
        csrf = client.cookies.get("personify_login")
        for _ in range(5):
            bad = client.post(
                "/login", data={"username": "alan", "password": "wrong guess!", "csrf": csrf}
            )
            assert bad.status_code == 401
            assert "Wrong user name or password" in bad.text
        right = {"username": "alan", "password": PASSWORDS["alan"][1], "csrf": csrf}
        blocked = client.post("/login", data=right, follow_redirects=False)
        assert blocked.status_code == 429
        assert "personify_session" not in blocked.headers.get("set-cookie", "")
        # another account from the same address is not locked by alan's failures
        other = client.post(
            "/login",
            data={"username": "vic", "password": PASSWORDS["vic"][1], "csrf": csrf},
            follow_redirects=False,
        )
        assert other.status_code == 303


def test_login_redirects_only_to_this_site(demo: Demo) -> None:
    with TestClient(create_site(demo.workspace)) as client:
        for target, expected in (
            ("//evil.example/x", "/"),
            ("https://evil.example", "/"),
            ("/segments", "/segments"),
            ("/\\evil", "/"),
        ):
            client.get("/login")
            answer = client.post(
                "/login",
                data={
                    "username": "vic",
                    "password": PASSWORDS["vic"][1],
                    "csrf": client.cookies.get("personify_login"),
                    "next": target,
                },
                follow_redirects=False,
            )
            assert answer.headers["location"] == expected


def test_roles(as_user: Callable[[str], TestClient], demo: Demo) -> None:
    viewer, analyst, admin = as_user("vic"), as_user("alan"), as_user("ada")
    person = f"support_tickets:{'T00000000'}"
    for path in (f"/customers/{person}", "/customers", "/admin/users"):
        page = viewer.get(path)
        assert page.status_code == 403
        assert "Not allowed" in page.text
    assert _error(viewer.get(f"/api/v1/customers/{person}"), 403)["code"] == "forbidden"
    assert _error(viewer.get("/api/v1/users"), 403)["code"] == "forbidden"
    assert analyst.get(f"/customers/{person}").status_code == 200
    assert analyst.get(f"/api/v1/customers/{person}").status_code == 200
    assert analyst.get("/admin/users").status_code == 403
    assert admin.get("/admin/users").status_code == 200
    assert {u["name"] for u in admin.get("/api/v1/users").json()} >= set(PASSWORDS)
    # viewers get no customer search either: an identifier finds no person for them
    hit = viewer.get("/api/v1/search", params={"q": person}).json()
    assert hit["person_id"] is None
    assert analyst.get("/api/v1/search", params={"q": person}).json()["person_id"]
    assert "Customers" not in viewer.get("/").text.split("<main", 1)[0]


def test_api_tokens_are_hashed_at_rest_and_revocable(demo: Demo, site: TestClient) -> None:
    store = UserStore(demo.workspace)
    record, token = store.create_token("alan", "nightly export")
    secret = token.removeprefix("pt_").split("_", 1)[1]
    assert len(secret) >= 40  # 32 random bytes
    assert secret not in (demo.workspace / "web" / "users.json").read_text()
    auth = {"authorization": f"Bearer {token}"}
    assert site.get("/api/v1/me", headers=auth).json() == {"name": "alan", "role": "analyst"}
    assert _error(site.get("/api/v1/me", headers={"authorization": f"Bearer {token}x"}), 401)
    store.revoke_token(record.token_id)
    site.app.app.state.users._checked = -1.0  # type: ignore[attr-defined]  # no 0.5 s wait
    assert _error(site.get("/api/v1/me", headers=auth), 401)


def test_a_removed_user_loses_the_session_at_once(
    demo: Demo, as_user: Callable[[str], TestClient]
) -> None:
    store = UserStore(demo.workspace)
    store.add("temp", "viewer", "temporary password")
    PASSWORDS["temp"] = ("viewer", "temporary password")
    try:
        client = as_user("temp")
        assert client.get("/").status_code == 200
        store.remove("temp")
        client.app.app.state.users._checked = -1.0  # type: ignore[attr-defined]
        assert client.get("/", follow_redirects=False).status_code == 303
    finally:
        PASSWORDS.pop("temp")
        if any(u.name == "temp" for u in store.list()):
            store.remove("temp")


def test_users_json_lists_roles_without_secrets(demo: Demo) -> None:
    data = json.loads((demo.workspace / "web" / "users.json").read_text())
    for u in data["users"]:
        assert u["role"] in ("viewer", "analyst", "admin")
        for t in u["tokens"]:
            assert set(t) == {"id", "name", "created_at", "sha256"}
