"""Accounts: argon2 passwords, roles, browser sessions with CSRF, bearer tokens, login rate limit.

``require(*roles)`` is the one FastAPI dependency every protected route uses; it returns the
:class:`Principal`. Scope checks (region / department / enterprise) belong to each feature's
core functions, which take the Principal.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from fastapi import Depends, HTTPException, Request

from huiqi.errors import HuiqiError
from huiqi.store import audit
from huiqi.store.db import utc_now
from huiqi.store.schema import ROLES, api_tokens, login_failures, sessions, users

SESSION_COOKIE = "huiqi_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
ROLE_LABELS = {
    "enterprise": "企业",
    "county": "县(市、区)",
    "department": "部门",
    "finance": "财政",
    "supervisor": "督查室",
    "admin": "管理员",
}
_hasher = PasswordHasher()
# Verified against when the user does not exist, so timing does not reveal user names.
_DUMMY_HASH = _hasher.hash("huiqi-no-such-user")


@dataclass(frozen=True)
class Principal:
    user_id: int
    username: str
    role: str
    region: str | None = None
    department: str | None = None
    enterprise: str | None = None

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class LoginError(HuiqiError):
    """Wrong user name or password."""


class LoginThrottled(HuiqiError):
    """Too many failed logins."""


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _later(**delta: float) -> str:
    return (datetime.now(UTC) + timedelta(**delta)).replace(microsecond=0).isoformat()


def _principal(row: Any) -> Principal:
    return Principal(row.id, row.username, row.role, row.region, row.department, row.enterprise)


def add_user(
    conn: sa.Connection,
    username: str,
    role: str,
    password: str,
    *,
    region: str | None = None,
    department: str | None = None,
    enterprise: str | None = None,
    actor: str | None = None,
) -> int:
    """Create a user (audited). Role scope is checked: a county official needs a region, etc."""
    username = username.strip()
    if not username:
        raise HuiqiError("用户名不能为空", field="username")
    if role not in ROLES:
        raise HuiqiError(f"未知角色 {role},可选:{'、'.join(ROLES)}", field="role")
    if role == "county" and not region:
        raise HuiqiError("县(市、区)用户需要指定 --region", field="region")
    if role == "department" and not department:
        raise HuiqiError("部门用户需要指定 --department", field="department")
    if role == "enterprise" and not enterprise:
        raise HuiqiError("企业用户需要指定 --enterprise(统一社会信用代码或企业名称)", field="enterprise")
    if len(password) < 8:
        raise HuiqiError("密码至少 8 个字符", field="password")
    if conn.execute(sa.select(users.c.id).where(users.c.username == username)).first() is not None:
        raise HuiqiError(f"用户 {username} 已存在", field="username")
    values = {"username": username, "role": role, "region": region, "department": department,
              "enterprise": enterprise}
    user_id = conn.execute(
        sa.insert(users).values(**values, password_hash=hash_password(password), created_at=utc_now())
        .returning(users.c.id)
    ).scalar_one()
    audit.record(conn, actor=actor, action="user.add", entity="user", entity_id=str(user_id),
                 before=None, after=values)
    return int(user_id)


def authenticate(
    conn: sa.Connection, username: str, password: str, *, client: str, max_failures: int, window_minutes: int
) -> Principal:
    """Check a password, counting failures per user name and per client address."""
    since = _later(minutes=-window_minutes)
    recent = conn.execute(
        sa.select(sa.func.count()).select_from(login_failures)
        .where(login_failures.c.at >= since)
        .where(sa.or_(login_failures.c.username == username, login_failures.c.client == client))
    ).scalar_one()
    per_user = conn.execute(
        sa.select(sa.func.count()).select_from(login_failures)
        .where(login_failures.c.at >= since, login_failures.c.username == username)
    ).scalar_one()
    if per_user >= max_failures or recent >= max_failures * 4:
        raise LoginThrottled(f"登录失败次数过多,请 {window_minutes} 分钟后再试", field="username")
    row = conn.execute(sa.select(users).where(users.c.username == username)).first()
    ok = False
    try:
        ok = _hasher.verify(row.password_hash if row is not None else _DUMMY_HASH, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or row is None or row.disabled:
        conn.execute(sa.insert(login_failures).values(username=username[:100], client=client[:64], at=utc_now()))
        raise LoginError("用户名或密码错误", field="password")
    return _principal(row)


def issue_token(conn: sa.Connection, principal: Principal, *, days: int) -> tuple[str, str]:
    """A new bearer token (only its hash is stored); returns (token, expires_at)."""
    token = secrets.token_urlsafe(32)
    expires = _later(days=days)
    conn.execute(sa.insert(api_tokens).values(token_hash=_sha256(token), user_id=principal.user_id,
                                              created_at=utc_now(), expires_at=expires))
    audit.record(conn, actor=principal.username, action="token.issue", entity="user",
                 entity_id=str(principal.user_id), before=None, after={"expires_at": expires})
    return token, expires


def open_session(conn: sa.Connection, principal: Principal, *, hours: int) -> tuple[str, str]:
    """A new browser session; returns (cookie value, CSRF token)."""
    cookie = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(24)
    conn.execute(sa.insert(sessions).values(id=_sha256(cookie), user_id=principal.user_id, csrf_token=csrf,
                                            created_at=utc_now(), expires_at=_later(hours=hours)))
    audit.record(conn, actor=principal.username, action="session.open", entity="user",
                 entity_id=str(principal.user_id), before=None, after=None)
    return cookie, csrf


def close_session(conn: sa.Connection, cookie: str, principal: Principal) -> None:
    conn.execute(sa.delete(sessions).where(sessions.c.id == _sha256(cookie)))
    audit.record(conn, actor=principal.username, action="session.close", entity="user",
                 entity_id=str(principal.user_id), before=None, after=None)


@dataclass(frozen=True)
class Credentials:
    principal: Principal
    via: str  # "token" | "session"
    csrf: str | None = None


def credentials(request: Request) -> Credentials | None:
    """Who is calling: a bearer token, else the session cookie; cached on the request."""
    if hasattr(request.state, "credentials"):
        return request.state.credentials  # type: ignore[no-any-return]
    found: Credentials | None = None
    engine: sa.Engine = request.app.state.engine
    now = utc_now()
    header = request.headers.get("authorization", "")
    with engine.connect() as conn:
        if header.lower().startswith("bearer "):
            token = header[7:].strip()
            row = conn.execute(
                sa.select(users).join(api_tokens, api_tokens.c.user_id == users.c.id)
                .where(api_tokens.c.token_hash == _sha256(token), api_tokens.c.expires_at > now,
                       api_tokens.c.revoked == sa.false(), users.c.disabled == sa.false())
            ).first()
            if row is not None:
                found = Credentials(_principal(row), "token")
        elif request.cookies.get(SESSION_COOKIE):
            row = conn.execute(
                sa.select(users, sessions.c.csrf_token).join(sessions, sessions.c.user_id == users.c.id)
                .where(sessions.c.id == _sha256(request.cookies[SESSION_COOKIE]), sessions.c.expires_at > now,
                       users.c.disabled == sa.false())
            ).first()
            if row is not None:
                found = Credentials(_principal(row), "session", row.csrf_token)
    request.state.credentials = found
    return found


async def check_csrf(request: Request, creds: Credentials) -> None:
    """Cookie-authenticated writes must echo the session's CSRF token (header or form field)."""
    if creds.via != "session" or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not secrets.compare_digest(sent, creds.csrf or ""):
        raise HTTPException(status_code=403, detail="表单已失效(CSRF 校验失败),请刷新页面后重试")


def require(*roles: str) -> Callable[..., Any]:
    """Dependency: the caller's Principal; 401 without credentials, 403 for another role.

    No roles: any signed-in user.
    """
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")

    async def dependency(request: Request) -> Principal:
        creds = credentials(request)
        if creds is None:
            raise HTTPException(status_code=401, detail="请先登录", headers={"WWW-Authenticate": "Bearer"})
        if roles and creds.principal.role not in roles:
            labels = "、".join(ROLE_LABELS[r] for r in roles)
            raise HTTPException(status_code=403, detail=f"无权访问:需要以下角色之一:{labels}")
        await check_csrf(request, creds)
        return creds.principal

    return dependency


async def optional_principal(request: Request) -> Principal | None:
    """For public pages that look different when signed in."""
    creds = credentials(request)
    return creds.principal if creds is not None else None


# ``user: SignedIn`` in a route signature: any signed-in user.
SignedIn = Annotated[Principal, Depends(require())]
