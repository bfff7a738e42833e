"""Security headers on every response, as a plain ASGI wrapper (no per-request task or copy).

The content security policy allows scripts, styles and images from the app itself only:
no inline script, no inline style attribute, no remote asset; nothing may frame a page.
Pages and API answers are ``no-store`` (they may hold one customer's data); static assets
are cached.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
# A chart image (Matplotlib's SVG, styled by style attributes): styles, nothing else.
CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'"
HEADERS: list[tuple[bytes, bytes]] = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), interest-cohort=()"),
]
_HSTS = (b"strict-transport-security", b"max-age=31536000")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        static = scope["path"].startswith("/static/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in HEADERS if h[0] not in names)
                if https:
                    headers.append(_HSTS)
                if b"cache-control" not in names:
                    headers.append(
                        (b"cache-control", b"public, max-age=3600" if static else b"no-store")
                    )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)
