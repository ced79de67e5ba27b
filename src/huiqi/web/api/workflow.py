"""Workflow API: rounds, applications, actions, ledger, payouts, 免申即享, messages.

Stable routes (used by the acceptance checks): ``POST /api/v1/rounds``,
``POST /api/v1/rounds/{id}/close``, ``POST /api/v1/applications``,
``POST /api/v1/applications/{id}/actions``, ``GET /api/v1/applications/{id}``,
``GET /api/v1/rounds/{id}/ledger``. Everything else is documented in OpenAPI.

Each request is one write transaction (``write_tx``); the core functions check scope and
the state machine. ``Idempotency-Key`` on POSTs is stored in the database: replaying the
same key returns the first answer, and a double click never creates a second application.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, File, Form, Header, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from pydantic import ValidationError

from huiqi.errors import InputError
from huiqi.store.db import utc_now, write_tx
from huiqi.web import deps
from huiqi.web.auth import Principal, require
from huiqi.workflow import applications as apps_core
from huiqi.workflow import exports, rounds
from huiqi.workflow.attachments import MAX_BYTES, add_attachment, attachment_file
from huiqi.workflow.machine import ACTION_LABELS, ROLE_LABELS, STATE_LABELS, TRANSITIONS
from huiqi.workflow.model import ActionRequest, ApplicationCreate, RoundSpec
from huiqi.workflow.proactive import eligible_list
from huiqi.workflow.tables import wf_idempotency

router = APIRouter(prefix="/api/v1", tags=["申报与拨付"])

Anyone = Annotated[Principal, Depends(require())]
Department = Annotated[Principal, Depends(require("department"))]
Enterprise = Annotated[Principal, Depends(require("enterprise"))]
Finance = Annotated[Principal, Depends(require("finance"))]
Reviewer = Annotated[Principal, Depends(require("enterprise", "county", "department", "finance"))]
Officials = Annotated[Principal, Depends(require("department", "finance", "admin", "supervisor"))]
IdemKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=200,
                                       description="幂等键:同一键重复提交返回第一次的结果")]

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _attachment_store(request: Request) -> Path:
    return Path(deps.settings(request).var_dir) / "attachments"


def _lock_key(user_id: int, key: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{user_id}|{key}".encode()).digest()[:8], "big", signed=True)


def _idempotent(conn: sa.Connection, who: Principal, key: str | None, endpoint: str, body: Any,
                run: Callable[[], tuple[int, Any]]) -> JSONResponse:
    """Run ``run`` once per (user, Idempotency-Key); replays return the stored answer."""
    if not key:
        status, payload = run()
        return JSONResponse(payload, status_code=status)
    if conn.dialect.name == "postgresql":  # same key at the same moment: the second waits for the first
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _lock_key(who.user_id, key)})
    digest = hashlib.sha256(json.dumps([endpoint, body], sort_keys=True, default=str).encode()).hexdigest()
    hit = conn.execute(sa.select(wf_idempotency).where(wf_idempotency.c.user_id == who.user_id,
                                                       wf_idempotency.c.key == key)).first()
    if hit is not None:
        if hit.request_sha256 != digest:
            raise InputError("该 Idempotency-Key 已用于另一个请求", field="Idempotency-Key")
        return JSONResponse(json.loads(hit.response_json), status_code=hit.status_code,
                            headers={"Idempotent-Replay": "true"})
    status, payload = run()
    conn.execute(sa.insert(wf_idempotency).values(
        user_id=who.user_id, key=key, endpoint=endpoint, request_sha256=digest, status_code=status,
        response_json=json.dumps(payload, ensure_ascii=False, default=str), created_at=utc_now()))
    return JSONResponse(payload, status_code=status)


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(value, ensure_ascii=False, default=str))


# ---- rounds ------------------------------------------------------------------------------------


@router.post("/rounds", status_code=201, summary="开申报批次(主管部门)",
             description="规则、申报时间、可申报地区、资金池(金额、年度)与分配方法、名额、须上传材料、公示天数。"
                         "开批次时向保存了画像且可能符合的企业推送站内消息。")
def create_round(spec: RoundSpec, request: Request, who: Department, key: IdemKey = None) -> JSONResponse:
    with write_tx(deps.engine(request)) as conn:
        return _idempotent(conn, who, key, "rounds.create", spec.model_dump(mode="json"),
                           lambda: (201, _jsonable(rounds.create_round(conn, who, spec))))


@router.get("/rounds", summary="申报批次列表")
def list_rounds(request: Request, who: Anyone) -> list[dict[str, Any]]:
    with deps.engine(request).connect() as conn:
        return _jsonable(rounds.list_rounds(conn, who))  # type: ignore[no-any-return]


@router.get("/rounds/{round_id}", summary="申报批次详情")
def get_round(round_id: int, request: Request, who: Anyone) -> dict[str, Any]:
    with deps.engine(request).connect() as conn:
        return _jsonable(rounds.get_round(conn, who, round_id))  # type: ignore[no-any-return]


@router.post("/rounds/{round_id}/close", summary="关闭批次:排名、名额、资金分配(全部成功或全部不生效)")
def close_round(round_id: int, request: Request, who: Department) -> dict[str, Any]:
    with write_tx(deps.engine(request)) as conn:
        return _jsonable(rounds.close_round(conn, who, round_id))  # type: ignore[no-any-return]


@router.post("/rounds/{round_id}/publicize", summary="批次内拟支持的申报全部进入公示")
def publicize_round(round_id: int, request: Request, who: Department) -> dict[str, Any]:
    with write_tx(deps.engine(request)) as conn:
        return rounds.publicize_round(conn, who, round_id)


@router.get("/rounds/{round_id}/ledger", summary="批次资金台账(只增不改,按调用者范围)")
def round_ledger(round_id: int, request: Request, who: Anyone) -> list[dict[str, Any]]:
    with deps.engine(request).connect() as conn:
        return _jsonable(rounds.ledger_rows(conn, who, round_id))  # type: ignore[no-any-return]


@router.get("/rounds/{round_id}/publicity.xlsx", summary="公示名单(Excel)", response_class=Response)
def publicity_xlsx(round_id: int, request: Request, who: Anyone) -> Response:
    with deps.engine(request).connect() as conn:
        data = exports.publicity_xlsx(conn, round_id)
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="publicity-{round_id}.xlsx"'})


@router.get("/rounds/{round_id}/report", summary="批次报告:申报、决定、按地区和部门的金额")
def round_report(round_id: int, request: Request, who: Officials) -> dict[str, Any]:
    with deps.engine(request).connect() as conn:
        rounds.get_round(conn, who, round_id)  # scope
        return _jsonable(exports.round_report(conn, round_id))  # type: ignore[no-any-return]


@router.get("/rounds/{round_id}/report.xlsx", summary="批次报告(Excel)", response_class=Response)
def round_report_xlsx(round_id: int, request: Request, who: Officials) -> Response:
    with deps.engine(request).connect() as conn:
        rounds.get_round(conn, who, round_id)
        data = exports.round_report_xlsx(conn, round_id)
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="round-{round_id}.xlsx"'})


@router.post("/rounds/{round_id}/payout-batches", status_code=201, summary="生成拨付批次(财政)")
def create_batch(round_id: int, request: Request, who: Finance, key: IdemKey = None) -> JSONResponse:
    with write_tx(deps.engine(request)) as conn:
        return _idempotent(conn, who, key, f"batch.{round_id}", {},
                           lambda: (201, _jsonable(rounds.create_payout_batch(conn, who, round_id))))


@router.get("/payout-batches/{batch_id}.xlsx", summary="拨付批次(Excel,供国库支付系统)", response_class=Response)
def batch_xlsx(batch_id: int, request: Request, who: Finance) -> Response:
    with deps.engine(request).connect() as conn:
        data = exports.payout_xlsx(conn, batch_id)
    return Response(data, media_type=XLSX, headers={"Content-Disposition": f'attachment; filename="payout-{batch_id}.xlsx"'})


def _read_population(upload: UploadFile, var_dir: Path) -> Path:
    suffix = Path(upload.filename or "population.csv").suffix.lower()
    if suffix not in (".csv", ".xlsx", ".parquet"):
        raise InputError(f"不支持的数据文件类型 {suffix}", field="file", hint="可用 .csv、.xlsx、.parquet")
    var_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(delete=False, suffix=suffix, dir=var_dir) as fh:
        fh.write(upload.file.read())
    return Path(fh.name)


def _rules_list(text: str) -> list[str]:
    rules = [r.strip() for r in text.replace(",", ",").split(",") if r.strip()]
    if not rules:
        raise InputError("请给出规则 id", field="rules")
    return rules


@router.post("/proactive/preview", summary="免申即享:用人口数据文件算出符合条件的企业名单(不写入)")
def proactive_preview(request: Request, who: Department, file: Annotated[UploadFile, File()],
                      rules: Annotated[str, Form(description="规则 id,逗号分隔")],
                      policy_date: Annotated[date, Form(description="按哪一天的政策计算")]) -> dict[str, Any]:
    path = _read_population(file, Path(deps.settings(request).var_dir) / "uploads")
    try:
        rows, warnings = eligible_list(apps_core.default_rulebase(), path, _rules_list(rules), policy_date)
    finally:
        path.unlink(missing_ok=True)
    return {"eligible": [r.as_dict() for r in rows], "total": sum(r.amount for r in rows), "warnings": warnings}


@router.post("/proactive/rounds", status_code=201, summary="免申即享:确认名单为一个无需申报的批次(直接决定与分配)")
def proactive_round(request: Request, who: Department, file: Annotated[UploadFile, File()],
                    spec: Annotated[str, Form(description="批次设置(JSON,同 POST /rounds)")]) -> dict[str, Any]:
    try:
        parsed = RoundSpec.model_validate_json(spec)
    except ValidationError as exc:
        first = exc.errors()[0]
        raise InputError(f"批次设置有误:{first['msg']}", field=".".join(map(str, first["loc"]))) from None
    path = _read_population(file, Path(deps.settings(request).var_dir) / "uploads")
    try:
        rows, _ = eligible_list(apps_core.default_rulebase(), path, parsed.rules, parsed.calc_date)
    finally:
        path.unlink(missing_ok=True)
    with write_tx(deps.engine(request)) as conn:
        return _jsonable(rounds.create_proactive_round(conn, who, parsed, rows))  # type: ignore[no-any-return]


# ---- applications ------------------------------------------------------------------------------


@router.post("/applications", status_code=201, summary="企业申报(返回状态与预审结果)",
             description="画像与计算器相同;预审结果 estimate 是该批次规则的计算结果(状态、金额或上限、说明、出处)。"
                         "同一企业、规则、批次只有一份申报:重复提交返回已有申报(200)。")
def create_application(body: ApplicationCreate, request: Request, who: Enterprise,
                       key: IdemKey = None) -> JSONResponse:
    with write_tx(deps.engine(request)) as conn:
        def run() -> tuple[int, Any]:
            app, created = apps_core.create_application(conn, who, body)
            return (201 if created else 200), _jsonable(app)

        return _idempotent(conn, who, key, "applications.create", body.model_dump(mode="json"), run)


@router.get("/applications", summary="申报列表(企业只见本企业,县区只见本地区,部门只见本部门批次)")
def list_applications(request: Request, who: Anyone, round: int | None = None,
                      status: str | None = None) -> list[dict[str, Any]]:
    with deps.engine(request).connect() as conn:
        return _jsonable(apps_core.list_applications(conn, who, round, status))  # type: ignore[no-any-return]


@router.get("/applications/{app_id}", summary="申报详情(含预审结果、流转记录、材料、异议)")
def get_application(app_id: int, request: Request, who: Anyone) -> dict[str, Any]:
    with deps.engine(request).connect() as conn:
        return _jsonable(apps_core.get_application(conn, who, app_id))  # type: ignore[no-any-return]


@router.post("/applications/{app_id}/actions", summary="申报操作(按状态机;非法操作返回 409)",
             description="action: " + ";".join(f"{k} {v}" for k, v in ACTION_LABELS.items()
                                                if k not in ("award", "decline", "lapse")))
def application_action(app_id: int, body: ActionRequest, request: Request, who: Reviewer,
                       key: IdemKey = None) -> JSONResponse:
    with write_tx(deps.engine(request)) as conn:
        return _idempotent(conn, who, key, f"applications.{app_id}.actions", body.model_dump(mode="json"),
                           lambda: (200, _jsonable(apps_core.act(conn, who, app_id, body))))


@router.post("/applications/{app_id}/attachments", status_code=201, summary="上传申报材料(类型、大小限制,校验和)")
def upload_attachment(app_id: int, request: Request, who: Enterprise, file: Annotated[UploadFile, File()],
                      document: Annotated[str, Form(description="材料名称(批次要求的材料之一)")]) -> dict[str, Any]:
    data = file.file.read(MAX_BYTES + 1)  # enough to tell "too large" without reading it all
    with write_tx(deps.engine(request)) as conn:
        return add_attachment(conn, who, app_id, document, file.filename or "", data, _attachment_store(request))


@router.get("/applications/{app_id}/attachments/{att_id}", summary="下载申报材料", response_class=Response)
def download_attachment(app_id: int, att_id: int, request: Request, who: Anyone) -> Response:
    with deps.engine(request).connect() as conn:
        row, data = attachment_file(conn, who, app_id, att_id)
    return Response(data, media_type=row.content_type,
                    headers={"Content-Disposition": f'attachment; filename="{att_id}{Path(row.filename).suffix}"'})


@router.get("/messages", summary="站内消息(政策推送)")
def messages(request: Request, who: Anyone) -> list[dict[str, Any]]:
    with deps.engine(request).connect() as conn:
        return _jsonable(rounds.messages_for(conn, who))  # type: ignore[no-any-return]


@router.get("/workflow/transitions", summary="申报状态机(一张表)")
def transitions() -> dict[str, Any]:
    return {"states": STATE_LABELS, "actions": ACTION_LABELS, "roles": ROLE_LABELS,
            "transitions": [t.__dict__ for t in TRANSITIONS]}
