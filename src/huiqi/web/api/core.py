"""Core API: health, login, and (added below the skeleton) documents, rules and calc."""

from __future__ import annotations

import sqlalchemy as sa
from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from huiqi.store.db import write_tx
from huiqi.web import deps
from huiqi.web.auth import Principal, SignedIn, authenticate, issue_token

router = APIRouter()


class Health(BaseModel):
    status: str
    database: str


@router.get("/healthz", response_model=Health, tags=["系统"], summary="健康检查(含数据库)")
def healthz(request: Request) -> Health:
    with deps.engine(request).connect() as conn:
        conn.execute(sa.text("SELECT 1"))
    return Health(status="ok", database=deps.engine(request).dialect.name)


class LoginRequest(BaseModel):
    username: str = Field(min_length=1, max_length=100, description="用户名")
    password: str = Field(min_length=1, max_length=200, description="密码")


class TokenResponse(BaseModel):
    token: str
    token_type: str = "bearer"
    expires_at: str


@router.post("/api/v1/login", response_model=TokenResponse, tags=["账户"], summary="登录,取得 API 令牌",
             responses={422: {"description": "用户名或密码错误"}, 429: {"description": "失败次数过多"}})
def api_login(body: LoginRequest, request: Request) -> TokenResponse:
    settings = deps.settings(request)
    with write_tx(deps.engine(request)) as conn:
        principal = _authenticate_committing_failures(conn, request, body.username, body.password)
        token, expires = issue_token(conn, principal, days=settings.token_days)
    return TokenResponse(token=token, expires_at=expires)


def _authenticate_committing_failures(conn: sa.Connection, request: Request, username: str,
                                      password: str) -> Principal:
    """Authenticate; a failed attempt is committed before the error propagates (it must count)."""
    from huiqi.web.auth import LoginError, LoginThrottled

    settings = deps.settings(request)
    try:
        return authenticate(conn, username, password, client=deps.client_address(request),
                            max_failures=settings.login_max_failures,
                            window_minutes=settings.login_window_minutes)
    except LoginError:
        conn.commit()
        raise
    except LoginThrottled as exc:
        from fastapi import HTTPException

        raise HTTPException(status_code=429, detail=str(exc)) from None


class Me(BaseModel):
    user_id: int
    username: str
    role: str
    region: str | None = None
    department: str | None = None
    enterprise: str | None = None


@router.get("/api/v1/me", response_model=Me, tags=["账户"], summary="当前用户")
def me(principal: SignedIn) -> Me:
    return Me(**principal.as_dict())
