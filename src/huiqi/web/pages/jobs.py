"""预算测算 and 亩均评价 pages: a form that queues a job, a progress bar while a worker runs it,
then charts, tables and the workbook. The request never runs the job."""

from __future__ import annotations

import json
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi import APIRouter, Depends, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from huiqi.errors import HuiqiError, NotFoundError
from huiqi.store.schema import jobs as jobs_table
from huiqi.web import deps
from huiqi.web.api.jobs import (
    OFFICIALS,
    available_populations,
    job_status,
    resolve_population,
    simulation_params,
    submit_job,
)
from huiqi.web.auth import Principal, require

router = APIRouter(include_in_schema=False)
Official = Annotated[Principal, Depends(require(*OFFICIALS))]
TOP = 15


def recent_jobs(request: Request, kind: str, limit: int = 20) -> list[Any]:
    with deps.engine(request).connect() as conn:
        return list(conn.execute(sa.select(jobs_table.c.id, jobs_table.c.state, jobs_table.c.progress,
                                           jobs_table.c.owner, jobs_table.c.created_at, jobs_table.c.message)
                                 .where(jobs_table.c.kind == kind).order_by(jobs_table.c.id.desc()).limit(limit)))


def bar_chart(title: str, rows: list[dict[str, Any]], label: str, value: str, *, unit: str = "万元",
              horizontal: bool = True) -> dict[str, Any]:
    """An ECharts option; money is shown in 万元 (display only: the tables keep exact yuan)."""
    names = [str(r.get(label) or "(未填)") for r in rows]
    divisor = 10000 if unit == "万元" else 1
    values = [round(int(r.get(value) or 0) / divisor, 2) for r in rows]
    category = {"type": "category", "data": names, "axisLabel": {"width": 160, "overflow": "truncate"}}
    numeric = {"type": "value", "name": unit, "axisLabel": {"hideOverlap": True}, "splitNumber": 3}
    return {
        "title": {"text": title, "textStyle": {"fontSize": 14}},
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 10, "right": 30, "bottom": 10, "top": 40, "containLabel": True},
        "xAxis": numeric if horizontal else category,
        "yAxis": {**category, "inverse": True} if horizontal else numeric,
        "series": [{"type": "bar", "data": values, "itemStyle": {"color": "#0b4f9c"}}],
        "aria": {"enabled": True},
    }


# ---- 预算测算 ----------------------------------------------------------------------------------


@router.get("/simulations", response_class=HTMLResponse)
def simulations_page(request: Request, principal: Official) -> HTMLResponse:
    from huiqi.web.calculator_form import cities

    return deps.render(request, "simulations.html", {
        "jobs": recent_jobs(request, "simulation"), "populations": available_populations(request),
        "cities": cities(), "error": None, "var_dir": deps.settings(request).var_dir})


@router.post("/simulations", response_model=None)
def simulations_submit(
    request: Request,
    principal: Official,
    population_path: Annotated[str | None, Form()] = None,
    population_file: Annotated[UploadFile | None, Form()] = None,
    source: Annotated[str, Form()] = "path",
    synth_city: Annotated[str | None, Form()] = None,
    synth_n: Annotated[str | None, Form()] = None,
    dates: Annotated[str | None, Form()] = None,
    reform: Annotated[str | None, Form()] = None,
    budget: Annotated[str | None, Form()] = None,
    allocation: Annotated[str, Form()] = "pro_rata",
) -> RedirectResponse | HTMLResponse:
    from huiqi.web.calculator_form import cities

    try:
        n = None
        if source == "synth":
            try:
                n = int((synth_n or "").replace(",", "").strip())
            except ValueError:
                raise HuiqiError("合成企业数应为整数", field="synth_n") from None
        if allocation not in ("pro_rata", "rank", "first_come"):
            raise HuiqiError("未知的分配方式", field="allocation")
        params = simulation_params(
            request, population_path=population_path if source == "path" else None,
            population_file=population_file if source == "upload" else None,
            synth_city=synth_city if source == "synth" else None, synth_n=n, synth_seed=1, dates=dates,
            reform=reform, budget=budget, allocation=allocation, policies=None)
        job_id = submit_job(request, principal, "simulation", params)
    except HuiqiError as exc:
        return deps.render(request, "simulations.html", {
            "jobs": recent_jobs(request, "simulation"), "populations": available_populations(request),
            "cities": cities(), "error": exc, "var_dir": deps.settings(request).var_dir}, status_code=422)
    return RedirectResponse(f"/simulations/{job_id}", status_code=303)


@router.get("/simulations/{job_id}", response_class=HTMLResponse)
def simulation_page(request: Request, job_id: int, principal: Official) -> HTMLResponse:
    status = job_status(request, job_id, "simulation")
    charts: dict[str, Any] = {}
    result = status.result
    if status.state == "done" and result:
        rules = [r for r in result["by_rule"] if r.get("scenario", "baseline") == "baseline"][:TOP]
        charts["by_rule"] = bar_chart("按措施:确定金额(前 15)", rules, "title", "exact")
        for key, label, title in (("by_department", "department", "按部门"), ("by_district", "area", "按地区"),
                                  ("by_year", "year", "按年度")):
            rows = [r for r in result[key] if r.get("scenario", "baseline") == "baseline"][:TOP]
            charts[key] = bar_chart(f"{title}:确定金额", rows, label, "exact")
        if result.get("pools"):
            pools = result["pools"]
            charts["pools"] = {
                "title": {"text": "资金池:需求、分配与缺口", "textStyle": {"fontSize": 14}},
                "tooltip": {"trigger": "axis"}, "legend": {"top": 24},
                "grid": {"left": 10, "right": 30, "bottom": 10, "top": 60, "containLabel": True},
                "xAxis": {"type": "category", "data": [f"{p['label']} {p['year']}" for p in pools]},
                "yAxis": {"type": "value", "name": "万元"},
                "series": [{"name": n, "type": "bar", "data": [round(int(p[k]) / 10000, 2) for p in pools]}
                           for n, k in (("需求", "demand"), ("资金池", "cap"), ("已分配", "allocated"),
                                        ("缺口", "shortfall"))],
                "aria": {"enabled": True},
            }
    return deps.render(request, "simulation.html", {"job": status, "result": result, "charts": charts,
                                                     "charts_json": {k: json.dumps(v, ensure_ascii=False)
                                                                     for k, v in charts.items()}})


# ---- 亩均评价 ----------------------------------------------------------------------------------


@router.get("/evaluations", response_class=HTMLResponse)
def evaluations_page(request: Request, principal: Official) -> HTMLResponse:
    from huiqi.evaluation import builtin_methodologies

    return deps.render(request, "evaluations.html", {
        "jobs": recent_jobs(request, "evaluation"), "populations": available_populations(request),
        "methods": builtin_methodologies(), "error": None})


@router.post("/evaluations", response_model=None)
def evaluations_submit(
    request: Request,
    principal: Official,
    method: Annotated[str, Form()],
    population_path: Annotated[str | None, Form()] = None,
    population_file: Annotated[UploadFile | None, Form()] = None,
    year: Annotated[str | None, Form()] = None,
) -> RedirectResponse | HTMLResponse:
    from huiqi.evaluation import builtin_methodologies

    try:
        methods = builtin_methodologies()
        if method not in methods:
            raise HuiqiError(f"未知的评价方法 {method}", field="method")
        try:
            chosen_year = int(year) if year and year.strip() else None
        except ValueError:
            raise HuiqiError("年度应为四位数字", field="year") from None
        params = {"method": method, "year": chosen_year,
                  "population": resolve_population(request, population_path, population_file)}
        job_id = submit_job(request, principal, "evaluation", params)
    except HuiqiError as exc:
        return deps.render(request, "evaluations.html", {
            "jobs": recent_jobs(request, "evaluation"), "populations": available_populations(request),
            "methods": builtin_methodologies(), "error": exc}, status_code=422)
    return RedirectResponse(f"/evaluations/{job_id}", status_code=303)


@router.get("/evaluations/{job_id}", response_class=HTMLResponse)
def evaluation_page(request: Request, job_id: int, principal: Official, q: str = "") -> HTMLResponse:
    status = job_status(request, job_id, "evaluation")
    charts: dict[str, Any] = {}
    matches: list[dict[str, Any]] = []
    result = status.result
    if status.state == "done" and result:
        summary = result["summary"]
        classes = summary["classes"]
        charts["classes"] = bar_chart("各类别企业数", [{"c": f"{c}类", "n": sum(int(r.get(c) or 0) for r in
                                                                               summary["by_track"])}
                                                    for c in classes], "c", "n", unit="家", horizontal=False)
        bins: dict[str, int] = {}
        for h in summary.get("histogram") or []:
            bins[str(h["bin"])] = bins.get(str(h["bin"]), 0) + int(h["count"])
        if bins:
            charts["histogram"] = bar_chart("综合得分分布", [{"bin": b, "n": n} for b, n in bins.items()],
                                            "bin", "n", unit="家", horizontal=False)
        rows = [{"d": r["group"], **r} for r in summary["by_district"]]
        charts["district"] = {
            "title": {"text": "各乡镇(街道)类别分布", "textStyle": {"fontSize": 14}},
            "tooltip": {"trigger": "axis"}, "legend": {"top": 24},
            "grid": {"left": 10, "right": 30, "bottom": 10, "top": 60, "containLabel": True},
            "xAxis": {"type": "value", "name": "家"},
            "yAxis": {"type": "category", "data": [r["d"] for r in rows], "inverse": True},
            "series": [{"name": f"{c}类", "type": "bar", "stack": "all", "data": [int(r.get(c) or 0) for r in rows]}
                       for c in classes],
            "aria": {"enabled": True},
        }
        matches = find_enterprises(result["parquet"], q) if q else []
    return deps.render(request, "evaluation.html", {
        "job": status, "result": result, "q": q, "matches": matches,
        "charts_json": {k: json.dumps(v, ensure_ascii=False) for k, v in charts.items()}})


def find_enterprises(parquet: str, q: str, limit: int = 20) -> list[dict[str, Any]]:
    import duckdb

    con = duckdb.connect()
    try:
        cur = con.execute("SELECT id, name, district, industry, class, total_score, rank_in_track FROM read_parquet(?) "
                          "WHERE id LIKE ? OR name LIKE ? ORDER BY id LIMIT ?", [parquet, f"%{q}%", f"%{q}%", limit])
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
    finally:
        con.close()


@router.get("/evaluations/{job_id}/enterprises/{enterprise_id}", response_class=HTMLResponse)
def grade_card(request: Request, job_id: int, enterprise_id: str, principal: Official) -> HTMLResponse:
    """One enterprise's grade card: indicator values, scores and benchmarks, class, reasons, overrides."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from huiqi.evaluation import load_methodology

    status = job_status(request, job_id, "evaluation")
    if status.state != "done" or not status.result:
        raise NotFoundError("评价尚未完成", field="job_id")
    table = pq.read_table(status.result["parquet"])
    rows = table.filter(pc.equal(table["id"], enterprise_id)).to_pylist()
    if not rows:
        raise NotFoundError(f"评价结果中没有企业 {enterprise_id}", field="enterprise_id")
    row = rows[0]
    m = load_methodology(status.result["method"])
    indicators = [{"id": ind.id, "label": getattr(ind, "label", None) or getattr(ind, "name", ind.id),
                   "unit": getattr(ind, "unit", ""), "weight": getattr(ind, "weight", None),
                   "value": row.get(f"{ind.id}_value"), "status": row.get(f"{ind.id}_status"),
                   "benchmark": row.get(f"{ind.id}_benchmark"), "score": row.get(f"{ind.id}_score")}
                  for ind in m.indicators]
    return deps.render(request, "grade_card.html", {"job": status, "row": row, "indicators": indicators,
                                                     "method": m})
