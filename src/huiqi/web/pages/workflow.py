"""Pages for 申报与拨付: rounds, the generated application form, review actions, 公示名单, payouts.

Thin: every form posts to a route that calls the same core function as the API, inside one
write transaction; a core error comes back as the located Chinese message on the page.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from huiqi.errors import HuiqiError
from huiqi.store.db import write_tx
from huiqi.store.schema import saved_profiles
from huiqi.web import deps
from huiqi.web.auth import Principal, require
from huiqi.workflow import applications as apps_core
from huiqi.workflow import exports, rounds
from huiqi.workflow.attachments import MAX_BYTES, add_attachment
from huiqi.workflow.machine import ACTION_LABELS, STATE_LABELS
from huiqi.workflow.model import ActionRequest, ApplicationCreate, RoundSpec

router = APIRouter(include_in_schema=False)
SignedIn = Annotated[Principal, Depends(require())]


def _back(path: str, error: str | None = None) -> RedirectResponse:
    return RedirectResponse(path + (f"?error={quote(error)}" if error else ""), status_code=303)


def error_message(exc: Exception) -> str:
    if isinstance(exc, HuiqiError):
        return str(exc)
    if hasattr(exc, "errors"):
        first = exc.errors()[0]
        return f"{'.'.join(map(str, first.get('loc', [])))}:{first.get('msg')}"
    raise exc


@router.get("/workflow", response_class=HTMLResponse)
def index(request: Request, who: SignedIn, error: str | None = None) -> HTMLResponse:
    with deps.engine(request).connect() as conn:
        ctx = {"rounds": rounds.list_rounds(conn, who), "apps": apps_core.list_applications(conn, who),
               "messages": rounds.messages_for(conn, who), "error": error, "today": date.today(),
               "later": date.today() + timedelta(days=30), "labels": STATE_LABELS}
    return deps.render(request, "workflow/index.html", ctx)


@router.post("/workflow/rounds")
def open_round(request: Request, who: SignedIn, title: Annotated[str, Form()], rules: Annotated[str, Form()],
               opens_on: Annotated[str, Form()], closes_on: Annotated[str, Form()],
               pool_name: Annotated[str, Form()], pool_amount: Annotated[str, Form()], pool_year: Annotated[int, Form()],
               policy_date: Annotated[str, Form()] = "", regions: Annotated[str, Form()] = "",
               method: Annotated[str, Form()] = "pro_rata", quota_limit: Annotated[str, Form()] = "",
               required_documents: Annotated[str, Form()] = "", publicity_days: Annotated[int, Form()] = 7,
               ) -> RedirectResponse:
    split = lambda text: [x.strip() for x in text.replace(",", ",").replace("、", ",").split(",") if x.strip()]  # noqa: E731
    try:
        spec = RoundSpec.model_validate({
            "title": title, "rules": split(rules), "opens_on": opens_on, "closes_on": closes_on,
            "policy_date": policy_date or None, "regions": split(regions), "method": method,
            "pool": {"name": pool_name, "amount": pool_amount, "year": pool_year},
            "quota": {"per": "region", "limit": int(quota_limit)} if quota_limit.strip() else None,
            "required_documents": split(required_documents), "publicity_days": publicity_days})
        with write_tx(deps.engine(request)) as conn:
            created = rounds.create_round(conn, who, spec)
    except Exception as exc:
        return _back("/workflow", error_message(exc))
    return _back(f"/workflow/rounds/{created['id']}")


@router.get("/workflow/rounds/{round_id}", response_class=HTMLResponse)
def round_page(round_id: int, request: Request, who: SignedIn, error: str | None = None) -> HTMLResponse:
    with deps.engine(request).connect() as conn:
        info = rounds.get_round(conn, who, round_id)
        apps = apps_core.list_applications(conn, who, round_id)
        ledger = rounds.ledger_rows(conn, who, round_id)
        batches = conn.execute(sa.text("SELECT id, count, total FROM wf_payout_batches WHERE round_id = :r "
                                       "ORDER BY id"), {"r": round_id}).all()
    return deps.render(request, "workflow/round.html", {"round": info, "apps": apps, "ledger": ledger, "error": error,
                                                        "batches": batches, "action_labels": ACTION_LABELS})


def _form_fields(round_info: dict[str, Any]) -> list[dict[str, Any]]:
    """The fields the round's rules read, with labels and types, enterprise first."""
    rb = apps_core.default_rulebase()
    labels = rb.labels()
    names: list[str] = []
    for rule_id in round_info["rules"]:
        for name in rb.rule(rule_id).fields:
            if name.startswith(("enterprise.", "project.")) and name not in names:
                names.append(name)
    out = []
    for name in sorted(names, key=lambda n: (not n.startswith("enterprise."), names.index(n))):
        spec = rb.fields.get(name)
        out.append({"name": name, "label": labels.get(name, name), "type": spec.type if spec else "text",
                    "unit": getattr(spec, "unit", None) if spec else None})
    return out


@router.get("/workflow/rounds/{round_id}/apply", response_class=HTMLResponse)
def apply_page(round_id: int, request: Request, who: SignedIn, error: str | None = None) -> HTMLResponse:
    with deps.engine(request).connect() as conn:
        info = rounds.get_round(conn, who, round_id)
        saved = conn.execute(sa.select(saved_profiles.c.profile_json).where(
            saved_profiles.c.user_id == who.user_id).order_by(saved_profiles.c.updated_at.desc()).limit(1)).scalar()
    prefill: dict[str, Any] = {}
    if saved:
        data = json.loads(saved)
        prefill.update({f"enterprise.{k}": v for k, v in (data.get("enterprise") or {}).items()})
        if data.get("projects"):
            prefill.update({f"project.{k}": v for k, v in data["projects"][0].items()})
        prefill.update({f"region.{k}": v for k, v in (data.get("region") or {}).items()})
        prefill["name"] = data.get("name")
    return deps.render(request, "workflow/apply.html", {"round": info, "fields": _form_fields(info),
                                                        "prefill": prefill, "error": error})


@router.post("/workflow/rounds/{round_id}/apply")
async def apply_submit(round_id: int, request: Request, who: SignedIn) -> RedirectResponse:
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    enterprise: dict[str, Any] = {}
    project: dict[str, Any] = {"id": "p1", "name": values.get("project_name") or "申报项目"}
    for key, value in values.items():
        if not value:
            continue
        if key.startswith("enterprise."):
            enterprise[key.split(".", 1)[1]] = value
        elif key.startswith("project."):
            project[key.split(".", 1)[1]] = value
    profile = {"name": values.get("name", ""), "enterprise": enterprise,
               "region": {k: values.get(f"region.{k}") or None for k in ("province", "city", "county", "district")}}
    if len(project) > 2:
        profile["projects"] = [project]
    try:
        body = ApplicationCreate(round=round_id, profile=profile, bank_account=values.get("bank_account") or None)
        with write_tx(deps.engine(request)) as conn:
            app, _ = apps_core.create_application(conn, who, body)
    except Exception as exc:
        return _back(f"/workflow/rounds/{round_id}/apply", error_message(exc))
    return _back(f"/workflow/applications/{app['id']}")


@router.get("/workflow/applications/{app_id}", response_class=HTMLResponse)
def application_page(app_id: int, request: Request, who: SignedIn, error: str | None = None) -> HTMLResponse:
    with deps.engine(request).connect() as conn:
        app = apps_core.get_application(conn, who, app_id)
        info = rounds.get_round(conn, who, app["round"])
    return deps.render(request, "workflow/application.html", {"app": app, "round": info, "error": error,
                                                              "action_labels": ACTION_LABELS})


@router.post("/workflow/applications/{app_id}/action")
def application_action(app_id: int, request: Request, who: SignedIn, action: Annotated[str, Form()],
                       reason: Annotated[str, Form()] = "", amount: Annotated[str, Form()] = "",
                       voucher: Annotated[str, Form()] = "", bank_account: Annotated[str, Form()] = "",
                       back: Annotated[str, Form()] = "") -> RedirectResponse:
    target = back if back.startswith("/workflow/") else f"/workflow/applications/{app_id}"
    try:
        req = ActionRequest(action=action, reason=reason or None, amount=amount or None, voucher=voucher or None,
                            bank_account=bank_account or None)
        with write_tx(deps.engine(request)) as conn:
            apps_core.act(conn, who, app_id, req)
    except Exception as exc:
        return _back(target, error_message(exc))
    return _back(target)


@router.post("/workflow/applications/{app_id}/attachments")
def attachment_upload(app_id: int, request: Request, who: SignedIn, file: Annotated[UploadFile, File()],
                      document: Annotated[str, Form()]) -> RedirectResponse:
    try:
        with write_tx(deps.engine(request)) as conn:
            add_attachment(conn, who, app_id, document, file.filename or "", file.file.read(MAX_BYTES + 1),
                           deps.settings(request).var_dir / "attachments")
    except Exception as exc:
        return _back(f"/workflow/applications/{app_id}", error_message(exc))
    return _back(f"/workflow/applications/{app_id}")


@router.post("/workflow/rounds/{round_id}/{step}")
def round_step(round_id: int, step: str, request: Request, who: SignedIn) -> RedirectResponse:
    steps = {"close": rounds.close_round, "publicize": rounds.publicize_round, "batch": rounds.create_payout_batch}
    if step not in steps:
        return _back(f"/workflow/rounds/{round_id}", f"未知的操作 {step}")
    try:
        with write_tx(deps.engine(request)) as conn:
            steps[step](conn, who, round_id)
    except Exception as exc:
        return _back(f"/workflow/rounds/{round_id}", error_message(exc))
    return _back(f"/workflow/rounds/{round_id}")


@router.get("/workflow/rounds/{round_id}/publicity", response_class=HTMLResponse)
def publicity_page(round_id: int, request: Request, who: SignedIn) -> HTMLResponse:
    with deps.engine(request).connect() as conn:
        info, rows = exports.publicity_rows(conn, round_id)
    return deps.render(request, "workflow/publicity.html", {"round": info, "rows": rows,
                                                            "total": sum(r["amount"] for r in rows)})
