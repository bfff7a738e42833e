"""The Segment-compatible collection API: ``personify serve`` (FastAPI on uvicorn).

Each call is read (with the size limits), un-gzipped, parsed, authenticated, validated and
appended to the durable log; the 200 goes out only after the log's fsync. Client input
never raises out of a handler: every failure is an :class:`ApiError` with a 4xx and a
message that names the field, never its value. Logs carry status codes and counts only.
"""

from __future__ import annotations

import base64
import binascii
import gc
import logging
import os
import signal
import subprocess
import sys
import uuid
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.openapi.utils import get_openapi
from fastapi.responses import Response
from pydantic import BaseModel, ValidationError
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Receive, Scope, Send

from personify.events import models
from personify.events.keys import KeyStore
from personify.events.log import SEGMENT_BYTES, EventLog
from personify.events.mover import drain_now

log = logging.getLogger(__name__)

EVENTS_DIR = "events"
# The server adds receivedAt, originalTimestamp and the like: allow for them in the
# per-message limit, so a message the client measured as within 32 KB is never refused.
_ADDED_BYTES = 1024
_OK = b'{"success":true}'


class ApiError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# Segment's SDKs read ``code`` and ``message`` from an error response.
_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    413: "payload_too_large",
    415: "unsupported_encoding",
    503: "unavailable",
}


def _failure(status: int, message: str) -> Response:
    body = orjson.dumps({"success": False, "code": _CODES[status], "message": message})
    headers = {"WWW-Authenticate": 'Basic realm="personify"'} if status == 401 else None
    return Response(body, status_code=status, media_type="application/json", headers=headers)


# -- reading a request ----------------------------------------------------------------------


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise ApiError(413, f"request body over the limit of {limit // 1024} KB")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise ApiError(413, f"request body over the limit of {limit // 1024} KB")
        chunks.append(chunk)
    return b"".join(chunks)


def _decode(body: bytes, encoding: str, limit: int) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding != "gzip":
        raise ApiError(415, "unsupported Content-Encoding (use gzip or none)")
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error:
        raise ApiError(400, "request body is not a valid gzip stream") from None
    if len(data) > limit:
        raise ApiError(413, f"request body over the limit of {limit // 1024} KB once unzipped")
    if not inflater.eof:
        raise ApiError(400, "request body is a truncated gzip stream")
    return data


def _basic_auth_key(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        raise ApiError(401, "use HTTP basic auth with the write key as user name")
    try:
        user, _, _ = base64.b64decode(value.strip(), validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        raise ApiError(401, "malformed basic auth header") from None
    return user or None


def _where(loc: tuple[int | str, ...]) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif loc[:1] == ("batch",) and i == 2 and part in models.SINGLE:
            continue  # the union's tag, not a field
        else:
            out += f".{part}" if out else str(part)
    return out or "body"


def _describe(exc: ValidationError) -> str:
    errors = exc.errors(include_url=False, include_input=False, include_context=False)
    parts = [f"{_where(e['loc'])}: {e['msg'].removeprefix('Value error, ')}" for e in errors[:5]]
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "invalid message: " + "; ".join(parts) + more


# -- building the stored lines --------------------------------------------------------------


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _line(
    raw: dict[str, Any],
    message: Any,
    *,
    received: datetime,
    received_iso: str,
    batch_sent_at: tuple[datetime, Any] | None,
    defaults: dict[str, Any],
) -> bytes:
    """One stored message: as sent, less the write key, plus what Segment's server adds.

    ``messageId`` comes first in the line, so the mover reads it without parsing the rest.
    Datetimes are formatted by orjson (in C: a tenth of ``isoformat``'s cost).
    """
    raw.pop("writeKey", None)
    message_id = raw.pop("messageId", None) or f"personify-{uuid.uuid4()}"
    raw["type"] = message.type
    for name, value in defaults.items():  # the batch's context and integrations
        raw.setdefault(name, value)
    sent = message.sentAt
    if sent is None and batch_sent_at is not None:
        sent = batch_sent_at[0]
        raw["sentAt"] = batch_sent_at[1]
    # The client's time: Segment's SDKs send it as timestamp, RudderStack's as
    # originalTimestamp (which then stays as sent).
    client_ts = message.timestamp or message.originalTimestamp
    if client_ts is not None:
        if message.timestamp is not None:
            raw["originalTimestamp"] = raw["timestamp"]
        ts = _utc(client_ts)
        if sent is not None:  # Segment's skew correction: the client's clock offset removed
            ts = received - (_utc(sent) - ts)
        raw["timestamp"] = ts
    else:
        raw["timestamp"] = received_iso
    raw["receivedAt"] = received_iso
    line = orjson.dumps({"messageId": message_id, **raw}, option=orjson.OPT_UTC_Z) + b"\n"
    if len(line) > models.MAX_MESSAGE_BYTES + _ADDED_BYTES:
        raise ApiError(413, f"a message over the limit of {models.MAX_MESSAGE_BYTES // 1024} KB")
    return line


def encode(kind: str, payload: dict[str, Any]) -> tuple[bytes, int]:
    """Validate a call's JSON object; its stored lines and how many messages they hold."""
    try:
        parsed = models.ADAPTERS[kind].validate_python(payload)
    except ValidationError as exc:
        raise ApiError(400, _describe(exc)) from None
    now = datetime.now(UTC)
    received = now.replace(microsecond=now.microsecond // 1000 * 1000)  # as stored: ms
    received_iso = _iso(received)
    try:
        if kind == "batch":
            defaults = {
                k: payload[k]
                for k in ("context", "integrations")
                if isinstance(payload.get(k), dict)
            }
            batch_sent_at = (parsed.sentAt, payload["sentAt"]) if parsed.sentAt else None
            lines = [
                _line(
                    raw,
                    message,
                    received=received,
                    received_iso=received_iso,
                    batch_sent_at=batch_sent_at,
                    defaults=defaults,
                )
                for raw, message in zip(payload["batch"], parsed.batch, strict=True)
            ]
        else:
            payload["type"] = kind
            lines = [
                _line(
                    payload,
                    parsed,
                    received=received,
                    received_iso=received_iso,
                    batch_sent_at=None,
                    defaults={},
                )
            ]
    except OverflowError:
        raise ApiError(400, "timestamp or sentAt out of range") from None
    except orjson.JSONEncodeError:
        raise ApiError(400, "a value cannot be stored (an integer over 64 bits?)") from None
    return b"".join(lines), len(lines)


# -- the app --------------------------------------------------------------------------------


def create_app(
    workspace: str | Path,
    *,
    move_interval: float = 5.0,
    segment_bytes: int = SEGMENT_BYTES,
    web: bool = True,
) -> FastPath:
    """The ASGI app for a workspace: the /v1 endpoints, the log and the background mover;
    with ``web``, the persona repository (pages and /api/v1/, personify.web) on the rest."""
    events_dir = Path(workspace) / EVENTS_DIR
    keys = KeyStore(workspace)
    event_log = EventLog(events_dir / "log", segment_bytes=segment_bytes)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # What the imports built is never garbage: keep it out of the collector's scans,
        # which otherwise walk that whole heap again and again under load.
        gc.freeze()
        event_log.open()
        mover = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "personify.events.mover",
                str(events_dir),
                "--parent",
                str(os.getpid()),
                "--interval",
                str(move_interval),
            ]
        )
        log.info("collecting events into %s", events_dir)
        try:
            yield
        finally:
            event_log.close()  # every acknowledged event is in the log
            mover.send_signal(signal.SIGTERM)
            mover.wait()
            moved = drain_now(events_dir)  # the rest of the log, into the inbox
            log.info(
                "event server stopped: %d events acknowledged, %d moved at shutdown",
                app.state.accepted,
                moved,
            )

    app = FastAPI(
        title="Personify event collection",
        version="1",
        description="The Segment HTTP Tracking API: identify, track, page, screen, group, "
        "alias and batch. Authenticate with a write key as the basic-auth user name or as "
        "`writeKey` in the body.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads its scripts from a CDN: offline it is a blank page
        redoc_url=None,
    )

    @app.get("/docs", include_in_schema=False)
    async def docs_page() -> Response:
        return Response(
            _docs_html(app.openapi()),
            media_type="text/html; charset=utf-8",
            headers={"content-security-policy": "default-src 'none'; frame-ancestors 'none'"},
        )

    app.add_middleware(
        CORSMiddleware,
        allow_origins=["*"],
        allow_methods=["POST", "OPTIONS"],
        allow_headers=["*"],
        max_age=86400,
    )

    async def collect(request: Request, kind: str) -> Response:
        limit = models.MAX_BATCH_BYTES if kind == "batch" else models.MAX_MESSAGE_BYTES
        try:
            body = await _read_body(request, limit)
            body = _decode(body, request.headers.get("content-encoding", ""), limit)
            try:
                payload = orjson.loads(body)
            except orjson.JSONDecodeError:
                raise ApiError(400, "request body is not valid JSON") from None
            if not isinstance(payload, dict):
                raise ApiError(400, "request body must be a JSON object")
            key = _basic_auth_key(request) or payload.get("writeKey")
            if not isinstance(key, str) or not key:
                raise ApiError(401, "a write key is required (basic auth user, or writeKey)")
            if keys.cached(key) is None and await run_in_threadpool(keys.verify, key) is None:
                raise ApiError(401, "unknown or revoked write key")
            lines, count = encode(kind, payload)
        except ApiError as exc:
            log.info("POST /v1/%s -> %d", kind, exc.status)
            return _failure(exc.status, exc.message)
        try:
            await event_log.append(lines)
        except OSError:
            return _failure(503, "the server cannot store events right now; retry later")
        app.state.accepted += count
        return Response(_OK, media_type="application/json")

    def route(kind: str, summary: str) -> None:
        schema = "Batch" if kind == "batch" else models.SINGLE[kind].__name__

        async def endpoint(request: Request) -> Response:
            return await collect(request, kind)

        for path in [f"/v1/{kind}", *(["/v1/import"] if kind == "batch" else [])]:
            app.add_api_route(
                path,
                endpoint,
                methods=["POST"],
                summary=summary,
                name=f"{kind}_{path.rsplit('/', 1)[1]}",
                response_model=models.Success,
                responses={
                    status: {"model": models.Failure, "description": text}
                    for status, text in _ERRORS.items()
                },
                openapi_extra={
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{schema}"}
                            }
                        },
                    },
                    "security": [{"writeKey": []}],
                },
            )

    app.state.accepted = 0  # events acknowledged since start (counts only, for logs)
    for kind, summary in _SUMMARIES.items():
        route(kind, summary)

    @app.get("/health", include_in_schema=False)
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            documented: list[type[BaseModel]] = [models.Batch, *models.SINGLE.values()]
            _, defs = models_json_schema(
                [(m, "validation") for m in documented],
                ref_template="#/components/schemas/{model}",
            )
            components = schema.setdefault("components", {})
            components.setdefault("schemas", {}).update(defs["$defs"])
            components["securitySchemes"] = {"writeKey": {"type": "http", "scheme": "basic"}}
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
    site = None
    if web:
        from personify.web import create_site

        site = create_site(workspace)
    return FastPath(app, collect, site)


def _docs_html(spec: dict[str, Any]) -> str:
    """The event API's reference as one plain HTML page (no script, no remote asset): every
    operation with its summary, and the OpenAPI description for tools."""
    from html import escape

    info = spec.get("info", {})
    items = []
    for path, ops in spec.get("paths", {}).items():
        for method, op in ops.items():
            summary = op.get("summary") or op.get("description") or ""
            items.append(
                f"<li><code>{escape(method.upper())} {escape(path)}</code> {escape(summary)}</li>"
            )
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(str(info.get('title', 'API')))}</title></head><body>"
        f"<h1>{escape(str(info.get('title', 'API')))}</h1>"
        f"<p>{escape(str(info.get('description', '')))}</p>"
        f"<ul>{''.join(items)}</ul>"
        '<p>The whole description: <a href="/openapi.json">/openapi.json</a> (OpenAPI '
        f"{escape(str(spec.get('openapi', '')))}), for any OpenAPI viewer or client generator."
        "</p></body></html>"
    )


# The paths FastPath answers itself, and the kind of call each takes.
_FAST = {f"/v1/{kind}": kind for kind in (*models.SINGLE, "batch")} | {"/v1/import": "batch"}


# What the event app answers besides the POSTs FastPath takes (with the web app mounted,
# every other path is the web app's).
_EVENT_PATHS = frozenset({"/health", "/openapi.json", "/docs"})


class FastPath:
    """POSTs to the /v1 paths go straight to their handler; the rest of /v1 (CORS
    preflights), the event API's OpenAPI description and docs, /health and the lifespan to
    the event FastAPI app; every other path to the web app (``site``) when there is one.

    FastAPI's routing and middleware (error, CORS, exception, exit-stack layers) took about
    a quarter of the server's CPU per call under load, and a /v1 call needs none of it:
    its handler answers every error itself. The routes stay registered in the app, so the
    OpenAPI description is the same. CORS for these calls is what the app's middleware
    gives a simple request from any origin: ``Access-Control-Allow-Origin: *``.
    """

    def __init__(
        self,
        app: FastAPI,
        handle: Callable[[Request, str], Awaitable[Response]],
        site: ASGIApp | None = None,
    ):
        self.app = app
        self._handle = handle
        self.site = site

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "POST":
            kind = _FAST.get(scope["path"])
            if kind is not None:
                request = Request(scope, receive)
                response = await self._handle(request, kind)
                if "origin" in request.headers:
                    response.headers["access-control-allow-origin"] = "*"
                await response(scope, receive, send)
                return
        if (
            self.site is not None
            and scope["type"] == "http"
            and not scope["path"].startswith("/v1/")
            and scope["path"] not in _EVENT_PATHS
        ):
            await self.site(scope, receive, send)
            return
        await self.app(scope, receive, send)


_SUMMARIES = {
    "identify": "Who the user is, and their traits",
    "track": "An action the user performed",
    "page": "A page the user viewed",
    "screen": "A screen the user viewed in an app",
    "group": "A group (account, company) the user belongs to",
    "alias": "Link a previous id to a user id",
    "batch": "Many messages in one call (also at /v1/import)",
}
_ERRORS = {
    400: "Invalid JSON, not an object, a wrong field, or no userId / anonymousId",
    401: "No write key, or an unknown or revoked one",
    413: "Over 32 KB a message or 500 KB a batch",
    415: "A Content-Encoding other than gzip",
    503: "The log cannot be written (disk full or failing); retry later",
}


def serve(
    workspace: str | Path,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    move_interval: float = 5.0,
    log_level: str = "info",
) -> None:
    """Run the server until interrupted (SIGINT/SIGTERM drain the log into the workspace)."""
    import uvicorn

    uvicorn.run(
        create_app(workspace, move_interval=move_interval),
        host=host,
        port=port,
        loop="auto",
        http="auto",
        access_log=False,  # access lines carry client addresses: personal data
        log_level=log_level,
        timeout_keep_alive=30,
    )
