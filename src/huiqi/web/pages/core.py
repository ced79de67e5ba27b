"""Pages: home, login and logout (the skeleton); 政策库, 计算器, 责任清单 and 目标清单 follow."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from huiqi.errors import HuiqiError
from huiqi.store.db import write_tx
from huiqi.web import deps
from huiqi.web.api.core import _authenticate_committing_failures
from huiqi.web.auth import SESSION_COOKIE, SignedIn, close_session, open_session

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def home(request: Request) -> HTMLResponse:
    return deps.render(request, "home.html")


def _safe_next(target: str | None) -> str:
    # Only same-site paths: an absolute URL here would be an open redirect.
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: str = "/") -> HTMLResponse:
    return deps.render(request, "login.html", {"next": _safe_next(next), "error": None})


@router.post("/login", response_model=None)
def login_submit(request: Request, username: str = Form(...), password: str = Form(...),
                 next: str = Form("/")) -> HTMLResponse | RedirectResponse:
    settings = deps.settings(request)
    try:
        with write_tx(deps.engine(request)) as conn:
            principal = _authenticate_committing_failures(conn, request, username, password)
            cookie, _csrf = open_session(conn, principal, hours=settings.session_hours)
    except HuiqiError as exc:
        return deps.render(request, "login.html", {"next": _safe_next(next), "error": exc.message,
                                                   "username": username}, status_code=422)
    except Exception as exc:  # the rate limit arrives as an HTTPException
        from fastapi import HTTPException

        if isinstance(exc, HTTPException) and exc.status_code == 429:
            return deps.render(request, "login.html", {"next": _safe_next(next), "error": exc.detail,
                                                       "username": username}, status_code=429)
        raise
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(SESSION_COOKIE, cookie, httponly=True, samesite="lax", secure=settings.secure_cookies,
                        max_age=settings.session_hours * 3600, path="/")
    return response


@router.post("/logout", response_model=None)
def logout(request: Request, principal: SignedIn) -> RedirectResponse:
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie:
        with write_tx(deps.engine(request)) as conn:
            close_session(conn, cookie, principal)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
