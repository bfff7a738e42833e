"""Write keys for the event API: created once (the secret shown then), stored only as hashes.

A key looks like ``pk_<id>_<secret>``. The file keeps, per key, its id, a name, when it was
created or revoked, and an scrypt hash of the secret (hashlib's; no extra dependency). The id
lets a server reject an unknown key without hashing, and a server caches the keys it has
verified, so scrypt's cost is paid once per key, not once per request.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from personify.errors import PersonifyError

KEYS_FILE = "events/write_keys.json"
_PREFIX = "pk_"
# scrypt's recommended interactive parameters (16 MiB, about 50 ms).
_N, _R, _P = 2**14, 8, 1


@dataclass(frozen=True)
class WriteKey:
    key_id: str
    name: str
    created_at: str
    revoked_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None


def _hash(secret: str, salt: bytes, *, n: int = _N, r: int = _R, p: int = _P) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, maxmem=64 * 2**20, dklen=32)


def _as_key(record: dict[str, object]) -> WriteKey:
    revoked = record.get("revoked_at")
    return WriteKey(
        str(record["id"]),
        str(record["name"]),
        str(record["created_at"]),
        str(revoked) if revoked else None,
    )


def _split(key: str) -> tuple[str, str] | None:
    if not key.startswith(_PREFIX):
        return None
    key_id, sep, secret = key[len(_PREFIX) :].partition("_")
    return (key_id, secret) if sep and key_id and secret else None


class KeyStore:
    """The workspace's write keys (``events/write_keys.json``)."""

    def __init__(self, workspace: str | Path) -> None:
        self.path = Path(workspace) / KEYS_FILE
        self._lock = threading.Lock()
        self._verified: dict[str, str] = {}  # sha256 of a verified key -> key id
        self._records: dict[str, dict[str, object]] = {}
        self._mtime: float | None = -1.0
        self._checked = -1.0

    # -- the file -------------------------------------------------------------------------

    def _load(self) -> dict[str, dict[str, object]]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text())
            return {str(k["id"]): k for k in data["keys"]}
        except (ValueError, KeyError, TypeError) as exc:
            raise PersonifyError(f"{self.path} is not a valid write key file: {exc}") from None

    def _save(self, records: dict[str, dict[str, object]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"keys": list(records.values())}, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, self.path)

    # -- commands -------------------------------------------------------------------------

    def create(self, name: str) -> tuple[WriteKey, str]:
        """A new key: its record and the full key, which is shown this once and never stored."""
        with self._lock:
            records = self._load()
            key_id = secrets.token_hex(4)
            while key_id in records:
                key_id = secrets.token_hex(4)
            secret = secrets.token_urlsafe(32)
            salt = secrets.token_bytes(16)
            created = datetime.now(UTC).isoformat(timespec="seconds")
            records[key_id] = {
                "id": key_id,
                "name": name,
                "created_at": created,
                "revoked_at": None,
                "scrypt": {"n": _N, "r": _R, "p": _P, "salt": salt.hex()},
                "hash": _hash(secret, salt).hex(),
            }
            self._save(records)
        return WriteKey(key_id, name, created), f"{_PREFIX}{key_id}_{secret}"

    def list(self) -> list[WriteKey]:
        return [_as_key(r) for r in self._load().values()]

    def revoke(self, key_id: str) -> WriteKey:
        """Revoke a key by its id (or by the full key); a running server stops accepting it."""
        parts = _split(key_id)
        key_id = parts[0] if parts else key_id
        with self._lock:
            records = self._load()
            if key_id not in records:
                raise PersonifyError(f"no write key with id {key_id!r}")
            record = records[key_id]
            if record.get("revoked_at") is None:
                record["revoked_at"] = datetime.now(UTC).isoformat(timespec="seconds")
                self._save(records)
        return _as_key(record)

    # -- the server's check ---------------------------------------------------------------

    def _refresh(self) -> None:
        """Reload when the file changed (a key created or revoked while the server runs).

        Looked at most every quarter second: a stat per request costs more than the rest of
        the key check, and a revocation a quarter second late is still prompt."""
        now = time.monotonic()
        if now - self._checked < 0.25:
            return
        self._checked = now
        try:
            mtime: float | None = self.path.stat().st_mtime_ns
        except FileNotFoundError:
            mtime = None
        if mtime != self._mtime:
            self._records = self._load()
            self._verified.clear()
            self._mtime = mtime

    def cached(self, key: str) -> str | None:
        """The id of a key already verified (and not revoked since), without hashing."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            self._refresh()
            return self._verified.get(digest)

    def verify(self, key: str) -> str | None:
        """The id of an active key, or None for an unknown, wrong or revoked one."""
        digest = hashlib.sha256(key.encode()).hexdigest()
        with self._lock:
            self._refresh()
            if digest in self._verified:
                return self._verified[digest]
            parts = _split(key)
            record = self._records.get(parts[0]) if parts else None
            if parts is None or record is None or record.get("revoked_at") is not None:
                return None
            params = record["scrypt"]
            assert isinstance(params, dict)
            expected = bytes.fromhex(str(record["hash"]))
            got = _hash(
                parts[1], bytes.fromhex(params["salt"]), n=params["n"], r=params["r"], p=params["p"]
            )
            if not hmac.compare_digest(got, expected):
                return None
            self._verified[digest] = parts[0]
            return parts[0]
