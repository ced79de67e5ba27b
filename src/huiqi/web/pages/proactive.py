"""免申即享 page: a department official uploads (or picks) a population file, previews the eligible
enterprises and amounts, and confirms the list as a round with no applications.

The uploaded file is kept under ``var/population/<content hash>/`` so that the confirmation runs
on exactly the file that was previewed, and can be chosen again later. The preview carries a
digest of the list it showed; confirming recomputes the list and refuses if it differs (rule
packs or the file changed in between), so what is confirmed is what was reviewed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, timedelta
from pathlib import Path, PurePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from huiqi.errors import InputError
from huiqi.fsutil import atomic_open
from huiqi.store.db import write_tx
from huiqi.web import deps
from huiqi.web.auth import Principal, require
from huiqi.web.pages.workflow import error_message
from huiqi.workflow import applications as apps_core
from huiqi.workflow import rounds
from huiqi.workflow.model import RoundSpec
from huiqi.workflow.proactive import Eligible, eligible_list

router = APIRouter(include_in_schema=False)
Department = Annotated[Principal, Depends(require("department"))]
SUFFIXES = (".csv", ".xlsx", ".parquet")
MAX_FILE_BYTES = 50 * 1024 * 1024


def population_dir(request: Request) -> Path:
    return Path(deps.settings(request).var_dir) / "population"


def stored_files(request: Request) -> list[dict[str, str]]:
    """Population files uploaded before, newest first: ``{"token", "name"}``."""
    base = population_dir(request)
    if not base.is_dir():
        return []
    files = [p for p in base.glob("*/*") if p.is_file() and p.suffix.lower() in SUFFIXES]
    files.sort(key=lambda p: p.stat().st_mtime, reverse=True)
    return [{"token": f"{p.parent.name}/{p.name}", "name": p.name} for p in files]


def store_upload(request: Request, upload: UploadFile) -> str:
    name = PurePath(upload.filename or "population.csv").name
    if PurePath(name).suffix.lower() not in SUFFIXES:
        raise InputError(f"不支持的数据文件类型 {PurePath(name).suffix or '(无扩展名)'}:{name}", field="file",
                         hint="可用 .csv、.xlsx、.parquet")
    content = upload.file.read(MAX_FILE_BYTES + 1)
    if not content:
        raise InputError(f"数据文件 {name} 是空的", field="file")
    if len(content) > MAX_FILE_BYTES:
        raise InputError(f"数据文件 {name} 超过 50MB", field="file")
    folder = population_dir(request) / hashlib.sha256(content).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():
        with atomic_open(target, "wb", encoding=None) as fh:
            fh.write(content)
    return f"{folder.name}/{name}"


def resolve_token(request: Request, token: str) -> Path:
    """A stored file from its token; anything outside var/population/ is refused."""
    base = population_dir(request).resolve()
    path = (base / token).resolve()
    if base not in path.parents or not path.is_file():
        raise InputError(f"找不到已上传的数据文件 {token}", field="population", hint="请重新上传")
    return path


def list_digest(rows: list[Eligible]) -> str:
    return hashlib.sha256(json.dumps([r.as_dict() for r in rows], ensure_ascii=False,
                                     sort_keys=True).encode()).hexdigest()


def split_list(text: str) -> list[str]:
    return [x.strip() for x in text.replace(",", ",").replace("、", ",").split(",") if x.strip()]


def round_spec_from(values: dict[str, str]) -> RoundSpec:
    start = date.fromisoformat(values["policy_date"]) if values.get("policy_date") else date.today()
    limit = values.get("quota_limit", "").strip()
    return RoundSpec.model_validate({
        "title": values.get("title", ""), "rules": split_list(values.get("rules", "")), "kind": "proactive",
        "opens_on": values.get("opens_on") or date.today().isoformat(),
        "closes_on": values.get("closes_on") or date.today().isoformat(),
        "policy_date": start.isoformat(), "regions": split_list(values.get("regions", "")),
        "pool": {"name": values.get("pool_name", ""), "amount": values.get("pool_amount", ""),
                 "year": values.get("pool_year") or start.year},
        "method": values.get("method") or "pro_rata",
        "quota": {"per": "region", "limit": int(limit)} if limit else None,
        "publicity_days": int(values.get("publicity_days") or 7)})


FIELDS = ("title", "rules", "policy_date", "opens_on", "closes_on", "regions", "pool_name", "pool_amount",
          "pool_year", "method", "quota_limit", "publicity_days")


def render(request: Request, values: dict[str, str], **ctx: Any) -> HTMLResponse:
    today = date.today()
    defaults = {"opens_on": today.isoformat(), "closes_on": (today + timedelta(days=30)).isoformat(),
                "pool_year": str(today.year), "publicity_days": "7", "method": "pro_rata"}
    return deps.render(request, "workflow/proactive.html", {
        "values": {**defaults, **{k: v for k, v in values.items() if v}}, "files": stored_files(request), **ctx})


@router.get("/workflow/proactive", response_class=HTMLResponse)
def proactive_form(request: Request, who: Department, error: str | None = None) -> HTMLResponse:
    return render(request, {}, error=error)


@router.post("/workflow/proactive/preview", response_class=HTMLResponse)
async def proactive_preview(request: Request, who: Department) -> HTMLResponse:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    upload = form.get("file")
    try:
        if upload is not None and not isinstance(upload, str) and upload.filename:
            token = store_upload(request, upload)  # type: ignore[arg-type]
        elif str(form.get("population") or ""):
            token = str(form.get("population"))
        else:
            raise InputError("请上传人口数据文件,或选择已上传的文件", field="file")
        spec = round_spec_from(values)
        rows, warnings = eligible_list(apps_core.default_rulebase(), resolve_token(request, token), spec.rules,
                                       spec.calc_date)
    except Exception as exc:
        return render(request, values, error=error_message(exc))
    return render(request, values, token=token, rows=rows, warnings=warnings, total=sum(r.amount for r in rows),
                  digest=list_digest(rows), spec=spec)


@router.post("/workflow/proactive/confirm", response_model=None)
async def proactive_confirm(request: Request, who: Department,
                            population: Annotated[str, Form()], digest: Annotated[str, Form()]
                            ) -> RedirectResponse | HTMLResponse:
    form = await request.form()
    values = {k: str(form.get(k) or "").strip() for k in FIELDS}
    try:
        spec = round_spec_from(values)
        rows, _ = eligible_list(apps_core.default_rulebase(), resolve_token(request, population), spec.rules,
                                spec.calc_date)
        if list_digest(rows) != digest:
            raise InputError("名单与预览时不一致(数据文件或规则已变化),请重新预览后再确认", field="population")
        if not rows:
            raise InputError("名单为空,不能建成批次", field="population")
        with write_tx(deps.engine(request)) as conn:
            created = rounds.create_proactive_round(conn, who, spec, rows)
    except Exception as exc:
        return render(request, values, error=error_message(exc))
    return RedirectResponse(f"/workflow/rounds/{created['id']}", status_code=303)

