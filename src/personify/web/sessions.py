"""Sessions (in the server's memory) and the login rate limit.

A session is a random 32-byte id in an HttpOnly, SameSite=Lax cookie (Secure over https);
the server keeps, per id, the user, a CSRF token bound to the session, and its times. Ids
are never logged. Sessions end after 8 idle hours or 7 days, at logout, and at a restart
(the store is in memory: a restart logs everyone out, which a single-process server can
afford and which needs no secret on disk). A user removed or demoted is looked up on every
request, so removal takes effect at once.

The login limit counts failures per account and per client address in sliding windows:
after 5 failures for an account (or 30 from one address) in 15 minutes, logins for it are
refused with 429 until the oldest failure leaves the window. A success clears the
account's failures. Both maps are bounded so that a flood of names cannot grow memory.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass, field

IDLE_SECONDS = 8 * 3600
MAX_SECONDS = 7 * 24 * 3600


@dataclass
class Session:
    user: str
    csrf: str
    created: float
    seen: float


@dataclass
class SessionStore:
    idle: float = IDLE_SECONDS
    lifetime: float = MAX_SECONDS
    _sessions: dict[str, Session] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, user: str) -> tuple[str, Session]:
        sid = secrets.token_urlsafe(32)
        now = time.monotonic()
        session = Session(user, secrets.token_urlsafe(32), now, now)
        with self._lock:
            self._sweep(now)
            self._sessions[sid] = session
        return sid, session

    def get(self, sid: str | None) -> Session | None:
        if not sid:
            return None
        now = time.monotonic()
        with self._lock:
            session = self._sessions.get(sid)
            if session is None:
                return None
            if now - session.seen > self.idle or now - session.created > self.lifetime:
                del self._sessions[sid]
                return None
            session.seen = now
            return session

    def end(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)

    def end_user(self, user: str) -> None:
        with self._lock:
            for sid in [s for s, v in self._sessions.items() if v.user == user]:
                del self._sessions[sid]

    def _sweep(self, now: float) -> None:
        if len(self._sessions) % 64:
            return
        for sid, s in list(self._sessions.items()):
            if now - s.seen > self.idle or now - s.created > self.lifetime:
                del self._sessions[sid]


@dataclass
class LoginLimiter:
    per_account: int = 5
    per_address: int = 30
    window: float = 15 * 60
    max_keys: int = 10_000
    _failures: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: str, now: float) -> deque[float]:
        q = self._failures.get(key)
        if q is None:
            return deque()
        while q and now - q[0] > self.window:
            q.popleft()
        if not q:
            del self._failures[key]
        return q

    def retry_after(self, account: str, address: str) -> int:
        """Seconds until a login for this account from this address may be tried (0: now)."""
        now = time.monotonic()
        waits = [0.0]
        with self._lock:
            for key, limit in (
                (f"u:{account}", self.per_account),
                (f"a:{address}", self.per_address),
            ):
                q = self._recent(key, now)
                if len(q) >= limit:
                    waits.append(self.window - (now - q[len(q) - limit]))
        return int(max(waits)) + (1 if max(waits) > 0 else 0)

    def failed(self, account: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) >= self.max_keys:  # drop the stalest keys
                for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[
                    : self.max_keys // 10
                ]:
                    del self._failures[key]
            for key in (f"u:{account}", f"a:{address}"):
                self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str) -> None:
        with self._lock:
            self._failures.pop(f"u:{account}", None)
