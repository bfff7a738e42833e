"""The web app's users and API tokens, stored in the workspace (``web/users.json``, mode 0600).

Passwords are hashed with Argon2id (argon2-cffi's defaults: RFC 9106's low-memory profile);
a hash made with older parameters is replaced at the next successful login. API tokens look
like ``pt_<id>_<secret>``: 32 random bytes, so a SHA-256 of the secret is enough at rest (a
slow hash protects guessable passwords, not random keys) and a token is checked in
microseconds. Nothing here ever stores or logs a password or a whole token.

Roles are ordered: a viewer sees personas and aggregates; an analyst also one customer's data
(the 360 lookup, profiles); an admin also users, tokens and sources.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from personify.errors import PersonifyError

USERS_FILE = "web/users.json"
ROLES = ("viewer", "analyst", "admin")
MIN_PASSWORD = 10
_TOKEN_PREFIX = "pt_"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs what a wrong
# password costs (no user enumeration by timing).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


def role_at_least(role: str, needed: str) -> bool:
    return ROLES.index(role) >= ROLES.index(needed)


@dataclass(frozen=True)
class User:
    name: str
    role: str
    created_at: str
    tokens: tuple[dict[str, str], ...] = ()  # id, name, created_at (never the hash)


@dataclass(frozen=True)
class Token:
    token_id: str
    user: str
    name: str
    created_at: str


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _sha256(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def check_password(password: str) -> None:
    """Refuse passwords too short to resist guessing (NIST SP 800-63B: length, not rules)."""
    if len(password) < MIN_PASSWORD:
        raise PersonifyError(f"a password needs at least {MIN_PASSWORD} characters")
    if len(password) > 1024:
        raise PersonifyError("a password may have at most 1,024 characters")


class UserStore:
    """The workspace's users (``web/users.json``); safe to share between threads."""

    def __init__(self, workspace: str | Path) -> None:
        self.path = Path(workspace) / USERS_FILE
        self._lock = threading.RLock()
        self._records: dict[str, dict[str, Any]] = {}
        self._mtime: int | None = -1
        self._checked = -1.0

    # -- the file -------------------------------------------------------------------------
    def _load(self) -> dict[str, dict[str, Any]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
            return {str(u["name"]): u for u in data["users"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise PersonifyError(f"{self.path} is not a valid users file: {exc}") from None

    def _save(self, records: dict[str, dict[str, Any]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"users": list(records.values())}, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)
        self._checked = -1.0  # the next read sees this write

    def _current(self) -> dict[str, dict[str, Any]]:
        """The records, reloaded when the file changed (at most a stat every half second),
        so a user removed by the CLI loses access to a running server within a second."""
        now = time.monotonic()
        if now - self._checked >= 0.5:
            self._checked = now
            try:
                mtime: int | None = self.path.stat().st_mtime_ns
            except FileNotFoundError:
                mtime = None
            if mtime != self._mtime:
                self._records = self._load()
                self._mtime = mtime
        return self._records

    @staticmethod
    def _user(record: dict[str, Any]) -> User:
        tokens = tuple(
            {"id": t["id"], "name": t["name"], "created_at": t["created_at"]}
            for t in record.get("tokens", [])
        )
        return User(record["name"], record["role"], record["created_at"], tokens)

    # -- commands -------------------------------------------------------------------------
    def add(self, name: str, role: str, password: str) -> User:
        if not _NAME.match(name):
            raise PersonifyError(
                "a user name is 1 to 64 letters, digits or . _ @ - (starting with a letter or "
                "digit)"
            )
        if role not in ROLES:
            raise PersonifyError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        check_password(password)
        hashed = _hasher.hash(password)
        with self._lock:
            records = self._load()
            if name in records:
                raise PersonifyError(f"user {name!r} exists (remove it first)")
            records[name] = {
                "name": name,
                "role": role,
                "created_at": _now(),
                "password": hashed,
                "tokens": [],
            }
            self._save(records)
            return self._user(records[name])

    def remove(self, name: str) -> User:
        with self._lock:
            records = self._load()
            if name not in records:
                raise PersonifyError(f"no user {name!r}")
            record = records.pop(name)
            admins = [r for r in records.values() if r["role"] == "admin"]
            if record["role"] == "admin" and not admins and records:
                raise PersonifyError("that is the last admin: add another admin first")
            self._save(records)
            return self._user(record)

    def set_password(self, name: str, password: str) -> None:
        check_password(password)
        hashed = _hasher.hash(password)
        with self._lock:
            records = self._load()
            if name not in records:
                raise PersonifyError(f"no user {name!r}")
            records[name]["password"] = hashed
            self._save(records)

    def list(self) -> list[User]:
        with self._lock:
            return [self._user(r) for r in self._load().values()]

    def get(self, name: str) -> User | None:
        with self._lock:
            record = self._current().get(name)
            return self._user(record) if record else None

    def has_admin(self) -> bool:
        return any(u.role == "admin" for u in self.list())

    # -- passwords ------------------------------------------------------------------------
    def authenticate(self, name: str, password: str) -> User | None:
        """The user if the password is right; costs one Argon2 verification either way."""
        with self._lock:
            record = self._current().get(name)
            stored = str(record["password"]) if record else _DUMMY_HASH
        try:
            _hasher.verify(stored, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return None
        if record is None:
            return None
        if _hasher.check_needs_rehash(stored):
            with contextlib.suppress(PersonifyError):  # removed meanwhile, or a new policy
                self.set_password(name, password)
        return self._user(record)

    # -- API tokens -----------------------------------------------------------------------
    def create_token(self, user: str, name: str) -> tuple[Token, str]:
        """A new token for ``user``: its record and the whole token, shown this once."""
        with self._lock:
            records = self._load()
            if user not in records:
                raise PersonifyError(f"no user {user!r}")
            taken = {t["id"] for r in records.values() for t in r.get("tokens", [])}
            token_id = secrets.token_hex(4)
            while token_id in taken:
                token_id = secrets.token_hex(4)
            secret = secrets.token_urlsafe(32)
            created = _now()
            records[user].setdefault("tokens", []).append(
                {"id": token_id, "name": name, "created_at": created, "sha256": _sha256(secret)}
            )
            self._save(records)
        return Token(token_id, user, name, created), f"{_TOKEN_PREFIX}{token_id}_{secret}"

    def revoke_token(self, token_id: str) -> Token:
        with self._lock:
            records = self._load()
            for record in records.values():
                for t in record.get("tokens", []):
                    if t["id"] == token_id:
                        record["tokens"].remove(t)
                        self._save(records)
                        return Token(t["id"], record["name"], t["name"], t["created_at"])
        raise PersonifyError(f"no API token with id {token_id!r}")

    def verify_token(self, token: str) -> User | None:
        """The user of a valid token, or None (unknown, revoked, malformed, user removed)."""
        if not token.startswith(_TOKEN_PREFIX):
            return None
        token_id, sep, secret = token[len(_TOKEN_PREFIX) :].partition("_")
        if not sep or not token_id or not secret:
            return None
        digest = _sha256(secret)
        with self._lock:
            for record in self._current().values():
                for t in record.get("tokens", []):
                    if t["id"] == token_id and hmac.compare_digest(t["sha256"], digest):
                        return self._user(record)
        return None
