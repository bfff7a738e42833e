"""The optional LLM narrative, against a small OpenAI-compatible stub server started here.

The stub records what it was sent and answers with a fixed paragraph. The card gets the
stub's text marked as generated, the request holds the card's evidence and no customer
text, and without a URL (or with a server that fails) the template narrative stays."""

from __future__ import annotations

import copy
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import pytest
from tests.personas.test_schema import MINIMAL, STATEMENT, validate

from personify.config import NarrativeConfig
from personify.personas.llm import SYSTEM_PROMPT, llm_narrative

ANSWER = "Maya is a careful buyer who compares prices before every order."
QUOTE = "My name is Ann Example and I live at 1 Secret Lane"


class _Stub(BaseHTTPRequestHandler):
    requests: ClassVar[list[dict[str, Any]]] = []
    status = 200

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).requests.append(
            {
                "path": self.path,
                "auth": self.headers.get("Authorization"),
                "body": json.loads(self.rfile.read(length)),
            }
        )
        reply = {"choices": [{"message": {"role": "assistant", "content": ANSWER}}]}
        data = json.dumps(reply).encode()
        self.send_response(type(self).status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def stub() -> Iterator[str]:
    _Stub.requests, _Stub.status = [], 200
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Stub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def _doc() -> dict[str, Any]:
    doc = copy.deepcopy(MINIMAL)
    doc["goals"] = {"statements": [STATEMENT], "note": None}
    doc["quotes"] = [{"text": QUOTE, "source": "reviews", "date": "2025-01-02", "tone": "negative"}]
    return doc


def test_the_model_writes_from_the_evidence_only(stub: str, monkeypatch) -> None:
    monkeypatch.setenv("PERSONIFY_TEST_KEY", "sk-test")
    config = NarrativeConfig(url=stub, model="stub-1", api_key_env="PERSONIFY_TEST_KEY")
    told = llm_narrative(_doc(), config, language="de")
    assert told == {"text": ANSWER, "generated_by": "llm", "model": "stub-1"}
    doc = _doc() | {"narrative": told}
    validate(doc)  # the schema knows a generated narrative
    [sent] = _Stub.requests
    assert sent["path"] == "/v1/chat/completions"
    assert sent["auth"] == "Bearer sk-test"
    body = sent["body"]
    assert body["model"] == "stub-1" and body["temperature"] == 0
    system, user = body["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert "only the facts" in system["content"]
    evidence = json.loads(user["content"])
    assert evidence["language"] == "de"
    assert evidence["goals"] == [STATEMENT["text"]]
    assert QUOTE not in user["content"] and "Ann Example" not in user["content"]


def test_without_a_url_or_an_answer_the_template_stays(stub: str) -> None:
    assert llm_narrative(_doc(), NarrativeConfig()) is None
    assert _Stub.requests == []
    _Stub.status = 500
    assert llm_narrative(_doc(), NarrativeConfig(url=stub)) is None
    assert len(_Stub.requests) == 1
    closed = NarrativeConfig(url="http://127.0.0.1:9/v1", timeout_seconds=2)
    assert llm_narrative(_doc(), closed) is None
