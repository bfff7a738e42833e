"""One small demo workspace for the web tests, built once per session, with three users and
a support ticket whose subject and body are XSS payloads."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from personify import Workspace
from personify.cli import DEMO_LOCALE, demo_sources
from personify.demo import generate_demo_company
from personify.events import KeyStore
from personify.web import create_site
from personify.web.users import UserStore
from tests.events.conftest import EventServer

PASSWORDS = {
    "ada": ("admin", "admin password 1"),
    "alan": ("analyst", "analyst password 1"),
    "vic": ("viewer", "viewer password 1"),
}
XSS_TICKET = "T99999999"
XSS_SUBJECT = "<script>window.__xss = 1</script>"
XSS_BODY = "<img src=x onerror='window.__xss = 2'> Hello <b>bold</b> & 'quoted'"


@dataclass(frozen=True)
class Demo:
    workspace: Path
    xss_email: str


def _add_xss_ticket(sources: Path) -> str:
    path = sources / "support_tickets.csv"
    text = path.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    first = rows[0]
    row = dict(first, ticket_id=XSS_TICKET, subject=XSS_SUBJECT, body=XSS_BODY)
    out = io.StringIO()
    writer = csv.DictWriter(
        out, fieldnames=list(first), quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n"
    )
    writer.writerow(row)
    path.write_text(text + out.getvalue(), encoding="utf-8")
    return first["email"]


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    root = tmp_path_factory.mktemp("web-demo")
    generate_demo_company(root / "data", customers=800, seed=11)
    email = _add_xss_ticket(root / "data" / "sources")
    with Workspace.init(
        root / "workspace", sources=demo_sources(str(root / "data" / "sources")), locale=DEMO_LOCALE
    ) as ws:
        ws.run()
    store = UserStore(root / "workspace")
    for name, (role, password) in PASSWORDS.items():
        store.add(name, role, password)
    return Demo(root / "workspace", email)


SHIFT_CUSTOMERS = 1500


@pytest.fixture(scope="session")
def shifted_demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``personify demo --second-quarter`` (two persona runs, the planned shift between
    them), with the test users: its root folder (data/, workspace/), and the CLI's output
    in ``cli-output.txt``."""
    from typer.testing import CliRunner

    from personify.cli import app

    root = tmp_path_factory.mktemp("shift")
    result = CliRunner().invoke(
        app, ["demo", "--dir", str(root), "--customers", str(SHIFT_CUSTOMERS), "--second-quarter"]
    )
    assert result.exit_code == 0, result.output
    (root / "cli-output.txt").write_text(result.output, encoding="utf-8")
    store = UserStore(root / "workspace")
    for name, (role, password) in PASSWORDS.items():
        store.add(name, role, password)
    return root


@pytest.fixture(scope="session")
def site(demo: Demo) -> Iterator[TestClient]:
    """The web app in-process (no event API): a client with no session."""
    with TestClient(create_site(demo.workspace), base_url="http://testserver") as client:
        yield client


def login(client: TestClient, name: str) -> TestClient:
    page = client.get("/login")
    assert page.status_code == 200
    token = client.cookies.get("personify_login")
    assert token
    answer = client.post(
        "/login",
        data={"username": name, "password": PASSWORDS[name][1], "csrf": token, "next": "/"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def as_user(demo: Demo) -> Iterator[Callable[[str], TestClient]]:
    """``as_user("vic")``: a fresh client logged in as that user (own cookie jar)."""
    clients: list[TestClient] = []
    app = create_site(demo.workspace)

    def make(name: str) -> TestClient:
        client = TestClient(app, base_url="http://testserver")
        clients.append(client)
        return login(client, name)

    yield make
    for c in clients:
        c.close()


@pytest.fixture(scope="session")
def server(demo: Demo) -> Iterator[EventServer]:
    """``personify serve`` on the demo workspace: the event API and the web app together."""
    _, key = KeyStore(demo.workspace).create("web tests")
    running = EventServer(demo.workspace, key).start()
    yield running
    running.stop()


@pytest.fixture
def hostile(tmp_path: Path) -> Path:
    """A workspace whose one persona document is made of markup."""
    ws = Workspace.init(tmp_path / "ws")
    evil = "<script>alert(1)</script>"
    doc = {
        "schema": "personify.persona/v1",
        "persona_id": "r-1",
        "segment_run": "r",
        "segment_id": 1,
        "slug": "evil",
        "name": evil,
        "title": '"><img src=x onerror=alert(2)>',
        "description": evil,
        "tagline": evil,
        "negative": False,
        "negative_reasons": [],
        "size": {"customers": 9, "share": 0.5},
        "value": {
            "currency": None,
            "revenue": 1.0,
            "revenue_share": 0.5,
            "avg_revenue": 1.0,
            "avg_orders": 1.0,
            "avg_order_value": 1.0,
            "acquisition_cost": None,
            "rank": 1,
        },
        "demographics": {"age": None, "city": [{"value": evil, "share": 0.5}]},
        "attributes": [],
        "scales": [],
        "traits": [
            {
                "feature": "x",
                "label": evil,
                "segment": 1.0,
                "population": 0.5,
                "z": 1.0,
                "format": "number",
                "text": evil,
            }
        ],
        "channels": [],
        "categories": [{"category": evil, "share": 0.5, "index": 1.0}],
        "acquisition": [],
        "themes": [{"term": evil, "score": 1.0, "p_value": 0.001}],
        "quotes": [
            {"text": evil + "</blockquote><iframe>", "source": "support_tickets", "date": ""}
        ],
        "evidence": {
            "size": evil,
            "demographics": "",
            "traits": "",
            "themes": "",
            "quotes": "",
            "value": "",
            "channels": "",
        },
        "goals": [{"goal": evil, "why": "a field this app does not know"}],
    }
    other = dict(doc, slug="other", segment_id=2, persona_id="r-2", name="Other")
    ws.engine.sql(
        """CREATE TABLE personas (segment_run VARCHAR, persona_id VARCHAR, segment_id INTEGER,
        slug VARCHAR, name VARCHAR, title VARCHAR, negative BOOLEAN, created_at TIMESTAMP,
        document JSON)"""
    )
    for d in (doc, other):
        ws.engine.sql(
            "INSERT INTO personas VALUES ('r', ?, ?, ?, ?, 't', false, now()::TIMESTAMP, ?)",
            [d["persona_id"], d["segment_id"], d["slug"], d["name"], json.dumps(d)],
        )
    ws.close()
    from personify.web.users import UserStore

    UserStore(ws.path).add("vic", "viewer", "viewer password 1")
    return ws.path
