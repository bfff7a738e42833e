"""While a pipeline run holds the database, pages serve the last snapshot; lookups say 503."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from personify.web import create_site
from personify.web.users import UserStore
from tests.web.conftest import login


def test_a_held_database_keeps_the_last_snapshot(hostile: Path) -> None:
    UserStore(hostile).add("alan", "analyst", "analyst password 1")
    site = create_site(hostile)
    with TestClient(site) as client:
        login(client, "alan")
        assert client.get("/personas/evil").status_code == 200  # snapshot loaded
        holder = subprocess.Popen(
            [
                sys.executable,
                "-c",
                "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); "
                "print('held', flush=True); time.sleep(60)",
                str(hostile / "personify.duckdb"),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            os.utime(hostile / "personify.duckdb")  # as if the run had written
            site.app.state.data._checked = -1.0  # type: ignore[attr-defined]  # no 1 s wait
            time.sleep(0.01)
            page = client.get("/personas/evil")
            assert page.status_code == 200  # the last snapshot
            busy = client.get("/api/v1/customers/P1")
            assert busy.status_code == 503
            assert busy.json()["error"]["code"] == "unavailable"
            assert busy.headers["retry-after"] == "10"
        finally:
            holder.kill()
            holder.wait()
        assert client.get("/api/v1/customers/P1").status_code == 404  # readable again
