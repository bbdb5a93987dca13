"""Staff accounts, sign-in with lockout, sessions and the audit log (synchronous database code;
the web handlers call it in a worker thread).

- Passwords: argon2id (argon2-cffi), at least 12 characters.
- Lockout: after `MAX_FAILED` wrong passwords an account is locked for
  `LOCK_MINUTES`; the login form also has a per-address rate limit.
- Sessions: a random token in an HttpOnly cookie; the database keeps only its
  SHA-256, so a leaked database does not sign anyone in. Each session has its
  own CSRF token.
- Roles: reviewer (read, change status, notes) and admin (also accounts,
  exports, purge, the audit log). Anything not granted is denied.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from bot.storage.database import session_factory
from bot.storage.models import AuditEvent, StaffSession, StaffUser

ROLES = ("reviewer", "admin")
MIN_PASSWORD = 12
MAX_FAILED = 5
LOCK_MINUTES = 15
SESSION_HOURS = 8
_hasher = PasswordHasher()


class AccountError(ValueError):
    """A staff command could not be done; the message says why (in English, for the
    command line), and `code` names the reason for the staff app's own texts."""

    def __init__(self, message: str, code: str = "account_error") -> None:
        super().__init__(message)
        self.code = code


# Letters, digits and . _ - only: a username is part of the address of its own page
# (/staff/users/<name>/active), and "<b>x</b>" made one no one could deactivate.
USERNAME = re.compile(r"[A-Za-z0-9._-]{1,64}")


@dataclass(frozen=True)
class SignedIn:
    user_id: int
    username: str
    role: str
    csrf_token: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"a password needs at least {MIN_PASSWORD} characters", "password_rules")


class Accounts:
    def __init__(self, engine: Engine) -> None:
        self._sessions = session_factory(engine)

    # -- accounts ------------------------------------------------------------------------

    def create(self, username: str, password: str, role: str) -> None:
        username = username.strip()
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}", "role_rules")
        if not USERNAME.fullmatch(username):
            raise AccountError(
                "a username is 1-64 letters, digits, dots, hyphens or underscores",
                "username_rules",
            )
        check_password_rules(password)
        with self._sessions.begin() as session:
            if session.scalar(select(StaffUser.id).where(StaffUser.username == username)):
                raise AccountError(f"user {username!r} exists already", "user_exists")
            session.add(
                StaffUser(
                    username=username,
                    password_hash=_hasher.hash(password),
                    role=role,
                    active=True,
                    failed_logins=0,
                    created_at=_now(),
                )
            )

    def reset_password(self, username: str, password: str) -> None:
        check_password_rules(password)
        with self._sessions.begin() as session:
            user = self._user(session, username)
            user.password_hash = _hasher.hash(password)
            user.failed_logins = 0
            user.locked_until = None
            session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))

    def set_active(self, username: str, active: bool) -> None:
        with self._sessions.begin() as session:
            user = self._user(session, username)
            user.active = active
            if not active:
                session.execute(delete(StaffSession).where(StaffSession.user_id == user.id))

    def list(self) -> list[dict]:
        with self._sessions() as session:
            users = session.scalars(select(StaffUser).order_by(StaffUser.username))
            return [
                {
                    "username": u.username,
                    "role": u.role,
                    "active": u.active,
                    "locked": bool(_aware(u.locked_until) and _aware(u.locked_until) > _now()),
                }
                for u in users
            ]

    def has_admin(self) -> bool:
        with self._sessions() as session:
            return session.scalar(select(StaffUser.id).where(StaffUser.role == "admin")) is not None

    @staticmethod
    def _user(session: Session, username: str) -> StaffUser:
        user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
        if user is None:
            raise AccountError(f"no user {username!r}")
        return user

    # -- signing in ----------------------------------------------------------------------

    def sign_in(self, username: str, password: str) -> tuple[str | None, str]:
        """(session token, "ok") or (None, reason): "invalid" or "locked"."""
        with self._sessions.begin() as session:
            user = session.scalar(select(StaffUser).where(StaffUser.username == username.strip()))
            if user is None or not user.active:
                _hasher.hash(password)  # the same work as a real check: no timing hint
                return None, "invalid"
            locked = _aware(user.locked_until)
            if locked and locked > _now():
                return None, "locked"
            try:
                _hasher.verify(user.password_hash, password)
            except (VerificationError, InvalidHashError):
                user.failed_logins += 1
                if user.failed_logins >= MAX_FAILED:
                    user.locked_until = _now() + timedelta(minutes=LOCK_MINUTES)
                    user.failed_logins = 0
                    return None, "locked"
                return None, "invalid"
            user.failed_logins = 0
            user.locked_until = None
            if _hasher.check_needs_rehash(user.password_hash):
                user.password_hash = _hasher.hash(password)
            token = secrets.token_urlsafe(32)
            session.add(
                StaffSession(
                    token_hash=_digest(token),
                    user_id=user.id,
                    csrf_token=secrets.token_urlsafe(32),
                    created_at=_now(),
                    expires_at=_now() + timedelta(hours=SESSION_HOURS),
                )
            )
            return token, "ok"

    def session(self, token: str) -> SignedIn | None:
        if not token:
            return None
        with self._sessions() as session:
            row = session.execute(
                select(StaffSession, StaffUser)
                .join(StaffUser, StaffUser.id == StaffSession.user_id)
                .where(StaffSession.token_hash == _digest(token))
            ).first()
            if row is None:
                return None
            staff_session, user = row
            if _aware(staff_session.expires_at) < _now() or not user.active:
                return None
            return SignedIn(user.id, user.username, user.role, staff_session.csrf_token)

    def sign_out(self, token: str) -> None:
        with self._sessions.begin() as session:
            session.execute(delete(StaffSession).where(StaffSession.token_hash == _digest(token)))

    # -- audit ---------------------------------------------------------------------------

    def audit(self, actor: str, action: str, target: str | None = None, detail: str | None = None):
        with self._sessions.begin() as session:
            session.add(
                AuditEvent(
                    at=_now(),
                    actor=actor[:120],
                    action=action[:40],
                    target=(target or None) and target[:200],
                    detail=detail,
                )
            )

    def audit_log(self, limit: int = 200, offset: int = 0) -> list[AuditEvent]:
        with self._sessions() as session:
            return list(
                session.scalars(
                    select(AuditEvent).order_by(AuditEvent.id.desc()).limit(limit).offset(offset)
                )
            )
