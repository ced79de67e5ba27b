"""Core API: health, login, and (added below the skeleton) documents, rules and calc."""

from __future__ import annotations

import dataclasses
import datetime
import hashlib
import json
from datetime import date
from pathlib import PurePath
from typing import Annotated, Any, Literal

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Path, Query, Request, Response, UploadFile
from fastapi.encoders import jsonable_encoder
from pydantic import BaseModel, ConfigDict, Field

from huiqi.document import Document
from huiqi.errors import HuiqiError
from huiqi.rules.result import CalcReport
from huiqi.store import audit
from huiqi.store.db import write_tx
from huiqi.web import deps, services
from huiqi.web.auth import Principal, SignedIn, authenticate, issue_token, require

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
        principal = authenticate_counting_failures(conn, request, body.username, body.password)
        token, expires = issue_token(conn, principal, days=settings.token_days)
    return TokenResponse(token=token, expires_at=expires)


def authenticate_counting_failures(conn: sa.Connection, request: Request, username: str,
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


# ---- policy base ---------------------------------------------------------------------------

class DocumentListItem(BaseModel):
    id: str
    title: str
    doc_number: str | None
    issuers: list[str]
    province: str | None
    city: str | None
    county: str | None
    signed_date: date | None
    effective_from: date | None
    effective_to: date | None
    status: str
    status_label: str | None
    measures: int
    provisions: int
    targets: int


def list_documents(engine: sa.Engine, *, region: str | None = None, status: str | None = None,
                   in_force_on: date | None = None, q: str | None = None) -> list[DocumentListItem]:
    """The documents matching every given filter (the list page uses the same function)."""
    from huiqi.policybase.queries import search

    with services.policy_base(engine) as pb:
        summaries = pb.list_documents()
        hit_ids = {h.document_id for h in search(pb, q, limit=500)} if q and q.strip() else None
    out = []
    for s in summaries:
        if region and not any(region in (x or "") for x in (s.province, s.city, s.county)):
            continue
        if status and s.status != status:
            continue
        if in_force_on and ((s.effective_from and s.effective_from > in_force_on)
                            or (s.effective_to and s.effective_to < in_force_on)):
            continue
        if hit_ids is not None and s.id not in hit_ids and (q or "") not in s.title:
            continue
        out.append(DocumentListItem(**{k: getattr(s, k) for k in DocumentListItem.model_fields}))
    return out


@router.get("/api/v1/documents", response_model=list[DocumentListItem], tags=["政策库"],
            summary="政策文件列表:按地区、状态、有效日期过滤,可全文检索")
def api_documents(
    request: Request,
    region: Annotated[str | None, Query(max_length=50, description="省/市/县名称的一部分,如 临海")] = None,
    status: Annotated[Literal["final", "draft"] | None, Query(description="final 正式 / draft 征求意见稿等")] = None,
    in_force_on: Annotated[date | None, Query(description="在该日期有效(YYYY-MM-DD)")] = None,
    q: Annotated[str | None, Query(max_length=100, description="全文检索词")] = None,
) -> list[DocumentListItem]:
    return list_documents(deps.engine(request), region=region, status=status, in_force_on=in_force_on, q=q)


@router.get("/api/v1/documents/{doc_id}", tags=["政策库"],
            summary="一个文件:元数据、条款目录、措施、责任单位、数量条款与目标",
            responses={404: {"description": "文件不存在"}})
def api_document(doc_id: Annotated[str, Path(max_length=200)], request: Request) -> Response:
    with services.policy_base(deps.engine(request)) as pb:
        document = load_document(pb, doc_id)
    return Response(document.model_dump_json(exclude={"offset_map"}), media_type="application/json")


def load_document(pb: Any, ref: str) -> Document:
    from huiqi.errors import NotFoundError

    try:
        return pb.find_document(ref)  # type: ignore[no-any-return]
    except HuiqiError as exc:
        if exc.message.startswith("未找到文件"):
            raise NotFoundError(exc.message, hint=exc.hint) from None
        raise


class IngestResponse(BaseModel):
    documents: list[dict[str, Any]]
    failures: list[str]
    pushed_messages: int = Field(0, description="新入库文件的规则推送给企业的站内消息数(政策找企业)")


@router.post("/api/v1/documents", response_model=IngestResponse, tags=["政策库"],
             summary="上传政策文件并导入(与 huiqi ingest 相同)",
             responses={401: {"description": "未登录"}, 403: {"description": "无权限"}})
def api_ingest(
    request: Request,
    principal: Annotated[Principal, Depends(require("admin", "department", "county", "finance"))],
    file: Annotated[UploadFile, File(description="政策文件 .txt .html .docx .pdf")],
) -> IngestResponse:
    from huiqi.ingest.pipeline import ingest_file
    from huiqi.ingest.report import summarize_document

    name = PurePath(file.filename or "upload.txt").name
    suffix = PurePath(name).suffix.lower()
    if suffix not in (".txt", ".html", ".htm", ".docx", ".pdf"):
        raise HuiqiError(f"不支持的文件类型 {suffix or '(无扩展名)'},可用 .txt .html .docx .pdf", field="file")
    content = file.file.read()
    # Kept under var/uploads/<content hash>/: the same upload keeps the same source path, so
    # uploading a file twice is "unchanged", as re-ingesting a file with the CLI is.
    folder = deps.settings(request).var_dir / "uploads" / hashlib.sha256(content).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / name
    if not target.exists():
        target.write_bytes(content)
    document = ingest_file(target)
    engine = deps.engine(request)
    with services.policy_base(engine) as pb:
        before = pb.has_document(document.id)
        saved = pb.save_document(document)
    with write_tx(engine) as conn:
        audit.record(conn, actor=principal.username, action="document.ingest", entity="document",
                     entity_id=document.id, before={"existed": before},
                     after={"title": document.title, "status": saved.status, "sha256": saved.sha256})
        pushed = 0
        if saved.status == "new":  # 政策找企业: a re-upload or a new version does not push again
            from huiqi.workflow.rounds import push_for_document

            pushed = len(push_for_document(conn, principal, services.rulebase(), document))
    summary = {**summarize_document(document), "action": saved.status}
    return IngestResponse(documents=[summary], failures=[], pushed_messages=pushed)


@router.get("/api/v1/units", tags=["政策库"], summary="责任矩阵:各部门牵头/配合/负责的措施")
def api_units(request: Request,
              unit: Annotated[str | None, Query(max_length=50, description="单位名称的一部分")] = None,
              ) -> list[dict[str, Any]]:
    from huiqi.policybase.queries import responsibility_matrix

    with services.policy_base(deps.engine(request)) as pb:
        rows = responsibility_matrix(pb)
    return [dataclasses.asdict(r) for r in rows if not unit or unit in r.unit]


@router.get("/api/v1/targets", tags=["政策库"], summary="目标清单")
def api_targets(request: Request,
                doc: Annotated[str | None, Query(max_length=200, description="文件 id、文号或标题片段")] = None,
                ) -> list[dict[str, Any]]:
    from huiqi.policybase.queries import targets

    with services.policy_base(deps.engine(request)) as pb:
        document_id = load_document(pb, doc).id if doc else None
        rows = targets(pb, document=document_id)
    return [jsonable_encoder(dataclasses.asdict(r)) for r in rows]


@router.get("/api/v1/search", tags=["政策库"], summary="全文检索政策条款(中文分词)")
def api_search(request: Request, q: Annotated[str, Query(min_length=1, max_length=100, description="检索词")],
               limit: Annotated[int, Query(ge=1, le=200)] = 20) -> list[dict[str, Any]]:
    from huiqi.policybase.queries import search

    with services.policy_base(deps.engine(request)) as pb:
        return [dataclasses.asdict(h) for h in search(pb, q, limit=limit)]


# ---- rules and the calculator ---------------------------------------------------------------

class RuleListItem(BaseModel):
    id: str
    title: str
    document: str
    document_title: str
    doc_number: str | None
    clause: str
    kind: str
    beneficiary: str
    department: list[str]


def rule_items(policies: list[str] | None = None) -> list[RuleListItem]:
    rb = services.rulebase().filter(policies or None)
    return [RuleListItem(id=cr.id, title=cr.title, document=cr.pack.id, document_title=cr.pack.document.title,
                         doc_number=cr.pack.document.doc_number, clause=cr.rule.citation.clause,
                         kind=cr.rule.kind, beneficiary=cr.beneficiary, department=list(cr.department))
            for cr in rb.rules]


@router.get("/api/v1/rules", response_model=list[RuleListItem], tags=["规则"], summary="规则列表")
def api_rules(policy: Annotated[list[str] | None, Query(description="文件:规则包 id、文号或标题片段")] = None,
              ) -> list[RuleListItem]:
    return rule_items(policy)


def rule_detail(rule_id: str) -> dict[str, Any]:
    """A rule as written in its pack, its citation, the parameters it reads and its test cases."""
    from huiqi.errors import NotFoundError

    rb = services.rulebase()
    if not rb.has_rule(rule_id):
        raise NotFoundError(f"未知的规则 {rule_id}", field="rule_id")
    cr = rb.rule(rule_id)
    used = {name.split(".", 1)[1] for name in cr.fields if name.startswith("param.")}
    params = {n: {"label": rb.params.defs[n].label, "unit": rb.params.defs[n].unit,
                  "values": [{"from": d.isoformat(), "value": str(v)} for d, v in rb.params.defs[n].values]}
              for n in sorted(used) if n in rb.params.defs}
    return {
        "rule": jsonable_encoder(cr.rule.model_dump(by_alias=True, exclude_none=True)),
        "document": jsonable_encoder(cr.pack.document.model_dump(exclude_none=True)),
        "citation": cr.rule.citation.model_dump(),
        "department": list(cr.department),
        "fields": sorted(f for f in cr.fields if not f.startswith("param.")),
        "parameters": params,
        "tests": rule_tests(cr),
    }


def rule_tests(cr: Any) -> list[dict[str, Any]]:
    """The pack's YAML test cases that name this rule (read as data, never executed here)."""
    import yaml

    path = cr.pack.tests_path
    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    cases = data.get("cases", []) if isinstance(data, dict) else []
    return [jsonable_encoder(c) for c in cases if isinstance(c, dict) and cr.id in json.dumps(c, default=str)]


@router.get("/api/v1/rules/{rule_id}", tags=["规则"], summary="一条规则:原文引用、参数与测试用例",
            responses={404: {"description": "规则不存在"}})
def api_rule(rule_id: Annotated[str, Path(max_length=200)]) -> dict[str, Any]:
    return rule_detail(rule_id)


class CalcRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    profile: dict[str, Any] = Field(description="企业画像,格式同 huiqi schema profile")
    date: datetime.date | None = Field(None, description="计算日期 YYYY-MM-DD,默认今天")
    params: dict[str, str] = Field(default_factory=dict, description="覆盖参数,如 {\"lpr_1y\": \"3.45%\"}")
    policies: list[str] = Field(default_factory=list, description="只算某些文件:规则包 id、文号或标题片段")


def calc_report(request: Request, body: CalcRequest) -> CalcReport:
    from huiqi.profile import profile_from_data
    from huiqi.rules.run import run_calc

    rb = services.rulebase()
    profile = profile_from_data(body.profile, fields=rb.fields, source="profile")
    return run_calc(rb, profile, body.date or date.today(), policies=body.policies or None, params=body.params,
                    evaluations=deps.settings(request).var_dir / "evaluations")


@router.post("/api/v1/calc", response_model=CalcReport, tags=["规则"],
             summary="政策计算器:与 huiqi calc --format json 完全相同的结果",
             responses={422: {"description": "画像有误:带位置的中文说明"}})
async def api_calc(body: CalcRequest, request: Request) -> Response:
    # A calculation is ~10 ms of pure CPU: run it on the event loop. In a thread pool, 50 requests
    # in flight would fight over the GIL and every one of them would finish late.
    report = calc_report(request, body)
    return Response(report.model_dump_json(), media_type="application/json")
