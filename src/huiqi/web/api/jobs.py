"""Background-job API: 预算测算 (simulations) and 亩均评价 (evaluations).

A POST validates the input, queues a job row and answers at once with its id; a worker runs it
(never the request). GET reports state and progress, then the summary; the workbook downloads.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, HTTPException, Request, UploadFile
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel

from huiqi import jobs
from huiqi.errors import HuiqiError, NotFoundError
from huiqi.store.db import write_tx
from huiqi.web import deps
from huiqi.web.auth import Principal, require

router = APIRouter(prefix="/api/v1", tags=["预算测算与亩均评价"])

OFFICIALS = ("county", "department", "finance", "supervisor", "admin")
Official = Annotated[Principal, Depends(require(*OFFICIALS))]
POPULATION_SUFFIXES = (".parquet", ".csv", ".xlsx")
JobId = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


class JobCreated(BaseModel):
    id: int
    kind: str
    state: str
    url: str


class JobStatus(BaseModel):
    id: int
    kind: str
    state: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float
    message: str
    error: str | None
    owner: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    result: dict[str, Any] | None = None


def population_dirs(request: Request) -> list[Path]:
    return [deps.settings(request).var_dir.resolve()]


def available_populations(request: Request) -> list[Path]:
    """Population files an official may pick on the server (under the var directory)."""
    out: list[Path] = []
    for folder in population_dirs(request):
        if folder.is_dir():
            out += sorted(p for p in folder.rglob("*") if p.suffix.lower() in POPULATION_SUFFIXES
                          and "jobs" not in p.relative_to(folder).parts[:1] and p.is_file())
    return out[:200]


def resolve_population(request: Request, path: str | None, upload: UploadFile | None) -> str:
    """An uploaded file (saved under var/uploads) or a server path inside the allowed folders."""
    settings = deps.settings(request)
    if upload is not None and upload.filename:
        name = Path(upload.filename).name
        suffix = Path(name).suffix.lower()
        if suffix not in POPULATION_SUFFIXES:
            raise HuiqiError(f"不支持的人口文件类型 {suffix or '(无扩展名)'},可用 .parquet .csv .xlsx",
                             field="population_file")
        folder = settings.var_dir / "uploads"
        folder.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^\w.\-]", "_", Path(name).stem)[:60] or "population"
        target = folder / f"{safe}-{secrets.token_hex(4)}{suffix}"
        limit = settings.max_upload_mb * 1024 * 1024
        written = 0
        with target.open("wb") as fh:
            while chunk := upload.file.read(1 << 20):
                written += len(chunk)
                if written > limit:
                    fh.close()
                    target.unlink(missing_ok=True)
                    raise HuiqiError(f"上传文件超过 {settings.max_upload_mb} MB", field="population_file")
                fh.write(chunk)
        return str(target.resolve())
    if not path:
        raise HuiqiError("请上传企业人口文件,或选择服务器上的文件", field="population_path")
    candidate = Path(path)
    resolved = (candidate if candidate.is_absolute() else Path.cwd() / candidate).resolve()
    if not any(resolved.is_relative_to(d) for d in population_dirs(request)):
        raise HuiqiError("只能选择服务器数据目录(var/)中的人口文件", field="population_path")
    if not resolved.is_file():
        raise HuiqiError(f"人口文件不存在:{path}", field="population_path")
    return str(resolved)


def _split(text: str | None) -> list[str]:
    return [x.strip() for x in re.split(r"[\n,,;;]+", text or "") if x.strip()]


def submit_job(request: Request, principal: Principal, kind: str, params: dict[str, Any]) -> int:
    with write_tx(deps.engine(request)) as conn:
        return jobs.submit(conn, kind, params, owner=principal.username)


def simulation_params(request: Request, *, population_path: str | None, population_file: UploadFile | None,
                      synth_city: str | None, synth_n: int | None, synth_seed: int, dates: str | None,
                      reform: str | None, budget: str | None, allocation: str, policies: str | None,
                      ) -> dict[str, Any]:
    from huiqi.profile import FieldSpec
    from huiqi.simulation.reform import parse_set

    params: dict[str, Any] = {"dates": _split(dates), "sets": _split(reform), "allocation": allocation,
                              "policies": _split(policies)}
    parse_set(params["sets"])  # a bad reform line is reported now, not when the job runs
    if budget and budget.strip():
        spec = FieldSpec("budget", "enterprise", "预算", "money")
        params["budget"] = spec.coerce(budget.strip(), where="budget")
    if synth_city and synth_n:
        params["synth"] = {"city": synth_city, "n": synth_n, "seed": synth_seed}
    else:
        params["population"] = resolve_population(request, population_path, population_file)
    return params


@router.post("/simulations", response_model=JobCreated, status_code=202, summary="提交预算测算任务")
def api_simulate(
    request: Request,
    principal: Official,
    population_path: Annotated[str | None, Form(max_length=500, description="服务器上的人口文件(var/ 下)")] = None,
    population_file: Annotated[UploadFile | None, Form(description="上传的人口文件 .parquet/.csv/.xlsx")] = None,
    synth_city: Annotated[str | None, Form(max_length=20, description="改用合成人口:城市(如 十堰)")] = None,
    synth_n: Annotated[int | None, Form(ge=1, le=10_000_000, description="合成企业数")] = None,
    synth_seed: Annotated[int, Form(ge=0, le=2**31)] = 1,
    dates: Annotated[str | None, Form(max_length=200, description="模拟日期,逗号分隔多个年度")] = None,
    reform: Annotated[str | None, Form(max_length=5000, description="改革:每行一条 名称=值")] = None,
    budget: Annotated[str | None, Form(max_length=50, description="总预算,如 3000万元")] = None,
    allocation: Annotated[Literal["pro_rata", "rank", "first_come"], Form()] = "pro_rata",
    policies: Annotated[str | None, Form(max_length=500, description="只模拟某些文件,逗号分隔")] = None,
) -> JobCreated:
    params = simulation_params(request, population_path=population_path, population_file=population_file,
                               synth_city=synth_city, synth_n=synth_n, synth_seed=synth_seed, dates=dates,
                               reform=reform, budget=budget, allocation=allocation, policies=policies)
    job_id = submit_job(request, principal, "simulation", params)
    return JobCreated(id=job_id, kind="simulation", state="queued", url=f"/api/v1/simulations/{job_id}")


@router.post("/evaluations", response_model=JobCreated, status_code=202, summary="提交亩均评价任务")
def api_evaluate(
    request: Request,
    principal: Official,
    method: Annotated[str, Form(max_length=100, description="评价方法:zhejiang-county、linhai-2022 …")],
    population_path: Annotated[str | None, Form(max_length=500)] = None,
    population_file: Annotated[UploadFile | None, Form()] = None,
    year: Annotated[int | None, Form(ge=1990, le=2100)] = None,
) -> JobCreated:
    from huiqi.evaluation import builtin_methodologies

    if method not in builtin_methodologies():
        raise HuiqiError(f"未知的评价方法 {method},可选:{'、'.join(builtin_methodologies())}", field="method")
    params = {"method": method, "year": year,
              "population": resolve_population(request, population_path, population_file)}
    job_id = submit_job(request, principal, "evaluation", params)
    return JobCreated(id=job_id, kind="evaluation", state="queued", url=f"/api/v1/evaluations/{job_id}")


def job_status(request: Request, job_id: int, kind: str | None = None) -> JobStatus:
    with deps.engine(request).connect() as conn:
        row = jobs.get(conn, job_id)
    if row is None or (kind is not None and row["kind"] != kind):
        raise NotFoundError(f"任务 {job_id} 不存在", field="id")
    result = json.loads(row["result_json"]) if row["result_json"] else None
    return JobStatus(id=row["id"], kind=row["kind"], state=row["state"], progress=row["progress"] / 1000,
                     message=row["message"], error=row["error"], owner=row["owner"], created_at=row["created_at"],
                     started_at=row["started_at"], finished_at=row["finished_at"], result=result)


@router.get("/jobs/{job_id}", response_model=JobStatus, summary="任务状态与进度")
def api_job(job_id: JobId, request: Request, principal: Official) -> JobStatus:
    status = job_status(request, job_id)
    status.result = None  # progress polling stays small; the result comes from the kind's own route
    return status


@router.post("/jobs/{job_id}/cancel", response_model=JobStatus, summary="取消任务")
def api_cancel(job_id: JobId, request: Request, principal: Official) -> JobStatus:
    with write_tx(deps.engine(request)) as conn:
        if not jobs.cancel(conn, job_id, actor=principal.username):
            if jobs.get(conn, job_id) is None:
                raise NotFoundError(f"任务 {job_id} 不存在", field="id")
            raise HTTPException(status_code=409, detail="任务已结束,无法取消")
    return job_status(request, job_id)


@router.get("/simulations/{job_id}", response_model=JobStatus, summary="预算测算:进度与结果")
def api_simulation(job_id: JobId, request: Request, principal: Official) -> JobStatus:
    return job_status(request, job_id, "simulation")


@router.get("/evaluations/{job_id}", response_model=JobStatus, summary="亩均评价:进度与结果")
def api_evaluation(job_id: JobId, request: Request, principal: Official) -> JobStatus:
    return job_status(request, job_id, "evaluation")


def result_file(request: Request, job_id: int, kind: str, key: str) -> Path:
    status = job_status(request, job_id, kind)
    if status.state != "done" or not status.result or not status.result.get(key):
        raise HTTPException(status_code=409, detail="任务尚未完成,暂无结果文件")
    path = Path(status.result[key])
    if not path.is_file():
        raise NotFoundError("结果文件已不存在", field="id")
    return path


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@router.get("/simulations/{job_id}/xlsx", summary="下载预算测算 Excel", response_class=FileResponse)
def api_simulation_xlsx(job_id: JobId, request: Request, principal: Official) -> FileResponse:
    return FileResponse(result_file(request, job_id, "simulation", "xlsx"), media_type=XLSX,
                        filename=f"预算测算-{job_id}.xlsx")


@router.get("/evaluations/{job_id}/xlsx", summary="下载亩均评价 Excel", response_class=FileResponse)
def api_evaluation_xlsx(job_id: JobId, request: Request, principal: Official) -> FileResponse:
    return FileResponse(result_file(request, job_id, "evaluation", "xlsx"), media_type=XLSX,
                        filename=f"亩均评价-{job_id}.xlsx")
