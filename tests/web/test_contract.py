"""schemathesis against the web API's own OpenAPI description (/api/v1/openapi.json):
generated valid and invalid parameters, as an admin (every operation reachable); no answer
may be a 5xx, and every answer must match its documented status, content type and schema."""

from __future__ import annotations

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from personify.web.users import UserStore
from tests.events.conftest import EventServer
from tests.web.conftest import Demo

not_a_server_error = schemathesis.checks.not_a_server_error


@pytest.fixture(scope="module")
def api(server: EventServer) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(f"{server.url}/api/v1/openapi.json")


@pytest.fixture(scope="module")
def admin_token(demo: Demo) -> str:
    return UserStore(demo.workspace).create_token("ada", "schemathesis")[1]


def _operations(server_url: str) -> list[str]:
    spec = httpx.get(f"{server_url}/api/v1/openapi.json").json()
    return sorted(spec["paths"])


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_input_gets_a_server_error(
    api: schemathesis.BaseSchema, server: EventServer, admin_token: str, mode: GenerationMode
) -> None:
    paths = _operations(server.url)
    assert len(paths) >= 9  # every API operation is described
    headers = {"Authorization": f"Bearer {admin_token}"}
    seen: dict[int, int] = {}
    for path in paths:
        operation = api[path]["GET"]

        @settings(
            max_examples=12,
            deadline=None,
            database=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            phases=[Phase.explicit, Phase.generate],
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def check(case: schemathesis.Case) -> None:
            response = case.call(base_url=server.url, headers=headers)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            case.validate_response(
                response,
                checks=[
                    not_a_server_error,
                    status_code_conformance,
                    content_type_conformance,
                    response_schema_conformance,
                ],
            )

        check()
    assert all(status < 500 for status in seen), seen
    if mode is GenerationMode.POSITIVE:
        assert seen.get(200, 0) > 0
    else:
        assert seen.get(422, 0) > 0
