"""政策计算器 pages: the form (fields from the registry, only what the city's rules read), live
results and ask-next over HTMX, Excel export, a printable page and saved profiles (signed in).

The profile built from the form goes through the same ``run_calc`` as ``huiqi calc``.
"""

from __future__ import annotations

import json
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field
from starlette.background import BackgroundTask
from starlette.datastructures import FormData

from huiqi.errors import HuiqiError, NotFoundError
from huiqi.rules.result import CalcReport
from huiqi.store import audit
from huiqi.store.db import utc_now, write_tx
from huiqi.store.schema import saved_profiles
from huiqi.web import calculator_form as cf
from huiqi.web import deps, services
from huiqi.web.auth import Principal, SignedIn, require

router = APIRouter(include_in_schema=False)
api = APIRouter(prefix="/api/v1/profiles", tags=["企业画像"])


def _city_key(value: str | None) -> str:
    cities = cf.cities()
    if value and value in cities:
        return value
    return "临海" if "临海" in cities else next(iter(cities))


def compute(request: Request, form: cf.CityForm, values: Any) -> tuple[CalcReport | None, HuiqiError | None,
                                                                        dict[str, Any]]:
    from huiqi.profile import profile_from_data
    from huiqi.rules.run import run_calc

    data = cf.profile_data(form, values)
    try:
        on = date.fromisoformat(values.get("date") or cf.default_date(form.city.key).isoformat())
    except ValueError:
        return None, HuiqiError("日期格式应为 YYYY-MM-DD", field="date"), data
    try:
        rb = services.rulebase()
        profile = profile_from_data(data, fields=rb.fields, source="表单")
        report = run_calc(rb, profile, on, evaluations=deps.settings(request).var_dir / "evaluations")
    except HuiqiError as exc:
        return None, exc, data
    return report, None, data


def groups(report: CalcReport) -> dict[str, Any]:
    """The CLI's grouping: 可享受 / 差一点 / 无法判定 / 不在有效期 / 线索 (+ the other refusals)."""
    seen: set[str] = set()
    expired = []
    for r in report.by_status("not_in_force"):
        if r.rule not in seen:
            seen.add(r.rule)
            expired.append(r)
    failed = report.by_status("not_eligible", "stacked_out")
    return {
        "granted": report.by_status("granted"),
        "near": [r for r in failed if r.near_miss is not None],
        "refused": [r for r in failed if r.near_miss is None],
        "undecided": report.by_status("undecided"),
        "expired": expired,
        "leads": report.leads,
    }


def _context(request: Request, key: str, values: Any, *, with_results: bool) -> dict[str, Any]:
    form = cf.city_form(key)
    ctx: dict[str, Any] = {"form": form, "cities": cf.cities(), "values": values,
                           "n_projects": cf.project_count(values), "default_date": cf.default_date(key),
                           "report": None, "error": None}
    if with_results:
        report, error, data = compute(request, form, values)
        ctx.update(report=report, error=error, groups=groups(report) if report else None,
                   profile_json=json.dumps(data, ensure_ascii=False, default=str))
    return ctx


@router.get("/calculator", response_class=HTMLResponse)
def calculator_page(request: Request, city: str | None = None, profile: int | None = None) -> HTMLResponse:
    values: dict[str, Any] = {}
    saved_name = None
    if profile is not None:
        principal = _signed_in(request)
        row = _saved_profile(request, principal, profile)
        data = json.loads(row.profile_json)
        values = cf.form_values(data)
        city = cf.city_of_region(data.get("region") or {}) or city
        saved_name = row.name
    key = _city_key(city)
    ctx = _context(request, key, _Values(values), with_results=bool(values))
    ctx["saved_name"] = saved_name
    ctx["saved"] = _list_saved(request)
    return deps.render(request, "calculator.html", ctx)


class _Values(dict[str, Any]):
    """A plain dict that answers like a form (``get``/``getlist``)."""

    def getlist(self, key: str) -> list[Any]:
        value = self.get(key)
        if value is None:
            return []
        return list(value) if isinstance(value, list | tuple) else [value]


async def _form(request: Request) -> FormData:
    return await request.form()


@router.post("/calculator", response_class=HTMLResponse)
async def calculator_submit(request: Request) -> HTMLResponse:
    values = await _form(request)
    key = _city_key(values.get("city") if isinstance(values.get("city"), str) else None)  # type: ignore[arg-type]
    ctx = _context(request, key, values, with_results=values.get("action") != "add_project")
    ctx["saved"] = _list_saved(request)
    ctx["saved_name"] = None
    return deps.render(request, "calculator.html", ctx)


@router.post("/calculator/results", response_class=HTMLResponse)
async def calculator_results(request: Request) -> HTMLResponse:
    """The HTMX fragment: results and ask-next for the form as it is now."""
    values = await _form(request)
    key = _city_key(values.get("city") if isinstance(values.get("city"), str) else None)  # type: ignore[arg-type]
    return deps.render(request, "_calc_results.html", _context(request, key, values, with_results=True))


@router.post("/calculator/print", response_class=HTMLResponse)
async def calculator_print(request: Request) -> HTMLResponse:
    values = await _form(request)
    key = _city_key(values.get("city") if isinstance(values.get("city"), str) else None)  # type: ignore[arg-type]
    return deps.render(request, "calc_print.html", _context(request, key, values, with_results=True))


@router.post("/calculator/export.xlsx", response_model=None)
async def calculator_xlsx(request: Request) -> FileResponse | HTMLResponse:
    from huiqi.surfaces.calc_report import export_xlsx

    values = await _form(request)
    key = _city_key(values.get("city") if isinstance(values.get("city"), str) else None)  # type: ignore[arg-type]
    report, error, _data = compute(request, cf.city_form(key), values)
    if report is None:
        return deps.render(request, "error.html", {"status": 422, "title": "画像有误",
                                                   "messages": [str(error)]}, status_code=422)
    folder = Path(tempfile.mkdtemp(prefix="huiqi-calc-"))
    path = folder / "result.xlsx"
    export_xlsx(report, path)
    return FileResponse(path, filename=f"政策计算-{report.profile}.xlsx",
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        background=BackgroundTask(_remove, folder))


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


# ---- saved profiles ----------------------------------------------------------------------------


def _signed_in(request: Request) -> Principal:
    from huiqi.web.auth import credentials

    creds = credentials(request)
    if creds is None:
        from fastapi import HTTPException

        raise HTTPException(status_code=401, detail="请先登录")
    return creds.principal


def _list_saved(request: Request) -> list[Any]:
    from huiqi.web.auth import credentials

    creds = credentials(request)
    if creds is None:
        return []
    with deps.engine(request).connect() as conn:
        return list(conn.execute(sa.select(saved_profiles.c.id, saved_profiles.c.name, saved_profiles.c.updated_at)
                                 .where(saved_profiles.c.user_id == creds.principal.user_id)
                                 .order_by(saved_profiles.c.updated_at.desc())))


def _saved_profile(request: Request, principal: Principal, profile_id: int) -> Any:
    with deps.engine(request).connect() as conn:
        row = conn.execute(sa.select(saved_profiles).where(saved_profiles.c.id == profile_id,
                                                           saved_profiles.c.user_id == principal.user_id)).first()
    if row is None:
        raise NotFoundError(f"没有编号为 {profile_id} 的已保存画像", field="profile")
    return row


def save_profile(request: Request, principal: Principal, name: str, data: dict[str, Any]) -> int:
    """Insert or replace the user's profile called ``name`` (audited with before and after)."""
    from huiqi.profile import profile_from_data

    name = name.strip()[:200]
    if not name:
        raise HuiqiError("请给画像起个名字", field="name")
    profile_from_data(data, fields=services.rulebase().fields, source="画像")  # only valid profiles are kept
    payload = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    now = utc_now()
    with write_tx(deps.engine(request)) as conn:
        row = conn.execute(sa.select(saved_profiles).where(saved_profiles.c.user_id == principal.user_id,
                                                           saved_profiles.c.name == name).with_for_update()).first()
        if row is None:
            profile_id = conn.execute(sa.insert(saved_profiles).values(
                user_id=principal.user_id, name=name, profile_json=payload, created_at=now, updated_at=now)
                .returning(saved_profiles.c.id)).scalar_one()
            before = None
        else:
            profile_id = row.id
            before = json.loads(row.profile_json)
            conn.execute(sa.update(saved_profiles).where(saved_profiles.c.id == row.id)
                         .values(profile_json=payload, updated_at=now))
        audit.record(conn, actor=principal.username, action="profile.save", entity="saved_profile",
                     entity_id=str(profile_id), before=before, after=json.loads(payload))
    return int(profile_id)


@router.post("/calculator/save", response_model=None)
async def calculator_save(request: Request, principal: SignedIn) -> RedirectResponse | HTMLResponse:
    values = await _form(request)
    key = _city_key(values.get("city") if isinstance(values.get("city"), str) else None)  # type: ignore[arg-type]
    data = cf.profile_data(cf.city_form(key), values)
    name = str(values.get("name") or data.get("name") or "")
    profile_id = save_profile(request, principal, name, data)
    return RedirectResponse(f"/calculator?profile={profile_id}", status_code=303)


class SavedProfile(BaseModel):
    id: int
    name: str
    profile: dict[str, Any]
    updated_at: str


class SaveProfileRequest(BaseModel):
    name: str = Field(min_length=1, max_length=200)
    profile: dict[str, Any]


@api.get("", response_model=list[SavedProfile], summary="我的已保存画像")
def api_profiles(request: Request, principal: SignedIn) -> list[SavedProfile]:
    with deps.engine(request).connect() as conn:
        rows = conn.execute(sa.select(saved_profiles).where(saved_profiles.c.user_id == principal.user_id)
                            .order_by(saved_profiles.c.id)).all()
    return [SavedProfile(id=r.id, name=r.name, profile=json.loads(r.profile_json), updated_at=r.updated_at)
            for r in rows]


@api.post("", response_model=SavedProfile, summary="保存画像(同名则覆盖)")
def api_save_profile(body: SaveProfileRequest, request: Request,
                     principal: Annotated[Principal, Depends(require())]) -> SavedProfile:
    profile_id = save_profile(request, principal, body.name, body.profile)
    row = _saved_profile(request, principal, profile_id)
    return SavedProfile(id=row.id, name=row.name, profile=json.loads(row.profile_json), updated_at=row.updated_at)
