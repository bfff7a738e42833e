"""The persona repository: server-rendered pages and the REST API (``personify serve``).

Pages are Jinja2 templates with autoescaping on for every template, so each value from the
workspace (customer text above all) is escaped; a few trusted, generated strings (avatars,
charts) are marked safe where they are made. Forms post with a CSRF token bound to the
session (the login form with a double-submit cookie), and a POST whose Origin or
Sec-Fetch-Site names another site is refused. The API under ``/api/v1/`` takes a session
cookie or an API token (``Authorization: Bearer pt_...``); its errors, and every error of
the app, have one JSON shape: ``{"error": {"status", "code", "message", "details"}}``.

No ``from __future__ import annotations`` here: FastAPI reads the routes' annotations, which
name dependencies local to :func:`create_web_app`.
"""

import functools
import hmac
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from importlib.resources import files
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import parse_qsl, quote

from fastapi import Depends, FastAPI, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from jinja2 import ChainableUndefined, Environment, PackageLoader, Undefined
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from personify import refresh
from personify.errors import PersonifyError
from personify.formatting import DASH, number_format
from personify.personas.render import avatar_svg
from personify.web import schemas
from personify.web.data import Busy, Snapshot, WorkspaceData, search_personas
from personify.web.exports import EXPORTS, safe_slug
from personify.web.security import CHART_CSP
from personify.web.sessions import LoginLimiter, Session, SessionStore
from personify.web.users import ROLES, User, UserStore, role_at_least

log = logging.getLogger(__name__)

SESSION_COOKIE = "personify_session"
LOGIN_CSRF_COOKIE = "personify_login"
MAX_FORM_BYTES = 16 * 1024
SLUG = r"^[a-z0-9][a-z0-9-]{0,99}$"
_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    422: "invalid_request",
    429: "too_many_requests",
    500: "internal_error",
    503: "unavailable",
}
# Fields of a persona card the persona page lays out itself; any other field (a newer card
# has more) is shown by the generic section, so the page always shows the whole card.
KNOWN_FIELDS = frozenset(
    {
        "schema",
        "persona_id",
        "segment_run",
        "segment_id",
        "slug",
        "name",
        "title",
        "description",
        "tagline",
        "negative",
        "negative_reasons",
        "size",
        "value",
        "demographics",
        "attributes",
        "scales",
        "traits",
        "channels",
        "categories",
        "acquisition",
        "themes",
        "quotes",
        "evidence",
        "empathy_map",
        "journey",
    }
)


class AppError(Exception):
    def __init__(
        self,
        status: int,
        message: str,
        *,
        headers: dict[str, str] | None = None,
        details: list[Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers
        self.details = details


def error_body(status: int, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    return {
        "error": {
            "status": status,
            "code": _CODES.get(status, "error"),
            "message": message,
            "details": details or [],
        }
    }


def _local_path(target: str | None) -> str:
    """Only a path on this site (no scheme, no //host, no backslash tricks) may be a target."""
    if not target or not target.startswith("/") or target.startswith(("//", "/\\")):
        return "/"
    if any(c in target for c in "\\\r\n\t"):
        return "/"
    return target


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("personify", "web/templates"),
        autoescape=True,  # every template, whatever its name
        undefined=ChainableUndefined,  # cards differ in shape: a missing field is empty
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals["dash"] = DASH
    env.globals["roles"] = ROLES
    env.globals["known_fields"] = KNOWN_FIELDS
    env.globals["exports"] = EXPORTS
    env.filters["pct"] = lambda v: _pct(v)
    env.filters["pivot"] = _pivot
    env.filters["label"] = lambda k: str(k).replace("_", " ").capitalize()
    env.tests["mapping"] = lambda v: isinstance(v, dict)
    env.tests["sequence_value"] = lambda v: isinstance(v, list | tuple)
    return env


def _pivot(rows: list[dict[str, Any]]) -> tuple[list[str], list[tuple[int, list[Any]]]]:
    """Rows of (segment, value, count) as a table: the values across, one row per segment."""
    values = list(dict.fromkeys(str(r["value"]) for r in rows))
    cells: dict[int, dict[str, Any]] = {}
    for r in rows:
        cells.setdefault(int(r["segment_id"]), {})[str(r["value"])] = r["count"]
    return values, [(sid, [by.get(v, 0) for v in values]) for sid, by in sorted(cells.items())]


@functools.lru_cache(maxsize=8)
def formats(currency: str | None, language: str) -> Any:
    """The workspace's number formatter (building one parses a locale: done once); a field
    a card lacks (Jinja's Undefined) formats as missing."""
    fmt = number_format(currency, language)

    def format_value(value: Any, kind: str = "number") -> str:
        return str(fmt(None if isinstance(value, Undefined) else value, kind))

    return format_value


def _pct(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return DASH
    return f"{value * 100:.0f}%"


def _share(value: Any) -> float:
    """A share clamped into 0..1 for a <meter> or an SVG width (only a number reaches HTML)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        return 0.0
    return float(min(max(value, 0.0), 1.0))


def create_web_app(workspace: str | Path) -> FastAPI:
    """The web app of a workspace: pages at ``/``, the API at ``/api/v1/``."""
    workspace = Path(workspace)
    data = WorkspaceData(workspace)
    users = UserStore(workspace)
    sessions = SessionStore()
    limiter = LoginLimiter()
    env = _environment()
    static = {
        name: files("personify").joinpath("web/static", name).read_bytes()
        for name in ("web.css", "web.js")
    }
    avatars: dict[str, Markup] = {}

    def avatar(slug: str, size: int = 96, doc: dict[str, Any] | None = None) -> Markup:
        # A persona that continues one of an earlier run keeps that one's picture (refresh.py)
        seed = data.snapshot().pictures.get(slug, slug)
        key = f"{seed}:{size}:{doc is not None}"
        if key not in avatars:  # no customer data, no text; matched to doc's age and gender
            avatars[key] = Markup(avatar_svg(seed, size=size, doc=doc))
        return avatars[key]

    env.globals["avatar"] = avatar
    env.globals["share"] = _share

    app = FastAPI(
        title="Personify persona repository",
        version="1",
        description="Personas, segments and (for analysts) one customer's 360 view. "
        "Authenticate with an API token (`personify users token NAME`) as a bearer token, "
        "or with the web app's session cookie. Every error has the shape "
        '`{"error": {"status", "code", "message", "details"}}`.',
        openapi_url="/api/v1/openapi.json",
        docs_url=None,  # Swagger UI loads remote scripts: the CSP allows none
        redoc_url=None,
        responses={
            status: {"model": schemas.ErrorResponse, "description": text}
            for status, text in {
                401: "Not logged in, or an unknown token",
                403: "The role does not allow it, or a cross-site form",
                404: "No such persona, person, format or path",
                422: "A parameter is not valid",
                500: "An error of the server",
                503: "The workspace is being updated by a pipeline run: retry soon",
            }.items()
        },
    )
    app.state.data = data
    app.state.users = users
    app.state.sessions = sessions
    app.state.limiter = limiter

    # -- errors --------------------------------------------------------------------------
    def wants_json(request: Request) -> bool:
        return request.url.path.startswith("/api/")

    def error_response(
        request: Request,
        status: int,
        message: str,
        details: list[Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> Response:
        if wants_json(request):
            return JSONResponse(error_body(status, message, details), status, headers=headers)
        if status == 401:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/login?next={quote(target, safe='')}", 303)
        body = env.get_template("error.html.j2").render(
            **base_context(request), status=status, message=message
        )
        return HTMLResponse(body, status, headers=headers)

    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> Response:
        return error_response(
            request, exc.status, exc.message, details=exc.details, headers=exc.headers
        )

    @app.exception_handler(Busy)
    async def busy_error(request: Request, exc: Busy) -> Response:
        return error_response(request, 503, str(exc), headers={"Retry-After": "10"})

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "no such page", 405: "method not allowed"}
        message = messages.get(exc.status_code, str(exc.detail))
        return error_response(request, exc.status_code, message, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"location": ".".join(str(p) for p in e["loc"]), "message": e["msg"]}
            for e in exc.errors()
        ]
        return error_response(request, 422, "invalid request parameters", details)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(error_body(500, "internal server error"), 500)

    # -- who is asking -------------------------------------------------------------------
    bearer = HTTPBearer(auto_error=False, description="An API token: pt_<id>_<secret>")

    def principal(
        request: Request, credentials: HTTPAuthorizationCredentials | None
    ) -> User | None:
        if credentials is not None:
            return users.verify_token(credentials.credentials)
        session = sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is None:
            return None
        user = users.get(session.user)
        if user is None:  # removed while logged in
            sessions.end(request.cookies.get(SESSION_COOKIE))
            return None
        request.state.session = session
        return user

    def require(role: str) -> Callable[..., Awaitable[User]]:
        async def dependency(
            request: Request,
            credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        ) -> User:
            user = principal(request, credentials)
            if user is None:
                raise AppError(401, "log in, or send an API token as a bearer token")
            request.state.user = user
            if not role_at_least(user.role, role):
                raise AppError(403, f"this needs the {role} role (you are {user.role})")
            return user

        return dependency

    Viewer = Annotated[User, Depends(require("viewer"))]
    Analyst = Annotated[User, Depends(require("analyst"))]
    Admin = Annotated[User, Depends(require("admin"))]

    def base_context(request: Request) -> dict[str, Any]:
        user: User | None = getattr(request.state, "user", None)
        session: Session | None = getattr(request.state, "session", None)
        try:
            snap: Snapshot | None = data.snapshot()
        except PersonifyError:
            snap = None
        return {
            "user": user,
            "csrf": session.csrf if session else "",
            "can": (lambda role: user is not None and role_at_least(user.role, role)),
            "snap": snap,
            "fmt": formats(snap.currency if snap else None, snap.language if snap else "en"),
            "path": request.url.path,
        }

    def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        body = env.get_template(template).render(**base_context(request), **context)
        return HTMLResponse(body, status)

    # Pages that show only the snapshot are rendered once per snapshot, page and role, with
    # stand-ins for the two things that differ per user (the name in the header, the logout
    # form's CSRF token), which are put in per request: a page is then a dict lookup and two
    # string replacements instead of a template run (about 1 to 3 ms of CPU each).
    stand_in_name, stand_in_csrf = secrets.token_hex(16), secrets.token_hex(16)
    rendered: dict[tuple[Any, ...], str] = {}

    def shared_page(request: Request, template: str, key: Any, **context: Any) -> HTMLResponse:
        user: User = request.state.user
        session: Session | None = getattr(request.state, "session", None)
        snap = data.snapshot()
        cache_key = (template, key, user.role, snap.run_id, snap.loaded_at)
        body = rendered.get(cache_key)
        if body is None:
            ctx = base_context(request)
            ctx["user"] = User(stand_in_name, user.role, user.created_at)
            ctx["csrf"] = stand_in_csrf
            body = env.get_template(template).render(**ctx, **context)
            if len(rendered) >= 512:
                rendered.pop(next(iter(rendered)))
            rendered[cache_key] = body
        csrf = session.csrf if session else ""
        return HTMLResponse(
            body.replace(stand_in_name, str(escape(user.name))).replace(stand_in_csrf, csrf)
        )

    # -- forms ---------------------------------------------------------------------------
    def same_site(request: Request) -> None:
        origin = request.headers.get("origin")
        if origin is not None and origin != "null":
            host = request.headers.get("host", "")
            if origin.split("://", 1)[-1] != host:
                raise AppError(403, "a form from another site")
        if request.headers.get("sec-fetch-site") in ("cross-site",):
            raise AppError(403, "a form from another site")

    async def form(request: Request) -> dict[str, str]:
        same_site(request)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM_BYTES:
                raise AppError(413, "form too large")
        try:
            return dict(parse_qsl(body.decode(), keep_blank_values=True, max_num_fields=20))
        except (UnicodeDecodeError, ValueError):
            raise AppError(400, "unreadable form") from None

    def check_csrf(request: Request, fields: dict[str, str]) -> None:
        session: Session | None = getattr(request.state, "session", None)
        sent = fields.get("csrf", "")
        if session is None or not sent or not hmac.compare_digest(sent, session.csrf):
            raise AppError(403, "the form's security token is missing or stale: reload the page")

    def set_cookie(request: Request, response: Response, name: str, value: str, **kw: Any) -> None:
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite="lax",
            secure=request.url.scheme == "https",
            path="/",
            **kw,
        )

    # -- static files --------------------------------------------------------------------
    @app.get("/static/{name}", include_in_schema=False)
    async def static_file(name: str) -> Response:
        if name not in static:
            raise AppError(404, "no such file")
        media = "text/css" if name.endswith(".css") else "text/javascript"
        return Response(static[name], media_type=media)

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> Response:
        return Response(status_code=204)

    # -- logging in ----------------------------------------------------------------------
    @app.get("/login", include_in_schema=False)
    async def login_page(request: Request, next: str = "/") -> Response:
        token = secrets.token_urlsafe(32)
        response = page(
            request,
            "login.html.j2",
            login_csrf=token,
            next=_local_path(next),
            error=None,
            no_users=not users.list(),
        )
        set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response

    @app.post("/login", include_in_schema=False)
    async def login(request: Request) -> Response:
        fields = await form(request)
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        sent = fields.get("csrf", "")
        if not cookie or not sent or not hmac.compare_digest(cookie, sent):
            raise AppError(403, "the login form's security token is missing or stale: reload")
        name = fields.get("username", "").strip()[:64]
        password = fields.get("password", "")[:1024]
        address = request.client.host if request.client else "?"
        target = _local_path(fields.get("next"))
        wait = limiter.retry_after(name, address)
        if wait:
            log.info("login refused: rate limit")
            return page(
                request,
                "login.html.j2",
                429,
                login_csrf=cookie,
                next=target,
                error=f"Too many failed logins: try again in {wait // 60 + 1} minutes.",
                no_users=False,
            )
        user = await run_in_threadpool(users.authenticate, name, password) if name else None
        if user is None:
            limiter.failed(name, address)
            return page(
                request,
                "login.html.j2",
                401,
                login_csrf=cookie,
                next=target,
                error="Wrong user name or password.",
                no_users=not users.list(),
            )
        limiter.succeeded(name)
        sessions.end(request.cookies.get(SESSION_COOKIE))  # a new id at every login
        sid, _ = sessions.create(user.name)
        response = RedirectResponse(target, 303)
        set_cookie(request, response, SESSION_COOKIE, sid)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
        return response

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request, user: Viewer) -> Response:
        check_csrf(request, await form(request))
        sessions.end(request.cookies.get(SESSION_COOKIE))
        response = RedirectResponse("/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    # -- what pages and API share --------------------------------------------------------
    def persona_or_404(slug: str) -> dict[str, Any]:
        found = data.snapshot().persona(slug)
        if found is None:
            raise AppError(404, f"no persona {slug!r}")
        return found

    def summary(p: dict[str, Any]) -> dict[str, Any]:
        size, value = p.get("size") or {}, p.get("value") or {}
        return {
            "slug": p["slug"],
            "name": p.get("name"),
            "title": p.get("title"),
            "tagline": p.get("tagline"),
            "negative": bool(p.get("negative")),
            "segment_id": p.get("segment_id"),
            "customers": size.get("customers"),
            "share": size.get("share"),
            "revenue_share": value.get("revenue_share"),
            "avg_revenue": value.get("avg_revenue"),
            "currency": value.get("currency"),
            "avatar": f"/personas/{p['slug']}/avatar.svg",
        }

    def compared(slugs: list[str]) -> list[dict[str, Any]]:
        unique = list(dict.fromkeys(slugs))
        if len(unique) < 2:
            raise AppError(422, "choose at least two different personas to compare")
        return [persona_or_404(s) for s in unique]

    def export(slug: str, fmt: str) -> Response:
        doc = persona_or_404(slug)
        entry = EXPORTS.get(fmt)
        if entry is None:
            raise AppError(404, f"no export format {fmt!r} (have {', '.join(EXPORTS)})")
        body = entry.make(doc, workspace)
        if body is None:
            raise AppError(404, f"the {entry.label} card of {slug!r} has not been written")
        name = f"{safe_slug(doc)}.{fmt}"
        return Response(
            body,
            media_type=entry.media_type,
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    async def customer_or_404(identifier: str) -> dict[str, Any]:
        found = await run_in_threadpool(data.customer, identifier)
        if found is None:
            raise AppError(404, "no person or record matches that")
        return found

    # -- pages ---------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def gallery(request: Request, user: Viewer) -> Response:
        snap = data.snapshot()
        return shared_page(request, "gallery.html.j2", None, personas=snap.personas)

    @app.get("/personas/{slug}", include_in_schema=False)
    async def persona_page(
        request: Request, user: Viewer, slug: Annotated[str, PathParam(pattern=SLUG)]
    ) -> Response:
        p = persona_or_404(slug)
        snap = data.snapshot()
        others = [o for o in snap.personas if o["slug"] != slug]
        drift = snap.drift or {}
        lineage = next((m for m in drift.get("matched", []) if m["persona"]["slug"] == slug), None)
        is_new = any(n["slug"] == slug for n in drift.get("new", []))
        # The card's charts (SVG from numbers, labels escaped; no inline styles: strict CSP).
        from personify.personas.charts import persona_charts

        numbers = number_format(snap.currency, snap.language)
        charts = {k: Markup(v) if v else None for k, v in persona_charts(p, numbers).items()}
        return shared_page(
            request,
            "persona.html.j2",
            slug,
            p=p,
            charts=charts,
            others=others,
            lineage=lineage,
            is_new=is_new,
            drift=drift,
            line=snap.lines.get(slug),
        )

    @app.get("/personas/{slug}/avatar.svg", include_in_schema=False)
    async def avatar_file(user: Viewer, slug: Annotated[str, PathParam(pattern=SLUG)]) -> Response:
        persona_or_404(slug)
        return Response(str(avatar(slug, 128)), media_type="image/svg+xml")

    @app.get("/personas/{slug}/download/{fmt}", include_in_schema=False)
    async def download_page(
        user: Viewer, slug: Annotated[str, PathParam(pattern=SLUG)], fmt: str
    ) -> Response:
        return export(slug, fmt)

    @app.get("/compare", include_in_schema=False)
    async def compare_page(
        request: Request, user: Viewer, p: Annotated[list[str] | None, Query(max_length=8)] = None
    ) -> Response:
        snap = data.snapshot()
        p = p or []
        if len(set(p)) < 2:
            return page(request, "compare.html.j2", chosen=[], all=snap.personas, short=bool(p))
        chosen = compared(p)
        key = tuple(c["slug"] for c in chosen)
        return shared_page(
            request, "compare.html.j2", key, chosen=chosen, all=snap.personas, short=False
        )

    def segment_charts(snap: Snapshot) -> dict[str, Any] | None:
        """The charts the segments stage wrote, when they show the run the pages show."""
        from personify.segments.charts import read_manifest

        out = Path(data.config.personas.output_dir).expanduser()
        manifest = read_manifest(out if out.is_absolute() else workspace / out)
        return manifest if manifest and manifest["run_id"] == snap.run_id else None

    @app.get("/segments", include_in_schema=False)
    async def segments_page(request: Request, user: Viewer) -> Response:
        snap = data.snapshot()
        return page(
            request,
            "segments.html.j2",
            segments=snap.segments,
            dists=snap.distributions,
            charts=segment_charts(snap),
        )

    @app.get("/segments/charts/{name}", include_in_schema=False)
    async def segment_chart_file(
        user: Viewer,
        name: Annotated[str, PathParam(pattern=r"^(sizes|attributes|map|distributions)\.svg$")],
    ) -> Response:
        from personify.segments.charts import FOLDER

        charts = segment_charts(data.snapshot())
        if charts is None or name not in {f"{f}" for f in charts.get("files", {}).values()}:
            raise AppError(404, "no such chart")
        out = Path(data.config.personas.output_dir).expanduser()
        path = (out if out.is_absolute() else workspace / out) / FOLDER / name
        if not path.is_file():
            raise AppError(404, "no such chart")
        # An SVG shown by <img> runs no script; its own styles are all it may use.
        return Response(
            path.read_bytes(),
            media_type="image/svg+xml",
            headers={"content-security-policy": "default-src 'none'; style-src 'unsafe-inline'"},
        )

    @app.get("/history", include_in_schema=False)
    async def history_page(request: Request, user: Viewer) -> Response:
        snap = data.snapshot()
        return shared_page(request, "history.html.j2", None, history=snap.history, drift=snap.drift)

    charts: dict[tuple[float, str], str] = {}  # (snapshot, run) -> the drift chart

    @app.get("/history/drift.svg", include_in_schema=False)
    async def drift_chart(user: Viewer) -> Response:
        snap = data.snapshot()
        if snap.drift is None:
            raise AppError(404, "only one persona run: no drift to chart")
        key = (snap.loaded_at, str(snap.run_id))
        if key not in charts:
            charts.clear()
            charts[key] = await run_in_threadpool(refresh.drift_svg, snap.drift)
        # Matplotlib styles its SVG with style attributes; as an image it runs no script
        return Response(
            charts[key],
            media_type="image/svg+xml",
            headers={"content-security-policy": CHART_CSP},
        )

    @app.get("/search", include_in_schema=False)
    async def search_page(
        request: Request, user: Viewer, q: Annotated[str, Query(max_length=200)] = ""
    ) -> Response:
        hits = search_personas(data.snapshot(), q)
        person = None
        if q.strip() and role_at_least(user.role, "analyst"):
            person = await run_in_threadpool(data.customer, q)
        return page(request, "search.html.j2", q=q, hits=hits, person=person)

    @app.get("/customers", include_in_schema=False)
    async def customers_page(
        request: Request, user: Analyst, q: Annotated[str, Query(max_length=200)] = ""
    ) -> Response:
        if q.strip():
            found = await run_in_threadpool(data.customer, q)
            if found is not None:
                return RedirectResponse(f"/customers/{quote(found['person_id'], safe='')}", 303)
            return page(request, "customers.html.j2", 404, q=q, missing=True)
        return page(request, "customers.html.j2", q="", missing=False)

    @app.get("/customers/{identifier}", include_in_schema=False)
    async def customer_page(
        request: Request, user: Analyst, identifier: Annotated[str, PathParam(max_length=200)]
    ) -> Response:
        c = await customer_or_404(identifier)
        return page(request, "customer.html.j2", c=c)

    @app.get("/audiences", include_in_schema=False)
    async def audiences_page(
        request: Request, user: Analyst, rule: Annotated[str, Query(max_length=2000)] = ""
    ) -> Response:
        result = await run_in_threadpool(data.audience, rule) if rule.strip() else None
        status = 422 if result and "error" in result else 200
        return page(request, "audiences.html.j2", status, rule=rule, result=result)

    @app.get("/admin/users", include_in_schema=False)
    async def users_page(request: Request, user: Admin) -> Response:
        return page(request, "users.html.j2", users=users.list(), message=None, token=None)

    @app.post("/admin/users", include_in_schema=False)
    async def users_action(request: Request, user: Admin) -> Response:
        fields = await form(request)
        check_csrf(request, fields)
        action = fields.get("action")
        message, token, status = None, None, 200
        try:
            if action == "add":
                await run_in_threadpool(
                    users.add,
                    fields.get("username", "").strip(),
                    fields.get("role", ""),
                    fields.get("password", ""),
                )
                message = f"Added user {fields.get('username', '').strip()}."
            elif action == "remove":
                name = fields.get("username", "")
                if name == user.name:
                    raise PersonifyError("you cannot remove yourself")
                users.remove(name)
                sessions.end_user(name)
                message = f"Removed user {name}."
            elif action == "token":
                record, token = users.create_token(user.name, fields.get("name", "") or "script")
                message = (
                    f"API token {record.token_id} created: copy it now, it is not shown again."
                )
            elif action == "revoke":
                users.revoke_token(fields.get("token_id", ""))
                message = "Token revoked."
            else:
                raise PersonifyError("unknown action")
        except PersonifyError as exc:
            message, status = f"Not done: {exc}", 422
        return page(
            request, "users.html.j2", status, users=users.list(), message=message, token=token
        )

    # -- the API -------------------------------------------------------------------------
    api = "/api/v1"

    @app.get(f"{api}/status", response_model=schemas.Status, tags=["status"])
    async def api_status(user: Viewer) -> dict[str, Any]:
        """The current persona set: its segment run and when it was built."""
        snap = data.snapshot()
        return {
            "segment_run": snap.run_id,
            "refreshed_at": snap.refreshed_at,
            "personas": len(snap.personas),
            "customers": snap.customers,
        }

    @app.get(f"{api}/me", response_model=schemas.Me, tags=["status"])
    async def api_me(user: Viewer) -> dict[str, Any]:
        """Who the token or session belongs to, and its role."""
        return {"name": user.name, "role": user.role}

    @app.get(f"{api}/personas", response_model=list[schemas.PersonaSummary], tags=["personas"])
    async def api_personas(user: Viewer) -> list[dict[str, Any]]:
        """Every persona of the current run, primary ones first: what the gallery shows."""
        return [summary(p) for p in data.snapshot().personas]

    @app.get(f"{api}/personas/{{slug}}", response_model=dict[str, Any], tags=["personas"])
    async def api_persona(
        user: Viewer, slug: Annotated[str, PathParam(pattern=SLUG)]
    ) -> dict[str, Any]:
        """The whole persona card (schema personify.persona/v1)."""
        return persona_or_404(slug)

    @app.get(
        f"{api}/personas/{{slug}}/export/{{fmt}}",
        tags=["personas"],
        responses={200: {"content": {e.media_type.split(";")[0]: {} for e in EXPORTS.values()}}},
        response_class=Response,
    )
    async def api_export(
        user: Viewer, slug: Annotated[str, PathParam(pattern=SLUG)], fmt: schemas.ExportFormat
    ) -> Response:
        """The card as a file to download, in one of the export formats."""
        return export(slug, fmt.value)

    @app.get(f"{api}/compare", response_model=list[dict[str, Any]], tags=["personas"])
    async def api_compare(
        user: Viewer,
        slug: Annotated[list[str], Query(min_length=2, max_length=8)],
    ) -> list[dict[str, Any]]:
        """Two or more whole persona cards, in the order asked."""
        return compared(slug)

    @app.get(f"{api}/segments", response_model=schemas.Segments, tags=["segments"])
    async def api_segments(user: Viewer) -> dict[str, Any]:
        """Segment sizes and value, and distributions per segment (counts under 5 as null)."""
        snap = data.snapshot()
        return {
            "segment_run": snap.run_id,
            "segments": snap.segments,
            "distributions": snap.distributions,
        }

    @app.get(f"{api}/history", response_model=schemas.History, tags=["personas"])
    async def api_history(user: Viewer) -> dict[str, Any]:
        """Every persona run, newest first, and the drift of the current one against the
        one before: personas matched by shared customers, new ones, vanished ones."""
        snap = data.snapshot()
        return {"runs": snap.history, "drift": snap.drift}

    @app.get(f"{api}/search", response_model=schemas.SearchResult, tags=["search"])
    async def api_search(
        user: Viewer, q: Annotated[str, Query(min_length=1, max_length=200)]
    ) -> dict[str, Any]:
        """Personas matching every word; for analysts also the person an identifier names."""
        hits = [summary(p) for p in search_personas(data.snapshot(), q)]
        person = None
        if role_at_least(user.role, "analyst"):
            found = await run_in_threadpool(data.customer, q)
            person = found["person_id"] if found else None
        return {"personas": hits, "person_id": person}

    @app.get(f"{api}/customers/{{identifier}}", response_model=schemas.Customer, tags=["customers"])
    async def api_customer(
        user: Analyst, identifier: Annotated[str, PathParam(min_length=1, max_length=200)]
    ) -> dict[str, Any]:
        """One person's 360 view (analysts and admins): golden record, profile, segment,
        the records of each source, and why they were linked."""
        return await customer_or_404(identifier)

    @app.get(f"{api}/audiences/count", response_model=dict[str, Any], tags=["audiences"])
    async def api_audience(
        user: Analyst, rule: Annotated[str, Query(min_length=1, max_length=2000)]
    ) -> dict[str, Any]:
        """How many persons a rule over profile attributes takes (docs/audiences.md), with
        aggregate figures beside everyone's; a rule that does not compile is a 422 whose
        details give the position and the reason."""
        result = await run_in_threadpool(data.audience, rule)
        if "error" in result:
            err = result["error"]
            raise AppError(422, f"rule: {err['reason']}", details=[err])
        return result

    @app.get(f"{api}/users", response_model=list[schemas.UserInfo], tags=["admin"])
    async def api_users(user: Admin) -> list[dict[str, Any]]:
        """The users, their roles and token ids (admins)."""
        return [
            {"name": u.name, "role": u.role, "created_at": u.created_at, "tokens": list(u.tokens)}
            for u in users.list()
        ]

    return app
