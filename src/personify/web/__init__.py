"""The persona repository: web app and REST API, mounted by ``personify serve`` (docs/web.md)."""

from __future__ import annotations

from pathlib import Path

from personify.web.app import create_web_app
from personify.web.security import SecurityHeaders
from personify.web.users import ROLES, UserStore


def create_site(workspace: str | Path) -> SecurityHeaders:
    """The web app wrapped in its security headers (outermost, so error pages get them)."""
    return SecurityHeaders(create_web_app(workspace))


__all__ = ["ROLES", "SecurityHeaders", "UserStore", "create_site", "create_web_app"]
