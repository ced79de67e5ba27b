"""Pages: home, login/logout, 政策库 (list, document, rule), 责任清单 and 目标清单."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from huiqi.errors import HuiqiError
from huiqi.store.db import write_tx
from huiqi.web import deps, services
from huiqi.web.api.core import authenticate_counting_failures, list_documents, load_document, rule_detail
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
            principal = authenticate_counting_failures(conn, request, username, password)
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


# ---- 政策库 ------------------------------------------------------------------------------------


@router.get("/policies", response_class=HTMLResponse)
def policies_page(request: Request, region: str = "", status: str = "", in_force_on: str = "",
                  q: str = "") -> HTMLResponse:
    from huiqi.policybase.queries import search

    on = _date_or_none(in_force_on)
    engine = deps.engine(request)
    docs = list_documents(engine, region=region or None, status=status if status in ("final", "draft") else None,
                          in_force_on=on, q=q or None)
    hits = []
    if q.strip():
        with services.policy_base(engine) as pb:
            hits = search(pb, q, limit=30)
    return deps.render(request, "policies.html", {"docs": docs, "hits": hits, "region": region, "status": status,
                                                  "in_force_on": in_force_on, "q": q})


def _date_or_none(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


@router.get("/policies/{doc_id}", response_class=HTMLResponse)
def document_page(request: Request, doc_id: str, original: bool = False) -> HTMLResponse:
    from huiqi.rules.check import find_pack_document

    with services.policy_base(deps.engine(request)) as pb:
        doc = load_document(pb, doc_id)
        rb = services.rulebase()
        packs = {pack.id for pack in rb.packs if getattr(find_pack_document(pack, pb), "id", None) == doc.id}
        rules = [cr for cr in rb.rules if cr.pack.id in packs]
    pieces = services.highlight(doc.text, services.document_marks(doc))
    units = [(m, role, unit) for m in doc.measures for role, names in
             (("牵头", m.units.lead), ("配合", m.units.support)) for unit in names]
    return deps.render(request, "document.html", {"doc": doc, "pieces": pieces, "units": units, "rules": rules,
                                                  "labels": services.PROVISION_LABELS})


@router.get("/rules/{rule_id}", response_class=HTMLResponse)
def rule_page(request: Request, rule_id: str) -> HTMLResponse:
    from huiqi.rules.check import find_pack_document

    detail = rule_detail(rule_id)
    cr = services.rulebase().rule(rule_id)
    with services.policy_base(deps.engine(request)) as pb:
        doc = find_pack_document(cr.pack, pb)
    context: dict[str, Any] = {"detail": detail, "cr": cr, "doc": doc, "pieces": None, "original_pieces": None}
    if doc is not None:
        span = services.locate(cr.rule.citation.quote, doc.text)
        measure = next((m for m in doc.measures if m.key == cr.rule.citation.clause), None)
        context["measure"] = measure
        if span is not None:
            mark = services.Mark(span[0], span[1], "citation", "引文")
            context["pieces"] = services.highlight(doc.text, [mark])
            if doc.script != "simplified":
                o_start, o_end = services.original_span(doc, *span)
                context["original_pieces"] = services.highlight(
                    doc.original_text, [services.Mark(o_start, o_end, "citation", "原文引文")])
    return deps.render(request, "rule.html", context)


@router.get("/units", response_class=HTMLResponse)
def units_page(request: Request, unit: str = "") -> HTMLResponse:
    from huiqi.policybase.queries import matrix_pivot, responsibility_matrix

    with services.policy_base(deps.engine(request)) as pb:
        rows = responsibility_matrix(pb)
    if unit:
        rows = [r for r in rows if unit in r.unit]
    return deps.render(request, "units.html", {"rows": rows, "pivot": matrix_pivot(rows), "unit": unit})


@router.get("/targets", response_class=HTMLResponse)
def targets_page(request: Request, doc: str = "") -> HTMLResponse:
    from huiqi.policybase.queries import targets

    with services.policy_base(deps.engine(request)) as pb:
        docs = pb.list_documents()
        rows = targets(pb, document=load_document(pb, doc).id if doc else None)
    return deps.render(request, "targets.html", {"rows": rows, "docs": docs, "doc": doc})


@router.get("/api/docs", response_class=HTMLResponse)
def api_docs(request: Request) -> HTMLResponse:
    """Swagger UI served from static/vendor: the docs work on an offline intranet."""
    return deps.render(request, "api_docs.html")
